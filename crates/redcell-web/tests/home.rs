//! A party member's own work and the visit diary over HTTP, on SQLite and
//! (with `REDCELL_TEST_PG`) PostgreSQL: `cargo test -p redcell-web --test home`.

use axum::http::Method;
use redcell_testkit::app::*;
use serde_json::json;

stories!(
    member_lands_on_their_households,
    visit_diary_lists_in_scope,
    unknown_pages_and_caching,
    residents_find_who_serves_their_building,
    grid_worker_sees_the_day_in_their_area
);

/// A member account on branch 1, linked to its member, looking after the
/// branch's household.
async fn member(t: &TestApp, w: &World) -> (String, i64) {
    let b = &w.b[0];
    let id = redcell_store::auth::add_user(
        &t.db,
        "member.home",
        "党员小王",
        "member-pass-2026",
        redcell_domain::Role::Member,
        &b.branch_code,
    )
    .await
    .unwrap();
    t.api(Method::PUT, &format!("/api/v1/users/{id}/duty-link"), Some(&w.admin), Some(&json!({"member_id": b.member})))
        .await
        .expect(204);
    let today = redcell_store::coverage::today().to_string();
    t.post(
        "/api/v1/contacts",
        &w.admin,
        json!({"level": "member_household", "from_id": b.member, "to_id": b.household, "since": today, "reason": "就近"}),
    )
    .await
    .expect(201);
    (t.api_login("member.home", "member-pass-2026").await, id)
}

async fn member_lands_on_their_households(t: &TestApp) {
    let w = world(t).await;
    for p in &w.b[0].phones {
        t.secret(p);
    }
    let (m, _) = member(t, &w).await;
    let b = &w.b[0];
    // "/" takes a member to today's work; the page lists their household in words, masked.
    let home = t.page("/", &m).await;
    assert_eq!(home.location(), "/my");
    let page = t.page("/my", &m).await;
    page.expect(200);
    assert!(page.body.contains(&format!("id=\"hh-{}\"", b.household)) && page.body.contains(&b.building_name));
    assert!(!page.body.contains(&b.resident_names[1]), "residents are masked");
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    let api = t.get("/api/v1/me/home", &m).await.json();
    assert_eq!(api["home"]["households"][0]["household_id"], b.household);
    // Another branch's household: not theirs to call or visit.
    let far = w.b[1].household;
    t.post(&format!("/api/v1/me/households/{far}/phones"), &m, json!({})).await.error(404);
    let csrf = csrf_of(&page.body);
    let r = t.session_form("/my/visit", &m, &[("_csrf", &csrf), ("household", &far.to_string())]).await;
    r.expect(422);
    assert!(r.body.contains(redcell_domain::i18n::DUTY_TARGET_OUTSIDE), "{}", r.body);
    // Their own: the call shows tel: links; a visit in one tap.
    let call = t.session_form(&format!("/my/households/{}/call", b.household), &m, &[("_csrf", &csrf)]).await;
    call.expect(200);
    assert!(call.body.contains(&format!("href=\"tel:{}\"", b.phones[0])), "{}", call.body);
    let v = t.session_form("/my/visit", &m, &[("_csrf", &csrf), ("household", &b.household.to_string())]).await;
    v.expect(303);
    assert_eq!(v.location(), "/my?saved=1");
    let after = t.get("/api/v1/me/home", &m).await.json();
    assert!(after["home"]["households"][0]["my_last_visit"].is_string());
    // Without the token: refused, nothing written.
    let visits = t.db.int("SELECT COUNT(*) FROM duty_visits", redcell_store::args![]).await.unwrap();
    t.session_form("/my/visit", &m, &[("household", &b.household.to_string())]).await.expect(403);
    assert_eq!(t.db.int("SELECT COUNT(*) FROM duty_visits", redcell_store::args![]).await.unwrap(), visits);
    // Staff without a member link have no such page.
    t.page("/my", &w.sec1).await.expect(403);
}

