//! Stories of the registry store, each run on SQLite and (when
//! `REDCELL_TEST_PG` is set) on PostgreSQL: `cargo test -p redcell-store --test registry`.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use redcell_domain::ident::mask_id;
use redcell_domain::input::{RawBuilding, RawGrid};
use redcell_domain::phone::mask_phone;
use redcell_domain::{BuildingId, CadreId, GridId, HouseholdId, IdNumber, MemberId, OrgId, ResidentId, Role, UnitId};
use redcell_store::registry::buildings::{self, BuildingFilter};
use redcell_store::registry::cadres::{self, CadreFilter};
use redcell_store::registry::grids::{self, GridFilter};
use redcell_store::registry::households::{self, HouseholdFilter};
use redcell_store::registry::members::{self, MemberFilter};
use redcell_store::registry::orgs::{self, OrgFilter};
use redcell_store::registry::residents::{self, ResidentFilter};
use redcell_store::registry::units::{self, UnitFilter};
use redcell_store::registry::{Page, search};
use redcell_store::{Args, Db, Principal, StoreError, args, auth};
use redcell_testkit::store::*;
use sha2::{Digest, Sha256};

stories!(
    scope_isolation,
    tenant_isolation,
    bad_input,
    moving_a_subtree,
    masking,
    auth_lockout_logout_audit,
    paging,
    round_trip,
);

const ALL: Page = Page { page: Some(1), per_page: Some(200) };

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort_unstable();
    v
}

/// The ids every registry list shows to `p`, by list.
#[derive(Debug, PartialEq)]
struct Visible {
    orgs: Vec<OrgId>,
    grids: Vec<GridId>,
    buildings: Vec<BuildingId>,
    households: Vec<HouseholdId>,
    residents: Vec<ResidentId>,
    members: Vec<MemberId>,
    cadres: Vec<CadreId>,
    units: Vec<UnitId>,
}

async fn visible(db: &Db, p: &Principal) -> Visible {
    let o = orgs::list(db, p, &OrgFilter::default(), ALL).await.expect("orgs");
    let tree = orgs::tree(db, p).await.expect("tree");
    assert_eq!(sorted(tree.iter().map(|x| x.id).collect()), sorted(o.items.iter().map(|x| x.id).collect()));
    let g = grids::list(db, p, &GridFilter::default(), ALL).await.expect("grids");
    let b = buildings::list(db, p, &BuildingFilter::default(), ALL).await.expect("buildings");
    let h = households::list(db, p, &HouseholdFilter::default(), ALL).await.expect("households");
    let r = residents::list(db, p, &ResidentFilter::default(), ALL).await.expect("residents");
    let m = members::list(db, p, &MemberFilter::default(), ALL).await.expect("members");
    let c = cadres::list(db, p, &CadreFilter::default(), ALL).await.expect("cadres");
    let u = units::list(db, p, &UnitFilter::default(), ALL).await.expect("units");
    // Totals agree with the rows (one page holds everything here).
    assert_eq!(o.total as usize, o.items.len());
    assert_eq!(r.total as usize, r.items.len());
    assert_eq!(m.total as usize, m.items.len());
    Visible {
        orgs: sorted(o.items.iter().map(|x| x.id).collect()),
        grids: sorted(g.items.iter().map(|x| x.id).collect()),
        buildings: sorted(b.items.iter().map(|x| x.id).collect()),
        households: sorted(h.items.iter().map(|x| x.id).collect()),
        residents: sorted(r.items.iter().map(|x| x.id).collect()),
        members: sorted(m.items.iter().map(|x| x.id).collect()),
        cadres: sorted(c.items.iter().map(|x| x.id).collect()),
        units: sorted(u.items.iter().map(|x| x.id).collect()),
    }
}

/// What the secretary of B1 should see: B1 and G1 and everything under them.
fn b1_rows(t: &Tenant) -> Visible {
    Visible {
        orgs: sorted(vec![t.b1.id, t.g1.id]),
        grids: vec![t.grids[0].id],
        buildings: vec![t.buildings[0].id],
        households: sorted(vec![t.households[0].id, t.households[1].id]),
        residents: sorted(t.residents[0..3].iter().map(|r| r.id).collect()),
        members: sorted(vec![t.members[0].id, t.members[1].id]),
        cadres: vec![t.cadres[0].id],
        units: vec![t.units[0].id],
    }
}

fn all_rows(t: &Tenant) -> Visible {
    Visible {
        orgs: sorted(vec![t.root.id, t.c1.id, t.c2.id, t.b1.id, t.b2.id, t.b3.id, t.g1.id]),
        grids: sorted(t.grids.iter().map(|x| x.id).collect()),
        buildings: sorted(t.buildings.iter().map(|x| x.id).collect()),
        households: sorted(t.households.iter().map(|x| x.id).collect()),
        residents: sorted(t.residents.iter().map(|x| x.id).collect()),
        members: sorted(t.members.iter().map(|x| x.id).collect()),
        cadres: sorted(t.cadres.iter().map(|x| x.id).collect()),
        units: sorted(t.units.iter().map(|x| x.id).collect()),
    }
}

// ---------------------------------------------------------------------------
// 1. Scope isolation
// ---------------------------------------------------------------------------

