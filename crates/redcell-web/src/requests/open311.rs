//! Open311 GeoReport v2 at `/open311/v2/`: services (our request
//! categories), service definitions, posting and reading requests, in JSON
//! (paths ending in `.json`) or XML (paths ending in `.xml`, the GeoReport v2
//! element names: `<services><service>`, `<service_definition>`,
//! `<service_requests><request>`, `<errors><error>`).
//!
//! API key: while the tenant has no Open311 key (managed on
//! `/admin/request-categories`), POST is open; once it has one, a POST must
//! carry `api_key`, and a missing or wrong key is a 403 error array.
//!
//! Paging (an extension): `GET requests` takes `page` (1-based, default 1)
//! and `page_size` (1–1000, default 1000); the answer is newest first.
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
use crate::kit::Surface;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::requests::{RawRequest, RequestKind};
use redcell_store::StoreError;
use redcell_store::requests::{self, Category, Request, Source};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The answer's format, from the path's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fmt {
    Json,
    Xml,
}

/// Split `name.json` / `name.xml` into the name and its format.
fn split_fmt(x: &str) -> Option<(&str, Fmt)> {
    x.strip_suffix(".json").map(|n| (n, Fmt::Json)).or_else(|| x.strip_suffix(".xml").map(|n| (n, Fmt::Xml)))
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => o.push(c),
        }
    }
    o
}

