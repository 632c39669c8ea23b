//! Free text with limits: trimmed, bounded, no control characters.

use crate::error::FieldError;
use crate::i18n;
use serde::Serialize;

fn clean(field: &str, raw: &str, max_chars: usize) -> Result<String, FieldError> {
    let s = raw.trim();
    if s.chars().count() > max_chars {
        return Err(FieldError::new(field, "too_long", format!("{}（最多{}个字）", i18n::TOO_LONG, max_chars)));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::new(field, "control_chars", i18n::CONTROL_CHARS));
    }
    Ok(s.to_string())
}

/// A person's or organisation's name: 1–40 characters, required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub const MAX: usize = 40;
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = clean("name", raw, Self::MAX)?;
        if s.is_empty() {
            return Err(FieldError::new("name", "required", i18n::REQUIRED));
        }
        Ok(Name(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Optional free text up to a limit (addresses, notes, skills).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub fn parse(field: &str, raw: &str, max_chars: usize) -> Result<Self, FieldError> {
        clean(field, raw, max_chars).map(Text)
    }
    /// Like `parse`, but empty is an error.
    pub fn required(field: &str, raw: &str, max_chars: usize) -> Result<Self, FieldError> {
        let t = Self::parse(field, raw, max_chars)?;
        if t.0.is_empty() {
            return Err(FieldError::new(field, "required", i18n::REQUIRED));
        }
        Ok(t)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
    /// `None` when empty.
    pub fn into_option(self) -> Option<String> {
        if self.0.is_empty() { None } else { Some(self.0) }
    }
}

/// Parse an optional `YYYY-MM-DD` date.
pub fn parse_date(field: &str, raw: &str) -> Result<Option<chrono::NaiveDate>, FieldError> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| FieldError::new(field, "date", i18n::DATE_INVALID))
}

/// A date that may be left empty (then `today`), not later than `today` nor
/// before 1949-10-01.
pub fn past_date(field: &str, v: &Option<String>, today: chrono::NaiveDate) -> Result<chrono::NaiveDate, FieldError> {
    let d = parse_date(field, v.as_deref().unwrap_or(""))?.unwrap_or(today);
    if d > today {
        return Err(FieldError::new(field, "future", i18n::DATE_FUTURE));
    }
    if d < chrono::NaiveDate::from_ymd_opt(1949, 10, 1).unwrap_or(d) {
        return Err(FieldError::new(field, "range", i18n::DATE_TOO_OLD));
    }
    Ok(d)
}

/// Neutralise text that a spreadsheet would run as a formula (a cell starting
/// with `=`, `+`, `-`, `@`, tab or carriage return) by prefixing an apostrophe.
/// Every export applies it.
pub fn spreadsheet_safe(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => std::borrow::Cow::Owned(format!("'{s}")),
        _ => std::borrow::Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_trims_and_bounds() {
        assert_eq!(Name::parse("  张三 ").unwrap().as_str(), "张三");
        assert_eq!(Name::parse("").unwrap_err().code, "required");
        assert_eq!(Name::parse(&"王".repeat(41)).unwrap_err().code, "too_long");
        assert_eq!(Name::parse("a\u{0}b").unwrap_err().code, "control_chars");
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(spreadsheet_safe("=1+1"), "'=1+1");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("-2"), "'-2");
        assert_eq!(spreadsheet_safe("张三"), "张三");
        assert_eq!(spreadsheet_safe(""), "");
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("d", "").unwrap(), None);
        assert!(parse_date("d", "2024-02-30").is_err());
        assert!(parse_date("d", "2024-02-29").unwrap().is_some());
    }
}