async fn scope_isolation(db: Db) {
    let t = tenant(&db).await;
    let (sec, admin) = (&t.sec, &t.admin);

    // The session path gave the secretary exactly one grant, on B1.
    assert_eq!(sec.grants.len(), 1);
    assert_eq!((sec.grants[0].org_id, sec.grants[0].role), (t.b1.id.get(), Role::Secretary));

    // Every list: the secretary sees B1's subtree, the admin the whole tenant.
    assert_eq!(visible(&db, sec).await, b1_rows(&t));
    assert_eq!(visible(&db, admin).await, all_rows(&t));

    // Filters cannot widen the scope.
    let f = OrgFilter { parent_id: Some(t.c1.id), ..Default::default() };
    assert_eq!(orgs::list(&db, sec, &f, ALL).await.unwrap().total, 1, "only B1 among C1's children");
    let f = GridFilter { org_id: Some(t.root.id), ..Default::default() };
    assert_eq!(grids::list(&db, sec, &f, ALL).await.unwrap().total, 1);
    let f = ResidentFilter { org_id: Some(t.root.id), ..Default::default() };
    assert_eq!(residents::list(&db, sec, &f, ALL).await.unwrap().total, 3);
    let f = CadreFilter { org_id: Some(t.c1.id), ..Default::default() };
    let c = cadres::list(&db, sec, &f, ALL).await.unwrap();
    assert_eq!(
        c.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![t.cadres[0].id],
        "the street cadre stationed in C1 is outside"
    );
    assert_eq!(cadres::list(&db, admin, &f, ALL).await.unwrap().total, 3, "B1, B2 and the one stationed in C1");
    let f = HouseholdFilter { building_id: Some(t.buildings[1].id), ..Default::default() };
    assert_eq!(households::list(&db, sec, &f, ALL).await.unwrap().total, 0);

    // Get by id of a row outside: not found. Inside: found.
    for id in [t.root.id, t.c1.id, t.c2.id, t.b2.id, t.b3.id] {
        assert!(matches!(orgs::get(&db, sec, id).await, Err(StoreError::NotFound)), "org {id}");
    }
    assert!(matches!(orgs::by_code(&db, sec, "B2").await, Err(StoreError::NotFound)));
    for i in 1..3 {
        assert!(matches!(grids::get(&db, sec, t.grids[i].id).await, Err(StoreError::NotFound)));
        assert!(matches!(buildings::get(&db, sec, t.buildings[i].id).await, Err(StoreError::NotFound)));
        assert!(matches!(units::get(&db, sec, t.units[i].id).await, Err(StoreError::NotFound)));
    }
    for h in &t.households[2..] {
        assert!(matches!(households::get(&db, sec, h.id).await, Err(StoreError::NotFound)));
    }
    for r in &t.residents[3..] {
        assert!(matches!(residents::get(&db, sec, r.id).await, Err(StoreError::NotFound)));
    }
    for m in &t.members[2..] {
        assert!(matches!(members::get(&db, sec, m.id).await, Err(StoreError::NotFound)));
    }
    for c in &t.cadres[1..] {
        assert!(matches!(cadres::get(&db, sec, c.id).await, Err(StoreError::NotFound)));
    }
    assert_eq!(orgs::get(&db, sec, t.g1.id).await.unwrap().id, t.g1.id);
    assert_eq!(residents::get(&db, sec, t.residents[2].id).await.unwrap().id, t.residents[2].id);
    assert_eq!(members::get(&db, sec, t.members[1].id).await.unwrap().id, t.members[1].id);
    assert!(cadres::stations(&db, sec, t.cadres[2].id).await.unwrap().is_empty());

    // The search box finds nobody outside, by name, phone or ID number, in
    // either list that searches people.
    for i in 3..t.residents.len() {
        let r = &t.residents[i];
        for q in [r.name.as_str(), t.phones[i].as_str(), t.id_numbers[i].as_str()] {
            let found = search::people(&db, sec, q, ALL).await.unwrap();
            assert_eq!((found.total, found.items.len()), (0, 0), "search {q:?} leaked");
            let f = ResidentFilter { q: Some(q.to_string()), ..Default::default() };
            assert_eq!(residents::list(&db, sec, &f, ALL).await.unwrap().total, 0, "resident list {q:?} leaked");
            let f = MemberFilter { q: Some(q.to_string()), ..Default::default() };
            assert_eq!(members::list(&db, sec, &f, ALL).await.unwrap().total, 0, "member list {q:?} leaked");
            // The admin does find them.
            assert_eq!(search::people(&db, admin, q, ALL).await.unwrap().total, 1, "admin search {q:?}");
        }
    }
    // ... and does find people inside, by every key.
    for q in [t.residents[0].name.as_str(), t.phones[0].as_str(), t.id_numbers[0].as_str()] {
        let found = search::people(&db, sec, q, ALL).await.unwrap();
        assert_eq!(found.items.iter().map(|r| r.id).collect::<Vec<_>>(), vec![t.residents[0].id], "search {q:?}");
    }

    // Writes outside the scope are refused and write nothing.
    let before = counts(&db).await;

    // Create under rows outside.
    let n = raw_org(Some(t.b2.id), "party_group", "X1", "越权党小组").validate().unwrap();
    assert_refused(orgs::create(&db, sec, n).await);
    // A new top-level organisation is a new tenant: only the command line makes one.
    let n = raw_org(None, "street_committee", "X0", "越权街道").validate().unwrap();
    assert_invalid(orgs::create(&db, sec, n).await, "parent_id");
    let n = RawGrid { org_id: s(t.b2.id), code: s("XG"), name: s("越权网格"), description: None }.validate().unwrap();
    assert_refused(grids::create(&db, sec, n).await);
    let n = RawBuilding { grid_id: s(t.grids[1].id), name: s("越权楼"), address: s("某路"), ..Default::default() };
    assert_refused(buildings::create(&db, sec, n.validate().unwrap()).await);
    let n = raw_household(t.buildings[1].id, 1, "999").validate().unwrap();
    assert_refused(households::create(&db, sec, n).await);
    let n = raw_resident(Some(t.households[2].id), None, "越权甲", date(1980, 1, 1), 901, "13700000001");
    assert_refused(residents::create(&db, sec, n.validate(today()).unwrap()).await);
    let n = raw_resident(None, Some(t.c2.id), "越权乙", date(1980, 1, 1), 902, "13700000002");
    assert_refused(residents::create(&db, sec, n.validate(today()).unwrap()).await);
    // A member: the person outside, or the branch outside.
    let n = raw_member(t.residents[5].id, t.b1.id, None).validate(today()).unwrap();
    assert_refused(members::create(&db, sec, n).await);
    let n = raw_member(t.residents[2].id, t.b2.id, None).validate(today()).unwrap();
    assert_refused(members::create(&db, sec, n).await);
    // A cadre: in an organisation outside, stationed outside, or tied to a member outside.
    let n = raw_cadre(t.b2.id, "grid_worker", "越权干部", vec![]).validate().unwrap();
    assert_refused(cadres::create(&db, sec, n).await);
    let n = raw_cadre(t.b1.id, "stationed_cadre", "越权驻点", vec![t.c2.id]).validate().unwrap();
    assert_refused(cadres::create(&db, sec, n).await);
    let mut raw = raw_cadre(t.b1.id, "grid_worker", "越权关联", vec![]);
    raw.member_id = s(t.members[2].id);
    assert_refused(cadres::create(&db, sec, raw.validate().unwrap()).await);
    let n = raw_unit(t.grids[1].id, "越权商铺").validate().unwrap();
    assert_refused(units::create(&db, sec, n).await);

    // Update rows outside (with otherwise valid input).
    let n = raw_org(Some(t.c1.id), "branch_building", "B2", "改名").validate().unwrap();
    assert_refused(orgs::update(&db, sec, t.b2.id, n).await);
    let n = RawGrid { org_id: s(t.b2.id), code: s("GR2"), name: s("改名"), description: None }.validate().unwrap();
    assert_refused(grids::update(&db, sec, t.grids[1].id, n).await);
    let n = RawBuilding {
        grid_id: s(t.grids[1].id),
        name: s("改名"),
        address: s("某路"),
        units: s(2),
        ..Default::default()
    };
    assert_refused(buildings::update(&db, sec, t.buildings[1].id, n.validate().unwrap()).await);
    let n = raw_household(t.buildings[1].id, 1, "101").validate().unwrap();
    assert_refused(households::update(&db, sec, t.households[2].id, n).await);
    let n = raw_resident(Some(t.households[2].id), None, "改名", date(1970, 1, 1), 41, "13800000004");
    assert_refused(residents::update(&db, sec, t.residents[3].id, n.validate(today()).unwrap()).await);
    let n = raw_member(t.residents[3].id, t.b2.id, None).validate(today()).unwrap();
    assert_refused(members::update(&db, sec, t.members[2].id, n).await);
    let n = raw_cadre(t.b2.id, "grid_worker", "改名", vec![]).validate().unwrap();
    assert_refused(cadres::update(&db, sec, t.cadres[1].id, n).await);
    let n = raw_unit(t.grids[1].id, "改名").validate().unwrap();
    assert_refused(units::update(&db, sec, t.units[1].id, n).await);

    // Update rows inside so that they would move outside.
    let n = raw_org(Some(t.c2.id), "branch_neighbourhood", "B1", "搬走").validate().unwrap();
    assert_refused(orgs::update(&db, sec, t.b1.id, n).await);
    let n = raw_org(Some(t.b2.id), "party_group", "G1", "搬走").validate().unwrap();
    assert_refused(orgs::update(&db, sec, t.g1.id, n).await);
    let n = RawGrid { org_id: s(t.b2.id), code: s("GR1"), name: s("搬走"), description: None }.validate().unwrap();
    assert_refused(grids::update(&db, sec, t.grids[0].id, n).await);
    let n = RawBuilding {
        grid_id: s(t.grids[1].id),
        name: s("搬走"),
        address: s("某路"),
        units: s(2),
        ..Default::default()
    };
    assert_refused(buildings::update(&db, sec, t.buildings[0].id, n.validate().unwrap()).await);
    let n = raw_household(t.buildings[1].id, 1, "909").validate().unwrap();
    assert_refused(households::update(&db, sec, t.households[0].id, n).await);
    let n = raw_resident(Some(t.households[2].id), None, "张一", date(1960, 3, 15), 11, "13800000001");
    assert_refused(residents::update(&db, sec, t.residents[0].id, n.validate(today()).unwrap()).await);
    let n = raw_member(t.residents[0].id, t.b2.id, None).validate(today()).unwrap();
    assert_refused(members::update(&db, sec, t.members[0].id, n).await);
    let n = raw_cadre(t.b1.id, "grid_worker", "网格员甲", vec![t.c1.id]).validate().unwrap();
    assert_refused(cadres::update(&db, sec, t.cadres[0].id, n).await);
    let n = raw_unit(t.grids[2].id, "搬走").validate().unwrap();
    assert_refused(units::update(&db, sec, t.units[0].id, n).await);

    // Delete rows outside.
    assert_refused(units::delete(&db, sec, t.units[1].id).await);
    assert_refused(cadres::delete(&db, sec, t.cadres[1].id).await);
    assert_refused(cadres::delete(&db, sec, t.cadres[2].id).await);
    assert_refused(members::delete(&db, sec, t.members[2].id).await);
    assert_refused(residents::delete(&db, sec, t.residents[5].id).await);
    assert_refused(households::delete(&db, sec, t.households[3].id).await);
    assert_refused(buildings::delete(&db, sec, t.buildings[2].id).await);
    assert_refused(grids::delete(&db, sec, t.grids[2].id).await);
    assert_refused(orgs::delete(&db, sec, t.b2.id).await);
    assert_refused(orgs::delete(&db, sec, t.root.id).await);

    assert_eq!(counts(&db).await, before, "a refused call wrote something");
    assert_eq!(visible(&db, admin).await, all_rows(&t));

    // Inside the scope the secretary does write.
    let u = units::create(&db, sec, raw_unit(t.grids[0].id, "社区书屋").validate().unwrap()).await.unwrap();
    assert_eq!(u.org_id, t.b1.id);
    units::delete(&db, sec, u.id).await.unwrap();

    // A link the admin made to a member outside may be kept by the secretary,
    // but not pointed at another member outside.
    let mut raw = raw_cadre(t.b1.id, "grid_worker", "网格员甲", vec![]);
    raw.member_id = s(t.members[2].id);
    cadres::update(&db, admin, t.cadres[0].id, raw.clone().validate().unwrap()).await.unwrap();
    raw.title = s("组长");
    let c = cadres::update(&db, sec, t.cadres[0].id, raw.clone().validate().unwrap()).await.unwrap();
    assert_eq!((c.member_id, c.title.as_deref()), (Some(t.members[2].id), Some("组长")));
    raw.member_id = s(t.members[3].id);
    assert_refused(cadres::update(&db, sec, t.cadres[0].id, raw.validate().unwrap()).await);
    assert_eq!(cadres::get(&db, sec, t.cadres[0].id).await.unwrap().member_id, Some(t.members[2].id));

    // Stations the secretary cannot see survive the secretary's edits.
    let station_ids = |db: Db, id: CadreId| async move {
        let v: Vec<(i64,)> = db
            .all("SELECT org_id FROM cadre_stations WHERE cadre_id = $1 ORDER BY org_id", args![id.get()])
            .await
            .unwrap();
        v.into_iter().map(|(o,)| OrgId::new(o)).collect::<Vec<_>>()
    };
    let raw = raw_cadre(t.b1.id, "stationed_cadre", "网格员甲", vec![t.g1.id, t.c2.id]);
    cadres::update(&db, admin, t.cadres[0].id, raw.validate().unwrap()).await.unwrap();
    assert_eq!(station_ids(db.clone(), t.cadres[0].id).await, sorted(vec![t.g1.id, t.c2.id]));
    // What the secretary's form shows: only G1.
    assert_eq!(cadres::stations(&db, sec, t.cadres[0].id).await.unwrap(), vec![(t.g1.id, t.g1.name.clone())]);
    let raw = raw_cadre(t.b1.id, "stationed_cadre", "网格员甲", vec![]);
    cadres::update(&db, sec, t.cadres[0].id, raw.validate().unwrap()).await.unwrap();
    assert_eq!(station_ids(db.clone(), t.cadres[0].id).await, vec![t.c2.id], "G1 removed, C2 kept");
    let raw = raw_cadre(t.b1.id, "stationed_cadre", "网格员甲", vec![t.b1.id, t.c2.id]);
    cadres::update(&db, sec, t.cadres[0].id, raw.validate().unwrap()).await.unwrap();
    assert_eq!(station_ids(db.clone(), t.cadres[0].id).await, sorted(vec![t.b1.id, t.c2.id]), "C2 listed and kept");
    let raw = raw_cadre(t.b1.id, "stationed_cadre", "网格员甲", vec![t.b1.id, t.c2.id, t.c1.id]);
    assert_refused(cadres::update(&db, sec, t.cadres[0].id, raw.validate().unwrap()).await);
    assert_eq!(station_ids(db.clone(), t.cadres[0].id).await, sorted(vec![t.b1.id, t.c2.id]));
}

