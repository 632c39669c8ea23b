//! The demo district generator on a fresh SQLite file, and on PostgreSQL when
//! `REDCELL_TEST_PG` names a server (e.g. `postgres://postgres@127.0.0.1:5432`).

use chrono::{Months, NaiveDate};
use redcell_domain::{Gender, IdNumber, Phone, Role};
use redcell_store::demo::{self, DemoOptions, DemoSummary};
use redcell_store::{Args, Db, StoreError, args, auth};
use redcell_testkit::TestDb;
use std::collections::HashMap;
use std::time::Instant;

fn quiet(_: u64, _: u64) {}

fn opts(households: u64, seed: u64, admin_password: Option<&str>, replace: bool) -> DemoOptions {
    DemoOptions { households, seed, admin_password: admin_password.map(str::to_string), replace }
}

async fn count(db: &Db, sql: &str, tenant: i64) -> u64 {
    db.int(sql, args![tenant]).await.unwrap() as u64
}

/// Everything the brief promises about one generated district.
async fn check_district(db: &Db, s: &DemoSummary, households: u64) {
    let t = s.tenant_id;
    assert_eq!(s.street_code, "DEMO");
    assert_eq!(s.households, households);
    for (table, expected) in [
        ("orgs", s.orgs),
        ("grids", s.grids),
        ("buildings", s.buildings),
        ("households", s.households),
        ("residents", s.residents),
        ("members", s.members),
        ("cadres", s.cadres),
        ("units", s.units),
    ] {
        let n = count(db, &format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1"), t).await;
        assert_eq!(n, expected, "{table}");
    }
    let central = count(db, "SELECT COUNT(*) FROM members WHERE tenant_id = $1 AND central_household = TRUE", t).await;
    assert_eq!(central, s.central_households);

    // The tree: one street, at least two communities, branches with party groups.
    let kinds: Vec<(String, i64)> = db
        .all("SELECT kind, COUNT(*) FROM orgs WHERE tenant_id = $1 GROUP BY kind ORDER BY kind", args![t])
        .await
        .unwrap();
    let kinds: HashMap<String, i64> = kinds.into_iter().collect();
    assert_eq!(kinds["street_committee"], 1);
    assert!(kinds["community_committee"] >= 2);
    assert!(kinds["party_group"] >= kinds["community_committee"] * 3);
    let no_secretary =
        count(db, "SELECT COUNT(*) FROM orgs WHERE tenant_id = $1 AND (secretary IS NULL OR secretary = '')", t).await;
    assert_eq!(no_secretary, 0);
    let bad_path = count(
        db,
        "SELECT COUNT(*) FROM orgs o JOIN orgs p ON p.tenant_id = o.tenant_id AND p.id = o.parent_id \
         WHERE o.tenant_id = $1 AND o.path <> p.path || CAST(o.id AS TEXT) || '/'",
        t,
    )
    .await;
    assert_eq!(bad_path, 0, "paths follow the parents");

    // Grids of a few hundred households.
    let sizes: Vec<(i64,)> =
        db.all("SELECT COUNT(*) FROM households WHERE tenant_id = $1 GROUP BY grid_id", args![t]).await.unwrap();
    assert_eq!(sizes.len() as u64, s.grids);
    assert!(sizes.iter().all(|(n,)| (180..=420).contains(n)), "grid sizes {sizes:?}");

    // Residents: 1–5 a household, about 2.6 on average.
    let per: Vec<(i64,)> =
        db.all("SELECT COUNT(*) FROM residents WHERE tenant_id = $1 GROUP BY household_id", args![t]).await.unwrap();
    assert_eq!(per.len() as u64, households, "every household has residents");
    assert!(per.iter().all(|(n,)| (1..=5).contains(n)));
    let avg = s.residents as f64 / households as f64;
    assert!((2.3..=2.9).contains(&avg), "average household {avg}");

    // ID numbers: valid, synthetic, agreeing with birth date and gender; no child has a phone.
    let people: Vec<(String, NaiveDate, String, Option<String>)> = db
        .all("SELECT id_number, birth_date, gender, phone FROM residents WHERE tenant_id = $1", args![t])
        .await
        .unwrap();
    let today = chrono::Utc::now().date_naive();
    let (mut children, mut elderly) = (0, 0);
    for (id, birth, gender, phone) in &people {
        let parsed = IdNumber::parse(id).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(parsed.is_synthetic() && id.starts_with("990101"));
        assert_eq!(parsed.birth_date(), *birth, "{id}");
        let g = if parsed.gender() == Gender::Male { "male" } else { "female" };
        assert_eq!(g, gender, "{id}");
        let age = today.years_since(*birth).unwrap();
        if age < 18 {
            children += 1;
            assert!(phone.is_none(), "child with a phone");
        }
        if age >= 60 {
            elderly += 1;
        }
        if let Some(p) = phone {
            assert_eq!(Phone::parse(p).unwrap().as_str(), p);
            assert_eq!(p.len(), 11);
        }
    }
    let n = people.len() as f64;
    assert!((0.08..=0.3).contains(&(children as f64 / n)), "children {children}");
    assert!((0.12..=0.4).contains(&(elderly as f64 / n)), "elderly {elderly}");

    // Members: 3–6% of residents, adults at joining, a few probationary, in their grid's organisation.
    let ratio = s.members as f64 / s.residents as f64;
    assert!((0.03..=0.06).contains(&ratio), "member ratio {ratio}");
    let joins: Vec<(NaiveDate, NaiveDate, String)> = db
        .all(
            "SELECT r.birth_date, m.joined_on, m.status FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             WHERE m.tenant_id = $1",
            args![t],
        )
        .await
        .unwrap();
    for (birth, joined, _) in &joins {
        assert!(*joined >= birth.checked_add_months(Months::new(12 * 18)).unwrap(), "joined at {joined}, born {birth}");
        assert!(*joined <= today);
    }
    let probationary = joins.iter().filter(|j| j.2 == "probationary").count() as f64 / joins.len() as f64;
    assert!(probationary < 0.15, "probationary {probationary}");
    let misplaced = count(
        db,
        "SELECT COUNT(*) FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
         JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
         JOIN grids g ON g.tenant_id = h.tenant_id AND g.id = h.grid_id \
         WHERE m.tenant_id = $1 AND (m.org_id <> g.org_id OR r.org_id <> g.org_id OR h.org_id <> g.org_id)",
        t,
    )
    .await;
    assert_eq!(misplaced, 0);
    let categories = count(db, "SELECT COUNT(DISTINCT category) FROM members WHERE tenant_id = $1", t).await;
    assert!(categories >= 5, "categories {categories}");

    // At least one 党员中心户 in every building where a member lives.
    let without = count(
        db,
        "SELECT COUNT(*) FROM buildings b WHERE b.tenant_id = $1 \
           AND EXISTS (SELECT 1 FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                       JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
                       WHERE m.tenant_id = b.tenant_id AND h.building_id = b.id) \
           AND NOT EXISTS (SELECT 1 FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                       JOIN households h ON h.tenant_id = r.tenant_id AND h.id = r.household_id \
                       WHERE m.tenant_id = b.tenant_id AND h.building_id = b.id AND m.central_household = TRUE)",
        t,
    )
    .await;
    assert_eq!(without, 0);

    // Buildings: 1–6 units, 5–33 floors, inside the map; households in real rooms.
    let bad = count(
        db,
        "SELECT COUNT(*) FROM buildings WHERE tenant_id = $1 AND (units < 1 OR units > 6 OR floors < 5 OR floors > 33 \
         OR lat IS NULL OR lon IS NULL OR lat < 29 OR lat > 32 OR lon < 119 OR lon > 122)",
        t,
    )
    .await;
    assert_eq!(bad, 0);
    let bad_rooms = count(
        db,
        "SELECT COUNT(*) FROM households h JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id \
         WHERE h.tenant_id = $1 AND (h.unit_no < 1 OR h.unit_no > b.units OR h.org_id <> b.org_id OR h.grid_id <> b.grid_id)",
        t,
    )
    .await;
    assert_eq!(bad_rooms, 0);
    let elderly_alone = count(db, "SELECT COUNT(*) FROM households WHERE tenant_id = $1 AND (tags & 4) <> 0", t).await;
    let share = elderly_alone as f64 / households as f64;
    assert!((0.03..=0.1).contains(&share), "elderly alone {share}");

    // Cadres: a grid worker and a stationed cadre per grid, stationed somewhere.
    let workers = count(db, "SELECT COUNT(*) FROM cadres WHERE tenant_id = $1 AND kind = 'grid_worker'", t).await;
    assert_eq!(workers, s.grids);
    let stationed = count(db, "SELECT COUNT(*) FROM cadres WHERE tenant_id = $1 AND kind = 'stationed_cadre'", t).await;
    assert_eq!(stationed, s.grids);
    let unstationed_leaders = count(
        db,
        "SELECT COUNT(*) FROM orgs o WHERE o.tenant_id = $1 AND o.kind = 'community_committee' AND NOT EXISTS \
         (SELECT 1 FROM cadre_stations cs JOIN cadres c ON c.tenant_id = cs.tenant_id AND c.id = cs.cadre_id \
          WHERE cs.tenant_id = o.tenant_id AND cs.org_id = o.id AND c.kind = 'leadership')",
        t,
    )
    .await;
    assert_eq!(unstationed_leaders, 0, "every community has a street leader");
    let off_branch = count(
        db,
        "SELECT COUNT(*) FROM cadres c JOIN cadre_stations cs ON cs.tenant_id = c.tenant_id AND cs.cadre_id = c.id \
         JOIN orgs o ON o.tenant_id = cs.tenant_id AND o.id = cs.org_id \
         WHERE c.tenant_id = $1 AND c.kind = 'stationed_cadre' AND o.kind NOT LIKE 'branch%'",
        t,
    )
    .await;
    assert_eq!(off_branch, 0, "stationed cadres sit in branches");
    assert!(s.units >= s.grids * 2);

    // Timestamps on every row and one audit row for the demo.
    for table in ["orgs", "grids", "buildings", "households", "residents", "members", "units", "cadres"] {
        let missing = count(
            db,
            &format!(
                "SELECT COUNT(*) FROM {table} WHERE tenant_id = $1 AND (created_at IS NULL OR updated_at IS NULL)"
            ),
            t,
        )
        .await;
        assert_eq!(missing, 0, "{table}");
    }
    let audit = count(db, "SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1 AND action = 'demo'", t).await;
    assert_eq!(audit, 1);
}

