//! Hardship cases (困难帮扶档案) on the web: an organisation's cases with the
//! hardship members who have none, a case's page (help given, visits from the
//! diary, applications to the care fund made from the case, review and
//! close). JSON under `/api/v1/care/cases`.

use crate::Shared;
use crate::api::Q;
use crate::auth::{ApiUser, PageUser};
use crate::care::options;
use crate::coverage::pages::{Choice, choices_for, pick_field};
use crate::error::{ApiResult, ErrorBody};
use crate::form::FormData;
use crate::kit::{ApiJson, CsrfForm, Errors, Surface, gates};
use crate::pages::{Nav, PageResult, render_status};
use crate::registry::pages::{Crumbs, org_crumbs};
use crate::requests::flash_to;
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use redcell_domain::care::{CaseId, HelpKind, Purpose, yuan};
use redcell_domain::{Capability, OrgId};
use redcell_store::care::{self, RawApplication};
use redcell_store::coverage::pick::PickKind;
use redcell_store::hardship::{
    self as hs, Birthdays, BranchBirthdays, Case, CaseView, Cases, RawCase, RawHelp, RawReview,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

#[derive(Deserialize, Default)]
struct PageQuery {
    flash: Option<String>,
}

// ---- an organisation's cases

#[derive(Template)]
#[template(path = "hardship_cases.html")]
struct CasesPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org_id: i64,
    list: Cases,
    today: chrono::NaiveDate,
    can_edit: bool,
    csrf: String,
    flash: Option<String>,
    values: FormData,
    errs: Errors,
    choices: Vec<Choice>,
    exports: Vec<crate::export::ExportLink>,
}

impl CasesPage {
    fn val(&self, name: &str) -> &str {
        self.values.get(name).unwrap_or("")
    }
    fn choices(&self, field: &str) -> Option<&Choice> {
        choices_for(&self.choices, field)
    }
}

#[allow(clippy::too_many_arguments)]
async fn cases_view(
    s: &Shared,
    u: &PageUser,
    org: OrgId,
    flash: Option<String>,
    values: FormData,
    errs: Errors,
    choices: Vec<Choice>,
) -> PageResult {
    let list = hs::cases(&s.db, &u.p, org).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    crumbs.push((format!("/orgs/{org}/hardship"), "困难帮扶档案".into()));
    let o = redcell_store::registry::orgs::get(&s.db, &u.p, org).await?;
    let exports = if crate::export::may_export_at(&u.p, &o.org_path()) {
        let f = [("org_id", org.to_string()), ("state", "all".to_string())];
        vec![crate::export::link::<redcell_store::hardship::CaseList>("困难帮扶台账", &f)]
    } else {
        vec![]
    };
    Ok(render_status(
        errs.status(),
        &CasesPage {
            nav: Nav::of(u),
            crumbs,
            org_id: org.get(),
            list,
            today: crate::today(),
            can_edit: u.p.holds_at(Capability::EditRegistry, &o.org_path()),
            csrf: u.csrf.clone(),
            flash,
            values,
            errs,
            choices,
            exports,
        },
    ))
}

async fn cases_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    cases_view(&s, &u, org, q.flash, FormData(vec![]), Errors::none(), vec![]).await
}

async fn open_case(u: PageUser, State(s): State<Shared>, Path(org): Path<OrgId>, CsrfForm(f): CsrfForm) -> PageResult {
    let mut raw: RawCase = f.to_raw(&[]);
    let mut picked = Vec::new();
    let mut choices = Vec::new();
    pick_field(
        &s.db,
        &u.p,
        &f,
        "member_id",
        PickKind::Member,
        org.get(),
        &mut raw.member_id,
        &mut picked,
        &mut choices,
    )
    .await?;
    pick_field(
        &s.db,
        &u.p,
        &f,
        "household_id",
        PickKind::Household,
        org.get(),
        &mut raw.household_id,
        &mut picked,
        &mut choices,
    )
    .await?;
    let r = if picked.is_empty() {
        hs::open(&s.db, &u.p, &raw).await
    } else {
        Err(redcell_store::StoreError::Invalid(redcell_domain::Invalid(picked)))
    };
    match r {
        Ok(c) => Ok(flash_to(&format!("/hardship/{}", c.id), "帮扶档案已建立", false)),
        Err(e) => cases_view(&s, &u, org, None, f, Errors::of(e)?, choices).await,
    }
}

// ---- a case

/// Which form the errors belong to.
#[derive(Default, PartialEq, Clone, Copy)]
enum Form {
    #[default]
    None,
    Help,
    Apply,
    Review,
    Close,
}

#[derive(Template)]
#[template(path = "hardship_case.html")]
struct CasePage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    v: CaseView,
    today: chrono::NaiveDate,
    can_edit: bool,
    csrf: String,
    flash: Option<String>,
    form: Form,
    values: FormData,
    errs: Errors,
    kinds: Vec<(String, String)>,
    purposes: Vec<(String, String)>,
}

