//! Resident requests over the API: the scoped queue with filters and paging,
//! one request with its history, registering a request on a resident's
//! behalf, and the state machine's actions (the same store `act` as the
//! pages). Contact phones are masked; every change is audited by the store.

use super::{JsonBody, Q};
use crate::Shared;
use crate::auth::ApiUser;
use crate::error::{ApiResult, ErrorBody, bad_json};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use redcell_domain::FieldError;
use redcell_domain::requests::{Action, FixOutcome, RawRequest, Satisfaction};
use redcell_store::registry::{Page, Paged};
use redcell_store::requests::{self, ActInput, Chase, Filter, HistoryRow, Part, Request, Source};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// One request with what the caller may do next.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestDetail {
    pub request: Request,
    /// Every transition: actor, role, the person acted for, note, states.
    pub history: Vec<HistoryRow>,
    /// Action codes the caller may take now.
    pub actions: Vec<String>,
    /// 联办件: the participating units' parts.
    pub parts: Vec<Part>,
    /// 上报件: the chases of the contact above.
    pub chases: Vec<Chase>,
}

/// A request registered by staff on a resident's behalf. Numbers may be sent
/// as JSON numbers or strings.
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RequestIn {
    /// Category code (see Open311 services); its kind must match `kind` when both are given.
    pub category: String,
    pub kind: Option<String>,
    /// Errand class (immediate, promised, supplement, joint, escalated); default: the category's.
    pub class: Option<String>,
    pub description: String,
    /// The household (inside the caller's scope); sets the building and address.
    pub household_id: Option<i64>,
    pub grid_id: Option<i64>,
    pub building_id: Option<i64>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    /// 承诺件: the date promised to the resident (YYYY-MM-DD).
    pub promised_date: Option<String>,
    /// Whom the request is registered for (default: the contact name).
    pub acting_for: Option<String>,
}

/// An action on a request.
#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct ActionIn {
    /// accept, assign, claim, start, request_materials, supply_materials,
    /// resolve, revisit, close, refuse, mark_duplicate, reopen.
    pub action: String,
    /// A reason, the list of missing materials, a resolution note...
    pub note: Option<String>,
    /// assign: the handler's account id.
    pub handler_user_id: Option<i64>,
    /// mark_duplicate: the follow code of the original.
    pub duplicate_of: Option<String>,
    /// revisit: fixed, partly or not_fixed.
    pub outcome: Option<String>,
    /// revisit: satisfied, basically or dissatisfied.
    pub satisfaction: Option<String>,
    /// The resident acted for (e.g. a phone revisit).
    pub acting_for: Option<String>,
    /// The note is internal (not shown to the resident).
    #[serde(default)]
    pub internal: bool,
}

/// JSON scalars as the strings the domain's raw input takes.
fn stringify(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::Number(n) => Value::String(n.to_string()),
                        Value::Bool(b) => Value::String(b.to_string()),
                        other => other,
                    };
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

/// The requests routed inside the caller's read scope, newest first.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", params(Page, Filter),
    responses((status = 200, body = Paged<Request>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(page): Q<Page>,
    Q(f): Q<Filter>,
) -> ApiResult<Json<Paged<Request>>> {
    Ok(Json(requests::list(&s.db, &p, &f, page).await?))
}

/// One request with its full history and the actions the caller may take.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", params(("id" = i64, Path)),
    responses((status = 200, body = RequestDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(ApiUser(p): ApiUser, State(s): State<Shared>, Path(id): Path<i64>) -> ApiResult<Json<RequestDetail>> {
    let request = requests::get(&s.db, &p, id).await?;
    let history = requests::history_of(&s.db, &p, id).await?;
    let actions = requests::actions_for(&p, &request).into_iter().map(|a| a.code().to_string()).collect();
    let parts = requests::parts(&s.db, &p, id).await?;
    let chases = requests::chases(&s.db, &p, id).await?;
    Ok(Json(RequestDetail { request, history, actions, parts, chases }))
}

/// Register a request on a resident's behalf (staff of the organisation it is
/// routed to, or above). The history records the caller and the person acted for.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", request_body = RequestIn,
    responses((status = 201, body = Request), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    JsonBody(b): JsonBody,
) -> ApiResult<(StatusCode, Json<Request>)> {
    let raw: RawRequest = serde_json::from_value(stringify(b)).map_err(|e| bad_json(&e.to_string()))?;
    let n = raw.validate()?;
    let r = requests::submit(&s.db, p.tenant_id, n, Source::Staff, Some(&p), None).await;
    super::audit_refusal(&s.db, &p, &r, "POST /api/v1/requests").await;
    let sub = r?;
    Ok((StatusCode::CREATED, Json(requests::get(&s.db, &p, sub.id).await?)))
}

/// Take an action on a request; the state machine decides whether the caller
/// may, from the current state. A refused transition is a 422 naming why.
#[utoipa::path(post, path = "/api/v1/requests/{id}/actions", tag = "requests", params(("id" = i64, Path)),
    request_body = ActionIn,
    responses((status = 200, body = Request), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn act(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody,
) -> ApiResult<Json<Request>> {
    let b: ActionIn = serde_json::from_value(b).map_err(|e| bad_json(&e.to_string()))?;
    let action = Action::parse("action", &b.action)?;
    let outcome = match b.outcome.as_deref() {
        Some(o) => Some(FixOutcome::parse("outcome", o)?),
        None => None,
    };
    let satisfaction = match b.satisfaction.as_deref() {
        Some(x) => Some(Satisfaction::parse("satisfaction", x)?),
        None => None,
    };
    if b.acting_for.as_deref().is_some_and(|a| a.chars().count() > 40) {
        return Err(FieldError::new("acting_for", "too_long", redcell_domain::i18n::REQ_ACTING_FOR_TOO_LONG).into());
    }
    let input = ActInput {
        note: b.note,
        handler_user_id: b.handler_user_id,
        duplicate_of: b.duplicate_of,
        outcome,
        satisfaction,
        acting_for: b.acting_for.map(|a| a.trim().to_string()).filter(|a| !a.is_empty()),
        internal: b.internal,
    };
    let r = requests::act(&s.db, &p, id, action, input).await;
    super::audit_refusal(&s.db, &p, &r, &format!("POST /api/v1/requests/{id}/actions")).await;
    Ok(Json(r?))
}

/// "My tasks": open requests the caller handles, and those open for claiming
/// by the caller as an in-service member.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MyTasks {
    pub tasks: Vec<Request>,
    pub claimable: Vec<Request>,
}

#[utoipa::path(get, path = "/api/v1/requests/mine", tag = "requests",
    responses((status = 200, body = MyTasks), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn mine(ApiUser(p): ApiUser, State(s): State<Shared>) -> ApiResult<Json<MyTasks>> {
    let tasks = requests::my_tasks(&s.db, &p).await?;
    let claimable = requests::claimable(&s.db, &p).await?;
    Ok(Json(MyTasks { tasks, claimable }))
}

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(mine)).routes(routes!(get)).routes(routes!(act))
}
