//! Mobile members (流动党员): outflow and inflow registration cards, the
//! contact kept while a member is away, and the three rosters (自管, 在职,
//! 流动) derived from them and the in-service reports by
//! [`redcell_domain::mobility::standing`].
//!
//! An outflow card is kept by the member's own organisation. An inflow card is
//! kept by the receiving organisation: for a member of its own (registered
//! there, e.g. arriving from outside the deployment), or for another
//! organisation's member who carries an outflow card of this deployment —
//! named by that card's number and the member's ID number, which must be the
//! same person. Both sides then see the pairing: the inflow card names the
//! sending card, the outflow card names who received the member, and no
//! other field crosses over.

use crate::args;
use crate::audit;
use crate::db::{Conn, Db};
use crate::error::StoreError;
use crate::export::{Exportable, Mask};
use crate::scope::{self, Owned, Principal};
use chrono::{NaiveDate, Utc};
use redcell_domain::export::Column;
use redcell_domain::mobility::{
    self as mb, CardId, ContactChannel, Direction, Facts, ProposalDecision, ProposalId, ProposalKind, Roster, Standing,
};
use redcell_domain::text::Text;
use redcell_domain::{Capability, CodeEnum, FieldError, IdNumber, Invalid, MemberId, OrgId};
use serde::{Deserialize, Serialize};

impl Owned for CardId {
    const TABLE: &'static str = "mobility_cards";
}

/// Recording cards and contacts needs the right to edit the organisation.
const CAP: Capability = Capability::EditRegistry;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = MobilityCard)]
pub struct Card {
    pub id: i64,
    /// The organisation keeping the card.
    pub org_id: i64,
    pub org_name: String,
    pub member_id: i64,
    pub member_name: String,
    /// `out` or `in`.
    pub direction: String,
    pub card_no: String,
    /// Where the member went (outflow) or came from (inflow).
    pub place: String,
    pub reason: String,
    pub started_on: NaiveDate,
    pub expected_until: Option<NaiveDate>,
    pub channel: String,
    pub other_org: Option<String>,
    /// The outflow card an inflow card received.
    pub paired_id: Option<i64>,
    pub ended_on: Option<NaiveDate>,
    pub end_reason: Option<String>,
    pub recorded_by_name: String,
}

impl Card {
    pub fn direction_label(&self) -> &'static str {
        Direction::from_code(&self.direction).map(|d| d.label()).unwrap_or("")
    }
    pub fn is_open(&self) -> bool {
        self.ended_on.is_none()
    }
    pub fn is_out(&self) -> bool {
        self.direction == Direction::Out.code()
    }
}

/// A contact kept with a member away.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MobilityContact {
    pub id: i64,
    pub on_date: NaiveDate,
    pub channel: String,
    pub note: String,
    pub recorded_by_name: String,
}

impl MobilityContact {
    pub fn channel_label(&self) -> &'static str {
        ContactChannel::from_code(&self.channel).map(|c| c.label()).unwrap_or("")
    }
}

/// The other side of a pairing, as much as crosses over: who, which card, since when.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PairedSide {
    pub org_name: String,
    pub card_no: String,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CardView {
    pub card: Card,
    pub contacts: Vec<MobilityContact>,
    /// An outflow card: the inflow card that received the member; an inflow
    /// card: the outflow card it received.
    pub paired: Option<PairedSide>,
    /// Where the member stands now (`standing` code) and in words.
    pub standing: String,
    pub standing_label: String,
    /// Proposals about the member (停止党籍, 除名), newest first.
    pub proposals: Vec<Proposal>,
    /// What may be proposed today (`stop` or `remove`), if anything.
    pub proposable: Option<String>,
    /// An outflow card: the organisations that declined to receive the member, with their reasons.
    pub refusals: Vec<Refusal>,
}

/// An organisation declining to receive a member who carries an outflow card.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = MobilityRefusal)]
pub struct Refusal {
    pub id: i64,
    /// The organisation declining.
    pub org_name: String,
    pub card_no: String,
    pub refused_on: NaiveDate,
    pub reason: String,
    pub recorded_by_name: String,
}

/// A refusal as typed: the card the member presents and why it is declined.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = RawMobilityRefusal)]
pub struct RawRefusal {
    /// The organisation declining.
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub org_id: Option<String>,
    /// The member's outflow card number…
    pub paired_card_no: Option<String>,
    /// …and their ID number (must be that card's member).
    pub id_number: Option<String>,
    /// `YYYY-MM-DD` (default: today), not before the card's start.
    pub refused_on: Option<String>,
    pub reason: Option<String>,
}

/// A member on a roster.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RosterLine {
    pub member_id: i64,
    pub name: String,
    pub org_name: String,
    /// `self`, `inservice`, `out`, `lost`, `in` or `returned`.
    pub standing: String,
    pub standing_label: String,
    /// The open card (outflow or inflow) behind the standing.
    pub card_id: Option<i64>,
    pub place: Option<String>,
    pub since: Option<NaiveDate>,
    pub last_contact: Option<NaiveDate>,
}

/// The three rosters of an organisation's subtree: how many on each, and
/// the lines of the one asked for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rosters {
    pub org_id: i64,
    /// `self`, `inservice` or `mobile`.
    pub roster: String,
    pub self_managed: usize,
    pub inservice: usize,
    pub mobile: usize,
    /// Members away with no contact for six months (on the mobile roster).
    pub lost: usize,
    /// The first [`ROSTER_LINES`] lines of the roster asked for (the export has them all).
    pub lines: Vec<RosterLine>,
    /// The roster has more lines than shown.
    pub truncated: bool,
}

/// Lines of a roster shown on a page or in the API; the file has every one.
pub const ROSTER_LINES: usize = 300;

/// A card as typed (form or API).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawCard {
    /// `out` (the member leaves) or `in` (the member arrives).
    pub direction: Option<String>,
    /// Outflow, or inflow for a member of the receiving organisation.
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub member_id: Option<String>,
    /// Inflow: the receiving organisation.
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub org_id: Option<String>,
    /// Inflow of another organisation's member: their outflow card's number…
    pub paired_card_no: Option<String>,
    /// …and their ID number (must be that card's member).
    pub id_number: Option<String>,
    pub card_no: Option<String>,
    pub place: Option<String>,
    pub reason: Option<String>,
    /// `YYYY-MM-DD` (default: today).
    pub started_on: Option<String>,
    pub expected_until: Option<String>,
    pub channel: Option<String>,
    pub other_org: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = RawMobilityContact)]
