//! Pages of duties: "my duties" for a cadre's phone with a quick visit form,
//! an organisation's compliance (table, silent branches, SVG trend, xlsx),
//! the rules (edit one, import/export TOML) and the reminder inbox.

use super::{CheckedForm, Nav, PageResult, render, render_status};
use crate::Shared;
use crate::auth::PageUser;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use chrono::NaiveDate;
use redcell_domain::FieldError;
use redcell_domain::duties::{RawRule, VisitPurpose};
use redcell_store::StoreError;
use redcell_store::duties::notices::{self, Notice};
use redcell_store::duties::records::{self, RawVisit};
use redcell_store::duties::rules::{self, StoredRule};
use redcell_store::duties::{self, Compliance, DutyLine, Place};
use serde::Deserialize;

/// Field errors shown again beside a form.
#[derive(Default)]
pub struct Errs(pub Vec<FieldError>);

impl Errs {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn summary(&self) -> String {
        self.0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("；")
    }
}

fn form_errors(e: StoreError) -> Result<(StatusCode, Errs), super::PageError> {
    match e {
        StoreError::Invalid(inv) => Ok((StatusCode::UNPROCESSABLE_ENTITY, Errs(inv.0))),
        StoreError::Denied(f) => Ok((StatusCode::FORBIDDEN, Errs(vec![f]))),
        StoreError::Forbidden => {
            Ok((StatusCode::FORBIDDEN, Errs(vec![FieldError::new("_", "forbidden", redcell_domain::i18n::FORBIDDEN)])))
        }
        e => Err(e.into()),
    }
}

/// One line of "my duties" ready to show.
pub struct Row {
    pub rule: String,
    pub rhythm: String,
    pub what: String,
    pub subject: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub period: String,
    pub expected: u32,
    pub actual: u32,
    pub due: String,
    pub overdue: usize,
}

