//! The care fund (党内关爱基金) on the web: an organisation's funds, a fund's
//! ledger with its forms (income, application, bank check, year-end close,
//! reversal), an application's decisions and payment, and the public list of
//! payments (公示) without sign-in. JSON under `/api/v1/care/`.

use crate::Shared;
use crate::api::Q;
use crate::auth::{ApiUser, PageUser};
use crate::error::{ApiResult, ErrorBody};
use crate::form::FormData;
use crate::kit::{ApiJson, CsrfForm, Errors, Surface, gates};
use crate::pages::{FlashQuery, Nav, PageResult, render, render_status};
use crate::registry::pages::{Crumbs, org_crumbs};
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use redcell_domain::care::{ApplicationId, EntryId, FundId, IncomeSource, Purpose, yuan};
use redcell_domain::{Capability, OrgId};
use redcell_store::care::{
    self, Application, Decision, Fund, FundView, Published, RawApplication, RawDated, RawDecision, RawFund, RawIncome,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

/// A yuan figure for the templates.
pub fn money(fen: &i64) -> String {
    yuan(*fen)
}

/// Choices of a select: (code, label) of each value.
pub(crate) fn options<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter().map(|x| (code(*x).to_string(), label(*x).to_string())).collect()
}

// ---- an organisation's funds

#[derive(Template)]
#[template(path = "care_funds.html")]
struct FundsPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org_id: i64,
    funds: Vec<Fund>,
    can_edit: bool,
    csrf: String,
    form: RawFund,
    errs: Errors,
    levels: Vec<(String, String)>,
}

impl FundsPage {
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
}

async fn funds_view(s: &Shared, u: &PageUser, org: OrgId, form: RawFund, errs: Errors) -> PageResult {
    let funds = care::funds(&s.db, &u.p, org).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    crumbs.push((format!("/orgs/{org}/care"), "关爱基金".into()));
    let o = redcell_store::registry::orgs::get(&s.db, &u.p, org).await?;
    let status = errs.status();
    Ok(render_status(
        status,
        &FundsPage {
            nav: Nav::of(u),
            crumbs,
            org_id: org.get(),
            funds,
            can_edit: u.p.holds_at(Capability::EditRegistry, &o.org_path()),
            csrf: u.csrf.clone(),
            form,
            errs,
            levels: vec![("1".into(), "本级审批".into()), ("2".into(), "本级、上级两级审批".into())],
        },
    ))
}

async fn funds_page(u: PageUser, State(s): State<Shared>, Path(org): Path<OrgId>) -> PageResult {
    funds_view(&s, &u, org, RawFund::default(), Errors::none()).await
}

async fn create_fund(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let mut raw: RawFund = f.to_raw(&[]);
    raw.org_id = Some(org.to_string());
    match care::create_fund(&s.db, &u.p, &raw).await {
        Ok(fund) => Ok(Redirect::to(&format!("/care/{}", fund.id)).into_response()),
        Err(e) => funds_view(&s, &u, org, raw, Errors::of(e)?).await,
    }
}

async fn mine(u: PageUser) -> PageResult {
    match u.p.home_orgs().first() {
        Some(o) => Ok(Redirect::to(&format!("/orgs/{o}/care")).into_response()),
        None => Ok(Redirect::to("/orgs").into_response()),
    }
}

// ---- a fund

/// Which form the errors belong to.
#[derive(Default, PartialEq)]
enum Form {
    #[default]
    None,
    Income,
    Application,
    Check,
    Close,
    Reverse(i64),
}

#[derive(Template)]
#[template(path = "care_fund.html")]
struct FundPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    v: FundView,
    can_edit: bool,
    csrf: String,
    flash: Option<String>,
    errs: Errors,
    form: Form,
    values: FormData,
    sources: Vec<(String, String)>,
    purposes: Vec<(String, String)>,
    last_year: i32,
    exports: Vec<crate::export::ExportLink>,
}

impl FundPage {
    fn money(f: &i64) -> String {
        money(f)
    }
    fn val(&self, name: &str) -> &str {
        self.values.get(name).unwrap_or("")
    }
    fn errs_for(&self, f: Form) -> bool {
        self.form == f
    }
    fn is_income(&self) -> bool {
        self.errs_for(Form::Income)
    }
    fn is_application(&self) -> bool {
        self.errs_for(Form::Application)
    }
    fn is_check(&self) -> bool {
        self.errs_for(Form::Check)
    }
    fn is_close(&self) -> bool {
        self.errs_for(Form::Close)
    }
    fn is_reverse(&self, id: &i64) -> bool {
        self.form == Form::Reverse(*id)
    }
}