pub struct RawContact {
    /// `YYYY-MM-DD` (default: today).
    pub on_date: Option<String>,
    #[schema(value_type = ContactChannel)]
    pub channel: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawEnd {
    /// `YYYY-MM-DD` (default: today), not before the card's start.
    pub ended_on: Option<String>,
    pub reason: Option<String>,
}

const SELECT: &str = "SELECT c.id, c.org_id, o.name AS org_name, c.member_id, r.name AS member_name, c.direction, \
    c.card_no, c.place, c.reason, c.started_on, c.expected_until, c.channel, c.other_org, c.paired_id, c.ended_on, \
    c.end_reason, COALESCE(u.display_name, '') AS recorded_by_name FROM mobility_cards c \
    JOIN orgs o ON o.tenant_id = c.tenant_id AND o.id = c.org_id \
    JOIN members m ON m.tenant_id = c.tenant_id AND m.id = c.member_id \
    JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    LEFT JOIN users u ON u.id = c.created_by";

fn today() -> NaiveDate {
    crate::coverage::today()
}

async fn card_row(c: &mut impl Conn, tenant: i64, id: i64) -> Result<Card, StoreError> {
    c.one(&format!("{SELECT} WHERE c.tenant_id = $1 AND c.id = $2"), args![tenant, id]).await
}

/// The facts of one member's records now.
async fn facts(c: &mut impl Conn, tenant: i64, member: i64) -> Result<Facts, StoreError> {
    let row: (Option<NaiveDate>, Option<NaiveDate>, i64, i64, Option<NaiveDate>, i64) = c
        .one(
            "SELECT (SELECT oc.started_on FROM mobility_cards oc WHERE oc.tenant_id = $1 AND oc.member_id = $2 \
             AND oc.direction = 'out' AND oc.ended_on IS NULL), \
             (SELECT MAX(x.on_date) FROM mobility_contacts x JOIN mobility_cards oc ON oc.tenant_id = x.tenant_id \
             AND oc.id = x.card_id WHERE x.tenant_id = $1 AND oc.member_id = $2 AND oc.direction = 'out' AND oc.ended_on IS NULL), \
             (SELECT COUNT(*) FROM mobility_cards ic WHERE ic.tenant_id = $1 AND ic.member_id = $2 AND ic.direction = 'in' \
             AND ic.ended_on IS NULL), \
             (SELECT COUNT(*) FROM inservice_reports ir WHERE ir.tenant_id = $1 AND ir.member_id = $2 AND ir.returned_on IS NULL), \
             (SELECT MAX(cc.ended_on) FROM mobility_cards cc WHERE cc.tenant_id = $1 AND cc.member_id = $2 AND cc.direction = 'out'), \
             (SELECT COUNT(*) FROM org_transfers ot WHERE ot.tenant_id = $1 AND ot.member_id = $2 AND ot.state IN ('pending', 'approved'))",
            args![tenant, member],
        )
        .await?;
    Ok(Facts {
        open_out: row.0,
        last_contact: row.1,
        open_in: row.2 > 0,
        open_report: row.3 > 0,
        last_return: row.4,
        open_transfer: row.5 > 0,
    })
}

/// Where a member stands now.
pub async fn standing_of(db: &Db, tenant: i64, member: MemberId) -> Result<Standing, StoreError> {
    Ok(mb::standing(&facts(&mut db.conn(), tenant, member.get()).await?, today()))
}

/// A card the caller reads, with its contacts and the other side of its pairing.
pub async fn card(db: &Db, p: &Principal, id: CardId) -> Result<CardView, StoreError> {
    let owner = p.access(Capability::ReadRegistry)?.target(&mut db.conn(), id).await?;
    let mut c = db.conn();
    let card = card_row(&mut c, owner.tenant_id, id.get()).await?;
    let contacts = c
        .all(
            "SELECT x.id, x.on_date, x.channel, x.note, COALESCE(u.display_name, '') AS recorded_by_name \
             FROM mobility_contacts x LEFT JOIN users u ON u.id = x.recorded_by WHERE x.tenant_id = $1 AND x.card_id = $2 \
             ORDER BY x.on_date DESC, x.id DESC",
            args![owner.tenant_id, id.get()],
        )
        .await?;
    const SIDE: &str = "SELECT o.name AS org_name, c.card_no, c.started_on, c.ended_on FROM mobility_cards c \
        JOIN orgs o ON o.tenant_id = c.tenant_id AND o.id = c.org_id";
    let paired: Option<PairedSide> = match card.paired_id {
        Some(out) => {
            c.opt(&format!("{SIDE} WHERE c.tenant_id = $1 AND c.id = $2"), args![owner.tenant_id, out]).await?
        }
        None => {
            c.opt(
                &format!("{SIDE} WHERE c.tenant_id = $1 AND c.paired_id = $2 ORDER BY c.id DESC LIMIT 1"),
                args![owner.tenant_id, id.get()],
            )
            .await?
        }
    };
    let st = mb::standing(&facts(&mut c, owner.tenant_id, card.member_id).await?, today());
    let proposals = proposals_of(&mut c, owner.tenant_id, card.member_id).await?;
    let quiet = quiet_since(&mut c, owner.tenant_id, &card).await?;
    let proposable = proposable(&card, quiet, &proposals, today()).map(|k| k.code().to_string());
    let refusals = c
        .all(
            &format!("{REFUSALS} WHERE x.tenant_id = $1 AND x.card_id = $2 ORDER BY x.refused_on DESC, x.id DESC"),
            args![owner.tenant_id, id.get()],
        )
        .await?;
    Ok(CardView {
        card,
        contacts,
        paired,
        standing: st.code().into(),
        standing_label: st.label().into(),
        proposals,
        proposable,
        refusals,
    })
}

const REFUSALS: &str = "SELECT x.id, o.name AS org_name, c.card_no, x.refused_on, x.reason, \
    COALESCE(u.display_name, '') AS recorded_by_name FROM mobility_refusals x \
    JOIN orgs o ON o.tenant_id = x.tenant_id AND o.id = x.org_id \
    JOIN mobility_cards c ON c.tenant_id = x.tenant_id AND c.id = x.card_id \
    LEFT JOIN users u ON u.id = x.created_by";

/// An organisation declines to receive a member who presents an outflow card
/// of this deployment (流入地不接收), with its reason. Nothing changes on the
/// card itself: the sending side sees the refusal on it and keeps the member
/// in touch another way (or the member goes to another organisation).
pub async fn refuse(db: &Db, p: &Principal, raw: &RawRefusal) -> Result<Refusal, StoreError> {
    let access = p.access(CAP)?;
    let mut e = Invalid::default();
    let org = e.check(redcell_domain::input::id_ref::<OrgId>("org_id", &raw.org_id, true)).flatten();
    let no = raw.paired_card_no.as_deref().map(str::trim).filter(|x| !x.is_empty()).map(str::to_uppercase);
    if no.is_none() {
        e.push(FieldError::new("paired_card_no", "required", "请填写党员带来的流出登记卡号"));
    }
    let idn = e.check(IdNumber::parse(raw.id_number.as_deref().unwrap_or("")).map_err(|x| x.on("id_number")));
    let on = e.check(redcell_domain::text::past_date("refused_on", &raw.refused_on, today()));
    let reason = e.check(Text::required("reason", raw.reason.as_deref().unwrap_or(""), 200));
    e.into_result()?;
    let (Some(org), Some(no), Some(idn), Some(on), Some(reason)) = (org, no, idn, on, reason) else {
        return Err(StoreError::Internal("refusal input".into()));
    };
    let mut tx = db.begin().await?;
    let keeper = access.org_ref(&mut tx, org, "org_id").await?;
    let Presented { card, member, started_on } = presented(&mut tx, p.tenant_id, &no, &idn, keeper.id).await?;
    if on < started_on {
        return Err(FieldError::new("refused_on", "order", format!("不能早于流出登记卡开始的 {started_on}")).into());
    }
    let id = tx
        .int(
            "INSERT INTO mobility_refusals (tenant_id, org_id, card_id, member_id, refused_on, reason, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            args![p.tenant_id, keeper.id, card, member, on, reason.into_string(), p.user_id, Utc::now()],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "mobility_refusal",
        "mobility_refusals",
        p.tenant_id,
        id,
        None,
    )
    .await?;
    let out = tx.one(&format!("{REFUSALS} WHERE x.tenant_id = $1 AND x.id = $2"), args![p.tenant_id, id]).await?;
    tx.commit().await?;
    Ok(out)
}

/// The rule of pairing, in one place for the form and the import: the
/// outflow card presented is `idn`'s, still open, and kept by another
/// organisation than the one receiving (`keeper`).
pub(crate) fn pairing(their_id: &str, ended: bool, their_org: i64, idn: &str, keeper: i64) -> Result<(), FieldError> {
    if their_id != idn {
        return Err(FieldError::new("id_number", "mismatch", "与流出登记卡上的党员不是同一人"));
    }
    if ended {
        return Err(FieldError::new("paired_card_no", "ended", "这张流出登记卡已结束"));
    }
    if their_org == keeper {
        return Err(FieldError::new("org_id", "same", "流出和流入不能是同一个组织"));
    }
    Ok(())
}

/// The outflow card a member presents to another organisation.
struct Presented {
    card: i64,
    member: i64,
    started_on: NaiveDate,
}

/// The open outflow card of this deployment a member presents to another
/// organisation (`keeper`): found by its number, the same person by ID
/// number.
async fn presented(
    c: &mut impl Conn,
    tenant: i64,
    no: &str,
    idn: &IdNumber,
    keeper: i64,
) -> Result<Presented, StoreError> {
    let found: Option<(i64, i64, String, i64, Option<NaiveDate>, NaiveDate)> = c
        .opt(
            "SELECT c.id, c.member_id, r.id_number, c.org_id, c.ended_on, c.started_on FROM mobility_cards c \
             JOIN members m ON m.tenant_id = c.tenant_id AND m.id = c.member_id \
             JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             WHERE c.tenant_id = $1 AND c.card_no = $2 AND c.direction = 'out'",
            args![tenant, no.to_string()],
        )
        .await?;
    let (card, member, their_id, their_org, ended, started_on) =
        found.ok_or_else(|| FieldError::new("paired_card_no", "not_found", "没有这张流出登记卡（请核对卡号）"))?;
    pairing(&their_id, ended.is_some(), their_org, idn.as_str(), keeper)?;
    Ok(Presented { card, member, started_on })
}

/// Record an outflow or an inflow card.
pub async fn record(db: &Db, p: &Principal, raw: &RawCard) -> Result<Card, StoreError> {
    let access = p.access(CAP)?;
    let today = today();
    let dir = Direction::parse("direction", raw.direction.as_deref().unwrap_or("").trim())?;
    let mut e = Invalid::default();
    let member = e.check(redcell_domain::input::id_ref::<MemberId>("member_id", &raw.member_id, false)).flatten();
    let org = e.check(redcell_domain::input::id_ref::<OrgId>("org_id", &raw.org_id, false)).flatten();
    let terms = match mb::card_terms(
        raw.card_no.as_deref().unwrap_or(""),
        raw.place.as_deref().unwrap_or(""),
        raw.reason.as_deref().unwrap_or(""),
        &raw.started_on,
        &raw.expected_until,
        raw.channel.as_deref().unwrap_or(""),
        raw.other_org.as_deref().unwrap_or(""),
        today,
    ) {
        Ok(t) => Some(t),
        Err(x) => {
            e.0.extend(x.0);
            None
        }
    };
    let paired_no = raw.paired_card_no.as_deref().map(str::trim).filter(|x| !x.is_empty()).map(str::to_uppercase);
    match (dir, member, &paired_no) {
        (Direction::Out, None, _) => e.push(FieldError::new("member_id", "required", "请选择流出的党员")),
        (Direction::In, None, None) => {
            e.push(FieldError::new("member_id", "required", "请选择本组织的党员，或填写其流出登记卡号和身份证号"))
        }
        (Direction::In, _, _) if org.is_none() => e.push(FieldError::new("org_id", "required", "请选择接收的组织")),
        _ => {}
    }
    let id_number = match (&paired_no, member) {
        (Some(_), None) => match IdNumber::parse(raw.id_number.as_deref().unwrap_or("")) {
            Ok(x) => Some(x),
            Err(x) => {
                e.push(x.on("id_number"));
                None
            }
        },
        _ => None,
    };
    e.into_result()?;
    let terms = terms.ok_or_else(|| StoreError::Internal("card terms".into()))?;
    let mut tx = db.begin().await?;
    // The member, the organisation keeping the card, and the outflow card received.
    let (member_id, keeper, paired_id) = match dir {
        Direction::Out => {
            let m = member.ok_or_else(|| StoreError::Internal("member".into()))?;
            let owner = access.reference(&mut tx, m, "member_id").await?;
            (m.get(), owner.org_id, None)
        }
        Direction::In => {
            let o = org.ok_or_else(|| StoreError::Internal("org".into()))?;
            let keeper = access.org_ref(&mut tx, o, "org_id").await?;
            match (member, paired_no.as_deref(), id_number) {
                (Some(m), _, _) => {
                    access.reference(&mut tx, m, "member_id").await?;
                    (m.get(), keeper.id, None)
                }
                (None, Some(no), Some(idn)) => {
                    let x = presented(&mut tx, p.tenant_id, no, &idn, keeper.id).await?;
                    (x.member, keeper.id, Some(x.card))
                }
                _ => return Err(StoreError::Internal("inflow input".into())),
            }
        }
    };
    // One writer per member: the open-card checks see every card.
    tx.exec(
        "UPDATE members SET updated_at = updated_at WHERE tenant_id = $1 AND id = $2",
        args![p.tenant_id, member_id],
    )
    .await?;
    let open: Option<(String, String)> = tx
        .opt(
            "SELECT c.card_no, o.name FROM mobility_cards c JOIN orgs o ON o.tenant_id = c.tenant_id AND o.id = c.org_id \
             WHERE c.tenant_id = $1 AND c.member_id = $2 AND c.direction = $3 AND c.ended_on IS NULL",
            args![p.tenant_id, member_id, dir.code()],
        )
        .await?;
    if let Some((no, at)) = open {
        let field = if paired_id.is_some() { "paired_card_no" } else { "member_id" };
        let why = format!("这名党员已有未结束的{}登记卡（{no}，{at}），结束后才能再登记", dir.label());
        return Err(FieldError::new(field, "open", why).into());
    }
    if let Some(out) = paired_id {
        let taken: Option<(String,)> = tx
            .opt(
                "SELECT o.name FROM mobility_cards c JOIN orgs o ON o.tenant_id = c.tenant_id AND o.id = c.org_id \
                 WHERE c.tenant_id = $1 AND c.paired_id = $2 AND c.ended_on IS NULL",
                args![p.tenant_id, out],
            )
            .await?;
        if let Some((at,)) = taken {
            return Err(FieldError::new("paired_card_no", "paired", format!("已由{at}接收")).into());
        }
    }
    let dup = tx.int(
        "SELECT COUNT(*) FROM mobility_cards WHERE tenant_id = $1 AND card_no = $2",
        args![p.tenant_id, terms.card_no.clone()],
    );
    if dup.await? > 0 {
        return Err(FieldError::new("card_no", "duplicate", "卡号已被使用").into());
    }
    let now = Utc::now();
    let id = tx
        .int(
            "INSERT INTO mobility_cards (tenant_id, org_id, member_id, direction, card_no, place, reason, started_on, \
             expected_until, channel, other_org, paired_id, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
            args![
                p.tenant_id,
                keeper,
                member_id,
                dir.code(),
                terms.card_no,
                terms.place,
                terms.reason,
                terms.started_on,
                terms.expected_until,
                terms.channel,
                terms.other_org,
                paired_id,
                p.user_id,
                now
            ],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "mobility_card",
        "mobility_cards",
        p.tenant_id,
        id,
        None,
    )
    .await?;
    let out = card_row(&mut tx, p.tenant_id, id).await?;
    tx.commit().await?;
    Ok(out)
}

/// A card the caller may record on, still open.
async fn open_card(tx: &mut crate::db::Tx, p: &Principal, id: CardId) -> Result<Card, StoreError> {
    let owner = p.access(CAP)?.target(tx, id).await?;
    let card = card_row(tx, owner.tenant_id, id.get()).await?;
    if !card.is_open() {
        return Err(FieldError::new("card", "ended", "这张登记卡已结束").into());
    }
    Ok(card)
}

/// Record a contact with the member while the card is open.
pub async fn add_contact(db: &Db, p: &Principal, id: CardId, raw: &RawContact) -> Result<i64, StoreError> {
    let mut e = Invalid::default();
    let on = e.check(redcell_domain::text::past_date("on_date", &raw.on_date, today()));
    let channel = e.check(ContactChannel::parse("channel", raw.channel.as_deref().unwrap_or("").trim()));
    let note = e.check(Text::parse("note", raw.note.as_deref().unwrap_or(""), 200));
    e.into_result()?;
    let (Some(on), Some(channel)) = (on, channel) else { return Err(StoreError::Internal("contact input".into())) };
    let mut tx = db.begin().await?;
    let card = open_card(&mut tx, p, id).await?;
    if on < card.started_on {
        return Err(FieldError::new("on_date", "order", format!("不能早于登记卡开始的 {}", card.started_on)).into());
    }
    let cid = tx
        .int(
            "INSERT INTO mobility_contacts (tenant_id, org_id, card_id, member_id, on_date, channel, note, recorded_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            args![
                p.tenant_id,
                card.org_id,
                card.id,
                card.member_id,
                on,
                channel.code(),
                note.map(Text::into_string).unwrap_or_default(),
                p.user_id,
                Utc::now()
            ],
        )
        .await?;
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "mobility_contact", "mobility_card", Some(card.id), "")
        .await?;
    tx.commit().await?;
    Ok(cid)
}

