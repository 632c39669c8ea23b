//! Duties over the API: the caller's duties, an organisation's compliance
//! (JSON and xlsx), the tenant's rules (list, change, TOML export/import),
//! records (visits, meetings, activities) and the reminder inbox.

use crate::Shared;
use crate::api::{JsonBody, Q};
use crate::auth::ApiUser;
use crate::error::{ApiResult, ErrorBody, bad_json};
use crate::kit::{Surface, gates};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use redcell_domain::duties::RawRule;
use redcell_domain::requests::RawRequest;
use redcell_store::duties::diary::{self, DiaryVisit, VisitFilter};
use redcell_store::duties::notices::{self, Delivery, Notice};
use redcell_store::duties::records::{
    self, Activity, Held, HeldDetail, Meeting, RawActivity, RawMeeting, RawVisit, Visit,
};
use redcell_store::duties::rules::{self, StoredRule};
use redcell_store::duties::{self, Compliance, DutyLine};
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

/// The caller's duties today: of the cadre linked to the account, or else of
/// the organisations the caller holds a role on. Overdue first.
#[utoipa::path(get, path = "/api/v1/duties/my", tag = "duties",
    responses((status = 200, body = Vec<DutyLine>)), security(("bearer" = [])))]
pub async fn my(ApiUser(p): ApiUser, State(s): State<Shared>) -> ApiResult<Json<Vec<DutyLine>>> {
    Ok(Json(duties::my_duties(&s.db, &p, crate::today()).await?))
}

/// Compliance per rule in an organisation's subtree, silent branches (no
/// organisational life for 30 days) and the monthly trend.
#[utoipa::path(get, path = "/api/v1/duties/compliance", tag = "duties", params(OrgQuery),
    responses((status = 200, body = Compliance), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn compliance(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<OrgQuery>,
) -> ApiResult<Json<Compliance>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(duties::compliance(&s.db, &p, org, crate::today()).await?))
}

