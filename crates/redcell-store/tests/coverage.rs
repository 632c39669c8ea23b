//! Stories of contact responsibility and full coverage (联系全覆盖), each run on
//! SQLite and (when `REDCELL_TEST_PG` is set) on PostgreSQL:
//! `cargo test -p redcell-store --test coverage`.

use redcell_domain::Role;
use redcell_domain::coverage::{
    ContactLevel, QuotaPreset, RawContact, RawDecision, RawEndContact, RawExemption, RawQuota,
};
use redcell_store::coverage::contacts::{self, RosterFilter};
use redcell_store::coverage::{exemptions, plan, quotas, report, workbook};
use redcell_store::registry::Page;
use redcell_store::{Db, Principal, StoreError, args, auth};
use redcell_testkit::store::*;

stories!(
    contacts_lifecycle_and_past_roster,
    contact_kinds_and_scope,
    quota_inheritance_and_presets,
    exemption_approvals_in_order,
    report_names_every_gap,
    propose_apply_discard_and_stale,
    plan_scope_and_rosters_export,
    demo_seed_leaves_gaps,
);

const ALL: Page = Page { page: Some(1), per_page: Some(200) };

/// Contact dates are business dates in China (UTC+8).
fn today() -> chrono::NaiveDate {
    redcell_store::coverage::today()
}

fn contact(level: ContactLevel, from: i64, to: i64, since: &str) -> RawContact {
    RawContact {
        level: s(level.code()),
        from_id: s(from),
        to_id: s(to),
        since: s(since),
        reason: s("测试"),
        to_kind: None,
    }
}

async fn start(db: &Db, p: &Principal, level: ContactLevel, from: i64, to: i64, since: &str) -> contacts::Contact {
    contacts::start(db, p, contact(level, from, to, since).validate(today()).expect("valid contact"))
        .await
        .unwrap_or_else(|e| panic!("start {level:?} {from}->{to}: {e:?}"))
}

async fn try_start(
    db: &Db,
    p: &Principal,
    level: ContactLevel,
    from: i64,
    to: i64,
    since: &str,
) -> Result<contacts::Contact, StoreError> {
    contacts::start(db, p, contact(level, from, to, since).validate(today()).expect("valid contact")).await
}

fn end_raw(until: &str, reason: &str) -> redcell_domain::coverage::EndContact {
    RawEndContact { until: s(until), reason: s(reason) }.validate(today()).expect("valid end")
}

async fn roster_on(db: &Db, p: &Principal, org: i64, date: chrono::NaiveDate) -> Vec<contacts::Contact> {
    contacts::roster(db, p, &RosterFilter { org_id: Some(org), date: Some(date), ..Default::default() }, ALL)
        .await
        .expect("roster")
        .items
}

async fn audit_count(db: &Db, entity: &str) -> i64 {
    db.int("SELECT COUNT(*) FROM audit_log WHERE entity = $1", args![entity]).await.expect("count audit")
}

/// A custom member→household quota on an organisation.
async fn mh_quota(db: &Db, p: &Principal, org: i64, min: i64, max: i64) {
    let mut q = RawQuota::default();
    q.values.insert("member_household_min".into(), min.into());
    q.values.insert("member_household_max".into(), max.into());
    quotas::set(db, p, org, &q.validate().expect("valid quota"), None).await.expect("set quota");
}

