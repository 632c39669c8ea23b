//! Quota rules per organisation, inherited down the tree: an organisation
//! without a rule of its own follows its nearest ancestor that has one; with
//! none anywhere the urban preset applies.

use super::OrgRef;
use crate::args;
use crate::audit;
use crate::db::{Arg, Args, Db};
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use chrono::{DateTime, Utc};
use redcell_domain::OrgPath;
use redcell_domain::coverage::{ContactLevel, ExtraQuota, QuotaPreset, QuotaRule, Range, quota_codes};
use serde::Serialize;
use std::collections::HashMap;

#[derive(sqlx::FromRow)]
struct RuleRow {
    org_id: i64,
    preset: Option<String>,
    central_per_building: bool,
    member_household_min: Option<i64>,
    member_household_max: Option<i64>,
    central_member_min: Option<i64>,
    central_member_max: Option<i64>,
    central_key_resident_min: Option<i64>,
    central_key_resident_max: Option<i64>,
    group_leader_central_min: Option<i64>,
    group_leader_central_max: Option<i64>,
    branch_committee_group_min: Option<i64>,
    branch_committee_group_max: Option<i64>,
    general_committee_branch_min: Option<i64>,
    general_committee_branch_max: Option<i64>,
    cadre_branch_min: Option<i64>,
    cadre_branch_max: Option<i64>,
    cadre_member_min: Option<i64>,
    cadre_member_max: Option<i64>,
    leader_community_min: Option<i64>,
    leader_community_max: Option<i64>,
    leader_branch_min: Option<i64>,
    leader_branch_max: Option<i64>,
    households_per_central_min: Option<i64>,
    households_per_central_max: Option<i64>,
}

impl RuleRow {
    fn rule(&self) -> QuotaRule {
        use ContactLevel::*;
        let pairs = [
            (MemberHousehold, self.member_household_min, self.member_household_max),
            (CentralMember, self.central_member_min, self.central_member_max),
            (CentralKeyResident, self.central_key_resident_min, self.central_key_resident_max),
            (GroupLeaderCentral, self.group_leader_central_min, self.group_leader_central_max),
            (BranchCommitteeGroup, self.branch_committee_group_min, self.branch_committee_group_max),
            (GeneralCommitteeBranch, self.general_committee_branch_min, self.general_committee_branch_max),
            (CadreBranch, self.cadre_branch_min, self.cadre_branch_max),
            (CadreMember, self.cadre_member_min, self.cadre_member_max),
            (LeaderCommunity, self.leader_community_min, self.leader_community_max),
        ];
        let mut r = QuotaRule { central_per_building: self.central_per_building, ..QuotaRule::default() };
        for (l, min, max) in pairs {
            if let (Some(min), Some(max)) = (min, max) {
                r.set(l, Some(Range { min, max }));
            }
        }
        let extra = [
            (ExtraQuota::LeaderBranch, self.leader_branch_min, self.leader_branch_max),
            (ExtraQuota::HouseholdsPerCentral, self.households_per_central_min, self.households_per_central_max),
        ];
        for (q, min, max) in extra {
            if let (Some(min), Some(max)) = (min, max) {
                r.set_extra(q, Some(Range { min, max }));
            }
        }
        r
    }
}

fn columns() -> String {
    let mut c = vec!["q.org_id".to_string(), "q.preset".into(), "q.central_per_building".into()];
    for code in quota_codes() {
        c.push(format!("q.{code}_min"));
        c.push(format!("q.{code}_max"));
    }
    c.join(", ")
}

/// Every rule of a tenant, by organisation.
pub(crate) async fn load_rules(
    db: &Db,
    tenant_id: i64,
) -> Result<HashMap<i64, (QuotaRule, Option<String>)>, StoreError> {
    let rows: Vec<RuleRow> =
        db.all(&format!("SELECT {} FROM quota_rules q WHERE q.tenant_id = $1", columns()), args![tenant_id]).await?;
    Ok(rows.into_iter().map(|r| (r.org_id, (r.rule(), r.preset.clone()))).collect())
}

