//! The store's fixtures: glob-import `use redcell_testkit::store::*;` in a
//! test of `redcell-store` to get the [`stories!`] macro (one test per
//! backend for each `async fn name(db: Db)`), the small tenant every story
//! starts from (built through the store services), and assertions on store
//! errors.

use chrono::NaiveDate;
use redcell_domain::input::{RawBuilding, RawCadre, RawGrid, RawHousehold, RawMember, RawOrg, RawResident, RawUnit};
use redcell_domain::rosters::ImportKind;
use redcell_domain::{HouseholdId, IdNumber, OrgId, Role, ident::DEMO_REGION};
use redcell_store::import::{self, Report, Stage, Upload};
use redcell_store::registry::{
    buildings::{self, Building},
    cadres::{self, Cadre},
    grids::{self, Grid},
    households::{self, Household},
    members::{self, Member},
    orgs::{self, Org},
    residents::{self, Resident},
    units::{self, Unit},
};
use redcell_store::{Db, Principal, StoreError, auth};
use std::fmt::Display;

pub use crate::store_stories as stories;
pub use crate::{PG_ENV, PNG, TestDb, date, synth_id};

/// `Some(x.to_string())`, for the raw input structs.
pub fn s(x: impl ToString) -> Option<String> {
    Some(x.to_string())
}

pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// A password that satisfies the policy.
pub const PASSWORD: &str = "correct-horse-42";

/// The small tenant every story starts from:
///
/// ```text
/// root  ST (street_committee)
/// ├── C1 (community_committee)
/// │   ├── B1 (branch_neighbourhood)  ← the secretary's scope
/// │   │   └── G1 (party_group)
/// │   └── B2 (branch_building)
/// └── C2 (community_committee)
///     └── B3 (branch_neighbourhood)
/// ```
/// Branches B1, B2, B3 each own one grid with one building and units; B1's
/// building has two households (3 residents), the others one each.
pub struct Tenant {
    pub root: Org,
    pub c1: Org,
    pub c2: Org,
    pub b1: Org,
    pub b2: Org,
    pub b3: Org,
    pub g1: Org,
    /// One grid per branch: B1, B2, B3.
    pub grids: Vec<Grid>,
    pub buildings: Vec<Building>,
    /// B1: 2 households (`households[0..2]`), B2: `households[2]`, B3: `households[3]`.
    pub households: Vec<Household>,
    /// In B1: `residents[0..3]`; in B2: `residents[3]`; in B3: `residents[4]`;
    /// `residents[5]` lives outside the territory, registered with C2.
    pub residents: Vec<Resident>,
    /// The clear ID number and phone of each resident (index as `residents`).
    pub id_numbers: Vec<String>,
    pub phones: Vec<String>,
    /// `members[0]` in B1, `members[1]` in G1, `members[2]` in B2, `members[3]` in B3.
    pub members: Vec<Member>,
    /// `cadres[0]` in B1, `cadres[1]` in B2, `cadres[2]` a street cadre stationed in C1 and C2.
    pub cadres: Vec<Cadre>,
    /// One unit per grid.
    pub units: Vec<Unit>,
    pub admin: Principal,
    pub admin_token: String,
    /// A secretary of B1 (and so of G1), nothing else.
    pub sec: Principal,
    pub sec_token: String,
}

pub fn raw_org(parent: Option<OrgId>, kind: &str, code: &str, name: &str) -> RawOrg {
    RawOrg {
        parent_id: parent.map(|p| p.to_string()),
        kind: s(kind),
        code: s(code),
        name: s(name),
        secretary: None,
        phone: None,
    }
}

pub async fn org(db: &Db, p: &Principal, parent: impl Into<i64>, kind: &str, code: &str, name: &str) -> Org {
    let n = raw_org(Some(OrgId::new(parent.into())), kind, code, name).validate().expect("valid org");
    orgs::create(db, p, n).await.unwrap_or_else(|e| panic!("create org {code}: {e:?}"))
}

