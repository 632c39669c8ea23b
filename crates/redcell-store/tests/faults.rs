//! Faults the database may hit while serving, and what must hold after them:
//! a write that failed (a full disk, a failed commit) leaves no broken
//! connection in the pool, so writes succeed again once the cause is gone.
//! `cargo test -p redcell-store --test faults` (PostgreSQL with `REDCELL_TEST_PG`).

use redcell_store::{Args, Db, StoreError, args};
use redcell_testkit::store::stories;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use std::str::FromStr;

stories!(failed_and_abandoned_transactions_leave_usable_connections);

const BLOB: usize = 64 * 1024;

async fn write(db: &Db, i: i64) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    tx.exec("INSERT INTO filler (n, data) VALUES ($1, $2)", args![i, "x".repeat(BLOB)]).await?;
    tx.commit().await
}

/// SQLite answering "database or disk is full" (a page limit stands in for
/// the disk: `PRAGMA max_page_count`), then given room again.
#[tokio::test]
async fn sqlite_writes_succeed_again_after_the_disk_was_full() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/full.db", dir.path().display());
    // One connection, so that the connection that failed is the one reused.
    let opts = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .pragma("max_page_count", "400");
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.unwrap();
    let db = Db::Sqlite(redcell_store::db::Lite::one(pool.clone()));
    db.exec("CREATE TABLE filler (n BIGINT NOT NULL, data TEXT NOT NULL)", Args::new()).await.unwrap();

    // Fill it up: every write eventually fails as "full", several in a row.
    let mut written = 0;
    let mut failures = Vec::new();
    for i in 0..200 {
        match write(&db, i).await {
            Ok(()) => written += 1,
            Err(e) => failures.push(e.to_string()),
        }
        if failures.len() == 3 {
            break;
        }
    }
    assert!(written > 0 && failures.len() == 3, "written {written}, failures {failures:?}");
    assert!(failures.iter().all(|f| f.contains("full")), "{failures:?}");
    // Reads still work.
    assert_eq!(db.int("SELECT COUNT(*) FROM filler", Args::new()).await.unwrap(), written);

    // Room again (the page limit lifted on the pool's one connection): the
    // next write succeeds, and so do the ones after it.
    db.exec("PRAGMA max_page_count = 1000000", Args::new()).await.unwrap();
    for i in 0..5 {
        write(&db, 1000 + i).await.unwrap_or_else(|e| panic!("write {i} after room was made: {e}"));
    }
    assert_eq!(db.int("SELECT COUNT(*) FROM filler", Args::new()).await.unwrap(), written + 5);
}

/// A statement failing inside a transaction (here a constraint) and a
/// transaction dropped without commit leave the connection usable, on both
/// backends.
async fn failed_and_abandoned_transactions_leave_usable_connections(db: Db) {
    db.exec("CREATE TABLE once (n BIGINT PRIMARY KEY)", Args::new()).await.unwrap();
    for round in 0..20 {
        let mut tx = db.begin().await.unwrap();
        tx.exec("INSERT INTO once (n) VALUES ($1)", args![round]).await.unwrap();
        // A duplicate fails inside the transaction...
        assert!(tx.exec("INSERT INTO once (n) VALUES ($1)", args![round]).await.is_err());
        // ...which is then abandoned (on PostgreSQL it is aborted anyway).
        drop(tx);
        // A fresh write on the pool works every time.
        let mut tx = db.begin().await.unwrap();
        tx.exec("INSERT INTO once (n) VALUES ($1)", args![round]).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(db.int("SELECT COUNT(*) FROM once", Args::new()).await.unwrap(), 20);
}