/// End a card: the member came back (outflow) or left again (inflow).
pub async fn end(db: &Db, p: &Principal, id: CardId, raw: &RawEnd) -> Result<Card, StoreError> {
    let mut e = Invalid::default();
    let on = e.check(redcell_domain::text::past_date("ended_on", &raw.ended_on, today()));
    let reason = e.check(Text::required("reason", raw.reason.as_deref().unwrap_or(""), 100));
    e.into_result()?;
    let (Some(on), Some(reason)) = (on, reason) else { return Err(StoreError::Internal("end input".into())) };
    let mut tx = db.begin().await?;
    let card = open_card(&mut tx, p, id).await?;
    if on < card.started_on {
        return Err(FieldError::new("ended_on", "order", format!("不能早于登记卡开始的 {}", card.started_on)).into());
    }
    let before = audit::snapshot(&mut tx, "mobility_cards", p.tenant_id, card.id).await?;
    tx.exec(
        "UPDATE mobility_cards SET ended_on = $1, end_reason = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5",
        args![on, reason.into_string(), Utc::now(), p.tenant_id, card.id],
    )
    .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "mobility_card",
        "mobility_cards",
        p.tenant_id,
        card.id,
        before,
    )
    .await?;
    let out = card_row(&mut tx, p.tenant_id, card.id).await?;
    tx.commit().await?;
    Ok(out)
}

