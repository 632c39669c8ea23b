//! One search box over people: residents and members by name, phone or ID
//! number, always inside the caller's scope, always masked.

use super::residents::{FROM, Resident, search_cond, select};
use super::{Page, Paged, paged};
use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::export::{Exportable, Mask};
use crate::scope::{Capability, Principal};
use redcell_domain::export::Column;

/// Ordered by an expression, not the bare name column: otherwise SQLite walks
/// the name index over every resident instead of using the phone/ID index.
pub async fn people(db: &Db, p: &Principal, q: &str, page: Page) -> Result<Paged<Resident>, StoreError> {
    if q.trim().is_empty() {
        return Ok(Paged { items: vec![], total: 0, page: 1, per_page: page.size() });
    }
    let (from_where, a) = filtered(p, q);
    paged(db, &select(), &from_where, ORDER, a, page).await
}

/// The search box as a filter (of the export of search results).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchFilter {
    /// A name fragment, or an exact phone or ID number.
    pub q: Option<String>,
}

pub(crate) const ORDER: &str = "r.name || '', r.id";

/// The `FROM ... WHERE ...` of a search (scope and search text) and its arguments.
pub(crate) fn filtered(p: &Principal, q: &str) -> (String, Args) {
    let mut a = Args::new();
    let scope = p.scope(Capability::ReadRegistry).rows("r", &mut a);
    let cond = search_cond(q, &mut a);
    (format!("{FROM} WHERE {scope} AND {cond}"), a)
}

/// The list as a file (导出).
pub struct SearchList;

impl Exportable for SearchList {
    const CODE: &'static str = "search";
    const LABEL: &'static str = "人员查询结果";
    const TAG: &'static str = "search";
    type Filter = SearchFilter;
    type Row = Resident;
    fn columns(m: Mask) -> Vec<Column> {
        super::residents::person_columns(m)
    }
    async fn query(_db: &Db, q: &Principal, f: &Self::Filter) -> Result<Option<(String, Args)>, StoreError> {
        let text = f.q.as_deref().unwrap_or("");
        if text.trim().is_empty() {
            return Ok(None);
        }
        Ok(crate::export::sql(filtered(q, text), &select(), ORDER))
    }
    fn cells(r: &Self::Row, m: Mask) -> Vec<String> {
        super::residents::person_cells(r, m)
    }
}
