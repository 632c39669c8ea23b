//! Raw input (from a form or a JSON body) and its validation into typed records.
//!
//! Raw structs accept strings, numbers or booleans for every field so that a
//! form and a JSON client share one shape; `validate` names each bad field.

use crate::error::{FieldError, Invalid};
use crate::ids::*;
use crate::registry::{Education, PartyPost};
use crate::text::{Name, Text, parse_date};
use crate::{
    CadreKind, Gender, HouseholdTags, IdNumber, MemberCategory, MemberStatus, OrgCode, OrgKind, Phone, UnitKind, i18n,
};
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};

/// Accept a string, number or boolean as an optional string.
pub fn stringish<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        S(String),
        I(i64),
        F(f64),
        B(bool),
    }
    Ok(Option::<V>::deserialize(d)?.map(|v| match v {
        V::S(s) => s,
        V::I(i) => i.to_string(),
        V::F(f) => f.to_string(),
        V::B(b) => b.to_string(),
    }))
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// An id typed into a field: a positive integer of the field's id type.
pub fn id_ref<T: TypedId>(field: &str, v: &Option<String>, required: bool) -> Result<Option<T>, FieldError> {
    let t = s(v).trim();
    if t.is_empty() {
        return if required { Err(FieldError::new(field, "required", i18n::REQUIRED)) } else { Ok(None) };
    }
    t.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(|n| Some(T::from_i64(n)))
        .ok_or_else(|| FieldError::new(field, "number", i18n::NUMBER_INVALID))
}

fn int_in(field: &str, v: &Option<String>, lo: i64, hi: i64, default: Option<i64>) -> Result<i64, FieldError> {
    let t = s(v).trim();
    if t.is_empty() {
        return default.ok_or_else(|| FieldError::new(field, "required", i18n::REQUIRED));
    }
    let n: i64 = t.parse().map_err(|_| FieldError::new(field, "number", i18n::NUMBER_INVALID))?;
    if !(lo..=hi).contains(&n) {
        return Err(FieldError::new(field, "range", format!("{}（{lo}–{hi}）", i18n::RANGE_INVALID)));
    }
    Ok(n)
}

fn float_in(field: &str, v: &Option<String>, lim: f64, required: bool) -> Result<Option<f64>, FieldError> {
    let t = s(v).trim();
    if t.is_empty() {
        return if required { Err(FieldError::new(field, "required", i18n::REQUIRED)) } else { Ok(None) };
    }
    let x: f64 = t.parse().map_err(|_| FieldError::new(field, "number", i18n::COORD_INVALID))?;
    if !x.is_finite() || x.abs() > lim {
        return Err(FieldError::new(field, "range", i18n::COORD_INVALID));
    }
    Ok(Some(x))
}

fn opt_phone(field: &str, v: &Option<String>) -> Result<Option<Phone>, FieldError> {
    if s(v).trim().is_empty() { Ok(None) } else { Phone::parse(s(v)).map(Some).map_err(|e| e.on(field)) }
}

/// Optional free text up to `max` characters; `None` when blank.
pub fn opt_text(field: &str, v: &Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    Text::parse(field, s(v), max).map(Text::into_option)
}

fn name(field: &str, v: &Option<String>) -> Result<String, FieldError> {
    Name::parse(s(v)).map(Name::into_string).map_err(|e| e.on(field))
}

fn truthy(v: &Option<String>) -> bool {
    matches!(s(v).trim(), "true" | "on" | "1" | "yes" | "是")
}

