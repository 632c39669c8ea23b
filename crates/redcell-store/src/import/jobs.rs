//! Imports from the pages run as background jobs stored in the database, so
//! that a large file neither times out a request nor ties the work to one
//! server process. A job is staged (file kept in the row), then worked by any
//! `redcell serve` process: a worker claims the oldest queued job with one
//! conditional `UPDATE ... WHERE status = 'queued'` (the row lock makes a
//! second claimant update nothing), runs it, and stores the report. A job
//! left `running` by a process that died is claimed again after 15 minutes.
//!
//! Modes: `preview` (check only, the report is shown) and then `commit` (the
//! same file checked again and written as one batch).

use super::{MAX_BYTES, Report, Stage, Upload, run};
use crate::db::Db;
use crate::error::StoreError;
use crate::scope::{Capability, Grant, Principal};
use crate::{Code, args};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::rosters::ImportKind;
use redcell_domain::{FieldError, OrgPath, Role, i18n};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A job as its owner sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub file_name: String,
    pub created_at: DateTime<Utc>,
    /// `preview` or `commit`.
    pub mode: String,
    /// `queued`, `running`, `done`, `failed`.
    pub status: String,
    pub progress: i64,
    pub report: Option<Report>,
    pub batch_id: Option<i64>,
}

impl Job {
    pub fn kind(&self) -> Option<ImportKind> {
        <ImportKind as redcell_domain::CodeEnum>::from_code(&self.kind)
    }
    pub fn kind_label(&self) -> &'static str {
        self.kind().map(ImportKind::label).unwrap_or("")
    }
    /// Upload time in China, `YYYY-MM-DD HH:MM`.
    pub fn created_local(&self) -> String {
        (self.created_at + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string()
    }
    pub fn finished(&self) -> bool {
        self.status == "done" || self.status == "failed"
    }
    /// Checked, no errors, not yet committed.
    pub fn may_commit(&self) -> bool {
        self.status == "done" && self.mode == "preview" && self.report.as_ref().is_some_and(Report::is_ok)
    }
    pub fn status_label(&self) -> &'static str {
        match (self.status.as_str(), self.mode.as_str()) {
            ("queued", _) => "排队中",
            ("running", "preview") => "正在检查",
            ("running", _) => "正在导入",
            ("done", "preview") => "检查完成",
            ("done", _) => "已导入",
            _ => "失败",
        }
    }
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    file_name: String,
    created_at: DateTime<Utc>,
    mode: String,
    status: String,
    progress: i64,
    report_json: Option<String>,
    batch_id: Option<i64>,
}

impl From<JobRow> for Job {
    fn from(r: JobRow) -> Job {
        Job {
            id: r.id,
            kind: r.kind,
            file_name: r.file_name,
            created_at: r.created_at,
            mode: r.mode,
            status: r.status,
            progress: r.progress,
            report: r.report_json.and_then(|j| serde_json::from_str(&j).ok()),
            batch_id: r.batch_id,
        }
    }
}

const COLS: &str = "id, kind, file_name, created_at, mode, status, progress, report_json, batch_id";

fn may_import(p: &Principal) -> Result<(), StoreError> {
    if p.scope(Capability::EditRegistry).is_empty() { Err(StoreError::Forbidden) } else { Ok(()) }
}

