//! Start-up failures an operator meets, each explained once, in words that
//! say what to do, without waiting for a pool to time out.
//! `cargo test -p redcell --test startup_cli`.

use redcell_testkit::cli;
use std::time::{Duration, Instant};

fn fails_with(db: &str, args: &[&str], expect: &[&str]) -> String {
    let started = Instant::now();
    let (ok, _, err) = cli::run(env!("CARGO_BIN_EXE_redcell"), db, args);
    assert!(!ok, "{db}: succeeded");
    assert!(started.elapsed() < Duration::from_secs(8), "{db}: took {:?}", started.elapsed());
    for e in expect {
        assert!(err.contains(e), "{db}: {err}");
    }
    // One line, no repeated cause.
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    err
}

#[test]
fn each_start_up_failure_is_named_once() {
    // Nothing listens on port 1: refused at once, not after a pool timeout.
    let err = fails_with("postgres://postgres@127.0.0.1:1/x", &["migrate"], &["连接被拒绝", "127.0.0.1:1"]);
    assert_eq!(err.matches("连接被拒绝").count(), 1, "{err}");
    // A password in the URL is never printed.
    fails_with("postgres://someone:s3cret@127.0.0.1:1/x", &["migrate"], &["someone:***@"]);
    let (ok, _, err) = cli::run(env!("CARGO_BIN_EXE_redcell"), "postgres://someone:s3cret@127.0.0.1:1/x", &["migrate"]);
    assert!(!ok && !err.contains("s3cret"), "{err}");
    // A data directory that cannot be made.
    fails_with("sqlite:///etc/passwd/data/rc.db", &["migrate"], &["无法创建数据目录", "/etc/passwd/data"]);
    // A directory that cannot be written.
    fails_with("sqlite:///proc/rc.db", &["serve", "--bind", "127.0.0.1:0"], &["数据目录 /proc 不可写"]);
    if let Some(base) = redcell_testkit::pg_base() {
        fails_with(&format!("{base}/redcell_no_such_database"), &["migrate"], &["数据库不存在", "CREATE DATABASE"]);
    }
}
