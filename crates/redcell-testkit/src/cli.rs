//! Running the `redcell` binary against a database.
//!
//! The binary's path is only known to the binary crate's own tests, so they
//! pass it in: `cli::run(env!("CARGO_BIN_EXE_redcell"), &db, &["demo"])`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One HTTP/1.1 exchange on a fresh connection (JSON body, optional bearer
/// token): the status and body, or `None` when the connection was refused or
/// closed before a whole status line came.
pub fn http(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> Option<(u16, String)> {
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

/// The value of `"key":"…"` or `"key":123` in a JSON text (letters and
/// digits: tokens and ids).
pub fn json_field(json: &str, key: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {json}"));
    fn find(v: &serde_json::Value, key: &str) -> Option<String> {
        match v {
            serde_json::Value::Object(m) => m
                .get(key)
                .map(|x| x.to_string().trim_matches('"').to_string())
                .or_else(|| m.values().find_map(|x| find(x, key))),
            serde_json::Value::Array(a) => a.iter().find_map(|x| find(x, key)),
            _ => None,
        }
    }
    find(&v, key).unwrap_or_else(|| panic!("no {key} in {json}"))
}

/// A `redcell serve` process on a free port of the loopback interface.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Server {
    /// Start `bin serve` on `db_url` with `extra` arguments and wait until
    /// `/healthz` answers.
    pub fn start(bin: &str, db_url: &str, extra: &[&str]) -> Server {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Command::new(bin)
            .args(["serve", "--bind", &addr.to_string()])
            .args(extra)
            .env("REDCELL_DATABASE_URL", db_url)
            .env("REDCELL_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {bin}: {e}"));
        let started = Instant::now();
        while http(addr, "GET", "/healthz", None, "").is_none() {
            assert!(started.elapsed() < Duration::from_secs(30), "server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Server { child, addr }
    }

    /// Sign in over the API: the bearer token.
    pub fn login(&self, user: &str, password: &str) -> String {
        let body = format!(r#"{{"username":"{user}","password":"{password}"}}"#);
        let (st, out) = http(self.addr, "POST", "/api/v1/auth/login", None, &body).expect("login");
        assert_eq!(st, 200, "{out}");
        json_field(&out, "token")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
