//! Buildings in a grid, with a point in the local metre plane.

use super::{Page, Paged, check_edit, ensure_none, like, owner_for_edit, paged};
use crate::args;
use crate::audit;
use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::export::{Exportable, Mask};
use crate::scope::{Capability, Principal};
use chrono::{DateTime, Utc};
use redcell_domain::export::Column;
use redcell_domain::input::NewBuilding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Building {
    pub id: i64,
    pub tenant_id: i64,
    pub grid_id: i64,
    pub grid_name: String,
    pub org_id: i64,
    pub name: String,
    pub address: String,
    pub units: i32,
    pub floors: i32,
    pub x: f64,
    pub y: f64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub households: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const SELECT: &str = "SELECT b.id, b.tenant_id, b.grid_id, g.name AS grid_name, b.org_id, b.name, b.address, b.units, b.floors, \
    b.x, b.y, b.lat, b.lon, (SELECT COUNT(*) FROM households h WHERE h.tenant_id = b.tenant_id AND h.building_id = b.id) AS households, \
    b.created_at, b.updated_at";
pub(crate) const FROM: &str = "buildings b JOIN grids g ON g.tenant_id = b.tenant_id AND g.id = b.grid_id";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct BuildingFilter {
    pub grid_id: Option<i64>,
    /// Name or address contains.
    pub q: Option<String>,
}

pub async fn list(db: &Db, p: &Principal, f: &BuildingFilter, page: Page) -> Result<Paged<Building>, StoreError> {
    let (from_where, a) = filtered(p, f)?;
    paged(db, SELECT, &from_where, ORDER, a, page).await
}

/// The order of the list.
pub(crate) const ORDER: &str = "b.grid_id, b.id";

/// The `FROM ... WHERE ...` of the list (the caller's scope and the filters) and its arguments.
pub(crate) fn filtered(p: &Principal, f: &BuildingFilter) -> Result<(String, Args), StoreError> {
    let mut a = Args::new();
    let mut w = vec![p.scope(Capability::ReadRegistry).rows("b", &mut a)];
    if let Some(g) = f.grid_id {
        w.push(format!("b.grid_id = {}", a.push(g)));
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let n = a.push(like(q));
        w.push(format!("(b.name LIKE {n} ESCAPE '\\' OR b.address LIKE {n} ESCAPE '\\')"));
    }
    Ok((format!("{FROM} WHERE {}", w.join(" AND ")), a))
}

pub async fn get(db: &Db, p: &Principal, id: i64) -> Result<Building, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("b", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE b.id = $1 AND {c}"), a).await
}

pub async fn create(db: &Db, p: &Principal, n: NewBuilding) -> Result<Building, StoreError> {
    let mut tx = db.begin().await?;
    let owner = owner_for_edit(&mut tx, p, "grids", n.grid_id, "grid_id").await?;
    let id = tx
        .int(
            "INSERT INTO buildings (tenant_id, grid_id, org_id, name, address, units, floors, x, y, lat, lon, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
            args![owner.tenant_id, n.grid_id, owner.org_id, n.name.clone(), n.address.clone(), n.units, n.floors, n.x, n.y, n.lat, n.lon, Utc::now()],
        )
        .await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "building",
        "buildings",
        owner.tenant_id,
        id,
        None,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn update(db: &Db, p: &Principal, id: i64, n: NewBuilding) -> Result<Building, StoreError> {
    let mut tx = db.begin().await?;
    let owner = check_edit(&mut tx, p, "buildings", id).await?;
    let before = audit::snapshot(&mut tx, "buildings", owner.tenant_id, id).await?;
    let grid = owner_for_edit(&mut tx, p, "grids", n.grid_id, "grid_id").await?;
    let old_grid =
        tx.int("SELECT grid_id FROM buildings WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    let max_unit = tx
        .int("SELECT CAST(COALESCE(MAX(unit_no), 0) AS BIGINT) FROM households WHERE building_id = $1", args![id])
        .await?;
    if max_unit > n.units {
        return Err(redcell_domain::FieldError::new("units", "range", format!("已有住户登记在 {max_unit} 单元")).into());
    }
    tx.exec(
        "UPDATE buildings SET grid_id = $1, org_id = $2, name = $3, address = $4, units = $5, floors = $6, x = $7, y = $8, lat = $9, lon = $10, updated_at = $11 \
         WHERE tenant_id = $12 AND id = $13",
        args![n.grid_id, grid.org_id, n.name.clone(), n.address.clone(), n.units, n.floors, n.x, n.y, n.lat, n.lon, Utc::now(), owner.tenant_id, id],
    )
    .await?;
    if n.grid_id != old_grid {
        tx.exec(
            "UPDATE households SET grid_id = $1, org_id = $2 WHERE tenant_id = $3 AND building_id = $4",
            args![n.grid_id, grid.org_id, owner.tenant_id, id],
        )
        .await?;
        tx.exec(
            "UPDATE residents SET org_id = $1 WHERE tenant_id = $2 AND household_id IN (SELECT id FROM households WHERE tenant_id = $2 AND building_id = $3)",
            args![grid.org_id, owner.tenant_id, id],
        )
        .await?;
    }
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "building",
        "buildings",
        owner.tenant_id,
        id,
        before,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: i64) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let owner = check_edit(&mut tx, p, "buildings", id).await?;
    let before = audit::snapshot(&mut tx, "buildings", owner.tenant_id, id).await?;
    ensure_none(&mut tx, "SELECT COUNT(*) FROM households WHERE building_id = $1", id, "住户").await?;
    tx.exec("DELETE FROM buildings WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Delete,
        "building",
        "buildings",
        owner.tenant_id,
        id,
        before,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The list as a file (导出).
pub struct BuildingList;

impl Exportable for BuildingList {
    const CODE: &'static str = "buildings";
    const LABEL: &'static str = "楼栋名册";
    const TAG: &'static str = "buildings";
    type Filter = BuildingFilter;
    type Row = Building;
    fn columns(m: Mask) -> Vec<Column> {
        let _ = m;
        vec![
            Column::text("楼栋"),
            Column::text("地址"),
            Column::text("网格"),
            Column::number("单元数"),
            Column::number("层数"),
            Column::number("住户数"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        Ok(crate::export::sql(filtered(q, f)?, SELECT, ORDER))
    }
    fn cells(b: &Self::Row, m: Mask) -> Vec<String> {
        let _ = m;
        vec![
            b.name.clone(),
            b.address.clone(),
            b.grid_name.clone(),
            b.units.to_string(),
            b.floors.to_string(),
            b.households.to_string(),
        ]
    }
}
