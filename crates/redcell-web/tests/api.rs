//! The JSON API under `/api/v1`, end to end on SQLite and PostgreSQL.

use axum::http::Method;
use redcell_testkit::app::*;
use serde_json::{Value, json};

stories!(
    health_and_openapi,
    security_headers,
    login_and_bearer,
    scope_reads_by_route,
    scope_writes,
    bad_input_is_422_and_writes_nothing,
    patch_changes_only_sent_fields,
    paging,
    api_errors_have_the_error_shape,
);

async fn openapi(t: &TestApp) -> Value {
    let r = t.send(Method::GET, "/api/v1/openapi.json", &[], Vec::new()).await;
    r.expect(200);
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")));
    r.json()
}

/// Every `(method, path)` of the OpenAPI document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut v = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                v.push((method.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    v
}

async fn health_and_openapi(t: &TestApp) {
    let r = t.send(Method::GET, "/healthz", &[], Vec::new()).await;
    r.expect(200);
    assert_eq!(r.body, "ok");

    let doc = openapi(t).await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "not an OpenAPI 3 document");
    let paths = doc["paths"].as_object().expect("paths");
    let has = |path: &str, method: &str| paths.get(path).and_then(|p| p.get(method)).is_some();
    for res in RESOURCES {
        let list = format!("/api/v1/{res}");
        let item = format!("/api/v1/{res}/{{id}}");
        assert!(has(&list, "get") && has(&list, "post"), "{list}: list and create documented");
        for m in ["get", "patch", "delete"] {
            assert!(has(&item, m), "{m} {item} documented");
        }
    }
    assert!(has("/api/v1/search", "get"), "search documented");
    assert!(has("/api/v1/auth/login", "post"), "login documented");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object(), "bearer scheme documented");
    // Every operation but login requires the bearer token.
    for (m, p, op) in operations(&doc) {
        if p != "/api/v1/auth/login" {
            assert!(op["security"].is_array(), "{m} {p} declares its security");
        }
    }
}

async fn security_headers(t: &TestApp) {
    for (m, p) in [
        (Method::GET, "/healthz"),
        (Method::GET, "/api/v1/orgs"),
        (Method::GET, "/api/v1/openapi.json"),
        (Method::GET, "/login"),
        (Method::GET, "/"),
        (Method::GET, "/static/app.css"),
        (Method::GET, "/no/such/page"),
    ] {
        let r = t.send(m.clone(), p, &[], Vec::new()).await;
        let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("{m} {p}: no CSP"));
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{m} {p}: CSP {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{m} {p}: CSP {csp}");
        assert_eq!(r.header("x-frame-options").as_deref(), Some("DENY"), "{m} {p}");
        assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"), "{m} {p}");
        assert!(r.header("referrer-policy").is_some(), "{m} {p}: referrer policy");
    }
}