async fn fund_view(
    s: &Shared,
    u: &PageUser,
    id: FundId,
    flash: Option<String>,
    form: Form,
    values: FormData,
    errs: Errors,
) -> PageResult {
    let v = care::view(&s.db, &u.p, id).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, OrgId::new(v.fund.org_id)).await?;
    crumbs.push((format!("/orgs/{}/care", v.fund.org_id), "关爱基金".into()));
    crumbs.push((format!("/care/{id}"), v.fund.name.clone()));
    let o = redcell_store::registry::orgs::get(&s.db, &u.p, OrgId::new(v.fund.org_id)).await?;
    let today = crate::today();
    let status = errs.status();
    let exports = if crate::export::may_export_at(&u.p, &o.org_path()) {
        vec![crate::export::link::<redcell_store::care::JournalList>("记账明细", &[("fund_id", id.to_string())])]
    } else {
        vec![]
    };
    Ok(render_status(
        status,
        &FundPage {
            nav: Nav::of(u),
            crumbs,
            v,
            can_edit: u.p.holds_at(Capability::EditRegistry, &o.org_path()),
            csrf: u.csrf.clone(),
            flash,
            errs,
            form,
            values,
            sources: options(IncomeSource::ALL, IncomeSource::code, IncomeSource::label),
            purposes: options(Purpose::ALL, Purpose::code, Purpose::label),
            last_year: chrono::Datelike::year(&today) - 1,
            exports,
        },
    ))
}

async fn fund_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<FundId>,
    Query(q): Query<FlashQuery>,
) -> PageResult {
    fund_view(&s, &u, id, q.flash, Form::None, FormData(vec![]), Errors::none()).await
}

/// After a form of a fund's page: back to the page with a message, or the
/// page again with the errors beside the form.
async fn after<T>(
    s: &Shared,
    u: &PageUser,
    fund: FundId,
    form: Form,
    values: FormData,
    r: Result<T, redcell_store::StoreError>,
    ok: impl FnOnce(T) -> String,
) -> PageResult {
    match r {
        Ok(x) => Ok(crate::requests::flash_to(&format!("/care/{fund}"), &ok(x), false)),
        Err(e) => fund_view(s, u, fund, None, form, values, Errors::of(e)?).await,
    }
}

async fn income(u: PageUser, State(s): State<Shared>, Path(id): Path<FundId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawIncome = f.to_raw(&[]);
    let r = care::record_income(&s.db, &u.p, id, &raw).await;
    after(&s, &u, id, Form::Income, f, r, |_| "收入已入账".into()).await
}

async fn apply(u: PageUser, State(s): State<Shared>, Path(id): Path<FundId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawApplication = f.to_raw(&[]);
    match care::apply(&s.db, &u.p, id, &raw).await {
        Ok(app) => Ok(Redirect::to(&format!("/care/applications/{app}")).into_response()),
        Err(e) => fund_view(&s, &u, id, None, Form::Application, f, Errors::of(e)?).await,
    }
}

async fn check(u: PageUser, State(s): State<Shared>, Path(id): Path<FundId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawDated = f.to_raw(&[]);
    let r = care::assert_balance(&s.db, &u.p, id, &raw).await;
    after(&s, &u, id, Form::Check, f, r, |gap| {
        if gap == 0 {
            "银行对账单与账面一致".into()
        } else {
            format!("对账不符：对账单比账面多 {} 元，请查明", yuan(gap))
        }
    })
    .await
}

async fn close(u: PageUser, State(s): State<Shared>, Path(id): Path<FundId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawDated = f.to_raw(&[]);
    let r = care::close_year(&s.db, &u.p, id, &raw).await;
    after(&s, &u, id, Form::Close, f, r, |_| "年度已结转".into()).await
}

async fn reverse(u: PageUser, State(s): State<Shared>, Path(id): Path<EntryId>, CsrfForm(f): CsrfForm) -> PageResult {
    let fund = FundId::new(f.get("fund").and_then(|x| x.parse().ok()).unwrap_or(0));
    let raw: RawDated = f.to_raw(&[]);
    let r = care::reverse(&s.db, &u.p, id, &raw).await;
    after(&s, &u, fund, Form::Reverse(id.get()), f, r, |_| "已冲销".into()).await
}

// ---- an application

#[derive(Template)]
#[template(path = "care_application.html")]
struct ApplicationPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    a: Application,
    decisions: Vec<Decision>,
    fund: Fund,
    can_edit: bool,
    csrf: String,
    flash: Option<String>,
    errs: Errors,
}

