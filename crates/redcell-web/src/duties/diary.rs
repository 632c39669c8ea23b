//! The visit diary page (民情日记): the visits of an organisation's subtree
//! over a date range, by grid, household or visitor, as cards on a phone.

use crate::Shared;
use crate::auth::PageUser;
use crate::kit::{Errors, Surface, gates};
use crate::pages::{Nav, PageResult, Pager, render_status};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use redcell_domain::{FieldError, i18n};
use redcell_store::duties::diary::{self, DiaryVisit, VisitFilter};
use redcell_store::registry::{Page, Paged};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "duties_visits.html")]
struct DiaryPage {
    nav: Option<Nav>,
    list: Paged<DiaryVisit>,
    pager: Pager,
    q: DiaryQuery,
    errs: Errors,
}

impl DiaryPage {
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
}

/// The filters as typed (dates checked here, each bad one named).
#[derive(Deserialize, Default, Clone)]
struct DiaryQuery {
    org_id: Option<String>,
    grid_id: Option<String>,
    household_id: Option<String>,
    visitor_kind: Option<String>,
    visitor_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
}

fn parse_filter(q: &DiaryQuery) -> Result<(VisitFilter, Page), Errors> {
    let mut errs = Vec::new();
    let t = |x: &Option<String>| x.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let mut int = |field: &str, x: &Option<String>| match t(x) {
        Some(v) => v.parse::<i64>().map(Some).unwrap_or_else(|_| {
            errs.push(FieldError::new(field, "number", i18n::ENUM_INVALID));
            None
        }),
        None => None,
    };
    let org_id = int("org_id", &q.org_id);
    let grid_id = int("grid_id", &q.grid_id);
    let household_id = int("household_id", &q.household_id);
    let visitor_id = int("visitor_id", &q.visitor_id);
    let page = int("page", &q.page);
    let mut date = |field: &str, x: &Option<String>| match t(x) {
        Some(v) => NaiveDate::parse_from_str(&v, "%Y-%m-%d").map(Some).unwrap_or_else(|_| {
            errs.push(FieldError::new(field, "date", i18n::DATE_INVALID));
            None
        }),
        None => None,
    };
    let from = date("from", &q.from);
    let to = date("to", &q.to);
    if !errs.is_empty() {
        return Err(Errors(errs));
    }
    let f = VisitFilter { org_id, visitor_kind: t(&q.visitor_kind), visitor_id, household_id, grid_id, from, to };
    let page = Page { page: page.map(|p| p.clamp(1, i64::from(u32::MAX)) as u32), per_page: Some(30) };
    Ok((f, page))
}

/// The query string of the filters, without the page, ready for `page=N`.
fn base(q: &DiaryQuery) -> String {
    let pairs = [
        ("org_id", &q.org_id),
        ("grid_id", &q.grid_id),
        ("household_id", &q.household_id),
        ("visitor_kind", &q.visitor_kind),
        ("visitor_id", &q.visitor_id),
        ("from", &q.from),
        ("to", &q.to),
    ];
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
            s.append_pair(k, v);
        }
    }
    let s = s.finish();
    if s.is_empty() { "/duties/visits?".into() } else { format!("/duties/visits?{s}&") }
}

async fn diary_page(u: PageUser, State(s): State<Shared>, Query(q): Query<DiaryQuery>) -> PageResult {
    let empty = Paged { items: vec![], total: 0, page: 1, per_page: 30 };
    let (list, errs, status) = match parse_filter(&q) {
        Ok((f, page)) => match diary::visits(&s.db, &u.p, &f, page).await {
            Ok(list) => (list, Errors::none(), StatusCode::OK),
            Err(e) => (empty, Errors::of(e)?, StatusCode::UNPROCESSABLE_ENTITY),
        },
        Err(errs) => (empty, errs, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let pager = Pager::of(&list, base(&q));
    Ok(render_status(status, &DiaryPage { nav: Nav::of(&u), list, pager, q, errs }))
}

pub fn mount(s: &mut Surface) {
    s.get("/duties/visits", gates::READ, diary_page);
    s.nav(41, "/duties/visits", i18n::DIARY_NAV, gates::READ);
}
