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
#[into_params(parameter_in = Query)]
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

/// Fail with "still has children" when `sql` (with `$1` the tenant, `$2`
/// the row) counts any dependent row.
pub(crate) async fn ensure_none(tx: &mut Tx, sql: &str, tenant_id: i64, id: i64, what: &str) -> Result<(), StoreError> {
    let n = tx.int(sql, crate::args![tenant_id, id]).await?;
    if n > 0 {
        return Err(FieldError::new("id", "has_children", format!("{}（{what} {n}）", i18n::HAS_CHILDREN)).into());
    }
    Ok(())
}

impl<T> Paged<T> {
    /// The same page with each item turned into something else (e.g. its view).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// The `LIKE` pattern for a free-text filter (with `%` and `_` escaped).
pub(crate) fn like(q: &str) -> String {
    let esc = q.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{esc}%")
}
