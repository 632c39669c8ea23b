//! Accounts, the audit trail, revealing personal data, and files: the pages of
//! access control and privacy.

use crate::Shared;
use crate::auth::{PageUser, url_encode};
use crate::kit::{Surface, gates};
use crate::pages::{CheckedForm, Nav, PageResult, Pager, render, render_status};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use redcell_domain::{Capability, Role, i18n};
use redcell_store::accounts::{self, AccountDetail, NewAccount};
use redcell_store::audit::{self, AuditFilter};
use redcell_store::registry::{Page, Paged};
use redcell_store::{Db, Principal, StoreError};
use serde::Deserialize;

/// Roles the caller may grant somewhere.
fn grantable_roles(p: &Principal) -> Vec<(String, String)> {
    Role::ALL
        .iter()
        .filter(|r| p.grants.iter().any(|g| g.role.can(Capability::ManageUsers) && g.role.may_grant(**r)))
        .map(|r| (r.code().to_string(), r.label().to_string()))
        .collect()
}

/// Organisations where the caller manages accounts.
async fn manageable_orgs(db: &Db, p: &Principal) -> Result<Vec<(String, String)>, StoreError> {
    crate::registry::pages::org_options(db, p, Capability::ManageUsers, u8::MAX).await
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    nav: Option<Nav>,
    q: String,
    list: Paged<accounts::Account>,
    pager: Pager,
    csrf: String,
    form: NewAccount,
    roles: Vec<(String, String)>,
    orgs: Vec<(String, String)>,
    error: Option<String>,
    exports: Vec<crate::export::ExportLink>,
}

#[derive(Deserialize)]
struct UsersQuery {
    q: Option<String>,
    page: Option<u32>,
}

async fn users_page(
    db: &Db,
    u: &PageUser,
    q: &UsersQuery,
    form: NewAccount,
    error: Option<String>,
) -> Result<Response, StoreError> {
    redcell_store::auth::require(&u.p, Capability::ManageUsers)?;
    let list = accounts::list(db, &u.p, q.q.as_deref(), Page { page: q.page, per_page: Some(50) }).await?;
    let pager = Pager::of(&list, format!("/admin/users?q={}&", url_encode(q.q.as_deref().unwrap_or(""))));
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let exports = if u.p.grants.iter().any(|g| g.role.can(Capability::Export) && g.role.can(Capability::ManageUsers)) {
        let q = q.q.clone().unwrap_or_default();
        vec![crate::export::link::<redcell_store::accounts::AccountList>("账号列表", &[("q", q)])]
    } else {
        vec![]
    };
    let page = UsersPage {
        nav: Nav::of(u),
        q: q.q.clone().unwrap_or_default(),
        list,
        pager,
        csrf: u.csrf.clone(),
        form,
        roles: grantable_roles(&u.p),
        orgs: manageable_orgs(db, &u.p).await?,
        error,
        exports,
    };
    Ok(render_status(status, &page))
}

async fn users(u: PageUser, State(s): State<Shared>, Query(q): Query<UsersQuery>) -> PageResult {
    Ok(users_page(&s.db, &u, &q, NewAccount::default(), None).await?)
}