async fn login_and_bearer(t: &TestApp) {
    let w = world(t).await;
    let login = |u: &'static str, p: &'static str| async move {
        t.api(Method::POST, "/api/v1/auth/login", None, Some(&json!({"username": u, "password": p}))).await
    };

    // Wrong password and unknown user: the same 401, in the error shape.
    let bad = login(ADMIN, "wrong-pass-2026").await;
    let e = bad.error(401);
    assert_eq!(e["code"], "unauthorized");
    let unknown = login("nobody", "wrong-pass-2026").await;
    assert_eq!(unknown.error(401)["message"], e["message"], "no hint whether the user exists");
    // Missing fields and a malformed body are 422, not 500.
    t.api(Method::POST, "/api/v1/auth/login", None, Some(&json!({"username": ADMIN}))).await.error(422);

    // The fixture logged in successfully; the token is a long random string.
    assert!(w.admin.len() >= 32 && w.admin.chars().all(|c| c.is_ascii_hexdigit()));
    let me = t.get("/api/v1/auth/me", &w.sec1).await;
    me.expect(200);
    let me = me.json();
    assert_eq!(me["username"], SEC);
    assert_eq!(me["grants"], json!([{"org_id": w.b[0].branch, "org_name": w.b[0].branch_name, "role": "secretary"}]));

    // No token, a garbage token or another scheme: 401 on every operation.
    let before = t.counts(&w.admin).await;
    let doc = openapi(t).await;
    let bad_auth: [Option<&str>; 5] = [
        None,
        Some("Bearer garbage"),
        Some("Bearer "),
        Some("Basic YWRtaW46YWRtaW4tcGFzcy0yMDI2"),
        Some(w.admin.as_str()),
    ];
    let mut checked = 0;
    for (m, p, op) in operations(&doc) {
        if op["security"].is_null() {
            continue;
        }
        let path = p.replace("{id}", &w.b[0].residents[0].to_string());
        let body = if m == "GET" || m == "DELETE" { None } else { Some(json!({"name": "未授权"})) };
        for auth in &bad_auth {
            let mut h: Vec<(&str, &str)> = vec![("content-type", "application/json")];
            // The admin token sent raw, without the scheme, is not accepted either.
            if let Some(a) = auth {
                h.push(("authorization", a));
            }
            let bytes = body.as_ref().map(|b| serde_json::to_vec(b).expect("json")).unwrap_or_default();
            let r = t.send(m.parse().expect("method"), &path, &h, bytes).await;
            let e = r.error(401);
            assert_eq!(e["code"], "unauthorized", "{m} {path} with {auth:?}");
        }
        checked += 1;
    }
    assert!(checked > RESOURCES.len() * 5, "only {checked} operations checked");
    assert_eq!(t.counts(&w.admin).await, before, "an unauthenticated request wrote something");

    // Logging out ends the session.
    let out = t.api(Method::POST, "/api/v1/auth/logout", Some(&w.sec1), None).await;
    out.expect(204);
    t.get("/api/v1/orgs", &w.sec1).await.error(401);
    t.get("/api/v1/orgs", &w.admin).await.expect(200);
}

/// A sec1 response must show nothing of branch 2: no name, no masked number,
/// and no row id of branch 2 among the items.
#[track_caller]
fn assert_no_branch2(r: &Resp, w: &World, resource: Option<&str>) {
    let b2 = &w.b[1];
    assert!(!r.body.contains(B2_MARK), "{} shows branch 2: {}", r.what, r.body);
    let mut masked: Vec<String> = b2.id_numbers.iter().map(|i| masked_id(i)).collect();
    masked.extend(b2.phones.iter().map(|p| masked_mobile(p)));
    masked.push(masked_mobile(&b2.cadre_phone));
    for m in masked {
        assert!(!r.body.contains(&m), "{} shows {m} of branch 2: {}", r.what, r.body);
    }
    assert!(!r.body.contains(&w.root_name), "{} shows the street above sec1's branch: {}", r.what, r.body);
    if let (Some(res), Ok(v)) = (resource, serde_json::from_str::<Value>(&r.body)) {
        let ids = b2.ids(res);
        for item in v["items"].as_array().into_iter().flatten() {
            let id = item["id"].as_i64().unwrap_or_default();
            assert!(!ids.contains(&id), "{} lists {res} {id} of branch 2: {}", r.what, r.body);
        }
    }
}

fn item_ids(v: &Value) -> Vec<i64> {
    v["items"].as_array().expect("items").iter().map(|i| i["id"].as_i64().expect("id")).collect()
}

