//! Reading rosters people send: `.xlsx` (calamine, cells streamed from the
//! sheet XML, never a whole range in memory) and `.csv` (UTF-8 with or without
//! BOM, else GB18030/GBK as Chinese Excel writes it).
//!
//! The reader refuses, with a Chinese message, what it cannot read faithfully:
//! a file over the size limit, an old `.xls` renamed, something that is not a
//! spreadsheet, a truncated or corrupt zip, an empty sheet, merged cells.
//!
//! Cells come as text. Choices where a spreadsheet is ambiguous:
//! - formulas: the value Excel cached when it last saved is taken (calamine's
//!   cell reader returns it); a formula that failed (`#N/A`, ...) comes as a
//!   [`CellKind::Error`] cell, which the importer refuses with the cell named;
//! - numbers: integral values are written without a decimal point; the cell is
//!   marked [`CellKind::Number`] so that the importer can say an ID number lost
//!   its last digits when Excel stored it as a number;
//! - dates: a date-formatted cell becomes `YYYY-MM-DD`.

use calamine::{DataRef, Reader, Xlsx};
use redcell_domain::i18n;
use std::io::Cursor;

/// The default upload limit.
pub const MAX_BYTES: usize = 50 * 1024 * 1024;

/// How much an xlsx may unpack to, per byte of the file: spreadsheets
/// compress about 5 to 20 times; far more means a crafted archive.
pub const MAX_EXPANSION_RATIO: u64 = 100;
/// Unpacked bytes every file may reach whatever its size (small files
/// carry fixed parts: styles, themes).
pub const MIN_EXPANSION: u64 = 32 * 1024 * 1024;
/// Unpacked bytes no file may pass.
pub const MAX_EXPANDED: u64 = 1024 * 1024 * 1024;

/// The unpacked size an xlsx of `size` bytes may reach.
pub fn expansion_limit(size: usize) -> u64 {
    (size as u64).saturating_mul(MAX_EXPANSION_RATIO).clamp(MIN_EXPANSION, MAX_EXPANDED)
}

/// What kind of value a cell held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Text,
    Number,
    Date,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    pub kind: CellKind,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell { text: s.into(), kind: CellKind::Text }
    }
}

/// The file's format, as detected from its bytes (not its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    /// CSV and the encoding it was read with.
    Csv(&'static str),
}

/// Why a file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    TooLarge {
        size: usize,
        max: usize,
    },
    OldXls,
    NotSpreadsheet,
    Corrupt(String),
    /// The archive unpacks to more than [`expansion_limit`] allows.
    Expands {
        limit: u64,
    },
    Encoding,
    Empty,
    /// Merged cells, e.g. `A1:C1`.
    Merged(Vec<String>),
}

