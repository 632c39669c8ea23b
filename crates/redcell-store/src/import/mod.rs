//! Rosters in (花名册导入): read a file, validate every row with the domain's
//! validators, resolve references (to the database or to other rows of the
//! same file, in any order), upsert by ID number or code, and commit the
//! whole file in one transaction as a batch that can be undone.
//!
//! Audit: one summary row per batch (`import` / `import_undo`), not one per
//! row: a million audit snapshots would multiply the import time several
//! times. The batch row itself keeps the ids it created and the prior values
//! of the rows it changed.
//!
//! ## The interface of a kind (`import/<kind>.rs`)
//!
//! [`run`] hands the upload to the kind's
//! `run(db, p, &up, commit, &mut report, progress)`, which reads the file
//! itself, so that nothing stays in memory but what the kind chooses to keep:
//!
//! - `parse(&InRow, ..) -> Result<Parsed, Vec<RowError>>`: one row into a
//!   validated value, every error of the row named by column ([`RowErrors`]).
//! - Households and residents, the largest kind, import in **one streaming
//!   pass** ([`DataRows::next_chunk`], [`CHUNK`] rows at a time). Each chunk is
//!   parsed, resolved against what the database holds (loaded once, reduced to
//!   compact keys, e.g. ID numbers as `u64`) and against earlier rows
//!   (duplicates), counted as new, changed or unchanged (the old rows of a
//!   chunk fetched with one query). When committing, the transaction is opened
//!   before the pass ([`Db::begin`]; on SQLite that takes the write lock, so
//!   nothing read can change) and each checked chunk is written with
//!   multi-row statements ([`reserve_ids`] per chunk) while the next chunk is
//!   read. The first error stops the writing, the checking goes on to the end
//!   so that every error is reported, and the transaction is rolled back:
//!   a file with any error writes nothing. A clean file is read once.
//! - Members and contacts, whose rows may refer to rows further down the file,
//!   import in two streaming passes, neither of which keeps the rows:
//!   1. **check**: [`open`] the file, [`DataRows::start`] (header found and
//!      matched), then [`DataRows::next_chunk`]: `parse` each row, resolve its
//!      references against the database and the keys of earlier rows, find
//!      duplicates, count, list the changes. What the write pass needs goes
//!      into a small plan. A reference to a row further down the file is
//!      checked at the end of the pass from the keys collected.
//!   2. **write**, only when committing and no row has an error: one
//!      transaction, ids reserved, the plan's records inserted, then the file
//!      read again the same way and written chunk by chunk; changed rows are
//!      updated and their prior values kept in [`Undo`]; then [`write_batch`]
//!      and commit. The second reading must agree with the first (same
//!      bytes); a disagreement is an internal error and rolls everything back.
//! - Small kinds (orgs, grids) may collect their rows with [`read_each`] and
//!   write from memory in one transaction (orgs places new organisations
//!   parent first, which needs every row at hand).

mod cadres;
mod contacts;
mod grids;
mod households;
mod inservice;
pub mod jobs;
mod members;
mod mobility;
mod orgs;

use crate::db::{Args, Backend, Db, Tx};
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use crate::{args, audit};
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use redcell_docs::read::{Book, Cell, CellKind, ReadError, Rows, read_rows};
use redcell_domain::rosters::{ImportKind, columns, header_of, importable, match_headers};
use redcell_domain::{FieldError, Invalid, i18n};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

pub use redcell_docs::read::MAX_BYTES;

/// Rows read, checked and written together by the streaming kinds.
pub(crate) const CHUNK: usize = 2_000;

/// New / changed / unchanged rows and rows with errors.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    pub rows: u64,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub errors: u64,
}

/// One error: the sheet row (0 for the whole file), column header, the value
/// as given and the reason in Chinese.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RowError {
    pub row: u32,
    pub column: String,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FieldChange {
    pub column: String,
    pub before: String,
    pub after: String,
}

/// A row that changes an existing record, with the fields that change
/// (ID numbers and phones masked).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RowChange {
    pub row: u32,
    pub key: String,
    pub fields: Vec<FieldChange>,
}

/// What an import found (and, when committed, did).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub kind: String,
    pub file_name: String,
    /// `xlsx`, `csv UTF-8`, `csv GB18030`.
    pub format: String,
    pub counts: Counts,
    pub errors: Vec<RowError>,
    pub changes: Vec<RowChange>,
    /// The batch written, when committed.
    pub batch_id: Option<i64>,
}

