//! Duties through the API and the pages, on SQLite and (with `REDCELL_TEST_PG`)
//! PostgreSQL: `cargo test -p redcell-web --test duties`.

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{Request, header};
use calamine::{Reader, Xlsx};
use common::*;
use http_body_util::BodyExt;
use redcell_domain::i18n;
use serde_json::json;
use tower::ServiceExt;

stories!(api_rules_records_compliance, pages_my_duties_visit_turns_done);

fn today() -> String {
    redcell_web::today().to_string()
}

fn tomorrow() -> String {
    (redcell_web::today() + chrono::Duration::days(1)).to_string()
}

async fn get_bytes(t: &TestApp, path: &str, token: &str) -> (u16, Vec<u8>) {
    let app = redcell_web::app(std::sync::Arc::new(redcell_web::AppState {
        db: t.db.clone(),
        secure_cookies: false,
        trust_forwarded: false,
    }));
    let req = Request::builder()
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let res = app.oneshot(req).await.expect("infallible");
    let status = res.status().as_u16();
    (status, res.into_body().collect().await.expect("body").to_bytes().to_vec())
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

    let (status, bytes) = get_bytes(t, &format!("/api/v1/duties/compliance.xlsx?org_id={}", w.root), a).await;
    assert_eq!(status, 200);
    let mut x: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).expect("xlsx");
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
