//! One `Db` over typed SQLite and PostgreSQL pools.
//!
//! The same SQL text runs on both (`$1` placeholders work in SQLite). Arguments
//! are collected as [`Arg`] values so that dynamic queries (filters, the scope
//! fragment) are written once.

pub mod bulk;

use crate::error::StoreError;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Arguments, FromRow, PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// A row type readable from both backends.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    I64(i64),
    OptI64(Option<i64>),
    F64(f64),
    OptF64(Option<f64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
    Date(NaiveDate),
    OptDate(Option<NaiveDate>),
    Ts(DateTime<Utc>),
    OptTs(Option<DateTime<Utc>>),
    Bytes(Vec<u8>),
}

macro_rules! arg_from {
    ($($t:ty => $v:ident),+ $(,)?) => { $(impl From<$t> for Arg { fn from(x: $t) -> Self { Arg::$v(x) } })+ };
}
arg_from!(i64 => I64, Option<i64> => OptI64, f64 => F64, Option<f64> => OptF64, String => Text,
    Option<String> => OptText, bool => Bool, NaiveDate => Date, Option<NaiveDate> => OptDate,
    DateTime<Utc> => Ts, Option<DateTime<Utc>> => OptTs);
impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}
impl From<i32> for Arg {
    fn from(x: i32) -> Self {
        Arg::I64(x.into())
    }
}

macro_rules! arg_from_ids {
    ($($t:ident),+ $(,)?) => {$(
        impl From<redcell_domain::ids::$t> for Arg {
            fn from(x: redcell_domain::ids::$t) -> Self {
                Arg::I64(x.get())
            }
        }
        impl From<Option<redcell_domain::ids::$t>> for Arg {
            fn from(x: Option<redcell_domain::ids::$t>) -> Self {
                Arg::OptI64(x.map(|v| v.get()))
            }
        }
    )+};
}
redcell_domain::with_ids!(arg_from_ids);

/// Arguments of one statement; `push` returns the placeholder to put in the SQL.
#[derive(Debug, Default, Clone)]
pub struct Args(pub Vec<Arg>);

impl Args {
    pub fn new() -> Self {
        Args(Vec::new())
    }
    pub fn push(&mut self, a: impl Into<Arg>) -> String {
        self.0.push(a.into());
        format!("${}", self.0.len())
    }
}

/// Build `Args` from a list of values: `args![a, b, c]`.
#[macro_export]
macro_rules! args {
    ($($x:expr),* $(,)?) => { $crate::db::Args(vec![$($crate::db::Arg::from($x)),*]) };
}

/// Add every value to a backend's argument buffer (the same code for both).
macro_rules! bind_all {
    ($buf:expr, $args:expr) => {{
        let mut buf = $buf;
        for x in $args.0 {
            let r = match x {
                Arg::I64(v) => buf.add(v),
                Arg::OptI64(v) => buf.add(v),
                Arg::F64(v) => buf.add(v),
                Arg::OptF64(v) => buf.add(v),
                Arg::Text(v) => buf.add(v),
                Arg::OptText(v) => buf.add(v),
                Arg::Bool(v) => buf.add(v),
                Arg::Date(v) => buf.add(v),
                Arg::OptDate(v) => buf.add(v),
                Arg::Ts(v) => buf.add(v),
                Arg::OptTs(v) => buf.add(v),
                Arg::Bytes(v) => buf.add(v),
            };
            r.map_err(|e| StoreError::Internal(format!("bind: {e}")))?;
        }
        Ok(buf)
    }};
}

fn sqlite_args(args: Args) -> Result<SqliteArguments<'static>, StoreError> {
    bind_all!(SqliteArguments::default(), Args(args.0.into_iter().map(sqlite_form).collect::<Vec<_>>()))
}

