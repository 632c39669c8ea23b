//! Idempotency keys of API writes: the first answer to a write sent with a
//! key is kept for a day, and a retry with the same key (a client that never
//! got the answer: a dropped connection, a server stopped mid-request) gets
//! that answer back instead of a second write.

use crate::args;
use crate::db::Db;
use crate::error::StoreError;
use crate::scope::Principal;
use chrono::{DateTime, Duration, Utc};

/// How long an answer is kept.
pub const KEPT: Duration = Duration::hours(24);
/// The longest key accepted.
pub const MAX_KEY: usize = 200;

/// What a key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: it is now held for this request, to be answered with
    /// [`answer`] (or released with [`release`] when the write failed).
    Fresh,
    /// A request with this key is still being answered.
    InFlight,
    /// Answered before, for the same request: status, content type, body.
    Answered { status: u16, content_type: String, body: String },
    /// Used before for a different request.
    Mismatch,
}

type Row = (String, i64, String, String, DateTime<Utc>);

/// What identifies a request: its method, path with query, and body.
pub fn request_hash(method: &str, path: &str, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// Claim `key` for the caller's request (identified by `hash`).
pub async fn claim(db: &Db, p: &Principal, key: &str, hash: &str) -> Result<Claim, StoreError> {
    let now = Utc::now();
    let existing: Option<Row> = db
        .opt(
            "SELECT request_hash, status, content_type, body, created_at FROM idempotency_keys \
             WHERE tenant_id = $1 AND user_id = $2 AND idem_key = $3",
            args![p.tenant_id, p.user_id, key],
        )
        .await?;
    if let Some((h, status, ct, body, at)) = existing {
        if now - at < KEPT {
            return Ok(if h != hash {
                Claim::Mismatch
            } else if status == 0 {
                Claim::InFlight
            } else {
                Claim::Answered { status: status as u16, content_type: ct, body }
            });
        }
        db.exec(
            "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND user_id = $2 AND idem_key = $3",
            args![p.tenant_id, p.user_id, key],
        )
        .await?;
    }
    let inserted = db
        .exec(
            "INSERT INTO idempotency_keys (tenant_id, user_id, idem_key, request_hash, status, content_type, body, created_at) \
             VALUES ($1, $2, $3, $4, 0, '', '', $5) ON CONFLICT DO NOTHING",
            args![p.tenant_id, p.user_id, key, hash, now],
        )
        .await?;
    // Lost a race with the same key: the other request holds it.
    Ok(if inserted == 1 { Claim::Fresh } else { Claim::InFlight })
}

/// Keep the answer of the request that holds `key`.
pub async fn answer(
    db: &Db,
    p: &Principal,
    key: &str,
    status: u16,
    content_type: &str,
    body: &str,
) -> Result<(), StoreError> {
    db.exec(
        "UPDATE idempotency_keys SET status = $1, content_type = $2, body = $3 \
         WHERE tenant_id = $4 AND user_id = $5 AND idem_key = $6",
        args![i64::from(status), content_type, body, p.tenant_id, p.user_id, key],
    )
    .await?;
    Ok(())
}

/// Free `key` (the write it held did not happen), so a retry runs again.
pub async fn release(db: &Db, p: &Principal, key: &str) -> Result<(), StoreError> {
    db.exec(
        "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND user_id = $2 AND idem_key = $3 AND status = 0",
        args![p.tenant_id, p.user_id, key],
    )
    .await?;
    Ok(())
}

/// Drop answers older than [`KEPT`]. Returns how many.
pub async fn purge(db: &Db) -> Result<u64, StoreError> {
    db.exec("DELETE FROM idempotency_keys WHERE created_at < $1", args![Utc::now() - KEPT]).await
}