/// The whole story on one backend.
async fn story(t: TestDb) {
    let db = &t.db;
    let calls = std::sync::Mutex::new(Vec::new());
    let progress = |done: u64, total: u64| calls.lock().unwrap().push((done, total));
    let started = Instant::now();
    let s = demo::generate(db, &opts(1500, 42, Some("Demo2024pass"), false), &progress).await.unwrap();
    println!("1,500 households in {:?}: {s:?}", started.elapsed());
    check_district(db, &s, 1500).await;
    assert_eq!(calls.lock().unwrap().last(), Some(&(1500, 1500)));

    // Accounts: admin on the street, the scoped ones lower down, all able to log in.
    let names: Vec<&str> = s.accounts.iter().map(|a| a.username.as_str()).collect();
    assert_eq!(names, ["admin", "sq01", "zb0101", "wg0101", "dy0101", "zxh0101"]);
    assert_eq!((s.accounts[4].role, s.accounts[5].role), (Role::Member, Role::Member));
    // With the contacts seeded, the member accounts stand for members of
    // their branch who look after households (dy0101) and members (zxh0101).
    redcell_store::coverage::seed_demo_contacts(db, s.tenant_id).await.unwrap();
    demo::link_member_accounts(db, s.tenant_id).await.unwrap();
    for (user, central) in [("dy0101", false), ("zxh0101", true)] {
        let session = auth::login(db, user, "Demo2024pass").await.unwrap();
        let (m, _) = auth::principal(db, &session.token).await.unwrap();
        let home = redcell_store::home::member_home(db, &m).await.unwrap().expect("linked to a member");
        assert_eq!(home.me.central_household, central, "{user}");
        assert!(home.me.org_name.contains("第一"), "{user}: {}", home.me.org_name);
        if central {
            assert!(!home.members.is_empty(), "a 中心户 looks after members");
        } else {
            assert!(!home.households.is_empty(), "a member looks after households");
        }
    }
    assert_eq!(s.accounts[0].role, Role::Admin);
    assert_eq!(s.accounts[1].org_code, "DEMO-SQ01");
    assert_eq!(s.accounts[2].org_code, "DEMO-SQ01-ZB01");
    assert_eq!(s.accounts[3].role, Role::GridWorker);
    assert!(s.accounts.iter().all(|a| a.password == "Demo2024pass" && !a.org_name.is_empty()));
    let session = auth::login(db, "zb0101", "Demo2024pass").await.unwrap();
    let (p, _) = auth::principal(db, &session.token).await.unwrap();
    assert_eq!(p.tenant_id, s.tenant_id);
    assert_eq!(p.grants[0].role, Role::Secretary);

    // Again without replace: a clear refusal, nothing changed.
    let err = demo::generate(db, &opts(1500, 42, Some("Demo2024pass"), false), &quiet).await.unwrap_err();
    match &err {
        StoreError::Invalid(inv) => {
            let e = inv.first().unwrap();
            assert_eq!(e.field, "database");
            assert!(e.message.contains("--replace"), "{}", e.message);
        }
        other => panic!("expected Invalid, got {other:?}"),
    }

    // With replace: the old district (and its accounts and sessions) is gone, the new one complete.
    let s2 = demo::generate(db, &opts(1200, 43, None, true), &quiet).await.unwrap();
    check_district(db, &s2, 1200).await;
    // A new tenant id even on SQLite: the old district's audit rows stay under the old one.
    assert_ne!(s2.tenant_id, s.tenant_id);
    for (table, expected) in [
        ("orgs", s2.orgs),
        ("residents", s2.residents),
        ("households", s2.households),
        ("members", s2.members),
        ("cadres", s2.cadres),
        ("grants", 5),
        ("sessions", 0),
    ] {
        let n = db.int(&format!("SELECT COUNT(*) FROM {table}"), Args::new()).await.unwrap();
        assert_eq!(n as u64, expected, "{table} after replace");
    }
    // The audit trail is append-only: the replaced district's rows stay, the new one has its own.
    let demo_rows = db.int("SELECT COUNT(*) FROM audit_log WHERE action = 'demo'", Args::new()).await.unwrap();
    assert_eq!(demo_rows, 3, "two districts and the first one's contacts");
    let new_rows = db
        .int("SELECT COUNT(*) FROM audit_log WHERE action = 'demo' AND tenant_id = $1", args![s2.tenant_id])
        .await
        .unwrap();
    assert_eq!(new_rows, 1);
    // No admin password: only the scoped accounts, each with its own strong password.
    let names: Vec<&str> = s2.accounts.iter().map(|a| a.username.as_str()).collect();
    assert_eq!(names, ["sq01", "zb0101", "wg0101", "dy0101", "zxh0101"]);
    for a in &s2.accounts {
        assert_eq!(a.password.len(), 16);
        assert!(redcell_domain::role::password_acceptable(&a.password));
    }
    assert_ne!(s2.accounts[0].password, s2.accounts[1].password);
    auth::login(db, "sq01", &s2.accounts[0].password).await.unwrap();
    let users = db.int("SELECT COUNT(*) FROM users", Args::new()).await.unwrap();
    assert_eq!(users, 5, "the old admin went with the old district");

    // New rows after the demo get fresh ids (identity sequences moved on PostgreSQL).
    let root: i64 = s2.tenant_id;
    db.exec(
        "INSERT INTO audit_log (tenant_id, at, action, entity) VALUES ($1, $2, 'x', 'y')",
        args![root, chrono::Utc::now()],
    )
    .await
    .unwrap();
    t.finish().await;
}

