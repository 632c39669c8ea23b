//! Roster workbooks for import: the blank template of each kind (header notes,
//! drop-down lists for enumerations, example rows, ID-number column as text)
//! and the error sheet that mirrors an uploaded file with an error column.

use crate::xlsx::DocError;
use redcell_domain::rosters::{ERROR_HEADER, ImportKind, choices, columns};
use redcell_domain::text::spreadsheet_safe;
use rust_xlsxwriter::{DataValidation, Format, FormatBorder, Note, Workbook, Worksheet};

/// Rows that carry drop-down lists in a template.
const TEMPLATE_ROWS: u32 = 10_000;

fn header_format(required: bool) -> Format {
    let f = Format::new().set_bold().set_border(FormatBorder::Thin);
    if required { f.set_background_color("#F6D8D3") } else { f.set_background_color("#F3EEEC") }
}

fn col_width(s: &str) -> f64 {
    s.chars().map(|c| if c.is_ascii() { 1.0 } else { 2.1 }).sum::<f64>() + 2.0
}

/// The template of `kind`: header row (required columns shaded), a note on each
/// header, drop-downs for enumerations, text format for ID numbers, phones and
/// codes, and two example rows (delete them before importing).
pub fn template(kind: ImportKind) -> Result<Vec<u8>, DocError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(kind.label())?;
    let text = Format::new().set_num_format("@");
    let example = Format::new().set_font_color("#888888").set_num_format("@");
    for (c, col) in columns(kind).iter().enumerate() {
        let c = c as u16;
        ws.write_string_with_format(0, c, col.header, &header_format(col.required))?;
        let mut note = String::new();
        if col.required {
            note.push_str("必填。");
        }
        note.push_str(col.note);
        if !note.is_empty() {
            ws.insert_note(0, c, &Note::new(note).set_author("redcell").add_author_prefix(false))?;
        }
        ws.set_column_width(c, col_width(col.header).max(col_width(col.example)).max(10.0))?;
        ws.set_column_format(c, &text)?;
        let list = choices(kind, col.key);
        if !list.is_empty() && col.key != "tags" {
            let dv = DataValidation::new()
                .allow_list_strings(&list)?
                .set_error_message("请从下拉列表中选择")?
                .set_error_title("取值不在列表中")?;
            ws.add_data_validation(1, c, TEMPLATE_ROWS, c, &dv)?;
        }
        ws.write_string_with_format(1, c, col.example, &example)?;
        ws.write_string_with_format(2, c, col.example2, &example)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(wb.save_to_buffer()?)
}

/// The error sheet: the uploaded rows as they were, in their original row
/// numbers, with a last column naming every error of the row. Re-uploading it
/// after the fixes works: the error column is ignored on import.
pub struct ErrorSheet {
    wb: Workbook,
    err_col: u16,
    bad: Format,
}

