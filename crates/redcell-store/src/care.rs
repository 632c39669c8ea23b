//! The care fund (党内关爱基金): funds per organisation, income with its
//! receipt, payment applications decided at the fund's levels and then paid,
//! reversals, bank-statement checks, year-end close, and the public list of
//! payments (公示). Every posting goes through the domain [`Ledger`], which
//! holds the rules; this module checks who may do what and writes.
//!
//! Separation of duties: whoever applied for a payment cannot decide it,
//! one person cannot decide two levels, and whoever decided cannot record
//! the payment.

use crate::args;
use crate::audit;
use crate::db::{Conn, Db, Tx};
use crate::error::StoreError;
use crate::scope::{OrgRef, Owned, Principal};
use chrono::{NaiveDate, Utc};
use redcell_domain::care::{
    self as c, Account, ApplicationId, CaseId, Entry, EntryId, EntryKind, FundId, IncomeSource, Ledger, Line, Money,
    Posting, Purpose,
};
use redcell_domain::{Capability, CodeEnum, FieldError, Invalid, MemberId, OrgId};
use serde::{Deserialize, Serialize};

impl Owned for FundId {
    const TABLE: &'static str = "care_funds";
}
impl Owned for EntryId {
    const TABLE: &'static str = "care_entries";
}
impl Owned for ApplicationId {
    const TABLE: &'static str = "care_applications";
}

/// Recording and deciding need the right to edit the fund's organisation.
const CAP: Capability = Capability::EditRegistry;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Fund {
    pub id: i64,
    #[serde(skip)]
    pub tenant_id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub name: String,
    pub approval_levels: i64,
    pub publish_days: i64,
}

/// A fund with its balances.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FundView {
    pub fund: Fund,
    /// In fen.
    pub bank: i64,
    pub income_this_year: i64,
    pub paid_this_year: i64,
    pub closed_through: Option<i32>,
    pub entries: Vec<EntryView>,
    pub applications: Vec<Application>,
    pub assertions: Vec<Assertion>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub id: i64,
    pub kind: String,
    pub kind_label: String,
    pub date: NaiveDate,
    pub memo: String,
    pub receipt: Option<String>,
    /// Into (positive) or out of (negative) the bank, in fen.
    pub bank: i64,
    /// What the entry posted to, in words.
    pub accounts: String,
    pub reverses_id: Option<i64>,
    pub reversed: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Application {
    pub id: i64,
    pub fund_id: i64,
    pub member_id: Option<i64>,
    pub person_name: String,
    pub purpose: String,
    pub amount: i64,
    /// Seen in scope only, never published.
    pub reason: String,
    pub state: String,
    pub approved_amount: Option<i64>,
    pub paid_entry_id: Option<i64>,
    pub paid_on: Option<NaiveDate>,
    pub applied_by: i64,
    pub applied_by_name: String,
    /// The hardship case it was made from.
    pub case_id: Option<i64>,
}

impl Application {
    pub fn purpose_label(&self) -> &'static str {
        Purpose::from_code(&self.purpose).map(|p| p.label()).unwrap_or("")
    }
    pub fn state_label(&self) -> &'static str {
        match self.state.as_str() {
            APPLIED => "待审批",
            APPROVED => "已批准待支付",
            PAID => "已支付",
            REJECTED => "未批准",
            _ => "",
        }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Decision {
    pub level: i64,
    pub decision: String,
    pub amount: Option<i64>,
    pub reason: String,
    pub decided_by: i64,
    pub decided_by_name: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Assertion {
    pub on_date: NaiveDate,
    pub statement: i64,
    pub ledger: i64,
}

/// A payment as published (公示): family name, a purpose that says nothing
/// of health, the amount and the date.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Published {
    pub name: String,
    pub purpose: String,
    pub amount: i64,
    pub paid_on: NaiveDate,
}

const APPLIED: &str = "applied";
const APPROVED: &str = "approved";
const PAID: &str = "paid";
const REJECTED: &str = "rejected";

/// Form and API input (strings, validated here with the field named).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawFund {
    pub org_id: Option<String>,
    pub name: Option<String>,
    pub approval_levels: Option<String>,
    pub publish_days: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawIncome {
    #[schema(value_type = IncomeSource)]
    pub source: Option<String>,
    /// Yuan, e.g. `1200.50`.
    pub amount: Option<String>,
    pub date: Option<String>,
    pub memo: Option<String>,
    /// The receipt's number.
    pub receipt: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawApplication {
    /// The hardship case the application is made from (its member is then the one helped).
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub case_id: Option<String>,
    /// The member helped (or leave empty and name the person).
    pub member_id: Option<String>,
    pub person_name: Option<String>,
    #[schema(value_type = Purpose)]
    pub purpose: Option<String>,
    /// Yuan.
    pub amount: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = RawCareDecision)]
