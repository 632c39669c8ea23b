//! CRUD for the registry resources. One macro writes the five handlers of a
//! resource so that every resource behaves the same: scoped list with filters
//! and paging, get by id, create (201), PATCH (only the fields sent), delete.

use super::{JsonBody, Q};
use crate::Shared;
use crate::auth::ApiUser;
use crate::error::{ApiResult, ErrorBody, bad_json};
use crate::raw::{self, Validate, merge};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use redcell_domain::input::*;
use redcell_store::registry::{self as reg, Page, Paged};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

macro_rules! resource {
    ($m:ident, $list_path:literal, $item_path:literal, $tag:literal, $row:ty, $raw:ty, $filter:ty, $base:path) => {
        pub mod $m {
            use super::*;
            use reg::$m as store;

            #[utoipa::path(get, path = $list_path, tag = $tag, params(Page, $filter),
                responses((status = 200, body = Paged<$row>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
                security(("bearer" = [])))]
            pub async fn list(ApiUser(p): ApiUser, State(s): State<Shared>, Q(page): Q<Page>, Q(f): Q<$filter>) -> ApiResult<Json<Paged<$row>>> {
                Ok(Json(store::list(&s.db, &p, &f, page).await?))
            }

            #[utoipa::path(get, path = $item_path, tag = $tag, params(("id" = i64, Path)),
                responses((status = 200, body = $row), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
            pub async fn get(ApiUser(p): ApiUser, State(s): State<Shared>, Path(id): Path<i64>) -> ApiResult<Json<$row>> {
                Ok(Json(store::get(&s.db, &p, id).await?))
            }

            #[utoipa::path(post, path = $list_path, tag = $tag, request_body = $raw,
                responses((status = 201, body = $row), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
                security(("bearer" = [])))]
            pub async fn create(ApiUser(p): ApiUser, State(s): State<Shared>, JsonBody(body): JsonBody) -> ApiResult<(StatusCode, Json<$row>)> {
                let raw: $raw = serde_json::from_value(body).map_err(|e| bad_json(&e.to_string()))?;
                let r = store::create(&s.db, &p, raw.check()?).await;
                super::super::audit_refusal(&s.db, &p, &r, concat!("POST ", $list_path)).await;
                Ok((StatusCode::CREATED, Json(r?)))
            }

            #[utoipa::path(patch, path = $item_path, tag = $tag, params(("id" = i64, Path)), request_body = $raw,
                responses((status = 200, body = $row), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
                security(("bearer" = [])))]
            pub async fn update(ApiUser(p): ApiUser, State(s): State<Shared>, Path(id): Path<i64>, JsonBody(body): JsonBody) -> ApiResult<Json<$row>> {
                let base = $base(&s.db, &p, id).await;
                super::super::audit_refusal(&s.db, &p, &base, &format!("PATCH {}", $item_path.replace("{id}", &id.to_string()))).await;
                let raw: $raw = merge(&base?, body).map_err(|e| bad_json(&e))?;
                let r = store::update(&s.db, &p, id, raw.check()?).await;
                super::super::audit_refusal(&s.db, &p, &r, &format!("PATCH {}", $item_path.replace("{id}", &id.to_string()))).await;
                Ok(Json(r?))
            }

            #[utoipa::path(delete, path = $item_path, tag = $tag, params(("id" = i64, Path)),
                responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
                security(("bearer" = [])))]
            pub async fn delete(ApiUser(p): ApiUser, State(s): State<Shared>, Path(id): Path<i64>) -> ApiResult<StatusCode> {
                let r = store::delete(&s.db, &p, id).await;
                super::super::audit_refusal(&s.db, &p, &r, &format!("DELETE {}", $item_path.replace("{id}", &id.to_string()))).await;
                r?;
                Ok(StatusCode::NO_CONTENT)
            }

            pub fn router() -> OpenApiRouter<Shared> {
                OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get, update, delete))
            }
        }
    };
}

resource!(
    orgs,
    "/api/v1/orgs",
    "/api/v1/orgs/{id}",
    "orgs",
    reg::orgs::Org,
    RawOrg,
    reg::orgs::OrgFilter,
    raw::org_base
);
resource!(
    grids,
    "/api/v1/grids",
    "/api/v1/grids/{id}",
    "grids",
    reg::grids::Grid,
    RawGrid,
    reg::grids::GridFilter,
    raw::grid_base
);
resource!(
    buildings,
    "/api/v1/buildings",
    "/api/v1/buildings/{id}",
    "buildings",
    reg::buildings::Building,
    RawBuilding,
    reg::buildings::BuildingFilter,
    raw::building_base
);
resource!(
    households,
    "/api/v1/households",
    "/api/v1/households/{id}",
    "households",
    reg::households::Household,
    RawHousehold,
    reg::households::HouseholdFilter,
    raw::household_base
);
resource!(
    residents,
    "/api/v1/residents",
    "/api/v1/residents/{id}",
    "residents",
    reg::residents::Resident,
    RawResident,
    reg::residents::ResidentFilter,
    raw::resident_base
);
resource!(
    members,
    "/api/v1/members",
    "/api/v1/members/{id}",
    "members",
    reg::members::Member,
    RawMember,
    reg::members::MemberFilter,
    raw::member_base
);
resource!(
    cadres,
    "/api/v1/cadres",
    "/api/v1/cadres/{id}",
    "cadres",
    reg::cadres::Cadre,
    RawCadre,
    reg::cadres::CadreFilter,
    raw::cadre_base
);
resource!(
    units,
    "/api/v1/units",
    "/api/v1/units/{id}",
    "units",
    reg::units::Unit,
    RawUnit,
    reg::units::UnitFilter,
    raw::unit_base
);

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct SearchQuery {
    /// A name fragment, or an exact phone or ID number.
    pub q: String,
}

/// Search people in the caller's scope; results are masked.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchQuery, Page),
    responses((status = 200, body = Paged<reg::residents::Resident>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn search(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<SearchQuery>,
    Q(page): Q<Page>,
) -> ApiResult<Json<Paged<reg::residents::Resident>>> {
    Ok(Json(reg::search::people(&s.db, &p, &q.q, page).await?))
}

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .merge(orgs::router())
        .merge(grids::router())
        .merge(buildings::router())
        .merge(households::router())
        .merge(residents::router())
        .merge(members::router())
        .merge(cadres::router())
        .merge(units::router())
        .routes(routes!(search))
}
