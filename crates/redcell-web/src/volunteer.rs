//! Volunteering (志愿服务) on the web: an organisation's service posts, the
//! hours waiting for confirmation and the year's confirmed hours per member;
//! a post's page with its claims and agreements; the member's own page
//! (claim a post, sign a changed agreement, log hours, see the year's total);
//! and a post's public page without sign-in. JSON under `/api/v1/service/`.

use crate::Shared;
use crate::api::Q;
use crate::auth::{ApiUser, PageUser};
use crate::coverage::pages::{Choice, choices_for, pick_field};
use crate::error::{ApiResult, ErrorBody};
use crate::export::ExportLink;
use crate::form::FormData;
use crate::kit::{Access, ApiJson, CsrfForm, Errors, Surface, gates};
use crate::pages::{Nav, PageResult, render, render_status};
use crate::registry::pages::{Crumbs, org_crumbs};
use crate::requests::flash_to;
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use chrono::Datelike;
use redcell_domain::volunteer::{ClaimId, HoursId, InvitationId, ReportId, ServicePostId, hours_label};
use redcell_domain::{Capability, OrgId};
use redcell_store::coverage::pick::PickKind;
use redcell_store::volunteer::{
    self as vol, Card, Claim, Hours, Invitation, MyService, OrgService, Post, PostView, RawConfirm, RawHours,
    RawInvite, RawPost, RawReport, RawReturn, RawSkills, Report, ReportList, Suggested,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

/// Members serving: claiming posts and logging their hours.
const SERVE: Access = Access::Any(&[Capability::ClaimRequests]);
/// Anyone with a volunteering page: staff reading, members serving.
const ENTRY: Access = Access::Any(&[Capability::ReadRegistry, Capability::ClaimRequests]);

#[derive(Deserialize, Default)]
pub(crate) struct PageQuery {
    pub flash: Option<String>,
    pub year: Option<i32>,
}

pub(crate) fn v(x: &Option<String>) -> &str {
    x.as_deref().unwrap_or("")
}

/// An organisation's crumbs down to its volunteering page.
pub(crate) async fn service_crumbs(s: &Shared, u: &PageUser, org: OrgId) -> Result<Crumbs, crate::pages::PageError> {
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    crumbs.push((format!("/orgs/{org}/service"), "志愿服务".into()));
    Ok(crumbs)
}

// ---- an organisation's service

#[derive(Template)]
#[template(path = "service_org.html")]
struct OrgPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org_id: i64,
    posts: Vec<Post>,
    service: OrgService,
    can_edit: bool,
    csrf: String,
    flash: Option<String>,
    form: RawPost,
    errs: Errors,
    /// The hours whose decision failed.
    failed: Option<i64>,
    exports: Vec<crate::export::ExportLink>,
}

impl OrgPage {
    fn v(x: &Option<String>) -> &str {
        v(x)
    }
    fn hours(m: &i64) -> String {
        hours_label(*m)
    }
    fn failed_on(&self, id: &i64) -> bool {
        self.failed == Some(*id)
    }
}

#[allow(clippy::too_many_arguments)]
async fn org_view(
    s: &Shared,
    u: &PageUser,
    org: OrgId,
    year: Option<i32>,
    flash: Option<String>,
    form: RawPost,
    errs: Errors,
    failed: Option<i64>,
) -> PageResult {
    let year = year.unwrap_or_else(|| crate::today().year());
    let posts = vol::posts(&s.db, &u.p, org).await?;
    let service = vol::org_service(&s.db, &u.p, org, year).await?;
    let crumbs = service_crumbs(s, u, org).await?;
    let o = redcell_store::registry::orgs::get(&s.db, &u.p, org).await?;
    let exports = if crate::export::may_export_at(&u.p, &o.org_path()) {
        let f = [("org_id", org.to_string()), ("year", year.to_string())];
        vec![crate::export::link::<vol::HoursList>("服务时长台账", &f)]
    } else {
        vec![]
    };
    Ok(render_status(
        errs.status(),
        &OrgPage {
            nav: Nav::of(u),
            crumbs,
            org_id: org.get(),
            posts,
            service,
            can_edit: u.p.holds_at(Capability::EditRegistry, &o.org_path()),
            csrf: u.csrf.clone(),
            flash,
            form,
            errs,
            failed,
            exports,
        },
    ))
}