async fn contacts_lifecycle_and_past_roster(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    let (m0, m1) = (t.members[0].id.get(), t.members[1].id.get());
    let h0 = t.households[0].id.get();

    let c = start(&db, a, ContactLevel::MemberHousehold, m0, h0, "2024-01-10").await;
    assert!(c.active());
    assert_eq!(c.from_name, "张一");
    assert!(c.to_name.contains("1单元101"), "{}", c.to_name);
    assert!(c.from_phone.as_ref().is_some_and(|p| p.to_string().contains("****")));
    assert_eq!(audit_count(&db, "contact").await, 1);

    // One member per household at a time; the message names the field.
    let e = try_start(&db, a, ContactLevel::MemberHousehold, m1, h0, "2024-02-01").await;
    let e = assert_invalid(e, "to_id");
    assert!(e.to_string().contains("to_id"));
    // The same contact twice.
    assert_invalid(try_start(&db, a, ContactLevel::MemberHousehold, m0, h0, "2024-02-01").await, "to_id");

    // End it: once, with a reason, not before it started, never again.
    let bad = RawEndContact { until: s("2024-06-01"), reason: None }.validate(today());
    assert!(bad.unwrap_err().for_field("reason").is_some());
    assert_invalid(contacts::end(&db, a, c.id, end_raw("2023-12-31", "搬离")).await, "until");
    let ended = contacts::end(&db, a, c.id, end_raw("2024-06-01", "搬离本小区")).await.expect("end");
    assert_eq!(ended.until, Some(date(2024, 6, 1)));
    assert_eq!(ended.end_reason.as_deref(), Some("搬离本小区"));
    assert_eq!(ended.ended_by_name.as_deref(), Some("管理员"));
    assert_invalid(contacts::end(&db, a, c.id, end_raw("2024-07-01", "再次")).await, "until");

    // A new member may not start before the old one ended.
    assert_invalid(try_start(&db, a, ContactLevel::MemberHousehold, m1, h0, "2024-05-01").await, "since");
    let c2 = start(&db, a, ContactLevel::MemberHousehold, m1, h0, "2024-06-01").await;

    // The roster on any past date.
    let root = t.root.id.get();
    let on = |d| roster_on(&db, a, root, d);
    assert!(on(date(2024, 1, 9)).await.is_empty());
    let mar: Vec<i64> = on(date(2024, 3, 1)).await.iter().map(|c| c.from_id).collect();
    assert_eq!(mar, vec![m0]);
    let may31: Vec<i64> = on(date(2024, 5, 31)).await.iter().map(|c| c.from_id).collect();
    assert_eq!(may31, vec![m0]);
    let jun1: Vec<i64> = on(date(2024, 6, 1)).await.iter().map(|c| c.from_id).collect();
    assert_eq!(jun1, vec![m1]);
    assert_eq!(on(today()).await.len(), 1);
    // The whole history, both rows, nothing overwritten.
    let hist =
        contacts::roster(&db, a, &RosterFilter { org_id: Some(root), history: Some(true), ..Default::default() }, ALL)
            .await
            .unwrap();
    assert_eq!(hist.total, 2);
    assert_eq!(db.int("SELECT COUNT(*) FROM contacts", args![]).await.unwrap(), 2);
    let by_household = contacts::roster(
        &db,
        a,
        &RosterFilter {
            org_id: Some(root),
            to_kind: s("household"),
            to_id: Some(h0),
            history: Some(true),
            ..Default::default()
        },
        ALL,
    )
    .await
    .unwrap();
    assert_eq!(by_household.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![c.id, c2.id]);
    // Ending and starting are audited with before and after.
    let (before, after): (Option<String>, Option<String>) = db
        .one(
            "SELECT before_json, after_json FROM audit_log WHERE entity = 'contact' AND action = 'update' ORDER BY id DESC LIMIT 1",
            args![],
        )
        .await
        .unwrap();
    assert!(before.unwrap().contains("\"until\":null"));
    assert!(after.unwrap().contains("2024-06-01"));

    // Removing the member from the registry ends their contacts (the history stays),
    // so the household shows as uncovered again.
    redcell_store::registry::members::delete(&db, a, redcell_domain::MemberId::new(m1)).await.expect("delete member");
    let (until, reason): (Option<chrono::NaiveDate>, Option<String>) =
        db.one("SELECT until, end_reason FROM contacts WHERE id = $1", args![c2.id]).await.unwrap();
    assert_eq!(until, Some(today()));
    assert!(reason.is_some_and(|r| r.contains("删除")));
    assert!(on(today()).await.is_empty());
    assert_eq!(db.int("SELECT COUNT(*) FROM contacts", args![]).await.unwrap(), 2);
}

