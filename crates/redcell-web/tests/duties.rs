//! Duties through the API and the pages, on SQLite and (with `REDCELL_TEST_PG`)
//! PostgreSQL: `cargo test -p redcell-web --test duties`.

use axum::http::Method;
use calamine::{Reader, Xlsx};
use redcell_domain::i18n;
use redcell_testkit::app::*;
use serde_json::json;

stories!(api_rules_records_compliance, pages_my_duties_visit_turns_done, pages_meetings_activities_channel_and_links);

fn today() -> String {
    redcell_web::today().to_string()
}

fn tomorrow() -> String {
    (redcell_web::today() + chrono::Duration::days(1)).to_string()
}

async fn api_rules_records_compliance(t: &TestApp) {
    let w = world(t).await;
    let (a, sec) = (&w.admin, &w.sec1);
    let b = &w.b[0];
    let rules = t.get("/api/v1/duties/rules", a).await;
    rules.expect(200);
    assert_eq!(rules.json().as_array().unwrap().len(), redcell_domain::duties::shipped_rules().len());

    let gd = rules.json().as_array().unwrap().iter().find(|r| r["code"] == "grid_day").unwrap().clone();
    let mut body: serde_json::Value = serde_json::from_str(gd["body"].as_str().unwrap()).unwrap();
    body["every"] = json!("weeks");
    body["n"] = json!(0);
    t.patch("/api/v1/duties/rules/grid_day", a, body.clone()).await.field_error(422, "n");
    body["every"] = json!("weekday");
    body["weekday"] = json!("wed");
    let r = t.patch("/api/v1/duties/rules/grid_day", a, body.clone()).await;
    r.expect(200);
    t.patch("/api/v1/duties/rules/grid_day", sec, body).await.expect(403);
    let toml = t.get("/api/v1/duties/rules.toml", a).await;
    toml.expect(200);

    let visit = json!({"visitor_kind": "cadre", "visitor_id": b.cadre.to_string(), "target_kind": "grid",
        "target_id": b.grid.to_string(), "visited_on": today(), "purpose": "routine", "learned": "楼道灯坏了"});
    let v = t.post("/api/v1/duties/visits", sec, visit.clone()).await;
    v.expect(201);
    assert_eq!(v.json()["target_kind"], "grid");
    let mut fut = visit.clone();
    fut["visited_on"] = json!(tomorrow());
    t.post("/api/v1/duties/visits", sec, fut).await.field_error(422, "visited_on");
    let mut other = visit.clone();
    other["target_kind"] = json!("household");
    other["target_id"] = json!(w.b[1].household.to_string());
    t.post("/api/v1/duties/visits", sec, other).await.expect(403);

    let meeting = json!({"org_id": b.branch.to_string(), "kind": "general_meeting", "held_on": today(),
        "topic": "支部党员大会", "attendance": [{"member_id": b.member, "presence": "present"}], "quorum_claimed": true});
    let m = t.post("/api/v1/duties/meetings", sec, meeting.clone()).await;
    m.expect(201);
    assert_eq!(m.json()["quorum_met"], true);
    let mut fut = meeting.clone();
    fut["held_on"] = json!(tomorrow());
    t.post("/api/v1/duties/meetings", sec, fut).await.field_error(422, "held_on");
    let mut outside = meeting.clone();
    outside["attendance"] = json!([{"member_id": w.b[1].member, "presence": "present"}]);
    t.post("/api/v1/duties/meetings", a, outside).await.field_error(422, "attendance[0]");
    let mut claimed = meeting.clone();
    claimed["attendance"] = json!([]);
    let e = t.post("/api/v1/duties/meetings", sec, claimed).await.field_error(422, "quorum_claimed");
    assert!(e["message"].as_str().unwrap().contains(i18n::DUTY_QUORUM_WITHOUT_NUMBERS));

    let c = t.get(&format!("/api/v1/duties/compliance?org_id={}", b.branch), sec).await;
    c.expect(200);
    let c = c.json();
    assert!(c["rules"].as_array().unwrap().iter().any(|r| r["rule_code"] == "general_meeting" && r["subjects"] == 1));
    t.get(&format!("/api/v1/duties/compliance?org_id={}", w.b[1].branch), sec).await.expect(404);

    let r = t.get(&format!("/api/v1/duties/compliance.xlsx?org_id={}", w.root), a).await;
    r.expect(200);
    let mut x: Xlsx<_> = Xlsx::new(std::io::Cursor::new(r.bytes)).expect("xlsx");
    let sheet = x.worksheet_range("履职合规").expect("sheet");
    let header: Vec<String> = sheet.rows().nth(1).unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(header[1], "规则");
    assert!(sheet.rows().count() > 3, "rows for each branch's duties");
    t.get("/api/v1/duties/notices", sec).await.expect(200);
    t.get("/api/v1/duties/my", sec).await.expect(200);
}

