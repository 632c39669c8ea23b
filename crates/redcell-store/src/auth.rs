//! Accounts, grants and sessions. Sessions live in the database so that any
//! number of server processes can serve the same user.

use crate::audit;
use crate::db::{Db, Tx};
use crate::error::StoreError;
use crate::scope::{Capability, Grant, Principal};
use crate::{Code, args};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Duration, Utc};
use redcell_domain::{FieldError, OrgPath, Role, i18n, role};
use sha2::{Digest, Sha256};

/// Failed logins before the account is locked, and for how long.
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCK_MINUTES: i64 = 15;
/// Sessions expire after this long, or after this long without use.
pub const SESSION_HOURS: i64 = 12;
pub const SESSION_IDLE_MINUTES: i64 = 120;
/// Login attempts allowed from one client address per minute (across all
/// server processes: the count lives in the database).
pub const LOGIN_ATTEMPTS_PER_MINUTE: i64 = 20;

/// Where a request came from (for rate limits, the session list and the audit trail).
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A real argon2 hash to verify against when the username does not exist, so
/// that the answer takes as long as for a real account.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("not-a-real-password-0").unwrap_or_default())
}

pub fn hash_password(pw: &str) -> Result<String, StoreError> {
    Argon2::default()
        .hash_password(pw.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Internal(format!("argon2: {e}")))
}

pub fn verify_password(pw: &str, hash: &str) -> bool {
    Argon2::default().verify_password(pw.as_bytes(), hash).is_ok()
}

/// 32 random bytes as hex.
pub fn random_token() -> Result<String, StoreError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| StoreError::Internal(format!("getrandom: {e}")))?;
    Ok(hex::encode(b))
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct UserRow {
    id: i64,
    tenant_id: i64,
    password_hash: String,
    disabled: bool,
    locked_until: Option<DateTime<Utc>>,
    must_change_password: bool,
}

/// A new session: the bearer/cookie token (shown once) and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
    /// The password was set by an administrator and must be changed now.
    pub must_change_password: bool,
}

/// Create an account with one grant. `org_code` names the organisation.
pub async fn add_user(
    db: &Db,
    username: &str,
    display_name: &str,
    password: &str,
    role: Role,
    org_code: &str,
) -> Result<i64, StoreError> {
    if !role::username_acceptable(username) {
        return Err(FieldError::new("username", "username", i18n::USERNAME_INVALID).into());
    }
    if !role::password_acceptable(password) {
        return Err(FieldError::new("password", "weak", i18n::PASSWORD_WEAK).into());
    }
    let hash = hash_password(password)?;
    let mut tx = db.begin().await?;
    let org: Option<(i64, i64)> =
        tx.opt("SELECT id, tenant_id FROM orgs WHERE code = $1 ORDER BY id LIMIT 1", args![org_code]).await?;
    let Some((org_id, tenant_id)) = org else {
        return Err(FieldError::new("org", "not_found", format!("{}：{org_code}", i18n::NOT_FOUND)).into());
    };
    let exists = tx.int("SELECT COUNT(*) FROM users WHERE username = $1", args![username]).await?;
    if exists > 0 {
        return Err(FieldError::new("username", "duplicate", "用户名已存在").into());
    }
    let name = if display_name.trim().is_empty() { username } else { display_name.trim() };
    let id = tx
        .int(
            "INSERT INTO users (tenant_id, username, display_name, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            args![tenant_id, username, name, hash, Utc::now()],
        )
        .await?;
    grant(&mut tx, tenant_id, id, org_id, role).await?;
    audit::record(
        &mut tx,
        tenant_id,
        None,
        "create",
        "user",
        Some(id),
        &format!("{username} {} @{org_code}", role.code()),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn grant(tx: &mut Tx, tenant_id: i64, user_id: i64, org_id: i64, role: Role) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO grants (tenant_id, user_id, org_id, role) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        args![tenant_id, user_id, org_id, role.code()],
    )
    .await?;
    Ok(())
}

/// Check a password and open a session. Failed attempts count towards a lockout.
pub async fn login(db: &Db, username: &str, password: &str) -> Result<NewSession, StoreError> {
    login_from(db, username, password, &Client::default()).await
}

/// Count an attempt from `ip` in `table` (columns `ip`, `at`); refuse when
/// `max` attempts were already counted in the last `window_minutes`. The one
/// sliding-window limiter for logins and public submissions: counts live in
/// the database so that several server processes share them.
pub(crate) async fn sliding_window_limit(
    db: &Db,
    table: &'static str,
    ip: &str,
    window_minutes: i64,
    max: i64,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let recent = db
        .int(
            &format!("SELECT COUNT(*) FROM {table} WHERE ip = $1 AND at > $2"),
            args![ip, now - Duration::minutes(window_minutes)],
        )
        .await?;
    if recent >= max {
        return Err(StoreError::RateLimited(window_minutes * 60));
    }
    db.exec(&format!("INSERT INTO {table} (ip, at) VALUES ($1, $2)"), args![ip, now]).await?;
    Ok(())
}

/// Count a login attempt from `ip`; refuse when there were too many in the last minute.
async fn rate_limit(db: &Db, ip: &str) -> Result<(), StoreError> {
    sliding_window_limit(db, "login_attempts", ip, 1, LOGIN_ATTEMPTS_PER_MINUTE).await
}

