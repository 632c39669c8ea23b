//! The capability kit: what every capability's web surface is built from.
//!
//! - [`Surface`]: where a capability mounts its API operations, pages,
//!   uploads and navigation entry, each route behind an [`Access`] gate;
//! - [`gate`]: resolves the caller once per request, refuses those without
//!   the route's capability, audits every refusal in one place;
//! - [`extract`]: CSRF-checked forms (urlencoded and multipart), JSON bodies
//!   whose every bad field is named, query parameters;
//! - [`exports`]: the generic download routes over the store's exportable
//!   lists;
//! - [`forms`]: one way to show a form's errors (with `templates/macros.html`).
//!
//! See `ARCHITECTURE.md` for the recipe of a new capability.

pub mod exports;
pub mod extract;
pub mod forms;
pub mod gate;
pub mod idempotency;
pub mod surface;

pub use extract::{ApiJson, BodyRejection, CsrfForm, CsrfMultipart, JsonBody, Q, Upload};
pub use forms::Errors;
pub use gate::{Access, Caller, Front, Refused};
pub use surface::{NavItem, RouteInfo, Surface, gates};
