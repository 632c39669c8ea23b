//! The OpenAPI document is a contract for client generators: its text is
//! compared with a committed snapshot, and its parameters must agree with
//! the path templates.

use axum::http::Method;
use redcell_testkit::app::*;
use serde_json::{Value, json};
use std::path::PathBuf;

stories!(documented_errors_answer_the_error_shape);

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json")
}

fn document() -> Value {
    serde_json::to_value(redcell_web::openapi()).expect("the document serialises")
}

/// The document as served, pretty-printed, must equal the committed snapshot.
/// After an intended change, rewrite the snapshot with
/// `UPDATE_SNAPSHOTS=1 cargo test -p redcell-web --test openapi` and review the diff.
#[test]
fn document_matches_snapshot() {
    let text = serde_json::to_string_pretty(&document()).expect("pretty json") + "\n";
    let path = snapshot_path();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("snapshot dir");
        std::fs::write(&path, &text).expect("write snapshot");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != text {
        let first = committed.lines().zip(text.lines()).position(|(a, b)| a != b).unwrap_or(0);
        let show = |s: &str| s.lines().skip(first.saturating_sub(3)).take(8).collect::<Vec<_>>().join("\n");
        panic!(
            "the OpenAPI document differs from {} (first difference at line {}).\n--- committed:\n{}\n+++ now:\n{}\n\
             If the change is intended, run `UPDATE_SNAPSHOTS=1 cargo test -p redcell-web --test openapi` \
             and commit the updated snapshot.",
            path.display(),
            first + 1,
            show(&committed),
            show(&text)
        );
    }
}

/// Every `(method, path, operation)` of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut v = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if ["get", "put", "post", "delete", "patch", "head", "options", "trace"].contains(&method.as_str()) {
                v.push((method.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    v
}

/// The `{name}` parameters of a path template.
fn template_params(path: &str) -> Vec<String> {
    path.split('{').skip(1).filter_map(|s| s.split_once('}')).map(|(name, _)| name.to_string()).collect()
}

/// A parameter declared `in: path` is in the path template, and every
/// parameter of the template is declared, required.
#[test]
fn path_parameters_match_the_templates() {
    let doc = document();
    let mut errors = Vec::new();
    for (m, path, op) in operations(&doc) {
        let mut wanted = template_params(&path);
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or_default();
            match p["in"].as_str() {
                Some("path") => {
                    if !wanted.iter().any(|w| w == name) {
                        errors.push(format!("{m} {path}: `{name}` is declared in: path but is not in the template"));
                    }
                    if p["required"] != true {
                        errors.push(format!("{m} {path}: path parameter `{name}` is not required"));
                    }
                    wanted.retain(|w| w != name);
                }
                Some("query") => {
                    if p["schema"]["type"].as_array().is_some_and(|t| t.iter().any(|t| t == "null")) {
                        errors.push(format!("{m} {path}: query parameter `{name}` may be null"));
                    }
                }
                other => errors.push(format!("{m} {path}: `{name}` is in {other:?}")),
            }
        }
        for w in wanted {
            errors.push(format!("{m} {path}: template parameter `{w}` is not declared"));
        }
    }
    assert!(errors.is_empty(), "{} parameter errors:\n{}", errors.len(), errors.join("\n"));
}

/// A response, its `$ref` to the shared responses resolved.
fn resolve<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/responses/")) {
        Some(name) => &doc["components"]["responses"][name],
        None => response,
    }
}

