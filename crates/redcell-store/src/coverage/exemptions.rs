//! Exemption from contact duty (年老体弱, 长期病休) through three approvals in
//! order: branch meeting decision → community committee consent → filed with
//! the street committee. Each step is taken by someone who may edit the
//! registry of the organisation at that level above the member, recorded once
//! with its date and note, and audited; any step may reject with a reason.
//! A member whose three steps are done is exempt: no quota, no households.

use super::{OrgRef, Tree, not_found};
use crate::audit;
use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::export::{Exportable, Mask, catalogue, local_time, opt};
use crate::registry::{Page, Paged, paged};
use crate::scope::{Capability, Principal};
use crate::{Code, args};
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::coverage::{Decision, ExemptionReason, ExemptionStatus, ExemptionStep, NewExemption};
use redcell_domain::export::{Column, ColumnKind};
use redcell_domain::ids::*;
use redcell_domain::{FieldError, i18n};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Exemption {
    pub id: i64,
    pub tenant_id: i64,
    pub member_id: i64,
    pub member_name: String,
    pub org_id: i64,
    pub org_name: String,
    #[schema(value_type = String)]
    pub reason: Code<ExemptionReason>,
    pub note: Option<String>,
    #[schema(value_type = String)]
    pub status: Code<ExemptionStatus>,
    pub requested_by_name: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub branch_on: Option<NaiveDate>,
    pub branch_by_name: Option<String>,
    pub branch_note: Option<String>,
    pub community_on: Option<NaiveDate>,
    pub community_by_name: Option<String>,
    pub community_note: Option<String>,
    pub street_on: Option<NaiveDate>,
    pub street_by_name: Option<String>,
    pub street_note: Option<String>,
    pub rejected_step: Option<String>,
    pub rejected_on: Option<NaiveDate>,
    pub rejected_by_name: Option<String>,
    pub reject_reason: Option<String>,
}

impl Exemption {
    /// The step waiting to be taken, if any.
    pub fn pending(&self) -> Option<ExemptionStep> {
        self.status.0.pending_step()
    }
    pub fn pending_label(&self) -> &'static str {
        self.pending().map(|s| s.label()).unwrap_or("")
    }
    pub fn pending_code(&self) -> &'static str {
        self.pending().map(|s| s.code()).unwrap_or("")
    }
    pub fn rejected_step_label(&self) -> &'static str {
        self.rejected_step
            .as_deref()
            .and_then(|s| ExemptionStep::parse("step", s).ok())
            .map(|s| s.label())
            .unwrap_or("")
    }
}

pub(crate) const SELECT: &str = "SELECT e.id, e.tenant_id, e.member_id, COALESCE(r.name, '') AS member_name, e.org_id, o.name AS org_name, \
    e.reason, e.note, e.status, ru.display_name AS requested_by_name, e.requested_at, \
    e.branch_on, bu.display_name AS branch_by_name, e.branch_note, \
    e.community_on, cu.display_name AS community_by_name, e.community_note, \
    e.street_on, su.display_name AS street_by_name, e.street_note, \
    e.rejected_step, e.rejected_on, xu.display_name AS rejected_by_name, e.reject_reason";
const FROM: &str = "exemptions e JOIN orgs o ON o.tenant_id = e.tenant_id AND o.id = e.org_id \
    LEFT JOIN members m ON m.tenant_id = e.tenant_id AND m.id = e.member_id \
    LEFT JOIN residents r ON r.tenant_id = m.tenant_id AND r.id = m.resident_id \
    LEFT JOIN users ru ON ru.id = e.requested_by LEFT JOIN users bu ON bu.id = e.branch_by \
    LEFT JOIN users cu ON cu.id = e.community_by LEFT JOIN users su ON su.id = e.street_by \
    LEFT JOIN users xu ON xu.id = e.rejected_by";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExemptionFilter {
    /// Exemptions of members of this organisation's subtree (default: the
    /// caller's highest organisation).
    pub org_id: Option<i64>,
    /// Status code, e.g. `requested`, `exempt`.
    pub status: Option<String>,
    /// Only this member's.
    pub member_id: Option<i64>,
}

