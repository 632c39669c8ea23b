//! Downloads of lists: parse the list's filters from a query string (the same
//! names as the list's), stream the rows from the store into an xlsx or CSV
//! writer and answer the file as an attachment with its Chinese name. Used by
//! the API (`/api/v1/<list>/export`), the pages (`/export/<list>`) and the
//! command line (`redcell export`).

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use redcell_docs::export::{Table, TableWriter};
use redcell_domain::FieldError;
use redcell_domain::export::{CsvEncoding, ExportFormat, content_disposition, file_name};
use redcell_store::audit::Actor;
use redcell_store::db::{NoPace, Pace, Wait};
use redcell_store::export::{ExportList, Exportable, Mask, Run};
use redcell_store::{Db, Principal, StoreError};
use std::sync::{Arc, Mutex};

/// The query parameters of an export besides the list's own filters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `xlsx` (default) or `csv`.
    pub format: Option<String>,
    /// For CSV: `utf-8` (default, with a byte-order mark) or `gb18030`.
    pub encoding: Option<String>,
}

/// What to export, parsed from a query string.
#[derive(Clone)]
pub struct ExportRequest {
    pub list: &'static dyn ExportList,
    /// The list's filters, urlencoded (paging, format and encoding removed).
    pub query: String,
    pub format: ExportFormat,
    pub encoding: CsvEncoding,
    /// The filters as given (for the audit trail), e.g. `org_id=3&q=王`.
    pub filters: String,
}

fn query_error(e: impl std::fmt::Display) -> StoreError {
    FieldError::new("query", "query", format!("{}：{e}", redcell_domain::i18n::EXPORT_QUERY_INVALID)).into()
}

/// Parse the format, the encoding and `list`'s filters from a query string.
/// Empty values count as absent (a blank search box filters nothing); paging
/// parameters are ignored: an export has every matching row. The filters are
/// read by the list itself when the export runs.
pub fn parse_request(list: &'static dyn ExportList, query: &str) -> Result<ExportRequest, StoreError> {
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
    let query = serde_urlencoded::to_string(&rest).map_err(query_error)?;
    Ok(ExportRequest { list, query, format, encoding, filters })
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
    write_paced(db, p, actor, req, mask, out, &NoPace).await
}

/// [`write`], with `pace` asked after every row whether to wait.
async fn write_paced<W: std::io::Write + Send>(
    db: &Db,
    p: &Principal,
    actor: Actor,
    req: &ExportRequest,
    mask: Mask,
    out: W,
    pace: &dyn Pace,
) -> Result<(W, u64), StoreError> {
    let table = Table { title: req.list.label().to_string(), columns: req.list.columns(mask) };
    let doc_err = |e: redcell_docs::xlsx::DocError| -> StoreError {
        if e.0 == redcell_domain::i18n::EXPORT_TOO_MANY_ROWS {
            FieldError::new("format", "too_many_rows", e.0).into()
        } else {
            StoreError::Internal(e.to_string())
        }
    };
    let mut w = TableWriter::new(req.format, req.encoding, &table, out).map_err(doc_err)?;
    let mut sink = |cells: &[String]| w.row(cells).map_err(doc_err);
    let run = Run { db, p, actor, query: &req.query, format: req.format, described: &req.filters, mask, pace };
    let n = req.list.run(run, &mut sink).await?;
    let out = w.finish().map_err(doc_err)?;
    Ok((out, n))
}

/// Bytes a download buffers before handing them to the response body.
const CHUNK_BYTES: usize = 64 * 1024;

/// The writer of a streamed download: the table writer writes here, and the
/// pace hands what was written to the response body.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn take(&self) -> Vec<u8> {
        self.0.lock().map(|mut b| std::mem::take(&mut *b)).unwrap_or_default()
    }
    fn len(&self) -> usize {
        self.0.lock().map(|b| b.len()).unwrap_or(0)
    }
}

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

type Chunk = Result<Vec<u8>, StoreError>;

/// After each row: once a chunk is buffered, send it and wait until the
/// body has room (a bounded channel: a slow client holds the query back).
struct ToBody {
    buf: Shared,
    tx: tokio::sync::mpsc::Sender<Chunk>,
}

