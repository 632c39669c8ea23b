//! Warnings for members who do not fulfil their duties (警示 / 不合格党员).
//!
//! The records propose (no organisational life for six months without an
//! excuse; households the member answers for not visited in six months);
//! people decide. A case moves only along `WarningState::apply`: help
//! (帮扶, reviewed after three months), a one-year rectification (限期改正,
//! given once, never extended), and proposals to persuade to leave (劝退) or
//! to remove (除名), which an assessor above the member's organisation
//! decides. Every decision is a step with its record and its deadline; open
//! deadlines appear among "my duties". Cases are seen only by assessors in
//! whose scope the member is.

use super::{CAP, today};
use crate::args;
use crate::audit;
use crate::db::{Conn, Db};
use crate::error::StoreError;
use crate::mobility::Reminder;
use crate::scope::{Owned, Principal};
use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use redcell_domain::assessment::incentives::{
    DECIDE_DAYS, Ground, HELP_MONTHS, RECTIFY_MONTHS, WarningAction, WarningId, WarningState, decided_above,
};
use redcell_domain::input::opt_text;
use redcell_domain::text::Text;
use redcell_domain::{CodeEnum, FieldError, Invalid, MemberId, OrgId, OrgPath};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

impl Owned for WarningId {
    const TABLE: &'static str = "member_warnings";
}

/// How far back the records are read for a proposal.
const LOOK_BACK_DAYS: i64 = 183;

/// A member the records suggest, with the grounds and the records behind them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WarningCandidate)]
pub struct Candidate {
    pub member_id: i64,
    pub name: String,
    pub org_id: i64,
    pub org_name: String,
    pub grounds: Vec<Ground>,
    /// The records, in words ("2026-09-12 支部党员大会：缺席").
    pub basis: Vec<String>,
}

impl Candidate {
    pub fn grounds_text(&self) -> String {
        self.grounds.iter().map(|g| g.label()).collect::<Vec<_>>().join("；")
    }
}

/// Members of an organisation's subtree the records suggest for a warning
/// (none with an open case). Read by assessors only.
pub async fn candidates(db: &Db, p: &Principal, org_id: OrgId) -> Result<Vec<Candidate>, StoreError> {
    let org = p.access(CAP)?.org(&mut db.conn(), org_id).await?;
    let today = today();
    found(&mut db.conn(), org.tenant_id, &org.path, None, today).await
}

