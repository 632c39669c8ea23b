//! One error type for the JSON API: logs internals, never shows them.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use redcell_domain::{FieldError, Invalid, i18n};
use redcell_store::StoreError;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field error when several fields are wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldErrorBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// An API error.
#[derive(Debug)]
pub struct ApiError(pub StoreError);

impl<E: Into<StoreError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

fn body(status: StatusCode, code: &str, message: &str, field: Option<&FieldError>, all: &[FieldError]) -> Response {
    let detail = ErrorDetail {
        code: code.to_string(),
        message: message.to_string(),
        field: field.map(|f| f.field.clone()),
        fields: all
            .iter()
            .map(|f| FieldErrorBody { field: f.field.clone(), code: f.code.to_string(), message: f.message.clone() })
            .collect(),
    };
    (status, Json(ErrorBody { error: detail })).into_response()
}

/// An error answer in the API's shape with a code and message of one's own.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    body(status, code, message, None, &[])
}

pub fn invalid_response(inv: &Invalid) -> Response {
    let first = inv.first();
    let msg = first.map(|f| format!("{}：{}", f.field, f.message)).unwrap_or_default();
    body(StatusCode::UNPROCESSABLE_ENTITY, first.map(|f| f.code).unwrap_or("invalid"), &msg, first, &inv.0)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self.0 {
            StoreError::Invalid(inv) => invalid_response(inv),
            StoreError::NotFound => body(StatusCode::NOT_FOUND, "not_found", i18n::NOT_FOUND, None, &[]),
            StoreError::Forbidden => body(StatusCode::FORBIDDEN, "forbidden", i18n::FORBIDDEN, None, &[]),
            StoreError::Denied(f) => {
                body(StatusCode::FORBIDDEN, "forbidden", &f.message, Some(f), std::slice::from_ref(f))
            }
            StoreError::Unauthorized => body(StatusCode::UNAUTHORIZED, "unauthorized", i18n::LOGIN_REQUIRED, None, &[]),
            StoreError::RateLimited(secs) => {
                let mut r = body(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    &format!("尝试过于频繁，请 {secs} 秒后再试"),
                    None,
                    &[],
                );
                if let Ok(v) = secs.to_string().parse() {
                    r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
                }
                r
            }
            StoreError::Locked(until) => {
                let local = *until + chrono::Duration::hours(8);
                body(
                    StatusCode::TOO_MANY_REQUESTS,
                    "locked",
                    &format!("登录失败次数过多，账号锁定至 {}", local.format("%Y-%m-%d %H:%M")),
                    None,
                    &[],
                )
            }
            // A write that clashes with stored data (a duplicate the service
            // did not name, a row still referenced): nothing was changed.
            e if e.is_unique_violation() || e.is_fk_violation() => {
                tracing::info!("conflict: {e}");
                body(StatusCode::CONFLICT, "conflict", i18n::CONFLICT, None, &[])
            }
            e => {
                tracing::error!("internal error: {e}");
                let mut r = body(StatusCode::INTERNAL_SERVER_ERROR, "internal", i18n::INTERNAL, None, &[]);
                if let StoreError::Db(db) = e {
                    r.extensions_mut().insert(crate::ops::StorageFault(db.to_string()));
                }
                r
            }
        }
    }
}

impl ApiError {
    /// The answer, marked with `code` for the audit trail when it refuses
    /// the call (see [`crate::kit::gate::audit_refusals`]).
    pub fn into_response_marked(self, code: Option<&'static str>) -> Response {
        let refused = matches!(self.0, StoreError::Forbidden | StoreError::Denied(_) | StoreError::NotFound);
        let mut r = self.into_response();
        if let (true, Some(c)) = (refused, code) {
            r.extensions_mut().insert(crate::kit::Refused(c));
        }
        r
    }
}

/// A body over the size limit, as a 413 in the error shape.
pub fn too_large() -> Response {
    body(StatusCode::PAYLOAD_TOO_LARGE, "too_large", i18n::BODY_TOO_LARGE, None, &[])
}

/// A JSON body that failed to parse, as a 422 in the error shape.
pub fn bad_json(msg: &str) -> ApiError {
    ApiError(StoreError::Invalid(FieldError::new("body", "json", format!("请求体不是有效的JSON：{msg}")).into()))
}
