//! Service teams (服务队) and the yearly service evaluation on the web: an
//! organisation's teams, a team's page (members, the year's confirmed hours,
//! its terms), its public page without sign-in; members join and leave from
//! their own service page. The year's evaluations of an organisation,
//! drafted from the confirmed record and reviewed by staff. JSON under
//! `/api/v1/service/teams` and `/api/v1/service/evaluations`.

use crate::Shared;
use crate::api::Q;
use crate::auth::{ApiUser, PageUser};
use crate::coverage::pages::{Choice, choices_for, pick_field};
use crate::error::{ApiResult, ErrorBody};
use crate::form::FormData;
use crate::kit::{Access, ApiJson, CsrfForm, Errors, Surface, gates};
use crate::pages::{Nav, PageResult, render, render_status};
use crate::registry::pages::Crumbs;
use crate::requests::flash_to;
use crate::volunteer::{Answer, Done, PageQuery, service_crumbs, v};
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::Datelike;
use redcell_domain::RequestId;
use redcell_domain::volunteer::{EvaluationId, Grade, TeamId, WishInvitationId, hours_label};
use redcell_domain::{Capability, OrgId};
use redcell_store::coverage::pick::PickKind;
use redcell_store::matching::{RequestInvitation, RequestSuggested};
use redcell_store::teams::{
    self as tm, Evaluation, EvaluationList, RawDraft, RawReview, RawTeam, RawTeamMember, Team, TeamMember, TeamView,
};
use redcell_store::volunteer::RawInvite;
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

/// Members serving: joining and leaving teams, answering wish invitations.
const SERVE: Access = Access::Any(&[Capability::ClaimRequests]);
/// Staff handling requests: suggesting and inviting members to a wish.
const HANDLE: Access = Access::Any(&[Capability::HandleRequests]);

async fn can_edit(s: &Shared, u: &PageUser, org: OrgId) -> Result<bool, crate::pages::PageError> {
    let o = redcell_store::registry::orgs::get(&s.db, &u.p, org).await?;
    Ok(u.p.holds_at(Capability::EditRegistry, &o.org_path()))
}

// ---- an organisation's teams

#[derive(Template)]
#[template(path = "service_teams.html")]
struct TeamsPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org_id: i64,
    teams: Vec<Team>,
    can_edit: bool,
    csrf: String,
    flash: Option<String>,
    form: RawTeam,
    errs: Errors,
}

impl TeamsPage {
    fn v(x: &Option<String>) -> &str {
        v(x)
    }
}

async fn teams_view(
    s: &Shared,
    u: &PageUser,
    org: OrgId,
    flash: Option<String>,
    form: RawTeam,
    errs: Errors,
) -> PageResult {
    let teams = tm::teams(&s.db, &u.p, org).await?;
    let mut crumbs = service_crumbs(s, u, org).await?;
    crumbs.push((format!("/orgs/{org}/service/teams"), "服务队".into()));
    Ok(render_status(
        errs.status(),
        &TeamsPage {
            nav: Nav::of(u),
            crumbs,
            org_id: org.get(),
            teams,
            can_edit: can_edit(s, u, org).await?,
            csrf: u.csrf.clone(),
            flash,
            form,
            errs,
        },
    ))
}

async fn teams_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    teams_view(&s, &u, org, q.flash, RawTeam::default(), Errors::none()).await
}

async fn create_team(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let mut raw: RawTeam = f.to_raw(&[]);
    raw.org_id = Some(org.to_string());
    match tm::create_team(&s.db, &u.p, &raw).await {
        Ok(t) => Ok(flash_to(&format!("/service/teams/{}", t.id), "服务队已成立，请添加队员", false)),
        Err(e) => teams_view(&s, &u, org, None, raw, Errors::of(e)?).await,
    }
}

// ---- a team

/// Which form the errors belong to.
#[derive(Default, PartialEq, Clone, Copy)]
enum Form {
    #[default]
    None,
    Edit,
    Add,
}

