//! `redcell`: the command line and the server in one binary.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use redcell_domain::Role;
use redcell_store::Db;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;

/// mimalloc instead of the system allocator: a bulk import allocates and
/// frees tens of millions of small strings across two threads (the parser
/// and SQLite's), where glibc's allocator spent about a third of the CPU
/// time (1,000,000-row CSV: 27.6 s user with glibc, 14.6 s with mimalloc).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod sqlite_alloc;

/// redcell — the grassroots party-building network: grids, red cells, duties.
#[derive(Parser)]
#[command(name = "redcell", version, about)]
struct Cli {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB.
    /// Default: a SQLite file under ./redcell-data/.
    #[arg(long, global = true, env = "REDCELL_DATABASE_URL")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the pages and the API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "REDCELL_BIND")]
        bind: SocketAddr,
        /// Mark cookies Secure (when served behind HTTPS).
        #[arg(long, env = "REDCELL_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Behind a reverse proxy: take client addresses (rate limits, audit)
        /// from the last X-Forwarded-For entry.
        #[arg(long, env = "REDCELL_TRUST_FORWARDED")]
        trust_forwarded: bool,
        /// On SIGTERM or Ctrl-C: seconds to let requests in flight (and an
        /// import job in hand) finish before they are cut.
        #[arg(long, default_value_t = 30, env = "REDCELL_SHUTDOWN_TIMEOUT", value_name = "SECONDS")]
        shutdown_timeout: u64,
        /// Take a backup into this directory once a day while serving (the
        /// first at start when none is a day old), keeping the newest of the
        /// last --backup-keep-daily days and --backup-keep-weekly weeks.
        #[arg(long, env = "REDCELL_BACKUP_DIR", value_name = "DIR")]
        backup_dir: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 7, env = "REDCELL_BACKUP_KEEP_DAILY")]
        backup_keep_daily: usize,
        #[arg(long, default_value_t = 4, env = "REDCELL_BACKUP_KEEP_WEEKLY")]
        backup_keep_weekly: usize,
    },
    /// Take a consistent backup while the server keeps running: FILE and its
    /// manifest FILE.json (schema version, rows per table, checksum).
    /// SQLite: VACUUM INTO; PostgreSQL: pg_dump (custom format) on one snapshot.
    Backup {
        /// The backup file to write (must not exist).
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
    },
    /// Restore a backup (FILE with FILE.json beside it) into an empty
    /// database: a SQLite file that does not exist yet, or a new PostgreSQL
    /// database. Refuses a backup from a newer schema; checks row counts.
    Restore {
        /// The backup file.
        file: std::path::PathBuf,
    },
    /// Check the database: SQLite integrity and references; PostgreSQL
    /// constraints and indexes left invalid. Exits non-zero on a problem.
    Check,
    /// Create a synthetic street district to try redcell with.
    Demo(DemoArgs),
    /// Apply database migrations.
    Migrate,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Export a list (orgs, grids, buildings, households, residents, members,
    /// cadres, units, search, users, audit, contacts) of an organisation's
    /// subtree to xlsx or CSV, masked unless --unmasked; audited.
    Export(ExportArgs),
    /// Import a roster (花名册): orgs, grids, households, members, cadres,
    /// contacts (nothing is written when any row has an error; errors are
    /// printed with row and column); list the import batches, undo one.
    Import(ImportArgs),
    /// Contact assignment plans (联系全覆盖): solve instance files, export one
    /// from the database, benchmark the solver.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// Duties (履职): an organisation's compliance table, the rule set as TOML.
    Duties {
        #[command(subcommand)]
        command: DutiesCommand,
    },
}

