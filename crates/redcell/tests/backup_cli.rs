//! The restore drill, as an operator would run it: `redcell backup` while the
//! server takes writes, `redcell restore` into a new database, and the
//! restored database holds everything acknowledged before the backup began,
//! with the row counts of the manifest. Then the refusals: a restore into a
//! database that is not empty, a tampered copy, a copy from a newer schema,
//! and a damaged SQLite file, which is refused for writes.
//! `cargo test -p redcell --test backup_cli` (PostgreSQL too with
//! `REDCELL_TEST_PG` and `pg_dump` installed).

use redcell_testkit::cli::{self, Server, http, json_field};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const PASSWORD: &str = "Backup-Test-2026";

fn run(db: &str, args: &[&str]) -> (bool, String, String) {
    cli::run(env!("CARGO_BIN_EXE_redcell"), db, args)
}

fn count(rt: &tokio::runtime::Runtime, url: &str, sql: &str) -> i64 {
    rt.block_on(async {
        let db = redcell_store::Db::connect(url).await.unwrap();
        let n = db.int(sql, redcell_store::Args::new()).await.unwrap();
        db.close().await;
        n
    })
}

/// Backup under write load, restore, compare. `fresh` is the URL of an
/// empty database to restore into.
fn drill(db: &str, fresh: &str, dir: &Path) {
    let bin = env!("CARGO_BIN_EXE_redcell");
    let (ok, _, err) = run(db, &["demo", "--households", "120", "--seed", "9", "--admin-password", PASSWORD]);
    assert!(ok, "{err}");
    let server = Server::start(bin, db, &[]);
    let token = server.login("admin", PASSWORD);
    let (_, grids) = http(server.addr, "GET", "/api/v1/grids?per_page=1", Some(&token), "").expect("grids");
    let grid = json_field(&grids, "id");

    // Writers keep creating shops; each remembers what was acknowledged.
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (acked, stop, token, grid, addr) =
                (acked.clone(), stop.clone(), token.clone(), grid.clone(), server.addr);
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let name = format!("备份演练{w}-{i}");
                    let body = format!(r#"{{"grid_id":{grid},"kind":"shop","name":"{name}"}}"#);
                    if let Some((201, _)) = http(addr, "POST", "/api/v1/units", Some(&token), &body) {
                        acked.lock().unwrap().push(name);
                    }
                    i += 1;
                }
            })
        })
        .collect();
    while acked.lock().unwrap().len() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let before_backup = acked.lock().unwrap().clone();
    let file = dir.join("drill.bak");
    let (ok, out, err) = run(db, &["backup", "--out", file.to_str().unwrap()]);
    assert!(ok, "backup: {err}");
    assert!(out.contains("已备份到"), "{out}");
    // Writes go on a little after the backup, then stop.
    std::thread::sleep(std::time::Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    drop(server);

    let (ok, out, err) = run(fresh, &["restore", file.to_str().unwrap()]);
    assert!(ok, "restore: {err}");
    assert!(out.contains("行数与清单一致"), "{out}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    // Everything acknowledged before the backup began is in the copy.
    rt.block_on(async {
        let restored = redcell_store::Db::connect(fresh).await.unwrap();
        for name in &before_backup {
            let n = restored
                .int("SELECT COUNT(*) FROM units WHERE name = $1", redcell_store::args![name.clone()])
                .await
                .unwrap();
            assert_eq!(n, 1, "{name} acknowledged before the backup, missing from the restore");
        }
        restored.close().await;
    });
    // The content of the registry is the same where no writer touched it.
    for table in ["orgs", "households", "residents", "members", "users"] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        assert_eq!(count(&rt, fresh, &sql), count(&rt, db, &sql), "{table}");
    }
    let (ok, out, err) = run(fresh, &["check"]);
    assert!(ok && out.contains("数据库完好"), "{out}{err}");
    // The restored database serves.
    let server = Server::start(bin, fresh, &[]);
    server.login("admin", PASSWORD);

    // Refusals: a database that is not empty; a tampered copy.
    let (ok, _, err) = run(fresh, &["restore", file.to_str().unwrap()]);
    assert!(!ok && (err.contains("已存在") || err.contains("不是空的")), "{err}");
    let tampered = dir.join("tampered.bak");
    std::fs::copy(&file, &tampered).unwrap();
    std::fs::copy(redcell_store::backup::manifest_path(&file), redcell_store::backup::manifest_path(&tampered))
        .unwrap();
    let mut bytes = std::fs::read(&tampered).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&tampered, bytes).unwrap();
    let (ok, _, err) = run(&format!("{fresh}_x"), &["restore", tampered.to_str().unwrap()]);
    assert!(!ok && err.contains("校验和"), "{err}");
}