async fn found(
    c: &mut impl Conn,
    tenant: i64,
    path: &OrgPath,
    member: Option<i64>,
    today: NaiveDate,
) -> Result<Vec<Candidate>, StoreError> {
    let since = today - Duration::days(LOOK_BACK_DAYS);
    let mut a = args![since, member.unwrap_or(0)];
    let u = crate::scope::rows_under_path("m", tenant, path, &mut a);
    // Not while a case is open, nor after one ended in leaving the party.
    let open = "NOT EXISTS (SELECT 1 FROM member_warnings w WHERE w.tenant_id = m.tenant_id AND w.member_id = m.id \
        AND w.state IN ('proposed', 'warned', 'helping', 'unqualified', 'rectifying', 'persuade_proposed', 'removal_proposed', \
        'persuaded', 'removed'))";
    // Meetings of the last six months where the member was expected: every one absent, none excused.
    let absent: Vec<(i64, String, i64, String, NaiveDate, String)> = c
        .all(
            &format!(
                "SELECT m.id, r.name, o.id, o.name, mt.held_on, mt.topic FROM members m \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
                 JOIN duty_people dp ON dp.tenant_id = m.tenant_id AND dp.person_kind = 'member' AND dp.person_id = m.id AND dp.record_kind = 'meeting' \
                 JOIN duty_meetings mt ON mt.tenant_id = dp.tenant_id AND mt.id = dp.record_id AND mt.held_on >= $1 \
                 WHERE {u} AND ($2 = 0 OR m.id = $2) AND {open} \
                 AND NOT EXISTS (SELECT 1 FROM duty_people d2 JOIN duty_meetings m2 ON m2.tenant_id = d2.tenant_id AND m2.id = d2.record_id \
                     WHERE d2.tenant_id = m.tenant_id AND d2.record_kind = 'meeting' AND d2.person_kind = 'member' AND d2.person_id = m.id \
                     AND m2.held_on >= $1 AND d2.presence <> 'absent') \
                 ORDER BY o.path, m.id, mt.held_on LIMIT 2000"
            ),
            a.clone(),
        )
        .await?;
    // Households the member has answered for since before the window, none visited by them in it.
    let unvisited: Vec<(i64, String, i64, String, i64)> = c
        .all(
            &format!(
                "SELECT m.id, r.name, o.id, o.name, COUNT(*) FROM members m \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 JOIN orgs o ON o.tenant_id = m.tenant_id AND o.id = m.org_id \
                 JOIN contacts k ON k.tenant_id = m.tenant_id AND k.level = 'member_household' AND k.from_id = m.id \
                     AND k.from_kind = 'member' AND k.to_kind = 'household' AND k.until IS NULL AND k.since <= $1 \
                 WHERE {u} AND ($2 = 0 OR m.id = $2) AND {open} \
                 AND NOT EXISTS (SELECT 1 FROM duty_visits v WHERE v.tenant_id = m.tenant_id AND v.visitor_kind = 'member' \
                     AND v.visitor_id = m.id AND v.visited_on >= $1) \
                 GROUP BY m.id, r.name, o.id, o.name, o.path ORDER BY o.path, m.id LIMIT 500"
            ),
            a,
        )
        .await?;
    let mut out: BTreeMap<i64, Candidate> = BTreeMap::new();
    let entry = |out: &mut BTreeMap<i64, Candidate>, id: i64, name: &str, org_id: i64, org: &str| {
        out.entry(id).or_insert_with(|| Candidate {
            member_id: id,
            name: name.to_string(),
            org_id,
            org_name: org.to_string(),
            grounds: vec![],
            basis: vec![],
        });
    };
    for (id, name, org_id, org, on, topic) in absent {
        entry(&mut out, id, &name, org_id, &org);
        if let Some(c) = out.get_mut(&id) {
            if !c.grounds.contains(&Ground::NoOrgLife) {
                c.grounds.push(Ground::NoOrgLife);
            }
            c.basis.push(format!("{on} {topic}：缺席，未请假"));
        }
    }
    for (id, name, org_id, org, n) in unvisited {
        entry(&mut out, id, &name, org_id, &org);
        if let Some(c) = out.get_mut(&id) {
            c.grounds.push(Ground::ContactsNotMet);
            c.basis.push(format!("联系 {n} 户，{since} 以来没有走访记录"));
        }
    }
    Ok(out.into_values().collect())
}

/// A warning case.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Warning {
    pub id: i64,
    pub member_id: i64,
    pub name: String,
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    #[schema(value_type = WarningState)]
    pub state: String,
    pub grounds: String,
    /// The records behind the proposal, one per line.
    pub basis: String,
    /// The end of the one-year rectification period.
    pub rectify_until: Option<NaiveDate>,
    /// The next deadline (review of help, end of rectification, decision on a proposal).
    pub next_due: Option<NaiveDate>,
    pub proposed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Warning {
    pub fn state_label(&self) -> &'static str {
        WarningState::from_code(&self.state).map(|s| s.label()).unwrap_or("")
    }
    fn state(&self) -> Result<WarningState, StoreError> {
        crate::scope::stored("warning state", &self.state)
    }
    pub fn basis_lines(&self) -> Vec<&str> {
        self.basis.lines().filter(|l| !l.trim().is_empty()).collect()
    }
}

const SELECT: &str = "SELECT w.id, w.member_id, r.name, w.org_id, o.name AS org_name, o.path AS org_path, w.state, w.grounds, \
    w.basis, w.rectify_until, w.next_due, w.proposed_at, w.updated_at FROM member_warnings w \
    JOIN members m ON m.tenant_id = w.tenant_id AND m.id = w.member_id \
    JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    JOIN orgs o ON o.tenant_id = w.tenant_id AND o.id = w.org_id";

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = WarningStep)]
pub struct Step {
    /// `proposed` (the first step), then the decision's code (`warn`, `help`, `rectify`, … as in `WarningAction`).
    pub kind: String,
    pub note: String,
    pub due: Option<NaiveDate>,
    pub by_name: String,
    pub at: DateTime<Utc>,
}