#[derive(Subcommand)]
enum DutiesCommand {
    /// Print the compliance table of an organisation's subtree.
    Check {
        /// Code of the organisation.
        #[arg(long)]
        org: String,
        /// The day to judge (YYYY-MM-DD); default: today in Asia/Shanghai.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// The tenant's duty rules as TOML (the same file as /duties/rules.toml).
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Write the rules to a TOML file.
    Export {
        #[arg(long)]
        out: std::path::PathBuf,
        /// Code of the tenant's top organisation (needed only with several tenants).
        #[arg(long)]
        org: Option<String>,
    },
    /// Replace the rules with a TOML file (refused whole if any rule is invalid; audited).
    Import {
        file: std::path::PathBuf,
        /// Code of the tenant's top organisation (needed only with several tenants).
        #[arg(long)]
        org: Option<String>,
    },
}

#[derive(Subcommand)]
enum PlanCommand {
    /// Solve an instance file and write the plan (no file is written on error).
    Solve {
        /// The instance (JSON, see shared/formats/plan-instance.md).
        #[arg(long)]
        instance: std::path::PathBuf,
        /// Where to write the plan (JSON).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Write the instance of an organisation's subtree, built from the database.
    ExportInstance {
        /// Code of the organisation.
        #[arg(long)]
        org: String,
        /// Where to write the instance (JSON).
        #[arg(long)]
        out: std::path::PathBuf,
        /// Metres added for giving a household another member than its current one.
        #[arg(long, default_value_t = redcell_domain::coverage::DEFAULT_MOVE_PENALTY)]
        move_penalty: i64,
    },
    /// Solve generated city instances of the given sizes and print a table.
    Bench {
        /// Household counts, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
        sizes: Vec<usize>,
        /// Seed of the generated cities.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Args)]
struct DemoArgs {
    /// Number of households to create.
    #[arg(long, default_value_t = 2000)]
    households: u64,
    /// Random seed: the same seed and size give the same district.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also create the account `admin` (system administrator) with this password.
    #[arg(long, env = "REDCELL_ADMIN_PASSWORD")]
    admin_password: Option<String>,
    /// Replace an existing demo district in this database.
    #[arg(long)]
    replace: bool,
}

#[derive(Args)]
struct ExportArgs {
    /// The list: orgs, grids, buildings, households, residents, members, cadres,
    /// units, search, users, audit, contacts, requests, exemptions, plans or posts.
    kind: String,
    /// Code of the organisation whose subtree is exported.
    #[arg(long)]
    org: String,
    /// xlsx or csv.
    #[arg(long, default_value = "xlsx")]
    format: String,
    /// For CSV: utf-8 (with a byte-order mark) or gb18030.
    #[arg(long, default_value = "utf-8")]
    encoding: String,
    /// A filter of the list, as in the API: `--filter grid_id=3 --filter q=王`.
    #[arg(long = "filter", value_name = "NAME=VALUE")]
    filters: Vec<String>,
    /// Write ID numbers and phones in the clear (recorded as such in the audit trail).
    #[arg(long)]
    unmasked: bool,
    /// The file to write (replaced only when the export succeeds).
    #[arg(long)]
    out: std::path::PathBuf,
}

/// `redcell import KIND FILE [...]` imports a file; `redcell import batches`
/// and `redcell import undo ID` work on the batches. No kind is named
/// `batches` or `undo` (see the test below), so the two forms never collide.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct ImportArgs {
    #[command(subcommand)]
    batch: Option<BatchCommand>,
    /// Kind: orgs, grids, households, members, cadres, contacts.
    #[arg(required = true)]
    kind: Option<String>,
    /// The file: .xlsx or .csv (UTF-8 or GBK).
    #[arg(required = true)]
    file: Option<std::path::PathBuf>,
    /// Import as a system administrator of this organisation's subtree
    /// (default: the first top-level organisation).
    #[arg(long)]
    org: Option<String>,
    /// Check only: print the counts, changes and errors, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the error sheet (the file's rows with an error column) here.
    #[arg(long)]
    errors_out: Option<std::path::PathBuf>,
    /// Largest file accepted, in MB.
    #[arg(long, default_value_t = 50)]
    max_mb: usize,
    /// Benchmark: instead of importing, write a generated households roster
    /// of this many residents to FILE (.csv or .xlsx) and the grids file it
    /// refers to beside it (FILE.grids.csv, under --org).
    #[arg(long, hide = true)]
    generate: Option<u64>,
}

#[derive(Subcommand)]
enum BatchCommand {
    /// List the import batches of the tenant, newest first (times in UTC+8):
    /// id, time, kind, file, rows, new/changed/unchanged, who, undone or not.
    Batches {
        /// An organisation of the tenant (default: the first top-level organisation).
        #[arg(long)]
        org: Option<String>,
        /// How many batches to list.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
    },
    /// Undo a batch as the import page does: remove the rows it created and
    /// restore the rows it changed. Refused (exit code 1, nothing changed)
    /// when already undone, when its rows changed since, when other records
    /// depend on them, or when it reaches outside the organisation's subtree.
    Undo {
        /// The batch id (as listed by `redcell import batches`).
        batch_id: i64,
        /// Undo as a system administrator of this organisation's subtree
        /// (default: the first top-level organisation).
        #[arg(long)]
        org: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add an account with a role on an organisation (reaching its subtree).
    Add {
        username: String,
        /// Role code: admin, auditor, org_admin, secretary, grid_worker, cadre, member, resident.
        #[arg(long)]
        role: String,
        /// Code of the organisation the role is granted on.
        #[arg(long)]
        org: String,
        /// Display name (defaults to the username).
        #[arg(long, default_value = "")]
        name: String,
        /// Read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Link an account to a cadre or a party member ("my duties", visits,
    /// reminders), or unlink it; audited.
    Link {
        username: String,
        /// Id of the cadre (shown on the cadre's page).
        #[arg(long, conflicts_with_all = ["member", "clear"])]
        cadre: Option<i64>,
        /// Id of the party member.
        #[arg(long, conflicts_with = "clear")]
        member: Option<i64>,
        /// Remove the link.
        #[arg(long)]
        clear: bool,
    },
}

const DEFAULT_DB: &str = "sqlite://redcell-data/redcell.db";

async fn open(url: Option<String>) -> Result<Db> {
    let url = url.unwrap_or_else(|| DEFAULT_DB.to_string());
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| {
                format!("无法创建数据目录 {}：请换一个可写的位置（--database sqlite://路径）", dir.display())
            })?;
        }
    }
    let db = match connect(&url).await {
        Ok(db) => db,
        Err(e) if is_damaged(&e) => bail!(
            "数据库文件已损坏，为免损坏扩大，拒绝写入：{}（{e:#}）。请用 redcell restore 从最近的备份恢复到新文件",
            redact(&url)
        ),
        Err(e) => return Err(e),
    };
    if db.backend() == redcell_store::db::Backend::Sqlite {
        // A damaged file is refused before anything is written into it.
        let problems = redcell_store::backup::check(&db, true).await.unwrap_or_else(|e| vec![e.to_string()]);
        if !problems.is_empty() {
            db.close().await;
            bail!(
                "数据库文件已损坏，为免损坏扩大，拒绝写入：{}（{}）。请用 redcell restore 从最近的备份恢复到新文件",
                redact(&url),
                problems.first().map(String::as_str).unwrap_or("")
            );
        }
    }
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}

/// `serve --backup-dir`: look every hour whether a day has passed since the
/// newest backup; take one and prune when it has.
async fn scheduled_backups(db: Db, url: String, dir: std::path::PathBuf, keep: redcell_store::backup::Retention) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match redcell_store::backup::scheduled(&db, &url, &dir, keep).await {
            Ok(Some(p)) => tracing::info!("backup taken: {}", p.display()),
            Ok(None) => {}
            Err(e) => tracing::error!("scheduled backup into {} failed: {e}", dir.display()),
        }
    }
}

