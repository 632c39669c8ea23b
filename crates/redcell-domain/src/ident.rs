//! Resident identity card numbers (GB 11643-1999).

use crate::error::FieldError;
use crate::i18n;
use crate::registry::Gender;
use chrono::NaiveDate;
use serde::Serialize;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// Province-level codes in use, plus `99`, which redcell reserves for synthetic
/// (demo and test) people so that they can never be mistaken for real ones.
const PROVINCES: &[u32] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
    64, 65, 71, 81, 82, 83, 91, 99,
];

/// The fake region used for synthetic people.
pub const DEMO_REGION: &str = "990101";

/// An 18-character ID number whose region, birth date and check digit are valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct IdNumber(String);

/// The GB 11643 check character for the first 17 digits.
pub fn check_char(first17: &[u8]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS.iter()).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK[(sum % 11) as usize] as char
}

/// Normalise what people type or paste: strip whitespace, map full-width
/// digits and letters to ASCII, upper-case the final x.
pub fn normalise(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            'ｘ' | 'Ｘ' | 'x' => 'X',
            _ => c,
        })
        .collect()
}

impl IdNumber {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let f = "id_number";
        let s = normalise(raw);
        if s.is_empty() {
            return Err(FieldError::new(f, "required", i18n::REQUIRED));
        }
        if s.chars().count() != 18 {
            return Err(FieldError::new(f, "length", i18n::ID_LENGTH));
        }
        let b = s.as_bytes();
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(FieldError::new(f, "chars", i18n::ID_CHARS));
        }
        let province = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
        if !PROVINCES.contains(&province) {
            return Err(FieldError::new(f, "region", i18n::ID_REGION));
        }
        let date =
            NaiveDate::parse_from_str(&s[6..14], "%Y%m%d").map_err(|_| FieldError::new(f, "birth", i18n::ID_BIRTH))?;
        if date < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default() {
            return Err(FieldError::new(f, "birth", i18n::ID_BIRTH));
        }
        if check_char(&b[..17]) != b[17] as char {
            return Err(FieldError::new(f, "checksum", i18n::ID_CHECKSUM));
        }
        Ok(IdNumber(s))
    }

    /// Build a valid number from region, birth date and sequence (0..=999);
    /// used by the demo generator and tests.
    pub fn synthesise(region: &str, birth: NaiveDate, seq: u32) -> Self {
        let mut s = format!("{}{}{:03}", region, birth.format("%Y%m%d"), seq % 1000);
        let c = check_char(s.as_bytes());
        s.push(c);
        IdNumber(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").unwrap_or_default()
    }
    /// The 17th digit is odd for men and even for women.
    pub fn gender(&self) -> Gender {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 { Gender::Male } else { Gender::Female }
    }
    pub fn is_synthetic(&self) -> bool {
        self.0.starts_with("99")
    }
    pub fn masked(&self) -> String {
        mask_id(&self.0)
    }
}

/// Mask a stored ID number: first four and last four characters shown.
pub fn mask_id(s: &str) -> String {
    let n = s.chars().count();
    if n <= 8 {
        return "*".repeat(n);
    }
    let head: String = s.chars().take(4).collect();
    let tail: String = s.chars().skip(n - 4).collect();
    format!("{head}{}{tail}", "*".repeat(n - 8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_valid_number() {
        // The textbook example from GB 11643.
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(id.gender(), Gender::Female);
        assert_eq!(id.masked(), "1101**********002X");
    }

    #[test]
    fn lower_case_x_full_width_and_spaces_are_normalised() {
        assert!(IdNumber::parse(" 110105 19491231 002x ").is_ok());
        assert!(IdNumber::parse("１１０１０５１９４９１２３１００２Ｘ").is_ok());
    }

    #[test]
    fn rejects_with_reasons() {
        assert_eq!(IdNumber::parse("110105194912310021").unwrap_err().code, "checksum");
        assert_eq!(IdNumber::parse("1101051949123100").unwrap_err().code, "length");
        assert_eq!(IdNumber::parse("11010519491331002X").unwrap_err().code, "birth");
        assert_eq!(IdNumber::parse("00010519491231002X").unwrap_err().code, "region");
        assert_eq!(IdNumber::parse("1101051949123100AX").unwrap_err().code, "chars");
        assert_eq!(IdNumber::parse("").unwrap_err().code, "required");
        assert_eq!(IdNumber::parse("x").unwrap_err().field, "id_number");
    }

    proptest! {
        #[test]
        fn synthesised_numbers_parse_back(days in 0i64..40000, seq in 0u32..1000) {
            let birth = NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Duration::days(days);
            let id = IdNumber::synthesise(DEMO_REGION, birth, seq);
            let back = IdNumber::parse(id.as_str()).unwrap();
            prop_assert_eq!(back.birth_date(), birth);
            prop_assert!(back.is_synthetic());
        }

        #[test]
        fn one_changed_digit_is_caught(days in 0i64..40000, seq in 0u32..1000, pos in 0usize..17, delta in 1u8..10) {
            let birth = NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Duration::days(days);
            let id = IdNumber::synthesise(DEMO_REGION, birth, seq);
            let mut b = id.as_str().as_bytes().to_vec();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            let s = String::from_utf8(b).unwrap();
            prop_assert!(IdNumber::parse(&s).is_err());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = IdNumber::parse(&s);
        }
    }
}
