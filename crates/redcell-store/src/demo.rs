//! The demo district (`redcell demo`): a realistic synthetic street district,
//! deterministic for a given seed and household count.
//!
//! The work has two parts. [`Plan`] decides everything small up front: the
//! organisation tree, the grids and their blocks on the map, the units and the
//! cadres. [`People`] then walks the grids one by one and yields chunks of
//! buildings, households, residents and members, which are written with
//! multi-row `INSERT`s and committed chunk by chunk, so a million households
//! never sit in memory at once.
//!
//! Ids are assigned here (counting up from the largest id of each table), so no
//! `RETURNING` is needed for bulk rows. Determinism never depends on a crate
//! version: the random numbers come from the SplitMix64 generator below, and
//! ages are counted from 1 January of the current year (so two runs in the same
//! year with the same seed and household count give the same people).
//!
//! Run it while nobody else writes to the database: between the chunk commits
//! another writer on SQLite could take an id this generator is about to use.
//! (On PostgreSQL the id range is reserved on the identity sequences first.)

use crate::db::{Args, Backend, Db, Tx};
use crate::error::StoreError;
use crate::{args, audit, auth};
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use redcell_domain::ident::DEMO_REGION;
use redcell_domain::ids::*;
use redcell_domain::{
    CadreKind, FieldError, Gender, HouseholdTag, IdNumber, MemberCategory, MemberStatus, OrgKind, OrgPath, Role,
    UnitKind, role,
};

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Number of households (1 to 10,000,000).
    pub households: u64,
    /// Seed of the random generator: the same seed and household count give the same district.
    pub seed: u64,
    /// When given, the account `admin` (role admin on the street) is created and the scoped
    /// demo accounts get this password too; otherwise they get a random one each.
    pub admin_password: Option<String>,
    /// Delete an existing demo district (code `DEMO`) first.
    pub replace: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { households: 3000, seed: 1, admin_password: None, replace: false }
    }
}

/// A demo account and its password (shown once by the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub org_code: String,
    pub org_name: String,
}

/// What was generated.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub tenant_id: i64,
    pub street_code: String,
    /// Organisations including the street itself.
    pub orgs: u64,
    pub grids: u64,
    pub buildings: u64,
    pub households: u64,
    pub residents: u64,
    pub members: u64,
    pub central_households: u64,
    pub cadres: u64,
    pub units: u64,
    pub accounts: Vec<DemoAccount>,
}

/// The code of the demo street.
pub const STREET_CODE: &str = "DEMO";
const STREET_NAME: &str = "红星街道党工委";
/// Households generated between two commits.
const CHUNK_HOUSEHOLDS: u64 = 20_000;
/// Rows in one multi-row `INSERT`.
/// The largest household count accepted.
pub const MAX_HOUSEHOLDS: u64 = 10_000_000;
/// Centre of the map (Hangzhou) and its telephone area code.
const CENTRE_LAT: f64 = 30.2741;
const CENTRE_LON: f64 = 120.1551;
const AREA_CODE: &str = "0571";

