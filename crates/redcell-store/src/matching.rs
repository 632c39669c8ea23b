//! Members matched to the requests they could take on: a published
//! micro-wish (微心愿), or an accepted request nobody handles yet, suggests
//! the members of its community who could take it — their own skills or
//! interests fit its words ([`redcell_domain::volunteer::fit`]), or they live
//! in its grid — best fit first, to the staff handling it. Staff invite; the
//! member accepts (which claims it as them, through the wish's or the
//! request's own rules) or declines. Only members whose account may claim it
//! can be invited: they answer on their own service page.

use crate::args;
use crate::audit;
use crate::db::Db;
use crate::error::StoreError;
use crate::requests::{self, Request};
use crate::scope::{Owned, Principal};
use crate::volunteer::{RawInvite, me};
use chrono::Utc;
use redcell_domain::requests::{Action, RequestKind, RequestState, WishStage};
use redcell_domain::volunteer::{InvitationState, WishInvitationId, fit};
use redcell_domain::{Capability, CodeEnum, FieldError, RequestId, Role};
use serde::Serialize;

impl Owned for WishInvitationId {
    const TABLE: &'static str = "wish_invitations";
}

/// A member suggested for a wish or a request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestSuggested {
    pub member_id: i64,
    pub name: String,
    pub org_name: String,
    pub skills: Option<String>,
    pub interests: Option<String>,
    pub free_time: Option<String>,
    /// Lives in the request's grid.
    pub same_grid: bool,
    /// Invited already, waiting for the answer.
    pub invited: bool,
}

/// An invitation of a member to a wish or a request, as the member sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RequestInvitation {
    pub id: i64,
    pub request_id: i64,
    /// The request's follow code.
    pub code: String,
    /// `wish` for a micro-wish; otherwise the request's kind.
    pub kind: String,
    pub description: String,
    pub member_id: i64,
    pub member_name: String,
    /// `pending`, `accepted` or `declined`.
    pub state: String,
    pub invited_by_name: String,
}

impl RequestInvitation {
    pub fn state_label(&self) -> &'static str {
        InvitationState::from_code(&self.state).map(|s| s.label()).unwrap_or("")
    }
    pub fn is_wish(&self) -> bool {
        self.kind == RequestKind::Wish.code()
    }
}

const SELECT: &str = "SELECT i.id, i.request_id, rq.code, rq.kind, rq.description, i.member_id, r.name AS member_name, i.state, \
    COALESCE(u.display_name, '') AS invited_by_name FROM wish_invitations i \
    JOIN requests rq ON rq.tenant_id = i.tenant_id AND rq.id = i.request_id \
    JOIN members m ON m.tenant_id = i.tenant_id AND m.id = i.member_id \
    JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    LEFT JOIN users u ON u.id = i.invited_by";

/// The request, if the caller handles it (staff over its organisation).
async fn handled_request(db: &Db, p: &Principal, id: RequestId) -> Result<Request, StoreError> {
    let r = requests::get(db, p, id).await?;
    if !p.holds_at(Capability::HandleRequests, r.path()) {
        return Err(StoreError::Forbidden);
    }
    Ok(r)
}

/// Open for a member to claim: a wish published on the board while its
/// request is still to be handled; any other request accepted (or reopened)
/// with nobody handling it — the same rule as a member's claim. A refused or
/// closed request suggests no one.
fn open_to_claim(r: &Request) -> bool {
    if r.is_wish() {
        r.wish_stage.as_ref().is_some_and(|s| s.0 == WishStage::Published) && r.state().is_open()
    } else {
        matches!(r.state(), RequestState::Accepted | RequestState::Reopened) && r.handler_user_id.is_none()
    }
}

/// Members of the request's community with an account who could take it:
/// their skills or interests fit its words, or they live in its grid; best
/// fit first. Empty unless it is open to claim.
pub async fn suggestions(db: &Db, p: &Principal, id: RequestId) -> Result<Vec<RequestSuggested>, StoreError> {
    let r = handled_request(db, p, id).await?;
    if !open_to_claim(&r) {
        return Ok(vec![]);
    }
    candidates(db, &r).await
}

type Row = (i64, String, String, Option<String>, Option<String>, Option<String>, Option<i64>, i64);

async fn candidates(db: &Db, r: &Request) -> Result<Vec<RequestSuggested>, StoreError> {
    // The members under the request's community (or under its own
    // organisation when it lies in none), linked to an account that may claim
    // it (a grant with ClaimRequests at its organisation or above).
    let claimers = Role::ALL
        .iter()
        .filter(|r| r.can(Capability::ClaimRequests))
        .map(|r| format!("'{}'", r.code()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<Row> = db
        .all(
            &format!(
                "SELECT m.id, rs.name, o.name, m.skills, m.interests, m.free_time, h.grid_id, \
                 (SELECT COUNT(*) FROM wish_invitations i WHERE i.tenant_id = m.tenant_id AND i.member_id = m.id \
                 AND i.request_id = $2 AND i.state = 'pending') \
                 FROM members m JOIN residents rs ON rs.tenant_id = m.tenant_id AND rs.id = m.resident_id \
                 LEFT JOIN households h ON h.tenant_id = rs.tenant_id AND h.id = rs.household_id \
                 JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
                 WHERE m.tenant_id = $1 AND o.path LIKE $3 AND m.id IN (SELECT a.member_id FROM duty_member_accounts a \
                 JOIN grants g ON g.tenant_id = a.tenant_id AND g.user_id = a.user_id \
                 JOIN orgs go ON go.tenant_id = g.tenant_id AND go.id = g.org_id \
                 WHERE a.tenant_id = $1 AND g.role IN ({claimers}) AND $4 LIKE go.path || '%') \
                 ORDER BY o.path, rs.name, m.id"
            ),
            args![r.tenant_id, r.id.get(), format!("{}%", community_path(db, r).await?), r.path().as_str().to_string()],
        )
        .await?;
    let words = format!("{} {}", r.category_name, r.description);
    let mut out: Vec<(usize, RequestSuggested)> = rows
        .into_iter()
        .filter_map(|(member_id, name, org_name, skills, interests, free_time, grid, invited)| {
            let score = fit(&words, skills.as_deref().unwrap_or(""), interests.as_deref().unwrap_or(""));
            let same_grid = grid.is_some() && grid == r.grid_id.map(|g| g.get());
            (score > 0 || same_grid).then(|| {
                let s = RequestSuggested {
                    member_id,
                    name,
                    org_name,
                    skills,
                    interests,
                    free_time,
                    same_grid,
                    invited: invited > 0,
                };
                (score, s)
            })
        })
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.same_grid.cmp(&a.1.same_grid)));
    Ok(out.into_iter().map(|(_, s)| s).take(12).collect())
}

