//! Resident requests through Open311 and the pages, on SQLite and (with
//! `REDCELL_TEST_PG`) PostgreSQL: `cargo test -p redcell-web --test requests`.

#[macro_use]
mod common;

use axum::http::Method;
use common::*;
use serde_json::Value;

stories!(open311_client_posts_and_reads, resident_and_back_office_pages);

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
    assert_eq!(r["lat"].as_f64(), Some(30.2741));
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

fn multipart(pairs: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let b = "XyZrequestsBoundary";
    let mut out = Vec::new();
    for (k, v) in pairs {
        out.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        out.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), out)
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
    let link = done.body.split("id=\"revisit-link\" href=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert!(link.starts_with("/r/revisit/"));

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