impl Step {
    pub fn label(&self) -> &'static str {
        if self.kind == "proposed" {
            return "提出";
        }
        WarningAction::from_code(&self.kind).map(|s| s.label()).unwrap_or("")
    }
}

/// A case with its decisions and what may be decided next by the caller.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WarningView {
    pub warning: Warning,
    pub steps: Vec<Step>,
    /// Decisions the caller may take now (codes).
    #[schema(value_type = Vec<WarningAction>)]
    pub actions: Vec<String>,
}

/// Open cases (or all, with `all`) of an organisation's subtree.
pub async fn list(db: &Db, p: &Principal, org_id: OrgId, all: bool) -> Result<Vec<Warning>, StoreError> {
    let org = p.access(CAP)?.org(&mut db.conn(), org_id).await?;
    let mut a = args![];
    let u = org.under("w", &mut a);
    let open = if all {
        "1 = 1"
    } else {
        "w.state IN ('proposed', 'warned', 'helping', 'unqualified', 'rectifying', 'persuade_proposed', 'removal_proposed')"
    };
    db.all(&format!("{SELECT} WHERE {u} AND {open} ORDER BY w.next_due IS NULL, w.next_due, w.id LIMIT 500"), a).await
}

/// A proposal.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = WarningProposal)]
pub struct RawProposal {
    #[serde(default, deserialize_with = "redcell_domain::input::stringish")]
    pub member_id: Option<String>,
    /// Further grounds in the proposer's words (required when the records show none).
    pub note: Option<String>,
}

/// Propose a warning for a member: the grounds the records show are taken
/// from the records (never retyped); others must be written down.
pub async fn propose(db: &Db, p: &Principal, raw: &RawProposal) -> Result<Warning, StoreError> {
    let access = p.access(CAP)?;
    let mut e = Invalid::default();
    let member = e.check(redcell_domain::input::id_ref::<MemberId>("member_id", &raw.member_id, true)).flatten();
    let note = e.check(opt_text("note", &raw.note, 1000)).flatten();
    e.into_result()?;
    let Some(member) = member else { return Err(StoreError::Internal("propose".into())) };
    let mut tx = db.begin().await?;
    let owner = access.reference(&mut tx, member, "member_id").await?;
    let open = tx
        .int(
            "SELECT COUNT(*) FROM member_warnings WHERE tenant_id = $1 AND member_id = $2 AND state IN \
             ('proposed', 'warned', 'helping', 'unqualified', 'rectifying', 'persuade_proposed', 'removal_proposed')",
            args![owner.tenant_id, member.get()],
        )
        .await?;
    if open > 0 {
        return Err(FieldError::new("member_id", "open", "该党员已有未办结的警示事项").into());
    }
    let found = found(&mut tx, owner.tenant_id, &owner.path, Some(member.get()), today()).await?;
    let (mut grounds, basis) = match found.into_iter().next() {
        Some(c) => (c.grounds_text(), c.basis.join("\n")),
        None => (String::new(), String::new()),
    };
    match (&note, grounds.is_empty()) {
        (None, true) => {
            return Err(FieldError::new("note", "required", "记录中没有看到依据，请写明提出的理由").into());
        }
        (Some(n), true) => grounds = n.clone(),
        (Some(n), false) => grounds = format!("{grounds}；{n}"),
        (None, false) => {}
    }
    let now = Utc::now();
    let id = tx
        .int(
            "INSERT INTO member_warnings (tenant_id, member_id, org_id, state, grounds, basis, proposed_by, proposed_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            args![
                owner.tenant_id,
                member.get(),
                owner.org_id,
                WarningState::Proposed.code(),
                grounds.clone(),
                basis,
                p.user_id,
                now
            ],
        )
        .await?;
    tx.exec(
        "INSERT INTO member_warning_steps (tenant_id, warning_id, kind, note, due, by_user, by_name, at) VALUES ($1, $2, 'proposed', $3, NULL, $4, $5, $6)",
        args![owner.tenant_id, id, grounds, p.user_id, p.display_name.clone(), now],
    )
    .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "member_warning",
        "member_warnings",
        owner.tenant_id,
        id,
        None,
    )
    .await?;
    let w = tx.one(&format!("{SELECT} WHERE w.tenant_id = $1 AND w.id = $2"), args![owner.tenant_id, id]).await?;
    tx.commit().await?;
    Ok(w)
}

