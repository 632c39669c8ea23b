//! Databases that exist for one test.

use redcell_store::{Args, Db, StoreError};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The environment variable naming the PostgreSQL server used by the tests.
pub const PG_ENV: &str = "REDCELL_TEST_PG";

/// The PostgreSQL server of `REDCELL_TEST_PG` (no trailing slash), or `None`
/// when it is not set.
pub fn pg_base() -> Option<String> {
    std::env::var(PG_ENV).ok().map(|s| s.trim().trim_end_matches('/').to_string()).filter(|s| !s.is_empty())
}

/// A fresh, migrated database that exists for one test. Call
/// [`TestDb::finish`] at the end; a test that panics before it still leaves
/// nothing behind (the temporary directory is removed, the PostgreSQL database
/// dropped).
pub struct TestDb {
    pub db: Db,
    cleanup: Cleanup,
}

enum Cleanup {
    /// The SQLite file lives in this directory, removed on drop.
    Sqlite {
        _dir: tempfile::TempDir,
    },
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
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build()
                && let Err(e) = rt.block_on(drop_pg_database(&base, &name))
            {
                eprintln!("could not drop test database {name}: {e}");
            }
        })
        .join();
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// `redcell_t_<pid>_<n>_<nanos>`: unique across the parallel test processes.
fn unique_name() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("redcell_t_{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), nanos)
}

/// The maintenance database of the server, to create and drop test databases.
async fn pg_admin(base: &str) -> Result<Db, StoreError> {
    Db::connect(&format!("{base}/postgres")).await
}

async fn drop_pg_database(base: &str, name: &str) -> Result<(), StoreError> {
    let admin = pg_admin(base).await?;
    // FORCE ends connections a panicking test left open (PostgreSQL 13+).
    let r = admin.exec(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"), Args::new()).await;
    admin.close().await;
    r.map(|_| ())
}

impl TestDb {
    /// A fresh, migrated SQLite database in a temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("redcell.db").display());
        let db = Db::connect(&url).await.expect("connect sqlite");
        db.migrate().await.expect("migrate sqlite");
        TestDb { db, cleanup: Cleanup::Sqlite { _dir: dir } }
    }

    /// A fresh, migrated PostgreSQL database, or `None` (printing
    /// "skipped: `what` on PostgreSQL") when `REDCELL_TEST_PG` is not set.
    pub async fn postgres(what: &str) -> Option<TestDb> {
        let Some(base) = pg_base() else {
            println!("skipped: {what} on PostgreSQL ({PG_ENV} is not set)");
            return None;
        };
        let name = unique_name();
        let admin = pg_admin(&base).await.unwrap_or_else(|e| panic!("connect to {PG_ENV}={base}: {e}"));
        admin.exec(&format!("CREATE DATABASE \"{name}\""), Args::new()).await.expect("create test database");
        admin.close().await;
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

/// An empty PostgreSQL database on the `REDCELL_TEST_PG` server for a test
/// that runs the binary (which migrates it itself), dropped when this goes
/// out of scope. For tests outside a runtime.
pub struct PgDatabase {
    pub url: String,
    _guard: PgGuard,
}

impl PgDatabase {
    /// `None` (printing "skipped: `what` on PostgreSQL") when
    /// `REDCELL_TEST_PG` is not set.
    pub fn create(what: &str) -> Option<PgDatabase> {
        let Some(base) = pg_base() else {
            println!("skipped: {what} on PostgreSQL ({PG_ENV} is not set)");
            return None;
        };
        let name = unique_name();
        let (b, n) = (base.clone(), name.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let admin = pg_admin(&b).await.unwrap_or_else(|e| panic!("connect to {PG_ENV}={b}: {e}"));
                admin.exec(&format!("CREATE DATABASE \"{n}\""), Args::new()).await.expect("create test database");
                admin.close().await;
            })
        })
        .join()
        .expect("create the database");
        Some(PgDatabase { url: format!("{base}/{name}"), _guard: PgGuard { base, name, dropped: false } })
    }
}
