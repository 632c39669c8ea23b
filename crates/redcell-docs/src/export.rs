//! Exported lists: one table (a title, typed columns, rows of text cells)
//! written row by row to an `.xlsx` workbook or a CSV file, so that a list of
//! any length is written without holding it in memory.
//!
//! - xlsx: one sheet in rust_xlsxwriter's "constant memory" mode (rows go to a
//!   temporary file as they come); the header row bold, frozen and filtered;
//!   column widths from the header and the first rows; identifier columns (ID
//!   numbers, phones, codes) stored as text with the text format `@`.
//! - CSV: RFC 4180 quoting, CRLF line ends, UTF-8 with a byte-order mark (so
//!   that Excel in a Chinese locale reads it as UTF-8) or GB18030.
//!
//! Every text cell goes through [`redcell_domain::text::spreadsheet_safe`]: a
//! cell that would start a formula is prefixed with an apostrophe, and nothing
//! is ever written as a formula.

use crate::xlsx::DocError;
use redcell_domain::export::{Column, ColumnKind, CsvEncoding, ExportFormat};
use redcell_domain::text::spreadsheet_safe;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
use std::io::Write;

/// The most data rows one xlsx sheet holds (1,048,576 rows less the header).
pub const XLSX_MAX_ROWS: u64 = 1_048_575;

/// Widths are measured on the header and this many first rows.
const WIDTH_SAMPLE: u64 = 2000;

/// What an exported table is: its title (the sheet name and the document
/// title) and its columns.
#[derive(Debug, Clone)]
pub struct Table {
    pub title: String,
    pub columns: Vec<Column>,
}

/// Writes one table to `W`, row by row.
pub struct TableWriter<W: Write + Send> {
    inner: Inner<W>,
    columns: Vec<Column>,
    rows: u64,
}

enum Inner<W: Write + Send> {
    Xlsx(Box<XlsxSheet>, W),
    Csv(W, CsvEncoding),
}

struct XlsxSheet {
    wb: Workbook,
    widths: Vec<f64>,
    text: Format,
    date: Format,
}

fn sheet_name(title: &str) -> String {
    let clean: String = title.chars().map(|c| if "[]:*?/\\".contains(c) { '_' } else { c }).collect();
    let clean = clean.trim_matches('\'').to_string();
    let name: String = clean.chars().take(31).collect();
    if name.is_empty() { "Sheet1".into() } else { name }
}

/// Approximate display width of a cell (CJK characters count double).
fn width(s: &str) -> f64 {
    s.chars().map(|c| if c.is_ascii() { 1.0 } else { 2.1 }).sum()
}

impl<W: Write + Send> TableWriter<W> {
    /// Start a table: the header row is written at once.
    pub fn new(format: ExportFormat, encoding: CsvEncoding, table: &Table, mut out: W) -> Result<Self, DocError> {
        let columns = table.columns.clone();
        let inner = match format {
            ExportFormat::Xlsx => {
                let mut wb = Workbook::new();
                wb.set_properties(&DocProperties::new().set_title(&table.title).set_author("redcell"));
                let bold = Format::new()
                    .set_bold()
                    .set_background_color("#F3EEEC")
                    .set_border(rust_xlsxwriter::FormatBorder::Thin);
                let text = Format::new().set_num_format("@");
                let date = Format::new().set_num_format("yyyy-mm-dd");
                let ws = wb.add_worksheet_with_constant_memory()?;
                ws.set_name(sheet_name(&table.title))?;
                for (c, col) in columns.iter().enumerate() {
                    ws.write_string_with_format(0, c as u16, spreadsheet_safe(&col.header), &bold)?;
                }
                ws.set_freeze_panes(1, 0)?;
                let widths = columns.iter().map(|c| width(&c.header)).collect();
                Inner::Xlsx(Box::new(XlsxSheet { wb, widths, text, date }), out)
            }
            ExportFormat::Csv => {
                if encoding == CsvEncoding::Utf8 {
                    out.write_all("\u{feff}".as_bytes()).map_err(io)?;
                }
                let headers: Vec<String> = columns.iter().map(|c| c.header.clone()).collect();
                write_csv_line(&mut out, encoding, &columns, &headers, true)?;
                Inner::Csv(out, encoding)
            }
        };
        Ok(TableWriter { inner, columns, rows: 0 })
    }