/// The rule in force at `path`: (the organisation it comes from, the rule).
/// `None` as source: no rule anywhere above, the urban preset applies.
pub(crate) fn effective_at(
    path: &OrgPath,
    rules: &HashMap<i64, (QuotaRule, Option<String>)>,
) -> (Option<i64>, QuotaRule, Option<String>) {
    for id in path.ids().iter().rev() {
        if let Some((r, preset)) = rules.get(id) {
            return (Some(*id), r.clone(), preset.clone());
        }
    }
    (None, QuotaPreset::Urban.rule(), Some(QuotaPreset::Urban.code().to_string()))
}

/// The rule in force at an organisation and where it comes from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Effective {
    pub org_id: i64,
    pub org_name: String,
    /// The organisation whose rule applies (this one, an ancestor, or none: the default).
    pub source_org_id: Option<i64>,
    pub source_org_name: Option<String>,
    /// The preset the rule was made from, if any (`urban`, `rural`).
    pub preset: Option<String>,
    /// The rule has been set on this organisation itself.
    pub own: bool,
    pub rule: QuotaRule,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Effective {
    pub fn preset_label(&self) -> String {
        self.preset
            .as_deref()
            .and_then(|p| QuotaPreset::parse("preset", p).ok())
            .map(|p| p.label().to_string())
            .unwrap_or_else(|| "自定义".into())
    }
}

pub async fn effective(db: &Db, p: &Principal, org_id: i64) -> Result<Effective, StoreError> {
    let org = OrgRef::for_cap(&mut db.conn(), p, org_id, Capability::ReadRegistry).await?;
    effective_of(db, &org).await
}

async fn effective_of(db: &Db, org: &OrgRef) -> Result<Effective, StoreError> {
    let rules = load_rules(db, org.tenant_id).await?;
    let (source, rule, preset) = effective_at(&org.path, &rules);
    let (source_name, updated_at) = match source {
        Some(s) => {
            let (n, at): (String, DateTime<Utc>) = db
                .one(
                    "SELECT o.name, q.updated_at FROM quota_rules q JOIN orgs o ON o.tenant_id = q.tenant_id AND o.id = q.org_id \
                     WHERE q.tenant_id = $1 AND q.org_id = $2",
                    args![org.tenant_id, s],
                )
                .await?;
            (Some(n), Some(at))
        }
        None => (None, None),
    };
    Ok(Effective {
        org_id: org.id,
        org_name: org.name.clone(),
        source_org_id: source,
        source_org_name: source_name,
        preset,
        own: source == Some(org.id),
        rule,
        updated_at,
    })
}

