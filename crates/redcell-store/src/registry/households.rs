//! Households: a room of a unit of a building, with tags that drive duties.

use super::{Page, Paged, check_edit, ensure_none, like, owner_for_edit, paged};
use crate::args;
use crate::audit;
use crate::db::{Args, Db};
use crate::error::{ResultExt, StoreError};
use crate::export::{Exportable, Mask, opt};
use crate::scope::{Capability, Principal};
use chrono::{DateTime, Utc};
use redcell_domain::export::Column;
use redcell_domain::input::NewHousehold;
use redcell_domain::{FieldError, HouseholdTag, HouseholdTags, i18n};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Household {
    pub id: i64,
    pub tenant_id: i64,
    pub building_id: i64,
    pub building_name: String,
    pub address: String,
    pub grid_id: i64,
    pub org_id: i64,
    pub unit_no: i32,
    pub room: String,
    /// Tag bit mask; see `tag_list`.
    pub tags: i64,
    pub note: Option<String>,
    pub residents: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Household {
    pub fn tag_set(&self) -> HouseholdTags {
        HouseholdTags::from_bits(self.tags)
    }
    /// e.g. `3幢2单元301`
    pub fn label(&self) -> String {
        format!("{}{}单元{}", self.building_name, self.unit_no, self.room)
    }
}

pub(crate) const SELECT: &str = "SELECT h.id, h.tenant_id, h.building_id, b.name AS building_name, b.address, h.grid_id, h.org_id, h.unit_no, h.room, \
    h.tags, h.note, (SELECT COUNT(*) FROM residents r WHERE r.tenant_id = h.tenant_id AND r.household_id = h.id) AS residents, \
    h.created_at, h.updated_at";
pub(crate) const FROM: &str = "households h JOIN buildings b ON b.tenant_id = h.tenant_id AND b.id = h.building_id";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct HouseholdFilter {
    pub grid_id: Option<i64>,
    pub building_id: Option<i64>,
    /// Tag code, e.g. `hardship`.
    pub tag: Option<String>,
    /// Room contains.
    pub q: Option<String>,
}

pub async fn list(db: &Db, p: &Principal, f: &HouseholdFilter, page: Page) -> Result<Paged<Household>, StoreError> {
    let (from_where, a) = filtered(p, f)?;
    paged(db, SELECT, &from_where, ORDER, a, page).await
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

pub async fn get(db: &Db, p: &Principal, id: i64) -> Result<Household, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("h", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE h.id = $1 AND {c}"), a).await
}

/// [`get`] inside a transaction.
pub(crate) async fn get_in(tx: &mut crate::Tx, p: &Principal, id: i64) -> Result<Household, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("h", &mut a);
    tx.one(&format!("{SELECT} FROM {FROM} WHERE h.id = $1 AND {c}"), a).await
}

async fn building_of(tx: &mut crate::Tx, p: &Principal, n: &NewHousehold) -> Result<(super::Owner, i64), StoreError> {
    let owner = owner_for_edit(tx, p, "buildings", n.building_id, "building_id").await?;
    let (grid_id, units): (i64, i32) = tx
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
    let mut tx = db.begin().await?;
    let (owner, grid_id) = building_of(&mut tx, p, &n).await?;
    let now = Utc::now();
    let id = tx
        .int(
            "INSERT INTO households (tenant_id, building_id, grid_id, org_id, unit_no, room, tags, note, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            args![owner.tenant_id, n.building_id, grid_id, owner.org_id, n.unit_no, n.room.clone(), n.tags.bits(), n.note.clone(), now],
        )
        .await
        .unique_as("room", i18n::DUPLICATE_ROOM)?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "household",
        "households",
        owner.tenant_id,
        id,
        None,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn update(db: &Db, p: &Principal, id: i64, n: NewHousehold) -> Result<Household, StoreError> {
    let mut tx = db.begin().await?;
    let me = check_edit(&mut tx, p, "households", id).await?;
    let before = audit::snapshot(&mut tx, "households", me.tenant_id, id).await?;
    let (owner, grid_id) = building_of(&mut tx, p, &n).await?;
    tx.exec(
        "UPDATE households SET building_id = $1, grid_id = $2, org_id = $3, unit_no = $4, room = $5, tags = $6, note = $7, updated_at = $8 \
         WHERE tenant_id = $9 AND id = $10",
        args![n.building_id, grid_id, owner.org_id, n.unit_no, n.room.clone(), n.tags.bits(), n.note.clone(), Utc::now(), me.tenant_id, id],
    )
    .await
    .unique_as("room", i18n::DUPLICATE_ROOM)?;
    if owner.org_id != me.org_id {
        tx.exec(
            "UPDATE residents SET org_id = $1 WHERE tenant_id = $2 AND household_id = $3",
            args![owner.org_id, me.tenant_id, id],
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
        id,
        before,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: i64) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let owner = check_edit(&mut tx, p, "households", id).await?;
    crate::coverage::contacts::end_all_for(&mut tx, owner.tenant_id, "household", id, p.user_id, "住户已删除").await?;
    let before = audit::snapshot(&mut tx, "households", owner.tenant_id, id).await?;
    ensure_none(&mut tx, "SELECT COUNT(*) FROM residents WHERE household_id = $1", id, "居民").await?;
    tx.exec("DELETE FROM households WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Delete,
        "household",
        "households",
        owner.tenant_id,
        id,
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
        Ok(crate::export::sql(filtered(q, f)?, SELECT, ORDER))
    }
    fn cells(h: &Self::Row, m: Mask) -> Vec<String> {
        let _ = m;
        vec![
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
