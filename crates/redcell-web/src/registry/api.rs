//! CRUD for the registry resources. One macro writes the five operations of
//! a resource so that every resource behaves the same: scoped list with
//! filters and paging, get by id, create (201), PATCH (only the fields sent),
//! delete. Answers are the resources' views (no internal columns); the
//! services check the caller's capability and the scope of every id.

use super::raw::{self, Validate, merge};
use crate::Shared;
use crate::auth::ApiUser;
use crate::error::{ApiResult, ErrorBody, bad_json};
use crate::kit::{ApiJson, JsonBody, Q, Surface, gates};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use redcell_domain::ids::*;
use redcell_domain::input::*;
use redcell_store::registry::residents::Revealed;
use redcell_store::registry::search::SearchFilter;
use redcell_store::registry::{self as reg, Page, Paged};
use serde::Deserialize;
use utoipa_axum::routes;

macro_rules! resource {
    ($m:ident, $id:ty, $list_path:literal, $item_path:literal, $tag:literal, $view:ty, $raw:ty, $filter:ty, $base:path) => {
        pub mod $m {
            use super::*;
            use reg::$m as store;

            #[utoipa::path(get, path = $list_path, tag = $tag, operation_id = concat!("list_", $tag), params(Page, $filter),
                responses((status = 200, body = Paged<$view>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
                security(("bearer" = [])))]
            pub async fn list(ApiUser(p): ApiUser, State(s): State<Shared>, Q(page): Q<Page>, Q(f): Q<$filter>) -> ApiResult<Json<Paged<$view>>> {
                Ok(Json(store::list(&s.db, &p, &f, page).await?.map(|r| r.view)))
            }

            #[utoipa::path(get, path = $item_path, tag = $tag, operation_id = concat!("get_", $tag), params(("id" = $id, Path)),
                responses((status = 200, body = $view), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
            pub async fn get(ApiUser(p): ApiUser, State(s): State<Shared>, Path(id): Path<$id>) -> ApiResult<Json<$view>> {
                Ok(Json(store::get(&s.db, &p, id).await?.view))
            }

            #[utoipa::path(post, path = $list_path, tag = $tag, operation_id = concat!("create_", $tag), request_body = $raw,
                responses((status = 201, body = $view), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
                security(("bearer" = [])))]
            pub async fn create(ApiUser(p): ApiUser, State(s): State<Shared>, ApiJson(raw): ApiJson<$raw>) -> ApiResult<(StatusCode, Json<$view>)> {
                let r = store::create(&s.db, &p, raw.check()?).await?;
                Ok((StatusCode::CREATED, Json(r.view)))
            }

            #[utoipa::path(patch, path = $item_path, tag = $tag, operation_id = concat!("update_", $tag), params(("id" = $id, Path)), request_body = $raw,
                responses((status = 200, body = $view), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
                security(("bearer" = [])))]
            pub async fn update(ApiUser(p): ApiUser, State(s): State<Shared>, Path(id): Path<$id>, JsonBody(body): JsonBody) -> ApiResult<Json<$view>> {
                let base = $base(&s.db, &p, id).await?;
                let raw: $raw = merge(&base, body).map_err(|e| bad_json(&e))?;
                Ok(Json(store::update(&s.db, &p, id, raw.check()?).await?.view))
            }

            #[utoipa::path(delete, path = $item_path, tag = $tag, operation_id = concat!("delete_", $tag), params(("id" = $id, Path)),
                responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
                security(("bearer" = [])))]
            pub async fn delete(ApiUser(p): ApiUser, State(s): State<Shared>, Path(id): Path<$id>) -> ApiResult<StatusCode> {
                store::delete(&s.db, &p, id).await?;
                Ok(StatusCode::NO_CONTENT)
            }

            pub fn mount(s: &mut Surface) {
                s.api(gates::READ, routes!(list))
                    .api(gates::READ, routes!(get))
                    .api(gates::EDIT, routes!(create))
                    .api(gates::EDIT, routes!(update))
                    .api(gates::EDIT, routes!(delete));
            }
        }
    };
}

