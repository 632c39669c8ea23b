//! Coverage, second part: demonstration posts (示范岗), party roles judged as
//! holders, the leader-branch and households-per-中心户 quotas, the picker's
//! search, and the per-person contact counts kept with every contact event.
//! Each story runs on SQLite and (with `REDCELL_TEST_PG`) on PostgreSQL:
//! `cargo test -p redcell-store --test posts_and_picker`.

use redcell_domain::coverage::{
    ContactLevel, ExtraQuota, PartyRole, QuotaPreset, RawContact, RawEndContact, RawPost, RawQuota,
};
use redcell_store::coverage::pick::{self, PickKind};
use redcell_store::coverage::posts::{self, PostFilter};
use redcell_store::coverage::{contacts, quotas, report};
use redcell_store::registry::Page;
use redcell_store::{Db, Principal, StoreError, args};
use redcell_testkit::store::*;

stories!(
    posts_and_group_leaders,
    holders_and_leaders_judged,
    central_ratio_per_grid,
    picker_in_scope,
    counts_follow_events,
);

const ALL: Page = Page { page: Some(1), per_page: Some(200) };

fn today() -> chrono::NaiveDate {
    redcell_store::coverage::today()
}

fn raw_contact(level: ContactLevel, from: i64, to: i64, to_kind: Option<&str>) -> RawContact {
    RawContact {
        level: s(level.code()),
        from_id: s(from),
        to_id: s(to),
        to_kind: to_kind.map(str::to_string),
        since: None,
        reason: s("测试"),
    }
}

async fn start(
    db: &Db,
    p: &Principal,
    level: ContactLevel,
    from: i64,
    to: i64,
    to_kind: Option<&str>,
) -> contacts::Contact {
    contacts::start(db, p, raw_contact(level, from, to, to_kind).validate(today()).expect("valid contact"))
        .await
        .unwrap_or_else(|e| panic!("start {level:?} {from}->{to}: {e:?}"))
}

fn post_raw(name: &str, member: i64, grid: Option<i64>, unit: Option<i64>) -> RawPost {
    RawPost {
        name: s(name),
        member_id: s(member),
        grid_id: grid.map(|g| g.to_string()),
        unit_id: unit.map(|u| u.to_string()),
        ..Default::default()
    }
}

async fn set_central(db: &Db, member: i64) {
    db.exec("UPDATE members SET central_household = TRUE WHERE id = $1", args![member]).await.expect("central");
}

fn gap_ids(r: &report::Report, key: &str) -> Vec<i64> {
    let mut v: Vec<i64> = r.gap(key).unwrap_or_else(|| panic!("gap {key}")).items.iter().map(|i| i.id).collect();
    v.sort();
    v
}

