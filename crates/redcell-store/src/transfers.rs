//! Organisation-relation transfers (组织关系转接). The sending organisation
//! starts one for its member — to another organisation of the deployment
//! (named by its code) or outside it; the organisations above the sending one
//! up to the common ancestor of both ends approve in turn, nearest first
//! ([`redcell_domain::mobility::approval_chain`]), each step naming who
//! decided; the sending side may revoke until the first approval. On the last
//! approval the introduction letter is issued (number, date, valid for 90
//! days unless the tenant set fewer). The receiving organisation then confirms receipt — only then does
//! the member's organisation change — or refuses with a reason; for a
//! transfer out of the deployment the sending side records the receipt slip
//! when it comes back. Both sides see the transfer; each step, the letter and
//! the receipt are audited.

use crate::args;
use crate::audit;
use crate::db::{Conn, Db, Tx};
use crate::error::StoreError;
use crate::scope::Principal;
use chrono::{Datelike, NaiveDate, Utc};
use redcell_domain::mobility::{LETTER_DAYS, TransferId, TransferState, approval_chain};
use redcell_domain::text::Text;
use redcell_domain::{Capability, CodeEnum, FieldError, Invalid, MemberId, OrgPath};
use serde::{Deserialize, Serialize};

/// Starting, approving and receiving need the right to edit the organisation concerned.
const CAP: Capability = Capability::EditRegistry;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Transfer {
    pub id: i64,
    /// The sending organisation.
    pub org_id: i64,
    pub org_name: String,
    pub member_id: i64,
    pub member_name: String,
    pub to_org_id: Option<i64>,
    /// The member has left the registry (transferred out of the deployment and released).
    pub released: bool,
    pub to_org_name: Option<String>,
    /// A destination outside the deployment, in words.
    pub to_outside: Option<String>,
    pub reason: String,
    /// `pending`, `approved`, `received`, `revoked` or `refused`.
    pub state: String,
    #[serde(skip)]
    pub chain: String,
    pub approved_steps: i64,
    pub letter_no: Option<String>,
    pub letter_on: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub received_on: Option<NaiveDate>,
    pub closed_reason: Option<String>,
    pub created_by_name: String,
}

impl Transfer {
    pub fn state_label(&self) -> &'static str {
        TransferState::from_code(&self.state).map(|s| s.label()).unwrap_or("")
    }
    fn state(&self) -> Option<TransferState> {
        TransferState::from_code(&self.state)
    }
    pub fn is_open(&self) -> bool {
        self.state().is_some_and(TransferState::is_open)
    }
    /// Where to, in words.
    pub fn destination(&self) -> String {
        self.to_org_name.clone().or_else(|| self.to_outside.clone()).unwrap_or_default()
    }
    fn chain_ids(&self) -> Vec<i64> {
        self.chain.split(',').filter_map(|x| x.trim().parse().ok()).collect()
    }
}

/// One approval step as the transfer's page shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Step {
    pub org_id: i64,
    pub org_name: String,
    /// `approve` or `refuse` once decided.
    pub decision: Option<String>,
    pub decided_by_name: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransferView {
    pub transfer: Transfer,
    /// The end of the transfer the caller reads (the sending organisation, else the receiving one).
    pub side_org_id: i64,
    pub steps: Vec<Step>,
    /// What the caller may do now.
    pub may_decide: bool,
    pub may_revoke: bool,
    pub may_receive: bool,
    /// A transfer out of the deployment, its receipt slip back: the sending
    /// side may now take the member off the registry.
    pub may_release: bool,
}

/// An organisation's transfers: those waiting for the caller, those still
/// open (未办结), and the latest closed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Transfers {
    pub waiting: Vec<Transfer>,
    pub open: Vec<Transfer>,
    pub closed: Vec<Transfer>,
    /// Days a letter issued now is valid.
    pub letter_days: i64,
}