pub struct RawDecision {
    /// `approve` or `reject`.
    pub decision: Option<String>,
    /// Yuan, at most what was asked (approve only; default: what was asked).
    pub amount: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RawDated {
    pub date: Option<String>,
    pub reason: Option<String>,
    /// Yuan (a bank statement's balance).
    pub statement: Option<String>,
    pub year: Option<String>,
}

fn text(e: &mut Invalid, field: &str, v: &Option<String>, max: usize) -> String {
    let t = v.as_deref().unwrap_or("").trim().to_string();
    if t.is_empty() {
        e.push(FieldError::new(field, "required", redcell_domain::i18n::REQUIRED));
    } else if t.chars().count() > max {
        e.push(FieldError::new(field, "length", format!("最多 {max} 个字")));
    }
    t
}

fn date(e: &mut Invalid, field: &str, v: &Option<String>, today: NaiveDate) -> NaiveDate {
    e.check(redcell_domain::text::past_date(field, v, today)).unwrap_or(today)
}

fn money(e: &mut Invalid, field: &str, v: &Option<String>) -> Option<Money> {
    e.check(Money::parse(field, v.as_deref().unwrap_or("")))
}

fn int_in(e: &mut Invalid, field: &str, v: &Option<String>, lo: i64, hi: i64, default: i64) -> i64 {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => default,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => n,
            _ => {
                e.push(FieldError::new(field, "range", format!("应为 {lo} 到 {hi} 之间的整数")));
                default
            }
        },
    }
}

pub(crate) const FUND_COLS: &str =
    "f.id, f.tenant_id, f.org_id, o.name AS org_name, f.name, f.approval_levels, f.publish_days";
pub(crate) const FUND_FROM: &str = "care_funds f JOIN orgs o ON o.tenant_id = f.tenant_id AND o.id = f.org_id";

/// The funds of an organisation's subtree the caller reads.
pub async fn funds(db: &Db, p: &Principal, org_id: OrgId) -> Result<Vec<Fund>, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let org = access.org(&mut db.conn(), org_id).await?;
    let mut a = args![];
    let u = org.under("f", &mut a);
    db.all(&format!("SELECT {FUND_COLS} FROM {FUND_FROM} WHERE {u} ORDER BY o.path, f.name"), a).await
}

pub async fn create_fund(db: &Db, p: &Principal, raw: &RawFund) -> Result<Fund, StoreError> {
    let access = p.access(CAP)?;
    let mut e = Invalid::default();
    let org_id = int_in(&mut e, "org_id", &raw.org_id, 1, i64::MAX, 0);
    let name = text(&mut e, "name", &raw.name, 40);
    let levels = int_in(&mut e, "approval_levels", &raw.approval_levels, 1, 2, 1);
    let days = int_in(&mut e, "publish_days", &raw.publish_days, 3, 30, 7);
    e.into_result()?;
    let mut tx = db.begin().await?;
    let org = access.org_ref(&mut tx, OrgId::new(org_id), "org_id").await?;
    if levels == 2 && org.parent_id.is_none() {
        return Err(FieldError::new("approval_levels", "range", "最高一级组织没有上级，只能一级审批").into());
    }
    let dup = tx
        .int(
            "SELECT COUNT(*) FROM care_funds WHERE tenant_id = $1 AND org_id = $2 AND name = $3",
            args![org.tenant_id, org.id, name.clone()],
        )
        .await?;
    if dup > 0 {
        return Err(FieldError::new("name", "duplicate", "本组织已有同名基金").into());
    }
    let id = tx
        .int(
            "INSERT INTO care_funds (tenant_id, org_id, name, approval_levels, publish_days, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![org.tenant_id, org.id, name, levels, days, p.user_id, Utc::now()],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "care_fund",
        "care_funds",
        org.tenant_id,
        id,
        None,
    )
    .await?;
    tx.commit().await?;
    fund(db, p, FundId::new(id)).await
}

/// A fund the caller reads.
pub async fn fund(db: &Db, p: &Principal, id: FundId) -> Result<Fund, StoreError> {
    let owner = p.access(Capability::ReadRegistry)?.target(&mut db.conn(), id).await?;
    fund_row(&mut db.conn(), owner.tenant_id, id).await
}

async fn fund_row(c: &mut impl Conn, tenant: i64, id: FundId) -> Result<Fund, StoreError> {
    c.one(&format!("SELECT {FUND_COLS} FROM {FUND_FROM} WHERE f.tenant_id = $1 AND f.id = $2"), args![tenant, id.get()])
        .await
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    kind: String,
    entry_date: NaiveDate,
    memo: String,
    receipt: Option<String>,
    reverses_id: Option<i64>,
}