/// Walk every GET route of the OpenAPI document as the branch-1 secretary.
async fn scope_reads_by_route(t: &TestApp) {
    let w = world(t).await;
    let (b1, b2) = (&w.b[0], &w.b[1]);
    let doc = openapi(t).await;
    let (mut lists, mut items, mut searched, mut others) = (0, 0, 0, 0);
    for (method, path, op) in operations(&doc) {
        if method != "GET" {
            continue;
        }
        let rest = path.strip_prefix("/api/v1/").unwrap_or_else(|| panic!("{path} outside /api/v1"));
        let segs: Vec<&str> = rest.split('/').collect();
        match segs.as_slice() {
            [res, "{id}"] if RESOURCES.contains(res) => {
                for id in b2.ids(res) {
                    let url = format!("/api/v1/{res}/{id}");
                    let e = t.get(&url, &w.sec1).await.error(404);
                    assert_eq!(e["code"], "not_found");
                    t.get(&url, &w.admin).await.expect(200);
                }
                for id in b1.ids(res).into_iter().filter(|_| *res != "orgs") {
                    let r = t.get(&format!("/api/v1/{res}/{id}"), &w.sec1).await;
                    r.expect(200);
                    assert_no_branch2(&r, &w, None);
                }
                // The community above the branch is out of sec1's scope too.
                if *res == "orgs" {
                    t.get(&format!("/api/v1/orgs/{}", b1.branch), &w.sec1).await.expect(200);
                    t.get(&format!("/api/v1/orgs/{}", b1.community), &w.sec1).await.error(404);
                    t.get(&format!("/api/v1/orgs/{}", w.root), &w.sec1).await.error(404);
                }
                items += 1;
            }
            [res] if RESOURCES.contains(res) => {
                let r = t.get(&format!("{path}?per_page=200"), &w.sec1).await;
                r.expect(200);
                assert_no_branch2(&r, &w, Some(res));
                let mine = item_ids(&r.json());
                let expected: Vec<i64> = if *res == "orgs" { vec![b1.branch] } else { b1.ids(res) };
                for id in &expected {
                    assert!(mine.contains(id), "{path}: sec1 misses own {res} {id}: {}", r.body);
                }
                assert_eq!(r.json()["total"].as_i64(), Some(expected.len() as i64), "{path}: {}", r.body);
                // The admin sees branch 2, so the absence above means something.
                let all = item_ids(&t.get(&format!("{path}?per_page=200"), &w.admin).await.json());
                assert!(b2.ids(res).iter().all(|id| all.contains(id)), "{path}: admin misses branch-2 rows");

                // Every filter of the route pointed at branch 2.
                for p in op["parameters"].as_array().into_iter().flatten() {
                    if p["in"] != "query" {
                        continue;
                    }
                    let name = p["name"].as_str().expect("parameter name");
                    let values: Vec<String> = match name {
                        "parent_id" => vec![b2.community.to_string(), w.root.to_string()],
                        "org_id" => vec![b2.branch.to_string(), b2.community.to_string()],
                        "grid_id" => vec![b2.grid.to_string()],
                        "building_id" => vec![b2.building.to_string()],
                        "household_id" => vec![b2.household.to_string()],
                        "resident_id" => vec![b2.residents[0].to_string()],
                        "q" => vec![
                            B2_MARK.to_string(),
                            b2.resident_names[0].clone(),
                            b2.id_numbers[0].clone(),
                            b2.phones[0].clone(),
                        ],
                        _ => continue,
                    };
                    for v in values {
                        let url = format!("{path}?{}", qs(&[(name, &v)]));
                        let r = t.get(&url, &w.sec1).await;
                        assert!(r.code() == 200 || r.code() == 404, "{url}: {} {}", r.status, r.body);
                        assert_no_branch2(&r, &w, Some(res));
                        if r.code() == 200 {
                            assert!(item_ids(&r.json()).is_empty(), "{url} as sec1: {}", r.body);
                        }
                    }
                }
                lists += 1;
            }
            ["search"] => {
                let mark = B2_MARK.to_string();
                for q in b2.resident_names.iter().chain(&b2.id_numbers).chain(&b2.phones).chain([&mark]) {
                    let url = format!("/api/v1/search?{}", qs(&[("q", q)]));
                    let r = t.get(&url, &w.sec1).await;
                    r.expect(200);
                    assert_no_branch2(&r, &w, Some("residents"));
                    assert_eq!(r.json()["total"], 0, "{url} as sec1: {}", r.body);
                    assert_eq!(r.json()["items"], json!([]), "{url} as sec1");
                    let a = t.get(&url, &w.admin).await;
                    a.expect(200);
                    assert!(a.json()["total"].as_i64().unwrap_or(0) >= 1, "{url} as admin finds nobody: {}", a.body);
                }
                // The secretary finds their own people by name, ID number and phone.
                for q in [&b1.resident_names[0], &b1.id_numbers[0], &b1.phones[0]] {
                    let r = t.get(&format!("/api/v1/search?{}", qs(&[("q", q)])), &w.sec1).await;
                    r.expect(200);
                    assert_eq!(item_ids(&r.json()), vec![b1.residents[0]], "search {q}: {}", r.body);
                }
                searched += 1;
            }
            ["auth", "me"] => {
                let r = t.get(&path, &w.sec1).await;
                r.expect(200);
                assert_no_branch2(&r, &w, None);
            }
            // Any other route (accounts, the audit trail, ...): sec1 is refused, or
            // sees nothing of branch 2 and nothing above the branch.
            _ => {
                let urls: Vec<String> = if path.contains('{') {
                    assert!(
                        path.matches('{').count() == 1 && path.contains("{id}"),
                        "GET {path}: map its path parameters in the scope test"
                    );
                    let mut ids: Vec<i64> = vec![w.admin_id];
                    for res in RESOURCES {
                        ids.extend(b2.ids(res));
                    }
                    ids.sort_unstable();
                    ids.dedup();
                    ids.iter().map(|id| path.replace("{id}", &id.to_string())).collect()
                } else {
                    vec![path.clone()]
                };
                for url in urls {
                    let r = t.get(&url, &w.sec1).await;
                    match r.code() {
                        200 => {}
                        403 | 404 => {
                            r.error(r.code());
                        }
                        _ => panic!("{url} as sec1: {} {}", r.status, r.body),
                    }
                    assert_no_branch2(&r, &w, None);
                }
                others += 1;
            }
        }
    }
    println!("scope test: {others} further GET routes checked generically");
    assert_eq!((lists, items, searched), (RESOURCES.len(), RESOURCES.len(), 1), "routes walked");
}

