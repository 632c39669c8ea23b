//! 微心愿: verified by a member or staff, published on a board with only the
//! name and the wish, claimed by one in-service member (`ClaimRequests`),
//! who contacts the family within seven days and completes it (optionally
//! with a photo). Unclaimed wishes roll into the next round.

use super::act::{ActInput, Step, apply};
use super::submit::{Photo, check_photo, insert_file};
use super::{Request, get, get_in, roles_of};
use crate::audit;
use crate::calendar;
use crate::db::{Arg, Args, Db};
use crate::error::StoreError;
use crate::scope::{self, Capability, Principal};
use crate::types::Code;
use chrono::{NaiveDate, Utc};
use redcell_domain::calendar::shanghai_date;
use redcell_domain::ids::*;
use redcell_domain::requests::{
    Action, ActorRole, Ctx, RequestKind, RequestState, WishStage, transition, wish_contact_overdue,
};
use redcell_domain::{FieldError, Role, i18n};
use serde::Serialize;

/// id, name, wish, stage, round, claimed by, claimed on, contacted on.
type BoardRow = (
    RequestId,
    Option<String>,
    String,
    Code<WishStage>,
    Option<i64>,
    Option<UserId>,
    Option<NaiveDate>,
    Option<NaiveDate>,
);

/// What the board shows: the name and the wish, nothing else personal.
#[derive(Debug, Clone, Serialize)]
pub struct WishCard {
    pub id: RequestId,
    pub name: String,
    pub wish: String,
    pub stage: WishStage,
    pub stage_label: &'static str,
    pub round: i64,
    pub claimed_by_me: bool,
    pub claimed_on: Option<NaiveDate>,
    pub contact_overdue: bool,
}

impl WishCard {
    /// Published and open for claiming.
    pub fn open(&self) -> bool {
        self.stage == WishStage::Published
    }
    /// The caller claimed it and has not contacted the family yet.
    pub fn to_contact(&self) -> bool {
        self.claimed_by_me && self.stage == WishStage::Claimed
    }
    /// The caller claimed it and may complete it.
    pub fn to_complete(&self) -> bool {
        self.claimed_by_me && matches!(self.stage, WishStage::Claimed | WishStage::Contacted)
    }
}

/// The stage of a wish; anything else is refused.
fn wish_of(r: &Request) -> Result<WishStage, StoreError> {
    if r.kind.0 != RequestKind::Wish {
        return Err(FieldError::new("kind", "wish", i18n::REQ_WISH_ONLY).into());
    }
    r.wish_stage.map(|s| s.0).ok_or_else(|| StoreError::Internal(format!("micro-wish {} has no stage", r.id)))
}

/// The board: published wishes routed inside the caller's read scope or
/// inside an organisation they are a member of, newest round first.
pub async fn board(db: &Db, p: &Principal) -> Result<Vec<WishCard>, StoreError> {
    let mut a = Args::new();
    let t = a.push(p.tenant_id);
    let read = p.scope(Capability::ReadRegistry).rows("r", &mut a);
    let member = scope::orgs_where_role(p, Role::Member, "o", &mut a);
    let shown: Vec<String> = [WishStage::Published, WishStage::Claimed, WishStage::Contacted, WishStage::Done]
        .iter()
        .map(|s| format!("'{}'", s.code()))
        .collect();
    let rows: Vec<BoardRow> = db
        .all(
            &format!(
                "SELECT r.id, r.contact_name, r.description, r.wish_stage, r.wish_round, r.wish_claimed_by, \
                 r.wish_claimed_on, r.wish_contacted_on FROM requests r JOIN orgs o ON o.tenant_id = r.tenant_id AND o.id = r.org_id \
                 WHERE r.tenant_id = {t} AND r.kind = '{wish}' AND r.wish_stage IN ({shown}) AND ({read} OR {member}) \
                 AND (r.wish_stage = '{done}' OR r.state IN ({open})) \
                 ORDER BY r.wish_round DESC, r.id DESC LIMIT 200",
                wish = RequestKind::Wish.code(),
                shown = shown.join(", "),
                done = WishStage::Done.code(),
                open = open_states()
            ),
            a,
        )
        .await?;
    let today = shanghai_date(Utc::now());
    Ok(rows
        .into_iter()
        .map(|(id, name, wish, stage, round, by, on, contacted)| {
            let st = stage.0;
            WishCard {
                id,
                // Only the family name's first character and the given name's mask: 王** .
                name: name.map(|n| mask_name(&n)).unwrap_or_else(|| "居民".into()),
                wish,
                stage: st,
                stage_label: st.label(),
                round: round.unwrap_or(1),
                claimed_by_me: by == Some(p.user()),
                claimed_on: on,
                contact_overdue: st == WishStage::Claimed
                    && on.is_some_and(|on| wish_contact_overdue(on, contacted.is_some(), today)),
            }
        })
        .collect())
}