fn rows(lines: &[DutyLine], today: NaiveDate) -> Vec<Row> {
    lines
        .iter()
        .map(|l| {
            let cur = l.focus(today);
            let st = l.status(today);
            Row {
                rule: l.rule_name.clone(),
                rhythm: l.rhythm.clone(),
                what: l.what.clone(),
                subject: l.subject.name.clone(),
                status: st.code(),
                status_label: st.label(),
                period: cur.map(|p| p.label()).unwrap_or_default(),
                expected: cur.map(|p| p.expected).unwrap_or(0),
                actual: cur.map(|p| p.actual).unwrap_or(0),
                due: cur.map(|p| p.due.to_string()).unwrap_or_default(),
                overdue: l.overdue(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "duties_my.html")]
struct MyPage {
    nav: Option<Nav>,
    today: NaiveDate,
    rows: Vec<Row>,
    places: Vec<Place>,
    purposes: Vec<(&'static str, &'static str)>,
    form: RawVisit,
    place: String,
    errs: Errs,
    saved: bool,
    csrf: String,
}

impl MyPage {
    fn count(&self, status: &str) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    saved: Option<String>,
}

async fn show_my(
    s: &Shared,
    u: &PageUser,
    form: RawVisit,
    place: String,
    errs: Errs,
    saved: bool,
    status: StatusCode,
) -> PageResult {
    let today = crate::today();
    let lines = duties::my_duties(&s.db, &u.p, today).await?;
    let places = duties::my_places(&s.db, &u.p, 80).await?;
    let purposes = VisitPurpose::ALL.iter().map(|p| (p.code(), p.label())).collect();
    let page = MyPage {
        nav: Nav::of(u),
        today,
        rows: rows(&lines, today),
        places,
        purposes,
        form,
        place,
        errs,
        saved,
        csrf: u.csrf.clone(),
    };
    Ok(render_status(status, &page))
}

async fn my_page(u: PageUser, State(s): State<Shared>, Query(q): Query<SavedQuery>) -> PageResult {
    let form = RawVisit {
        visited_on: Some(crate::today().to_string()),
        purpose: Some("routine".into()),
        ..RawVisit::default()
    };
    show_my(&s, &u, form, String::new(), Errs::default(), q.saved.is_some(), StatusCode::OK).await
}

async fn my_visit(u: PageUser, State(s): State<Shared>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let place = f.get("place").unwrap_or("").to_string();
    let (kind, id) = place.split_once(':').unwrap_or(("", ""));
    let raw = RawVisit {
        visitor_kind: None,
        visitor_id: None,
        target_kind: Some(kind.to_string()),
        target_id: Some(id.to_string()),
        visited_on: f.get("visited_on").map(str::to_string),
        purpose: f.get("purpose").map(str::to_string),
        learned: f.get("learned").map(str::to_string),
    };
    match records::record_visit(&s.db, &u.p, &raw, crate::today()).await {
        Ok(_) => Ok(Redirect::to("/duties/my?saved=1").into_response()),
        Err(e) => {
            let (status, mut errs) = form_errors(e)?;
            for e in errs.0.iter_mut() {
                if e.field == "target_kind" || e.field == "target_id" {
                    e.field = "place".into();
                }
            }
            show_my(&s, &u, raw, place, errs, false, status).await
        }
    }
}

/// A bar of the monthly trend chart.
pub struct Bar {
    pub x: usize,
    pub y: f64,
    pub h: f64,
    pub label: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "duties_org.html")]
struct OrgPage {
    nav: Option<Nav>,
    c: Compliance,
    bars: Vec<Bar>,
    chart_w: usize,
    rows: Vec<Row>,
}

impl OrgPage {
    fn rate(r: &Option<f64>) -> String {
        r.map(|x| format!("{x:.1}%")).unwrap_or_else(|| "—".into())
    }
}

async fn org_page(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    let today = crate::today();
    let c = duties::compliance(&s.db, &u.p, id, today).await?;
    let bars: Vec<Bar> = c
        .trend
        .iter()
        .enumerate()
        .map(|(i, (m, r))| {
            let h = r.unwrap_or(0.0) * 1.5;
            Bar { x: 40 + i * 56, y: 170.0 - h, h, label: m.clone(), text: OrgPage::rate(r) }
        })
        .collect();
    let chart_w = 60 + bars.len() * 56;
    let mut lines: Vec<DutyLine> = c.lines.clone();
    lines.retain(|l| l.status(today) != redcell_domain::duties::Status::Exempt);
    lines.sort_by_key(|l| std::cmp::Reverse(l.overdue()));
    lines.truncate(200);
    let rows = rows(&lines, today);
    Ok(render(&OrgPage { nav: Nav::of(&u), c, bars, chart_w, rows }))
}

async fn org_xlsx(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    Ok(crate::api::duties::compliance_workbook(&s.db, &u.p, id).await?)
}

#[derive(Template)]
#[template(path = "duties_rules.html")]
struct RulesPage {
    nav: Option<Nav>,
    rules: Vec<(StoredRule, String, String)>,
    csrf: String,
    errs: Errs,
    toml: String,
    imported: Option<usize>,
}

async fn show_rules(
    s: &Shared,
    u: &PageUser,
    errs: Errs,
    toml: String,
    imported: Option<usize>,
    status: StatusCode,
) -> PageResult {
    let list = rules::list(&s.db, u.p.tenant_id).await?;
    let rules = list
        .into_iter()
        .map(|r| {
            let (rh, what) = r.rule().map(|x| (x.rhythm_label(), x.what_label())).unwrap_or_default();
            (r, rh, what)
        })
        .collect();
    Ok(render_status(status, &RulesPage { nav: Nav::of(u), rules, csrf: u.csrf.clone(), errs, toml, imported }))
}

async fn rules_page(u: PageUser, State(s): State<Shared>) -> PageResult {
    show_rules(&s, &u, Errs::default(), String::new(), None, StatusCode::OK).await
}

async fn rules_toml(u: PageUser, State(s): State<Shared>) -> PageResult {
    let text = rules::export(&s.db, &u.p).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/toml; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"duties.toml\""),
        ],
        text,
    )
        .into_response())
}

async fn rules_import(u: PageUser, State(s): State<Shared>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let text = f.get("toml").unwrap_or("").to_string();
    match rules::import(&s.db, &u.p, &text).await {
        Ok(n) => show_rules(&s, &u, Errs::default(), String::new(), Some(n), StatusCode::OK).await,
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            show_rules(&s, &u, errs, text, None, status).await
        }
    }
}

