//! The tenant's settings for requests, for its administrators (`EditRegistry`
//! over the root): the holiday calendar deadlines are counted on, request
//! categories, Open311 API keys.

use super::{Shown, kinds};
use crate::Shared;
use crate::auth::PageUser;
use crate::kit::{CsrfForm, Surface, gates};
use crate::pages::{Nav, PageResult, render_status};
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use redcell_domain::ids::ApiKeyId;
use redcell_domain::requests::{ErrandClass, RawCategory};
use redcell_domain::{FieldError, i18n};
use redcell_store::StoreError;
use redcell_store::calendar::{self as cal_store, HolidayRow};
use redcell_store::requests::{self, Category, keys};

#[derive(Template)]
#[template(path = "holidays.html")]
struct HolidaysPage {
    nav: Option<Nav>,
    csrf: String,
    rows: Vec<HolidayRow>,
    own: bool,
    shown: Shown,
    years: Vec<i32>,
}

impl HolidaysPage {
    fn e(&self, f: &str) -> Option<&str> {
        self.shown.get(f)
    }
}

async fn holidays_page(s: &Shared, u: &PageUser, shown: Shown) -> Result<Response, StoreError> {
    let (rows, own) = cal_store::list(&s.db, &u.p).await?;
    let mut years: Vec<i32> = rows.iter().map(|r| chrono::Datelike::year(&r.date)).collect();
    years.dedup();
    let status = shown.status;
    Ok(render_status(status, &HolidaysPage { nav: Nav::of(u), csrf: u.csrf.clone(), rows, own, shown, years }))
}

async fn holidays(u: PageUser, State(s): State<Shared>) -> PageResult {
    Ok(holidays_page(&s, &u, Shown::none()).await?)
}

async fn holidays_post(u: PageUser, State(s): State<Shared>, CsrfForm(f): CsrfForm) -> PageResult {
    let r = if let Some(d) = f.get("remove") {
        match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => cal_store::remove(&s.db, &u.p, d).await,
            Err(_) => Err(FieldError::new("date", "date", i18n::DATE_INVALID).into()),
        }
    } else {
        cal_store::add(
            &s.db,
            &u.p,
            f.get("date").unwrap_or(""),
            f.get("kind").unwrap_or(""),
            f.get("name").unwrap_or(""),
        )
        .await
    };
    match r {
        Ok(()) => Ok(Redirect::to("/admin/holidays").into_response()),
        Err(e) => Ok(holidays_page(&s, &u, Shown::of(e)?).await?),
    }
}

#[derive(Template)]
#[template(path = "req_categories.html")]
struct CategoriesPage {
    nav: Option<Nav>,
    csrf: String,
    list: Vec<Category>,
    kinds: Vec<(&'static str, &'static str)>,
    classes: Vec<(&'static str, &'static str)>,
    form: RawCategory,
    shown: Shown,
    keys: Vec<keys::ApiKey>,
    /// A key just issued: shown once.
    new_key: Option<String>,
}

impl CategoriesPage {
    fn e(&self, f: &str) -> Option<&str> {
        self.shown.get(f)
    }
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
}

async fn categories_page(
    s: &Shared,
    u: &PageUser,
    form: RawCategory,
    shown: Shown,
    new_key: Option<String>,
) -> Result<Response, StoreError> {
    let list = requests::categories(&s.db, u.p.tenant_id).await?;
    let keys = keys::list(&s.db, &u.p).await?;
    let classes = ErrandClass::ALL.iter().map(|k| (k.code(), k.label())).collect();
    let status = shown.status;
    Ok(render_status(
        status,
        &CategoriesPage {
            nav: Nav::of(u),
            csrf: u.csrf.clone(),
            list,
            kinds: kinds(),
            classes,
            form,
            shown,
            keys,
            new_key,
        },
    ))
}

async fn categories(u: PageUser, State(s): State<Shared>) -> PageResult {
    Ok(categories_page(&s, &u, RawCategory::default(), Shown::none(), None).await?)
}

async fn categories_post(u: PageUser, State(s): State<Shared>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawCategory = f.to_raw(&[]);
    let r = match raw.validate() {
        Ok(n) => requests::create_category(&s.db, &u.p, n).await.map(|_| ()),
        Err(inv) => Err(StoreError::Invalid(inv)),
    };
    match r {
        Ok(()) => Ok(Redirect::to("/admin/request-categories").into_response()),
        Err(e) => Ok(categories_page(&s, &u, raw, Shown::of(e)?, None).await?),
    }
}

/// Issue an Open311 key (shown once) or revoke one.
async fn open311_keys_post(u: PageUser, State(s): State<Shared>, CsrfForm(f): CsrfForm) -> PageResult {
    if let Some(id) = f.get("revoke") {
        let id = id.parse::<ApiKeyId>().map_err(|_| FieldError::new("revoke", "number", i18n::ENUM_INVALID))?;
        keys::revoke(&s.db, &u.p, id).await?;
        return Ok(Redirect::to("/admin/request-categories").into_response());
    }
    match keys::create(&s.db, &u.p, f.get("label").unwrap_or("")).await {
        Ok(key) => Ok(categories_page(&s, &u, RawCategory::default(), Shown::none(), Some(key)).await?),
        Err(e) => Ok(categories_page(&s, &u, RawCategory::default(), Shown::of(e)?, None).await?),
    }
}

pub fn mount(s: &mut Surface) {
    s.get("/admin/holidays", gates::SETTINGS, holidays)
        .post("/admin/holidays", gates::SETTINGS, holidays_post)
        .get("/admin/request-categories", gates::SETTINGS, categories)
        .post("/admin/request-categories", gates::SETTINGS, categories_post)
        .post("/admin/open311-keys", gates::SETTINGS, open311_keys_post);
}