resource!(
    orgs,
    OrgId,
    "/api/v1/orgs",
    "/api/v1/orgs/{id}",
    "orgs",
    reg::orgs::OrgView,
    RawOrg,
    reg::orgs::OrgFilter,
    raw::org_base
);
resource!(
    grids,
    GridId,
    "/api/v1/grids",
    "/api/v1/grids/{id}",
    "grids",
    reg::grids::GridView,
    RawGrid,
    reg::grids::GridFilter,
    raw::grid_base
);
resource!(
    buildings,
    BuildingId,
    "/api/v1/buildings",
    "/api/v1/buildings/{id}",
    "buildings",
    reg::buildings::BuildingView,
    RawBuilding,
    reg::buildings::BuildingFilter,
    raw::building_base
);
resource!(
    households,
    HouseholdId,
    "/api/v1/households",
    "/api/v1/households/{id}",
    "households",
    reg::households::HouseholdView,
    RawHousehold,
    reg::households::HouseholdFilter,
    raw::household_base
);
resource!(
    residents,
    ResidentId,
    "/api/v1/residents",
    "/api/v1/residents/{id}",
    "residents",
    reg::residents::ResidentView,
    RawResident,
    reg::residents::ResidentFilter,
    raw::resident_base
);
resource!(
    members,
    MemberId,
    "/api/v1/members",
    "/api/v1/members/{id}",
    "members",
    reg::members::MemberView,
    RawMember,
    reg::members::MemberFilter,
    raw::member_base
);
resource!(
    cadres,
    CadreId,
    "/api/v1/cadres",
    "/api/v1/cadres/{id}",
    "cadres",
    reg::cadres::CadreView,
    RawCadre,
    reg::cadres::CadreFilter,
    raw::cadre_base
);
resource!(
    units,
    UnitId,
    "/api/v1/units",
    "/api/v1/units/{id}",
    "units",
    reg::units::UnitView,
    RawUnit,
    reg::units::UnitFilter,
    raw::unit_base
);

/// Search people in the caller's scope; results are masked.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchFilter, Page),
    responses((status = 200, body = Paged<reg::residents::ResidentView>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn search(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<SearchFilter>,
    Q(page): Q<Page>,
) -> ApiResult<Json<Paged<reg::residents::ResidentView>>> {
    let text = q.q.unwrap_or_default();
    Ok(Json(reg::search::people(&s.db, &p, &text, page).await?.map(|r| r.view)))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct RevealRequest {
    /// Why the clear values are needed (kept in the audit trail).
    #[serde(default)]
    pub reason: String,
}

/// Reveal a resident's ID number and phone. Allowed to roles that need them; audited.
#[utoipa::path(post, path = "/api/v1/residents/{id}/reveal", tag = "residents", params(("id" = ResidentId, Path)),
    request_body = RevealRequest,
    responses((status = 200, body = Revealed), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reveal(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ResidentId>,
    JsonBody(body): JsonBody,
) -> Result<([(header::HeaderName, &'static str); 1], Json<Revealed>), axum::response::Response> {
    let req: RevealRequest = if body.is_null() {
        RevealRequest::default()
    } else {
        crate::kit::extract::from_value(body).map_err(|e| crate::error::ApiError(e).into_response_marked(None))?
    };
    let revealed = reg::residents::reveal(&s.db, &p, id, &req.reason)
        .await
        .map_err(|e| crate::error::ApiError(e).into_response_marked(Some("reveal_denied")))?;
    // Clear personal data: never kept in a browser or proxy cache.
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(revealed)))
}

pub fn mount(s: &mut Surface) {
    orgs::mount(s);
    grids::mount(s);
    buildings::mount(s);
    households::mount(s);
    residents::mount(s);
    members::mount(s);
    cadres::mount(s);
    units::mount(s);
    s.api(gates::READ, routes!(search)).api(gates::REVEAL, routes!(reveal));
}