/// `403` (may read, may not use) or `422` (cannot see it), naming `field`.
#[track_caller]
fn assert_refused(r: &Resp, field: &str) {
    assert!(r.code() == 403 || r.code() == 422, "{}: expected 403/422 on {field}, got {} {}", r.what, r.status, r.body);
    r.field_error(r.code(), field);
}

/// Every fixture row as the admin sees it.
async fn snapshot(t: &TestApp, w: &World) -> Vec<(String, Value)> {
    let mut v = Vec::new();
    for b in &w.b {
        for res in RESOURCES {
            for id in b.ids(res) {
                let url = format!("/api/v1/{res}/{id}");
                let r = t.get(&url, &w.admin).await;
                r.expect(200);
                v.push((url, r.json()));
            }
        }
    }
    v
}

async fn scope_writes(t: &TestApp) {
    let w = world(t).await;
    let (b1, b2) = (&w.b[0], &w.b[1]);
    let before = t.counts(&w.admin).await;
    let rows = snapshot(t, &w).await;

    // PATCH and DELETE of branch-2 rows: not found.
    let patch_of = |res: &str| match res {
        "households" => json!({"room": "越界"}),
        "members" => json!({"work_unit": "越界"}),
        _ => json!({"name": "越界"}),
    };
    for res in RESOURCES {
        for id in b2.ids(res) {
            let url = format!("/api/v1/{res}/{id}");
            assert_eq!(t.patch(&url, &w.sec1, patch_of(res)).await.error(404)["code"], "not_found");
            assert_eq!(t.delete(&url, &w.sec1).await.error(404)["code"], "not_found");
        }
    }

    // Moving own rows under branch 2.
    let moves = [
        ("orgs", b1.branch, json!({"parent_id": b2.community}), "parent_id"),
        ("grids", b1.grid, json!({"org_id": b2.branch}), "org_id"),
        ("buildings", b1.building, json!({"grid_id": b2.grid}), "grid_id"),
        ("households", b1.household, json!({"building_id": b2.building}), "building_id"),
        ("residents", b1.residents[1], json!({"household_id": b2.household}), "household_id"),
        ("residents", b1.residents[1], json!({"household_id": null, "org_id": b2.branch}), "org_id"),
        ("members", b1.member, json!({"org_id": b2.branch}), "org_id"),
        ("members", b1.member, json!({"resident_id": b2.residents[1]}), "resident_id"),
        ("cadres", b1.cadre, json!({"org_id": b2.branch}), "org_id"),
        ("cadres", b1.cadre, json!({"stations": [b2.community]}), "stations"),
        ("cadres", b1.cadre, json!({"member_id": b2.member}), "member_id"),
        ("units", b1.unit, json!({"grid_id": b2.grid}), "grid_id"),
    ];
    for (res, id, body, field) in moves {
        assert_refused(&t.patch(&format!("/api/v1/{res}/{id}"), &w.sec1, body).await, field);
    }

    // Creating under branch-2 parents.
    let fresh_id = synth_id(date(1977, 7, 7), 501);
    let creates = [
        (
            "orgs",
            json!({"parent_id": b2.branch, "kind": "party_group", "code": "X-G1", "name": "越界党小组"}),
            "parent_id",
        ),
        ("grids", json!({"org_id": b2.branch, "code": "X-G2", "name": "越界网格"}), "org_id"),
        ("buildings", json!({"grid_id": b2.grid, "name": "越界楼", "address": "越界路1号"}), "grid_id"),
        ("households", json!({"building_id": b2.building, "unit_no": 1, "room": "999"}), "building_id"),
        ("residents", json!({"household_id": b2.household, "name": "越界人", "id_number": fresh_id}), "household_id"),
        ("residents", json!({"org_id": b2.community, "name": "越界人", "id_number": fresh_id}), "org_id"),
        (
            "members",
            json!({"resident_id": b2.residents[1], "org_id": b1.branch, "category": "community"}),
            "resident_id",
        ),
        ("members", json!({"resident_id": b1.residents[1], "org_id": b2.branch, "category": "community"}), "org_id"),
        ("cadres", json!({"org_id": b2.branch, "kind": "grid_worker", "name": "越界干部"}), "org_id"),
        // The cadre row is written before its stations are checked: all must roll back.
        (
            "cadres",
            json!({"org_id": b1.branch, "kind": "grid_worker", "name": "越界干部", "stations": [b1.branch, b2.community]}),
            "stations",
        ),
        (
            "cadres",
            json!({"org_id": b1.branch, "kind": "grid_worker", "name": "越界干部", "member_id": b2.member}),
            "member_id",
        ),
        ("units", json!({"grid_id": b2.grid, "kind": "shop", "name": "越界店"}), "grid_id"),
        // Opening a new tenant is for system administrators only.
        ("orgs", json!({"kind": "street_committee", "code": "X-S", "name": "越界街道"}), "parent_id"),
    ];
    for (res, body, field) in creates {
        assert_refused(&t.post(&format!("/api/v1/{res}"), &w.sec1, body).await, field);
    }

    // Revealing a branch-2 person's clear numbers (when the API offers revealing).
    let doc = openapi(t).await;
    if doc["paths"]["/api/v1/residents/{id}/reveal"]["post"].is_object() {
        for id in &b2.residents {
            let r = t.post(&format!("/api/v1/residents/{id}/reveal"), &w.sec1, json!({"reason": "越界"})).await;
            assert!(matches!(r.code(), 403 | 404), "{}: {} {}", r.what, r.status, r.body);
            r.error(r.code());
            for clear in b2.id_numbers.iter().chain(&b2.phones) {
                assert!(!r.body.contains(clear.as_str()), "{} reveals {clear}", r.what);
            }
        }
    }

    assert_eq!(t.counts(&w.admin).await, before, "a refused write left rows behind");
    assert_eq!(snapshot(t, &w).await, rows, "a refused write changed a row");
    let sec_search = t.get(&format!("/api/v1/search?{}", qs(&[("q", "越界")])), &w.admin).await;
    assert_eq!(sec_search.json()["total"], 0);

    // The secretary may write inside the branch (the refusals above are about scope).
    let r = t.patch(&format!("/api/v1/units/{}", b1.unit), &w.sec1, json!({"name": "东风便民店"})).await;
    r.expect(200);
    assert_eq!(r.json()["name"], "东风便民店");
    let g = t.create(&w.sec1, "grids", json!({"org_id": b1.branch, "code": "C1-G2", "name": "东风二号网格"})).await;
    t.delete(&format!("/api/v1/grids/{}", g["id"]), &w.sec1).await.expect(204);
}