/// `progress(done_households, total_households)` is called after every commit.
pub async fn generate(
    db: &Db,
    opts: &DemoOptions,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<DemoSummary, StoreError> {
    if !(1..=MAX_HOUSEHOLDS).contains(&opts.households) {
        return Err(FieldError::new("households", "range", format!("户数须在 1 到 {MAX_HOUSEHOLDS} 之间")).into());
    }
    if let Some(pw) = &opts.admin_password
        && !role::password_acceptable(pw)
    {
        return Err(FieldError::new("password", "weak", redcell_domain::i18n::PASSWORD_WEAK).into());
    }
    let accounts_wanted = account_plan(opts.admin_password.is_some());
    check_existing(db, opts, &accounts_wanted).await?;

    let now = Utc::now();
    let today = now.date_naive();
    let ref_date = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let total = opts.households;
    progress(0, total);

    let mut tx = db.begin().await?;
    let mut next = NextIds::read(&mut tx, opts.households).await?;
    let plan = Plan::new(opts, &mut next, ref_date.year());
    let tenant = plan.root_id;
    write_plan(&mut tx, &plan, now).await?;

    let mut people = People::new(&plan, opts.seed, ref_date, &mut next);
    let mut done = 0u64;
    let mut counts = Counts::default();
    while let Some(chunk) = people.next_chunk(CHUNK_HOUSEHOLDS) {
        done += chunk.households.len() as u64;
        counts.add(&chunk);
        write_chunk(&mut tx, tenant, now, &chunk).await?;
        if done < total {
            tx.commit().await?;
            progress(done, total);
            tx = db.begin().await?;
        }
    }
    let detail = format!(
        "演示街道：种子 {}，{} 户，{} 名居民，{} 名党员，{} 个党员中心户，{} 个网格，{} 栋楼",
        opts.seed,
        counts.households,
        counts.residents,
        counts.members,
        counts.central,
        plan.grids.len(),
        counts.buildings
    );
    audit::record(&mut tx, tenant, None, "demo", "org", Some(tenant), &detail).await?;
    tx.commit().await?;
    if db.backend() == Backend::Postgres {
        reset_sequences(db).await?;
    }
    progress(done, total);

    let mut accounts = Vec::new();
    let shared = opts.admin_password.clone();
    for (username, role, code) in accounts_wanted {
        let password = match &shared {
            Some(pw) => pw.clone(),
            None => random_password()?,
        };
        let org_name = plan.orgs.iter().find(|o| o.code == code).map(|o| o.name.clone()).unwrap_or_default();
        let display = format!("演示账号（{}）", role.label());
        auth::add_user(db, &username, &display, &password, role, &code).await?;
        accounts.push(DemoAccount { username, password, role, org_code: code, org_name });
    }
    crate::requests::seed::demo(db, tenant, opts.seed).await?;

    crate::duties::demo::seed(db, tenant, opts.seed).await?;
    crate::assessment::ensure_seeded(db, tenant).await?;
    // A year of the care fund (applied and paid by the community's account,
    // approved by the street's or, without it, the branch secretary's) and of
    // volunteering (posts published by the community's account, hours
    // confirmed by the same decider).
    let user = async |name: &str| -> Result<Option<i64>, StoreError> {
        let r: Option<(i64,)> = db.opt("SELECT id FROM users WHERE username = $1", args![name.to_string()]).await?;
        Ok(r.map(|(id,)| id))
    };
    let decider = match user("admin").await? {
        Some(a) => Some(a),
        None => user("zb0101").await?,
    };
    if let (Some(by), Some(decider)) = (user("sq01").await?, decider) {
        let mut tx = db.begin().await?;
        crate::care::seed_demo(&mut tx, tenant, by, decider, crate::coverage::today()).await?;
        crate::hardship::seed_demo(&mut tx, tenant, by, crate::coverage::today()).await?;
        crate::volunteer::seed_demo(&mut tx, tenant, by, decider, crate::coverage::today()).await?;
        crate::teams::seed_demo(&mut tx, tenant, by, decider, crate::coverage::today()).await?;
        crate::mobility::seed_demo(&mut tx, tenant, by, crate::coverage::today()).await?;
        crate::transfers::seed_demo(&mut tx, tenant, by, crate::coverage::today()).await?;
        tx.commit().await?;
        let mut tx = db.begin().await?;
        crate::assessment::seed_demo(&mut tx, tenant, decider, crate::coverage::today()).await?;
        tx.commit().await?;
        crate::assessment::publish_demo(db, tenant, decider).await?;
    }
    Ok(DemoSummary {
        tenant_id: tenant,
        street_code: STREET_CODE.to_string(),
        orgs: plan.orgs.len() as u64,
        grids: plan.grids.len() as u64,
        buildings: counts.buildings,
        households: counts.households,
        residents: counts.residents,
        members: counts.members,
        central_households: counts.central,
        cadres: plan.cadres.len() as u64,
        units: plan.units.len() as u64,
        accounts,
    })
}

/// The demo accounts: (username, role, organisation code).
fn account_plan(with_admin: bool) -> Vec<(String, Role, String)> {
    let mut v = Vec::new();
    if with_admin {
        v.push(("admin".to_string(), Role::Admin, STREET_CODE.to_string()));
    }
    v.push(("sq01".to_string(), Role::OrgAdmin, format!("{STREET_CODE}-SQ01")));
    v.push(("zb0101".to_string(), Role::Secretary, format!("{STREET_CODE}-SQ01-ZB01")));
    v.push(("wg0101".to_string(), Role::GridWorker, format!("{STREET_CODE}-SQ01-ZB01")));
    // A party member and a 中心户 of the same branch (linked to their member
    // records by [`link_member_accounts`] once the contacts exist).
    v.push(("dy0101".to_string(), Role::Member, format!("{STREET_CODE}-SQ01-ZB01")));
    v.push(("zxh0101".to_string(), Role::Member, format!("{STREET_CODE}-SQ01-ZB01")));
    v
}

/// Link the demo's member accounts to members of their branch: `dy0101` to
/// the member (not a 中心户) who looks after the most households, `zxh0101`
/// to the 中心户 who looks after the most members. Run after the demo
/// contacts are seeded; an account without a fitting member stays unlinked.
pub async fn link_member_accounts(db: &Db, tenant: i64) -> Result<(), StoreError> {
    use redcell_domain::coverage::ContactLevel;
    for (username, level, central) in
        [("dy0101", ContactLevel::MemberHousehold, false), ("zxh0101", ContactLevel::CentralMember, true)]
    {
        let user: Option<(i64, String)> = db
            .opt(
                "SELECT u.id, o.path FROM users u JOIN grants g ON g.user_id = u.id JOIN orgs o ON o.id = g.org_id \
                 WHERE u.username = $1 AND g.tenant_id = $2",
                args![username, tenant],
            )
            .await?;
        let Some((uid, path)) = user else { continue };
        let member: Option<(i64, i64)> = db
            .opt(
                "SELECT m.id, COUNT(*) AS n FROM members m JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
                 JOIN contacts c ON c.tenant_id = m.tenant_id AND c.from_kind = 'member' AND c.from_id = m.id \
                 AND c.level = $1 AND c.until IS NULL \
                 WHERE m.tenant_id = $2 AND o.path LIKE $3 AND m.central_household = $4 \
                 GROUP BY m.id ORDER BY n DESC, m.id LIMIT 1",
                args![level.code(), tenant, format!("{path}%"), central],
            )
            .await?;
        if let Some((mid, _)) = member {
            db.exec(
                "INSERT INTO duty_member_accounts (tenant_id, user_id, member_id) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                args![tenant, uid, mid],
            )
            .await?;
        }
    }
    Ok(())
}

/// 16 random characters with at least one letter and one digit.
fn random_password() -> Result<String, StoreError> {
    loop {
        let t = auth::random_token()?;
        let pw: String = t.chars().take(16).collect();
        if pw.chars().any(|c| c.is_ascii_alphabetic()) && pw.chars().any(|c| c.is_ascii_digit()) {
            return Ok(pw);
        }
    }
}

fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> StoreError {
    FieldError::new(field, code, message).into()
}

/// Refuse to overwrite anything that is not a demo district, and refuse to
/// overwrite a demo district without `replace`; with `replace`, delete it.
async fn check_existing(db: &Db, opts: &DemoOptions, accounts: &[(String, Role, String)]) -> Result<(), StoreError> {
    let demo: Vec<(i64,)> = db
        .all(
            "SELECT id FROM orgs WHERE code = $1 AND parent_id IS NULL AND tenant_id = id ORDER BY id",
            args![STREET_CODE],
        )
        .await?;
    let demo: Vec<i64> = demo.into_iter().map(|(id,)| id).collect();
    // The codes the accounts are granted on must name the new demo organisations only.
    let mut codes: Vec<&str> = accounts.iter().map(|a| a.2.as_str()).collect();
    codes.push(STREET_CODE);
    for code in codes {
        let tenants: Vec<(i64,)> = db.all("SELECT tenant_id FROM orgs WHERE code = $1", args![code]).await?;
        if tenants.iter().any(|(t,)| !demo.contains(t)) {
            return Err(invalid(
                "database",
                "code_taken",
                format!("组织编码 {code} 已被其他单位使用，无法生成演示街道"),
            ));
        }
    }
    if !demo.is_empty() && !opts.replace {
        return Err(invalid(
            "database",
            "exists",
            format!("演示街道（编码 {STREET_CODE}）已存在；使用 --replace 删除后重建，或换一个数据库"),
        ));
    }
    for (username, _, _) in accounts {
        let user: Option<(i64,)> = db.opt("SELECT id FROM users WHERE username = $1", args![username.as_str()]).await?;
        let Some((uid,)) = user else { continue };
        let foreign = db
            .int(
                "SELECT COUNT(*) FROM grants WHERE user_id = $1 AND tenant_id NOT IN \
                 (SELECT id FROM orgs WHERE code = $2 AND parent_id IS NULL AND tenant_id = id)",
                args![uid, STREET_CODE],
            )
            .await?;
        let home: i64 = db.int("SELECT tenant_id FROM users WHERE id = $1", args![uid]).await?;
        if foreign > 0 || !demo.contains(&home) {
            return Err(invalid("username", "duplicate", format!("用户名 {username} 已被演示街道以外的账号使用")));
        }
    }
    for t in demo {
        delete_tenant(db, t).await?;
    }
    Ok(())
}

/// The registry tables in the order their rows can be deleted.
const TENANT_TABLES: &[&str] =
    &["cadre_stations", "cadres", "members", "residents", "units", "households", "buildings", "grids", "orgs"];

/// Delete every row of a tenant: its accounts (those with grants in no other
/// tenant), grants, sessions and all registry rows. The audit trail is kept.
pub async fn delete_tenant(db: &Db, tenant: i64) -> Result<(), StoreError> {
    // Tables added after this module was written (requests, visits, ...) go first.
    let listed: Vec<(String,)> = match db.backend() {
        Backend::Sqlite => {
            db.all(
                "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND \
                 EXISTS (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.name = 'tenant_id') ORDER BY m.name",
                Args::new(),
            )
            .await?
        }
        Backend::Postgres => {
            db.all(
                "SELECT CAST(table_name AS TEXT) FROM information_schema.columns \
                 WHERE column_name = 'tenant_id' AND table_schema = current_schema() ORDER BY 1",
                Args::new(),
            )
            .await?
        }
    };
    // The audit trail is append-only and outlives the rows it describes.
    let known = ["users", "grants", "sessions", "audit_log"];
    let extra: Vec<String> = listed
        .into_iter()
        .map(|(t,)| t)
        .filter(|t| !TENANT_TABLES.contains(&t.as_str()) && !known.contains(&t.as_str()))
        .collect();
    // Foreign keys among them: (referencing table, referenced table).
    let edges: Vec<(String, String)> = match db.backend() {
        Backend::Sqlite => {
            db.all(
                "SELECT m.name, p.\"table\" FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) p \
                 WHERE m.type = 'table'",
                Args::new(),
            )
            .await?
        }
        Backend::Postgres => {
            db.all(
                "SELECT CAST(CAST(c.conrelid AS regclass) AS TEXT), CAST(CAST(c.confrelid AS regclass) AS TEXT) \
                 FROM pg_constraint c WHERE c.contype = 'f' \
                 AND c.connamespace = CAST(CAST(current_schema() AS TEXT) AS regnamespace)",
                Args::new(),
            )
            .await?
        }
    };

    let mut tx = db.begin().await?;
    for t in delete_order(extra, &edges) {
        tx.exec(&format!("DELETE FROM {t} WHERE tenant_id = $1"), args![tenant]).await?;
    }
    // Accounts whose every grant is in this tenant (or that have none and live here).
    let doomed: Vec<(i64,)> = tx
        .all(
            "SELECT u.id FROM users u WHERE \
               (EXISTS (SELECT 1 FROM grants g WHERE g.user_id = u.id AND g.tenant_id = $1) \
                OR (u.tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.user_id = u.id))) \
             AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.user_id = u.id AND g.tenant_id <> $1)",
            args![tenant],
        )
        .await?;
    tx.exec("DELETE FROM sessions WHERE tenant_id = $1", args![tenant]).await?;
    tx.exec("DELETE FROM grants WHERE tenant_id = $1", args![tenant]).await?;
    for (uid,) in doomed {
        tx.exec("DELETE FROM sessions WHERE user_id = $1", args![uid]).await?;
        tx.exec("DELETE FROM users WHERE id = $1", args![uid]).await?;
    }
    for t in TENANT_TABLES {
        tx.exec(&format!("DELETE FROM {t} WHERE tenant_id = $1"), args![tenant]).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Order tables so that a table comes before every table it references.
fn delete_order(mut left: Vec<String>, edges: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        // A table nobody left (other than itself) still references.
        let free = left
            .iter()
            .position(|t| !edges.iter().any(|(child, parent)| parent == t && child != t && left.contains(child)));
        // A cycle: take the first table and let the database decide.
        out.push(left.remove(free.unwrap_or(0)));
    }
    out
}

// ---------------------------------------------------------------------------
// Random numbers.

/// SplitMix64: small, fast, and the same on every platform and crate version.
#[derive(Debug, Clone)]
struct Rng(u64);

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// An independent stream for one purpose (and one index within it).
    fn derive(seed: u64, purpose: u64, index: u64) -> Rng {
        Rng(mix64(mix64(seed ^ mix64(purpose.wrapping_add(0x5EED))) ^ mix64(index.wrapping_add(1))))
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    /// An index drawn with the given weights.
    fn weighted(&mut self, w: &[u32]) -> usize {
        let total: u64 = w.iter().map(|x| u64::from(*x)).sum();
        let mut x = self.below(total.max(1));
        for (i, wi) in w.iter().enumerate() {
            let wi = u64::from(*wi);
            if x < wi {
                return i;
            }
            x -= wi;
        }
        w.len() - 1
    }
}

/// Split `total` into `parts` shares that vary by ±`spread` around the mean.
fn split(total: u64, parts: usize, spread: f64, rng: &mut Rng) -> Vec<u64> {
    let w: Vec<f64> = (0..parts).map(|_| 1.0 - spread + 2.0 * spread * rng.unit()).collect();
    let sum: f64 = w.iter().sum();
    let mut out: Vec<u64> = w.iter().map(|x| (total as f64 * x / sum).floor() as u64).collect();
    let mut rest = total - out.iter().sum::<u64>();
    let mut i = 0;
    while rest > 0 {
        out[i % parts] += 1;
        rest -= 1;
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------
// Word lists.

/// Common surnames with their weight (roughly per mille of the population).
const SURNAMES: &[(&str, u32)] = &[
    ("王", 71),
    ("李", 70),
    ("张", 68),
    ("刘", 54),
    ("陈", 46),
    ("杨", 31),
    ("黄", 22),
    ("赵", 22),
    ("吴", 20),
    ("周", 19),
    ("徐", 17),
    ("孙", 16),
    ("马", 15),
    ("朱", 14),
    ("胡", 13),
    ("郭", 12),
    ("何", 12),
    ("林", 12),
    ("罗", 11),
    ("高", 11),
    ("郑", 10),
    ("梁", 10),
    ("谢", 9),
    ("宋", 8),
    ("唐", 8),
    ("许", 8),
    ("韩", 7),
    ("邓", 7),
    ("冯", 7),
    ("曹", 7),
    ("彭", 7),
    ("曾", 6),
    ("肖", 6),
    ("田", 6),
    ("董", 6),
    ("潘", 5),
    ("袁", 5),
    ("蔡", 5),
    ("蒋", 5),
    ("余", 5),
    ("于", 5),
    ("杜", 5),
    ("叶", 5),
    ("程", 5),
    ("魏", 5),
    ("苏", 5),
    ("吕", 5),
    ("丁", 4),
    ("任", 4),
    ("卢", 4),
    ("姚", 4),
    ("沈", 4),
    ("钟", 4),
    ("姜", 4),
    ("崔", 4),
    ("谭", 4),
    ("陆", 4),
    ("范", 3),
    ("汪", 3),
    ("廖", 3),
    ("石", 3),
    ("金", 3),
    ("韦", 3),
    ("贾", 3),
    ("夏", 3),
    ("付", 3),
    ("方", 3),
    ("邹", 3),
    ("熊", 3),
    ("白", 3),
    ("孟", 3),
    ("秦", 3),
    ("邱", 3),
    ("侯", 2),
    ("江", 2),
    ("尹", 2),
    ("薛", 2),
    ("闫", 2),
    ("段", 2),
    ("雷", 2),
    ("龙", 2),
    ("黎", 2),
    ("史", 2),
    ("陶", 2),
    ("贺", 2),
    ("毛", 2),
    ("郝", 2),
    ("顾", 2),
    ("龚", 2),
    ("邵", 2),
    ("万", 2),
    ("钱", 2),
    ("戴", 2),
    ("严", 2),
    ("莫", 2),
    ("孔", 2),
    ("向", 2),
    ("常", 2),
    ("汤", 2),
    ("武", 2),
    ("俞", 2),
];

/// Characters of given names by generation (born before 1960, 1960–1989, from
/// 1990) and sex.
const GIVEN_MALE: [&str; 3] = [
    "建国明华德福贵生根林海山荣富发军文清忠义志伟春祥全宝金才成友勇平昌兴民永强和贤顺",
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞波宇浩凯健俊峰亮东海林毅晖宏彬鑫剑锋洪卫兵斌雷",
    "浩宇轩睿子博晨泽昊然俊杰明豪铭哲瑞辰逸宸皓一诺梓天佑嘉翔鑫航凯文乐奕霖煜",
];
const GIVEN_FEMALE: [&str; 3] = [
    "秀英兰珍玉桂凤芳华梅琴淑素莲云霞荣翠娥香花月菊芬萍慧琼美丽娟春爱",
    "芳娜敏静丽艳娟霞燕萍红梅琳玲颖洁莉丹蓉晶婷倩雪慧琴英华虹君婧岚薇",
    "欣怡梓涵萱诗雨梦佳琪悦妍可馨思语彤雯晗依若汐静婷雪桐瑶蕊菲乐嘉",
];
/// Chance of a one-character given name, by generation.
const ONE_CHAR: [f64; 3] = [0.25, 0.2, 0.12];

/// Words for names of communities, roads and compounds.
const PLACE_WORDS: &[&str] = &[
    "幸福", "和平", "建设", "光明", "胜利", "友谊", "团结", "新华", "人民", "朝阳", "东风", "红旗", "解放", "文化",
    "春晖", "阳光", "长春", "青年", "丰收", "前进", "民主", "复兴", "振兴", "繁荣", "和谐", "安康", "福寿", "永安",
    "长安", "新民", "东方", "金桥", "银杏", "翠苑", "松柏", "梅园", "桂花", "兰亭", "竹林", "柳岸", "桃源", "清泉",
    "碧波", "湖滨", "滨江", "江南", "河西", "城东", "城北", "南湖", "东湖", "望江", "凤凰", "紫荆", "玉泉", "青山",
    "白云", "彩虹", "星光", "明珠", "锦绣", "华庭", "嘉园", "康乐", "宜居", "文晖", "德胜", "和睦", "仁和", "崇文",
    "尚德", "怡和", "瑞祥", "吉祥", "平安", "兴隆", "永宁", "新村", "万寿", "启明",
];
const PLACE_SUFFIX: &[&str] = &["", "东", "西", "南", "北", "中", "新", "上", "下", "前", "后"];
const ROAD_KINDS: &[&str] = &["路", "街", "路", "巷", "大道", "路", "街"];
const ORDINALS: &[&str] = &["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"];
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156", "157",
    "158", "159", "166", "173", "175", "176", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189",
    "191", "198", "199",
];
const SKILLS: &[&str] = &[
    "法律咨询",
    "水电维修",
    "医疗护理",
    "文艺",
    "书法",
    "电脑",
    "心理疏导",
    "家电维修",
    "理发",
    "烹饪",
    "英语",
    "驾驶",
    "摄影",
    "财会",
    "教育辅导",
    "绘画",
];
const INTERESTS: &[&str] = &[
    "摄影",
    "太极拳",
    "广场舞",
    "读书",
    "下棋",
    "志愿服务",
    "园艺",
    "合唱",
    "钓鱼",
    "乒乓球",
    "书画",
    "旅游",
    "戏曲",
    "健步走",
];
const FREE_OLD: &[&str] = &["工作日白天", "随时", "工作日上午", "周末", "工作日下午"];
const FREE_WORKING: &[&str] = &["周末", "工作日晚上", "周末、工作日晚上", "周六上午", "周日"];
const CADRE_UNITS: &[&str] = &[
    "区教育局",
    "区卫生健康局",
    "区城市管理局",
    "区市场监管局",
    "区人民法院",
    "区税务局",
    "区人民医院",
    "市第七中学",
    "区实验小学",
    "区住建局",
    "红星街道办事处",
    "区民政局",
];
const RETIRED_UNITS: &[&str] = &[
    "原市纺织厂",
    "原市机床厂",
    "原区供销社",
    "原市自来水公司",
    "原市第二中学",
    "原区人民医院",
    "原市邮电局",
    "原市百货公司",
    "原市钢铁厂",
    "原区粮食局",
];
const FIRM_WORDS: &[&str] = &[
    "恒信", "鑫源", "宏达", "华泰", "联创", "博远", "瑞丰", "德润", "汇通", "天成", "永盛", "嘉禾", "众联", "中和",
    "新锐", "智恒",
];
const FIRM_KINDS: &[&str] =
    &["科技", "物业管理", "餐饮管理", "电子商务", "建筑装饰", "文化传媒", "家政服务", "物流", "信息技术", "商贸"];
const SHOP_WORDS: &[&str] =
    &["百姓", "惠民", "家家乐", "金鑫", "好邻居", "老王", "便民", "世纪", "联华", "乐购", "同心"];
const SHOP_KINDS: &[&str] =
    &["超市", "便利店", "大药房", "理发店", "水果店", "面馆", "早餐店", "五金店", "菜场", "洗衣店"];
const FACILITIES: &[&str] = &[
    "卫生服务站",
    "老年食堂",
    "文化家园",
    "养老服务驿站",
    "警务室",
    "图书室",
    "便民服务点",
    "幼儿园",
    "垃圾分类站",
    "口袋公园",
];
const SOCIAL_ORGS: &[&str] =
    &["志愿者协会", "老年协会", "文体协会", "人民调解委员会", "舞蹈队", "书画社", "业主委员会"];
const MOBILE_CITIES: &[&str] = &["深圳", "上海", "北京", "广州", "苏州", "宁波", "成都"];

/// Names drawn with realistic frequencies.
struct Names {
    surnames: Vec<&'static str>,
    cumulative: Vec<u32>,
    male: [Vec<char>; 3],
    female: [Vec<char>; 3],
}

impl Names {
    fn new() -> Names {
        let mut total = 0;
        let cumulative = SURNAMES
            .iter()
            .map(|(_, w)| {
                total += w;
                total
            })
            .collect();
        Names {
            surnames: SURNAMES.iter().map(|(s, _)| *s).collect(),
            cumulative,
            male: GIVEN_MALE.map(|s| s.chars().collect()),
            female: GIVEN_FEMALE.map(|s| s.chars().collect()),
        }
    }

    fn surname(&self, rng: &mut Rng) -> &'static str {
        let total = *self.cumulative.last().unwrap_or(&1);
        let x = rng.below(u64::from(total)) as u32;
        let i = self.cumulative.partition_point(|c| *c <= x);
        self.surnames[i.min(self.surnames.len() - 1)]
    }

    /// A full name (surname plus one or two characters).
    fn full(&self, rng: &mut Rng, surname: &str, male: bool, birth_year: i32) -> String {
        let generation = if birth_year < 1960 {
            0
        } else if birth_year < 1990 {
            1
        } else {
            2
        };
        let chars = if male { &self.male[generation] } else { &self.female[generation] };
        let mut s = String::with_capacity(9);
        s.push_str(surname);
        let first = *rng.pick(chars);
        s.push(first);
        if !rng.chance(ONE_CHAR[generation]) {
            let mut second = *rng.pick(chars);
            if second == first {
                second = *rng.pick(chars);
            }
            s.push(second);
        }
        s
    }

    /// A random person's name (for secretaries, cadres, contacts).
    fn adult(&self, rng: &mut Rng, ref_year: i32) -> String {
        let surname = self.surname(rng);
        let male = rng.chance(0.6);
        let year = ref_year - rng.range(28, 60) as i32;
        self.full(rng, surname, male, year)
    }
}

fn mobile(rng: &mut Rng) -> String {
    format!("{}{:08}", rng.pick(MOBILE_PREFIXES), rng.below(100_000_000))
}

fn landline(rng: &mut Rng) -> String {
    format!("{AREA_CODE}-8{:07}", rng.below(10_000_000))
}

/// A place name for index `i`: a word plus, after the list runs out, a direction.
fn place(i: usize) -> String {
    let w = PLACE_WORDS[i % PLACE_WORDS.len()];
    let round = i / PLACE_WORDS.len();
    if round < PLACE_SUFFIX.len() { format!("{w}{}", PLACE_SUFFIX[round]) } else { format!("{w}{round}") }
}

// ---------------------------------------------------------------------------
// Ids.

/// The next free id of every table written.
struct NextIds {
    org: i64,
    grid: i64,
    building: i64,
    household: i64,
    resident: i64,
    member: i64,
    unit: i64,
    cadre: i64,
}

/// The tables whose ids are assigned here.
const ID_TABLES: &[&str] = &["orgs", "grids", "buildings", "households", "residents", "members", "units", "cadres"];

impl NextIds {
    async fn read(tx: &mut Tx, households: u64) -> Result<NextIds, StoreError> {
        let mut v = Vec::new();
        let pg = tx.backend() == Backend::Postgres;
        let n = households as i64;
        // Generous upper bounds of the rows of each table (reserved on PostgreSQL).
        let communities = (n / 2000).max(2) + 1;
        let grids = n / 150 + communities * 3 + 8;
        let bounds = [
            communities * 40 + 1,
            grids,
            n + 1,
            n + 1,
            5 * n + 1,
            5 * n + 1,
            grids * 8 + communities * 4,
            grids * 3 + communities * 6 + 10,
        ];
        for (table, bound) in ID_TABLES.iter().zip(bounds) {
            let mut max = tx.int(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}"), Args::new()).await?;
            if *table == "orgs" {
                // The audit trail outlives replaced districts: never give a new street
                // the id (tenant) of one whose history is still there.
                let audited = tx.int("SELECT COALESCE(MAX(tenant_id), 0) FROM audit_log", Args::new()).await?;
                max = max.max(audited);
            }
            let base = if pg {
                let seq = tx
                    .int(
                        &format!(
                            "SELECT COALESCE(pg_sequence_last_value(CAST(pg_get_serial_sequence('{table}', 'id') AS regclass)), 0)"
                        ),
                        Args::new(),
                    )
                    .await?;
                let base = max.max(seq);
                // Reserve base+1 ..= base+bound: concurrent inserts get ids above it.
                tx.exec(&format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), $1)"), args![base + bound])
                    .await?;
                base
            } else {
                max
            };
            v.push(base + 1);
        }
        Ok(NextIds {
            org: v[0],
            grid: v[1],
            building: v[2],
            household: v[3],
            resident: v[4],
            member: v[5],
            unit: v[6],
            cadre: v[7],
        })
    }
}

fn take(next: &mut i64) -> i64 {
    let id = *next;
    *next += 1;
    id
}

/// After the explicit ids, point the identity sequences just past the largest id.
async fn reset_sequences(db: &Db) -> Result<(), StoreError> {
    for table in ID_TABLES {
        db.exec(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
            ),
            Args::new(),
        )
        .await?;
    }
    Ok(())
}

