//! Test harness for the store: a fresh database per test on every backend,
//! and a small tenant built through the store services.
//!
//! SQLite always runs (a file in a temporary directory). PostgreSQL runs when
//! `REDCELL_TEST_PG` names a server, e.g. `postgres://postgres@127.0.0.1:5432`:
//! each test gets its own database, dropped when the test ends (also when it
//! panics).

#![allow(dead_code)]

use chrono::NaiveDate;
use redcell_domain::input::{RawBuilding, RawCadre, RawGrid, RawHousehold, RawMember, RawOrg, RawResident, RawUnit};
use redcell_domain::{IdNumber, Role, ident::DEMO_REGION};
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
use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The environment variable naming the PostgreSQL server used by the tests.
pub const PG_ENV: &str = "REDCELL_TEST_PG";

/// Generate one `#[tokio::test]` per backend for each story: a story
/// `async fn name(db: Db)` becomes `name::sqlite` and `name::postgres`.
macro_rules! stories {
    ($($story:ident),+ $(,)?) => {$(
        mod $story {
            #[tokio::test]
            async fn sqlite() {
                let t = crate::common::TestDb::sqlite().await;
                super::$story(t.db.clone()).await;
                t.finish().await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(t) = crate::common::TestDb::postgres(stringify!($story)).await else {
                    return;
                };
                super::$story(t.db.clone()).await;
                t.finish().await;
            }
        }
    )+};
}

/// A database that exists for one test.
pub struct TestDb {
    pub db: Db,
    cleanup: Cleanup,
}

enum Cleanup {
    /// The SQLite file lives in this directory, removed on drop.
    Sqlite(tempfile::TempDir),
    Postgres(PgGuard),
}

/// Drops the PostgreSQL database `name` on the server `base` when it goes out
/// of scope, unless [`PgGuard::drop_now`] already did.
struct PgGuard {
    base: String,
    name: String,
    dropped: bool,
}

impl PgGuard {
    async fn drop_now(&mut self) {
        drop_pg_database(&self.base, &self.name).await.expect("drop test database");
        self.dropped = true;
    }
}

impl Drop for PgGuard {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // A test failed before `finish`: drop the database from a thread of its
        // own (we may be inside the test's runtime, which must not block on I/O).
        let (base, name) = (self.base.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(rt) = rt
                && let Err(e) = rt.block_on(drop_pg_database(&base, &name))
            {
                eprintln!("could not drop test database {name}: {e}");
            }
        })
        .join();
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("redcell_t_{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), nanos)
}

fn admin_url(base: &str) -> String {
    format!("{base}/postgres")
}

async fn drop_pg_database(base: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut c = sqlx::PgConnection::connect(&admin_url(base)).await?;
    // FORCE ends connections a panicking test left open (PostgreSQL 13+).
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut c).await?;
    c.close().await
}

impl TestDb {
    /// A fresh, migrated SQLite database in a temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("redcell.db").display());
        let db = Db::connect(&url).await.expect("connect sqlite");
        db.migrate().await.expect("migrate sqlite");
        TestDb { db, cleanup: Cleanup::Sqlite(dir) }
    }

    /// A fresh, migrated PostgreSQL database, or `None` (with a note) when
    /// `REDCELL_TEST_PG` is not set.
    pub async fn postgres(story: &str) -> Option<TestDb> {
        let Some(base) = std::env::var(PG_ENV).ok().filter(|s| !s.trim().is_empty()) else {
            println!("skipped: {story} on PostgreSQL ({PG_ENV} is not set)");
            return None;
        };
        let base = base.trim().trim_end_matches('/').to_string();
        let name = unique_name();
        let mut c = sqlx::PgConnection::connect(&admin_url(&base))
            .await
            .unwrap_or_else(|e| panic!("connect to {PG_ENV}={base}: {e}"));
        sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut c).await.expect("create database");
        c.close().await.ok();
        // From here on the guard drops the database whatever happens.
        let guard = PgGuard { base: base.clone(), name: name.clone(), dropped: false };
        let db = Db::connect(&format!("{base}/{name}")).await.expect("connect postgres");
        db.migrate().await.expect("migrate postgres");
        Some(TestDb { db, cleanup: Cleanup::Postgres(guard) })
    }

    /// Close the pool and remove the database.
    pub async fn finish(mut self) {
        self.db.close().await;
        if let Cleanup::Postgres(guard) = &mut self.cleanup {
            guard.drop_now().await;
        }
    }
}