/// A value as SQLite stores it: dates and timestamps become the text sqlx
/// would write for them (`%F`; RFC 3339 with `AutoSi` seconds), the date
/// without going through chrono's format machinery, which is the larger part
/// of binding a row in bulk inserts. Other values are unchanged.
pub(crate) fn sqlite_form(a: Arg) -> Arg {
    fn date(d: NaiveDate) -> String {
        use chrono::Datelike;
        let (y, m, day) = (d.year(), d.month(), d.day());
        if !(0..=9999).contains(&y) {
            return d.format("%F").to_string();
        }
        let (y, digit) = (y as u32, |v: u32| b'0' + (v % 10) as u8);
        let b = [
            digit(y / 1000),
            digit(y / 100),
            digit(y / 10),
            digit(y),
            b'-',
            digit(m / 10),
            digit(m),
            b'-',
            digit(day / 10),
            digit(day),
        ];
        b.iter().map(|&c| char::from(c)).collect()
    }
    let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
    match a {
        Arg::Date(d) => Arg::Text(date(d)),
        Arg::OptDate(d) => Arg::OptText(d.map(date)),
        Arg::Ts(t) => Arg::Text(ts(t)),
        Arg::OptTs(t) => Arg::OptText(t.map(ts)),
        other => other,
    }
}

fn pg_args(args: Args) -> Result<PgArguments, StoreError> {
    bind_all!(PgArguments::default(), args)
}

/// A wait between the rows of [`Db::each_paced`]: `None` to go on at once,
/// or a future to await first (an error ends the query).
pub trait Pace: Sync {
    fn wait(&self) -> Option<Wait<'_>>;
}

/// What [`Pace::wait`] answers when it waits.
pub type Wait<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + 'a>>;

/// Never waits.
pub struct NoPace;

impl Pace for NoPace {
    fn wait(&self) -> Option<Wait<'_>> {
        None
    }
}

/// Try one PostgreSQL connection (5 s at most) and say in words what stops
/// it: the server not listening, a name that does not resolve, a password
/// refused, a database that does not exist.
pub async fn probe_postgres(url: &str) -> Result<(), String> {
    use sqlx::ConnectOptions;
    let opts = PgConnectOptions::from_str(url).map_err(|e| format!("地址格式不对：{e}"))?;
    let attempt = tokio::time::timeout(Duration::from_secs(5), opts.connect()).await;
    let err = match attempt {
        Err(_) => return Err("5 秒内没有应答：地址或端口是否正确？防火墙是否放行？".into()),
        Ok(Ok(conn)) => {
            let _ = sqlx::Connection::close(conn).await;
            return Ok(());
        }
        Ok(Err(e)) => e,
    };
    let text = err.to_string();
    Err(match &err {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "连接被拒绝：PostgreSQL 服务是否在运行？地址和端口是否正确？".into()
        }
        sqlx::Error::Io(_) if text.contains("lookup") || text.contains("resolve") => {
            format!("主机名无法解析（{text}）")
        }
        sqlx::Error::Database(d) => match d.code().as_deref() {
            Some("28P01") | Some("28000") => format!("用户名或密码被拒绝（{}）", d.message()),
            Some("3D000") => format!("数据库不存在：请先创建（CREATE DATABASE …）（{}）", d.message()),
            _ => d.message().to_string(),
        },
        _ => text,
    })
}

/// Which backend a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database: typed pools for one of the two backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(Lite),
    Postgres(PgPool),
}

/// SQLite as a server uses it: one writer connection beside a pool of
/// readers. SQLite lets one writer in at a time anyway; with every connection
/// free to write, writers waited on the file lock in busy loops behind as many
/// readers as the pool held (48 readers pushed writes down to 23/s, p99 7 s).
/// Here writes queue fairly for the one writer, and reads (WAL: they never
/// block the writer nor wait for it) have connections of their own.
///
/// What goes where: transactions ([`Db::begin`]) and statements run with
/// [`Db::exec`] on the writer; queries that return rows on the readers.
#[derive(Clone, Debug)]
pub struct Lite {
    pub read: SqlitePool,
    pub write: SqlitePool,
}

impl Lite {
    /// One pool for both (a test that wants a single connection).
    pub fn one(pool: SqlitePool) -> Lite {
        Lite { read: pool.clone(), write: pool }
    }
}

