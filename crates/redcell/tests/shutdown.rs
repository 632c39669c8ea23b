//! Stopping the server the way service managers do: SIGTERM while writes are
//! in flight. Every write is either answered or never committed — no write
//! commits without its client getting the answer — and the process exits on
//! its own within the deadline. `cargo test -p redcell --test shutdown`.

#![cfg(unix)]

use redcell_testkit::cli::{self, Server, http, json_field};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PASSWORD: &str = "Stop-Test-2026";

/// Each write's name and the status it was answered with (`None`: no answer).
type Outcomes = Arc<Mutex<Vec<(String, Option<u16>)>>>;

#[test]
fn sigterm_with_writes_in_flight_answers_or_refuses_every_write() {
    let bin = env!("CARGO_BIN_EXE_redcell");
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/rc.db", dir.path().display());
    let (ok, _, err) = cli::run(bin, &db, &["demo", "--households", "60", "--seed", "5", "--admin-password", PASSWORD]);
    assert!(ok, "{err}");

    let mut server = Server::start(bin, &db, &["--shutdown-timeout", "20"]);
    let addr = server.addr;
    let token = server.login("admin", PASSWORD);
    let (st, grids) = http(addr, "GET", "/api/v1/grids?per_page=1", Some(&token), "").expect("grids");
    assert_eq!(st, 200, "{grids}");
    let grid = json_field(&grids, "id");

    // Writers: each creates shops named for itself and the attempt, one
    // connection per write, until the server stops answering.
    let outcomes: Outcomes = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let (outcomes, done, token, grid) = (outcomes.clone(), done.clone(), token.clone(), grid.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    let name = format!("停机测试{w}-{i}");
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
    // Let writes flow, then stop the server as systemd would.
    while outcomes.lock().unwrap().len() < 60 {
        std::thread::sleep(Duration::from_millis(20));
    }
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
    let store = rt.block_on(redcell_store::Db::connect(&db)).unwrap();
    let (mut answered, mut unanswered) = (0, 0);
    for (name, r) in &outcomes {
        let n = rt
            .block_on(store.int("SELECT COUNT(*) FROM units WHERE name = $1", redcell_store::args![name.clone()]))
            .unwrap();
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
}