/// One JSON value as the XML element `name`: objects become child elements,
/// arrays repeat the singular of their name (`notes` → `note`), null is empty.
fn xml_element(out: &mut String, name: &str, v: &Value) {
    match v {
        Value::Null => out.push_str(&format!("<{name}></{name}>")),
        Value::Object(m) => {
            out.push_str(&format!("<{name}>"));
            for (k, x) in m {
                xml_element(out, k, x);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Array(items) => {
            let item = name.strip_suffix('s').filter(|s| !s.is_empty()).unwrap_or("item");
            out.push_str(&format!("<{name}>"));
            for x in items {
                xml_element(out, item, x);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", xml_escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

/// A document: the root element holding `v` (an array repeats `item`).
fn xml_doc(root: &str, item: &str, v: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    match v {
        Value::Array(items) => {
            out.push_str(&format!("<{root}>"));
            for x in items {
                xml_element(&mut out, item, x);
            }
            out.push_str(&format!("</{root}>"));
        }
        other => xml_element(&mut out, root, other),
    }
    out
}

/// An answer in the asked format; `root`/`item` name the XML elements.
fn answer(fmt: Fmt, status: StatusCode, root: &str, item: &str, v: &Value) -> Response {
    match fmt {
        Fmt::Json => {
            (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], v.to_string()).into_response()
        }
        Fmt::Xml => {
            (status, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml_doc(root, item, v)).into_response()
        }
    }
}

fn error_in(fmt: Fmt, status: StatusCode, description: impl Into<String>) -> Response {
    let body = json!([{ "code": status.as_u16(), "description": description.into() }]);
    answer(fmt, status, "errors", "error", &body)
}

fn error(status: StatusCode, description: impl Into<String>) -> Response {
    error_in(Fmt::Json, status, description)
}

fn store_error(fmt: Fmt, e: StoreError) -> Response {
    match e {
        StoreError::NotFound => error_in(fmt, StatusCode::NOT_FOUND, "not found"),
        StoreError::Invalid(inv) => {
            let msg: Vec<String> = inv.0.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
            error_in(fmt, StatusCode::BAD_REQUEST, msg.join("; "))
        }
        StoreError::RateLimited(_) => {
            error_in(fmt, StatusCode::TOO_MANY_REQUESTS, "too many requests from this address, retry later")
        }
        StoreError::Denied(f) => error_in(fmt, StatusCode::FORBIDDEN, format!("{}: {}", f.field, f.message)),
        StoreError::Forbidden => error_in(fmt, StatusCode::FORBIDDEN, "forbidden"),
        e => {
            tracing::error!("open311: {e}");
            error_in(fmt, StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

fn ok(v: Value) -> Response {
    answer(Fmt::Json, StatusCode::OK, "root", "item", &v)
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
        "group": c.kind.code(),
    })
}

#[derive(Deserialize)]
struct JQuery {
    jurisdiction_id: Option<String>,
}

async fn services(s: Shared, q: JQuery, fmt: Fmt) -> Response {
    let t = match tenant(&s, q.jurisdiction_id.as_deref()).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    match requests::categories(&s.db, t).await {
        Ok(cs) => answer(fmt, StatusCode::OK, "services", "service", &Value::Array(cs.iter().map(service).collect())),
        Err(e) => store_error(fmt, e),
    }
}

async fn service_definition(State(s): State<Shared>, Path(code): Path<String>, Query(q): Query<JQuery>) -> Response {
    let Some((code, fmt)) = split_fmt(&code) else {
        return error(StatusCode::NOT_FOUND, "expected .json or .xml");
    };
    let t = match tenant(&s, q.jurisdiction_id.as_deref()).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    match requests::category_by_code(&s.db, t, code).await {
        Ok(c) => answer(
            fmt,
            StatusCode::OK,
            "service_definition",
            "",
            &json!({
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
            }),
        ),
        Err(StoreError::Invalid(_)) => error_in(fmt, StatusCode::NOT_FOUND, format!("unknown service_code {code}")),
        Err(e) => store_error(fmt, e),
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

/// One request as the anonymous public sees it: the place no finer than its
/// building, and its own text only when the resident wrote and sent it
/// (see [`redcell_domain::requests::RequestSource::text_is_public`]).
async fn request_json(s: &Shared, r: &Request) -> Value {
    let text_public = r.source.0.text_is_public();
    let notes: Vec<Note> = match requests::public_view(&s.db, &r.code).await {
        Ok((_, v)) => v
            .notes
            .into_iter()
            .map(|n| Note {
                datetime: shanghai(n.at_utc),
                action: n.what,
                state: n.state,
                note: n.note.filter(|_| text_public),
            })
            .collect(),
        Err(_) => vec![],
    };
    let place = requests::public_place(&s.db, r).await.unwrap_or(None);
    // About 100 m: a building, not a door.
    let coarse = |x: Option<f64>| x.map(|v| (v * 1000.0).round() / 1000.0);
    let (description, status_notes) = if text_public {
        (r.description.clone(), r.refusal_reason.clone().or_else(|| notes.last().and_then(|n| n.note.clone())))
    } else {
        (format!("{}（{}）", r.category_name, redcell_domain::i18n::REQ_TEXT_NOT_PUBLIC), None)
    };
    json!({
        "service_request_id": r.code,
        "status": r.state().open311_status(),
        "status_notes": status_notes,
        "service_name": r.category_name,
        "service_code": r.category_code,
        "description": description,
        "agency_responsible": r.org_name,
        "service_notice": format!("{} · {}", r.kind_label(), r.class_label()),
        "requested_datetime": shanghai(r.submitted_at),
        "updated_datetime": shanghai(r.updated_at),
        "expected_datetime": if r.paused_on.is_some() { Value::Null } else { Value::String(end_of(r.due_date)) },
        "address": place,
        "address_id": r.building_id,
        "zipcode": Value::Null,
        "lat": coarse(r.lat),
        "long": coarse(r.lon),
        "media_url": Value::Null,
        "state": r.state.code(),
        "state_label": r.state_label(),
        "kind": r.kind.code(),
        "errand_class": r.class.code(),
        "card": r.card.code(),
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
    page: Option<String>,
    page_size: Option<String>,
}

/// A paging parameter: empty is the default, otherwise a number in `1..=max`.
fn paging(field: &str, v: &Option<String>, max: u32) -> Result<u32, String> {
    match v.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        None => Ok(0),
        Some(x) => match x.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!("{field}: expected a number from 1 to {max}")),
        },
    }
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

async fn list(s: Shared, q: ListQuery, fmt: Fmt) -> Response {
    let t = match tenant(&s, q.jurisdiction_id.as_deref()).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (start, end) = match (parse_time("start_date", &q.start_date), parse_time("end_date", &q.end_date)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(m), _) | (_, Err(m)) => return error_in(fmt, StatusCode::BAD_REQUEST, m),
    };
    let status = match q.status.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        None => None,
        Some(x @ ("open" | "closed")) => Some(x.to_string()),
        Some(_) => return error_in(fmt, StatusCode::BAD_REQUEST, "status: open or closed"),
    };
    let (page, page_size) = match (paging("page", &q.page, u32::MAX), paging("page_size", &q.page_size, 1000)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(m), _) | (_, Err(m)) => return error_in(fmt, StatusCode::BAD_REQUEST, m),
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
    let f = requests::PublicFilter { ids, service_codes: codes, start, end, status, page, page_size };
    match requests::public_list(&s.db, t, &f).await {
        Ok(rs) => {
            let mut out = Vec::new();
            for r in &rs {
                out.push(request_json(&s, r).await);
            }
            answer(fmt, StatusCode::OK, "service_requests", "request", &Value::Array(out))
        }
        Err(e) => store_error(fmt, e),
    }
}

async fn one(State(s): State<Shared>, Path(id): Path<String>, parts: axum::http::request::Parts) -> Response {
    let Some((code, fmt)) = split_fmt(&id) else { return error(StatusCode::NOT_FOUND, "expected .json or .xml") };
    let client = crate::auth::client(&parts, s.trust_forwarded);
    match requests::public_lookup(&s.db, code, client.ip.as_deref()).await {
        Ok((r, _)) => {
            answer(fmt, StatusCode::OK, "service_requests", "request", &Value::Array(vec![request_json(&s, &r).await]))
        }
        Err(e) => store_error(fmt, e),
    }
}

async fn post_request(
    s: Shared,
    headers: HeaderMap,
    parts: axum::http::request::Parts,
    body: Bytes,
    fmt: Fmt,
) -> Response {
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
            Err(_) => return error_in(fmt, StatusCode::BAD_REQUEST, "body is not a JSON object"),
        }
    } else {
        FormData::parse(&body).0
    };
    let f = FormData(fields);
    let t = match tenant(&s, f.get("jurisdiction_id")).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    if let Err(e) = requests::keys::check(&s.db, t, f.get("api_key")).await {
        return store_error(fmt, e);
    }
    let Some(code) = f.get("service_code").filter(|c| !c.trim().is_empty()) else {
        return error_in(fmt, StatusCode::BAD_REQUEST, "service_code is required");
    };
    if requests::category_by_code(&s.db, t, code).await.is_err() {
        return error_in(fmt, StatusCode::NOT_FOUND, format!("unknown service_code {code}"));
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
        ..RawRequest::default()
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
        Err(inv) => return store_error(fmt, StoreError::Invalid(inv)),
    };
    let client = crate::auth::client(&parts, s.trust_forwarded);
    if let Some(ip) = &client.ip
        && let Err(e) = requests::rate_limit(&s.db, ip).await
    {
        return store_error(fmt, e);
    }
    match requests::submit(&s.db, t, n, Source::Open311, None, None).await {
        Ok(sub) => {
            let v = json!([{
                "service_request_id": sub.code,
                "service_notice": "已受理登记，请凭编号查询进度",
                "account_id": Value::Null,
                "expected_datetime": end_of(sub.due_date),
            }]);
            answer(fmt, StatusCode::CREATED, "service_requests", "request", &v)
        }
        Err(e) => store_error(fmt, e),
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
        "endpoints": [{ "specification": "http://wiki.open311.org/GeoReport_v2", "url": "/open311/v2", "changeset": "2026-11-22T00:00:00+08:00", "type": "production", "formats": ["application/json", "text/xml"] }],
        "extensions": {
            "paging": "GET requests: page (1-based) and page_size (1-1000, default 1000), newest first",
            "api_key": "POST requests needs api_key once the jurisdiction has issued keys",
            "fields": "state, state_label, kind, errand_class, card, notes (datetime, action, state, note)",
        },
        "kinds": RequestKind::ALL.iter().map(|k| json!({"code": k.code(), "label": k.label()})).collect::<Vec<_>>(),
    })
}

/// Mount Open311: public (no session, no CSRF: a tenant that has issued
/// keys requires one on POST).
pub fn mount(s: &mut Surface) {
    s.public(Method::GET, "/open311/v2/discovery.json", get(|| async { ok(discovery()) }))
        .public(
            Method::GET,
            "/open311/v2/discovery.xml",
            get(|| async { answer(Fmt::Xml, StatusCode::OK, "discovery", "", &discovery()) }),
        )
        .public(Method::GET, "/open311/v2/services.json", get(|State(s), Query(q)| services(s, q, Fmt::Json)))
        .public(Method::GET, "/open311/v2/services.xml", get(|State(s), Query(q)| services(s, q, Fmt::Xml)))
        .public(Method::GET, "/open311/v2/services/{code}", get(service_definition))
        .public(Method::GET, "/open311/v2/requests.json", get(|State(s), Query(q)| list(s, q, Fmt::Json)))
        .public(
            Method::POST,
            "/open311/v2/requests.json",
            post(|State(s), h, p, b| post_request(s, h, p, b, Fmt::Json)),
        )
        .public(Method::GET, "/open311/v2/requests.xml", get(|State(s), Query(q)| list(s, q, Fmt::Xml)))
        .public(Method::POST, "/open311/v2/requests.xml", post(|State(s), h, p, b| post_request(s, h, p, b, Fmt::Xml)))
        .public(Method::GET, "/open311/v2/requests/{id}", get(one))
        .public(Method::GET, "/open311/v2/{*rest}", get(not_found))
        .public(Method::POST, "/open311/v2/{*rest}", post(not_found));
}
