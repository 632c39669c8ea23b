//! A party member's own work (我的工作), on SQLite and (with `REDCELL_TEST_PG`)
//! PostgreSQL: the households they look after, visits and calls limited to
//! those households, and a wish passed on from a visit.
//! `cargo test -p redcell-store --test home`.

use chrono::Duration;
use redcell_domain::Role;
use redcell_domain::coverage::{ContactLevel, RawContact};
use redcell_domain::requests::RawRequest;
use redcell_store::coverage::contacts;
use redcell_store::duties::{self, records};
use redcell_store::{Db, Principal, StoreError, args, auth, home, requests};
use redcell_testkit::store::*;

stories!(member_sees_and_serves_their_own_households, the_glance_adds_up_and_drills_down_to_grids);

async fn member_account(db: &Db, t: &Tenant, username: &str, member: usize, org_code: &str) -> Principal {
    auth::add_user(db, username, username, PASSWORD, Role::Member, org_code).await.unwrap();
    let (p, _) = sign_in(db, username).await;
    let link = duties::Link::Member(t.members[member].id.get());
    duties::link_user(db, &t.admin, p.user_id, Some(link)).await.unwrap();
    p
}

fn visit(household: i64) -> records::RawVisit {
    records::RawVisit {
        target_kind: s("household"),
        target_id: s(household),
        visited_on: s(redcell_store::coverage::today()),
        learned: s("孩子想要一套课外读物"),
        ..records::RawVisit::default()
    }
}