/// The ledger of a fund, read from its entries and lines.
async fn ledger(c: &mut impl Conn, tenant: i64, fund: i64) -> Result<(Ledger, Vec<EntryRow>), StoreError> {
    let rows: Vec<EntryRow> = c
        .all(
            "SELECT id, kind, entry_date, memo, receipt, reverses_id FROM care_entries \
             WHERE tenant_id = $1 AND fund_id = $2 ORDER BY id",
            args![tenant, fund],
        )
        .await?;
    let lines: Vec<(i64, String, i64)> = c
        .all(
            "SELECT l.entry_id, l.account, l.amount FROM care_lines l JOIN care_entries e \
             ON e.tenant_id = l.tenant_id AND e.id = l.entry_id WHERE e.tenant_id = $1 AND e.fund_id = $2 ORDER BY l.entry_id",
            args![tenant, fund],
        )
        .await?;
    let mut entries = Vec::with_capacity(rows.len());
    for r in &rows {
        let kind = EntryKind::from_code(&r.kind).ok_or_else(|| StoreError::Internal(format!("entry {} kind", r.id)))?;
        let ls = lines
            .iter()
            .filter(|l| l.0 == r.id)
            .map(|l| {
                Account::parse(&l.1)
                    .map(|account| Line { account, amount: l.2 })
                    .ok_or_else(|| StoreError::Internal(format!("entry {} account {}", r.id, l.1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        entries.push(Entry { id: r.id, kind, date: r.entry_date, lines: ls, reverses: r.reverses_id });
    }
    let l = Ledger::from_entries(entries).map_err(StoreError::Internal)?;
    Ok((l, rows))
}

/// Post to a fund's ledger inside `tx`: the domain decides, this writes the
/// entry and its lines.
#[allow(clippy::too_many_arguments)]
async fn post(
    tx: &mut Tx,
    p: &Principal,
    f: &Fund,
    posting: Posting,
    memo: &str,
    receipt: Option<&str>,
    application: Option<i64>,
) -> Result<i64, StoreError> {
    // One writer per fund at a time: the ledger read here is the one posted to.
    tx.exec("UPDATE care_funds SET name = name WHERE tenant_id = $1 AND id = $2", args![f.tenant_id, f.id]).await?;
    let (l, _) = ledger(tx, f.tenant_id, f.id).await?;
    let draft = l.prepare(0, posting)?;
    let id = write_entry(tx, f, &draft, memo, receipt, application, p.user_id).await?;
    audit::record(
        tx,
        f.tenant_id,
        Some(p.user_id),
        "care_post",
        "care_entry",
        Some(id),
        &format!("{} {}", draft.kind.code(), c::yuan(draft.bank())),
    )
    .await?;
    Ok(id)
}

/// Write an entry the ledger prepared, with its lines: the one write path of
/// `care_entries` and `care_lines` (the service and the demo).
async fn write_entry(
    tx: &mut Tx,
    f: &Fund,
    draft: &Entry,
    memo: &str,
    receipt: Option<&str>,
    application: Option<i64>,
    by: i64,
) -> Result<i64, StoreError> {
    let id = tx
        .int(
            "INSERT INTO care_entries (tenant_id, fund_id, org_id, kind, entry_date, memo, receipt, reverses_id, application_id, \
             recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            args![
                f.tenant_id,
                f.id,
                f.org_id,
                draft.kind.code(),
                draft.date,
                memo.to_string(),
                receipt.map(str::to_string),
                draft.reverses,
                application,
                by,
                Utc::now()
            ],
        )
        .await?;
    for line in &draft.lines {
        tx.exec(
            "INSERT INTO care_lines (tenant_id, entry_id, account, amount) VALUES ($1, $2, $3, $4)",
            args![f.tenant_id, id, line.account.code(), line.amount],
        )
        .await?;
    }
    Ok(id)
}

/// A fund the caller may record in, inside `tx`.
async fn fund_for(tx: &mut Tx, p: &Principal, id: FundId) -> Result<Fund, StoreError> {
    let owner = p.access(CAP)?.target(tx, id).await?;
    fund_row(tx, owner.tenant_id, id).await
}

pub async fn record_income(db: &Db, p: &Principal, id: FundId, raw: &RawIncome) -> Result<i64, StoreError> {
    let today = crate::coverage::today();
    let mut e = Invalid::default();
    let source = e.check(IncomeSource::parse("source", raw.source.as_deref().unwrap_or("")));
    let amount = money(&mut e, "amount", &raw.amount);
    let on = date(&mut e, "date", &raw.date, today);
    let memo = text(&mut e, "memo", &raw.memo, 100);
    let receipt = raw.receipt.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    e.into_result()?;
    let (Some(source), Some(amount)) = (source, amount) else { unreachable!("checked above") };
    let mut tx = db.begin().await?;
    let f = fund_for(&mut tx, p, id).await?;
    let entry =
        post(&mut tx, p, &f, Posting::Income { source, amount, date: on }, &memo, receipt.as_deref(), None).await?;
    tx.commit().await?;
    Ok(entry)
}

pub async fn apply(db: &Db, p: &Principal, id: FundId, raw: &RawApplication) -> Result<i64, StoreError> {
    let mut e = Invalid::default();
    let member = match raw.member_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => Some(MemberId::new(n)),
            _ => {
                e.push(FieldError::new("member_id", "number", redcell_domain::i18n::NUMBER_INVALID));
                None
            }
        },
    };
    let case = e.check(redcell_domain::input::id_ref::<CaseId>("case_id", &raw.case_id, false)).flatten();
    let purpose = e.check(Purpose::parse("purpose", raw.purpose.as_deref().unwrap_or("")));
    let amount = money(&mut e, "amount", &raw.amount);
    let reason = text(&mut e, "reason", &raw.reason, 500);
    let named = raw.person_name.as_deref().map(str::trim).unwrap_or("").to_string();
    let mut tx = db.begin().await?;
    // From a case: its member is the one helped, and it must still be open.
    let member = match case {
        Some(c) => {
            let owner = p.access(CAP)?.reference(&mut tx, c, "case_id").await?;
            let row: (Option<i64>, Option<NaiveDate>) = tx
                .one(
                    "SELECT member_id, closed_on FROM hardship_cases WHERE tenant_id = $1 AND id = $2",
                    args![owner.tenant_id, c.get()],
                )
                .await?;
            if row.1.is_some() {
                e.push(FieldError::new("case_id", "closed", "帮扶档案已结案"));
            }
            row.0.map(MemberId::new).or(member)
        }
        None => member,
    };
    if member.is_none() && named.is_empty() {
        e.push(FieldError::new("person_name", "required", "请选择党员或填写受助人姓名"));
    }
    e.into_result()?;
    let (Some(purpose), Some(amount)) = (purpose, amount) else { unreachable!("checked above") };
    let f = fund_for(&mut tx, p, id).await?;
    let name = match member {
        Some(m) => {
            p.access(CAP)?.reference(&mut tx, m, "member_id").await?;
            let (n,): (String,) = tx
                .one(
                    "SELECT r.name FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                     WHERE m.tenant_id = $1 AND m.id = $2",
                    args![f.tenant_id, m],
                )
                .await?;
            n
        }
        None => named,
    };
    let app = tx
        .int(
            "INSERT INTO care_applications (tenant_id, fund_id, org_id, member_id, person_name, purpose, amount, reason, state, \
             applied_by, created_at, case_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            args![
                f.tenant_id,
                f.id,
                f.org_id,
                member,
                name,
                purpose.code(),
                amount.fen(),
                reason,
                APPLIED,
                p.user_id,
                Utc::now(),
                case.map(|c| c.get())
            ],
        )
        .await?;
    audit::record(&mut tx, f.tenant_id, Some(p.user_id), "care_apply", "care_application", Some(app), "").await?;
    tx.commit().await?;
    Ok(app)
}

const APP_COLS: &str = "a.id, a.fund_id, a.member_id, a.person_name, a.purpose, a.amount, a.reason, a.state, a.approved_amount, \
    a.paid_entry_id, a.paid_on, a.applied_by, COALESCE(u.display_name, '') AS applied_by_name, a.case_id";
const APP_FROM: &str = "care_applications a LEFT JOIN users u ON u.id = a.applied_by";

/// The applications made from a hardship case, newest first.
pub(crate) async fn applications_of_case(
    c: &mut impl Conn,
    tenant: i64,
    case: i64,
) -> Result<Vec<Application>, StoreError> {
    c.all(
        &format!("SELECT {APP_COLS} FROM {APP_FROM} WHERE a.tenant_id = $1 AND a.case_id = $2 ORDER BY a.id DESC"),
        args![tenant, case],
    )
    .await
}

/// An application the caller reads, with its decisions.
pub async fn application(
    db: &Db,
    p: &Principal,
    id: ApplicationId,
) -> Result<(Application, Vec<Decision>, Fund), StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let owner = access.target(&mut db.conn(), id).await?;
    let a = app_row(&mut db.conn(), owner.tenant_id, id).await?;
    let d = decisions(db, owner.tenant_id, a.id).await?;
    let f = fund(db, p, FundId::new(a.fund_id)).await?;
    Ok((a, d, f))
}

