//! Units in a grid: 两新组织 (non-public enterprises, social organisations),
//! shops and public facilities.

use super::{Page, Paged, like, paged};
use crate::audit;
use crate::db::bulk::{BATCH_ROWS, bulk_statements, reserve_ids};
use crate::db::{Arg, Args, Db, Tx};
use crate::error::StoreError;
use crate::export::{Exportable, Mask, opt, personal, phone};
use crate::scope::{Capability, Principal};
use crate::{Code, PhoneNo, args};
use chrono::{DateTime, Utc};
use redcell_domain::UnitKind;
use redcell_domain::export::Column;
use redcell_domain::ids::*;
use redcell_domain::input::NewUnit;
use serde::{Deserialize, Serialize};

/// An enterprise, organisation or facility as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UnitView {
    pub id: UnitId,
    pub grid_id: GridId,
    pub org_id: OrgId,
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

/// An enterprise, organisation or facility as read from the database: what the API shows and
/// the tenant it belongs to (never shown).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Unit {
    pub tenant_id: i64,
    #[sqlx(flatten)]
    pub view: UnitView,
}

impl std::ops::Deref for Unit {
    type Target = UnitView;
    fn deref(&self) -> &UnitView {
        &self.view
    }
}

pub(crate) const SELECT: &str = "SELECT u.id, u.tenant_id, u.grid_id, u.org_id, u.kind, u.name, u.address, u.contact, u.phone, u.created_at, u.updated_at";
pub(crate) const FROM: &str = "units u";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnitFilter {
    pub grid_id: Option<GridId>,
    /// Kind code, e.g. `enterprise`.
    pub kind: Option<String>,
    /// Name contains.
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

pub async fn get(db: &Db, p: &Principal, id: UnitId) -> Result<Unit, StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("u", &mut a);
    db.one(&format!("{SELECT} FROM {FROM} WHERE u.id = $1 AND {c}"), a).await
}

/// A unit row as written: the one write path of the table (the service and
/// the demo generator).
#[derive(Debug, Clone)]
pub(crate) struct UnitRecord {
    pub id: UnitId,
    pub grid_id: GridId,
    pub org_id: OrgId,
    pub kind: UnitKind,
    pub name: String,
    pub address: Option<String>,
    pub contact: Option<String>,
    pub phone: Option<String>,
}

/// Insert `rows` of `tenant` created at `at` (ids reserved by the caller).
pub(crate) async fn insert(tx: &mut Tx, tenant: i64, at: DateTime<Utc>, rows: &[UnitRecord]) -> Result<(), StoreError> {
    let statements = bulk_statements(
        tx.backend(),
        "INSERT INTO units (id, tenant_id, grid_id, org_id, kind, name, address, contact, phone, created_at, updated_at) VALUES ",
        "(?,$1,?,?,?,?,?,?,?,$2,$2)",
        &[Arg::I64(tenant), Arg::Ts(at)],
        rows,
        BATCH_ROWS,
        |u, a| {
            a.0.extend([
                Arg::from(u.id),
                Arg::from(u.grid_id),
                Arg::from(u.org_id),
                Arg::from(u.kind.code()),
                Arg::Text(u.name.clone()),
                Arg::OptText(u.address.clone()),
                Arg::OptText(u.contact.clone()),
                Arg::OptText(u.phone.clone()),
            ])
        },
    );
    for (sql, a) in statements {
        tx.exec(&sql, a).await?;
    }
    Ok(())
}

pub async fn create(db: &Db, p: &Principal, n: NewUnit) -> Result<Unit, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = access.reference(&mut tx, n.grid_id, "grid_id").await?;
    let id = UnitId::new(reserve_ids(&mut tx, "units", 1).await?);
    let row = UnitRecord {
        id,
        grid_id: n.grid_id,
        org_id: owner.org(),
        kind: n.kind,
        name: n.name.clone(),
        address: n.address.clone(),
        contact: n.contact.clone(),
        phone: n.phone.as_ref().map(|x| x.as_str().to_string()),
    };
    insert(&mut tx, owner.tenant_id, Utc::now(), &[row]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Create,
        "unit",
        "units",
        owner.tenant_id,
        id.get(),
        None,
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn update(db: &Db, p: &Principal, id: UnitId, n: NewUnit) -> Result<Unit, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let me = access.target(&mut tx, id).await?;
    let before = audit::snapshot(&mut tx, "units", me.tenant_id, id.get()).await?;
    let owner = access.reference(&mut tx, n.grid_id, "grid_id").await?;
    tx.exec(
        "UPDATE units SET grid_id = $1, org_id = $2, kind = $3, name = $4, address = $5, contact = $6, phone = $7, updated_at = $8 WHERE tenant_id = $9 AND id = $10",
        args![n.grid_id, owner.org(), n.kind.code(), n.name.clone(), n.address.clone(), n.contact.clone(),
            n.phone.as_ref().map(|x| x.as_str().to_string()), Utc::now(), me.tenant_id, id],
    )
    .await?;
    audit::change(&mut tx, audit::Actor::of(p), audit::Change::Update, "unit", "units", me.tenant_id, id.get(), before)
        .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete(db: &Db, p: &Principal, id: UnitId) -> Result<(), StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut tx = db.begin().await?;
    let owner = access.target(&mut tx, id).await?;
    let before = audit::snapshot(&mut tx, "units", owner.tenant_id, id.get()).await?;
    tx.exec("DELETE FROM units WHERE tenant_id = $1 AND id = $2", args![owner.tenant_id, id]).await?;
    audit::change(
        &mut tx,
        audit::Actor::of(p),
        audit::Change::Delete,
        "unit",
        "units",
        owner.tenant_id,
        id.get(),
        before,
    )
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
