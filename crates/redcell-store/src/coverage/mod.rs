//! Contact responsibility and full coverage (联系全覆盖, SPEC §2): dated contact
//! relations at every level of the pyramid, quota rules inherited down the
//! tree, exemptions with their three approvals, the coverage report, the
//! contact rosters and proposed assignment plans (solved by `redcell-plan`).
//!
//! Every query is limited to one organisation's subtree, and that organisation
//! must be inside the caller's scope for the capability at hand (a scope is a
//! set of whole subtrees, so the subtree condition is then the scope filter).

pub mod contacts;
pub mod exemptions;
pub mod pick;
pub mod plan;
pub mod posts;
pub mod quotas;
pub mod report;
pub mod seed;
pub mod workbook;

pub use seed::seed_demo_contacts;

use crate::args;
use crate::db::{Args, Db, Tx};
use crate::error::StoreError;
use crate::scope::Principal;
use chrono::NaiveDate;
use redcell_domain::{FieldError, OrgPath, i18n};
use std::collections::HashMap;

/// Today's date in China (UTC+8): contact dates are business dates.
pub fn today() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// The organisation a request means: the one named, or else the caller's
/// highest readable one (where their pages start).
pub fn org_or_home(p: &Principal, org_id: Option<i64>) -> Result<i64, StoreError> {
    match org_id {
        Some(id) => Ok(id),
        None => p.home_orgs().first().copied().ok_or(StoreError::Forbidden),
    }
}

pub use crate::scope::OrgRef;

/// The coverage capability's exportable lists.
pub fn exports() -> Vec<&'static dyn crate::export::ExportList> {
    vec![&contacts::ContactList, &exemptions::ExemptionList, &plan::PlanList, &posts::PostList]
}
use crate::scope::{ORG_COLS, OrgRow};

/// Every organisation of a tenant (a few thousand at most), for the tree
/// computations done in memory: inheritance of quota rules, which members a
/// cadre reaches through their branches.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tree {
    pub orgs: Vec<OrgRef>,
    pub by_id: HashMap<i64, usize>,
}

impl Tree {
    pub async fn load(db: &Db, tenant_id: i64) -> Result<Tree, StoreError> {
        let rows: Vec<OrgRow> = db
            .all(&format!("SELECT {ORG_COLS} FROM orgs o WHERE o.tenant_id = $1 ORDER BY o.path"), args![tenant_id])
            .await?;
        let orgs: Vec<OrgRef> = rows.into_iter().map(OrgRow::into_ref).collect::<Result<_, _>>()?;
        let by_id = orgs.iter().enumerate().map(|(i, o)| (o.id, i)).collect();
        Ok(Tree { orgs, by_id })
    }
    pub fn get(&self, id: i64) -> Option<&OrgRef> {
        self.by_id.get(&id).map(|i| &self.orgs[*i])
    }
    /// Organisations inside `root`'s subtree (itself included).
    pub fn subtree<'a>(&'a self, root: &'a OrgPath) -> impl Iterator<Item = &'a OrgRef> + 'a {
        self.orgs.iter().filter(move |o| root.contains(&o.path))
    }
    /// The nearest organisation on the way up from `id` (itself included)
    /// whose level is at most `level` (e.g. 4: the branch, 2: the community).
    pub fn ancestor_at(&self, id: i64, level: u8) -> Option<&OrgRef> {
        let o = self.get(id)?;
        o.path.ids().iter().rev().filter_map(|i| self.get(*i)).find(|a| a.kind.level() <= level)
    }
}

/// `a.b IN (1, 2, 3)` for a list of ids (integers only, so literal is safe);
/// `1 = 0` for an empty list.
pub(crate) fn in_list(col: &str, ids: &[i64]) -> String {
    if ids.is_empty() {
        return "1 = 0".into();
    }
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("{col} IN ({})", list.join(", "))
}

/// Ids of members whose exemption from contact duty has all three approvals.
pub(crate) fn exempt_members_sql(tenant: &str) -> String {
    format!("SELECT ex.member_id FROM exemptions ex WHERE ex.tenant_id = {tenant} AND ex.status = 'exempt'")
}

/// Insert many rows with multi-row `INSERT`s of at most `batch` rows.
pub(crate) async fn insert_rows(
    tx: &mut Tx,
    head: &str,
    rows: &[Vec<crate::db::Arg>],
    batch: usize,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(batch.max(1)) {
        let mut a = Args::new();
        let mut groups = Vec::with_capacity(chunk.len());
        for r in chunk {
            let ph: Vec<String> = r.iter().map(|x| a.push(x.clone())).collect();
            groups.push(format!("({})", ph.join(", ")));
        }
        tx.exec(&format!("{head} VALUES {}", groups.join(", ")), a).await?;
    }
    Ok(())
}

/// A field error for a reference that is not there (or not visible).
pub(crate) fn not_found(field: &str) -> StoreError {
    FieldError::new(field, "not_found", i18n::NOT_FOUND).into()
}

/// Metres between two points, rounded as the plan contract does.
pub(crate) fn metres(ax: f64, ay: f64, bx: f64, by: f64) -> i64 {
    ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt().round() as i64
}
