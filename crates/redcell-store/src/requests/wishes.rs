//! 微心愿: verified by a member, published on a board with only the name and
//! the wish, claimed by one in-service member, who contacts the family within
//! seven days and completes it (optionally with a photo). Unclaimed wishes
//! roll into the next round.

use super::{ActInput, Photo, Request, apply, calendar, get, get_in, roles_of};
use crate::audit;
use crate::db::Db;
use crate::error::StoreError;
use crate::scope::Principal;
use crate::{Args, args};
use chrono::{NaiveDate, Utc};
use redcell_domain::calendar::shanghai_date;
use redcell_domain::requests::{Action, ActorRole, Ctx, RequestKind, WishStage, transition, wish_contact_overdue};
use redcell_domain::{CodeEnum, FieldError, i18n};
use serde::Serialize;

/// id, name, wish, stage, round, claimed by, claimed on, contacted on.
type BoardRow =
    (i64, Option<String>, String, Option<String>, Option<i64>, Option<i64>, Option<NaiveDate>, Option<NaiveDate>);

/// What the board shows: the name and the wish, nothing else personal.
#[derive(Debug, Clone, Serialize)]
pub struct WishCard {
    pub id: i64,
    pub name: String,
    pub wish: String,
    pub stage: String,
    pub stage_label: &'static str,
    pub round: i64,
    pub claimed_by_me: bool,
    pub claimed_on: Option<NaiveDate>,
    pub contact_overdue: bool,
}

fn wish_of(db_r: &Request) -> Result<WishStage, StoreError> {
    if db_r.kind != RequestKind::Wish.code() {
        return Err(FieldError::new("kind", "wish", i18n::REQ_WISH_ONLY).into());
    }
    Ok(db_r.wish_stage.as_deref().and_then(WishStage::from_code).unwrap_or(WishStage::Unverified))
}