async fn contact_kinds_and_scope(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    let (m0, m1, m2) = (t.members[0].id.get(), t.members[1].id.get(), t.members[2].id.get());
    let street_cadre = t.cadres[2].id.get();
    let grid_worker = t.cadres[0].id.get();

    // Wrong kinds at either end, each naming its field.
    assert_invalid(try_start(&db, a, ContactLevel::CadreBranch, street_cadre, t.c1.id.get(), "").await, "to_id");
    assert_invalid(try_start(&db, a, ContactLevel::CadreBranch, grid_worker, t.b1.id.get(), "").await, "from_id");
    assert_invalid(try_start(&db, a, ContactLevel::LeaderCommunity, street_cadre, t.c1.id.get(), "").await, "from_id");
    assert_invalid(try_start(&db, a, ContactLevel::CentralMember, m0, m0, "").await, "to_id");
    assert_invalid(try_start(&db, a, ContactLevel::MemberHousehold, m0, 999_999, "").await, "to_id");
    assert_invalid(
        try_start(&db, a, ContactLevel::MemberHousehold, 999_999, t.households[0].id.get(), "").await,
        "from_id",
    );
    assert_invalid(try_start(&db, a, ContactLevel::BranchCommitteeGroup, m2, t.g1.id.get(), "").await, "from_id");
    // Raw input: bad level, bad date, future date.
    let e = RawContact {
        level: s("nope"),
        from_id: s("x"),
        to_id: None,
        since: s("2999-01-01"),
        reason: None,
        to_kind: None,
    }
    .validate(today())
    .unwrap_err();
    for f in ["level", "from_id", "to_id", "since"] {
        assert!(e.for_field(f).is_some(), "{f} not named in {e}");
    }

    // The right kinds.
    start(&db, a, ContactLevel::CadreBranch, street_cadre, t.b1.id.get(), "").await;
    start(&db, a, ContactLevel::CadreMember, street_cadre, m2, "").await;
    start(&db, a, ContactLevel::CentralMember, m0, m1, "").await;
    start(&db, a, ContactLevel::CentralKeyResident, m0, t.households[1].id.get(), "").await;
    start(&db, a, ContactLevel::GroupLeaderCentral, m1, m0, "").await;
    start(&db, a, ContactLevel::BranchCommitteeGroup, m0, t.g1.id.get(), "").await;

    // The secretary of B1 works inside B1 only.
    let sec = &t.sec;
    let before = counts(&db).await;
    let contacts_before = db.int("SELECT COUNT(*) FROM contacts", args![]).await.unwrap();
    assert_refused(try_start(&db, sec, ContactLevel::MemberHousehold, m0, t.households[2].id.get(), "").await);
    assert_refused(try_start(&db, sec, ContactLevel::MemberHousehold, m2, t.households[1].id.get(), "").await);
    assert_eq!(db.int("SELECT COUNT(*) FROM contacts", args![]).await.unwrap(), contacts_before);
    assert_eq!(counts(&db).await, before, "a refused contact writes nothing");
    let mine = start(&db, sec, ContactLevel::MemberHousehold, m0, t.households[1].id.get(), "").await;
    // The secretary's roster holds B1's contacts and nothing of C2.
    let r = roster_on(&db, sec, t.b1.id.get(), today()).await;
    assert!(r.iter().any(|c| c.id == mine.id));
    assert!(r.iter().all(|c| c.to_id != m2), "a contact in B2 leaked into B1's roster");
    assert!(matches!(
        contacts::roster(&db, sec, &RosterFilter { org_id: Some(t.root.id.get()), ..Default::default() }, ALL).await,
        Err(StoreError::NotFound)
    ));
    // Ending a contact outside one's scope is refused.
    let other = roster_on(&db, a, t.root.id.get(), today()).await.into_iter().find(|c| c.to_id == m2).unwrap();
    assert_refused(contacts::end(&db, sec, other.id, end_raw("", "越权")).await);
}