async fn visit_diary_lists_in_scope(t: &TestApp) {
    let w = world(t).await;
    let (m, _) = member(t, &w).await;
    let b = &w.b[0];
    let today = redcell_store::coverage::today().to_string();
    t.post(
        "/api/v1/duties/visits",
        &m,
        json!({"target_kind": "household", "target_id": b.household, "visited_on": today, "learned": "老人腿脚不便"}),
    )
    .await
    .expect(201);
    t.post(
        "/api/v1/duties/visits",
        &w.admin,
        json!({"visitor_kind": "cadre", "visitor_id": w.b[1].cadre, "target_kind": "grid", "target_id": w.b[1].grid, "visited_on": today}),
    )
    .await
    .expect(201);
    // The whole street sees both, newest first; branch 1's secretary only theirs.
    let all = t.get(&format!("/api/v1/duties/visits?org_id={}", w.root), &w.admin).await.json();
    assert_eq!(all["total"], 2);
    let mine = t.get("/api/v1/duties/visits", &w.sec1).await.json();
    assert_eq!(mine["total"], 1, "{mine}");
    let v = &mine["items"][0];
    assert_eq!((v["visitor_kind"].as_str(), v["target_kind"].as_str()), (Some("member"), Some("household")));
    assert!(v["target"].as_str().unwrap().contains(&b.building_name), "{v}");
    // Filters: by household, by visitor, by dates; bad input named.
    let by_h = t.get(&format!("/api/v1/duties/visits?org_id={}&household_id={}", w.root, b.household), &w.admin).await;
    assert_eq!(by_h.json()["total"], 1);
    let q = format!("/api/v1/duties/visits?org_id={}&visitor_kind=cadre&visitor_id={}", w.root, w.b[1].cadre);
    assert_eq!(t.get(&q, &w.admin).await.json()["total"], 1);
    let q = format!("/api/v1/duties/visits?org_id={}&from=2001-01-01&to=2001-12-31", w.root);
    assert_eq!(t.get(&q, &w.admin).await.json()["total"], 0);
    t.get("/api/v1/duties/visits?from=2026-02-01&to=2026-01-01", &w.admin).await.field_error(422, "to");
    t.get("/api/v1/duties/visits?visitor_kind=alien&visitor_id=1", &w.admin).await.field_error(422, "visitor_kind");
    // Another branch's organisation is not the secretary's to list; members read no diary.
    t.get(&format!("/api/v1/duties/visits?org_id={}", w.b[1].branch), &w.sec1).await.error(404);
    t.get("/api/v1/duties/visits", &m).await.error(403);
    // Meetings are listed too (it answered 405).
    t.get("/api/v1/duties/meetings", &w.sec1).await.expect(200);
    // The page, as cards, with its filters.
    let p = t.page(&format!("/duties/visits?household_id={}", b.household), &w.sec1).await;
    p.expect(200);
    assert!(p.body.contains("老人腿脚不便") && p.body.contains("id=\"diary-total\""));
    let bad = t.page("/duties/visits?from=yesterday", &w.sec1).await;
    bad.expect(422);
    assert!(bad.body.contains(redcell_domain::i18n::DATE_INVALID));
}

