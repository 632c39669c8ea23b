//! Households: a room of a unit of a building, with tags that drive duties.

use super::{Page, Paged, ensure_none, like, paged};
use crate::args;
use crate::audit;
use crate::db::bulk::{BATCH_ROWS, bulk_statements, reserve_ids};
use crate::db::{Arg, Args, Backend, Conn, Db, Tx};
use crate::error::{ResultExt, StoreError};
use crate::export::{Exportable, Mask, opt};
use crate::scope::{Access, Capability, Owner, Principal};
use chrono::{DateTime, Utc};
use redcell_domain::export::Column;
use redcell_domain::ids::*;
use redcell_domain::input::NewHousehold;
use redcell_domain::{FieldError, HouseholdTag, HouseholdTags, i18n};
use serde::{Deserialize, Serialize};

/// A household as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct HouseholdView {
    pub id: HouseholdId,
    pub building_id: BuildingId,
    pub building_name: String,
    pub address: String,
    /// The community it lies in (short name), if any.
    pub community: Option<String>,
    pub grid_id: GridId,
    pub org_id: OrgId,
    pub unit_no: i32,
    pub room: String,
    /// Tag bit mask; see `tag_list`.
    pub tags: i64,
    pub note: Option<String>,
    pub residents: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A household as read from the database: what the API shows and
/// the tenant it belongs to (never shown).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Household {
    pub tenant_id: i64,
    #[sqlx(flatten)]
    pub view: HouseholdView,
}

impl std::ops::Deref for Household {
    type Target = HouseholdView;
    fn deref(&self) -> &HouseholdView {
        &self.view
    }
}

impl HouseholdView {
    pub fn tag_set(&self) -> HouseholdTags {
        HouseholdTags::from_bits(self.tags)
    }
    /// e.g. `幸福社区 3幢2单元301`: with its community, since the building
    /// and room alone repeat in every community of a street.
    pub fn label(&self) -> String {
        let room = format!("{}{}单元{}", self.building_name, self.unit_no, self.room);
        crate::home::place_label(self.community.as_deref(), &room)
    }
}

/// The columns of a household.
pub(crate) fn select() -> String {
    format!(
        "SELECT h.id, h.tenant_id, h.building_id, b.name AS building_name, b.address, {} AS community, h.grid_id, h.org_id, \
         h.unit_no, h.room, h.tags, h.note, \
         (SELECT COUNT(*) FROM residents r WHERE r.tenant_id = h.tenant_id AND r.household_id = h.id) AS residents, \
         h.created_at, h.updated_at",
        crate::scope::community_of("h")
    )
}

/// A household in words with its community (`幸福社区 3幢2单元301`) in SQL
/// over a household row `h` and its building `b`.
pub(crate) fn place_sql(h: &str, b: &str) -> String {
    format!(
        "COALESCE({} || ' ', '') || {b}.name || CAST({h}.unit_no AS TEXT) || '单元' || {h}.room",
        crate::scope::community_of(h)
    )
}
pub(crate) const FROM: &str = "households h JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HouseholdFilter {
    pub grid_id: Option<GridId>,
    pub building_id: Option<BuildingId>,
    /// Tag code, e.g. `hardship`.
    pub tag: Option<String>,
    /// Room contains.
    pub q: Option<String>,
}

pub async fn list(db: &Db, p: &Principal, f: &HouseholdFilter, page: Page) -> Result<Paged<Household>, StoreError> {
    let (from_where, a) = filtered(p, f)?;
    paged(db, &select(), &from_where, ORDER, a, page).await
}

/// The order of the list.
pub(crate) const ORDER: &str = "h.building_id, h.unit_no, h.room";