async fn app_row(c: &mut impl Conn, tenant: i64, id: ApplicationId) -> Result<Application, StoreError> {
    c.one(&format!("SELECT {APP_COLS} FROM {APP_FROM} WHERE a.tenant_id = $1 AND a.id = $2"), args![tenant, id.get()])
        .await
}

async fn decisions(db: &Db, tenant: i64, app: i64) -> Result<Vec<Decision>, StoreError> {
    db.all(
        "SELECT d.level, d.decision, d.amount, d.reason, d.decided_by, COALESCE(u.display_name, '') AS decided_by_name \
         FROM care_decisions d LEFT JOIN users u ON u.id = d.decided_by \
         WHERE d.tenant_id = $1 AND d.application_id = $2 ORDER BY d.level",
        args![tenant, app],
    )
    .await
}

/// The organisation that decides `level` of a fund of `org`: the fund's own
/// organisation, then the one above.
async fn decider(tx: &mut Tx, tenant: i64, org: i64, level: i64) -> Result<OrgRef, StoreError> {
    let o = OrgRef::of_tenant(tx, tenant, org).await?.ok_or(StoreError::NotFound)?;
    if level == 1 {
        return Ok(o);
    }
    let parent = o.parent_id.ok_or(StoreError::NotFound)?;
    OrgRef::of_tenant(tx, tenant, parent).await?.ok_or(StoreError::NotFound)
}