impl Report {
    fn new(kind: ImportKind, file_name: &str) -> Report {
        Report {
            kind: kind.code().into(),
            file_name: file_name.into(),
            format: String::new(),
            counts: Counts::default(),
            errors: Vec::new(),
            changes: Vec::new(),
            batch_id: None,
        }
    }
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
    fn file_error(&mut self, reason: String) {
        self.errors.push(RowError { row: 0, column: String::new(), value: String::new(), reason });
    }
    pub fn kind(&self) -> Option<ImportKind> {
        <ImportKind as redcell_domain::CodeEnum>::from_code(&self.kind)
    }
}

/// The stage an import is in, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Reading,
    Checking,
    Writing,
}

/// Progress callback: (stage, rows done).
pub type Progress<'a> = &'a (dyn Fn(Stage, u64) + Send + Sync);

/// A file to import.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    pub kind: ImportKind,
    pub file_name: &'a str,
    pub bytes: &'a [u8],
    pub max_bytes: usize,
    /// Business date (birth and join dates may not lie after it).
    pub today: NaiveDate,
}

/// One data row as read: its sheet row number and its cells in the order of
/// the kind's columns (an absent column gives an empty cell).
pub(crate) struct InRow {
    pub row: u32,
    pub cells: Vec<Cell>,
}

impl InRow {
    pub fn cell(&self, kind: ImportKind, key: &str) -> &Cell {
        static EMPTY: Cell = Cell { text: String::new(), kind: CellKind::Text };
        columns(kind).iter().position(|c| c.key == key).and_then(|i| self.cells.get(i)).unwrap_or(&EMPTY)
    }
    pub fn text(&self, kind: ImportKind, key: &str) -> String {
        self.cell(kind, key).text.clone()
    }
    pub fn opt(&self, kind: ImportKind, key: &str) -> Option<String> {
        Some(self.text(kind, key))
    }
}

/// A cell's value as an error report shows it: ID numbers and phones masked
/// like everywhere else.
pub(crate) fn shown_value(key: &str, raw: &str) -> String {
    if key.ends_with("id_number") && raw.chars().count() >= 15 {
        redcell_domain::ident::mask_id(raw)
    } else if key == "phone" {
        redcell_domain::phone::mask_phone(raw)
    } else {
        raw.to_string()
    }
}

/// An error on the column `key` of sheet row `row`.
pub(crate) fn row_error(kind: ImportKind, row: u32, key: &str, value: &str, reason: impl Into<String>) -> RowError {
    RowError { row, column: header_of(kind, key).into(), value: shown_value(key, value), reason: reason.into() }
}

/// Errors of one row, named by column.
pub(crate) struct RowErrors<'a> {
    pub kind: ImportKind,
    pub row: &'a InRow,
    pub out: Vec<RowError>,
}

impl<'a> RowErrors<'a> {
    pub fn new(kind: ImportKind, row: &'a InRow) -> Self {
        RowErrors { kind, row, out: Vec::new() }
    }
    pub fn push(&mut self, key: &str, reason: impl Into<String>) {
        let column = header_of(self.kind, key);
        let value = shown_value(key, &self.row.cell(self.kind, key).text);
        self.out.push(RowError { row: self.row.row, column: column.into(), value, reason: reason.into() });
    }
    /// Validator errors, their field renamed to a column key by `map`.
    pub fn invalid(&mut self, e: &Invalid, map: &dyn Fn(&str) -> String) {
        for f in &e.0 {
            let key = map(&f.field);
            self.push(&key, f.message.clone());
        }
    }
    /// Cells Excel marked as errors, and ID numbers stored as numbers.
    pub fn check_cells(&mut self, id_keys: &[&str]) {
        for (c, cell) in columns(self.kind).iter().zip(&self.row.cells) {
            if cell.kind == CellKind::Error {
                self.push(c.key, i18n::IMPORT_CELL_ERROR);
            }
            if id_keys.contains(&c.key) && cell.kind == CellKind::Number && cell.text.len() >= 15 {
                self.push(c.key, i18n::IMPORT_ID_AS_NUMBER);
            }
        }
    }
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }
}

/// Open an upload for reading; a file that cannot be read is named in the
/// report (and `None` returned).
pub(crate) fn open<'a>(up: &Upload<'a>, report: &mut Report) -> Option<Book<'a>> {
    match Book::open(up.bytes, up.max_bytes) {
        Ok(book) => {
            report.format = match book.format() {
                redcell_docs::read::Format::Xlsx => "xlsx".into(),
                redcell_docs::read::Format::Csv(enc) => format!("csv {enc}"),
            };
            Some(book)
        }
        Err(e) => {
            report.file_error(e.message());
            None
        }
    }
}