/// What the case's history says about the next decisions: whether the
/// member ever had a rectification period, and who proposed the pending
/// persuasion or removal.
struct Past {
    rectified_before: bool,
    proposer: Option<i64>,
}

async fn past(c: &mut impl Conn, tenant: i64, w: &Warning) -> Result<Past, StoreError> {
    let n = c
        .int(
            "SELECT COUNT(*) FROM member_warning_steps s JOIN member_warnings x ON x.tenant_id = s.tenant_id AND x.id = s.warning_id \
             WHERE s.tenant_id = $1 AND x.member_id = $2 AND s.kind = 'rectify'",
            args![tenant, w.member_id],
        )
        .await?;
    let proposer: Option<(i64,)> = c
        .opt(
            "SELECT by_user FROM member_warning_steps WHERE tenant_id = $1 AND warning_id = $2 \
             AND kind IN ('propose_persuade', 'propose_removal') ORDER BY at DESC, id DESC LIMIT 1",
            args![tenant, w.id],
        )
        .await?;
    Ok(Past { rectified_before: n > 0, proposer: proposer.map(|x| x.0) })
}

/// The decisions the caller may take on the case now.
fn allowed(p: &Principal, w: &Warning, past: &Past) -> Result<Vec<WarningAction>, StoreError> {
    let path = OrgPath::parse(&w.org_path)?;
    let s = super::standing(p, &path);
    let state = w.state()?;
    Ok(state
        .actions()
        .iter()
        .copied()
        .filter(|a| state.apply(*a, past.rectified_before).is_ok())
        .filter(|a| if decided_above(*a) { s.above && past.proposer != Some(p.user_id) } else { s.own || s.above })
        .collect())
}

/// A case, with its decisions.
pub async fn get(db: &Db, p: &Principal, id: WarningId) -> Result<WarningView, StoreError> {
    let owner = p.access(CAP)?.target(&mut db.conn(), id).await?;
    let c = db.conn();
    let warning: Warning =
        c.one(&format!("{SELECT} WHERE w.tenant_id = $1 AND w.id = $2"), args![owner.tenant_id, id.get()]).await?;
    let steps = c
        .all(
            "SELECT kind, note, due, by_name, at FROM member_warning_steps WHERE tenant_id = $1 AND warning_id = $2 ORDER BY at, id",
            args![owner.tenant_id, id.get()],
        )
        .await?;
    let past = past(&mut db.conn(), owner.tenant_id, &warning).await?;
    let actions = allowed(p, &warning, &past)?.into_iter().map(|a| a.code().to_string()).collect();
    Ok(WarningView { warning, steps, actions })
}

/// A decision.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = WarningDecision)]
pub struct RawDecision {
    /// One of the case's open decisions (`warn`, `unqualify`, `dismiss`, `help`, `lift`, `rectify`, `correct`,
    /// `propose_persuade`, `propose_removal`, `persuaded`, `removed`, `decline`).
    pub action: Option<String>,
    /// The decision record: who decided, on what (e.g. the branch meeting's resolution), what was agreed.
    pub note: Option<String>,
}