/// The ID number `id` with a wrong check character.
fn with_bad_check(id: &str) -> String {
    let last = id.chars().last().expect("digit");
    let wrong = if last == '0' { '1' } else { '0' };
    format!("{}{wrong}", &id[..17])
}

async fn bad_input_is_422_and_writes_nothing(t: &TestApp) {
    let w = world(t).await;
    let (b1, b2) = (&w.b[0], &w.b[1]);
    let a = w.admin.as_str();
    let before = t.counts(a).await;
    let rows = snapshot(t, &w).await;
    let hh = b1.household;
    let good = synth_id(date(1990, 5, 17), 77);

    let post_resident = |body: Value| async move { t.post("/api/v1/residents", a, body).await };

    // Wrong check digit.
    let e = post_resident(json!({"household_id": hh, "name": "校验", "id_number": with_bad_check(&good)}))
        .await
        .field_error(422, "id_number");
    assert!(e["message"].as_str().unwrap_or("").contains("校验位"), "{e}");
    // An ID number whose date does not exist (31 February), with a correct check digit.
    let first17 = "99010119990231123";
    let feb31 = format!("{first17}{}", redcell_domain::ident::check_char(first17.as_bytes()));
    post_resident(json!({"household_id": hh, "name": "二月", "id_number": feb31})).await.field_error(422, "id_number");
    // A birth date that disagrees with the ID number, one that does not exist, one in the future.
    let e = post_resident(json!({"household_id": hh, "name": "生日", "id_number": good, "birth_date": "1990-05-18"}))
        .await
        .field_error(422, "birth_date");
    assert_eq!(e["fields"][0]["code"], "mismatch", "{e}");
    post_resident(json!({"household_id": hh, "name": "生日", "id_number": good, "birth_date": "1990-02-30"}))
        .await
        .field_error(422, "birth_date");
    let future = synth_id(date(2099, 1, 1), 1);
    let e = post_resident(json!({"household_id": hh, "name": "未来", "id_number": future}))
        .await
        .field_error(422, "birth_date");
    assert!(e["fields"].as_array().expect("fields").iter().any(|f| f["code"] == "future"), "{e}");
    // Phone.
    post_resident(json!({"household_id": hh, "name": "电话", "id_number": good, "phone": "12345"}))
        .await
        .field_error(422, "phone");
    // Duplicate ID number in the tenant (also across branches, and typed with spaces).
    for dup in [
        b1.id_numbers[0].clone(),
        b2.id_numbers[1].clone(),
        format!("{} {}", &b1.id_numbers[1][..6], &b1.id_numbers[1][6..]),
    ] {
        let e = post_resident(json!({"household_id": hh, "name": "重复", "id_number": dup}))
            .await
            .field_error(422, "id_number");
        assert_eq!(e["fields"][0]["code"], "duplicate", "{e}");
    }
    let e = t
        .patch(
            &format!("/api/v1/residents/{}", b1.residents[1]),
            a,
            json!({"id_number": b1.id_numbers[0], "birth_date": null, "gender": null}),
        )
        .await
        .field_error(422, "id_number");
    assert_eq!(e["fields"][0]["code"], "duplicate", "{e}");
    // Several wrong fields are all named.
    let e =
        post_resident(json!({"household_id": hh, "name": "", "id_number": with_bad_check(&good), "phone": "12345"}))
            .await
            .error(422);
    let named: Vec<&str> = e["fields"].as_array().expect("fields").iter().filter_map(|f| f["field"].as_str()).collect();
    for f in ["name", "id_number", "phone"] {
        assert!(named.contains(&f), "{f} not named in {e}");
    }

    // Organisation parent cycles: to its own child, to itself.
    let c1 = format!("/api/v1/orgs/{}", b1.community);
    t.patch(&c1, a, json!({"parent_id": b1.branch})).await.field_error(422, "parent_id");
    t.patch(&c1, a, json!({"parent_id": b1.community})).await.field_error(422, "parent_id");
    t.patch(&format!("/api/v1/orgs/{}", w.root), a, json!({"parent_id": b2.branch}))
        .await
        .field_error(422, "parent_id");
    // Unknown kinds.
    t.post("/api/v1/orgs", a, json!({"parent_id": w.root, "kind": "secret_society", "code": "X1", "name": "未知"}))
        .await
        .field_error(422, "kind");
    t.patch(&c1, a, json!({"kind": "secret_society"})).await.field_error(422, "kind");
    t.post("/api/v1/units", a, json!({"grid_id": b1.grid, "kind": "casino", "name": "未知"}))
        .await
        .field_error(422, "kind");
    t.post("/api/v1/cadres", a, json!({"org_id": b1.branch, "kind": "emperor", "name": "未知"}))
        .await
        .field_error(422, "kind");
    // A kind that may not hang there (a community under a branch).
    t.post(
        "/api/v1/orgs",
        a,
        json!({"parent_id": b1.branch, "kind": "community_committee", "code": "X2", "name": "倒挂"}),
    )
    .await
    .field_error(422, "kind");

    // Malformed JSON bodies.
    let auth = format!("Bearer {a}");
    let h = [("authorization", auth.as_str()), ("content-type", "application/json")];
    for (m, p) in [
        (Method::POST, "/api/v1/residents".to_string()),
        (Method::PATCH, format!("/api/v1/residents/{}", b1.residents[0])),
        (Method::POST, "/api/v1/orgs".to_string()),
    ] {
        let r = t.send(m, &p, &h, br#"{"name": "half"#.to_vec()).await;
        assert_eq!(r.error(422)["code"], "json", "{}", r.body);
    }
    // PATCH with an unknown field, or with something that is not an object.
    let r0 = format!("/api/v1/residents/{}", b1.residents[0]);
    t.patch(&r0, a, json!({"nickname": "小王"})).await.error(422);
    t.patch(&r0, a, json!({"name": "改名", "nickname": "小王"})).await.error(422);
    t.patch(&r0, a, json!(["name", "改名"])).await.error(422);
    t.patch(&format!("/api/v1/orgs/{}", b1.branch), a, json!({"path": "/1/"})).await.error(422);
    // A malformed query: the parameter is named.
    t.get("/api/v1/residents?per_page=many", a).await.field_error(422, "per_page");

    assert_eq!(t.counts(a).await, before, "a rejected request left rows behind");
    assert_eq!(snapshot(t, &w).await, rows, "a rejected request changed a row");
}

async fn patch_changes_only_sent_fields(t: &TestApp) {
    let w = world(t).await;
    let b1 = &w.b[0];
    let a = w.admin.as_str();
    let url = format!("/api/v1/residents/{}", b1.residents[1]);
    let before = t.get(&url, a).await.json();
    assert_eq!(before["id_number"].as_str(), Some(masked_id(&b1.id_numbers[1]).as_str()));
    assert_eq!(before["phone"].as_str(), Some(masked_mobile(&b1.phones[1]).as_str()));

    let after = t.patch(&url, a, json!({"name": "赵东风改"})).await;
    after.expect(200);
    let after = after.json();
    assert_eq!(after["name"], "赵东风改");
    for k in ["id_number", "phone", "birth_date", "gender", "household_id", "org_id", "note"] {
        assert_eq!(after[k], before[k], "{k} changed by a PATCH of the name");
    }
    // The stored number itself is unchanged: the exact-number search still finds the person.
    let found = t.get(&format!("/api/v1/search?{}", qs(&[("q", &b1.id_numbers[1])])), a).await.json();
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["name"], "赵东风改");
    let found = t.get(&format!("/api/v1/search?{}", qs(&[("q", &b1.phones[1])])), a).await.json();
    assert_eq!(found["items"][0]["id"], before["id"]);

    // A new phone comes back masked; null clears an optional field.
    t.secret("13912345678");
    let r = t.patch(&url, a, json!({"phone": "139 1234 5678", "note": "独居"})).await;
    r.expect(200);
    assert_eq!(r.json()["phone"], "139****5678");
    assert_eq!(r.json()["note"], "独居");
    assert_eq!(r.json()["id_number"], before["id_number"]);
    let r = t.patch(&url, a, json!({"note": null})).await;
    assert_eq!(r.json()["note"], Value::Null);
    assert_eq!(r.json()["phone"], "139****5678");

    // Other resources: only the sent field changes.
    let org = format!("/api/v1/orgs/{}", b1.branch);
    let o0 = t.get(&org, a).await.json();
    let o1 = t.patch(&org, a, json!({"secretary": "新书记"})).await.json();
    assert_eq!(o1["secretary"], "新书记");
    for k in ["name", "code", "kind", "parent_id", "path"] {
        assert_eq!(o1[k], o0[k], "org {k}");
    }
    let m = format!("/api/v1/members/{}", b1.member);
    let m0 = t.get(&m, a).await.json();
    let m1 = t.patch(&m, a, json!({"work_unit": "东风机械厂"})).await.json();
    assert_eq!(m1["work_unit"], "东风机械厂");
    for k in ["resident_id", "org_id", "category", "status", "joined_on", "skills", "central_household", "id_number"] {
        assert_eq!(m1[k], m0[k], "member {k}");
    }
    let c = format!("/api/v1/cadres/{}", b1.cadre);
    let c0 = t.get(&c, a).await.json();
    let c1 = t.patch(&c, a, json!({"title": "网格长"})).await.json();
    assert_eq!(c1["title"], "网格长");
    assert_eq!(c1["phone"], c0["phone"]);
    assert_eq!(c1["phone"].as_str(), Some(masked_mobile(&b1.cadre_phone).as_str()));

    // Every person in every list is masked (also checked on every response by the harness).
    for res in ["residents", "members"] {
        let list = t.get(&format!("/api/v1/{res}?per_page=200"), a).await.json();
        for item in list["items"].as_array().expect("items") {
            assert!(is_masked_id(item["id_number"].as_str().expect("id_number")), "{item}");
        }
    }
}