pub async fn list(db: &Db, p: &Principal, f: &ExemptionFilter, page: Page) -> Result<Paged<Exemption>, StoreError> {
    let (from_where, a) = filtered(db, p, f).await?;
    paged(db, SELECT, &from_where, ORDER, a, page).await
}

/// The order of the list: newest first.
pub(crate) const ORDER: &str = "e.id DESC";

/// The `FROM ... WHERE ...` of the list (the organisation's subtree, which the
/// caller must read whole, and the filters) and its arguments: the list and
/// its export share it.
pub(crate) async fn filtered(db: &Db, p: &Principal, f: &ExemptionFilter) -> Result<(String, Args), StoreError> {
    let org = OrgRef::for_cap(&mut db.conn(), p, super::org_or_home(p, f.org_id)?, Capability::ReadRegistry).await?;
    let mut a = Args::new();
    let mut w = vec![org.under("e", &mut a)];
    if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
        w.push(format!("e.status = {}", a.push(ExemptionStatus::parse("status", s)?.code())));
    }
    if let Some(m) = f.member_id {
        w.push(format!("e.member_id = {}", a.push(m)));
    }
    Ok((format!("{FROM} WHERE {}", w.join(" AND ")), a))
}

pub async fn get(db: &Db, p: &Principal, id: i64) -> Result<Exemption, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("e", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE e.id = $1 AND {c}"), a).await
}

/// Start an exemption request for a member in the caller's edit scope.
pub async fn request(db: &Db, p: &Principal, n: NewExemption) -> Result<Exemption, StoreError> {
    let mut tx = db.begin().await?;
    let m = p.access(Capability::EditRegistry)?.reference(&mut tx, MemberId::new(n.member_id), "member_id").await?;
    let open = tx
        .int(
            "SELECT COUNT(*) FROM exemptions WHERE tenant_id = $1 AND member_id = $2 AND status <> 'rejected'",
            args![m.tenant_id, n.member_id],
        )
        .await?;
    if open > 0 {
        return Err(FieldError::new("member_id", "open", i18n::EXEMPTION_OPEN).into());
    }
    let now = Utc::now();
    let id = tx
        .int(
            "INSERT INTO exemptions (tenant_id, member_id, org_id, reason, note, status, requested_by, requested_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            args![
                m.tenant_id,
                n.member_id,
                m.org_id,
                n.reason.code(),
                n.note.clone(),
                ExemptionStatus::Requested.code(),
                p.user_id,
                now
            ],
        )
        .await
        .map_err(|e| {
            if e.is_unique_violation() { FieldError::new("member_id", "open", i18n::EXEMPTION_OPEN).into() } else { e }
        })?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "exemption",
        "exemptions",
        m.tenant_id,
        id,
        None,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