/// A write transaction. On SQLite it is opened with `BEGIN IMMEDIATE` so that a
/// read-then-write never fails to upgrade its lock.
pub enum Tx {
    Sqlite(SqliteTx),
    Postgres(Transaction<'static, Postgres>),
}

/// A SQLite write transaction on a connection of the pool, run with plain
/// `BEGIN IMMEDIATE` / `COMMIT` / `ROLLBACK` statements.
///
/// Not sqlx's own transaction: when a statement or the commit failed (a full
/// disk), sqlx returned the connection to the pool with a transaction depth
/// it never reset, and every later `begin` on it failed until a restart.
/// Here the rule is simple: a connection goes back to the pool only after a
/// `COMMIT` or `ROLLBACK` that succeeded; otherwise it is closed (closing
/// rolls back whatever was open) and the pool opens a fresh one.
pub struct SqliteTx {
    conn: Option<sqlx::pool::PoolConnection<Sqlite>>,
}

impl SqliteTx {
    async fn begin(pool: &SqlitePool) -> Result<SqliteTx, StoreError> {
        let mut conn = pool.acquire().await?;
        if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            // Whatever state a failed BEGIN left, this connection is not reused.
            conn.close_on_drop();
            return Err(e.into());
        }
        Ok(SqliteTx { conn: Some(conn) })
    }

    async fn finish(mut self, statement: &'static str) -> Result<(), StoreError> {
        let Some(mut conn) = self.conn.take() else {
            return Ok(());
        };
        match sqlx::query(statement).execute(&mut *conn).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // A failed COMMIT (disk full, I/O error): roll back if possible,
                // and never hand the connection out again either way.
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                conn.close_on_drop();
                Err(e.into())
            }
        }
    }

    fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        self.conn.as_mut().expect("an open transaction has its connection")
    }
}

impl Drop for SqliteTx {
    /// Abandoned (an error returned before commit, or the task cancelled): roll
    /// back on a task of its own and return the connection only if that
    /// worked; without a runtime, close it.
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
                        conn.close_on_drop();
                    }
                });
            }
            Err(_) => conn.close_on_drop(),
        }
    }
}

