//! Export of any list (导出): the same filters as the list, every matching row
//! (streamed from one query, never collected), masked as the list shows it,
//! only inside the caller's export scope, and recorded in the audit trail.
//!
//! A list becomes exportable by implementing [`Exportable`] beside its query
//! (its code, Chinese name, filter, columns and cells, declared once) and
//! naming it in its capability's `exports()`; the capability registers them
//! when it mounts its web surface, which serves `GET /api/v1/<code>/export`
//! and `/export/<code>` for each.
//! The rows are handed to a sink as text cells with the list's columns
//! describing them; writing the file (xlsx or CSV) is the caller's part
//! (`redcell-docs`).
//!
//! Who may export what ([`Right`]):
//! - by default, roles with `Capability::Export`, over the subtrees where
//!   they hold it (a grant that only reads, e.g. a cadre's, does not widen
//!   what is exported; a list of one organisation's subtree needs the right
//!   over that whole subtree);
//! - the account list: `Export` together with `ManageUsers` on the same grant;
//! - the audit trail: its readers (auditors of the whole tenant), who have no
//!   other export right; the system administrator cannot read it.

use crate::audit::{self, Actor};
use crate::db::{Args, Db, Pace, Row};
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use crate::{IdNo, PhoneNo};
use redcell_domain::export::{Column, ColumnKind, ExportFormat};
use redcell_domain::{FieldError, i18n};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// Personal data in the file: masked (every page and API export), or in the
/// clear (only the command line, on the operator's explicit request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    Masked,
    Clear,
}

pub fn id_no(x: &IdNo, m: Mask) -> String {
    match m {
        Mask::Masked => x.masked(),
        Mask::Clear => x.reveal().to_string(),
    }
}

pub fn phone(x: &Option<PhoneNo>, m: Mask) -> String {
    match (x, m) {
        (None, _) => String::new(),
        (Some(p), Mask::Masked) => p.masked(),
        (Some(p), Mask::Clear) => p.reveal().to_string(),
    }
}

/// A phone kept as text (a request's contact): masked as the list shows it.
pub fn phone_text(x: &Option<String>, m: Mask) -> String {
    match (x, m) {
        (None, _) => String::new(),
        (Some(p), Mask::Masked) => redcell_domain::phone::mask_phone(p),
        (Some(p), Mask::Clear) => p.clone(),
    }
}

pub fn opt<T: ToString>(x: &Option<T>) -> String {
    x.as_ref().map(T::to_string).unwrap_or_default()
}

pub fn yes(b: bool) -> String {
    if b { i18n::EXPORT_YES } else { i18n::EXPORT_NO }.to_string()
}

pub fn local_time(t: chrono::DateTime<chrono::Utc>) -> String {
    (t + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The header of a personal column: marked when the file masks it.
pub fn personal(header: &str, m: Mask) -> String {
    match m {
        Mask::Masked => format!("{header}{}", i18n::EXPORT_MASKED_SUFFIX),
        Mask::Clear => header.to_string(),
    }
}

/// Columns from the catalogue's headers and their kinds; identifier columns
/// holding personal data get the masked header.
pub fn catalogue<const N: usize>(headers: [&str; N], kinds: [ColumnKind; N], m: Mask) -> Vec<Column> {
    headers
        .iter()
        .zip(kinds)
        .map(|(h, k)| {
            let h =
                if [i18n::EXPORT_ID_NUMBER, i18n::EXPORT_PHONE].contains(h) { personal(h, m) } else { h.to_string() };
            Column::new(h, k)
        })
        .collect()
}

/// Who may export a list, and which rows they then get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    /// `Export`, over the subtrees where it is held.
    Export,
    /// `Export` and `ManageUsers` on the same grant (the account list).
    ExportAccounts,
    /// Readers of the audit trail (auditors of the whole tenant).
    ReadAudit,
}

impl Right {
    /// The caller reduced to what they may export through, or `None` when
    /// they may not export the list at all.
    fn exporter(self, p: &Principal) -> Option<Principal> {
        match self {
            Right::Export => Some(restricted(p, Capability::Export)).filter(|q| !q.grants.is_empty()),
            Right::ExportAccounts => {
                Some(restricted(p, Capability::Export)).filter(|q| !q.scope(Capability::ManageUsers).is_empty())
            }
            // Audit rows are not tied to organisations: their readers see the whole tenant.
            Right::ReadAudit => audit::may_search(p).then(|| p.clone()),
        }
    }
}

/// A list that can be exported, declared once beside its query.
pub trait Exportable: Send + Sync + 'static {
    /// The list's code: its URL segment (`/api/v1/<code>/export`) and the
    /// entity of the export's audit row.
    const CODE: &'static str;
    /// Its Chinese name, which also names the file (`住户名册-20261122.xlsx`).
    const LABEL: &'static str;
    /// The OpenAPI tag of its download.
    const TAG: &'static str;
    /// The entity recorded in the audit trail (default: the code).
    const ENTITY: &'static str = Self::CODE;
    /// Who may export it.
    const RIGHT: Right = Right::Export;
    /// The list's filters: the same query parameters as the list.
    type Filter: DeserializeOwned + Send + Sync + utoipa::IntoParams + 'static;
    /// One row as the query reads it.
    type Row: Row + 'static;
    /// The columns of the file.
    fn columns(m: Mask) -> Vec<Column>;
    /// The whole query (`SELECT … ORDER BY …`) of the rows `q` may see that
    /// match `f`; `None` when nothing can match (an empty search).
    fn query(
        db: &Db,
        q: &Principal,
        f: &Self::Filter,
    ) -> impl Future<Output = Result<Option<(String, Args)>, StoreError>> + Send;
    /// One row's cells, in the order of [`Exportable::columns`].
    fn cells(row: &Self::Row, m: Mask) -> Vec<String>;
}

