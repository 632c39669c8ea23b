//! Who is calling: bearer tokens for the API, a session cookie for pages.

use crate::Shared;
use crate::error::ApiError;
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

/// An API caller authenticated by `Authorization: Bearer TOKEN`.
pub struct ApiUser(pub Principal);

impl FromRequestParts<Shared> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError(StoreError::Unauthorized))?;
        let s = redcell_store::auth::session(&state.db, token).await?;
        // An administrator-set password must be changed before anything else.
        if s.must_change_password
            && !matches!(parts.uri.path(), "/api/v1/auth/password" | "/api/v1/auth/logout" | "/api/v1/auth/me")
        {
            return Err(ApiError(StoreError::Denied(redcell_domain::FieldError::new(
                "password",
                "password_change_required",
                "密码由管理员设置，请先修改密码（POST /api/v1/auth/password）",
            ))));
        }
        Ok(ApiUser(s.principal))
    }
}

/// A page visitor with a valid session, and the CSRF token every form must carry.
pub struct PageUser {
    pub p: Principal,
    pub csrf: String,
    /// The password was set by an administrator: only the account page is open.
    pub must_change_password: bool,
}

/// The client address (from the connection) and user agent of a request.
pub fn client(parts: &Parts) -> redcell_store::auth::Client {
    let ip = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
    redcell_store::auth::Client { ip, user_agent }
}

impl FromRequestParts<Shared> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Self::Rejection> {
        let to_login = || {
            let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let next: String = url_encode(next);
            Redirect::to(&format!("/login?next={next}")).into_response()
        };
        let Some(token) = cookie(parts, SESSION_COOKIE) else {
            return Err(to_login());
        };
        match redcell_store::auth::session(&state.db, token).await {
            Ok(s) => {
                let path = parts.uri.path();
                if s.must_change_password && !matches!(path, "/account" | "/account/password" | "/logout") {
                    return Err(Redirect::to("/account/password").into_response());
                }
                Ok(PageUser { p: s.principal, csrf: s.csrf, must_change_password: s.must_change_password })
            }
            Err(StoreError::Unauthorized) => Err(to_login()),
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