/// Set an organisation's own rule (a preset's or a custom one); audited with
/// the rule before and after.
pub async fn set(
    db: &Db,
    p: &Principal,
    org_id: i64,
    rule: &QuotaRule,
    preset: Option<QuotaPreset>,
) -> Result<Effective, StoreError> {
    let org = OrgRef::for_cap(&mut db.conn(), p, org_id, Capability::EditRegistry).await?;
    let mut tx = db.begin().await?;
    let existing: Option<(i64,)> =
        tx.opt("SELECT id FROM quota_rules WHERE tenant_id = $1 AND org_id = $2", args![org.tenant_id, org.id]).await?;
    let mut cols = vec!["preset".to_string(), "central_per_building".into(), "updated_by".into(), "updated_at".into()];
    let mut vals: Vec<Arg> = vec![
        preset.map(|x| x.code().to_string()).into(),
        rule.central_per_building.into(),
        p.user_id.into(),
        Utc::now().into(),
    ];
    for l in ContactLevel::ALL {
        let r = rule.get(*l);
        cols.push(format!("{}_min", l.column()));
        vals.push(r.map(|r| r.min).into());
        cols.push(format!("{}_max", l.column()));
        vals.push(r.map(|r| r.max).into());
    }
    for q in ExtraQuota::ALL {
        let r = rule.get_extra(*q);
        cols.push(format!("{}_min", q.code()));
        vals.push(r.map(|r| r.min).into());
        cols.push(format!("{}_max", q.code()));
        vals.push(r.map(|r| r.max).into());
    }
    let (id, before) = match existing {
        Some((id,)) => {
            let before = audit::snapshot(&mut tx, "quota_rules", org.tenant_id, id).await?;
            let mut a = Args::new();
            let sets: Vec<String> = cols.iter().zip(vals).map(|(c, v)| format!("{c} = {}", a.push(v))).collect();
            let w = format!("tenant_id = {} AND id = {}", a.push(org.tenant_id), a.push(id));
            tx.exec(&format!("UPDATE quota_rules SET {} WHERE {w}", sets.join(", ")), a).await?;
            (id, before)
        }
        None => {
            let mut a = Args::new();
            let t = a.push(org.tenant_id);
            let o = a.push(org.id);
            let ph: Vec<String> = vals.into_iter().map(|v| a.push(v)).collect();
            let id = tx
                .int(
                    &format!(
                        "INSERT INTO quota_rules (tenant_id, org_id, {}) VALUES ({t}, {o}, {}) RETURNING id",
                        cols.join(", "),
                        ph.join(", ")
                    ),
                    a,
                )
                .await?;
            (id, None)
        }
    };
    let change = if before.is_some() { audit::Change::Update } else { audit::Change::Create };
    audit::change(&mut tx, audit::Actor::of(p), change, "quota_rule", "quota_rules", org.tenant_id, id, before).await?;
    tx.commit().await?;
    effective_of(db, &org).await
}

/// Apply a shipped preset to an organisation.
pub async fn apply_preset(db: &Db, p: &Principal, org_id: i64, preset: QuotaPreset) -> Result<Effective, StoreError> {
    set(db, p, org_id, &preset.rule(), Some(preset)).await
}

/// Remove an organisation's own rule: it inherits again. Audited.
pub async fn clear(db: &Db, p: &Principal, org_id: i64) -> Result<Effective, StoreError> {
    let org = OrgRef::for_cap(&mut db.conn(), p, org_id, Capability::EditRegistry).await?;
    let mut tx = db.begin().await?;
    if let Some((id,)) = tx
        .opt::<(i64,)>("SELECT id FROM quota_rules WHERE tenant_id = $1 AND org_id = $2", args![org.tenant_id, org.id])
        .await?
    {
        let before = audit::snapshot(&mut tx, "quota_rules", org.tenant_id, id).await?;
        tx.exec("DELETE FROM quota_rules WHERE tenant_id = $1 AND id = $2", args![org.tenant_id, id]).await?;
        audit::change(
            &mut tx,
            audit::Actor::of(p),
            audit::Change::Delete,
            "quota_rule",
            "quota_rules",
            org.tenant_id,
            id,
            before,
        )
        .await?;
    }
    tx.commit().await?;
    effective_of(db, &org).await
}

/// Organisations in a subtree that have a rule of their own (to show where rules change).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OwnRule {
    pub org_id: i64,
    pub org_name: String,
    pub preset: Option<String>,
    pub updated_at: DateTime<Utc>,
}

pub async fn rules_below(db: &Db, p: &Principal, org_id: i64) -> Result<Vec<OwnRule>, StoreError> {
    let org = OrgRef::for_cap(&mut db.conn(), p, org_id, Capability::ReadRegistry).await?;
    let mut a = Args::new();
    let c = org.orgs_under("o", &mut a);
    db.all(
        &format!(
            "SELECT q.org_id, o.name AS org_name, q.preset, q.updated_at FROM quota_rules q \
             JOIN orgs o ON o.tenant_id = q.tenant_id AND o.id = q.org_id WHERE {c} ORDER BY o.path"
        ),
        a,
    )
    .await
}

/// The preset's code as a typed value (for callers holding a code).
pub fn preset_of(code: &str) -> Result<QuotaPreset, StoreError> {
    Ok(QuotaPreset::parse("preset", code)?)
}