/// The status of the duty named `rule` on the "my duties" page.
fn status_of(html: &str, rule: &str) -> String {
    let at = html.find(&format!("<b>{rule}</b>")).unwrap_or_else(|| panic!("{rule} not on page"));
    let before = &html[..at];
    let k = before.rfind("data-status=\"").expect("data-status") + "data-status=\"".len();
    before[k..k + before[k..].find('"').unwrap()].to_string()
}

async fn pages_my_duties_visit_turns_done(t: &TestApp) {
    let w = world(t).await;
    let b = &w.b[0];
    let sc = t
        .post(
            "/api/v1/cadres",
            &w.admin,
            json!({"org_id": w.root, "kind": "stationed_cadre", "name": "驻格干部丁", "stations": [b.branch]}),
        )
        .await;
    sc.expect(201);
    let sc = sc.json()["id"].as_i64().unwrap();
    redcell_store::duties::link_account(&t.db, w.root, w.sec1_id, sc).await.unwrap();

    let page = t.page("/duties/my", &w.sec1).await;
    page.expect(200);
    let html = page.body.clone();
    assert_ne!(status_of(&html, "驻格干部每周二网格日"), "done");
    let mut values = form_values(&html, "/duties/my/visit");
    assert_eq!(field(&values, "place"), Some(format!("grid:{}", b.grid).as_str()), "the grid comes first");

    set_field(&mut values, "visited_on", &tomorrow());
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = t.session_form("/duties/my/visit", &w.sec1, &pairs).await;
    r.expect(422);
    assert!(r.body.contains(i18n::DUTY_VISIT_FUTURE));

    set_field(&mut values, "visited_on", &today());
    set_field(&mut values, "learned", "网格内一切正常");
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = t.session_form("/duties/my/visit", &w.sec1, &pairs).await;
    r.expect(303);
    assert_eq!(r.location(), "/duties/my?saved=1");
    let page = t.page("/duties/my?saved=1", &w.sec1).await;
    page.expect(200);
    assert_eq!(status_of(&page.body, "驻格干部每周二网格日"), "done");
    assert!(page.body.contains("id=\"visit-saved\""));

    let org = t.page(&format!("/orgs/{}/duties", b.branch), &w.sec1).await;
    org.expect(200);
    assert!(org.body.contains("<svg") && org.body.contains("沉默支部"));
    t.page("/duties/inbox", &w.sec1).await.expect(200);
    t.page("/duties/rules", &w.admin).await.expect(200);
    let rule = t.page("/duties/rules/grid_day", &w.admin).await;
    rule.expect(200);
    let mut values = form_values(&rule.body, "/duties/rules/grid_day");
    set_field(&mut values, "every", "weeks");
    set_field(&mut values, "n", "0");
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = t.session_form("/duties/rules/grid_day", &w.admin, &pairs).await;
    r.expect(422);
    assert!(r.body.contains(i18n::DUTY_ZERO_WEEKS));
    set_field(&mut values, "every", "weekday");
    set_field(&mut values, "n", "");
    set_field(&mut values, "warn_days", "2");
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    t.session_form("/duties/rules/grid_day", &w.admin, &pairs).await.expect(303);
}

