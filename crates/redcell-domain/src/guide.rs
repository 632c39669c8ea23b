//! The service guide (便民服务指南, SPEC §10): each errand a resident can
//! bring to the street or the community, with its handling class, the
//! materials to bring, the working days it takes, where to go and who may do
//! it on the resident's behalf — so that nobody has to ask twice or come back
//! for a missing paper.

use crate::error::{FieldError, Invalid};
use crate::input::{id_ref, stringish};
use crate::requests::{ErrandClass, default_working_days};
use crate::text::{Name, Text};
use crate::{OrgId, i18n};
use serde::Deserialize;

crate::id_types!(GuideEntryId: "an entry of the service guide");

/// Materials: at most this many lines, each at most [`MATERIAL_CHARS`].
pub const MAX_MATERIALS: usize = 30;
pub const MATERIAL_CHARS: usize = 100;
/// Working days an errand may take at most.
pub const MAX_WORKING_DAYS: i64 = 60;

/// A guide entry as typed in a form or sent to the API.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RawGuideEntry {
    /// The organisation offering the errand (the street or a community).
    #[serde(default, deserialize_with = "stringish")]
    pub org_id: Option<String>,
    /// The errand, e.g. 老年人优待证办理.
    #[serde(default, deserialize_with = "stringish")]
    pub name: Option<String>,
    /// Handling class: immediate, promised, supplement, joint or escalated.
    #[serde(default, deserialize_with = "stringish")]
    pub class: Option<String>,
    /// Materials to bring, one per line.
    #[serde(default, deserialize_with = "stringish")]
    pub materials: Option<String>,
    /// Working days it takes (default: the class's).
    #[serde(default, deserialize_with = "stringish")]
    pub working_days: Option<String>,
    /// Where to go (office, window, hours).
    #[serde(default, deserialize_with = "stringish")]
    pub place: Option<String>,
    /// Who may do it on the resident's behalf (代办), if anyone.
    #[serde(default, deserialize_with = "stringish")]
    pub proxy: Option<String>,
}

/// A validated guide entry.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGuideEntry {
    pub org_id: OrgId,
    pub name: String,
    pub class: ErrandClass,
    pub materials: Vec<String>,
    pub working_days: i64,
    pub place: String,
    pub proxy: Option<String>,
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// The materials as lines: trimmed, empty lines dropped, each within limits.
pub fn material_lines(raw: &str) -> Result<Vec<String>, FieldError> {
    let lines: Vec<String> = raw.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    if lines.len() > MAX_MATERIALS {
        return Err(FieldError::new("materials", "too_many", format!("{}（{MAX_MATERIALS}）", i18n::RANGE_INVALID)));
    }
    for l in &lines {
        Text::parse("materials", l, MATERIAL_CHARS)?;
    }
    Ok(lines)
}

impl RawGuideEntry {
    pub fn validate(&self) -> Result<NewGuideEntry, Invalid> {
        let mut e = Invalid::default();
        let org_id = e.check(id_ref::<OrgId>("org_id", &self.org_id, true)).flatten();
        let name = e.check(Name::parse(s(&self.name)).map_err(|x| x.on("name")));
        let class = e.check(ErrandClass::parse("class", s(&self.class)));
        let materials = e.check(material_lines(s(&self.materials)));
        let days = match s(&self.working_days).trim() {
            "" => Ok(class.map(|c| i64::from(default_working_days(c))).unwrap_or(0)),
            t => t
                .parse::<i64>()
                .map_err(|_| FieldError::new("working_days", "number", i18n::NUMBER_INVALID))
                .and_then(|n| {
                    if (0..=MAX_WORKING_DAYS).contains(&n) {
                        Ok(n)
                    } else {
                        Err(FieldError::new(
                            "working_days",
                            "range",
                            format!("{}（0–{MAX_WORKING_DAYS}）", i18n::RANGE_INVALID),
                        ))
                    }
                }),
        };
        let days = e.check(days);
        let place = e.check(Text::required("place", s(&self.place), 120));
        let proxy = e.check(Text::parse("proxy", s(&self.proxy), 200)).and_then(Text::into_option);
        match (org_id, name, class, materials, days, place) {
            (Some(org_id), Some(name), Some(class), Some(materials), Some(working_days), Some(place))
                if e.is_empty() =>
            {
                Ok(NewGuideEntry {
                    org_id,
                    name: name.into_string(),
                    class,
                    materials,
                    working_days,
                    place: place.into_string(),
                    proxy,
                })
            }
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawGuideEntry {
        RawGuideEntry {
            org_id: Some("3".into()),
            name: Some("老年人优待证办理".into()),
            class: Some("immediate".into()),
            materials: Some("身份证\n\n 户口簿 \n一寸照片两张".into()),
            working_days: None,
            place: Some("社区党群服务中心一楼窗口".into()),
            proxy: Some("子女持双方身份证可代办".into()),
        }
    }

    #[test]
    fn a_good_entry() {
        let n = raw().validate().unwrap();
        assert_eq!(n.materials, vec!["身份证", "户口簿", "一寸照片两张"]);
        assert_eq!((n.class, n.working_days), (ErrandClass::Immediate, 0));
        let n = RawGuideEntry { class: Some("联办件".into()), ..raw() }.validate().unwrap();
        assert_eq!(n.working_days, 10, "the class's days when none are given");
    }

    #[test]
    fn every_bad_field_named() {
        let bad = RawGuideEntry {
            org_id: Some("x".into()),
            name: Some(String::new()),
            class: Some("someday".into()),
            materials: Some("a\n".repeat(31)),
            working_days: Some("99".into()),
            place: None,
            proxy: None,
        };
        let e = bad.validate().unwrap_err();
        let mut fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        fields.sort();
        assert_eq!(fields, vec!["class", "materials", "name", "org_id", "place", "working_days"]);
    }
}
