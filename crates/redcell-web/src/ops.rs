//! What an operator watches: `/healthz` (is the storage healthy, not only
//! reachable) and `/metrics` (Prometheus text: requests, latencies, storage
//! errors, the connection pool, background jobs).
//!
//! The numbers are this process's since it started; nothing here is about a
//! person (no user, no path with an id), so both routes are public — put them
//! behind the reverse proxy's allow-list if the network is not trusted.

use crate::Shared;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Left in a response by the error handlers when the storage failed (a
/// database error that is not a conflict), for [`observe`] to count.
#[derive(Debug, Clone)]
pub struct StorageFault(pub String);

const FRONTS: [&str; 3] = ["api", "page", "other"];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// How long a storage fault keeps `/healthz` degraded when no write has
/// succeeded since.
const FAULT_WINDOW: Duration = Duration::from_secs(300);

/// Background jobs whose runs are counted.
#[derive(Debug, Clone, Copy)]
pub enum Job {
    Escalation,
    Reminders,
    SessionPurge,
    IntegrityCheck,
}

const JOBS: [&str; 4] = ["escalation", "reminders", "session_purge", "integrity_check"];

/// The process's counters.
pub struct Ops {
    started: Instant,
    requests: [[AtomicU64; 5]; 3],
    buckets: [AtomicU64; 11],
    count: AtomicU64,
    /// Total latency in microseconds.
    sum_us: AtomicU64,
    storage_errors: AtomicU64,
    /// The last storage fault and when, and when a write last succeeded.
    last_fault: Mutex<Option<(Instant, String)>>,
    last_write_ok: Mutex<Option<Instant>>,
    /// What the last integrity check found (empty: sound, or not run yet).
    integrity: Mutex<Vec<String>>,
    jobs: [[AtomicU64; 2]; 4],
}

impl Default for Ops {
    fn default() -> Self {
        Ops {
            started: Instant::now(),
            requests: Default::default(),
            buckets: Default::default(),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
            storage_errors: AtomicU64::new(0),
            last_fault: Mutex::new(None),
            last_write_ok: Mutex::new(None),
            integrity: Mutex::new(Vec::new()),
            jobs: Default::default(),
        }
    }
}

impl Ops {
    /// Count one run of a background job.
    pub fn job_ran(&self, job: Job, ok: bool) {
        self.jobs[job as usize][usize::from(!ok)].fetch_add(1, Ordering::Relaxed);
    }

    /// Record what an integrity check found.
    pub fn set_integrity(&self, problems: Vec<String>) {
        *self.integrity.lock().unwrap_or_else(|e| e.into_inner()) = problems;
    }

    fn record(&self, front: usize, status: StatusCode, write: bool, fault: Option<&StorageFault>, took: Duration) {
        let class = (status.as_u16() / 100).clamp(1, 5) as usize - 1;
        self.requests[front][class].fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(took.as_micros().min(u64::MAX as u128) as u64, Ordering::Relaxed);
        if let Some(f) = fault {
            self.storage_errors.fetch_add(1, Ordering::Relaxed);
            *self.last_fault.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), f.0.clone()));
        } else if write && status.is_success() {
            *self.last_write_ok.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        }
    }

    /// Why the storage is degraded, if it is: integrity problems found, or
    /// writes failing (a recent fault with no successful write since).
    pub fn degraded(&self) -> Option<String> {
        let integrity = self.integrity.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(first) = integrity.first() {
            return Some(format!("integrity check found {} problem(s): {first}", integrity.len()));
        }
        drop(integrity);
        let fault = self.last_fault.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let ok = *self.last_write_ok.lock().unwrap_or_else(|e| e.into_inner());
        match fault {
            Some((at, why)) if at.elapsed() < FAULT_WINDOW && ok.is_none_or(|ok| ok < at) => {
                Some(format!("writes failing ({}s ago): {why}", at.elapsed().as_secs()))
            }
            _ => None,
        }
    }
}

/// Middleware: count and time every answer.
pub async fn observe(State(s): State<Shared>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = req.uri().path();
    let front = if path.starts_with("/api/") || path.starts_with("/open311/") {
        0
    } else if path.starts_with("/static/") || path == "/healthz" || path == "/metrics" {
        2
    } else {
        1
    };
    let write = !matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD);
    let started = Instant::now();
    let res = next.run(req).await;
    s.ops.record(front, res.status(), write, res.extensions().get::<StorageFault>(), started.elapsed());
    res
}