impl ReadError {
    /// The message for people (Simplified Chinese).
    pub fn message(&self) -> String {
        match self {
            ReadError::TooLarge { size, max } => format!(
                "{}：{:.1} MB，上限 {} MB；请拆分成几个文件",
                i18n::IMPORT_TOO_LARGE,
                *size as f64 / 1_048_576.0,
                max / 1_048_576
            ),
            ReadError::OldXls => i18n::IMPORT_OLD_XLS.into(),
            ReadError::NotSpreadsheet => i18n::IMPORT_NOT_SHEET.into(),
            ReadError::Corrupt(_) => i18n::IMPORT_CORRUPT.into(),
            ReadError::Expands { limit } => {
                format!("{}（上限 {} MB）", i18n::IMPORT_EXPANDS, limit / 1_048_576)
            }
            ReadError::Encoding => i18n::IMPORT_ENCODING.into(),
            ReadError::Empty => i18n::IMPORT_EMPTY.into(),
            ReadError::Merged(r) => {
                let shown: Vec<&str> = r.iter().take(10).map(String::as_str).collect();
                format!("{}：{}{}", i18n::IMPORT_MERGED, shown.join("、"), if r.len() > 10 { "……" } else { "" })
            }
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ReadError {}

/// Detect the format from the first bytes.
pub fn sniff(bytes: &[u8]) -> Result<Format, ReadError> {
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(ReadError::OldXls);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Ok(Format::Xlsx);
    }
    // A few binary formats people upload by mistake.
    const BINARY: &[&[u8]] = &[b"%PDF", b"\x89PNG", b"\xFF\xD8\xFF", b"GIF8", b"Rar!", b"\x1F\x8B", b"7z\xBC\xAF"];
    if BINARY.iter().any(|m| bytes.starts_with(m)) || bytes.iter().take(8192).any(|b| *b == 0) {
        return Err(ReadError::NotSpreadsheet);
    }
    Ok(Format::Csv(""))
}

/// The column letters of a 0-based column (`0` → `A`, `27` → `AB`).
pub fn column_letters(mut c: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Read every row of the first sheet: `on_row(row_number, cells)` is called
/// for each row that is not entirely empty, in order; row numbers are the
/// 1-based numbers a spreadsheet shows. Returning `false` stops the reading.
pub fn read_rows(
    bytes: &[u8],
    max_bytes: usize,
    on_row: &mut dyn FnMut(u32, Vec<Cell>) -> bool,
) -> Result<Format, ReadError> {
    let mut book = Book::open(bytes, max_bytes)?;
    let format = book.format();
    let mut rows = book.rows()?;
    while let Some((n, cells)) = rows.next_row()? {
        if !on_row(n, cells) {
            break;
        }
    }
    if !rows.any() {
        return Err(ReadError::Empty);
    }
    Ok(format)
}

/// A file opened for reading its first sheet row by row, at the caller's
/// pace ([`Book::rows`] then [`Rows::next_row`]): for readers that must stop
/// between rows, e.g. to await a database write, and for reading a file a
/// second time without keeping its rows. [`read_rows`] is the same reading
/// with a callback.
pub struct Book<'a> {
    format: Format,
    inner: BookInner<'a>,
}

enum BookInner<'a> {
    /// UTF-8 text, borrowed as it is (BOM stripped).
    Csv(&'a str),
    /// Bytes in another encoding, decoded as they are read, a buffer at a
    /// time, so the file is never held twice.
    CsvDecoded(&'a [u8], &'static encoding_rs::Encoding),
    Xlsx {
        wb: Box<Xlsx<Cursor<&'a [u8]>>>,
        sheet: String,
    },
}

impl<'a> Book<'a> {
    /// Check the size and format, decode a CSV, and refuse an xlsx whose
    /// first sheet has merged cells.
    pub fn open(bytes: &'a [u8], max_bytes: usize) -> Result<Book<'a>, ReadError> {
        if bytes.len() > max_bytes {
            return Err(ReadError::TooLarge { size: bytes.len(), max: max_bytes });
        }
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ReadError::Empty);
        }
        match sniff(bytes)? {
            Format::Xlsx => {
                check_expansion(bytes, expansion_limit(bytes.len()))?;
                let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(corrupt)?;
                let Some(sheet) = wb.sheet_names().first().cloned() else {
                    return Err(ReadError::Empty);
                };
                let merged = wb.merge_cells_by_sheet_name(&sheet).map_err(corrupt)?;
                if !merged.is_empty() {
                    return Err(ReadError::Merged(
                        merged
                            .iter()
                            .map(|d| {
                                format!(
                                    "{}{}:{}{}",
                                    column_letters(d.start.1),
                                    d.start.0 + 1,
                                    column_letters(d.end.1),
                                    d.end.0 + 1
                                )
                            })
                            .collect(),
                    ));
                }
                Ok(Book { format: Format::Xlsx, inner: BookInner::Xlsx { wb: Box::new(wb), sheet } })
            }
            Format::Csv(_) => match classify(bytes)? {
                Text::Utf8(text) => {
                    if text.contains('\0') {
                        return Err(ReadError::NotSpreadsheet);
                    }
                    Ok(Book { format: Format::Csv("UTF-8"), inner: BookInner::Csv(text) })
                }
                Text::Other(body, enc, name) => {
                    Ok(Book { format: Format::Csv(name), inner: BookInner::CsvDecoded(body, enc) })
                }
            },
        }
    }

    /// The format (and a CSV's encoding).
    pub fn format(&self) -> Format {
        self.format
    }

    /// The rows of the first sheet, from the top (may be called again to
    /// read the file once more).
    pub fn rows(&mut self) -> Result<Rows<'_, 'a>, ReadError> {
        let inner = match &mut self.inner {
            BookInner::Csv(text) => RowsInner::Csv {
                rdr: Box::new(csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes())),
                raw: text.as_bytes(),
                rec: csv::StringRecord::new(),
                lines: Lines::default(),
            },
            BookInner::CsvDecoded(body, enc) => {
                let kept = std::sync::Arc::new(std::sync::Mutex::new(Kept::default()));
                let src = Decoding::new(body, enc, kept.clone());
                RowsInner::CsvDecoded {
                    rdr: Box::new(csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(src)),
                    kept,
                    rec: csv::StringRecord::new(),
                    lines: Lines::default(),
                }
            }
            BookInner::Xlsx { wb, sheet } => RowsInner::Xlsx {
                cells: Box::new(wb.worksheet_cells_reader(sheet).map_err(corrupt)?),
                pending: None,
                done: false,
            },
        };
        Ok(Rows { inner, any: false })
    }
}