pub async fn grid(db: &Db, p: &Principal, org_id: impl Display, code: &str, name: &str) -> Grid {
    let n =
        RawGrid { org_id: s(org_id), code: s(code), name: s(name), description: None }.validate().expect("valid grid");
    grids::create(db, p, n).await.unwrap_or_else(|e| panic!("create grid {code}: {e:?}"))
}

pub async fn building(db: &Db, p: &Principal, grid_id: impl Display, name: &str, units: i64) -> Building {
    let n = RawBuilding {
        grid_id: s(grid_id),
        name: s(name),
        address: s(format!("测试路{name}")),
        units: s(units),
        floors: s(6),
        x: s(100.5),
        y: s(-20.25),
        ..Default::default()
    }
    .validate()
    .expect("valid building");
    buildings::create(db, p, n).await.unwrap_or_else(|e| panic!("create building {name}: {e:?}"))
}

pub fn raw_household(building_id: impl Display, unit_no: i64, room: &str) -> RawHousehold {
    RawHousehold {
        building_id: s(building_id),
        unit_no: s(unit_no),
        room: s(room),
        note: None,
        tags: Some(vec!["hardship".into()]),
    }
}

pub async fn household(db: &Db, p: &Principal, building_id: impl Display, unit_no: i64, room: &str) -> Household {
    let n = raw_household(building_id, unit_no, room).validate().expect("valid household");
    households::create(db, p, n).await.unwrap_or_else(|e| panic!("create household {room}: {e:?}"))
}

/// A synthetic person: ID number from the demo region, birth date and gender
/// taken from it.
pub fn raw_resident(
    household: Option<HouseholdId>,
    org: Option<OrgId>,
    name: &str,
    birth: NaiveDate,
    seq: u32,
    phone: &str,
) -> RawResident {
    let id = IdNumber::synthesise(DEMO_REGION, birth, seq);
    RawResident {
        household_id: household.map(|h| h.to_string()),
        org_id: org.map(|o| o.to_string()),
        name: s(name),
        gender: None,
        birth_date: s(birth.format("%Y-%m-%d")),
        id_number: s(id.as_str()),
        phone: s(phone),
        note: None,
    }
}

pub async fn resident(db: &Db, p: &Principal, raw: RawResident) -> Resident {
    let n = raw.validate(today()).expect("valid resident");
    residents::create(db, p, n).await.unwrap_or_else(|e| panic!("create resident: {e:?}"))
}

pub fn raw_member(resident_id: impl Display, org_id: impl Display, joined: Option<NaiveDate>) -> RawMember {
    RawMember {
        resident_id: s(resident_id),
        org_id: s(org_id),
        category: s("community"),
        joined_on: joined.map(|d| d.format("%Y-%m-%d").to_string()),
        central_household: s("true"),
        ..Default::default()
    }
}

pub async fn member(
    db: &Db,
    p: &Principal,
    resident_id: impl Display,
    org_id: impl Display,
    joined: NaiveDate,
) -> Member {
    let n = raw_member(resident_id, org_id, Some(joined)).validate(today()).expect("valid member");
    members::create(db, p, n).await.unwrap_or_else(|e| panic!("create member: {e:?}"))
}

pub fn raw_cadre(org_id: impl Display, kind: &str, name: &str, stations: Vec<OrgId>) -> RawCadre {
    RawCadre {
        org_id: s(org_id),
        kind: s(kind),
        name: s(name),
        phone: s("13900000001"),
        public_phone: None,
        title: None,
        member_id: None,
        stations: Some(stations.into_iter().map(i64::from).collect()),
    }
}

pub async fn cadre(db: &Db, p: &Principal, raw: RawCadre) -> Cadre {
    let n = raw.validate().expect("valid cadre");
    cadres::create(db, p, n).await.unwrap_or_else(|e| panic!("create cadre: {e:?}"))
}

pub fn raw_unit(grid_id: impl Display, name: &str) -> RawUnit {
    RawUnit {
        grid_id: s(grid_id),
        kind: s("shop"),
        name: s(name),
        address: None,
        contact: s("店主"),
        phone: s("0571-87654321"),
    }
}