/// Take the next step of an exemption: approve or reject it.
pub async fn decide(db: &Db, p: &Principal, id: i64, d: Decision) -> Result<Exemption, StoreError> {
    let e = get(db, p, id).await?;
    let Some(pending) = e.pending() else {
        return Err(FieldError::new("step", "closed", i18n::EXEMPTION_CLOSED).into());
    };
    if pending != d.step {
        return Err(
            FieldError::new("step", "order", format!("{}「{}」", i18n::EXEMPTION_ORDER, pending.label())).into()
        );
    }
    // The organisation at the step's level above the member: branch, community, street.
    let tree = Tree::load(db, e.tenant_id).await?;
    let at = tree.ancestor_at(e.org_id, d.step.org_level()).ok_or_else(|| not_found("org_id"))?;
    if !p.scope(Capability::EditRegistry).contains(&at.path) {
        return Err(StoreError::Denied(FieldError::new(
            "step",
            "level",
            format!("{}（{}须由{}办理）", i18n::EXEMPTION_LEVEL, d.step.label(), at.name),
        )));
    }
    let previous = [e.branch_on, e.community_on].into_iter().flatten().max();
    let requested = (e.requested_at + chrono::Duration::hours(8)).date_naive();
    if previous.is_some_and(|p| d.date < p) || d.date < requested {
        return Err(FieldError::new("date", "order", i18n::EXEMPTION_DATE_ORDER).into());
    }
    let mut tx = db.begin().await?;
    let before = audit::snapshot(&mut tx, "exemptions", e.tenant_id, id).await?;
    let now = Utc::now();
    let n = if d.approve {
        let s = d.step.code();
        tx.exec(
            &format!(
                "UPDATE exemptions SET {s}_on = $1, {s}_by = $2, {s}_note = $3, status = $4, updated_at = $5 \
                 WHERE tenant_id = $6 AND id = $7 AND status = $8"
            ),
            args![
                d.date,
                p.user_id,
                d.note.clone(),
                ExemptionStatus::after(d.step).code(),
                now,
                e.tenant_id,
                id,
                e.status.0.code()
            ],
        )
        .await?
    } else {
        tx.exec(
            "UPDATE exemptions SET rejected_step = $1, rejected_on = $2, rejected_by = $3, reject_reason = $4, status = 'rejected', updated_at = $5 \
             WHERE tenant_id = $6 AND id = $7 AND status = $8",
            args![d.step.code(), d.date, p.user_id, d.note.clone(), now, e.tenant_id, id, e.status.0.code()],
        )
        .await?
    };
    if n != 1 {
        // Someone else took the step meanwhile.
        return Err(FieldError::new("step", "order", i18n::EXEMPTION_CLOSED).into());
    }
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "exemption",
        "exemptions",
        e.tenant_id,
        id,
        before,
    )
    .await?;
    let action = if d.approve { "approve" } else { "reject" };
    audit::record(
        &mut tx,
        e.tenant_id,
        Some(p.user_id),
        action,
        "exemption",
        Some(id),
        &format!("{}：{}（{}）", e.member_name, d.step.label(), d.date),
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

/// Is this member exempt (all three approvals)?
pub async fn is_exempt(db: &Db, tenant_id: i64, member_id: i64) -> Result<bool, StoreError> {
    Ok(db
        .int(
            "SELECT COUNT(*) FROM exemptions WHERE tenant_id = $1 AND member_id = $2 AND status = 'exempt'",
            args![tenant_id, member_id],
        )
        .await?
        > 0)
}

/// The exemptions as a file (导出).
pub struct ExemptionList;

impl Exportable for ExemptionList {
    const CODE: &'static str = "exemptions";
    const LABEL: &'static str = "免除联系任务";
    const TAG: &'static str = "coverage";
    type Filter = ExemptionFilter;
    type Row = Exemption;
    fn columns(m: Mask) -> Vec<Column> {
        use ColumnKind::{Date, Text};
        catalogue(
            i18n::EXPORT_EXEMPTIONS,
            [
                Text, Text, Text, Text, Text, Text, Text, Text, Date, Text, Text, Date, Text, Text, Date, Text, Text,
                Text, Date, Text, Text,
            ],
            m,
        )
    }
    async fn query(db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        Ok(crate::export::sql(filtered(db, q, f).await?, SELECT, ORDER))
    }
    fn cells(e: &Exemption, _m: Mask) -> Vec<String> {
        vec![
            e.member_name.clone(),
            e.org_name.clone(),
            e.reason.to_string(),
            opt(&e.note),
            e.status.to_string(),
            e.pending_label().to_string(),
            opt(&e.requested_by_name),
            local_time(e.requested_at),
            opt(&e.branch_on),
            opt(&e.branch_by_name),
            opt(&e.branch_note),
            opt(&e.community_on),
            opt(&e.community_by_name),
            opt(&e.community_note),
            opt(&e.street_on),
            opt(&e.street_by_name),
            opt(&e.street_note),
            e.rejected_step_label().to_string(),
            opt(&e.rejected_on),
            opt(&e.rejected_by_name),
            opt(&e.reject_reason),
        ]
    }
}
