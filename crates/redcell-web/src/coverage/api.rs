//! Contact responsibility and full coverage over the API: the coverage report,
//! the contact rosters (JSON and xlsx), contacts, quota rules, exemptions and
//! proposed plans.

use crate::Shared;
use crate::api::{JsonBody, Q};
use crate::auth::ApiUser;
use crate::error::{ApiResult, ErrorBody, bad_json};
use crate::kit::{Surface, gates};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use redcell_domain::coverage::{
    QuotaRule, RawContact, RawDecision, RawEndContact, RawExemption, RawPost, RawQuota, parse_move_penalty,
    parse_party_role,
};
use redcell_store::coverage::contacts::{self, Contact, RosterFilter};
use redcell_store::coverage::exemptions::{self, Exemption, ExemptionFilter};
use redcell_store::coverage::pick::{self, Candidate, PickKind};
use redcell_store::coverage::plan::{self, Change, MemberDelta, Proposal};
use redcell_store::coverage::posts::{self, MemberDuties, Post, PostFilter};
use redcell_store::coverage::quotas::{self, Effective};
use redcell_store::coverage::report::{self, Report};
use redcell_store::coverage::workbook;
use redcell_store::registry::{Page, Paged};
use serde::Deserialize;
use utoipa_axum::routes;

fn body<T: serde::de::DeserializeOwned + Default>(v: serde_json::Value) -> ApiResult<T> {
    if v.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(v).map_err(|e| bad_json(&e.to_string()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgQuery {
    /// The organisation (its whole subtree); default: the caller's highest organisation.
    pub org_id: Option<i64>,
}

fn org(p: &redcell_store::Principal, id: Option<i64>) -> ApiResult<i64> {
    Ok(redcell_store::coverage::org_or_home(p, id)?)
}

/// The coverage report of an organisation: the three coverages, every level of
/// the pyramid as a rate, and every gap named (the first 100 of each kind).
#[utoipa::path(get, path = "/api/v1/coverage", tag = "coverage", params(OrgQuery),
    responses((status = 200, body = Report), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn coverage(ApiUser(p): ApiUser, State(s): State<Shared>, Q(q): Q<OrgQuery>) -> ApiResult<Json<Report>> {
    Ok(Json(report::report(&s.db, &p, org(&p, q.org_id)?).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RosterQuery {
    /// The organisation (its whole subtree); default: the caller's highest organisation.
    pub org_id: Option<i64>,
    /// The rosters in force on this date (default today).
    pub date: Option<NaiveDate>,
}

/// The workbook of contact rosters (包挂联系花名册), as the page offers it.
pub async fn roster_workbook(
    db: &redcell_store::Db,
    p: &redcell_store::Principal,
    org_id: i64,
    date: Option<NaiveDate>,
) -> Result<Response, redcell_store::StoreError> {
    let date = date.unwrap_or_else(redcell_store::coverage::today);
    let (org, sheets) = workbook::contact_sheets(db, p, org_id, date).await?;
    let docs: Vec<redcell_docs::xlsx::Sheet<'_>> = sheets
        .iter()
        .map(|s| redcell_docs::xlsx::Sheet { name: s.name, headers: &s.headers, rows: &s.rows, numbered: true })
        .collect();
    let bytes = redcell_docs::xlsx::workbook(&format!("{} 包挂联系花名册（{date}）", org.name), &docs)
        .map_err(|e| redcell_store::StoreError::Internal(e.to_string()))?;
    let filename = format!("rosters-{}-{date}.xlsx", org.id);
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// The contact rosters as an xlsx workbook (phones masked; needs the export right; audited).
#[utoipa::path(get, path = "/api/v1/coverage/rosters.xlsx", tag = "coverage", params(RosterQuery),
    responses((status = 200, description = "xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rosters_xlsx(ApiUser(p): ApiUser, State(s): State<Shared>, Q(q): Q<RosterQuery>) -> ApiResult<Response> {
    Ok(roster_workbook(&s.db, &p, org(&p, q.org_id)?, q.date).await?)
}

/// Contacts in force on a date (or the whole history) in an organisation's subtree.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "coverage", params(RosterFilter, Page),
    responses((status = 200, body = Paged<Contact>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_contacts(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(f): Q<RosterFilter>,
    Q(page): Q<Page>,
) -> ApiResult<Json<Paged<Contact>>> {
    Ok(Json(contacts::roster(&s.db, &p, &f, page).await?))
}

/// Start a contact (an event: a new row; nothing is overwritten).
#[utoipa::path(post, path = "/api/v1/contacts", tag = "coverage", request_body = RawContact,
    responses((status = 201, body = Contact), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn start_contact(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    JsonBody(b): JsonBody,
) -> ApiResult<(StatusCode, Json<Contact>)> {
    let raw: RawContact = body(b)?;
    let r = contacts::start(&s.db, &p, raw.validate(redcell_store::coverage::today())?).await;
    Ok((StatusCode::CREATED, Json(r?)))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "coverage", params(("id" = i64, Path)),
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_contact(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Contact>> {
    Ok(Json(contacts::get(&s.db, &p, id).await?))
}

/// End a contact, once, with the date and the reason.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/end", tag = "coverage", params(("id" = i64, Path)),
    request_body = RawEndContact,
    responses((status = 200, body = Contact), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn end_contact(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<Contact>> {
    let raw: RawEndContact = body(b)?;
    let r = contacts::end(&s.db, &p, id, raw.validate(redcell_store::coverage::today())?).await;
    Ok(Json(r?))
}

/// The quota rule in force at an organisation and where it is inherited from.
#[utoipa::path(get, path = "/api/v1/quotas", tag = "coverage", params(OrgQuery),
    responses((status = 200, body = Effective), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_quota(ApiUser(p): ApiUser, State(s): State<Shared>, Q(q): Q<OrgQuery>) -> ApiResult<Json<Effective>> {
    Ok(Json(quotas::effective(&s.db, &p, org(&p, q.org_id)?).await?))
}

/// Set an organisation's own quota rule: `<level>_min` and `<level>_max` for the
/// levels that have a quota, and `central_per_building`.
#[utoipa::path(put, path = "/api/v1/quotas/{org_id}", tag = "coverage", params(("org_id" = i64, Path)),
    request_body = RawQuota,
    responses((status = 200, body = Effective), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_quota(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(org_id): Path<i64>,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<Effective>> {
    let raw: RawQuota = body(b)?;
    let rule: QuotaRule = raw.validate()?;
    Ok(Json(quotas::set(&s.db, &p, org_id, &rule, None).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct PresetRequest {
    /// `urban` or `rural`.
    #[serde(default)]
    #[schema(value_type = redcell_domain::coverage::QuotaPreset, required = true)]
    pub preset: String,
}

/// Apply a shipped preset (`urban`, `rural`) to an organisation.
#[utoipa::path(post, path = "/api/v1/quotas/{org_id}/preset", tag = "coverage", params(("org_id" = i64, Path)),
    request_body = PresetRequest,
    responses((status = 200, body = Effective), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn preset_quota(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(org_id): Path<i64>,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<Effective>> {
    let r: PresetRequest = body(b)?;
    let preset = quotas::preset_of(&r.preset)?;
    Ok(Json(quotas::apply_preset(&s.db, &p, org_id, preset).await?))
}

/// Remove an organisation's own rule: it inherits again.
#[utoipa::path(delete, path = "/api/v1/quotas/{org_id}", tag = "coverage", params(("org_id" = i64, Path)),
    responses((status = 200, body = Effective), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn clear_quota(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(org_id): Path<i64>,
) -> ApiResult<Json<Effective>> {
    Ok(Json(quotas::clear(&s.db, &p, org_id).await?))
}

/// Exemptions from contact duty in an organisation's subtree, newest first.
#[utoipa::path(get, path = "/api/v1/exemptions", tag = "coverage", params(ExemptionFilter, Page),
    responses((status = 200, body = Paged<Exemption>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_exemptions(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(f): Q<ExemptionFilter>,
    Q(page): Q<Page>,
) -> ApiResult<Json<Paged<Exemption>>> {
    Ok(Json(exemptions::list(&s.db, &p, &f, page).await?))
}

/// Request an exemption (年老体弱 `old_frail`, 长期病休 `long_sick`) for a member.
#[utoipa::path(post, path = "/api/v1/exemptions", tag = "coverage", request_body = RawExemption,
    responses((status = 201, body = Exemption), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn request_exemption(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    JsonBody(b): JsonBody,
) -> ApiResult<(StatusCode, Json<Exemption>)> {
    let raw: RawExemption = body(b)?;
    let r = exemptions::request(&s.db, &p, raw.validate()?).await;
    Ok((StatusCode::CREATED, Json(r?)))
}

#[utoipa::path(get, path = "/api/v1/exemptions/{id}", tag = "coverage", params(("id" = i64, Path)),
    responses((status = 200, body = Exemption), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_exemption(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Exemption>> {
    Ok(Json(exemptions::get(&s.db, &p, id).await?))
}

/// Take the next approval step: `branch` → `community` → `street`, `approve` or
/// `reject` (with the reason in `note`).
#[utoipa::path(post, path = "/api/v1/exemptions/{id}/decide", tag = "coverage", params(("id" = i64, Path)),
    request_body = RawDecision,
    responses((status = 200, body = Exemption), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn decide_exemption(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<Exemption>> {
    let raw: RawDecision = body(b)?;
    let r = exemptions::decide(&s.db, &p, id, raw.validate(redcell_store::coverage::today())?).await;
    Ok(Json(r?))
}

/// Proposed plans of an organisation's subtree, newest first.
#[utoipa::path(get, path = "/api/v1/plans", tag = "coverage", params(plan::PlanFilter, Page),
    responses((status = 200, body = Paged<Proposal>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_plans(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(f): Q<plan::PlanFilter>,
    Q(page): Q<Page>,
) -> ApiResult<Json<Paged<Proposal>>> {
    Ok(Json(plan::list(&s.db, &p, org(&p, f.org_id)?, page).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct ProposeRequest {
    #[schema(value_type = i64, required = true)]
    pub org_id: Option<i64>,
    /// Metres added to the cost of giving a household another member than its
    /// current one (default 200).
    pub move_penalty: Option<i64>,
}

/// Propose a plan for an organisation: solve the assignment of its households
/// to its members and keep the proposal for review.
#[utoipa::path(post, path = "/api/v1/plans", tag = "coverage", request_body = ProposeRequest,
    responses((status = 201, body = Proposal), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn propose_plan(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    JsonBody(b): JsonBody,
) -> ApiResult<(StatusCode, Json<Proposal>)> {
    let r: ProposeRequest = body(b)?;
    let Some(org_id) = r.org_id else {
        return Err(redcell_domain::FieldError::new("org_id", "required", redcell_domain::i18n::REQUIRED).into());
    };
    let penalty = parse_move_penalty(&r.move_penalty.map(|x| x.to_string()).unwrap_or_default())?;
    let res = plan::propose(&s.db, &p, org_id, penalty).await;
    Ok((StatusCode::CREATED, Json(res?)))
}

#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "coverage", params(("id" = i64, Path)),
    responses((status = 200, body = Proposal), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_plan(ApiUser(p): ApiUser, State(s): State<Shared>, Path(id): Path<i64>) -> ApiResult<Json<Proposal>> {
    Ok(Json(plan::get(&s.db, &p, id).await?))
}

/// The households whose member the plan changes (who gains whom, who loses whom, distances).
#[utoipa::path(get, path = "/api/v1/plans/{id}/changes", tag = "coverage", params(("id" = i64, Path), Page),
    responses((status = 200, body = Paged<Change>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn plan_changes(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Q(page): Q<Page>,
) -> ApiResult<Json<Paged<Change>>> {
    Ok(Json(plan::changes(&s.db, &p, id, page).await?))
}

/// Per member: households gained and lost in the plan.
#[utoipa::path(get, path = "/api/v1/plans/{id}/members", tag = "coverage", params(("id" = i64, Path), Page),
    responses((status = 200, body = Paged<MemberDelta>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn plan_members(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Q(page): Q<Page>,
) -> ApiResult<Json<Paged<MemberDelta>>> {
    Ok(Json(plan::member_deltas(&s.db, &p, id, page).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct ReasonRequest {
    /// Why (required to apply).
    #[serde(default)]
    pub reason: String,
}

/// Apply a plan: end the old contacts and start the new ones in one
/// transaction; refused (422) when the contacts changed since it was proposed.
#[utoipa::path(post, path = "/api/v1/plans/{id}/apply", tag = "coverage", params(("id" = i64, Path)),
    request_body = ReasonRequest,
    responses((status = 200, body = Proposal), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn apply_plan(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<Proposal>> {
    let r: ReasonRequest = body(b)?;
    let res = plan::apply(&s.db, &p, id, &r.reason).await;
    Ok(Json(res?))
}

/// Discard a plan.
#[utoipa::path(post, path = "/api/v1/plans/{id}/discard", tag = "coverage", params(("id" = i64, Path)),
    request_body = ReasonRequest,
    responses((status = 200, body = Proposal), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn discard_plan(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<Proposal>> {
    let r: ReasonRequest = body(b)?;
    let res = plan::discard(&s.db, &p, id, &r.reason).await;
    Ok(Json(res?))
}

/// The coverage API: reads need the registry, changes the right to edit it,
/// the roster workbook the right to export.
pub fn mount(s: &mut Surface) {
    s.api(gates::READ, routes!(coverage))
        .api(gates::EXPORT, routes!(rosters_xlsx))
        .api(gates::READ, routes!(list_contacts))
        .api(gates::EDIT, routes!(start_contact))
        .api(gates::READ, routes!(get_contact))
        .api(gates::EDIT, routes!(end_contact))
        .api(gates::READ, routes!(get_quota))
        .api(gates::EDIT, routes!(put_quota, clear_quota))
        .api(gates::EDIT, routes!(preset_quota))
        .api(gates::READ, routes!(list_exemptions))
        .api(gates::EDIT, routes!(request_exemption))
        .api(gates::READ, routes!(get_exemption))
        .api(gates::EDIT, routes!(decide_exemption))
        .api(gates::READ, routes!(list_plans))
        .api(gates::EDIT, routes!(propose_plan))
        .api(gates::READ, routes!(get_plan))
        .api(gates::READ, routes!(plan_changes))
        .api(gates::READ, routes!(plan_members))
        .api(gates::EDIT, routes!(apply_plan))
        .api(gates::EDIT, routes!(discard_plan))
        .api(gates::READ, routes!(list_posts))
        .api(gates::EDIT, routes!(create_post))
        .api(gates::READ, routes!(get_post))
        .api(gates::EDIT, routes!(end_post))
        .api(gates::READ, routes!(member_duties))
        .api(gates::EDIT, routes!(set_party_role))
        .api(gates::READ, routes!(pick_api));
}

// ---- demonstration posts, party roles, pickers

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostQuery {
    pub org_id: Option<i64>,
    pub grid_id: Option<i64>,
    pub member_id: Option<i64>,
    /// Ended posts too.
    pub all: Option<bool>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Party-member demonstration posts (党员示范岗) of an organisation, a grid or a member.
#[utoipa::path(get, path = "/api/v1/posts", tag = "coverage", params(PostQuery),
    responses((status = 200, body = Paged<Post>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_posts(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<PostQuery>,
) -> ApiResult<Json<Paged<Post>>> {
    let f = PostFilter { org_id: q.org_id, grid_id: q.grid_id, member_id: q.member_id, all: q.all };
    Ok(Json(posts::list(&s.db, &p, &f, Page { page: q.page, per_page: q.per_page }).await?))
}

/// Set up a demonstration post held by a member, in a grid or at a unit there.
#[utoipa::path(post, path = "/api/v1/posts", tag = "coverage", request_body = RawPost,
    responses((status = 201, body = Post), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_post(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    JsonBody(b): JsonBody,
) -> ApiResult<(StatusCode, Json<Post>)> {
    let raw: RawPost = body(b)?;
    let r = posts::create(&s.db, &p, raw.validate(redcell_store::coverage::today())?).await;
    Ok((StatusCode::CREATED, Json(r?)))
}

#[utoipa::path(get, path = "/api/v1/posts/{id}", tag = "coverage", params(("id" = i64, Path)),
    responses((status = 200, body = Post), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_post(ApiUser(p): ApiUser, State(s): State<Shared>, Path(id): Path<i64>) -> ApiResult<Json<Post>> {
    Ok(Json(posts::get(&s.db, &p, id).await?))
}

/// End a post (once); the contacts to it end with it.
#[utoipa::path(post, path = "/api/v1/posts/{id}/end", tag = "coverage", params(("id" = i64, Path)),
    request_body = RawEndContact,
    responses((status = 200, body = Post), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn end_post(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<Post>> {
    let raw: RawEndContact = body(b)?;
    let r = posts::end(&s.db, &p, id, raw.validate(redcell_store::coverage::today())?).await;
    Ok(Json(r?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct RoleRequest {
    /// `group_leader` (党小组长), `branch_committee` (支部委员), `general_committee` (总支委员), or empty: none.
    #[serde(default)]
    #[schema(value_type = Option<redcell_domain::coverage::PartyRole>)]
    pub party_role: Option<String>,
}

/// A member's party role (carries a contact quota) and the posts they hold.
#[utoipa::path(get, path = "/api/v1/members/{id}/duties", tag = "coverage", params(("id" = i64, Path)),
    responses((status = 200, body = MemberDuties), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn member_duties(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
) -> ApiResult<Json<MemberDuties>> {
    Ok(Json(posts::member_duties(&s.db, &p, id).await?))
}

/// Record or clear a member's party role.
#[utoipa::path(put, path = "/api/v1/members/{id}/party-role", tag = "coverage", params(("id" = i64, Path)),
    request_body = RoleRequest,
    responses((status = 200, body = MemberDuties), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_party_role(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<MemberDuties>> {
    let r: RoleRequest = body(b)?;
    let role = parse_party_role(r.party_role.as_deref().unwrap_or(""))?;
    let res = posts::set_party_role(&s.db, &p, id, role).await;
    Ok(Json(res?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PickQuery {
    /// `member`, `cadre`, `household`, `org` or `post`.
    #[serde(default)]
    pub kind: String,
    /// A name (prefix), building and room, code, or id (empty: no candidates).
    #[serde(default)]
    pub q: String,
    /// Inside this organisation (default: the caller's highest).
    pub org_id: Option<i64>,
}

/// Candidates for a form field, found by name, building and room, or code
/// inside the caller's scope (at most 20; names only, no personal numbers).
#[utoipa::path(get, path = "/api/v1/pick", tag = "coverage", params(PickQuery),
    responses((status = 200, body = Vec<Candidate>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn pick_api(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<PickQuery>,
) -> ApiResult<Json<Vec<Candidate>>> {
    Ok(Json(pick_for(&s.db, &p, &q).await?))
}

/// The picker search shared by the API and the pages' script.
pub async fn pick_for(
    db: &redcell_store::Db,
    p: &redcell_store::Principal,
    q: &PickQuery,
) -> Result<Vec<Candidate>, redcell_store::StoreError> {
    if q.q.trim().is_empty() {
        return Ok(vec![]);
    }
    let kind = PickKind::parse(&q.kind).ok_or_else(|| {
        redcell_store::StoreError::from(redcell_domain::FieldError::new(
            "kind",
            "enum",
            redcell_domain::i18n::ENUM_INVALID,
        ))
    })?;
    pick::search(db, p, kind, &q.q, q.org_id).await
}