impl Pace for ToBody {
    fn wait(&self) -> Option<Wait<'_>> {
        if self.buf.len() < CHUNK_BYTES {
            return None;
        }
        let bytes = self.buf.take();
        Some(Box::pin(async move {
            // The client went away: stop reading rows.
            self.tx.send(Ok(bytes)).await.map_err(|_| StoreError::Internal("download closed by the client".into()))
        }))
    }
}

/// The export as an HTTP download (masked), named e.g. `居民名册-20261122.xlsx`.
///
/// Never held in memory whole: CSV is streamed to the response body in
/// chunks as the rows are read (the status and headers go out once the
/// caller's right and the filters are checked; an error later cuts the
/// download short); xlsx is written to a temporary file (a zip is only
/// complete at its end), which is then streamed. The export is audited as
/// before, once every row has been written.
pub async fn download(
    db: &Db,
    p: &Principal,
    list: &'static dyn ExportList,
    query: &str,
) -> Result<Response, StoreError> {
    let req = parse_request(list, query)?;
    let today = crate::today();
    let name = file_name(list.label(), today, req.format);
    let fallback = format!("{}-{}.{}", list.code(), today.format("%Y%m%d"), req.format.extension());
    let headers = [
        (header::CONTENT_TYPE, req.format.content_type(req.encoding).to_string()),
        (header::CONTENT_DISPOSITION, content_disposition(&name, &fallback)),
        (header::CACHE_CONTROL, "no-store".to_string()),
    ];
    let body = match req.format {
        ExportFormat::Csv => csv_body(db.clone(), p.clone(), req).await?,
        ExportFormat::Xlsx => xlsx_body(db, p, &req).await?,
    };
    Ok((headers, body).into_response())
}

/// A CSV export as a body streamed while the rows are read: a task writes
/// the rows, the body takes them chunk by chunk through a bounded channel.
async fn csv_body(db: Db, p: Principal, req: ExportRequest) -> Result<Body, StoreError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    tokio::spawn(async move {
        let buf = Shared::default();
        let pace = ToBody { buf: buf.clone(), tx: tx.clone() };
        let result = write_paced(&db, &p, Actor::of(&p), &req, Mask::Masked, buf.clone(), &pace).await;
        let last = match result {
            Ok(_) => Ok(buf.take()),
            Err(e) => Err(e),
        };
        let _ = tx.send(last).await;
    });
    // The first chunk (or the error that came before any row: no right,
    // a bad filter) decides the status.
    let first = match rx.recv().await {
        Some(Ok(bytes)) => bytes,
        Some(Err(e)) => return Err(e),
        None => return Err(StoreError::Internal("export task ended without an answer".into())),
    };
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk.map_err(|e| std::io::Error::other(e.to_string())), rx))
    });
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(rest);
    Ok(Body::from_stream(stream))
}

/// An xlsx export written to a temporary file (removed when the download
/// ends: the file is unlinked at once), then streamed from it.
async fn xlsx_body(db: &Db, p: &Principal, req: &ExportRequest) -> Result<Body, StoreError> {
    let internal = |e: std::io::Error| StoreError::Internal(format!("export file: {e}"));
    let file = tempfile::tempfile().map_err(internal)?;
    let (mut file, _) = write(db, p, Actor::of(p), req, Mask::Masked, file).await?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0)).map_err(internal)?;
    let file = tokio::fs::File::from_std(file);
    let stream = futures_util::stream::unfold(Some(file), |file| async move {
        use tokio::io::AsyncReadExt;
        let mut file = file?;
        let mut buf = vec![0u8; CHUNK_BYTES];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok(Body::from_stream(stream))
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
pub fn link<E: Exportable>(label: &str, filters: &[(&str, String)]) -> ExportLink {
    let pairs: Vec<(&str, &str)> =
        filters.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (*k, v.as_str())).collect();
    let q = serde_urlencoded::to_string(pairs).unwrap_or_default();
    ExportLink { label: label.to_string(), href: format!("/export/{}?{q}", E::CODE) }
}

/// May the caller export anything at all (registry lists)?
pub fn may_export(p: &Principal) -> bool {
    !p.scope(redcell_domain::Capability::Export).is_empty()
}

/// May the caller export lists of an organisation at `path`?
pub fn may_export_at(p: &Principal, path: &redcell_domain::OrgPath) -> bool {
    p.scope(redcell_domain::Capability::Export).contains(path)
}