async fn quota_inheritance_and_presets(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    let mh = ContactLevel::MemberHousehold;

    // No rule anywhere: the urban preset, from nowhere.
    let e = quotas::effective(&db, a, t.b1.id.get()).await.unwrap();
    assert_eq!(e.source_org_id, None);
    assert_eq!(e.rule, QuotaPreset::Urban.rule());

    // Rural on C1: inherited by B1 and G1, not by C2's branch.
    quotas::apply_preset(&db, a, t.c1.id.get(), QuotaPreset::Rural).await.unwrap();
    for o in [t.c1.id.get(), t.b1.id.get(), t.g1.id.get()] {
        let e = quotas::effective(&db, a, o).await.unwrap();
        assert_eq!(e.source_org_id, Some(t.c1.id.get()));
        assert_eq!(e.rule.get(mh).map(|r| (r.min, r.max)), Some((10, 15)));
        assert_eq!(e.preset.as_deref(), Some("rural"));
    }
    assert_eq!(quotas::effective(&db, a, t.b3.id.get()).await.unwrap().rule.get(mh).map(|r| r.max), Some(10));

    // Nearest ancestor wins: a custom rule on B1.
    mh_quota(&db, a, t.b1.id.get(), 1, 2).await;
    let e = quotas::effective(&db, a, t.g1.id.get()).await.unwrap();
    assert_eq!(e.source_org_id, Some(t.b1.id.get()));
    assert_eq!(e.rule.get(mh).map(|r| (r.min, r.max)), Some((1, 2)));
    assert_eq!(e.rule.get(ContactLevel::CentralMember), None);
    assert!(quotas::effective(&db, a, t.b1.id.get()).await.unwrap().own);

    // Bad input names the field; nothing is written.
    let mut q = RawQuota::default();
    q.values.insert("member_household_min".into(), "5".into());
    q.values.insert("member_household_max".into(), "3".into());
    q.values.insert("cadre_branch_min".into(), "-1".into());
    q.values.insert("cadre_branch_max".into(), "2".into());
    let err = q.validate().unwrap_err();
    assert!(err.for_field("member_household_min").is_some() && err.for_field("cadre_branch_min").is_some());

    // The secretary of B1 may set B1's rule but not C1's.
    let r = quotas::apply_preset(&db, &t.sec, t.c1.id.get(), QuotaPreset::Urban).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    quotas::apply_preset(&db, &t.sec, t.b1.id.get(), QuotaPreset::Urban).await.unwrap();
    // Clearing B1's rule: it inherits C1's again.
    let e = quotas::clear(&db, a, t.b1.id.get()).await.unwrap();
    assert_eq!(e.source_org_id, Some(t.c1.id.get()));
    let below = quotas::rules_below(&db, a, t.root.id.get()).await.unwrap();
    assert_eq!(below.iter().map(|r| r.org_id).collect::<Vec<_>>(), vec![t.c1.id.get()]);
    assert!(audit_count(&db, "quota_rule").await >= 4);
}

fn decision(step: &str, decision: &str, note: Option<&str>) -> redcell_domain::coverage::Decision {
    RawDecision { step: s(step), decision: s(decision), date: None, note: note.map(str::to_string) }
        .validate(today())
        .expect("valid decision")
}

async fn exemption_approvals_in_order(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    let sec = &t.sec;
    let m0 = t.members[0].id.get();
    auth::add_user(&db, "c1_admin", "社区管理员", PASSWORD, Role::OrgAdmin, "C1").await.unwrap();
    let (c1_admin, _) = sign_in(&db, "c1_admin").await;

    let req = RawExemption { member_id: s(m0), reason: s("年老体弱"), note: s("行动不便") }.validate().unwrap();
    let e = exemptions::request(&db, sec, req.clone()).await.unwrap();
    assert_eq!(e.status.0.code(), "requested");
    // One open request per member.
    assert_invalid(exemptions::request(&db, sec, req).await, "member_id");

    // Out of order: the community cannot consent before the branch decides.
    assert_invalid(exemptions::decide(&db, &c1_admin, e.id, decision("community", "approve", None)).await, "step");
    // The branch meeting decision, by the branch.
    let e = exemptions::decide(&db, sec, e.id, decision("branch", "approve", Some("支部大会第3次会议"))).await.unwrap();
    assert_eq!(e.status.0.code(), "branch_approved");
    assert_eq!(e.branch_by_name.as_deref(), Some("一支部书记"));
    // The branch secretary may not take the community's step.
    let r = exemptions::decide(&db, sec, e.id, decision("community", "approve", None)).await;
    assert!(matches!(r, Err(StoreError::Denied(ref f)) if f.field == "step"), "{r:?}");
    // Nor may the community take the street's.
    let e = exemptions::decide(&db, &c1_admin, e.id, decision("community", "approve", Some("同意"))).await.unwrap();
    let r = exemptions::decide(&db, &c1_admin, e.id, decision("street", "approve", None)).await;
    assert!(matches!(r, Err(StoreError::Denied(_))), "{r:?}");
    // Before the street files it the member still takes households.
    assert!(!exemptions::is_exempt(&db, t.root.tenant_id, m0).await.unwrap());
    let e = exemptions::decide(&db, a, e.id, decision("street", "approve", Some("备案"))).await.unwrap();
    assert_eq!(e.status.0.code(), "exempt");
    assert!(e.street_on.is_some() && e.community_on.is_some() && e.branch_on.is_some());
    assert_invalid(exemptions::decide(&db, a, e.id, decision("street", "approve", None)).await, "step");

    // Exempt: no new contacts, not in the planner's instance, no quota.
    let r = try_start(&db, a, ContactLevel::MemberHousehold, m0, t.households[1].id.get(), "").await;
    let err = assert_invalid(r, "from_id");
    assert!(err.to_string().contains("免除"));
    let (inst, _) = plan::export_instance(&db, "ST", 200).await.unwrap();
    let ids: Vec<&str> = inst.members.iter().map(|m| m.id.as_str()).collect();
    assert!(!ids.contains(&format!("m{m0}").as_str()), "exempt member in the instance: {ids:?}");
    assert!(ids.contains(&format!("m{}", t.members[1].id.get()).as_str()));
    let rep = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert_eq!(rep.exempt_members, 1);
    let under = rep.gap("under_quota").unwrap();
    assert!(under.items.iter().all(|i| i.id != m0), "an exempt member carries no quota");

    // A rejection needs a reason, and closes the request.
    let raw = RawDecision { step: s("branch"), decision: s("reject"), date: None, note: None };
    assert!(raw.validate(today()).unwrap_err().for_field("note").is_some());
    let m2 = t.members[2].id.get();
    let e2 = exemptions::request(
        &db,
        a,
        RawExemption { member_id: s(m2), reason: s("long_sick"), note: None }.validate().unwrap(),
    )
    .await
    .unwrap();
    let e2 = exemptions::decide(&db, a, e2.id, decision("branch", "reject", Some("本人可以承担"))).await.unwrap();
    assert_eq!(e2.status.0.code(), "rejected");
    assert_eq!(e2.reject_reason.as_deref(), Some("本人可以承担"));
    assert_invalid(exemptions::decide(&db, a, e2.id, decision("community", "approve", None)).await, "step");
    // After a rejection a new request may be made.
    exemptions::request(
        &db,
        a,
        RawExemption { member_id: s(m2), reason: s("long_sick"), note: None }.validate().unwrap(),
    )
    .await
    .unwrap();
    // Listing: the secretary sees B1's only.
    let mine = exemptions::list(
        &db,
        sec,
        &exemptions::ExemptionFilter { org_id: Some(t.b1.id.get()), ..Default::default() },
        ALL,
    )
    .await
    .unwrap();
    assert_eq!(mine.items.iter().map(|e| e.member_id).collect::<Vec<_>>(), vec![m0]);
    assert!(audit_count(&db, "exemption").await >= 6);
}