/// The rows of a [`Book`], read one at a time.
pub struct Rows<'b, 'a> {
    inner: RowsInner<'b, 'a>,
    any: bool,
}

enum RowsInner<'b, 'a> {
    Csv {
        rdr: Box<csv::Reader<&'b [u8]>>,
        raw: &'b [u8],
        rec: csv::StringRecord,
        lines: Lines,
    },
    CsvDecoded {
        rdr: Box<csv::Reader<Decoding<'a>>>,
        /// The decoded text from the start of the last record on.
        kept: std::sync::Arc<std::sync::Mutex<Kept>>,
        rec: csv::StringRecord,
        lines: Lines,
    },
    Xlsx {
        cells: Box<calamine::XlsxCellReader<'b, Cursor<&'a [u8]>>>,
        /// The first cell of the next row, read while finishing the last one.
        pending: Option<(u32, usize, Cell)>,
        done: bool,
    },
}

impl Rows<'_, '_> {
    /// The next row that is not entirely empty, with its 1-based sheet row
    /// number; `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<(u32, Vec<Cell>)>, ReadError> {
        loop {
            let Some((n, cells)) = self.next_any()? else {
                return Ok(None);
            };
            if cells.iter().all(|c| c.text.trim().is_empty()) {
                continue;
            }
            self.any = true;
            return Ok(Some((n, cells)));
        }
    }

    /// Whether any row so far had a value.
    pub fn any(&self) -> bool {
        self.any
    }

    fn next_any(&mut self) -> Result<Option<(u32, Vec<Cell>)>, ReadError> {
        match &mut self.inner {
            RowsInner::Csv { rdr, raw, rec, lines } => {
                if !rdr.read_record(rec).map_err(corrupt)? {
                    return Ok(None);
                }
                let line = lines.record_at(raw, 0, rec.position().map(|p| p.byte() as usize));
                Ok(Some((line, rec.iter().map(Cell::text).collect())))
            }
            RowsInner::CsvDecoded { rdr, kept, rec, lines } => {
                let got = rdr.read_record(rec);
                let mut k = kept.lock().map_err(|_| ReadError::Corrupt("decoder".into()))?;
                if let Some(e) = k.error.take() {
                    return Err(e);
                }
                if !got.map_err(corrupt)? {
                    return Ok(None);
                }
                let line = lines.record_at(&k.text, k.base, rec.position().map(|p| p.byte() as usize));
                // Only what lies after the start of this record is needed again.
                let drop = lines.seen.saturating_sub(k.base).min(k.text.len());
                k.text.drain(..drop);
                k.base += drop;
                Ok(Some((line, rec.iter().map(Cell::text).collect())))
            }
            RowsInner::Xlsx { cells, pending, done } => {
                if *done {
                    return Ok(None);
                }
                let mut row: Vec<Cell> = Vec::new();
                let mut row_no: Option<u32> = None;
                let put = |row: &mut Vec<Cell>, col: usize, c: Cell| {
                    if row.len() <= col {
                        row.resize(col + 1, Cell::text(""));
                    }
                    row[col] = c;
                };
                if let Some((r, col, c)) = pending.take() {
                    row_no = Some(r);
                    put(&mut row, col, c);
                }
                loop {
                    let Some(c) = cells.next_cell().map_err(corrupt)? else {
                        *done = true;
                        return Ok(row_no.map(|r| (r + 1, row)));
                    };
                    let (r, col) = c.get_position();
                    let col = col as usize;
                    if col > 16_383 {
                        return Err(ReadError::Corrupt("column out of range".into()));
                    }
                    let value = cell(c.get_value());
                    match row_no {
                        Some(prev) if prev != r => {
                            *pending = Some((r, col, value));
                            return Ok(Some((prev + 1, row)));
                        }
                        _ => {
                            row_no = Some(r);
                            put(&mut row, col, value);
                        }
                    }
                }
            }
        }
    }
}