/// The tenant's transfer settings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransferSettings {
    /// Days an introduction letter is valid (1 to 90).
    pub letter_days: i64,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawTransferSettings {
    /// Days an introduction letter is valid: 1 to 90 (three months).
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub letter_days: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawTransfer {
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub member_id: Option<String>,
    /// The receiving organisation's code (inside the deployment)…
    pub to_org_code: Option<String>,
    /// …or a destination outside it, in words (one of the two).
    pub to_outside: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = RawTransferDecision)]
pub struct RawDecision {
    /// `approve` or `refuse`.
    pub decision: Option<String>,
    /// Required when refusing.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawReceipt {
    /// `receive` (default) or `refuse` (the receiving organisation declines, with a reason).
    pub decision: Option<String>,
    /// `YYYY-MM-DD` (default: today), not before the letter.
    pub received_on: Option<String>,
    pub reason: Option<String>,
}

const SELECT: &str = "SELECT t.id, t.org_id, o.name AS org_name, t.member_id, COALESCE(r.name, t.member_name, '') AS member_name, \
    t.to_org_id, (m.id IS NULL) AS released, \
    tot.name AS to_org_name, t.to_outside, t.reason, t.state, t.chain, t.approved_steps, t.letter_no, t.letter_on, \
    t.valid_until, t.received_on, t.closed_reason, COALESCE(u.display_name, '') AS created_by_name FROM org_transfers t \
    JOIN orgs o ON o.tenant_id = t.tenant_id AND o.id = t.org_id \
    LEFT JOIN orgs tot ON tot.tenant_id = t.tenant_id AND tot.id = t.to_org_id \
    LEFT JOIN members m ON m.tenant_id = t.tenant_id AND m.id = t.member_id \
    LEFT JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    LEFT JOIN users u ON u.id = t.created_by";

fn today() -> NaiveDate {
    crate::coverage::today()
}

async fn row(c: &mut impl Conn, tenant: i64, id: i64) -> Result<Transfer, StoreError> {
    c.one(&format!("{SELECT} WHERE t.tenant_id = $1 AND t.id = $2"), args![tenant, id]).await
}

/// Days a letter issued now is valid: the tenant's setting, else three months.
async fn letter_days(c: &mut impl Conn, tenant: i64) -> Result<i64, StoreError> {
    let set: Option<(i64,)> =
        c.opt("SELECT letter_days FROM mobility_settings WHERE tenant_id = $1", args![tenant]).await?;
    Ok(set.map(|(d,)| d).unwrap_or(LETTER_DAYS))
}

/// The tenant's transfer settings (anyone who reads the registry may see them).
pub async fn settings(db: &Db, p: &Principal) -> Result<TransferSettings, StoreError> {
    p.access(Capability::ReadRegistry)?;
    Ok(TransferSettings { letter_days: letter_days(&mut db.conn(), p.tenant_id).await? })
}

/// Change how long letters issued from now on are valid (the tenant's
/// administrators); letters already issued keep their date.
pub async fn set_settings(db: &Db, p: &Principal, raw: &RawTransferSettings) -> Result<TransferSettings, StoreError> {
    crate::requests::tenant_settings(p)?;
    let days = redcell_domain::mobility::letter_days("letter_days", raw.letter_days.as_deref().unwrap_or(""))?;
    let mut tx = db.begin().await?;
    let before = letter_days(&mut tx, p.tenant_id).await?;
    tx.exec(
        "INSERT INTO mobility_settings (tenant_id, letter_days, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id) DO UPDATE SET letter_days = excluded.letter_days, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at",
        args![p.tenant_id, days, p.user_id, Utc::now()],
    )
    .await?;
    let detail = format!("介绍信有效期 {before} 天 → {days} 天");
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "update", "mobility_settings", None, &detail).await?;
    tx.commit().await?;
    Ok(TransferSettings { letter_days: days })
}

async fn path_of(c: &mut impl Conn, tenant: i64, org: i64) -> Result<OrgPath, StoreError> {
    let (p,): (String,) = c.one("SELECT path FROM orgs WHERE tenant_id = $1 AND id = $2", args![tenant, org]).await?;
    OrgPath::parse(&p).map_err(|e| StoreError::Internal(e.message))
}

