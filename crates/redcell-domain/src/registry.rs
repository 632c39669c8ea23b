//! Enumerations of the registry (SPEC §1).

use crate::code_enum;
use crate::error::FieldError;
use serde::Serialize;

code_enum!(Gender {
    Male = "male": "男",
    Female = "female": "女",
});

code_enum!(
    /// Household tags that drive duties (visits, care, first contact).
    HouseholdTag {
        Hardship = "hardship": "困难家庭",
        Unemployed = "unemployed": "失业",
        ElderlyAlone = "elderly_alone": "孤寡/空巢老人",
        LeftBehindChild = "left_behind_child": "留守儿童",
        SpecialGroup = "special_group": "特殊人群",
        KeyResident = "key_resident": "重点群众",
        NewArrival = "new_arrival": "新迁入",
    }
);

impl HouseholdTag {
    pub fn bit(self) -> i64 {
        1 << HouseholdTag::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// A set of household tags, stored as a bit mask (`tags & mask` works on both
/// SQLite and PostgreSQL).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(into = "Vec<&'static str>")]
pub struct HouseholdTags(i64);

impl From<HouseholdTags> for Vec<&'static str> {
    fn from(t: HouseholdTags) -> Self {
        t.iter().map(|t| t.code()).collect()
    }
}

impl HouseholdTags {
    pub fn from_bits(bits: i64) -> Self {
        let all: i64 = HouseholdTag::ALL.iter().map(|t| t.bit()).sum();
        HouseholdTags(bits & all)
    }
    pub fn bits(self) -> i64 {
        self.0
    }
    pub fn with(self, t: HouseholdTag) -> Self {
        HouseholdTags(self.0 | t.bit())
    }
    pub fn has(self, t: HouseholdTag) -> bool {
        self.0 & t.bit() != 0
    }
    pub fn iter(self) -> impl Iterator<Item = HouseholdTag> {
        HouseholdTag::ALL.iter().copied().filter(move |t| self.has(*t))
    }
    pub fn labels(self) -> Vec<&'static str> {
        self.iter().map(|t| t.label()).collect()
    }
    /// Parse a list of codes or labels.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, FieldError> {
        let mut t = HouseholdTags::default();
        for s in items {
            if !s.trim().is_empty() {
                t = t.with(HouseholdTag::parse("tags", s)?);
            }
        }
        Ok(t)
    }
}

code_enum!(
    /// The "6×3" member categories.
    MemberCategory {
        Cadre = "cadre": "党员干部",
        Retired = "retired": "老党员及离退休职工党员",
        Community = "community": "农民/社区党员",
        NonPublic = "non_public": "非公经济组织党员",
        Mobile = "mobile": "流动党员",
        Hardship = "hardship": "生活困难党员",
    }
);

code_enum!(
    /// A member's highest education (学历), recorded for the assessment of
    /// secretaries and cadres.
    Education {
        Primary = "primary": "小学",
        Junior = "junior": "初中",
        Senior = "senior": "高中/中专",
        College = "college": "大专",
        Bachelor = "bachelor": "本科",
        Postgraduate = "postgraduate": "研究生",
    }
);

impl Education {
    /// 大专及以上.
    pub fn college_or_above(self) -> bool {
        matches!(self, Education::College | Education::Bachelor | Education::Postgraduate)
    }
}

code_enum!(
    /// A member's post in the party organisation's committee (书记, 副书记,
    /// 委员); the contact quotas' roles are [`crate::coverage::PartyRole`].
    PartyPost {
        Secretary = "secretary": "书记",
        Deputy = "deputy": "副书记",
        Committee = "committee": "委员",
    }
);

code_enum!(MemberStatus {
    Full = "full": "正式党员",
    Probationary = "probationary": "预备党员",
});

code_enum!(
    /// Kinds of cadre in the network.
    CadreKind {
        StreetCadre = "street_cadre": "街道干部",
        StationedCadre = "stationed_cadre": "驻格干部",
        Leadership = "leadership": "班子成员",
        GridWorker = "grid_worker": "网格员",
    }
);

code_enum!(
    /// Units in a grid other than households: 两新组织 and public facilities.
    UnitKind {
        Enterprise = "enterprise": "非公企业",
        SocialOrg = "social_org": "社会组织",
        Facility = "facility": "公共设施",
        Shop = "shop": "商铺",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_as_bits() {
        let t = HouseholdTags::parse(["困难家庭", "new_arrival", " "]).unwrap();
        assert!(t.has(HouseholdTag::Hardship));
        assert!(t.has(HouseholdTag::NewArrival));
        assert!(!t.has(HouseholdTag::Unemployed));
        assert_eq!(HouseholdTags::from_bits(t.bits()), t);
        assert_eq!(HouseholdTags::from_bits(-1).iter().count(), HouseholdTag::ALL.len());
        assert_eq!(HouseholdTags::parse(["坏标签"]).unwrap_err().field, "tags");
    }
}
