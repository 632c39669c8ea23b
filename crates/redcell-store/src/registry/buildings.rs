//! Buildings in a grid, with a point in the local metre plane.

use super::{Page, Paged, ensure_none, like, paged};
use crate::args;
use crate::audit;
use crate::db::bulk::{BATCH_ROWS, bulk_statements, reserve_ids};
use crate::db::{Arg, Args, Db, Tx};
use crate::error::StoreError;
use crate::export::{Exportable, Mask};
use crate::scope::{Capability, Principal};
use chrono::{DateTime, Utc};
use redcell_domain::export::Column;
use redcell_domain::ids::*;
use redcell_domain::input::NewBuilding;
use serde::{Deserialize, Serialize};

/// A building as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct BuildingView {
    pub id: BuildingId,
    pub grid_id: GridId,
    pub grid_name: String,
    pub org_id: OrgId,
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

/// A building as read from the database: what the API shows and
/// the tenant it belongs to (never shown).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Building {
    pub tenant_id: i64,
    #[sqlx(flatten)]
    pub view: BuildingView,
}

impl std::ops::Deref for Building {
    type Target = BuildingView;
    fn deref(&self) -> &BuildingView {
        &self.view
    }
}

pub(crate) const SELECT: &str = "SELECT b.id, b.tenant_id, b.grid_id, g.name AS grid_name, b.org_id, b.name, b.address, b.units, b.floors, \
    b.x, b.y, b.lat, b.lon, (SELECT COUNT(*) FROM households h WHERE h.tenant_id = b.tenant_id AND h.building_id = b.id) AS households, \
    b.created_at, b.updated_at";
pub(crate) const FROM: &str = "buildings b JOIN grids g ON g.tenant_id = b.tenant_id AND g.id = b.grid_id";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BuildingFilter {
    pub grid_id: Option<GridId>,
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

pub async fn get(db: &Db, p: &Principal, id: BuildingId) -> Result<Building, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("b", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE b.id = $1 AND {c}"), a).await
}

/// A building row as written: the one write path of the table (the service,
/// the roster import, the demo generator).
#[derive(Debug, Clone)]
pub(crate) struct BuildingRecord {
    pub id: BuildingId,
    pub grid_id: GridId,
    pub org_id: OrgId,
    pub name: String,
    pub address: String,
    pub units: i64,
    pub floors: i64,
    pub x: f64,
    pub y: f64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// Insert `rows` of `tenant` created at `at` (ids reserved by the caller).
pub(crate) async fn insert(
    tx: &mut Tx,
    tenant: i64,
    at: DateTime<Utc>,
    rows: &[BuildingRecord],
) -> Result<(), StoreError> {
    let statements = bulk_statements(
        tx.backend(),
        "INSERT INTO buildings (id, tenant_id, grid_id, org_id, name, address, units, floors, x, y, lat, lon, created_at, updated_at) VALUES ",
        "(?,$1,?,?,?,?,?,?,?,?,?,?,$2,$2)",
        &[Arg::I64(tenant), Arg::Ts(at)],
        rows,
        BATCH_ROWS,
        |b, a| {
            a.0.extend([
                Arg::from(b.id),
                Arg::from(b.grid_id),
                Arg::from(b.org_id),
                Arg::Text(b.name.clone()),
                Arg::Text(b.address.clone()),
                Arg::I64(b.units),
                Arg::I64(b.floors),
                Arg::F64(b.x),
                Arg::F64(b.y),
                Arg::OptF64(b.lat),
                Arg::OptF64(b.lon),
            ])
        },
    );
    for (sql, a) in statements {
        tx.exec(&sql, a).await?;
    }
    Ok(())
}

pub async fn create(db: &Db, p: &Principal, n: NewBuilding) -> Result<Building, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = access.reference(&mut tx, n.grid_id, "grid_id").await?;
    let id = BuildingId::new(reserve_ids(&mut tx, "buildings", 1).await?);
    let row = BuildingRecord {
        id,
        grid_id: n.grid_id,
        org_id: owner.org(),
        name: n.name.clone(),
        address: n.address.clone(),
        units: n.units,
        floors: n.floors,
        x: n.x,
        y: n.y,
        lat: n.lat,
        lon: n.lon,
    };
    insert(&mut tx, owner.tenant_id, Utc::now(), &[row]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "building",
        "buildings",
        owner.tenant_id,
        id.get(),
        None,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn update(db: &Db, p: &Principal, id: BuildingId, n: NewBuilding) -> Result<Building, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let before = audit::snapshot(&mut tx, "buildings", owner.tenant_id, id.get()).await?;
    let grid = access.reference(&mut tx, n.grid_id, "grid_id").await?;
    let (old_grid,): (GridId,) =
        tx.one("SELECT grid_id FROM buildings WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    let max_unit = tx
        .int(
            "SELECT CAST(COALESCE(MAX(unit_no), 0) AS BIGINT) FROM households WHERE tenant_id = $1 AND building_id = $2",
            args![owner.tenant_id, id],
        )
        .await?;
    if max_unit > n.units {
        return Err(redcell_domain::FieldError::new("units", "range", format!("已有住户登记在 {max_unit} 单元")).into());
    }
    tx.exec(
        "UPDATE buildings SET grid_id = $1, org_id = $2, name = $3, address = $4, units = $5, floors = $6, x = $7, y = $8, lat = $9, lon = $10, updated_at = $11 \
         WHERE tenant_id = $12 AND id = $13",
        args![n.grid_id, grid.org(), n.name.clone(), n.address.clone(), n.units, n.floors, n.x, n.y, n.lat, n.lon, Utc::now(), owner.tenant_id, id],
    )
    .await?;
    if n.grid_id != old_grid {
        tx.exec(
            "UPDATE households SET grid_id = $1, org_id = $2 WHERE tenant_id = $3 AND building_id = $4",
            args![n.grid_id, grid.org(), owner.tenant_id, id],
        )
        .await?;
        tx.exec(
            "UPDATE residents SET org_id = $1 WHERE tenant_id = $2 AND household_id IN (SELECT id FROM households WHERE tenant_id = $2 AND building_id = $3)",
            args![grid.org(), owner.tenant_id, id],
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
        id.get(),
        before,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: BuildingId) -> Result<(), StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let before = audit::snapshot(&mut tx, "buildings", owner.tenant_id, id.get()).await?;
    ensure_none(
        &mut tx,
        "SELECT COUNT(*) FROM households WHERE tenant_id = $1 AND building_id = $2",
        owner.tenant_id,
        id.get(),
        "住户",
    )
    .await?;
    tx.exec("DELETE FROM buildings WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Delete,
        "building",
        "buildings",
        owner.tenant_id,
        id.get(),
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
