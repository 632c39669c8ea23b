//! Stopping the server the way service managers do: SIGTERM while writes are
//! in flight. Every write is either answered or never committed — no write
//! commits without its client getting the answer — and the process exits on
//! its own within the deadline. And stopping it the way a power cut does:
//! `kill -9` under write load, again and again, loses no write that was
//! acknowledged. Both backends (PostgreSQL with `REDCELL_TEST_PG`).
//! `cargo test -p redcell --test shutdown`.

#![cfg(unix)]

use redcell_testkit::cli::{self, Server, http, json_field};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PASSWORD: &str = "Stop-Test-2026";

/// Each write's name and the status it was answered with (`None`: no answer).
type Outcomes = Arc<Mutex<Vec<(String, Option<u16>)>>>;

const BIN: &str = env!("CARGO_BIN_EXE_redcell");

#[test]
fn sigterm_with_writes_in_flight_answers_or_refuses_every_write_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    sigterm_drill(&format!("sqlite://{}/rc.db", dir.path().display()));
}

#[test]
fn sigterm_with_writes_in_flight_answers_or_refuses_every_write_postgres() {
    if let Some(pg) = redcell_testkit::PgDatabase::create("the SIGTERM drill") {
        sigterm_drill(&pg.url);
    }
}

#[test]
fn kill_9_under_write_load_again_and_again_loses_no_acknowledged_write_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    crash_drill(&format!("sqlite://{}/rc.db", dir.path().display()));
}

#[test]
fn kill_9_under_write_load_again_and_again_loses_no_acknowledged_write_postgres() {
    if let Some(pg) = redcell_testkit::PgDatabase::create("the kill -9 drill") {
        crash_drill(&pg.url);
    }
}

/// A small demo district on `db`; the grid that the writers write into.
fn demo(db: &str) {
    let (ok, _, err) = cli::run(BIN, db, &["demo", "--households", "60", "--seed", "5", "--admin-password", PASSWORD]);
    assert!(ok, "{err}");
}

/// Writers on `server`: each creates shops named `{prefix}{w}-{i}`, one
/// connection per write, and stops at its first write without an answer (or
/// once `done` is set). Answers the outcomes, the flag and the threads.
fn writers(
    server: &Server,
    prefix: &'static str,
    n: usize,
) -> (Outcomes, Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>) {
    let addr = server.addr;
    let token = server.login("admin", PASSWORD);
    let (st, grids) = http(addr, "GET", "/api/v1/grids?per_page=1", Some(&token), "").expect("grids");
    assert_eq!(st, 200, "{grids}");
    let grid = json_field(&grids, "id");
    let outcomes: Outcomes = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let threads = (0..n)
        .map(|w| {
            let (outcomes, done, token, grid) = (outcomes.clone(), done.clone(), token.clone(), grid.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    let name = format!("{prefix}{w}-{i}");
                    let body = format!(r#"{{"grid_id":{grid},"kind":"shop","name":"{name}"}}"#);
                    let r = http(addr, "POST", "/api/v1/units", Some(&token), &body).map(|(s, _)| s);
                    outcomes.lock().unwrap().push((name, r));
                    if r.is_none() || done.load(Ordering::Relaxed) {
                        break;
                    }
                }
            })
        })
        .collect();
    (outcomes, done, threads)
}

fn wait_for(outcomes: &Outcomes, n: usize) {
    let start = Instant::now();
    while outcomes.lock().unwrap().len() < n {
        assert!(start.elapsed() < Duration::from_secs(60), "fewer than {n} writes in a minute");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many units carry this name.
fn stored(rt: &tokio::runtime::Runtime, store: &redcell_store::Db, name: &str) -> i64 {
    rt.block_on(store.int("SELECT COUNT(*) FROM units WHERE name = $1", redcell_store::args![name.to_string()]))
        .unwrap()
}

/// `kill -9` five times, each while 8 writers write; after each restart
/// every acknowledged write is there exactly once. (A write in flight at the
/// kill may or may not have committed: its client never heard, as after a
/// power cut.)
fn crash_drill(db: &str) {
    demo(db);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut acknowledged = Vec::new();
    for round in 0..5 {
        let mut server = Server::start(BIN, db, &[]);
        // Each round writes names of its own: a write in flight at the kill
        // may still commit afterwards (PostgreSQL finishes a COMMIT it has
        // received after the client is gone), so rows are never renamed.
        let prefix: &'static str = Box::leak(format!("断电测试{round}:").into_boxed_str());
        let (outcomes, done, threads) = writers(&server, prefix, 8);
        wait_for(&outcomes, 40);
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        done.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        for (name, r) in outcomes.lock().unwrap().iter() {
            match r {
                Some(201) => acknowledged.push(name.clone()),
                Some(s) => panic!("{name}: answered {s}"),
                None => {}
            }
        }
    }
    let store = rt.block_on(redcell_store::Db::connect(db)).unwrap();
    for name in &acknowledged {
        assert_eq!(stored(&rt, &store, name), 1, "{name}: acknowledged before a kill -9, stored otherwise");
    }
    let check = cli::run(BIN, db, &["check"]);
    assert!(check.0, "redcell check after five kills: {} {}", check.1, check.2);
    eprintln!("{} acknowledged writes across five kill -9, all stored once", acknowledged.len());
    assert!(acknowledged.len() >= 5 * 30, "{} acknowledged", acknowledged.len());
    rt.block_on(store.close());
}

fn sigterm_drill(db: &str) {
    demo(db);
    let mut server = Server::start(BIN, db, &["--shutdown-timeout", "20"]);
    let (outcomes, done, writers) = writers(&server, "停机测试", 16);
    // Let writes flow, then stop the server as systemd would.
    wait_for(&outcomes, 60);
    let term = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let stopping = Instant::now();
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(stopping.elapsed() < Duration::from_secs(40), "server did not stop within its deadline");
        std::thread::sleep(Duration::from_millis(50));
    };
    done.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert!(status.success(), "exit status {status:?}");

    // What the database holds, against what the clients were told.
    let outcomes = outcomes.lock().unwrap().clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(redcell_store::Db::connect(db)).unwrap();
    let (mut answered, mut unanswered) = (0, 0);
    for (name, r) in &outcomes {
        let n = stored(&rt, &store, name);
        match r {
            Some(201) => {
                answered += 1;
                assert_eq!(n, 1, "{name}: answered 201, stored {n} times");
            }
            Some(s) => panic!("{name}: answered {s} while stopping"),
            None => {
                unanswered += 1;
                assert_eq!(n, 0, "{name}: committed but its client got no answer");
            }
        }
    }
    eprintln!("{answered} writes answered, {unanswered} refused while stopping");
    assert!(answered >= 60, "{answered} answered");
    assert_eq!(unanswered, 16, "each writer stops at its first refused connection");
    // Nothing else was written under the test's names.
    let all = rt
        .block_on(store.int("SELECT COUNT(*) FROM units WHERE name LIKE '停机测试%'", redcell_store::Args::new()))
        .unwrap();
    assert_eq!(all, answered);
    rt.block_on(store.close());
}