/// Sheet row numbers of CSV records. The csv crate skips blank lines
/// without counting them; a spreadsheet shows them as rows, so the row number
/// is the line a record starts on, counted from its byte offset.
#[derive(Default)]
struct Lines {
    /// Offset up to which newlines are counted (the start of the last record).
    seen: usize,
    /// Lines before `seen`.
    before: u32,
}

impl Lines {
    /// The 1-based line of the record at byte `pos` (`None`: where the last
    /// one ended), given the text from offset `base` on.
    fn record_at(&mut self, text: &[u8], base: usize, pos: Option<usize>) -> u32 {
        let end = base + text.len();
        let mut at = pos.unwrap_or(self.seen).clamp(self.seen.max(base), end);
        // The position may point at the blank lines skipped before the record.
        while at < end && matches!(text[at - base], b'\n' | b'\r') {
            at += 1;
        }
        if at > self.seen {
            let from = self.seen.max(base) - base;
            let n = text[from..at - base].iter().filter(|b| **b == b'\n').count();
            self.before = self.before.saturating_add(n as u32);
            self.seen = at;
        }
        self.before + 1
    }
}

/// The decoded text a [`Decoding`] has handed out and the record reader may
/// still ask about, and a decoding error met on the way.
#[derive(Default)]
struct Kept {
    /// Offset (in the decoded text) of `text[0]`.
    base: usize,
    text: Vec<u8>,
    error: Option<ReadError>,
}

/// A reader of the UTF-8 text of bytes in another encoding, decoded a
/// buffer at a time. What it hands out is kept (in [`Kept`]) until the
/// record reader has passed it, for counting lines.
struct Decoding<'a> {
    src: &'a [u8],
    decoder: encoding_rs::Decoder,
    kept: std::sync::Arc<std::sync::Mutex<Kept>>,
    out: Vec<u8>,
    pos: usize,
    done: bool,
}

/// Bytes of the source decoded at a time.
const DECODE_STEP: usize = 64 * 1024;

