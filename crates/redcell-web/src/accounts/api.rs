//! Accounts, the audit trail and revealing personal data over the API.

use crate::Shared;
use crate::api::{JsonBody, Q};
use crate::auth::ApiUser;
use crate::error::{ApiResult, ErrorBody, bad_json};
use crate::kit::{Surface, gates};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use redcell_store::accounts::{self, Account, AccountDetail, NewAccount};
use redcell_store::audit::{self, AuditFilter, Entry};
use redcell_store::registry::{Page, Paged};
use serde::Deserialize;
use utoipa_axum::routes;

/// Search the audit trail (auditors only).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditFilter, Page),
    responses((status = 200, body = Paged<Entry>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn audit_log(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(f): Q<AuditFilter>,
    Q(page): Q<Page>,
) -> ApiResult<Json<Paged<Entry>>> {
    Ok(Json(audit::search(&s.db, &p, &f, page).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Username or name contains.
    pub q: Option<String>,
}

/// Accounts the caller manages.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery, Page),
    responses((status = 200, body = Paged<Account>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_users(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<UserQuery>,
    Q(page): Q<Page>,
) -> ApiResult<Json<Paged<Account>>> {
    redcell_store::auth::require(&p, redcell_domain::Capability::ManageUsers)?;
    Ok(Json(accounts::list(&s.db, &p, q.q.as_deref(), page).await?))
}

/// Create an account with one grant; the user must change the password at first login.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewAccount,
    responses((status = 201, body = AccountDetail), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_user(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<AccountDetail>)> {
    let n: NewAccount = serde_json::from_value(body).map_err(|e| bad_json(&e.to_string()))?;
    let id = accounts::create(&s.db, &p, &n).await?;
    Ok((StatusCode::CREATED, Json(accounts::get(&s.db, &p, id).await?)))
}

/// One account with its grants and live sessions.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = AccountDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_user(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
) -> ApiResult<Json<AccountDetail>> {
    Ok(Json(accounts::get(&s.db, &p, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserChange {
    /// Disable (true) or enable (false) the account.
    pub disabled: Option<bool>,
    /// A temporary password to set.
    pub password: Option<String>,
    /// Clear a lockout.
    #[serde(default)]
    pub unlock: bool,
}

/// Disable or enable an account, reset its password, or unlock it.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UserChange,
    responses((status = 200, body = AccountDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_user(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<AccountDetail>> {
    let c: UserChange = serde_json::from_value(body).map_err(|e| bad_json(&e.to_string()))?;
    // Refuse a bad password before changing anything: no half-applied PATCH.
    if let Some(pw) = c.password.as_deref()
        && !redcell_domain::role::password_acceptable(pw)
    {
        let e = redcell_domain::FieldError::new("password", "weak", redcell_domain::i18n::PASSWORD_WEAK);
        return Err(e.into());
    }
    if let Some(d) = c.disabled {
        accounts::set_disabled(&s.db, &p, id, d).await?;
    }
    if let Some(pw) = c.password.as_deref() {
        accounts::reset_password(&s.db, &p, id, pw).await?;
    }
    if c.unlock {
        accounts::unlock(&s.db, &p, id).await?;
    }
    Ok(Json(accounts::get(&s.db, &p, id).await?))
}

/// Accounts (managers of users) and the audit trail (auditors).
pub fn mount(s: &mut Surface) {
    s.api(gates::AUDIT, routes!(audit_log))
        .api(gates::USERS, routes!(list_users, create_user))
        // One's own account too (its sessions): the service decides.
        .api(gates::SIGNED_IN, routes!(get_user, update_user));
}