#[derive(Template)]
#[template(path = "service_team.html")]
struct TeamPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    v: TeamView,
    can_edit: bool,
    csrf: String,
    flash: Option<String>,
    form: RawTeam,
    values: FormData,
    errs: Errors,
    failed: Form,
    choices: Vec<Choice>,
}

impl TeamPage {
    fn v(x: &Option<String>) -> &str {
        v(x)
    }
    fn val(&self, name: &str) -> &str {
        self.values.get(name).unwrap_or("")
    }
    fn choices(&self, field: &str) -> Option<&Choice> {
        choices_for(&self.choices, field)
    }
    fn hours(m: &i64) -> String {
        hours_label(*m)
    }
    fn edit_failed(&self) -> bool {
        self.failed == Form::Edit
    }
    fn add_failed(&self) -> bool {
        self.failed == Form::Add
    }
    fn any_pending(&self) -> bool {
        self.v.hours.iter().any(|h| h.is_pending())
    }
}

#[allow(clippy::too_many_arguments)]
async fn team_view(
    s: &Shared,
    u: &PageUser,
    id: TeamId,
    flash: Option<String>,
    form: Option<RawTeam>,
    values: FormData,
    errs: Errors,
    failed: Form,
    choices: Vec<Choice>,
) -> PageResult {
    let tv = tm::team(&s.db, &u.p, id).await?;
    let org = OrgId::new(tv.team.org_id);
    let mut crumbs = service_crumbs(s, u, org).await?;
    crumbs.push((format!("/orgs/{org}/service/teams"), "服务队".into()));
    crumbs.push((format!("/service/teams/{id}"), tv.team.name.clone()));
    let form = form.unwrap_or_else(|| RawTeam::of(&tv.team));
    Ok(render_status(
        errs.status(),
        &TeamPage {
            nav: Nav::of(u),
            crumbs,
            can_edit: can_edit(s, u, org).await?,
            v: tv,
            csrf: u.csrf.clone(),
            flash,
            form,
            values,
            errs,
            failed,
            choices,
        },
    ))
}

async fn team_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<TeamId>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    team_view(&s, &u, id, q.flash, None, FormData(vec![]), Errors::none(), Form::None, vec![]).await
}

async fn update_team(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<TeamId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawTeam = f.to_raw(&[]);
    match tm::update_team(&s.db, &u.p, id, &raw).await {
        Ok(_) => Ok(flash_to(&format!("/service/teams/{id}"), "已保存，公示页同步更新", false)),
        Err(e) => team_view(&s, &u, id, None, Some(raw), FormData(vec![]), Errors::of(e)?, Form::Edit, vec![]).await,
    }
}

async fn close_team(u: PageUser, State(s): State<Shared>, Path(id): Path<TeamId>, CsrfForm(_): CsrfForm) -> PageResult {
    match tm::close_team(&s.db, &u.p, id).await {
        Ok(_) => Ok(flash_to(&format!("/service/teams/{id}"), "服务队已撤销，服务记录保留", false)),
        Err(e) => team_view(&s, &u, id, None, None, FormData(vec![]), Errors::of(e)?, Form::None, vec![]).await,
    }
}

async fn add_member(u: PageUser, State(s): State<Shared>, Path(id): Path<TeamId>, CsrfForm(f): CsrfForm) -> PageResult {
    let mut raw: RawTeamMember = f.to_raw(&[]);
    let org = tm::team_row_of(&s.db, &u.p, id).await?.org_id;
    let mut picked = Vec::new();
    let mut choices = Vec::new();
    pick_field(&s.db, &u.p, &f, "member_id", PickKind::Member, org, &mut raw.member_id, &mut picked, &mut choices)
        .await?;
    let r = if picked.is_empty() {
        tm::add_member(&s.db, &u.p, id, &raw).await
    } else {
        Err(redcell_store::StoreError::Invalid(redcell_domain::Invalid(picked)))
    };
    match r {
        Ok(m) => Ok(flash_to(&format!("/service/teams/{id}"), &format!("{} 已加入服务队", m.member_name), false)),
        Err(e) => team_view(&s, &u, id, None, None, f, Errors::of(e)?, Form::Add, choices).await,
    }
}

