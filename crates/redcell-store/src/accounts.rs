//! Account management: create, disable, unlock, reset passwords, grant and
//! revoke roles, see and revoke sessions. A manager acts only on accounts whose
//! every grant lies inside their `ManageUsers` scope and carries a role they may
//! grant; every change is audited in its own transaction.

use crate::audit::{self, Actor};
use crate::auth::{SESSION_IDLE_MINUTES, hash_password, verify_password};
use crate::db::{Args, Db, Tx};
use crate::error::StoreError;
use crate::export::{Exportable, Mask, Right, local_time, yes};
use crate::registry::{Page, Paged, like, paged};
use crate::scope::{Capability, Principal};
use crate::{Code, args};
use chrono::{DateTime, Duration, Utc};
use redcell_domain::export::Column;
use redcell_domain::{FieldError, OrgPath, Role, i18n, role};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    pub locked_until: Option<DateTime<Utc>>,
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AccountGrant {
    pub org_id: i64,
    pub org_name: String,
    pub path: String,
    #[schema(value_type = String)]
    pub role: Code<Role>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SessionInfo {
    /// The first 16 hex characters of the token's hash: enough to name it, useless to use it.
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub last_seen: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountDetail {
    pub account: Account,
    pub grants: Vec<AccountGrant>,
    pub sessions: Vec<SessionInfo>,
    /// May the caller change this account?
    pub manageable: bool,
}

/// A new account as typed in a form or sent to the API.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct NewAccount {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub password: String,
    #[schema(value_type = redcell_domain::Role)]
    pub role: String,
    pub org_id: i64,
}

pub(crate) const ACCOUNT: &str =
    "SELECT u.id, u.username, u.display_name, u.disabled, u.locked_until, u.must_change_password, u.created_at";

/// Accounts with at least one grant inside the caller's management scope.
pub async fn list(db: &Db, p: &Principal, q: Option<&str>, page: Page) -> Result<Paged<Account>, StoreError> {
    let (from_where, a) = filtered(p, q);
    paged(db, ACCOUNT, &from_where, "u.username", a, page).await
}

/// The `FROM ... WHERE ...` of the account list and its arguments.
pub(crate) fn filtered(p: &Principal, q: Option<&str>) -> (String, Args) {
    let mut a = Args::new();
    let scope = p.scope(Capability::ManageUsers);
    let c = scope.orgs("o", &mut a);
    let mut w = format!(
        "u.id IN (SELECT g.user_id FROM grants g JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id WHERE {c})"
    );
    if let Some(q) = q.filter(|q| !q.trim().is_empty()) {
        let n = a.push(like(q));
        w.push_str(&format!(" AND (u.username LIKE {n} ESCAPE '\\' OR u.display_name LIKE {n} ESCAPE '\\')"));
    }
    (format!("users u WHERE {w}"), a)
}

async fn grants_of(db: &Db, id: i64) -> Result<Vec<AccountGrant>, StoreError> {
    db.all(
        "SELECT o.id AS org_id, o.name AS org_name, o.path, g.role FROM grants g \
         JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id WHERE g.user_id = $1 ORDER BY o.path, g.role",
        args![id],
    )
    .await
}

/// May `p` grant `role` on an organisation at `path`?
fn may_grant_at(p: &Principal, path: &OrgPath, role: Role) -> bool {
    p.grants.iter().any(|g| g.role.can(Capability::ManageUsers) && g.path.contains(path) && g.role.may_grant(role))
}

/// Can `p` see the account, and may they change it?
fn visibility(p: &Principal, grants: &[AccountGrant]) -> (bool, bool) {
    let scope = p.scope(Capability::ManageUsers);
    let paths: Vec<(OrgPath, Role)> =
        grants.iter().filter_map(|g| OrgPath::parse(&g.path).ok().map(|path| (path, g.role.0))).collect();
    let visible = paths.iter().any(|(path, _)| scope.contains(path));
    let manageable = !paths.is_empty() && paths.iter().all(|(path, role)| may_grant_at(p, path, *role));
    (visible, manageable)
}

pub async fn get(db: &Db, p: &Principal, id: i64) -> Result<AccountDetail, StoreError> {
    let grants = grants_of(db, id).await?;
    let (visible, manageable) = visibility(p, &grants);
    if !visible && id != p.user_id {
        return Err(StoreError::NotFound);
    }
    let account: Account = db.one(&format!("{ACCOUNT} FROM users u WHERE u.id = $1"), args![id]).await?;
    let sessions = db
        .all(
            "SELECT substr(token_hash, 1, 16) AS id, created_at, last_seen, expires_at, ip, user_agent FROM sessions \
             WHERE user_id = $1 AND expires_at > $2 AND (last_seen IS NULL OR last_seen > $3) ORDER BY created_at DESC",
            args![id, Utc::now(), Utc::now() - Duration::minutes(SESSION_IDLE_MINUTES)],
        )
        .await?;
    Ok(AccountDetail { account, grants, sessions, manageable: manageable && id != p.user_id })
}

/// Load the target and check the caller may change it (not themselves).
async fn manageable(db: &Db, p: &Principal, id: i64) -> Result<(), StoreError> {
    let d = get(db, p, id).await?;
    if id == p.user_id || !d.manageable {
        return Err(StoreError::Forbidden);
    }
    Ok(())
}

async fn log(tx: &mut Tx, p: &Principal, action: &str, id: i64, detail: &str) -> Result<(), StoreError> {
    audit::record(tx, p.tenant_id, Some(p.user_id), action, "user", Some(id), detail).await
}

pub async fn create(db: &Db, p: &Principal, n: &NewAccount) -> Result<i64, StoreError> {
    let role = Role::parse("role", &n.role)?;
    let mut e = redcell_domain::Invalid::default();
    if !role::username_acceptable(n.username.trim()) {
        e.push(FieldError::new("username", "username", i18n::USERNAME_INVALID));
    }
    if !role::password_acceptable(&n.password) {
        e.push(FieldError::new("password", "weak", i18n::PASSWORD_WEAK));
    }
    let name = redcell_domain::Text::parse("display_name", &n.display_name, 40)?;
    e.into_result()?;
    let org = crate::registry::orgs::get(db, p, redcell_domain::OrgId::new(n.org_id))
        .await
        .map_err(|_| FieldError::new("org_id", "not_found", i18n::NOT_FOUND))?;
    if !may_grant_at(p, &org.org_path(), role) {
        return Err(StoreError::Denied(FieldError::new("role", "scope", "您不能在该组织授予此角色")));
    }
    let hash = hash_password(&n.password)?;
    let mut tx = db.begin().await?;
    if tx.int("SELECT COUNT(*) FROM users WHERE username = $1", args![n.username.trim()]).await? > 0 {
        return Err(FieldError::new("username", "duplicate", "用户名已存在").into());
    }
    let display = if name.as_str().is_empty() { n.username.trim().to_string() } else { name.into_string() };
    let id = tx
        .int(
            "INSERT INTO users (tenant_id, username, display_name, password_hash, created_at, created_by, must_change_password) \
             VALUES ($1, $2, $3, $4, $5, $6, TRUE) RETURNING id",
            args![org.tenant_id, n.username.trim(), display, hash, Utc::now(), p.user_id],
        )
        .await?;
    crate::auth::grant(&mut tx, org.tenant_id, id, org.id.get(), role).await?;
    log(&mut tx, p, "create", id, &format!("{} {} @{}", n.username.trim(), role.code(), org.code)).await?;
    log(&mut tx, p, "grant", id, &format!("{} @{}", role.code(), org.code)).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn set_disabled(db: &Db, p: &Principal, id: i64, disabled: bool) -> Result<(), StoreError> {
    manageable(db, p, id).await?;
    let mut tx = db.begin().await?;
    tx.exec("UPDATE users SET disabled = $1 WHERE id = $2", args![disabled, id]).await?;
    if disabled {
        tx.exec("DELETE FROM sessions WHERE user_id = $1", args![id]).await?;
    }
    log(&mut tx, p, if disabled { "disable" } else { "enable" }, id, "").await?;
    tx.commit().await
}

pub async fn unlock(db: &Db, p: &Principal, id: i64) -> Result<(), StoreError> {
    manageable(db, p, id).await?;
    let mut tx = db.begin().await?;
    tx.exec("UPDATE users SET locked_until = NULL, failed_logins = 0 WHERE id = $1", args![id]).await?;
    log(&mut tx, p, "unlock", id, "").await?;
    tx.commit().await
}

/// Set a temporary password; the user must change it at next login, and all
/// their sessions end.
pub async fn reset_password(db: &Db, p: &Principal, id: i64, password: &str) -> Result<(), StoreError> {
    manageable(db, p, id).await?;
    if !role::password_acceptable(password) {
        return Err(FieldError::new("password", "weak", i18n::PASSWORD_WEAK).into());
    }
    let hash = hash_password(password)?;
    let mut tx = db.begin().await?;
    tx.exec(
        "UPDATE users SET password_hash = $1, must_change_password = TRUE, failed_logins = 0, locked_until = NULL WHERE id = $2",
        args![hash, id],
    )
    .await?;
    tx.exec("DELETE FROM sessions WHERE user_id = $1", args![id]).await?;
    log(&mut tx, p, "reset_password", id, "").await?;
    tx.commit().await
}

/// Change one's own password (the old one is required).
pub async fn change_own_password(db: &Db, p: &Principal, old: &str, new: &str) -> Result<(), StoreError> {
    let (hash,): (String,) = db.one("SELECT password_hash FROM users WHERE id = $1", args![p.user_id]).await?;
    if !verify_password(old, &hash) {
        return Err(FieldError::new("old_password", "wrong", "原密码不正确").into());
    }
    if !role::password_acceptable(new) {
        return Err(FieldError::new("new_password", "weak", i18n::PASSWORD_WEAK).into());
    }
    if old == new {
        return Err(FieldError::new("new_password", "same", "新密码不能与原密码相同").into());
    }
    let hash = hash_password(new)?;
    let mut tx = db.begin().await?;
    tx.exec(
        "UPDATE users SET password_hash = $1, must_change_password = FALSE, password_changed_at = $2 WHERE id = $3",
        args![hash, Utc::now(), p.user_id],
    )
    .await?;
    log(&mut tx, p, "change_password", p.user_id, "").await?;
    tx.commit().await
}

pub async fn add_grant(db: &Db, p: &Principal, id: i64, org_id: i64, role: Role) -> Result<(), StoreError> {
    manageable(db, p, id).await?;
    let org = crate::registry::orgs::get(db, p, redcell_domain::OrgId::new(org_id))
        .await
        .map_err(|_| FieldError::new("org_id", "not_found", i18n::NOT_FOUND))?;
    if !may_grant_at(p, &org.org_path(), role) {
        return Err(StoreError::Denied(FieldError::new("role", "scope", "您不能在该组织授予此角色")));
    }
    let (tenant,): (i64,) = db.one("SELECT tenant_id FROM users WHERE id = $1", args![id]).await?;
    if tenant != org.tenant_id {
        return Err(FieldError::new("org_id", "not_found", i18n::NOT_FOUND).into());
    }
    let mut tx = db.begin().await?;
    crate::auth::grant(&mut tx, org.tenant_id, id, org.id.get(), role).await?;
    log(&mut tx, p, "grant", id, &format!("{} @{}", role.code(), org.code)).await?;
    tx.commit().await
}

pub async fn remove_grant(db: &Db, p: &Principal, id: i64, org_id: i64, role: Role) -> Result<(), StoreError> {
    manageable(db, p, id).await?;
    let grants = grants_of(db, id).await?;
    if !grants.iter().any(|g| g.org_id == org_id && g.role.0 == role) {
        return Err(StoreError::NotFound);
    }
    if grants.len() == 1 {
        return Err(FieldError::new("role", "last", "这是该账号唯一的授权；如需停用请禁用账号").into());
    }
    let mut tx = db.begin().await?;
    tx.exec("DELETE FROM grants WHERE user_id = $1 AND org_id = $2 AND role = $3", args![id, org_id, role.code()])
        .await?;
    tx.exec("DELETE FROM sessions WHERE user_id = $1", args![id]).await?;
    log(&mut tx, p, "revoke_grant", id, &format!("{} @{org_id}", role.code())).await?;
    tx.commit().await
}

/// End one session of an account (by the id shown in the session list). A user
/// may end their own sessions; a manager those of accounts they manage.
pub async fn revoke_session(db: &Db, p: &Principal, user_id: i64, session_id: &str) -> Result<(), StoreError> {
    if user_id != p.user_id {
        manageable(db, p, user_id).await?;
    }
    if session_id.len() != 16 || !session_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::NotFound);
    }
    let mut tx = db.begin().await?;
    let n = tx
        .exec("DELETE FROM sessions WHERE user_id = $1 AND substr(token_hash, 1, 16) = $2", args![user_id, session_id])
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    log(&mut tx, p, "revoke_session", user_id, session_id).await?;
    tx.commit().await
}

