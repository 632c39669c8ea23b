//! The whole application in process: requests go through
//! `tower::ServiceExt::oneshot` on `redcell_web::app` (no TCP), on a fresh
//! database per test, with a small tenant built through the JSON API.
//! Glob-import `use redcell_testkit::app::*;` in a test of the web layer to
//! get the [`stories!`] macro (one test per backend for each
//! `async fn name(t: &TestApp)`) and everything below.
//!
//! Every response passes two automatic checks: no body contains a clear ID
//! number or phone registered with [`TestApp::secret`] (the fixture's people
//! are; a page may echo back what the request itself carried, e.g. a form
//! showing what was typed, the API never may), and every `id_number` /
//! `phone` in a JSON body of the API is masked.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use redcell_domain::Role;
use redcell_domain::input::RawOrg;
use redcell_store::Db;
use redcell_web::{AppState, app};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use tower::ServiceExt;

pub use crate::app_stories as stories;
pub use crate::{Multipart, PG_ENV, PNG, TestDb, date, synth_id};

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-pass-2026";
pub const SEC: &str = "sec1";
pub const SEC_PASSWORD: &str = "sec1-pass-2026";

/// The registry resources of the API, by URL segment.
pub const RESOURCES: &[&str] = &["orgs", "grids", "buildings", "households", "residents", "members", "cadres", "units"];

// ---------------------------------------------------------------- responses

/// A response, body read in full.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body as sent (for binary answers such as downloaded files).
    pub bytes: Vec<u8>,
    /// `METHOD path`, for messages.
    pub what: String,
}

impl Resp {
    pub fn code(&self) -> u16 {
        self.status.as_u16()
    }

    /// Assert the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.code(), status, "{} answered {}: {}", self.what, self.status, self.body);
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{}: body is not JSON ({e}): {}", self.what, self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    #[track_caller]
    pub fn location(&self) -> String {
        self.header("location").unwrap_or_else(|| panic!("{}: no Location header ({})", self.what, self.status))
    }

    /// The value a `Set-Cookie` header gives cookie `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// Assert the API error shape and return `error`.
    #[track_caller]
    pub fn error(&self, status: u16) -> Value {
        self.expect(status);
        let v = self.json();
        let e = v.get("error").cloned().unwrap_or_else(|| panic!("{}: no `error` object: {}", self.what, self.body));
        assert!(
            e["code"].is_string() && !e["code"].as_str().unwrap_or("").is_empty(),
            "{}: error.code missing: {}",
            self.what,
            self.body
        );
        assert!(
            e["message"].is_string() && !e["message"].as_str().unwrap_or("").is_empty(),
            "{}: error.message missing: {}",
            self.what,
            self.body
        );
        e
    }

    /// Assert a field error naming `field` (in `error.field` or among `error.fields`).
    #[track_caller]
    pub fn field_error(&self, status: u16, field: &str) -> Value {
        let e = self.error(status);
        let named = e["field"].as_str() == Some(field)
            || e["fields"].as_array().is_some_and(|a| a.iter().any(|f| f["field"].as_str() == Some(field)));
        assert!(named, "{}: expected an error on `{field}`, got {}", self.what, self.body);
        e
    }
}

// ---------------------------------------------------------------- the app

/// The application over a database that exists for one test.
pub struct TestApp {
    pub db: Db,
    router: Router,
    /// Clear ID numbers and phones that must never appear in a response.
    secrets: Mutex<Vec<String>>,
    test_db: TestDb,
}

impl TestApp {
    fn new(test_db: TestDb) -> TestApp {
        let db = test_db.db.clone();
        let state = std::sync::Arc::new(AppState {
            db: db.clone(),
            secure_cookies: false,
            trust_forwarded: false,
            ops: Default::default(),
        });
        TestApp { db, router: app(state), secrets: Mutex::new(Vec::new()), test_db }
    }

