//! Running the `redcell` binary against a database.
//!
//! The binary's path is only known to the binary crate's own tests, so they
//! pass it in: `cli::run(env!("CARGO_BIN_EXE_redcell"), &db, &["demo"])`.

use std::process::Command;

/// Run `bin` with `args` on the database `db_url` (quiet logs, no
/// backtraces), wait for it and answer (exited with success, stdout, stderr).
pub fn run(bin: &str, db_url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin)
        .args(args)
        .env("REDCELL_DATABASE_URL", db_url)
        .env("RUST_BACKTRACE", "0")
        .env("REDCELL_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("run {bin}: {e}"));
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}