/// Approve or reject the next level of an application.
pub async fn decide(db: &Db, p: &Principal, id: ApplicationId, raw: &RawDecision) -> Result<Application, StoreError> {
    let mut e = Invalid::default();
    let approve = match raw.decision.as_deref().map(str::trim) {
        Some("approve") => true,
        Some("reject") => false,
        _ => {
            e.push(FieldError::new("decision", "enum", "应为 approve（批准）或 reject（不批准）"));
            false
        }
    };
    let amount = match raw.amount.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => e.check(Money::parse("amount", s)),
        None => None,
    };
    let reason = text(&mut e, "reason", &raw.reason, 300);
    e.into_result()?;
    let access = p.access(CAP)?;
    let mut tx = db.begin().await?;
    // Seeing the application is enough to be told why one may not decide it.
    let owner = p.access(Capability::ReadRegistry)?.target(&mut tx, id).await?;
    let a = app_row(&mut tx, owner.tenant_id, id).await?;
    if a.state != APPLIED {
        return Err(FieldError::new("decision", "state", format!("申请{}，不能再审批", a.state_label())).into());
    }
    let (levels,): (i64,) = tx
        .one(
            "SELECT approval_levels FROM care_funds WHERE tenant_id = $1 AND id = $2",
            args![owner.tenant_id, a.fund_id],
        )
        .await?;
    let done: Vec<(i64, i64)> = tx
        .all(
            "SELECT level, decided_by FROM care_decisions WHERE tenant_id = $1 AND application_id = $2 ORDER BY level",
            args![owner.tenant_id, a.id],
        )
        .await?;
    let level = done.len() as i64 + 1;
    let at = decider(&mut tx, owner.tenant_id, owner.org_id, level).await?;
    if !access.covers(&at.path) {
        return Err(StoreError::Denied(FieldError::new(
            "decision",
            "scope",
            format!("第 {level} 级审批由{}负责", at.name),
        )));
    }
    if a.applied_by == p.user_id {
        return Err(FieldError::new("decision", "separation", "不能审批自己登记的申请").into());
    }
    if done.iter().any(|(_, by)| *by == p.user_id) {
        return Err(FieldError::new("decision", "separation", "同一人不能审批两级").into());
    }
    // A level may lower what the level before granted, never raise it.
    let ceiling = a.approved_amount.unwrap_or(a.amount);
    let granted = amount.map(Money::fen).unwrap_or(ceiling);
    if approve && granted > ceiling {
        return Err(FieldError::new("amount", "range", format!("批准金额不能超过 {} 元", c::yuan(ceiling))).into());
    }
    tx.exec(
        "INSERT INTO care_decisions (tenant_id, application_id, level, decision, amount, reason, decided_by, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            owner.tenant_id,
            a.id,
            level,
            if approve { "approve" } else { "reject" },
            approve.then_some(granted),
            reason,
            p.user_id,
            Utc::now()
        ],
    )
    .await?;
    let state = if !approve {
        REJECTED
    } else if level >= levels {
        APPROVED
    } else {
        APPLIED
    };
    // Each level may lower the amount; the last word counts.
    tx.exec(
        "UPDATE care_applications SET state = $1, approved_amount = $2 WHERE tenant_id = $3 AND id = $4",
        args![state, approve.then_some(granted), owner.tenant_id, a.id],
    )
    .await?;
    audit::record(
        &mut tx,
        owner.tenant_id,
        Some(p.user_id),
        if approve { "care_approve" } else { "care_reject" },
        "care_application",
        Some(a.id),
        &format!("level {level}"),
    )
    .await?;
    tx.commit().await?;
    Ok(application(db, p, id).await?.0)
}

/// Record the payment of an approved application (out of the bank).
pub async fn pay(db: &Db, p: &Principal, id: ApplicationId, raw: &RawDated) -> Result<i64, StoreError> {
    let today = crate::coverage::today();
    let mut e = Invalid::default();
    let on = date(&mut e, "date", &raw.date, today);
    e.into_result()?;
    let mut tx = db.begin().await?;
    let owner = p.access(CAP)?.target(&mut tx, id).await?;
    let a = app_row(&mut tx, owner.tenant_id, id).await?;
    if a.state != APPROVED {
        return Err(FieldError::new("date", "state", format!("申请{}，不能支付", a.state_label())).into());
    }
    let deciders: Vec<(i64,)> = tx
        .all(
            "SELECT decided_by FROM care_decisions WHERE tenant_id = $1 AND application_id = $2",
            args![owner.tenant_id, a.id],
        )
        .await?;
    if deciders.iter().any(|(u,)| *u == p.user_id) {
        return Err(FieldError::new("date", "separation", "审批人不能同时登记支付").into());
    }
    let f = fund_for(&mut tx, p, FundId::new(a.fund_id)).await?;
    let purpose = Purpose::from_code(&a.purpose).ok_or_else(|| StoreError::Internal("purpose".into()))?;
    let amount = Money::from_fen(a.approved_amount.unwrap_or(a.amount))
        .ok_or_else(|| StoreError::Internal("approved amount".into()))?;
    let memo = format!("{}：{}", purpose.label(), a.person_name);
    let entry = post(&mut tx, p, &f, Posting::Payment { purpose, amount, date: on }, &memo, None, Some(a.id)).await?;
    tx.exec(
        "UPDATE care_applications SET state = $1, paid_entry_id = $2, paid_on = $3 WHERE tenant_id = $4 AND id = $5",
        args![PAID, entry, on, owner.tenant_id, a.id],
    )
    .await?;
    tx.commit().await?;
    Ok(entry)
}