/// The transfer if the caller reads either end of it (else "not found"), and
/// the organisation of the end they read (the sending one first).
async fn visible_side(c: &mut impl Conn, p: &Principal, id: TransferId) -> Result<(Transfer, i64), StoreError> {
    let t = row(c, p.tenant_id, id.get()).await?;
    let reads = |path: &OrgPath| p.holds_at(Capability::ReadRegistry, path);
    if reads(&path_of(c, p.tenant_id, t.org_id).await?) {
        let side = t.org_id;
        return Ok((t, side));
    }
    if let Some(o) = t.to_org_id
        && reads(&path_of(c, p.tenant_id, o).await?)
    {
        return Ok((t, o));
    }
    Err(StoreError::NotFound)
}

async fn visible(c: &mut impl Conn, p: &Principal, id: TransferId) -> Result<Transfer, StoreError> {
    Ok(visible_side(c, p, id).await?.0)
}

/// The next approving organisation of a pending transfer.
fn next_step(t: &Transfer) -> Option<i64> {
    (t.state() == Some(TransferState::Pending)).then(|| t.chain_ids().get(t.approved_steps as usize).copied()).flatten()
}

async fn powers(c: &mut impl Conn, p: &Principal, t: &Transfer) -> Result<(bool, bool, bool), StoreError> {
    let edits = |path: &OrgPath| p.holds_at(CAP, path);
    let from = path_of(c, p.tenant_id, t.org_id).await?;
    let decide = match next_step(t) {
        Some(o) => edits(&path_of(c, p.tenant_id, o).await?),
        None => false,
    };
    let revoke = t.state() == Some(TransferState::Pending) && t.approved_steps == 0 && edits(&from);
    let receive = t.state() == Some(TransferState::Approved)
        && match t.to_org_id {
            Some(o) => edits(&path_of(c, p.tenant_id, o).await?),
            None => edits(&from),
        };
    Ok((decide, revoke, receive))
}

/// A transfer with its steps and what the caller may do.
pub async fn transfer(db: &Db, p: &Principal, id: TransferId) -> Result<TransferView, StoreError> {
    let mut c = db.conn();
    let (t, side_org_id) = visible_side(&mut c, p, id).await?;
    let decided: Vec<(i64, String, Option<String>, String)> = c
        .all(
            "SELECT s.seq, s.decision, s.reason, COALESCE(u.display_name, '') FROM org_transfer_steps s \
             LEFT JOIN users u ON u.id = s.decided_by WHERE s.tenant_id = $1 AND s.transfer_id = $2 ORDER BY s.seq",
            args![p.tenant_id, t.id],
        )
        .await?;
    let mut steps = Vec::new();
    for (i, org) in t.chain_ids().into_iter().enumerate() {
        let (name,): (String,) =
            c.one("SELECT name FROM orgs WHERE tenant_id = $1 AND id = $2", args![p.tenant_id, org]).await?;
        let d = decided.iter().find(|x| x.0 == i as i64);
        steps.push(Step {
            org_id: org,
            org_name: name,
            decision: d.map(|x| x.1.clone()),
            decided_by_name: d.map(|x| x.3.clone()),
            reason: d.and_then(|x| x.2.clone()),
        });
    }
    let (may_decide, may_revoke, may_receive) = powers(&mut c, p, &t).await?;
    let may_release = releasable(&t) && p.holds_at(CAP, &path_of(&mut c, p.tenant_id, t.org_id).await?);
    Ok(TransferView { transfer: t, side_org_id, steps, may_decide, may_revoke, may_receive, may_release })
}

/// The transfers of an organisation's subtree, sent or received.
pub async fn transfers(db: &Db, p: &Principal, org_id: redcell_domain::OrgId) -> Result<Transfers, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let mut c = db.conn();
    let org = access.org(&mut c, org_id).await?;
    let mut a = args![];
    let from = org.under("t", &mut a);
    let to = crate::scope::Scope::subtree(org.tenant_id, org.path.clone()).rows_by("t", "to_org_id", &mut a);
    let all: Vec<Transfer> =
        c.all(&format!("{SELECT} WHERE ({from} OR {to}) ORDER BY t.updated_at DESC, t.id DESC LIMIT 300"), a).await?;
    let (mut waiting, mut open, mut closed) = (Vec::new(), Vec::new(), Vec::new());
    for t in all {
        if t.is_open() {
            let (d, _, r) = powers(&mut c, p, &t).await?;
            if d || r {
                waiting.push(t);
            } else {
                open.push(t);
            }
        } else if closed.len() < 30 {
            closed.push(t);
        }
    }
    let letter_days = letter_days(&mut c, p.tenant_id).await?;
    Ok(Transfers { waiting, open, closed, letter_days })
}

