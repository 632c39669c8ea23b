//! The network registry (SPEC §1): organisations, grids, buildings,
//! households, residents, units, members and cadres.

pub mod buildings;
pub mod cadres;
pub mod grids;
pub mod households;
pub mod members;
pub mod orgs;
pub mod residents;
pub mod search;
pub mod units;

use crate::db::{Args, Db, Row, Tx};
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use redcell_domain::{FieldError, i18n};
use serde::{Deserialize, Serialize};

/// The registry's exportable lists.
pub fn exports() -> Vec<&'static dyn crate::export::ExportList> {
    vec![
        &orgs::OrgList,
        &grids::GridList,
        &buildings::BuildingList,
        &households::HouseholdList,
        &residents::ResidentList,
        &members::MemberList,
        &cadres::CadreList,
        &units::UnitList,
        &search::SearchList,
    ]
}

/// Paging of a list: 1-based page, at most 200 rows a page.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
pub struct Page {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

impl Page {
    pub const DEFAULT: u32 = 50;
    pub const MAX: u32 = 200;
    pub fn first(per_page: u32) -> Page {
        Page { page: Some(1), per_page: Some(per_page) }
    }
    pub fn number(&self) -> u32 {
        self.page.unwrap_or(1).max(1)
    }
    pub fn size(&self) -> u32 {
        self.per_page.unwrap_or(Self::DEFAULT).clamp(1, Self::MAX)
    }
    fn sql(&self, args: &mut Args) -> String {
        let limit = args.push(i64::from(self.size()));
        // In i64: a huge page number must give an empty page, not an overflow.
        let offset = args.push(i64::from(self.number() - 1) * i64::from(self.size()));
        format!(" LIMIT {limit} OFFSET {offset}")
    }
}

/// One page of a list and the total number of matching rows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

impl<T> Paged<T> {
    pub fn pages(&self) -> u32 {
        ((self.total.max(0) as u64).div_ceil(u64::from(self.per_page.max(1)))) as u32
    }
}

/// Run a paged list: `select` is everything up to `WHERE`, `cond` the filter
/// (already including the scope), `order` the `ORDER BY` clause.
pub async fn paged<T: Row>(
    db: &Db,
    select: &str,
    from_where: &str,
    order: &str,
    mut args: Args,
    page: Page,
) -> Result<Paged<T>, StoreError> {
    let total = db.int(&format!("SELECT COUNT(*) FROM {from_where}"), args.clone()).await?;
    let limit = page.sql(&mut args);
    let items = db.all(&format!("{select} FROM {from_where} ORDER BY {order}{limit}"), args).await?;
    Ok(Paged { items, total, page: page.number(), per_page: page.size() })
}

/// Where a referenced row lives: its tenant and owning organisation.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub(crate) struct Owner {
    pub tenant_id: i64,
    pub org_id: i64,
}

/// Resolve a reference (`table.id`) the caller may edit under. A row outside
/// the caller's read scope is "not found"; one they can read but not edit is
/// "forbidden"; either way the field is named.
pub(crate) async fn owner_for_edit(
    tx: &mut Tx,
    p: &Principal,
    table: &str,
    id: i64,
    field: &str,
) -> Result<Owner, StoreError> {
    let org_col = if table == "orgs" { "id" } else { "org_id" };
    let sql =
        |cond: &str| format!("SELECT t.tenant_id, t.{org_col} AS org_id FROM {table} t WHERE t.id = $1 AND {cond}");
    let scoped = |cap: Capability| {
        let mut a = crate::args![id];
        let scope = p.scope(cap);
        let c = if table == "orgs" { scope.orgs("t", &mut a) } else { scope.rows("t", &mut a) };
        (c, a)
    };
    let (c, a) = scoped(Capability::EditRegistry);
    if let Some(o) = tx.opt::<Owner>(&sql(&c), a).await? {
        return Ok(o);
    }
    let (c, a) = scoped(Capability::ReadRegistry);
    if tx.opt::<Owner>(&sql(&c), a).await?.is_some() {
        return Err(StoreError::Denied(FieldError::new(field, "scope", i18n::OUT_OF_SCOPE)));
    }
    Err(FieldError::new(field, "not_found", i18n::NOT_FOUND).into())
}

/// The row `id` of `table` must be in the caller's edit scope (for update/delete).
pub(crate) async fn check_edit(tx: &mut Tx, p: &Principal, table: &str, id: i64) -> Result<Owner, StoreError> {
    owner_for_edit(tx, p, table, id, "id").await.map_err(|e| match e {
        StoreError::Invalid(_) => StoreError::NotFound,
        StoreError::Denied(_) => StoreError::Forbidden,
        e => e,
    })
}

/// Fail with "still has children" when `sql` counts any dependent row.
pub(crate) async fn ensure_none(tx: &mut Tx, sql: &str, id: i64, what: &str) -> Result<(), StoreError> {
    let n = tx.int(sql, crate::args![id]).await?;
    if n > 0 {
        return Err(FieldError::new("id", "has_children", format!("{}（{what} {n}）", i18n::HAS_CHILDREN)).into());
    }
    Ok(())
}

/// The `LIKE` pattern for a free-text filter (with `%` and `_` escaped).
pub(crate) fn like(q: &str) -> String {
    let esc = q.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{esc}%")
}
