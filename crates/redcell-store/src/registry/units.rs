//! Units in a grid: 两新组织 (non-public enterprises, social organisations),
//! shops and public facilities.

use super::{Page, Paged, check_edit, like, owner_for_edit, paged};
use crate::audit;
use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::export::{Exportable, Mask, opt, personal, phone};
use crate::scope::{Capability, Principal};
use crate::{Code, PhoneNo, args};
use chrono::{DateTime, Utc};
use redcell_domain::UnitKind;
use redcell_domain::export::Column;
use redcell_domain::input::NewUnit;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Unit {
    pub id: i64,
    pub tenant_id: i64,
    pub grid_id: i64,
    pub org_id: i64,
    #[schema(value_type = String)]
    pub kind: Code<UnitKind>,
    pub name: String,
    pub address: Option<String>,
    pub contact: Option<String>,
    #[schema(value_type = Option<String>)]
    pub phone: Option<PhoneNo>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const SELECT: &str = "SELECT u.id, u.tenant_id, u.grid_id, u.org_id, u.kind, u.name, u.address, u.contact, u.phone, u.created_at, u.updated_at";
pub(crate) const FROM: &str = "units u";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct UnitFilter {
    pub grid_id: Option<i64>,
    pub kind: Option<String>,
    pub q: Option<String>,
}

pub async fn list(db: &Db, p: &Principal, f: &UnitFilter, page: Page) -> Result<Paged<Unit>, StoreError> {
    let (from_where, a) = filtered(p, f)?;
    paged(db, SELECT, &from_where, ORDER, a, page).await
}

/// The order of the list.
pub(crate) const ORDER: &str = "u.grid_id, u.id";

/// The `FROM ... WHERE ...` of the list (the caller's scope and the filters) and its arguments.
pub(crate) fn filtered(p: &Principal, f: &UnitFilter) -> Result<(String, Args), StoreError> {
    let mut a = Args::new();
    let mut w = vec![p.scope(Capability::ReadRegistry).rows("u", &mut a)];
    if let Some(g) = f.grid_id {
        w.push(format!("u.grid_id = {}", a.push(g)));
    }
    if let Some(k) = f.kind.as_deref().filter(|k| !k.is_empty()) {
        w.push(format!("u.kind = {}", a.push(UnitKind::parse("kind", k)?.code())));
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        w.push(format!("u.name LIKE {} ESCAPE '\\'", a.push(like(q))));
    }
    Ok((format!("{FROM} WHERE {}", w.join(" AND ")), a))
}

pub async fn get(db: &Db, p: &Principal, id: i64) -> Result<Unit, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("u", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE u.id = $1 AND {c}"), a).await
}

pub async fn create(db: &Db, p: &Principal, n: NewUnit) -> Result<Unit, StoreError> {
    let mut tx = db.begin().await?;
    let owner = owner_for_edit(&mut tx, p, "grids", n.grid_id, "grid_id").await?;
    let id = tx
        .int(
            "INSERT INTO units (tenant_id, grid_id, org_id, kind, name, address, contact, phone, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            args![owner.tenant_id, n.grid_id, owner.org_id, n.kind.code(), n.name.clone(), n.address.clone(), n.contact.clone(),
                n.phone.as_ref().map(|x| x.as_str().to_string()), Utc::now()],
        )
        .await?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Create, "unit", "units", owner.tenant_id, id, None)
        .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn update(db: &Db, p: &Principal, id: i64, n: NewUnit) -> Result<Unit, StoreError> {
    let mut tx = db.begin().await?;
    let me = check_edit(&mut tx, p, "units", id).await?;
    let before = audit::snapshot(&mut tx, "units", me.tenant_id, id).await?;
    let owner = owner_for_edit(&mut tx, p, "grids", n.grid_id, "grid_id").await?;
    tx.exec(
        "UPDATE units SET grid_id = $1, org_id = $2, kind = $3, name = $4, address = $5, contact = $6, phone = $7, updated_at = $8 WHERE tenant_id = $9 AND id = $10",
        args![n.grid_id, owner.org_id, n.kind.code(), n.name.clone(), n.address.clone(), n.contact.clone(),
            n.phone.as_ref().map(|x| x.as_str().to_string()), Utc::now(), me.tenant_id, id],
    )
    .await?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Update, "unit", "units", me.tenant_id, id, before)
        .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: i64) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let owner = check_edit(&mut tx, p, "units", id).await?;
    let before = audit::snapshot(&mut tx, "units", owner.tenant_id, id).await?;
    tx.exec("DELETE FROM units WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Delete, "unit", "units", owner.tenant_id, id, before)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The list as a file (导出).
pub struct UnitList;

impl Exportable for UnitList {
    const CODE: &'static str = "units";
    const LABEL: &'static str = "单位设施名册";
    const TAG: &'static str = "units";
    type Filter = UnitFilter;
    type Row = Unit;
    fn columns(m: Mask) -> Vec<Column> {
        vec![
            Column::text("名称"),
            Column::text("类别"),
            Column::text("地址"),
            Column::text("联系人"),
            Column::ident(personal(redcell_domain::i18n::EXPORT_PHONE, m)),
        ]
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        Ok(crate::export::sql(filtered(q, f)?, SELECT, ORDER))
    }
    fn cells(u: &Self::Row, m: Mask) -> Vec<String> {
        vec![u.name.clone(), u.kind.to_string(), opt(&u.address), opt(&u.contact), phone(&u.phone, m)]
    }
}