/// Check a password and open a session, recording where the client is.
pub async fn login_from(db: &Db, username: &str, password: &str, client: &Client) -> Result<NewSession, StoreError> {
    if let Some(ip) = &client.ip {
        rate_limit(db, ip).await?;
    }
    let now = Utc::now();
    let user: Option<UserRow> = db
        .opt(
            "SELECT id, tenant_id, password_hash, disabled, locked_until, must_change_password \
             FROM users WHERE username = $1",
            args![username.trim()],
        )
        .await?;
    let Some(user) = user else {
        // Same work as a real check so that timing does not reveal usernames.
        let _ = verify_password(password, dummy_hash());
        return Err(StoreError::Unauthorized);
    };
    if let Some(until) = user.locked_until.filter(|u| *u > now) {
        return Err(StoreError::Locked(until));
    }
    if user.disabled || !verify_password(password, &user.password_hash) {
        let mut tx = db.begin().await?;
        // Count in the database, not from the row read above: parallel guesses
        // must each count, or they could all read the same number and never lock.
        let failed = tx
            .int(
                "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING CAST(failed_logins AS BIGINT)",
                args![user.id],
            )
            .await?;
        let lock = (failed >= MAX_FAILED_LOGINS).then(|| now + Duration::minutes(LOCK_MINUTES));
        if let Some(until) = lock {
            tx.exec("UPDATE users SET failed_logins = 0, locked_until = $1 WHERE id = $2", args![until, user.id])
                .await?;
        }
        let why = if user.disabled { "disabled" } else { "password" };
        audit::record(
            &mut tx,
            user.tenant_id,
            Some(user.id),
            "login_failed",
            "user",
            Some(user.id),
            &client_detail(client, why),
        )
        .await?;
        tx.commit().await?;
        return Err(match lock {
            Some(until) => StoreError::Locked(until),
            None => StoreError::Unauthorized,
        });
    }
    let token = random_token()?;
    let csrf = random_token()?;
    let expires_at = now + Duration::hours(SESSION_HOURS);
    let mut tx = db.begin().await?;
    tx.exec("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1", args![user.id]).await?;
    tx.exec(
        "INSERT INTO sessions (token_hash, tenant_id, user_id, csrf, created_at, expires_at, last_seen, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $5, $7, $8)",
        args![token_hash(&token), user.tenant_id, user.id, csrf.clone(), now, expires_at, client.ip.clone(),
            client.user_agent.as_deref().map(|u| u.chars().take(200).collect::<String>())],
    )
    .await?;
    audit::record(&mut tx, user.tenant_id, Some(user.id), "login", "user", Some(user.id), &client_detail(client, ""))
        .await?;
    tx.commit().await?;
    Ok(NewSession { token, csrf, expires_at, must_change_password: user.must_change_password })
}

fn client_detail(c: &Client, why: &str) -> String {
    let mut parts = Vec::new();
    if !why.is_empty() {
        parts.push(why.to_string());
    }
    if let Some(ip) = &c.ip {
        parts.push(format!("ip={ip}"));
    }
    parts.join(" ")
}

pub async fn logout(db: &Db, token: &str) -> Result<(), StoreError> {
    db.exec("DELETE FROM sessions WHERE token_hash = $1", args![token_hash(token)]).await?;
    Ok(())
}

/// The caller behind a session token, with the CSRF token of that session.
pub async fn principal(db: &Db, token: &str) -> Result<(Principal, String), StoreError> {
    let s = session(db, token).await?;
    Ok((s.principal, s.csrf))
}

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub csrf: String,
    pub must_change_password: bool,
}

/// Resolve a session token: not expired, not idle too long, account enabled.
/// Marks the session as used (at most once a minute, to spare the database).
pub async fn session(db: &Db, token: &str) -> Result<Session, StoreError> {
    let now = Utc::now();
    let hash = token_hash(token);
    type Row = (i64, i64, String, String, String, bool, Option<DateTime<Utc>>);
    let row: Option<Row> = db
        .opt(
            "SELECT u.id, u.tenant_id, u.username, u.display_name, s.csrf, u.must_change_password, s.last_seen \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = FALSE \
             AND (s.last_seen IS NULL OR s.last_seen > $3)",
            args![hash.clone(), now, now - Duration::minutes(SESSION_IDLE_MINUTES)],
        )
        .await?;
    let (user_id, tenant_id, username, display_name, csrf, must_change_password, last_seen) =
        row.ok_or(StoreError::Unauthorized)?;
    // Written only when a minute has passed: an UPDATE that matches nothing
    // still takes SQLite's write lock, so the check is made here, not in SQL.
    if last_seen.is_none_or(|l| l < now - Duration::minutes(1)) {
        db.exec(
            "UPDATE sessions SET last_seen = $1 WHERE token_hash = $2 AND (last_seen IS NULL OR last_seen < $3)",
            args![now, hash, now - Duration::minutes(1)],
        )
        .await?;
    }
    let grants: Vec<(i64, String, String, Code<Role>)> = db
        .all(
            "SELECT o.id, o.name, o.path, g.role FROM grants g \
             JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id \
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
    Ok(Session {
        principal: Principal { user_id, tenant_id, username, display_name, grants },
        csrf,
        must_change_password,
    })
}

/// Remove expired sessions (called from time to time by the server).
pub async fn purge_expired_sessions(db: &Db) -> Result<u64, StoreError> {
    let now = Utc::now();
    db.exec("DELETE FROM login_attempts WHERE at < $1", args![now - Duration::days(1)]).await?;
    db.exec(
        "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen < $2",
        args![now, now - Duration::minutes(SESSION_IDLE_MINUTES)],
    )
    .await
}

/// Ensure the caller has `cap` somewhere; used before actions that are not tied to one row.
pub fn require(p: &Principal, cap: Capability) -> Result<(), StoreError> {
    if p.scope(cap).is_empty() { Err(StoreError::Forbidden) } else { Ok(()) }
}