impl CasePage {
    fn money(f: &i64) -> String {
        yuan(*f)
    }
    fn val(&self, name: &str) -> &str {
        self.values.get(name).unwrap_or("")
    }
    fn on(&self, f: &str) -> bool {
        matches!(
            (self.form, f),
            (Form::Help, "help") | (Form::Apply, "apply") | (Form::Review, "review") | (Form::Close, "close")
        )
    }
    /// The errors of the form `f` (none for the others).
    fn errs_of(&self, f: &str) -> Errors {
        if self.on(f) { self.errs.clone() } else { Errors::none() }
    }
}

async fn case_view(
    s: &Shared,
    u: &PageUser,
    id: CaseId,
    flash: Option<String>,
    form: Form,
    values: FormData,
    errs: Errors,
) -> PageResult {
    let v = hs::case(&s.db, &u.p, id).await?;
    let org = OrgId::new(v.case.org_id);
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    crumbs.push((format!("/orgs/{org}/hardship"), "困难帮扶档案".into()));
    crumbs.push((format!("/hardship/{id}"), v.case.subject.clone()));
    let o = redcell_store::registry::orgs::get(&s.db, &u.p, org).await?;
    Ok(render_status(
        errs.status(),
        &CasePage {
            nav: Nav::of(u),
            crumbs,
            v,
            today: crate::today(),
            can_edit: u.p.holds_at(Capability::EditRegistry, &o.org_path()),
            csrf: u.csrf.clone(),
            flash,
            form,
            values,
            errs,
            kinds: options(HelpKind::ALL, HelpKind::code, HelpKind::label),
            purposes: options(Purpose::ALL, Purpose::code, Purpose::label),
        },
    ))
}

async fn case_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<CaseId>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    case_view(&s, &u, id, q.flash, Form::None, FormData(vec![]), Errors::none()).await
}

async fn after<T>(
    s: &Shared,
    u: &PageUser,
    id: CaseId,
    form: Form,
    values: FormData,
    r: Result<T, redcell_store::StoreError>,
    ok: &str,
) -> PageResult {
    match r {
        Ok(_) => Ok(flash_to(&format!("/hardship/{id}"), ok, false)),
        Err(e) => case_view(s, u, id, None, form, values, Errors::of(e)?).await,
    }
}

async fn help(u: PageUser, State(s): State<Shared>, Path(id): Path<CaseId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawHelp = f.to_raw(&[]);
    let r = hs::add_help(&s.db, &u.p, id, &raw).await;
    after(&s, &u, id, Form::Help, f, r, "帮扶已记录").await
}

async fn apply(u: PageUser, State(s): State<Shared>, Path(id): Path<CaseId>, CsrfForm(f): CsrfForm) -> PageResult {
    let mut raw: RawApplication = f.to_raw(&[]);
    raw.case_id = Some(id.to_string());
    let fund = redcell_domain::care::FundId::new(f.get("fund_id").and_then(|x| x.parse().ok()).unwrap_or(0));
    match care::apply(&s.db, &u.p, fund, &raw).await {
        Ok(app) => Ok(flash_to(&format!("/care/applications/{app}"), "申请已登记，等待审批", false)),
        Err(e) => case_view(&s, &u, id, None, Form::Apply, f, Errors::of(e)?).await,
    }
}

async fn review(u: PageUser, State(s): State<Shared>, Path(id): Path<CaseId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawReview = f.to_raw(&[]);
    let r = hs::review(&s.db, &u.p, id, &raw).await;
    after(&s, &u, id, Form::Review, f, r, "已复核，下次复核日期已更新").await
}

async fn close(u: PageUser, State(s): State<Shared>, Path(id): Path<CaseId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawReview = f.to_raw(&[]);
    let r = hs::close(&s.db, &u.p, id, &raw).await;
    after(&s, &u, id, Form::Close, f, r, "已结案，档案保留").await
}

// ---- API

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CasesQuery {
    /// The organisation (its subtree); default: the caller's highest.
    pub org_id: Option<i64>,
}

/// The id of what a write created.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HelpCreated {
    pub id: i64,
}

/// Hardship cases of an organisation's subtree, and hardship members without one.
#[utoipa::path(get, path = "/api/v1/care/cases", tag = "care", operation_id = "hardship_cases", params(CasesQuery),
    responses((status = 200, body = Cases), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_cases(ApiUser(p): ApiUser, State(s): State<Shared>, Q(q): Q<CasesQuery>) -> ApiResult<Json<Cases>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(hs::cases(&s.db, &p, OrgId::new(org)).await?))
}

/// Open a hardship case on a member or a household (one open case each).
#[utoipa::path(post, path = "/api/v1/care/cases", tag = "care", operation_id = "hardship_open", request_body = RawCase,
    responses((status = 201, body = Case), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_open(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawCase>,
) -> ApiResult<(StatusCode, Json<Case>)> {
    Ok((StatusCode::CREATED, Json(hs::open(&s.db, &p, &raw).await?)))
}

/// A case with its help, visits, applications and the funds to apply to.
#[utoipa::path(get, path = "/api/v1/care/cases/{id}", tag = "care", operation_id = "hardship_case", params(("id" = i64, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_case(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<CaseId>,
) -> ApiResult<Json<CaseView>> {
    Ok(Json(hs::case(&s.db, &p, id).await?))
}

