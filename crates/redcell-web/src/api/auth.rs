use crate::Shared;
use crate::auth::ApiUser;
use crate::error::{ApiResult, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use redcell_store::scope::Principal;
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The password was set by an administrator; change it on the account page.
    pub must_change_password: bool,
}

/// Log in with a username and password; answers a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(s): State<Shared>,
    parts: axum::http::request::Parts,
    super::JsonBody(body): super::JsonBody,
) -> ApiResult<Json<LoginResponse>> {
    let req: LoginRequest = serde_json::from_value(body).map_err(|e| crate::error::bad_json(&e.to_string()))?;
    let sess = redcell_store::auth::login_from(
        &s.db,
        &req.username,
        &req.password,
        &crate::auth::client(&parts, s.trust_forwarded),
    )
    .await?;
    Ok(Json(LoginResponse {
        token: sess.token,
        expires_at: sess.expires_at,
        must_change_password: sess.must_change_password,
    }))
}

/// End the session of the bearer token.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)), security(("bearer" = [])))]
pub async fn logout(State(s): State<Shared>, _u: ApiUser, headers: HeaderMap) -> ApiResult<StatusCode> {
    if let Some(t) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    {
        redcell_store::auth::logout(&s.db, t.trim()).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub username: String,
    pub display_name: String,
    pub grants: Vec<MeGrant>,
}

/// A role held on an organisation (and its subtree).
#[derive(Serialize, utoipa::ToSchema)]
pub struct MeGrant {
    pub org_id: i64,
    pub org_name: String,
    #[schema(value_type = redcell_domain::Role)]
    pub role: String,
}

/// The caller and their grants.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn me(ApiUser(p): ApiUser) -> Json<Me> {
    Json(me_of(&p))
}

fn me_of(p: &Principal) -> Me {
    Me {
        username: p.username.clone(),
        display_name: p.display_name.clone(),
        grants: p
            .grants
            .iter()
            .map(|g| MeGrant { org_id: g.org_id, org_name: g.org_name.clone(), role: g.role.code().to_string() })
            .collect(),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    pub old_password: String,
    pub new_password: String,
}

/// Change one's own password (required after an administrator set it).
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn change_password(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    super::JsonBody(body): super::JsonBody,
) -> ApiResult<StatusCode> {
    let req: PasswordChange = serde_json::from_value(body).map_err(|e| crate::error::bad_json(&e.to_string()))?;
    redcell_store::accounts::change_own_password(&s.db, &p, &req.old_password, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Signing in and out over the API, and the caller's own account.
pub fn mount(s: &mut crate::kit::Surface) {
    s.api(crate::kit::gates::PUBLIC, routes!(login))
        .api(crate::kit::gates::SIGNED_IN, routes!(logout))
        .api(crate::kit::gates::SIGNED_IN, routes!(me))
        .api(crate::kit::gates::SIGNED_IN, routes!(change_password));
}
