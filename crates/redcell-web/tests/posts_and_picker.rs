//! Coverage, second part, through the API and the pages: demonstration posts,
//! party roles, the picker (its JSON search and the no-JavaScript fallback),
//! on SQLite and (with `REDCELL_TEST_PG`) PostgreSQL:
//! `cargo test -p redcell-web --test posts_and_picker`.

use redcell_testkit::app::id_of as id;
use redcell_testkit::app::*;
use serde_json::{Value, json};

stories!(api_posts_roles_and_pick, pages_posts_roles_and_pickers);

fn gap_total(report: &Value, key: &str) -> i64 {
    report["gaps"].as_array().unwrap().iter().find(|g| g["key"] == key).unwrap_or_else(|| panic!("no gap {key}"))["total"]
        .as_i64()
        .unwrap()
}

async fn api_posts_roles_and_pick(t: &TestApp) {
    let w = world(t).await;
    let (a, b0, b1) = (&w.admin, &w.b[0], &w.b[1]);
    // A post at branch 1's shop.
    let post =
        t.post("/api/v1/posts", a, json!({"name": "便民服务示范岗", "member_id": b0.member, "unit_id": b0.unit})).await;
    post.expect(201);
    let post = post.json();
    assert_eq!(post["grid_id"].as_i64(), Some(b0.grid));
    assert_eq!(post["member_name"].as_str(), Some(b0.resident_names[0].as_str()));
    // Bad input names the field; the branch secretary cannot put one in branch 2.
    t.post("/api/v1/posts", a, json!({"name": "x", "member_id": b0.member})).await.field_error(422, "grid_id");
    let r = t.post("/api/v1/posts", &w.sec1, json!({"name": "x", "member_id": b0.member, "grid_id": b1.grid})).await;
    assert!(matches!(r.code(), 403 | 404 | 422), "{}", r.code());
    let list = t.get(&format!("/api/v1/posts?org_id={}", w.root), a).await;
    list.expect(200);
    assert_eq!(list.json()["total"].as_i64(), Some(1));
    t.get(&format!("/api/v1/posts/{}", id(&post)), a).await.expect(200);
    assert_eq!(t.get(&format!("/api/v1/posts/{}", id(&post)), &w.sec1).await.code(), 200);

    // The report names the post without a group leader.
    let rep = t.get(&format!("/api/v1/coverage?org_id={}", w.root), a).await.json();
    assert_eq!(gap_total(&rep, "posts_without_leader"), 1);

    // A party role through the API.
    let role = t
        .api(
            axum::http::Method::PUT,
            &format!("/api/v1/members/{}/party-role", b0.member),
            Some(a),
            Some(&json!({"party_role": "group_leader"})),
        )
        .await;
    role.expect(200);
    assert_eq!(role.json()["party_role"].as_str(), Some("group_leader"));
    let bad = t
        .api(
            axum::http::Method::PUT,
            &format!("/api/v1/members/{}/party-role", b0.member),
            Some(a),
            Some(&json!({"party_role": "boss"})),
        )
        .await;
    bad.field_error(422, "party_role");
    let duties = t.get(&format!("/api/v1/members/{}/duties", b0.member), a).await.json();
    assert_eq!(duties["posts"].as_array().unwrap().len(), 1);

    // The group leader looks after the post.
    let c = t
        .post(
            "/api/v1/contacts",
            a,
            json!({"level": "group_leader_central", "from_id": b0.member, "to_id": id(&post), "to_kind": "post"}),
        )
        .await;
    c.expect(201);
    assert_eq!(c.json()["to_name"].as_str(), Some("便民服务示范岗"));
    let wrong = t
        .post(
            "/api/v1/contacts",
            a,
            json!({"level": "member_household", "from_id": b0.member, "to_id": id(&post), "to_kind": "post"}),
        )
        .await;
    wrong.field_error(422, "to_kind");
    let rep = t.get(&format!("/api/v1/coverage?org_id={}", w.root), a).await.json();
    assert_eq!(gap_total(&rep, "posts_without_leader"), 0);

    // The picker: by name inside the caller's scope, masked (names only).
    let name = &b0.resident_names[0];
    let q = url(name);
    let found = t.get(&format!("/api/v1/pick?kind=member&q={q}"), a).await;
    found.expect(200);
    let found = found.json();
    assert_eq!(found.as_array().unwrap().iter().map(id).collect::<Vec<_>>(), vec![b0.member]);
    let other = url(&b1.resident_names[0]);
    let none = t.get(&format!("/api/v1/pick?kind=member&q={other}&org_id={}", b0.branch), &w.sec1).await;
    none.expect(200);
    assert!(none.json().as_array().unwrap().is_empty());
    t.get("/api/v1/pick?kind=nope&q=x", a).await.field_error(422, "kind");

    // Ending the post ends its contact.
    let end = t.post(&format!("/api/v1/posts/{}/end", id(&post)), a, json!({"reason": "商铺歇业"})).await;
    end.expect(200);
    assert!(end.json()["until"].is_string());
    let rep = t.get(&format!("/api/v1/coverage?org_id={}", w.root), a).await.json();
    assert_eq!(gap_total(&rep, "posts_without_leader"), 0);
}

fn url(s: &str) -> String {
    qs(&[("x", s)]).trim_start_matches("?x=").trim_start_matches("x=").to_string()
}