/// A member's facts, one row per member (open outflow card joined; at most one is open).
const FACTS_SELECT: &str = "SELECT m.id, r.name, o.name AS org_name, o.path AS org_path, oc.id AS out_card, oc.started_on AS left_on, oc.place, \
    (SELECT MAX(x.on_date) FROM mobility_contacts x WHERE x.tenant_id = oc.tenant_id AND x.card_id = oc.id) AS last_contact, \
    (SELECT COUNT(*) FROM mobility_cards ic WHERE ic.tenant_id = m.tenant_id AND ic.member_id = m.id AND ic.direction = 'in' \
    AND ic.ended_on IS NULL) AS open_in, \
    (SELECT COUNT(*) FROM inservice_reports ir WHERE ir.tenant_id = m.tenant_id AND ir.member_id = m.id AND ir.returned_on IS NULL) AS open_report, \
    (SELECT MAX(cc.ended_on) FROM mobility_cards cc WHERE cc.tenant_id = m.tenant_id AND cc.member_id = m.id AND cc.direction = 'out') AS last_return, \
    (SELECT COUNT(*) FROM org_transfers ot WHERE ot.tenant_id = m.tenant_id AND ot.member_id = m.id \
    AND ot.state IN ('pending', 'approved')) AS open_transfer \
    FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
    LEFT JOIN mobility_cards oc ON oc.tenant_id = m.tenant_id AND oc.member_id = m.id AND oc.direction = 'out' AND oc.ended_on IS NULL";

/// A member has records that can make them stand anywhere but self-managed.
const HAS_RECORDS: &str = "EXISTS (SELECT 1 FROM mobility_cards hc WHERE hc.tenant_id = m.tenant_id AND hc.member_id = m.id) \
    OR EXISTS (SELECT 1 FROM inservice_reports hr WHERE hr.tenant_id = m.tenant_id AND hr.member_id = m.id \
    AND hr.returned_on IS NULL) \
    OR EXISTS (SELECT 1 FROM org_transfers ht WHERE ht.tenant_id = m.tenant_id AND ht.member_id = m.id \
    AND ht.state IN ('pending', 'approved'))";

fn line(r: FactsRow, today: NaiveDate) -> RosterLine {
    let f = Facts {
        open_out: r.left_on,
        last_contact: r.last_contact,
        open_in: r.open_in > 0,
        open_report: r.open_report > 0,
        last_return: r.last_return,
        open_transfer: r.open_transfer > 0,
    };
    let st = mb::standing(&f, today);
    RosterLine {
        member_id: r.id,
        name: r.name,
        org_name: r.org_name,
        standing: st.code().into(),
        standing_label: st.label().into(),
        card_id: r.out_card,
        place: r.place,
        since: r.left_on,
        last_contact: r.last_contact,
    }
}