/// Unique ID numbers: for every birth date and sex, 500 sequence numbers
/// (odd for men, even for women) handed out in a scrambled order; when a day
/// is used up, the birth date moves to the nearest day that is not.
struct IdAlloc {
    first: NaiveDate,
    used: Vec<[u16; 2]>,
}

impl IdAlloc {
    const PER_DAY: u16 = 500;

    fn new(last: NaiveDate) -> IdAlloc {
        let first = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(last);
        let days = (last - first).num_days().max(0) as usize + 1;
        IdAlloc { first, used: vec![[0, 0]; days] }
    }

    /// An ID number for someone born on `birth` (moved by a few days when the
    /// day is used up).
    fn assign(&mut self, birth: &mut NaiveDate, male: bool) -> String {
        let sex = usize::from(male);
        let centre = (*birth - self.first).num_days();
        let max = self.used.len() as i64 - 1;
        for step in 0..=2 * max {
            let delta = if step % 2 == 0 { step / 2 } else { -(step / 2 + 1) };
            let day = centre + delta;
            if !(0..=max).contains(&day) {
                continue;
            }
            let slot = &mut self.used[day as usize][sex];
            if *slot >= Self::PER_DAY {
                continue;
            }
            let c = u32::from(*slot);
            *slot += 1;
            let seq = ((c * 193 + 71) % u32::from(Self::PER_DAY)) * 2 + u32::from(male);
            let date = self.first + Days::new(day as u64);
            *birth = date;
            return IdNumber::synthesise(DEMO_REGION, *birth, seq).into_string();
        }
        // More than 500 people of one sex for every day since 1900: not reachable
        // within MAX_HOUSEHOLDS.
        IdNumber::synthesise(DEMO_REGION, *birth, u32::from(male)).into_string()
    }
}