async fn report_names_every_gap(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    let (m0, m1, m2, m3) = (t.members[0].id.get(), t.members[1].id.get(), t.members[2].id.get(), t.members[3].id.get());
    // A leader for C1 only; a street cadre for B1 only.
    let leader = cadre(&db, a, raw_cadre(t.root.id.get(), "leadership", "包社领导甲", vec![t.c1.id])).await;
    start(&db, a, ContactLevel::LeaderCommunity, leader.id.get(), t.c1.id.get(), "").await;
    start(&db, a, ContactLevel::CadreBranch, t.cadres[2].id.get(), t.b1.id.get(), "").await;
    // A building without any 中心户, with one household.
    let lone = building(&db, a, t.grids[0].id.get(), "9幢", 1).await;
    let lone_h = household(&db, a, lone.id, 1, "101").await;
    // Quotas: each member 1 household.
    mh_quota(&db, a, t.root.id.get(), 1, 1).await;
    start(&db, a, ContactLevel::MemberHousehold, m0, t.households[0].id.get(), "").await;
    start(&db, a, ContactLevel::MemberHousehold, m0, t.households[1].id.get(), "").await;

    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert_eq!((r.households, r.households_covered), (5, 2));
    let names = |k: &str| r.gap(k).unwrap().items.iter().map(|i| i.id).collect::<Vec<_>>();
    let mut hh = names("households_without_member");
    hh.sort();
    assert_eq!(hh, vec![t.households[2].id.get(), t.households[3].id.get(), lone_h.id.get()]);
    assert!(r.gap("households_without_member").unwrap().items[0].href.starts_with("/households/"));
    // B1 (and its party group G1) have a cadre: members of B2 and B3 have none.
    assert_eq!(r.members, 4);
    assert_eq!(r.members_with_cadre, 2);
    let mut no_cadre = names("members_without_cadre");
    no_cadre.sort();
    assert_eq!(no_cadre, vec![m2, m3]);
    assert_eq!(names("communities_without_leader"), vec![t.c2.id.get()]);
    assert_eq!((r.communities, r.communities_with_leader), (2, 1));
    assert_eq!(names("buildings_without_central"), vec![lone.id.get()]);
    assert_eq!(names("over_quota"), vec![m0]);
    let mut under = names("under_quota");
    under.sort();
    assert_eq!(under, vec![m1, m2, m3]);
    assert!(r.gap("over_quota").unwrap().items[0].detail.contains("党员联系户：2"));
    // Every household is tagged hardship in the fixture: every member is to be contacted first.
    assert_eq!(r.gap("priority_uncontacted").unwrap().total, 4);
    start(&db, a, ContactLevel::CentralMember, m0, m3, "").await;
    start(&db, a, ContactLevel::CadreMember, t.cadres[2].id.get(), m2, "").await;
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    let mut pri = r.gap("priority_uncontacted").unwrap().items.iter().map(|i| i.id).collect::<Vec<_>>();
    pri.sort();
    assert_eq!(pri, vec![m0, m1]);
    assert_eq!(r.members_with_cadre, 3, "a direct cadre contact counts");
    // The three coverages come first, as rates.
    let keys: Vec<&str> = r.rates.iter().map(|x| x.key.as_str()).collect();
    assert_eq!(&keys[..3], &["households", "members", "communities"]);
    assert_eq!(r.rates[0].percent, Some(40.0));
    assert!(
        keys.contains(&"central_member") && keys.contains(&"buildings") && keys.contains(&"quota_member_household")
    );

    // A branch secretary sees their subtree only.
    assert!(matches!(report::report(&db, &t.sec, t.root.id.get()).await, Err(StoreError::NotFound)));
    let b = report::report(&db, &t.sec, t.b1.id.get()).await.unwrap();
    assert_eq!(b.households, 3);
    assert_eq!(b.members, 2);
    assert!(b.gap("households_without_member").unwrap().items.iter().all(|i| i.id == lone_h.id.get()));
    assert_eq!(b.communities, 0);
    // The grid page's number.
    let g = report::grid_coverage(&db, a, t.grids[0].id.get()).await.unwrap();
    assert_eq!((g.covered, g.total), (2, 3));
}