/// The three rosters of an organisation's subtree: its members by standing,
/// and the members of other organisations it received (inflow cards it keeps).
pub async fn rosters(db: &Db, p: &Principal, org_id: OrgId, roster: Option<&str>) -> Result<Rosters, StoreError> {
    let which = match roster.map(str::trim).filter(|x| !x.is_empty()) {
        None => Roster::Mobile,
        Some(x) => Roster::parse("roster", x)?,
    };
    let access = p.access(Capability::ReadRegistry)?;
    let org = access.org(&mut db.conn(), org_id).await?;
    let today = today();
    // Only members with a card, an open report or an open transfer can stand
    // anywhere but self-managed (`standing` of no facts): their facts are
    // read one by one; the rest are counted, and listed only for the
    // self-managed roster, as far as the page shows.
    let mut a = args![];
    let u = org.under("m", &mut a);
    let mut rows: Vec<FactsRow> =
        db.all(&format!("{FACTS_SELECT} WHERE {u} AND ({HAS_RECORDS}) ORDER BY o.path, r.name, m.id"), a).await?;
    let mut a = args![];
    let u = org.under("m", &mut a);
    let members = db.int(&format!("SELECT COUNT(*) FROM members m WHERE {u}"), a).await? as usize;
    let plain = members.saturating_sub(rows.len());
    let mut listed_plain = 0;
    if which == Roster::SelfManaged {
        // The first of the others, merged in the same order as the page lists.
        let mut a = args![];
        let u = org.under("m", &mut a);
        let limit = a.push(ROSTER_LINES as i64 + 1);
        let rest: Vec<FactsRow> = db
            .all(
                &format!(
                    "{FACTS_SELECT} WHERE {u} AND NOT ({HAS_RECORDS}) ORDER BY o.path, r.name, m.id LIMIT {limit}"
                ),
                a,
            )
            .await?;
        listed_plain = rest.len();
        rows.extend(rest);
        rows.sort_by(|x, y| (&x.org_path, &x.name, x.id).cmp(&(&y.org_path, &y.name, y.id)));
    }
    let mut lines: Vec<RosterLine> = rows.into_iter().map(|r| line(r, today)).collect();
    // Received from elsewhere: the inflow cards this subtree keeps for members
    // of other organisations, named with the organisation that received them
    // (where they came from is the card's own `place`).
    let mut a = args![];
    let u = org.under("c", &mut a);
    let mu = org.under("m", &mut a);
    let received: Vec<(i64, String, String, i64, NaiveDate, String)> = db
        .all(
            &format!(
                "SELECT m.id, r.name, co.name, c.id, c.started_on, c.place FROM mobility_cards c \
                 JOIN members m ON m.tenant_id = c.tenant_id AND m.id = c.member_id \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN orgs co ON co.tenant_id = c.tenant_id AND co.id = c.org_id \
                 WHERE {u} AND c.direction = 'in' AND c.ended_on IS NULL AND NOT ({mu}) ORDER BY r.name, c.id"
            ),
            a,
        )
        .await?;
    for (member_id, name, org_name, card, since, place) in received {
        lines.push(RosterLine {
            member_id,
            name,
            org_name,
            standing: Standing::FlowedIn.code().into(),
            standing_label: Standing::FlowedIn.label().into(),
            card_id: Some(card),
            place: Some(place),
            since: Some(since),
            last_contact: None,
        });
    }
    let on = |r: Roster| lines.iter().filter(|l| roster_of(l) == Some(r)).count();
    let self_managed = (on(Roster::SelfManaged) + plain).saturating_sub(listed_plain);
    let (inservice, mobile) = (on(Roster::Inservice), on(Roster::Mobile));
    let lost = lines.iter().filter(|l| l.standing == Standing::LostContact.code()).count();
    let mut lines: Vec<RosterLine> = lines.into_iter().filter(|l| roster_of(l) == Some(which)).collect();
    // Those who need attention first: lost contact, then away, then the rest in order.
    lines.sort_by_key(|l| match Standing::from_code(&l.standing) {
        Some(Standing::LostContact) => 0,
        Some(Standing::FlowedOut) => 1,
        _ => 2,
    });
    let truncated = match which {
        Roster::SelfManaged => self_managed,
        Roster::Inservice => inservice,
        Roster::Mobile => mobile,
    } > ROSTER_LINES;
    lines.truncate(ROSTER_LINES);
    Ok(Rosters { org_id: org.id, roster: which.code().into(), self_managed, inservice, mobile, lost, lines, truncated })
}

fn roster_of(l: &RosterLine) -> Option<Roster> {
    Standing::from_code(&l.standing).map(Standing::roster)
}

/// A member's cards, newest first (their history of moves), as far as the caller reads.
pub async fn member_cards(db: &Db, p: &Principal, member: MemberId) -> Result<Vec<Card>, StoreError> {
    let mut a = args![p.tenant_id, member.get()];
    let read = p.scope(Capability::ReadRegistry).rows("c", &mut a);
    db.all(
        &format!(
            "{SELECT} WHERE c.tenant_id = $1 AND c.member_id = $2 AND {read} ORDER BY c.started_on DESC, c.id DESC"
        ),
        a,
    )
    .await
}

// ---- export

/// Filters of the rosters' export.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RosterFilter {
    /// Members of this organisation and its subtree.
    pub org_id: Option<OrgId>,
}

/// A member with the facts of their records, as the export reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FactsRow {
    pub id: i64,
    pub name: String,
    pub org_name: String,
    pub org_path: String,
    pub out_card: Option<i64>,
    pub left_on: Option<NaiveDate>,
    pub place: Option<String>,
    pub last_contact: Option<NaiveDate>,
    pub open_in: i64,
    pub open_report: i64,
    pub last_return: Option<NaiveDate>,
    pub open_transfer: i64,
}

/// The three rosters in one file (三本名册): every member of the subtree with
/// the roster they are on and where they stand.
pub struct RosterList;

impl Exportable for RosterList {
    const CODE: &'static str = "mobility-rosters";
    const LABEL: &'static str = "自管在职流动党员名册";
    const TAG: &'static str = "mobility";
    type Filter = RosterFilter;
    type Row = FactsRow;
    fn columns(_m: Mask) -> Vec<Column> {
        vec![
            Column::text("姓名"),
            Column::text("所在党组织"),
            Column::text("名册"),
            Column::text("状态"),
            Column::text("流向"),
            Column::date("流出日期"),
            Column::date("最近联系"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, crate::db::Args)>, StoreError> {
        let mut a = crate::db::Args::new();
        let mut w = vec![q.scope(Capability::ReadRegistry).rows("m", &mut a)];
        if let Some(o) = f.org_id {
            w.push(scope::rows_under_id("m", q.tenant_id, o, &mut a));
        }
        Ok(Some((format!("{FACTS_SELECT} WHERE {} ORDER BY o.path, r.name, m.id", w.join(" AND ")), a)))
    }
    fn cells(r: &FactsRow, _m: Mask) -> Vec<String> {
        let l = line(r.clone(), today());
        let roster = roster_of(&l).map(|x| x.label()).unwrap_or("");
        vec![
            l.name,
            l.org_name,
            roster.to_string(),
            l.standing_label,
            l.place.unwrap_or_default(),
            l.since.map(|d| d.to_string()).unwrap_or_default(),
            l.last_contact.map(|d| d.to_string()).unwrap_or_default(),
        ]
    }
}

/// Filters of the cards' export.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CardFilter {
    /// Cards kept by this organisation and its subtree.
    pub org_id: Option<OrgId>,
    /// `out` (流出) or `in` (流入); both when blank.
    pub direction: Option<String>,
    /// `open` (default: members still away or still here), `ended` or `all`.
    pub state: Option<String>,
}

/// The outflow and inflow registration cards (流出/流入登记卡台账), with the
/// latest contact kept and the other side of a pairing.
pub struct CardList;

/// A card with the last contact kept, as the export reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CardRow {
    #[sqlx(flatten)]
    pub card: Card,
    pub last_contact: Option<NaiveDate>,
    pub contacts: i64,
}

/// Contact details typed as free text (a phone, a chat group): every digit
/// but the last four hidden.
fn mask_digits(s: &str, m: Mask) -> String {
    if m == Mask::Clear {
        return s.to_string();
    }
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    s.chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen + 4 > digits { c } else { '*' }
        })
        .collect()
}