// ---------------------------------------------------------------------------
// The plan: organisations, grids, units and cadres.

struct OrgRow {
    id: i64,
    parent_id: Option<i64>,
    path: String,
    kind: OrgKind,
    code: String,
    name: String,
    secretary: String,
    phone: Option<String>,
}

struct Community {
    /// e.g. 幸福社区
    name: String,
    roads: Vec<String>,
}

struct GridPlan {
    id: i64,
    code: String,
    name: String,
    description: String,
    /// The branch or party group owning the grid.
    owner: i64,
    community: usize,
    households: u64,
    /// The block on the map: lower-left corner and size, metres.
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

struct UnitRow {
    id: i64,
    grid_id: i64,
    org_id: i64,
    kind: UnitKind,
    name: String,
    address: String,
    contact: String,
    phone: String,
}

struct CadreRow {
    id: i64,
    org_id: i64,
    kind: CadreKind,
    name: String,
    phone: String,
    title: String,
}

struct Plan {
    root_id: i64,
    orgs: Vec<OrgRow>,
    communities: Vec<Community>,
    grids: Vec<GridPlan>,
    units: Vec<UnitRow>,
    cadres: Vec<CadreRow>,
    stations: Vec<(i64, i64)>,
}

impl Plan {
    fn new(opts: &DemoOptions, next: &mut NextIds, ref_year: i32) -> Plan {
        let mut rng = Rng::derive(opts.seed, 1, 0);
        let names = Names::new();
        let n = opts.households;

        let root_id = take(&mut next.org);
        let root_path = OrgPath::root(root_id);
        let mut orgs = vec![OrgRow {
            id: root_id,
            parent_id: None,
            path: root_path.as_str().to_string(),
            kind: OrgKind::StreetCommittee,
            code: STREET_CODE.to_string(),
            name: STREET_NAME.to_string(),
            secretary: names.adult(&mut rng, ref_year),
            phone: Some(landline(&mut rng)),
        }];
        let mut cadres = Vec::new();
        let mut stations = Vec::new();
        let leaders = [
            ("街道党工委书记", CadreKind::Leadership),
            ("街道办事处主任", CadreKind::Leadership),
            ("街道党工委副书记", CadreKind::Leadership),
            ("街道纪工委书记", CadreKind::Leadership),
            ("街道人大工委主任", CadreKind::Leadership),
        ];
        for (title, kind) in leaders.iter().take(rng.range(3, 5) as usize) {
            cadres.push(CadreRow {
                id: take(&mut next.cadre),
                org_id: root_id,
                kind: *kind,
                name: names.adult(&mut rng, ref_year),
                phone: mobile(&mut rng),
                title: title.to_string(),
            });
        }

        let n_comm = ((n as f64 / 4000.0).round() as usize).max(2);
        let comm_households = split(n, n_comm, 0.2, &mut rng);
        // Map: communities in a square, each a square cell sized for its density
        // (about 12,000 households per km²), 40 m of road between cells.
        let avg = n as f64 / n_comm as f64;
        let cell = ((avg / 12_000.0).sqrt() * 1000.0).max(150.0);
        let spacing = cell + 40.0;
        let side = (n_comm as f64).sqrt().ceil() as usize;
        let offset = side as f64 * spacing / 2.0;

        let mut communities = Vec::new();
        let mut grids = Vec::new();
        let mut units = Vec::new();
        for (ci, &hh) in comm_households.iter().enumerate() {
            let word = place(ci);
            let cname = format!("{word}社区");
            let ccode = format!("{STREET_CODE}-SQ{:02}", ci + 1);
            let cid = take(&mut next.org);
            let cpath = root_path.child(cid);
            orgs.push(OrgRow {
                id: cid,
                parent_id: Some(root_id),
                path: cpath.as_str().to_string(),
                kind: OrgKind::CommunityCommittee,
                code: ccode.clone(),
                name: format!("{cname}党委"),
                secretary: names.adult(&mut rng, ref_year),
                phone: Some(landline(&mut rng)),
            });
            let mut roads = vec![format!("{word}路")];
            for _ in 0..rng.range(1, 2) {
                let w = place(rng.below(PLACE_WORDS.len() as u64 * 2) as usize);
                roads.push(format!("{w}{}", rng.pick(ROAD_KINDS)));
            }

            let n_grids = ((hh as f64 / 300.0).round() as usize).max(1);
            let special = rng.chance(0.3);
            let n_branches = (rng.range(3, 8) as usize).min((n_grids + usize::from(special)).max(3));
            let territorial = if special { n_branches - 1 } else { n_branches };
            // (branch id, its party groups)
            let mut branches: Vec<(i64, Vec<i64>)> = Vec::new();
            for bi in 0..n_branches {
                let kind = if bi >= territorial {
                    *rng.pick(&[
                        OrgKind::BranchMarket,
                        OrgKind::BranchEnterprise,
                        OrgKind::BranchEnterprise,
                        OrgKind::BranchAssociation,
                    ])
                } else {
                    [OrgKind::BranchNeighbourhood, OrgKind::BranchGrid, OrgKind::BranchBuilding]
                        [rng.weighted(&[45, 35, 20])]
                };
                let bname = match kind {
                    OrgKind::BranchMarket => format!("{cname}商贸市场党支部"),
                    OrgKind::BranchEnterprise => format!("{cname}非公企业联合党支部"),
                    OrgKind::BranchAssociation => format!("{cname}志愿者协会党支部"),
                    k => format!("{cname}第{}{}", ORDINALS[bi % ORDINALS.len()], k.label()),
                };
                let bcode = format!("{ccode}-ZB{:02}", bi + 1);
                let bid = take(&mut next.org);
                let bpath = cpath.child(bid);
                orgs.push(OrgRow {
                    id: bid,
                    parent_id: Some(cid),
                    path: bpath.as_str().to_string(),
                    kind,
                    code: bcode.clone(),
                    name: bname.clone(),
                    secretary: names.adult(&mut rng, ref_year),
                    phone: None,
                });
                let mut groups = Vec::new();
                for gi in 0..rng.range(1, 3) {
                    let gid = take(&mut next.org);
                    orgs.push(OrgRow {
                        id: gid,
                        parent_id: Some(bid),
                        path: bpath.child(gid).as_str().to_string(),
                        kind: OrgKind::PartyGroup,
                        code: format!("{bcode}-XZ{}", gi + 1),
                        name: format!("{bname}第{}党小组", ORDINALS[gi as usize]),
                        secretary: names.adult(&mut rng, ref_year),
                        phone: None,
                    });
                    groups.push(gid);
                }
                branches.push((bid, groups));
            }

            // Street cadres stationed in the community: one leadership member
            // (包社领导) and one to three street cadres.
            for k in 0..rng.range(2, 4) {
                let (kind, title) = if k == 0 {
                    (CadreKind::Leadership, *rng.pick(&["街道党工委委员", "街道办事处副主任", "街道党工委副书记"]))
                } else {
                    (CadreKind::StreetCadre, *rng.pick(&["党建办科员", "社会事务办干部", "综治办干部", "城管办干部"]))
                };
                let id = take(&mut next.cadre);
                cadres.push(CadreRow {
                    id,
                    org_id: root_id,
                    kind,
                    name: names.adult(&mut rng, ref_year),
                    phone: mobile(&mut rng),
                    title: title.to_string(),
                });
                stations.push((id, cid));
            }

            let col = ci % side;
            let row = ci / side;
            let cx = col as f64 * spacing - offset;
            let cy = row as f64 * spacing - offset;
            let gside = (n_grids as f64).sqrt().ceil() as usize;
            let block = cell / gside as f64;
            let grid_households = split(hh, n_grids, 0.15, &mut rng);
            for (gi, &ghh) in grid_households.iter().enumerate() {
                let (bid, groups) = &branches[gi % territorial];
                // Now and then a party group owns the grid.
                let owner = if rng.chance(0.15) { *rng.pick(groups) } else { *bid };
                let gid = take(&mut next.grid);
                let road = rng.pick(&roads).clone();
                grids.push(GridPlan {
                    id: gid,
                    code: format!("{ccode}-WG{:02}", gi + 1),
                    name: format!("{cname}第{}网格", gi + 1),
                    description: format!("{road}一带，约 {ghh} 户"),
                    owner,
                    community: ci,
                    households: ghh,
                    x: cx + (gi % gside) as f64 * block,
                    y: cy + (gi / gside) as f64 * block,
                    w: block,
                    h: block,
                });
                // Cadres of the grid: one stationed cadre and one grid worker, both
                // stationed in the branch owning the grid (or owning its party group).
                let sc = take(&mut next.cadre);
                cadres.push(CadreRow {
                    id: sc,
                    org_id: root_id,
                    kind: CadreKind::StationedCadre,
                    name: names.adult(&mut rng, ref_year),
                    phone: mobile(&mut rng),
                    title: "驻格干部".to_string(),
                });
                stations.push((sc, *bid));
                let gw = take(&mut next.cadre);
                cadres.push(CadreRow {
                    id: gw,
                    org_id: cid,
                    kind: CadreKind::GridWorker,
                    name: names.adult(&mut rng, ref_year),
                    phone: mobile(&mut rng),
                    title: "专职网格员".to_string(),
                });
                stations.push((gw, *bid));

                // Units of the grid.
                let mut kinds = Vec::new();
                if gi == 0 {
                    kinds.push((UnitKind::Facility, format!("{cname}党群服务中心")));
                }
                for _ in 0..rng.range(2, 4) {
                    let kind = [UnitKind::Shop, UnitKind::Facility, UnitKind::Enterprise, UnitKind::SocialOrg]
                        [rng.weighted(&[40, 25, 20, 15])];
                    let name = match kind {
                        UnitKind::Shop => format!("{}{}", rng.pick(SHOP_WORDS), rng.pick(SHOP_KINDS)),
                        UnitKind::Facility => format!("{cname}{}", rng.pick(FACILITIES)),
                        UnitKind::Enterprise => {
                            format!("{}{}有限公司", rng.pick(FIRM_WORDS), rng.pick(FIRM_KINDS))
                        }
                        UnitKind::SocialOrg => format!("{cname}{}", rng.pick(SOCIAL_ORGS)),
                    };
                    kinds.push((kind, name));
                }
                for (kind, name) in kinds {
                    units.push(UnitRow {
                        id: take(&mut next.unit),
                        grid_id: gid,
                        org_id: owner,
                        kind,
                        name,
                        address: format!("{}{}号", rng.pick(&roads), rng.range(1, 300)),
                        contact: names.adult(&mut rng, ref_year),
                        phone: if rng.chance(0.3) { landline(&mut rng) } else { mobile(&mut rng) },
                    });
                }
            }
            communities.push(Community { name: cname, roads });
        }
        Plan { root_id, orgs, communities, grids, units, cadres, stations }
    }
}

// ---------------------------------------------------------------------------
// People: buildings, households, residents and members, grid by grid.

struct BuildingRow {
    id: i64,
    grid_id: i64,
    org_id: i64,
    name: String,
    address: String,
    units: i64,
    floors: i64,
    x: f64,
    y: f64,
    lat: f64,
    lon: f64,
}

struct HouseholdRow {
    id: i64,
    building_id: i64,
    grid_id: i64,
    org_id: i64,
    unit_no: i64,
    room: String,
    tags: i64,
}

struct ResidentRow {
    id: i64,
    household_id: i64,
    org_id: i64,
    name: String,
    male: bool,
    birth: NaiveDate,
    id_number: String,
    phone: Option<String>,
}

struct MemberRow {
    id: i64,
    resident_id: i64,
    org_id: i64,
    category: MemberCategory,
    status: MemberStatus,
    joined_on: NaiveDate,
    work_unit: Option<String>,
    skills: Option<String>,
    interests: Option<String>,
    free_time: Option<String>,
    central: bool,
}

#[derive(Default)]
struct Chunk {
    buildings: Vec<BuildingRow>,
    households: Vec<HouseholdRow>,
    residents: Vec<ResidentRow>,
    members: Vec<MemberRow>,
}

#[derive(Default)]
struct Counts {
    buildings: u64,
    households: u64,
    residents: u64,
    members: u64,
    central: u64,
}

impl Counts {
    fn add(&mut self, c: &Chunk) {
        self.buildings += c.buildings.len() as u64;
        self.households += c.households.len() as u64;
        self.residents += c.residents.len() as u64;
        self.members += c.members.len() as u64;
        self.central += c.members.iter().filter(|m| m.central).count() as u64;
    }
}

/// How a household member relates to the head (for surnames).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rel {
    Head,
    Spouse,
    Child,
    Elder,
}

