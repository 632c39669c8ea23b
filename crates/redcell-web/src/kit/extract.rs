//! Extractors that carry the checks every handler used to repeat:
//!
//! - [`CsrfForm`]: an urlencoded page form whose `_csrf` matched the session;
//! - [`CsrfMultipart`]: the same for a multipart upload, refused before a
//!   file is read when the token does not come first;
//! - [`ApiJson`]: a JSON body deserialised into a type, with every bad field
//!   named in one 422 answer;
//! - [`Q`]: query parameters, a malformed query being a 422.
//!
//! A refused form is answered 403, marked [`Refused`] so that the refusal is
//! audited in one place (see [`super::gate::audit_refusals`]).

use super::gate::{Caller, Refused};
use super::surface::UploadLimit;
use crate::Shared;
use crate::auth::same_token;
use crate::error::{ApiError, bad_json};
use crate::form::FormData;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use redcell_domain::{FieldError, Invalid, i18n};
use redcell_store::StoreError;
use serde::de::DeserializeOwned;

/// The caller the gate resolved (pages).
fn caller(parts: &Parts) -> Option<&Caller> {
    parts.extensions.get::<Caller>()
}

/// A refused form: 403 with the CSRF message, marked for the audit trail.
pub fn csrf_refused(c: Option<&Caller>) -> Response {
    let mut r = crate::pages::csrf_page(c);
    r.extensions_mut().insert(Refused("csrf_failed"));
    r
}

/// A posted urlencoded form whose CSRF token matched the session's.
pub struct CsrfForm(pub FormData);

impl FromRequest<Shared> for CsrfForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let Some(c) = caller(&parts).cloned() else {
            return Err(csrf_refused(None));
        };
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| crate::pages::error_page(FieldError::new("body", "unreadable", e.body_text()).into()))?;
        let f = FormData::parse(&bytes);
        match f.get("_csrf") {
            Some(t) if same_token(t, &c.csrf) => Ok(CsrfForm(f)),
            _ => Err(csrf_refused(Some(&c))),
        }
    }
}

/// A file posted in a multipart form.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The form field, e.g. `file` or `photos`.
    pub field: String,
    /// The name the browser gave (not trusted for anything but display).
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A multipart form whose CSRF token matched the session's: the text fields
/// and the files. The token must come before any file (the pages put it
/// first), so a forged upload is refused before its file is read.
pub struct CsrfMultipart {
    pub form: FormData,
    pub files: Vec<Upload>,
}

impl CsrfMultipart {
    /// The first non-empty file of `field`.
    pub fn file(&self, field: &str) -> Option<&Upload> {
        self.files.iter().find(|f| f.field == field && !f.bytes.is_empty())
    }
    /// Every non-empty file of `field`.
    pub fn files(&self, field: &str) -> Vec<&Upload> {
        self.files.iter().filter(|f| f.field == field && !f.bytes.is_empty()).collect()
    }
}

/// An upload that could not be read: over the size limit (the usual cause)
/// or cut short. Nothing is written.
fn unreadable(limit: Option<UploadLimit>, e: &axum::extract::multipart::MultipartError) -> Response {
    tracing::info!("upload body not readable: {e}");
    let mb = limit.map(|l| l.0 / (1024 * 1024)).unwrap_or(2);
    let f = FieldError::new("file", "unreadable", format!("文件过大（最大{mb}MB）或上传不完整，请重新选择文件"));
    crate::pages::error_page(f.into())
}

impl FromRequest<Shared> for CsrfMultipart {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Response> {
        let c = req.extensions().get::<Caller>().cloned();
        let limit = req.extensions().get::<UploadLimit>().copied();
        let Some(c) = c else { return Err(csrf_refused(None)) };
        let mut mp = Multipart::from_request(req, state).await.map_err(IntoResponse::into_response)?;
        let mut token_ok = false;
        let mut form = Vec::new();
        let mut files = Vec::new();
        loop {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(unreadable(limit, &e)),
            };
            let name = field.name().unwrap_or("").to_string();
            if name == "_csrf" {
                token_ok = field.text().await.is_ok_and(|t| same_token(&t, &c.csrf));
                if !token_ok {
                    return Err(csrf_refused(Some(&c)));
                }
                continue;
            }
            match field.file_name().map(str::to_string) {
                Some(file_name) => {
                    if !token_ok {
                        return Err(csrf_refused(Some(&c)));
                    }
                    let bytes = field.bytes().await.map_err(|e| unreadable(limit, &e))?;
                    files.push(Upload { field: name, file_name, bytes: bytes.to_vec() });
                }
                None => {
                    let text = field.text().await.map_err(|e| unreadable(limit, &e))?;
                    form.push((name, text));
                }
            }
        }
        if !token_ok {
            return Err(csrf_refused(Some(&c)));
        }
        Ok(CsrfMultipart { form: FormData(form), files })
    }
}

/// Query parameters; a malformed query is a 422 in the API error shape
/// naming the parameter.
pub struct Q<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<Shared> for Q<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &Shared) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de).map(Q).map_err(|e| {
            let path = e.path().to_string();
            let field = if path.is_empty() || path == "." { "query" } else { path.as_str() };
            ApiError(FieldError::new(field, "query", format!("{}：{}", i18n::QUERY_INVALID, e.inner())).into())
        })
    }
}