async fn paging(t: &TestApp) {
    let w = world(t).await;
    let a = w.admin.as_str();
    let p1 = t.get("/api/v1/residents?per_page=1", a).await;
    p1.expect(200);
    let p1 = p1.json();
    assert_eq!(p1["total"], 4);
    assert_eq!(p1["per_page"], 1);
    assert_eq!(p1["page"], 1);
    assert_eq!(p1["items"].as_array().map(Vec::len), Some(1));
    let p2 = t.get("/api/v1/residents?per_page=1&page=2", a).await.json();
    assert_eq!(p2["total"], 4);
    assert_eq!(p2["items"].as_array().map(Vec::len), Some(1));
    assert_ne!(p2["items"][0]["id"], p1["items"][0]["id"]);
    let all: Vec<i64> = {
        let mut v = Vec::new();
        for page in 1..=4 {
            v.extend(item_ids(&t.get(&format!("/api/v1/residents?per_page=1&page={page}"), a).await.json()));
        }
        v.sort_unstable();
        v
    };
    let mut expected: Vec<i64> = w.b.iter().flat_map(|b| b.residents.clone()).collect();
    expected.sort_unstable();
    assert_eq!(all, expected, "pages cover every row exactly once");
    let past = t.get("/api/v1/residents?per_page=1&page=9", a).await.json();
    assert_eq!(past["items"], json!([]));
    assert_eq!(past["total"], 4);
    let orgs = t.get("/api/v1/orgs?per_page=1", a).await.json();
    assert_eq!(orgs["total"], 5);
    assert_eq!(orgs["items"].as_array().map(Vec::len), Some(1));
    // Oversized pages are clamped.
    assert_eq!(t.get("/api/v1/orgs?per_page=100000", a).await.json()["per_page"], 200);
    // Filters and paging together: the secretary's residents, one a page.
    let s = t.get("/api/v1/residents?per_page=1", &w.sec1).await.json();
    assert_eq!(s["total"], 2);
    assert_eq!(s["items"].as_array().map(Vec::len), Some(1));
}