#[derive(Template)]
#[template(path = "duties_rule.html")]
struct RulePage {
    nav: Option<Nav>,
    code: String,
    form: RawRule,
    errs: Errs,
    csrf: String,
    saved: bool,
}

impl RulePage {
    fn num(x: &Option<u32>) -> String {
        x.map(|v| v.to_string()).unwrap_or_default()
    }
    fn s(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
    fn everies() -> Vec<(&'static str, &'static str)> {
        vec![
            ("week", "每周"),
            ("weeks", "每N周"),
            ("weekday", "每周某日"),
            ("month", "每月"),
            ("quarter", "每季度"),
            ("half_year", "每半年"),
            ("year", "每年"),
            ("months", "每N个月"),
            ("yearly_by", "每年某月某日前"),
            ("after_event", "事件后N天内"),
        ]
    }
    fn weekdays() -> Vec<(&'static str, &'static str)> {
        vec![
            ("mon", "周一"),
            ("tue", "周二"),
            ("wed", "周三"),
            ("thu", "周四"),
            ("fri", "周五"),
            ("sat", "周六"),
            ("sun", "周日"),
        ]
    }
}

async fn rule_raw(s: &Shared, u: &PageUser, code: &str) -> Result<RawRule, StoreError> {
    let list = rules::list(&s.db, u.p.tenant_id).await?;
    let r = list.iter().find(|r| r.code == code).ok_or(StoreError::NotFound)?;
    let mut raw: RawRule = serde_json::from_str(&r.body).map_err(|e| StoreError::Internal(e.to_string()))?;
    raw.enabled = Some(r.enabled);
    Ok(raw)
}

async fn rule_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(code): Path<String>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let form = rule_raw(&s, &u, &code).await?;
    Ok(render(&RulePage {
        nav: Nav::of(&u),
        code,
        form,
        errs: Errs::default(),
        csrf: u.csrf.clone(),
        saved: q.saved.is_some(),
    }))
}

async fn rule_save(u: PageUser, State(s): State<Shared>, Path(code): Path<String>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let mut raw = rule_raw(&s, &u, &code).await?;
    let num = |k: &str| f.get(k).map(str::trim).filter(|v| !v.is_empty()).map(|v| v.parse::<u32>().unwrap_or(u32::MAX));
    let txt = |k: &str| f.get(k).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    raw.name = f.get("name").unwrap_or("").to_string();
    raw.every = f.get("every").unwrap_or("").to_string();
    raw.n = num("n");
    raw.weekday = txt("weekday");
    raw.month = num("month");
    raw.day = num("day");
    raw.expected = num("expected");
    raw.warn_days = num("warn_days");
    raw.enabled = Some(f.get("enabled") == Some("1"));
    match rules::update(&s.db, &u.p, &code, raw.clone()).await {
        Ok(_) => Ok(Redirect::to(&format!("/duties/rules/{code}?saved=1")).into_response()),
        Err(e) => {
            let (status, errs) = form_errors(e)?;
            Ok(render_status(
                status,
                &RulePage { nav: Nav::of(&u), code, form: raw, errs, csrf: u.csrf.clone(), saved: false },
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "duties_inbox.html")]
struct InboxPage {
    nav: Option<Nav>,
    notices: Vec<Notice>,
}

async fn inbox_page(u: PageUser, State(s): State<Shared>) -> PageResult {
    let notices = notices::inbox(&s.db, &u.p, 100).await?;
    Ok(render(&InboxPage { nav: Nav::of(&u), notices }))
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/duties/my", get(my_page))
        .route("/duties/my/visit", post(my_visit))
        .route("/orgs/{id}/duties", get(org_page))
        .route("/orgs/{id}/duties.xlsx", get(org_xlsx))
        .route("/duties/rules", get(rules_page))
        .route("/duties/rules.toml", get(rules_toml))
        .route("/duties/rules/import", post(rules_import))
        .route("/duties/rules/{code}", get(rule_page).post(rule_save))
        .route("/duties/inbox", get(inbox_page))
}