/// The data rows of an opened file, read one at a time: the header row is
/// looked for among the first ten rows and its columns matched to the kind's;
/// each data row then comes with its cells in the kind's column order.
pub(crate) struct DataRows<'b, 'a> {
    rows: Rows<'b, 'a>,
    map: Vec<Option<usize>>,
}

impl<'b, 'a> DataRows<'b, 'a> {
    /// Find and match the header; problems (no header, missing or unknown
    /// columns, an unreadable file) go to the report and give `None`.
    pub fn start(book: &'b mut Book<'a>, kind: ImportKind, report: &mut Report) -> Option<DataRows<'b, 'a>> {
        let first_required = columns(kind).iter().find(|c| c.required).map(|c| c.header).unwrap_or("");
        let mut rows = match book.rows() {
            Ok(r) => r,
            Err(e) => {
                report.file_error(e.message());
                return None;
            }
        };
        let mut seen = 0u32;
        loop {
            let cells = match rows.next_row() {
                Ok(Some((_, cells))) => cells,
                Ok(None) => {
                    if !rows.any() {
                        report.file_error(redcell_docs::read::ReadError::Empty.message());
                    } else {
                        // Fewer than ten rows and none looked like the header.
                        for e in match_headers(kind, &[]).err().unwrap_or_default() {
                            report.file_error(e.message);
                        }
                    }
                    return None;
                }
                Err(e) => {
                    report.file_error(e.message());
                    return None;
                }
            };
            seen += 1;
            let texts: Vec<String> = cells.into_iter().map(|c| c.text).collect();
            let looks_like = texts.iter().any(|t| t.split_whitespace().collect::<String>() == first_required);
            if looks_like || seen >= 10 {
                return match match_headers(kind, &texts) {
                    Ok(map) => Some(DataRows { rows, map }),
                    Err(errs) => {
                        for e in errs {
                            report.file_error(e.message);
                        }
                        None
                    }
                };
            }
        }
    }

    /// The next data row, `None` at the end of the sheet.
    pub fn next(&mut self) -> Result<Option<InRow>, ReadError> {
        let Some((n, mut cells)) = self.rows.next_row()? else {
            return Ok(None);
        };
        let picked = self
            .map
            .iter()
            .map(|i| match i {
                Some(i) if *i < cells.len() => std::mem::replace(&mut cells[*i], Cell::text("")),
                _ => Cell::text(""),
            })
            .collect();
        Ok(Some(InRow { row: n, cells: picked }))
    }

    /// Up to `n` data rows into `out` (cleared first); an empty `out` means
    /// the end of the sheet.
    pub fn next_chunk(&mut self, n: usize, out: &mut Vec<InRow>) -> Result<(), ReadError> {
        out.clear();
        while out.len() < n {
            match self.next()? {
                Some(r) => out.push(r),
                None => break,
            }
        }
        Ok(())
    }
}

/// Read the file row by row: `on_row` gets each data row as soon as it is
/// read. Returns `None` when the file cannot be read or has no data rows (the
/// report says why); else sets the report's row count.
pub(crate) fn read_each(
    up: &Upload<'_>,
    report: &mut Report,
    progress: Progress<'_>,
    on_row: &mut dyn FnMut(InRow),
) -> Option<()> {
    let mut book = open(up, report)?;
    let mut rows = DataRows::start(&mut book, up.kind, report)?;
    let mut count = 0u64;
    loop {
        match rows.next() {
            Ok(Some(r)) => {
                on_row(r);
                count += 1;
                if count.is_multiple_of(10_000) {
                    progress(Stage::Reading, count);
                }
            }
            Ok(None) => break,
            Err(e) => {
                report.file_error(e.message());
                return None;
            }
        }
    }
    if count == 0 {
        report.file_error(i18n::IMPORT_NO_ROWS.into());
        return None;
    }
    report.counts.rows = count;
    Some(())
}

/// Check a file and, when `commit` and it has no errors, write it as one batch.
/// Nothing is written when any row has an error.
pub async fn run(
    db: &Db,
    p: &Principal,
    up: Upload<'_>,
    commit: bool,
    progress: Progress<'_>,
) -> Result<Report, StoreError> {
    let mut report = Report::new(up.kind, up.file_name);
    if !importable(up.kind) {
        report.file_error(i18n::IMPORT_NOT_SUPPORTED.into());
        return Ok(report);
    }
    if p.scope(Capability::EditRegistry).is_empty() {
        return Err(StoreError::Forbidden);
    }
    match up.kind {
        ImportKind::Households => households::run(db, p, &up, commit, &mut report, progress).await?,
        ImportKind::Members => members::run(db, p, &up, commit, &mut report, progress).await?,
        ImportKind::Cadres => cadres::run(db, p, &up, commit, &mut report, progress).await?,
        ImportKind::Contacts => contacts::run(db, p, &up, commit, &mut report, progress).await?,
        ImportKind::Grids => grids::run(db, p, &up, commit, &mut report, progress).await?,
        ImportKind::Orgs => orgs::run(db, p, &up, commit, &mut report, progress).await?,
        ImportKind::Inservice => inservice::run(db, p, &up, commit, &mut report, progress).await?,
        ImportKind::Mobility => mobility::run(db, p, &up, commit, &mut report, progress).await?,
    }
    report.errors.sort_by_key(|e| e.row);
    report.counts.errors = report.errors.iter().map(|e| e.row).collect::<HashSet<_>>().len() as u64;
    Ok(report)
}