async fn application_view(
    s: &Shared,
    u: &PageUser,
    id: ApplicationId,
    flash: Option<String>,
    errs: Errors,
) -> PageResult {
    let (a, decisions, fund) = care::application(&s.db, &u.p, id).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, OrgId::new(fund.org_id)).await?;
    crumbs.push((format!("/care/{}", fund.id), fund.name.clone()));
    let o = redcell_store::registry::orgs::get(&s.db, &u.p, OrgId::new(fund.org_id)).await?;
    let status = errs.status();
    Ok(render_status(
        status,
        &ApplicationPage {
            nav: Nav::of(u),
            crumbs,
            a,
            decisions,
            fund,
            can_edit: u.p.holds_at(Capability::EditRegistry, &o.org_path()),
            csrf: u.csrf.clone(),
            flash,
            errs,
        },
    ))
}

async fn application_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<ApplicationId>,
    Query(q): Query<FlashQuery>,
) -> PageResult {
    application_view(&s, &u, id, q.flash, Errors::none()).await
}

async fn decide(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<ApplicationId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawDecision = f.to_raw(&[]);
    match care::decide(&s.db, &u.p, id, &raw).await {
        Ok(a) => Ok(crate::requests::flash_to(&format!("/care/applications/{id}"), a.state_label(), false)),
        Err(e) => application_view(&s, &u, id, None, Errors::of(e)?).await,
    }
}

async fn pay(u: PageUser, State(s): State<Shared>, Path(id): Path<ApplicationId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawDated = f.to_raw(&[]);
    match care::pay(&s.db, &u.p, id, &raw).await {
        Ok(_) => Ok(crate::requests::flash_to(&format!("/care/applications/{id}"), "已支付并入账", false)),
        Err(e) => application_view(&s, &u, id, None, Errors::of(e)?).await,
    }
}

// ---- the publication

impl ApplicationPage {
    fn money(f: &i64) -> String {
        money(f)
    }
}

#[derive(Template)]
#[template(path = "care_public.html")]
struct PublicPage {
    nav: Option<Nav>,
    fund: String,
    org: String,
    days: i64,
    list: Vec<Published>,
}

impl PublicPage {
    fn money(f: &i64) -> String {
        money(f)
    }
}

async fn public_page(State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    let (fund, org, days, list) = care::published(&s.db, id).await?;
    Ok(render(&PublicPage { nav: None, fund, org, days, list }))
}

// ---- API

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FundsQuery {
    /// The organisation (its subtree); default: the caller's highest.
    pub org_id: Option<i64>,
}

/// The id of what a write created.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: i64,
}

/// A bank statement checked against the ledger.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Checked {
    /// Statement less ledger, in fen (0: they agree).
    pub gap: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApplicationView {
    pub application: Application,
    pub decisions: Vec<Decision>,
}

/// The care funds of an organisation's subtree.
#[utoipa::path(get, path = "/api/v1/care/funds", tag = "care", params(FundsQuery),
    responses((status = 200, body = Vec<Fund>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_funds(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<FundsQuery>,
) -> ApiResult<Json<Vec<Fund>>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(care::funds(&s.db, &p, OrgId::new(org)).await?))
}