struct People<'a> {
    plan: &'a Plan,
    seed: u64,
    ref_date: NaiveDate,
    names: Names,
    ids: IdAlloc,
    next_grid: usize,
    /// Next house number on each road of the current community.
    road_no: Vec<u32>,
    community: usize,
    building: i64,
    household: i64,
    resident: i64,
    member: i64,
    probationary_start: NaiveDate,
    full_end: NaiveDate,
}

/// The date `months` months after `d` (clamped at month ends).
fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_add_months(Months::new(months)).unwrap_or(d)
}

impl<'a> People<'a> {
    fn new(plan: &'a Plan, seed: u64, ref_date: NaiveDate, next: &mut NextIds) -> People<'a> {
        People {
            plan,
            seed,
            ref_date,
            names: Names::new(),
            ids: IdAlloc::new(ref_date),
            next_grid: 0,
            road_no: Vec::new(),
            community: usize::MAX,
            building: next.building,
            household: next.household,
            resident: next.resident,
            member: next.member,
            probationary_start: ref_date - Days::new(364),
            full_end: ref_date - Days::new(366),
        }
    }

    /// Whole grids until at least `min_households` households (None at the end).
    fn next_chunk(&mut self, min_households: u64) -> Option<Chunk> {
        if self.next_grid >= self.plan.grids.len() {
            return None;
        }
        let mut c = Chunk::default();
        while self.next_grid < self.plan.grids.len() && (c.households.len() as u64) < min_households {
            let gi = self.next_grid;
            self.next_grid += 1;
            self.grid(gi, &mut c);
        }
        Some(c)
    }

    fn grid(&mut self, gi: usize, out: &mut Chunk) {
        let plan = self.plan;
        let g = &plan.grids[gi];
        let comm = &plan.communities[g.community];
        if self.community != g.community {
            self.community = g.community;
            self.road_no = vec![0; comm.roads.len()];
        }
        let mut rng = Rng::derive(self.seed, 2, gi as u64);
        let mut left = g.households;
        let margin = (g.w / 10.0).min(15.0);
        let metres_per_deg_lat = 111_320.0;
        let metres_per_deg_lon = 111_320.0 * CENTRE_LAT.to_radians().cos();
        while left > 0 {
            // A compound (小区) at one address, buildings numbered 1幢, 2幢, ...
            let r = rng.below(comm.roads.len() as u64) as usize;
            self.road_no[r] += rng.range(1, 6) as u32;
            let address = format!("{}{}号", comm.roads[r], self.road_no[r]);
            let n_buildings = rng.range(3, 14);
            for no in 1..=n_buildings {
                if left == 0 {
                    break;
                }
                let (mut units, mut floors, rooms) = match rng.weighted(&[55, 25, 20]) {
                    0 => (rng.range(2, 6), rng.range(5, 7), if rng.chance(0.8) { 2 } else { 3 }),
                    1 => (rng.range(1, 3), rng.range(8, 18), rng.range(2, 4)),
                    _ => (rng.range(1, 2), rng.range(18, 33), rng.range(2, 4)),
                };
                // Shrink the last building of the grid to what is left.
                let need = left as i64;
                if units * floors * rooms > need {
                    floors = ((need + units * rooms - 1) / (units * rooms)).max(5);
                    if units * floors * rooms > need {
                        units = ((need + floors * rooms - 1) / (floors * rooms)).max(1);
                    }
                }
                let x = g.x + margin + rng.unit() * (g.w - 2.0 * margin);
                let y = g.y + margin + rng.unit() * (g.h - 2.0 * margin);
                let b = BuildingRow {
                    id: self.building,
                    grid_id: g.id,
                    org_id: g.owner,
                    name: format!("{no}幢"),
                    address: format!("{address}{no}幢"),
                    units,
                    floors,
                    x: (x * 10.0).round() / 10.0,
                    y: (y * 10.0).round() / 10.0,
                    lat: ((CENTRE_LAT + y / metres_per_deg_lat) * 1e6).round() / 1e6,
                    lon: ((CENTRE_LON + x / metres_per_deg_lon) * 1e6).round() / 1e6,
                };
                self.building += 1;
                let first_member = out.members.len();
                'fill: for unit in 1..=units {
                    for floor in 1..=floors {
                        for room in 1..=rooms {
                            if left == 0 {
                                break 'fill;
                            }
                            left -= 1;
                            self.household(&mut rng, g, b.id, unit, format!("{floor}{room:02}"), out);
                        }
                    }
                }
                choose_central(&mut rng, &mut out.members[first_member..], &out.residents, self.ref_date);
                out.buildings.push(b);
            }
        }
    }

