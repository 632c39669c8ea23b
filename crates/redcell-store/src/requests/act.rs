//! Actions on a request: the state machine decides from the caller's
//! capacities ([`super::roles_of`]); every id in the input is checked here.

use super::{HistoryRecord, Request, get, get_in, history, roles_of, uid};
use crate::audit;
use crate::calendar;
use crate::db::{Args, Tx};
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use chrono::Utc;
use redcell_domain::calendar::{HolidayCalendar, shanghai_date};
use redcell_domain::ids::*;
use redcell_domain::requests::{
    Action, ActorRole, Ctx, ErrandClass, FixOutcome, RequestState, Satisfaction, TransitionError, due_date, transition,
};
use redcell_domain::{FieldError, i18n};

/// One action on a request, with its input.
#[derive(Debug, Clone, Default)]
pub struct ActInput {
    pub note: Option<String>,
    /// assign: the handler, an account holding `HandleRequests` over the request's organisation.
    pub handler_user_id: Option<UserId>,
    /// mark_duplicate: the follow code of a request the caller can see.
    pub duplicate_of: Option<String>,
    pub outcome: Option<FixOutcome>,
    pub satisfaction: Option<Satisfaction>,
    /// The person acted for (a resident on whose behalf staff records something).
    pub acting_for: Option<String>,
    /// The note is internal (not shown to the resident).
    pub internal: bool,
}

