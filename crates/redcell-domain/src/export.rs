//! Exports of lists (导出): in which formats, the kinds of column a table has, and the file name a download carries. The
//! writers live in `redcell-docs`, the queries in `redcell-store`.

use crate::code_enum;

code_enum!(
    /// The file format of an export.
    ExportFormat {
        Xlsx = "xlsx": "Excel",
        Csv = "csv": "CSV",
    }
);

code_enum!(
    /// The character encoding of a CSV export: UTF-8 with a byte-order mark
    /// (current Excel opens it correctly), or GB18030 for older Chinese Excel
    /// and tools that expect GBK.
    CsvEncoding {
        Utf8 = "utf-8": "UTF-8",
        Gb18030 = "gb18030": "GB18030",
    }
);

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        self.code()
    }
    pub fn content_type(self, enc: CsvEncoding) -> &'static str {
        match (self, enc) {
            (ExportFormat::Xlsx, _) => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            (ExportFormat::Csv, CsvEncoding::Utf8) => "text/csv; charset=utf-8",
            (ExportFormat::Csv, CsvEncoding::Gb18030) => "text/csv; charset=gb18030",
        }
    }
}

/// How a column is written to a spreadsheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Free text (neutralised against formulas).
    Text,
    /// Digits that are not a quantity (ID numbers, phones, codes): always a
    /// text cell, never a number, so that Excel neither rounds an ID number
    /// to 15 digits nor drops a leading zero.
    Identifier,
    /// An integer or decimal quantity (a number cell when it parses as one).
    Number,
    /// A `YYYY-MM-DD` date (a date cell when it parses as one).
    Date,
}

/// One column of an exported table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub header: String,
    pub kind: ColumnKind,
}

impl Column {
    pub fn new(header: impl Into<String>, kind: ColumnKind) -> Column {
        Column { header: header.into(), kind }
    }
    pub fn text(header: impl Into<String>) -> Column {
        Column::new(header, ColumnKind::Text)
    }
    pub fn ident(header: impl Into<String>) -> Column {
        Column::new(header, ColumnKind::Identifier)
    }
    pub fn number(header: impl Into<String>) -> Column {
        Column::new(header, ColumnKind::Number)
    }
    pub fn date(header: impl Into<String>) -> Column {
        Column::new(header, ColumnKind::Date)
    }
}

/// The file name of an export, e.g. `居民名册-20261122.xlsx`.
pub fn file_name(label: &str, date: chrono::NaiveDate, format: ExportFormat) -> String {
    format!("{label}-{}.{}", date.format("%Y%m%d"), format.extension())
}

/// A `Content-Disposition` value for a download named `name`: an ASCII
/// fallback for old clients and the real (Chinese) name per RFC 5987/6266.
pub fn content_disposition(name: &str, fallback: &str) -> String {
    let ascii: String = fallback
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", rfc5987(name))
}

/// Percent-encode everything but RFC 5987 `attr-char`s.
fn rfc5987(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_dispositions() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert_eq!(file_name("居民名册", d, ExportFormat::Xlsx), "居民名册-20261122.xlsx");
        let cd = content_disposition("居民名册-20261122.xlsx", "residents-20261122.xlsx");
        assert_eq!(
            cd,
            "attachment; filename=\"residents-20261122.xlsx\"; filename*=UTF-8''%E5%B1%85%E6%B0%91%E5%90%8D%E5%86%8C-20261122.xlsx"
        );
        // A quote or a line break cannot escape the header value.
        let cd = content_disposition("a\"b\r\n.csv", "a\"b\r\n.csv");
        assert!(!cd.contains('\r') && !cd.contains('\n'));
        assert!(cd.starts_with("attachment; filename=\"a_b__.csv\""));
        assert!(ExportFormat::parse("format", "xls").is_err());
    }
}
