//! The audit trail: one row per change, written in the transaction of the
//! change, with the row before and after (personal data masked). The table is
//! append-only in the database itself (triggers refuse UPDATE, and DELETE of
//! rows younger than 183 days).

use crate::db::{Args, Backend, Tx};
use crate::error::StoreError;
use crate::export::{Exportable, Mask, Right, opt};
use crate::scope::Principal;
use crate::{Db, args};
use chrono::{DateTime, Utc};
use redcell_domain::export::Column;
use redcell_domain::ident::mask_id;
use redcell_domain::phone::mask_phone;
use serde::{Deserialize, Serialize};

/// Rows younger than this may not be removed (PIPL / MLPS: keep at least six months).
pub const RETENTION_DAYS: i64 = 183;

/// Who did something, and for whom when acting on a resident's behalf.
#[derive(Debug, Clone, Copy, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub on_behalf_of: Option<i64>,
}

impl Actor {
    pub fn of(p: &Principal) -> Actor {
        Actor { user_id: Some(p.user_id), on_behalf_of: None }
    }
    pub fn system() -> Actor {
        Actor::default()
    }
}

/// Write one audit row.
pub async fn record(
    tx: &mut Tx,
    tenant_id: i64,
    user_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    detail: &str,
) -> Result<(), StoreError> {
    write(tx, tenant_id, Actor { user_id, on_behalf_of: None }, action, entity, entity_id, detail, None, None).await
}

#[allow(clippy::too_many_arguments)]
async fn write(
    tx: &mut Tx,
    tenant_id: i64,
    actor: Actor,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    detail: &str,
    before: Option<String>,
    after: Option<String>,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO audit_log (tenant_id, at, user_id, on_behalf_of, action, entity, entity_id, detail, before_json, after_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![tenant_id, Utc::now(), actor.user_id, actor.on_behalf_of, action, entity, entity_id, detail, before, after],
    )
    .await?;
    Ok(())
}

/// A row of `table` as JSON, with ID numbers and phones masked and secrets dropped.
pub async fn snapshot(tx: &mut Tx, table: &str, tenant_id: i64, id: i64) -> Result<Option<String>, StoreError> {
    let json: Option<(String,)> = match tx.backend() {
        Backend::Postgres => {
            tx.opt(
                &format!("SELECT CAST(row_to_json(t) AS TEXT) FROM {table} t WHERE t.tenant_id = $1 AND t.id = $2"),
                args![tenant_id, id],
            )
            .await?
        }
        Backend::Sqlite => {
            let cols: Vec<(String,)> =
                tx.all("SELECT name FROM pragma_table_info($1) ORDER BY cid", args![table]).await?;
            let pairs: Vec<String> = cols.iter().map(|(c,)| format!("'{c}', t.\"{c}\"")).collect();
            tx.opt(
                &format!(
                    "SELECT json_object({}) FROM {table} t WHERE t.tenant_id = $1 AND t.id = $2",
                    pairs.join(", ")
                ),
                args![tenant_id, id],
            )
            .await?
        }
    };
    Ok(json.map(|(j,)| mask_json(&j)))
}

/// Mask personal fields in a JSON object and drop secrets.
pub fn mask_json(j: &str) -> String {
    let Ok(serde_json::Value::Object(mut m)) = serde_json::from_str::<serde_json::Value>(j) else {
        return String::new();
    };
    for (k, v) in m.iter_mut() {
        if let serde_json::Value::String(s) = v {
            match k.as_str() {
                "id_number" => *s = mask_id(s),
                "phone" => *s = mask_phone(s),
                _ => {}
            }
        }
    }
    m.remove("password_hash");
    m.remove("data");
    serde_json::Value::Object(m).to_string()
}

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create,
    Update,
    Delete,
}

/// Record a change to `table` row `id`: `before` is the snapshot taken before
/// an update or delete; the after-image is read here for create and update.
#[allow(clippy::too_many_arguments)]
pub async fn change(
    tx: &mut Tx,
    actor: Actor,
    change: Change,
    entity: &str,
    table: &str,
    tenant_id: i64,
    id: i64,
    before: Option<String>,
) -> Result<(), StoreError> {
    let after = match change {
        Change::Delete => None,
        _ => snapshot(tx, table, tenant_id, id).await?,
    };
    let action = match change {
        Change::Create => "create",
        Change::Update => "update",
        Change::Delete => "delete",
    };
    write(tx, tenant_id, actor, action, entity, Some(id), "", before, after).await
}

/// Record an access that changes nothing (a reveal, an export, a refused attempt)
/// in a transaction of its own.
pub async fn access(
    db: &Db,
    tenant_id: i64,
    actor: Actor,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    detail: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    write(&mut tx, tenant_id, actor, action, entity, entity_id, detail, None, None).await?;
    tx.commit().await
}

/// One row of the audit trail as the auditor sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub on_behalf_of: Option<i64>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub detail: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