    /// The application on a fresh, migrated SQLite database.
    pub async fn sqlite() -> TestApp {
        TestApp::new(TestDb::sqlite().await)
    }

    /// The application on a fresh, migrated PostgreSQL database, or `None`
    /// (printing "skipped") when `REDCELL_TEST_PG` is not set.
    pub async fn postgres(story: &str) -> Option<TestApp> {
        Some(TestApp::new(TestDb::postgres(story).await?))
    }

    /// Close the pool and remove the database.
    pub async fn finish(self) {
        self.test_db.finish().await;
    }

    /// Register values (clear ID numbers, phones) that no response may contain.
    pub fn secret(&self, s: &str) {
        self.secrets.lock().expect("secrets").push(s.to_string());
    }

    pub fn secrets(&self) -> Vec<String> {
        self.secrets.lock().expect("secrets").clone()
    }

    /// Send one request through the whole application.
    pub async fn send(&self, method: Method, uri: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Resp {
        self.send_with(method, uri, headers, body, None).await
    }

    /// Send one request as if it came over a connection from `client`: the
    /// server reads the address from `ConnectInfo`, which the real server sets
    /// (`into_make_service_with_connect_info`) and `oneshot` does not.
    pub async fn send_from(
        &self,
        client: std::net::SocketAddr,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Resp {
        self.send_with(method, uri, headers, body, Some(client)).await
    }

    async fn send_with(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        client: Option<std::net::SocketAddr>,
    ) -> Resp {
        let mut b = Request::builder().method(method.clone()).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let mut req = b.body(Body::from(body.clone())).expect("request");
        if let Some(addr) = client {
            req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
        }
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let (parts, body_stream) = res.into_parts();
        let bytes = body_stream.collect().await.expect("read body").to_bytes();
        let r = Resp {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes: bytes.to_vec(),
            what: format!("{method} {uri}"),
        };
        self.check_no_clear_data(&r, uri, &body);
        r
    }

    fn check_no_clear_data(&self, r: &Resp, uri: &str, req_body: &[u8]) {
        // Revealing clear values is that route's purpose (allowed, audited); the
        // stories check who may call it.
        if uri.split('?').next().is_some_and(reveals_personal_data) {
            return;
        }
        let is_api = uri.starts_with("/api/");
        let sent =
            format!("{}{}", percent_decode(uri), percent_decode(&String::from_utf8_lossy(req_body).replace('+', " ")));
        for s in self.secrets() {
            // A page may echo back what the user typed into a form; the API never may.
            if !is_api && sent.contains(&s) {
                continue;
            }
            assert!(!r.body.contains(&s), "{}: the response shows the clear value {s}: {}", r.what, r.body);
        }
        if is_api
            && r.header("content-type").is_some_and(|c| c.starts_with("application/json"))
            && let Ok(v) = serde_json::from_str::<Value>(&r.body)
        {
            check_masked(&v, &r.what);
        }
    }

    // ---- JSON API

    pub async fn api(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut h: Vec<(&str, &str)> = Vec::new();
        if let Some(a) = &auth {
            h.push(("authorization", a));
        }
        let bytes = match body {
            Some(v) => {
                h.push(("content-type", "application/json"));
                serde_json::to_vec(v).expect("json")
            }
            None => Vec::new(),
        };
        self.send(method, path, &h, bytes).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.api(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.api(Method::POST, path, Some(token), Some(&body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.api(Method::PATCH, path, Some(token), Some(&body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.api(Method::DELETE, path, Some(token), None).await
    }

    /// POST expecting 201; answers the created row.
    pub async fn create(&self, token: &str, resource: &str, body: Value) -> Value {
        let r = self.post(&format!("/api/v1/{resource}"), token, body).await;
        r.expect(201);
        r.json()
    }

    /// Log in through the API; answers the bearer token.
    pub async fn api_login(&self, username: &str, password: &str) -> String {
        let r = self
            .api(Method::POST, "/api/v1/auth/login", None, Some(&json!({"username": username, "password": password})))
            .await;
        r.expect(200);
        r.json()["token"].as_str().expect("token").to_string()
    }

    /// How many rows of each resource the admin sees (the whole tenant).
    pub async fn counts(&self, admin: &str) -> BTreeMap<&'static str, i64> {
        let mut m = BTreeMap::new();
        for r in RESOURCES {
            let resp = self.get(&format!("/api/v1/{r}?per_page=1"), admin).await;
            resp.expect(200);
            m.insert(*r, resp.json()["total"].as_i64().expect("total"));
        }
        m
    }

    // ---- pages

    /// GET a page with the session cookie `rc_session=<session>`.
    pub async fn page(&self, path: &str, session: &str) -> Resp {
        let cookie = format!("rc_session={session}");
        self.send(Method::GET, path, &[("cookie", &cookie)], Vec::new()).await
    }

    /// POST a form (`application/x-www-form-urlencoded`) with the given `Cookie` header.
    pub async fn form(&self, path: &str, cookie: Option<&str>, pairs: &[(&str, &str)]) -> Resp {
        let body = serde_urlencoded::to_string(pairs).expect("urlencode");
        let mut h = vec![("content-type", "application/x-www-form-urlencoded")];
        if let Some(c) = cookie {
            h.push(("cookie", c));
        }
        self.send(Method::POST, path, &h, body.into_bytes()).await
    }

    /// POST a form with the session cookie.
    pub async fn session_form(&self, path: &str, session: &str, pairs: &[(&str, &str)]) -> Resp {
        let cookie = format!("rc_session={session}");
        self.form(path, Some(&cookie), pairs).await
    }

    /// POST a `multipart/form-data` body with the session cookie.
    pub async fn post_multipart(&self, path: &str, session: &str, form: Multipart) -> Resp {
        let (content_type, body) = form.finish();
        let cookie = format!("rc_session={session}");
        self.send(Method::POST, path, &[("content-type", &content_type), ("cookie", &cookie)], body).await
    }

    // ---- imports

    /// Upload a file of `kind` on the import page (as its form does); the
    /// check runs in a job, see [`TestApp::work_imports`].
    pub async fn upload_import(&self, session: &str, csrf: &str, kind: &str, file_name: &str, bytes: &[u8]) -> Resp {
        let form = Multipart::new().text("_csrf", csrf).text("kind", kind).file("file", file_name, "text/csv", bytes);
        self.post_multipart("/import/upload", session, form).await
    }

    /// Work the queued import jobs until none is left, as a server's worker does.
    pub async fn work_imports(&self) {
        while redcell_store::import::jobs::work_one(&self.db, "test", redcell_web::today()).await.expect("work") {}
    }
}

/// Every `id_number` and `phone` string in a JSON document must be masked.
fn check_masked(v: &Value, what: &str) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if let (true, Some(s)) = (k == "id_number", x.as_str()) {
                    assert!(is_masked_id(s), "{what}: id_number {s:?} is not masked");
                }
                if let (true, Some(s)) = (k == "phone", x.as_str()) {
                    assert!(s.contains("****"), "{what}: phone {s:?} is not masked");
                }
                check_masked(x, what);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| check_masked(x, what)),
        _ => {}
    }
}

/// `9901**********1234`: four characters, ten stars, four characters.
/// Routes whose purpose is to show a clear ID number or phone (to those
/// allowed, audited): reveal a resident, the contact of a request, the
/// phones of a member's own household.
pub fn reveals_personal_data(path: &str) -> bool {
    ["/reveal", "/contact", "/phones", "/call"].iter().any(|end| path.ends_with(end))
}

pub fn is_masked_id(s: &str) -> bool {
    let c: Vec<char> = s.chars().collect();
    c.len() == 18
        && c[4..14].iter().all(|x| *x == '*')
        && c[..4].iter().chain(&c[14..]).all(|x| x.is_ascii_alphanumeric())
}

/// `138****5678`.
pub fn masked_mobile(clear: &str) -> String {
    format!("{}****{}", &clear[..3], &clear[7..])
}

pub fn masked_id(clear: &str) -> String {
    redcell_domain::ident::mask_id(clear)
}

/// `k=v&k2=v2`, percent-encoded.
pub fn qs(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("urlencode")
}

fn percent_decode(s: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------- HTML

/// Undo askama's HTML escaping.
pub fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// Does the HTML show `text` escaped (named or numeric entities for `<`, `>`)?
pub fn shows_escaped(html: &str, text: &str) -> bool {
    let named = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let numeric = text.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;");
    html.contains(&named) || html.contains(&numeric)
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let j = tag[i..].find('"')? + i;
    Some(unescape(&tag[i..j]))
}

/// The value of the `_csrf` hidden input of the first form on the page.
#[track_caller]
pub fn csrf_of(html: &str) -> String {
    let tag_start = html.find("name=\"_csrf\"").unwrap_or_else(|| panic!("no _csrf input in: {html}"));
    let tag = &html[html[..tag_start].rfind('<').expect("tag")..];
    let tag = &tag[..tag.find('>').expect("tag end")];
    attr(tag, "value").expect("_csrf value")
}

/// What a browser would submit for the form whose `action` is `action`:
/// inputs with their values (checkboxes only when checked), the selected option
/// of each select, the text of each textarea.
#[track_caller]
pub fn form_values(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html.find(&format!("action=\"{action}\"")).unwrap_or_else(|| panic!("no form for {action} in: {html}"));
    let rest = &html[start..];
    let form = &rest[..rest.find("</form>").expect("</form>")];
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(off) = form[pos..].find('<') {
        let at = pos + off;
        let tail = &form[at..];
        let end = tail.find('>').map(|e| at + e).unwrap_or(form.len());
        let tag = &form[at..end];
        if tag.starts_with("<input") {
            if let Some(name) = attr(tag, "name") {
                let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
                let checked = tag.contains(" checked");
                if kind != "checkbox" || checked {
                    out.push((name, attr(tag, "value").unwrap_or_default()));
                }
            }
        } else if tag.starts_with("<select") {
            let name = attr(tag, "name").unwrap_or_default();
            let close = form[end..].find("</select>").map(|c| end + c).unwrap_or(form.len());
            let body = &form[end..close];
            let opts: Vec<&str> = body.split("<option").skip(1).collect();
            let chosen =
                opts.iter().find(|o| o[..o.find('>').unwrap_or(o.len())].contains(" selected")).or(opts.first());
            let value = chosen.and_then(|o| attr(o, "value")).unwrap_or_default();
            out.push((name, value));
        } else if tag.starts_with("<textarea") {
            let name = attr(tag, "name").unwrap_or_default();
            let close = form[end..].find("</textarea>").map(|c| end + c).unwrap_or(form.len());
            out.push((name, unescape(&form[end + 1..close])));
        }
        pos = end.max(at + 1);
    }
    out
}

/// Replace (or add) a field in submitted form values.
pub fn set_field(values: &mut Vec<(String, String)>, name: &str, value: &str) {
    match values.iter_mut().find(|(k, _)| k == name) {
        Some(kv) => kv.1 = value.to_string(),
        None => values.push((name.to_string(), value.to_string())),
    }
}

pub fn field<'a>(values: &'a [(String, String)], name: &str) -> Option<&'a str> {
    values.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------- the fixture

/// One community with one branch and what hangs under it.
#[derive(Debug, Clone)]
pub struct Branch {
    pub community: i64,
    pub community_name: String,
    pub branch: i64,
    pub branch_code: String,
    pub branch_name: String,
    pub grid: i64,
    pub grid_name: String,
    pub building: i64,
    pub building_name: String,
    pub household: i64,
    pub residents: Vec<i64>,
    pub resident_names: Vec<String>,
    /// Clear ID numbers and phones of `residents` (same order).
    pub id_numbers: Vec<String>,
    pub phones: Vec<String>,
    /// A member: `residents[0]`.
    pub member: i64,
    pub cadre: i64,
    pub cadre_name: String,
    pub cadre_phone: String,
    pub unit: i64,
    pub unit_name: String,
}

impl Branch {
    /// The ids of this branch's rows of `resource`.
    pub fn ids(&self, resource: &str) -> Vec<i64> {
        match resource {
            "orgs" => vec![self.community, self.branch],
            "grids" => vec![self.grid],
            "buildings" => vec![self.building],
            "households" => vec![self.household],
            "residents" => self.residents.clone(),
            "members" => vec![self.member],
            "cadres" => vec![self.cadre],
            "units" => vec![self.unit],
            other => panic!("no fixture rows for resource {other}"),
        }
    }

    /// Every name of a row of this branch.
    pub fn names(&self) -> Vec<String> {
        let mut v = vec![
            self.community_name.clone(),
            self.branch_name.clone(),
            self.grid_name.clone(),
            self.building_name.clone(),
            self.cadre_name.clone(),
            self.unit_name.clone(),
        ];
        v.extend(self.resident_names.iter().cloned());
        v
    }
}

/// The tenant every story starts from:
///
/// ```text
/// S1 测试街道党工委 (street_committee, root; admin holds Role::Admin here)
/// ├── C1 东风社区党委 ── C1-B1 东风网格党支部  ← sec1 is Secretary here only
/// └── C2 西湖社区党委 ── C2-B1 西湖网格党支部
/// ```
/// Each branch owns a grid with a building, a household of two residents, a
/// member (the first resident), a cadre and a unit. Every name in branch 2
/// contains `西湖` and no name in branch 1 does.
pub struct World {
    pub root: i64,
    pub root_name: String,
    /// `b[0]` = branch 1 (东风), `b[1]` = branch 2 (西湖).
    pub b: Vec<Branch>,
    /// Bearer tokens (also valid as `rc_session` cookies: sessions are shared).
    pub admin: String,
    pub sec1: String,
    /// Account ids.
    pub admin_id: i64,
    pub sec1_id: i64,
}

/// The marker every branch-2 name carries.
pub const B2_MARK: &str = "西湖";

/// The `id` of a created row.
#[track_caller]
pub fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// Build the tenant: the root and the admin account directly in the store
/// (as the CLI does), everything else through the API as the admin.
pub async fn world(t: &TestApp) -> World {
    let root_name = "测试街道党工委".to_string();
    let root_in = RawOrg {
        kind: Some("street_committee".into()),
        code: Some("S1".into()),
        name: Some(root_name.clone()),
        ..Default::default()
    }
    .validate()
    .expect("valid root");
    let mut tx = t.db.begin().await.expect("begin");
    let root = redcell_store::registry::orgs::create_root(&mut tx, &root_in).await.expect("create root");
    tx.commit().await.expect("commit root");
    let admin_id = redcell_store::auth::add_user(&t.db, ADMIN, "管理员", ADMIN_PASSWORD, Role::Admin, "S1")
        .await
        .expect("add admin");
    let admin = t.api_login(ADMIN, ADMIN_PASSWORD).await;
    let a = admin.as_str();

    let specs = [
        ("C1", "东风", date(1960, 3, 15), date(1988, 11, 2), "138000111", "13700011009", "0571-87650001"),
        ("C2", "西湖", date(1958, 6, 30), date(1992, 1, 20), "139000222", "13700022009", "0571-87650002"),
    ];
    let mut branches = Vec::new();
    for (n, (code, place, birth0, birth1, phone_prefix, cadre_phone, unit_phone)) in specs.into_iter().enumerate() {
        let community_name = format!("{place}社区党委");
        let community = id_of(
            &t.create(
                a,
                "orgs",
                json!({"parent_id": root, "kind": "community_committee", "code": code, "name": community_name}),
            )
            .await,
        );
        let branch_code = format!("{code}-B1");
        let branch_name = format!("{place}网格党支部");
        let branch = id_of(&t.create(a, "orgs", json!({"parent_id": community, "kind": "branch_grid", "code": branch_code, "name": branch_name, "secretary": format!("{place}书记")})).await);
        let grid_name = format!("{place}一号网格");
        let grid = id_of(&t.create(a, "grids", json!({"org_id": branch, "code": format!("{code}-G1"), "name": grid_name, "description": format!("{place}片区")})).await);
        let building_name = format!("{place}苑3幢");
        let building = id_of(
            &t.create(a, "buildings", json!({"grid_id": grid, "name": building_name, "address": format!("{place}路{}号", n + 1), "units": 2, "floors": 6, "x": 10.5, "y": -3})).await,
        );
        let household = id_of(
            &t.create(
                a,
                "households",
                json!({"building_id": building, "unit_no": 1, "room": "301", "tags": ["hardship"]}),
            )
            .await,
        );

        let mut residents = Vec::new();
        let mut resident_names = Vec::new();
        let mut id_numbers = Vec::new();
        let mut phones = Vec::new();
        for (i, (surname, birth)) in [("王", birth0), ("赵", birth1)].into_iter().enumerate() {
            let name = format!("{surname}{place}");
            let id_number = synth_id(birth, (n * 10 + i + 11) as u32);
            let phone = format!("{phone_prefix}{:02}", i + 1);
            t.secret(&id_number);
            t.secret(&phone);
            let r = t
                .create(
                    a,
                    "residents",
                    json!({"household_id": household, "name": name, "id_number": id_number, "phone": phone}),
                )
                .await;
            assert_eq!(r["id_number"].as_str(), Some(masked_id(&id_number).as_str()));
            assert_eq!(r["phone"].as_str(), Some(masked_mobile(&phone).as_str()));
            residents.push(id_of(&r));
            resident_names.push(name);
            id_numbers.push(id_number);
            phones.push(phone);
        }
        let member = id_of(
            &t.create(a, "members", json!({"resident_id": residents[0], "org_id": branch, "category": "community", "joined_on": "2000-07-01", "central_household": true, "skills": "修水电"}))
                .await,
        );
        t.secret(cadre_phone);
        t.secret(unit_phone);
        let cadre_name = format!("钱{place}");
        let cadre = id_of(&t.create(a, "cadres", json!({"org_id": branch, "kind": "grid_worker", "name": cadre_name, "phone": cadre_phone, "title": "专职网格员"})).await);
        let unit_name = format!("{place}便利店");
        let unit = id_of(
            &t.create(
                a,
                "units",
                json!({"grid_id": grid, "kind": "shop", "name": unit_name, "contact": "店主", "phone": unit_phone}),
            )
            .await,
        );
        branches.push(Branch {
            community,
            community_name,
            branch,
            branch_code,
            branch_name,
            grid,
            grid_name,
            building,
            building_name,
            household,
            residents,
            resident_names,
            id_numbers,
            phones,
            member,
            cadre,
            cadre_name,
            cadre_phone: cadre_phone.to_string(),
            unit,
            unit_name,
        });
    }
    assert!(branches[0].names().iter().all(|n| !n.contains(B2_MARK)));
    assert!(branches[1].names().iter().all(|n| n.contains(B2_MARK)));

    let sec1_id =
        redcell_store::auth::add_user(&t.db, SEC, "东风书记", SEC_PASSWORD, Role::Secretary, &branches[0].branch_code)
            .await
            .expect("add sec1");
    let sec1 = t.api_login(SEC, SEC_PASSWORD).await;
    World { root: root.get(), root_name, b: branches, admin, sec1, admin_id, sec1_id }
}