/// Start a transfer of a member's relation (one open per member).
pub async fn start(db: &Db, p: &Principal, raw: &RawTransfer) -> Result<Transfer, StoreError> {
    let access = p.access(CAP)?;
    let mut e = Invalid::default();
    let member = e.check(redcell_domain::input::id_ref::<MemberId>("member_id", &raw.member_id, true)).flatten();
    let code = raw.to_org_code.as_deref().map(str::trim).filter(|x| !x.is_empty()).map(str::to_string);
    let outside = e.check(Text::parse("to_outside", raw.to_outside.as_deref().unwrap_or(""), 100));
    let outside = outside.map(Text::into_string).filter(|x| !x.is_empty());
    let reason = e.check(Text::required("reason", raw.reason.as_deref().unwrap_or(""), 200));
    match (&code, &outside) {
        (None, None) => e.push(FieldError::new("to_org_code", "required", "请填写接收组织的编码，或街道以外的去向")),
        (Some(_), Some(_)) => e.push(FieldError::new("to_outside", "both", "接收组织编码和外部去向只填一项")),
        _ => {}
    }
    e.into_result()?;
    let (Some(member), Some(reason)) = (member, reason) else { return Err(StoreError::Internal("transfer".into())) };
    let mut tx = db.begin().await?;
    let owner = access.reference(&mut tx, member, "member_id").await?;
    let to: Option<(i64, OrgPath)> = match &code {
        Some(code) => {
            let found: Option<(i64, String)> = tx
                .opt("SELECT id, path FROM orgs WHERE tenant_id = $1 AND code = $2", args![p.tenant_id, code.clone()])
                .await?;
            let (id, path) = found.ok_or_else(|| FieldError::new("to_org_code", "not_found", "没有这个组织编码"))?;
            Some((id, OrgPath::parse(&path).map_err(|e| StoreError::Internal(e.message))?))
        }
        None => None,
    };
    let chain = approval_chain(&owner.path, to.as_ref().map(|(_, p)| p))
        .map_err(|e| FieldError::new("to_org_code", e.code, e.message))?;
    tx.exec(
        "UPDATE members SET updated_at = updated_at WHERE tenant_id = $1 AND id = $2",
        args![p.tenant_id, member.get()],
    )
    .await?;
    let open = tx
        .int(
            "SELECT COUNT(*) FROM org_transfers WHERE tenant_id = $1 AND member_id = $2 AND state IN ($3, $4)",
            args![p.tenant_id, member.get(), TransferState::Pending.code(), TransferState::Approved.code()],
        )
        .await?;
    if open > 0 {
        return Err(FieldError::new("member_id", "open", "这名党员已有办理中的组织关系转接").into());
    }
    let now = Utc::now();
    let chain_text = chain.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let (name,): (String,) = tx
        .one(
            "SELECT r.name FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
             WHERE m.tenant_id = $1 AND m.id = $2",
            args![p.tenant_id, member.get()],
        )
        .await?;
    let id = tx
        .int(
            "INSERT INTO org_transfers (tenant_id, org_id, member_id, member_name, to_org_id, to_outside, reason, state, \
             chain, approved_steps, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $11, $4, $5, $6, $7, $8, 0, $9, $10, $10) RETURNING id",
            args![
                p.tenant_id,
                owner.org_id,
                member.get(),
                to.as_ref().map(|(id, _)| *id),
                outside,
                reason.into_string(),
                TransferState::Pending.code(),
                chain_text,
                p.user_id,
                now,
                name
            ],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "org_transfer",
        "org_transfers",
        p.tenant_id,
        id,
        None,
    )
    .await?;
    let t = row(&mut tx, p.tenant_id, id).await?;
    tx.commit().await?;
    Ok(t)
}