async fn org_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    org_view(&s, &u, org, q.year, q.flash, RawPost::default(), Errors::none(), None).await
}

async fn create_post(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let mut raw: RawPost = f.to_raw(&[]);
    raw.org_id = Some(org.to_string());
    match vol::create_post(&s.db, &u.p, &raw).await {
        Ok(p) => Ok(flash_to(&format!("/service/posts/{}", p.id), "岗位已发布", false)),
        Err(e) => org_view(&s, &u, org, None, None, raw, Errors::of(e)?, None).await,
    }
}

/// Where staff go: their organisation's service.
async fn entry(u: PageUser) -> PageResult {
    if !u.p.holds(Capability::ReadRegistry) {
        return Ok(Redirect::to("/service/mine").into_response());
    }
    match u.p.home_orgs().first() {
        Some(o) => Ok(Redirect::to(&format!("/orgs/{o}/service")).into_response()),
        None => Ok(Redirect::to("/orgs").into_response()),
    }
}

async fn decide(u: PageUser, State(s): State<Shared>, Path(id): Path<HoursId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawConfirm = f.to_raw(&[]);
    let back = f.get("org").and_then(|x| x.parse::<i64>().ok());
    match vol::decide(&s.db, &u.p, id, &raw).await {
        Ok(h) => {
            let org = back.unwrap_or(h.org_id);
            let msg = format!("{} {} {}：{}", h.member_name, h.work_date, h.length(), h.state_label());
            Ok(flash_to(&format!("/orgs/{org}/service"), &msg, false))
        }
        Err(e) => {
            let errs = Errors::of(e)?;
            let org = match back {
                Some(o) => o,
                None => return Err(redcell_store::StoreError::NotFound.into()),
            };
            org_view(&s, &u, OrgId::new(org), None, None, RawPost::default(), errs, Some(id.get())).await
        }
    }
}

// ---- a post

#[derive(Template)]
#[template(path = "service_post.html")]
struct PostPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    v: PostView,
    hours: Vec<Hours>,
    suggested: Vec<Suggested>,
    can_edit: bool,
    csrf: String,
    flash: Option<String>,
    form: RawPost,
    errs: Errors,
}

impl PostPage {
    fn v(x: &Option<String>) -> &str {
        v(x)
    }
}

async fn post_view(
    s: &Shared,
    u: &PageUser,
    id: ServicePostId,
    flash: Option<String>,
    form: Option<RawPost>,
    errs: Errors,
) -> PageResult {
    let pv = vol::post(&s.db, &u.p, id).await?;
    let hours = vol::post_hours(&s.db, &u.p, id).await?;
    let org = OrgId::new(pv.post.org_id);
    let mut crumbs = service_crumbs(s, u, org).await?;
    crumbs.push((format!("/service/posts/{id}"), pv.post.title.clone()));
    let o = redcell_store::registry::orgs::get(&s.db, &u.p, org).await?;
    let form = form.unwrap_or_else(|| RawPost::of(&pv.post));
    let can_edit = u.p.holds_at(Capability::EditRegistry, &o.org_path());
    let suggested = if can_edit { vol::suggestions(&s.db, &u.p, id).await? } else { vec![] };
    Ok(render_status(
        errs.status(),
        &PostPage {
            nav: Nav::of(u),
            crumbs,
            v: pv,
            hours,
            suggested,
            can_edit,
            csrf: u.csrf.clone(),
            flash,
            form,
            errs,
        },
    ))
}

async fn post_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<ServicePostId>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    post_view(&s, &u, id, q.flash, None, Errors::none()).await
}

async fn update_post(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<ServicePostId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawPost = f.to_raw(&[]);
    match vol::update_post(&s.db, &u.p, id, &raw).await {
        Ok(p) => Ok(flash_to(&format!("/service/posts/{id}"), &format!("已保存（第 {} 版）", p.version), false)),
        Err(e) => post_view(&s, &u, id, None, Some(raw), Errors::of(e)?).await,
    }
}

async fn close_post(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<ServicePostId>,
    CsrfForm(_): CsrfForm,
) -> PageResult {
    match vol::close_post(&s.db, &u.p, id).await {
        Ok(_) => Ok(flash_to(&format!("/service/posts/{id}"), "岗位已撤销", false)),
        Err(e) => post_view(&s, &u, id, None, None, Errors::of(e)?).await,
    }
}