/// The `FROM ... WHERE ...` of the list (the caller's scope and the filters) and its arguments.
pub(crate) fn filtered(p: &Principal, f: &HouseholdFilter) -> Result<(String, Args), StoreError> {
    let mut a = Args::new();
    let mut w = vec![p.scope(Capability::ReadRegistry).rows("h", &mut a)];
    if let Some(g) = f.grid_id {
        w.push(format!("h.grid_id = {}", a.push(g)));
    }
    if let Some(b) = f.building_id {
        w.push(format!("h.building_id = {}", a.push(b)));
    }
    if let Some(t) = f.tag.as_deref().filter(|t| !t.is_empty()) {
        let tag = HouseholdTag::parse("tag", t)?;
        w.push(format!("(h.tags & {}) <> 0", a.push(tag.bit())));
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        w.push(format!("h.room LIKE {} ESCAPE '\\'", a.push(like(q))));
    }
    Ok((format!("{FROM} WHERE {}", w.join(" AND ")), a))
}

pub async fn get(db: &Db, p: &Principal, id: HouseholdId) -> Result<Household, StoreError> {
    get_in(&mut db.conn(), p, id).await
}

/// [`get`] on any connection (e.g. inside a transaction).
pub(crate) async fn get_in(c: &mut impl Conn, p: &Principal, id: HouseholdId) -> Result<Household, StoreError> {
    let mut a = args![id];
    let cond = p.scope(Capability::ReadRegistry).rows("h", &mut a);
    c.one(&format!("{} FROM {FROM} WHERE h.id = $1 AND {cond}", select()), a).await
}

/// A household in words (`3幢2单元301`, as [`HouseholdView::label`]) in SQL
/// over a household row `h` and its building `b`.
pub(crate) const ROOM_SQL: &str = "b.name || CAST(h.unit_no AS TEXT) || '单元' || h.room";

/// A household of the tenant whatever the caller's scope: only for a
/// caller whose right to it was proved another way (a member's own contact).
pub(crate) async fn get_of_tenant(c: &mut impl Conn, tenant_id: i64, id: HouseholdId) -> Result<Household, StoreError> {
    c.one(&format!("{} FROM {FROM} WHERE h.id = $1 AND h.tenant_id = $2", select()), args![id, tenant_id]).await
}

/// A household row as written: the one write path of the table, used by the
/// service, the roster import and the demo generator.
#[derive(Debug, Clone)]
pub(crate) struct HouseholdRecord {
    pub id: HouseholdId,
    pub building_id: BuildingId,
    pub grid_id: GridId,
    pub org_id: OrgId,
    pub unit_no: i64,
    pub room: String,
    pub tags: i64,
    pub note: Option<String>,
}

/// The statements inserting `rows` of `tenant` created at `at`, at most
/// `per_statement` rows each (see [`bulk_statements`]).
pub(crate) fn insert_statements(
    backend: Backend,
    tenant: i64,
    at: DateTime<Utc>,
    rows: &[HouseholdRecord],
    per_statement: usize,
) -> Vec<(String, Args)> {
    bulk_statements(
        backend,
        "INSERT INTO households (id, tenant_id, building_id, grid_id, org_id, unit_no, room, tags, note, created_at, updated_at) VALUES ",
        "(?,$1,?,?,?,?,?,?,?,$2,$2)",
        &[Arg::I64(tenant), Arg::Ts(at)],
        rows,
        per_statement,
        |h, a| {
            a.0.extend([
                Arg::from(h.id),
                Arg::from(h.building_id),
                Arg::from(h.grid_id),
                Arg::from(h.org_id),
                Arg::I64(h.unit_no),
                Arg::Text(h.room.clone()),
                Arg::I64(h.tags),
                Arg::OptText(h.note.clone()),
            ])
        },
    )
}

/// Insert `rows` (ids reserved by the caller with [`reserve_ids`]).
pub(crate) async fn insert(
    tx: &mut Tx,
    tenant: i64,
    at: DateTime<Utc>,
    rows: &[HouseholdRecord],
) -> Result<(), StoreError> {
    for (sql, a) in insert_statements(tx.backend(), tenant, at, rows, BATCH_ROWS) {
        tx.exec(&sql, a).await.unique_as("room", i18n::DUPLICATE_ROOM)?;
    }
    Ok(())
}