/// The error sheet of a report: the uploaded file's rows with an error column.
pub fn error_sheet(up: &Upload<'_>, report: &Report) -> Result<Vec<u8>, StoreError> {
    let internal = |e: redcell_docs::xlsx::DocError| StoreError::Internal(e.to_string());
    let mut by_row: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for e in &report.errors {
        let text = if e.column.is_empty() { e.reason.clone() } else { format!("{}：{}", e.column, e.reason) };
        by_row.entry(e.row).or_default().push(text);
    }
    let mut sheet = redcell_docs::rosters::ErrorSheet::new(up.kind).map_err(internal)?;
    let mut header_done = false;
    let first_required = columns(up.kind).iter().find(|c| c.required).map(|c| c.header).unwrap_or("");
    let mut failure: Option<redcell_docs::xlsx::DocError> = None;
    let file_errors = by_row.get(&0).map(|v| v.join("；")).unwrap_or_default();
    let r = read_rows(up.bytes, up.max_bytes, &mut |n, cells| {
        let texts: Vec<String> = cells.into_iter().map(|c| c.text).collect();
        let res = if !header_done && texts.iter().any(|t| t.split_whitespace().collect::<String>() == first_required) {
            header_done = true;
            sheet.header(n, &texts)
        } else if header_done {
            sheet.row(n, &texts, &by_row.get(&n).map(|v| v.join("；")).unwrap_or_default())
        } else {
            Ok(())
        };
        if let Err(e) = res {
            failure = Some(e);
            return false;
        }
        true
    });
    if let Err(e) = r {
        return Err(StoreError::Invalid(FieldError::new("file", "file", e.message()).into()));
    }
    if let Some(e) = failure {
        return Err(internal(e));
    }
    if !header_done {
        sheet
            .header(1, &columns(up.kind).iter().map(|c| c.header.to_string()).collect::<Vec<_>>())
            .map_err(internal)?;
        sheet.row(2, &[], &file_errors).map_err(internal)?;
    }
    sheet.finish().map_err(internal)
}

// ---------------------------------------------------------------------------
// Shared lookups and writing helpers.

/// The organisations the caller may edit under (ids).
pub(crate) async fn editable_orgs(db: &Db, p: &Principal) -> Result<HashSet<i64>, StoreError> {
    let mut a = Args::new();
    let c = p.scope(Capability::EditRegistry).orgs("o", &mut a);
    let ids: Vec<(i64,)> = db.all(&format!("SELECT o.id FROM orgs o WHERE {c}"), a).await?;
    Ok(ids.into_iter().map(|(i,)| i).collect())
}

/// A timestamp every backend stores exactly (microseconds).
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub(crate) use crate::db::bulk::{Reserver, raise_mark, reserve_ids};

/// The prior values of a changed row, column by column.
pub(crate) type Prior = BTreeMap<String, serde_json::Value>;

/// A batch row as read for undo: when, created, changed, undone.
type BatchRow = (DateTime<Utc>, String, String, Option<DateTime<Utc>>);

/// What a batch created (ids per table) and the prior rows it changed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Undo {
    pub created: BTreeMap<String, Vec<i64>>,
    /// Prior values per table: `[id, {column: value}]`, restored on undo.
    pub changed: BTreeMap<String, Vec<(i64, Prior)>>,
}