impl Entry {
    /// The time in China, `YYYY-MM-DD HH:MM:SS`.
    pub fn at_local(&self) -> String {
        (self.at + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M:%S").to_string()
    }
    pub fn action_label(&self) -> &str {
        redcell_domain::i18n::audit_action_label(&self.action)
    }
}

/// Filters of the audit search.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    pub username: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    /// From this date (inclusive, China time), `YYYY-MM-DD`.
    pub from: Option<chrono::NaiveDate>,
    /// To this date (inclusive, China time).
    pub to: Option<chrono::NaiveDate>,
}

fn china_midnight_utc(d: chrono::NaiveDate) -> DateTime<Utc> {
    let t = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    DateTime::<Utc>::from_naive_utc_and_offset(t, Utc) - chrono::Duration::hours(8)
}

/// May `p` search the audit trail? Audit rows are not tied to an organisation
/// and their snapshots carry (masked) personal data of any subtree, so only an
/// auditor whose scope is the whole tenant reads them; an auditor granted on a
/// lower organisation would otherwise see the people of every other subtree.
pub fn may_search(p: &Principal) -> bool {
    p.scope(crate::Capability::ReadAudit).contains(&redcell_domain::OrgPath::root(p.tenant_id))
}

/// Search the audit trail of the caller's tenant (auditors of the whole tenant only).
pub async fn search(
    db: &Db,
    p: &Principal,
    f: &AuditFilter,
    page: crate::registry::Page,
) -> Result<crate::registry::Paged<Entry>, StoreError> {
    let (from_where, a) = filtered(p, f)?;
    crate::registry::paged(db, SELECT, &from_where, "l.id DESC", a, page).await
}

pub(crate) const SELECT: &str = "SELECT l.id, l.at, l.user_id, u.username, l.on_behalf_of, l.action, l.entity, l.entity_id, l.detail, l.before_json, l.after_json";

/// The `FROM ... WHERE ...` of an audit search and its arguments (auditors of the whole tenant only).
pub(crate) fn filtered(p: &Principal, f: &AuditFilter) -> Result<(String, Args), StoreError> {
    if !may_search(p) {
        return Err(StoreError::Forbidden);
    }
    let mut a = Args::new();
    let mut w = vec![format!("l.tenant_id = {}", a.push(p.tenant_id))];
    if let Some(u) = f.username.as_deref().filter(|s| !s.trim().is_empty()) {
        w.push(format!("u.username = {}", a.push(u.trim())));
    }
    if let Some(x) = f.action.as_deref().filter(|s| !s.is_empty()) {
        w.push(format!("l.action = {}", a.push(x)));
    }
    if let Some(x) = f.entity.as_deref().filter(|s| !s.is_empty()) {
        w.push(format!("l.entity = {}", a.push(x)));
    }
    if let Some(x) = f.entity_id {
        w.push(format!("l.entity_id = {}", a.push(x)));
    }
    if let Some(d) = f.from {
        w.push(format!("l.at >= {}", a.push(china_midnight_utc(d))));
    }
    if let Some(d) = f.to {
        w.push(format!("l.at < {}", a.push(china_midnight_utc(d + chrono::Duration::days(1)))));
    }
    Ok((format!("audit_log l LEFT JOIN users u ON u.id = l.user_id WHERE {}", w.join(" AND ")), a))
}

/// Remove rows older than `days` (at least [`RETENTION_DAYS`]); returns how many.
pub async fn purge(db: &Db, days: i64) -> Result<u64, StoreError> {
    if days < RETENTION_DAYS {
        return Err(
            redcell_domain::FieldError::new("days", "range", format!("审计日志至少保留{RETENTION_DAYS}天")).into()
        );
    }
    db.exec("DELETE FROM audit_log WHERE at < $1", args![Utc::now() - chrono::Duration::days(days)]).await
}

/// The audit trail as a file (导出): for its readers only.
pub struct AuditList;

impl Exportable for AuditList {
    const CODE: &'static str = "audit";
    const LABEL: &'static str = "审计日志";
    const TAG: &'static str = "audit";
    /// The audit trail's own export keeps the entity it has always had.
    const ENTITY: &'static str = "audit_log";
    const RIGHT: Right = Right::ReadAudit;
    type Filter = AuditFilter;
    type Row = Entry;
    fn columns(_m: Mask) -> Vec<Column> {
        vec![
            Column::text("时间"),
            Column::ident("用户"),
            Column::ident("代居民"),
            Column::text("操作"),
            Column::text("对象"),
            Column::ident("编号"),
            Column::text("说明"),
            Column::text("变更前"),
            Column::text("变更后"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        Ok(crate::export::sql(filtered(q, f)?, SELECT, "l.id DESC"))
    }
    fn cells(e: &Entry, _m: Mask) -> Vec<String> {
        vec![
            e.at_local(),
            opt(&e.username),
            opt(&e.on_behalf_of),
            e.action_label().to_string(),
            e.entity.clone(),
            opt(&e.entity_id),
            opt(&e.detail),
            opt(&e.before_json),
            opt(&e.after_json),
        ]
    }
}

/// The exportable lists of the audit trail.
pub fn exports() -> Vec<&'static dyn crate::export::ExportList> {
    vec![&AuditList]
}