/// Take a decision on a case. Help is reviewed after three months; the
/// rectification period is one year from the decision; a proposal to
/// persuade or remove is to be decided within thirty days, by an assessor
/// above the member's organisation.
pub async fn decide(db: &Db, p: &Principal, id: WarningId, raw: &RawDecision) -> Result<WarningView, StoreError> {
    let owner = p.access(CAP)?.target(&mut db.conn(), id).await?;
    let mut e = Invalid::default();
    let action = e.check(WarningAction::parse("action", raw.action.as_deref().unwrap_or("").trim()));
    let note = e.check(Text::required("note", raw.note.as_deref().unwrap_or(""), 1000));
    e.into_result()?;
    let (Some(action), Some(note)) = (action, note) else { return Err(StoreError::Internal("decide".into())) };
    let mut tx = db.begin().await?;
    let w: Warning =
        tx.one(&format!("{SELECT} WHERE w.tenant_id = $1 AND w.id = $2"), args![owner.tenant_id, id.get()]).await?;
    let past = past(&mut tx, owner.tenant_id, &w).await?;
    let next = w.state()?.apply(action, past.rectified_before)?;
    if !allowed(p, &w, &past)?.contains(&action) {
        return Err(StoreError::Denied(FieldError::new(
            "action",
            "level",
            format!("「{}」由党员所在组织的上级决定，提出建议的人不能自己决定", action.label()),
        )));
    }
    let today = today();
    let (rectify_until, due) = match action {
        WarningAction::Help => (w.rectify_until, today.checked_add_months(Months::new(HELP_MONTHS))),
        WarningAction::Rectify => {
            let until = today.checked_add_months(Months::new(RECTIFY_MONTHS));
            (until, until)
        }
        WarningAction::ProposePersuade | WarningAction::ProposeRemoval => {
            (w.rectify_until, Some(today + Duration::days(DECIDE_DAYS)))
        }
        _ => (w.rectify_until, None),
    };
    let now = Utc::now();
    // Only from the state this decision was taken on (two at once: one wins).
    let n = tx
        .exec(
            "UPDATE member_warnings SET state = $1, rectify_until = $2, next_due = $3, updated_at = $4 \
             WHERE tenant_id = $5 AND id = $6 AND state = $7",
            args![next.code(), rectify_until, due, now, owner.tenant_id, id.get(), w.state.clone()],
        )
        .await?;
    if n != 1 {
        return Err(FieldError::new("action", "changed", "这件事刚刚已有别人作出决定，请刷新后再看").into());
    }
    tx.exec(
        "INSERT INTO member_warning_steps (tenant_id, warning_id, kind, note, due, by_user, by_name, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![owner.tenant_id, id.get(), action.code(), note.into_string(), due, p.user_id, p.display_name.clone(), now],
    )
    .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "member_warning",
        "member_warnings",
        owner.tenant_id,
        id.get(),
        None,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

/// Open cases' deadlines in the caller's assessing scope, for "my duties".
pub async fn reminders(db: &Db, p: &Principal, today: NaiveDate) -> Result<Vec<Reminder>, StoreError> {
    let scope = p.scope(CAP);
    if scope.is_empty() {
        return Ok(vec![]);
    }
    let mut a = args![p.tenant_id];
    let u = scope.rows("w", &mut a);
    let rows: Vec<(i64, String, String, NaiveDate)> = db
        .all(
            &format!(
                "SELECT w.id, r.name, w.state, w.next_due FROM member_warnings w \
                 JOIN members m ON m.tenant_id = w.tenant_id AND m.id = w.member_id \
                 JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
                 WHERE w.tenant_id = $1 AND {u} AND w.next_due IS NOT NULL \
                 AND w.state IN ('helping', 'rectifying', 'persuade_proposed', 'removal_proposed') ORDER BY w.next_due LIMIT 50"
            ),
            a,
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, state, due)| {
            let what = match state.as_str() {
                "helping" => format!("{name}：帮扶期满，回顾帮扶情况"),
                "rectifying" => format!("{name}：限期改正期满（一年），作出处理"),
                _ => {
                    format!("{name}：{}，待上级决定", WarningState::from_code(&state).map(|s| s.label()).unwrap_or(""))
                }
            };
            let status = if due < today {
                "overdue"
            } else if due <= today + Duration::days(30) {
                "due_soon"
            } else {
                "waiting"
            };
            Reminder {
                kind: "warning".into(),
                what,
                due: Some(due),
                status: status.into(),
                href: format!("/warnings/{id}"),
            }
        })
        .collect())
}
