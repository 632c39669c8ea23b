//! Who is calling: bearer tokens for the API, a session cookie for pages.

use crate::Shared;
use crate::error::ApiError;
use crate::kit::{Caller, Front};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use redcell_store::{Principal, StoreError};

pub const SESSION_COOKIE: &str = "rc_session";
pub const LOGIN_CSRF_COOKIE: &str = "rc_login_csrf";

/// Read a cookie from the request.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for a session-style cookie.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// An API caller authenticated by `Authorization: Bearer TOKEN` (resolved by
/// the route's gate, see [`crate::kit::gate`]).
pub struct ApiUser(pub Principal);

impl FromRequestParts<Shared> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(ApiUser(c.p.clone()));
        }
        // A route mounted without a gate: resolve the caller here.
        match crate::kit::gate::resolve(state, Front::Api, parts).await? {
            Some(c) if !c.must_change_password => Ok(ApiUser(c.p)),
            Some(c) if crate::kit::gate::open_before_password_change(Front::Api, parts.uri.path()) => Ok(ApiUser(c.p)),
            Some(_) => Err(ApiError(StoreError::Denied(redcell_domain::FieldError::new(
                "password",
                "password_change_required",
                "密码由管理员设置，请先修改密码（POST /api/v1/auth/password）",
            )))),
            None => Err(ApiError(StoreError::Unauthorized)),
        }
    }
}

/// A page visitor with a valid session, and the CSRF token every form must carry.
pub struct PageUser {
    pub p: Principal,
    pub csrf: String,
    /// The password was set by an administrator: only the account page is open.
    pub must_change_password: bool,
}

impl PageUser {
    pub fn caller(&self) -> Caller {
        Caller { p: self.p.clone(), csrf: self.csrf.clone(), must_change_password: self.must_change_password }
    }
}

/// The client address and user agent of a request. The address is the TCP
/// peer's, or — behind a trusted reverse proxy — the last `X-Forwarded-For`
/// entry, which that proxy wrote (earlier entries come from the client and
/// could be forged).
pub fn client(parts: &Parts, trust_forwarded: bool) -> redcell_store::auth::Client {
    let forwarded = trust_forwarded
        .then(|| {
            parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .next_back()
                .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
                .map(str::to_string)
        })
        .flatten();
    let ip = forwarded.or_else(|| {
        parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string())
    });
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
    redcell_store::auth::Client { ip, user_agent }
}

impl FromRequestParts<Shared> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(PageUser { p: c.p.clone(), csrf: c.csrf.clone(), must_change_password: c.must_change_password });
        }
        // A route mounted without a gate: resolve the caller here.
        let to_login = || {
            let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            Redirect::to(&format!("/login?next={}", url_encode(next))).into_response()
        };
        match crate::kit::gate::resolve(state, Front::Page, parts).await {
            Ok(Some(c)) => {
                let path = parts.uri.path();
                if c.must_change_password && !matches!(path, "/account" | "/account/password" | "/logout") {
                    return Err(Redirect::to("/account/password").into_response());
                }
                Ok(PageUser { p: c.p, csrf: c.csrf, must_change_password: c.must_change_password })
            }
            Ok(None) | Err(StoreError::Unauthorized) => Err(to_login()),
            Err(e) => Err(crate::pages::error_page(e)),
        }
    }
}

/// Percent-encode for a query value.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Only local paths are accepted as a post-login destination. Control
/// characters are refused: browsers drop tabs and newlines from a URL, so
/// `/\t/evil.example` would become `//evil.example` (another site), and a CR or
/// LF cannot go into a `Location` header. Other bytes outside visible ASCII are
/// percent-encoded, as a `Location` header is ASCII.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.chars().any(char::is_control) =>
        {
            n.bytes()
                .map(|b| if b.is_ascii_graphic() { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect()
        }
        _ => "/".to_string(),
    }
}

/// Constant-time comparison of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::client;
    use axum::extract::ConnectInfo;

    fn parts(xff: Option<&str>) -> axum::http::request::Parts {
        let mut b = axum::http::Request::builder().uri("/login");
        if let Some(x) = xff {
            b = b.header("x-forwarded-for", x);
        }
        let (mut parts, _) = b.body(()).unwrap().into_parts();
        parts.extensions.insert(ConnectInfo(std::net::SocketAddr::from(([10, 0, 0, 1], 4000))));
        parts
    }

    #[test]
    fn forwarded_address_only_when_trusted() {
        let p = parts(Some("1.2.3.4, 203.0.113.9"));
        assert_eq!(client(&p, false).ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(client(&p, true).ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(client(&parts(Some("garbage")), true).ip.as_deref(), Some("10.0.0.1"));
        // Only the entry the proxy wrote counts; a forged earlier one never does.
        assert_eq!(client(&parts(Some("6.6.6.6, garbage")), true).ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(client(&parts(None), true).ip.as_deref(), Some("10.0.0.1"));
    }
}