/// The building a household goes into: editable by the caller, with the unit.
async fn building_of(tx: &mut Tx, access: &Access<'_>, n: &NewHousehold) -> Result<(Owner, GridId), StoreError> {
    let owner = access.reference(tx, n.building_id, "building_id").await?;
    let (grid_id, units): (GridId, i32) = tx
        .one(
            "SELECT grid_id, units FROM buildings WHERE tenant_id = $1 AND id = $2",
            args![owner.tenant_id, n.building_id],
        )
        .await?;
    if n.unit_no > i64::from(units) {
        return Err(FieldError::new("unit_no", "range", format!("该楼栋只有{units}个单元")).into());
    }
    Ok((owner, grid_id))
}

pub async fn create(db: &Db, p: &Principal, n: NewHousehold) -> Result<Household, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let (owner, grid_id) = building_of(&mut tx, &access, &n).await?;
    let id = HouseholdId::new(reserve_ids(&mut tx, "households", 1).await?);
    let row = HouseholdRecord {
        id,
        building_id: n.building_id,
        grid_id,
        org_id: owner.org(),
        unit_no: n.unit_no,
        room: n.room.clone(),
        tags: n.tags.bits(),
        note: n.note.clone(),
    };
    insert(&mut tx, owner.tenant_id, Utc::now(), &[row]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "household",
        "households",
        owner.tenant_id,
        id.get(),
        None,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn update(db: &Db, p: &Principal, id: HouseholdId, n: NewHousehold) -> Result<Household, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let me = access.target(&mut tx, id).await?;
    let before = audit::snapshot(&mut tx, "households", me.tenant_id, id.get()).await?;
    let (owner, grid_id) = building_of(&mut tx, &access, &n).await?;
    tx.exec(
        "UPDATE households SET building_id = $1, grid_id = $2, org_id = $3, unit_no = $4, room = $5, tags = $6, note = $7, updated_at = $8 \
         WHERE tenant_id = $9 AND id = $10",
        args![n.building_id, grid_id, owner.org(), n.unit_no, n.room.clone(), n.tags.bits(), n.note.clone(), Utc::now(), me.tenant_id, id],
    )
    .await
    .unique_as("room", i18n::DUPLICATE_ROOM)?;
    if owner.org_id != me.org_id {
        tx.exec(
            "UPDATE residents SET org_id = $1 WHERE tenant_id = $2 AND household_id = $3",
            args![owner.org(), me.tenant_id, id],
        )
        .await?;
    }
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Update,
        "household",
        "households",
        me.tenant_id,
        id.get(),
        before,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: HouseholdId) -> Result<(), StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    crate::coverage::contacts::end_all_for(&mut tx, owner.tenant_id, "household", id.get(), p.user_id, "住户已删除")
        .await?;
    let before = audit::snapshot(&mut tx, "households", owner.tenant_id, id.get()).await?;
    ensure_none(
        &mut tx,
        "SELECT COUNT(*) FROM residents WHERE tenant_id = $1 AND household_id = $2",
        owner.tenant_id,
        id.get(),
        "居民",
    )
    .await?;
    tx.exec("DELETE FROM households WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Delete,
        "household",
        "households",
        owner.tenant_id,
        id.get(),
        before,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The list as a file (导出).
pub struct HouseholdList;

impl Exportable for HouseholdList {
    const CODE: &'static str = "households";
    const LABEL: &'static str = "住户名册";
    const TAG: &'static str = "households";
    type Filter = HouseholdFilter;
    type Row = Household;
    fn columns(m: Mask) -> Vec<Column> {
        let _ = m;
        vec![
            Column::text("社区"),
            Column::text("楼栋"),
            Column::number("单元"),
            Column::ident("房号"),
            Column::text("地址"),
            Column::text("标签"),
            Column::number("人数"),
            Column::text("备注"),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        Ok(crate::export::sql(filtered(q, f)?, &select(), ORDER))
    }
    fn cells(h: &Self::Row, m: Mask) -> Vec<String> {
        let _ = m;
        vec![
            opt(&h.community),
            h.building_name.clone(),
            h.unit_no.to_string(),
            h.room.clone(),
            h.address.clone(),
            h.tag_set().labels().join("、"),
            h.residents.to_string(),
            opt(&h.note),
        ]
    }
}
