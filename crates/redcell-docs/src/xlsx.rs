//! Workbooks of plain tables (rosters): one sheet per table, a bold header row,
//! frozen, with an autofilter. Every text cell goes through
//! [`redcell_domain::text::spreadsheet_safe`], so nothing a user typed can run
//! as a formula; numbers are written as numbers only where the caller says so.

use redcell_domain::text::spreadsheet_safe;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// One sheet of a workbook.
#[derive(Debug, Clone)]
pub struct Sheet<'a> {
    /// The sheet's tab name (at most 31 characters; `[]:*?/\` are replaced).
    pub name: &'a str,
    pub headers: &'a [&'a str],
    pub rows: &'a [Vec<String>],
    /// Write the first column as a number when it parses as one (a running number).
    pub numbered: bool,
}

/// Why a workbook could not be written.
#[derive(Debug)]
pub struct DocError(pub String);

impl std::fmt::Display for DocError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "xlsx: {}", self.0)
    }
}

impl std::error::Error for DocError {}

impl From<XlsxError> for DocError {
    fn from(e: XlsxError) -> Self {
        DocError(e.to_string())
    }
}

fn tab_name(name: &str) -> String {
    let clean: String = name.chars().map(|c| if "[]:*?/\\".contains(c) { '_' } else { c }).collect();
    clean.chars().take(31).collect()
}

/// Approximate display width of a cell (CJK characters count double).
fn width(s: &str) -> f64 {
    s.chars().map(|c| if c.is_ascii() { 1.0 } else { 2.1 }).sum()
}

/// An `.xlsx` file with one sheet per table, a title line above each table.
pub fn workbook(title: &str, sheets: &[Sheet<'_>]) -> Result<Vec<u8>, DocError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold().set_background_color("#F3EEEC").set_border(rust_xlsxwriter::FormatBorder::Thin);
    let title_fmt = Format::new().set_bold().set_font_size(13);
    for s in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(tab_name(s.name))?;
        ws.write_string_with_format(0, 0, spreadsheet_safe(&format!("{title} · {}", s.name)), &title_fmt)?;
        let mut widths: Vec<f64> = s.headers.iter().map(|h| width(h)).collect();
        for (c, h) in s.headers.iter().enumerate() {
            ws.write_string_with_format(1, c as u16, spreadsheet_safe(h), &bold)?;
        }
        for (r, row) in s.rows.iter().enumerate() {
            let r = r as u32 + 2;
            for (c, v) in row.iter().enumerate() {
                let n = if c == 0 && s.numbered { v.parse::<f64>().ok() } else { None };
                match n {
                    Some(n) => {
                        ws.write_number(r, c as u16, n)?;
                    }
                    None => {
                        ws.write_string(r, c as u16, spreadsheet_safe(v))?;
                    }
                }
                if let Some(w) = widths.get_mut(c) {
                    *w = w.max(width(v));
                }
            }
        }
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, (w + 2.0).min(60.0))?;
        }
        ws.set_freeze_panes(2, 0)?;
        if !s.headers.is_empty() {
            let last_row = (s.rows.len() as u32 + 1).max(2);
            ws.autofilter(1, 0, last_row, s.headers.len() as u16 - 1)?;
        }
    }
    if sheets.is_empty() {
        wb.add_worksheet();
    }
    Ok(wb.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx};

    #[test]
    fn round_trips_and_neutralises_formulas() {
        let rows = vec![
            vec!["1".to_string(), "张三".into(), "=1+1".into()],
            vec!["2".to_string(), "@SUM(A1)".into(), "138****5678".into()],
        ];
        let bytes = workbook(
            "测试",
            &[Sheet {
                name: "党员联系户/表", headers: &["序号", "姓名", "备注"], rows: &rows, numbered: true
            }],
        )
        .unwrap();
        let mut x: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(x.sheet_names(), vec!["党员联系户_表".to_string()]);
        let r = x.worksheet_range("党员联系户_表").unwrap();
        assert_eq!(r.get_value((2, 0)), Some(&Data::Float(1.0)));
        assert_eq!(r.get_value((2, 2)), Some(&Data::String("'=1+1".into())));
        assert_eq!(r.get_value((3, 1)), Some(&Data::String("'@SUM(A1)".into())));
        let formulas = x.worksheet_formula("党员联系户_表").unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
    }
}