/// Record help given on a case.
#[utoipa::path(post, path = "/api/v1/care/cases/{id}/help", tag = "care", operation_id = "hardship_help", params(("id" = i64, Path)),
    request_body = RawHelp,
    responses((status = 201, body = HelpCreated), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_help(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<CaseId>,
    ApiJson(raw): ApiJson<RawHelp>,
) -> ApiResult<(StatusCode, Json<HelpCreated>)> {
    Ok((StatusCode::CREATED, Json(HelpCreated { id: hs::add_help(&s.db, &p, id, &raw).await? })))
}

/// Review a case: the next review date.
#[utoipa::path(post, path = "/api/v1/care/cases/{id}/review", tag = "care", operation_id = "hardship_review", params(("id" = i64, Path)),
    request_body = RawReview,
    responses((status = 200, body = Case), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_review(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<CaseId>,
    ApiJson(raw): ApiJson<RawReview>,
) -> ApiResult<Json<Case>> {
    Ok(Json(hs::review(&s.db, &p, id, &raw).await?))
}

/// Close a case (the hardship is over; its history stays).
#[utoipa::path(post, path = "/api/v1/care/cases/{id}/close", tag = "care", operation_id = "hardship_close", params(("id" = i64, Path)),
    request_body = RawReview,
    responses((status = 200, body = Case), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_close(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<CaseId>,
    ApiJson(raw): ApiJson<RawReview>,
) -> ApiResult<Json<Case>> {
    Ok(Json(hs::close(&s.db, &p, id, &raw).await?))
}

// ---- collective birthdays

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// The organisation (its subtree); default: the caller's highest (API only).
    pub org_id: Option<i64>,
    /// Default: this year.
    pub year: Option<i32>,
    /// 1–12; default: this month.
    pub month: Option<u32>,
}

impl MonthQuery {
    fn month(&self) -> (i32, u32) {
        let t = crate::today();
        (self.year.unwrap_or(chrono::Datelike::year(&t)), self.month.unwrap_or(chrono::Datelike::month(&t)))
    }
}

#[derive(Template)]
#[template(path = "birthdays.html")]
struct BirthdaysPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    b: Birthdays,
    prev: (i32, u32),
    next: (i32, u32),
    can_record: bool,
}

impl BirthdaysPage {
    /// The link that opens the activity form filled for one group.
    fn record_link(&self, g: &BranchBirthdays) -> String {
        let mut q =
            vec![("kind".to_string(), "birthday".to_string()), ("title".into(), format!("{}月集体生日", self.b.month))];
        q.extend(g.members.iter().map(|m| ("m".to_string(), m.member_id.to_string())));
        format!("/orgs/{}/duties/activities/new?{}", g.org_id, serde_urlencoded::to_string(q).unwrap_or_default())
    }
}

async fn birthdays_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    Query(q): Query<MonthQuery>,
) -> PageResult {
    let (year, month) = q.month();
    let b = hs::birthdays(&s.db, &u.p, org, year, month).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    crumbs.push((format!("/orgs/{org}/birthdays"), "集体生日".into()));
    let prev = if month == 1 { (year - 1, 12) } else { (year, month - 1) };
    let next = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    Ok(render_status(
        StatusCode::OK,
        &BirthdaysPage { nav: Nav::of(&u), crumbs, b, prev, next, can_record: u.p.holds(Capability::RecordDuties) },
    ))
}

/// Members whose birthday falls in a month, by organisation, with the collective birthdays recorded.
#[utoipa::path(get, path = "/api/v1/care/birthdays", tag = "care", operation_id = "care_birthdays", params(MonthQuery),
    responses((status = 200, body = Birthdays), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_birthdays(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<MonthQuery>,
) -> ApiResult<Json<Birthdays>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    let (year, month) = q.month();
    Ok(Json(hs::birthdays(&s.db, &p, OrgId::new(org), year, month).await?))
}

pub fn mount(s: &mut Surface) {
    s.get("/orgs/{id}/hardship", gates::READ, cases_page)
        .post("/orgs/{id}/hardship", gates::EDIT, open_case)
        .get("/hardship/{id}", gates::READ, case_page)
        .post("/hardship/{id}/help", gates::EDIT, help)
        .post("/hardship/{id}/apply", gates::EDIT, apply)
        .post("/hardship/{id}/review", gates::EDIT, review)
        .post("/hardship/{id}/close", gates::EDIT, close)
        .get("/orgs/{id}/birthdays", gates::READ, birthdays_page);
    s.api(gates::READ, routes!(api_cases))
        .api(gates::EDIT, routes!(api_open))
        .api(gates::READ, routes!(api_case))
        .api(gates::EDIT, routes!(api_help))
        .api(gates::EDIT, routes!(api_review))
        .api(gates::EDIT, routes!(api_close))
        .api(gates::READ, routes!(api_birthdays));
}