// ---------------------------------------------------------------------------
// 1b. Tenants do not see each other
// ---------------------------------------------------------------------------

async fn tenant_isolation(db: Db) {
    let t = tenant(&db).await;
    // A second tenant, with a person holding an ID number already used in the first.
    let root_in = raw_org(None, "township_committee", "TW", "另一乡党委").validate().unwrap();
    let mut tx = db.begin().await.unwrap();
    let other = orgs::create_root(&mut tx, &root_in).await.unwrap();
    tx.commit().await.unwrap();
    assert_ne!(other.get(), t.root.tenant_id);
    let other_principal = Principal {
        user_id: 0,
        tenant_id: other.get(),
        username: "operator".into(),
        display_name: "operator".into(),
        grants: vec![redcell_store::scope::Grant {
            org_id: other.get(),
            org_name: String::new(),
            path: redcell_domain::OrgPath::root(other.get()),
            role: Role::Admin,
        }],
    };
    let village = org(&db, &other_principal, other, "village_general_branch", "V1", "某村党总支").await;
    let same_id = raw_resident(None, Some(village.id), "重号人", date(1970, 1, 1), 41, "13800000004");
    let r = resident(&db, &other_principal, same_id).await;
    assert_eq!(r.tenant_id, other.get(), "ID numbers are unique per tenant only");

    // The first tenant's admin sees nothing of it.
    assert_eq!(visible(&db, &t.admin).await, all_rows(&t));
    assert!(matches!(orgs::get(&db, &t.admin, village.id).await, Err(StoreError::NotFound)));
    assert!(matches!(residents::get(&db, &t.admin, r.id).await, Err(StoreError::NotFound)));
    assert_eq!(search::people(&db, &t.admin, "重号人", ALL).await.unwrap().total, 0);
    assert_eq!(search::people(&db, &t.admin, &t.id_numbers[3], ALL).await.unwrap().items[0].id, t.residents[3].id);
    // ... nor writes into it.
    let before = counts(&db).await;
    let n = raw_org(Some(village.id), "branch_village", "V1-1", "越界支部").validate().unwrap();
    assert_refused(orgs::create(&db, &t.admin, n).await);
    let n = raw_org(Some(village.id), "branch_neighbourhood", "B1", "一街坊党支部").validate().unwrap();
    assert_refused(orgs::update(&db, &t.admin, t.b1.id, n).await);
    assert_refused(orgs::delete(&db, &t.admin, village.id).await);
    assert_refused(residents::delete(&db, &t.admin, r.id).await);
    assert_eq!(counts(&db).await, before);
}