/// `Some(x.to_string())`, for the raw input structs.
pub fn s(x: impl ToString) -> Option<String> {
    Some(x.to_string())
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
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

pub fn raw_org(parent: Option<i64>, kind: &str, code: &str, name: &str) -> RawOrg {
    RawOrg {
        parent_id: parent.map(|p| p.to_string()),
        kind: s(kind),
        code: s(code),
        name: s(name),
        secretary: None,
        phone: None,
    }
}

pub async fn org(db: &Db, p: &Principal, parent: i64, kind: &str, code: &str, name: &str) -> Org {
    let n = raw_org(Some(parent), kind, code, name).validate().expect("valid org");
    orgs::create(db, p, n).await.unwrap_or_else(|e| panic!("create org {code}: {e:?}"))
}

pub async fn grid(db: &Db, p: &Principal, org_id: i64, code: &str, name: &str) -> Grid {
    let n =
        RawGrid { org_id: s(org_id), code: s(code), name: s(name), description: None }.validate().expect("valid grid");
    grids::create(db, p, n).await.unwrap_or_else(|e| panic!("create grid {code}: {e:?}"))
}

pub async fn building(db: &Db, p: &Principal, grid_id: i64, name: &str, units: i64) -> Building {
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

pub fn raw_household(building_id: i64, unit_no: i64, room: &str) -> RawHousehold {
    RawHousehold {
        building_id: s(building_id),
        unit_no: s(unit_no),
        room: s(room),
        note: None,
        tags: Some(vec!["hardship".into()]),
    }
}

pub async fn household(db: &Db, p: &Principal, building_id: i64, unit_no: i64, room: &str) -> Household {
    let n = raw_household(building_id, unit_no, room).validate().expect("valid household");
    households::create(db, p, n).await.unwrap_or_else(|e| panic!("create household {room}: {e:?}"))
}

/// A synthetic person: ID number from the demo region, birth date and gender
/// taken from it.
pub fn raw_resident(
    household: Option<i64>,
    org: Option<i64>,
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

pub fn raw_member(resident_id: i64, org_id: i64, joined: Option<NaiveDate>) -> RawMember {
    RawMember {
        resident_id: s(resident_id),
        org_id: s(org_id),
        category: s("community"),
        joined_on: joined.map(|d| d.format("%Y-%m-%d").to_string()),
        central_household: s("true"),
        ..Default::default()
    }
}

pub async fn member(db: &Db, p: &Principal, resident_id: i64, org_id: i64, joined: NaiveDate) -> Member {
    let n = raw_member(resident_id, org_id, Some(joined)).validate(today()).expect("valid member");
    members::create(db, p, n).await.unwrap_or_else(|e| panic!("create member: {e:?}"))
}

pub fn raw_cadre(org_id: i64, kind: &str, name: &str, stations: Vec<i64>) -> RawCadre {
    RawCadre {
        org_id: s(org_id),
        kind: s(kind),
        name: s(name),
        phone: s("13900000001"),
        title: None,
        member_id: None,
        stations: Some(stations),
    }
}

pub async fn cadre(db: &Db, p: &Principal, raw: RawCadre) -> Cadre {
    let n = raw.validate().expect("valid cadre");
    cadres::create(db, p, n).await.unwrap_or_else(|e| panic!("create cadre: {e:?}"))
}

pub fn raw_unit(grid_id: i64, name: &str) -> RawUnit {
    RawUnit {
        grid_id: s(grid_id),
        kind: s("shop"),
        name: s(name),
        address: None,
        contact: s("店主"),
        phone: s("0571-87654321"),
    }
}

pub async fn unit(db: &Db, p: &Principal, grid_id: i64, name: &str) -> Unit {
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