/// Record a change of the transfer's state, audited with the one before.
async fn update(
    tx: &mut Tx,
    p: &Principal,
    t: &Transfer,
    sets: &str,
    mut a: crate::db::Args,
) -> Result<Transfer, StoreError> {
    let before = audit::snapshot(tx, "org_transfers", p.tenant_id, t.id).await?;
    let (tp, ip, sp, ap) = (a.push(p.tenant_id), a.push(t.id), a.push(t.state.clone()), a.push(t.approved_steps));
    let n = tx
        .exec(
            &format!(
                "UPDATE org_transfers SET {sets} WHERE tenant_id = {tp} AND id = {ip} AND state = {sp} AND approved_steps = {ap}"
            ),
            a,
        )
        .await?;
    if n != 1 {
        return Err(FieldError::new("transfer", "changed", "这件转接刚被别人处理过，请刷新后再看").into());
    }
    audit::change(
        tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "org_transfer",
        "org_transfers",
        p.tenant_id,
        t.id,
        before,
    )
    .await?;
    row(tx, p.tenant_id, t.id).await
}

/// The next approver approves or refuses (a reason required).
pub async fn decide(db: &Db, p: &Principal, id: TransferId, raw: &RawDecision) -> Result<Transfer, StoreError> {
    let approve = match raw.decision.as_deref().map(str::trim) {
        Some("approve") => true,
        Some("refuse") => false,
        _ => return Err(FieldError::new("decision", "required", "请选择同意或不同意").into()),
    };
    let reason = Text::parse("reason", raw.reason.as_deref().unwrap_or(""), 200)?.into_string();
    if !approve && reason.is_empty() {
        return Err(FieldError::new("reason", "required", "不同意时请写明理由").into());
    }
    let mut tx = db.begin().await?;
    let t = visible(&mut tx, p, id).await?;
    let Some(step_org) = next_step(&t) else {
        return Err(FieldError::new("decision", "state", format!("这件转接{}，无需审批", t.state_label())).into());
    };
    if !p.holds_at(CAP, &path_of(&mut tx, p.tenant_id, step_org).await?) {
        return Err(StoreError::Denied(FieldError::new("decision", "not_in_chain", "这一步应由上级组织审批")));
    }
    let now = Utc::now();
    tx.exec(
        "INSERT INTO org_transfer_steps (tenant_id, org_id, transfer_id, seq, decision, reason, decided_by, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            p.tenant_id,
            step_org,
            t.id,
            t.approved_steps,
            if approve { "approve" } else { "refuse" },
            (!reason.is_empty()).then(|| reason.clone()),
            p.user_id,
            now
        ],
    )
    .await?;
    let last = t.approved_steps as usize + 1 == t.chain_ids().len();
    let out = if !approve {
        let a = args![TransferState::Refused.code(), reason, now];
        update(&mut tx, p, &t, "state = $1, closed_reason = $2, updated_at = $3", a).await?
    } else if last {
        let day = today();
        let letter = format!("ZZ{}-{:05}", day.year(), t.id);
        let valid = letter_days(&mut tx, p.tenant_id).await?;
        let a = args![
            TransferState::Approved.code(),
            t.approved_steps + 1,
            letter,
            day,
            day + chrono::Duration::days(valid),
            now
        ];
        update(
            &mut tx,
            p,
            &t,
            "state = $1, approved_steps = $2, letter_no = $3, letter_on = $4, valid_until = $5, updated_at = $6",
            a,
        )
        .await?
    } else {
        update(&mut tx, p, &t, "approved_steps = $1, updated_at = $2", args![t.approved_steps + 1, now]).await?
    };
    tx.commit().await?;
    Ok(out)
}

