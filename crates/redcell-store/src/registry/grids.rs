//! Grids (网格): the territory partition, each owned by one organisation.

use super::{Page, Paged, ensure_none, like, paged};
use crate::args;
use crate::audit;
use crate::db::bulk::{BATCH_ROWS, bulk_statements, reserve_ids};
use crate::db::{Arg, Args, Db, Tx};
use crate::error::{ResultExt, StoreError};
use crate::export::{Exportable, Mask, opt};
use crate::scope::{self, Capability, Principal};
use chrono::{DateTime, Utc};
use redcell_domain::export::Column;
use redcell_domain::i18n;
use redcell_domain::ids::*;
use redcell_domain::input::NewGrid;
use serde::{Deserialize, Serialize};

/// A grid as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct GridView {
    pub id: GridId,
    pub org_id: OrgId,
    pub org_name: String,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A grid as read from the database: what the API shows and
/// the tenant it belongs to (never shown).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Grid {
    pub tenant_id: i64,
    #[sqlx(flatten)]
    pub view: GridView,
}

impl std::ops::Deref for Grid {
    type Target = GridView;
    fn deref(&self) -> &GridView {
        &self.view
    }
}

pub(crate) const SELECT: &str =
    "SELECT g.id, g.tenant_id, g.org_id, o.name AS org_name, g.code, g.name, g.description, g.created_at, g.updated_at";
pub(crate) const FROM: &str = "grids g JOIN orgs o ON o.tenant_id = g.tenant_id AND o.id = g.org_id";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GridFilter {
    /// Grids of this organisation and its subtree.
    pub org_id: Option<OrgId>,
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
        w.push(scope::org_under_id("o", p.tenant_id, org, &mut a));
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let n = a.push(like(q));
        w.push(format!("(g.name LIKE {n} ESCAPE '\\' OR g.code LIKE {n} ESCAPE '\\')"));
    }
    Ok((format!("{FROM} WHERE {}", w.join(" AND ")), a))
}

pub async fn get(db: &Db, p: &Principal, id: GridId) -> Result<Grid, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("g", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE g.id = $1 AND {c}"), a).await
}

/// A grid row as written: the one write path of the table (the service,
/// the roster import, the demo generator).
#[derive(Debug, Clone)]
pub(crate) struct GridRecord {
    pub id: GridId,
    pub org_id: OrgId,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
}

/// Insert `rows` of `tenant` created at `at` (ids reserved by the caller).
pub(crate) async fn insert(tx: &mut Tx, tenant: i64, at: DateTime<Utc>, rows: &[GridRecord]) -> Result<(), StoreError> {
    let statements = bulk_statements(
        tx.backend(),
        "INSERT INTO grids (id, tenant_id, org_id, code, name, description, created_at, updated_at) VALUES ",
        "(?,$1,?,?,?,?,$2,$2)",
        &[Arg::I64(tenant), Arg::Ts(at)],
        rows,
        BATCH_ROWS,
        |g, a| {
            a.0.extend([
                Arg::from(g.id),
                Arg::from(g.org_id),
                Arg::Text(g.code.clone()),
                Arg::Text(g.name.clone()),
                Arg::OptText(g.description.clone()),
            ])
        },
    );
    for (sql, a) in statements {
        tx.exec(&sql, a).await.unique_as("code", i18n::DUPLICATE_CODE)?;
    }
    Ok(())
}

pub async fn create(db: &Db, p: &Principal, n: NewGrid) -> Result<Grid, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = access.org_ref(&mut tx, n.org_id, "org_id").await?;
    let id = GridId::new(reserve_ids(&mut tx, "grids", 1).await?);
    let row = GridRecord {
        id,
        org_id: n.org_id,
        code: n.code.as_str().to_string(),
        name: n.name.clone(),
        description: n.description.clone(),
    };
    insert(&mut tx, owner.tenant_id, Utc::now(), &[row]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "grid",
        "grids",
        owner.tenant_id,
        id.get(),
        None,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn update(db: &Db, p: &Principal, id: GridId, n: NewGrid) -> Result<Grid, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let before = audit::snapshot(&mut tx, "grids", owner.tenant_id, id.get()).await?;
    access.org_ref(&mut tx, n.org_id, "org_id").await?;
    tx.exec(
        "UPDATE grids SET org_id = $1, code = $2, name = $3, description = $4, updated_at = $5 WHERE tenant_id = $6 AND id = $7",
        args![n.org_id, n.code.as_str(), n.name.clone(), n.description.clone(), Utc::now(), owner.tenant_id, id],
    )
    .await
    .unique_as("code", i18n::DUPLICATE_CODE)?;
    if n.org_id != owner.org() {
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
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "grid",
        "grids",
        owner.tenant_id,
        id.get(),
        before,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: GridId) -> Result<(), StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let before = audit::snapshot(&mut tx, "grids", owner.tenant_id, id.get()).await?;
    let t = owner.tenant_id;
    ensure_none(&mut tx, "SELECT COUNT(*) FROM buildings WHERE tenant_id = $1 AND grid_id = $2", t, id.get(), "楼栋")
        .await?;
    ensure_none(&mut tx, "SELECT COUNT(*) FROM units WHERE tenant_id = $1 AND grid_id = $2", t, id.get(), "单位/设施")
        .await?;
    tx.exec("DELETE FROM grids WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Delete, "grid", "grids", t, id.get(), before).await?;
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