    fn household(
        &mut self,
        rng: &mut Rng,
        g: &GridPlan,
        building_id: i64,
        unit_no: i64,
        room: String,
        out: &mut Chunk,
    ) {
        let mut tags = 0i64;
        for (tag, p) in [
            (HouseholdTag::Hardship, 0.03),
            (HouseholdTag::Unemployed, 0.02),
            (HouseholdTag::ElderlyAlone, 0.06),
            (HouseholdTag::LeftBehindChild, 0.01),
            (HouseholdTag::SpecialGroup, 0.005),
            (HouseholdTag::KeyResident, 0.02),
            (HouseholdTag::NewArrival, 0.04),
        ] {
            if rng.chance(p) {
                tags |= tag.bit();
            }
        }
        let elderly = tags & HouseholdTag::ElderlyAlone.bit() != 0;
        if elderly {
            tags &= !HouseholdTag::LeftBehindChild.bit();
        }
        let left_behind = tags & HouseholdTag::LeftBehindChild.bit() != 0;
        let hid = self.household;
        self.household += 1;
        out.households.push(HouseholdRow { id: hid, building_id, grid_id: g.id, org_id: g.owner, unit_no, room, tags });

        let people = compose(rng, elderly, left_behind);
        let head_male = people[0].1;
        let spouse_male = people.iter().find(|p| p.2 == Rel::Spouse).map(|p| p.1);
        let head_surname = self.names.surname(rng);
        let spouse_surname = self.names.surname(rng);
        // Children take the father's surname.
        let family = if !head_male && spouse_male == Some(true) { spouse_surname } else { head_surname };
        let hardship = tags & HouseholdTag::Hardship.bit() != 0;
        for (age, male, rel) in people {
            let surname = match rel {
                Rel::Head => head_surname,
                Rel::Spouse => spouse_surname,
                Rel::Child => family,
                Rel::Elder if male => family,
                Rel::Elder => self.names.surname(rng),
            };
            let days = u64::from(age) * 36525 / 100 + rng.below(365);
            let mut birth = self.ref_date - Days::new(days);
            let name = self.names.full(rng, surname, male, birth.year());
            let id_number = self.ids.assign(&mut birth, male);
            let age = self.ref_date.years_since(birth).unwrap_or(0);
            let phone_p = match age {
                0..=17 => 0.0,
                18..=69 => 0.93,
                70..=79 => 0.6,
                _ => 0.3,
            };
            let phone = rng.chance(phone_p).then(|| mobile(rng));
            let rid = self.resident;
            self.resident += 1;
            out.residents.push(ResidentRow {
                id: rid,
                household_id: hid,
                org_id: g.owner,
                name,
                male,
                birth,
                id_number,
                phone,
            });
            if age >= 18 {
                let p = match age {
                    18..=29 => 0.03,
                    30..=44 => 0.045,
                    45..=59 => 0.055,
                    60..=74 => 0.085,
                    _ => 0.095,
                };
                if rng.chance(p) {
                    let m = self.member(rng, rid, g.owner, birth, age, hardship);
                    out.members.push(m);
                }
            }
        }
    }