pub async fn unit(db: &Db, p: &Principal, grid_id: impl Display, name: &str) -> Unit {
    let n = raw_unit(grid_id, name).validate().expect("valid unit");
    units::create(db, p, n).await.unwrap_or_else(|e| panic!("create unit {name}: {e:?}"))
}

/// Log in through the real session path and load the caller.
pub async fn sign_in(db: &Db, username: &str) -> (Principal, String) {
    let session = auth::login(db, username, PASSWORD).await.unwrap_or_else(|e| panic!("login {username}: {e:?}"));
    let (p, _csrf) = auth::principal(db, &session.token).await.expect("principal of a fresh session");
    (p, session.token)
}

/// Build the tenant through the store services.
pub async fn tenant(db: &Db) -> Tenant {
    // The root (a tenant of its own) is opened by the operator, as the CLI does.
    let root_in = raw_org(None, "street_committee", "ST", "测试街道党工委").validate().expect("valid root");
    let mut tx = db.begin().await.expect("begin");
    orgs::create_root(&mut tx, &root_in).await.expect("create root");
    tx.commit().await.expect("commit root");

    auth::add_user(db, "admin", "管理员", PASSWORD, Role::Admin, "ST").await.expect("add admin");
    let (admin, admin_token) = sign_in(db, "admin").await;
    let a = &admin;
    let root = orgs::by_code(db, a, "ST").await.expect("root visible to admin");

    let c1 = org(db, a, root.id, "community_committee", "C1", "一社区党委").await;
    let c2 = org(db, a, root.id, "community_committee", "C2", "二社区党委").await;
    let b1 = org(db, a, c1.id, "branch_neighbourhood", "B1", "一街坊党支部").await;
    let b2 = org(db, a, c1.id, "branch_building", "B2", "一楼宇党支部").await;
    let b3 = org(db, a, c2.id, "branch_neighbourhood", "B3", "二街坊党支部").await;
    let g1 = org(db, a, b1.id, "party_group", "G1", "一街坊第一党小组").await;

    let mut grids_v = Vec::new();
    let mut buildings_v = Vec::new();
    let mut units_v = Vec::new();
    for (i, b) in [&b1, &b2, &b3].into_iter().enumerate() {
        let g = grid(db, a, b.id, &format!("GR{}", i + 1), &format!("第{}网格", i + 1)).await;
        buildings_v.push(building(db, a, g.id, &format!("{}幢", i + 1), 2).await);
        units_v.push(unit(db, a, g.id, &format!("便民超市{}", i + 1)).await);
        grids_v.push(g);
    }

    let households_v = vec![
        household(db, a, buildings_v[0].id, 1, "101").await,
        household(db, a, buildings_v[0].id, 2, "201").await,
        household(db, a, buildings_v[1].id, 1, "101").await,
        household(db, a, buildings_v[2].id, 1, "101").await,
    ];

    let people = [
        (Some(households_v[0].id), None, "张一", date(1960, 3, 15), 11, "13800000001"),
        (Some(households_v[0].id), None, "李一", date(1962, 7, 1), 22, "13800000002"),
        (Some(households_v[1].id), None, "王一", date(1985, 12, 31), 31, "13800000003"),
        (Some(households_v[2].id), None, "赵二", date(1970, 1, 1), 41, "13800000004"),
        (Some(households_v[3].id), None, "孙三", date(1955, 2, 28), 52, "13800000005"),
        (None, Some(c2.id), "周外", date(1990, 6, 6), 61, "13800000006"),
    ];
    let mut residents_v = Vec::new();
    let mut id_numbers = Vec::new();
    let mut phones = Vec::new();
    for (h, o, name, birth, seq, phone) in people {
        let raw = raw_resident(h, o, name, birth, seq, phone);
        id_numbers.push(raw.id_number.clone().unwrap_or_default());
        phones.push(phone.to_string());
        residents_v.push(resident(db, a, raw).await);
    }

    let members_v = vec![
        member(db, a, residents_v[0].id, b1.id, date(1985, 7, 1)).await,
        member(db, a, residents_v[1].id, g1.id, date(1990, 7, 1)).await,
        member(db, a, residents_v[3].id, b2.id, date(1995, 7, 1)).await,
        member(db, a, residents_v[4].id, b3.id, date(1980, 7, 1)).await,
    ];

    let cadres_v = vec![
        cadre(db, a, raw_cadre(b1.id, "grid_worker", "网格员甲", vec![])).await,
        cadre(db, a, raw_cadre(b2.id, "grid_worker", "网格员乙", vec![])).await,
        cadre(db, a, raw_cadre(root.id, "street_cadre", "街道干部丙", vec![c1.id, c2.id])).await,
    ];

    auth::add_user(db, "sec_b1", "一支部书记", PASSWORD, Role::Secretary, "B1").await.expect("add secretary");
    let (sec, sec_token) = sign_in(db, "sec_b1").await;

    Tenant {
        root,
        c1,
        c2,
        b1,
        b2,
        b3,
        g1,
        grids: grids_v,
        buildings: buildings_v,
        households: households_v,
        residents: residents_v,
        id_numbers,
        phones,
        members: members_v,
        cadres: cadres_v,
        units: units_v,
        admin,
        admin_token,
        sec,
        sec_token,
    }
}