/// The sending side takes the transfer back, until the first approval.
pub async fn revoke(db: &Db, p: &Principal, id: TransferId) -> Result<Transfer, StoreError> {
    let mut tx = db.begin().await?;
    let t = visible(&mut tx, p, id).await?;
    let (_, may, _) = powers(&mut tx, p, &t).await?;
    if !may {
        let why = if t.state() == Some(TransferState::Pending) && t.approved_steps > 0 {
            "已有上级审批同意，不能撤回"
        } else {
            "只有转出组织可以撤回审批中的转接"
        };
        return Err(FieldError::new("transfer", "revoke", why).into());
    }
    let a = args![TransferState::Revoked.code(), "转出组织撤回", Utc::now()];
    let out = update(&mut tx, p, &t, "state = $1, closed_reason = $2, updated_at = $3", a).await?;
    tx.commit().await?;
    Ok(out)
}

/// The receiving organisation confirms receipt (the member's organisation
/// changes now) or refuses with a reason; for a transfer out of the
/// deployment, the sending side records the receipt slip.
pub async fn receive(db: &Db, p: &Principal, id: TransferId, raw: &RawReceipt) -> Result<Transfer, StoreError> {
    let accept = match raw.decision.as_deref().map(str::trim).unwrap_or("receive") {
        "receive" | "" => true,
        "refuse" => false,
        _ => return Err(FieldError::new("decision", "unknown", "请选择接收或不接收").into()),
    };
    let on = redcell_domain::text::past_date("received_on", &raw.received_on, today())?;
    let reason = Text::parse("reason", raw.reason.as_deref().unwrap_or(""), 200)?.into_string();
    if !accept && reason.is_empty() {
        return Err(FieldError::new("reason", "required", "不接收时请写明理由").into());
    }
    let mut tx = db.begin().await?;
    let t = visible(&mut tx, p, id).await?;
    if t.state() != Some(TransferState::Approved) {
        let why = format!("这件转接{}，{}", t.state_label(), "审批通过、开出介绍信后才能接收");
        return Err(FieldError::new("received_on", "state", why).into());
    }
    let (_, _, may) = powers(&mut tx, p, &t).await?;
    if !may {
        return Err(StoreError::Denied(FieldError::new("received_on", "receiver", "应由接收组织确认")));
    }
    if t.letter_on.is_some_and(|l| on < l) {
        return Err(FieldError::new("received_on", "order", "接收日期不能早于介绍信开出日期").into());
    }
    let now = Utc::now();
    let out = if accept {
        if let Some(to) = t.to_org_id {
            let before = audit::snapshot(&mut tx, "members", p.tenant_id, t.member_id).await?;
            tx.exec(
                "UPDATE members SET org_id = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
                args![to, now, p.tenant_id, t.member_id],
            )
            .await?;
            audit::change(
                &mut tx,
                audit::Actor::of(p),
                audit::Change::Update,
                "member",
                "members",
                p.tenant_id,
                t.member_id,
                before,
            )
            .await?;
        }
        let a = args![TransferState::Received.code(), on, now];
        update(&mut tx, p, &t, "state = $1, received_on = $2, updated_at = $3", a).await?
    } else {
        let a = args![TransferState::Refused.code(), format!("接收组织不接收：{reason}"), now];
        update(&mut tx, p, &t, "state = $1, closed_reason = $2, updated_at = $3", a).await?
    };
    tx.commit().await?;
    Ok(out)
}

/// Received out of the deployment, the member still in the registry.
fn releasable(t: &Transfer) -> bool {
    t.state() == Some(TransferState::Received) && t.to_org_id.is_none() && !t.released
}