async fn propose_apply_discard_and_stale(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    // Capacity 1 per member; grid 3 gets a second household its one member cannot take.
    mh_quota(&db, a, t.root.id.get(), 1, 1).await;
    let extra = household(&db, a, t.buildings[2].id.get(), 2, "202").await;
    let before = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert_eq!(before.households_covered, 0);

    let p1 = plan::propose(&db, a, t.root.id.get(), 200).await.unwrap();
    assert!(p1.is_open());
    assert_eq!((p1.households, p1.members, p1.capacity), (5, 4, 4));
    assert_eq!((p1.covered_before, p1.covered_after, p1.max_coverage), (0, 4, 4));
    assert_eq!((p1.gains, p1.losses, p1.moves), (4, 0, 0));
    assert_eq!(p1.cost, p1.lower_bound, "the solver proves optimality");
    // The reviewer is told which grid lacks members, and how many.
    let notes = p1.note_lines().join("\n");
    assert!(notes.contains("第3网格") && notes.contains("约需再增加 1 名党员"), "{notes}");
    let changes = plan::changes(&db, a, p1.id, ALL).await.unwrap();
    assert_eq!(changes.total, 4);
    assert!(changes.items.iter().all(|c| c.old_member_id.is_none() && c.new_member_id.is_some()));
    assert!(changes.items.iter().all(|c| c.new_distance == Some(0)), "everyone lives in the same building spot");
    let deltas = plan::member_deltas(&db, a, p1.id, ALL).await.unwrap();
    assert_eq!(deltas.total, 4);
    assert!(deltas.items.iter().all(|d| d.gains == 1 && d.losses == 0));
    // The proposal lives in the database: another "process" reads it.
    assert_eq!(db.int("SELECT COUNT(*) FROM plan_proposal_rows", args![]).await.unwrap(), 4);

    // Apply needs a reason.
    assert_invalid(plan::apply(&db, a, p1.id, " ").await, "reason");
    let applied = plan::apply(&db, a, p1.id, "2026年联系调整").await.unwrap();
    assert_eq!(applied.status.0.code(), "applied");
    assert_eq!(applied.decided_by_name.as_deref(), Some("管理员"));
    let after = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert_eq!(after.households_covered, 4, "coverage raised to what capacity allows");
    assert_eq!(after.gap("households_without_member").unwrap().items.len(), 1);
    let roster = roster_on(&db, a, t.root.id.get(), today()).await;
    assert_eq!(roster.len(), 4);
    assert!(roster.iter().all(|c| c.proposal_id == Some(p1.id) && c.created_by_name.as_deref() == Some("管理员")));
    assert!(roster.iter().all(|c| c.reason.as_deref().is_some_and(|r| r.contains("2026年联系调整"))));
    // Applied once only.
    assert_invalid(plan::apply(&db, a, p1.id, "again").await, "status");
    assert_eq!(db.int("SELECT COUNT(*) FROM audit_log WHERE action = 'apply_plan'", args![]).await.unwrap(), 1);

    // A re-plan with nothing changed moves nobody.
    let p2 = plan::propose(&db, a, t.root.id.get(), 200).await.unwrap();
    assert_eq!((p2.gains, p2.losses, p2.moves, p2.covered_before, p2.covered_after), (0, 0, 0, 4, 4));
    // A member moves away (their contact ends): the plan made before is stale.
    let c_extra = roster.iter().find(|c| c.to_id != extra.id.get() && c.to_id == t.households[3].id.get()).cloned();
    let victim = c_extra.unwrap_or_else(|| roster[0].clone());
    contacts::end(&db, a, victim.id, end_raw("", "迁出")).await.unwrap();
    let n = db.int("SELECT COUNT(*) FROM contacts", args![]).await.unwrap();
    let r = plan::apply(&db, a, p2.id, "应用旧方案").await;
    let err = assert_invalid(r, "proposal");
    assert!(err.to_string().contains("重新生成"));
    assert_eq!(db.int("SELECT COUNT(*) FROM contacts", args![]).await.unwrap(), n, "nothing half-written");
    assert!(plan::get(&db, a, p2.id).await.unwrap().is_open());
    // Discard it.
    let d = plan::discard(&db, a, p2.id, "已过时").await.unwrap();
    assert_eq!(d.status.0.code(), "discarded");
    assert_invalid(plan::discard(&db, a, p2.id, "").await, "status");
    // A fresh plan closes the gap again with one move at most.
    let p3 = plan::propose(&db, a, t.root.id.get(), 200).await.unwrap();
    assert_eq!(p3.covered_before, 3);
    assert_eq!(p3.covered_after, 4);
    assert_eq!(p3.losses, 0, "the penalty keeps existing contacts");
    plan::apply(&db, a, p3.id, "补齐").await.unwrap();
    assert_eq!(report::report(&db, a, t.root.id.get()).await.unwrap().households_covered, 4);
    let listed = plan::list(&db, a, t.root.id.get(), ALL).await.unwrap();
    assert_eq!(listed.total, 3);
}