async fn api_errors_have_the_error_shape(t: &TestApp) {
    let w = world(t).await;
    let a = w.admin.as_str();
    // Ids that cannot name a row: refused in the error shape (not a plain-text 400).
    for res in RESOURCES {
        for id in ["abc", "99999999999999999999", "1.5", "-"] {
            let url = format!("/api/v1/{res}/{id}");
            let answers = [t.get(&url, a).await, t.patch(&url, a, json!({"name": "x"})).await, t.delete(&url, a).await];
            for r in answers {
                assert!(matches!(r.code(), 400 | 404), "{}: {} {}", r.what, r.status, r.body);
                r.error(r.code());
            }
        }
        t.get(&format!("/api/v1/{res}/999999"), a).await.error(404);
    }
    // Unknown API routes and methods too.
    let r = t.api(Method::PUT, "/api/v1/orgs", Some(a), Some(&json!({}))).await;
    assert_eq!(r.error(405)["code"], "method_not_allowed");
    assert!(r.header("allow").is_some(), "405 keeps its Allow header");
    for p in ["/api/v1/nope", "/api/v1/orgs/1/children", "/api/v2/orgs"] {
        assert_eq!(t.get(p, a).await.error(404)["code"], "not_found", "{p}");
    }
    // Another content type is refused in the shape as well.
    let auth = format!("Bearer {a}");
    let r = t
        .send(
            Method::POST,
            "/api/v1/residents",
            &[("authorization", &auth), ("content-type", "text/plain")],
            b"{}".to_vec(),
        )
        .await;
    assert!(matches!(r.code(), 415 | 422), "{} {}", r.status, r.body);
    r.error(r.code());
}