impl ErrorSheet {
    pub fn new(kind: ImportKind) -> Result<ErrorSheet, DocError> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name(format!("{}（含错误）", kind.label()))?;
        Ok(ErrorSheet { wb, err_col: 0, bad: Format::new().set_font_color("#B00020").set_bold() })
    }

    fn ws(&mut self) -> &mut Worksheet {
        // The workbook has exactly one worksheet, added in `new`.
        self.wb.worksheets_mut().first_mut().expect("one worksheet")
    }

    /// The header row (row number as in the input), with the error column added.
    pub fn header(&mut self, row: u32, cells: &[String]) -> Result<(), DocError> {
        let n = cells.iter().rposition(|c| !c.trim().is_empty() && c.trim() != ERROR_HEADER).map_or(0, |i| i + 1);
        self.err_col = n as u16;
        let f = header_format(false);
        let text = Format::new().set_num_format("@");
        let ws = self.ws();
        for (c, h) in cells.iter().take(n).enumerate() {
            ws.write_string_with_format(row.saturating_sub(1), c as u16, spreadsheet_safe(h), &f)?;
            ws.set_column_format(c as u16, &text)?;
            ws.set_column_width(c as u16, col_width(h).max(12.0))?;
        }
        let red = Format::new().set_bold().set_background_color("#F6D8D3").set_border(FormatBorder::Thin);
        ws.write_string_with_format(row.saturating_sub(1), n as u16, ERROR_HEADER, &red)?;
        ws.set_column_width(n as u16, 60)?;
        ws.set_freeze_panes(row, 0)?;
        Ok(())
    }

    /// One data row and its errors (empty when the row is fine).
    pub fn row(&mut self, row: u32, cells: &[String], errors: &str) -> Result<(), DocError> {
        let r = row.saturating_sub(1);
        let err_col = self.err_col;
        let bad = self.bad.clone();
        let ws = self.ws();
        for (c, v) in cells.iter().take(err_col as usize).enumerate() {
            if !v.is_empty() {
                ws.write_string(r, c as u16, spreadsheet_safe(v))?;
            }
        }
        if !errors.is_empty() {
            ws.write_string_with_format(r, err_col, spreadsheet_safe(errors), &bad)?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<Vec<u8>, DocError> {
        Ok(self.wb.save_to_buffer()?)
    }
}

/// A synthetic households-and-residents roster of `rows` residents for the
/// import benchmark: ID numbers valid and unique (fake region 990101), about
/// 2.5 residents a household, 100 households a building (2 units), 10
/// buildings a grid with codes `BG0001`.... [`bench_grids_csv`] gives the
/// grids-and-buildings file the roster refers to.
pub struct BenchRoster {
    pub rows: u64,
}

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙"];
const GIVEN: &[&str] =
    &["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "娟", "涛", "明", "超", "霞"];

impl BenchRoster {
    pub const HEADERS: [&'static str; 8] =
        ["网格编码", "楼栋名称", "单元", "房号", "姓名", "身份证号", "出生日期", "联系电话"];

    pub fn households(&self) -> u64 {
        (self.rows * 2).div_ceil(5)
    }
    pub fn buildings(&self) -> u64 {
        self.households().div_ceil(100)
    }
    pub fn grids(&self) -> u64 {
        self.buildings().div_ceil(10)
    }

    /// Row `i` (0-based) as cells.
    pub fn row(&self, i: u64) -> [String; 8] {
        let hh = i * 2 / 5;
        let building = hh / 100;
        let in_b = hh % 100;
        let unit = in_b / 50 + 1;
        let room = format!("{}{:02}", in_b % 50 / 4 + 1, in_b % 4 + 1);
        let base = chrono::NaiveDate::from_ymd_opt(1930, 1, 1).unwrap_or_default();
        let day = base + chrono::Days::new(i % 30_000);
        let id = redcell_domain::IdNumber::synthesise(redcell_domain::ident::DEMO_REGION, day, (i / 30_000) as u32 + 1);
        let name = format!(
            "{}{}{}",
            SURNAMES[(i % 12) as usize],
            GIVEN[(i / 12 % 16) as usize],
            GIVEN[(i / 192 % 16) as usize]
        );
        [
            format!("BG{:04}", building / 10 + 1),
            format!("{}幢", building % 10 + 1),
            unit.to_string(),
            room,
            name,
            id.into_string(),
            day.format("%Y-%m-%d").to_string(),
            format!("139{:08}", i),
        ]
    }

    /// The roster as CSV (UTF-8).
    pub fn write_csv(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(out, "{}", Self::HEADERS.join(","))?;
        for i in 0..self.rows {
            writeln!(out, "{}", self.row(i).join(","))?;
        }
        Ok(())
    }

    /// The roster as xlsx, written with constant memory.
    pub fn xlsx(&self) -> Result<Vec<u8>, DocError> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet_with_constant_memory()?;
        for (c, h) in Self::HEADERS.iter().enumerate() {
            ws.write_string(0, c as u16, *h)?;
        }
        for i in 0..self.rows {
            for (c, v) in self.row(i).iter().enumerate() {
                ws.write_string(i as u32 + 1, c as u16, v)?;
            }
        }
        Ok(wb.save_to_buffer()?)
    }

    /// The grids-and-buildings file the roster refers to, under `org_code`.
    pub fn grids_csv(&self, org_code: &str) -> String {
        let mut s = String::from("网格编码,网格名称,所属组织编码,楼栋名称,楼栋地址,单元数,层数\n");
        for b in 0..self.buildings() {
            let g = b / 10 + 1;
            s.push_str(&format!("BG{g:04},基准网格{g},{org_code},{}幢,基准路{}号,2,13\n", b % 10 + 1, b + 1));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{MAX_BYTES, read_rows};

    #[test]
    fn templates_read_back_with_their_headers() {
        for kind in ImportKind::ALL {
            let bytes = template(*kind).unwrap();
            let mut rows = Vec::new();
            read_rows(&bytes, MAX_BYTES, &mut |_, c| {
                rows.push(c.into_iter().map(|c| c.text).collect::<Vec<_>>());
                true
            })
            .unwrap();
            let headers: Vec<&str> = columns(*kind).iter().map(|c| c.header).collect();
            assert_eq!(rows[0], headers, "{kind:?}");
            redcell_domain::rosters::match_headers(*kind, &rows[0]).unwrap();
        }
    }

    #[test]
    fn error_sheet_mirrors_rows() {
        let mut s = ErrorSheet::new(ImportKind::Households).unwrap();
        s.header(1, &["姓名".into(), "身份证号".into(), ERROR_HEADER.into()]).unwrap();
        s.row(2, &["张三".into(), "=1+1".into(), "旧错误".into()], "身份证号：校验位错误").unwrap();
        s.row(4, &["李四".into(), "x".into()], "").unwrap();
        let bytes = s.finish().unwrap();
        let mut rows = Vec::new();
        read_rows(&bytes, MAX_BYTES, &mut |n, c| {
            rows.push((n, c.into_iter().map(|c| c.text).collect::<Vec<_>>()));
            true
        })
        .unwrap();
        assert_eq!(rows[0].1, vec!["姓名", "身份证号", ERROR_HEADER]);
        assert_eq!(rows[1].1, vec!["张三", "'=1+1", "身份证号：校验位错误"]);
        assert_eq!(rows[2].0, 4);
    }
}