/// POST a `multipart/form-data` form: text fields, then files under `photos`.
async fn post_multipart(
    t: &TestApp,
    path: &str,
    session: &str,
    pairs: &[(String, String)],
    photos: &[(&str, &[u8])],
) -> Resp {
    let mut form = Multipart::new();
    for (k, v) in pairs {
        form = form.text(k, v);
    }
    for (name, bytes) in photos {
        form = form.file("photos", name, "image/png", bytes);
    }
    t.post_multipart(path, session, form).await
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn pages_meetings_activities_channel_and_links(t: &TestApp) {
    let w = world(t).await;
    let b = &w.b[0];
    let mut tx = t.db.begin().await.unwrap();
    redcell_store::requests::seed::default_categories(&mut tx, w.root).await.unwrap();
    tx.commit().await.unwrap();

    // ---- a meeting from the page, each bad input named beside its field
    let new = t.page(&format!("/orgs/{}/duties/meetings/new", b.branch), &w.sec1).await;
    new.expect(200);
    let action = format!("/orgs/{}/duties/meetings", b.branch);
    let values = form_values(&new.body, &action);
    // Presence is marked, not assumed: members are expected and start absent.
    assert_eq!(
        field(&values, &format!("att_{}", b.member)),
        Some("absent"),
        "members are expected, not assumed present"
    );
    assert!(new.body.contains("id=\"all-present\""));
    // Attendance taken and nobody there: not a meeting held.
    let mut nobody = values.clone();
    set_field(&mut nobody, "kind", "committee");
    set_field(&mut nobody, "topic", "研究近期工作");
    set_field(&mut nobody, "held_on", &today());
    let r = post_multipart(t, &action, &w.sec1, &nobody, &[]).await;
    r.expect(422);
    assert!(r.body.contains(i18n::DUTY_NOBODY_PRESENT), "{}", r.body);
    // One tap marks everyone present.
    let all = t.page(&format!("/orgs/{}/duties/meetings/new?all=present", b.branch), &w.sec1).await;
    let mut values = form_values(&all.body, &action);
    assert_eq!(field(&values, &format!("att_{}", b.member)), Some("present"));
    set_field(&mut values, "kind", "general_meeting");
    set_field(&mut values, "topic", "学习传达全会精神");
    set_field(&mut values, "held_on", &tomorrow());
    let r = post_multipart(t, &action, &w.sec1, &values, &[]).await;
    r.expect(422);
    assert!(r.body.contains("id=\"err-held_on\"") && r.body.contains(i18n::DUTY_MEETING_FUTURE));
    set_field(&mut values, "held_on", &today());
    let mut outsider = values.clone();
    outsider.push((format!("att_{}", w.b[1].member), "present".into()));
    let r = post_multipart(t, &action, &w.sec1, &outsider, &[]).await;
    r.expect(422);
    assert!(r.body.contains("id=\"err-attendance\"") && r.body.contains(i18n::DUTY_ATTENDEE_OUTSIDE), "{}", r.body);
    let mut thin = values.clone();
    set_field(&mut thin, &format!("att_{}", b.member), "absent");
    set_field(&mut thin, "quorum_claimed", "1");
    let r = post_multipart(t, &action, &w.sec1, &thin, &[]).await;
    r.expect(422);
    assert!(r.body.contains("id=\"err-quorum\"") && r.body.contains(i18n::DUTY_QUORUM_NOT_MET));
    let before: i64 = t.db.int("SELECT COUNT(*) FROM duty_meetings", redcell_store::args![]).await.unwrap();
    assert_eq!(before, 0, "refused forms wrote nothing");

    set_field(&mut values, "quorum_claimed", "1");
    set_field(&mut values, "minutes", "全体党员到会");
    let r = post_multipart(t, &action, &w.sec1, &values, &[("会场.png", PNG)]).await;
    r.expect(303);
    let detail = r.location();
    assert!(detail.starts_with("/duties/meetings/") && detail.ends_with("?saved=1"), "{detail}");
    let page = t.page(&detail, &w.sec1).await;
    page.expect(200);
    assert!(page.body.contains("已达到") && page.body.contains("1/1") && page.body.contains("全体党员到会"));
    assert!(page.body.contains(&b.resident_names[0]) && page.body.contains("出席"));
    let img = page.body.find("<img src=\"/files/").expect("photo shown") + "<img src=\"".len();
    let src = &page.body[img..img + page.body[img..].find('"').unwrap()];
    let photo = t.page(src, &w.sec1).await;
    photo.expect(200);
    assert_eq!(photo.header("content-type").as_deref(), Some("image/png"));

    // ---- an activity with participants
    let act_action = format!("/orgs/{}/duties/activities", b.branch);
    let new = t.page(&format!("/orgs/{}/duties/activities/new", b.branch), &w.sec1).await;
    new.expect(200);
    let mut values = form_values(&new.body, &act_action);
    set_field(&mut values, "kind", "service");
    values.push(("m".into(), b.member.to_string()));
    let r = t.session_form(&act_action, &w.sec1, &pairs(&values)).await;
    r.expect(422);
    assert!(r.body.contains(i18n::DUTY_MISSING), "the title is required");
    set_field(&mut values, "title", "为独居老人送餐");
    let r = t.session_form(&act_action, &w.sec1, &pairs(&values)).await;
    r.expect(303);
    let page = t.page(&r.location(), &w.sec1).await;
    page.expect(200);
    assert!(page.body.contains("为独居老人送餐") && page.body.contains(&b.resident_names[0]));

    let org = t.page(&format!("/orgs/{}/duties", b.branch), &w.sec1).await;
    org.expect(200);
    assert!(org.body.contains("学习传达全会精神") && org.body.contains("为独居老人送餐") && org.body.contains("1张"));
    let recs = t.get(&format!("/api/v1/duties/records?org_id={}", b.branch), &w.sec1).await;
    recs.expect(200);
    assert_eq!(recs.json().as_array().unwrap().len(), 2);

    // ---- the admin links sec1's account to the branch's cadre from the user page
    let user = t.page(&format!("/admin/users/{}", w.sec1_id), &w.admin).await;
    assert!(user.body.contains(&format!("/admin/users/{}/duty-link", w.sec1_id)));
    let link_action = format!("/admin/users/{}/duty-link", w.sec1_id);
    let lp = t.page(&link_action, &w.admin).await;
    lp.expect(200);
    let mut values = form_values(&lp.body, &link_action);
    set_field(&mut values, "cadre_id", "99999999");
    let r = t.session_form(&link_action, &w.admin, &pairs(&values)).await;
    r.expect(422);
    assert!(r.body.contains(i18n::DUTY_LINK_UNKNOWN_CADRE));
    set_field(&mut values, "cadre_id", &b.cadre.to_string());
    let r = t.session_form(&link_action, &w.admin, &pairs(&values)).await;
    r.expect(200);
    assert!(r.body.contains(&b.cadre_name), "{}", r.body);
    t.session_form(&link_action, &w.sec1, &pairs(&values)).await.expect(403);

    // ---- a visit that raises a request without retyping
    let my = t.page("/duties/my", &w.sec1).await;
    my.expect(200);
    let mut values = form_values(&my.body, "/duties/my/visit");
    set_field(&mut values, "place", &format!("household:{}", b.household));
    set_field(&mut values, "learned", "楼道灯坏了一个月");
    set_field(&mut values, "raise", "1");
    let r = t.session_form("/duties/my/visit", &w.sec1, &pairs(&values)).await;
    r.expect(422);
    assert!(r.body.contains(i18n::DUTY_REQUEST_NEEDS_CATEGORY));
    set_field(&mut values, "req_category", "facility");
    let r = t.session_form("/duties/my/visit", &w.sec1, &pairs(&values)).await;
    r.expect(303);
    let code = r.location().split("request=").nth(1).expect("request code").to_string();
    let page = t.page(&r.location(), &w.sec1).await;
    assert!(page.body.contains(&code));
    let (desc, linked): (String, i64) = t
        .db
        .one(
            "SELECT r.description, COUNT(v.id) FROM requests r JOIN duty_visits v ON v.request_id = r.id WHERE r.code = $1 GROUP BY r.description",
            redcell_store::args![code.as_str()],
        )
        .await
        .unwrap();
    assert_eq!((desc.as_str(), linked), ("楼道灯坏了一个月", 1));

    // The API takes the same request section.
    let v = t
        .post(
            "/api/v1/duties/visits",
            &w.sec1,
            json!({"target_kind": "grid", "target_id": b.grid.to_string(), "visited_on": today(),
                "learned": "垃圾清运不及时", "request": {"category": "facility"}}),
        )
        .await;
    v.expect(201);
    assert!(v.json()["request_id"].as_i64().is_some(), "{}", v.json());
    t.post(
        "/api/v1/duties/visits",
        &w.sec1,
        json!({"target_kind": "grid", "target_id": b.grid.to_string(), "visited_on": today(), "request": {}}),
    )
    .await
    .field_error(422, "category");

    // ---- the outbound channel: http:// only, off until set, a test that never pretends
    let ch = t.page("/admin/duties/channel", &w.admin).await;
    ch.expect(200);
    assert!(ch.body.contains("未配置") && ch.body.contains("只支持 <b>http://</b>"));
    t.page("/admin/duties/channel", &w.sec1).await.expect(403);
    let mut values = form_values(&ch.body, "/admin/duties/channel");
    set_field(&mut values, "webhook_url", "https://hooks.example.org/x");
    let r = t.session_form("/admin/duties/channel", &w.admin, &pairs(&values)).await;
    r.expect(422);
    assert!(r.body.contains("id=\"err-webhook_url\"") && r.body.contains(i18n::DUTY_WEBHOOK_HTTP_ONLY));
    let test_form = form_values(&ch.body, "/admin/duties/channel/test");
    let r = t.session_form("/admin/duties/channel/test", &w.admin, &pairs(&test_form)).await;
    r.expect(422);
    assert!(r.body.contains(i18n::DUTY_WEBHOOK_OFF) && r.body.contains("暂无发送记录"));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/hook", l.local_addr().unwrap());
    drop(l);
    set_field(&mut values, "webhook_url", &dead);
    let r = t.session_form("/admin/duties/channel", &w.admin, &pairs(&values)).await;
    r.expect(200);
    assert!(r.body.contains("已开启") && r.body.contains(i18n::DUTY_CHANNEL_SAVED));
    let r = t.session_form("/admin/duties/channel/test", &w.admin, &pairs(&test_form)).await;
    r.expect(200);
    assert!(r.body.contains("测试消息发送失败") && r.body.contains("失败") && !r.body.contains("测试消息已发送"));
    // A loopback receiver is refused on a shared server; only the class shows.
    assert!(r.body.contains(i18n::DUTY_CHANNEL_BLOCKED) && !r.body.contains("HTTP/1.1"));

    let api = t.get("/api/v1/duties/channel", &w.admin).await;
    api.expect(200);
    assert_eq!(api.json()["http_only"], true);
    assert_eq!(api.json()["deliveries"][0]["ok"], false);
    t.api(Method::PUT, "/api/v1/duties/channel", Some(&w.admin), Some(&json!({"webhook_url": "ftp://x"})))
        .await
        .field_error(422, "webhook_url");
    let off = t.api(Method::PUT, "/api/v1/duties/channel", Some(&w.admin), Some(&json!({"webhook_url": null}))).await;
    off.expect(200);
    assert!(off.json()["webhook_url"].is_null());
    t.api(Method::POST, "/api/v1/duties/channel/test", Some(&w.admin), None).await.field_error(422, "webhook_url");
    let r = t
        .api(
            Method::PUT,
            &format!("/api/v1/users/{}/duty-link", w.sec1_id),
            Some(&w.admin),
            Some(&json!({"member_id": b.member})),
        )
        .await;
    r.expect(204);
    let m: (i64,) =
        t.db.one("SELECT member_id FROM duty_member_accounts WHERE user_id = $1", redcell_store::args![w.sec1_id])
            .await
            .unwrap();
    assert_eq!(m.0, b.member);
}