#[tokio::test]
async fn demo_story_sqlite() {
    story(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn demo_story_postgres() {
    if let Some(t) = TestDb::postgres("demo_story").await {
        story(t).await;
    }
}

type People = Vec<(String, String, NaiveDate)>;

async fn people(t: &TestDb, seed: u64) -> (DemoSummary, People) {
    let s = demo::generate(&t.db, &opts(1000, seed, None, false), &quiet).await.unwrap();
    let v: People =
        t.db.all("SELECT name, id_number, birth_date FROM residents ORDER BY id", Args::new()).await.unwrap();
    (s, v)
}

#[tokio::test]
async fn demo_is_deterministic() {
    let (a, b, c) = (TestDb::sqlite().await, TestDb::sqlite().await, TestDb::sqlite().await);
    let (sa, pa) = people(&a, 7).await;
    let (sb, pb) = people(&b, 7).await;
    let (_, pc) = people(&c, 8).await;
    assert_eq!(pa.len() as u64, sa.residents);
    assert_eq!(pa, pb, "same seed, same people");
    assert_eq!((sa.buildings, sa.members, sa.central_households), (sb.buildings, sb.members, sb.central_households));
    assert_ne!(pa, pc, "another seed, other people");
    // The same people on PostgreSQL.
    if let Some(pg) = TestDb::postgres("demo_is_deterministic").await {
        let (_, pp) = people(&pg, 7).await;
        assert_eq!(pa, pp, "SQLite and PostgreSQL agree");
        pg.finish().await;
    }
    for t in [a, b, c] {
        t.finish().await;
    }
}

#[tokio::test]
async fn refuses_bad_options_before_touching_the_database() {
    let t = TestDb::sqlite().await;
    for o in [opts(0, 1, None, false), opts(100, 1, Some("short"), false)] {
        assert!(matches!(demo::generate(&t.db, &o, &quiet).await, Err(StoreError::Invalid(_))));
    }
    assert_eq!(t.db.int("SELECT COUNT(*) FROM orgs", Args::new()).await.unwrap(), 0);
    // An account named like a demo account in another tenant blocks the demo.
    let mut tx = t.db.begin().await.unwrap();
    tx.exec(
        "INSERT INTO orgs (id, tenant_id, parent_id, path, kind, code, name, created_at, updated_at) \
         VALUES (5, 5, NULL, '/5/', 'street_committee', 'REAL', '真街道', $1, $1)",
        args![chrono::Utc::now()],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    auth::add_user(&t.db, "sq01", "", "Realpass2024", Role::OrgAdmin, "REAL").await.unwrap();
    let err = demo::generate(&t.db, &opts(100, 1, None, false), &quiet).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(i) if i.first().unwrap().field == "username"), "{err:?}");
    assert_eq!(t.db.int("SELECT COUNT(*) FROM orgs", Args::new()).await.unwrap(), 1);
    t.finish().await;
}

#[test]
fn generate_is_send() {
    fn send<T: Send>(_: &T) {}
    let db_fut = async {
        let t = TestDb::sqlite().await;
        let _ = demo::generate(&t.db, &DemoOptions::default(), &quiet).await;
    };
    send(&db_fut);
}

/// By hand: `cargo test -p redcell-store --release --test demo -- --ignored --nocapture`
/// (households from `REDCELL_DEMO_HOUSEHOLDS`, default 1,000,000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn timing_a_million_households_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("million.db");
    let db = Db::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    db.migrate().await.unwrap();
    let started = Instant::now();
    let progress = |done: u64, total: u64| {
        if done % 200_000 < 20_400 || done == total {
            println!("  {done}/{total} households after {:.1} s", started.elapsed().as_secs_f64());
        }
    };
    let n: u64 = std::env::var("REDCELL_DEMO_HOUSEHOLDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let s = demo::generate(&db, &opts(n, 1, Some("Demo2024pass"), false), &progress).await.unwrap();
    let elapsed = started.elapsed();
    db.close().await;
    let size: u64 = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    println!(
        "SQLite: {n} households in {:.1} s; {} residents, {} members, {} central households, {} buildings, {} grids, {} orgs; files {:.0} MB",
        elapsed.as_secs_f64(),
        s.residents,
        s.members,
        s.central_households,
        s.buildings,
        s.grids,
        s.orgs,
        size as f64 / 1e6
    );
}

/// By hand, with `REDCELL_TEST_PG` set (households from `REDCELL_DEMO_HOUSEHOLDS`, default 100,000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn timing_postgres() {
    let Some(t) = TestDb::postgres("timing_postgres").await else { return };
    let n: u64 = std::env::var("REDCELL_DEMO_HOUSEHOLDS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let started = Instant::now();
    let s = demo::generate(&t.db, &opts(n, 1, None, false), &quiet).await.unwrap();
    let elapsed = started.elapsed();
    let size = t.db.int("SELECT CAST(pg_database_size(current_database()) AS BIGINT)", Args::new()).await.unwrap();
    println!(
        "PostgreSQL: {n} households in {:.1} s; {} residents, {} members; database {:.0} MB",
        elapsed.as_secs_f64(),
        s.residents,
        s.members,
        size as f64 / 1e6
    );
    t.finish().await;
}
