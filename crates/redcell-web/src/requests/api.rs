//! Resident requests over the API: the scoped queue with filters and paging,
//! one request with its history, registering a request on a resident's
//! behalf, and the state machine's actions (the same store `act` as the
//! pages). Answers are views: no tenant or internal column, contact phones
//! masked; every change is audited by the store.

use super::gate;
use crate::Shared;
use crate::auth::ApiUser;
use crate::error::{ApiResult, ErrorBody};
use crate::kit::extract::from_value;
use crate::kit::{ApiJson, JsonBody, Q, Surface, gates};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use redcell_domain::ids::*;
use redcell_domain::requests::{Action, FixOutcome, RawRequest, Satisfaction};
use redcell_domain::{FieldError, i18n};
use redcell_store::registry::{Page, Paged};
use redcell_store::requests::{self, ActInput, Chase, Filter, HistoryRow, Part, RequestView, Source};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::routes;

/// One request with what the caller may do next.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestDetail {
    pub request: RequestView,
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
    #[schema(value_type = Option<redcell_domain::requests::RequestKind>)]
    pub kind: Option<String>,
    /// Errand class; default: the category's.
    #[schema(value_type = Option<redcell_domain::requests::ErrandClass>)]
    pub class: Option<String>,
    pub description: String,
    /// The household (inside the caller's scope); sets the building and address.
    pub household_id: Option<HouseholdId>,
    /// A grid inside the caller's scope.
    pub grid_id: Option<GridId>,
    /// A building inside the caller's scope.
    pub building_id: Option<BuildingId>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    /// 承诺件: the date promised to the resident (YYYY-MM-DD).
    #[schema(value_type = Option<chrono::NaiveDate>)]
    pub promised_date: Option<String>,
    /// Whom the request is registered for (default: the contact name).
    pub acting_for: Option<String>,
}

/// An action on a request.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ActionIn {
    /// accept, assign, claim, start, request_materials, supply_materials,
    /// resolve, revisit, close, refuse, mark_duplicate, reopen.
    #[schema(value_type = Action)]
    pub action: Action,
    /// A reason, the list of missing materials, a resolution note...
    #[serde(default)]
    pub note: Option<String>,
    /// assign: the handler, an account holding the right to handle requests
    /// over the request's organisation (see the `handlers` of the detail page).
    #[serde(default)]
    pub handler_user_id: Option<UserId>,
    /// mark_duplicate: the follow code of a request the caller can see.
    #[serde(default)]
    pub duplicate_of: Option<String>,
    /// revisit: fixed, partly or not_fixed.
    #[serde(default)]
    #[schema(value_type = Option<FixOutcome>)]
    pub outcome: Option<FixOutcome>,
    /// revisit: satisfied, basically or dissatisfied.
    #[serde(default)]
    #[schema(value_type = Option<Satisfaction>)]
    pub satisfaction: Option<Satisfaction>,
    /// The resident acted for (e.g. a phone revisit).
    #[serde(default)]
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

/// The requests routed inside the caller's read scope, newest first. An
/// unknown `kind` or `state` is a 422 naming it.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", operation_id = "list_requests", params(Page, Filter),
    responses((status = 200, body = Paged<RequestView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(page): Q<Page>,
    Q(f): Q<Filter>,
) -> ApiResult<Json<Paged<RequestView>>> {
    Ok(Json(requests::list(&s.db, &p, &f, page).await?.map(|r| r.view)))
}

/// One request with its full history and the actions the caller may take.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", operation_id = "get_request", params(("id" = RequestId, Path)),
    responses((status = 200, body = RequestDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<RequestId>,
) -> ApiResult<Json<RequestDetail>> {
    let request = requests::get(&s.db, &p, id).await?;
    let history = requests::history_of(&s.db, &p, id).await?;
    let actions = requests::actions_for(&p, &request).into_iter().map(|a| a.code().to_string()).collect();
    let parts = requests::parts(&s.db, &p, id).await?;
    let chases = requests::chases(&s.db, &p, id).await?;
    Ok(Json(RequestDetail { request: request.view, history, actions, parts, chases }))
}

/// Register a request on a resident's behalf (staff handling the
/// organisation it is routed to, or above; the household, grid and building
/// named must lie in their scope). The history records the caller and the
/// person acted for.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", operation_id = "create_request", request_body = RequestIn,
    responses((status = 201, body = RequestView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    JsonBody(b): JsonBody,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    let raw: RawRequest = from_value(stringify(b))?;
    let n = raw.validate()?;
    let sub = requests::submit(&s.db, p.tenant_id, n, Source::Staff, Some(&p), None).await?;
    Ok((StatusCode::CREATED, Json(requests::get(&s.db, &p, sub.id).await?.view)))
}

/// Take an action on a request; the state machine decides whether the caller
/// may, from the current state. A refused transition is a 422 naming why; a
/// handler who may not handle the request is a 403 naming the field (and no
/// account).
#[utoipa::path(post, path = "/api/v1/requests/{id}/actions", tag = "requests", operation_id = "act_on_request", params(("id" = RequestId, Path)),
    request_body = ActionIn,
    responses((status = 200, body = RequestView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn act(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<RequestId>,
    ApiJson(b): ApiJson<ActionIn>,
) -> ApiResult<Json<RequestView>> {
    if b.acting_for.as_deref().is_some_and(|a| a.chars().count() > 40) {
        return Err(FieldError::new("acting_for", "too_long", i18n::REQ_ACTING_FOR_TOO_LONG).into());
    }
    let input = ActInput {
        note: b.note,
        handler_user_id: b.handler_user_id,
        duplicate_of: b.duplicate_of,
        outcome: b.outcome,
        satisfaction: b.satisfaction,
        acting_for: b.acting_for.map(|a| a.trim().to_string()).filter(|a| !a.is_empty()),
        internal: b.internal,
    };
    Ok(Json(requests::act(&s.db, &p, id, b.action, input).await?.view))
}

/// "My tasks": open requests the caller handles, and those open for claiming
/// by the caller as an in-service member.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MyTasks {
    pub tasks: Vec<RequestView>,
    pub claimable: Vec<RequestView>,
}

#[utoipa::path(get, path = "/api/v1/requests/mine", tag = "requests", operation_id = "my_requests",
    responses((status = 200, body = MyTasks), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn mine(ApiUser(p): ApiUser, State(s): State<Shared>) -> ApiResult<Json<MyTasks>> {
    let tasks = requests::my_tasks(&s.db, &p).await?.into_iter().map(|r| r.view).collect();
    let claimable = requests::claimable(&s.db, &p).await?.into_iter().map(|r| r.view).collect();
    Ok(Json(MyTasks { tasks, claimable }))
}

/// The contact's phone in the clear, for the handler (a member who claimed a
/// micro-wish included) or staff who may see personal data over the
/// request. Audited, refusals too.
#[utoipa::path(post, path = "/api/v1/requests/{id}/contact", tag = "requests", operation_id = "reveal_request_contact",
    params(("id" = RequestId, Path)),
    responses((status = 200, body = requests::RevealedContact), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn contact(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<RequestId>,
) -> ApiResult<Json<requests::RevealedContact>> {
    Ok(Json(requests::reveal_contact(&s.db, &p, id).await?))
}

pub fn mount(s: &mut Surface) {
    s.api(gates::READ, routes!(list))
        .api(gate::ACT, routes!(contact))
        .api(gates::HANDLE, routes!(create))
        .api(gate::ACT, routes!(mine))
        .api(gate::SEE, routes!(get))
        .api(gate::ACT, routes!(act));
}
