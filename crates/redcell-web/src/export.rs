//! Downloads of lists: parse the list's filters from a query string (the same
//! names as the list's), stream the rows from the store into an xlsx or CSV
//! writer and answer the file as an attachment with its Chinese name. Used by
//! the API (`/api/v1/<list>/export`), the pages (`/export/<list>`) and the
//! command line (`redcell export`).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use redcell_docs::export::{Table, TableWriter};
use redcell_domain::FieldError;
use redcell_domain::export::{CsvEncoding, ExportFormat, ExportKind, content_disposition, file_name};
use redcell_store::audit::Actor;
use redcell_store::export::{self as store, ExportFilter, Mask};
use redcell_store::{Db, Principal, StoreError};
use serde::de::DeserializeOwned;

/// The query parameters of an export besides the list's own filters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct ExportParams {
    /// `xlsx` (default) or `csv`.
    pub format: Option<String>,
    /// For CSV: `utf-8` (default, with a byte-order mark) or `gb18030`.
    pub encoding: Option<String>,
}

/// What to export, parsed from a query string.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub filter: ExportFilter,
    pub format: ExportFormat,
    pub encoding: CsvEncoding,
    /// The filters as given (for the audit trail), e.g. `org_id=3&q=王`.
    pub filters: String,
}

fn query_error(e: impl std::fmt::Display) -> StoreError {
    FieldError::new("query", "query", format!("{}：{e}", redcell_domain::i18n::EXPORT_QUERY_INVALID)).into()
}

/// Parse `kind`'s filters, the format and the encoding from a query string.
/// Empty values count as absent (a blank search box filters nothing); paging
/// parameters are ignored: an export has every matching row.
pub fn parse_request(kind: ExportKind, query: &str) -> Result<ExportRequest, StoreError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(query_error)?;
    let pairs: Vec<(String, String)> =
        pairs.into_iter().filter(|(k, v)| !v.trim().is_empty() && !matches!(k.as_str(), "page" | "per_page")).collect();
    let get = |k: &str| pairs.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    let format = match get("format") {
        Some(f) => ExportFormat::parse("format", &f)?,
        None => ExportFormat::Xlsx,
    };
    let encoding = match get("encoding") {
        Some(e) => CsvEncoding::parse("encoding", &e.to_ascii_lowercase())?,
        None => CsvEncoding::Utf8,
    };
    let rest: Vec<(String, String)> =
        pairs.into_iter().filter(|(k, _)| !matches!(k.as_str(), "format" | "encoding")).collect();
    let filters = rest.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let encoded = serde_urlencoded::to_string(&rest).map_err(query_error)?;
    fn de<T: DeserializeOwned>(q: &str) -> Result<T, StoreError> {
        serde_urlencoded::from_str(q).map_err(query_error)
    }
    #[derive(serde::Deserialize)]
    struct Text {
        q: Option<String>,
    }
    let filter = match kind {
        ExportKind::Orgs => ExportFilter::Orgs(de(&encoded)?),
        ExportKind::Grids => ExportFilter::Grids(de(&encoded)?),
        ExportKind::Buildings => ExportFilter::Buildings(de(&encoded)?),
        ExportKind::Households => ExportFilter::Households(de(&encoded)?),
        ExportKind::Residents => ExportFilter::Residents(de(&encoded)?),
        ExportKind::Members => ExportFilter::Members(de(&encoded)?),
        ExportKind::Cadres => ExportFilter::Cadres(de(&encoded)?),
        ExportKind::Units => ExportFilter::Units(de(&encoded)?),
        ExportKind::Search => ExportFilter::Search(de::<Text>(&encoded)?.q.unwrap_or_default()),
        ExportKind::Users => ExportFilter::Users(de::<Text>(&encoded)?.q),
        ExportKind::Audit => ExportFilter::Audit(de(&encoded)?),
        ExportKind::Contacts => ExportFilter::Contacts(de(&encoded)?),
    };
    Ok(ExportRequest { filter, format, encoding, filters })
}

/// Write the export to `out`; answers `out` and the number of rows.
pub async fn write<W: std::io::Write + Send>(
    db: &Db,
    p: &Principal,
    actor: Actor,
    req: &ExportRequest,
    mask: Mask,
    out: W,
) -> Result<(W, u64), StoreError> {
    let kind = req.filter.kind();
    let table = Table { title: kind.label().to_string(), columns: store::columns(kind, mask) };
    let doc_err = |e: redcell_docs::xlsx::DocError| -> StoreError {
        if e.0 == redcell_domain::i18n::EXPORT_TOO_MANY_ROWS {
            FieldError::new("format", "too_many_rows", e.0).into()
        } else {
            StoreError::Internal(e.to_string())
        }
    };
    let mut w = TableWriter::new(req.format, req.encoding, &table, out).map_err(doc_err)?;
    let mut sink = |cells: &[String]| w.row(cells).map_err(doc_err);
    let n = store::run(db, p, actor, &req.filter, req.format, &req.filters, mask, &mut sink).await?;
    let out = w.finish().map_err(doc_err)?;
    Ok((out, n))
}

/// The export as an HTTP download (masked), named e.g. `居民名册-20261122.xlsx`.
pub async fn download(db: &Db, p: &Principal, kind: ExportKind, query: &str) -> Result<Response, StoreError> {
    let req = parse_request(kind, query)?;
    let (bytes, _) = write(db, p, Actor::of(p), &req, Mask::Masked, Vec::new()).await?;
    let today = crate::today();
    let name = file_name(kind, today, req.format);
    let fallback = format!("{}-{}.{}", kind.code(), today.format("%Y%m%d"), req.format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, req.format.content_type(req.encoding).to_string()),
            (header::CONTENT_DISPOSITION, content_disposition(&name, &fallback)),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// A link to download a list: its label and the URL without the format.
#[derive(Debug, Clone)]
pub struct ExportLink {
    pub label: String,
    /// `/export/<kind>?<filters>` (add `&format=...`).
    pub href: String,
}

impl ExportLink {
    pub fn xlsx(&self) -> String {
        format!("{}&format=xlsx", self.href)
    }
    pub fn csv(&self) -> String {
        format!("{}&format=csv", self.href)
    }
}

/// The download link of a list with these filters, for a page.
pub fn link(kind: ExportKind, label: &str, filters: &[(&str, String)]) -> ExportLink {
    let pairs: Vec<(&str, &str)> =
        filters.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (*k, v.as_str())).collect();
    let q = serde_urlencoded::to_string(pairs).unwrap_or_default();
    ExportLink { label: label.to_string(), href: format!("/export/{}?{q}", kind.code()) }
}

/// May the caller export anything at all (registry lists)?
pub fn may_export(p: &Principal) -> bool {
    !p.scope(redcell_domain::Capability::Export).is_empty()
}

/// May the caller export lists of an organisation at `path`?
pub fn may_export_at(p: &Principal, path: &redcell_domain::OrgPath) -> bool {
    p.scope(redcell_domain::Capability::Export).contains(path)
}