// ---------------------------------------------------------------------------
// 2. Bad input
// ---------------------------------------------------------------------------

async fn bad_input(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    let before = counts(&db).await;

    // Duplicate ID number in the tenant, on create and on update.
    let dup = raw_resident(Some(t.households[1].id), None, "重号", date(1970, 1, 1), 41, "13700000009");
    assert_eq!(dup.id_number.as_deref(), Some(t.id_numbers[3].as_str()));
    let e = assert_invalid(residents::create(&db, a, dup.validate(today()).unwrap()).await, "id_number");
    assert!(e.to_string().contains("身份证号"), "{e}");
    let dup = raw_resident(Some(t.households[1].id), None, "王一", date(1970, 1, 1), 41, "13800000003");
    assert_invalid(residents::update(&db, a, t.residents[2].id, dup.validate(today()).unwrap()).await, "id_number");

    // Duplicate organisation code, on create and on update.
    let n = raw_org(Some(t.c2.id), "branch_neighbourhood", "B2", "重码支部").validate().unwrap();
    assert_invalid(orgs::create(&db, a, n).await, "code");
    let n = raw_org(Some(t.c1.id), "branch_neighbourhood", "B3", "一街坊党支部").validate().unwrap();
    assert_invalid(orgs::update(&db, a, t.b1.id, n).await, "code");
    // Duplicate grid code.
    let n = RawGrid { org_id: s(t.b1.id), code: s("GR2"), name: s("重码网格"), description: None };
    assert_invalid(grids::create(&db, a, n.validate().unwrap()).await, "code");

    // A cycle: an organisation under its own descendant, or under itself.
    let n = raw_org(Some(t.g1.id), "community_committee", "C1", "一社区党委").validate().unwrap();
    assert_invalid(orgs::update(&db, a, t.c1.id, n).await, "parent_id");
    let n = raw_org(Some(t.b1.id), "branch_neighbourhood", "B1", "一街坊党支部").validate().unwrap();
    assert_invalid(orgs::update(&db, a, t.b1.id, n).await, "parent_id");

    // A kind that may not hang under the parent.
    let n = raw_org(Some(t.c1.id), "party_group", "PX", "挂错的党小组").validate().unwrap();
    assert_invalid(orgs::create(&db, a, n).await, "kind");
    let n = raw_org(Some(t.b1.id), "community_committee", "CX", "挂错的社区").validate().unwrap();
    assert_invalid(orgs::create(&db, a, n).await, "kind");
    let n = raw_org(Some(t.c2.id), "party_group", "G1", "一街坊第一党小组").validate().unwrap();
    assert_invalid(orgs::update(&db, a, t.g1.id, n).await, "kind");
    // ... nor a new kind that the children may not hang under (G1 needs a branch).
    let n = raw_org(Some(t.c1.id), "general_branch", "B1", "一街坊党支部").validate().unwrap();
    assert_invalid(orgs::update(&db, a, t.b1.id, n).await, "kind");
    let n = raw_org(None, "district_dept", "ST", "测试街道党工委").validate().unwrap();
    assert_invalid(orgs::update(&db, a, t.root.id, n).await, "kind");

    // A unit number beyond the building's units (it has 2).
    let n = raw_household(t.buildings[0].id, 3, "301").validate().unwrap();
    assert_invalid(households::create(&db, a, n).await, "unit_no");
    let n = raw_household(t.buildings[0].id, 3, "101").validate().unwrap();
    assert_invalid(households::update(&db, a, t.households[0].id, n).await, "unit_no");
    // ... and a building shrunk below the units already in use.
    let n = RawBuilding {
        grid_id: s(t.grids[0].id),
        name: s("1幢"),
        address: s("测试路1幢"),
        units: s(1),
        ..Default::default()
    };
    assert_invalid(buildings::update(&db, a, t.buildings[0].id, n.validate().unwrap()).await, "units");

    // A member who joined before turning 18 (王一 was born 1985-12-31).
    let n = raw_member(t.residents[2].id, t.b1.id, Some(date(2003, 12, 30))).validate(today()).unwrap();
    assert_invalid(members::create(&db, a, n).await, "joined_on");
    let n = raw_member(t.residents[0].id, t.b1.id, Some(date(1970, 1, 1))).validate(today()).unwrap();
    assert_invalid(members::update(&db, a, t.members[0].id, n).await, "joined_on");
    // The same person registered twice.
    let n = raw_member(t.residents[0].id, t.b1.id, None).validate(today()).unwrap();
    assert_invalid(members::create(&db, a, n).await, "resident_id");

    // A room registered twice.
    let n = raw_household(t.buildings[0].id, 1, "101").validate().unwrap();
    assert_invalid(households::create(&db, a, n).await, "room");
    let n = raw_household(t.buildings[0].id, 1, "101").validate().unwrap();
    assert_invalid(households::update(&db, a, t.households[1].id, n).await, "room");

    // References that do not exist.
    let n = RawGrid { org_id: s(999_999), code: s("GX"), name: s("无主网格"), description: None };
    assert_refused(grids::create(&db, a, n.validate().unwrap()).await);
    let mut raw = raw_cadre(t.b1.id, "grid_worker", "无主", vec![]);
    raw.member_id = s(999_999);
    assert_invalid(cadres::create(&db, a, raw.validate().unwrap()).await, "member_id");

    // Deleting what still has children fails and deletes nothing.
    for id in [t.root.id, t.c1.id, t.b1.id, t.b3.id, t.g1.id] {
        assert_invalid(orgs::delete(&db, a, id).await, "id");
    }
    assert_invalid(grids::delete(&db, a, t.grids[0].id).await, "id");
    assert_invalid(buildings::delete(&db, a, t.buildings[0].id).await, "id");
    assert_invalid(households::delete(&db, a, t.households[0].id).await, "id");
    assert_invalid(residents::delete(&db, a, t.residents[0].id).await, "id");
    // Rows that do not exist.
    assert!(matches!(units::delete(&db, a, UnitId::new(999_999)).await, Err(StoreError::NotFound)));
    assert!(matches!(orgs::get(&db, a, OrgId::new(999_999)).await, Err(StoreError::NotFound)));

    assert_eq!(counts(&db).await, before, "a rejected call wrote something");
    // Paths are untouched by the refused moves.
    let v = orgs::tree(&db, a).await.unwrap();
    for o in &v {
        let orig = [&t.root, &t.c1, &t.c2, &t.b1, &t.b2, &t.b3, &t.g1].into_iter().find(|x| x.id == o.id).unwrap();
        assert_eq!((&o.path, o.parent_id, &o.code, &o.name), (&orig.path, orig.parent_id, &orig.code, &orig.name));
    }

    // Deleting a leaf works (and is the control for the refusals above).
    let leaf = org(&db, a, t.b3.id, "party_group", "G3", "二街坊党小组").await;
    orgs::delete(&db, a, leaf.id).await.unwrap();
    assert!(matches!(orgs::get(&db, a, leaf.id).await, Err(StoreError::NotFound)));
}

