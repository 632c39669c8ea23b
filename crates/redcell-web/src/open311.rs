//! Open311 GeoReport v2 at `/open311/v2/` (JSON): services (our request
//! categories), service definitions, posting and reading requests.
//!
//! `jurisdiction_id` names the tenant (its root organisation's id); without it
//! the first tenant with categories answers. Errors keep the GeoReport shape
//! `[{"code": N, "description": "..."}]` with the HTTP status in `code`.
//!
//! Extensions (extra fields, ignored by plain clients): `state` (our richer
//! state code), `state_label`, `kind`, `errand_class`, `card` (warning /
//! yellow / red), `notes` (the public history: `datetime`, `action`, `state`,
//! `note`). `expected_datetime` is the deadline (the end of the due date,
//! Asia/Shanghai, as an RFC 3339 instant).

use crate::Shared;
use crate::form::FormData;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::requests::{RawRequest, RequestKind};
use redcell_store::StoreError;
use redcell_store::requests::{self, Category, Request, Source};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn error(status: StatusCode, description: impl Into<String>) -> Response {
    let body = json!([{ "code": status.as_u16(), "description": description.into() }]);
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response()
}

fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::NotFound => error(StatusCode::NOT_FOUND, "not found"),
        StoreError::Invalid(inv) => {
            let msg: Vec<String> = inv.0.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
            error(StatusCode::BAD_REQUEST, msg.join("; "))
        }
        StoreError::RateLimited(_) => error(StatusCode::TOO_MANY_REQUESTS, "too many submissions, retry later"),
        StoreError::Forbidden | StoreError::Denied(_) => error(StatusCode::FORBIDDEN, "forbidden"),
        e => {
            tracing::error!("open311: {e}");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], v.to_string()).into_response()
}

async fn tenant(s: &Shared, j: Option<&str>) -> Result<i64, Response> {
    match j.map(str::trim).filter(|j| !j.is_empty()) {
        Some(j) => j.parse::<i64>().map_err(|_| error(StatusCode::NOT_FOUND, "unknown jurisdiction_id")),
        None => requests::default_tenant(&s.db).await.map_err(|_| error(StatusCode::NOT_FOUND, "no jurisdiction")),
    }
}

fn service(c: &Category) -> Value {
    json!({
        "service_code": c.code,
        "service_name": c.name,
        "description": format!("{} · {}，{} 个工作日", c.kind_label(), c.class_label(), c.working_days),
        "metadata": false,
        "type": "realtime",
        "keywords": c.kind_label(),
        "group": c.kind,
    })
}

#[derive(Deserialize)]
struct JQuery {
    jurisdiction_id: Option<String>,
}

/// Strip a `.json` suffix; anything else (e.g. `.xml`) is not supported.
fn json_name(x: &str) -> Option<&str> {
    x.strip_suffix(".json")
}

async fn services(State(s): State<Shared>, Query(q): Query<JQuery>) -> Response {
    let t = match tenant(&s, q.jurisdiction_id.as_deref()).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    match requests::categories(&s.db, t).await {
        Ok(cs) => ok(Value::Array(cs.iter().map(service).collect())),
        Err(e) => store_error(e),
    }
}

async fn service_definition(State(s): State<Shared>, Path(code): Path<String>, Query(q): Query<JQuery>) -> Response {
    let Some(code) = json_name(&code) else { return error(StatusCode::NOT_FOUND, "only JSON is supported") };
    let t = match tenant(&s, q.jurisdiction_id.as_deref()).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    match requests::category_by_code(&s.db, t, code).await {
        Ok(c) => ok(json!({
            "service_code": c.code,
            "attributes": [{
                "variable": true,
                "code": "promised_date",
                "datatype": "string",
                "required": false,
                "datatype_description": "承诺办结日期 YYYY-MM-DD（承诺件）",
                "order": 1,
                "description": "承诺办结日期",
            }],
        })),
        Err(StoreError::Invalid(_)) => error(StatusCode::NOT_FOUND, format!("unknown service_code {code}")),
        Err(e) => store_error(e),
    }
}