/// Connect, explaining the usual failures in words an operator can act on
/// (each cause said once, at once: no pool timeout to wait for).
async fn connect(url: &str) -> Result<Db> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = std::path::Path::new(path.split('?').next().unwrap_or(path));
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        if !path.exists() {
            // SQLite's "unable to open database file" does not say why.
            let probe = dir.join(".redcell-write-test");
            if let Err(e) = std::fs::write(&probe, b"") {
                bail!(
                    "数据目录 {} 不可写（{e}）：请换一个可写的位置（--database sqlite://路径），或让运行 redcell 的用户有写权限",
                    dir.display()
                );
            }
            let _ = std::fs::remove_file(&probe);
        } else if std::fs::OpenOptions::new().read(true).write(true).open(path).is_err() {
            bail!(
                "数据库文件 {} 不可读写：请检查文件权限（运行 redcell 的用户须能读写它及其所在目录）",
                path.display()
            );
        }
    }
    if (url.starts_with("postgres://") || url.starts_with("postgresql://"))
        && let Err(why) = redcell_store::db::probe_postgres(url).await
    {
        bail!("无法连接 PostgreSQL（{}）：{why}", redact(url));
    }
    Db::connect(url).await.with_context(|| format!("无法打开数据库 {}", redact(url)))
}

/// Whether opening failed because the SQLite file itself is damaged
/// (SQLITE_CORRUPT or SQLITE_NOTADB), as opposed to a missing or locked file.
fn is_damaged(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}");
    text.contains("(code: 11)") || text.contains("(code: 26)") || text.contains("malformed")
}

