//! The requests capability on the web (SPEC §3): resident requests,
//! micro-wishes and errands.
//!
//! - [`public`]: the resident's pages without an account (submit, follow,
//!   answer a revisit link);
//! - [`open311`]: Open311 GeoReport v2, public;
//! - [`api`]: the JSON resource under `/api/v1/requests`;
//! - [`queue`]: the back-office queue with bulk triage, my tasks, statistics;
//! - [`detail`]: one request with the actions the state machine allows,
//!   revisit links, 联办 parts and 上报 chases;
//! - [`register`]: registering on a resident's behalf (代为登记);
//! - [`wishes`]: the micro-wish board;
//! - [`settings`]: the tenant's request categories, holiday calendar and
//!   Open311 keys.
//!
//! Every route is mounted here with its gate; the services check the scope
//! of every id.

pub mod api;
pub mod detail;
pub mod open311;
pub mod public;
pub mod queue;
pub mod register;
pub mod settings;
pub mod wishes;

use crate::kit::{Access, Surface, gates};
use axum::http::StatusCode;
use axum::response::Response;
use redcell_domain::requests::RequestKind;
use redcell_domain::{Capability, FieldError, Invalid, i18n};
use redcell_store::StoreError;

/// Gates of the requests capability besides the shared ones.
pub mod gate {
    use super::{Access, Capability};
    /// One request: readers of the registry (its scope), its handler, or a
    /// member who may claim it (the service decides which request).
    pub const SEE: Access =
        Access::Any(&[Capability::ReadRegistry, Capability::HandleRequests, Capability::ClaimRequests]);
    /// Acting on a request: staff and handlers, or members claiming.
    pub const ACT: Access = Access::Any(&[Capability::HandleRequests, Capability::ClaimRequests]);
    /// In-service members: claiming and completing micro-wishes.
    pub const CLAIM: Access = Access::Any(&[Capability::ClaimRequests]);
}

/// Mount the requests capability: API, pages, uploads, Open311, navigation.
pub fn mount(s: &mut Surface) {
    api::mount(s);
    public::mount(s);
    open311::mount(s);
    queue::mount(s);
    detail::mount(s);
    register::mount(s);
    wishes::mount(s);
    settings::mount(s);
    s.exports(redcell_store::requests::exports());
    s.nav(30, "/requests", i18n::REQ_NAV_QUEUE, gates::READ).nav(
        31,
        "/requests/mine",
        i18n::REQ_NAV_TASKS,
        gate::CLAIM,
    );
}

/// A store error shown beside a form's fields, with the status of the page:
/// invalid input 422, a refused reference 403 (audited as a refusal), too
/// many submissions 429. Anything else is an error page.
pub(crate) struct Shown {
    pub status: StatusCode,
    pub errs: Vec<FieldError>,
}

impl Shown {
    pub fn none() -> Shown {
        Shown { status: StatusCode::OK, errs: vec![] }
    }
    pub fn invalid(errs: Vec<FieldError>) -> Shown {
        Shown { status: StatusCode::UNPROCESSABLE_ENTITY, errs }
    }
    pub fn of(e: StoreError) -> Result<Shown, StoreError> {
        Ok(match e {
            StoreError::Invalid(Invalid(v)) => Shown::invalid(v),
            StoreError::Denied(f) => Shown { status: StatusCode::FORBIDDEN, errs: vec![f] },
            StoreError::RateLimited(_) => Shown {
                status: StatusCode::TOO_MANY_REQUESTS,
                errs: vec![FieldError::new("_", "rate", i18n::REQ_RATE_LIMITED)],
            },
            e => return Err(e),
        })
    }
    /// The message of the field, for the template.
    pub fn get(&self, f: &str) -> Option<&str> {
        self.errs.iter().find(|e| e.field == f).map(|e| e.message.as_str())
    }
    pub fn summary(&self) -> String {
        self.errs.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("；")
    }
}

/// A redirect carrying a flash message; a refusal is marked so that it is
/// audited like any 403 (see [`crate::kit::Refused`]).
pub(crate) fn flash_to(base: &str, msg: &str, refused: bool) -> Response {
    use axum::response::IntoResponse;
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut r =
        axum::response::Redirect::to(&format!("{base}{sep}flash={}", crate::auth::url_encode(msg))).into_response();
    if refused {
        r.extensions_mut().insert(crate::kit::Refused("forbidden"));
    }
    r
}

/// The kinds for a select box: (code, label).
pub(crate) fn kinds() -> Vec<(&'static str, &'static str)> {
    RequestKind::ALL.iter().map(|k| (k.code(), k.label())).collect()
}