/// Reverse an income or a payment (a payment's application is paid no more).
pub async fn reverse(db: &Db, p: &Principal, id: EntryId, raw: &RawDated) -> Result<i64, StoreError> {
    let today = crate::coverage::today();
    let mut e = Invalid::default();
    let on = date(&mut e, "date", &raw.date, today);
    let reason = text(&mut e, "reason", &raw.reason, 200);
    e.into_result()?;
    let mut tx = db.begin().await?;
    let owner = p.access(CAP)?.target(&mut tx, id).await?;
    let (fund_id, app): (i64, Option<i64>) = tx
        .one(
            "SELECT fund_id, application_id FROM care_entries WHERE tenant_id = $1 AND id = $2",
            args![owner.tenant_id, id.get()],
        )
        .await?;
    let f = fund_for(&mut tx, p, FundId::new(fund_id)).await?;
    let entry =
        post(&mut tx, p, &f, Posting::Reverse { entry: id.get(), date: on }, &format!("冲销：{reason}"), None, app)
            .await?;
    if let Some(a) = app {
        tx.exec(
            "UPDATE care_applications SET state = $1, paid_entry_id = NULL, paid_on = NULL WHERE tenant_id = $2 AND id = $3",
            args![APPROVED, owner.tenant_id, a],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(entry)
}

/// Check a bank statement's balance against the ledger: the gap in fen (0: they agree).
pub async fn assert_balance(db: &Db, p: &Principal, id: FundId, raw: &RawDated) -> Result<i64, StoreError> {
    let today = crate::coverage::today();
    let mut e = Invalid::default();
    let on = date(&mut e, "date", &raw.date, today);
    let statement = match raw.statement.as_deref().map(str::trim) {
        Some("0") | Some("0.00") => Some(0),
        _ => money(&mut e, "statement", &raw.statement).map(Money::fen),
    };
    e.into_result()?;
    let statement = statement.unwrap_or_default();
    let mut tx = db.begin().await?;
    let f = fund_for(&mut tx, p, id).await?;
    let (l, _) = ledger(&mut tx, f.tenant_id, f.id).await?;
    let booked = l.bank_on(on);
    tx.exec(
        "INSERT INTO care_assertions (tenant_id, fund_id, org_id, on_date, statement, ledger, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![f.tenant_id, f.id, f.org_id, on, statement, booked, p.user_id, Utc::now()],
    )
    .await?;
    tx.commit().await?;
    Ok(statement - booked)
}

/// Close a year: its income and payment totals go to net assets; nothing
/// dated in it can be posted afterwards.
pub async fn close_year(db: &Db, p: &Principal, id: FundId, raw: &RawDated) -> Result<i64, StoreError> {
    let today = crate::coverage::today();
    let mut e = Invalid::default();
    let year = int_in(&mut e, "year", &raw.year, 2000, 2100, 0);
    if raw.year.as_deref().map(str::trim).unwrap_or("").is_empty() {
        e.push(FieldError::new("year", "required", redcell_domain::i18n::REQUIRED));
    }
    if year >= i64::from(chrono::Datelike::year(&today)) {
        e.push(FieldError::new("year", "range", "只能结转已经过去的年度"));
    }
    e.into_result()?;
    let mut tx = db.begin().await?;
    let f = fund_for(&mut tx, p, id).await?;
    let entry =
        post(&mut tx, p, &f, Posting::Close { year: year as i32 }, &format!("{year} 年度结转"), None, None).await?;
    tx.commit().await?;
    Ok(entry)
}

/// A fund with its balances, entries (newest first), applications and checks.
pub async fn view(db: &Db, p: &Principal, id: FundId) -> Result<FundView, StoreError> {
    let f = fund(db, p, id).await?;
    let (l, rows) = ledger(&mut db.conn(), f.tenant_id, f.id).await?;
    let year = chrono::Datelike::year(&crate::coverage::today());
    let this_year: Vec<&Entry> = l.entries().iter().filter(|e| chrono::Datelike::year(&e.date) == year).collect();
    let sum = |pred: &dyn Fn(&Account) -> bool| -> i64 {
        this_year.iter().flat_map(|e| &e.lines).filter(|x| pred(&x.account)).map(|x| x.amount).sum()
    };
    let income_this_year = -sum(&|a| matches!(a, Account::Income(_)));
    let paid_this_year = sum(&|a| matches!(a, Account::Payments(_)));
    let mut entries: Vec<EntryView> = l
        .entries()
        .iter()
        .zip(rows.iter())
        .map(|(e, r)| EntryView {
            id: e.id,
            kind: e.kind.code().into(),
            kind_label: e.kind.label().into(),
            date: e.date,
            memo: r.memo.clone(),
            receipt: r.receipt.clone(),
            bank: e.bank(),
            accounts: e
                .lines
                .iter()
                .filter(|x| x.account != Account::Bank)
                .map(|x| x.account.label())
                .collect::<Vec<_>>()
                .join("、"),
            reverses_id: e.reverses,
            reversed: l.entries().iter().any(|x| x.reverses == Some(e.id)),
        })
        .collect();
    entries.reverse();
    let applications: Vec<Application> = db
        .all(
            &format!("SELECT {APP_COLS} FROM {APP_FROM} WHERE a.tenant_id = $1 AND a.fund_id = $2 ORDER BY a.id DESC"),
            args![f.tenant_id, f.id],
        )
        .await?;
    let assertions: Vec<Assertion> = db
        .all(
            "SELECT on_date, statement, ledger FROM care_assertions WHERE tenant_id = $1 AND fund_id = $2 \
             ORDER BY on_date DESC, id DESC LIMIT 10",
            args![f.tenant_id, f.id],
        )
        .await?;
    Ok(FundView {
        bank: l.bank(),
        income_this_year,
        paid_this_year,
        closed_through: l.closed_through(),
        fund: f,
        entries,
        applications,
        assertions,
    })
}

/// The public list of a fund (公示): payments of the last `publish_days`
/// days, not reversed, the family name only and no reason. No sign-in.
pub async fn published(db: &Db, fund: i64) -> Result<(String, String, i64, Vec<Published>), StoreError> {
    let today = crate::coverage::today();
    let row: Option<(i64, String, String, i64)> = db
        .opt(
            &format!("SELECT f.tenant_id, f.name, o.name, f.publish_days FROM {FUND_FROM} WHERE f.id = $1"),
            args![fund],
        )
        .await?;
    let (tenant, name, org, days) = row.ok_or(StoreError::NotFound)?;
    let since = today - chrono::Duration::days(days);
    let rows: Vec<(String, i64, NaiveDate)> = db
        .all(
            "SELECT a.person_name, COALESCE(a.approved_amount, a.amount), a.paid_on FROM care_applications a \
             WHERE a.tenant_id = $1 AND a.fund_id = $2 AND a.state = $3 AND a.paid_on >= $4 ORDER BY a.paid_on DESC, a.id DESC",
            args![tenant, fund, PAID, since],
        )
        .await?;
    let list = rows
        .into_iter()
        .map(|(n, amount, paid_on)| Published {
            name: c::public_name(&n),
            purpose: Purpose::Hardship.public_label().into(),
            amount,
            paid_on,
        })
        .collect();
    Ok((name, org, days, list))
}

/// A year of fund history for the demo district: a fund per community with
/// party-fee, fiscal and donated income each quarter and a dozen payments to
/// members in hardship, each applied for, approved by another account than
/// the one who applied, and paid; the last one still waiting. `by` is the
/// account recorded as applying and paying, `decider` the one approving.
/// Deterministic.
pub async fn seed_demo(tx: &mut Tx, tenant: i64, by: i64, decider: i64, today: NaiveDate) -> Result<(), StoreError> {
    let communities: Vec<(i64, String)> = tx
        .all(
            "SELECT id, name FROM orgs WHERE tenant_id = $1 AND kind IN ('community_committee', 'village_general_branch') ORDER BY id",
            args![tenant],
        )
        .await?;
    for (ci, (org, name)) in communities.iter().enumerate() {
        let short = crate::home::community_short(name);
        let fund_id = tx
            .int(
                "INSERT INTO care_funds (tenant_id, org_id, name, approval_levels, publish_days, created_by, created_at) \
                 VALUES ($1, $2, $3, 1, 7, $4, $5) RETURNING id",
                args![tenant, *org, format!("{short}党内关爱基金"), by, Utc::now()],
            )
            .await?;
        let f = Fund {
            id: fund_id,
            tenant_id: tenant,
            org_id: *org,
            org_name: name.clone(),
            name: String::new(),
            approval_levels: 1,
            publish_days: 7,
        };
        let members: Vec<(i64, String)> = tx
            .all(
                "SELECT m.id, r.name FROM members m JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
                 WHERE m.tenant_id = $1 AND o.path LIKE (SELECT path FROM orgs WHERE tenant_id = $1 AND id = $2) || '%' \
                 ORDER BY m.id LIMIT 12",
                args![tenant, *org],
            )
            .await?;
        let mut l = Ledger::default();
        let start = today - chrono::Duration::days(360);
        let sources = [
            (IncomeSource::PartyFee, 2_000_000, "党费补贴（季度）"),
            (IncomeSource::Fiscal, 1_500_000, "街道财政拨款"),
            (IncomeSource::Donation, 380_000 + 10_000 * ci as i64, "七一党员募捐"),
        ];
        for q in 0..4i64 {
            for (k, (source, fen, memo)) in sources.iter().enumerate() {
                if *source == IncomeSource::Donation && q != 1 {
                    continue;
                }
                let date = start + chrono::Duration::days(q * 90 + k as i64 * 3);
                let Some(amount) = Money::from_fen(*fen) else { continue };
                let draft = l.prepare(0, Posting::Income { source: *source, amount, date })?;
                let receipt = format!("SJ{}{:03}", chrono::Datelike::year(&date), ci * 20 + q as usize * 3 + k);
                let id = write_entry(tx, &f, &draft, memo, Some(&receipt), None, by).await?;
                l.apply(Entry { id, ..draft });
            }
        }
        let purposes = [Purpose::Illness, Purpose::OldAge, Purpose::Disaster, Purpose::Hardship, Purpose::Bereavement];
        for (i, (mid, mname)) in members.iter().enumerate() {
            let purpose = purposes[i % purposes.len()];
            let asked = 50_000 + 25_000 * ((i as i64 * 7 + ci as i64) % 5);
            let granted = if i % 4 == 3 { asked - 20_000 } else { asked };
            let applied = start + chrono::Duration::days(20 + i as i64 * 27);
            // The last application is still waiting for its decision.
            let waiting = i + 1 == members.len();
            let app = tx
                .int(
                    "INSERT INTO care_applications (tenant_id, fund_id, org_id, member_id, person_name, purpose, amount, reason, \
                     state, approved_amount, applied_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                    args![
                        tenant,
                        fund_id,
                        *org,
                        *mid,
                        mname.clone(),
                        purpose.code(),
                        asked,
                        format!("{}，家庭收入不足以负担", purpose.label()),
                        if waiting { APPLIED } else { APPROVED },
                        if waiting { None } else { Some(granted) },
                        by,
                        applied.and_hms_opt(9, 0, 0).map(|t| t.and_utc()).unwrap_or_else(Utc::now)
                    ],
                )
                .await?;
            if !waiting {
                tx.exec(
                    "INSERT INTO care_decisions (tenant_id, application_id, level, decision, amount, reason, decided_by, decided_at) \
                     VALUES ($1, $2, $3, 'approve', $4, $5, $6, $7)",
                    args![tenant, app, 1, granted, "经走访核实，情况属实", decider, Utc::now()],
                )
                .await?;
            } else {
                continue;
            }
            let paid_on = (applied + chrono::Duration::days(6)).min(today);
            let Some(amount) = Money::from_fen(granted) else { continue };
            let Ok(draft) = l.prepare(0, Posting::Payment { purpose, amount, date: paid_on }) else { continue };
            let id = write_entry(tx, &f, &draft, &format!("{}：{mname}", purpose.label()), None, Some(app), by).await?;
            l.apply(Entry { id, ..draft });
            tx.exec(
                "UPDATE care_applications SET state = $1, paid_entry_id = $2, paid_on = $3 WHERE tenant_id = $4 AND id = $5",
                args![PAID, id, paid_on, tenant, app],
            )
            .await?;
        }
    }
    Ok(())
}

// ---- export

/// Filters of the journal's export.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JournalFilter {
    /// One fund's entries (default: every fund the caller reads).
    pub fund_id: Option<FundId>,
    /// The year of the entry dates (default: every year).
    pub year: Option<i32>,
}