#[derive(Template)]
#[template(path = "service_public.html")]
struct PublicPage {
    nav: Option<Nav>,
    v: PostView,
}

async fn public_page(State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    Ok(render(&PublicPage { nav: None, v: vol::public_post(&s.db, id).await? }))
}

async fn invite(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<ServicePostId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawInvite = f.to_raw(&[]);
    match vol::invite(&s.db, &u.p, id, &raw).await {
        Ok(i) => Ok(flash_to(&format!("/service/posts/{id}"), &format!("已邀请 {}，等待回复", i.member_name), false)),
        Err(e) => post_view(&s, &u, id, None, None, Errors::of(e)?).await,
    }
}

// ---- the member's own

#[derive(Template)]
#[template(path = "service_mine.html")]
struct MinePage {
    nav: Option<Nav>,
    csrf: String,
    flash: Option<String>,
    my: MyService,
    errs: Errors,
    values: FormData,
}

impl MinePage {
    fn hours(m: &i64) -> String {
        hours_label(*m)
    }
    fn val(&self, name: &str) -> &str {
        self.values.get(name).unwrap_or("")
    }
}

async fn mine_view(s: &Shared, u: &PageUser, flash: Option<String>, values: FormData, errs: Errors) -> PageResult {
    let my = vol::mine(&s.db, &u.p).await?;
    Ok(render_status(errs.status(), &MinePage { nav: Nav::of(u), csrf: u.csrf.clone(), flash, my, errs, values }))
}

async fn mine_page(u: PageUser, State(s): State<Shared>, Query(q): Query<PageQuery>) -> PageResult {
    mine_view(&s, &u, q.flash, FormData(vec![]), Errors::none()).await
}

pub(crate) async fn after<T>(
    s: &Shared,
    u: &PageUser,
    values: FormData,
    r: Result<T, redcell_store::StoreError>,
    ok: &str,
) -> PageResult {
    match r {
        Ok(_) => Ok(flash_to("/service/mine", ok, false)),
        Err(e) => mine_view(s, u, None, values, Errors::of(e)?).await,
    }
}

async fn claim(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<ServicePostId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let r = vol::claim(&s.db, &u.p, id).await;
    after(&s, &u, f, r, "已领岗，协议已签订").await
}

async fn renew(u: PageUser, State(s): State<Shared>, Path(id): Path<ClaimId>, CsrfForm(f): CsrfForm) -> PageResult {
    let r = vol::renew(&s.db, &u.p, id).await;
    after(&s, &u, f, r, "已签订新版协议").await
}

async fn leave(u: PageUser, State(s): State<Shared>, Path(id): Path<ClaimId>, CsrfForm(f): CsrfForm) -> PageResult {
    let r = vol::leave(&s.db, &u.p, id).await;
    after(&s, &u, f, r, "已离岗，服务记录保留").await
}

async fn accept(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<InvitationId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let r = vol::answer(&s.db, &u.p, id, true).await;
    after(&s, &u, f, r, "已接受邀请并领岗，协议已签订").await
}

async fn decline(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<InvitationId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let r = vol::answer(&s.db, &u.p, id, false).await;
    after(&s, &u, f, r, "已婉拒").await
}

async fn skills(u: PageUser, State(s): State<Shared>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawSkills = f.to_raw(&[]);
    let r = vol::update_skills(&s.db, &u.p, &raw).await;
    after(&s, &u, f, r, "特长和空闲时间已保存").await
}

async fn log_hours(u: PageUser, State(s): State<Shared>, CsrfForm(f): CsrfForm) -> PageResult {
    let mut raw: RawHours = f.to_raw(&[]);
    // One select names every kind of target: `post:12`, `team:5`, `request:34` or `activity:7`.
    if let Some((kind, id)) = f.get("target").and_then(|t| t.split_once(':')) {
        match kind {
            "post" => raw.post_id = Some(id.to_string()),
            "request" => raw.request_id = Some(id.to_string()),
            "team" => raw.team_id = Some(id.to_string()),
            "activity" => raw.activity_id = Some(id.to_string()),
            _ => {}
        }
    }
    let r = vol::log_hours(&s.db, &u.p, &raw).await;
    after(&s, &u, f, r, "已登记，等待确认后计入").await
}