async fn member_sees_and_serves_their_own_households(db: Db) {
    let t = tenant(&db).await;
    let mut tx = db.begin().await.unwrap();
    requests::seed::default_categories(&mut tx, t.root.id.get()).await.unwrap();
    tx.commit().await.unwrap();
    let today = redcell_store::coverage::today();
    let mine = t.households[0].id.get();
    let other = t.households[1].id.get();
    let raw = RawContact {
        level: s(ContactLevel::MemberHousehold.code()),
        from_id: s(t.members[0].id),
        to_id: s(mine),
        since: s(today - Duration::days(30)),
        reason: s("就近联系"),
        to_kind: None,
    };
    contacts::start(&db, &t.admin, raw.validate(today).unwrap()).await.unwrap();
    let m = member_account(&db, &t, "member.b1", 0, &t.b1.code).await;

    // Their households, named in words, the residents masked.
    let h = home::member_home(&db, &m).await.unwrap().expect("linked");
    assert_eq!(h.me.member_id, t.members[0].id.get());
    assert_eq!(h.households.len(), 1);
    let card = &h.households[0];
    assert_eq!(card.household_id, mine);
    assert!(card.label.contains(&t.buildings[0].name) && card.label.contains("单元"), "{}", card.label);
    let residents: Vec<_> = t.residents.iter().filter(|r| r.household_id.map(|x| x.get()) == Some(mine)).collect();
    assert_eq!(card.residents.len(), residents.len());
    assert!(card.residents.iter().all(|n| n.contains('*')));
    let json = serde_json::to_string(&h).unwrap();
    for (i, r) in t.residents.iter().enumerate() {
        assert!(!json.contains(&t.phones[i]) && !json.contains(&t.id_numbers[i]));
        // (The member may live in a household they look after: their own name is theirs to see.)
        if r.household_id.map(|x| x.get()) == Some(mine) && r.name != h.me.name {
            assert!(!json.contains(&r.name), "a resident's name in the clear: {json}");
        }
    }

    // An account linked to nobody has no home (and sees nobody's households).
    auth::add_user(&db, "member.none", "无关联", PASSWORD, Role::Member, &t.b1.code).await.unwrap();
    let (none, _) = sign_in(&db, "member.none").await;
    assert!(home::member_home(&db, &none).await.unwrap().is_none());

    // Calling: their own household's phones (audited); another is "not found" (audited too).
    let phones = home::reveal_household_phones(&db, &m, mine).await.unwrap();
    let expected: Vec<&String> = t
        .residents
        .iter()
        .enumerate()
        .filter(|(_, r)| r.household_id.map(|x| x.get()) == Some(mine))
        .map(|(i, _)| &t.phones[i])
        .collect();
    assert!(!phones.is_empty() && phones.iter().all(|p| expected.contains(&&p.phone)));
    let e = home::reveal_household_phones(&db, &m, other).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound), "{e:?}");
    assert!(matches!(home::reveal_household_phones(&db, &none, mine).await, Err(StoreError::NotFound)));
    let trail = |action: &'static str, h: i64| {
        let db = db.clone();
        async move {
            db.int(
                "SELECT COUNT(*) FROM audit_log WHERE action = $1 AND entity = 'household' AND entity_id = $2",
                args![action, h],
            )
            .await
            .unwrap()
        }
    };
    assert_eq!(trail("reveal", mine).await, 1);
    assert_eq!(trail("reveal_denied", other).await, 1);
    assert_eq!(trail("reveal_denied", mine).await, 1);

    // Visits: their household yes, freshening it; another household no, nothing written.
    let v = records::record_visit(&db, &m, &visit(mine), today).await.unwrap();
    assert_eq!((v.visitor_kind.as_str(), v.visitor_id), ("member", t.members[0].id.get()));
    let h = home::member_home(&db, &m).await.unwrap().unwrap();
    assert_eq!((h.households[0].last_visit, h.households[0].my_last_visit), (Some(today), Some(today)));
    let visits = db.int("SELECT COUNT(*) FROM duty_visits", args![]).await.unwrap();
    let e = records::record_visit(&db, &m, &visit(other), today).await.unwrap_err();
    assert!(matches!(e, StoreError::Denied(ref f) if f.field == "target_id"), "{e:?}");
    assert_eq!(db.int("SELECT COUNT(*) FROM duty_visits", args![]).await.unwrap(), visits);

    // A visit passing on a wish: submitted for the household (its building
    // and contact from the registry), by the member, waiting to be verified;
    // another household's wish is refused whole.
    let wish = RawRequest { category: s("wish"), ..RawRequest::default() };
    let (v, sub) = records::record_visit_raising(&db, &m, &visit(mine), wish.clone(), today).await.unwrap();
    assert_eq!(v.request_id, Some(sub.id.get()));
    let (desc, building, contact, source, stage): (String, Option<i64>, Option<String>, String, Option<String>) = db
        .one(
            "SELECT description, building_id, contact_phone, source, wish_stage FROM requests WHERE id = $1",
            args![sub.id],
        )
        .await
        .unwrap();
    assert_eq!(desc, "孩子想要一套课外读物");
    assert_eq!(building, Some(t.households[0].building_id.get()));
    assert!(contact.as_ref().is_some_and(|c| expected.contains(&c)), "{contact:?}");
    assert_eq!((source.as_str(), stage.as_deref()), ("staff", Some("unverified")));
    let (role, actor): (String, Option<i64>) = db
        .one("SELECT actor_role, actor_user_id FROM request_history WHERE request_id = $1", args![sub.id])
        .await
        .unwrap();
    assert_eq!((role.as_str(), actor), ("member", Some(m.user_id)));
    let requests_before = db.int("SELECT COUNT(*) FROM requests", args![]).await.unwrap();
    let e = records::record_visit_raising(&db, &m, &visit(other), wish, today).await.unwrap_err();
    assert!(matches!(e, StoreError::Denied(_)), "{e:?}");
    assert_eq!(db.int("SELECT COUNT(*) FROM requests", args![]).await.unwrap(), requests_before);

    // Staff verify and publish it; it is then open for the branch's members to claim.
    let r = requests::get(&db, &t.sec, sub.id).await.unwrap();
    assert!(requests::wishes::may_verify(&t.sec, &r));
    requests::wishes::verify(&db, &t.sec, sub.id).await.unwrap();
    let r = requests::get(&db, &t.sec, sub.id).await.unwrap();
    assert!(!requests::wishes::may_verify(&t.sec, &r));
    assert_eq!(r.wish_stage.map(|s| s.code()), Some("published"));
}

