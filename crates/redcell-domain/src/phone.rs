//! Mainland China phone numbers: mobiles and landlines.

use crate::error::FieldError;
use crate::i18n;
use serde::Serialize;

/// A normalised phone number: `13812345678` or `0571-87654321` (with optional `-ext`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let err = || FieldError::new("phone", "phone", i18n::PHONE_INVALID);
        let mut s: String = crate::ident::normalise(raw).replace(['（', '('], "").replace(['）', ')'], "-");
        if s.is_empty() {
            return Err(FieldError::new("phone", "required", i18n::REQUIRED));
        }
        for prefix in ["+86", "0086"] {
            if let Some(rest) = s.strip_prefix(prefix) {
                s = rest.trim_start_matches('-').to_string();
            }
        }
        let b = s.as_bytes();
        // Mobile: 1[3-9] and nine more digits.
        if b.len() == 11 && digits(&s) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
            return Ok(Phone(s));
        }
        // Landline: 0 + area code, subscriber number of 7–8 digits, optional extension.
        if b.first() != Some(&b'0') {
            return Err(err());
        }
        let parts: Vec<&str> = s.split('-').collect();
        let (area, number, ext) = match parts.as_slice() {
            [all] if digits(all) => {
                // No separator: 010/02x have 3-digit codes, others 4.
                let alen = if all.starts_with("01") || all.starts_with("02") { 3 } else { 4 };
                if all.len() <= alen {
                    return Err(err());
                }
                (&all[..alen], &all[alen..], None)
            }
            [a, n] => (*a, *n, None),
            [a, n, e] => (*a, *n, Some(*e)),
            _ => return Err(err()),
        };
        let area_ok = digits(area)
            && if area.starts_with("01") || area.starts_with("02") { area.len() == 3 } else { area.len() == 4 };
        let number_ok = digits(number) && (7..=8).contains(&number.len()) && !number.starts_with('0');
        let ext_ok = ext.is_none_or(|e| digits(e) && e.len() <= 6);
        if !(area_ok && number_ok && ext_ok) {
            return Err(err());
        }
        Ok(Phone(match ext {
            Some(e) => format!("{area}-{number}-{e}"),
            None => format!("{area}-{number}"),
        }))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

/// Mask a stored phone: `138****5678`, `0571-****4321`.
pub fn mask_phone(s: &str) -> String {
    if let Some((area, rest)) = s.split_once('-') {
        let number = rest.split('-').next().unwrap_or(rest);
        let keep = number.len().saturating_sub(4);
        return format!("{area}-{}{}", "*".repeat(keep), &number[keep..]);
    }
    if s.len() == 11 {
        return format!("{}****{}", &s[..3], &s[7..]);
    }
    "*".repeat(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mobiles() {
        assert_eq!(Phone::parse("138 1234 5678").unwrap().as_str(), "13812345678");
        assert_eq!(Phone::parse("+86 13812345678").unwrap().as_str(), "13812345678");
        assert_eq!(Phone::parse("13812345678").unwrap().masked(), "138****5678");
        assert!(Phone::parse("12812345678").is_err());
        assert!(Phone::parse("1381234567").is_err());
    }

    #[test]
    fn landlines() {
        assert_eq!(Phone::parse("0571-87654321").unwrap().as_str(), "0571-87654321");
        assert_eq!(Phone::parse("01088886666").unwrap().as_str(), "010-88886666");
        assert_eq!(Phone::parse("(0571)87654321").unwrap().as_str(), "0571-87654321");
        assert_eq!(Phone::parse("0571-87654321-123").unwrap().as_str(), "0571-87654321-123");
        assert_eq!(Phone::parse("0571-87654321").unwrap().masked(), "0571-****4321");
        assert!(Phone::parse("0571-0765432").is_err());
        assert!(Phone::parse("05-87654321").is_err());
        assert!(Phone::parse("hello").is_err());
        assert_eq!(Phone::parse("").unwrap_err().code, "required");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") { let _ = Phone::parse(&s); }

        #[test]
        fn any_valid_mobile_round_trips(second in 3u8..10, rest in 0u64..1_000_000_000) {
            let s = format!("1{second}{rest:09}");
            let p = Phone::parse(&s).unwrap();
            prop_assert_eq!(Phone::parse(p.as_str()).unwrap(), p.clone());
            prop_assert!(p.masked().contains("****"));
        }
    }
}
