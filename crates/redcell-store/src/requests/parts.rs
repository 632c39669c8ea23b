//! 联办件: the parts of the participating units (the coordinator is the
//! handler); 上报件: the chases of the named contact at the level above.

use super::{HistoryRecord, Request, get, history, roles_of};
use crate::args;
use crate::audit;
use crate::db::Db;
use crate::error::StoreError;
use crate::scope::Principal;
use crate::types::Code;
use chrono::{DateTime, Duration, Utc};
use redcell_domain::ids::*;
use redcell_domain::requests::{ActorRole, ErrandClass, PartStatus};
use redcell_domain::{FieldError, Text, i18n};
use serde::Serialize;

/// One participating unit's part of a 联办件.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Part {
    pub id: i64,
    pub participant: String,
    pub part: String,
    #[schema(value_type = String)]
    pub status: Code<PartStatus>,
    pub updated_at: DateTime<Utc>,
}

impl Part {
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }
}

/// One chase of a 上报件's contact.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Chase {
    pub id: i64,
    pub contact: String,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

impl Chase {
    pub fn local(&self) -> String {
        (self.at + Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string()
    }
}

/// An open request the caller works on as its staff or its handler.
async fn worked_on(db: &Db, p: &Principal, id: RequestId) -> Result<Request, StoreError> {
    let r = get(db, p, id).await?;
    if !roles_of(p, &r).iter().any(|x| matches!(x, ActorRole::Staff | ActorRole::Handler)) {
        return Err(StoreError::Forbidden);
    }
    if !r.state().is_open() {
        return Err(FieldError::new("action", "closed", i18n::REQ_NOT_ALLOWED).into());
    }
    Ok(r)
}

/// An internal note in the request's history (parts and chases).
fn note_row<'a>(r: &Request, p: &Principal, action: &'a str, note: &'a str) -> HistoryRecord<'a> {
    HistoryRecord {
        request: r.id,
        at: Utc::now(),
        actor: Some(p.user()),
        role: ActorRole::Staff,
        acting_for: None,
        action,
        from: r.state(),
        to: r.state(),
        note: Some(note),
        public: false,
    }
}

/// Add a participating unit's part to a 联办件.
pub async fn add_part(db: &Db, p: &Principal, id: RequestId, participant: &str, part: &str) -> Result<(), StoreError> {
    let r = worked_on(db, p, id).await?;
    if r.class.0 != ErrandClass::Joint {
        return Err(FieldError::new("participant", "class", i18n::REQ_PART_JOINT_ONLY).into());
    }
    let participant = Text::required("participant", participant, 60)?.into_string();
    let part = Text::required("part", part, 300)?.into_string();
    let mut tx = db.begin().await?;
    tx.exec(
        "INSERT INTO request_parts (tenant_id, request_id, participant, part, status, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![r.tenant_id, r.id, participant.as_str(), part.as_str(), PartStatus::Pending.code(), Utc::now()],
    )
    .await?;
    let note = format!("{participant}：{part}");
    history(&mut tx, r.tenant_id, note_row(&r, p, "part", &note)).await?;
    audit::record(&mut tx, r.tenant_id, Some(p.user_id), "request_part", "request", Some(r.id.get()), &note).await?;
    tx.commit().await
}

/// Change the status of one part of the request.
pub async fn set_part_status(
    db: &Db,
    p: &Principal,
    id: RequestId,
    part_id: i64,
    status: PartStatus,
) -> Result<(), StoreError> {
    let r = worked_on(db, p, id).await?;
    let mut tx = db.begin().await?;
    let n = tx
        .exec(
            "UPDATE request_parts SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND request_id = $4 AND id = $5",
            args![status.code(), Utc::now(), r.tenant_id, r.id, part_id],
        )
        .await?;
    if n == 0 {
        return Err(FieldError::new("part_id", "not_found", i18n::REQ_PART_NOT_FOUND).into());
    }
    let note = format!("协办事项 #{part_id}：{}", status.label());
    history(&mut tx, r.tenant_id, note_row(&r, p, "part", &note)).await?;
    audit::record(&mut tx, r.tenant_id, Some(p.user_id), "request_part", "request", Some(r.id.get()), &note).await?;
    tx.commit().await
}

/// The parts of a request the caller may see.
pub async fn parts(db: &Db, p: &Principal, id: RequestId) -> Result<Vec<Part>, StoreError> {
    let r = get(db, p, id).await?;
    db.all(
        "SELECT id, participant, part, status, updated_at FROM request_parts WHERE tenant_id = $1 AND request_id = $2 ORDER BY id",
        args![r.tenant_id, r.id],
    )
    .await
}

/// Log a chase of a 上报件's named contact at the level above.
pub async fn chase(db: &Db, p: &Principal, id: RequestId, contact: &str, note: Option<&str>) -> Result<(), StoreError> {
    let r = worked_on(db, p, id).await?;
    if r.class.0 != ErrandClass::Escalated {
        return Err(FieldError::new("contact", "class", i18n::REQ_CHASE_ESCALATED_ONLY).into());
    }
    let contact = Text::required("contact", contact, 60)?.into_string();
    let note = note.map(str::trim).filter(|n| !n.is_empty()).map(|n| n.chars().take(300).collect::<String>());
    let mut tx = db.begin().await?;
    tx.exec(
        "INSERT INTO request_chases (tenant_id, request_id, contact, at, note, by_user_id) VALUES ($1, $2, $3, $4, $5, $6)",
        args![r.tenant_id, r.id, contact.as_str(), Utc::now(), note.clone(), p.user_id],
    )
    .await?;
    let text = format!("催报 {contact}{}", note.as_deref().map(|n| format!("：{n}")).unwrap_or_default());
    history(&mut tx, r.tenant_id, note_row(&r, p, "chase", &text)).await?;
    audit::record(&mut tx, r.tenant_id, Some(p.user_id), "request_chase", "request", Some(r.id.get()), &text).await?;
    tx.commit().await
}

/// The chases of a request the caller may see.
pub async fn chases(db: &Db, p: &Principal, id: RequestId) -> Result<Vec<Chase>, StoreError> {
    let r = get(db, p, id).await?;
    db.all(
        "SELECT id, contact, at, note FROM request_chases WHERE tenant_id = $1 AND request_id = $2 ORDER BY id",
        args![r.tenant_id, r.id],
    )
    .await
}