#[derive(Serialize)]
struct Note {
    datetime: String,
    action: String,
    state: String,
    note: Option<String>,
}

/// The end of a Shanghai business date as an instant.
fn end_of(d: NaiveDate) -> String {
    let t = d.and_hms_opt(23, 59, 59).map(|t| t.and_utc() - chrono::Duration::hours(8));
    t.map(|t| t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("offset")).to_rfc3339())
        .unwrap_or_default()
}

fn shanghai(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("offset")).to_rfc3339()
}

async fn request_json(s: &Shared, r: &Request) -> Value {
    let notes: Vec<Note> = match requests::public_view(&s.db, &r.code).await {
        Ok((_, v)) => v
            .notes
            .into_iter()
            .map(|n| Note { datetime: shanghai(n.at_utc), action: n.what, state: n.state, note: n.note })
            .collect(),
        Err(_) => vec![],
    };
    json!({
        "service_request_id": r.code,
        "status": r.state().open311_status(),
        "status_notes": r.refusal_reason.clone().or_else(|| notes.last().and_then(|n| n.note.clone())),
        "service_name": r.category_name,
        "service_code": r.category_code,
        "description": r.description,
        "agency_responsible": r.org_name,
        "service_notice": format!("{} · {}", r.kind_label(), r.class_label()),
        "requested_datetime": shanghai(r.submitted_at),
        "updated_datetime": shanghai(r.updated_at),
        "expected_datetime": if r.paused_on.is_some() { Value::Null } else { Value::String(end_of(r.due_date)) },
        "address": r.address,
        "address_id": r.building_id,
        "zipcode": Value::Null,
        "lat": r.lat,
        "long": r.lon,
        "media_url": Value::Null,
        "state": r.state,
        "state_label": r.state_label(),
        "kind": r.kind,
        "errand_class": r.class,
        "card": r.card,
        "notes": notes,
    })
}

#[derive(Deserialize, Default)]
struct ListQuery {
    jurisdiction_id: Option<String>,
    service_request_id: Option<String>,
    service_code: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    status: Option<String>,
}

fn parse_time(field: &str, v: &Option<String>) -> Result<Option<DateTime<Utc>>, String> {
    match v.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        None => Ok(None),
        Some(x) => DateTime::parse_from_rfc3339(x)
            .map(|t| Some(t.with_timezone(&Utc)))
            .or_else(|_| {
                NaiveDate::parse_from_str(x, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc() - chrono::Duration::hours(8)))
            })
            .map_err(|_| format!("{field}: expected a w3c datetime")),
    }
}

async fn list(State(s): State<Shared>, Query(q): Query<ListQuery>) -> Response {
    let t = match tenant(&s, q.jurisdiction_id.as_deref()).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (start, end) = match (parse_time("start_date", &q.start_date), parse_time("end_date", &q.end_date)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(m), _) | (_, Err(m)) => return error(StatusCode::BAD_REQUEST, m),
    };
    let status = match q.status.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        None => None,
        Some(x @ ("open" | "closed")) => Some(x.to_string()),
        Some(_) => return error(StatusCode::BAD_REQUEST, "status: open or closed"),
    };
    let ids: Vec<String> = q
        .service_request_id
        .as_deref()
        .map(|x| x.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect())
        .unwrap_or_default();
    let codes: Vec<String> = q
        .service_code
        .as_deref()
        .map(|x| x.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect())
        .unwrap_or_default();
    let f = requests::PublicFilter { ids, service_codes: codes, start, end, status };
    match requests::public_list(&s.db, t, &f).await {
        Ok(rs) => {
            let mut out = Vec::new();
            for r in &rs {
                out.push(request_json(&s, r).await);
            }
            ok(Value::Array(out))
        }
        Err(e) => store_error(e),
    }
}