/// One line of the journal as the query reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JournalLine {
    pub fund_name: String,
    pub entry_id: i64,
    pub entry_date: NaiveDate,
    pub kind: String,
    pub memo: String,
    pub receipt: Option<String>,
    pub reverses_id: Option<i64>,
    pub account: String,
    pub amount: i64,
}

/// The funds' journal (记账凭证明细): every line of every entry, debit and
/// credit in yuan, for the accountant and the auditor. Reversals appear as
/// their own entries, as they were posted.
pub struct JournalList;

impl crate::export::Exportable for JournalList {
    const CODE: &'static str = "care-journal";
    const LABEL: &'static str = "关爱基金记账明细";
    const TAG: &'static str = "care";
    type Filter = JournalFilter;
    type Row = JournalLine;
    fn columns(_m: crate::export::Mask) -> Vec<redcell_domain::export::Column> {
        use redcell_domain::export::Column;
        vec![
            Column::text("基金"),
            Column::date("日期"),
            Column::number("凭证号"),
            Column::text("类型"),
            Column::text("摘要"),
            Column::text("收据号"),
            Column::number("冲销凭证号"),
            Column::text("科目"),
            Column::number("借方（元）"),
            Column::number("贷方（元）"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, crate::db::Args)>, StoreError> {
        let mut a = crate::db::Args::new();
        let mut w = vec![q.scope(Capability::ReadRegistry).rows("e", &mut a)];
        if let Some(id) = f.fund_id {
            w.push(format!("e.fund_id = {}", a.push(id.get())));
        }
        if let Some(y) = f.year {
            let y = redcell_domain::calendar::check_year("year", y)?;
            let (Some(from), Some(to)) = (NaiveDate::from_ymd_opt(y, 1, 1), NaiveDate::from_ymd_opt(y, 12, 31)) else {
                return Ok(None);
            };
            w.push(format!("e.entry_date >= {} AND e.entry_date <= {}", a.push(from), a.push(to)));
        }
        Ok(Some((
            format!(
                "SELECT f.name AS fund_name, e.id AS entry_id, e.entry_date, e.kind, e.memo, e.receipt, e.reverses_id, \
                 l.account, l.amount FROM care_entries e JOIN care_funds f ON f.tenant_id = e.tenant_id AND f.id = e.fund_id \
                 JOIN care_lines l ON l.tenant_id = e.tenant_id AND l.entry_id = e.id WHERE {} \
                 ORDER BY f.id, e.entry_date, e.id, l.amount DESC, l.account",
                w.join(" AND ")
            ),
            a,
        )))
    }
    fn cells(l: &JournalLine, _m: crate::export::Mask) -> Vec<String> {
        let (debit, credit) =
            if l.amount >= 0 { (c::yuan(l.amount), String::new()) } else { (String::new(), c::yuan(-l.amount)) };
        vec![
            l.fund_name.clone(),
            l.entry_date.to_string(),
            l.entry_id.to_string(),
            EntryKind::from_code(&l.kind).map(|k| k.label()).unwrap_or("").to_string(),
            l.memo.clone(),
            l.receipt.clone().unwrap_or_default(),
            l.reverses_id.map(|x| x.to_string()).unwrap_or_default(),
            Account::parse(&l.account).map(|x| x.label()).unwrap_or_else(|| l.account.clone()),
            debit,
            credit,
        ]
    }
}

/// The care fund's and hardship support's exportable lists.
pub fn exports() -> Vec<&'static dyn crate::export::ExportList> {
    vec![&JournalList, &crate::hardship::CaseList]
}