async fn remove_member(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<TeamId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawTeamMember = f.to_raw(&[]);
    match tm::remove_member(&s.db, &u.p, id, &raw).await {
        Ok(()) => Ok(flash_to(&format!("/service/teams/{id}"), "已退出服务队，服务记录保留", false)),
        Err(e) => team_view(&s, &u, id, None, None, FormData(vec![]), Errors::of(e)?, Form::None, vec![]).await,
    }
}

#[derive(Template)]
#[template(path = "service_team_public.html")]
struct PublicPage {
    nav: Option<Nav>,
    v: TeamView,
}

async fn public_page(State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    Ok(render(&PublicPage { nav: None, v: tm::public_team(&s.db, id).await? }))
}

async fn join(u: PageUser, State(s): State<Shared>, Path(id): Path<TeamId>, CsrfForm(f): CsrfForm) -> PageResult {
    let r = tm::join(&s.db, &u.p, id).await;
    crate::volunteer::after(&s, &u, f, r, "已加入服务队").await
}

async fn accept_wish(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<WishInvitationId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    match redcell_store::matching::answer(&s.db, &u.p, id, true).await {
        // A request: on to its page, where the member handles it.
        Ok(inv) if !inv.is_wish() => {
            Ok(flash_to(&format!("/requests/{}", inv.request_id), "已接受，这件诉求由您承办", false))
        }
        r => crate::volunteer::after(&s, &u, f, r, "已认领微心愿，请尽快联系家庭").await,
    }
}

async fn decline_wish(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<WishInvitationId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let r = redcell_store::matching::answer(&s.db, &u.p, id, false).await;
    crate::volunteer::after(&s, &u, f, r, "已婉拒").await
}

async fn leave(u: PageUser, State(s): State<Shared>, Path(id): Path<TeamId>, CsrfForm(f): CsrfForm) -> PageResult {
    let r = tm::leave(&s.db, &u.p, id).await;
    crate::volunteer::after(&s, &u, f, r, "已退出服务队，服务记录保留").await
}

// ---- the year's evaluations

#[derive(Template)]
#[template(path = "service_evaluations.html")]
struct EvaluationsPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org_id: i64,
    list: EvaluationList,
    this_year: i32,
    can_edit: bool,
    csrf: String,
    flash: Option<String>,
    errs: Errors,
    /// The evaluation whose review failed.
    failed: Option<i64>,
    grades: Vec<(&'static str, &'static str)>,
}

impl EvaluationsPage {
    fn failed_on(&self, id: &i64) -> bool {
        self.failed == Some(*id)
    }
}

#[allow(clippy::too_many_arguments)]
async fn evaluations_view(
    s: &Shared,
    u: &PageUser,
    org: OrgId,
    year: Option<i32>,
    flash: Option<String>,
    errs: Errors,
    failed: Option<i64>,
) -> PageResult {
    let this_year = crate::today().year();
    let list = tm::evaluations(&s.db, &u.p, org, year.unwrap_or(this_year)).await?;
    let mut crumbs = service_crumbs(s, u, org).await?;
    crumbs.push((format!("/orgs/{org}/service/evaluations"), "年度服务评价".into()));
    Ok(render_status(
        errs.status(),
        &EvaluationsPage {
            nav: Nav::of(u),
            crumbs,
            org_id: org.get(),
            list,
            this_year,
            can_edit: can_edit(s, u, org).await?,
            csrf: u.csrf.clone(),
            flash,
            errs,
            failed,
            grades: Grade::ALL.iter().map(|g| (g.code(), g.label())).collect(),
        },
    ))
}

