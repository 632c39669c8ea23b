//! Contact responsibility and full coverage (联系全覆盖) through the API and the
//! pages, on SQLite and (with `REDCELL_TEST_PG`) PostgreSQL:
//! `cargo test -p redcell-web --test coverage`.

use calamine::{Data, Reader, Xlsx};
use redcell_testkit::app::id_of as id;
use redcell_testkit::app::*;
use serde_json::{Value, json};

stories!(
    api_contacts_lifecycle,
    api_quotas_and_exemptions,
    api_report_plan_and_rosters,
    branch_scope_everywhere,
    pages_report_plan_and_forms,
);

fn fields(r: &Resp) -> Vec<String> {
    let v = r.json();
    let mut out: Vec<String> = v["error"]["fields"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["field"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    if let Some(f) = v["error"]["field"].as_str() {
        out.push(f.to_string());
    }
    out
}

async fn api_contacts_lifecycle(t: &TestApp) {
    let w = world(t).await;
    let a = &w.admin;
    let b = &w.b[0];
    let c = t
        .post(
            "/api/v1/contacts",
            a,
            json!({"level": "member_household", "from_id": b.member, "to_id": b.household, "reason": "就近"}),
        )
        .await;
    c.expect(201);
    let c = c.json();
    assert_eq!(c["level"], "member_household");
    assert_eq!(c["to_kind"], "household");
    assert!(c["until"].is_null());

    // Bad input names every field.
    let r = t.post("/api/v1/contacts", a, json!({"level": "朋友", "since": "2999-01-01"})).await;
    r.expect(422);
    let f = fields(&r);
    for x in ["level", "from_id", "to_id", "since"] {
        assert!(f.iter().any(|y| y == x), "{x} not named: {}", r.body);
    }
    // One member per household.
    let r = t
        .post(
            "/api/v1/contacts",
            a,
            json!({"level": "member_household", "from_id": w.b[1].member, "to_id": b.household}),
        )
        .await;
    // (the other branch's member is visible to the admin, so the refusal is the household rule)
    r.expect(422);
    assert!(fields(&r).contains(&"to_id".to_string()), "{}", r.body);
    // The roster: today's has it, the day before its start has nothing.
    let list = t.get(&format!("/api/v1/contacts?org_id={}", w.root), a).await;
    list.expect(200);
    assert_eq!(list.json()["total"], 1);
    assert_eq!(list.json()["items"][0]["from_name"], b.resident_names[0]);
    let yesterday = redcell_store::coverage::today() - chrono::Duration::days(1);
    let old = t.get(&format!("/api/v1/contacts?org_id={}&date={yesterday}", w.root), a).await;
    assert_eq!(old.json()["total"], 0);
    // End: a reason is required; once only.
    let cid = id(&c);
    let r = t.post(&format!("/api/v1/contacts/{cid}/end"), a, json!({})).await;
    r.expect(422);
    assert!(fields(&r).contains(&"reason".to_string()));
    let r = t.post(&format!("/api/v1/contacts/{cid}/end"), a, json!({"reason": "迁出"})).await;
    r.expect(200);
    assert!(r.json()["until"].is_string());
    let r = t.post(&format!("/api/v1/contacts/{cid}/end"), a, json!({"reason": "再次"})).await;
    r.expect(422);
    assert!(fields(&r).contains(&"until".to_string()));
    let hist = t.get(&format!("/api/v1/contacts?org_id={}&history=true", w.root), a).await;
    assert_eq!(hist.json()["total"], 1);
    assert_eq!(hist.json()["items"][0]["end_reason"], "迁出");
    // The OpenAPI document lists the new resources.
    let doc = t.api(axum::http::Method::GET, "/api/v1/openapi.json", None, None).await;
    for p in ["/api/v1/coverage", "/api/v1/contacts", "/api/v1/plans/{id}/apply", "/api/v1/coverage/rosters.xlsx"] {
        assert!(doc.json()["paths"][p].is_object(), "{p} missing from OpenAPI");
    }
}

async fn api_quotas_and_exemptions(t: &TestApp) {
    let w = world(t).await;
    let a = &w.admin;
    let b = &w.b[0];
    let q = t.get(&format!("/api/v1/quotas?org_id={}", b.branch), a).await;
    q.expect(200);
    assert!(q.json()["source_org_id"].is_null());
    assert_eq!(q.json()["rule"]["levels"]["member_household"]["max"], 10);
    let r = t.post(&format!("/api/v1/quotas/{}/preset", b.community), a, json!({"preset": "rural"})).await;
    r.expect(200);
    let q = t.get(&format!("/api/v1/quotas?org_id={}", b.branch), a).await;
    assert_eq!(q.json()["source_org_id"], b.community);
    assert_eq!(q.json()["rule"]["levels"]["member_household"]["min"], 10);
    assert_eq!(q.json()["rule"]["levels"]["member_household"]["max"], 15);
    let r = t.post(&format!("/api/v1/quotas/{}/preset", b.community), a, json!({"preset": "city"})).await;
    r.expect(422);
    assert!(fields(&r).contains(&"preset".to_string()));
    let r = t
        .api(
            axum::http::Method::PUT,
            &format!("/api/v1/quotas/{}", b.branch),
            Some(a),
            Some(&json!({"member_household_min": 9, "member_household_max": 3, "central_member_max": "x"})),
        )
        .await;
    r.expect(422);
    let f = fields(&r);
    assert!(f.contains(&"member_household_min".to_string()) && f.contains(&"central_member_min".to_string()), "{f:?}");
    let r = t
        .api(
            axum::http::Method::PUT,
            &format!("/api/v1/quotas/{}", b.branch),
            Some(a),
            Some(&json!({"member_household_min": 1, "member_household_max": 3})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["own"], true);
    // The secretary cannot touch the street's rule.
    let r =
        t.api(axum::http::Method::PUT, &format!("/api/v1/quotas/{}", w.root), Some(&w.sec1), Some(&json!({}))).await;
    assert!(matches!(r.code(), 403 | 404), "{}", r.body);
    let r = t.api(axum::http::Method::DELETE, &format!("/api/v1/quotas/{}", b.branch), Some(a), None).await;
    r.expect(200);
    assert_eq!(r.json()["source_org_id"], b.community);

    // Exemption: branch (secretary) → community → street (admin), in order.
    let e = t
        .post("/api/v1/exemptions", &w.sec1, json!({"member_id": b.member, "reason": "old_frail", "note": "卧床"}))
        .await;
    e.expect(201);
    let eid = id(&e.json());
    let r = t
        .post(&format!("/api/v1/exemptions/{eid}/decide"), a, json!({"step": "community", "decision": "approve"}))
        .await;
    r.expect(422);
    assert!(fields(&r).contains(&"step".to_string()));
    let r = t
        .post(
            &format!("/api/v1/exemptions/{eid}/decide"),
            &w.sec1,
            json!({"step": "branch", "decision": "approve", "note": "支部大会"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["status"], "branch_approved");
    let r = t
        .post(&format!("/api/v1/exemptions/{eid}/decide"), &w.sec1, json!({"step": "community", "decision": "approve"}))
        .await;
    r.expect(403);
    let r = t
        .post(&format!("/api/v1/exemptions/{eid}/decide"), a, json!({"step": "community", "decision": "reject"}))
        .await;
    r.expect(422);
    assert!(fields(&r).contains(&"note".to_string()));
    t.post(&format!("/api/v1/exemptions/{eid}/decide"), a, json!({"step": "community", "decision": "approve"}))
        .await
        .expect(200);
    let r =
        t.post(&format!("/api/v1/exemptions/{eid}/decide"), a, json!({"step": "street", "decision": "approve"})).await;
    r.expect(200);
    assert_eq!(r.json()["status"], "exempt");
    // The exempt member takes no households.
    let r = t
        .post("/api/v1/contacts", a, json!({"level": "member_household", "from_id": b.member, "to_id": b.household}))
        .await;
    r.expect(422);
    assert!(fields(&r).contains(&"from_id".to_string()));
    let list = t.get(&format!("/api/v1/exemptions?org_id={}&status=exempt", w.root), a).await;
    assert_eq!(list.json()["total"], 1);
}

async fn api_report_plan_and_rosters(t: &TestApp) {
    let w = world(t).await;
    let a = &w.admin;
    let rep = t.get(&format!("/api/v1/coverage?org_id={}", w.root), a).await;
    rep.expect(200);
    let rep = rep.json();
    assert_eq!(rep["households"], 2);
    assert_eq!(rep["households_covered"], 0);
    assert_eq!(rep["communities_with_leader"], 0);
    let gap = |r: &Value, k: &str| r["gaps"].as_array().unwrap().iter().find(|g| g["key"] == k).cloned().unwrap();
    assert_eq!(gap(&rep, "households_without_member")["total"], 2);
    assert_eq!(gap(&rep, "communities_without_leader")["total"], 2);
    assert_eq!(gap(&rep, "members_without_cadre")["total"], 2);
    let hrefs: Vec<&str> =
        rep["gaps"][0]["items"].as_array().unwrap().iter().map(|i| i["href"].as_str().unwrap()).collect();
    assert!(hrefs.contains(&format!("/households/{}", w.b[0].household).as_str()));
    assert_eq!(rep["rates"][0]["key"], "households");
    // Without an organisation: the caller's highest one.
    let home = t.get("/api/v1/coverage", &w.sec1).await;
    home.expect(200);
    assert_eq!(home.json()["org"]["id"], w.b[0].branch);
    t.get("/api/v1/coverage?org_id=x", a).await.expect(422);

    // Propose → changes → apply.
    let pr = t.post("/api/v1/plans", a, json!({"org_id": w.root, "move_penalty": 100})).await;
    pr.expect(201);
    let pr = pr.json();
    assert_eq!(pr["covered_before"], 0);
    assert_eq!(pr["covered_after"], 2);
    assert_eq!(pr["cost"], pr["lower_bound"]);
    let pid = id(&pr);
    let ch = t.get(&format!("/api/v1/plans/{pid}/changes"), a).await;
    ch.expect(200);
    assert_eq!(ch.json()["total"], 2);
    assert_eq!(ch.json()["items"][0]["new_distance"], 0);
    let md = t.get(&format!("/api/v1/plans/{pid}/members"), a).await;
    assert_eq!(md.json()["total"], 2);
    let r = t.post(&format!("/api/v1/plans/{pid}/apply"), a, json!({})).await;
    r.expect(422);
    assert!(fields(&r).contains(&"reason".to_string()));
    let r = t.post(&format!("/api/v1/plans/{pid}/apply"), a, json!({"reason": "首次分配"})).await;
    r.expect(200);
    assert_eq!(r.json()["status"], "applied");
    let rep = t.get(&format!("/api/v1/coverage?org_id={}", w.root), a).await.json();
    assert_eq!(rep["households_covered"], 2);
    // A stale proposal is refused; discard works once.
    let p2 = id(&t.post("/api/v1/plans", a, json!({"org_id": w.root})).await.json());
    let cs = t.get(&format!("/api/v1/contacts?org_id={}", w.root), a).await.json();
    let cid = cs["items"][0]["id"].as_i64().unwrap();
    t.post(&format!("/api/v1/contacts/{cid}/end"), a, json!({"reason": "去世"})).await.expect(200);
    let r = t.post(&format!("/api/v1/plans/{p2}/apply"), a, json!({"reason": "旧方案"})).await;
    r.expect(422);
    assert!(fields(&r).contains(&"proposal".to_string()));
    t.post(&format!("/api/v1/plans/{p2}/discard"), a, json!({"reason": "过时"})).await.expect(200);
    t.post(&format!("/api/v1/plans/{p2}/discard"), a, json!({})).await.expect(422);
    let listed = t.get(&format!("/api/v1/plans?org_id={}", w.root), a).await.json();
    assert_eq!(listed["total"], 2);

    // The rosters as xlsx: opens, masked phones, no formulas, audited.
    let r = t.get(&format!("/api/v1/coverage/rosters.xlsx?org_id={}", w.root), a).await;
    r.expect(200);
    let ct = r.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("application/vnd.openxmlformats"), "{ct}");
    let mut x: Xlsx<_> = Xlsx::new(std::io::Cursor::new(r.bytes)).expect("opens with calamine");
    let names = x.sheet_names();
    assert!(names.iter().any(|n| n == "党员联系户"), "{names:?}");
    let sheet = x.worksheet_range("党员联系户").unwrap();
    let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    // Title, header, one contact left after the ending above.
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[1][0], "序号");
    assert_eq!(sheet.get_value((2, 0)), Some(&Data::Float(1.0)));
    let all_text: String = rows.concat().join("|");
    assert!(all_text.contains("****"), "phones are shown masked: {all_text}");
    for s in t.secrets() {
        assert!(!all_text.contains(&s), "clear value {s} in the workbook");
    }
    for n in x.sheet_names() {
        let f = x.worksheet_formula(&n).unwrap();
        assert!(f.used_cells().all(|(_, _, v)| v.is_empty()), "a live formula in {n}");
    }
    let audit = t.get("/api/v1/audit?action=export", a).await;
    // (the admin cannot read the audit trail; count in the database instead)
    assert_eq!(audit.code(), 403);
    let n =
        t.db.int(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND entity = 'contacts'",
            redcell_store::Args::new(),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
}

async fn branch_scope_everywhere(t: &TestApp) {
    let w = world(t).await;
    let (a, sec) = (&w.admin, &w.sec1);
    let (mine, other) = (&w.b[0], &w.b[1]);
    // Report and rosters: the subtree of the secretary's branch only.
    t.get(&format!("/api/v1/coverage?org_id={}", w.root), sec).await.expect(404);
    t.get(&format!("/api/v1/coverage?org_id={}", other.branch), sec).await.expect(404);
    let r = t.get(&format!("/api/v1/coverage?org_id={}", mine.branch), sec).await;
    r.expect(200);
    assert_eq!(r.json()["households"], 1);
    assert!(!r.body.contains(B2_MARK), "another branch leaked into the report");
    t.get(&format!("/api/v1/coverage/rosters.xlsx?org_id={}", w.root), sec).await.expect(404);
    t.get(&format!("/api/v1/contacts?org_id={}", other.branch), sec).await.expect(404);
    // Plans: the secretary plans their branch, not the street nor the other branch.
    t.post("/api/v1/plans", sec, json!({"org_id": w.root})).await.expect(404);
    t.post("/api/v1/plans", sec, json!({"org_id": other.branch})).await.expect(404);
    let p = t.post("/api/v1/plans", sec, json!({"org_id": mine.branch})).await;
    p.expect(201);
    assert_eq!(p.json()["households"], 1);
    let street = id(&t.post("/api/v1/plans", a, json!({"org_id": w.root})).await.json());
    t.get(&format!("/api/v1/plans/{street}"), sec).await.expect(404);
    let r = t.post(&format!("/api/v1/plans/{street}/apply"), sec, json!({"reason": "越权"})).await;
    assert!(matches!(r.code(), 403 | 404));
    assert_eq!(t.get(&format!("/api/v1/plans/{street}"), a).await.json()["status"], "open");
    // Contacts on the other branch are refused and nothing is written.
    let r = t
        .post(
            "/api/v1/contacts",
            sec,
            json!({"level": "member_household", "from_id": mine.member, "to_id": other.household}),
        )
        .await;
    assert!(matches!(r.code(), 403 | 404 | 422), "{}", r.body);
    assert_eq!(t.get(&format!("/api/v1/contacts?org_id={}&history=true", w.root), a).await.json()["total"], 0);
    // The secretary's own branch works end to end.
    let pid = id(&p.json());
    t.post(&format!("/api/v1/plans/{pid}/apply"), sec, json!({"reason": "支部调整"})).await.expect(200);
    let r = t.get(&format!("/api/v1/coverage/rosters.xlsx?org_id={}", mine.branch), sec).await;
    r.expect(200);
    let mut x: Xlsx<_> = Xlsx::new(std::io::Cursor::new(r.bytes)).unwrap();
    let sheet = x.worksheet_range("党员联系户").unwrap();
    assert_eq!(sheet.rows().count(), 3);
    let text: String = sheet.rows().flat_map(|r| r.iter().map(|c| c.to_string())).collect::<Vec<_>>().join("|");
    assert!(!text.contains(B2_MARK));
}

async fn pages_report_plan_and_forms(t: &TestApp) {
    let w = world(t).await;
    let s = &w.admin;
    let root = w.root;
    // The organisation page links to the coverage pages.
    let org = t.page(&format!("/orgs/{root}"), s).await;
    org.expect(200);
    for l in ["coverage", "contacts", "plans", "quotas", "exemptions"] {
        assert!(org.body.contains(&format!("/orgs/{root}/{l}")), "no link to {l}");
    }
    // The report: SVG made on the server, no inline style or script, gaps linked.
    let r = t.page(&format!("/orgs/{root}/coverage"), s).await;
    r.expect(200);
    assert!(r.body.contains("<svg class=\"chart\""));
    assert!(r.body.contains(&format!("/households/{}", w.b[0].household)));
    assert!(r.body.contains("无党员联系的住户"));
    assert!(!r.body.contains("style=") && !r.body.contains("<script>"), "inline style or script");
    // The grid page shows its coverage.
    let g = t.page(&format!("/grids/{}", w.b[0].grid), s).await;
    g.expect(200);
    assert!(g.body.contains("住户有党员联系"));

    // Start a contact through the form: bad input shown beside the fields.
    let page = t.page(&format!("/orgs/{root}/contacts"), s).await;
    page.expect(200);
    let csrf = csrf_of(&page.body);
    let bad = t
        .session_form(
            &format!("/orgs/{root}/contacts"),
            s,
            &[("_csrf", &csrf), ("level", "member_household"), ("from_id", "abc"), ("to_id", "")],
        )
        .await;
    bad.expect(422);
    assert!(bad.body.contains("field-error"));
    // Text in an id field is searched in scope (the picker's fallback): nothing called "abc".
    assert!(bad.body.contains(redcell_domain::i18n::PICK_NONE) && bad.body.contains("必填"));
    // Without the CSRF token nothing happens.
    let member = w.b[0].member.to_string();
    let household = w.b[0].household.to_string();
    let no = t
        .session_form(
            &format!("/orgs/{root}/contacts"),
            s,
            &[("level", "member_household"), ("from_id", &member), ("to_id", &household)],
        )
        .await;
    no.expect(403);
    let ok = t
        .session_form(
            &format!("/orgs/{root}/contacts"),
            s,
            &[("_csrf", &csrf), ("level", "member_household"), ("from_id", &member), ("to_id", &household)],
        )
        .await;
    ok.expect(303);
    let list = t.page(&format!("/orgs/{root}/contacts"), s).await;
    assert!(list.body.contains(&w.b[0].resident_names[0]));
    assert!(list.body.contains("/contacts/"));

    // Quotas: a preset through the form.
    let q = t.page(&format!("/orgs/{root}/quotas"), s).await;
    q.expect(200);
    let r = t.session_form(&format!("/orgs/{root}/quotas/preset"), s, &[("_csrf", &csrf), ("preset", "rural")]).await;
    r.expect(303);
    let q = t.page(&format!("/orgs/{root}/quotas"), s).await;
    assert!(q.body.contains("农村金字塔"));
    let r = t
        .session_form(
            &format!("/orgs/{root}/quotas"),
            s,
            &[("_csrf", &csrf), ("member_household_min", "5"), ("member_household_max", "2")],
        )
        .await;
    r.expect(422);
    assert!(r.body.contains("下限不能大于上限"));

    // Exemptions page and a request through the form.
    t.page(&format!("/orgs/{root}/exemptions"), s).await.expect(200);
    let other_member = w.b[1].member.to_string();
    let r = t
        .session_form(
            &format!("/orgs/{root}/exemptions"),
            s,
            &[("_csrf", &csrf), ("member_id", &other_member), ("reason", "long_sick")],
        )
        .await;
    r.expect(303);
    let e = t.page(&format!("/orgs/{root}/exemptions"), s).await;
    assert!(e.body.contains("支部大会决定") && e.body.contains("/decide"));

    // Propose a plan through the form, review the diff, apply it.
    let r = t.session_form(&format!("/orgs/{root}/plans"), s, &[("_csrf", &csrf), ("move_penalty", "-5")]).await;
    r.expect(422);
    assert!(r.body.contains("超出允许范围"));
    let r = t.session_form(&format!("/orgs/{root}/plans"), s, &[("_csrf", &csrf), ("move_penalty", "200")]).await;
    r.expect(303);
    let plan_url = r.location();
    assert!(plan_url.starts_with("/plans/"));
    let p = t.page(&plan_url, s).await;
    p.expect(200);
    assert!(p.body.contains("逐户变化") && p.body.contains("已证明最优"));
    let r = t.session_form(&format!("{plan_url}/apply"), s, &[("_csrf", &csrf), ("reason", "")]).await;
    r.expect(422);
    assert!(r.body.contains("必填"));
    let r = t.session_form(&format!("{plan_url}/apply"), s, &[("_csrf", &csrf), ("reason", "页面应用")]).await;
    r.expect(303);
    let p = t.page(&plan_url, s).await;
    assert!(p.body.contains("已应用"));
    // The workbook from the page.
    let x = t.page(&format!("/orgs/{root}/rosters.xlsx"), s).await;
    x.expect(200);
    assert!(x.header("content-type").unwrap_or_default().contains("spreadsheetml"));
    // The secretary cannot open the street's pages.
    t.page(&format!("/orgs/{root}/coverage"), &w.sec1).await.expect(404);
    t.page(&plan_url, &w.sec1).await.expect(404);
}