impl Exportable for CardList {
    const CODE: &'static str = "mobility-cards";
    const LABEL: &'static str = "流动党员登记卡台账";
    const TAG: &'static str = "mobility";
    type Filter = CardFilter;
    type Row = CardRow;
    fn columns(m: Mask) -> Vec<Column> {
        vec![
            Column::text("登记卡号"),
            Column::text("类别"),
            Column::text("姓名"),
            Column::text("登记组织"),
            Column::text("流向或来处"),
            Column::text("原因"),
            Column::date("开始日期"),
            Column::date("预计返回"),
            Column::text(crate::export::personal("联系方式", m)),
            Column::text("对方党组织"),
            Column::number("联系次数"),
            Column::date("最近联系"),
            Column::date("结束日期"),
            Column::text("结束原因"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, crate::db::Args)>, StoreError> {
        let mut a = crate::db::Args::new();
        let mut w = vec![q.scope(Capability::ReadRegistry).rows("c", &mut a)];
        if let Some(d) = f.direction.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
            let d = Direction::parse("direction", d)?;
            w.push(format!("c.direction = {}", a.push(d.code())));
        }
        match f.state.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
            None | Some("open") => w.push("c.ended_on IS NULL".into()),
            Some("ended") => w.push("c.ended_on IS NOT NULL".into()),
            Some("all") => {}
            Some(_) => return Err(FieldError::new("state", "unknown", "状态应为 open、ended 或 all").into()),
        }
        if let Some(o) = f.org_id {
            w.push(scope::rows_under_id("c", q.tenant_id, o, &mut a));
        }
        let select = SELECT.replacen(
            "SELECT ",
            "SELECT (SELECT MAX(x.on_date) FROM mobility_contacts x WHERE x.tenant_id = c.tenant_id AND x.card_id = c.id) \
             AS last_contact, (SELECT COUNT(*) FROM mobility_contacts x WHERE x.tenant_id = c.tenant_id AND x.card_id = c.id) \
             AS contacts, ",
            1,
        );
        Ok(Some((format!("{select} WHERE {} ORDER BY o.path, c.started_on, c.id", w.join(" AND ")), a)))
    }
    fn cells(r: &CardRow, m: Mask) -> Vec<String> {
        let c = &r.card;
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        vec![
            c.card_no.clone(),
            c.direction_label().to_string(),
            c.member_name.clone(),
            c.org_name.clone(),
            c.place.clone(),
            c.reason.clone(),
            c.started_on.to_string(),
            date(c.expected_until),
            mask_digits(&c.channel, m),
            c.other_org.clone().unwrap_or_default(),
            r.contacts.to_string(),
            date(r.last_contact),
            date(c.ended_on),
            c.end_reason.clone().unwrap_or_default(),
        ]
    }
}

/// The mobile members' exportable lists.
pub fn exports() -> Vec<&'static dyn crate::export::ExportList> {
    vec![&RosterList, &CardList, &crate::transfers::TransferList]
}

// ---- the demo district

/// Every community's members living away: the members registered as 流动党员
/// (or, failing those, the first members) get outflow cards — one in touch
/// (a contact every month), one silent for seven months (lost contact), one
/// back home a month ago. The first community's member in touch is received
/// by a branch of the second community (a paired inflow card).
pub async fn seed_demo(tx: &mut crate::db::Tx, tenant: i64, by: i64, today: NaiveDate) -> Result<(), StoreError> {
    let communities: Vec<(i64, String)> = tx
        .all(
            "SELECT id, path FROM orgs WHERE tenant_id = $1 AND kind IN ('community_committee', 'village_general_branch') \
             ORDER BY id",
            args![tenant],
        )
        .await?;
    let now = Utc::now();
    let days = chrono::Duration::days;
    let places = [("广东省深圳市宝安区", "外出务工"), ("浙江省杭州市余杭区", "经商"), ("江苏省苏州市工业园区", "务工")];
    let mut first_out: Option<(i64, String)> = None;
    for (ci, (community, path)) in communities.iter().enumerate() {
        let members: Vec<(i64, i64)> = tx
            .all(
                "SELECT m.id, m.org_id FROM members m JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
                 WHERE m.tenant_id = $1 AND o.path LIKE $2 \
                 AND NOT EXISTS (SELECT 1 FROM inservice_reports x WHERE x.tenant_id = m.tenant_id AND x.member_id = m.id) \
                 AND NOT EXISTS (SELECT 1 FROM duty_member_accounts a WHERE a.tenant_id = m.tenant_id AND a.member_id = m.id) \
                 ORDER BY m.category = 'mobile' DESC, m.id LIMIT 3",
                args![tenant, format!("{path}%")],
            )
            .await?;
        for (i, (member, org)) in members.into_iter().enumerate() {
            let (place, reason) = places[i % places.len()];
            let started = today - days([120, 300, 200][i]);
            let ended = (i == 2).then(|| today - days(30));
            let no = format!("LC{community}-{:02}", i + 1);
            let id = tx
                .int(
                    "INSERT INTO mobility_cards (tenant_id, org_id, member_id, direction, card_no, place, reason, started_on, \
                     expected_until, channel, other_org, ended_on, end_reason, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, 'out', $4, $5, $6, $7, $8, $9, NULL, $10, $11, $12, $13, $13) RETURNING id",
                    args![
                        tenant,
                        org,
                        member,
                        no.clone(),
                        place,
                        reason,
                        started,
                        Some(started + days(365)),
                        "电话、支部流动党员微信群",
                        ended,
                        ended.map(|_| "返回本社区居住".to_string()),
                        by,
                        now
                    ],
                )
                .await?;
            // In touch: a call or a chat every month; silent: one call a week after leaving.
            let contacts: Vec<NaiveDate> = match i {
                0 => (0..4).map(|k| today - days(10 + 30 * k)).collect(),
                1 => vec![started + days(7)],
                _ => vec![started + days(20), started + days(90)],
            };
            for (k, on) in contacts.into_iter().enumerate() {
                let channel = if k % 2 == 0 { ContactChannel::Call } else { ContactChannel::Group };
                tx.exec(
                    "INSERT INTO mobility_contacts (tenant_id, org_id, card_id, member_id, on_date, channel, note, recorded_by, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    args![tenant, org, id, member, on, channel.code(), "了解工作生活近况，提醒按时交纳党费", by, now],
                )
                .await?;
            }
            if ci == 0 && i == 0 {
                first_out = Some((id, no));
            }
        }
        if ci == 1
            && let Some((out, no)) = &first_out
        {
            // The second community's first branch received the first community's member.
            let received: Option<(i64, i64, NaiveDate)> = tx
                .opt(
                    "SELECT b.id, c.member_id, c.started_on FROM mobility_cards c, orgs b WHERE c.tenant_id = $1 AND c.id = $2 \
                     AND b.tenant_id = $1 AND b.parent_id = $3 ORDER BY b.id LIMIT 1",
                    args![tenant, *out, *community],
                )
                .await?;
            if let Some((branch, member, started)) = received {
                tx.exec(
                    "INSERT INTO mobility_cards (tenant_id, org_id, member_id, direction, card_no, place, reason, started_on, \
                     channel, other_org, paired_id, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, 'in', $4, $5, $6, $7, $8, NULL, $9, $10, $11, $11)",
                    args![
                        tenant,
                        branch,
                        member,
                        no.replacen("LC", "LR", 1),
                        "本街道另一社区",
                        "来本社区务工",
                        started + days(3),
                        "电话",
                        *out,
                        by,
                        now
                    ],
                )
                .await?;
            }
        }
    }
    Ok(())
}