/// After the receipt slip of a transfer out of the deployment, the sending
/// side takes the member off the registry (their relation is elsewhere now):
/// open cards end, contact relations end, the member row goes (audited);
/// the transfer keeps the member's name and stays in both sides' history.
pub async fn release(db: &Db, p: &Principal, id: TransferId) -> Result<Transfer, StoreError> {
    let mut tx = db.begin().await?;
    let t = visible(&mut tx, p, id).await?;
    if !releasable(&t) {
        let why = if t.released {
            "这名党员已移出党员名册"
        } else {
            "转往街道以外、收到回执后，才能把党员移出党员名册"
        };
        return Err(FieldError::new("transfer", "release", why).into());
    }
    if !p.holds_at(CAP, &path_of(&mut tx, p.tenant_id, t.org_id).await?) {
        return Err(StoreError::Denied(FieldError::new("transfer", "sender", "应由转出组织移出")));
    }
    let at = Utc::now();
    let why = format!("组织关系已转出（{}）", t.destination());
    tx.exec(
        "UPDATE mobility_cards SET ended_on = $1, end_reason = $2, updated_at = $3 \
         WHERE tenant_id = $4 AND member_id = $5 AND ended_on IS NULL",
        args![today(), why.clone(), at, p.tenant_id, t.member_id],
    )
    .await?;
    tx.exec(
        "UPDATE org_transfers SET member_name = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
        args![t.member_name.clone(), at, p.tenant_id, t.id],
    )
    .await?;
    crate::registry::members::delete_in(&mut tx, p, p.tenant_id, MemberId::new(t.member_id), &why).await?;
    audit::record(&mut tx, p.tenant_id, Some(p.user_id), "member_released", "org_transfer", Some(t.id), &why).await?;
    let out = row(&mut tx, p.tenant_id, t.id).await?;
    tx.commit().await?;
    Ok(out)
}

// ---- the demo district