/// The compliance table as xlsx (needs the export right; audited).
pub async fn compliance_workbook(
    db: &redcell_store::Db,
    p: &redcell_store::Principal,
    org_id: i64,
) -> Result<Response, redcell_store::StoreError> {
    let today = crate::today();
    let (name, headers, rows) = duties::compliance_sheet(db, p, org_id, today).await?;
    let sheet = redcell_docs::xlsx::Sheet { name: "履职合规", headers: &headers, rows: &rows, numbered: true };
    let bytes = redcell_docs::xlsx::workbook(&format!("{name} 履职合规表（{today}）"), &[sheet])
        .map_err(|e| redcell_store::StoreError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"duties-{org_id}-{today}.xlsx\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// The compliance table as an xlsx workbook.
#[utoipa::path(get, path = "/api/v1/duties/compliance.xlsx", tag = "duties", params(OrgQuery),
    responses((status = 200, description = "xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn compliance_xlsx(ApiUser(p): ApiUser, State(s): State<Shared>, Q(q): Q<OrgQuery>) -> ApiResult<Response> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(compliance_workbook(&s.db, &p, org).await?)
}

/// The tenant's duty rules (seeded from the shipped set on first use).
#[utoipa::path(get, path = "/api/v1/duties/rules", tag = "duties",
    responses((status = 200, body = Vec<StoredRule>)), security(("bearer" = [])))]
pub async fn list_rules(ApiUser(p): ApiUser, State(s): State<Shared>) -> ApiResult<Json<Vec<StoredRule>>> {
    Ok(Json(rules::list(&s.db, p.tenant_id).await?))
}

/// Change one rule: the body is the rule's flat shape (as in the TOML file);
/// an impossible rhythm is refused with the field named.
#[utoipa::path(patch, path = "/api/v1/duties/rules/{code}", tag = "duties", request_body = RawRule,
    params(("code" = String, Path, description = "rule code")),
    responses((status = 200, body = StoredRule), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn patch_rule(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(code): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<StoredRule>> {
    let raw: RawRule = serde_json::from_value(b).map_err(|e| bad_json(&e.to_string()))?;
    Ok(Json(rules::update(&s.db, &p, &code, raw).await?))
}

/// The rules as a TOML file (the shape of the shipped `duties.toml`).
#[utoipa::path(get, path = "/api/v1/duties/rules.toml", tag = "duties",
    responses((status = 200, description = "TOML", content_type = "application/toml")), security(("bearer" = [])))]
pub async fn export_rules(ApiUser(p): ApiUser, State(s): State<Shared>) -> ApiResult<Response> {
    let text = rules::export(&s.db, &p).await?;
    Ok(([(header::CONTENT_TYPE, "application/toml; charset=utf-8")], text).into_response())
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct ImportBody {
    pub toml: String,
}

/// Replace the rules with a TOML file; refused whole when any rule is invalid.
#[utoipa::path(post, path = "/api/v1/duties/rules/import", tag = "duties", request_body = ImportBody,
    responses((status = 200, description = "number of rules"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn import_rules(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<serde_json::Value>> {
    let b: ImportBody = body(b)?;
    let n = rules::import(&s.db, &p, &b.toml).await?;
    Ok(Json(serde_json::json!({ "rules": n })))
}

/// Record a visit (民情日记). Without `visitor_id` the visitor is the cadre
/// (or member) linked to the caller's account. With `request` (category,
/// kind, description — defaulting to `learned`) the visit also registers a
/// resident request, and `request_id` names it.
#[utoipa::path(post, path = "/api/v1/duties/visits", tag = "duties", request_body = RawVisit,
    responses((status = 201, body = Visit), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_visit(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    JsonBody(b): JsonBody,
) -> ApiResult<(StatusCode, Json<Visit>)> {
    let request: Option<RawRequest> = match b.get("request") {
        Some(v) if !v.is_null() => Some(serde_json::from_value(v.clone()).map_err(|e| bad_json(&e.to_string()))?),
        _ => None,
    };
    let raw: RawVisit = body(b)?;
    let r = match request {
        None => records::record_visit(&s.db, &p, &raw, crate::today()).await,
        Some(req) => records::record_visit_raising(&s.db, &p, &raw, req, crate::today()).await.map(|(v, _)| v),
    };
    Ok((StatusCode::CREATED, Json(r?)))
}

/// The visit diary (民情日记): visits in an organisation's subtree (default
/// the caller's own) by visitor, household, grid and date range, newest first.
#[utoipa::path(get, path = "/api/v1/duties/visits", tag = "duties", operation_id = "list_visits",
    params(VisitFilter, Page),
    responses((status = 200, body = Paged<DiaryVisit>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_visits(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(f): Q<VisitFilter>,
    Q(page): Q<Page>,
) -> ApiResult<Json<Paged<DiaryVisit>>> {
    Ok(Json(diary::visits(&s.db, &p, &f, page).await?))
}

/// The meetings of an organisation's subtree (default the caller's own), newest first.
#[utoipa::path(get, path = "/api/v1/duties/meetings", tag = "duties", operation_id = "list_meetings", params(OrgQuery),
    responses((status = 200, body = Vec<Held>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_meetings(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<OrgQuery>,
) -> ApiResult<Json<Vec<Held>>> {
    Ok(Json(diary::meetings(&s.db, &p, q.org_id).await?))
}

/// Record a meeting with its attendance; the quorum of a general meeting is
/// computed (a claimed quorum without or against the numbers is refused).
#[utoipa::path(post, path = "/api/v1/duties/meetings", tag = "duties", request_body = RawMeeting,
    responses((status = 201, body = Meeting), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_meeting(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    JsonBody(b): JsonBody,
) -> ApiResult<(StatusCode, Json<Meeting>)> {
    let raw: RawMeeting = body(b)?;
    let r = records::record_meeting(&s.db, &p, &raw, crate::today()).await;
    Ok((StatusCode::CREATED, Json(r?)))
}

/// Record an activity with its participants.
#[utoipa::path(post, path = "/api/v1/duties/activities", tag = "duties", request_body = RawActivity,
    responses((status = 201, body = Activity), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_activity(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    JsonBody(b): JsonBody,
) -> ApiResult<(StatusCode, Json<Activity>)> {
    let raw: RawActivity = body(b)?;
    let r = records::record_activity(&s.db, &p, &raw, crate::today()).await;
    Ok((StatusCode::CREATED, Json(r?)))
}

/// The caller's reminders, newest first.
#[utoipa::path(get, path = "/api/v1/duties/notices", tag = "duties",
    responses((status = 200, body = Vec<Notice>)), security(("bearer" = [])))]
pub async fn list_notices(ApiUser(p): ApiUser, State(s): State<Shared>) -> ApiResult<Json<Vec<Notice>>> {
    Ok(Json(notices::inbox(&s.db, &p, 100).await?))
}

/// The meetings and activities of an organisation's subtree, newest first.
#[utoipa::path(get, path = "/api/v1/duties/records", tag = "duties", params(OrgQuery),
    responses((status = 200, body = Vec<Held>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_records(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<OrgQuery>,
) -> ApiResult<Json<Vec<Held>>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(records::held_in(&s.db, &p, org, 200).await?))
}

/// One meeting with its attendance and photos.
#[utoipa::path(get, path = "/api/v1/duties/meetings/{id}", tag = "duties",
    responses((status = 200, body = HeldDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_meeting(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
) -> ApiResult<Json<HeldDetail>> {
    Ok(Json(records::held_detail(&s.db, &p, "meeting", id).await?))
}

/// One activity with its participants.
#[utoipa::path(get, path = "/api/v1/duties/activities/{id}", tag = "duties",
    responses((status = 200, body = HeldDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_activity(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
) -> ApiResult<Json<HeldDetail>> {
    Ok(Json(records::held_detail(&s.db, &p, "activity", id).await?))
}

/// The outbound channel: the webhook URL (absent = off) and the latest
/// delivery attempts.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Channel {
    pub webhook_url: Option<String>,
    /// The built-in sender speaks plain http:// only.
    pub http_only: bool,
    pub deliveries: Vec<Delivery>,
}

async fn channel_of(s: &Shared, p: &redcell_store::Principal) -> Result<Channel, redcell_store::StoreError> {
    let deliveries = notices::deliveries(&s.db, p, 50).await?;
    Ok(Channel { webhook_url: notices::webhook(&s.db, p.tenant_id).await?, http_only: true, deliveries })
}

/// The tenant's outbound channel (administrators of the whole tenant).
#[utoipa::path(get, path = "/api/v1/duties/channel", tag = "duties",
    responses((status = 200, body = Channel), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_channel(ApiUser(p): ApiUser, State(s): State<Shared>) -> ApiResult<Json<Channel>> {
    Ok(Json(channel_of(&s, &p).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct ChannelBody {
    /// `http://host[:port]/path`; null or empty switches the channel off.
    pub webhook_url: Option<String>,
}

/// Set or clear the webhook URL (validated; audited).
#[utoipa::path(put, path = "/api/v1/duties/channel", tag = "duties", request_body = ChannelBody,
    responses((status = 200, body = Channel), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_channel(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<Channel>> {
    let b: ChannelBody = body(b)?;
    notices::set_webhook(&s.db, &p, b.webhook_url.as_deref()).await?;
    Ok(Json(channel_of(&s, &p).await?))
}

/// Send a test message through the channel; the answer is the logged
/// attempt (`ok` false with the reason when it failed). Refused (422) while
/// no channel is configured: nothing is sent then.
#[utoipa::path(post, path = "/api/v1/duties/channel/test", tag = "duties",
    responses((status = 200, body = Delivery), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn test_channel(ApiUser(p): ApiUser, State(s): State<Shared>) -> ApiResult<Json<Delivery>> {
    Ok(Json(notices::send_test(&s.db, &p, crate::today()).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct LinkBody {
    pub cadre_id: Option<i64>,
    pub member_id: Option<i64>,
}

/// Link an account to a cadre or a member (both absent: unlink). Audited.
#[utoipa::path(put, path = "/api/v1/users/{id}/duty-link", tag = "duties", request_body = LinkBody,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_link(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody,
) -> ApiResult<StatusCode> {
    let b: LinkBody = body(b)?;
    let link = match (b.cadre_id, b.member_id) {
        (Some(c), None) => Some(duties::Link::Cadre(c)),
        (None, Some(m)) => Some(duties::Link::Member(m)),
        (None, None) => None,
        _ => {
            return Err(redcell_store::StoreError::from(redcell_domain::FieldError::new(
                "cadre_id",
                "one_of",
                redcell_domain::i18n::DUTY_LINK_ONE,
            ))
            .into());
        }
    };
    duties::link_user(&s.db, &p, id, link).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The duties API. Recording needs the right to record duties (a cadre's own
/// visits: `RecordOwnVisits`); rules and the tenant's reminder channel need
/// the right to edit (the channel at the tenant's root).
pub fn mount(s: &mut Surface) {
    const VISIT_OR_READ: crate::kit::Access = crate::kit::Access::Any(&[
        redcell_domain::Capability::RecordDuties,
        redcell_domain::Capability::RecordOwnVisits,
        redcell_domain::Capability::ReadRegistry,
    ]);
    const MEETING_OR_READ: crate::kit::Access =
        crate::kit::Access::Any(&[redcell_domain::Capability::RecordDuties, redcell_domain::Capability::ReadRegistry]);
    s.api(gates::SIGNED_IN, routes!(my))
        .api(gates::READ, routes!(compliance))
        .api(gates::READ, routes!(compliance_xlsx))
        .api(gates::READ, routes!(list_rules))
        .api(gates::EDIT, routes!(patch_rule))
        .api(gates::READ, routes!(export_rules))
        .api(gates::EDIT, routes!(import_rules))
        // One path, two methods: the services check reading and recording.
        .api(VISIT_OR_READ, routes!(list_visits, post_visit))
        .api(MEETING_OR_READ, routes!(list_meetings, post_meeting))
        .api(gates::RECORD, routes!(post_activity))
        .api(gates::SIGNED_IN, routes!(list_notices))
        .api(gates::READ, routes!(list_records))
        .api(gates::READ, routes!(get_meeting))
        .api(gates::READ, routes!(get_activity))
        .api(gates::SETTINGS, routes!(get_channel, put_channel))
        .api(gates::SETTINGS, routes!(test_channel))
        .api(gates::USERS, routes!(put_link));
}
