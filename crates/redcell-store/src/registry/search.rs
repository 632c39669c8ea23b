//! One search box over people: residents and members by name, phone or ID
//! number, always inside the caller's scope, always masked.

use super::residents::{FROM, Resident, SELECT, search_cond};
use super::{Page, Paged, paged};
use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::scope::{Capability, Principal};

/// Ordered by an expression, not the bare name column: otherwise SQLite walks
/// the name index over every resident instead of using the phone/ID index.
pub async fn people(db: &Db, p: &Principal, q: &str, page: Page) -> Result<Paged<Resident>, StoreError> {
    if q.trim().is_empty() {
        return Ok(Paged { items: vec![], total: 0, page: 1, per_page: page.size() });
    }
    let (from_where, a) = filtered(p, q);
    paged(db, SELECT, &from_where, ORDER, a, page).await
}

pub(crate) const ORDER: &str = "r.name || '', r.id";

/// The `FROM ... WHERE ...` of a search (scope and search text) and its arguments.
pub(crate) fn filtered(p: &Principal, q: &str) -> (String, Args) {
    let mut a = Args::new();
    let scope = p.scope(Capability::ReadRegistry).rows("r", &mut a);
    let cond = search_cond(q, &mut a);
    (format!("{FROM} WHERE {scope} AND {cond}"), a)
}