// ---- deadlines on "my duties"

/// A deadline of mobile members' work for the responsible staff: a letter
/// to receive before it lapses, a receipt slip to get back, a member away
/// half a year whose relation should move, a member silent half a year
/// whose branch should decide whether to propose stopping membership
/// (停止党籍 — proposed and decided by people, never automatic), a transfer
/// waiting for the caller's approval.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reminder {
    /// `receive`, `receipt_slip`, `away_half_year`, `lost_contact`, `remove_due`,
    /// `decide_proposal` or `approve`.
    pub kind: String,
    pub what: String,
    pub due: Option<NaiveDate>,
    /// `overdue` or `due_soon` (within the warning days), `waiting` for an approval.
    pub status: String,
    pub href: String,
}

/// Days before a deadline it shows.
const WARN_DAYS: i64 = 30;

fn dated(kind: &str, what: String, due: NaiveDate, today: NaiveDate, href: String) -> Option<Reminder> {
    let status = if due < today {
        "overdue"
    } else if (due - today).num_days() <= WARN_DAYS {
        "due_soon"
    } else {
        return None;
    };
    Some(Reminder { kind: kind.into(), what, due: Some(due), status: status.into(), href })
}

/// The deadlines falling on the caller: over the organisations where they
/// may edit the registry (secretaries, community staff); none for others.
pub async fn reminders(db: &Db, p: &Principal, today: NaiveDate) -> Result<Vec<Reminder>, StoreError> {
    let edit = p.scope(CAP);
    if edit.is_empty() {
        return Ok(vec![]);
    }
    let days = chrono::Duration::days;
    let mut out = Vec::new();
    // Letters to receive (inside) and receipt slips to get back (outside).
    let mut a = args![p.tenant_id];
    let to = edit.rows_by("t", "to_org_id", &mut a);
    let from = edit.rows("t", &mut a);
    /// transfer, member's name, receiving organisation, letter's date, valid until.
    type Letter = (i64, String, Option<i64>, Option<NaiveDate>, Option<NaiveDate>);
    let letters: Vec<Letter> = db
        .all(
            &format!(
                "SELECT t.id, r.name, t.to_org_id, t.letter_on, t.valid_until FROM org_transfers t \
                 JOIN members m ON m.tenant_id = t.tenant_id AND m.id = t.member_id \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 WHERE t.tenant_id = $1 AND t.state = 'approved' \
                 AND ((t.to_org_id IS NOT NULL AND {to}) OR (t.to_org_id IS NULL AND {from})) ORDER BY t.id LIMIT 100"
            ),
            a,
        )
        .await?;
    for (id, name, to_org, letter_on, valid_until) in letters {
        let href = format!("/transfers/{id}");
        let r = match (to_org, letter_on, valid_until) {
            (Some(_), _, Some(until)) => {
                let what = format!("确认接收{name}的组织关系（介绍信 {until} 到期）");
                // Waiting for the receipt until the letter nears its end.
                dated("receive", what.clone(), until, today, href.clone()).or(Some(Reminder {
                    kind: "receive".into(),
                    what,
                    due: Some(until),
                    status: "waiting".into(),
                    href,
                }))
            }
            (None, Some(on), _) => {
                let due = on + days(30);
                dated("receipt_slip", format!("{name}的组织关系介绍信回执应在 {due} 前寄回"), due, today, href)
            }
            _ => None,
        };
        out.extend(r);
    }
    // Transfers waiting for the caller's approval.
    let mut a = args![p.tenant_id];
    let from = edit.rows("t", &mut a);
    let pending: Vec<(i64, String, String, i64)> = db
        .all(
            &format!(
                "SELECT t.id, r.name, t.chain, t.approved_steps FROM org_transfers t \
                 JOIN members m ON m.tenant_id = t.tenant_id AND m.id = t.member_id \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 WHERE t.tenant_id = $1 AND t.state = 'pending' AND {from} ORDER BY t.id LIMIT 100"
            ),
            a,
        )
        .await?;
    for (id, name, chain, steps) in pending {
        let next: Option<i64> = chain.split(',').filter_map(|x| x.trim().parse().ok()).nth(steps as usize);
        let Some(next) = next else { continue };
        let path: Option<(String,)> =
            db.opt("SELECT path FROM orgs WHERE tenant_id = $1 AND id = $2", args![p.tenant_id, next]).await?;
        let at = path.and_then(|(x,)| redcell_domain::OrgPath::parse(&x).ok());
        if at.is_some_and(|x| p.holds_at(CAP, &x)) {
            out.push(Reminder {
                kind: "approve".into(),
                what: format!("审批{name}的组织关系转接"),
                due: None,
                status: "waiting".into(),
                href: format!("/transfers/{id}"),
            });
        }
    }
    // Members away: half a year away, half a year silent.
    let mut a = args![p.tenant_id];
    let cards = edit.rows("c", &mut a);
    let away: Vec<(i64, String, NaiveDate, Option<NaiveDate>, i64)> = db
        .all(
            &format!(
                "SELECT c.id, r.name, c.started_on, (SELECT MAX(x.on_date) FROM mobility_contacts x WHERE x.tenant_id = c.tenant_id \
                 AND x.card_id = c.id), (SELECT COUNT(*) FROM org_transfers ot WHERE ot.tenant_id = c.tenant_id \
                 AND ot.member_id = c.member_id AND ot.state IN ('pending', 'approved')) FROM mobility_cards c \
                 JOIN members m ON m.tenant_id = c.tenant_id AND m.id = c.member_id \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 WHERE c.tenant_id = $1 AND c.direction = 'out' AND c.ended_on IS NULL AND {cards} ORDER BY c.started_on LIMIT 200"
            ),
            a,
        )
        .await?;
    let mut c = db.conn();
    for (id, name, started, contact, moving) in away {
        let href = format!("/mobility/cards/{id}");
        let quiet = contact.map_or(started, |c| c.max(started));
        let card = card_row(&mut c, p.tenant_id, id).await?;
        let proposals = proposals_of(&mut c, p.tenant_id, card.member_id).await?;
        if let Some(open) = proposals.iter().find(|x| x.decision.is_none()) {
            out.push(Reminder {
                kind: "decide_proposal".into(),
                what: format!("支部决定：{name}的{}建议", open.kind_label()),
                due: None,
                status: "waiting".into(),
                href,
            });
            continue;
        }
        match proposable(&card, quiet, &proposals, today) {
            Some(ProposalKind::Stop) => out.push(Reminder {
                kind: "lost_contact".into(),
                what: format!("{name}自 {quiet} 起没有联系已满半年：请支部研究是否提出停止党籍的建议"),
                due: Some(quiet + days(mb::LOST_AFTER_DAYS)),
                status: "overdue".into(),
                href,
            }),
            Some(ProposalKind::Remove) => out.push(Reminder {
                kind: "remove_due".into(),
                what: format!("{name}停止党籍已满两年仍无联系：请支部研究是否提出除名的建议"),
                due: None,
                status: "overdue".into(),
                href,
            }),
            None if moving == 0 && proposals.is_empty() => {
                let half = started + days(mb::LOST_AFTER_DAYS);
                out.extend(dated(
                    "away_half_year",
                    format!("{name}外出将满或已满六个月，应办理组织关系转接"),
                    half,
                    today,
                    href,
                ));
            }
            None => {}
        }
    }
    out.sort_by_key(|r| (r.status != "overdue", r.due));
    Ok(out)
}