    /// Data rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Append one row (cells beyond the columns are ignored, missing ones are blank).
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) -> Result<(), DocError> {
        match &mut self.inner {
            Inner::Xlsx(sheet, _) => {
                if self.rows >= XLSX_MAX_ROWS {
                    return Err(DocError(redcell_domain::i18n::EXPORT_TOO_MANY_ROWS.to_string()));
                }
                let r = self.rows as u32 + 1;
                let XlsxSheet { wb, widths, text, date } = sheet.as_mut();
                let ws = wb.worksheet_from_index(0)?;
                for (c, (col, v)) in self.columns.iter().zip(cells).enumerate() {
                    let v = v.as_ref();
                    if v.is_empty() {
                        continue;
                    }
                    let c16 = c as u16;
                    match col.kind {
                        ColumnKind::Number => match v.parse::<f64>().ok().filter(|n| n.is_finite()) {
                            Some(n) => ws.write_number(r, c16, n)?,
                            None => ws.write_string(r, c16, spreadsheet_safe(v))?,
                        },
                        ColumnKind::Date => match ExcelDateTime::parse_from_str(v) {
                            Ok(d) if v.len() == 10 => ws.write_datetime_with_format(r, c16, &d, date)?,
                            _ => ws.write_string(r, c16, spreadsheet_safe(v))?,
                        },
                        ColumnKind::Identifier => ws.write_string_with_format(r, c16, spreadsheet_safe(v), text)?,
                        ColumnKind::Text => ws.write_string(r, c16, spreadsheet_safe(v))?,
                    };
                    if self.rows < WIDTH_SAMPLE
                        && let Some(w) = widths.get_mut(c)
                    {
                        *w = w.max(width(v));
                    }
                }
            }
            Inner::Csv(out, enc) => {
                write_csv_line(out, *enc, &self.columns, cells, false)?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Finish the file and give the output back.
    pub fn finish(self) -> Result<W, DocError> {
        match self.inner {
            Inner::Xlsx(mut sheet, mut out) => {
                let n = self.columns.len();
                let XlsxSheet { wb, widths, text, .. } = sheet.as_mut();
                let ws = wb.worksheet_from_index(0)?;
                for (c, w) in widths.iter().enumerate() {
                    ws.set_column_width(c as u16, (w + 2.0).clamp(6.0, 60.0))?;
                    if self.columns[c].kind == ColumnKind::Identifier {
                        ws.set_column_format(c as u16, text)?;
                    }
                }
                if n > 0 {
                    ws.autofilter(0, 0, self.rows.max(1) as u32, n as u16 - 1)?;
                }
                wb.save_to_writer(&mut out)?;
                out.flush().map_err(io)?;
                Ok(out)
            }
            Inner::Csv(mut out, _) => {
                out.flush().map_err(io)?;
                Ok(out)
            }
        }
    }
}

fn io(e: std::io::Error) -> DocError {
    DocError(format!("写出文件失败：{e}"))
}

/// One CSV cell: neutralised (numbers of a number column are left as they
/// are: `-5` is a quantity, not a formula) and quoted when needed.
pub fn csv_cell(kind: ColumnKind, v: &str) -> String {
    let number = kind == ColumnKind::Number && v.parse::<f64>().is_ok_and(|n| n.is_finite());
    let safe = if number { std::borrow::Cow::Borrowed(v) } else { spreadsheet_safe(v) };
    if safe.contains([',', '"', '\n', '\r']) { format!("\"{}\"", safe.replace('"', "\"\"")) } else { safe.into_owned() }
}

fn write_csv_line<W: Write, S: AsRef<str>>(
    out: &mut W,
    enc: CsvEncoding,
    columns: &[Column],
    cells: &[S],
    header: bool,
) -> Result<(), DocError> {
    let mut line = String::new();
    for (i, col) in columns.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let v = cells.get(i).map(AsRef::as_ref).unwrap_or("");
        line.push_str(&csv_cell(if header { ColumnKind::Text } else { col.kind }, v));
    }
    line.push_str("\r\n");
    match enc {
        CsvEncoding::Utf8 => out.write_all(line.as_bytes()).map_err(io),
        CsvEncoding::Gb18030 => {
            let (bytes, _, _) = encoding_rs::GB18030.encode(&line);
            out.write_all(&bytes).map_err(io)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx};

    fn table() -> Table {
        Table {
            title: "居民名册".into(),
            columns: vec![
                Column::text("姓名"),
                Column::ident("身份证号（脱敏）"),
                Column::number("人数"),
                Column::date("出生日期"),
            ],
        }
    }

    fn rows() -> Vec<Vec<&'static str>> {
        vec![
            vec!["=HYPERLINK(\"http://x\",\"点我\")", "9901**********1234", "3", "1960-03-15"],
            vec!["张三, \"老张\"", "0571", "-2", "不详"],
            vec!["+1", "", "", ""],
        ]
    }

    #[test]
    fn xlsx_round_trip_has_no_formulas() {
        let mut w = TableWriter::new(ExportFormat::Xlsx, CsvEncoding::Utf8, &table(), Vec::new()).unwrap();
        for r in rows() {
            w.row(&r).unwrap();
        }
        assert_eq!(w.rows(), 3);
        let bytes = w.finish().unwrap();
        assert_eq!(&bytes[..2], b"PK");
        let mut x: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(x.sheet_names(), vec!["居民名册".to_string()]);
        let r = x.worksheet_range("居民名册").unwrap();
        assert_eq!(r.get_value((0, 1)), Some(&Data::String("身份证号（脱敏）".into())));
        assert_eq!(r.get_value((1, 0)), Some(&Data::String("'=HYPERLINK(\"http://x\",\"点我\")".into())));
        assert_eq!(r.get_value((1, 1)), Some(&Data::String("9901**********1234".into())));
        assert_eq!(r.get_value((1, 2)), Some(&Data::Float(3.0)));
        assert!(matches!(r.get_value((1, 3)), Some(Data::DateTime(_))));
        // A leading zero survives: identifiers are text.
        assert_eq!(r.get_value((2, 1)), Some(&Data::String("0571".into())));
        assert_eq!(r.get_value((2, 2)), Some(&Data::Float(-2.0)));
        assert_eq!(r.get_value((2, 3)), Some(&Data::String("不详".into())));
        assert_eq!(r.get_value((3, 0)), Some(&Data::String("'+1".into())));
        let formulas = x.worksheet_formula("居民名册").unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
    }

    #[test]
    fn csv_utf8_with_bom_and_quoting() {
        let mut w = TableWriter::new(ExportFormat::Csv, CsvEncoding::Utf8, &table(), Vec::new()).unwrap();
        for r in rows() {
            w.row(&r).unwrap();
        }
        let bytes = w.finish().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next(), Some("\u{feff}姓名,身份证号（脱敏）,人数,出生日期"));
        assert_eq!(
            lines.next(),
            Some("\"'=HYPERLINK(\"\"http://x\"\",\"\"点我\"\")\",9901**********1234,3,1960-03-15")
        );
        assert_eq!(lines.next(), Some("\"张三, \"\"老张\"\"\",0571,-2,不详"));
        assert_eq!(lines.next(), Some("'+1,,,"));
    }

    #[test]
    fn csv_gb18030() {
        let mut w = TableWriter::new(ExportFormat::Csv, CsvEncoding::Gb18030, &table(), Vec::new()).unwrap();
        w.row(&["王西湖", "", "", ""]).unwrap();
        let bytes = w.finish().unwrap();
        assert_ne!(&bytes[..3], "\u{feff}".as_bytes());
        let (text, _, errors) = encoding_rs::GB18030.decode(&bytes);
        assert!(!errors);
        assert!(text.starts_with("姓名,身份证号（脱敏）,人数,出生日期\r\n王西湖,,,\r\n"));
        // Not UTF-8: a GBK reader sees its own bytes.
        assert!(std::str::from_utf8(&bytes).is_err());
    }

    #[test]
    fn sheet_names_are_legal() {
        assert_eq!(sheet_name("a/b[c]"), "a_b_c_");
        assert_eq!(sheet_name(""), "Sheet1");
        assert_eq!(sheet_name(&"长".repeat(40)).chars().count(), 31);
    }
}
