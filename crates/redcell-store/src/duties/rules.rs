//! The tenant's duty rules: a copy of the shipped set made on first use, each
//! rule editable (rhythm, expected count, warning days, enabled), the whole set
//! importable and exportable as TOML; every change audited.

use crate::args;
use crate::audit::{self, Actor, Change};
use crate::db::{Db, Tx};
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use chrono::Utc;
use redcell_domain::duties::{self as d, RawRule, Rule};
use redcell_domain::{FieldError, i18n};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StoredRule {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub body: String,
    pub enabled: bool,
}

impl StoredRule {
    pub fn rule(&self) -> Option<Rule> {
        let mut raw: RawRule = serde_json::from_str(&self.body).ok()?;
        raw.enabled = Some(self.enabled);
        raw.validate().ok()
    }
}

async fn insert(tx: &mut Tx, tenant_id: i64, user: Option<i64>, r: &Rule) -> Result<i64, StoreError> {
    let body = serde_json::to_string(&r.to_raw()).map_err(|e| StoreError::Internal(e.to_string()))?;
    let (id,): (i64,) = tx
        .one(
            "INSERT INTO duty_rules (tenant_id, code, name, body, enabled, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![tenant_id, r.code.clone(), r.name.clone(), body, r.enabled, user, Utc::now()],
        )
        .await?;
    Ok(id)
}

/// Seed the shipped rules for a tenant that has none (idempotent, safe when
/// two processes race: the unique key keeps one copy).
pub async fn ensure_seeded(db: &Db, tenant_id: i64) -> Result<(), StoreError> {
    let n = db.int("SELECT COUNT(*) FROM duty_rules WHERE tenant_id = $1", args![tenant_id]).await?;
    if n > 0 {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    let n = tx.int("SELECT COUNT(*) FROM duty_rules WHERE tenant_id = $1", args![tenant_id]).await?;
    if n == 0 {
        for r in d::shipped_rules() {
            insert(&mut tx, tenant_id, None, &r).await?;
        }
        audit::record(&mut tx, tenant_id, None, "create", "duty_rules", None, "seeded from the shipped rule set")
            .await?;
    }
    match tx.commit().await {
        Err(e) if e.is_unique_violation() => Ok(()),
        r => r,
    }
}

/// Every stored rule of a tenant, seeded on first use.
pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<StoredRule>, StoreError> {
    ensure_seeded(db, tenant_id).await?;
    db.all("SELECT id, code, name, body, enabled FROM duty_rules WHERE tenant_id = $1 ORDER BY id", args![tenant_id])
        .await
}

/// The valid rules of a tenant (enabled or not).
pub async fn active(db: &Db, tenant_id: i64) -> Result<Vec<Rule>, StoreError> {
    Ok(list(db, tenant_id).await?.iter().filter_map(StoredRule::rule).collect())
}

fn may_manage(p: &Principal) -> Result<(), StoreError> {
    // Rules are the tenant's: only someone who may edit the registry at the root.
    let root = redcell_domain::OrgPath::root(p.tenant_id);
    if p.scope(Capability::EditRegistry).contains(&root) { Ok(()) } else { Err(StoreError::Forbidden) }
}

/// Change one rule (its code stays). Invalid input is refused with the field
/// named and nothing written.
pub async fn update(db: &Db, p: &Principal, code: &str, mut raw: RawRule) -> Result<StoredRule, StoreError> {
    may_manage(p)?;
    ensure_seeded(db, p.tenant_id).await?;
    raw.code = code.to_string();
    let rule = raw.validate().map_err(FieldError::from)?;
    let mut tx = db.begin().await?;
    let row: Option<(i64,)> =
        tx.opt("SELECT id FROM duty_rules WHERE tenant_id = $1 AND code = $2", args![p.tenant_id, code]).await?;
    let Some((id,)) = row else {
        return Err(FieldError::new("code", "not_found", i18n::DUTY_RULE_NOT_FOUND).into());
    };
    let before = audit::snapshot(&mut tx, "duty_rules", p.tenant_id, id).await?;
    let body = serde_json::to_string(&rule.to_raw()).map_err(|e| StoreError::Internal(e.to_string()))?;
    tx.exec(
        "UPDATE duty_rules SET name = $1, body = $2, enabled = $3, updated_by = $4, updated_at = $5 \
         WHERE tenant_id = $6 AND id = $7",
        args![rule.name.clone(), body, rule.enabled, p.user_id, Utc::now(), p.tenant_id, id],
    )
    .await?;
    audit::change(&mut tx, Actor::of(p), Change::Update, "duty_rule", "duty_rules", p.tenant_id, id, before).await?;
    tx.commit().await?;
    db.one(
        "SELECT id, code, name, body, enabled FROM duty_rules WHERE tenant_id = $1 AND id = $2",
        args![p.tenant_id, id],
    )
    .await
}

/// Replace the tenant's rules with a TOML file; refused as a whole (nothing
/// written) when any rule is invalid. Returns the number of rules.
pub async fn import(db: &Db, p: &Principal, toml_text: &str) -> Result<usize, StoreError> {
    may_manage(p)?;
    let mut rules = d::parse_rules(toml_text).map_err(|e| {
        FieldError::new(e.field.map(|f| f.to_string()).unwrap_or_else(|| "file".into()), "invalid", e.to_string())
    })?;
    // A rule new to the tenant starts today unless the file says otherwise:
    // nobody is overdue for periods before the rule existed.
    ensure_seeded(db, p.tenant_id).await?;
    let known: Vec<String> = list(db, p.tenant_id).await?.into_iter().map(|r| r.code).collect();
    let today = redcell_domain::calendar::shanghai_today();
    for r in rules.iter_mut().filter(|r| r.since.is_none() && !known.contains(&r.code)) {
        r.since = Some(today);
    }
    let mut tx = db.begin().await?;
    tx.exec("DELETE FROM duty_rules WHERE tenant_id = $1", args![p.tenant_id]).await?;
    for r in &rules {
        insert(&mut tx, p.tenant_id, Some(p.user_id), r).await?;
    }
    audit::record(
        &mut tx,
        p.tenant_id,
        Some(p.user_id),
        "import",
        "duty_rules",
        None,
        &format!("{} rules imported", rules.len()),
    )
    .await?;
    tx.commit().await?;
    Ok(rules.len())
}

/// The tenant's rules as a TOML file.
pub async fn export(db: &Db, p: &Principal) -> Result<String, StoreError> {
    Ok(d::rules_to_toml(&active(db, p.tenant_id).await?))
}

/// The codes of every tenant's top organisation (for the command line).
pub async fn tenant_roots(db: &Db) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = db.all("SELECT code FROM orgs WHERE parent_id IS NULL ORDER BY id", args![]).await?;
    Ok(rows.into_iter().map(|(c,)| c).collect())
}