/// The path of the community the request belongs to (its own organisation's
/// when it lies in none).
async fn community_path(db: &Db, r: &Request) -> Result<String, StoreError> {
    let found: Option<(String,)> = db
        .opt(
            &format!(
                "SELECT cm.path FROM orgs co {} WHERE co.tenant_id = $1 AND co.id = $2 ORDER BY cm.path DESC LIMIT 1",
                crate::scope::community_join("co")
            ),
            args![r.tenant_id, r.org_id.get()],
        )
        .await?;
    Ok(found.map(|(p,)| p).unwrap_or_else(|| r.path().as_str().to_string()))
}

/// Invite a suggested member to a published wish or an unclaimed request
/// (once while pending).
pub async fn invite(db: &Db, p: &Principal, id: RequestId, raw: &RawInvite) -> Result<RequestInvitation, StoreError> {
    let r = handled_request(db, p, id).await?;
    let member = redcell_domain::input::id_ref::<redcell_domain::MemberId>("member_id", &raw.member_id, true)?
        .ok_or_else(|| FieldError::new("member_id", "required", "请选择党员"))?;
    if !open_to_claim(&r) {
        let why = if r.is_wish() {
            "只能邀请认领已发布、还没人认领的微心愿"
        } else {
            "只能邀请承办已受理、还没人承办的诉求"
        };
        return Err(FieldError::new("member_id", "not_open", why).into());
    }
    let found = candidates(db, &r).await?.into_iter().find(|c| c.member_id == member.get());
    let c = found.ok_or_else(|| FieldError::new("member_id", "not_suggested", "只能邀请本社区有账号的党员"))?;
    if c.invited {
        return Err(FieldError::new("member_id", "duplicate", "已邀请，等待回复").into());
    }
    let mut tx = db.begin().await?;
    let inv = tx
        .int(
            "INSERT INTO wish_invitations (tenant_id, org_id, request_id, member_id, state, invited_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![
                r.tenant_id,
                r.org_id.get(),
                r.id.get(),
                member.get(),
                InvitationState::Pending.code(),
                p.user_id,
                Utc::now()
            ],
        )
        .await?;
    audit::record(&mut tx, r.tenant_id, Some(p.user_id), "wish_invite", "request", Some(r.id.get()), &c.name).await?;
    let out = tx.one(&format!("{SELECT} WHERE i.tenant_id = $1 AND i.id = $2"), args![r.tenant_id, inv]).await?;
    tx.commit().await?;
    Ok(out)
}

/// The member answers: accepting claims the wish or the request as them
/// (refused, naming why, when someone else claimed it first or it has
/// ended); declining is kept.
pub async fn answer(
    db: &Db,
    p: &Principal,
    id: WishInvitationId,
    accept: bool,
) -> Result<RequestInvitation, StoreError> {
    let member = me(db, p).await?;
    let inv: Option<RequestInvitation> = db
        .opt(
            &format!("{SELECT} WHERE i.tenant_id = $1 AND i.id = $2 AND i.member_id = $3 AND i.state = $4"),
            args![p.tenant_id, id.get(), member, InvitationState::Pending.code()],
        )
        .await?;
    let inv = inv.ok_or(StoreError::NotFound)?;
    if accept {
        let id = RequestId::new(inv.request_id);
        if inv.is_wish() {
            requests::wishes::claim(db, p, id).await?;
        } else {
            requests::act(db, p, id, Action::Claim, requests::ActInput::default()).await?;
        }
    }
    let state = if accept { InvitationState::Accepted } else { InvitationState::Declined };
    let mut tx = db.begin().await?;
    tx.exec(
        "UPDATE wish_invitations SET state = $1, answered_at = $2 WHERE tenant_id = $3 AND id = $4 AND state = $5",
        args![state.code(), Utc::now(), p.tenant_id, id.get(), InvitationState::Pending.code()],
    )
    .await?;
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "wish_answer", "request", Some(inv.request_id), state.code())
        .await?;
    let out = tx.one(&format!("{SELECT} WHERE i.tenant_id = $1 AND i.id = $2"), args![p.tenant_id, id.get()]).await?;
    tx.commit().await?;
    Ok(out)
}

/// The invitations waiting for a member's answer.
pub(crate) async fn pending_for(
    c: &mut impl crate::db::Conn,
    tenant: i64,
    member: i64,
) -> Result<Vec<RequestInvitation>, StoreError> {
    c.all(
        &format!("{SELECT} WHERE i.tenant_id = $1 AND i.member_id = $2 AND i.state = $3 ORDER BY i.id DESC"),
        args![tenant, member, InvitationState::Pending.code()],
    )
    .await
}
