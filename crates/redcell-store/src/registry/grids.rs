//! Grids (网格): the territory partition, each owned by one organisation.

use super::{Page, Paged, check_edit, ensure_none, like, owner_for_edit, paged};
use crate::args;
use crate::audit;
use crate::db::{Args, Db};
use crate::error::{ResultExt, StoreError};
use crate::export::{Exportable, Mask, opt};
use crate::scope::{Capability, Principal};
use chrono::{DateTime, Utc};
use redcell_domain::export::Column;
use redcell_domain::i18n;
use redcell_domain::input::NewGrid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Grid {
    pub id: i64,
    pub tenant_id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const SELECT: &str =
    "SELECT g.id, g.tenant_id, g.org_id, o.name AS org_name, g.code, g.name, g.description, g.created_at, g.updated_at";
pub(crate) const FROM: &str = "grids g JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct GridFilter {
    /// Grids of this organisation and its subtree.
    pub org_id: Option<i64>,
    /// Name or code contains.
    pub q: Option<String>,
}

pub async fn list(db: &Db, p: &Principal, f: &GridFilter, page: Page) -> Result<Paged<Grid>, StoreError> {
    let (from_where, a) = filtered(p, f)?;
    paged(db, SELECT, &from_where, ORDER, a, page).await
}

/// The order of the list.
pub(crate) const ORDER: &str = "o.path, g.code";

/// The `FROM ... WHERE ...` of the list (the caller's scope and the filters) and its arguments.
pub(crate) fn filtered(p: &Principal, f: &GridFilter) -> Result<(String, Args), StoreError> {
    let mut a = Args::new();
    let mut w = vec![p.scope(Capability::ReadRegistry).rows("g", &mut a)];
    if let Some(org) = f.org_id {
        let n = a.push(org);
        w.push(format!("o.path LIKE (SELECT path FROM orgs WHERE id = {n}) || '%'"));
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let n = a.push(like(q));
        w.push(format!("(g.name LIKE {n} ESCAPE '\\' OR g.code LIKE {n} ESCAPE '\\')"));
    }
    Ok((format!("{FROM} WHERE {}", w.join(" AND ")), a))
}

pub async fn get(db: &Db, p: &Principal, id: i64) -> Result<Grid, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("g", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE g.id = $1 AND {c}"), a).await
}

pub async fn create(db: &Db, p: &Principal, n: NewGrid) -> Result<Grid, StoreError> {
    let mut tx = db.begin().await?;
    let owner = owner_for_edit(&mut tx, p, "orgs", n.org_id, "org_id").await?;
    let now = Utc::now();
    let id = tx
        .int(
            "INSERT INTO grids (tenant_id, org_id, code, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
            args![owner.tenant_id, n.org_id, n.code.as_str(), n.name.clone(), n.description.clone(), now],
        )
        .await
        .unique_as("code", i18n::DUPLICATE_CODE)?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Create, "grid", "grids", owner.tenant_id, id, None)
        .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn update(db: &Db, p: &Principal, id: i64, n: NewGrid) -> Result<Grid, StoreError> {
    let mut tx = db.begin().await?;
    let owner = check_edit(&mut tx, p, "grids", id).await?;
    let before = audit::snapshot(&mut tx, "grids", owner.tenant_id, id).await?;
    owner_for_edit(&mut tx, p, "orgs", n.org_id, "org_id").await?;
    tx.exec(
        "UPDATE grids SET org_id = $1, code = $2, name = $3, description = $4, updated_at = $5 WHERE tenant_id = $6 AND id = $7",
        args![n.org_id, n.code.as_str(), n.name.clone(), n.description.clone(), Utc::now(), owner.tenant_id, id],
    )
    .await
    .unique_as("code", i18n::DUPLICATE_CODE)?;
    if n.org_id != owner.org_id {
        // Everything in the grid follows it to its new organisation.
        for table in ["buildings", "households", "units"] {
            tx.exec(
                &format!("UPDATE {table} SET org_id = $1 WHERE tenant_id = $2 AND grid_id = $3"),
                args![n.org_id, owner.tenant_id, id],
            )
            .await?;
        }
        tx.exec(
            "UPDATE residents SET org_id = $1 WHERE tenant_id = $2 AND household_id IN (SELECT id FROM households WHERE tenant_id = $2 AND grid_id = $3)",
            args![n.org_id, owner.tenant_id, id],
        )
        .await?;
    }
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Update, "grid", "grids", owner.tenant_id, id, before)
        .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: i64) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let owner = check_edit(&mut tx, p, "grids", id).await?;
    let before = audit::snapshot(&mut tx, "grids", owner.tenant_id, id).await?;
    ensure_none(&mut tx, "SELECT COUNT(*) FROM buildings WHERE grid_id = $1", id, "楼栋").await?;
    ensure_none(&mut tx, "SELECT COUNT(*) FROM units WHERE grid_id = $1", id, "单位/设施").await?;
    tx.exec("DELETE FROM grids WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Delete, "grid", "grids", owner.tenant_id, id, before)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The list as a file (导出).
pub struct GridList;

impl Exportable for GridList {
    const CODE: &'static str = "grids";
    const LABEL: &'static str = "网格名册";
    const TAG: &'static str = "grids";
    type Filter = GridFilter;
    type Row = Grid;
    fn columns(m: Mask) -> Vec<Column> {
        let _ = m;
        vec![Column::ident("编码"), Column::text("名称"), Column::text("所属组织"), Column::text("说明")]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        Ok(crate::export::sql(filtered(q, f)?, SELECT, ORDER))
    }
    fn cells(g: &Self::Row, m: Mask) -> Vec<String> {
        let _ = m;
        vec![g.code.clone(), g.name.clone(), g.org_name.clone(), opt(&g.description)]
    }
}