/// A raw input struct: every field an optional string (a form or a JSON
/// client may send a string, number or boolean), so that a form can be shown
/// again as typed. For the API document, each field declares the type a
/// client sends and whether it is required (on create; a PATCH sends only
/// what changes): `required { name: Type }` and `optional { name: Type }`
/// (nullable); `extra { name: RustType => DocumentedType }` for fields that
/// are not strings.
macro_rules! raw_struct {
    ($(#[$m:meta])* $name:ident {
        required { $($(#[$rm:meta])* $rf:ident : $rt:ty),+ $(,)? }
        $(optional { $($(#[$om:meta])* $of:ident : $ot:ty),+ $(,)? })?
        $(extra { $($(#[$em:meta])* $ef:ident : $et:ty => $edt:ty),+ $(,)? })?
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name {
            $(
                $(#[$rm])*
                #[serde(default, deserialize_with = "stringish")]
                #[cfg_attr(feature = "openapi", schema(value_type = $rt, required = true))]
                pub $rf: Option<String>,
            )+
            $($(
                $(#[$om])*
                #[serde(default, deserialize_with = "stringish")]
                #[cfg_attr(feature = "openapi", schema(value_type = Option<$ot>))]
                pub $of: Option<String>,
            )+)?
            $($(
                $(#[$em])*
                #[serde(default)]
                #[cfg_attr(feature = "openapi", schema(value_type = $edt))]
                pub $ef: $et,
            )+)?
        }
    };
}

raw_struct!(
    /// An organisation as typed in a form or sent to the API.
    RawOrg {
        required {
            kind: OrgKind,
            /// The organisation's code, unique in the tenant.
            code: String,
            name: String,
        }
        optional {
            /// The parent organisation; required unless `kind` may be the root of a tenant.
            parent_id: i64,
            /// The secretary's name.
            secretary: String,
            phone: String,
        }
    }
);
raw_struct!(
    /// A grid as typed in a form or sent to the API.
    RawGrid {
        required {
            /// The organisation the grid belongs to.
            org_id: i64,
            code: String,
            name: String,
        }
        optional { description: String }
    }
);
raw_struct!(
    /// A building as typed in a form or sent to the API.
    RawBuilding {
        required {
            grid_id: i64,
            name: String,
            address: String,
        }
        optional {
            /// Entrances (单元), 1–50 (default 1).
            units: i64,
            /// Floors, 1–200 (default 1).
            floors: i64,
            /// Plan coordinates (each at most 10⁷ in absolute value).
            x: f64,
            y: f64,
            /// Latitude, −90 to 90.
            lat: f64,
            /// Longitude, −180 to 180.
            lon: f64,
        }
    }
);
raw_struct!(
    /// A household as typed in a form or sent to the API.
    RawHousehold {
        required {
            building_id: i64,
            /// The room number, e.g. `302`.
            room: String,
        }
        optional {
            /// The entrance (单元), 1–50 (default 1).
            unit_no: i64,
            note: String,
        }
        extra {
            /// Tags that drive duties (codes or labels).
            tags: Option<Vec<String>> => Option<Vec<crate::HouseholdTag>>,
        }
    }
);
raw_struct!(
    /// A resident as typed in a form or sent to the API.
    RawResident {
        required {
            name: String,
            /// The 18-character resident ID number.
            id_number: String,
        }
        optional {
            /// The household lived in; one of `household_id` and `org_id` is required.
            household_id: i64,
            /// The organisation of a person who does not live in the district.
            org_id: i64,
            /// Default: from the ID number (and must agree with it).
            gender: crate::Gender,
            /// `YYYY-MM-DD`; default: from the ID number (and must agree with it).
            birth_date: NaiveDate,
            phone: String,
            note: String,
        }
    }
);
raw_struct!(
    /// A party member as typed in a form or sent to the API.
    RawMember {
        required {
            /// The resident who is the member.
            resident_id: i64,
            /// The party organisation the member belongs to.
            org_id: i64,
            category: MemberCategory,
        }
        optional {
            /// Default `full`.
            status: MemberStatus,
            /// `YYYY-MM-DD`, not in the future.
            joined_on: NaiveDate,
            work_unit: String,
            skills: String,
            interests: String,
            free_time: String,
            /// A 党员中心户.
            central_household: bool,
            /// 书记, 副书记 or 委员 of the organisation's committee.
            party_post: PartyPost,
            education: Education,
            /// Holds the social worker's certificate (社会工作者职业水平证书).
            social_worker_cert: bool,
            /// Sits on both the party committee and the residents' committee (两委交叉任职).
            cross_appointed: bool,
            /// Days of concentrated training this year (0–366).
            training_days: u16,
        }
    }
);
raw_struct!(
    /// A cadre as typed in a form or sent to the API.
    RawCadre {
        required {
            org_id: i64,
            kind: CadreKind,
            name: String,
        }
        optional {
            phone: String,
            /// The work phone the cadre agreed to publish (public pages, boards).
            public_phone: String,
            title: String,
            /// The member record of a cadre who is a party member.
            member_id: i64,
        }
        extra {
            /// The grids the cadre is stationed in (their ids).
            stations: Option<Vec<i64>> => Option<Vec<i64>>,
        }
    }
);
raw_struct!(
    /// An enterprise, social organisation or facility as typed in a form or sent to the API.
    RawUnit {
        required {
            grid_id: i64,
            kind: UnitKind,
            name: String,
        }
        optional {
            address: String,
            /// The contact person.
            contact: String,
            phone: String,
        }
    }
);

#[derive(Debug, Clone, PartialEq)]
pub struct NewOrg {
    pub parent_id: Option<OrgId>,
    pub kind: OrgKind,
    pub code: OrgCode,
    pub name: String,
    pub secretary: Option<String>,
    pub phone: Option<Phone>,
}

impl RawOrg {
    pub fn validate(&self) -> Result<NewOrg, Invalid> {
        let mut e = Invalid::default();
        let parent_id = e.check(id_ref("parent_id", &self.parent_id, false));
        let kind = e.check(OrgKind::parse("kind", s(&self.kind)));
        let code = e.check(OrgCode::parse(s(&self.code)));
        let name = e.check(name("name", &self.name));
        let secretary = e.check(opt_text("secretary", &self.secretary, 40));
        let phone = e.check(opt_phone("phone", &self.phone));
        if let (Some(None), Some(k)) = (parent_id, kind)
            && !k.may_be_root()
        {
            e.push(FieldError::new("parent_id", "required", i18n::REQUIRED));
        }
        let (Some(kind), Some(code), Some(name), true) = (kind, code, name, e.is_empty()) else {
            return Err(e);
        };
        Ok(NewOrg {
            parent_id: parent_id.flatten(),
            kind,
            code,
            name,
            secretary: secretary.flatten(),
            phone: phone.flatten(),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewGrid {
    pub org_id: OrgId,
    pub code: OrgCode,
    pub name: String,
    pub description: Option<String>,
}

impl RawGrid {
    pub fn validate(&self) -> Result<NewGrid, Invalid> {
        let mut e = Invalid::default();
        let org_id = e.check(id_ref("org_id", &self.org_id, true));
        let code = e.check(OrgCode::parse(s(&self.code)));
        let name = e.check(name("name", &self.name));
        let description = e.check(opt_text("description", &self.description, 500));
        let (Some(code), true) = (code, e.is_empty()) else {
            return Err(e);
        };
        Ok(NewGrid {
            org_id: org_id.flatten().unwrap_or_default(),
            code,
            name: name.unwrap_or_default(),
            description: description.flatten(),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewBuilding {
    pub grid_id: GridId,
    pub name: String,
    pub address: String,
    pub units: i64,
    pub floors: i64,
    pub x: f64,
    pub y: f64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

impl RawBuilding {
    pub fn validate(&self) -> Result<NewBuilding, Invalid> {
        let mut e = Invalid::default();
        let grid_id = e.check(id_ref("grid_id", &self.grid_id, true));
        let name = e.check(name("name", &self.name));
        let address = e.check(Text::required("address", s(&self.address), 120));
        let units = e.check(int_in("units", &self.units, 1, 50, Some(1)));
        let floors = e.check(int_in("floors", &self.floors, 1, 200, Some(1)));
        let x = e.check(float_in("x", &self.x, 1e7, false));
        let y = e.check(float_in("y", &self.y, 1e7, false));
        let lat = e.check(float_in("lat", &self.lat, 90.0, false));
        let lon = e.check(float_in("lon", &self.lon, 180.0, false));
        e.into_result()?;
        Ok(NewBuilding {
            grid_id: grid_id.flatten().unwrap_or_default(),
            name: name.unwrap_or_default(),
            address: address.unwrap_or_default().into_string(),
            units: units.unwrap_or(1),
            floors: floors.unwrap_or(1),
            x: x.flatten().unwrap_or(0.0),
            y: y.flatten().unwrap_or(0.0),
            lat: lat.flatten(),
            lon: lon.flatten(),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewHousehold {
    pub building_id: BuildingId,
    pub unit_no: i64,
    pub room: String,
    pub tags: HouseholdTags,
    pub note: Option<String>,
}

impl RawHousehold {
    pub fn validate(&self) -> Result<NewHousehold, Invalid> {
        let mut e = Invalid::default();
        let building_id = e.check(id_ref("building_id", &self.building_id, true));
        let unit_no = e.check(int_in("unit_no", &self.unit_no, 1, 50, Some(1)));
        let room = e.check(Text::required("room", s(&self.room), 16));
        let tags = e.check(HouseholdTags::parse(self.tags.iter().flatten().map(String::as_str)));
        let note = e.check(opt_text("note", &self.note, 500));
        e.into_result()?;
        Ok(NewHousehold {
            building_id: building_id.flatten().unwrap_or_default(),
            unit_no: unit_no.unwrap_or(1),
            room: room.unwrap_or_default().into_string(),
            tags: tags.unwrap_or_default(),
            note: note.flatten(),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewResident {
    pub household_id: Option<HouseholdId>,
    /// Required when the person has no household in the territory.
    pub org_id: Option<OrgId>,
    pub name: String,
    pub gender: Gender,
    pub birth_date: NaiveDate,
    pub id_number: IdNumber,
    pub phone: Option<Phone>,
    pub note: Option<String>,
}

impl RawResident {
    /// Validate against `today` (birth dates may not lie in the future). Gender
    /// and birth date default to what the ID number says and must agree with it.
    pub fn validate(&self, today: NaiveDate) -> Result<NewResident, Invalid> {
        let mut e = Invalid::default();
        let household_id = e.check(id_ref("household_id", &self.household_id, false)).flatten();
        let org_id = e.check(id_ref("org_id", &self.org_id, false)).flatten();
        if household_id.is_none() && org_id.is_none() && !e.0.iter().any(|x| x.field == "org_id") {
            e.push(FieldError::new("household_id", "required", "请选择住户，或为不在辖区居住的人选择所属组织"));
        }
        let name = e.check(name("name", &self.name));
        let id = e.check(IdNumber::parse(s(&self.id_number)));
        let gender = if s(&self.gender).trim().is_empty() {
            id.as_ref().map(IdNumber::gender)
        } else {
            e.check(Gender::parse("gender", s(&self.gender)))
        };
        let birth = match e.check(parse_date("birth_date", s(&self.birth_date))) {
            Some(Some(d)) => Some(d),
            Some(None) => id.as_ref().map(IdNumber::birth_date),
            None => None,
        };
        if let Some(b) = birth {
            if b > today {
                e.push(FieldError::new("birth_date", "future", i18n::BIRTH_FUTURE));
            } else if b < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(b) {
                e.push(FieldError::new("birth_date", "too_old", i18n::BIRTH_TOO_OLD));
            }
        }
        if let Some(id) = &id {
            if birth.is_some_and(|b| b != id.birth_date()) {
                e.push(FieldError::new("birth_date", "mismatch", i18n::BIRTH_MISMATCH));
            }
            if gender.is_some_and(|g| g != id.gender()) {
                e.push(FieldError::new("gender", "mismatch", i18n::GENDER_MISMATCH));
            }
        }
        let phone = e.check(opt_phone("phone", &self.phone));
        let note = e.check(opt_text("note", &self.note, 500));
        e.into_result()?;
        match (name, gender, birth, id) {
            (Some(name), Some(gender), Some(birth_date), Some(id_number)) => Ok(NewResident {
                household_id,
                org_id,
                name,
                gender,
                birth_date,
                id_number,
                phone: phone.flatten(),
                note: note.flatten(),
            }),
            _ => Err(FieldError::new("id_number", "required", i18n::REQUIRED).into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewMember {
    pub resident_id: ResidentId,
    pub org_id: OrgId,
    pub category: MemberCategory,
    pub status: MemberStatus,
    pub joined_on: Option<NaiveDate>,
    pub work_unit: Option<String>,
    pub skills: Option<String>,
    pub interests: Option<String>,
    pub free_time: Option<String>,
    pub central_household: bool,
    pub quals: Qualifications,
}

/// What the assessment of secretaries and cadres reads from a member's record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Qualifications {
    pub party_post: Option<PartyPost>,
    pub education: Option<Education>,
    pub social_worker_cert: bool,
    pub cross_appointed: bool,
    /// (year, days) of concentrated training.
    pub training: Option<(i32, u16)>,
}

impl RawMember {
    pub fn validate(&self, today: NaiveDate) -> Result<NewMember, Invalid> {
        let mut e = Invalid::default();
        let resident_id = e.check(id_ref("resident_id", &self.resident_id, true)).flatten();
        let org_id = e.check(id_ref("org_id", &self.org_id, true)).flatten();
        let category = e.check(MemberCategory::parse("category", s(&self.category)));
        let status = if s(&self.status).trim().is_empty() {
            Some(MemberStatus::Full)
        } else {
            e.check(MemberStatus::parse("status", s(&self.status)))
        };
        let joined_on = e.check(parse_date("joined_on", s(&self.joined_on))).flatten();
        if joined_on.is_some_and(|d| d > today) {
            e.push(FieldError::new("joined_on", "future", "入党日期不能晚于今天"));
        }
        let work_unit = e.check(opt_text("work_unit", &self.work_unit, 80)).flatten();
        let skills = e.check(opt_text("skills", &self.skills, 200)).flatten();
        let interests = e.check(opt_text("interests", &self.interests, 200)).flatten();
        let free_time = e.check(opt_text("free_time", &self.free_time, 200)).flatten();
        let party_post = if s(&self.party_post).trim().is_empty() {
            None
        } else {
            e.check(PartyPost::parse("party_post", s(&self.party_post)))
        };
        let education = if s(&self.education).trim().is_empty() {
            None
        } else {
            e.check(Education::parse("education", s(&self.education)))
        };
        let training = match s(&self.training_days).trim() {
            "" => None,
            t => match t.parse::<u16>() {
                Ok(d) if d <= 366 => Some((chrono::Datelike::year(&today), d)),
                _ => {
                    e.push(FieldError::new("training_days", "range", "本年度培训天数应为 0 到 366 之间的整数"));
                    None
                }
            },
        };
        e.into_result()?;
        Ok(NewMember {
            resident_id: resident_id.unwrap_or_default(),
            org_id: org_id.unwrap_or_default(),
            category: category.unwrap_or(MemberCategory::Community),
            status: status.unwrap_or(MemberStatus::Full),
            joined_on,
            work_unit,
            skills,
            interests,
            free_time,
            central_household: truthy(&self.central_household),
            quals: Qualifications {
                party_post,
                education,
                social_worker_cert: truthy(&self.social_worker_cert),
                cross_appointed: truthy(&self.cross_appointed),
                training,
            },
        })
    }
}

/// A member joins the party at 18 or later: the join date may not lie before
/// the 18th birthday (the one rule for forms, the API and roster import).
pub fn check_joined_on(birth: NaiveDate, joined_on: Option<NaiveDate>) -> Result<(), FieldError> {
    match joined_on {
        Some(j) if j < birth.checked_add_months(chrono::Months::new(12 * 18)).unwrap_or(birth) => {
            Err(FieldError::new("joined_on", "too_young", i18n::JOIN_BEFORE_BIRTH))
        }
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewCadre {
    pub org_id: OrgId,
    pub kind: CadreKind,
    pub name: String,
    pub phone: Option<Phone>,
    /// Published with the cadre's consent; `None`: nothing published.
    pub public_phone: Option<Phone>,
    pub title: Option<String>,
    pub member_id: Option<MemberId>,
    /// Organisations the cadre is stationed in (may be empty).
    pub stations: Vec<OrgId>,
}

impl RawCadre {
    pub fn validate(&self) -> Result<NewCadre, Invalid> {
        let mut e = Invalid::default();
        let org_id = e.check(id_ref("org_id", &self.org_id, true)).flatten();
        let kind = e.check(CadreKind::parse("kind", s(&self.kind)));
        let name = e.check(name("name", &self.name));
        let phone = e.check(opt_phone("phone", &self.phone)).flatten();
        let public_phone = e.check(opt_phone("public_phone", &self.public_phone)).flatten();
        let title = e.check(opt_text("title", &self.title, 40)).flatten();
        let member_id = e.check(id_ref("member_id", &self.member_id, false)).flatten();
        let mut stations: Vec<i64> = self.stations.clone().unwrap_or_default();
        if stations.iter().any(|s| *s <= 0) {
            e.push(FieldError::new("stations", "number", i18n::NUMBER_INVALID));
        }
        stations.sort_unstable();
        stations.dedup();
        let stations: Vec<OrgId> = stations.into_iter().map(OrgId::new).collect();
        e.into_result()?;
        Ok(NewCadre {
            org_id: org_id.unwrap_or_default(),
            kind: kind.unwrap_or(CadreKind::GridWorker),
            name: name.unwrap_or_default(),
            phone,
            public_phone,
            title,
            member_id,
            stations,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewUnit {
    pub grid_id: GridId,
    pub kind: UnitKind,
    pub name: String,
    pub address: Option<String>,
    pub contact: Option<String>,
    pub phone: Option<Phone>,
}

impl RawUnit {
    pub fn validate(&self) -> Result<NewUnit, Invalid> {
        let mut e = Invalid::default();
        let grid_id = e.check(id_ref("grid_id", &self.grid_id, true)).flatten();
        let kind = e.check(UnitKind::parse("kind", s(&self.kind)));
        let name = e.check(name("name", &self.name));
        let address = e.check(opt_text("address", &self.address, 120)).flatten();
        let contact = e.check(opt_text("contact", &self.contact, 40)).flatten();
        let phone = e.check(opt_phone("phone", &self.phone)).flatten();
        e.into_result()?;
        Ok(NewUnit {
            grid_id: grid_id.unwrap_or_default(),
            kind: kind.unwrap_or(UnitKind::Facility),
            name: name.unwrap_or_default(),
            address,
            contact,
            phone,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn resident_defaults_from_id_number() {
        let r = RawResident {
            household_id: Some("3".into()),
            name: Some("李四".into()),
            id_number: Some("11010519491231002X".into()),
            ..Default::default()
        };
        let n = r.validate(today()).unwrap();
        assert_eq!(n.gender, Gender::Female);
        assert_eq!(n.birth_date, NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
    }

    #[test]
    fn resident_errors_name_every_field() {
        let r = RawResident {
            name: Some("".into()),
            id_number: Some("11010519491231002X".into()),
            gender: Some("男".into()),
            birth_date: Some("1950-01-01".into()),
            phone: Some("123".into()),
            ..Default::default()
        };
        let e = r.validate(today()).unwrap_err();
        for f in ["household_id", "name", "gender", "birth_date", "phone"] {
            assert!(e.for_field(f).is_some(), "missing error for {f}: {e}");
        }
    }

    #[test]
    fn future_birth_is_rejected() {
        let id = IdNumber::synthesise("990101", NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(), 1);
        let r = RawResident {
            org_id: Some("1".into()),
            name: Some("未来".into()),
            id_number: Some(id.as_str().into()),
            ..Default::default()
        };
        assert_eq!(r.validate(today()).unwrap_err().first().unwrap().code, "future");
    }

    #[test]
    fn json_numbers_are_accepted_as_strings() {
        let b: RawBuilding = serde_json::from_str(
            r#"{"grid_id": 4, "name": "1幢", "address": "幸福路1号", "units": 2, "floors": 6, "x": 10.5, "y": 3}"#,
        )
        .unwrap();
        let v = b.validate().unwrap();
        assert_eq!((v.grid_id, v.units, v.x), (GridId::new(4), 2, 10.5));
        let bad: RawBuilding = serde_json::from_str(r#"{"grid_id": "x", "units": 0, "lat": 91}"#).unwrap();
        let e = bad.validate().unwrap_err();
        for f in ["grid_id", "name", "address", "units", "lat"] {
            assert!(e.for_field(f).is_some(), "missing error for {f}: {e}");
        }
    }

    #[test]
    fn root_kinds_only_without_parent() {
        let r = RawOrg {
            kind: Some("party_group".into()),
            code: Some("G1".into()),
            name: Some("一组".into()),
            ..Default::default()
        };
        assert_eq!(r.validate().unwrap_err().first().unwrap().field, "parent_id");
        let r = RawOrg {
            kind: Some("街道党工委".into()),
            code: Some("S1".into()),
            name: Some("街道".into()),
            ..Default::default()
        };
        assert!(r.validate().is_ok());
    }
}