impl<'a> Decoding<'a> {
    fn new(
        src: &'a [u8],
        enc: &'static encoding_rs::Encoding,
        kept: std::sync::Arc<std::sync::Mutex<Kept>>,
    ) -> Decoding<'a> {
        Decoding { src, decoder: enc.new_decoder_without_bom_handling(), kept, out: Vec::new(), pos: 0, done: false }
    }

    /// Decode the next step of the source into `out`; a decoding error is
    /// kept for the record reader to report.
    fn refill(&mut self) -> Result<(), ReadError> {
        self.out.clear();
        self.pos = 0;
        while self.out.is_empty() && !self.done {
            let take = self.src.len().min(DECODE_STEP);
            let last = take == self.src.len();
            let cap = self.decoder.max_utf8_buffer_length_without_replacement(take).unwrap_or(take * 4 + 16);
            self.out.resize(cap, 0);
            let (res, read, written) =
                self.decoder.decode_to_utf8_without_replacement(&self.src[..take], &mut self.out, last);
            self.out.truncate(written);
            self.src = &self.src[read..];
            if let encoding_rs::DecoderResult::Malformed(..) = res {
                return Err(ReadError::Encoding);
            }
            if self.out.contains(&0) {
                return Err(ReadError::NotSpreadsheet);
            }
            self.done = last && self.src.is_empty();
        }
        Ok(())
    }
}

impl std::io::Read for Decoding<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.out.len()
            && let Err(e) = self.refill()
        {
            if let Ok(mut k) = self.kept.lock() {
                k.error = Some(e.clone());
            }
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()));
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        if let Ok(mut k) = self.kept.lock() {
            k.text.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

/// CSV bytes as [`classify`] found them.
enum Text<'a> {
    Utf8(&'a str),
    /// The body (BOM stripped), its encoding and the encoding's name.
    Other(&'a [u8], &'static encoding_rs::Encoding, &'static str),
}

/// How to read CSV bytes: UTF-8 (BOM stripped) when valid, else UTF-16 with
/// a BOM, else GB18030 (a superset of GBK and GB2312) when the whole file
/// decodes without a replacement, which is checked here a buffer at a time,
/// without keeping the text.
fn classify(bytes: &[u8]) -> Result<Text<'_>, ReadError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(body) {
        return Ok(Text::Utf8(s));
    }
    let (body, enc, name) = if bytes.starts_with(b"\xFF\xFE") {
        (&bytes[2..], encoding_rs::UTF_16LE, "UTF-16")
    } else if bytes.starts_with(b"\xFE\xFF") {
        (&bytes[2..], encoding_rs::UTF_16BE, "UTF-16")
    } else {
        (bytes, encoding_rs::GB18030, "GB18030")
    };
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Kept::default()));
    let mut d = Decoding::new(body, enc, kept);
    loop {
        d.refill()?;
        if d.out.is_empty() {
            return Ok(Text::Other(body, enc, name));
        }
    }
}

/// Refuse an archive that unpacks to more than `limit` bytes, before any
/// part of it is parsed: first by the sizes its directory declares, then by
/// unpacking every part into nothing, counting, and stopping at the limit
/// (so a directory that understates its sizes is caught as well). Memory use
/// is one buffer whatever the file holds.
pub fn check_expansion(bytes: &[u8], limit: u64) -> Result<(), ReadError> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    let mut declared: u64 = 0;
    for i in 0..zip.len() {
        declared = declared.saturating_add(zip.by_index_raw(i).map_err(corrupt)?.size());
        if declared > limit {
            return Err(ReadError::Expands { limit });
        }
    }
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).map_err(corrupt)?;
        loop {
            let n = part.read(&mut buf).map_err(corrupt)?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > limit {
                return Err(ReadError::Expands { limit });
            }
        }
    }
    Ok(())
}

fn corrupt(e: impl std::fmt::Display) -> ReadError {
    ReadError::Corrupt(e.to_string())
}

fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e17 { format!("{}", f as i64) } else { f.to_string() }
}