/// Row counts of every registry table and the audit log, to prove that a
/// refused call wrote nothing.
pub async fn counts(db: &Db) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for t in [
        "orgs",
        "grids",
        "buildings",
        "households",
        "residents",
        "members",
        "cadres",
        "cadre_stations",
        "units",
        "users",
        "grants",
        "audit_log",
    ] {
        let n = db.int(&format!("SELECT COUNT(*) FROM {t}"), redcell_store::Args::new()).await.expect("count");
        out.push((t, n));
    }
    out
}

/// The fields an `Invalid` error names.
pub fn fields(e: &StoreError) -> Vec<String> {
    match e {
        StoreError::Invalid(inv) => inv.0.iter().map(|f| f.field.clone()).collect(),
        StoreError::Denied(f) => vec![f.field.clone()],
        _ => vec![],
    }
}

/// Assert that `r` failed as invalid input naming `field`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(r: Result<T, StoreError>, field: &str) -> StoreError {
    match r {
        Err(e @ StoreError::Invalid(_)) => {
            assert!(fields(&e).iter().any(|f| f == field), "expected an error on `{field}`, got {e:?}");
            e
        }
        other => panic!("expected invalid input on `{field}`, got {other:?}"),
    }
}

/// Assert that `r` was refused because the target is outside the caller's
/// scope: not found, forbidden, or a named field that is not found / denied.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    match r {
        Err(StoreError::NotFound | StoreError::Forbidden | StoreError::Denied(_)) => {}
        Err(StoreError::Invalid(inv)) if inv.0.iter().any(|f| f.code == "not_found") => {}
        other => panic!("expected a refusal (out of scope), got {other:?}"),
    }
}

// ---------------------------------------------------------------- imports

/// A synthetic ID number (sequence `seq`) of someone born on 4 March `year`.
pub fn import_id(seq: u32, year: i32) -> String {
    synth_id(date(year, 3, 4), seq)
}

/// An import progress callback that reports nothing.
pub fn quiet_import(_: Stage, _: u64) {}

/// Run an import of `file_name` (check, and write when `commit`); a refusal of
/// the whole file (not row errors) panics.
pub async fn run_import(
    db: &Db,
    p: &Principal,
    kind: ImportKind,
    file_name: &str,
    bytes: &[u8],
    commit: bool,
) -> Report {
    let up = Upload { kind, file_name, bytes, max_bytes: import::MAX_BYTES, today: today() };
    import::run(db, p, up, commit, &quiet_import).await.unwrap_or_else(|e| panic!("import {file_name}: {e:?}"))
}

/// Does the report name an error on `row`, `column`, with a reason containing `reason_part`?
pub fn has_error(r: &Report, row: u32, column: &str, reason_part: &str) -> bool {
    r.errors.iter().any(|e| e.row == row && e.column == column && e.reason.contains(reason_part))
}