/// In every community with two branches: a member moving to the other
/// branch waits for the community's approval, another's approved transfer
/// (letter issued) waits for the receiving branch, and a third moving out of
/// the district has its letter out, the receipt slip due back this month.
pub async fn seed_demo(tx: &mut Tx, tenant: i64, by: i64, today: NaiveDate) -> Result<(), StoreError> {
    let communities: Vec<(i64, Option<i64>)> = tx
        .all(
            "SELECT id, parent_id FROM orgs WHERE tenant_id = $1 AND kind IN ('community_committee', 'village_general_branch') \
             ORDER BY id",
            args![tenant],
        )
        .await?;
    let now = Utc::now();
    for (community, street) in communities {
        let branches: Vec<(i64,)> = tx
            .all(
                "SELECT id FROM orgs WHERE tenant_id = $1 AND parent_id = $2 ORDER BY id LIMIT 2",
                args![tenant, community],
            )
            .await?;
        let [(from,), (to,)] = branches[..] else { continue };
        let members: Vec<(i64,)> = tx
            .all(
                "SELECT m.id FROM members m WHERE m.tenant_id = $1 AND m.org_id = $2 \
                 AND NOT EXISTS (SELECT 1 FROM mobility_cards c WHERE c.tenant_id = m.tenant_id AND c.member_id = m.id) \
                 AND NOT EXISTS (SELECT 1 FROM inservice_reports x WHERE x.tenant_id = m.tenant_id AND x.member_id = m.id) \
                 AND NOT EXISTS (SELECT 1 FROM duty_member_accounts a WHERE a.tenant_id = m.tenant_id AND a.member_id = m.id) \
                 ORDER BY m.id DESC LIMIT 3",
                args![tenant, from],
            )
            .await?;
        for (i, (member,)) in members.into_iter().enumerate() {
            let approved = i >= 1;
            let outside = i == 2;
            let letter_on = today - chrono::Duration::days(if outside { 12 } else { 5 });
            let chain: Vec<i64> =
                if outside { [Some(community), street].into_iter().flatten().collect() } else { vec![community] };
            let id = tx
                .int(
                    "INSERT INTO org_transfers (tenant_id, org_id, member_id, to_org_id, to_outside, reason, state, chain, \
                     approved_steps, letter_no, letter_on, valid_until, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
                    args![
                        tenant,
                        from,
                        member,
                        (!outside).then_some(to),
                        outside.then(|| "外省某市某区某街道党工委".to_string()),
                        match i {
                            0 => "工作调动，常住另一片区",
                            1 => "搬到本社区另一片区居住",
                            _ => "随子女到外省定居",
                        },
                        if approved { TransferState::Approved.code() } else { TransferState::Pending.code() },
                        chain.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
                        if approved { chain.len() as i64 } else { 0 },
                        approved.then(|| format!("ZZ{}-D{community:04}{i}", today.year())),
                        approved.then_some(letter_on),
                        approved.then_some(letter_on + chrono::Duration::days(LETTER_DAYS)),
                        by,
                        now
                    ],
                )
                .await?;
            for (seq, org) in chain.iter().enumerate().filter(|_| approved) {
                tx.exec(
                    "INSERT INTO org_transfer_steps (tenant_id, org_id, transfer_id, seq, decision, decided_by, decided_at) \
                     VALUES ($1, $2, $3, $4, 'approve', $5, $6)",
                    args![tenant, *org, id, seq as i64, by, now],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// A member's transfers, newest first, as far as the caller reads either end.
pub async fn member_transfers(db: &Db, p: &Principal, member: MemberId) -> Result<Vec<Transfer>, StoreError> {
    let read = p.scope(Capability::ReadRegistry);
    let mut a = args![p.tenant_id, member.get()];
    let from = read.rows("t", &mut a);
    let to = read.rows_by("t", "to_org_id", &mut a);
    db.all(&format!("{SELECT} WHERE t.tenant_id = $1 AND t.member_id = $2 AND ({from} OR {to}) ORDER BY t.id DESC"), a)
        .await
}

// ---- export

/// Filters of the transfers' export.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransferFilter {
    /// Transfers sent from or received into this organisation's subtree.
    pub org_id: Option<redcell_domain::OrgId>,
    /// `open` (审批中 or 待接收), `closed` or `all` (default).
    pub state: Option<String>,
}

/// The organisation-relation transfers (组织关系转接台账), sent or received.
pub struct TransferList;

impl crate::export::Exportable for TransferList {
    const CODE: &'static str = "org-transfers";
    const LABEL: &'static str = "组织关系转接台账";
    const TAG: &'static str = "mobility";
    type Filter = TransferFilter;
    type Row = Transfer;
    fn columns(_m: crate::export::Mask) -> Vec<redcell_domain::export::Column> {
        use redcell_domain::export::Column;
        vec![
            Column::text("姓名"),
            Column::text("转出组织"),
            Column::text("转入组织或去向"),
            Column::text("原因"),
            Column::text("状态"),
            Column::text("介绍信编号"),
            Column::date("开出日期"),
            Column::date("有效期至"),
            Column::date("接收或回执日期"),
            Column::text("办结说明"),
            Column::text("提出人"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, crate::db::Args)>, StoreError> {
        let mut a = crate::db::Args::new();
        let read = q.scope(Capability::ReadRegistry);
        let from = read.rows("t", &mut a);
        let to = read.rows_by("t", "to_org_id", &mut a);
        let mut w = vec![format!("t.tenant_id = {}", a.push(q.tenant_id)), format!("({from} OR {to})")];
        let (p, a2) = (TransferState::Pending.code(), TransferState::Approved.code());
        match f.state.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
            None | Some("all") => {}
            Some("open") => w.push(format!("t.state IN ({}, {})", a.push(p), a.push(a2))),
            Some("closed") => w.push(format!("t.state NOT IN ({}, {})", a.push(p), a.push(a2))),
            Some(_) => return Err(FieldError::new("state", "unknown", "状态应为 open、closed 或 all").into()),
        }
        if let Some(o) = f.org_id {
            let from = crate::scope::rows_under_id("t", q.tenant_id, o, &mut a);
            let to = crate::scope::rows_under_id_by("t", "to_org_id", q.tenant_id, o, &mut a);
            w.push(format!("({from} OR {to})"));
        }
        Ok(Some((format!("{SELECT} WHERE {} ORDER BY t.created_at, t.id", w.join(" AND ")), a)))
    }
    fn cells(t: &Transfer, _m: crate::export::Mask) -> Vec<String> {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        vec![
            t.member_name.clone(),
            t.org_name.clone(),
            t.destination(),
            t.reason.clone(),
            t.state_label().to_string(),
            t.letter_no.clone().unwrap_or_default(),
            date(t.letter_on),
            date(t.valid_until),
            date(t.received_on),
            t.closed_reason.clone().unwrap_or_default(),
            t.created_by_name.clone(),
        ]
    }
}
