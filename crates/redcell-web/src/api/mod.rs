//! The JSON API under `/api/v1`, documented by OpenAPI at `/api/v1/openapi.json`.

pub mod auth;
pub mod document;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "redcell API", description = "Grassroots party-building network: registry of organisations, grids, buildings, households, residents, members and cadres. Personal data is masked."),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Login and sessions"),
        (name = "orgs", description = "Organisations (组织)"),
        (name = "grids", description = "Grids (网格)"),
        (name = "buildings", description = "Buildings (楼栋)"),
        (name = "households", description = "Households (住户)"),
        (name = "residents", description = "Residents (居民)"),
        (name = "members", description = "Party members (党员)"),
        (name = "cadres", description = "Cadres (干部)"),
        (name = "units", description = "Enterprises, social organisations and facilities in a grid"),
        (name = "search", description = "Search people by name, phone or ID number"),
        (name = "users", description = "Accounts and their grants"),
        (name = "audit", description = "The audit trail (auditors)"),
        (name = "coverage", description = "Contact responsibility and full coverage (联系全覆盖): contacts, quotas, exemptions, the coverage report, rosters and proposed plans"),
        (name = "duties", description = "Duties and their rhythm (走访、组织生活、例会): rules as data, records, compliance, reminders"),
        (name = "requests", description = "Resident requests, micro-wishes and errands (民情诉求、微心愿、事项代办): the queue, history, registering on a resident's behalf, state actions"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document's base: title, tags, the bearer scheme.
pub fn doc() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub use crate::kit::{JsonBody, Q};