/// Open a fund for an organisation (approval levels 1 or 2, publication days 3–30).
#[utoipa::path(post, path = "/api/v1/care/funds", tag = "care", request_body = RawFund,
    responses((status = 201, body = Fund), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_create_fund(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawFund>,
) -> ApiResult<(StatusCode, Json<Fund>)> {
    Ok((StatusCode::CREATED, Json(care::create_fund(&s.db, &p, &raw).await?)))
}

/// A fund: balances (in fen), entries newest first, applications, bank checks.
#[utoipa::path(get, path = "/api/v1/care/funds/{id}", tag = "care", params(("id" = i64, Path)),
    responses((status = 200, body = FundView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_fund(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<FundId>,
) -> ApiResult<Json<FundView>> {
    Ok(Json(care::view(&s.db, &p, id).await?))
}

/// Record income (amount in yuan, with its receipt).
#[utoipa::path(post, path = "/api/v1/care/funds/{id}/income", tag = "care", params(("id" = i64, Path)),
    request_body = RawIncome,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_income(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<FundId>,
    ApiJson(raw): ApiJson<RawIncome>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    Ok((StatusCode::CREATED, Json(Created { id: care::record_income(&s.db, &p, id, &raw).await? })))
}

/// Apply for a payment for a member (or a named person) in hardship.
#[utoipa::path(post, path = "/api/v1/care/funds/{id}/applications", tag = "care", params(("id" = i64, Path)),
    request_body = RawApplication,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_apply(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<FundId>,
    ApiJson(raw): ApiJson<RawApplication>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    Ok((StatusCode::CREATED, Json(Created { id: care::apply(&s.db, &p, id, &raw).await? })))
}

/// Check a bank statement's balance on a date against the ledger.
#[utoipa::path(post, path = "/api/v1/care/funds/{id}/checks", tag = "care", params(("id" = i64, Path)),
    request_body = RawDated,
    responses((status = 200, body = Checked), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_check(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<FundId>,
    ApiJson(raw): ApiJson<RawDated>,
) -> ApiResult<Json<Checked>> {
    Ok(Json(Checked { gap: care::assert_balance(&s.db, &p, id, &raw).await? }))
}

/// Close a past year (`year`).
#[utoipa::path(post, path = "/api/v1/care/funds/{id}/close", tag = "care", params(("id" = i64, Path)),
    request_body = RawDated,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_close(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<FundId>,
    ApiJson(raw): ApiJson<RawDated>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    Ok((StatusCode::CREATED, Json(Created { id: care::close_year(&s.db, &p, id, &raw).await? })))
}

/// An application with its decisions.
#[utoipa::path(get, path = "/api/v1/care/applications/{id}", tag = "care", params(("id" = i64, Path)),
    responses((status = 200, body = ApplicationView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_application(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ApplicationId>,
) -> ApiResult<Json<ApplicationView>> {
    let (application, decisions, _) = care::application(&s.db, &p, id).await?;
    Ok(Json(ApplicationView { application, decisions }))
}

/// Decide the next level of an application (`approve` or `reject`, with a reason).
#[utoipa::path(post, path = "/api/v1/care/applications/{id}/decision", tag = "care", params(("id" = i64, Path)),
    request_body = RawDecision,
    responses((status = 200, body = Application), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_decide(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ApplicationId>,
    ApiJson(raw): ApiJson<RawDecision>,
) -> ApiResult<Json<Application>> {
    Ok(Json(care::decide(&s.db, &p, id, &raw).await?))
}

/// Record the payment of an approved application.
#[utoipa::path(post, path = "/api/v1/care/applications/{id}/payment", tag = "care", params(("id" = i64, Path)),
    request_body = RawDated,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_pay(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ApplicationId>,
    ApiJson(raw): ApiJson<RawDated>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    Ok((StatusCode::CREATED, Json(Created { id: care::pay(&s.db, &p, id, &raw).await? })))
}

/// Reverse an income or a payment (with a reason).
#[utoipa::path(post, path = "/api/v1/care/entries/{id}/reversal", tag = "care", params(("id" = i64, Path)),
    request_body = RawDated,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_reverse(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<EntryId>,
    ApiJson(raw): ApiJson<RawDated>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    Ok((StatusCode::CREATED, Json(Created { id: care::reverse(&s.db, &p, id, &raw).await? })))
}

pub fn mount(s: &mut Surface) {
    s.get("/care/mine", gates::READ, mine)
        .get("/orgs/{id}/care", gates::READ, funds_page)
        .post("/orgs/{id}/care", gates::EDIT, create_fund)
        .get("/care/{id}", gates::READ, fund_page)
        .post("/care/{id}/income", gates::EDIT, income)
        .post("/care/{id}/applications", gates::EDIT, apply)
        .post("/care/{id}/checks", gates::EDIT, check)
        .post("/care/{id}/close", gates::EDIT, close)
        .post("/care/entries/{id}/reverse", gates::EDIT, reverse)
        .get("/care/applications/{id}", gates::READ, application_page)
        .post("/care/applications/{id}/decide", gates::EDIT, decide)
        .post("/care/applications/{id}/pay", gates::EDIT, pay)
        .get("/care/{id}/public", gates::PUBLIC, public_page);
    s.api(gates::READ, routes!(api_funds))
        .api(gates::EDIT, routes!(api_create_fund))
        .api(gates::READ, routes!(api_fund))
        .api(gates::EDIT, routes!(api_income))
        .api(gates::EDIT, routes!(api_apply))
        .api(gates::EDIT, routes!(api_check))
        .api(gates::EDIT, routes!(api_close))
        .api(gates::READ, routes!(api_application))
        .api(gates::EDIT, routes!(api_decide))
        .api(gates::EDIT, routes!(api_pay))
        .api(gates::EDIT, routes!(api_reverse));
    s.exports(redcell_store::care::exports());
    s.nav(45, "/care/mine", "关爱基金", gates::READ);
}
