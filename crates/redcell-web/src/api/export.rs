//! Export of every list to xlsx or CSV: `GET /api/v1/<list>/export?format=xlsx|csv&<the list's filters>`.
//! The whole filtered list (not one page), masked, inside the caller's export
//! scope, recorded in the audit trail; see [`crate::export`].

use crate::Shared;
use crate::auth::ApiUser;
use crate::error::{ApiResult, ErrorBody};
use crate::export::ExportParams;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use redcell_domain::export::ExportKind;
use redcell_store::audit::AuditFilter;
use redcell_store::coverage as cov;
use redcell_store::coverage::contacts::RosterFilter;
use redcell_store::registry as reg;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

macro_rules! export_route {
    ($name:ident, $path:literal, $tag:literal, $kind:expr, $($params:path),+) => {
        /// The whole filtered list as a file: xlsx (default) or CSV (UTF-8 with BOM, or
        /// `encoding=gb18030`). Personal data masked; cells that would start a formula
        /// are prefixed with an apostrophe; the export is recorded in the audit trail.
        #[utoipa::path(get, path = $path, tag = $tag, params(ExportParams, $($params),+),
            responses(
                (status = 200, description = "An attachment (`Content-Disposition` with the Chinese file name in `filename*`): xlsx, or text/csv when `format=csv`",
                    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
            security(("bearer" = [])))]
        pub async fn $name(ApiUser(p): ApiUser, State(s): State<Shared>, RawQuery(q): RawQuery) -> ApiResult<Response> {
            Ok(crate::export::download(&s.db, &p, $kind, q.as_deref().unwrap_or("")).await?)
        }
    };
}

export_route!(orgs, "/api/v1/orgs/export", "orgs", ExportKind::Orgs, reg::orgs::OrgFilter);
export_route!(grids, "/api/v1/grids/export", "grids", ExportKind::Grids, reg::grids::GridFilter);
export_route!(
    buildings,
    "/api/v1/buildings/export",
    "buildings",
    ExportKind::Buildings,
    reg::buildings::BuildingFilter
);
export_route!(
    households,
    "/api/v1/households/export",
    "households",
    ExportKind::Households,
    reg::households::HouseholdFilter
);
export_route!(
    residents,
    "/api/v1/residents/export",
    "residents",
    ExportKind::Residents,
    reg::residents::ResidentFilter
);
export_route!(members, "/api/v1/members/export", "members", ExportKind::Members, reg::members::MemberFilter);
export_route!(cadres, "/api/v1/cadres/export", "cadres", ExportKind::Cadres, reg::cadres::CadreFilter);
export_route!(units, "/api/v1/units/export", "units", ExportKind::Units, reg::units::UnitFilter);
export_route!(search, "/api/v1/search/export", "search", ExportKind::Search, super::registry::SearchQuery);
export_route!(users, "/api/v1/users/export", "users", ExportKind::Users, super::admin::UserQuery);
export_route!(audit, "/api/v1/audit/export", "audit", ExportKind::Audit, AuditFilter);
export_route!(contacts, "/api/v1/contacts/export", "coverage", ExportKind::Contacts, RosterFilter);
export_route!(requests, "/api/v1/requests/export", "requests", ExportKind::Requests, redcell_store::requests::Filter);
export_route!(
    exemptions,
    "/api/v1/exemptions/export",
    "coverage",
    ExportKind::Exemptions,
    cov::exemptions::ExemptionFilter
);
export_route!(plans, "/api/v1/plans/export", "coverage", ExportKind::Plans, cov::plan::PlanFilter);
export_route!(posts, "/api/v1/posts/export", "coverage", ExportKind::Posts, cov::posts::PostFilter);

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(orgs))
        .routes(routes!(grids))
        .routes(routes!(buildings))
        .routes(routes!(households))
        .routes(routes!(residents))
        .routes(routes!(members))
        .routes(routes!(cadres))
        .routes(routes!(units))
        .routes(routes!(search))
        .routes(routes!(users))
        .routes(routes!(audit))
        .routes(routes!(contacts))
        .routes(routes!(requests))
        .routes(routes!(exemptions))
        .routes(routes!(plans))
        .routes(routes!(posts))
}