async fn evaluations_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    evaluations_view(&s, &u, org, q.year, q.flash, Errors::none(), None).await
}

async fn draft(u: PageUser, State(s): State<Shared>, Path(org): Path<OrgId>, CsrfForm(f): CsrfForm) -> PageResult {
    let mut raw: RawDraft = f.to_raw(&[]);
    raw.org_id = Some(org.to_string());
    let year = raw.year.as_deref().and_then(|y| y.trim().parse::<i32>().ok());
    match tm::draft(&s.db, &u.p, &raw).await {
        Ok(n) => {
            let y = year.unwrap_or_else(|| crate::today().year());
            let msg = if n == 0 {
                "没有需要起草的评价：这一年还没有经确认的服务记录".to_string()
            } else {
                format!("已根据经确认的服务记录起草 {n} 份评价，请逐一评议")
            };
            Ok(flash_to(&format!("/orgs/{org}/service/evaluations?year={y}"), &msg, false))
        }
        Err(e) => evaluations_view(&s, &u, org, None, None, Errors::of(e)?, None).await,
    }
}

async fn review(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<EvaluationId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawReview = f.to_raw(&[]);
    let back = f.get("org").and_then(|x| x.parse::<i64>().ok());
    match tm::review(&s.db, &u.p, id, &raw).await {
        Ok(e) => {
            let org = back.unwrap_or(e.org_id);
            let msg = format!("{} {} 年：{}", e.member_name, e.year, e.grade_label());
            Ok(flash_to(&format!("/orgs/{org}/service/evaluations?year={}", e.year), &msg, false))
        }
        Err(e) => {
            let errs = Errors::of(e)?;
            let org = back.ok_or(redcell_store::StoreError::NotFound)?;
            let year = f.get("year").and_then(|y| y.parse().ok());
            evaluations_view(&s, &u, OrgId::new(org), year, None, errs, Some(id.get())).await
        }
    }
}

// ---- API

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TeamsQuery {
    /// The organisation (its subtree); default: the caller's highest.
    pub org_id: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvaluationsQuery {
    /// The organisation (its subtree); default: the caller's highest.
    pub org_id: Option<i64>,
    /// The year; default: this year.
    pub year: Option<i32>,
}

/// How many evaluations a draft run wrote.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Drafted {
    pub drafted: usize,
}

/// The service teams of an organisation's subtree, open ones first.
#[utoipa::path(get, path = "/api/v1/service/teams", tag = "service", operation_id = "service_teams", params(TeamsQuery),
    responses((status = 200, body = Vec<Team>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_teams(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<TeamsQuery>,
) -> ApiResult<Json<Vec<Team>>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(tm::teams(&s.db, &p, OrgId::new(org)).await?))
}

