//! Resident requests through Open311 and the pages, on SQLite and (with
//! `REDCELL_TEST_PG`) PostgreSQL: `cargo test -p redcell-web --test requests`.

use axum::http::Method;
use redcell_testkit::app::*;
use serde_json::{Value, json};

stories!(
    open311_client_posts_and_reads,
    resident_and_back_office_pages,
    api_requests_resource,
    members_claim_open_requests,
    open311_paging_key_and_xml,
    staff_registers_on_a_residents_behalf,
    public_form_picks_a_building_and_wish_photo,
    handlers_and_duplicates_stay_in_scope,
    unknown_filters_and_gates_refuse
);

async fn categories(t: &TestApp, tenant: i64) {
    let mut tx = t.db.begin().await.unwrap();
    redcell_store::requests::seed::default_categories(&mut tx, tenant).await.unwrap();
    tx.commit().await.unwrap();
}

fn form_body(pairs: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(pairs).unwrap().into_bytes()
}

async fn open311(t: &TestApp, method: Method, path: &str, pairs: &[(&str, &str)]) -> Resp {
    let h = [("content-type", "application/x-www-form-urlencoded")];
    t.send(method, path, &h, form_body(pairs)).await
}

fn error_array(r: &Resp, status: u16) -> String {
    r.expect(status);
    let v = r.json();
    assert_eq!(v[0]["code"].as_u64(), Some(u64::from(status)), "{v}");
    v[0]["description"].as_str().unwrap_or_default().to_string()
}