/// The organisation at a glance: the street's figures are the sum of its
/// communities', a branch's parts are its grids, every branch without a
/// meeting or a visit is silent until one is recorded, the card filter of the
/// queue finds what the picture counts, and a secretary cannot look above
/// their own branch.
async fn the_glance_adds_up_and_drills_down_to_grids(db: Db) {
    use redcell_store::home::glance;
    let t = tenant(&db).await;
    let mut tx = db.begin().await.unwrap();
    requests::seed::default_categories(&mut tx, t.root.id.get()).await.unwrap();
    tx.commit().await.unwrap();
    let today = redcell_store::coverage::today();
    let raw = RawContact {
        level: s(ContactLevel::MemberHousehold.code()),
        from_id: s(t.members[0].id),
        to_id: s(t.households[0].id),
        since: s(today - Duration::days(30)),
        reason: s("就近联系"),
        to_kind: None,
    };
    contacts::start(&db, &t.admin, raw.validate(today).unwrap()).await.unwrap();
    for (grid, text) in [(t.grids[0].id, "路灯不亮"), (t.grids[0].id, "楼道堆物"), (t.grids[2].id, "井盖松动")]
    {
        let n = RawRequest {
            category: s("facility"),
            description: s(text),
            grid_id: s(grid),
            contact_phone: s("13912345678"),
            ..RawRequest::default()
        };
        requests::submit(&db, t.root.id.get(), n.validate().unwrap(), requests::Source::Resident, None, None)
            .await
            .unwrap();
    }
    // One of them has been red-carded.
    db.exec("UPDATE requests SET card = 'red' WHERE description = $1", args!["井盖松动"]).await.unwrap();

    let g = glance::glance(&db, &t.admin, t.root.id).await.unwrap();
    assert_eq!((g.whole.households, g.whole.covered), (4, 1));
    assert_eq!((g.whole.open, g.whole.red), (3, 1));
    assert_eq!(g.whole.coverage_percent(), Some(25));
    let names: Vec<&str> = g.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec![t.c1.name.as_str(), t.c2.name.as_str()], "the communities, in order");
    let sum = g.parts.iter().fold((0, 0, 0, 0), |a, p| {
        (a.0 + p.figures.households, a.1 + p.figures.covered, a.2 + p.figures.open, a.3 + p.figures.red)
    });
    assert_eq!(sum, (g.whole.households, g.whole.covered, g.whole.open, g.whole.red), "the parts add up");
    assert!(g.parts.iter().all(|p| p.href == format!("/orgs/{}/glance", p.id)));
    assert_eq!(g.branches, 3);
    assert_eq!(g.silent.len(), 3, "no meeting and no visit anywhere yet");

    // A branch: its parts are its grids (the party group is not a part).
    let b1 = glance::glance(&db, &t.admin, t.b1.id).await.unwrap();
    assert!(b1.parts.iter().all(|p| p.is_grid()), "{:?}", b1.parts);
    assert_eq!(b1.parts.len(), 1);
    assert_eq!((b1.parts[0].figures.households, b1.parts[0].figures.open), (2, 2));
    assert_eq!(b1.parts[0].href, format!("/grids/{}", t.grids[0].id));

    // A visit in B1 ends its silence.
    let v = records::RawVisit {
        visitor_kind: s("member"),
        visitor_id: s(t.members[0].id),
        target_kind: s("household"),
        target_id: s(t.households[0].id),
        visited_on: s(today),
        learned: s("一切安好"),
        ..records::RawVisit::default()
    };
    records::record_visit(&db, &t.sec, &v, today).await.unwrap();
    let g = glance::glance(&db, &t.admin, t.root.id).await.unwrap();
    assert_eq!(g.silent.len(), 2);
    assert!(g.silent.iter().all(|b| b.id != t.b1.id.get()));
    assert_eq!((g.whole.visits, g.whole.last_visit), (1, Some(today)));

    // The queue's card filter lists what the picture counts.
    let f = requests::Filter { card: s("red"), org_id: Some(t.root.id), ..requests::Filter::default() };
    let red = requests::list(&db, &t.admin, &f, redcell_store::registry::Page::first(10)).await.unwrap();
    assert_eq!(red.total, 1);

    // A branch secretary sees their branch, not the street.
    assert!(glance::glance(&db, &t.sec, t.b1.id).await.is_ok());
    let e = glance::glance(&db, &t.sec, t.root.id).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound | StoreError::Forbidden), "{e:?}");
}