/// A name on the public board: the family name and an asterisk per other character.
pub fn mask_name(n: &str) -> String {
    let mut c = n.trim().chars();
    match c.next() {
        Some(first) => std::iter::once(first).chain(c.map(|_| '*')).collect(),
        None => "居民".into(),
    }
}

/// The request states in which a wish still moves on the board, as SQL.
fn open_states() -> String {
    RequestState::ALL.iter().filter(|s| s.is_open()).map(|s| format!("'{}'", s.code())).collect::<Vec<_>>().join(", ")
}

/// The wish's request has ended (refused, a duplicate, resolved or closed).
fn ended(r: &Request) -> StoreError {
    FieldError::new("wish", "ended", format!("{}（{}）", i18n::REQ_WISH_ENDED, r.state().label())).into()
}

/// One move on the board.
struct StageMove<'a> {
    from: &'a [WishStage],
    to: WishStage,
    /// The request's transition that goes with it, if its state allows one.
    action: Option<Action>,
    extra: Vec<(&'static str, Arg)>,
    note: &'static str,
    photo: Option<Photo<'a>>,
}

async fn stage_update(db: &Db, p: &Principal, r: &Request, m: StageMove<'_>) -> Result<Request, StoreError> {
    if !r.state().is_open() {
        return Err(ended(r));
    }
    let ct = match &m.photo {
        Some(ph) => Some(check_photo(ph.bytes)?),
        None => None,
    };
    let cal = calendar::load(db, r.tenant_id).await?;
    let mut tx = db.begin().await?;
    let mut a = Args::new();
    let mut sets = vec![format!("wish_stage = {}", a.push(m.to.code()))];
    for (col, v) in m.extra {
        sets.push(format!("{col} = {}", a.push(v)));
    }
    let t = a.push(r.tenant_id);
    let i = a.push(r.id);
    let froms: Vec<String> = m.from.iter().map(|s| format!("'{}'", s.code())).collect();
    // Only while the request is still to be handled: a wish refused or closed
    // meanwhile is not published, claimed or completed.
    let n = tx
        .exec(
            &format!(
                "UPDATE requests SET {} WHERE tenant_id = {t} AND id = {i} AND wish_stage IN ({}) AND state IN ({})",
                sets.join(", "),
                froms.join(", "),
                open_states()
            ),
            a,
        )
        .await?;
    if n == 0 {
        let cur = get_in(&mut tx, r.tenant_id, r.id).await?;
        if !cur.state().is_open() {
            return Err(ended(&cur));
        }
        let st = wish_of(&cur)?;
        return Err(match st {
            WishStage::Claimed | WishStage::Contacted | WishStage::Done if m.to == WishStage::Claimed => {
                FieldError::new("wish", "claimed", i18n::REQ_WISH_CLAIMED)
            }
            WishStage::Unverified => FieldError::new("wish", "unverified", i18n::REQ_WISH_NOT_VERIFIED),
            _ => FieldError::new("wish", "stage", format!("{}（{}）", i18n::REQ_NOT_ALLOWED, st.label())),
        }
        .into());
    }
    match m.action {
        Some(action) => {
            let cur = get_in(&mut tx, r.tenant_id, r.id).await?;
            let ctx = Ctx { has_note: true, ..Ctx::default() };
            let input = ActInput { note: Some(m.note.to_string()), ..ActInput::default() };
            let mut last = None;
            let mut done = false;
            // The caller acts in the capacities they hold, and in no other.
            for role in roles_of(p, &cur) {
                match transition(cur.state(), action, role, &ctx) {
                    Ok(to) => {
                        let step = Step { action, to, role, input: &input, note: Some(m.note), dup_id: None };
                        apply(&mut tx, &cal, p, &cur, step).await?;
                        done = true;
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            if !done {
                let e = last
                    .map(|e| e.field_error())
                    .unwrap_or_else(|| FieldError::new("wish", "state", i18n::REQ_NOT_ALLOWED));
                return Err(e.into());
            }
        }
        None => {
            audit::record(&mut tx, r.tenant_id, Some(p.user_id), "wish", "request", Some(r.id.get()), m.note).await?
        }
    }
    if let (Some(ph), Some(ct)) = (m.photo, ct) {
        let fid = insert_file(
            &mut tx,
            r.tenant_id,
            r.org_id.get(),
            "wish",
            r.id.get(),
            ph.name,
            ct,
            ph.bytes,
            Some(p.user_id),
        )
        .await?;
        tx.exec(
            "UPDATE requests SET wish_photo_file_id = $1 WHERE tenant_id = $2 AND id = $3",
            crate::args![fid, r.tenant_id, r.id],
        )
        .await?;
        audit::record(&mut tx, r.tenant_id, Some(p.user_id), "upload", "file", Some(fid), "微心愿完成照片").await?;
    }
    tx.commit().await?;
    get_in(&mut db.conn(), r.tenant_id, r.id).await
}

/// A wish the caller may act on: one they can see as a request, or one on
/// their board (they hold a capacity over it). Otherwise "not found".
async fn get_wish(db: &Db, p: &Principal, id: RequestId) -> Result<Request, StoreError> {
    let r = match get(db, p, id).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => {
            let r = get_in(&mut db.conn(), p.tenant_id, id).await?;
            if roles_of(p, &r).is_empty() {
                return Err(StoreError::NotFound);
            }
            r
        }
        Err(e) => return Err(e),
    };
    wish_of(&r)?;
    if roles_of(p, &r).is_empty() {
        return Err(StoreError::Forbidden);
    }
    Ok(r)
}

/// May the caller verify and publish this wish now (the page offers it by this)?
pub fn may_verify(p: &Principal, r: &Request) -> bool {
    r.wish_stage.is_some_and(|s| s.0 == WishStage::Unverified)
        && r.state().is_open()
        && roles_of(p, r).iter().any(|x| matches!(x, ActorRole::Staff | ActorRole::Member))
}

/// A member (or staff) checks the wish with the family and publishes it.
pub async fn verify(db: &Db, p: &Principal, id: RequestId) -> Result<Request, StoreError> {
    let r = get_wish(db, p, id).await?;
    if !roles_of(p, &r).iter().any(|x| matches!(x, ActorRole::Staff | ActorRole::Member)) {
        return Err(StoreError::Forbidden);
    }
    let action = (r.state() == RequestState::Submitted).then_some(Action::Accept);
    let m = StageMove {
        from: &[WishStage::Unverified],
        to: WishStage::Published,
        action,
        extra: vec![],
        note: "核实微心愿并发布",
        photo: None,
    };
    stage_update(db, p, &r, m).await
}

/// Claim a published wish (an in-service member holding `ClaimRequests`
/// over it). A second claim is refused, naming why.
pub async fn claim(db: &Db, p: &Principal, id: RequestId) -> Result<Request, StoreError> {
    let r = get_wish(db, p, id).await?;
    if !roles_of(p, &r).contains(&ActorRole::Member) {
        return Err(StoreError::Denied(FieldError::new("wish", "members", i18n::REQ_WISH_MEMBERS_CLAIM)));
    }
    let today = shanghai_date(Utc::now());
    let action = matches!(r.state(), RequestState::Accepted | RequestState::Reopened).then_some(Action::Claim);
    let m = StageMove {
        from: &[WishStage::Published],
        to: WishStage::Claimed,
        action,
        extra: vec![("wish_claimed_by", Arg::from(p.user())), ("wish_claimed_on", Arg::from(today))],
        note: "认领微心愿",
        photo: None,
    };
    stage_update(db, p, &r, m).await
}

/// The wish the caller claimed.
async fn claimed_by_caller(db: &Db, p: &Principal, id: RequestId) -> Result<Request, StoreError> {
    let r = get_wish(db, p, id).await?;
    if r.wish_claimed_by != Some(p.user()) {
        return Err(StoreError::Denied(FieldError::new("wish", "claimer", i18n::REQ_WISH_CLAIMER_ONLY)));
    }
    Ok(r)
}

/// The claimer has contacted the family.
pub async fn contacted(db: &Db, p: &Principal, id: RequestId) -> Result<Request, StoreError> {
    let r = claimed_by_caller(db, p, id).await?;
    let today = shanghai_date(Utc::now());
    let m = StageMove {
        from: &[WishStage::Claimed],
        to: WishStage::Contacted,
        action: None,
        extra: vec![("wish_contacted_on", Arg::from(today))],
        note: "已与家庭联系",
        photo: None,
    };
    stage_update(db, p, &r, m).await
}

/// The claimer completes the wish, optionally with a photo (written in the
/// same transaction).
pub async fn complete(db: &Db, p: &Principal, id: RequestId, photo: Option<Photo<'_>>) -> Result<Request, StoreError> {
    let r = claimed_by_caller(db, p, id).await?;
    let action = matches!(r.state(), RequestState::Assigned | RequestState::InProgress).then_some(Action::Resolve);
    let m = StageMove {
        from: &[WishStage::Claimed, WishStage::Contacted],
        to: WishStage::Done,
        action,
        extra: vec![],
        note: "微心愿已完成",
        photo,
    };
    stage_update(db, p, &r, m).await
}

/// Start the next round: every published, unclaimed wish the caller handles
/// (`HandleRequests`) moves to the next round. Returns how many rolled.
pub async fn next_round(db: &Db, p: &Principal) -> Result<u64, StoreError> {
    let access = p.access(Capability::HandleRequests)?;
    let mut a = Args::new();
    let c = access.rows("requests", &mut a);
    let mut tx = db.begin().await?;
    let n = tx
        .exec(
            &format!(
                "UPDATE requests SET wish_round = COALESCE(wish_round, 1) + 1 WHERE kind = '{}' AND wish_stage = '{}' AND {c}",
                RequestKind::Wish.code(),
                WishStage::Published.code()
            ),
            a,
        )
        .await?;
    audit::record(
        &mut tx,
        p.tenant_id,
        Some(p.user_id),
        "wish_round",
        "request",
        None,
        &format!("{n} 个微心愿进入下一轮"),
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}