// ---- in-service members' reports

#[derive(Deserialize, Default)]
struct CardQuery {
    year: Option<i32>,
    quarter: Option<u32>,
}

#[derive(Template)]
#[template(path = "inservice.html")]
struct RegisterPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org_id: i64,
    reports: Vec<Report>,
    can_edit: bool,
    csrf: String,
    flash: Option<String>,
    form: RawReport,
    errs: Errors,
    choices: Vec<Choice>,
    /// The report whose return failed.
    failed: Option<i64>,
    exports: Vec<ExportLink>,
    year: i32,
    quarter: u32,
}

impl RegisterPage {
    fn v(x: &Option<String>) -> &str {
        v(x)
    }
    fn choices(&self, field: &str) -> Option<&Choice> {
        choices_for(&self.choices, field)
    }
    fn failed_on(&self, id: &i64) -> bool {
        self.failed == Some(*id)
    }
}

#[allow(clippy::too_many_arguments)]
async fn register_view(
    s: &Shared,
    u: &PageUser,
    org: OrgId,
    flash: Option<String>,
    form: RawReport,
    errs: Errors,
    choices: Vec<Choice>,
    failed: Option<i64>,
) -> PageResult {
    let reports = vol::reports(&s.db, &u.p, org).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    crumbs.push((format!("/orgs/{org}/inservice"), "在职党员报到".into()));
    let o = redcell_store::registry::orgs::get(&s.db, &u.p, org).await?;
    let (year, quarter) = vol::quarter_of(crate::today());
    let exports = if crate::export::may_export_at(&u.p, &o.org_path()) {
        let q = format!("{year}-{quarter}");
        vec![crate::export::link::<ReportList>("在职党员报到名册", &[("org_id", org.to_string()), ("quarter", q)])]
    } else {
        vec![]
    };
    Ok(render_status(
        errs.status(),
        &RegisterPage {
            nav: Nav::of(u),
            crumbs,
            org_id: org.get(),
            reports,
            can_edit: u.p.holds_at(Capability::EditRegistry, &o.org_path()),
            csrf: u.csrf.clone(),
            flash,
            form,
            errs,
            choices,
            failed,
            exports,
            year,
            quarter,
        },
    ))
}

async fn register_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    register_view(&s, &u, org, q.flash, RawReport::default(), Errors::none(), vec![], None).await
}

async fn record_report(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let mut raw: RawReport = f.to_raw(&[]);
    raw.org_id = Some(org.to_string());
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
    let r = if picked.is_empty() {
        vol::record_report(&s.db, &u.p, &raw).await
    } else {
        Err(redcell_store::StoreError::Invalid(redcell_domain::Invalid(picked)))
    };
    match r {
        Ok(x) => Ok(flash_to(&format!("/orgs/{org}/inservice"), &format!("{} 已报到", x.member_name), false)),
        Err(e) => register_view(&s, &u, org, None, raw, Errors::of(e)?, choices, None).await,
    }
}

async fn return_report(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<ReportId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawReturn = f.to_raw(&[]);
    let org = f.get("org").and_then(|x| x.parse::<i64>().ok());
    match vol::return_report(&s.db, &u.p, id, &raw).await {
        Ok(x) => Ok(flash_to(
            &format!("/orgs/{}/inservice", org.unwrap_or(x.org_id)),
            &format!("{} 已回转", x.member_name),
            false,
        )),
        Err(e) => {
            let errs = Errors::of(e)?;
            let org = org.ok_or(redcell_store::StoreError::NotFound)?;
            register_view(&s, &u, OrgId::new(org), None, RawReport::default(), errs, vec![], Some(id.get())).await
        }
    }
}

#[derive(Template)]
#[template(path = "inservice_card.html")]
struct CardPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    c: Card,
    prev: (i32, u32),
    next: (i32, u32),
}