async fn create_user(u: PageUser, State(s): State<Shared>, body: Bytes) -> PageResult {
    let CheckedForm(f) = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let n = NewAccount {
        username: f.get("username").unwrap_or("").to_string(),
        display_name: f.get("display_name").unwrap_or("").to_string(),
        password: f.get("password").unwrap_or("").to_string(),
        role: f.get("role").unwrap_or("").to_string(),
        org_id: f.get("org_id").and_then(|x| x.parse().ok()).unwrap_or(0),
    };
    match accounts::create(&s.db, &u.p, &n).await {
        Ok(id) => Ok(Redirect::to(&format!("/admin/users/{id}")).into_response()),
        Err(StoreError::Invalid(inv)) => {
            let n = NewAccount { password: String::new(), ..n };
            Ok(users_page(&s.db, &u, &UsersQuery { q: None, page: None }, n, Some(inv.to_string())).await?)
        }
        Err(StoreError::Denied(f)) => {
            Ok(users_page(&s.db, &u, &UsersQuery { q: None, page: None }, n, Some(f.message)).await?)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    nav: Option<Nav>,
    d: AccountDetail,
    locked: Option<String>,
    csrf: String,
    roles: Vec<(String, String)>,
    orgs: Vec<(String, String)>,
    message: Option<String>,
    error: Option<String>,
    can_revoke: bool,
    revoke_base: String,
}

fn local_time(t: chrono::DateTime<chrono::Utc>) -> String {
    (t + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string()
}

async fn user_page(
    db: &Db,
    u: &PageUser,
    id: i64,
    message: Option<String>,
    error: Option<String>,
) -> Result<Response, StoreError> {
    redcell_store::auth::require(&u.p, Capability::ManageUsers)?;
    let d = accounts::get(db, &u.p, id).await?;
    let locked = d.account.locked_until.filter(|t| *t > chrono::Utc::now()).map(local_time);
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let can_revoke = d.manageable;
    let page = UserPage {
        nav: Nav::of(u),
        d,
        locked,
        csrf: u.csrf.clone(),
        roles: grantable_roles(&u.p),
        orgs: manageable_orgs(db, &u.p).await?,
        message,
        error,
        can_revoke,
        revoke_base: format!("/admin/users/{id}/sessions"),
    };
    Ok(render_status(status, &page))
}

async fn user(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    Ok(user_page(&s.db, &u, id, None, None).await?)
}

/// Run an account action from a form, then show the account with a message or the error.
async fn user_action(u: PageUser, s: Shared, id: i64, body: Bytes, action: &str) -> PageResult {
    let CheckedForm(f) = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let (db, p) = (&s.db, &u.p);
    let role = || Role::parse("role", f.get("role").unwrap_or(""));
    let org = || f.get("org_id").and_then(|x| x.parse::<i64>().ok()).unwrap_or(0);
    let result = match action {
        "disable" => accounts::set_disabled(db, p, id, true).await.map(|_| "账号已停用，其会话已全部注销"),
        "enable" => accounts::set_disabled(db, p, id, false).await.map(|_| "账号已启用"),
        "unlock" => accounts::unlock(db, p, id).await.map(|_| "已解除锁定"),
        "password" => accounts::reset_password(db, p, id, f.get("password").unwrap_or(""))
            .await
            .map(|_| "密码已重置，该用户下次登录须修改密码"),
        "grant" => match role() {
            Ok(r) => accounts::add_grant(db, p, id, org(), r).await.map(|_| "已增加授权"),
            Err(e) => Err(e.into()),
        },
        "revoke" => match role() {
            Ok(r) => accounts::remove_grant(db, p, id, org(), r).await.map(|_| "已撤销授权"),
            Err(e) => Err(e.into()),
        },
        _ => Err(StoreError::NotFound),
    };
    match result {
        Ok(msg) => Ok(user_page(db, &u, id, Some(msg.to_string()), None).await?),
        Err(StoreError::Invalid(inv)) => Ok(user_page(db, &u, id, None, Some(inv.to_string())).await?),
        Err(StoreError::Denied(f)) => Ok(user_page(db, &u, id, None, Some(f.message)).await?),
        Err(e) => Err(e.into()),
    }
}

macro_rules! action_handler {
    ($name:ident, $action:literal) => {
        async fn $name(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
            user_action(u, s, id, body, $action).await
        }
    };
}
action_handler!(disable_user, "disable");
action_handler!(enable_user, "enable");
action_handler!(unlock_user, "unlock");
action_handler!(reset_user_password, "password");
action_handler!(add_grant, "grant");
action_handler!(remove_grant, "revoke");

async fn revoke_session(
    u: PageUser,
    State(s): State<Shared>,
    Path((id, sid)): Path<(i64, String)>,
    body: Bytes,
) -> PageResult {
    if let Err(r) = CheckedForm::check(&u, &s.db, &body).await {
        return Ok(r);
    }
    accounts::revoke_session(&s.db, &u.p, id, &sid).await?;
    if id == u.p.user_id {
        return Ok(Redirect::to("/account").into_response());
    }
    Ok(user_page(&s.db, &u, id, Some("会话已注销".into()), None).await?)
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    nav: Option<Nav>,
    d: AccountDetail,
    csrf: String,
    must_change: bool,
    message: Option<String>,
    old_error: Option<String>,
    new_error: Option<String>,
    can_revoke: bool,
    revoke_base: String,
}

async fn account_page(
    db: &Db,
    u: &PageUser,
    message: Option<String>,
    err: Option<redcell_domain::Invalid>,
) -> Result<Response, StoreError> {
    let d = accounts::get(db, &u.p, u.p.user_id).await?;
    let status = if err.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = AccountPage {
        nav: Nav::of(u),
        d,
        csrf: u.csrf.clone(),
        must_change: u.must_change_password,
        message,
        old_error: err.as_ref().and_then(|e| e.for_field("old_password")).map(str::to_string),
        new_error: err.as_ref().and_then(|e| e.for_field("new_password")).map(str::to_string),
        can_revoke: true,
        revoke_base: format!("/account/sessions/{}", u.p.user_id),
    };
    Ok(render_status(status, &page))
}

async fn account(u: PageUser, State(s): State<Shared>) -> PageResult {
    Ok(account_page(&s.db, &u, None, None).await?)
}

async fn change_password(u: PageUser, State(s): State<Shared>, body: Bytes) -> PageResult {
    let CheckedForm(f) = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    match accounts::change_own_password(
        &s.db,
        &u.p,
        f.get("old_password").unwrap_or(""),
        f.get("new_password").unwrap_or(""),
    )
    .await
    {
        Ok(()) => {
            let u = PageUser { must_change_password: false, ..u };
            Ok(account_page(&s.db, &u, Some("密码已修改".into()), None).await?)
        }
        Err(StoreError::Invalid(inv)) => Ok(account_page(&s.db, &u, None, Some(inv)).await?),
        Err(e) => Err(e.into()),
    }
}

async fn revoke_own_session(
    u: PageUser,
    State(s): State<Shared>,
    Path((id, sid)): Path<(i64, String)>,
    body: Bytes,
) -> PageResult {
    revoke_session(u, State(s), Path((id, sid)), body).await
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    f: AuditForm,
    actions: &'static [(&'static str, &'static str)],
    list: Paged<audit::Entry>,
    pager: Pager,
    exports: Vec<crate::export::ExportLink>,
}

/// The audit filter as typed (strings, so that a half-filled form round-trips).
#[derive(Deserialize, Default, Clone, serde::Serialize)]
struct AuditForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(skip_serializing)]
    page: Option<u32>,
}

impl AuditForm {
    fn filter(&self) -> Result<AuditFilter, redcell_domain::FieldError> {
        let date = |field: &str, v: &str| redcell_domain::text::parse_date(field, v);
        let entity_id = if self.entity_id.trim().is_empty() {
            None
        } else {
            Some(
                self.entity_id
                    .trim()
                    .parse()
                    .map_err(|_| redcell_domain::FieldError::new("entity_id", "number", i18n::NUMBER_INVALID))?,
            )
        };
        Ok(AuditFilter {
            username: Some(self.username.clone()),
            action: Some(self.action.clone()),
            entity: Some(self.entity.clone()),
            entity_id,
            from: date("from", &self.from)?,
            to: date("to", &self.to)?,
        })
    }
    fn query(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

async fn audit_page(u: PageUser, State(s): State<Shared>, Query(f): Query<AuditForm>) -> PageResult {
    let filter = f.filter()?;
    let list = audit::search(&s.db, &u.p, &filter, Page { page: f.page, per_page: Some(100) }).await?;
    let query = f.query();
    let pager = Pager::of(&list, format!("/audit?{query}&"));
    let exports =
        vec![crate::export::ExportLink { label: "审计日志".into(), href: format!("/export/audit?{query}") }];
    Ok(render(&AuditPage { nav: Nav::of(&u), f, actions: i18n::AUDIT_ACTIONS, list, pager, exports }))
}

/// The audit trail matching the filter as CSV (the address the audit page
/// has always offered; the same export as `/export/audit`, which also writes xlsx).
async fn audit_export(u: PageUser, State(s): State<Shared>, Query(f): Query<AuditForm>) -> PageResult {
    let query = format!("{}&format=csv", f.query());
    Ok(crate::export::download(&s.db, &u.p, &redcell_store::audit::AuditList, &query).await?)
}

/// Account management (managers of users), one's own account (anyone signed
/// in) and the audit trail (auditors over the whole tenant).
pub fn mount(s: &mut Surface) {
    s.get("/admin/users", gates::USERS, users)
        .post("/admin/users", gates::USERS, create_user)
        .get("/admin/users/{id}", gates::USERS, user)
        .post("/admin/users/{id}/disable", gates::USERS, disable_user)
        .post("/admin/users/{id}/enable", gates::USERS, enable_user)
        .post("/admin/users/{id}/unlock", gates::USERS, unlock_user)
        .post("/admin/users/{id}/password", gates::USERS, reset_user_password)
        .post("/admin/users/{id}/grants", gates::USERS, add_grant)
        .post("/admin/users/{id}/grants/remove", gates::USERS, remove_grant)
        .post("/admin/users/{id}/sessions/{sid}/revoke", gates::USERS, revoke_session)
        .get("/account", gates::SIGNED_IN, account)
        .get("/account/password", gates::SIGNED_IN, account)
        .post("/account/password", gates::SIGNED_IN, change_password)
        .post("/account/sessions/{id}/{sid}/revoke", gates::SIGNED_IN, revoke_own_session)
        .get("/audit", gates::AUDIT, audit_page)
        .get("/audit/export.csv", gates::AUDIT, audit_export);
    s.nav(80, "/admin/users", "账号管理", gates::USERS).nav(90, "/audit", "审计日志", gates::AUDIT);
}