/// Stage an uploaded file for a preview; returns the job id.
pub async fn stage(db: &Db, p: &Principal, kind: ImportKind, file_name: &str, bytes: &[u8]) -> Result<i64, StoreError> {
    may_import(p)?;
    if bytes.len() > MAX_BYTES {
        let e = redcell_docs::read::ReadError::TooLarge { size: bytes.len(), max: MAX_BYTES };
        return Err(FieldError::new("file", "too_large", e.message()).into());
    }
    if bytes.is_empty() {
        return Err(FieldError::new("file", "required", i18n::REQUIRED).into());
    }
    let name: String = file_name.chars().filter(|c| !c.is_control()).take(120).collect();
    let mut tx = db.begin().await?;
    let id = tx
        .int(
            "INSERT INTO import_jobs (tenant_id, user_id, created_at, kind, file_name, data, mode, status) \
             VALUES ($1, $2, $3, $4, $5, $6, 'preview', 'queued') RETURNING id",
            crate::db::Args(vec![
                p.tenant_id.into(),
                p.user_id.into(),
                Utc::now().into(),
                kind.code().into(),
                name.into(),
                crate::db::Arg::Bytes(bytes.to_vec()),
            ]),
        )
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// One of the caller's jobs.
pub async fn get(db: &Db, p: &Principal, id: i64) -> Result<Job, StoreError> {
    let r: JobRow = db
        .one(
            &format!("SELECT {COLS} FROM import_jobs WHERE tenant_id = $1 AND user_id = $2 AND id = $3"),
            args![p.tenant_id, p.user_id, id],
        )
        .await?;
    Ok(r.into())
}

/// The caller's recent jobs (without their reports).
pub async fn recent(db: &Db, p: &Principal, limit: i64) -> Result<Vec<Job>, StoreError> {
    let rows: Vec<JobRow> = db
        .all(
            "SELECT id, kind, file_name, created_at, mode, status, progress, NULL AS report_json, batch_id FROM import_jobs \
             WHERE tenant_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3",
            args![p.tenant_id, p.user_id, limit],
        )
        .await?;
    Ok(rows.into_iter().map(Job::from).collect())
}

/// Ask for a checked job to be written.
pub async fn request_commit(db: &Db, p: &Principal, id: i64) -> Result<(), StoreError> {
    let job = get(db, p, id).await?;
    if !job.may_commit() {
        return Err(FieldError::new("job", "state", "该文件尚未检查完成或有错误，不能导入").into());
    }
    db.exec(
        "UPDATE import_jobs SET mode = 'commit', status = 'queued', progress = 0 \
         WHERE tenant_id = $1 AND user_id = $2 AND id = $3 AND mode = 'preview' AND status = 'done'",
        args![p.tenant_id, p.user_id, id],
    )
    .await?;
    Ok(())
}

/// Throw away a job that is not running (its staged file goes with it).
pub async fn discard(db: &Db, p: &Principal, id: i64) -> Result<(), StoreError> {
    let n = db
        .exec(
            "DELETE FROM import_jobs WHERE tenant_id = $1 AND user_id = $2 AND id = $3 AND status <> 'running'",
            args![p.tenant_id, p.user_id, id],
        )
        .await?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// The error sheet of a checked job.
pub async fn error_sheet(db: &Db, p: &Principal, id: i64, today: NaiveDate) -> Result<(String, Vec<u8>), StoreError> {
    let job = get(db, p, id).await?;
    let (Some(report), Some(kind)) = (job.report.as_ref(), job.kind()) else {
        return Err(StoreError::NotFound);
    };
    let (data,): (Vec<u8>,) = db
        .one(
            "SELECT data FROM import_jobs WHERE tenant_id = $1 AND user_id = $2 AND id = $3",
            args![p.tenant_id, p.user_id, id],
        )
        .await?;
    let up = Upload { kind, file_name: &job.file_name, bytes: &data, max_bytes: MAX_BYTES, today };
    let stem = job.file_name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&job.file_name).to_string();
    Ok((format!("{stem}-错误.xlsx"), super::error_sheet(&up, report)?))
}

/// The account behind a job, as it is now (grants may have changed since
/// the upload; a disabled account's job fails).
async fn principal_of(db: &Db, user_id: i64) -> Result<Principal, StoreError> {
    let row: Option<(i64, String, String)> = db
        .opt("SELECT tenant_id, username, display_name FROM users WHERE id = $1 AND disabled = FALSE", args![user_id])
        .await?;
    let (tenant_id, username, display_name) = row.ok_or(StoreError::Forbidden)?;
    let grants: Vec<(i64, String, String, Code<Role>)> = db
        .all(
            "SELECT o.id, o.name, o.path, g.role FROM grants g JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id \
             WHERE g.user_id = $1 ORDER BY o.path",
            args![user_id],
        )
        .await?;
    let grants = grants
        .into_iter()
        .filter_map(|(org_id, org_name, path, role)| {
            OrgPath::parse(&path).ok().map(|path| Grant { org_id, org_name, path, role: role.0 })
        })
        .collect();
    Ok(Principal { user_id, tenant_id, username, display_name, grants })
}

/// A claimed job: id, tenant, user, kind, file name, mode, file.
type Claimed = (i64, i64, i64, String, String, String, Vec<u8>);

/// Claim the oldest queued job (or one abandoned while running) and run it.
/// Returns whether a job was run.
pub async fn work_one(db: &Db, worker: &str, today: NaiveDate) -> Result<bool, StoreError> {
    let now = Utc::now();
    let stale = now - chrono::Duration::minutes(15);
    let token = format!("{worker}-{}", now.timestamp_nanos_opt().unwrap_or_default());
    let claimed = db
        .exec(
            "UPDATE import_jobs SET status = 'running', claimed_by = $1, claimed_at = $2 \
             WHERE id = (SELECT id FROM import_jobs WHERE status = 'queued' OR (status = 'running' AND claimed_at < $3) \
                         ORDER BY id LIMIT 1) \
             AND (status = 'queued' OR (status = 'running' AND claimed_at < $3))",
            args![token.clone(), now, stale],
        )
        .await?;
    if claimed == 0 {
        return Ok(false);
    }
    let job: Option<Claimed> = db
        .opt(
            "SELECT id, tenant_id, user_id, kind, file_name, mode, data FROM import_jobs WHERE claimed_by = $1 AND status = 'running'",
            args![token.clone()],
        )
        .await?;
    let Some((id, tenant_id, user_id, kind, file_name, mode, data)) = job else {
        return Ok(false);
    };
    let finish = |status: &'static str, report: Option<String>, batch: Option<i64>| {
        let db = db.clone();
        let token = token.clone();
        async move {
            db.exec(
                "UPDATE import_jobs SET status = $1, report_json = $2, batch_id = $3, finished_at = $4 \
                 WHERE tenant_id = $5 AND id = $6 AND claimed_by = $7",
                args![status, report, batch, Utc::now(), tenant_id, id, token],
            )
            .await
        }
    };
    let p = match principal_of(db, user_id).await {
        Ok(p) => p,
        Err(_) => {
            finish("failed", None, None).await?;
            return Ok(true);
        }
    };
    let Some(kind) = <ImportKind as redcell_domain::CodeEnum>::from_code(&kind) else {
        finish("failed", None, None).await?;
        return Ok(true);
    };
    // Progress goes to the row once a second from a task of its own (the
    // import's callback is synchronous).
    let done = Arc::new(AtomicU64::new(0));
    let ticker = {
        let (db, done, token) = (db.clone(), done.clone(), token.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                let n = done.load(Ordering::Relaxed) as i64;
                let _ = db
                    .exec(
                        "UPDATE import_jobs SET progress = $1, claimed_at = $2 WHERE tenant_id = $3 AND id = $4 AND claimed_by = $5",
                        args![n, Utc::now(), tenant_id, id, token.clone()],
                    )
                    .await;
            }
        })
    };
    let progress = {
        let done = done.clone();
        move |_: Stage, n: u64| done.store(n, Ordering::Relaxed)
    };
    let up = Upload { kind, file_name: &file_name, bytes: &data, max_bytes: MAX_BYTES, today };
    let result = run(db, &p, up, mode == "commit", &progress).await;
    ticker.abort();
    match result {
        Ok(report) => {
            let json = serde_json::to_string(&report).map_err(|e| StoreError::Internal(e.to_string()))?;
            finish("done", Some(json), report.batch_id).await?;
            if report.batch_id.is_some()
                && let Err(e) = db.analyze().await
            {
                tracing::warn!("statistics after import job {id}: {e}");
            }
        }
        Err(e) => {
            tracing::warn!("import job {id} failed: {e}");
            let mut r = Report::new(kind, &file_name);
            r.file_error(match e {
                StoreError::Forbidden | StoreError::Denied(_) => i18n::FORBIDDEN.to_string(),
                StoreError::Invalid(inv) => inv.to_string(),
                _ => i18n::INTERNAL.to_string(),
            });
            let json = serde_json::to_string(&r).map_err(|e| StoreError::Internal(e.to_string()))?;
            finish("failed", Some(json), None).await?;
        }
    }
    Ok(true)
}