/// A sink for the rows of an export (the file writer).
pub type Sink<'a> = dyn FnMut(&[String]) -> Result<(), StoreError> + Send + 'a;

/// What a run of an export needs besides the list.
pub struct Run<'a> {
    pub db: &'a Db,
    pub p: &'a Principal,
    pub actor: Actor,
    /// The list's filters as an urlencoded query (paging and format removed).
    pub query: &'a str,
    pub format: ExportFormat,
    /// The filters as shown in the audit trail, e.g. `org_id=3&q=王`.
    pub described: &'a str,
    pub mask: Mask,
    pub pace: &'a dyn Pace,
}

type Fut<'a> = Pin<Box<dyn Future<Output = Result<u64, StoreError>> + Send + 'a>>;

/// An exportable list behind a pointer: what [`lists`] holds.
pub trait ExportList: Send + Sync {
    fn code(&self) -> &'static str;
    fn label(&self) -> &'static str;
    fn tag(&self) -> &'static str;
    fn columns(&self, m: Mask) -> Vec<Column>;
    /// The query parameters of the list's filters (for the API document).
    fn params(&self) -> Vec<utoipa::openapi::path::Parameter>;
    /// Export every row the caller may export that matches the filters, in
    /// the list's order, handing each row to `sink`; then record the export
    /// (list, format, filters, row count) in the audit trail. A caller
    /// without the right is refused; nothing
    /// reaches the sink before the right and the filters are checked.
    fn run<'a>(&'a self, run: Run<'a>, sink: &'a mut Sink<'_>) -> Fut<'a>;
}

impl<E: Exportable> ExportList for E {
    fn code(&self) -> &'static str {
        E::CODE
    }
    fn label(&self) -> &'static str {
        E::LABEL
    }
    fn tag(&self) -> &'static str {
        E::TAG
    }
    fn columns(&self, m: Mask) -> Vec<Column> {
        E::columns(m)
    }
    fn params(&self) -> Vec<utoipa::openapi::path::Parameter> {
        <E::Filter as utoipa::IntoParams>::into_params(|| Some(utoipa::openapi::path::ParameterIn::Query))
    }
    fn run<'a>(&'a self, r: Run<'a>, sink: &'a mut Sink<'_>) -> Fut<'a> {
        Box::pin(async move {
            // A refusal is audited where every refusal is (the web's gate).
            let Some(q) = E::RIGHT.exporter(r.p) else { return Err(StoreError::Forbidden) };
            let f: E::Filter = serde_urlencoded::from_str(r.query).map_err(|e| {
                StoreError::from(FieldError::new("query", "query", format!("{}：{e}", i18n::EXPORT_QUERY_INVALID)))
            })?;
            let m = r.mask;
            let n = match E::query(r.db, &q, &f).await? {
                Some((sql, a)) => r.db.each_paced(&sql, a, |row: E::Row| sink(&E::cells(&row, m)), r.pace).await?,
                None => 0,
            };
            let clear = if m == Mask::Clear { "，未脱敏" } else { "" };
            let filters: String = r.described.chars().take(500).collect();
            let detail = format!(
                "{}：{}，{n} 行{clear}；筛选：{}",
                E::LABEL,
                r.format.label(),
                if filters.is_empty() { "无" } else { &filters }
            );
            audit::access(r.db, r.p.tenant_id, r.actor, "export", E::ENTITY, None, &detail).await?;
            Ok(n)
        })
    }
}

/// The caller reduced to the grants that carry `cap`: their read scope is
/// then exactly the scope in which they may export.
fn restricted(p: &Principal, cap: Capability) -> Principal {
    Principal { grants: p.grants.iter().filter(|g| g.role.can(cap)).cloned().collect(), ..p.clone() }
}

/// `SELECT … FROM … WHERE … ORDER BY …` from a list's parts.
pub fn sql((from_where, a): (String, Args), select: &str, order: &str) -> Option<(String, Args)> {
    Some((format!("{select} FROM {from_where} ORDER BY {order}"), a))
}

/// The operator at the command line, acting on the organisation with code
/// `org_code` and its subtree: a system administrator there (who may export
/// every list) who also reads the audit trail when the organisation is the
/// top of its tenant. Exports made this way are audited as the system's.
pub async fn operator(db: &Db, org_code: &str) -> Result<Principal, StoreError> {
    use redcell_domain::{FieldError, OrgPath, Role, i18n};
    let found: Vec<(i64, i64, String, String)> =
        db.all("SELECT id, tenant_id, name, path FROM orgs WHERE code = $1", crate::args![org_code]).await?;
    let (id, tenant_id, name, path) = match found.as_slice() {
        [] => return Err(FieldError::new("org", "not_found", format!("{}：{org_code}", i18n::NOT_FOUND)).into()),
        [one] => one.clone(),
        _ => return Err(FieldError::new("org", "ambiguous", format!("组织编码 {org_code} 在多个单位中使用")).into()),
    };
    let path = OrgPath::parse(&path)?;
    let grant = |role| crate::scope::Grant { org_id: id, org_name: name.clone(), path: path.clone(), role };
    Ok(Principal {
        user_id: 0,
        tenant_id,
        username: "cli".into(),
        display_name: "命令行".into(),
        grants: vec![grant(Role::Admin), grant(Role::Auditor)],
    })
}
