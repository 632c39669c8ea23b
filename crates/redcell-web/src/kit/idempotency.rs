//! `Idempotency-Key` on the API's writes (POST): a client that sends a key
//! and retries after a lost answer (a dropped connection, a server stopped
//! mid-request) gets the first answer back, never a second write. The key is
//! the caller's own (per account), kept a day (see
//! `redcell_store::idempotency`). Only successful answers are kept: a write
//! that failed may be retried with the same key.

use super::gate::{Front, resolve};
use crate::Shared;
use crate::error::error_response;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use redcell_domain::i18n;
use redcell_store::idempotency::{self, Claim};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set on an answer replayed from an earlier request.
pub const REPLAYED: &str = "idempotent-replayed";

/// The largest body buffered (the API's own limit is 2 MB).
const MAX_BODY: usize = 4 * 1024 * 1024;

pub async fn idempotent(req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let key = match raw.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= idempotency::MAX_KEY && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_string()
        }
        _ => return error_response(StatusCode::BAD_REQUEST, "bad_request", i18n::IDEMPOTENCY_KEY_INVALID),
    };
    let Some(s) = req.extensions().get::<Shared>().cloned() else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    // Without a valid caller the gate answers (401); nothing to remember.
    let Ok(Some(caller)) = resolve(&s, Front::Api, &parts).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return crate::error::too_large(),
    };
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let hash = idempotency::request_hash(parts.method.as_str(), path, &bytes);
    let p = &caller.p;
    match idempotency::claim(&s.db, p, &key, &hash).await {
        Err(e) => return crate::error::ApiError(e).into_response_marked(None),
        Ok(Claim::Mismatch) => {
            return error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_mismatch",
                i18n::IDEMPOTENCY_MISMATCH,
            );
        }
        Ok(Claim::InFlight) => {
            return error_response(StatusCode::CONFLICT, "idempotency_in_flight", i18n::IDEMPOTENCY_IN_FLIGHT);
        }
        Ok(Claim::Answered { status, content_type, body }) => {
            let mut r = Response::new(Body::from(body));
            *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            r.headers_mut().insert(HeaderName::from_static(REPLAYED), HeaderValue::from_static("true"));
            return r;
        }
        Ok(Claim::Fresh) => {}
    }
    let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if !res.status().is_success() {
        if let Err(e) = idempotency::release(&s.db, p, &key).await {
            tracing::warn!("releasing an idempotency key: {e}");
        }
        return res;
    }
    let (rparts, rbody) = res.into_parts();
    let Ok(out) = axum::body::to_bytes(rbody, MAX_BODY).await else {
        let _ = idempotency::release(&s.db, p, &key).await;
        return error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal", i18n::INTERNAL);
    };
    let ct = rparts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    match std::str::from_utf8(&out) {
        Ok(text) => {
            if let Err(e) = idempotency::answer(&s.db, p, &key, rparts.status.as_u16(), &ct, text).await {
                tracing::warn!("keeping an idempotent answer: {e}");
            }
        }
        Err(_) => {
            let _ = idempotency::release(&s.db, p, &key).await;
        }
    }
    Response::from_parts(rparts, Body::from(out))
}