async fn card_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<ReportId>,
    Query(q): Query<CardQuery>,
) -> PageResult {
    let (y0, q0) = vol::quarter_of(crate::today());
    let (year, quarter) = (q.year.unwrap_or(y0), q.quarter.unwrap_or(q0));
    let c = vol::card(&s.db, &u.p, id, year, quarter).await?;
    let org = OrgId::new(c.report.org_id);
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    crumbs.push((format!("/orgs/{org}/inservice"), "在职党员报到".into()));
    let prev = if quarter == 1 { (year - 1, 4) } else { (year, quarter - 1) };
    let next = if quarter == 4 { (year + 1, 1) } else { (year, quarter + 1) };
    Ok(render(&CardPage { nav: Nav::of(&u), crumbs, c, prev, next }))
}

// ---- API

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostsQuery {
    /// The organisation (its subtree); default: the caller's highest.
    pub org_id: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// The calendar year; default: this year.
    pub year: Option<i32>,
}

/// Nothing to return but success.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Done {
    pub ok: bool,
}

/// The service posts of an organisation's subtree, open ones first.
#[utoipa::path(get, path = "/api/v1/service/posts", tag = "service", operation_id = "service_posts", params(PostsQuery),
    responses((status = 200, body = Vec<Post>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_posts(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<PostsQuery>,
) -> ApiResult<Json<Vec<Post>>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(vol::posts(&s.db, &p, OrgId::new(org)).await?))
}