/// Record the batch and its summary audit row; returns the batch id.
pub(crate) async fn write_batch(
    tx: &mut Tx,
    p: &Principal,
    up: &Upload<'_>,
    at: DateTime<Utc>,
    counts: &Counts,
    undo: &Undo,
) -> Result<i64, StoreError> {
    let created = serde_json::to_string(&undo.created).map_err(|e| StoreError::Internal(e.to_string()))?;
    let changed = serde_json::to_string(&undo.changed).map_err(|e| StoreError::Internal(e.to_string()))?;
    let org_id = batch_org(tx, p.tenant_id, undo).await?;
    let id = tx
        .int(
            "INSERT INTO import_batches (tenant_id, org_id, user_id, at, kind, file_name, rows_total, created_count, changed_count, unchanged_count, created_json, changed_json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            args![p.tenant_id, org_id, p.user_id, at, up.kind.code(), up.file_name, counts.rows as i64, counts.new as i64,
                counts.changed as i64, counts.unchanged as i64, created, changed],
        )
        .await?;
    let detail = format!(
        "{}「{}」：{} 行，新增 {}，修改 {}，未变 {}",
        up.kind.label(),
        up.file_name,
        counts.rows,
        counts.new,
        counts.changed,
        counts.unchanged
    );
    audit::record(tx, p.tenant_id, Some(p.user_id), "import", "import_batch", Some(id), &detail).await?;
    Ok(id)
}

/// The organisation a batch belongs to: the lowest one whose subtree holds
/// every row it created or changed (before and after the change), so that
/// whoever sees the batch may see all of it. The tenant's root when the
/// batch touched nothing.
async fn batch_org(tx: &mut Tx, tenant_id: i64, undo: &Undo) -> Result<i64, StoreError> {
    let mut orgs: HashSet<i64> = HashSet::new();
    let mut touched: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (table, ids) in &undo.created {
        touched.entry(table.as_str()).or_default().extend(ids);
    }
    for (table, rows) in &undo.changed {
        touched.entry(table.as_str()).or_default().extend(rows.iter().map(|(id, _)| *id));
        orgs.extend(rows.iter().filter_map(|(_, prior)| prior.get("org_id").and_then(serde_json::Value::as_i64)));
    }
    for (table, ids) in &touched {
        if !UNDO_ORDER.contains(table) {
            return Err(StoreError::Internal(format!("unknown table in batch: {table}")));
        }
        // A new organisation belongs to its parent's batch: the parent is
        // where it was added.
        let org_col = if *table == "orgs" { "COALESCE(parent_id, id)" } else { "org_id" };
        for chunk in ids.chunks(500) {
            let rows: Vec<(i64,)> = tx
                .all(
                    &format!(
                        "SELECT DISTINCT {org_col} FROM {table} WHERE tenant_id = $1 AND id IN ({})",
                        id_list(chunk)
                    ),
                    args![tenant_id],
                )
                .await?;
            orgs.extend(rows.into_iter().map(|(o,)| o));
        }
    }
    if orgs.is_empty() {
        return Ok(tenant_id);
    }
    let mut paths: Vec<Vec<i64>> = Vec::new();
    let list: Vec<i64> = orgs.into_iter().collect();
    for chunk in list.chunks(500) {
        let rows: Vec<(String,)> = tx
            .all(
                &format!("SELECT path FROM orgs WHERE tenant_id = $1 AND id IN ({})", id_list(chunk)),
                args![tenant_id],
            )
            .await?;
        for (p,) in rows {
            paths.push(p.split('/').filter_map(|x| x.parse().ok()).collect());
        }
    }
    Ok(common_ancestor(&paths).unwrap_or(tenant_id))
}

/// The deepest organisation on every one of `paths` (each root first).
fn common_ancestor(paths: &[Vec<i64>]) -> Option<i64> {
    let first = paths.first()?;
    let mut depth = first.len();
    for p in &paths[1..] {
        depth = depth.min(first.iter().zip(p).take_while(|(a, b)| a == b).count());
    }
    depth.checked_sub(1).map(|d| first[d])
}

/// `id IN (...)` for integer ids, written as literals (safe: integers).
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// One batch as listed.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Batch {
    pub id: i64,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub file_name: String,
    pub rows_total: i64,
    pub created_count: i64,
    pub changed_count: i64,
    pub unchanged_count: i64,
    pub undone_at: Option<DateTime<Utc>>,
}

impl Batch {
    pub fn kind_label(&self) -> &'static str {
        <ImportKind as redcell_domain::CodeEnum>::from_code(&self.kind).map(ImportKind::label).unwrap_or("")
    }
    pub fn at_local(&self) -> String {
        (self.at + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string()
    }
}

/// The batches inside the caller's editing scope (a batch belongs to the
/// lowest organisation holding all it touched), newest first.
pub async fn batches(db: &Db, p: &Principal, limit: i64) -> Result<Vec<Batch>, StoreError> {
    let access = p.access(Capability::EditRegistry)?;
    let mut a = Args::new();
    let inside = access.rows("b", &mut a);
    let lim = a.push(limit);
    db.all(
        &format!(
            "SELECT b.id, b.user_id, u.username, b.at, b.kind, b.file_name, b.rows_total, b.created_count, b.changed_count, \
             b.unchanged_count, b.undone_at FROM import_batches b LEFT JOIN users u ON u.id = b.user_id \
             WHERE {inside} ORDER BY b.id DESC LIMIT {lim}"
        ),
        a,
    )
    .await
}