async fn plan_scope_and_rosters_export(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    let sec = &t.sec;
    mh_quota(&db, a, t.root.id.get(), 1, 2).await;
    // The secretary plans B1 only; B1's plan touches B1's households only.
    let mine = plan::propose(&db, sec, t.b1.id.get(), 0).await.unwrap();
    assert_eq!(mine.households, 2);
    let ch = plan::changes(&db, sec, mine.id, ALL).await.unwrap();
    let b1_households = [t.households[0].id.get(), t.households[1].id.get()];
    assert!(ch.items.iter().all(|c| b1_households.contains(&c.household_id)));
    assert!(matches!(plan::propose(&db, sec, t.root.id.get(), 0).await, Err(StoreError::NotFound)));
    assert!(matches!(plan::propose(&db, sec, t.b2.id.get(), 0).await, Err(StoreError::NotFound)));
    // A street-wide proposal cannot be seen, applied or discarded by the secretary.
    let street = plan::propose(&db, a, t.root.id.get(), 0).await.unwrap();
    assert_refused(plan::apply(&db, sec, street.id, "越权").await);
    assert_refused(plan::discard(&db, sec, street.id, "越权").await);
    assert!(plan::list(&db, sec, t.b1.id.get(), ALL).await.unwrap().items.iter().all(|p| p.id != street.id));
    assert!(plan::get(&db, a, street.id).await.unwrap().is_open());
    plan::apply(&db, sec, mine.id, "支部调整").await.unwrap();
    // The admin's street plan is stale now.
    assert_invalid(plan::apply(&db, a, street.id, "旧").await, "proposal");

    // Rosters on a date: masked phones, audited as an export.
    let exports = db.int("SELECT COUNT(*) FROM audit_log WHERE action = 'export'", args![]).await.unwrap();
    let (org, sheets) = workbook::contact_sheets(&db, a, t.root.id.get(), today()).await.unwrap();
    assert_eq!(org.id, t.root.id.get());
    assert_eq!(sheets.len(), 4);
    assert_eq!(sheets[0].rows.len(), 2);
    for row in &sheets[0].rows {
        assert!(row[3].contains("****"), "phone not masked: {row:?}");
        assert!(t.phones.iter().all(|p| !row.contains(p)));
    }
    assert_eq!(db.int("SELECT COUNT(*) FROM audit_log WHERE action = 'export'", args![]).await.unwrap(), exports + 1);
    // Last year's roster is empty.
    let (_, old) =
        workbook::contact_sheets(&db, a, t.root.id.get(), today() - chrono::Duration::days(365)).await.unwrap();
    assert!(old.iter().all(|s| s.rows.is_empty()));
    // A grid worker may read but not export; the secretary exports B1 only.
    auth::add_user(&db, "wg_b1", "网格员", PASSWORD, Role::GridWorker, "B1").await.unwrap();
    let (wg, _) = sign_in(&db, "wg_b1").await;
    assert!(matches!(workbook::contact_sheets(&db, &wg, t.b1.id.get(), today()).await, Err(StoreError::Forbidden)));
    assert!(matches!(workbook::contact_sheets(&db, sec, t.root.id.get(), today()).await, Err(StoreError::NotFound)));
    let (_, b1) = workbook::contact_sheets(&db, sec, t.b1.id.get(), today()).await.unwrap();
    assert_eq!(b1[0].rows.len(), 2);
}