    fn member(
        &mut self,
        rng: &mut Rng,
        resident_id: i64,
        org_id: i64,
        birth: NaiveDate,
        age: u32,
        hardship: bool,
    ) -> MemberRow {
        use MemberCategory as C;
        let category = if hardship && rng.chance(0.5) {
            C::Hardship
        } else if age >= 60 {
            [C::Retired, C::Community, C::Hardship, C::Cadre, C::Mobile][rng.weighted(&[80, 12, 4, 2, 2])]
        } else if age >= 50 {
            [C::Retired, C::Community, C::Cadre, C::NonPublic, C::Mobile, C::Hardship]
                [rng.weighted(&[25, 30, 20, 15, 5, 5])]
        } else {
            [C::Community, C::Cadre, C::NonPublic, C::Mobile, C::Hardship][rng.weighted(&[25, 25, 35, 10, 5])]
        };
        let adult = add_months(birth, 12 * 18) + Days::new(1);
        let probationary = age < 20 || rng.chance(0.045);
        let joined_on = if probationary {
            (self.probationary_start + Days::new(rng.below(364))).max(adult).min(self.ref_date)
        } else {
            // Most people join between 18 and about 45.
            let span = age.saturating_sub(19).min(27);
            let at = add_months(adult, 12 * rng.below(u64::from(span) + 1) as u32) + Days::new(rng.below(300));
            at.min(self.full_end).max(adult)
        };
        let work_unit = match category {
            C::Cadre => Some(rng.pick(CADRE_UNITS).to_string()),
            C::Retired => rng.chance(0.7).then(|| rng.pick(RETIRED_UNITS).to_string()),
            C::NonPublic => Some(format!("{}{}有限公司", rng.pick(FIRM_WORDS), rng.pick(FIRM_KINDS))),
            C::Mobile => Some(format!("外出务工（{}）", rng.pick(MOBILE_CITIES))),
            C::Community => rng.chance(0.15).then(|| format!("{}居委会", self.plan.communities[self.community].name)),
            C::Hardship => None,
        };
        let pick_some = |rng: &mut Rng, list: &[&str], p: f64| -> Option<String> {
            if !rng.chance(p) {
                return None;
            }
            let a = *rng.pick(list);
            if rng.chance(0.4) {
                let b = *rng.pick(list);
                if b != a {
                    return Some(format!("{a}、{b}"));
                }
            }
            Some(a.to_string())
        };
        let skills = pick_some(rng, SKILLS, 0.6);
        let interests = pick_some(rng, INTERESTS, 0.7);
        let free_time = match category {
            C::Mobile => Some("节假日".to_string()),
            _ if age >= 60 || category == C::Retired => Some(rng.pick(FREE_OLD).to_string()),
            _ => rng.chance(0.85).then(|| rng.pick(FREE_WORKING).to_string()),
        };
        let id = self.member;
        self.member += 1;
        MemberRow {
            id,
            resident_id,
            org_id,
            category,
            status: if probationary { MemberStatus::Probationary } else { MemberStatus::Full },
            joined_on,
            work_unit,
            skills,
            interests,
            free_time,
            central: false,
        }
    }
}

/// Ages, sexes and relations of one household.
fn compose(rng: &mut Rng, elderly: bool, left_behind: bool) -> Vec<(u32, bool, Rel)> {
    let mut v: Vec<(u32, bool, Rel)> = Vec::with_capacity(5);
    let age = |rng: &mut Rng, lo: i64, hi: i64| rng.range(lo, hi).clamp(0, 99) as u32;
    let couple = |rng: &mut Rng, v: &mut Vec<(u32, bool, Rel)>, lo: i64, hi: i64| {
        let a = age(rng, lo, hi);
        let male = rng.chance(0.7);
        v.push((a, male, Rel::Head));
        let b = (i64::from(a) + rng.range(-3, 4) * if male { -1 } else { 1 }).clamp(20, 99) as u32;
        v.push((b, !male, Rel::Spouse));
        a
    };
    let child = |rng: &mut Rng, v: &mut Vec<(u32, bool, Rel)>, parent: u32| {
        let p = i64::from(parent);
        let gap = rng.range(22, 36).min(p);
        v.push(((p - gap).max(0) as u32, rng.chance(0.51), Rel::Child));
    };
    let elder = |rng: &mut Rng, v: &mut Vec<(u32, bool, Rel)>, head: u32, male: bool| {
        let a = (i64::from(head) + rng.range(24, 32)).min(96) as u32;
        v.push((a, male, Rel::Elder));
    };
    if elderly {
        if rng.chance(0.55) {
            v.push((age(rng, 65, 92), rng.chance(0.35), Rel::Head));
        } else {
            couple(rng, &mut v, 66, 88);
        }
        return v;
    }
    if left_behind {
        let gp = if rng.chance(0.5) {
            couple(rng, &mut v, 55, 76)
        } else {
            let a = age(rng, 55, 78);
            v.push((a, rng.chance(0.4), Rel::Head));
            a
        };
        for _ in 0..rng.range(1, 2) {
            v.push((age(rng, 3, 15).min(gp.saturating_sub(40)), rng.chance(0.5), Rel::Child));
        }
        return v;
    }
    match rng.weighted(&[18, 32, 28, 14, 8]) + 1 {
        1 => {
            let a = if rng.chance(0.65) { age(rng, 20, 45) } else { age(rng, 45, 75) };
            v.push((a, rng.chance(0.55), Rel::Head));
        }
        2 => {
            if rng.chance(0.8) {
                let lo = if rng.chance(0.5) { 22 } else { 50 };
                couple(rng, &mut v, lo, lo + 35);
            } else {
                let a = age(rng, 35, 60);
                v.push((a, rng.chance(0.3), Rel::Head));
                child(rng, &mut v, a);
            }
        }
        3 => {
            if rng.chance(0.8) {
                let a = couple(rng, &mut v, 26, 60);
                child(rng, &mut v, a);
            } else {
                let a = couple(rng, &mut v, 30, 60);
                {
                    let m = rng.chance(0.3);
                    elder(rng, &mut v, a, m);
                }
            }
        }
        4 => {
            let a = couple(rng, &mut v, 28, 50);
            child(rng, &mut v, a);
            if rng.chance(0.6) {
                let first = v[2].0;
                v.push((first.saturating_sub(rng.range(1, 8) as u32), rng.chance(0.51), Rel::Child));
            } else {
                {
                    let m = rng.chance(0.3);
                    elder(rng, &mut v, a, m);
                }
            }
        }
        _ => {
            let a = couple(rng, &mut v, 30, 45);
            child(rng, &mut v, a);
            if rng.chance(0.7) {
                elder(rng, &mut v, a, true);
                elder(rng, &mut v, a, false);
            } else {
                let first = v[2].0;
                v.push((first.saturating_sub(rng.range(1, 8) as u32), rng.chance(0.51), Rel::Child));
                {
                    let m = rng.chance(0.3);
                    elder(rng, &mut v, a, m);
                }
            }
        }
    }
    v
}

/// Mark the 党员中心户 of one building: one, plus one more for every twelve
/// members, preferring full members aged 40–75 who are at home (retired,
/// community), never two in one household.
fn choose_central(rng: &mut Rng, members: &mut [MemberRow], residents: &[ResidentRow], ref_date: NaiveDate) {
    if members.is_empty() {
        return;
    }
    let want = 1 + members.len() / 12;
    // Residents of this building are the tail of `residents`; find by id.
    let first_rid = members[0].resident_id;
    let start = residents.partition_point(|r| r.id < first_rid);
    let resident = |id: i64| residents[start..].iter().find(|r| r.id == id);
    let mut scored: Vec<(u64, usize)> = members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let age = resident(m.resident_id).and_then(|r| ref_date.years_since(r.birth)).unwrap_or(0);
            let mut s = 0u64;
            if m.status == MemberStatus::Full {
                s += 4;
            }
            if (40..=75).contains(&age) {
                s += 2;
            }
            if matches!(m.category, MemberCategory::Retired | MemberCategory::Community) {
                s += 2;
            }
            if m.category == MemberCategory::Mobile {
                s = 0;
            }
            (s * 1000 + rng.below(1000), i)
        })
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut households: Vec<i64> = Vec::new();
    let mut chosen = 0;
    for (_, i) in scored {
        if chosen >= want {
            break;
        }
        let hh = resident(members[i].resident_id).map(|r| r.household_id).unwrap_or(0);
        if households.contains(&hh) {
            continue;
        }
        households.push(hh);
        members[i].central = true;
        chosen += 1;
    }
}

// ---------------------------------------------------------------------------
// Writing.

