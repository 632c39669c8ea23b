//! One-time revisit links: staff (or the handler) mint a link for a resolved
//! request; the resident answers through it without an account. Only the
//! token's hash is kept.

use super::act::{ActInput, Step, apply};
use super::public::{PublicView, public_view};
use super::{get, get_in, resident_principal, roles_of};
use crate::args;
use crate::audit;
use crate::auth;
use crate::calendar;
use crate::db::Db;
use crate::error::StoreError;
use crate::scope::Principal;
use chrono::{DateTime, Duration, Utc};
use redcell_domain::ids::*;
use redcell_domain::requests::{
    Action, ActorRole, Ctx, FixOutcome, RequestState, Satisfaction, TransitionError, transition,
};
use redcell_domain::{FieldError, i18n};
use sha2::{Digest, Sha256};

/// How long a revisit link stays valid.
pub const REVISIT_LINK_DAYS: i64 = 14;

fn token_hash(t: &str) -> String {
    hex::encode(Sha256::digest(t.as_bytes()))
}

/// Issue a one-time revisit link for a resolved request (its staff or its
/// handler). The token is returned once; only its hash is kept.
pub async fn revisit_link(db: &Db, p: &Principal, id: RequestId) -> Result<String, StoreError> {
    let r = get(db, p, id).await?;
    if !roles_of(p, &r).iter().any(|x| matches!(x, ActorRole::Staff | ActorRole::Handler)) {
        return Err(StoreError::Forbidden);
    }
    if r.state() != RequestState::Resolved {
        return Err(TransitionError::NotAllowed { from: r.state(), action: Action::Revisit }.field_error().into());
    }
    let token = auth::random_token()?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    tx.exec(
        "INSERT INTO revisit_links (tenant_id, request_id, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        args![r.tenant_id, r.id, token_hash(&token), now + Duration::days(REVISIT_LINK_DAYS), now],
    )
    .await?;
    audit::record(&mut tx, r.tenant_id, Some(p.user_id), "revisit_link", "request", Some(r.id.get()), &r.code).await?;
    tx.commit().await?;
    Ok(token)
}

/// A live link (internal: never shown).
#[derive(sqlx::FromRow)]
struct LinkRow {
    id: i64,
    tenant_id: i64,
    request_id: RequestId,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

async fn link(db: &Db, token: &str) -> Result<LinkRow, StoreError> {
    let l: Option<LinkRow> = db
        .opt(
            "SELECT id, tenant_id, request_id, expires_at, used_at FROM revisit_links WHERE token_hash = $1",
            args![token_hash(token.trim())],
        )
        .await?;
    let l = l.ok_or_else(|| FieldError::new("token", "invalid", i18n::REQ_LINK_INVALID))?;
    if l.used_at.is_some() {
        return Err(FieldError::new("token", "used", i18n::REQ_LINK_USED).into());
    }
    if l.expires_at < Utc::now() {
        return Err(FieldError::new("token", "expired", i18n::REQ_LINK_EXPIRED).into());
    }
    Ok(l)
}

/// The request a revisit link is for (public view), or why the link cannot be used.
pub async fn revisit_target(db: &Db, token: &str) -> Result<PublicView, StoreError> {
    let l = link(db, token).await?;
    let (code,): (String,) =
        db.one("SELECT code FROM requests WHERE tenant_id = $1 AND id = $2", args![l.tenant_id, l.request_id]).await?;
    Ok(public_view(db, &code).await?.1)
}

/// The service hours members logged against the request a link is for that
/// wait for confirmation: the resident served may confirm them with their
/// answer.
pub async fn revisit_hours(db: &Db, token: &str) -> Result<Vec<crate::volunteer::Hours>, StoreError> {
    let l = link(db, token).await?;
    crate::volunteer::pending_for_request(&mut db.conn(), l.tenant_id, l.request_id.get()).await
}

/// The resident answers through the link: fixed closes the request, partly
/// leaves it revisited for the back office, not fixed reopens it with the
/// comment as the reason; the service hours ticked in `confirm` (pending
/// hours logged against this request) are confirmed by the resident served.
/// The link is spent in the same transaction.
pub async fn revisit_by_link(
    db: &Db,
    token: &str,
    outcome: FixOutcome,
    satisfaction: Satisfaction,
    comment: Option<&str>,
    confirm: &[i64],
) -> Result<RequestState, StoreError> {
    let l = link(db, token).await?;
    let cal = calendar::load(db, l.tenant_id).await?;
    let mut tx = db.begin().await?;
    let spent = tx
        .exec(
            "UPDATE revisit_links SET used_at = $1 WHERE tenant_id = $2 AND id = $3 AND used_at IS NULL",
            args![Utc::now(), l.tenant_id, l.id],
        )
        .await?;
    if spent == 0 {
        return Err(FieldError::new("token", "used", i18n::REQ_LINK_USED).into());
    }
    let r = get_in(&mut tx, l.tenant_id, l.request_id).await?;
    let comment = comment.map(str::trim).filter(|c| !c.is_empty()).map(|c| c.chars().take(500).collect::<String>());
    let reason = match (outcome, &comment) {
        (FixOutcome::NotFixed, None) => Some("居民回访：问题未解决".to_string()),
        _ => comment.clone(),
    };
    let ctx = Ctx { has_note: reason.is_some(), outcome: Some(outcome), ..Ctx::default() };
    let to = transition(r.state(), Action::Revisit, ActorRole::Resident, &ctx)
        .map_err(|e| StoreError::from(e.field_error()))?;
    let resident = resident_principal(r.tenant_id);
    let input = ActInput { outcome: Some(outcome), satisfaction: Some(satisfaction), ..ActInput::default() };
    let step = Step {
        action: Action::Revisit,
        to,
        role: ActorRole::Resident,
        input: &input,
        note: reason.as_deref(),
        dup_id: None,
    };
    apply(&mut tx, &cal, &resident, &r, step).await?;
    let mut end = to;
    if to == RequestState::Revisited && outcome == FixOutcome::Fixed {
        let r2 = get_in(&mut tx, r.tenant_id, r.id).await?;
        end = transition(r2.state(), Action::Close, ActorRole::System, &Ctx::default())
            .map_err(|e| StoreError::from(e.field_error()))?;
        let none = ActInput::default();
        let step =
            Step { action: Action::Close, to: end, role: ActorRole::System, input: &none, note: None, dup_id: None };
        apply(&mut tx, &cal, &resident, &r2, step).await?;
    }
    crate::volunteer::confirm_by_resident(&mut tx, r.tenant_id, r.id.get(), confirm).await?;
    tx.commit().await?;
    Ok(end)
}