/// Set up a service team (name, service items, times, rules).
#[utoipa::path(post, path = "/api/v1/service/teams", tag = "service", operation_id = "service_create_team", request_body = RawTeam,
    responses((status = 201, body = Team), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_create_team(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawTeam>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    Ok((StatusCode::CREATED, Json(tm::create_team(&s.db, &p, &raw).await?)))
}

/// A team with its members, the year's confirmed hours and the latest hours.
#[utoipa::path(get, path = "/api/v1/service/teams/{id}", tag = "service", operation_id = "service_team", params(("id" = i64, Path)),
    responses((status = 200, body = TeamView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_team(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<TeamId>,
) -> ApiResult<Json<TeamView>> {
    Ok(Json(tm::team(&s.db, &p, id).await?))
}

/// Change a team's terms.
#[utoipa::path(put, path = "/api/v1/service/teams/{id}", tag = "service", operation_id = "service_update_team", params(("id" = i64, Path)), request_body = RawTeam,
    responses((status = 200, body = Team), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_update_team(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<TeamId>,
    ApiJson(raw): ApiJson<RawTeam>,
) -> ApiResult<Json<Team>> {
    Ok(Json(tm::update_team(&s.db, &p, id, &raw).await?))
}

/// Close a team: its members leave it today; the history stays.
#[utoipa::path(post, path = "/api/v1/service/teams/{id}/close", tag = "service", operation_id = "service_close_team", params(("id" = i64, Path)),
    responses((status = 200, body = Team), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_close_team(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<TeamId>,
) -> ApiResult<Json<Team>> {
    Ok(Json(tm::close_team(&s.db, &p, id).await?))
}

/// Add a member to a team.
#[utoipa::path(post, path = "/api/v1/service/teams/{id}/members", tag = "service", operation_id = "service_team_add",
    params(("id" = i64, Path)), request_body = RawTeamMember,
    responses((status = 201, body = TeamMember), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_add_member(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<TeamId>,
    ApiJson(raw): ApiJson<RawTeamMember>,
) -> ApiResult<(StatusCode, Json<TeamMember>)> {
    Ok((StatusCode::CREATED, Json(tm::add_member(&s.db, &p, id, &raw).await?)))
}

/// End a member's time in a team (the history stays).
#[utoipa::path(post, path = "/api/v1/service/teams/{id}/members/removal", tag = "service", operation_id = "service_team_remove",
    params(("id" = i64, Path)), request_body = RawTeamMember,
    responses((status = 200, body = Done), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_remove_member(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<TeamId>,
    ApiJson(raw): ApiJson<RawTeamMember>,
) -> ApiResult<Json<Done>> {
    tm::remove_member(&s.db, &p, id, &raw).await?;
    Ok(Json(Done { ok: true }))
}

/// Join an open team near the caller's member.
#[utoipa::path(post, path = "/api/v1/service/teams/{id}/join", tag = "service", operation_id = "service_team_join",
    params(("id" = i64, Path)),
    responses((status = 201, body = TeamMember), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_join(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<TeamId>,
) -> ApiResult<(StatusCode, Json<TeamMember>)> {
    Ok((StatusCode::CREATED, Json(tm::join(&s.db, &p, id).await?)))
}

/// Leave a team the caller's member serves in.
#[utoipa::path(post, path = "/api/v1/service/teams/{id}/leave", tag = "service", operation_id = "service_team_leave",
    params(("id" = i64, Path)),
    responses((status = 200, body = Done), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_leave(ApiUser(p): ApiUser, State(s): State<Shared>, Path(id): Path<TeamId>) -> ApiResult<Json<Done>> {
    tm::leave(&s.db, &p, id).await?;
    Ok(Json(Done { ok: true }))
}

/// The year's evaluations of the members of an organisation's subtree.
#[utoipa::path(get, path = "/api/v1/service/evaluations", tag = "service", operation_id = "service_evaluations", params(EvaluationsQuery),
    responses((status = 200, body = EvaluationList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_evaluations(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<EvaluationsQuery>,
) -> ApiResult<Json<EvaluationList>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    let year = q.year.unwrap_or_else(|| crate::today().year());
    Ok(Json(tm::evaluations(&s.db, &p, OrgId::new(org), year).await?))
}

/// Draft (or redraft) the year's evaluations from the confirmed record; reviewed ones stay.
#[utoipa::path(post, path = "/api/v1/service/evaluations/drafts", tag = "service", operation_id = "service_draft_evaluations",
    request_body = RawDraft,
    responses((status = 200, body = Drafted), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_draft(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawDraft>,
) -> ApiResult<Json<Drafted>> {
    Ok(Json(Drafted { drafted: tm::draft(&s.db, &p, &raw).await? }))
}

/// Review a drafted evaluation with a grade and a comment (never one's own).
#[utoipa::path(post, path = "/api/v1/service/evaluations/{id}/review", tag = "service", operation_id = "service_review_evaluation",
    params(("id" = i64, Path)), request_body = RawReview,
    responses((status = 200, body = Evaluation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_review(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<EvaluationId>,
    ApiJson(raw): ApiJson<RawReview>,
) -> ApiResult<Json<Evaluation>> {
    Ok(Json(tm::review(&s.db, &p, id, &raw).await?))
}

/// Members who could take a published wish or an unclaimed request (best fit first), to invite.
#[utoipa::path(get, path = "/api/v1/requests/{id}/suggestions", tag = "service", operation_id = "wish_suggestions",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<RequestSuggested>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_wish_suggestions(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<RequestId>,
) -> ApiResult<Json<Vec<RequestSuggested>>> {
    Ok(Json(redcell_store::matching::suggestions(&s.db, &p, id).await?))
}

/// Invite a suggested member to take a published wish or an unclaimed request.
#[utoipa::path(post, path = "/api/v1/requests/{id}/invitations", tag = "service", operation_id = "wish_invite",
    params(("id" = i64, Path)), request_body = RawInvite,
    responses((status = 201, body = RequestInvitation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_wish_invite(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<RequestId>,
    ApiJson(raw): ApiJson<RawInvite>,
) -> ApiResult<(StatusCode, Json<RequestInvitation>)> {
    Ok((StatusCode::CREATED, Json(redcell_store::matching::invite(&s.db, &p, id, &raw).await?)))
}

/// Answer an invitation: accepting claims the wish or the request as the caller.
#[utoipa::path(post, path = "/api/v1/service/wish-invitations/{id}/answer", tag = "service", operation_id = "wish_answer",
    params(("id" = i64, Path)), request_body = Answer,
    responses((status = 200, body = RequestInvitation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_wish_answer(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<WishInvitationId>,
    ApiJson(a): ApiJson<Answer>,
) -> ApiResult<Json<RequestInvitation>> {
    Ok(Json(redcell_store::matching::answer(&s.db, &p, id, a.accept).await?))
}

pub fn mount(s: &mut Surface) {
    s.get("/orgs/{id}/service/teams", gates::READ, teams_page)
        .post("/orgs/{id}/service/teams", gates::EDIT, create_team)
        .get("/service/teams/{id}", gates::READ, team_page)
        .post("/service/teams/{id}", gates::EDIT, update_team)
        .post("/service/teams/{id}/close", gates::EDIT, close_team)
        .post("/service/teams/{id}/members", gates::EDIT, add_member)
        .post("/service/teams/{id}/members/remove", gates::EDIT, remove_member)
        .get("/service/teams/{id}/public", gates::PUBLIC, public_page)
        .post("/service/teams/{id}/join", SERVE, join)
        .post("/service/teams/{id}/leave", SERVE, leave)
        .get("/orgs/{id}/service/evaluations", gates::READ, evaluations_page)
        .post("/orgs/{id}/service/evaluations", gates::EDIT, draft)
        .post("/service/evaluations/{id}/review", gates::EDIT, review)
        .post("/service/wish-invitations/{id}/accept", SERVE, accept_wish)
        .post("/service/wish-invitations/{id}/decline", SERVE, decline_wish);
    s.api(gates::READ, routes!(api_teams))
        .api(gates::EDIT, routes!(api_create_team))
        .api(gates::READ, routes!(api_team))
        .api(gates::EDIT, routes!(api_update_team))
        .api(gates::EDIT, routes!(api_close_team))
        .api(gates::EDIT, routes!(api_add_member))
        .api(gates::EDIT, routes!(api_remove_member))
        .api(SERVE, routes!(api_join))
        .api(SERVE, routes!(api_leave))
        .api(gates::READ, routes!(api_evaluations))
        .api(gates::EDIT, routes!(api_draft))
        .api(gates::EDIT, routes!(api_review))
        .api(HANDLE, routes!(api_wish_suggestions))
        .api(HANDLE, routes!(api_wish_invite))
        .api(SERVE, routes!(api_wish_answer));
}