// ---------------------------------------------------------------------------
// 3. Moving a subtree
// ---------------------------------------------------------------------------

/// Every organisation's path is its parent's path plus its own id.
fn assert_paths_consistent(tree: &[orgs::Org]) {
    for o in tree {
        let expected = match o.parent_id {
            None => format!("/{}/", o.id),
            Some(pid) => {
                let parent = tree.iter().find(|p| p.id == pid).expect("parent in tree");
                format!("{}{}/", parent.path, o.id)
            }
        };
        assert_eq!(o.path, expected, "path of {} ({})", o.code, o.id);
    }
}

async fn moving_a_subtree(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    auth::add_user(&db, "sec_c2", "二社区书记", PASSWORD, Role::Secretary, "C2").await.unwrap();
    let (c2_sec, c2_token) = sign_in(&db, "sec_c2").await;
    let c2_before = visible(&db, &c2_sec).await;
    assert!(!c2_before.households.contains(&t.households[0].id));
    assert_eq!(c2_before.residents, sorted(vec![t.residents[4].id, t.residents[5].id]));

    // Step 1: B1 (with G1) moves under a new general branch of C1.
    let gb = org(&db, a, t.c1.id, "general_branch", "GB", "一社区第一党总支").await;
    let n = raw_org(Some(gb.id), "branch_neighbourhood", "B1", "一街坊党支部").validate().unwrap();
    let b1 = orgs::update(&db, a, t.b1.id, n).await.unwrap();
    assert_eq!(b1.path, format!("{}{}/", gb.path, t.b1.id));
    assert_eq!(b1.parent_id, Some(gb.id));
    let g1 = orgs::get(&db, a, t.g1.id).await.unwrap();
    assert_eq!(g1.path, format!("{}{}/", b1.path, t.g1.id));

    // Step 2: the general branch moves to C2, taking B1 and G1 along (three levels).
    let n = raw_org(Some(t.c2.id), "general_branch", "GB", "二社区第一党总支").validate().unwrap();
    let gb = orgs::update(&db, a, gb.id, n).await.unwrap();
    assert_eq!(gb.path, format!("{}{}/", t.c2.path, gb.id));
    assert_eq!(gb.name, "二社区第一党总支");
    let b1 = orgs::get(&db, a, t.b1.id).await.unwrap();
    let g1 = orgs::get(&db, a, t.g1.id).await.unwrap();
    assert_eq!(b1.path, format!("/{}/{}/{}/{}/", t.root.id, t.c2.id, gb.id, t.b1.id));
    assert_eq!(g1.path, format!("{}{}/", b1.path, t.g1.id));
    assert_eq!(b1.parent_name.as_deref(), Some("二社区第一党总支"));

    // Every path in the tenant is consistent; the rest of the tree did not move.
    let tree = orgs::tree(&db, a).await.unwrap();
    assert_eq!(tree.len(), 8);
    assert_paths_consistent(&tree);
    for o in [&t.root, &t.c1, &t.c2, &t.b2, &t.b3] {
        assert_eq!(orgs::get(&db, a, o.id).await.unwrap().path, o.path, "{} moved", o.code);
    }
    // Children lists follow the move.
    let kids = |pid| OrgFilter { parent_id: Some(pid), ..Default::default() };
    let c1_kids = orgs::list(&db, a, &kids(t.c1.id), ALL).await.unwrap();
    assert_eq!(c1_kids.items.iter().map(|o| o.id).collect::<Vec<_>>(), vec![t.b2.id]);
    let c2_kids = orgs::list(&db, a, &kids(t.c2.id), ALL).await.unwrap();
    assert_eq!(sorted(c2_kids.items.iter().map(|o| o.id).collect()), sorted(vec![t.b3.id, gb.id]));
    let counts_c2 = orgs::counts(&db, &orgs::get(&db, a, t.c2.id).await.unwrap()).await.unwrap();
    assert_eq!((counts_c2.sub_orgs, counts_c2.households, counts_c2.members), (4, 3, 3));

    // The secretary of B1, loaded again through the session, still sees
    // exactly B1's rows; the grant now carries the new path.
    let (sec, _) = auth::principal(&db, &t.sec_token).await.unwrap();
    assert_eq!(sec.grants[0].path.as_str(), b1.path);
    assert_eq!(visible(&db, &sec).await, b1_rows(&t));
    assert_eq!(residents::get(&db, &sec, t.residents[0].id).await.unwrap().org_id, t.residents[0].org_id);
    // ... and still edits them.
    let n = raw_unit(t.grids[0].id, "搬家后的商铺").validate().unwrap();
    assert_eq!(units::update(&db, &sec, t.units[0].id, n).await.unwrap().name, "搬家后的商铺");

    // The secretary of C2 now sees the moved subtree; C1 lost it.
    let (c2_sec, _) = auth::principal(&db, &c2_token).await.unwrap();
    let c2_after = visible(&db, &c2_sec).await;
    let moved = b1_rows(&t);
    fn union<T: Ord + Copy>(x: &[T], y: &[T]) -> Vec<T> {
        sorted(x.iter().chain(y.iter()).copied().collect())
    }
    assert_eq!(c2_after.orgs, union(&c2_before.orgs, &sorted(vec![gb.id, t.b1.id, t.g1.id])));
    assert_eq!(c2_after.households, union(&c2_before.households, &moved.households));
    assert_eq!(c2_after.residents, union(&c2_before.residents, &moved.residents));
    assert_eq!(c2_after.members, union(&c2_before.members, &moved.members));
    assert_eq!(c2_after.grids, union(&c2_before.grids, &moved.grids));
    assert_eq!(c2_after.units, union(&c2_before.units, &moved.units));
    let f = OrgFilter { q: Some("B1".into()), ..Default::default() };
    assert_eq!(orgs::list(&db, &c2_sec, &f, ALL).await.unwrap().total, 1);

    // Moving back restores the original paths.
    let n = raw_org(Some(t.c1.id), "branch_neighbourhood", "B1", "一街坊党支部").validate().unwrap();
    assert_eq!(orgs::update(&db, a, t.b1.id, n).await.unwrap().path, t.b1.path);
    assert_eq!(orgs::get(&db, a, t.g1.id).await.unwrap().path, t.g1.path);
    assert_paths_consistent(&orgs::tree(&db, a).await.unwrap());
}