/// Hide a password in a URL before printing it.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误：{}", report(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, each said once: a wrapper that
/// already quotes its cause's text (a database error quoting the driver's,
/// which quotes SQLite's) does not repeat it.
fn report(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || parts.iter().any(|p| p.contains(text)) {
            continue;
        }
        // A cause that contains an earlier part's text replaces it.
        parts.retain(|p| !text.contains(p.as_str()));
        parts.push(text.to_string());
    }
    parts.join("：")
}

async fn run() -> Result<()> {
    // Before any SQLite connection opens.
    let sqlite_on_mimalloc = sqlite_alloc::install();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("REDCELL_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    tracing::debug!(sqlite_on_mimalloc, "allocator");
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            bind,
            secure_cookies,
            trust_forwarded,
            shutdown_timeout,
            backup_dir,
            backup_keep_daily,
            backup_keep_weekly,
        } => {
            let url = cli.database.clone().unwrap_or_else(|| DEFAULT_DB.to_string());
            let db = open(cli.database).await?;
            if let Some(dir) = backup_dir {
                let keep = redcell_store::backup::Retention { daily: backup_keep_daily, weekly: backup_keep_weekly };
                tokio::spawn(scheduled_backups(db.clone(), url, dir, keep));
            }
            let state =
                Arc::new(redcell_web::AppState { db, secure_cookies, trust_forwarded, ops: Default::default() });
            eprintln!("redcell 已启动：http://{bind}/ （按 Ctrl-C 停止）");
            let deadline = std::time::Duration::from_secs(shutdown_timeout);
            redcell_web::serve(state, bind, deadline, redcell_web::stop_signal())
                .await
                .with_context(|| format!("无法在 {bind} 上监听（端口是否被占用？可用 --bind 指定其他地址）"))?;
        }
        Command::Backup { out } => {
            let url = cli.database.clone().unwrap_or_else(|| DEFAULT_DB.to_string());
            let db = open(cli.database).await?;
            let m = redcell_store::backup::backup(&db, &url, &out).await.context("备份失败")?;
            let rows: i64 = m.tables.values().sum();
            println!(
                "已备份到 {}（{:.1} MB，{} 张表 {rows} 行，结构版本 {}）；清单：{}",
                out.display(),
                m.bytes as f64 / 1_048_576.0,
                m.tables.len(),
                m.schema_version,
                redcell_store::backup::manifest_path(&out).display()
            );
        }
        Command::Restore { file } => {
            let url = cli.database.clone().unwrap_or_else(|| DEFAULT_DB.to_string());
            let m = redcell_store::backup::restore(&file, &url).await.context("恢复失败")?;
            // Bring the restored schema up to this program's.
            open(Some(url.clone())).await?;
            let rows: i64 = m.tables.values().sum();
            println!(
                "已从 {}（{} 备份）恢复到 {}：{} 张表 {rows} 行，行数与清单一致",
                file.display(),
                m.taken_at,
                redact(&url),
                m.tables.len()
            );
        }
        Command::Check => {
            let url = cli.database.clone().unwrap_or_else(|| DEFAULT_DB.to_string());
            // A file damaged where SQLite reads on opening fails to open at
            // all: that is the check's finding, not a different failure.
            let problems = match connect(&url).await {
                Ok(db) => redcell_store::backup::check(&db, false).await?,
                Err(e) if is_damaged(&e) => vec![format!("{e:#}")],
                Err(e) => return Err(e),
            };
            if problems.is_empty() {
                println!("数据库完好：{}", redact(&url));
            } else {
                for p in problems.iter().take(50) {
                    println!("{p}");
                }
                bail!("数据库有 {} 处问题；请停止写入，用 redcell restore 从最近的备份恢复", problems.len());
            }
        }
        Command::Migrate => {
            open(cli.database).await?;
            eprintln!("migrations applied");
        }
        Command::Demo(a) => demo(cli.database, a).await?,
        Command::Import(a) => import(cli.database, a).await?,
        Command::Plan { command } => plan(cli.database, command).await?,
        Command::Export(a) => export(cli.database, a).await?,
        Command::Duties { command } => duties(cli.database, command).await?,
        Command::User { command: UserCommand::Link { username, cadre, member, clear } } => {
            use redcell_store::duties::Link;
            let link = match (cadre, member, clear) {
                (Some(c), None, false) => Some(Link::Cadre(c)),
                (None, Some(m), false) => Some(Link::Member(m)),
                (None, None, true) => None,
                _ => bail!("give --cadre ID, --member ID or --clear"),
            };
            let db = open(cli.database).await?;
            redcell_store::duties::link_username(&db, &username, link)
                .await
                .map_err(|e| anyhow::anyhow!("{}", describe(e)))?;
            match link {
                Some(Link::Cadre(c)) => println!("账号 {username} 已关联干部 #{c}"),
                Some(Link::Member(m)) => println!("账号 {username} 已关联党员 #{m}"),
                None => println!("账号 {username} 已解除关联"),
            }
        }
        Command::User { command: UserCommand::Add { username, role, org, name, password_stdin } } => {
            let role = Role::parse("role", &role).map_err(|e| anyhow::anyhow!("{e}"))?;
            if !password_stdin {
                bail!("--password-stdin is required");
            }
            let mut pw = String::new();
            std::io::stdin().read_to_string(&mut pw)?;
            let pw = pw.trim_end_matches(['\n', '\r']);
            let db = open(cli.database).await?;
            let id = redcell_store::auth::add_user(&db, &username, &name, pw, role, &org)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("account {username} (#{id}) added: {} on {org}", role.label());
        }
    }
    Ok(())
}

