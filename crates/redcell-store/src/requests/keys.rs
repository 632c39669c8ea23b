//! Open311 API keys per tenant. While a tenant has no active key, posting a
//! request through Open311 stays open; once it has one, a POST must carry a
//! matching `api_key`. The key is shown once; only its hash is kept.

use crate::args;
use crate::audit;
use crate::db::Db;
use crate::error::StoreError;
use crate::scope::Principal;
use chrono::{DateTime, Utc};
use redcell_domain::ids::ApiKeyId;
use redcell_domain::{FieldError, Text, i18n};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A key as listed on the settings page: never the key nor its hash.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    pub fn created_local(&self) -> String {
        (self.created_at + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string()
    }
}

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.trim().as_bytes()))
}

/// The tenant's keys, newest first (without the keys themselves).
/// Keys are a setting of the tenant (`EditRegistry` over its root).
pub async fn list(db: &Db, p: &Principal) -> Result<Vec<ApiKey>, StoreError> {
    super::tenant_settings(p)?;
    db.all(
        "SELECT id, label, created_at, revoked_at FROM open311_keys WHERE tenant_id = $1 ORDER BY id DESC",
        args![p.tenant_id],
    )
    .await
}

/// Issue a key for a client named `label`; the key is returned once.
pub async fn create(db: &Db, p: &Principal, label: &str) -> Result<String, StoreError> {
    super::tenant_settings(p)?;
    let label = Text::required("label", label, 60)?.into_string();
    let key = crate::auth::random_token()?;
    let mut tx = db.begin().await?;
    let id = tx
        .int(
            "INSERT INTO open311_keys (tenant_id, label, key_hash, created_at, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            args![p.tenant_id, label.as_str(), hash(&key), Utc::now(), p.user_id],
        )
        .await?;
    audit::record(
        &mut tx,
        p.tenant_id,
        Some(p.user_id),
        "open311_key",
        "open311_key",
        Some(id),
        &format!("新建：{label}"),
    )
    .await?;
    tx.commit().await?;
    Ok(key)
}

/// Revoke a key (it stops working at once).
pub async fn revoke(db: &Db, p: &Principal, id: ApiKeyId) -> Result<(), StoreError> {
    super::tenant_settings(p)?;
    let mut tx = db.begin().await?;
    let n = tx
        .exec(
            "UPDATE open311_keys SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL",
            args![Utc::now(), p.tenant_id, id],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "open311_key", "open311_key", Some(id.get()), "吊销").await?;
    tx.commit().await
}

/// May a client post to the tenant's Open311 endpoint with `key`? Yes when the
/// tenant has no active key; otherwise only with one of them.
pub async fn check(db: &Db, tenant_id: i64, key: Option<&str>) -> Result<(), StoreError> {
    let active = db
        .int("SELECT COUNT(*) FROM open311_keys WHERE tenant_id = $1 AND revoked_at IS NULL", args![tenant_id])
        .await?;
    if active == 0 {
        return Ok(());
    }
    let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
        return Err(StoreError::Denied(FieldError::new("api_key", "required", i18n::OPEN311_KEY_REQUIRED)));
    };
    let ok = db
        .int(
            "SELECT COUNT(*) FROM open311_keys WHERE tenant_id = $1 AND key_hash = $2 AND revoked_at IS NULL",
            args![tenant_id, hash(key)],
        )
        .await?;
    if ok == 0 {
        return Err(StoreError::Denied(FieldError::new("api_key", "invalid", i18n::OPEN311_KEY_INVALID)));
    }
    Ok(())
}