/// The actions the caller may take on a request now.
pub fn actions_for(p: &Principal, r: &Request) -> Vec<Action> {
    let mut out: Vec<Action> = Vec::new();
    for role in roles_of(p, r) {
        let handled = r.handler_user_id.is_some();
        let mine = handled && r.handler_user_id == uid(p);
        for a in redcell_domain::requests::allowed_actions_on(r.state(), role, r.materials_requested, handled, mine) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

/// The request a follow code names, among those in the caller's read scope
/// (the queue's): another branch's code is as unknown as a code that does
/// not exist.
async fn duplicate_target(tx: &mut Tx, p: &Principal, r: &Request, code: &str) -> Result<RequestId, StoreError> {
    let mut a = Args::new();
    let cond = p.scope(Capability::ReadRegistry).rows("r", &mut a);
    let c = a.push(code.to_ascii_uppercase());
    let me = a.push(r.id);
    let found: Option<(RequestId,)> =
        tx.opt(&format!("SELECT r.id FROM requests r WHERE {cond} AND r.code = {c} AND r.id <> {me}"), a).await?;
    found
        .map(|(id,)| id)
        .ok_or_else(|| FieldError::new("duplicate_of", "unknown", i18n::REQ_DUPLICATE_NOT_FOUND).into())
}

/// Take an action on a request as the caller. The state machine decides; the
/// change is a conditional update on the state read, so two people acting at
/// once cannot both succeed.
pub async fn act(
    db: &crate::Db,
    p: &Principal,
    id: RequestId,
    action: Action,
    input: ActInput,
) -> Result<Request, StoreError> {
    let r = get(db, p, id).await?;
    let roles = roles_of(p, &r);
    if roles.is_empty() {
        return Err(StoreError::Forbidden);
    }
    let cal = calendar::load(db, r.tenant_id).await?;
    let mut tx = db.begin().await?;
    let r = get_in(&mut tx, r.tenant_id, id).await?;
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
    if note.as_deref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(FieldError::new("note", "too_long", i18n::REQ_NOTE_TOO_LONG).into());
    }
    let dup_code = input.duplicate_of.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let ctx = Ctx {
        has_note: note.is_some(),
        has_duplicate_of: dup_code.is_some(),
        has_handler: input.handler_user_id.is_some(),
        materials_requested_before: r.materials_requested,
        outcome: input.outcome,
        has_current_handler: r.handler_user_id.is_some(),
        caller_is_handler: r.handler_user_id.is_some() && r.handler_user_id == uid(p),
    };
    let mut result: Result<(RequestState, ActorRole), TransitionError> =
        Err(TransitionError::NotAllowed { from: r.state(), action });
    for role in &roles {
        match transition(r.state(), action, *role, &ctx) {
            Ok(s) => {
                result = Ok((s, *role));
                break;
            }
            Err(e @ TransitionError::RoleNotAllowed { .. }) => {
                if matches!(result, Err(TransitionError::NotAllowed { .. })) && roles.len() == 1 {
                    result = Err(e);
                }
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let (to, role) = result.map_err(|e| StoreError::from(e.field_error()))?;
    if action == Action::Revisit && input.satisfaction.is_none() {
        return Err(FieldError::new("satisfaction", "required", i18n::REQ_SATISFACTION_REQUIRED).into());
    }
    // Only once the caller may take the action is the code looked up: it
    // answers nothing to those who may not.
    let dup_id = match (action, dup_code) {
        (Action::MarkDuplicate, Some(code)) => Some(duplicate_target(&mut tx, p, &r, code).await?),
        _ => None,
    };
    apply(&mut tx, &cal, p, &r, Step { action, to, role, input: &input, note: note.as_deref(), dup_id }).await?;
    tx.commit().await?;
    get(db, p, id).await
}

/// One transition to write.
pub(crate) struct Step<'a> {
    pub action: Action,
    pub to: RequestState,
    pub role: ActorRole,
    pub input: &'a ActInput,
    pub note: Option<&'a str>,
    pub dup_id: Option<RequestId>,
}

/// Write one transition (state, side effects, history, audit) inside `tx`.
/// The handler of an assignment is checked here: an account holding
/// `HandleRequests` over the request's organisation, or the field is refused
/// without naming the account.
pub(crate) async fn apply(
    tx: &mut Tx,
    cal: &HolidayCalendar,
    p: &Principal,
    r: &Request,
    s: Step<'_>,
) -> Result<(), StoreError> {
    let Step { action, to, role, input, note, dup_id } = s;
    let now = Utc::now();
    let today = shanghai_date(now);
    let mut a = Args::new();
    let mut sets = vec![format!("state = {}", a.push(to.code())), format!("updated_at = {}", a.push(now))];
    match action {
        Action::Assign => {
            let user = input.handler_user_id.ok_or_else(|| TransitionError::HandlerRequired.field_error())?;
            let access = p.access(Capability::HandleRequests)?;
            let handler = access.account(tx, user, Capability::HandleRequests, r.path(), "handler_user_id").await?;
            sets.push(format!("handler_user_id = {}", a.push(handler.id)));
        }
        Action::Claim => sets.push(format!("handler_user_id = {}", a.push(p.user()))),
        Action::RequestMaterials => {
            let left = redcell_domain::requests::days_left(cal, r.due_date, today);
            sets.push("materials_requested = TRUE".into());
            sets.push(format!("paused_on = {}", a.push(today)));
            sets.push(format!("days_left = {}", a.push(left)));
        }
        Action::SupplyMaterials => {
            let left = r.days_left.unwrap_or(0);
            let due = redcell_domain::requests::resume_due(cal, today, left);
            sets.push("paused_on = NULL".into());
            sets.push("days_left = NULL".into());
            sets.push(format!("due_date = {}", a.push(due)));
        }
        Action::Resolve => sets.push(format!("resolved_at = {}", a.push(now))),
        Action::Revisit => {
            sets.push(format!("fix_outcome = {}", a.push(input.outcome.map(|o| o.code().to_string()))));
            sets.push(format!("satisfaction = {}", a.push(input.satisfaction.map(|o| o.code().to_string()))));
            sets.push(format!("revisit_comment = {}", a.push(note.map(str::to_string))));
        }
        Action::Close => sets.push(format!("closed_at = {}", a.push(now))),
        Action::Refuse => sets.push(format!("refusal_reason = {}", a.push(note.map(str::to_string)))),
        Action::MarkDuplicate => sets.push(format!("duplicate_of = {}", a.push(dup_id))),
        _ => {}
    }
    if to == RequestState::Reopened {
        // A reopened request gets a fresh clock from today and loses its card.
        let cat_days: i64 = tx
            .int(
                "SELECT working_days FROM request_categories WHERE tenant_id = $1 AND id = $2",
                crate::args![r.tenant_id, r.category_id],
            )
            .await?;
        let class = r.class.0;
        let days = if class == ErrandClass::Promised { 5 } else { u32::try_from(cat_days.max(0)).unwrap_or(0) };
        let class = if class == ErrandClass::Promised { ErrandClass::Joint } else { class };
        let due = due_date(cal, class, today, days, None)?;
        sets.push(format!("due_date = {}", a.push(due)));
        sets.push(format!("card = '{}'", redcell_domain::requests::Card::None.code()));
        sets.push("resolved_at = NULL".into());
        sets.push("closed_at = NULL".into());
    }
    let t = a.push(r.tenant_id);
    let i = a.push(r.id);
    let from = a.push(r.state().code());
    let n = tx
        .exec(
            &format!("UPDATE requests SET {} WHERE tenant_id = {t} AND id = {i} AND state = {from}", sets.join(", ")),
            a,
        )
        .await?;
    if n == 0 {
        return Err(TransitionError::NotAllowed { from: r.state(), action }.field_error().into());
    }
    let public = match action {
        Action::Refuse | Action::RequestMaterials | Action::Resolve | Action::Reopen | Action::Revisit => true,
        _ => !input.internal,
    };
    history(
        tx,
        r.tenant_id,
        HistoryRecord {
            request: r.id,
            at: now,
            actor: uid(p),
            role,
            acting_for: input.acting_for.as_deref(),
            action: action.code(),
            from: r.state(),
            to,
            note,
            public,
        },
    )
    .await?;
    audit::record(
        tx,
        r.tenant_id,
        uid(p).map(UserId::get),
        "request_action",
        "request",
        Some(r.id.get()),
        &format!("{} {}: {} → {}", r.code, action.label(), r.state_label(), to.label()),
    )
    .await?;
    Ok(())
}

/// What a bulk action did.
#[derive(Debug, Clone, Default)]
pub struct BulkOutcome {
    pub ok: usize,
    /// The requests that failed, each with why.
    pub failed: Vec<(RequestId, String)>,
    /// Some failures were refusals (out of scope, an account that may not
    /// handle): the caller's answer is audited as a refusal.
    pub refused: bool,
}

/// Bulk triage (staff): the same action on several requests; each succeeds
/// or fails on its own (one transaction each), and the failures are named.
pub async fn bulk(
    db: &crate::Db,
    p: &Principal,
    ids: &[RequestId],
    action: Action,
    input: ActInput,
) -> Result<BulkOutcome, StoreError> {
    p.access(Capability::HandleRequests)?;
    if !matches!(action, Action::Accept | Action::Assign) {
        return Err(FieldError::new("action", "bulk", i18n::REQ_BULK_ACTIONS).into());
    }
    let mut out = BulkOutcome::default();
    for id in ids {
        match act(db, p, *id, action, input.clone()).await {
            Ok(_) => out.ok += 1,
            Err(StoreError::Invalid(inv)) => {
                out.failed.push((*id, inv.first().map(|e| e.message.clone()).unwrap_or_default()))
            }
            Err(StoreError::Denied(f)) => {
                out.refused = true;
                out.failed.push((*id, f.message))
            }
            Err(StoreError::NotFound | StoreError::Forbidden) => {
                out.refused = true;
                out.failed.push((*id, i18n::FORBIDDEN.to_string()))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