async fn demo_seed_leaves_gaps(db: Db) {
    let opts = redcell_store::demo::DemoOptions { households: 1200, seed: 3, admin_password: None, replace: false };
    let summary = redcell_store::demo::generate(&db, &opts, &|_, _| {}).await.expect("demo");
    let s = redcell_store::coverage::seed_demo_contacts(&db, summary.tenant_id).await.expect("seed");
    assert_eq!(s.households, 1200);
    let share = s.households_covered as f64 / s.households as f64;
    assert!((0.7..0.95).contains(&share), "household coverage {share}");
    assert!(s.cadre_branch > 0 && s.leader_community > 0 && s.central > 0);
    assert!(s.members_with_cadre > s.members / 2 && s.members_with_cadre < s.members, "{s:?}");
    // Seeding twice does nothing.
    let again = redcell_store::coverage::seed_demo_contacts(&db, summary.tenant_id).await.unwrap();
    assert_eq!(again.member_household, 0);
    // The report over the demo names gaps of every main kind.
    auth::add_user(&db, "demo_admin", "演示管理员", PASSWORD, Role::Admin, "DEMO").await.unwrap();
    let (admin, _) = sign_in(&db, "demo_admin").await;
    let r = report::report(&db, &admin, summary.tenant_id).await.unwrap();
    assert_eq!(r.households, 1200);
    assert_eq!(r.households_covered, s.households_covered);
    for k in ["households_without_member", "members_without_cadre", "under_quota", "posts_without_leader"] {
        assert!(r.gap(k).unwrap().total > 0, "no {k} in the demo");
    }
    // Demonstration posts, some looked after; group leaders and leaders judged, some short.
    let posts = r.rates.iter().find(|x| x.key == "posts").unwrap();
    assert!(posts.total > 0 && posts.covered > 0 && posts.covered < posts.total, "{posts:?}");
    for k in ["quota_group_leader_central", "quota_cadre_branch"] {
        let q = r.rates.iter().find(|x| x.key == k).unwrap_or_else(|| panic!("no rate {k}"));
        assert!(q.total > 0 && q.covered < q.total, "{q:?}");
    }
    let roles = db.int("SELECT COUNT(*) FROM members WHERE party_role = 'group_leader'", args![]).await.unwrap();
    assert!(roles > 0);
    // A plan closes what capacity allows.
    let p = plan::propose(&db, &admin, summary.tenant_id, 200).await.unwrap();
    assert_eq!(p.covered_after, p.max_coverage);
    assert!(p.covered_after > p.covered_before);
    assert_eq!(p.losses, 0);
    // Deleting the demo tenant removes the new tables' rows too.
    redcell_store::demo::delete_tenant(&db, summary.tenant_id).await.unwrap();
    assert_eq!(db.int("SELECT COUNT(*) FROM contacts", args![]).await.unwrap(), 0);
    assert_eq!(db.int("SELECT COUNT(*) FROM plan_proposals", args![]).await.unwrap(), 0);
}