async fn unknown_pages_and_caching(t: &TestApp) {
    let w = world(t).await;
    let nf = t.page("/no/such/page", &w.sec1).await;
    nf.expect(404);
    assert!(nf.body.contains(redcell_domain::i18n::NOT_FOUND_TITLE) && nf.body.contains("<main"));
    let anon = t.send(Method::GET, "/nothing-here", &[], vec![]).await;
    anon.expect(404);
    assert!(anon.body.contains(redcell_domain::i18n::PAGE_NOT_FOUND));
    // Under /api/ the answer keeps the API's error shape.
    let api = t.get("/api/v1/nothing-here", &w.sec1).await;
    assert_eq!(api.error(404)["code"], "not_found");
    // Pages and answers with personal data are not kept by the browser; static files are.
    assert_eq!(t.page("/orgs", &w.sec1).await.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(t.get("/api/v1/residents", &w.sec1).await.header("cache-control").as_deref(), Some("no-store"));
    let css = t.send(Method::GET, "/static/app.css", &[], vec![]).await;
    assert!(css.header("cache-control").is_some_and(|c| c.starts_with("public")));
}

async fn residents_find_who_serves_their_building(t: &TestApp) {
    let w = world(t).await;
    let mut tx = t.db.begin().await.unwrap();
    redcell_store::requests::seed::default_categories(&mut tx, w.root).await.unwrap();
    tx.commit().await.unwrap();
    for p in w.b.iter().flat_map(|b| b.phones.iter()) {
        t.secret(p);
    }
    let (m, _) = member(t, &w).await;
    let b = &w.b[0];
    // Without an account: the buildings, searchable, and the ways to ask for help.
    let front = t.send(Method::GET, "/", &[], vec![]).await;
    front.expect(200);
    assert!(front.body.contains(&format!("href=\"/b/{}\"", b.building)) && front.body.contains("href=\"/r/new\""));
    let found = t.send(Method::GET, &format!("/?{}", qs(&[("q", &b.building_name)])), &[], vec![]).await;
    assert!(found.body.contains(&format!("href=\"/b/{}\"", b.building)));
    assert!(!found.body.contains(&format!("href=\"/b/{}\"", w.b[1].building)), "the search narrows the list");
    // Who serves the building: grid, branch, the stationed staff, the member (masked); nobody's phone.
    let page = t.send(Method::GET, &format!("/b/{}", b.building), &[], vec![]).await;
    page.expect(200);
    assert!(page.body.contains(&b.grid_name) && page.body.contains(&b.branch_name), "{}", page.body);
    let member_name = &b.resident_names[0];
    assert!(!page.body.contains(member_name.as_str()), "members are masked");
    let masked: String = member_name.chars().take(1).chain(member_name.chars().skip(1).map(|_| '*')).collect();
    assert!(page.body.contains(&masked), "{}", page.body);
    assert!(page.body.contains(&format!("/r/new?building={}", b.building)));
    let form = t.send(Method::GET, &format!("/r/new?building={}", b.building), &[], vec![]).await;
    assert!(form.body.contains(&format!("value=\"{}\" selected", b.building)), "the building is chosen already");
    t.send(Method::GET, "/b/999999", &[], vec![]).await.expect(404);
    // The service posts and teams of the building's branch and community are on its page, linking
    // to their public pages; another community's are not.
    assert!(page.body.contains("暂未设立"));
    let post = json!({"org_id": b.community.to_string(), "title": "楼道安全巡查岗", "duty": "每周巡查楼道消防通道",
        "place": "东风社区", "schedule": "每周六上午"});
    let post = id_of(&t.post("/api/v1/service/posts", &w.admin, post).await.json());
    let team = json!({"org_id": w.b[1].community.to_string(), "name": "西湖文艺队", "items": "排练演出",
        "schedule": "每周三晚", "rules": "按时参加"});
    let team = id_of(&t.post("/api/v1/service/teams", &w.admin, team).await.json());
    let page = t.send(Method::GET, &format!("/b/{}", b.building), &[], vec![]).await;
    assert!(page.body.contains("楼道安全巡查岗") && page.body.contains("每周六上午"), "{}", page.body);
    assert!(page.body.contains(&format!("/service/posts/{post}/public")));
    assert!(!page.body.contains(&format!("/service/teams/{team}/public")), "another community's team");
    let other = t.send(Method::GET, &format!("/b/{}", w.b[1].building), &[], vec![]).await;
    assert!(other.body.contains(&format!("/service/teams/{team}/public")) && !other.body.contains("楼道安全巡查岗"));
    // Signed in, `/` is the account's own start.
    assert_eq!(t.page("/", &m).await.location(), "/my");
    assert!(t.page("/", &w.sec1).await.location().starts_with("/orgs"));
}

async fn grid_worker_sees_the_day_in_their_area(t: &TestApp) {
    let w = world(t).await;
    let b = &w.b[0];
    // Branch 1's household has no member yet: listed for branch 1, not for anyone outside it.
    let page = t.page("/grid/today", &w.sec1).await;
    page.expect(200);
    assert!(page.body.contains("id=\"no-member\"") && page.body.contains(&format!("/households/{}", b.household)));
    assert!(!page.body.contains(&format!("/households/{}", w.b[1].household)), "another branch's household");
    // Once a member looks after it, it leaves that list.
    let (m, _) = member(t, &w).await;
    let page = t.page("/grid/today", &w.sec1).await;
    let alone = page.body.split("id=\"no-member\"").nth(1).unwrap();
    assert!(!alone.contains(&format!("/households/{}", b.household)), "{alone}");
    // Members have no such page.
    t.page("/grid/today", &m).await.expect(403);
}
