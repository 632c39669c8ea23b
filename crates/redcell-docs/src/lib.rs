//! redcell-docs: printable and downloadable documents (xlsx rosters, PDF boards,
//! SVG charts, QR codes). Kept in its own crate because the PDF engine (typst)
//! takes minutes to compile; nothing else needs to rebuild when it changes.
//!
//! Documents arrive with the capabilities that need them (rosters, boards).
//! For now it holds only the spreadsheet-safety rule every export will share.

/// Neutralise a cell that a spreadsheet would treat as a formula (`=`, `+`,
/// `-`, `@`, tab, carriage return) by prefixing an apostrophe.
pub fn safe_cell(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => std::borrow::Cow::Owned(format!("'{s}")),
        _ => std::borrow::Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_cell;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(safe_cell("=1+1"), "'=1+1");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("张三"), "张三");
        assert_eq!(safe_cell(""), "");
    }
}
