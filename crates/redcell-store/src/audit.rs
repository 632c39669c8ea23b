//! The audit trail: one row per change, written in the transaction of the change.

use crate::args;
use crate::db::Tx;
use crate::error::StoreError;
use chrono::Utc;

pub async fn record(
    tx: &mut Tx,
    tenant_id: i64,
    user_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    detail: &str,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO audit_log (tenant_id, at, user_id, action, entity, entity_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![tenant_id, Utc::now(), user_id, action, entity, entity_id, detail],
    )
    .await?;
    Ok(())
}
