//! Registering a request on a resident's behalf (代为登记): staff find the
//! household by building and room or by a resident's name; the service
//! checks every id against their scope.

use super::Shown;
use crate::Shared;
use crate::auth::PageUser;
use crate::kit::{CsrfForm, Surface, gates};
use crate::pages::{Nav, PageResult, render_status};
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use redcell_domain::Invalid;
use redcell_domain::requests::{ErrandClass, RawRequest};
use redcell_store::StoreError;
use redcell_store::coverage::pick::Candidate;
use redcell_store::requests::{self, Category, Source};

#[derive(Template)]
#[template(path = "req_register.html")]
struct RegisterPage {
    nav: Option<Nav>,
    csrf: String,
    categories: Vec<Category>,
    classes: Vec<(&'static str, &'static str)>,
    form: RawRequest,
    shown: Shown,
    /// Households the typed text found (to choose one).
    choices: Vec<Candidate>,
}

impl RegisterPage {
    fn e(&self, f: &str) -> Option<&str> {
        self.shown.get(f)
    }
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
    fn summary(&self) -> String {
        self.shown.summary()
    }
}

async fn register_page(
    s: &Shared,
    u: &PageUser,
    form: RawRequest,
    shown: Shown,
    choices: Vec<Candidate>,
) -> Result<Response, StoreError> {
    let categories = requests::categories(&s.db, u.p.tenant_id).await?;
    let classes = ErrandClass::ALL.iter().map(|k| (k.code(), k.label())).collect();
    let status = shown.status;
    Ok(render_status(
        status,
        &RegisterPage { nav: Nav::of(u), csrf: u.csrf.clone(), categories, classes, form, shown, choices },
    ))
}

async fn register_form(u: PageUser, State(s): State<Shared>) -> PageResult {
    Ok(register_page(&s, &u, RawRequest::default(), Shown::none(), vec![]).await?)
}

async fn register_post(u: PageUser, State(s): State<Shared>, CsrfForm(f): CsrfForm) -> PageResult {
    let mut raw: RawRequest = f.to_raw(&[]);
    raw.room = None;
    // The household: chosen from the list offered last time, or text to find.
    if let Some(id) = f.get("_pick_household_id").filter(|v| !v.is_empty()) {
        raw.household_id = Some(id.to_string());
    } else {
        match requests::resolve_household(&s.db, &u.p, raw.household_id.as_deref().unwrap_or("")).await? {
            Ok(id) => raw.household_id = id.map(|i| i.to_string()),
            Err((e, found)) => return Ok(register_page(&s, &u, raw, Shown::invalid(vec![e]), found).await?),
        }
    }
    let n = match raw.validate() {
        Ok(n) => n,
        Err(Invalid(v)) => return Ok(register_page(&s, &u, raw, Shown::invalid(v), vec![]).await?),
    };
    match requests::submit(&s.db, u.p.tenant_id, n, Source::Staff, Some(&u.p), None).await {
        Ok(sub) => Ok(Redirect::to(&format!("/requests/{}", sub.id)).into_response()),
        Err(e) => Ok(register_page(&s, &u, raw, Shown::of(e)?, vec![]).await?),
    }
}

pub fn mount(s: &mut Surface) {
    s.get("/requests/new", gates::HANDLE, register_form).post("/requests/new", gates::HANDLE, register_post);
}