async fn one(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let Some(code) = json_name(&id) else { return error(StatusCode::NOT_FOUND, "only JSON is supported") };
    match requests::public_view(&s.db, code).await {
        Ok((r, _)) => ok(Value::Array(vec![request_json(&s, &r).await])),
        Err(e) => store_error(e),
    }
}

async fn post(State(s): State<Shared>, headers: HeaderMap, parts: axum::http::request::Parts, body: Bytes) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let fields: Vec<(String, String)> = if is_json {
        match serde_json::from_slice::<serde_json::Map<String, Value>>(&body) {
            Ok(m) => m
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        },
                    )
                })
                .collect(),
            Err(_) => return error(StatusCode::BAD_REQUEST, "body is not a JSON object"),
        }
    } else {
        FormData::parse(&body).0
    };
    let f = FormData(fields);
    let t = match tenant(&s, f.get("jurisdiction_id")).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some(code) = f.get("service_code").filter(|c| !c.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "service_code is required");
    };
    if requests::category_by_code(&s.db, t, code).await.is_err() {
        return error(StatusCode::NOT_FOUND, format!("unknown service_code {code}"));
    }
    let name = [f.get("first_name"), f.get("last_name")].into_iter().flatten().collect::<Vec<_>>().join("");
    let raw = RawRequest {
        kind: None,
        category: Some(code.to_string()),
        class: None,
        description: f.get("description").map(str::to_string),
        grid_id: None,
        building_id: f.get("address_id").map(str::to_string),
        address: f.get("address_string").map(str::to_string),
        lat: f.get("lat").map(str::to_string),
        lon: f.get("long").map(str::to_string),
        contact_name: (!name.is_empty()).then_some(name),
        contact_phone: f.get("phone").map(str::to_string),
        promised_date: f.get("attribute[promised_date]").map(str::to_string),
    };
    let mut raw = raw;
    // GeoReport accepts a point alone as the location.
    if raw.address.as_deref().is_none_or(|a| a.trim().is_empty())
        && raw.building_id.is_none()
        && raw.lat.is_some()
        && raw.lon.is_some()
    {
        raw.address = Some(format!("{}, {}", raw.lat.as_deref().unwrap_or(""), raw.lon.as_deref().unwrap_or("")));
    }
    let n = match raw.validate() {
        Ok(n) => n,
        Err(inv) => return store_error(StoreError::Invalid(inv)),
    };
    let client = crate::auth::client(&parts, s.trust_forwarded);
    if let Some(ip) = &client.ip
        && let Err(e) = requests::rate_limit(&s.db, ip).await
    {
        return store_error(e);
    }
    match requests::submit(&s.db, t, n, Source::Open311, None, None).await {
        Ok(sub) => {
            let v = json!([{
                "service_request_id": sub.code,
                "service_notice": "已受理登记，请凭编号查询进度",
                "account_id": Value::Null,
                "expected_datetime": end_of(sub.due_date),
            }]);
            (StatusCode::CREATED, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], v.to_string())
                .into_response()
        }
        Err(e) => store_error(e),
    }
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such Open311 resource")
}

/// Kinds listed in the discovery answer.
fn discovery() -> Value {
    json!({
        "changeset": "2026-11-22T00:00:00+08:00",
        "contact": "redcell",
        "key_service": "",
        "endpoints": [{ "specification": "http://wiki.open311.org/GeoReport_v2", "url": "/open311/v2", "changeset": "2026-11-22T00:00:00+08:00", "type": "production", "formats": ["application/json"] }],
        "kinds": RequestKind::ALL.iter().map(|k| json!({"code": k.code(), "label": k.label()})).collect::<Vec<_>>(),
    })
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/open311/v2/discovery.json", get(|| async { ok(discovery()) }))
        .route("/open311/v2/services.json", get(services))
        .route("/open311/v2/services/{code}", get(service_definition))
        .route("/open311/v2/requests.json", get(list).post(post))
        .route("/open311/v2/requests/{id}", get(one))
        .route("/open311/v2/{*rest}", get(not_found).post(not_found))
}