/// Every operation documents every error status with the error shape; a
/// public one (no security requirement) all but 401 and 403.
#[test]
fn every_operation_documents_its_errors() {
    let doc = document();
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object(), "ErrorBody schema");
    let mut errors = Vec::new();
    let mut public = Vec::new();
    for (m, path, op) in operations(&doc) {
        let is_public = op["security"].as_array().is_none_or(Vec::is_empty);
        if is_public {
            public.push(format!("{m} {path}"));
        }
        for status in ["400", "401", "403", "404", "409", "413", "422", "429"] {
            if is_public && (status == "401" || status == "403") {
                continue;
            }
            let r = resolve(&doc, &op["responses"][status]);
            if r["content"]["application/json"]["schema"]["$ref"] != "#/components/schemas/ErrorBody" {
                errors.push(format!("{m} {path}: {status} not documented with ErrorBody"));
            }
        }
        for (status, r) in op["responses"].as_object().into_iter().flatten() {
            if resolve(&doc, r)["description"].as_str().is_none_or(str::is_empty) {
                errors.push(format!("{m} {path}: response {status} has no description"));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(public, ["POST /api/v1/auth/login"], "only login is public");
}

/// Operation ids are unique (a client generator names its methods by them),
/// and no schema is a tuple (`prefixItems`), which generators cannot map.
#[test]
fn operation_ids_unique_and_no_tuples() {
    let doc = document();
    let mut seen = std::collections::BTreeMap::new();
    for (m, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{m} {path}: no operationId")).to_string();
        if let Some(other) = seen.insert(id.clone(), format!("{m} {path}")) {
            panic!("operationId `{id}` of {m} {path} is also that of {other}");
        }
    }
    let text = serde_json::to_string(&doc).expect("json");
    assert!(!text.contains("prefixItems"), "a tuple schema is in the document");
}

/// Request bodies say which fields are required and list the codes of
/// enumerations (e.g. an organisation's kind).
#[test]
fn bodies_declare_required_fields_and_codes() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let org = &schemas["RawOrg"];
    let required: Vec<&str> = org["required"].as_array().expect("required").iter().filter_map(Value::as_str).collect();
    assert_eq!(required, ["kind", "code", "name"], "{org}");
    assert_eq!(org["properties"]["kind"]["$ref"], "#/components/schemas/OrgKind");
    let kinds = schemas["OrgKind"]["enum"].as_array().expect("OrgKind codes");
    assert!(kinds.iter().any(|k| k == "branch_grid"), "{kinds:?}");
    // A PATCH sends only what changes.
    let patch = &doc["paths"]["/api/v1/orgs/{id}"]["patch"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(patch["$ref"], "#/components/schemas/RawOrgPatch");
    assert!(schemas["RawOrgPatch"]["required"].is_null(), "{}", schemas["RawOrgPatch"]);
    // Every body refers to a schema that exists.
    for (m, path, op) in operations(&doc) {
        for c in op["requestBody"]["content"].as_object().into_iter().flatten().map(|(_, c)| c) {
            if let Some(r) = c["schema"]["$ref"].as_str() {
                let name = r.trim_start_matches("#/components/schemas/");
                assert!(schemas[name].is_object(), "{m} {path}: body {r} is not in the components");
            }
        }
    }
}

/// Each error status the document lists is answered, in the error shape,
/// where the server has one to give.
async fn documented_errors_answer_the_error_shape(t: &TestApp) {
    let w = world(t).await;
    let a = w.admin.as_str();
    let b = &w.b[0];
    assert_eq!(t.get("/api/v1/orgs/abc", a).await.error(400)["code"], "bad_request");
    assert_eq!(t.api(Method::GET, "/api/v1/orgs", None, None).await.error(401)["code"], "unauthorized");
    assert_eq!(t.get("/api/v1/audit", &w.sec1).await.error(403)["code"], "forbidden");
    assert_eq!(t.get("/api/v1/units/999999", a).await.error(404)["code"], "not_found");
    // A unit that a demonstration post stands at is still referenced.
    let post = json!({"name": "便民服务示范岗", "member_id": b.member, "unit_id": b.unit});
    t.post("/api/v1/posts", a, post).await.expect(201);
    let unit = format!("/api/v1/units/{}", b.unit);
    assert_eq!(t.delete(&unit, a).await.error(409)["code"], "conflict");
    t.get(&unit, a).await.expect(200);
    // Over the body limit (2 MB).
    let auth = format!("Bearer {a}");
    let big = vec![b' '; 3 * 1024 * 1024];
    let r = t
        .send(Method::POST, "/api/v1/orgs", &[("authorization", &auth), ("content-type", "application/json")], big)
        .await;
    assert_eq!(r.error(413)["code"], "too_large");
    // A bad query parameter is named.
    t.get("/api/v1/orgs?per_page=many", a).await.field_error(422, "per_page");
    t.get("/api/v1/members?org_id=1.5", a).await.field_error(422, "org_id");
    // Failed logins lock the account: 429 with the time to wait.
    let wrong = json!({"username": SEC, "password": "wrong-pass-2026"});
    let mut locked = false;
    for _ in 0..=redcell_store::auth::MAX_FAILED_LOGINS {
        let r = t.api(Method::POST, "/api/v1/auth/login", None, Some(&wrong)).await;
        if r.code() == 429 {
            assert_eq!(r.error(429)["code"], "locked");
            locked = true;
            break;
        }
        r.error(401);
    }
    assert!(locked, "failed logins never locked the account");
}

/// The name each `ToSchema` type takes in the document's components, with the
/// file that declares it. utoipa names a component after its Rust type (or
/// `#[schema(as = …)]`), and two types of one name silently overwrite each
/// other: the document then promises one type's fields for another's
/// responses. This reads the sources so such a clash fails here, not in a
/// client.
fn schema_names() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let crates = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&crates).expect("crates").flatten() {
        let src = entry.path().join("src");
        if src.is_dir() {
            walk(&src, &mut files);
        }
    }
    let mut names = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            // A `code_enum!` is documented under its own name too.
            if t.ends_with("code_enum!(") {
                let ident =
                    lines.iter().skip(i + 1).take(12).map(|n| n.trim()).find_map(|n| {
                        n.strip_suffix(" {").filter(|x| x.chars().all(|c| c.is_alphanumeric() || c == '_'))
                    });
                if let Some(ident) = ident {
                    names.push((ident.to_string(), file.display().to_string()));
                }
                continue;
            }
            if !(t.starts_with("#[") && t.contains("ToSchema")) {
                continue;
            }
            let mut alias = None;
            for next in lines.iter().skip(i + 1).take(12) {
                let n = next.trim_start();
                if let Some(rest) = n.strip_prefix("#[schema(as = ") {
                    let path = rest.split(')').next().unwrap_or_default();
                    alias = path.rsplit("::").next().map(str::to_string);
                }
                let item = ["pub struct ", "pub enum ", "struct ", "enum "].iter().find_map(|k| n.strip_prefix(k));
                if let Some(rest) = item {
                    let ident: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    names.push((alias.unwrap_or(ident), file.display().to_string()));
                    break;
                }
            }
        }
    }
    names
}

#[test]
fn component_names_are_unique() {
    let names = schema_names();
    assert!(names.len() > 100, "the scan found the schema types ({})", names.len());
    let mut seen: std::collections::BTreeMap<&str, &str> = Default::default();
    let mut clashes = Vec::new();
    for (name, file) in &names {
        if let Some(first) = seen.insert(name, file) {
            clashes.push(format!("{name}: {first} and {file}"));
        }
    }
    assert!(
        clashes.is_empty(),
        "two schema types share a component name (give one `#[schema(as = …)]`):\n{}",
        clashes.join("\n")
    );
}