/// A JSON body as a value; anything else is a 422 in the API error shape
/// (a body that is not JSON, or sent without `Content-Type: application/json`),
/// or a 413 when it is over the size limit.
pub struct JsonBody(pub serde_json::Value);

/// Why a body was refused: its content or its size.
pub enum BodyRejection {
    Invalid(ApiError),
    TooLarge,
}

impl From<ApiError> for BodyRejection {
    fn from(e: ApiError) -> Self {
        BodyRejection::Invalid(e)
    }
}

impl IntoResponse for BodyRejection {
    fn into_response(self) -> Response {
        match self {
            BodyRejection::Invalid(e) => e.into_response(),
            BodyRejection::TooLarge => crate::error::too_large(),
        }
    }
}

impl FromRequest<Shared> for JsonBody {
    type Rejection = BodyRejection;
    async fn from_request(req: Request, state: &Shared) -> Result<Self, BodyRejection> {
        match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => Err(BodyRejection::TooLarge),
            Err(e) => Err(bad_json(&e.body_text()).into()),
        }
    }
}

/// A JSON body deserialised into `T`. When it does not fit, the 422 names
/// every field that is wrong (missing, of the wrong type, unknown to a type
/// that refuses unknown fields), not only the first.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Shared> for ApiJson<T> {
    type Rejection = BodyRejection;
    async fn from_request(req: Request, state: &Shared) -> Result<Self, BodyRejection> {
        let JsonBody(v) = JsonBody::from_request(req, state).await?;
        from_value(v).map(ApiJson).map_err(|e| ApiError(e).into())
    }
}

/// Deserialise `v` into `T`, naming every bad field (see [`ApiJson`]).
pub fn from_value<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, StoreError> {
    use serde_json::Value;
    let mut v = v;
    let mut errors: Vec<FieldError> = Vec::new();
    // Each round names one bad field and takes it out of the body, so the
    // next round finds the next one; a body has a bounded number of keys.
    for _ in 0..64 {
        let attempt: Result<T, _> = serde_path_to_error::deserialize(&v);
        let e = match attempt {
            Ok(t) if errors.is_empty() => return Ok(t),
            Ok(_) => break,
            Err(e) => e,
        };
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        // "missing field `x`" and "unknown field `x`" name the field in the message.
        let named = |prefix: &str| {
            inner.strip_prefix(prefix).and_then(|r| r.split('`').next()).map(str::to_string).filter(|s| !s.is_empty())
        };
        let (field, code, message, key) = if let Some(f) = named("missing field `") {
            (f.clone(), "required", i18n::REQUIRED.to_string(), None)
        } else if let Some(f) = named("unknown field `") {
            (f.clone(), "unknown", i18n::FIELD_UNKNOWN.to_string(), Some(f))
        } else if path == "." || path.is_empty() {
            errors.push(FieldError::new("body", "json", format!("{}：{inner}", i18n::BODY_INVALID)));
            break;
        } else {
            let top = path.split(['.', '[']).next().unwrap_or("").to_string();
            (path.clone(), "type", format!("{}：{inner}", i18n::FIELD_TYPE_INVALID), Some(top))
        };
        if !errors.iter().any(|e| e.field == field) {
            errors.push(FieldError::new(&field, code, message));
        }
        let Value::Object(m) = &mut v else { break };
        match key {
            // A bad or unknown field: take it out and go on.
            Some(k) if m.contains_key(&k) => {
                m.remove(&k);
            }
            Some(_) => break,
            // A missing field: put in a stand-in of a type it accepts, so that
            // the next round can name the next missing one.
            None => {
                let stand_ins = [
                    Value::Null,
                    Value::from(""),
                    Value::from(0),
                    Value::from(false),
                    Value::Array(vec![]),
                    Value::Object(Default::default()),
                ];
                let mut placed = false;
                for candidate in stand_ins {
                    let mut trial = v.clone();
                    if let Value::Object(t) = &mut trial {
                        t.insert(field.clone(), candidate.clone());
                    }
                    let fits = match serde_path_to_error::deserialize::<_, T>(&trial) {
                        Ok(_) => true,
                        Err(e) => {
                            e.path().to_string() != field && !e.inner().to_string().contains(&format!("`{field}`"))
                        }
                    };
                    if fits {
                        v = trial;
                        placed = true;
                        break;
                    }
                }
                if !placed {
                    break;
                }
            }
        }
    }
    Err(StoreError::Invalid(Invalid(errors)))
}

#[cfg(test)]
mod tests {
    use super::from_value;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct In {
        name: String,
        count: i64,
        when: Option<String>,
    }

    #[test]
    fn names_every_bad_field() {
        let e = from_value::<In>(json!({"count": "x", "extra": 1, "when": 5})).unwrap_err();
        let redcell_store::StoreError::Invalid(inv) = e else { panic!("{e:?}") };
        let mut fields: Vec<&str> = inv.0.iter().map(|f| f.field.as_str()).collect();
        fields.sort();
        assert_eq!(fields, vec!["count", "extra", "name", "when"]);
        assert!(from_value::<In>(json!({"name": "a", "count": 2})).is_ok());
        let e = from_value::<In>(json!([1, 2])).unwrap_err();
        assert!(matches!(e, redcell_store::StoreError::Invalid(_)));
    }
}
