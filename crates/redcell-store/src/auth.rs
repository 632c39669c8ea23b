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
/// Sessions expire after this long.
pub const SESSION_HOURS: i64 = 12;

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
}

/// A new session: the bearer/cookie token (shown once) and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
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
    let org: Option<(i64, i64)> = tx
        .opt("SELECT id, tenant_id FROM orgs WHERE code = $1 ORDER BY id LIMIT 1", args![org_code])
        .await?;
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
    audit::record(&mut tx, tenant_id, None, "create", "user", Some(id), &format!("{username} {} @{org_code}", role.code())).await?;
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
    let now = Utc::now();
    let user: Option<UserRow> = db
        .opt(
            "SELECT id, tenant_id, password_hash, disabled, locked_until \
             FROM users WHERE username = $1",
            args![username.trim()],
        )
        .await?;
    let Some(user) = user else {
        // Same work as a real check so that timing does not reveal usernames.
        let _ = verify_password(password, "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2J2vKq2m1r0v8bY8mR7oX3k0cQ7m0zq4YlQH6b0o6oQ");
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
            tx.exec("UPDATE users SET failed_logins = 0, locked_until = $1 WHERE id = $2", args![until, user.id]).await?;
        }
        audit::record(&mut tx, user.tenant_id, Some(user.id), "login_failed", "user", Some(user.id), "").await?;
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
        "INSERT INTO sessions (token_hash, tenant_id, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![token_hash(&token), user.tenant_id, user.id, csrf.clone(), now, expires_at],
    )
    .await?;
    audit::record(&mut tx, user.tenant_id, Some(user.id), "login", "user", Some(user.id), "").await?;
    tx.commit().await?;
    Ok(NewSession { token, csrf, expires_at })
}

pub async fn logout(db: &Db, token: &str) -> Result<(), StoreError> {
    db.exec("DELETE FROM sessions WHERE token_hash = $1", args![token_hash(token)]).await?;
    Ok(())
}

/// The caller behind a session token, with the CSRF token of that session.
pub async fn principal(db: &Db, token: &str) -> Result<(Principal, String), StoreError> {
    let row: Option<(i64, i64, String, String, String)> = db
        .opt(
            "SELECT u.id, u.tenant_id, u.username, u.display_name, s.csrf FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = FALSE",
            args![token_hash(token), Utc::now()],
        )
        .await?;
    let (user_id, tenant_id, username, display_name, csrf) = row.ok_or(StoreError::Unauthorized)?;
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
    Ok((Principal { user_id, tenant_id, username, display_name, grants }, csrf))
}

/// Remove expired sessions (called from time to time by the server).
pub async fn purge_expired_sessions(db: &Db) -> Result<u64, StoreError> {
    db.exec("DELETE FROM sessions WHERE expires_at <= $1", args![Utc::now()]).await
}

/// Ensure the caller has `cap` somewhere; used before actions that are not tied to one row.
pub fn require(p: &Principal, cap: Capability) -> Result<(), StoreError> {
    if p.scope(cap).is_empty() { Err(StoreError::Forbidden) } else { Ok(()) }
}