/// Tables in the order their created rows are removed (children first).
const UNDO_ORDER: &[&str] = &[
    "mobility_contacts",
    "mobility_cards",
    "inservice_reports",
    "contacts",
    "cadres",
    "members",
    "residents",
    "households",
    "buildings",
    "grids",
    "orgs",
];

fn undo_refused(msg: &str) -> StoreError {
    StoreError::Invalid(FieldError::new("batch", "undo", msg).into())
}

/// Undo a batch: remove the rows it created and restore the rows it changed,
/// in one transaction. Refused when any of those rows changed after the
/// import, or something created later depends on them; refused when the
/// caller may not edit every organisation involved.
pub async fn undo(db: &Db, p: &Principal, batch_id: i64) -> Result<(), StoreError> {
    // A batch outside the caller's scope is not there for them.
    p.access(Capability::EditRegistry)?.target(&mut db.conn(), redcell_domain::BatchId::new(batch_id)).await?;
    let editable = editable_orgs(db, p).await?;
    let mut tx = db.begin().await?;
    let row: Option<BatchRow> = tx
        .opt(
            "SELECT at, created_json, changed_json, undone_at FROM import_batches WHERE tenant_id = $1 AND id = $2",
            args![p.tenant_id, batch_id],
        )
        .await?;
    let Some((at, created, changed, undone)) = row else {
        return Err(StoreError::NotFound);
    };
    if undone.is_some() {
        return Err(undo_refused(i18n::IMPORT_UNDONE_ALREADY));
    }
    let undo = Undo {
        created: serde_json::from_str(&created).map_err(|e| StoreError::Internal(e.to_string()))?,
        changed: serde_json::from_str(&changed).map_err(|e| StoreError::Internal(e.to_string()))?,
    };
    let t = p.tenant_id;
    // Rows are put back where they were: every prior organisation too must be
    // in the caller's scope.
    for rows in undo.changed.values() {
        for (_, prior) in rows {
            let org = prior.get("org_id").and_then(serde_json::Value::as_i64);
            if org.is_some_and(|o| !editable.contains(&o)) {
                return Err(StoreError::Forbidden);
            }
        }
    }
    // Every row touched: still as the import left it, and inside the caller's scope.
    let mut touched: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (table, ids) in &undo.created {
        touched.entry(table.as_str()).or_default().extend(ids);
    }
    for (table, rows) in &undo.changed {
        touched.entry(table.as_str()).or_default().extend(rows.iter().map(|(id, _)| *id));
    }
    for (table, ids) in &touched {
        if !UNDO_ORDER.contains(table) {
            return Err(StoreError::Internal(format!("unknown table in batch: {table}")));
        }
        let org_col = if *table == "orgs" { "id" } else { "org_id" };
        for chunk in ids.chunks(500) {
            let list = id_list(chunk);
            // Contacts are events: one ended since the import was changed later.
            let later = if *table == "contacts" {
                let sql = format!(
                    "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND id IN ({list}) AND until IS NOT NULL"
                );
                tx.int(&sql, args![t]).await?
            } else {
                // A contact kept is an event, never changed: its time is when it was recorded.
                let stamp = if *table == "mobility_contacts" { "created_at" } else { "updated_at" };
                let sql =
                    format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1 AND id IN ({list}) AND {stamp} <> $2");
                tx.int(&sql, args![t, at]).await?
            };
            if later > 0 {
                return Err(undo_refused(i18n::IMPORT_UNDO_CHANGED_LATER));
            }
            let orgs: Vec<(i64,)> = tx
                .all(
                    &format!("SELECT DISTINCT {org_col} FROM {table} WHERE tenant_id = $1 AND id IN ({list})"),
                    args![t],
                )
                .await?;
            if orgs.iter().any(|(o,)| !editable.contains(o)) {
                return Err(StoreError::Forbidden);
            }
        }
    }
    // Contacts, exemptions and posts point at households, members and cadres
    // without a foreign key (contacts created by this batch go with it).
    let own_contacts = undo.created.get("contacts").map(|c| id_list(c)).filter(|l| !l.is_empty());
    let not_own = own_contacts.map(|l| format!(" AND id NOT IN ({l})")).unwrap_or_default();
    let own_of = |table: &str| {
        undo.created.get(table).map(|c| id_list(c)).filter(|l| !l.is_empty()).map(|l| format!(" AND id NOT IN ({l})"))
    };
    let (not_own_kept, not_own_cards) =
        (own_of("mobility_contacts").unwrap_or_default(), own_of("mobility_cards").unwrap_or_default());
    let dependents: &[(&str, &[&str])] = &[
        (
            "households",
            &["SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND to_kind = 'household' AND to_id IN ({ids}){own}"],
        ),
        (
            "members",
            &[
                "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND ((from_kind = 'member' AND from_id IN ({ids})) OR (to_kind = 'member' AND to_id IN ({ids}))){own}",
                "SELECT COUNT(*) FROM exemptions WHERE tenant_id = $1 AND member_id IN ({ids})",
                "SELECT COUNT(*) FROM demo_posts WHERE tenant_id = $1 AND member_id IN ({ids})",
                "SELECT COUNT(*) FROM duty_visits WHERE tenant_id = $1 AND ((visitor_kind = 'member' AND visitor_id IN ({ids})) OR (target_kind = 'member' AND target_id IN ({ids})))",
                "SELECT COUNT(*) FROM duty_people WHERE tenant_id = $1 AND person_kind = 'member' AND person_id IN ({ids})",
                "SELECT COUNT(*) FROM plan_proposal_rows WHERE tenant_id = $1 AND (old_member_id IN ({ids}) OR new_member_id IN ({ids}))",
                // What the member did since: volunteering, reports, hardship support.
                "SELECT COUNT(*) FROM inservice_reports WHERE tenant_id = $1 AND member_id IN ({ids})",
                "SELECT COUNT(*) FROM service_claims WHERE tenant_id = $1 AND member_id IN ({ids})",
                "SELECT COUNT(*) FROM service_hours WHERE tenant_id = $1 AND member_id IN ({ids})",
                "SELECT COUNT(*) FROM service_team_members WHERE tenant_id = $1 AND member_id IN ({ids})",
                "SELECT COUNT(*) FROM hardship_cases WHERE tenant_id = $1 AND member_id IN ({ids})",
                // Where the member went: cards (not this batch's), transfers, proposals.
                "SELECT COUNT(*) FROM mobility_cards WHERE tenant_id = $1 AND member_id IN ({ids}){own_cards}",
                "SELECT COUNT(*) FROM org_transfers WHERE tenant_id = $1 AND member_id IN ({ids})",
                "SELECT COUNT(*) FROM membership_proposals WHERE tenant_id = $1 AND member_id IN ({ids})",
            ],
        ),
        (
            "mobility_cards",
            &[
                "SELECT COUNT(*) FROM mobility_contacts WHERE tenant_id = $1 AND card_id IN ({ids}){own_kept}",
                "SELECT COUNT(*) FROM mobility_cards WHERE tenant_id = $1 AND paired_id IN ({ids}){own_cards}",
                "SELECT COUNT(*) FROM mobility_refusals WHERE tenant_id = $1 AND card_id IN ({ids})",
                "SELECT COUNT(*) FROM membership_proposals WHERE tenant_id = $1 AND card_id IN ({ids})",
            ],
        ),
        (
            "cadres",
            &[
                "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND from_kind = 'cadre' AND from_id IN ({ids}){own}",
                "SELECT COUNT(*) FROM duty_visits WHERE tenant_id = $1 AND visitor_kind = 'cadre' AND visitor_id IN ({ids})",
                "SELECT COUNT(*) FROM duty_people WHERE tenant_id = $1 AND person_kind = 'cadre' AND person_id IN ({ids})",
                "SELECT COUNT(*) FROM duty_accounts WHERE tenant_id = $1 AND cadre_id IN ({ids})",
            ],
        ),
    ];
    for (table, queries) in dependents {
        let Some(ids) = undo.created.get(*table) else { continue };
        for chunk in ids.chunks(500) {
            for q in *queries {
                let sql = q
                    .replace("{ids}", &id_list(chunk))
                    .replace("{own}", &not_own)
                    .replace("{own_kept}", &not_own_kept)
                    .replace("{own_cards}", &not_own_cards);
                if tx.int(&sql, args![t]).await? > 0 {
                    return Err(undo_refused(i18n::IMPORT_UNDO_DEPENDS));
                }
            }
        }
    }
    for table in UNDO_ORDER {
        let Some(ids) = undo.created.get(*table) else { continue };
        let mut ids = ids.clone();
        // Children (higher ids) before their parents.
        ids.sort_unstable_by(|a, b| b.cmp(a));
        if tx.backend() == Backend::Sqlite
            && let Some(top) = ids.first()
        {
            // Freed ids are never handed out again (see `reserve_ids`).
            raise_mark(&mut tx, table, *top).await?;
        }
        for chunk in ids.chunks(500) {
            let r = tx
                .exec(&format!("DELETE FROM {table} WHERE tenant_id = $1 AND id IN ({})", id_list(chunk)), args![t])
                .await;
            match r {
                Err(e) if e.is_fk_violation() => return Err(undo_refused(i18n::IMPORT_UNDO_DEPENDS)),
                r => {
                    r?;
                }
            }
        }
    }
    for (table, rows) in &undo.changed {
        for (id, prior) in rows {
            let mut a = Args::new();
            let sets: Vec<String> = prior
                .iter()
                .filter(|(c, _)| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
                .map(|(c, v)| format!("{c} = {}", a.push(json_arg(c, v))))
                .collect();
            let tp = a.push(t);
            let ip = a.push(*id);
            tx.exec(&format!("UPDATE {table} SET {} WHERE tenant_id = {tp} AND id = {ip}", sets.join(", ")), a).await?;
        }
    }
    let n = tx
        .exec(
            "UPDATE import_batches SET undone_at = $1, undone_by = $2 WHERE tenant_id = $3 AND id = $4 AND undone_at IS NULL",
            args![Utc::now(), p.user_id, t, batch_id],
        )
        .await?;
    if n != 1 {
        return Err(undo_refused(i18n::IMPORT_UNDONE_ALREADY));
    }
    audit::record(&mut tx, t, Some(p.user_id), "import_undo", "import_batch", Some(batch_id), "").await?;
    tx.commit().await
}

/// A prior value back to a bound argument (dates and timestamps by column name).
fn json_arg(col: &str, v: &serde_json::Value) -> crate::db::Arg {
    use crate::db::Arg;
    match v {
        serde_json::Value::Null => match col {
            "birth_date" | "joined_on" | "reported_on" | "expected_until" => Arg::OptDate(None),
            "household_id" | "parent_id" | "member_id" | "training_year" | "training_days" => Arg::OptI64(None),
            "lat" | "lon" => Arg::OptF64(None),
            _ => Arg::OptText(None),
        },
        serde_json::Value::Bool(b) => Arg::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Arg::I64(i),
            None => Arg::F64(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => match col {
            "updated_at" => s.parse::<DateTime<Utc>>().map(Arg::Ts).unwrap_or(Arg::Text(s.clone())),
            "birth_date" | "joined_on" | "reported_on" | "started_on" | "expected_until" => {
                s.parse::<NaiveDate>().map(Arg::Date).unwrap_or(Arg::Text(s.clone()))
            }
            _ => Arg::Text(s.clone()),
        },
        other => Arg::Text(other.to_string()),
    }
}

/// Mask for change lists shown on screens.
pub(crate) fn show(col: &str, v: &str) -> String {
    match col {
        "id_number" => redcell_domain::ident::mask_id(v),
        "phone" => redcell_domain::phone::mask_phone(v),
        _ => v.to_string(),
    }
}

/// The caller of a command-line import: the operator, acting as a system
/// administrator on the organisation `code` (default: the first top-level
/// organisation) and its subtree. Recorded as user 0 in batches and audit.
pub async fn operator(db: &Db, code: Option<&str>) -> Result<Principal, StoreError> {
    let row: Option<(i64, i64, String, String)> = match code {
        Some(c) => {
            db.opt("SELECT id, tenant_id, path, name FROM orgs WHERE code = $1 ORDER BY id LIMIT 1", args![c]).await?
        }
        None => {
            db.opt(
                "SELECT id, tenant_id, path, name FROM orgs WHERE parent_id IS NULL ORDER BY id LIMIT 1",
                Args::new(),
            )
            .await?
        }
    };
    let Some((id, tenant_id, path, name)) = row else {
        return Err(FieldError::new("org", "not_found", i18n::NOT_FOUND).into());
    };
    Ok(Principal {
        user_id: 0,
        tenant_id,
        username: "cli".into(),
        display_name: "命令行".into(),
        grants: vec![crate::scope::Grant {
            org_id: id,
            org_name: name,
            path: redcell_domain::OrgPath::parse(&path).map_err(StoreError::from)?,
            role: redcell_domain::Role::Admin,
        }],
    })
}

// ---------------------------------------------------------------------------
// Batches as the command line lists them.

impl Batch {
    /// When the batch was undone, in UTC+8 like [`Batch::at_local`].
    pub fn undone_local(&self) -> Option<String> {
        self.undone_at.map(|t| (t + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string())
    }
}
