//! Backups, restores and integrity checks of the whole database.
//!
//! A backup is two files: the copy (`FILE`) and its manifest (`FILE.json`:
//! backend, schema version, row counts per table, the copy's SHA-256). The
//! copy is consistent while the server keeps writing:
//! - SQLite: `VACUUM INTO`, which reads one snapshot and writes a compact file;
//! - PostgreSQL: `pg_dump` in custom format on a snapshot exported by a
//!   repeatable-read transaction, in which the row counts are taken too, so
//!   the counts are those of the copy.
//!
//! A restore goes into an empty database only, checks the checksum, refuses a
//! copy whose schema is newer than this program, and compares the restored
//! row counts with the manifest.

use crate::db::{Args, Backend, Db};
use crate::error::StoreError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a backup holds, written beside it as `FILE.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The last migration applied to the copied database.
    pub schema_version: i64,
    /// Rows per table at the moment of the copy.
    pub tables: BTreeMap<String, i64>,
    /// SHA-256 of the copy, hex.
    pub sha256: String,
    pub bytes: u64,
    /// When the copy was taken (UTC, RFC 3339).
    pub taken_at: String,
    /// The program that took it.
    pub redcell_version: String,
}

/// The manifest's path for a backup file.
pub fn manifest_path(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".json");
    PathBuf::from(p)
}

fn internal(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("{what}: {e}"))
}

/// The newest migration this program knows, on `backend`.
pub fn program_schema_version(backend: Backend) -> i64 {
    let m = match backend {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("migrations/postgres"),
    };
    m.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The last migration applied to the database.
pub async fn schema_version(db: &Db) -> Result<i64, StoreError> {
    db.int("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM _sqlx_migrations WHERE success", Args::new()).await
}

const SQLITE_TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' \
     AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations' ORDER BY name";
const PG_TABLES: &str =
    "SELECT tablename::TEXT FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations' ORDER BY 1";

/// The application's tables (migration bookkeeping aside).
pub async fn tables(db: &Db) -> Result<Vec<String>, StoreError> {
    let sql = match db.backend() {
        Backend::Sqlite => SQLITE_TABLES,
        Backend::Postgres => PG_TABLES,
    };
    let rows: Vec<(String,)> = db.all(sql, Args::new()).await?;
    Ok(rows.into_iter().map(|(t,)| t).collect())
}

/// Rows per table.
pub async fn row_counts(db: &Db) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut out = BTreeMap::new();
    for t in tables(db).await? {
        let n = db.int(&format!("SELECT COUNT(*) FROM \"{t}\""), Args::new()).await?;
        out.insert(t, n);
    }
    Ok(out)
}

fn sha256_of(file: &Path) -> Result<(String, u64), StoreError> {
    use std::io::Read;
    let mut f = std::fs::File::open(file).map_err(|e| internal(&format!("{}", file.display()), e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(|e| internal("reading the copy", e))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex::encode(h.finalize()), n))
}

fn write_manifest(file: &Path, m: &Manifest) -> Result<(), StoreError> {
    let json = serde_json::to_string_pretty(m).map_err(|e| internal("manifest", e))?;
    let path = manifest_path(file);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).map_err(|e| internal(&format!("{}", tmp.display()), e))?;
    std::fs::rename(&tmp, &path).map_err(|e| internal(&format!("{}", path.display()), e))
}

/// Read and check a backup's manifest (present, parseable, checksum right).
pub fn read_manifest(file: &Path) -> Result<Manifest, StoreError> {
    let path = manifest_path(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| internal(&format!("清单文件 {} 无法读取（备份须与其 .json 清单放在一起）", path.display()), e))?;
    let m: Manifest = serde_json::from_str(&text).map_err(|e| internal("清单文件格式不对", e))?;
    let (sha, bytes) = sha256_of(file)?;
    if sha != m.sha256 || bytes != m.bytes {
        return Err(StoreError::Internal(format!(
            "备份文件 {} 与清单不符（校验和不同）：文件已损坏或不完整",
            file.display()
        )));
    }
    Ok(m)
}

/// `pg_dump` / `pg_restore` on the path, or a message saying what to install.
fn pg_tool(name: &str) -> Result<PathBuf, StoreError> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(name)).find(|p| p.is_file()));
    found.ok_or_else(|| {
        StoreError::Internal(format!(
            "找不到 {name}：PostgreSQL 的备份与恢复要用它。请安装 PostgreSQL 客户端（Debian/Ubuntu：apt-get install postgresql-client，版本不低于服务器）"
        ))
    })
}

fn run_tool(cmd: &mut std::process::Command, what: &str) -> Result<(), StoreError> {
    let out = cmd.output().map_err(|e| internal(what, e))?;
    if !out.status.success() {
        return Err(StoreError::Internal(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(())
}

/// Take a consistent copy of the database `db` (reached at `url`) into
/// `out`, with its manifest beside it. `out` must not exist; the copy is
/// written under a temporary name and appears whole or not at all.
pub async fn backup(db: &Db, url: &str, out: &Path) -> Result<Manifest, StoreError> {
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    let m = copy_into(db, url, &partial).await;
    let m = match m {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    if out.exists() {
        let _ = std::fs::remove_file(&partial);
        return Err(StoreError::Internal(format!("{} 已存在：请换一个文件名（备份不覆盖已有文件）", out.display())));
    }
    std::fs::rename(&partial, out).map_err(|e| internal(&format!("{}", out.display()), e))?;
    write_manifest(out, &m)?;
    Ok(m)
}

/// The copy itself, into `out` (a temporary name), and its manifest's content.
async fn copy_into(db: &Db, url: &str, out: &Path) -> Result<Manifest, StoreError> {
    if out.exists() {
        return Err(StoreError::Internal(format!("{} 已存在：请换一个文件名（备份不覆盖已有文件）", out.display())));
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| internal(&format!("{}", dir.display()), e))?;
    }
    let (tables, schema_version) = match db {
        Db::Sqlite(pool) => {
            // VACUUM INTO reads one snapshot and writes it as a new file; the
            // counts and the schema version are read from the copy itself.
            let target = out.to_str().ok_or_else(|| internal("path", "not UTF-8"))?.replace('\'', "''");
            let mut conn = pool.read.acquire().await?;
            sqlx::query(&format!("VACUUM INTO '{target}'")).execute(&mut *conn).await?;
            drop(conn);
            // Read the copy read-only on a connection of its own: nothing
            // (no journal mode, no statistics) may change it after the copy.
            let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(out).read_only(true);
            let mut copy = sqlx::ConnectOptions::connect(&opts).await?;
            let names: Vec<(String,)> = sqlx::query_as(SQLITE_TABLES).fetch_all(&mut copy).await?;
            let mut counts = BTreeMap::new();
            for (t,) in names {
                let (n,): (i64,) =
                    sqlx::query_as(&format!("SELECT COUNT(*) FROM \"{t}\"")).fetch_one(&mut copy).await?;
                counts.insert(t, n);
            }
            let (v,): (i64,) =
                sqlx::query_as("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM _sqlx_migrations WHERE success")
                    .fetch_one(&mut copy)
                    .await?;
            sqlx::Connection::close(copy).await?;
            (counts, v)
        }
        Db::Postgres(pool) => {
            let pg_dump = pg_tool("pg_dump")?;
            let mut tx = pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
            let (snapshot,): (String,) = sqlx::query_as("SELECT pg_export_snapshot()").fetch_one(&mut *tx).await?;
            let names: Vec<(String,)> = sqlx::query_as(PG_TABLES).fetch_all(&mut *tx).await?;
            let mut counts = BTreeMap::new();
            for (t,) in names {
                let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM \"{t}\"")).fetch_one(&mut *tx).await?;
                counts.insert(t, n);
            }
            let (v,): (i64,) =
                sqlx::query_as("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM _sqlx_migrations WHERE success")
                    .fetch_one(&mut *tx)
                    .await?;
            // pg_dump reads the same snapshot while the transaction holds it.
            let url = url.to_string();
            let out_path = out.to_path_buf();
            tokio::task::spawn_blocking(move || {
                run_tool(
                    std::process::Command::new(pg_dump)
                        .arg("--format=custom")
                        .arg(format!("--snapshot={snapshot}"))
                        .arg("--no-owner")
                        .arg("--file")
                        .arg(&out_path)
                        .arg(&url),
                    "pg_dump",
                )
            })
            .await
            .map_err(|e| internal("pg_dump", e))??;
            tx.commit().await?;
            (counts, v)
        }
    };
    let (sha256, bytes) = sha256_of(out)?;
    let m = Manifest {
        backend: match db.backend() {
            Backend::Sqlite => "sqlite".into(),
            Backend::Postgres => "postgres".into(),
        },
        schema_version,
        tables,
        sha256,
        bytes,
        taken_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        redcell_version: env!("CARGO_PKG_VERSION").into(),
    };
    Ok(m)
}

/// Restore the backup `file` into the empty database at `url` (a SQLite
/// file that does not exist yet, or a PostgreSQL database without tables).
/// Answers the manifest; the restored row counts equal it.
pub async fn restore(file: &Path, url: &str) -> Result<Manifest, StoreError> {
    let m = read_manifest(file)?;
    let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    if m.backend != expected {
        return Err(StoreError::Internal(format!(
            "这是 {} 的备份，不能恢复到 {expected} 数据库（可先恢复到同类数据库，再用花名册导出导入迁移）",
            m.backend
        )));
    }
    let newest = program_schema_version(backend);
    if m.schema_version > newest {
        return Err(StoreError::Internal(format!(
            "备份的数据结构版本 {} 比本程序支持的 {newest} 新：请用不低于备份时版本（{}）的 redcell 恢复",
            m.schema_version, m.redcell_version
        )));
    }
    match backend {
        Backend::Sqlite => {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            let path = Path::new(path.split('?').next().unwrap_or(path));
            if path.exists() && std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(true) {
                return Err(StoreError::Internal(format!(
                    "{} 已存在：只恢复到新的空数据库（请指定一个不存在的文件，或先把旧文件移走）",
                    path.display()
                )));
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| internal(&format!("{}", dir.display()), e))?;
            }
            let tmp = path.with_extension("restoring");
            std::fs::copy(file, &tmp).map_err(|e| internal("copying the backup", e))?;
            std::fs::rename(&tmp, path).map_err(|e| internal("moving the restored file into place", e))?;
        }
        Backend::Postgres => {
            let db = Db::connect(url).await?;
            let existing = tables(&db).await?;
            let has_migrations: i64 =
                db.int("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'", Args::new()).await?;
            db.close().await;
            if !existing.is_empty() || has_migrations > 0 {
                return Err(StoreError::Internal(
                    "目标数据库不是空的：只恢复到新建的空数据库（CREATE DATABASE …）".into(),
                ));
            }
            let pg_restore = pg_tool("pg_restore")?;
            let (url, file) = (url.to_string(), file.to_path_buf());
            tokio::task::spawn_blocking(move || {
                run_tool(
                    std::process::Command::new(pg_restore)
                        .arg("--no-owner")
                        .arg("--exit-on-error")
                        .arg("--single-transaction")
                        .arg("--dbname")
                        .arg(&url)
                        .arg(&file),
                    "pg_restore",
                )
            })
            .await
            .map_err(|e| internal("pg_restore", e))??;
        }
    }
    let db = Db::connect(url).await?;
    let counts = row_counts(&db).await?;
    db.close().await;
    if counts != m.tables {
        let diff: Vec<String> = m
            .tables
            .iter()
            .filter(|(t, n)| counts.get(*t) != Some(n))
            .map(|(t, n)| format!("{t}: 备份 {n}，恢复后 {}", counts.get(t).copied().unwrap_or(0)))
            .collect();
        return Err(StoreError::Internal(format!("恢复后的行数与清单不符：{}", diff.join("；"))));
    }
    Ok(m)
}

/// What an integrity check found: nothing when the database is sound.
pub async fn check(db: &Db, quick: bool) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    match db.backend() {
        Backend::Sqlite => {
            let sql = if quick { "PRAGMA quick_check" } else { "PRAGMA integrity_check" };
            // A file damaged badly enough fails the check itself: that is a finding too.
            match db.all::<(String,)>(sql, Args::new()).await {
                Ok(rows) => problems.extend(rows.into_iter().map(|(r,)| r).filter(|r| r != "ok")),
                Err(e) => problems.push(e.to_string()),
            }
            if !quick && problems.is_empty() {
                let fk: Vec<(String, Option<i64>, String, i64)> =
                    db.all("PRAGMA foreign_key_check", Args::new()).await?;
                problems.extend(
                    fk.into_iter()
                        .map(|(t, row, parent, _)| format!("{t} 第 {} 行引用的 {parent} 不存在", row.unwrap_or(0))),
                );
            }
        }
        Backend::Postgres => {
            // PostgreSQL enforces references itself; what can go wrong is a
            // constraint left NOT VALID, or an index marked invalid by a
            // failed concurrent build.
            let bad: Vec<(String,)> = db
                .all(
                    "SELECT conname::TEXT FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
                     WHERE n.nspname = 'public' AND NOT c.convalidated",
                    Args::new(),
                )
                .await?;
            problems.extend(bad.into_iter().map(|(c,)| format!("约束 {c} 未经验证")));
            let idx: Vec<(String,)> = db
                .all(
                    "SELECT c.relname::TEXT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND NOT i.indisvalid",
                    Args::new(),
                )
                .await?;
            problems.extend(idx.into_iter().map(|(c,)| format!("索引 {c} 无效")));
        }
    }
    Ok(problems)
}

/// How many scheduled backups `serve` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// The newest backup of each of the last `daily` days that have one.
    pub daily: usize,
    /// The newest backup of each of the last `weekly` ISO weeks that have one.
    pub weekly: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { daily: 7, weekly: 4 }
    }
}

/// The file name of a scheduled backup taken at `at`.
pub fn scheduled_name(backend: Backend, at: chrono::DateTime<chrono::Utc>) -> String {
    let ext = match backend {
        Backend::Sqlite => "db",
        Backend::Postgres => "dump",
    };
    format!("redcell-{}.{ext}", at.format("%Y%m%d-%H%M%S"))
}

/// When a scheduled backup was taken, from its name.
fn taken_at(name: &str) -> Option<chrono::NaiveDateTime> {
    let stem = name.strip_prefix("redcell-")?.split('.').next()?;
    chrono::NaiveDateTime::parse_from_str(stem, "%Y%m%d-%H%M%S").ok()
}

/// Which of the scheduled backups `names` to delete under `keep` (names that
/// are not scheduled backups are never touched).
pub fn to_prune(names: &[String], keep: Retention) -> Vec<String> {
    use chrono::Datelike;
    let mut dated: Vec<(chrono::NaiveDateTime, &String)> =
        names.iter().filter_map(|n| taken_at(n).map(|t| (t, n))).collect();
    dated.sort_by_key(|d| std::cmp::Reverse(d.0));
    let mut kept = std::collections::BTreeSet::new();
    let mut days = Vec::new();
    let mut weeks = Vec::new();
    for (t, n) in &dated {
        let day = t.date();
        if !days.contains(&day) && days.len() < keep.daily {
            days.push(day);
            kept.insert(*n);
        }
        let week = (t.iso_week().year(), t.iso_week().week());
        if !weeks.contains(&week) && weeks.len() < keep.weekly {
            weeks.push(week);
            kept.insert(*n);
        }
    }
    dated.into_iter().filter(|(_, n)| !kept.contains(n)).map(|(_, n)| n.clone()).collect()
}

/// Take a scheduled backup into `dir` if the newest one there is a day old
/// or missing, then prune by `keep`. Answers the new backup's path, if any.
pub async fn scheduled(db: &Db, url: &str, dir: &Path, keep: Retention) -> Result<Option<PathBuf>, StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| internal(&format!("{}", dir.display()), e))?;
    let names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| internal(&format!("{}", dir.display()), e))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| taken_at(n).is_some() && !n.ends_with(".json") && !n.ends_with(".partial"))
        .collect();
    let now = chrono::Utc::now();
    let newest = names.iter().filter_map(|n| taken_at(n)).max();
    let mut made = None;
    if newest.is_none_or(|t| now.naive_utc() - t >= chrono::Duration::hours(24)) {
        let out = dir.join(scheduled_name(db.backend(), now));
        backup(db, url, &out).await?;
        made = Some(out);
    }
    let names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| internal(&format!("{}", dir.display()), e))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| taken_at(n).is_some() && !n.ends_with(".json") && !n.ends_with(".partial"))
        .collect();
    for n in to_prune(&names, keep) {
        let file = dir.join(&n);
        let _ = std::fs::remove_file(manifest_path(&file));
        std::fs::remove_file(&file).map_err(|e| internal(&format!("{}", file.display()), e))?;
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_keeps_the_newest_of_each_day_and_week() {
        // Two backups a day for 60 days, from 2026-01-01.
        let mut names = Vec::new();
        let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(2, 0, 0).unwrap();
        for d in 0..60 {
            for h in [0, 12] {
                let t = start + chrono::Duration::days(d) + chrono::Duration::hours(h);
                names.push(format!("redcell-{}.db", t.format("%Y%m%d-%H%M%S")));
            }
        }
        names.push("notes.txt".into());
        let gone = to_prune(&names, Retention::default());
        let kept: Vec<&String> = names.iter().filter(|n| !gone.contains(n) && taken_at(n).is_some()).collect();
        // The last 7 days' newest, plus the newest of the 4 newest weeks
        // (the current week's newest is already among the days).
        let days: std::collections::BTreeSet<_> = kept.iter().map(|n| taken_at(n).unwrap().date()).collect();
        assert!(kept.len() <= 7 + 4, "{kept:?}");
        assert!(kept.len() >= 7, "{kept:?}");
        assert_eq!(days.len(), kept.len(), "one per day at most: {kept:?}");
        assert!(kept.iter().all(|n| n.ends_with("140000.db")), "the newer of each day: {kept:?}");
        assert!(kept.contains(&&"redcell-20260301-140000.db".to_string()), "{kept:?}");
        assert!(!gone.contains(&"notes.txt".to_string()));
        // In a short history only the older backup of each day goes.
        assert_eq!(to_prune(&names[..4], Retention::default()), vec![names[2].clone(), names[0].clone()]);
    }
}