/// The board: wishes of the caller's organisations (any role), newest round first.
pub async fn board(db: &Db, p: &Principal) -> Result<Vec<WishCard>, StoreError> {
    let mut a = args![p.tenant_id];
    let paths: Vec<String> =
        p.grants.iter().map(|g| format!("o.path LIKE {}", a.push(g.path.like_pattern()))).collect();
    if paths.is_empty() {
        return Ok(vec![]);
    }
    let rows: Vec<BoardRow> =
        db.all(
            &format!(
                "SELECT r.id, r.contact_name, r.description, r.wish_stage, r.wish_round, r.wish_claimed_by, \
                 r.wish_claimed_on, r.wish_contacted_on FROM requests r JOIN orgs o ON o.tenant_id = r.tenant_id AND o.id = r.org_id \
                 WHERE r.tenant_id = $1 AND r.kind = 'wish' AND r.wish_stage IN ('published', 'claimed', 'contacted', 'done') \
                 AND ({}) ORDER BY r.wish_round DESC, r.id DESC LIMIT 200",
                paths.join(" OR ")
            ),
            a,
        )
        .await?;
    let today = shanghai_date(Utc::now());
    Ok(rows
        .into_iter()
        .map(|(id, name, wish, stage, round, by, on, contacted)| {
            let st = stage.as_deref().and_then(WishStage::from_code).unwrap_or(WishStage::Published);
            // Only the family name's first character and the given name's mask: 王** .
            let name = name.map(|n| mask_name(&n)).unwrap_or_else(|| "居民".into());
            WishCard {
                id,
                name,
                wish,
                stage: st.code().into(),
                stage_label: st.label(),
                round: round.unwrap_or(1),
                claimed_by_me: by == Some(p.user_id),
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

#[allow(clippy::too_many_arguments)]
async fn stage_update(
    db: &Db,
    p: &Principal,
    id: i64,
    from: &[WishStage],
    to: WishStage,
    action: Option<Action>,
    extra: &[(&str, crate::Arg)],
    note: &str,
) -> Result<Request, StoreError> {
    let r = get_wish(db, p, id).await?;
    let cal = calendar::load(db, r.tenant_id).await?;
    let mut tx = db.begin().await?;
    let mut a = Args::new();
    let mut sets = vec![format!("wish_stage = {}", a.push(to.code()))];
    for (col, v) in extra {
        sets.push(format!("{col} = {}", a.push(v.clone())));
    }
    let t = a.push(r.tenant_id);
    let i = a.push(r.id);
    let froms: Vec<String> = from.iter().map(|s| format!("'{}'", s.code())).collect();
    let n = tx
        .exec(
            &format!(
                "UPDATE requests SET {} WHERE tenant_id = {t} AND id = {i} AND wish_stage IN ({})",
                sets.join(", "),
                froms.join(", ")
            ),
            a,
        )
        .await?;
    if n == 0 {
        let cur = get_in(&mut tx, r.tenant_id, r.id).await?;
        let st = wish_of(&cur)?;
        return Err(match st {
            WishStage::Claimed | WishStage::Contacted | WishStage::Done if to == WishStage::Claimed => {
                FieldError::new("wish", "claimed", i18n::REQ_WISH_CLAIMED)
            }
            WishStage::Unverified => FieldError::new("wish", "unverified", i18n::REQ_WISH_NOT_VERIFIED),
            _ => FieldError::new("wish", "stage", format!("{}（{}）", i18n::REQ_NOT_ALLOWED, st.label())),
        }
        .into());
    }
    if let Some(action) = action {
        let cur = get_in(&mut tx, r.tenant_id, r.id).await?;
        let roles = roles_of(p, &cur);
        let ctx = Ctx { has_note: true, ..Ctx::default() };
        let mut done = false;
        for role in roles.iter().copied().chain(std::iter::once(ActorRole::Member)) {
            if let Ok(next) = transition(cur.state(), action, role, &ctx) {
                let input = ActInput { note: Some(note.to_string()), ..ActInput::default() };
                apply(&mut tx, &cal, p, &cur, action, next, role, &input, Some(note), None).await?;
                done = true;
                break;
            }
        }
        if !done {
            return Err(transition(cur.state(), action, ActorRole::Member, &ctx)
                .map(|_| ())
                .map_err(|e| e.field_error())
                .err()
                .unwrap_or_else(|| FieldError::new("wish", "state", i18n::REQ_NOT_ALLOWED))
                .into());
        }
    } else {
        audit::record(&mut tx, r.tenant_id, Some(p.user_id), "wish", "request", Some(r.id), note).await?;
    }
    tx.commit().await?;
    get(db, p, id).await.or_else(|_| Ok(r))
}

/// A wish the caller may act on: in read scope, or the caller is a member of an organisation above it.
async fn get_wish(db: &Db, p: &Principal, id: i64) -> Result<Request, StoreError> {
    let r = match get(db, p, id).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => {
            let mut tx = db.begin().await?;
            let r = get_in(&mut tx, p.tenant_id, id).await?;
            tx.commit().await?;
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

/// A member (or staff) checks the wish with the family and publishes it.
pub async fn verify(db: &Db, p: &Principal, id: i64) -> Result<Request, StoreError> {
    let r = get_wish(db, p, id).await?;
    let action = (r.state() == redcell_domain::requests::RequestState::Submitted).then_some(Action::Accept);
    stage_update(db, p, id, &[WishStage::Unverified], WishStage::Published, action, &[], "核实微心愿并发布").await
}

/// Claim a published wish. A second claim is refused, naming why.
pub async fn claim(db: &Db, p: &Principal, id: i64) -> Result<Request, StoreError> {
    let r = get_wish(db, p, id).await?;
    let today = shanghai_date(Utc::now());
    let action = matches!(
        r.state(),
        redcell_domain::requests::RequestState::Accepted | redcell_domain::requests::RequestState::Reopened
    )
    .then_some(Action::Claim);
    stage_update(
        db,
        p,
        id,
        &[WishStage::Published],
        WishStage::Claimed,
        action,
        &[("wish_claimed_by", p.user_id.into()), ("wish_claimed_on", today.into())],
        "认领微心愿",
    )
    .await
}

/// The claimer has contacted the family.
pub async fn contacted(db: &Db, p: &Principal, id: i64) -> Result<Request, StoreError> {
    let r = get_wish(db, p, id).await?;
    if r.wish_claimed_by != Some(p.user_id) {
        return Err(StoreError::Forbidden);
    }
    let today = shanghai_date(Utc::now());
    stage_update(
        db,
        p,
        id,
        &[WishStage::Claimed],
        WishStage::Contacted,
        None,
        &[("wish_contacted_on", today.into())],
        "已与家庭联系",
    )
    .await
}

/// The claimer completes the wish, optionally with a photo.
pub async fn complete(db: &Db, p: &Principal, id: i64, photo: Option<Photo<'_>>) -> Result<Request, StoreError> {
    let r = get_wish(db, p, id).await?;
    if r.wish_claimed_by != Some(p.user_id) {
        return Err(StoreError::Forbidden);
    }
    let ct = match &photo {
        Some(ph) => Some(super::check_photo(ph.bytes)?),
        None => None,
    };
    let action = matches!(
        r.state(),
        redcell_domain::requests::RequestState::Assigned | redcell_domain::requests::RequestState::InProgress
    )
    .then_some(Action::Resolve);
    let out = stage_update(
        db,
        p,
        id,
        &[WishStage::Claimed, WishStage::Contacted],
        WishStage::Done,
        action,
        &[],
        "微心愿已完成",
    )
    .await?;
    if let (Some(ph), Some(ct)) = (photo, ct) {
        let mut tx = db.begin().await?;
        let fid =
            super::insert_file(&mut tx, r.tenant_id, r.org_id, "wish", r.id, ph.name, ct, ph.bytes, Some(p.user_id))
                .await?;
        tx.exec(
            "UPDATE requests SET wish_photo_file_id = $1 WHERE tenant_id = $2 AND id = $3",
            args![fid, r.tenant_id, r.id],
        )
        .await?;
        audit::record(&mut tx, r.tenant_id, Some(p.user_id), "upload", "file", Some(fid), "微心愿完成照片").await?;
        tx.commit().await?;
    }
    Ok(out)
}

/// Start the next round: every published, unclaimed wish in the caller's edit
/// scope moves to the next round. Returns how many rolled.
pub async fn next_round(db: &Db, p: &Principal) -> Result<u64, StoreError> {
    let mut a = Args::new();
    let c = p.scope(crate::Capability::EditRegistry).rows("requests", &mut a);
    let mut tx = db.begin().await?;
    let n = tx
        .exec(
            &format!(
                "UPDATE requests SET wish_round = COALESCE(wish_round, 1) + 1 WHERE kind = 'wish' AND wish_stage = 'published' AND {c}"
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
