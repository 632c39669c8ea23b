//! Stopping the server the way service managers do: SIGTERM while writes are
//! in flight. Every write is either answered or never committed — no write
//! commits without its client getting the answer — and the process exits on
//! its own within the deadline. `cargo test -p redcell --test shutdown`.

#![cfg(unix)]

use redcell_testkit::cli;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PASSWORD: &str = "Stop-Test-2026";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One HTTP/1.1 exchange on a fresh connection: the status, or `None` when
/// the connection was refused or closed before a whole status line came.
fn call(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n{auth}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status: u16 = text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

/// The value of `"key":"…"` or `"key":123` in a JSON text (enough for the
/// two fields this test reads).
fn field(json: &str, key: &str) -> String {
    let at = json.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("no {key} in {json}")) + key.len() + 3;
    json[at..].trim_start_matches('"').chars().take_while(|c| c.is_ascii_alphanumeric()).collect()
}

#[test]
fn sigterm_with_writes_in_flight_answers_or_refuses_every_write() {
    let bin = env!("CARGO_BIN_EXE_redcell");
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/rc.db", dir.path().display());
    let (ok, _, err) = cli::run(bin, &db, &["demo", "--households", "60", "--seed", "5", "--admin-password", PASSWORD]);
    assert!(ok, "{err}");

    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut server = Command::new(bin)
        .args(["serve", "--bind", &addr.to_string(), "--shutdown-timeout", "20"])
        .env("REDCELL_DATABASE_URL", &db)
        .env("REDCELL_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while call(addr, "GET", "/healthz", None, "").is_none() {
        assert!(started.elapsed() < Duration::from_secs(30), "server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (st, login) =
        call(addr, "POST", "/api/v1/auth/login", None, &format!(r#"{{"username":"admin","password":"{PASSWORD}"}}"#))
            .expect("login");
    assert_eq!(st, 200, "{login}");
    let token = field(&login, "token");
    let (st, grids) = call(addr, "GET", "/api/v1/grids?per_page=1", Some(&token), "").expect("grids");
    assert_eq!(st, 200, "{grids}");
    let grid = field(&grids, "id");

    // Writers: each creates shops named for itself and the attempt, one
    // connection per write, until the server stops answering.
    let outcomes: Arc<Mutex<Vec<(String, Option<u16>)>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let (outcomes, done, token, grid) = (outcomes.clone(), done.clone(), token.clone(), grid.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    let name = format!("停机测试{w}-{i}");
                    let body = format!(r#"{{"grid_id":{grid},"kind":"shop","name":"{name}"}}"#);
                    let r = call(addr, "POST", "/api/v1/units", Some(&token), &body).map(|(s, _)| s);
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
    let term = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(term.success());
    let stopping = Instant::now();
    let status = loop {
        if let Some(s) = server.try_wait().unwrap() {
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