/// The details of the items of a gap linking to `href` (ids of members and cadres may coincide).
fn detail_of(r: &report::Report, key: &str, href: &str) -> String {
    r.gap(key)
        .unwrap()
        .items
        .iter()
        .filter(|i| i.href == href)
        .map(|i| i.detail.clone())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn m(id: i64) -> String {
    format!("/members/{id}")
}

fn c(id: i64) -> String {
    format!("/cadres/{id}")
}

fn g(id: i64) -> String {
    format!("/grids/{id}")
}

/// The counts table equals a recount of the active contacts.
async fn counts_exact(db: &Db) {
    let kept: Vec<(String, i64, i64)> = db
        .all("SELECT level, from_id, n FROM contact_counts WHERE n <> 0 ORDER BY level, from_id", args![])
        .await
        .unwrap();
    let recount: Vec<(String, i64, i64)> = db
        .all(
            "SELECT level, from_id, COUNT(*) FROM contacts WHERE until IS NULL GROUP BY level, from_id ORDER BY level, from_id",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(kept, recount);
}

async fn posts_and_group_leaders(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    let (m0, m1, m2) = (t.members[0].id.get(), t.members[1].id.get(), t.members[2].id.get());
    quotas::apply_preset(&db, a, t.root.id.get(), QuotaPreset::Rural).await.unwrap();

    // A post at a unit lies in that unit's grid and under the grid's organisation.
    let p = posts::create(
        &db,
        a,
        post_raw("便民服务示范岗", m0, None, Some(t.units[0].id.get())).validate(today()).unwrap(),
    )
    .await
    .expect("create post");
    assert_eq!((p.grid_id, p.org_id, p.member_name.as_str()), (t.grids[0].id.get(), t.b1.id.get(), "张一"));
    assert!(p.leader_name.is_none() && p.active());
    let audited = db.int("SELECT COUNT(*) FROM audit_log WHERE entity = 'demo_post'", args![]).await.unwrap();
    assert_eq!(audited, 1);
    // Bad input: no place; a unit outside the grid named; a member or grid outside the caller's scope.
    let e = post_raw("x", m0, None, None).validate(today()).unwrap_err();
    assert!(e.for_field("grid_id").is_some());
    let wrong_grid = post_raw("x", m0, Some(t.grids[1].id.get()), Some(t.units[0].id.get())).validate(today()).unwrap();
    assert_invalid(posts::create(&db, a, wrong_grid).await, "unit_id");
    let foreign_member = post_raw("x", m2, Some(t.grids[0].id.get()), None).validate(today()).unwrap();
    assert_invalid(posts::create(&db, &t.sec, foreign_member).await, "member_id");
    let foreign_grid = post_raw("x", m0, Some(t.grids[1].id.get()), None).validate(today()).unwrap();
    assert!(posts::create(&db, &t.sec, foreign_grid).await.is_err());
    assert_eq!(
        posts::list(&db, a, &PostFilter { org_id: Some(t.root.id.get()), ..Default::default() }, ALL)
            .await
            .unwrap()
            .total,
        1
    );
    // The branch secretary sees it; a post of B2 stays out of their lists.
    let p2 = posts::create(
        &db,
        a,
        post_raw("文明经营示范岗", m2, Some(t.grids[1].id.get()), None).validate(today()).unwrap(),
    )
    .await
    .unwrap();
    let mine =
        posts::list(&db, &t.sec, &PostFilter { org_id: Some(t.b1.id.get()), ..Default::default() }, ALL).await.unwrap();
    assert_eq!(mine.items.iter().map(|x| x.id).collect::<Vec<_>>(), vec![p.id]);
    assert!(matches!(posts::get(&db, &t.sec, p2.id).await, Err(StoreError::NotFound)));

    // Both posts lack a group leader: a named gap.
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert_eq!(gap_ids(&r, "posts_without_leader"), vec![p.id, p2.id]);
    assert!(r.gap("posts_without_leader").unwrap().items[0].href.starts_with("/posts/"));

    // m1 becomes group leader: judged (rural 2–5) with no contacts at all.
    let d = posts::set_party_role(&db, a, m1, Some(PartyRole::GroupLeader)).await.unwrap();
    assert_eq!(d.role_label(), "党小组长");
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert!(detail_of(&r, "under_quota", &m(m1)).contains("党小组长联系中心户：0"));

    // Only the group-leader level takes a post as its object.
    let bad = raw_contact(ContactLevel::MemberHousehold, m1, p.id, Some("post")).validate(today()).unwrap_err();
    assert!(bad.for_field("to_kind").is_some());
    let c = start(&db, a, ContactLevel::GroupLeaderCentral, m1, p.id, Some("post")).await;
    assert_eq!((c.to_kind.as_str(), c.to_name.as_str()), ("post", "便民服务示范岗"));
    assert_eq!(c.to_href(), format!("/posts/{}", p.id));
    assert_eq!(posts::get(&db, a, p.id).await.unwrap().leader_name.as_deref(), Some("李一"));
    // The same post twice is refused; a 中心户 beside it is fine (even with the post's id).
    let again = raw_contact(ContactLevel::GroupLeaderCentral, m1, p.id, Some("post")).validate(today()).unwrap();
    assert_invalid(contacts::start(&db, a, again).await, "to_id");
    set_central(&db, m0).await;
    start(&db, a, ContactLevel::GroupLeaderCentral, m1, m0, None).await;
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert_eq!(gap_ids(&r, "posts_without_leader"), vec![p2.id]);
    assert!(!detail_of(&r, "under_quota", &m(m1)).contains("党小组长"), "two objects: within 2–5");
    let rate = r.rates.iter().find(|x| x.key == "posts").unwrap();
    assert_eq!((rate.covered, rate.total), (1, 2));
    counts_exact(&db).await;

    // The member's duties show the role and the post held.
    let d = posts::member_duties(&db, a, m0).await.unwrap();
    assert_eq!(d.posts.iter().map(|x| x.id).collect::<Vec<_>>(), vec![p.id]);
    assert_eq!(d.role_code(), "");

    // Ending a post ends the contacts to it, in the same transaction.
    let end = RawEndContact { until: None, reason: s("商铺歇业") }.validate(today()).unwrap();
    let ended = posts::end(&db, a, p.id, end.clone()).await.unwrap();
    assert!(!ended.active() && ended.leader_name.is_none());
    assert_invalid(posts::end(&db, a, p.id, end).await, "until");
    let live = db
        .int("SELECT COUNT(*) FROM contacts WHERE to_kind = 'post' AND to_id = $1 AND until IS NULL", args![p.id])
        .await
        .unwrap();
    assert_eq!(live, 0);
    counts_exact(&db).await;
    let all =
        posts::list(&db, a, &PostFilter { org_id: Some(t.root.id.get()), all: Some(true), ..Default::default() }, ALL)
            .await
            .unwrap();
    assert_eq!(all.total, 2);
    // An ended post cannot be looked after again.
    let e = raw_contact(ContactLevel::GroupLeaderCentral, m1, p.id, Some("post")).validate(today()).unwrap();
    assert_invalid(contacts::start(&db, a, e).await, "to_id");
    // Clearing the role: no longer judged at that level (no contacts left that count as under).
    posts::set_party_role(&db, a, m1, None).await.unwrap();
}

async fn holders_and_leaders_judged(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    let street = t.cadres[2].id.get();
    // The urban preset applies by default: a leader stationed in C1 with no contacts at all.
    let leader = cadre(&db, a, raw_cadre(t.root.id.get(), "leadership", "包社领导甲", vec![t.c1.id])).await;
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert!(
        !detail_of(&r, "under_quota", &c(leader.id.get())).is_empty()
            && !detail_of(&r, "under_quota", &c(street)).is_empty()
    );
    let d = detail_of(&r, "under_quota", &c(leader.id.get()));
    assert!(d.contains("包社领导联系社区：0") && d.contains("包社领导联系支部：0（定额 8–12）"), "{d}");
    assert!(detail_of(&r, "under_quota", &c(street)).contains("街道干部联系支部：0（定额 2–3）"));
    assert!(r.gap("under_quota").unwrap().items.iter().any(|i| i.href == format!("/cadres/{}", leader.id.get())));
    // The community report judges the leader stationed there too.
    let c1 = report::report(&db, a, t.c1.id.get()).await.unwrap();
    assert!(!detail_of(&c1, "under_quota", &c(leader.id.get())).is_empty());

    // One community and three branches: the community is within, the branches still under 8.
    start(&db, a, ContactLevel::LeaderCommunity, leader.id.get(), t.c1.id.get(), None).await;
    for b in [t.b1.id.get(), t.b2.id.get(), t.b3.id.get()] {
        start(&db, a, ContactLevel::CadreBranch, leader.id.get(), b, None).await;
    }
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    let d = detail_of(&r, "under_quota", &c(leader.id.get()));
    assert!(d.contains("包社领导联系支部：3（定额 8–12）") && !d.contains("包社领导联系社区"), "{d}");
    assert!(
        detail_of(&r, "over_quota", &c(leader.id.get())).is_empty(),
        "a leader's branches are not judged as a cadre's 2–3"
    );
    // A custom rule keeps the urban levels and asks 1–3 branches of leaders: now within.
    let mut q = RawQuota::from_rule(&QuotaPreset::Urban.rule());
    q.values.insert(format!("{}_min", ExtraQuota::LeaderBranch.code()), 1.into());
    q.values.insert(format!("{}_max", ExtraQuota::LeaderBranch.code()), 3.into());
    let rule = q.validate().unwrap();
    assert_eq!(rule.get_extra(ExtraQuota::LeaderBranch).map(|r| (r.min, r.max)), Some((1, 3)));
    let e = quotas::set(&db, a, t.root.id.get(), &rule, None).await.unwrap();
    assert_eq!(e.rule, rule, "the extra quota survives the database");
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    // (Still short of the 40–60 members a cadre reaches through branches, a separate quota.)
    assert!(!detail_of(&r, "under_quota", &c(leader.id.get())).contains("包社领导联系支部"));
    assert!(detail_of(&r, "over_quota", &c(leader.id.get())).is_empty());

    // Rural: committee members and group leaders are judged as holders.
    quotas::apply_preset(&db, a, t.root.id.get(), QuotaPreset::Rural).await.unwrap();
    let (m0, m2) = (t.members[0].id.get(), t.members[2].id.get());
    posts::set_party_role(&db, a, m0, Some(PartyRole::BranchCommittee)).await.unwrap();
    posts::set_party_role(&db, a, m2, Some(PartyRole::GeneralCommittee)).await.unwrap();
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert!(detail_of(&r, "under_quota", &m(m0)).contains("支部委员联系党小组：0（定额 1–2）"));
    assert!(detail_of(&r, "under_quota", &m(m2)).contains("总支委员联系网格支部：0"));
    assert!(r.rates.iter().any(|x| x.key == "quota_branch_committee_group" && x.total == 1 && x.covered == 0));
    // m0 (in B1) looks after B1's party group: within.
    start(&db, a, ContactLevel::BranchCommitteeGroup, m0, t.g1.id.get(), None).await;
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert!(!detail_of(&r, "under_quota", &m(m0)).contains("支部委员"));
    assert!(r.rates.iter().any(|x| x.key == "quota_branch_committee_group" && x.covered == 1));
    // A branch secretary's report judges only their subtree's holders.
    let b = report::report(&db, &t.sec, t.b1.id.get()).await.unwrap();
    assert!(detail_of(&b, "under_quota", &m(m2)).is_empty());
}

async fn central_ratio_per_grid(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    // Urban: no households-per-中心户 rule, no such gap.
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert_eq!(r.gap("grids_central_ratio").unwrap().total, 0);
    // Rural: one 中心户 per 10–15 households. Every fixture member is a 中心户: grid 1 has
    // 2 households and 2 中心户, grid 2 1 and 1, grid 3 1 and 1: too few households everywhere.
    quotas::apply_preset(&db, a, t.root.id.get(), QuotaPreset::Rural).await.unwrap();
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert_eq!(r.gap("grids_central_ratio").unwrap().total, 3, "{:?}", r.gap("grids_central_ratio"));
    assert_eq!(gap_ids(&r, "grids_central_ratio"), vec![t.grids[0].id.get(), t.grids[1].id.get(), t.grids[2].id.get()]);
    let d = detail_of(&r, "grids_central_ratio", &g(t.grids[0].id.get()));
    assert!(d.contains("2 户 / 2 个中心户") && d.contains("偏少"), "{d}");
    // Grid 2's only 中心户 stops being one: no 中心户 at all.
    db.exec("UPDATE members SET central_household = FALSE WHERE id = $1", args![t.members[2].id.get()]).await.unwrap();
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert!(detail_of(&r, "grids_central_ratio", &g(t.grids[1].id.get())).contains("没有党员中心户"));
    // Twenty more households in grid 1 make 11 per 中心户: within.
    for i in 0..20 {
        household(&db, a, t.buildings[0].id.get(), 1 + i % 2, &format!("{}", 301 + i)).await;
    }
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    assert_eq!(gap_ids(&r, "grids_central_ratio"), vec![t.grids[1].id.get(), t.grids[2].id.get()]);
    // Twelve more: 34 households for two 中心户, at least 3 needed.
    for i in 0..12 {
        household(&db, a, t.buildings[0].id.get(), 1, &format!("{}", 501 + i)).await;
    }
    let r = report::report(&db, a, t.root.id.get()).await.unwrap();
    let d = detail_of(&r, "grids_central_ratio", &g(t.grids[0].id.get()));
    assert!(d.contains("34 户 / 2 个中心户") && d.contains("至少需要 3 个"), "{d}");
    // A branch's report judges only its own grid.
    let b1 = report::report(&db, &t.sec, t.b1.id.get()).await.unwrap();
    assert_eq!(gap_ids(&b1, "grids_central_ratio"), vec![t.grids[0].id.get()]);
}

async fn picker_in_scope(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    let names = |v: Vec<pick::Candidate>| v.into_iter().map(|c| c.label).collect::<Vec<_>>();
    let found = pick::search(&db, a, PickKind::Member, "张", None).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), vec![t.members[0].id.get()]);
    assert_eq!(found[0].detail.as_deref(), Some("一街坊党支部"));
    // Nothing but names: no ID numbers or phones in any candidate.
    let all = format!("{:?}", pick::search(&db, a, PickKind::Member, "李", None).await.unwrap());
    for (id, phone) in t.id_numbers.iter().zip(&t.phones) {
        assert!(!all.contains(id.as_str()) && !all.contains(phone.as_str()));
    }
    // The branch secretary finds nobody outside B1, even when asking for the whole street.
    assert!(pick::search(&db, &t.sec, PickKind::Member, "赵", Some(t.b1.id.get())).await.unwrap().is_empty());
    assert!(pick::search(&db, &t.sec, PickKind::Member, "赵", Some(t.root.id.get())).await.is_err());
    // Households by building, unit and room; organisations by name or code; cadres and posts by name.
    let h = pick::search(&db, a, PickKind::Household, "1幢1单元101", None).await.unwrap();
    assert_eq!(h.iter().map(|c| c.id).collect::<Vec<_>>(), vec![t.households[0].id.get()]);
    assert_eq!(pick::search(&db, a, PickKind::Household, "1幢", None).await.unwrap().len(), 2);
    assert_eq!(names(pick::search(&db, a, PickKind::Org, "B2", None).await.unwrap()), vec!["一楼宇党支部"]);
    assert_eq!(pick::search(&db, a, PickKind::Org, "街坊", Some(t.c1.id.get())).await.unwrap().len(), 2);
    assert_eq!(names(pick::search(&db, a, PickKind::Cadre, "街道", None).await.unwrap()), vec!["街道干部丙"]);
    posts::create(
        &db,
        a,
        post_raw("便民服务示范岗", t.members[0].id.get(), Some(t.grids[0].id.get()), None).validate(today()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(pick::search(&db, a, PickKind::Post, "便民", None).await.unwrap().len(), 1);
    // A number is an id; the resolver picks the one match or names the field.
    let one = pick::search(&db, a, PickKind::Member, &t.members[1].id.get().to_string(), None).await.unwrap();
    assert_eq!(names(one), vec!["李一"]);
    let r = pick::resolve(&db, a, PickKind::Member, "from_id", "孙", None).await.unwrap();
    assert_eq!(r.unwrap(), Some(t.members[3].id.get()));
    let r = pick::resolve(&db, a, PickKind::Household, "to_id", "1幢", None).await.unwrap();
    let (e, cands) = r.unwrap_err();
    assert_eq!((e.field.as_str(), cands.len()), ("to_id", 2));
    let (e, _) = pick::resolve(&db, a, PickKind::Member, "from_id", "无此人", None).await.unwrap().unwrap_err();
    assert_eq!(e.code, "not_found");
}

async fn counts_follow_events(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    let (m0, m1) = (t.members[0].id.get(), t.members[1].id.get());
    for h in &t.households {
        start(&db, a, ContactLevel::MemberHousehold, m0, h.id.get(), None).await;
    }
    counts_exact(&db).await;
    let n: i64 = db
        .int("SELECT n FROM contact_counts WHERE level = 'member_household' AND from_id = $1", args![m0])
        .await
        .unwrap();
    assert_eq!(n, 4);
    // Ending one, removing a household (its contacts end) and removing a member (theirs end).
    let first =
        contacts::roster(&db, a, &contacts::RosterFilter { org_id: Some(t.root.id.get()), ..Default::default() }, ALL)
            .await
            .unwrap()
            .items[0]
            .id;
    contacts::end(&db, a, first, RawEndContact { until: None, reason: s("调整") }.validate(today()).unwrap())
        .await
        .unwrap();
    counts_exact(&db).await;
    set_central(&db, m0).await;
    start(&db, a, ContactLevel::CentralMember, m0, m1, None).await;
    counts_exact(&db).await;
    redcell_store::registry::members::delete(&db, a, redcell_domain::MemberId::new(m0)).await.expect("remove member");
    counts_exact(&db).await;
    let left = db.int("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM contact_counts", args![]).await.unwrap();
    assert_eq!(left, 0);
}