impl Db {
    /// Connect to `sqlite://PATH` (created if missing) or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            // synchronous=FULL: an acknowledged write survives power loss, not only a
            // process crash. The cost (one extra fsync of the WAL per commit) is small
            // next to the value of a roster nobody has to re-enter.
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("cache_size", "-65536")
                .pragma("temp_store", "memory");
            // The writer first: it creates the file and sets WAL mode.
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts.clone())
                .await?;
            let read = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await?;
            Ok(Db::Sqlite(Lite { read, write }))
        } else {
            Err(StoreError::Internal(format!("unsupported database URL (use sqlite://PATH or postgres://...): {url}")))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Apply the migrations of this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(&p.write).await?,
            Db::Postgres(p) => sqlx::migrate!("migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    /// Begin a write transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(SqliteTx::begin(&p.write).await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    pub async fn all<T: Row>(&self, sql: &str, args: Args) -> Result<Vec<T>, StoreError> {
        Ok(match self {
            Db::Sqlite(p) => sqlx::query_as_with(sql, sqlite_args(args)?).fetch_all(&p.read).await?,
            Db::Postgres(p) => sqlx::query_as_with(sql, pg_args(args)?).fetch_all(p).await?,
        })
    }

    pub async fn opt<T: Row>(&self, sql: &str, args: Args) -> Result<Option<T>, StoreError> {
        Ok(match self {
            Db::Sqlite(p) => sqlx::query_as_with(sql, sqlite_args(args)?).fetch_optional(&p.read).await?,
            Db::Postgres(p) => sqlx::query_as_with(sql, pg_args(args)?).fetch_optional(p).await?,
        })
    }

    pub async fn one<T: Row>(&self, sql: &str, args: Args) -> Result<T, StoreError> {
        self.opt(sql, args).await?.ok_or(StoreError::NotFound)
    }

    /// The single `BIGINT` a query returns (counts, ids).
    pub async fn int(&self, sql: &str, args: Args) -> Result<i64, StoreError> {
        let (v,): (i64,) = self.one(sql, args).await?;
        Ok(v)
    }

    /// Run a query and hand each row to `f` as it arrives (one statement, one
    /// snapshot, rows never collected): for exports of lists of any length.
    /// Answers the number of rows.
    pub async fn each<T: Row>(
        &self,
        sql: &str,
        args: Args,
        f: impl FnMut(T) -> Result<(), StoreError> + Send,
    ) -> Result<u64, StoreError> {
        self.each_paced(sql, args, f, &NoPace).await
    }

    /// [`Db::each`], with `pace` asked after every row whether to wait (e.g.
    /// until a download's reader has taken the bytes written so far), so that
    /// a slow reader holds the query back instead of the rows piling up.
    pub async fn each_paced<T: Row>(
        &self,
        sql: &str,
        args: Args,
        mut f: impl FnMut(T) -> Result<(), StoreError> + Send,
        pace: &dyn Pace,
    ) -> Result<u64, StoreError> {
        use futures_util::StreamExt;
        let mut n = 0;
        match self {
            Db::Sqlite(p) => {
                let mut rows = sqlx::query_as_with::<_, T, _>(sql, sqlite_args(args)?).fetch(&p.read);
                while let Some(row) = rows.next().await {
                    f(row?)?;
                    n += 1;
                    if let Some(wait) = pace.wait() {
                        wait.await?;
                    }
                }
            }
            Db::Postgres(p) => {
                let mut rows = sqlx::query_as_with::<_, T, _>(sql, pg_args(args)?).fetch(p);
                while let Some(row) = rows.next().await {
                    f(row?)?;
                    n += 1;
                    if let Some(wait) = pace.wait() {
                        wait.await?;
                    }
                }
            }
        }
        Ok(n)
    }

    pub async fn exec(&self, sql: &str, args: Args) -> Result<u64, StoreError> {
        Ok(match self {
            Db::Sqlite(p) => sqlx::query_with(sql, sqlite_args(args)?).execute(&p.write).await?.rows_affected(),
            Db::Postgres(p) => sqlx::query_with(sql, pg_args(args)?).execute(p).await?.rows_affected(),
        })
    }

    /// Is the database reachable?
    pub async fn ping(&self) -> bool {
        self.int("SELECT CAST(1 AS BIGINT)", Args::new()).await.is_ok()
    }

    /// Connections open and, of those, idle.
    pub fn pool_stats(&self) -> (u32, usize) {
        match self {
            Db::Sqlite(p) => (p.read.size() + p.write.size(), p.read.num_idle() + p.write.num_idle()),
            Db::Postgres(p) => (p.size(), p.num_idle()),
        }
    }

    /// Keep the query planner's statistics fresh: `PRAGMA optimize` on
    /// SQLite (cheap: it analyses only tables whose statistics went stale),
    /// `ANALYZE` after bulk loads on PostgreSQL (autovacuum does it otherwise).
    pub async fn optimize(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(_) => {
                self.exec("PRAGMA optimize", Args::new()).await?;
            }
            Db::Postgres(_) => {}
        }
        Ok(())
    }

    /// Gather statistics now, after a bulk load (an import, the demo).
    pub async fn analyze(&self) -> Result<(), StoreError> {
        self.exec("ANALYZE", Args::new()).await?;
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => {
                // Statistics a long-running process gathered are kept for the next.
                let _ = self.exec("PRAGMA optimize", Args::new()).await;
                p.read.close().await;
                p.write.close().await
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.finish("COMMIT").await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn all<T: Row>(&mut self, sql: &str, args: Args) -> Result<Vec<T>, StoreError> {
        Ok(match self {
            Tx::Sqlite(t) => sqlx::query_as_with(sql, sqlite_args(args)?).fetch_all(t.conn()).await?,
            Tx::Postgres(t) => sqlx::query_as_with(sql, pg_args(args)?).fetch_all(&mut **t).await?,
        })
    }

    pub async fn opt<T: Row>(&mut self, sql: &str, args: Args) -> Result<Option<T>, StoreError> {
        Ok(match self {
            Tx::Sqlite(t) => sqlx::query_as_with(sql, sqlite_args(args)?).fetch_optional(t.conn()).await?,
            Tx::Postgres(t) => sqlx::query_as_with(sql, pg_args(args)?).fetch_optional(&mut **t).await?,
        })
    }

    pub async fn one<T: Row>(&mut self, sql: &str, args: Args) -> Result<T, StoreError> {
        self.opt(sql, args).await?.ok_or(StoreError::NotFound)
    }

    pub async fn int(&mut self, sql: &str, args: Args) -> Result<i64, StoreError> {
        let (v,): (i64,) = self.one(sql, args).await?;
        Ok(v)
    }

    pub async fn exec(&mut self, sql: &str, args: Args) -> Result<u64, StoreError> {
        Ok(match self {
            Tx::Sqlite(t) => sqlx::query_with(sql, sqlite_args(args)?).execute(t.conn()).await?.rows_affected(),
            Tx::Postgres(t) => sqlx::query_with(sql, pg_args(args)?).execute(&mut **t).await?.rows_affected(),
        })
    }
}

/// Where a query can run: the pool (each statement on any connection) or a
/// transaction. Scope checks and other helpers take `&mut impl Conn`, so one
/// function serves a read on the pool and a check inside a write.
pub trait Conn: Send {
    fn all<T: Row>(&mut self, sql: &str, args: Args) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send;
    fn opt<T: Row>(&mut self, sql: &str, args: Args) -> impl Future<Output = Result<Option<T>, StoreError>> + Send;
    fn exec(&mut self, sql: &str, args: Args) -> impl Future<Output = Result<u64, StoreError>> + Send;
    fn one<T: Row>(&mut self, sql: &str, args: Args) -> impl Future<Output = Result<T, StoreError>> + Send {
        async move { self.opt(sql, args).await?.ok_or(StoreError::NotFound) }
    }
    fn int(&mut self, sql: &str, args: Args) -> impl Future<Output = Result<i64, StoreError>> + Send {
        async move {
            let (v,): (i64,) = self.one(sql, args).await?;
            Ok(v)
        }
    }
}

impl Conn for Db {
    async fn all<T: Row>(&mut self, sql: &str, args: Args) -> Result<Vec<T>, StoreError> {
        Db::all(self, sql, args).await
    }
    async fn opt<T: Row>(&mut self, sql: &str, args: Args) -> Result<Option<T>, StoreError> {
        Db::opt(self, sql, args).await
    }
    async fn exec(&mut self, sql: &str, args: Args) -> Result<u64, StoreError> {
        Db::exec(self, sql, args).await
    }
}

impl Conn for Tx {
    async fn all<T: Row>(&mut self, sql: &str, args: Args) -> Result<Vec<T>, StoreError> {
        Tx::all(self, sql, args).await
    }
    async fn opt<T: Row>(&mut self, sql: &str, args: Args) -> Result<Option<T>, StoreError> {
        Tx::opt(self, sql, args).await
    }
    async fn exec(&mut self, sql: &str, args: Args) -> Result<u64, StoreError> {
        Tx::exec(self, sql, args).await
    }
}

impl Db {
    /// This pool as a [`Conn`] (a cheap handle: the pool is shared).
    pub fn conn(&self) -> Db {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_form_writes_what_sqlx_writes() {
        let mut d = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default();
        let end = NaiveDate::from_ymd_opt(2200, 12, 31).unwrap_or_default();
        while d <= end {
            assert_eq!(sqlite_form(Arg::Date(d)), Arg::Text(d.format("%F").to_string()));
            d += chrono::Duration::days(13);
        }
        let far = NaiveDate::from_ymd_opt(-44, 3, 15).unwrap_or_default();
        assert_eq!(sqlite_form(Arg::OptDate(Some(far))), Arg::OptText(Some(far.format("%F").to_string())));
        let t = Utc::now();
        assert_eq!(sqlite_form(Arg::Ts(t)), Arg::Text(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)));
        assert_eq!(sqlite_form(Arg::I64(7)), Arg::I64(7));
    }
}