async fn open311_client_posts_and_reads(t: &TestApp) {
    let w = world(t).await;
    categories(t, w.root).await;
    t.secret("13912345678");
    let j = w.root.to_string();

    let s = t.send(Method::GET, &format!("/open311/v2/services.json?jurisdiction_id={j}"), &[], vec![]).await;
    s.expect(200);
    let services = s.json();
    assert!(services.as_array().unwrap().iter().any(|x| x["service_code"] == "facility" && x["type"] == "realtime"));
    t.send(Method::GET, "/open311/v2/services/facility.json", &[], vec![]).await.expect(200);
    let e = t.send(Method::GET, "/open311/v2/services/nope.json", &[], vec![]).await;
    assert!(error_array(&e, 404).contains("nope"));

    // A client posts a form-encoded request with a point and a phone.
    let pairs = [
        ("jurisdiction_id", j.as_str()),
        ("service_code", "facility"),
        ("description", "路灯不亮，晚上很黑"),
        ("lat", "30.2741"),
        ("long", "120.1551"),
        ("address_string", "三号楼北侧"),
        ("first_name", "王"),
        ("phone", "13912345678"),
    ];
    let p = open311(t, Method::POST, "/open311/v2/requests.json", &pairs).await;
    p.expect(201);
    let created = p.json();
    let id = created[0]["service_request_id"].as_str().unwrap().to_string();
    assert!(created[0]["expected_datetime"].as_str().unwrap().ends_with("+08:00"));

    // Bad input: unknown service, no description, no location, bad status filter.
    let bad =
        open311(t, Method::POST, "/open311/v2/requests.json", &[("service_code", "nope"), ("description", "x")]).await;
    assert!(error_array(&bad, 404).contains("service_code"));
    let bad = open311(
        t,
        Method::POST,
        "/open311/v2/requests.json",
        &[("service_code", "facility"), ("lat", "30.1"), ("long", "120.1")],
    )
    .await;
    assert!(error_array(&bad, 400).contains("description"));
    let bad =
        open311(t, Method::POST, "/open311/v2/requests.json", &[("service_code", "facility"), ("description", "x")])
            .await;
    assert!(error_array(&bad, 400).contains("address"));
    let bad = open311(t, Method::POST, "/open311/v2/requests.json", &[("description", "x")]).await;
    error_array(&bad, 400);
    let long = "长".repeat(1001);
    let bad = open311(
        t,
        Method::POST,
        "/open311/v2/requests.json",
        &[("service_code", "facility"), ("description", &long), ("address_string", "x")],
    )
    .await;
    error_array(&bad, 400);

    // JSON bodies work too.
    let body = serde_json::json!({"service_code": "fire", "description": "楼道堆放电动车", "address_string": "五号楼"});
    let pj = t
        .send(
            Method::POST,
            "/open311/v2/requests.json",
            &[("content-type", "application/json")],
            body.to_string().into_bytes(),
        )
        .await;
    pj.expect(201);
    let fire_id = pj.json()[0]["service_request_id"].as_str().unwrap().to_string();

    // Read back one request with the extensions.
    let one = t.send(Method::GET, &format!("/open311/v2/requests/{id}.json"), &[], vec![]).await;
    one.expect(200);
    let r = &one.json()[0];
    assert_eq!(r["service_request_id"], Value::String(id.clone()));
    assert_eq!(r["status"], "open");
    assert_eq!(r["state"], "submitted");
    assert_eq!(r["service_code"], "facility");
    assert!(r["expected_datetime"].as_str().is_some());
    // Location no finer than a building: coordinates to about 100 m, no free address (it may name a room).
    assert_eq!(r["lat"].as_f64(), Some(30.274));
    assert!(r["address"].is_null() && !one.body.contains("三号楼北侧"), "{r}");
    // The resident's own words are theirs to publish.
    assert_eq!(r["description"], "路灯不亮，晚上很黑");
    assert!(r["notes"].as_array().is_some_and(|n| !n.is_empty()));
    assert!(r["notes"][0]["datetime"].as_str().is_some_and(|d| d.ends_with("+08:00")), "{r}");
    assert!(!one.body.contains("13912345678"));

    // The list with filters.
    let l = t
        .send(
            Method::GET,
            &format!("/open311/v2/requests.json?jurisdiction_id={j}&service_code=facility&status=open"),
            &[],
            vec![],
        )
        .await;
    l.expect(200);
    let ids: Vec<String> =
        l.json().as_array().unwrap().iter().map(|x| x["service_request_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, vec![id.clone()]);
    let l =
        t.send(Method::GET, &format!("/open311/v2/requests.json?service_request_id={id},{fire_id}"), &[], vec![]).await;
    assert_eq!(l.json().as_array().unwrap().len(), 2);
    let l = t.send(Method::GET, "/open311/v2/requests.json?status=closed", &[], vec![]).await;
    assert_eq!(l.json().as_array().unwrap().len(), 0);
    let l = t
        .send(
            Method::GET,
            "/open311/v2/requests.json?start_date=2000-01-01T00:00:00Z&end_date=2001-01-01T00:00:00Z",
            &[],
            vec![],
        )
        .await;
    assert_eq!(l.json().as_array().unwrap().len(), 0);
    error_array(&t.send(Method::GET, "/open311/v2/requests.json?status=maybe", &[], vec![]).await, 400);
    error_array(&t.send(Method::GET, "/open311/v2/requests.json?start_date=yesterday", &[], vec![]).await, 400);
    error_array(&t.send(Method::GET, "/open311/v2/requests/NOPE1234.json", &[], vec![]).await, 404);
    error_array(&t.send(Method::GET, "/open311/v2/nothing", &[], vec![]).await, 404);
}

/// A `multipart/form-data` body (content type, bytes): text fields, then a file under `photo`.
fn multipart(pairs: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let mut form = pairs.iter().fold(Multipart::new(), |form, (k, v)| form.text(k, v));
    if let Some((name, bytes)) = file {
        form = form.file("photo", name, "application/octet-stream", bytes);
    }
    form.finish()
}

fn cookie_pair(r: &Resp, name: &str) -> String {
    let c = r.set_cookie(name).unwrap_or_else(|| panic!("no {name} cookie"));
    format!("{name}={c}")
}

async fn resident_and_back_office_pages(t: &TestApp) {
    let w = world(t).await;
    categories(t, w.root).await;
    t.secret("13987654321");
    // The resident's page needs no account.
    let form = t.send(Method::GET, "/r/new", &[], vec![]).await;
    form.expect(200);
    assert!(form.body.contains("反映诉求") && !form.body.contains("style="));
    let csrf = csrf_of(&form.body);
    let cookie = cookie_pair(&form, "rc_pub_csrf");
    let grid = w.b[0].grid.to_string();
    let tenant = w.root.to_string();
    let base = [
        ("_csrf", csrf.as_str()),
        ("t", tenant.as_str()),
        ("category", "benefit"),
        ("description", "申请高龄津贴"),
        ("grid_id", grid.as_str()),
        ("contact_phone", "13987654321"),
    ];
    // A PDF is not a photo: refused, nothing written.
    let (ct, body) = multipart(&base, Some(("x.pdf", b"%PDF-1.4 fake")));
    let bad = t.send(Method::POST, "/r/submit", &[("content-type", &ct), ("cookie", &cookie)], body).await;
    bad.expect(422);
    assert!(bad.body.contains("照片只接受"));
    // Missing description and location.
    let (ct, body) = multipart(&[("_csrf", csrf.as_str()), ("t", tenant.as_str()), ("category", "benefit")], None);
    let bad = t.send(Method::POST, "/r/submit", &[("content-type", &ct), ("cookie", &cookie)], body).await;
    bad.expect(422);
    assert!(bad.body.contains("请描述您的诉求") && bad.body.contains("请选择所在网格"));
    // Without the cookie: refused.
    let (ct, body) = multipart(&base, None);
    t.send(Method::POST, "/r/submit", &[("content-type", &ct)], body).await.expect(403);
    let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];
    let (ct, body) = multipart(&base, Some(("a.png", &png)));
    let ok = t.send(Method::POST, "/r/submit", &[("content-type", &ct), ("cookie", &cookie)], body).await;
    ok.expect(303);
    let loc = ok.location();
    assert!(loc.starts_with("/r/") && loc.ends_with("?new=1"), "{loc}");
    let code = loc.trim_start_matches("/r/").trim_end_matches("?new=1").to_string();
    let follow = t.send(Method::GET, &loc, &[], vec![]).await;
    follow.expect(200);
    assert!(follow.body.contains(&code) && follow.body.contains("已提交"));

    // The back office: queue, detail, actions allowed by the state machine only.
    let q = t.page("/requests", &w.sec1).await;
    q.expect(200);
    assert!(q.body.contains(&code));
    let (id,): (i64,) =
        t.db.one("SELECT id FROM requests WHERE code = $1", redcell_store::args![code.as_str()]).await.unwrap();
    let d = t.page(&format!("/requests/{id}"), &w.sec1).await;
    d.expect(200);
    assert!(d.body.contains("139****4321"));
    assert!(d.body.contains("act-accept") && !d.body.contains("act-resolve"));
    let csrf = csrf_of(&d.body);
    let act = |action: &'static str, extra: Vec<(&'static str, String)>| {
        let mut pairs = vec![("_csrf", csrf.clone()), ("action", action.to_string())];
        pairs.extend(extra);
        pairs
    };
    let sec1 = w.sec1.clone();
    let send = |pairs: Vec<(&'static str, String)>| {
        let sec1 = sec1.clone();
        async move {
            let p: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            t.session_form(&format!("/requests/{id}/act"), &sec1, &p).await
        }
    };
    // Resolving a submitted request is not allowed: clear message, nothing changed.
    let r = send(act("resolve", vec![])).await;
    r.expect(422);
    assert!(r.body.contains("当前状态下不能执行该操作"));
    // Bulk accept from the queue.
    let b = t
        .session_form("/requests/bulk", &w.sec1, &[("_csrf", &csrf), ("action", "accept"), ("id", &id.to_string())])
        .await;
    b.expect(303);
    assert!(b.location().starts_with("/requests?flash="));
    send(act("assign", vec![("handler", w.sec1_id.to_string())])).await.expect(303);
    send(act("request_materials", vec![("note", "请补充：户口簿复印件、身份证复印件".into())])).await.expect(303);
    let again = send(act("request_materials", vec![("note", "还缺照片".into())])).await;
    again.expect(422);
    let pub_view = t.send(Method::GET, &format!("/r/{code}"), &[], vec![]).await;
    assert!(pub_view.body.contains("户口簿") && pub_view.body.contains("计时暂停"));
    send(act("supply_materials", vec![])).await.expect(303);
    let done = send(act("resolve", vec![("note", "已办理完毕".into())])).await;
    done.expect(200);
    let full = done.body.split("id=\"revisit-link\" href=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    // A full address (here the test client's host), a QR code of it and a message ready to send.
    let link = full.strip_prefix("http://localhost").expect("a full URL").to_string();
    assert!(link.starts_with("/r/revisit/"));
    assert!(done.body.contains("<svg") && done.body.contains("id=\"revisit-message\""));
    let message = done.body.split("id=\"revisit-message\"").nth(1).unwrap();
    assert!(message.contains(&full) && message.contains(&code), "the message carries the link and the code");

    // The resident answers through the link; the request closes; the link is spent.
    let rv = t.send(Method::GET, &link, &[], vec![]).await;
    rv.expect(200);
    let rcsrf = csrf_of(&rv.body);
    let rcookie = cookie_pair(&rv, "rc_pub_csrf");
    let answer =
        [("_csrf", rcsrf.as_str()), ("outcome", "fixed"), ("satisfaction", "satisfied"), ("comment", "很满意")];
    let h = [("content-type", "application/x-www-form-urlencoded"), ("cookie", rcookie.as_str())];
    let a = t.send(Method::POST, &link, &h, form_body(&answer)).await;
    a.expect(200);
    assert!(a.body.contains("已办结关闭"));
    let a2 = t.send(Method::POST, &link, &h, form_body(&answer)).await;
    a2.expect(410);
    assert!(a2.body.contains("已使用"));
    t.send(Method::GET, &link, &[], vec![]).await.expect(410);
    let fin = t.send(Method::GET, &format!("/r/{code}"), &[], vec![]).await;
    assert!(fin.body.contains("已关闭"));
    assert!(!fin.body.contains("13987654321"));

    // Statistics, my tasks, the wish board, the holiday calendar.
    let st = t.page("/requests/stats", &w.sec1).await;
    st.expect(200);
    assert!(st.body.contains("<svg class=\"chart\"") && st.body.contains("满意率") && !st.body.contains("style="));
    t.page("/requests/mine", &w.sec1).await.expect(200);
    t.page("/wishes", &w.sec1).await.expect(200);
    let hp = t.page("/admin/holidays", &w.admin).await;
    hp.expect(200);
    let hcsrf = csrf_of(&hp.body);
    let monday = t
        .session_form(
            "/admin/holidays",
            &w.admin,
            &[("_csrf", &hcsrf), ("date", "2031-01-06"), ("kind", "work"), ("name", "调休")],
        )
        .await;
    monday.expect(422);
    assert!(monday.body.contains("不是周末"));
    t.session_form(
        "/admin/holidays",
        &w.admin,
        &[("_csrf", &hcsrf), ("date", "2031-01-01"), ("kind", "off"), ("name", "元旦")],
    )
    .await
    .expect(303);
    // A branch secretary may not edit the tenant's calendar.
    t.page("/admin/holidays", &w.sec1).await.expect(403);

    // Categories as data: a bad one is refused field by field, a good one routes new requests.
    let cp = t.page("/admin/request-categories", &w.admin).await;
    cp.expect(200);
    let ccsrf = csrf_of(&cp.body);
    let bad = t
        .session_form(
            "/admin/request-categories",
            &w.admin,
            &[
                ("_csrf", &ccsrf),
                ("code", "路"),
                ("name", ""),
                ("kind", "hazard"),
                ("class", "joint"),
                ("working_days", "99"),
            ],
        )
        .await;
    bad.expect(422);
    assert!(bad.body.contains("办理时限应在0到60个工作日之间"));
    let root = w.root.to_string();
    t.session_form(
        "/admin/request-categories",
        &w.admin,
        &[
            ("_csrf", &ccsrf),
            ("code", "elevator"),
            ("name", "电梯故障"),
            ("kind", "hazard"),
            ("class", "immediate"),
            ("working_days", "0"),
            ("org_id", &root),
        ],
    )
    .await
    .expect(303);
    let services = t.send(Method::GET, "/open311/v2/services.json", &[], vec![]).await;
    assert!(services.body.contains("电梯故障"));
}

async fn api_requests_resource(t: &TestApp) {
    let w = world(t).await;
    categories(t, w.root).await;
    t.secret("13911112222");
    // Staff register on a resident's behalf through a household in scope.
    let body = json!({
        "category": "benefit", "description": "代王大爷申请高龄津贴", "household_id": w.b[0].household,
        "contact_name": "王东风", "contact_phone": "13911112222",
    });
    let r = t.post("/api/v1/requests", &w.sec1, body).await;
    r.expect(201);
    let v = r.json();
    let id = v["id"].as_i64().unwrap();
    assert_eq!(v["contact_phone"], "139****2222");
    assert_eq!(v["source"], "staff");
    assert_eq!(v["state"], "submitted");
    assert_eq!(v["building_id"].as_i64(), Some(w.b[0].building));
    assert_eq!(v["org_id"].as_i64(), Some(w.b[0].branch), "routed by the household's grid");
    // Bad input: named fields, nothing written.
    let before = t.get("/api/v1/requests", &w.admin).await.json()["total"].as_i64().unwrap();
    t.post("/api/v1/requests", &w.sec1, json!({"category": "benefit", "address": "x"}))
        .await
        .field_error(422, "description");
    t.post("/api/v1/requests", &w.sec1, json!({"category": "nope", "description": "x", "address": "x"}))
        .await
        .field_error(422, "category");
    t.post(
        "/api/v1/requests",
        &w.sec1,
        json!({"category": "elderly", "class": "promised", "description": "代购药品", "address": "x"}),
    )
    .await
    .field_error(422, "promised_date");
    // A household outside the caller's scope is not found for them.
    t.post(
        "/api/v1/requests",
        &w.sec1,
        json!({"category": "benefit", "description": "x", "household_id": w.b[1].household}),
    )
    .await
    .field_error(422, "household_id");
    // A grid outside it likewise, named (it was a bare 403 only when the grid's organisation took the request).
    t.post("/api/v1/requests", &w.sec1, json!({"category": "benefit", "description": "x", "grid_id": w.b[1].grid}))
        .await
        .field_error(422, "grid_id");
    t.api(Method::POST, "/api/v1/requests", None, Some(&json!({}))).await.error(401);
    assert_eq!(t.get("/api/v1/requests", &w.admin).await.json()["total"].as_i64().unwrap(), before);

    // A promised errand with its date; one in branch 2 by the admin.
    let r2 = t
        .post("/api/v1/requests", &w.sec1, json!({"category": "elderly", "class": "promised", "promised_date": "2099-01-05", "description": "每周代购药品", "grid_id": w.b[0].grid}))
        .await;
    r2.expect(201);
    assert_eq!(r2.json()["due_date"], "2099-01-05");
    let other = t
        .post(
            "/api/v1/requests",
            &w.admin,
            json!({"category": "fire", "description": "西湖苑车库充电", "grid_id": w.b[1].grid}),
        )
        .await;
    other.expect(201);
    let other_id = other.json()["id"].as_i64().unwrap();

    // The list: scope-filtered, filters and paging.
    let l = t.get("/api/v1/requests?per_page=1", &w.sec1).await;
    l.expect(200);
    let lv = l.json();
    assert_eq!(lv["total"], 2);
    assert_eq!(lv["items"].as_array().unwrap().len(), 1);
    let l2 = t.get("/api/v1/requests?per_page=1&page=2", &w.sec1).await.json();
    assert_ne!(lv["items"][0]["id"], l2["items"][0]["id"]);
    assert_eq!(t.get("/api/v1/requests?kind=errand&state=open", &w.sec1).await.json()["total"], 2);
    assert_eq!(t.get(&format!("/api/v1/requests?{}", qs(&[("q", "高龄")])), &w.sec1).await.json()["total"], 1);
    assert_eq!(t.get("/api/v1/requests?kind=hazard", &w.admin).await.json()["total"], 1);
    t.get("/api/v1/requests?page=x", &w.sec1).await.error(422);
    t.get(&format!("/api/v1/requests/{other_id}"), &w.sec1).await.error(404);

    // One request with its history: who registered it and for whom.
    let d = t.get(&format!("/api/v1/requests/{id}"), &w.sec1).await;
    d.expect(200);
    let dv = d.json();
    assert_eq!(dv["history"][0]["action"], "submit");
    assert_eq!(dv["history"][0]["acting_for"], "王东风");
    assert_eq!(dv["history"][0]["actor_user_id"].as_i64(), Some(w.sec1_id));
    assert!(dv["actions"].as_array().unwrap().iter().any(|a| a == "accept"));

    // Actions through the same state machine.
    let act = |action: &str| json!({"action": action});
    let path = format!("/api/v1/requests/{id}/actions");
    let e = t.post(&path, &w.sec1, act("resolve")).await.field_error(422, "action");
    assert!(e["message"].as_str().unwrap().contains("当前状态下不能执行该操作"));
    t.post(&path, &w.sec1, act("fly")).await.field_error(422, "action");
    let a = t.post(&path, &w.sec1, act("accept")).await;
    a.expect(200);
    assert_eq!(a.json()["state"], "accepted");
    t.post(&path, &w.sec1, act("assign")).await.field_error(422, "handler");
    let a = t.post(&path, &w.sec1, json!({"action": "assign", "handler_user_id": w.sec1_id})).await;
    a.expect(200);
    assert_eq!(a.json()["handler_user_id"].as_i64(), Some(w.sec1_id));
    t.post(&path, &w.sec1, act("refuse")).await.field_error(422, "note");
    t.post(&path, &w.sec1, json!({"action": "request_materials", "note": "请补充户口簿复印件"})).await.expect(200);
    t.post(&path, &w.sec1, json!({"action": "request_materials", "note": "还有照片"})).await.field_error(422, "action");
    t.post(&path, &w.sec1, act("supply_materials")).await.expect(200);
    let e = t.post(&path, &w.sec1, act("resolve")).await.field_error(422, "note");
    assert!(e["message"].as_str().unwrap().contains("办理结果"));
    t.post(&path, &w.sec1, json!({"action": "resolve", "note": "已发放"})).await.expect(200);
    t.post(&path, &w.admin, json!({"action": "revisit", "outcome": "maybe", "satisfaction": "satisfied"}))
        .await
        .field_error(422, "outcome");
    // The handler does not record the phone revisit of their own work.
    let phone = json!({"action": "revisit", "outcome": "fixed", "satisfaction": "satisfied", "acting_for": "王东风（电话回访）"});
    let e = t.post(&path, &w.sec1, phone.clone()).await.field_error(422, "action");
    assert!(e["message"].as_str().unwrap().contains("承办人"));
    let rv = t.post(&path, &w.admin, phone).await;
    rv.expect(200);
    assert_eq!(rv.json()["state"], "revisited");
    t.post(&format!("/api/v1/requests/{other_id}/actions"), &w.sec1, act("accept")).await.error(404);
    let hist = t.get(&format!("/api/v1/requests/{id}"), &w.sec1).await.json();
    let last = hist["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "revisit");
    assert_eq!(last["acting_for"], "王东风（电话回访）");

    // The resource is in the OpenAPI document.
    let doc = t.send(Method::GET, "/api/v1/openapi.json", &[], vec![]).await.json();
    for path in ["/api/v1/requests", "/api/v1/requests/{id}", "/api/v1/requests/{id}/actions", "/api/v1/requests/mine"]
    {
        assert!(doc["paths"][path].is_object(), "{path} not documented");
    }
    assert!(doc["components"]["schemas"]["RequestIn"].is_object());
}

/// A member account (role Member on branch 1's organisation).
async fn member_account(t: &TestApp, w: &World, username: &str) -> (String, i64) {
    let id = redcell_store::auth::add_user(
        &t.db,
        username,
        "党员小李",
        "member-pass-2026",
        redcell_domain::Role::Member,
        &w.b[0].branch_code,
    )
    .await
    .unwrap();
    (t.api_login(username, "member-pass-2026").await, id)
}

async fn members_claim_open_requests(t: &TestApp) {
    let w = world(t).await;
    categories(t, w.root).await;
    let (m1, m1_id) = member_account(t, &w, "member1").await;
    let (m2, _) = member_account(t, &w, "member2").await;
    let mk = |grid: i64, text: &str| json!({"category": "environment", "description": text, "grid_id": grid});
    t.secret("13955556666");
    let mut with_contact = mk(w.b[0].grid, "楼道堆放杂物");
    with_contact["contact_name"] = json!("李阿姨");
    with_contact["contact_phone"] = json!("13955556666");
    let own = t.post("/api/v1/requests", &w.admin, with_contact).await.json()["id"].as_i64().unwrap();
    let far = t.post("/api/v1/requests", &w.admin, mk(w.b[1].grid, "西湖苑杂物")).await.json()["id"].as_i64().unwrap();
    let fresh = t.post("/api/v1/requests", &w.admin, mk(w.b[0].grid, "未受理的")).await.json()["id"].as_i64().unwrap();
    for id in [own, far] {
        t.post(&format!("/api/v1/requests/{id}/actions"), &w.admin, json!({"action": "accept"})).await.expect(200);
    }
    // A member sees only what is open for claiming in their organisations; no registry access.
    let mine = t.get("/api/v1/requests/mine", &m1).await.json();
    let ids: Vec<i64> = mine["claimable"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![own]);
    // The queue is for readers of the registry: a member is refused at the gate (it was an empty list).
    t.get("/api/v1/requests", &m1).await.error(403);
    t.get(&format!("/api/v1/requests/{far}"), &m1).await.error(404);
    t.get(&format!("/api/v1/requests/{fresh}"), &m1).await.error(404);
    let d = t.get(&format!("/api/v1/requests/{own}"), &m1).await.json();
    assert_eq!(d["actions"], json!(["claim"]));
    // A member may not accept ordinary requests nor act on ones not open for claiming.
    t.post(&format!("/api/v1/requests/{fresh}/actions"), &m1, json!({"action": "accept"})).await.error(404);
    t.post(&format!("/api/v1/requests/{far}/actions"), &m1, json!({"action": "claim"})).await.error(404);

    // The member claims through the page ("my tasks"); it becomes their task.
    let page = t.page("/requests/mine", &m1).await;
    page.expect(200);
    assert!(page.body.contains(&format!("claim-{own}")));
    let csrf = csrf_of(&page.body);
    t.session_form(&format!("/requests/{own}/act"), &m1, &[("_csrf", &csrf), ("action", "claim")]).await.expect(303);
    let mine = t.get("/api/v1/requests/mine", &m1).await.json();
    assert_eq!(mine["tasks"][0]["id"].as_i64(), Some(own));
    assert_eq!(mine["tasks"][0]["handler_user_id"].as_i64(), Some(m1_id));
    assert!(mine["claimable"].as_array().unwrap().is_empty());
    // A second member: no longer open for claiming, and not theirs to call.
    t.post(&format!("/api/v1/requests/{own}/actions"), &m2, json!({"action": "claim"})).await.error(404);
    t.post(&format!("/api/v1/requests/{own}/contact"), &m2, json!({})).await.error(404);
    // The claimer reveals the family's phone to call them (audited); the page offers a tel: link.
    let d = t.page(&format!("/requests/{own}"), &m1).await;
    assert!(
        d.body.contains("139****6666") && d.body.contains("id=\"reveal-contact\"") && !d.body.contains("13955556666")
    );
    let csrf = csrf_of(&d.body);
    let shown = t.session_form(&format!("/requests/{own}/contact"), &m1, &[("_csrf", &csrf)]).await;
    shown.expect(200);
    assert!(shown.body.contains("href=\"tel:13955556666\""), "{}", shown.body);
    assert_eq!(shown.header("cache-control").as_deref(), Some("no-store"));
    let c = t.post(&format!("/api/v1/requests/{own}/contact"), &m1, json!({})).await;
    c.expect(200);
    assert_eq!((c.json()["name"].as_str(), c.json()["phone"].as_str()), (Some("李阿姨"), Some("13955556666")));
    let reveals = t
        .db
        .int(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'reveal' AND entity = 'request' AND entity_id = $1 AND user_id = $2",
            redcell_store::args![own, m1_id],
        )
        .await
        .unwrap();
    assert_eq!(reveals, 2);
    // Staff trying to claim a request someone handles: refused by the state machine.
    let e = t.post(&format!("/api/v1/requests/{own}/actions"), &w.admin, json!({"action": "claim"})).await;
    e.field_error(422, "action");
    // The claimer handles it: start and resolve.
    t.post(&format!("/api/v1/requests/{own}/actions"), &m1, json!({"action": "start"})).await.expect(200);
    let done =
        t.post(&format!("/api/v1/requests/{own}/actions"), &m1, json!({"action": "resolve", "note": "已清理"})).await;
    done.expect(200);
    assert_eq!(done.json()["state"], "resolved");
    let hist = t.get(&format!("/api/v1/requests/{own}"), &w.admin).await.json();
    let claim = hist["history"].as_array().unwrap().iter().find(|h| h["action"] == "claim").unwrap().clone();
    assert_eq!(claim["actor_role"], "member");
    assert_eq!(claim["actor_user_id"].as_i64(), Some(m1_id));
}

async fn open311_paging_key_and_xml(t: &TestApp) {
    let w = world(t).await;
    categories(t, w.root).await;
    let j = w.root.to_string();
    for i in 0..3 {
        let d = format!("路灯不亮 {i}");
        open311(
            t,
            Method::POST,
            "/open311/v2/requests.json",
            &[("service_code", "facility"), ("description", &d), ("address_string", "三号楼")],
        )
        .await
        .expect(201);
    }
    // Paging: newest first, documented in discovery.
    let page =
        |q: String| async move { t.send(Method::GET, &format!("/open311/v2/requests.json?{q}"), &[], vec![]).await };
    let p1 = page(format!("jurisdiction_id={j}&page=1&page_size=2")).await.json();
    let p2 = page(format!("jurisdiction_id={j}&page=2&page_size=2")).await.json();
    assert_eq!(p1.as_array().unwrap().len(), 2);
    assert_eq!(p2.as_array().unwrap().len(), 1);
    assert_eq!(p1[0]["description"], "路灯不亮 2");
    assert_eq!(p2[0]["description"], "路灯不亮 0");
    assert_eq!(page("page_size=1000".into()).await.json().as_array().unwrap().len(), 3);
    assert!(error_array(&page("page_size=0".into()).await, 400).contains("page_size"));
    assert!(error_array(&page("page_size=5000".into()).await, 400).contains("page_size"));
    assert!(error_array(&page("page=abc".into()).await, 400).contains("page"));
    let disc = t.send(Method::GET, "/open311/v2/discovery.json", &[], vec![]).await.json();
    assert!(disc["extensions"]["paging"].as_str().unwrap().contains("page_size"));

    // XML: services, one service definition, the list and one request, errors.
    let x = t.send(Method::GET, "/open311/v2/services.xml", &[], vec![]).await;
    x.expect(200);
    assert!(x.header("content-type").unwrap().starts_with("text/xml"));
    assert!(x.body.starts_with("<?xml") && x.body.contains("<services><service><"));
    assert!(x.body.contains("<service_code>facility</service_code>"));
    let sd = t.send(Method::GET, "/open311/v2/services/facility.xml", &[], vec![]).await;
    sd.expect(200);
    assert!(sd.body.contains("<service_definition>") && sd.body.contains("<attributes><attribute>"));
    let l = t.send(Method::GET, "/open311/v2/requests.xml?page_size=2", &[], vec![]).await;
    l.expect(200);
    assert!(l.body.contains("<service_requests><request>"));
    assert_eq!(l.body.matches("<request>").count(), 2);
    assert!(l.body.contains("<notes><note>"));
    let code = p1[0]["service_request_id"].as_str().unwrap().to_string();
    let one = t.send(Method::GET, &format!("/open311/v2/requests/{code}.xml"), &[], vec![]).await;
    one.expect(200);
    assert!(one.body.contains(&format!("<service_request_id>{code}</service_request_id>")));
    assert!(one.body.contains("<status>open</status>"));
    let nf = t.send(Method::GET, "/open311/v2/requests/NOPE1234.xml", &[], vec![]).await;
    nf.expect(404);
    assert!(nf.body.contains("<errors><error><code>404</code>"));
    let px = open311(
        t,
        Method::POST,
        "/open311/v2/requests.xml",
        &[("service_code", "fire"), ("description", "车库<充电>"), ("address_string", "五号楼")],
    )
    .await;
    px.expect(201);
    assert!(px.body.contains("<service_requests><request><") && px.body.contains("<service_request_id>"));
    let back = t.send(Method::GET, "/open311/v2/requests.xml?service_code=fire", &[], vec![]).await;
    assert!(back.body.contains("车库&lt;充电&gt;"), "escaped: {}", back.body);

    // API keys: the admin issues one on the categories page; POST then needs it.
    let cp = t.page("/admin/request-categories", &w.admin).await;
    cp.expect(200);
    assert!(cp.body.contains("Open311 接口密钥"));
    let csrf = csrf_of(&cp.body);
    t.session_form("/admin/open311-keys", &w.admin, &[("_csrf", &csrf), ("label", "")]).await.expect(422);
    let made = t.session_form("/admin/open311-keys", &w.admin, &[("_csrf", &csrf), ("label", "12345热线")]).await;
    made.expect(200);
    let key = made.body.split("id=\"new-key\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    assert_eq!(key.len(), 64);
    // A branch secretary sees no keys and cannot issue one.
    let sp = t.page("/admin/request-categories", &w.sec1).await;
    sp.expect(403);
    assert!(!sp.body.contains("Open311 接口密钥"));
    t.session_form("/admin/open311-keys", &w.sec1, &[("_csrf", &csrf_of(&sp.body)), ("label", "x")]).await.expect(403);
    let base = [("service_code", "fire"), ("description", "楼道堆物"), ("address_string", "五号楼")];
    let no_key = open311(t, Method::POST, "/open311/v2/requests.json", &base).await;
    assert!(error_array(&no_key, 403).contains("api_key"));
    let mut wrong = base.to_vec();
    wrong.push(("api_key", "0000"));
    assert!(error_array(&open311(t, Method::POST, "/open311/v2/requests.json", &wrong).await, 403).contains("api_key"));
    let wx = open311(t, Method::POST, "/open311/v2/requests.xml", &wrong).await;
    wx.expect(403);
    assert!(wx.body.contains("<errors><error><code>403</code>"));
    let mut right = base.to_vec();
    right.push(("api_key", key.as_str()));
    open311(t, Method::POST, "/open311/v2/requests.json", &right).await.expect(201);
    // Reading stays open.
    t.send(Method::GET, "/open311/v2/requests.json", &[], vec![]).await.expect(200);
    // Revoked: the key stops working; with no active key POST is open again.
    let (kid,): (i64,) = t.db.one("SELECT id FROM open311_keys", redcell_store::Args::new()).await.unwrap();
    let kid = kid.to_string();
    t.session_form("/admin/open311-keys", &w.admin, &[("_csrf", &csrf), ("revoke", &kid)]).await.expect(303);
    open311(t, Method::POST, "/open311/v2/requests.json", &base).await.expect(201);
}

async fn staff_registers_on_a_residents_behalf(t: &TestApp) {
    let w = world(t).await;
    categories(t, w.root).await;
    t.secret("13966667777");
    let q = t.page("/requests", &w.sec1).await;
    assert!(q.body.contains("href=\"/requests/new\""));
    let form = t.page("/requests/new", &w.sec1).await;
    form.expect(200);
    assert!(form.body.contains("代居民登记诉求") && form.body.contains("data-pick=\"household\""));
    assert!(!form.body.contains("style="));
    let csrf = csrf_of(&form.body);
    let building = &w.b[0].building_name;
    // A household found by building and room.
    let hh = format!("{building}301");
    let pairs = [
        ("_csrf", csrf.as_str()),
        ("category", "elderly"),
        ("class", "promised"),
        ("promised_date", "2099-03-01"),
        ("description", "独居老人每周代购药品"),
        ("household_id", hh.as_str()),
        ("contact_name", "王东风"),
        ("contact_phone", "13966667777"),
        ("acting_for", "王东风（电话）"),
    ];
    let ok = t.session_form("/requests/new", &w.sec1, &pairs).await;
    ok.expect(303);
    let loc = ok.location();
    let id: i64 = loc.trim_start_matches("/requests/").parse().unwrap();
    let d = t.page(&loc, &w.sec1).await;
    d.expect(200);
    assert!(d.body.contains("代 王东风（电话）") && d.body.contains("139****7777") && d.body.contains("2099-03-01"));
    let (b, h): (Option<i64>, Option<String>) = t
        .db
        .one("SELECT r.building_id, h.acting_for FROM requests r JOIN request_history h ON h.request_id = r.id WHERE r.id = $1", redcell_store::args![id])
        .await
        .unwrap();
    assert_eq!(b, Some(w.b[0].building));
    assert_eq!(h.as_deref(), Some("王东风（电话）"));
    // By a resident's name (both residents of the household: one household found).
    let by_name =
        [("_csrf", csrf.as_str()), ("category", "benefit"), ("description", "申请补贴"), ("household_id", "赵东风")];
    t.session_form("/requests/new", &w.sec1, &by_name).await.expect(303);
    // Bad input: promised without a date, unknown household, out-of-scope household text.
    let mut bad = pairs.to_vec();
    bad.retain(|(k, _)| *k != "promised_date");
    let r = t.session_form("/requests/new", &w.sec1, &bad).await;
    r.expect(422);
    assert!(r.body.contains("承诺件须填写承诺办结日期"));
    let mut far = pairs.to_vec();
    let far_hh = format!("{}301", w.b[1].building_name);
    for p in far.iter_mut() {
        if p.0 == "household_id" {
            p.1 = far_hh.as_str();
        }
    }
    let r = t.session_form("/requests/new", &w.sec1, &far).await;
    r.expect(422);
    assert!(r.body.contains("在您的管辖范围内没有找到匹配项"));
    let far_id = w.b[1].household.to_string();
    let r = t
        .session_form(
            "/requests/new",
            &w.sec1,
            &[
                ("_csrf", csrf.as_str()),
                ("category", "benefit"),
                ("description", "x"),
                ("household_id", far_id.as_str()),
            ],
        )
        .await;
    r.expect(422);
    // The anonymous Open311 list names the building, never the room, and
    // keeps what staff wrote about the family to itself.
    let list = t.send(Method::GET, &format!("/open311/v2/requests.json?jurisdiction_id={}", w.root), &[], vec![]).await;
    list.expect(200);
    assert!(!list.body.contains("独居老人每周代购药品") && !list.body.contains("申请补贴"), "{}", list.body);
    assert!(
        !list.body.contains(&hh) && !list.body.contains("单元301") && !list.body.contains("王东风"),
        "{}",
        list.body
    );
    assert!(list.body.contains(redcell_domain::i18n::REQ_TEXT_NOT_PUBLIC));
    let entry = list.json().as_array().unwrap().iter().find(|r| r["address_id"] == w.b[0].building).cloned().unwrap();
    assert!(entry["address"].as_str().is_some_and(|a| a.ends_with(building.as_str())), "{entry}");
    // Without the CSRF token: refused.
    t.session_form("/requests/new", &w.sec1, &pairs[1..]).await.expect(403);
    let n = t.db.int("SELECT COUNT(*) FROM requests", redcell_store::Args::new()).await.unwrap();
    assert_eq!(n, 2);
}

async fn public_form_picks_a_building_and_wish_photo(t: &TestApp) {
    let w = world(t).await;
    categories(t, w.root).await;
    let form = t.send(Method::GET, "/r/new", &[], vec![]).await;
    form.expect(200);
    // Community → grid → building, with addresses; nothing about households.
    let group = format!("<optgroup label=\"{} · {}\">", w.b[0].community_name, w.b[0].grid_name);
    assert!(form.body.contains(&group), "{}", form.body);
    assert!(form.body.contains(&w.b[0].building_name) && form.body.contains("name=\"room\""));
    for n in &w.b[0].resident_names {
        assert!(!form.body.contains(n.as_str()));
    }
    let csrf = csrf_of(&form.body);
    let cookie = cookie_pair(&form, "rc_pub_csrf");
    let tenant = w.root.to_string();
    let building = w.b[0].building.to_string();
    let hh = w.b[0].household.to_string();
    let base = [
        ("_csrf", csrf.as_str()),
        ("t", tenant.as_str()),
        ("category", "wish"),
        ("description", "想要一台收音机"),
        ("building_id", building.as_str()),
        ("room", "2单元301"),
        ("contact_name", "李奶奶"),
        ("household_id", hh.as_str()),
    ];
    let (ct, body) = multipart(&base, None);
    let ok = t.send(Method::POST, "/r/submit", &[("content-type", &ct), ("cookie", &cookie)], body).await;
    ok.expect(303);
    let code = ok.location().trim_start_matches("/r/").trim_end_matches("?new=1").to_string();
    let (id, b, addr, org): (i64, Option<i64>, Option<String>, i64) =
        t.db.one(
            "SELECT id, building_id, address, org_id FROM requests WHERE code = $1",
            redcell_store::args![code.as_str()],
        )
        .await
        .unwrap();
    assert_eq!(b, Some(w.b[0].building));
    assert_eq!(addr.as_deref(), Some("2单元301室"));
    assert_eq!(org, w.b[0].branch);
    // A room alone is no location; an over-long room is named.
    let (ct, body) = multipart(
        &[
            ("_csrf", csrf.as_str()),
            ("t", tenant.as_str()),
            ("category", "wish"),
            ("description", "x"),
            ("room", "301"),
        ],
        None,
    );
    let bad = t.send(Method::POST, "/r/submit", &[("content-type", &ct), ("cookie", &cookie)], body).await;
    bad.expect(422);
    assert!(bad.body.contains("请选择所在网格/楼栋"));
    let long = "1".repeat(21);
    let (ct, body) = multipart(
        &[
            ("_csrf", csrf.as_str()),
            ("t", tenant.as_str()),
            ("category", "wish"),
            ("description", "x"),
            ("building_id", building.as_str()),
            ("room", &long),
        ],
        None,
    );
    let bad = t.send(Method::POST, "/r/submit", &[("content-type", &ct), ("cookie", &cookie)], body).await;
    bad.expect(422);
    assert!(bad.body.contains("房号不能超过20个字"));

    // The wish: verified and published by the secretary, claimed by a member
    // (claiming is the members'; the secretary is refused, audited), completed with a photo.
    let bp = t.page(&format!("/requests/{id}"), &w.sec1).await;
    let scsrf = csrf_of(&bp.body);
    t.session_form(&format!("/wishes/{id}/verify"), &w.sec1, &[("_csrf", &scsrf)]).await.expect(303);
    let refused = t.session_form(&format!("/wishes/{id}/claim"), &w.sec1, &[("_csrf", &scsrf)]).await;
    refused.expect(303);
    assert!(unescape(&refused.location()).contains("flash="));
    let audited =
        t.db.int(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'forbidden' AND user_id = $1 AND detail LIKE '%/claim'",
            redcell_store::args![w.sec1_id],
        )
        .await
        .unwrap();
    assert_eq!(audited, 1, "the refused claim is audited");
    let (member, _) = member_account(t, &w, "member1").await;
    let board = t.page("/wishes", &member).await;
    let mcsrf = csrf_of(&board.body);
    t.session_form(&format!("/wishes/{id}/claim"), &member, &[("_csrf", &mcsrf)]).await.expect(303);
    let board = t.page("/wishes", &member).await;
    assert!(
        board.body.contains(&format!("action=\"/wishes/{id}/complete-photo\"")) && board.body.contains("type=\"file\"")
    );
    let scsrf = mcsrf;
    let cookie_s = format!("rc_session={member}");
    // The secretary may not complete it (the upload is the members').
    let (ct, body) = multipart(&[("_csrf", csrf_of(&bp.body).as_str())], None);
    t.send(
        Method::POST,
        &format!("/wishes/{id}/complete-photo"),
        &[("content-type", &ct), ("cookie", &format!("rc_session={}", w.sec1))],
        body,
    )
    .await
    .expect(403);
    // Not an image: refused, the wish stays open.
    let (ct, body) = multipart(&[("_csrf", scsrf.as_str())], Some(("x.pdf", b"%PDF-1.4 fake")));
    let r = t
        .send(
            Method::POST,
            &format!("/wishes/{id}/complete-photo"),
            &[("content-type", &ct), ("cookie", &cookie_s)],
            body,
        )
        .await;
    r.expect(303);
    assert!(r.location().starts_with("/wishes?flash="));
    let stage: (Option<String>,) =
        t.db.one("SELECT wish_stage FROM requests WHERE id = $1", redcell_store::args![id]).await.unwrap();
    assert_eq!(stage.0.as_deref(), Some("claimed"));
    // Without the CSRF token: refused.
    let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 7, 7, 7];
    let (ct, body) = multipart(&[], Some(("done.png", &png)));
    t.send(
        Method::POST,
        &format!("/wishes/{id}/complete-photo"),
        &[("content-type", &ct), ("cookie", &cookie_s)],
        body,
    )
    .await
    .expect(403);
    let (ct, body) = multipart(&[("_csrf", scsrf.as_str())], Some(("done.png", &png)));
    let r = t
        .send(
            Method::POST,
            &format!("/wishes/{id}/complete-photo"),
            &[("content-type", &ct), ("cookie", &cookie_s)],
            body,
        )
        .await;
    r.expect(303);
    let (stage, photo): (Option<String>, Option<i64>) =
        t.db.one("SELECT wish_stage, wish_photo_file_id FROM requests WHERE id = $1", redcell_store::args![id])
            .await
            .unwrap();
    assert_eq!(stage.as_deref(), Some("done"));
    let photo = photo.expect("photo stored");
    let d = t.page(&format!("/requests/{id}"), &w.sec1).await;
    assert!(d.body.contains(&format!("id=\"wish-photo\" src=\"/files/{photo}\"")));
    let f = t.page(&format!("/files/{photo}"), &w.sec1).await;
    f.expect(200);
    assert_eq!(f.header("content-type").as_deref(), Some("image/png"));
}

/// The `<select name="handler" ...>` of a page, for what it offers.
fn handler_select(html: &str) -> String {
    let start = html.find("<select name=\"handler\"").unwrap_or_else(|| panic!("no handler select in {html}"));
    let rest = &html[start..];
    rest[..rest.find("</select>").expect("select end")].to_string()
}

/// Holes 1 and 3 of issue 13 over HTTP: an assignment to an account that may
/// not handle the request (an auditor, another branch's secretary) is refused
/// naming the field and no account, on the API, the page and the bulk form,
/// and audited; the picker offers exactly the accounts that qualify; a
/// duplicate may name only a request the caller can see, and another
/// branch's code reads like a missing one.
async fn handlers_and_duplicates_stay_in_scope(t: &TestApp) {
    let w = world(t).await;
    categories(t, w.root).await;
    let pw = "role-pass-2026";
    let add = |u: &'static str, name: &'static str, role: redcell_domain::Role, org: String| async move {
        let id = redcell_store::auth::add_user(&t.db, u, name, pw, role, &org).await.unwrap();
        (id, t.api_login(u, pw).await)
    };
    let (auditor_id, _) = add("auditor1", "审计员乙", redcell_domain::Role::Auditor, "S1".into()).await;
    let (sec2_id, sec2) = add("sec2", "西湖书记", redcell_domain::Role::Secretary, w.b[1].branch_code.clone()).await;
    let mk = |grid: i64, text: &str| json!({"category": "environment", "description": text, "grid_id": grid});
    let made = t.post("/api/v1/requests", &w.sec1, mk(w.b[0].grid, "楼道堆物")).await;
    made.expect(201);
    let id = made.json()["id"].as_i64().unwrap();
    let far = t.post("/api/v1/requests", &sec2, mk(w.b[1].grid, "西湖苑杂物")).await.json();
    let path = format!("/api/v1/requests/{id}/actions");
    for (who, name) in [(auditor_id, "审计员乙"), (sec2_id, "西湖书记")] {
        let r = t.post(&path, &w.sec1, json!({"action": "assign", "handler_user_id": who})).await;
        r.field_error(403, "handler_user_id");
        assert!(!r.body.contains(name), "the refusal names no account: {}", r.body);
    }
    t.post(&path, &w.sec1, json!({"action": "assign", "handler_user_id": 987654}))
        .await
        .field_error(403, "handler_user_id");
    let d = t.get(&format!("/api/v1/requests/{id}"), &w.sec1).await.json();
    assert_eq!((d["request"]["state"].as_str(), d["request"]["handler_user_id"].as_i64()), (Some("submitted"), None));
    let refusals = || async {
        t.db.int(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'forbidden' AND user_id = $1",
            redcell_store::args![w.sec1_id],
        )
        .await
        .unwrap()
    };
    assert_eq!(refusals().await, 3, "each refused assignment is audited");

    // The page offers exactly the accounts that handle the request's branch.
    let page = t.page(&format!("/requests/{id}"), &w.sec1).await;
    let offered = handler_select(&page.body);
    for ok in [w.sec1_id, w.admin_id] {
        assert!(offered.contains(&format!("value=\"{ok}\"")), "{offered}");
    }
    for not in [auditor_id, sec2_id] {
        assert!(!offered.contains(&format!("value=\"{not}\"")), "{offered}");
    }
    let csrf = csrf_of(&page.body);
    let auditor = auditor_id.to_string();
    let r = t
        .session_form(
            &format!("/requests/{id}/act"),
            &w.sec1,
            &[("_csrf", &csrf), ("action", "assign"), ("handler", &auditor)],
        )
        .await;
    r.expect(403);
    assert!(!r.body.contains("审计员乙"));
    // The bulk form: refused per request, named in the flash, audited.
    let queue = t.page("/requests", &w.sec1).await;
    let bulk_offer = handler_select(&queue.body);
    assert!(
        bulk_offer.contains(&format!("value=\"{}\"", w.sec1_id))
            && !bulk_offer.contains(&format!("value=\"{sec2_id}\""))
    );
    let sec2s = sec2_id.to_string();
    let ids = id.to_string();
    let b = t
        .session_form(
            "/requests/bulk",
            &w.sec1,
            &[("_csrf", &csrf), ("action", "assign"), ("id", &ids), ("handler", &sec2s)],
        )
        .await;
    b.expect(303);
    assert!(unescape(&b.location()).contains("flash="));
    assert_eq!(refusals().await, 5, "the page and the bulk refusals are audited too");
    // A handler of the branch is accepted.
    let ok = t.post(&path, &w.sec1, json!({"action": "assign", "handler_user_id": w.sec1_id})).await;
    ok.expect(200);
    assert_eq!(ok.json()["handler_user_id"].as_i64(), Some(w.sec1_id));

    // Duplicates: another branch's code and a missing code read the same.
    let other = t.post("/api/v1/requests", &w.sec1, mk(w.b[0].grid, "楼道堆物again")).await.json();
    let opath = format!("/api/v1/requests/{}/actions", other["id"]);
    let far_code = far["code"].as_str().unwrap();
    let foreign = t
        .post(&opath, &w.sec1, json!({"action": "mark_duplicate", "duplicate_of": far_code}))
        .await
        .field_error(422, "duplicate_of");
    let missing = t
        .post(&opath, &w.sec1, json!({"action": "mark_duplicate", "duplicate_of": "ZZZZ9999"}))
        .await
        .field_error(422, "duplicate_of");
    assert_eq!(foreign["message"], missing["message"], "no oracle of codes");
    let mine = made.json()["code"].as_str().unwrap().to_string();
    let r = t.post(&opath, &w.sec1, json!({"action": "mark_duplicate", "duplicate_of": mine})).await;
    r.expect(200);
    assert_eq!(r.json()["duplicate_of"].as_i64(), Some(id));
    // The admin sees both branches.
    let third = t.post("/api/v1/requests", &w.admin, mk(w.b[0].grid, "第三件")).await.json();
    let r = t
        .post(
            &format!("/api/v1/requests/{}/actions", third["id"]),
            &w.admin,
            json!({"action": "mark_duplicate", "duplicate_of": far_code}),
        )
        .await;
    r.expect(200);
}

/// An unknown filter code is a 422 naming it (an export by an unknown state
/// exported everything); callers without the capability are refused at the
/// gate; the answers carry no internal column.
async fn unknown_filters_and_gates_refuse(t: &TestApp) {
    let w = world(t).await;
    categories(t, w.root).await;
    t.post("/api/v1/requests", &w.sec1, json!({"category": "environment", "description": "x", "grid_id": w.b[0].grid}))
        .await
        .expect(201);
    t.get("/api/v1/requests?state=nope", &w.admin).await.field_error(422, "state");
    t.get("/api/v1/requests?kind=nope", &w.admin).await.field_error(422, "kind");
    t.get("/api/v1/requests?org_id=abc", &w.admin).await.error(422);
    t.get("/api/v1/requests/export?state=nope", &w.admin).await.error(422);
    assert_eq!(t.get("/api/v1/requests/export?state=open", &w.admin).await.code(), 200);
    let p = t.page("/requests?state=nope", &w.sec1).await;
    p.expect(422);
    t.page("/requests?org_id=abc", &w.sec1).await.expect(422);
    let l = t.get("/api/v1/requests", &w.admin).await;
    l.expect(200);
    let item = &l.json()["items"][0];
    for internal in ["tenant_id", "org_path"] {
        assert!(item.get(internal).is_none(), "{internal} in {item}");
    }
    // A resident account holds no capability: refused at the gate everywhere.
    let rid = redcell_store::auth::add_user(
        &t.db,
        "res1",
        "居民甲",
        "role-pass-2026",
        redcell_domain::Role::Resident,
        &w.b[0].branch_code,
    )
    .await
    .unwrap();
    assert!(rid > 0);
    let res = t.api_login("res1", "role-pass-2026").await;
    for path in ["/requests", "/requests/mine", "/wishes", "/requests/new", "/admin/holidays"] {
        t.page(path, &res).await.expect(403);
    }
    t.get("/api/v1/requests/mine", &res).await.error(403);
    t.post("/api/v1/requests", &res, json!({"category": "environment", "description": "x", "address": "x"}))
        .await
        .error(403);
    // The public pages stay public.
    t.send(Method::GET, "/r/new", &[], vec![]).await.expect(200);
    t.send(Method::GET, "/open311/v2/services.json", &[], vec![]).await.expect(200);
}