// ---------------------------------------------------------------------------
// 4. Masking
// ---------------------------------------------------------------------------

/// No clear ID number or phone of the tenant appears in `json`.
fn assert_no_clear_personal_data(t: &Tenant, json: &str) {
    for id in &t.id_numbers {
        assert!(!json.contains(id.as_str()), "clear ID number {id} in {json}");
        assert!(!json.contains(&id[4..14]), "middle of ID number {id} in {json}");
    }
    for ph in &t.phones {
        assert!(!json.contains(ph.as_str()), "clear phone {ph} in {json}");
    }
    for ph in ["13900000001", "87654321"] {
        assert!(!json.contains(ph), "clear phone {ph} in {json}");
    }
}

async fn masking(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    for (i, r) in t.residents.iter().enumerate() {
        let r = residents::get(&db, a, r.id).await.unwrap();
        let json = serde_json::to_string(&r.view).unwrap();
        assert_no_clear_personal_data(&t, &json);
        assert!(json.contains(&format!("\"id_number\":\"{}\"", mask_id(&t.id_numbers[i]))), "{json}");
        assert!(json.contains(&format!("\"phone\":\"{}\"", mask_phone(&t.phones[i]))), "{json}");
        assert_no_clear_personal_data(&t, &format!("{r:?} {}", r.id_number));
        // The clear value is stored and can be revealed deliberately.
        assert_eq!(r.id_number.reveal(), t.id_numbers[i]);
        assert_eq!(r.phone.as_ref().map(|p| p.reveal()), Some(t.phones[i].as_str()));
    }
    let everything = [
        serde_json::to_string(&residents::list(&db, a, &ResidentFilter::default(), ALL).await.unwrap().map(|x| x.view))
            .unwrap(),
        serde_json::to_string(&members::list(&db, a, &MemberFilter::default(), ALL).await.unwrap().map(|x| x.view))
            .unwrap(),
        serde_json::to_string(&members::get(&db, a, t.members[0].id).await.unwrap().view).unwrap(),
        serde_json::to_string(&search::people(&db, a, &t.id_numbers[0], ALL).await.unwrap().map(|x| x.view)).unwrap(),
        serde_json::to_string(&search::people(&db, a, &t.phones[1], ALL).await.unwrap().map(|x| x.view)).unwrap(),
        serde_json::to_string(&cadres::list(&db, a, &CadreFilter::default(), ALL).await.unwrap().map(|x| x.view))
            .unwrap(),
        serde_json::to_string(&units::list(&db, a, &UnitFilter::default(), ALL).await.unwrap().map(|x| x.view))
            .unwrap(),
        serde_json::to_string(&t.sec).unwrap(),
    ];
    for json in &everything {
        assert_no_clear_personal_data(&t, json);
    }
    // The searches did find the people (masked), so the check above is not vacuous.
    assert!(everything[3].contains(&mask_id(&t.id_numbers[0])));
    assert!(everything[4].contains(&mask_phone(&t.phones[1])));
    assert!(everything[5].contains("139****0001"));
    assert!(everything[6].contains("0571-****4321"));
}

// ---------------------------------------------------------------------------
// 5. Authentication, lockout, logout and the audit trail
// ---------------------------------------------------------------------------

async fn failed_logins(db: &Db, username: &str) -> i64 {
    db.int("SELECT CAST(failed_logins AS BIGINT) FROM users WHERE username = $1", args![username]).await.unwrap()
}

async fn audit_count(db: &Db, action: &str, entity: &str, entity_id: Option<impl Into<i64>>) -> i64 {
    let mut a = args![action, entity];
    let id = match entity_id {
        Some(id) => format!(" AND entity_id = {}", a.push(id.into())),
        None => String::new(),
    };
    db.int(&format!("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND entity = $2{id}"), a).await.unwrap()
}