// ---- proposals about a member out of contact

impl Owned for ProposalId {
    const TABLE: &'static str = "membership_proposals";
}

/// A proposal to stop a member's membership (停止党籍) after half a year
/// without contact, or to remove them (除名) two years after that.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = MembershipProposal)]
pub struct Proposal {
    pub id: i64,
    pub card_id: i64,
    pub member_id: i64,
    /// `stop` or `remove`.
    pub kind: String,
    pub reason: String,
    pub proposed_on: NaiveDate,
    pub proposed_by_name: String,
    /// `adopted` or `rejected` once decided.
    pub decision: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub decided_by_name: Option<String>,
    pub decision_note: Option<String>,
}

impl Proposal {
    pub fn kind_label(&self) -> &'static str {
        ProposalKind::from_code(&self.kind).map(|k| k.label()).unwrap_or("")
    }
    pub fn decision_label(&self) -> &'static str {
        self.decision.as_deref().and_then(ProposalDecision::from_code).map(|d| d.label()).unwrap_or("待支部决定")
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawProposal {
    /// `stop` or `remove`.
    #[schema(value_type = ProposalKind)]
    pub kind: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = RawProposalDecision)]
pub struct RawProposalDecision {
    /// `adopted` or `rejected`.
    #[schema(value_type = ProposalDecision)]
    pub decision: Option<String>,
    pub note: Option<String>,
}

const PROPOSAL_SELECT: &str = "SELECT x.id, x.card_id, x.member_id, x.kind, x.reason, x.proposed_on, \
    COALESCE(pu.display_name, '') AS proposed_by_name, x.decision, x.decided_on, du.display_name AS decided_by_name, \
    x.decision_note FROM membership_proposals x LEFT JOIN users pu ON pu.id = x.proposed_by LEFT JOIN users du ON du.id = x.decided_by";

/// The proposals about a card's member, newest first.
pub(crate) async fn proposals_of(c: &mut impl Conn, tenant: i64, member: i64) -> Result<Vec<Proposal>, StoreError> {
    c.all(
        &format!(
            "{PROPOSAL_SELECT} WHERE x.tenant_id = $1 AND x.member_id = $2 ORDER BY x.proposed_on DESC, x.id DESC"
        ),
        args![tenant, member],
    )
    .await
}

/// What may be proposed about the card's member today, if anything: stopping
/// membership once they have been silent half a year (and no proposal is
/// open or adopted), removal two years after membership was stopped.
pub fn proposable(
    card: &Card,
    quiet_since: NaiveDate,
    proposals: &[Proposal],
    today: NaiveDate,
) -> Option<ProposalKind> {
    if !card.is_open() || !card.is_out() || proposals.iter().any(|p| p.decision.is_none()) {
        return None;
    }
    let stopped =
        proposals.iter().find(|p| p.kind == ProposalKind::Stop.code() && p.decision.as_deref() == Some("adopted"));
    match stopped {
        None if (today - quiet_since).num_days() >= mb::LOST_AFTER_DAYS => Some(ProposalKind::Stop),
        Some(s) => {
            let removed = proposals
                .iter()
                .any(|p| p.kind == ProposalKind::Remove.code() && p.decision.as_deref() == Some("adopted"));
            let since = s.decided_on.unwrap_or(s.proposed_on);
            (!removed && quiet_since <= since && (today - since).num_days() >= mb::REMOVE_AFTER_DAYS)
                .then_some(ProposalKind::Remove)
        }
        None => None,
    }
}

async fn quiet_since(c: &mut impl Conn, tenant: i64, card: &Card) -> Result<NaiveDate, StoreError> {
    let (last,): (Option<NaiveDate>,) = c
        .one("SELECT MAX(on_date) FROM mobility_contacts WHERE tenant_id = $1 AND card_id = $2", args![tenant, card.id])
        .await?;
    Ok(last.map_or(card.started_on, |l| l.max(card.started_on)))
}

/// The branch records a proposal about the card's member (when one is due).
pub async fn propose(db: &Db, p: &Principal, id: CardId, raw: &RawProposal) -> Result<Proposal, StoreError> {
    let kind = ProposalKind::parse("kind", raw.kind.as_deref().unwrap_or("").trim())?;
    let reason = Text::required("reason", raw.reason.as_deref().unwrap_or(""), 300)?;
    let mut tx = db.begin().await?;
    let card = open_card(&mut tx, p, id).await?;
    tx.exec(
        "UPDATE members SET updated_at = updated_at WHERE tenant_id = $1 AND id = $2",
        args![p.tenant_id, card.member_id],
    )
    .await?;
    let existing = proposals_of(&mut tx, p.tenant_id, card.member_id).await?;
    let quiet = quiet_since(&mut tx, p.tenant_id, &card).await?;
    if proposable(&card, quiet, &existing, today()) != Some(kind) {
        let why = match kind {
            ProposalKind::Stop => "失去联系满六个月、且没有未决的建议时，才能提出停止党籍的建议",
            ProposalKind::Remove => "停止党籍满两年、期间仍无联系时，才能提出除名的建议",
        };
        return Err(FieldError::new("kind", "not_due", why).into());
    }
    let now = Utc::now();
    let pid = tx
        .int(
            "INSERT INTO membership_proposals (tenant_id, org_id, member_id, card_id, kind, reason, proposed_on, proposed_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            args![p.tenant_id, card.org_id, card.member_id, card.id, kind.code(), reason.into_string(), today(), p.user_id, now],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "membership_proposal",
        "membership_proposals",
        p.tenant_id,
        pid,
        None,
    )
    .await?;
    let out =
        tx.one(&format!("{PROPOSAL_SELECT} WHERE x.tenant_id = $1 AND x.id = $2"), args![p.tenant_id, pid]).await?;
    tx.commit().await?;
    Ok(out)
}

/// The branch's decision on a proposal, once.
pub async fn decide_proposal(
    db: &Db,
    p: &Principal,
    id: ProposalId,
    raw: &RawProposalDecision,
) -> Result<Proposal, StoreError> {
    let decision = ProposalDecision::parse("decision", raw.decision.as_deref().unwrap_or("").trim())?;
    let note = Text::parse("note", raw.note.as_deref().unwrap_or(""), 300)?.into_string();
    let mut tx = db.begin().await?;
    let owner = p.access(CAP)?.target(&mut tx, id).await?;
    let before = audit::snapshot(&mut tx, "membership_proposals", owner.tenant_id, id.get()).await?;
    let n = tx
        .exec(
            "UPDATE membership_proposals SET decision = $1, decided_on = $2, decided_by = $3, decision_note = $4, updated_at = $5 \
             WHERE tenant_id = $6 AND id = $7 AND decision IS NULL",
            args![
                decision.code(),
                today(),
                p.user_id,
                (!note.is_empty()).then_some(note),
                Utc::now(),
                owner.tenant_id,
                id.get()
            ],
        )
        .await?;
    if n != 1 {
        return Err(FieldError::new("decision", "decided", "这条建议已经决定过了").into());
    }
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "membership_proposal",
        "membership_proposals",
        owner.tenant_id,
        id.get(),
        before,
    )
    .await?;
    let out = tx
        .one(&format!("{PROPOSAL_SELECT} WHERE x.tenant_id = $1 AND x.id = $2"), args![owner.tenant_id, id.get()])
        .await?;
    tx.commit().await?;
    Ok(out)
}