/// How long the file of a job that was never imported is kept.
pub const ABANDONED_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// Remove jobs staged before `now - ABANDONED_AFTER` that were only ever
/// checked (a preview checked and left, failed, or still queued), with their
/// staged files. A job confirmed for import (`mode = 'commit'`, whatever came
/// of it) keeps its row, as does a running job (left to its worker).
/// Returns the number removed.
pub async fn purge_abandoned(db: &Db, now: DateTime<Utc>) -> Result<u64, StoreError> {
    db.exec(
        "DELETE FROM import_jobs WHERE batch_id IS NULL AND mode = 'preview' AND status <> 'running' AND created_at < $1",
        args![now - ABANDONED_AFTER],
    )
    .await
}

/// The worker loop `serve` starts: work jobs until none is queued, then look
/// again every second; abandoned jobs are purged at start and every hour.
/// When `stop` turns true it finishes the job in hand and returns.
pub async fn worker(db: Db, name: String, today: fn() -> NaiveDate, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut last_purge: Option<std::time::Instant> = None;
    while !*stop.borrow() {
        if last_purge.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(3600)) {
            match purge_abandoned(&db, Utc::now()).await {
                Ok(n) if n > 0 => tracing::info!("import worker: purged {n} abandoned import jobs"),
                Ok(_) => {}
                Err(e) => tracing::warn!("import worker: purge: {e}"),
            }
            last_purge = Some(std::time::Instant::now());
        }
        match work_one(&db, &name, today()).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!("import worker: {e}"),
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}

/// Jobs by status (for the metrics).
pub async fn status_counts(db: &Db) -> Result<Vec<(String, i64)>, StoreError> {
    db.all("SELECT status, COUNT(*) FROM import_jobs GROUP BY status ORDER BY status", crate::Args::new()).await
}

/// Give back the jobs worker `name` holds (a server stopping before its job
/// finished; the job's import ran in one transaction, which was rolled back):
/// they are queued again for any process to run at once, instead of after
/// the stale-claim limit. Returns how many.
pub async fn hand_back(db: &Db, name: &str) -> Result<u64, StoreError> {
    db.exec(
        "UPDATE import_jobs SET status = 'queued', claimed_by = NULL, progress = 0 \
         WHERE status = 'running' AND claimed_by LIKE $1",
        args![format!("{name}-%")],
    )
    .await
}