#[test]
fn sqlite_backup_under_load_restores_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/live.db", dir.path().display());
    let fresh = format!("sqlite://{}/restored/rc.db", dir.path().display());
    drill(&db, &fresh, dir.path());

    // A copy from a newer program is refused.
    let file = dir.path().join("drill.bak");
    let manifest = redcell_store::backup::manifest_path(&file);
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut m: serde_json::Value = serde_json::from_str(&text).unwrap();
    m["schema_version"] = serde_json::json!(99_999_999_999i64);
    std::fs::write(&manifest, m.to_string()).unwrap();
    let (ok, _, err) =
        run(&format!("sqlite://{}/newer.db", dir.path().display()), &["restore", file.to_str().unwrap()]);
    assert!(!ok && err.contains("比本程序支持的"), "{err}");
}

#[test]
fn a_damaged_sqlite_file_is_refused_for_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rc.db");
    let db = format!("sqlite://{}", path.display());
    let (ok, _, err) = run(&db, &["demo", "--households", "300", "--seed", "2"]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&db, &["check"]);
    assert!(ok && out.contains("数据库完好"), "{out}");
    // Fold the write-ahead log into the file, then scribble over pages in
    // the middle of it.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let d = redcell_store::Db::connect(&db).await.unwrap();
        d.exec("PRAGMA wal_checkpoint(TRUNCATE)", redcell_store::Args::new()).await.unwrap();
        d.close().await;
    });
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    let first = bytes.len() / page / 2;
    for b in &mut bytes[first * page..(first + 4) * page] {
        *b = 0x5A;
    }
    std::fs::write(&path, bytes).unwrap();
    let (ok, _, err) = run(&db, &["check"]);
    assert!(!ok && err.contains("数据库有"), "{err}");
    // Writing commands refuse to open it, saying why and what to do.
    for args in [&["import", "batches"][..], &["migrate"][..], &["serve", "--bind", "127.0.0.1:0"][..]] {
        let (ok, _, err) = run(&db, args);
        assert!(!ok, "{args:?} ran on a damaged file");
        assert!(err.contains("数据库文件已损坏") && err.contains("redcell restore"), "{args:?}: {err}");
    }
    // Damage where SQLite reads on opening (the header and the schema)
    // fails the open itself: still a finding of the check, still refused.
    let mut bytes = std::fs::read(&path).unwrap();
    for b in &mut bytes[..2 * page] {
        *b = 0x5A;
    }
    std::fs::write(&path, bytes).unwrap();
    let (ok, _, err) = run(&db, &["check"]);
    assert!(!ok && err.contains("数据库有"), "{err}");
    let (ok, _, err) = run(&db, &["migrate"]);
    assert!(!ok && err.contains("数据库文件已损坏") && err.contains("redcell restore"), "{err}");
}

#[test]
fn postgres_backup_under_load_restores_what_was_acknowledged() {
    let Some(base) = redcell_testkit::pg_base() else {
        eprintln!("skipped: REDCELL_TEST_PG not set");
        return;
    };
    if std::process::Command::new("pg_dump").arg("--version").output().is_err() {
        eprintln!("skipped: pg_dump not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let stamp = std::process::id();
    let (live, fresh) = (format!("redcell_bk_live_{stamp}"), format!("redcell_bk_fresh_{stamp}"));
    let admin = |sql: String| {
        let ok = std::process::Command::new("psql")
            .env("PGOPTIONS", "-c client_min_messages=warning")
            .args([&format!("{base}/postgres"), "-qc", &sql])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "{sql}");
    };
    for d in [&live, &fresh] {
        admin(format!("DROP DATABASE IF EXISTS {d}"));
        admin(format!("CREATE DATABASE {d}"));
    }
    drill(&format!("{base}/{live}"), &format!("{base}/{fresh}"), dir.path());
    for d in [&live, &fresh] {
        admin(format!("DROP DATABASE IF EXISTS {d} WITH (FORCE)"));
    }
}