async fn write_plan(tx: &mut Tx, plan: &Plan, now: DateTime<Utc>) -> Result<(), StoreError> {
    use crate::registry::{cadres, grids, orgs, units};
    let t = plan.root_id;
    let org_rows: Vec<orgs::OrgRecord> = plan
        .orgs
        .iter()
        .map(|o| {
            Ok(orgs::OrgRecord {
                id: OrgId::new(o.id),
                parent_id: o.parent_id.map(OrgId::new),
                path: OrgPath::parse(&o.path)?,
                kind: o.kind,
                code: o.code.clone(),
                name: o.name.clone(),
                secretary: Some(o.secretary.clone()),
                phone: o.phone.clone(),
            })
        })
        .collect::<Result<_, redcell_domain::FieldError>>()?;
    orgs::insert(tx, t, now, &org_rows).await?;
    let grid_rows: Vec<grids::GridRecord> = plan
        .grids
        .iter()
        .map(|g| grids::GridRecord {
            id: GridId::new(g.id),
            org_id: OrgId::new(g.owner),
            code: g.code.clone(),
            name: g.name.clone(),
            description: Some(g.description.clone()),
        })
        .collect();
    grids::insert(tx, t, now, &grid_rows).await?;
    let unit_rows: Vec<units::UnitRecord> = plan
        .units
        .iter()
        .map(|u| units::UnitRecord {
            id: UnitId::new(u.id),
            grid_id: GridId::new(u.grid_id),
            org_id: OrgId::new(u.org_id),
            kind: u.kind,
            name: u.name.clone(),
            address: Some(u.address.clone()),
            contact: Some(u.contact.clone()),
            phone: Some(u.phone.clone()),
        })
        .collect();
    units::insert(tx, t, now, &unit_rows).await?;
    let cadre_rows: Vec<cadres::CadreRecord> = plan
        .cadres
        .iter()
        .map(|c| cadres::CadreRecord {
            id: CadreId::new(c.id),
            org_id: OrgId::new(c.org_id),
            kind: c.kind,
            name: c.name.clone(),
            phone: Some(c.phone.clone()),
            // Grid staff agreed to publish their work phone for residents.
            public_phone: matches!(c.kind, CadreKind::GridWorker | CadreKind::StationedCadre)
                .then(|| work_phone(&c.phone, c.id)),
            title: Some(c.title.clone()),
            member_id: None,
        })
        .collect();
    cadres::insert(tx, t, now, &cadre_rows).await?;
    let stations: Vec<(CadreId, OrgId)> =
        plan.stations.iter().map(|(c, o)| (CadreId::new(*c), OrgId::new(*o))).collect();
    cadres::insert_stations(tx, t, &stations).await?;
    Ok(())
}

/// A work phone for a demo cadre, other than their own: the same first seven
/// digits (a valid mobile prefix), the last four from the cadre's id.
fn work_phone(own: &str, id: i64) -> String {
    let head: String = own.chars().take(7).collect();
    let tail = format!("{:04}", (id * 7919 + 1234) % 10000);
    let phone = format!("{head}{tail}");
    if phone == own { format!("{head}{:04}", (id * 7919 + 1235) % 10000) } else { phone }
}

async fn write_chunk(tx: &mut Tx, tenant: i64, now: DateTime<Utc>, c: &Chunk) -> Result<(), StoreError> {
    use crate::registry::{buildings, households, members, residents};
    let rows: Vec<buildings::BuildingRecord> = c
        .buildings
        .iter()
        .map(|b| buildings::BuildingRecord {
            id: BuildingId::new(b.id),
            grid_id: GridId::new(b.grid_id),
            org_id: OrgId::new(b.org_id),
            name: b.name.clone(),
            address: b.address.clone(),
            units: b.units,
            floors: b.floors,
            x: b.x,
            y: b.y,
            lat: Some(b.lat),
            lon: Some(b.lon),
        })
        .collect();
    buildings::insert(tx, tenant, now, &rows).await?;
    let rows: Vec<households::HouseholdRecord> = c
        .households
        .iter()
        .map(|h| households::HouseholdRecord {
            id: HouseholdId::new(h.id),
            building_id: BuildingId::new(h.building_id),
            grid_id: GridId::new(h.grid_id),
            org_id: OrgId::new(h.org_id),
            unit_no: h.unit_no,
            room: h.room.clone(),
            tags: h.tags,
            note: None,
        })
        .collect();
    households::insert(tx, tenant, now, &rows).await?;
    let rows: Vec<residents::ResidentRecord> = c
        .residents
        .iter()
        .map(|r| residents::ResidentRecord {
            id: ResidentId::new(r.id),
            household_id: Some(HouseholdId::new(r.household_id)),
            org_id: OrgId::new(r.org_id),
            name: r.name.clone(),
            gender: if r.male { Gender::Male } else { Gender::Female },
            birth_date: r.birth,
            id_number: r.id_number.clone(),
            phone: r.phone.clone(),
            note: None,
        })
        .collect();
    residents::insert(tx, tenant, now, &rows).await?;
    let rows: Vec<members::MemberRecord> = c
        .members
        .iter()
        .map(|m| members::MemberRecord {
            id: MemberId::new(m.id),
            resident_id: ResidentId::new(m.resident_id),
            org_id: OrgId::new(m.org_id),
            category: m.category,
            status: m.status,
            joined_on: Some(m.joined_on),
            work_unit: m.work_unit.clone(),
            skills: m.skills.clone(),
            interests: m.interests.clone(),
            free_time: m.free_time.clone(),
            central_household: m.central,
            quals: Default::default(),
        })
        .collect();
    members::insert(tx, tenant, now, &rows).await?;
    Ok(())
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn plan_and_people(households: u64, seed: u64) -> (Plan, NextIds) {
        let mut next =
            NextIds { org: 1, grid: 1, building: 1, household: 1, resident: 1, member: 1, unit: 1, cadre: 1 };
        let opts = DemoOptions { households, seed, ..DemoOptions::default() };
        let plan = Plan::new(&opts, &mut next, 2026);
        (plan, next)
    }

    #[test]
    fn rng_is_stable() {
        // Fixed values: determinism must not change between builds.
        let mut r = Rng::derive(42, 0, 0);
        let a = r.next_u64();
        let mut r2 = Rng::derive(42, 0, 0);
        assert_eq!(a, r2.next_u64());
        let mut s = Rng(0);
        assert_eq!(s.next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn tables_are_deleted_children_first() {
        let t = |s: &str| s.to_string();
        let edges =
            [(t("rows"), t("proposals")), (t("proposals"), t("orgs")), (t("notes"), t("rows")), (t("x"), t("x"))];
        let order = delete_order(vec![t("proposals"), t("rows"), t("notes"), t("x")], &edges);
        assert_eq!(order, ["notes", "rows", "proposals", "x"]);
    }

    #[test]
    fn split_sums_up() {
        let mut r = Rng::derive(1, 2, 3);
        for (total, parts) in [(1u64, 2usize), (1500, 2), (1_000_000, 250), (7, 3)] {
            let v = split(total, parts, 0.2, &mut r);
            assert_eq!(v.len(), parts);
            assert_eq!(v.iter().sum::<u64>(), total);
        }
    }

    #[test]
    fn plan_shape() {
        let (plan, _) = plan_and_people(100_000, 7);
        let comms = plan.orgs.iter().filter(|o| o.kind == OrgKind::CommunityCommittee).count();
        assert_eq!(comms, 25);
        for g in &plan.grids {
            assert!((180..=420).contains(&g.households), "grid of {} households", g.households);
        }
        assert_eq!(plan.grids.iter().map(|g| g.households).sum::<u64>(), 100_000);
        let codes: HashSet<&str> = plan.orgs.iter().map(|o| o.code.as_str()).collect();
        assert_eq!(codes.len(), plan.orgs.len());
        assert!(codes.contains("DEMO-SQ01-ZB01") && codes.contains("DEMO-SQ01-ZB01-XZ1"));
    }

    /// Every ID number of a million households is unique (pure, no database;
    /// about 8 s unoptimised).
    #[test]
    fn a_million_households_have_unique_id_numbers() {
        let (plan, mut next) = plan_and_people(1_000_000, 1);
        let ref_date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let mut people = People::new(&plan, 1, ref_date, &mut next);
        let mut seen: HashSet<u64> = HashSet::with_capacity(3_000_000);
        let mut households = 0;
        while let Some(c) = people.next_chunk(50_000) {
            households += c.households.len();
            for r in &c.residents {
                let n: u64 = r.id_number[..17].parse().unwrap();
                assert!(seen.insert(n), "duplicate {}", r.id_number);
            }
        }
        assert_eq!(households, 1_000_000);
        println!("{} residents, all ID numbers unique", seen.len());
    }

    /// The allocator alone, with a crowded day: numbers stay unique and keep the sex.
    #[test]
    fn id_alloc_moves_to_free_days() {
        let ref_date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let mut ids = IdAlloc::new(ref_date);
        let mut seen = HashSet::new();
        let day = NaiveDate::from_ymd_opt(1980, 6, 1).unwrap();
        for i in 0..3000 {
            let male = i % 3 == 0;
            let mut birth = day;
            let id = ids.assign(&mut birth, male);
            let parsed = IdNumber::parse(&id).unwrap();
            assert_eq!(parsed.birth_date(), birth);
            assert_eq!(parsed.gender() == redcell_domain::Gender::Male, male);
            assert!((birth - day).num_days().abs() <= 5);
            assert!(seen.insert(id));
        }
        // Newborns near the reference date never move into the future.
        for _ in 0..2000 {
            let mut birth = ref_date;
            ids.assign(&mut birth, true);
            assert!(birth <= ref_date);
        }
    }
}