async fn pages_posts_roles_and_pickers(t: &TestApp) {
    let w = world(t).await;
    let (s, b0, root) = (&w.admin, &w.b[0], w.root);
    let org = t.page(&format!("/orgs/{root}/coverage"), s).await;
    org.expect(200);
    assert!(org.body.contains(&format!("/orgs/{root}/posts")));

    // Set up a post by typing the member's name (no JavaScript needed).
    let page = t.page(&format!("/orgs/{root}/posts"), s).await;
    page.expect(200);
    let csrf = csrf_of(&page.body);
    assert!(page.body.contains("data-pick=\"member\""));
    let bad = t
        .session_form(&format!("/orgs/{root}/posts"), s, &[("_csrf", &csrf), ("name", ""), ("member_id", "无此人")])
        .await;
    bad.expect(422);
    assert!(bad.body.contains(redcell_domain::i18n::PICK_NONE) && bad.body.contains("field-error"));
    let name = b0.resident_names[0].clone();
    let ok = t
        .session_form(
            &format!("/orgs/{root}/posts"),
            s,
            &[("_csrf", &csrf), ("name", "便民服务示范岗"), ("member_id", &name), ("unit_id", &b0.unit.to_string())],
        )
        .await;
    ok.expect(303);
    let post_url = ok.location();
    assert!(post_url.starts_with("/posts/"));
    let p = t.page(&post_url, s).await;
    p.expect(200);
    assert!(p.body.contains("便民服务示范岗") && p.body.contains("无党小组长联系"));
    // The grid page and the member page show it.
    let g = t.page(&format!("/grids/{}", b0.grid), s).await;
    assert!(g.body.contains("便民服务示范岗"));
    let m = t.page(&format!("/members/{}", b0.member), s).await;
    assert!(m.body.contains("党内职务") && m.body.contains("便民服务示范岗"));

    // The party role from the member page.
    let csrf = csrf_of(&m.body);
    let r = t
        .session_form(
            &format!("/members/{}/party-role", b0.member),
            s,
            &[("_csrf", &csrf), ("party_role", "group_leader")],
        )
        .await;
    r.expect(303);
    assert!(t.page(&format!("/members/{}", b0.member), s).await.body.contains("<dd>党小组长</dd>"));

    // Two households in the building: typing its name offers both to choose from.
    let second = id(&t.create(s, "households", json!({"building_id": b0.building, "unit_no": 2, "room": "502"})).await);
    let page = t.page(&format!("/orgs/{root}/contacts"), s).await;
    let csrf = csrf_of(&page.body);
    assert!(page.body.contains("data-levels="));
    let member = b0.member.to_string();
    let two = t
        .session_form(
            &format!("/orgs/{root}/contacts"),
            s,
            &[("_csrf", &csrf), ("level", "member_household"), ("from_id", &name), ("to_id", &b0.building_name)],
        )
        .await;
    two.expect(422);
    assert!(two.body.contains("name=\"_pick_to_id\"") && two.body.contains(&format!("value=\"{second}\"")));
    assert!(two.body.contains(redcell_domain::i18n::PICK_AMBIGUOUS));
    let chosen = t
        .session_form(
            &format!("/orgs/{root}/contacts"),
            s,
            &[
                ("_csrf", &csrf),
                ("level", "member_household"),
                ("from_id", &member),
                ("to_id", &b0.building_name),
                ("_pick_to_id", &second.to_string()),
            ],
        )
        .await;
    chosen.expect(303);
    // A post as the object of a group leader, by its name.
    let c = t
        .session_form(
            &format!("/orgs/{root}/contacts"),
            s,
            &[
                ("_csrf", &csrf),
                ("level", "group_leader_central"),
                ("from_id", &member),
                ("to_kind", "post"),
                ("to_id", "便民"),
            ],
        )
        .await;
    c.expect(303);
    assert!(!t.page(&post_url, s).await.body.contains("无党小组长联系"));

    // The exemption form finds the member by name too.
    let page = t.page(&format!("/orgs/{root}/exemptions"), s).await;
    let csrf = csrf_of(&page.body);
    let ex = t
        .session_form(
            &format!("/orgs/{root}/exemptions"),
            s,
            &[("_csrf", &csrf), ("member_id", "无此人"), ("reason", "old_frail")],
        )
        .await;
    ex.expect(422);
    assert!(ex.body.contains(redcell_domain::i18n::PICK_NONE));

    // The script's JSON search, with the session.
    let j = t.page(&format!("/pick?kind=household&q={}&org_id={root}", url(&b0.building_name)), s).await;
    j.expect(200);
    assert_eq!(j.json().as_array().unwrap().len(), 2);
    assert!(
        t.page(&format!("/pick?kind=member&q={}", url(&name)), &w.sec1).await.json().as_array().unwrap().len() == 1
    );

    // The quota page offers the two extra quotas.
    let q = t.page(&format!("/orgs/{root}/quotas"), s).await;
    assert!(q.body.contains("leader_branch_min") && q.body.contains("households_per_central_max"));
    // End the post from its page.
    let p = t.page(&post_url, s).await;
    let csrf = csrf_of(&p.body);
    let end = t.session_form(&format!("{post_url}/end"), s, &[("_csrf", &csrf), ("reason", "歇业")]).await;
    end.expect(303);
    assert!(t.page(&post_url, s).await.body.contains("已撤销"));
}