async fn auth_lockout_logout_audit(db: Db) {
    let t = tenant(&db).await;
    use redcell_store::Capability;

    // The sessions opened by the fixture carry the grants.
    assert_eq!(t.admin.username, "admin");
    assert_eq!(t.admin.tenant_id, t.root.id.get());
    assert_eq!(t.admin.grants.len(), 1);
    let g = &t.admin.grants[0];
    assert_eq!((g.org_id, g.role, g.path.as_str()), (t.root.id.get(), Role::Admin, t.root.path.as_str()));
    assert_eq!((t.sec.grants[0].org_id, t.sec.grants[0].path.as_str()), (t.b1.id.get(), t.b1.path.as_str()));
    assert!(auth::require(&t.sec, Capability::EditRegistry).is_ok());
    assert!(matches!(auth::require(&t.sec, Capability::ManageUsers), Err(StoreError::Forbidden)));
    let (again, csrf) = auth::principal(&db, &t.admin_token).await.unwrap();
    assert_eq!(again.user_id, t.admin.user_id);
    assert_eq!(csrf.len(), 64);

    // Bad account input.
    let e = auth::add_user(&db, "sec_b1", "", PASSWORD, Role::Member, "B1").await.unwrap_err();
    assert_eq!(fields(&e), vec!["username"]);
    let e = auth::add_user(&db, "weak_pw", "", "short", Role::Member, "B1").await.unwrap_err();
    assert_eq!(fields(&e), vec!["password"]);
    let e = auth::add_user(&db, "no_org", "", PASSWORD, Role::Member, "NOPE").await.unwrap_err();
    assert_eq!(fields(&e), vec!["org"]);

    // Unknown user, forged token.
    assert!(matches!(auth::login(&db, "nobody", PASSWORD).await, Err(StoreError::Unauthorized)));
    assert!(matches!(auth::principal(&db, "not-a-token").await, Err(StoreError::Unauthorized)));

    // A failure then a success resets the counter.
    assert!(matches!(auth::login(&db, "admin", "wrong-password-1").await, Err(StoreError::Unauthorized)));
    assert_eq!(failed_logins(&db, "admin").await, 1);
    let s = auth::login(&db, "admin", PASSWORD).await.unwrap();
    assert_eq!(failed_logins(&db, "admin").await, 0);
    assert!(s.expires_at > Utc::now() + Duration::hours(11));

    // Logout invalidates that token, and only that one.
    auth::logout(&db, &s.token).await.unwrap();
    assert!(matches!(auth::principal(&db, &s.token).await, Err(StoreError::Unauthorized)));
    assert!(auth::principal(&db, &t.admin_token).await.is_ok());

    // Four wrong passwords count up; the fifth locks the account.
    for i in 1..auth::MAX_FAILED_LOGINS {
        let r = auth::login(&db, "sec_b1", &format!("wrong-password-{i}")).await;
        assert!(matches!(r, Err(StoreError::Unauthorized)), "attempt {i}: {r:?}");
        assert_eq!(failed_logins(&db, "sec_b1").await, i);
    }
    let start = Utc::now();
    let until = match auth::login(&db, "sec_b1", "wrong-password-5").await {
        Err(StoreError::Locked(until)) => until,
        other => panic!("expected the account to be locked, got {other:?}"),
    };
    assert!(until >= start + Duration::minutes(auth::LOCK_MINUTES) - Duration::seconds(1));
    assert!(until <= Utc::now() + Duration::minutes(auth::LOCK_MINUTES));
    // Even the right password is refused while locked.
    match auth::login(&db, "sec_b1", PASSWORD).await {
        Err(StoreError::Locked(u)) => assert_eq!(u.trunc_subsecs(3), until.trunc_subsecs(3)),
        other => panic!("expected Locked, got {other:?}"),
    }
    let stored: Option<DateTime<Utc>> = db
        .one::<(Option<DateTime<Utc>>,)>("SELECT locked_until FROM users WHERE username = $1", args!["sec_b1"])
        .await
        .unwrap()
        .0;
    assert_eq!(stored.map(|u| u.trunc_subsecs(3)), Some(until.trunc_subsecs(3)));

    // Wrong passwords tried in parallel are all counted: the account locks.
    auth::add_user(&db, "racer", "", PASSWORD, Role::Member, "B1").await.unwrap();
    let tries: Vec<_> = (0..auth::MAX_FAILED_LOGINS)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move { auth::login(&db, "racer", &format!("parallel-guess-{i}")).await })
        })
        .collect();
    let mut locked = 0;
    for t in tries {
        match t.await.unwrap() {
            Err(StoreError::Locked(_)) => locked += 1,
            Err(StoreError::Unauthorized) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(locked, 1, "exactly the fifth parallel failure locks");
    assert!(matches!(auth::login(&db, "racer", PASSWORD).await, Err(StoreError::Locked(_))));

    // An expired session is refused and purged.
    // (Sessions are stored by the SHA-256 of the token, never the token itself.)
    let s = auth::login(&db, "admin", PASSWORD).await.unwrap();
    let stored_as = hex::encode(Sha256::digest(s.token.as_bytes()));
    let clear = db.int("SELECT COUNT(*) FROM sessions WHERE token_hash = $1", args![s.token.clone()]).await.unwrap();
    assert_eq!(clear, 0, "a clear token is stored");
    let n = db
        .exec(
            "UPDATE sessions SET expires_at = $1 WHERE token_hash = $2",
            args![Utc::now() - Duration::seconds(1), stored_as],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(matches!(auth::principal(&db, &s.token).await, Err(StoreError::Unauthorized)));
    assert_eq!(auth::purge_expired_sessions(&db).await.unwrap(), 1);
    assert!(auth::principal(&db, &t.admin_token).await.is_ok());

    // Changes by the admin: one update, one delete.
    let n = raw_unit(t.grids[0].id, "改名的商铺").validate().unwrap();
    units::update(&db, &t.admin, t.units[0].id, n).await.unwrap();
    units::delete(&db, &t.admin, t.units[1].id).await.unwrap();

    // The audit trail has a row for each, attributed and in the tenant.
    assert_eq!(audit_count(&db, "create", "resident", Some(t.residents[0].id)).await, 1);
    assert_eq!(audit_count(&db, "create", "org", Some(t.b1.id)).await, 1);
    assert_eq!(audit_count(&db, "create", "user", None::<i64>).await, 3);
    assert_eq!(audit_count(&db, "update", "unit", Some(t.units[0].id)).await, 1);
    assert_eq!(audit_count(&db, "delete", "unit", Some(t.units[1].id)).await, 1);
    assert_eq!(audit_count(&db, "login", "user", Some(t.admin.user_id)).await, 3);
    assert_eq!(audit_count(&db, "login", "user", Some(t.sec.user_id)).await, 1);
    assert_eq!(audit_count(&db, "login_failed", "user", Some(t.admin.user_id)).await, 1);
    assert_eq!(audit_count(&db, "login_failed", "user", Some(t.sec.user_id)).await, auth::MAX_FAILED_LOGINS);
    let (uid, tenant): (Option<i64>, i64) = db
        .one(
            "SELECT user_id, tenant_id FROM audit_log WHERE action = 'delete' AND entity = 'unit' AND entity_id = $1",
            args![t.units[1].id],
        )
        .await
        .unwrap();
    assert_eq!((uid, tenant), (Some(t.admin.user_id), t.root.id.get()));
    let creates = db.int("SELECT COUNT(*) FROM audit_log WHERE action = 'create'", Args::new()).await.unwrap();
    // root + 6 orgs + 3 grids + 3 buildings + 3 units + 4 households + 6 residents + 4 members + 3 cadres + 3 users
    assert_eq!(creates, 36);

    // A change that fails leaves no audit row (the row is in the change's transaction).
    let before = db.int("SELECT COUNT(*) FROM audit_log", Args::new()).await.unwrap();
    let n = raw_org(Some(t.c1.id), "branch_neighbourhood", "B2", "重码").validate().unwrap();
    assert!(orgs::create(&db, &t.admin, n).await.is_err());
    assert_eq!(db.int("SELECT COUNT(*) FROM audit_log", Args::new()).await.unwrap(), before);

    // A disabled account loses its sessions.
    db.exec("UPDATE users SET disabled = $1 WHERE id = $2", args![true, t.admin.user_id]).await.unwrap();
    assert!(matches!(auth::principal(&db, &t.admin_token).await, Err(StoreError::Unauthorized)));
}

// ---------------------------------------------------------------------------
// 6. Paging
// ---------------------------------------------------------------------------

async fn paging(db: Db) {
    let t = tenant(&db).await;
    let a = &t.admin;
    let p2 = |n: u32| Page { page: Some(n), per_page: Some(2) };

    let mut seen = Vec::new();
    for n in 1..=3 {
        let pg = residents::list(&db, a, &ResidentFilter::default(), p2(n)).await.unwrap();
        assert_eq!((pg.total, pg.pages(), pg.page, pg.per_page, pg.items.len()), (6, 3, n, 2, 2), "page {n}");
        seen.extend(pg.items.iter().map(|r| r.id));
    }
    assert_eq!(seen, sorted(t.residents.iter().map(|r| r.id).collect()), "pages in order, each row once");
    let beyond = residents::list(&db, a, &ResidentFilter::default(), p2(4)).await.unwrap();
    assert_eq!((beyond.total, beyond.pages(), beyond.items.len()), (6, 3, 0));

    // An uneven last page.
    let last = orgs::list(&db, a, &OrgFilter::default(), p2(4)).await.unwrap();
    assert_eq!((last.total, last.pages(), last.items.len()), (7, 4, 1));
    let all = [&t.root, &t.c1, &t.c2, &t.b1, &t.b2, &t.b3, &t.g1];
    let by_path = all.iter().max_by(|x, y| x.path.cmp(&y.path)).unwrap();
    assert_eq!(last.items[0].id, by_path.id, "ordered by path");

    // Paging inside a scope counts only the scope.
    let sec2 = residents::list(&db, &t.sec, &ResidentFilter::default(), p2(2)).await.unwrap();
    assert_eq!((sec2.total, sec2.pages(), sec2.items.len()), (3, 2, 1));
    let found = search::people(&db, a, "一", p2(1)).await.unwrap();
    assert_eq!((found.total, found.pages(), found.items.len()), (3, 2, 2));
    let m = members::list(&db, a, &MemberFilter::default(), p2(2)).await.unwrap();
    assert_eq!((m.total, m.pages(), m.items.len()), (4, 2, 2));
    let empty = search::people(&db, a, "  ", p2(1)).await.unwrap();
    assert_eq!((empty.total, empty.pages()), (0, 0));

    // Wildcards typed into a search box are taken literally.
    for q in ["%", "_", "\\", "%一"] {
        assert_eq!(search::people(&db, a, q, ALL).await.unwrap().total, 0, "search {q:?}");
        let f = OrgFilter { q: Some(q.to_string()), ..Default::default() };
        assert_eq!(orgs::list(&db, a, &f, ALL).await.unwrap().total, 0, "org filter {q:?}");
    }
    // ID numbers and phones are found however they are typed.
    let spaced = format!("{} {}", &t.id_numbers[4][..6], &t.id_numbers[4][6..]);
    assert_eq!(search::people(&db, a, &spaced, ALL).await.unwrap().items[0].id, t.residents[4].id);
    let intl = format!("+86 {}", t.phones[4]);
    assert_eq!(search::people(&db, a, &intl, ALL).await.unwrap().items[0].id, t.residents[4].id);

    // A page far beyond the end is empty, not an overflow.
    for n in [1_000_000, u32::MAX] {
        let far = residents::list(&db, a, &ResidentFilter::default(), Page { page: Some(n), per_page: Some(200) })
            .await
            .unwrap();
        assert_eq!((far.total, far.items.len(), far.page), (6, 0, n));
    }

    // Page bounds.
    let dflt = Page { page: None, per_page: None };
    assert_eq!((dflt.number(), dflt.size()), (1, Page::DEFAULT));
    let odd = Page { page: Some(0), per_page: Some(0) };
    assert_eq!((odd.number(), odd.size()), (1, 1));
    assert_eq!(Page { page: Some(1), per_page: Some(100_000) }.size(), Page::MAX);
    let one = households::list(&db, a, &HouseholdFilter::default(), odd).await.unwrap();
    assert_eq!((one.total, one.pages(), one.items.len()), (4, 4, 1));
}

// ---------------------------------------------------------------------------
// 7. Dates and timestamps round-trip
// ---------------------------------------------------------------------------

async fn round_trip(db: Db) {
    let start = Utc::now() - Duration::milliseconds(1);
    let t = tenant(&db).await;
    let end = Utc::now() + Duration::milliseconds(1);
    let a = &t.admin;

    let births = [
        date(1960, 3, 15),
        date(1962, 7, 1),
        date(1985, 12, 31),
        date(1970, 1, 1),
        date(1955, 2, 28),
        date(1990, 6, 6),
    ];
    for (r, birth) in t.residents.iter().zip(births) {
        let got = residents::get(&db, a, r.id).await.unwrap();
        assert_eq!(got.birth_date, birth);
        assert_eq!(IdNumber::parse(got.id_number.reveal()).unwrap().birth_date(), birth);
        assert!(
            got.created_at >= start && got.created_at <= end,
            "created_at {} not in [{start}, {end}]",
            got.created_at
        );
        assert_eq!(got.updated_at, got.created_at);
    }
    // Edge dates: a leap day, the earliest accepted year, today.
    let now_date = today();
    for (i, birth) in [date(2000, 2, 29), date(1900, 1, 1), now_date].into_iter().enumerate() {
        let raw =
            raw_resident(Some(t.households[1].id), None, &format!("边界{i}"), birth, 700 + i as u32, "13600000000");
        let r = resident(&db, a, raw).await;
        let got = residents::get(&db, a, r.id).await.unwrap();
        assert_eq!(got.birth_date, birth);
        assert_eq!(got.age_on(&now_date), now_date.years_since(birth).unwrap() as i32);
    }

    // Optional dates, booleans, floats, bit masks.
    let m = members::get(&db, a, t.members[0].id).await.unwrap();
    assert_eq!(m.joined_on, Some(date(1985, 7, 1)));
    assert_eq!(m.birth_date, date(1960, 3, 15));
    assert!(m.central_household);
    let raw = raw_member(t.residents[2].id, t.b1.id, None).validate(today()).unwrap();
    let m = members::create(&db, a, raw).await.unwrap();
    assert_eq!(m.joined_on, None);
    let b = buildings::get(&db, a, t.buildings[0].id).await.unwrap();
    assert_eq!((b.x, b.y, b.lat, b.lon, b.units, b.households), (100.5, -20.25, None, None, 2, 2));
    let h = households::get(&db, a, t.households[0].id).await.unwrap();
    assert!(h.tag_set().has(redcell_domain::HouseholdTag::Hardship));
    let f = HouseholdFilter { tag: Some("hardship".into()), ..Default::default() };
    assert_eq!(households::list(&db, a, &f, ALL).await.unwrap().total, 4);
    let f = HouseholdFilter { tag: Some("unemployed".into()), ..Default::default() };
    assert_eq!(households::list(&db, a, &f, ALL).await.unwrap().total, 0);

    // A cadre stationed in two organisations lists both, in tree order.
    let c = cadres::get(&db, a, t.cadres[2].id).await.unwrap();
    assert_eq!(c.stations.as_deref(), Some("一社区党委、二社区党委"));
    let st = cadres::stations(&db, a, t.cadres[2].id).await.unwrap();
    assert_eq!(st, vec![(t.c1.id, t.c1.name.clone()), (t.c2.id, t.c2.name.clone())]);
    assert_eq!(cadres::get(&db, a, t.cadres[0].id).await.unwrap().stations, None);

    // An update moves updated_at and keeps created_at.
    let before = orgs::get(&db, a, t.b2.id).await.unwrap();
    let n = raw_org(Some(t.c1.id), "branch_building", "B2", "改名楼宇党支部").validate().unwrap();
    let after = orgs::update(&db, a, t.b2.id, n).await.unwrap();
    assert_eq!(after.created_at, before.created_at);
    assert!(after.updated_at >= before.updated_at);

    // A timestamp with microseconds and one before 1970 survive exactly.
    for at in [
        DateTime::parse_from_rfc3339("2024-02-29T23:59:59.123456Z").unwrap().with_timezone(&Utc),
        DateTime::parse_from_rfc3339("1969-07-20T20:17:40Z").unwrap().with_timezone(&Utc),
        DateTime::parse_from_rfc3339("2025-01-01T08:00:00+08:00").unwrap().with_timezone(&Utc),
    ] {
        db.exec(
            "INSERT INTO audit_log (tenant_id, at, user_id, action, entity, entity_id, detail) VALUES ($1, $2, NULL, 'probe', 'time', NULL, '')",
            args![t.root.id, at],
        )
        .await
        .unwrap();
        let back = db
            .one::<(DateTime<Utc>,)>("SELECT at FROM audit_log WHERE action = 'probe' AND at = $1", args![at])
            .await
            .unwrap()
            .0;
        assert_eq!(back, at);
    }
    // Timestamps compare in time order in SQL on both backends.
    let early = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
    let n = db.int("SELECT COUNT(*) FROM audit_log WHERE action = 'probe' AND at < $1", args![early]).await.unwrap();
    assert_eq!(n, 2, "1969 and 2024 are before 2025-01-01, 2025-01-01T00:00Z is not");
}