async fn demo(database: Option<String>, a: DemoArgs) -> Result<()> {
    let db = open(database).await?;
    let bar = indicatif::ProgressBar::new(a.households);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} 生成演示街道 [{bar:40}] {pos}/{len} 户 ({per_sec}, 剩余 {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let opts = redcell_store::demo::DemoOptions {
        households: a.households,
        seed: a.seed,
        admin_password: a.admin_password,
        replace: a.replace,
    };
    let progress = |done: u64, _total: u64| bar.set_position(done);
    let summary = redcell_store::demo::generate(&db, &opts, &progress).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    // Statistics for the planner over the tables just filled.
    db.analyze().await?;
    bar.finish_and_clear();
    println!("演示街道已生成（{:.1} 秒）：", started.elapsed().as_secs_f64());
    println!(
        "  组织 {}，网格 {}，楼栋 {}，住户 {}，居民 {}，党员 {}（中心户 {}），干部 {}，单位/设施 {}",
        summary.orgs,
        summary.grids,
        summary.buildings,
        summary.households,
        summary.residents,
        summary.members,
        summary.central_households,
        summary.cadres,
        summary.units
    );
    let cov = redcell_store::coverage::seed_demo_contacts(&db, summary.tenant_id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    redcell_store::demo::link_member_accounts(&db, summary.tenant_id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let pct = |n: i64, d: i64| if d > 0 { n as f64 * 100.0 / d as f64 } else { 0.0 };
    println!(
        "  联系全覆盖：住户有党员联系 {}/{}（{:.1}%），党员有干部联系 {}/{}（{:.1}%），社区有包社领导 {}/{}；中心户联系 {} 条，免除联系任务 {} 人",
        cov.households_covered,
        cov.households,
        pct(cov.households_covered, cov.households),
        cov.members_with_cadre,
        cov.members,
        pct(cov.members_with_cadre, cov.members),
        cov.leader_community,
        cov.communities,
        cov.central,
        cov.exempt
    );
    println!("演示账号：");
    for acc in &summary.accounts {
        println!("  {:<8} 密码 {:<20} {}（{}）", acc.username, acc.password, acc.role.label(), acc.org_name);
    }
    db.close().await;
    Ok(())
}

async fn export(database: Option<String>, a: ExportArgs) -> Result<()> {
    use redcell_store::export::Mask;
    let list = redcell_web::export_list(&a.kind).with_context(|| {
        let codes: Vec<&str> = redcell_web::export_lists().iter().map(|l| l.code()).collect();
        format!("未知的名册：{}（可导出：{}）", a.kind, codes.join("、"))
    })?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for f in &a.filters {
        let (k, v) = f.split_once('=').with_context(|| format!("--filter {f}: expected NAME=VALUE"))?;
        pairs.push((k.trim().to_string(), v.to_string()));
    }
    pairs.push(("format".into(), a.format.clone()));
    pairs.push(("encoding".into(), a.encoding.clone()));
    let query = serde_urlencoded::to_string(&pairs)?;
    let mut req = redcell_web::export::parse_request(list, &query).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The audit row names the subtree the operator exported.
    req.filters =
        [format!("org={}", a.org), req.filters].iter().filter(|x| !x.is_empty()).cloned().collect::<Vec<_>>().join("&");
    let db = open(database).await?;
    let p = redcell_store::export::operator(&db, &a.org).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = std::time::Instant::now();
    // Write next to the target and rename at the end: a failed export leaves no half-written file.
    let dir = a.out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("creating a file in {}", dir.display()))?;
    let out = std::io::BufWriter::new(tmp.reopen()?);
    let mask = if a.unmasked { Mask::Clear } else { Mask::Masked };
    let actor = redcell_store::audit::Actor::system();
    let (out, rows) = redcell_web::export::write(&db, &p, actor, &req, mask, out)
        .await
        .map_err(|e| anyhow::anyhow!("{}", describe(e)))?;
    drop(out);
    tmp.persist(&a.out).with_context(|| format!("writing {}", a.out.display()))?;
    db.close().await;
    println!(
        "{}：{rows} 行写入 {}（{}{}，{:.1} 秒）",
        list.label(),
        a.out.display(),
        req.format.label(),
        if a.unmasked { "，未脱敏" } else { "，已脱敏" },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The code of the tenant's top organisation: the one given, or the only tenant.
async fn tenant_code(db: &Db, org: Option<String>) -> Result<String> {
    if let Some(o) = org {
        return Ok(o);
    }
    let roots = redcell_store::duties::rules::tenant_roots(db).await.map_err(|e| anyhow::anyhow!("{}", describe(e)))?;
    match roots.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("数据库中还没有任何单位"),
        _ => bail!("数据库中有多个单位（{}），请用 --org 指定", roots.join("、")),
    }
}

async fn duties(database: Option<String>, command: DutiesCommand) -> Result<()> {
    let db = open(database).await?;
    let err = |e| anyhow::anyhow!("{}", describe(e));
    match command {
        DutiesCommand::Check { org, date } => {
            let p = redcell_store::export::operator(&db, &org).await.map_err(err)?;
            let org_id = p.grants[0].org_id;
            let today = date.unwrap_or_else(redcell_domain::calendar::shanghai_today);
            let c = redcell_store::duties::compliance(&db, &p, org_id, today).await.map_err(err)?;
            println!("{} 履职合规（{} 至 {}）", c.org_name, c.from, c.today);
            println!("{:<28}\t{:<14}\t对象\t已到期\t已完成\t逾期\t将到期\t完成率", "任务", "频次");
            for r in &c.rules {
                let rate = r.rate.map(|x| format!("{x:.1}%")).unwrap_or_else(|| "—".into());
                println!(
                    "{:<28}\t{:<14}\t{}\t{}\t{}\t{}\t{}\t{rate}",
                    r.rule_name, r.rhythm, r.subjects, r.periods, r.done, r.overdue, r.due_soon
                );
            }
            if c.silent.is_empty() {
                println!("沉默支部（30天无组织生活）：无");
            } else {
                println!("沉默支部（30天无组织生活）：{} 个", c.silent.len());
                for s in &c.silent {
                    let last = s.last_meeting.map(|d| d.to_string()).unwrap_or_else(|| "无记录".into());
                    println!("  {}（最近一次：{last}）", s.org_name);
                }
            }
        }
        DutiesCommand::Rules { command: RulesCommand::Export { out, org } } => {
            let p = redcell_store::export::operator(&db, &tenant_code(&db, org).await?).await.map_err(err)?;
            let text = redcell_store::duties::rules::export(&db, &p).await.map_err(err)?;
            std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
            println!("规则已导出到 {}", out.display());
        }
        DutiesCommand::Rules { command: RulesCommand::Import { file, org } } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let p = redcell_store::export::operator(&db, &tenant_code(&db, org).await?).await.map_err(err)?;
            let n = redcell_store::duties::rules::import(&db, &p, &text).await.map_err(err)?;
            println!("已导入 {n} 条规则");
        }
    }
    db.close().await;
    Ok(())
}

/// A store error as the operator should read it.
fn describe(e: redcell_store::StoreError) -> String {
    match e {
        redcell_store::StoreError::Invalid(inv) => inv.to_string(),
        redcell_store::StoreError::Forbidden => redcell_domain::i18n::FORBIDDEN.to_string(),
        e => e.to_string(),
    }
}

async fn plan(database: Option<String>, command: PlanCommand) -> Result<()> {
    match command {
        PlanCommand::Solve { instance, out } => {
            let summary = redcell_plan::cli_solve(&instance, &out).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{summary}");
        }
        PlanCommand::ExportInstance { org, out, move_penalty } => {
            let penalty = redcell_domain::coverage::parse_move_penalty(&move_penalty.to_string())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let db = open(database).await?;
            let (inst, notes) = redcell_store::coverage::plan::export_instance(&db, &org, penalty)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            db.close().await;
            redcell_plan::write_instance_atomically(&out, &inst).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "instance of {org}: {} households, {} members, {} current contacts written to {}",
                inst.households.len(),
                inst.members.len(),
                inst.current.len(),
                out.display()
            );
            for n in notes {
                println!("  {n}");
            }
        }
        PlanCommand::Bench { sizes, seed } => {
            print!("{}", redcell_plan::cli_bench(&sizes, seed));
        }
    }
    Ok(())
}

async fn import(database: Option<String>, a: ImportArgs) -> Result<()> {
    use redcell_store::import::{self, Stage, Upload};
    if let Some(command) = a.batch {
        return import_batches(database, command).await;
    }
    let (Some(kind), Some(file)) = (a.kind.as_deref(), a.file.as_deref()) else {
        bail!("give KIND FILE, or one of the commands batches, undo");
    };
    let kind = redcell_domain::rosters::ImportKind::parse("kind", kind).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(rows) = a.generate {
        let g = redcell_docs::rosters::BenchRoster { rows };
        let is_xlsx = file.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
        if is_xlsx {
            std::fs::write(file, g.xlsx().map_err(|e| anyhow::anyhow!("{e}"))?)?;
        } else {
            let mut out = std::io::BufWriter::new(std::fs::File::create(file)?);
            g.write_csv(&mut out)?;
            std::io::Write::flush(&mut out)?;
        }
        let grids = file.with_extension("grids.csv");
        std::fs::write(&grids, g.grids_csv(a.org.as_deref().unwrap_or("ST")))?;
        println!(
            "{} 行居民（{} 户、{} 栋楼、{} 个网格）已写入 {}，网格和楼栋写入 {}",
            rows,
            g.households(),
            g.buildings(),
            g.grids(),
            file.display(),
            grids.display()
        );
        return Ok(());
    }
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let db = open(database).await?;
    let p = import::operator(&db, a.org.as_deref()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let file_name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {pos} 行 ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let progress = |stage: Stage, n: u64| {
        bar.set_message(match stage {
            Stage::Reading => "读取",
            Stage::Checking => "校验",
            Stage::Writing => "写入",
        });
        bar.set_position(n);
    };
    let started = std::time::Instant::now();
    let up = Upload {
        kind,
        file_name: &file_name,
        bytes: &bytes,
        max_bytes: a.max_mb.saturating_mul(1024 * 1024),
        today: redcell_web::today(),
    };
    let report = import::run(&db, &p, up, !a.dry_run, &progress).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if report.batch_id.is_some() {
        db.analyze().await?;
    }
    bar.finish_and_clear();
    let c = &report.counts;
    println!(
        "{}「{}」（{}）：{} 行，新增 {}，修改 {}，未变 {}，有错误 {} 行（{:.1} 秒）",
        kind.label(),
        file_name,
        report.format,
        c.rows,
        c.new,
        c.changed,
        c.unchanged,
        c.errors,
        started.elapsed().as_secs_f64()
    );
    for ch in report.changes.iter().take(200) {
        let fields: Vec<String> =
            ch.fields.iter().map(|f| format!("{}：{} → {}", f.column, f.before, f.after)).collect();
        println!("  修改 第{}行 {}：{}", ch.row, ch.key, fields.join("；"));
    }
    if report.changes.len() > 200 {
        println!("  ……另有 {} 行修改", report.changes.len() - 200);
    }
    for e in &report.errors {
        if e.row == 0 {
            println!("  错误：{}", e.reason);
        } else {
            println!("  错误 第{}行 {}「{}」：{}", e.row, e.column, e.value, e.reason);
        }
    }
    if let Some(out) = &a.errors_out
        && !report.errors.is_empty()
    {
        let sheet = import::error_sheet(&up, &report).map_err(|e| anyhow::anyhow!("{e}"))?;
        std::fs::write(out, sheet)?;
        println!("错误表已写入 {}", out.display());
    }
    db.close().await;
    if !report.errors.is_empty() {
        bail!("导入未执行：文件中有错误，数据库没有任何改动");
    }
    match report.batch_id {
        Some(b) => println!("已导入，批次 #{b}（可在导入页面撤销）"),
        None => println!("仅检查（--dry-run），没有写入"),
    }
    Ok(())
}

/// `redcell import batches` and `redcell import undo`.
async fn import_batches(database: Option<String>, command: BatchCommand) -> Result<()> {
    use redcell_domain::i18n;
    use redcell_store::{StoreError, import};
    let db = open(database).await?;
    match command {
        BatchCommand::Batches { org, limit } => {
            let p = import::operator(&db, org.as_deref()).await.map_err(|e| anyhow::anyhow!("{}", describe(e)))?;
            let batches = import::batches(&db, &p, limit).await.map_err(|e| anyhow::anyhow!("{}", describe(e)))?;
            if batches.is_empty() {
                println!("{}", i18n::IMPORT_NO_BATCHES);
            } else {
                println!("{}", i18n::IMPORT_BATCHES_HEADER);
            }
            for b in &batches {
                let status = match b.undone_local() {
                    Some(t) => format!("{}（{t}）", i18n::IMPORT_BATCH_UNDONE),
                    None => i18n::IMPORT_BATCH_IN_FORCE.to_string(),
                };
                println!(
                    "#{}\t{}\t{}\t{}\t{}\t{}/{}/{}\t{}\t{status}",
                    b.id,
                    b.at_local(),
                    b.kind_label(),
                    b.file_name,
                    b.rows_total,
                    b.created_count,
                    b.changed_count,
                    b.unchanged_count,
                    b.username.as_deref().unwrap_or(i18n::IMPORT_BY_CLI),
                );
            }
        }
        BatchCommand::Undo { batch_id, org } => {
            let p = import::operator(&db, org.as_deref()).await.map_err(|e| anyhow::anyhow!("{}", describe(e)))?;
            let r = import::undo(&db, &p, batch_id).await;
            db.close().await;
            let reason = match r {
                Ok(()) => {
                    println!("批次 #{batch_id} {}", i18n::IMPORT_UNDO_DONE);
                    return Ok(());
                }
                Err(StoreError::Invalid(inv)) => {
                    inv.0.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("；")
                }
                Err(StoreError::NotFound) => i18n::IMPORT_BATCH_NOT_FOUND.to_string(),
                Err(StoreError::Forbidden) => i18n::IMPORT_UNDO_OUT_OF_SCOPE.to_string(),
                Err(e) => return Err(anyhow::anyhow!("{}", describe(e))),
            };
            bail!("{}（批次 #{batch_id}）：{reason}", i18n::IMPORT_UNDO_REFUSED);
        }
    }
    db.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use redcell_domain::rosters::ImportKind;

    /// The batch commands and the kinds of `redcell import KIND FILE` never
    /// share a name, so either form parses as meant.
    #[test]
    fn import_kinds_never_collide_with_batch_commands() {
        let cli = Cli::command();
        let import = cli.find_subcommand("import").expect("import command");
        let names: Vec<&str> = import.get_subcommands().map(|c| c.get_name()).collect();
        assert!(names.contains(&"batches") && names.contains(&"undo"), "{names:?}");
        for k in ImportKind::ALL {
            assert!(!names.contains(&k.code()), "kind {} collides with a command", k.code());
        }
        let parsed = Cli::try_parse_from(["redcell", "import", "households", "undo", "--dry-run"]).unwrap();
        let Command::Import(a) = parsed.command else { panic!("import") };
        assert!(a.batch.is_none() && a.dry_run);
        assert_eq!((a.kind.as_deref(), a.file.as_deref()), (Some("households"), Some(std::path::Path::new("undo"))));
        let parsed = Cli::try_parse_from(["redcell", "import", "undo", "7", "--org", "DEMO"]).unwrap();
        let Command::Import(a) = parsed.command else { panic!("import") };
        assert!(matches!(a.batch, Some(BatchCommand::Undo { batch_id: 7, org: Some(ref o) }) if o == "DEMO"));
        assert!(Cli::try_parse_from(["redcell", "import", "households"]).is_err(), "FILE is required");
        assert!(Cli::try_parse_from(["redcell", "import", "batches", "--limit", "0"]).is_err());
    }
}