/// Publish a service post (what, where, when, headcount, skills wanted).
#[utoipa::path(post, path = "/api/v1/service/posts", tag = "service", operation_id = "service_create_post", request_body = RawPost,
    responses((status = 201, body = Post), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_create_post(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawPost>,
) -> ApiResult<(StatusCode, Json<Post>)> {
    Ok((StatusCode::CREATED, Json(vol::create_post(&s.db, &p, &raw).await?)))
}

/// A post with its claims and the agreement each member signed last.
#[utoipa::path(get, path = "/api/v1/service/posts/{id}", tag = "service", operation_id = "service_post", params(("id" = i64, Path)),
    responses((status = 200, body = PostView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_post(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ServicePostId>,
) -> ApiResult<Json<PostView>> {
    Ok(Json(vol::post(&s.db, &p, id).await?))
}

/// Change a post's terms (a new version of its agreement when anything changed).
#[utoipa::path(put, path = "/api/v1/service/posts/{id}", tag = "service", operation_id = "service_update_post", params(("id" = i64, Path)), request_body = RawPost,
    responses((status = 200, body = Post), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_update_post(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ServicePostId>,
    ApiJson(raw): ApiJson<RawPost>,
) -> ApiResult<Json<Post>> {
    Ok(Json(vol::update_post(&s.db, &p, id, &raw).await?))
}

/// Close a post: no more claims; those holding it leave it today.
#[utoipa::path(post, path = "/api/v1/service/posts/{id}/close", tag = "service", operation_id = "service_close_post", params(("id" = i64, Path)),
    responses((status = 200, body = Post), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_close_post(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ServicePostId>,
) -> ApiResult<Json<Post>> {
    Ok(Json(vol::close_post(&s.db, &p, id).await?))
}

/// Claim a post as the caller's member, signing its current agreement.
#[utoipa::path(post, path = "/api/v1/service/posts/{id}/claim", tag = "service", operation_id = "service_claim", params(("id" = i64, Path)),
    responses((status = 201, body = Claim), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_claim(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ServicePostId>,
) -> ApiResult<(StatusCode, Json<Claim>)> {
    Ok((StatusCode::CREATED, Json(vol::claim(&s.db, &p, id).await?)))
}

/// Sign the current version of a held post's agreement.
#[utoipa::path(post, path = "/api/v1/service/claims/{id}/renewal", tag = "service", operation_id = "service_renew", params(("id" = i64, Path)),
    responses((status = 200, body = Claim), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_renew(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ClaimId>,
) -> ApiResult<Json<Claim>> {
    Ok(Json(vol::renew(&s.db, &p, id).await?))
}

/// Leave a post (the history stays).
#[utoipa::path(post, path = "/api/v1/service/claims/{id}/leave", tag = "service", operation_id = "service_leave", params(("id" = i64, Path)),
    responses((status = 200, body = Done), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_leave(ApiUser(p): ApiUser, State(s): State<Shared>, Path(id): Path<ClaimId>) -> ApiResult<Json<Done>> {
    vol::leave(&s.db, &p, id).await?;
    Ok(Json(Done { ok: true }))
}

/// Log service hours against a held post or a handled request (pending until confirmed).
#[utoipa::path(post, path = "/api/v1/service/hours", tag = "service", operation_id = "service_log_hours", request_body = RawHours,
    responses((status = 201, body = Hours), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_log_hours(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawHours>,
) -> ApiResult<(StatusCode, Json<Hours>)> {
    Ok((StatusCode::CREATED, Json(vol::log_hours(&s.db, &p, &raw).await?)))
}

/// Confirm or reject logged hours (never one's own).
#[utoipa::path(post, path = "/api/v1/service/hours/{id}/decision", tag = "service", operation_id = "service_decide", params(("id" = i64, Path)),
    request_body = RawConfirm,
    responses((status = 200, body = Hours), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_decide(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<HoursId>,
    ApiJson(raw): ApiJson<RawConfirm>,
) -> ApiResult<Json<Hours>> {
    Ok(Json(vol::decide(&s.db, &p, id, &raw).await?))
}

/// An organisation's service in a year: confirmed hours per member (by
/// organisation and name, never ranked) and the hours waiting.
#[utoipa::path(get, path = "/api/v1/service/orgs/{id}", tag = "service", operation_id = "service_org", params(("id" = i64, Path), YearQuery),
    responses((status = 200, body = OrgService), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_org(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<OrgId>,
    Q(q): Q<YearQuery>,
) -> ApiResult<Json<OrgService>> {
    let year = q.year.unwrap_or_else(|| crate::today().year());
    Ok(Json(vol::org_service(&s.db, &p, id, year).await?))
}

/// The caller's own service: posts held, open posts nearby, hours and the year's total.
#[utoipa::path(get, path = "/api/v1/me/service", tag = "service", operation_id = "service_mine",
    responses((status = 200, body = MyService), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_mine(ApiUser(p): ApiUser, State(s): State<Shared>) -> ApiResult<Json<MyService>> {
    Ok(Json(vol::mine(&s.db, &p).await?))
}

/// The in-service members' register of an organisation's subtree, open reports first.
#[utoipa::path(get, path = "/api/v1/service/reports", tag = "service", operation_id = "service_reports", params(PostsQuery),
    responses((status = 200, body = Vec<Report>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_reports(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<PostsQuery>,
) -> ApiResult<Json<Vec<Report>>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(vol::reports(&s.db, &p, OrgId::new(org)).await?))
}

/// Record an in-service member's report to their residence community (one open report per member).
#[utoipa::path(post, path = "/api/v1/service/reports", tag = "service", operation_id = "service_record_report", request_body = RawReport,
    responses((status = 201, body = Report), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_record_report(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawReport>,
) -> ApiResult<(StatusCode, Json<Report>)> {
    Ok((StatusCode::CREATED, Json(vol::record_report(&s.db, &p, &raw).await?)))
}

/// Return a report when the member moves away (the history stays).
#[utoipa::path(post, path = "/api/v1/service/reports/{id}/return", tag = "service", operation_id = "service_return_report",
    params(("id" = i64, Path)), request_body = RawReturn,
    responses((status = 200, body = Report), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_return_report(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ReportId>,
    ApiJson(raw): ApiJson<RawReturn>,
) -> ApiResult<Json<Report>> {
    Ok(Json(vol::return_report(&s.db, &p, id, &raw).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuarterQuery {
    /// Default: this year.
    pub year: Option<i32>,
    /// 1–4; default: this quarter.
    pub quarter: Option<u32>,
}

/// The quarterly feedback card of a report: posts held and confirmed hours in the quarter.
#[utoipa::path(get, path = "/api/v1/service/reports/{id}/card", tag = "service", operation_id = "service_report_card",
    params(("id" = i64, Path), QuarterQuery),
    responses((status = 200, body = Card), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_card(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ReportId>,
    Q(q): Q<QuarterQuery>,
) -> ApiResult<Json<Card>> {
    let (y0, q0) = vol::quarter_of(crate::today());
    Ok(Json(vol::card(&s.db, &p, id, q.year.unwrap_or(y0), q.quarter.unwrap_or(q0)).await?))
}

/// Members whose skills or interests fit the post (best fit first), to invite.
#[utoipa::path(get, path = "/api/v1/service/posts/{id}/suggestions", tag = "service", operation_id = "service_suggestions",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Suggested>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_suggestions(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ServicePostId>,
) -> ApiResult<Json<Vec<Suggested>>> {
    Ok(Json(vol::suggestions(&s.db, &p, id).await?))
}

/// Invite a member to a post.
#[utoipa::path(post, path = "/api/v1/service/posts/{id}/invitations", tag = "service", operation_id = "service_invite",
    params(("id" = i64, Path)), request_body = RawInvite,
    responses((status = 201, body = Invitation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_invite(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ServicePostId>,
    ApiJson(raw): ApiJson<RawInvite>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    Ok((StatusCode::CREATED, Json(vol::invite(&s.db, &p, id, &raw).await?)))
}

/// The member's answer to an invitation (to a post or a wish).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct Answer {
    /// `true` accepts (and claims the post or the wish), `false` declines.
    pub accept: bool,
}

/// Answer an invitation: accepting claims the post under its agreement.
#[utoipa::path(post, path = "/api/v1/service/invitations/{id}/answer", tag = "service", operation_id = "service_answer",
    params(("id" = i64, Path)), request_body = Answer,
    responses((status = 200, body = Invitation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_answer(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<InvitationId>,
    ApiJson(a): ApiJson<Answer>,
) -> ApiResult<Json<Invitation>> {
    Ok(Json(vol::answer(&s.db, &p, id, a.accept).await?))
}

/// The caller's own skills, interests and free time.
#[utoipa::path(put, path = "/api/v1/me/skills", tag = "service", operation_id = "service_update_skills", request_body = RawSkills,
    responses((status = 200, body = Done), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_skills(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawSkills>,
) -> ApiResult<Json<Done>> {
    vol::update_skills(&s.db, &p, &raw).await?;
    Ok(Json(Done { ok: true }))
}

pub fn mount(s: &mut Surface) {
    s.get("/service", ENTRY, entry)
        .get("/orgs/{id}/service", gates::READ, org_page)
        .post("/orgs/{id}/service/posts", gates::EDIT, create_post)
        .get("/service/posts/{id}", gates::READ, post_page)
        .post("/service/posts/{id}", gates::EDIT, update_post)
        .post("/service/posts/{id}/close", gates::EDIT, close_post)
        .post("/service/hours/{id}/decide", gates::EDIT, decide)
        .get("/service/posts/{id}/public", gates::PUBLIC, public_page)
        .get("/service/mine", SERVE, mine_page)
        .post("/service/posts/{id}/claim", SERVE, claim)
        .post("/service/claims/{id}/renew", SERVE, renew)
        .post("/service/claims/{id}/leave", SERVE, leave)
        .post("/service/hours", SERVE, log_hours)
        .post("/service/posts/{id}/invite", gates::EDIT, invite)
        .post("/service/invitations/{id}/accept", SERVE, accept)
        .post("/service/invitations/{id}/decline", SERVE, decline)
        .post("/service/mine/skills", SERVE, skills)
        .get("/orgs/{id}/inservice", gates::READ, register_page)
        .post("/orgs/{id}/inservice", gates::EDIT, record_report)
        .post("/inservice/{id}/return", gates::EDIT, return_report)
        .get("/inservice/{id}/card", gates::READ, card_page);
    s.api(gates::READ, routes!(api_posts))
        .api(gates::EDIT, routes!(api_create_post))
        .api(gates::READ, routes!(api_post))
        .api(gates::EDIT, routes!(api_update_post))
        .api(gates::EDIT, routes!(api_close_post))
        .api(SERVE, routes!(api_claim))
        .api(SERVE, routes!(api_renew))
        .api(SERVE, routes!(api_leave))
        .api(SERVE, routes!(api_log_hours))
        .api(gates::EDIT, routes!(api_decide))
        .api(gates::READ, routes!(api_org))
        .api(SERVE, routes!(api_mine))
        .api(gates::READ, routes!(api_reports))
        .api(gates::EDIT, routes!(api_record_report))
        .api(gates::EDIT, routes!(api_return_report))
        .api(gates::READ, routes!(api_card))
        .api(gates::EDIT, routes!(api_suggestions))
        .api(gates::EDIT, routes!(api_invite))
        .api(SERVE, routes!(api_answer))
        .api(SERVE, routes!(api_skills));
    s.exports(vol::exports());
    s.nav(46, "/service", "志愿服务", ENTRY);
}