/// `GET /healthz`: 200 `ok`, or 503 naming what is wrong (the database
/// unreachable, writes failing, the integrity check's findings).
pub async fn healthz(State(s): State<Shared>) -> Response {
    if !s.db.ping().await {
        return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response();
    }
    match s.ops.degraded() {
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("degraded: {why}")).into_response(),
        None => (StatusCode::OK, "ok").into_response(),
    }
}

/// `GET /metrics` in the Prometheus text format.
pub async fn metrics(State(s): State<Shared>) -> Response {
    let o = &s.ops;
    let mut t = String::new();
    let _ = writeln!(t, "# HELP redcell_http_requests_total Requests answered, by front and status class.");
    let _ = writeln!(t, "# TYPE redcell_http_requests_total counter");
    for (f, front) in FRONTS.iter().enumerate() {
        for (c, class) in CLASSES.iter().enumerate() {
            let n = o.requests[f][c].load(Ordering::Relaxed);
            let _ = writeln!(t, "redcell_http_requests_total{{front=\"{front}\",class=\"{class}\"}} {n}");
        }
    }
    let _ = writeln!(t, "# HELP redcell_http_request_duration_seconds Time to answer a request.");
    let _ = writeln!(t, "# TYPE redcell_http_request_duration_seconds histogram");
    for (i, le) in BUCKETS.iter().enumerate() {
        let n = o.buckets[i].load(Ordering::Relaxed);
        let _ = writeln!(t, "redcell_http_request_duration_seconds_bucket{{le=\"{le}\"}} {n}");
    }
    let count = o.count.load(Ordering::Relaxed);
    let _ = writeln!(t, "redcell_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
    let sum = o.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
    let _ = writeln!(t, "redcell_http_request_duration_seconds_sum {sum}");
    let _ = writeln!(t, "redcell_http_request_duration_seconds_count {count}");
    let _ = writeln!(t, "# HELP redcell_storage_errors_total Requests that failed in the database (not conflicts).");
    let _ = writeln!(t, "# TYPE redcell_storage_errors_total counter");
    let _ = writeln!(t, "redcell_storage_errors_total {}", o.storage_errors.load(Ordering::Relaxed));
    let _ = writeln!(t, "# HELP redcell_storage_degraded 1 when /healthz reports degraded storage.");
    let _ = writeln!(t, "# TYPE redcell_storage_degraded gauge");
    let _ = writeln!(t, "redcell_storage_degraded {}", u8::from(o.degraded().is_some()));
    let (size, idle) = s.db.pool_stats();
    let _ = writeln!(t, "# HELP redcell_db_pool_connections Database connections open, by state.");
    let _ = writeln!(t, "# TYPE redcell_db_pool_connections gauge");
    let _ = writeln!(t, "redcell_db_pool_connections{{state=\"busy\"}} {}", (size as usize).saturating_sub(idle));
    let _ = writeln!(t, "redcell_db_pool_connections{{state=\"idle\"}} {idle}");
    let _ = writeln!(t, "# HELP redcell_job_runs_total Runs of background jobs, by outcome.");
    let _ = writeln!(t, "# TYPE redcell_job_runs_total counter");
    for (j, job) in JOBS.iter().enumerate() {
        for (k, outcome) in ["ok", "failed"].iter().enumerate() {
            let n = o.jobs[j][k].load(Ordering::Relaxed);
            let _ = writeln!(t, "redcell_job_runs_total{{job=\"{job}\",outcome=\"{outcome}\"}} {n}");
        }
    }
    if let Ok(rows) = redcell_store::import::jobs::status_counts(&s.db).await {
        let _ = writeln!(t, "# HELP redcell_import_jobs Roster import jobs, by status.");
        let _ = writeln!(t, "# TYPE redcell_import_jobs gauge");
        for (status, n) in rows {
            let _ = writeln!(t, "redcell_import_jobs{{status=\"{status}\"}} {n}");
        }
    }
    let _ = writeln!(t, "# HELP redcell_uptime_seconds Seconds since this process started.");
    let _ = writeln!(t, "# TYPE redcell_uptime_seconds gauge");
    let _ = writeln!(t, "redcell_uptime_seconds {}", o.started.elapsed().as_secs());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], t).into_response()
}