/// Record a refused attempt (forged CSRF token, forbidden access) on its own.
pub async fn refused(db: &Db, p: &Principal, what: &str, detail: &str) -> Result<(), StoreError> {
    audit::access(db, p.tenant_id, Actor::of(p), what, "request", None, detail).await
}

/// The account search box as a filter.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountFilter {
    /// Username or name contains.
    pub q: Option<String>,
}

/// The account list as a file (导出): `Export` and `ManageUsers` on one grant.
pub struct AccountList;

impl Exportable for AccountList {
    const CODE: &'static str = "users";
    const LABEL: &'static str = "账号列表";
    const TAG: &'static str = "users";
    const RIGHT: Right = Right::ExportAccounts;
    type Filter = AccountFilter;
    type Row = Account;
    fn columns(_m: Mask) -> Vec<Column> {
        vec![
            Column::ident("用户名"),
            Column::text("姓名"),
            Column::text("状态"),
            Column::text("锁定至"),
            Column::text("须修改密码"),
            Column::text("创建时间"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        Ok(crate::export::sql(filtered(q, f.q.as_deref()), ACCOUNT, "u.username"))
    }
    fn cells(u: &Account, _m: Mask) -> Vec<String> {
        vec![
            u.username.clone(),
            u.display_name.clone(),
            if u.disabled { "已停用" } else { "正常" }.to_string(),
            u.locked_until.filter(|t| *t > chrono::Utc::now()).map(local_time).unwrap_or_default(),
            yes(u.must_change_password),
            local_time(u.created_at),
        ]
    }
}

/// The exportable lists of accounts.
pub fn exports() -> Vec<&'static dyn crate::export::ExportList> {
    vec![&AccountList]
}
