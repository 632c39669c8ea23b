//! Who is calling, decided once per request, before any handler runs.
//!
//! Every route is registered through [`super::Surface`] with an [`Access`]:
//! the gate in front of it resolves the caller (a bearer token under
//! `/api/`, the session cookie on pages), refuses one who holds none of the
//! capabilities the route needs, and leaves the [`Caller`] in the request
//! for the extractors ([`crate::auth::ApiUser`], [`crate::auth::PageUser`]).
//! The scope of every id is then checked by the service.
//!
//! [`audit_refusals`] wraps the whole application: every refused call
//! (403, a CSRF failure, a write to something the caller cannot see) lands in
//! the audit trail here, in one place, whichever layer refused it.

use crate::Shared;
use crate::auth::{SESSION_COOKIE, cookie, url_encode};
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use redcell_domain::Capability;
use redcell_store::{Principal, StoreError};
use std::sync::{Arc, Mutex};

/// Who may call a route. The service still checks the scope of every id;
/// this is the coarse gate that no route can be registered without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (the resident's pages, Open311, login).
    Public,
    /// Any signed-in account (their own account page, sign-out).
    SignedIn,
    /// A signed-in account holding at least one of these capabilities somewhere.
    Any(&'static [Capability]),
    /// A signed-in account holding one of these capabilities over its whole
    /// tenant (settings of the tenant, its audit trail).
    Root(&'static [Capability]),
}

impl Access {
    pub const fn cap(c: &'static [Capability]) -> Access {
        Access::Any(c)
    }

    /// Does `p` pass this gate?
    pub fn admits(self, p: &Principal) -> bool {
        match self {
            Access::Public | Access::SignedIn => true,
            Access::Any(caps) => caps.iter().any(|c| p.holds(*c)),
            Access::Root(caps) => {
                let root = redcell_domain::OrgPath::root(p.tenant_id);
                caps.iter().any(|c| p.holds_at(*c, &root))
            }
        }
    }

    /// The capabilities named (empty for public and signed-in routes).
    pub fn caps(self) -> &'static [Capability] {
        match self {
            Access::Any(c) | Access::Root(c) => c,
            _ => &[],
        }
    }
}

/// Which front a route belongs to: how its caller authenticates and how a
/// refusal is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// `/api/v1`: bearer token, JSON errors.
    Api,
    /// Pages: session cookie, CSRF on forms, redirects to the login page.
    Page,
}

/// The resolved caller, left in the request's extensions by the gate.
#[derive(Debug, Clone)]
pub struct Caller {
    pub p: Principal,
    /// The session's CSRF token (pages).
    pub csrf: String,
    /// The password was set by an administrator and must be changed first.
    pub must_change_password: bool,
}

/// Paths a caller whose password must be changed may still reach.
pub(crate) fn open_before_password_change(front: Front, path: &str) -> bool {
    match front {
        Front::Api => matches!(path, "/api/v1/auth/password" | "/api/v1/auth/logout" | "/api/v1/auth/me"),
        Front::Page => matches!(path, "/account" | "/account/password" | "/logout"),
    }
}

/// Resolve the caller of a request on `front`: `Ok(None)` when there is no
/// credential at all, an error when the credential is not valid.
pub async fn resolve(
    s: &Shared,
    front: Front,
    parts: &axum::http::request::Parts,
) -> Result<Option<Caller>, StoreError> {
    let token = match front {
        Front::Api => parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        Front::Page => cookie(parts, SESSION_COOKIE).map(str::to_string),
    };
    let Some(token) = token else { return Ok(None) };
    let s = redcell_store::auth::session(&s.db, &token).await?;
    Ok(Some(Caller { p: s.principal, csrf: s.csrf, must_change_password: s.must_change_password }))
}

/// Where the login page sends the visitor back to.
fn to_login(req: &Request) -> Response {
    let next = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    Redirect::to(&format!("/login?next={}", url_encode(next))).into_response()
}

/// The gate in front of one route (see the module documentation).
pub async fn gate(State((access, front)): State<(Access, Front)>, mut req: Request, next: Next) -> Response {
    if access == Access::Public {
        return next.run(req).await;
    }
    let Some(s) = req.extensions().get::<Shared>().cloned() else {
        tracing::error!("the application state is missing from the request");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let (parts, body) = req.into_parts();
    let resolved = resolve(&s, front, &parts).await;
    req = Request::from_parts(parts, body);
    let caller = match (resolved, front) {
        (Ok(Some(c)), _) => c,
        (Ok(None) | Err(StoreError::Unauthorized), Front::Api) => {
            return ApiError(StoreError::Unauthorized).into_response();
        }
        // A bearer token never opens a page: pages take the cookie only.
        (Ok(None) | Err(StoreError::Unauthorized), Front::Page) => return to_login(&req),
        (Err(e), Front::Api) => return ApiError(e).into_response(),
        (Err(e), Front::Page) => return crate::pages::error_page(e),
    };
    if let Some(slot) = req.extensions().get::<AuditSlot>() {
        slot.fill(&caller.p);
    }
    if caller.must_change_password && !open_before_password_change(front, req.uri().path()) {
        return match front {
            Front::Api => ApiError(StoreError::Denied(redcell_domain::FieldError::new(
                "password",
                "password_change_required",
                "密码由管理员设置，请先修改密码（POST /api/v1/auth/password）",
            )))
            .into_response(),
            Front::Page => Redirect::to("/account/password").into_response(),
        };
    }
    if !access.admits(&caller.p) {
        return match front {
            Front::Api => ApiError(StoreError::Forbidden).into_response(),
            Front::Page => crate::pages::forbidden_page(&caller),
        };
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Marks a response as a refusal, with the code the audit trail records
/// (`forbidden`, `csrf_failed`). Error responses carry it; [`audit_refusals`]
/// reads it.
#[derive(Debug, Clone, Copy)]
pub struct Refused(pub &'static str);

/// Where the gate leaves the caller for [`audit_refusals`], which runs
/// outside the route and cannot see the request's extensions afterwards.
#[derive(Clone, Default)]
pub struct AuditSlot(Arc<Mutex<Option<Principal>>>);

impl AuditSlot {
    fn fill(&self, p: &Principal) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(p.clone());
        }
    }
    fn take(&self) -> Option<Principal> {
        self.0.lock().ok().and_then(|mut g| g.take())
    }
}

/// Audit every refused call of a signed-in caller, whatever refused it:
/// a response marked [`Refused`], any 403, and a write answered 404 (the
/// caller named something outside what they can see).
pub async fn audit_refusals(mut req: Request, next: Next) -> Response {
    let Some(s) = req.extensions().get::<Shared>().cloned() else {
        return next.run(req).await;
    };
    let slot = AuditSlot::default();
    req.extensions_mut().insert(slot.clone());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    let status = res.status();
    let marked = res.extensions().get::<Refused>().map(|r| r.0);
    let write = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let code = match (marked, status) {
        (Some(code), _) => Some(code),
        (None, StatusCode::FORBIDDEN) => Some("forbidden"),
        (None, StatusCode::NOT_FOUND) if write => Some("forbidden"),
        _ => None,
    };
    if let (Some(code), Some(p)) = (code, slot.take())
        && let Err(e) = redcell_store::accounts::refused(&s.db, &p, code, &format!("{method} {path}")).await
    {
        tracing::warn!("auditing a refusal: {e}");
    }
    res
}