fn cell(v: &DataRef<'_>) -> Cell {
    match v {
        DataRef::Empty => Cell::text(""),
        DataRef::String(s) => Cell::text(s.clone()),
        DataRef::SharedString(s) => Cell::text(*s),
        DataRef::Int(i) => Cell { text: i.to_string(), kind: CellKind::Number },
        DataRef::Float(f) => Cell { text: number_text(*f), kind: CellKind::Number },
        DataRef::Bool(b) => Cell::text(if *b { "是" } else { "否" }),
        DataRef::DateTime(d) => {
            if d.is_datetime() {
                match redcell_domain::rosters::excel_serial_date(d.as_f64()) {
                    Some(day) => Cell { text: day.format("%Y-%m-%d").to_string(), kind: CellKind::Date },
                    None => Cell { text: number_text(d.as_f64()), kind: CellKind::Number },
                }
            } else {
                Cell { text: number_text(d.as_f64()), kind: CellKind::Number }
            }
        }
        DataRef::DateTimeIso(s) => Cell { text: s.chars().take(10).collect(), kind: CellKind::Date },
        DataRef::DurationIso(s) => Cell::text(s.clone()),
        DataRef::Error(e) => Cell { text: e.to_string(), kind: CellKind::Error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(bytes: &[u8]) -> Result<Vec<(u32, Vec<String>)>, ReadError> {
        let mut out = Vec::new();
        read_rows(bytes, MAX_BYTES, &mut |n, cells| {
            out.push((n, cells.into_iter().map(|c| c.text).collect()));
            true
        })?;
        Ok(out)
    }

    #[test]
    fn csv_utf8_bom_and_gbk() {
        let r = rows("\u{feff}姓名,身份证号\n张三,1\n\n李四,2\n".as_bytes()).unwrap();
        assert_eq!(r[0].1, vec!["姓名", "身份证号"]);
        assert_eq!(r[2].0, 4, "row numbers count blank lines");
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,房号\n王五,301\n");
        let r = rows(&gbk).unwrap();
        assert_eq!(r[1].1, vec!["王五", "301"]);
    }

    #[test]
    fn gb18030_is_decoded_as_read_with_the_same_rows_and_numbers() {
        // Longer than a decoding step and the csv reader's buffer; blank
        // lines, CRLF and a quoted field over two lines on the way.
        let mut text = String::from("姓名,房号,备注\r\n");
        for i in 0..6_000 {
            match i % 1000 {
                7 => text.push_str("\r\n\r\n"),
                8 => text.push_str(&format!("王{i},\"{i}\n号\",多行\n")),
                _ => text.push_str(&format!("张三{i},{i},备注{i}\n")),
            }
        }
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        assert!(gbk.len() > 2 * DECODE_STEP);
        let want = rows(text.as_bytes()).unwrap();
        let got = rows(&gbk).unwrap();
        assert_eq!(got.len(), want.len());
        assert_eq!(got, want, "same cells and row numbers as the UTF-8 file");
        assert_eq!(Book::open(&gbk, MAX_BYTES).unwrap().format(), Format::Csv("GB18030"));
        // A byte that is not GB18030 far into the file refuses the whole file at open.
        let mut bad = gbk.to_vec();
        let at = bad.len() - 100;
        bad[at] = 0x80;
        bad[at + 1] = 0x20;
        assert_eq!(rows(&bad), Err(ReadError::Encoding));
    }

    #[test]
    fn refusals_are_named() {
        assert_eq!(rows(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), Err(ReadError::OldXls));
        assert_eq!(rows(b"%PDF-1.4 ..."), Err(ReadError::NotSpreadsheet));
        assert_eq!(rows(b""), Err(ReadError::Empty));
        assert_eq!(rows(b" ,, \n,\n"), Err(ReadError::Empty));
        assert!(matches!(rows(b"PK\x03\x04truncated"), Err(ReadError::Corrupt(_))));
        let big = vec![b'a'; 11];
        assert!(matches!(read_rows(&big, 10, &mut |_, _| true), Err(ReadError::TooLarge { .. })));
        assert!(ReadError::TooLarge { size: 60 << 20, max: MAX_BYTES }.message().contains("50 MB"));
    }

    /// A zip of one part of `n` zero bytes (deflated: a few kilobytes).
    fn zeros_zip(n: usize) -> Vec<u8> {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        w.start_file("xl/sharedStrings.xml", opts).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..n >> 20 {
            w.write_all(&chunk).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn an_archive_that_unpacks_too_far_is_refused_before_it_is_read() {
        let bomb = zeros_zip(40 << 20);
        assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
        let limit = expansion_limit(bomb.len());
        assert_eq!(limit, MIN_EXPANSION);
        assert_eq!(rows(&bomb), Err(ReadError::Expands { limit }));
        assert!(ReadError::Expands { limit }.message().contains("32 MB"));

        // The same archive with its directory claiming the part is 1 KB: the
        // count of what really unpacks catches it (or the archive reader
        // refuses the mismatch); it is never read.
        let mut liar = bomb.clone();
        for (sig, at) in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)] {
            let pos = liar.windows(4).position(|w| w == sig).unwrap();
            liar[pos + at..pos + at + 4].copy_from_slice(&1024u32.to_le_bytes());
        }
        let r = rows(&liar);
        assert!(matches!(r, Err(ReadError::Expands { .. } | ReadError::Corrupt(_))), "{r:?}");

        // Limits grow with the file, up to the hard cap.
        assert_eq!(expansion_limit(1 << 20), 100 << 20);
        assert_eq!(expansion_limit(50 << 20), MAX_EXPANDED);
        // A small honest archive passes the check.
        assert_eq!(check_expansion(&zeros_zip(1 << 20), MIN_EXPANSION), Ok(()));
    }

    #[test]
    fn xlsx_cells_numbers_dates_merged() {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "姓名").unwrap();
        ws.write_string(0, 1, "身份证号").unwrap();
        ws.write_string(0, 2, "出生日期").unwrap();
        ws.write_string(1, 0, "张三").unwrap();
        ws.write_number(1, 1, 990101198001010000.0).unwrap();
        let d = ExcelDateTime::from_ymd(1980, 1, 1).unwrap();
        ws.write_datetime_with_format(1, 2, &d, &Format::new().set_num_format("yyyy-mm-dd")).unwrap();
        ws.write_formula(2, 0, "=A2").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let mut got = Vec::new();
        read_rows(&bytes, MAX_BYTES, &mut |n, c| {
            got.push((n, c));
            true
        })
        .unwrap();
        assert_eq!(got[1].1[1].kind, CellKind::Number);
        assert_eq!(got[1].1[2].text, "1980-01-01");
        assert_eq!(got[1].1[2].kind, CellKind::Date);
        assert_eq!(got[2].1[0].text, "0", "a formula reads as the value cached when saved");

        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.merge_range(0, 0, 0, 2, "标题", &Format::new()).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        assert_eq!(rows(&bytes), Err(ReadError::Merged(vec!["A1:C1".into()])));
        // Truncated: every prefix is refused or read, never a panic.
        for cut in [10, 100, bytes.len() / 2, bytes.len() - 1] {
            let _ = rows(&bytes[..cut]);
        }
    }

    #[test]
    fn book_reads_rows_at_the_callers_pace_and_again() {
        fn send<T: Send>(_: &T) {}
        use rust_xlsxwriter::Workbook;
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for r in 0..5u32 {
            if r == 2 {
                continue; // a blank row keeps its number
            }
            ws.write_string(r, 0, format!("a{r}")).unwrap();
            ws.write_string(r, 2, format!("c{r}")).unwrap();
        }
        let xlsx = wb.save_to_buffer().unwrap();
        let csv = "a0,,c0\na1,,c1\n\na3,,c3\na4,,c4\n".as_bytes();
        for bytes in [&xlsx[..], csv] {
            let mut book = Book::open(bytes, MAX_BYTES).unwrap();
            for _ in 0..2 {
                let mut rows = book.rows().unwrap();
                send(&rows);
                let mut got = Vec::new();
                while let Some((n, c)) = rows.next_row().unwrap() {
                    got.push((n, c.into_iter().map(|c| c.text).collect::<Vec<_>>()));
                }
                let numbers: Vec<u32> = got.iter().map(|g| g.0).collect();
                assert_eq!(numbers, vec![1, 2, 4, 5]);
                assert_eq!(got[2].1, vec!["a3", "", "c3"]);
            }
        }
    }

    #[test]
    fn letters() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
    }
}
