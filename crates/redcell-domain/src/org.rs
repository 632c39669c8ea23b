//! The organisation tree: kinds, codes and materialised paths.

use crate::error::FieldError;
use crate::i18n;
use serde::{Deserialize, Serialize};

/// Declares a closed enumeration stored as a stable ASCII code, labelled in
/// Chinese from one place, parsed with a field-named error.
#[macro_export]
macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $code:literal : $label:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name { $(#[serde(rename = $code)] $var),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The stable code stored in the database and used by the API.
            pub fn code(self) -> &'static str { match self { $($name::$var => $code),+ } }
            /// The Chinese label shown to people.
            pub fn label(self) -> &'static str { match self { $($name::$var => $label),+ } }
            /// Parse a code or a Chinese label.
            pub fn parse(field: &str, raw: &str) -> Result<Self, $crate::error::FieldError> {
                let s = raw.trim();
                $(if s == $code || s == $label { return Ok($name::$var); })+
                Err($crate::error::FieldError::new(field, "enum", format!("{}：{}", $crate::i18n::ENUM_INVALID, s)))
            }
        }

        impl $crate::CodeEnum for $name {
            fn from_code(s: &str) -> Option<Self> { $(if s == $code { return Some($name::$var); })+ None }
            fn code(self) -> &'static str { $name::code(self) }
            fn label(self) -> &'static str { $name::label(self) }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.label()) }
        }

        $crate::__code_enum_schema!($name, [$(($code, $label)),+]);
    };
}

/// The OpenAPI schema of a `code_enum!` type (with the `openapi` feature): a
/// string enumeration of its codes, referenced by the fields that take one.
#[cfg(feature = "openapi")]
#[doc(hidden)]
#[macro_export]
macro_rules! __code_enum_schema {
    ($name:ident, [$($pair:expr),+]) => {
        impl $crate::__utoipa::PartialSchema for $name {
            fn schema() -> $crate::__utoipa::openapi::RefOr<$crate::__utoipa::openapi::schema::Schema> {
                $crate::org::code_schema(&[$($pair),+])
            }
        }
        impl $crate::__utoipa::ToSchema for $name {}
    };
}

#[cfg(not(feature = "openapi"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __code_enum_schema {
    ($($t:tt)*) => {};
}

/// A string schema listing the codes of a closed enumeration, their labels
/// in the description.
#[cfg(feature = "openapi")]
#[doc(hidden)]
pub fn code_schema(pairs: &[(&str, &str)]) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let labels: Vec<String> = pairs.iter().map(|(c, l)| format!("`{c}` ({l})")).collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(pairs.iter().map(|(c, _)| *c)))
        .description(Some(format!("One of the codes {}.", labels.join(", "))))
        .into()
}

code_enum!(
    /// Kinds of party organisation, top to bottom.
    OrgKind {
        DistrictDept = "district_dept": "区委组织部",
        StreetCommittee = "street_committee": "街道党工委",
        TownshipCommittee = "township_committee": "乡党委",
        CommunityCommittee = "community_committee": "社区党委",
        VillageGeneralBranch = "village_general_branch": "村党总支",
        GeneralBranch = "general_branch": "党总支",
        BranchNeighbourhood = "branch_neighbourhood": "街坊党支部",
        BranchBuilding = "branch_building": "楼宇党支部",
        BranchGrid = "branch_grid": "网格党支部",
        BranchVillage = "branch_village": "村党支部",
        BranchAssociation = "branch_association": "协会党支部",
        BranchPark = "branch_park": "园区党支部",
        BranchMarket = "branch_market": "市场党支部",
        BranchEnterprise = "branch_enterprise": "企业党支部",
        PartyGroup = "party_group": "党小组",
    }
);

impl OrgKind {
    /// Rank in the pyramid (0 = top). A child must rank strictly below its parent.
    pub fn level(self) -> u8 {
        use OrgKind::*;
        match self {
            DistrictDept => 0,
            StreetCommittee | TownshipCommittee => 1,
            CommunityCommittee | VillageGeneralBranch => 2,
            GeneralBranch => 3,
            BranchNeighbourhood | BranchBuilding | BranchGrid | BranchVillage | BranchAssociation | BranchPark
            | BranchMarket | BranchEnterprise => 4,
            PartyGroup => 5,
        }
    }
    pub fn is_branch(self) -> bool {
        self.level() == 4
    }
    /// A community-level organisation (社区党委 / 村党总支).
    pub fn is_community(self) -> bool {
        self.level() == 2
    }
    /// May an organisation of this kind be the root of a tenant?
    pub fn may_be_root(self) -> bool {
        self.level() <= 1
    }
    /// The one rule for where an organisation may hang in the tree.
    pub fn may_be_child_of(self, parent: OrgKind) -> bool {
        use OrgKind::*;
        match self {
            DistrictDept => false,
            StreetCommittee | TownshipCommittee => parent == DistrictDept,
            CommunityCommittee | VillageGeneralBranch => parent.level() == 1,
            GeneralBranch => (1..=2).contains(&parent.level()),
            k if k.is_branch() => (1..=3).contains(&parent.level()),
            PartyGroup => parent.is_branch(),
            _ => false,
        }
    }
}

/// An organisation code, unique within a tenant (e.g. `HX-SQ01-ZB03`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgCode(String);

impl OrgCode {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new("code", "required", i18n::REQUIRED));
        }
        let ok = s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(FieldError::new("code", "code", i18n::CODE_INVALID));
        }
        Ok(OrgCode(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The materialised path of an organisation: its ancestors' ids and its own,
/// e.g. `/1/7/42/`. "Inside my scope" is a prefix match.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgPath(String);

impl OrgPath {
    pub fn root(id: i64) -> Self {
        OrgPath(format!("/{id}/"))
    }
    pub fn child(&self, id: i64) -> Self {
        OrgPath(format!("{}{id}/", self.0))
    }
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let err = || FieldError::new("path", "path", i18n::PATH_INVALID);
        let inner = raw.strip_prefix('/').and_then(|s| s.strip_suffix('/')).ok_or_else(err)?;
        if inner.is_empty() || !inner.split('/').all(|p| !p.is_empty() && p.parse::<i64>().is_ok_and(|n| n > 0)) {
            return Err(err());
        }
        Ok(OrgPath(raw.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The ids from the root down to this organisation.
    pub fn ids(&self) -> Vec<i64> {
        self.0.split('/').filter_map(|p| p.parse().ok()).collect()
    }
    pub fn id(&self) -> i64 {
        *self.ids().last().unwrap_or(&0)
    }
    pub fn depth(&self) -> usize {
        self.ids().len()
    }
    /// True when `other` is this organisation or below it.
    pub fn contains(&self, other: &OrgPath) -> bool {
        other.0.starts_with(&self.0)
    }
    /// The SQL `LIKE` pattern matching this subtree.
    pub fn like_pattern(&self) -> String {
        format!("{}%", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kinds_round_trip() {
        for k in OrgKind::ALL {
            assert_eq!(OrgKind::parse("kind", k.code()).unwrap(), *k);
            assert_eq!(OrgKind::parse("kind", k.label()).unwrap(), *k);
        }
        assert_eq!(OrgKind::parse("kind", "nonsense").unwrap_err().field, "kind");
    }

    #[test]
    fn tree_rules() {
        use OrgKind::*;
        assert!(CommunityCommittee.may_be_child_of(StreetCommittee));
        assert!(BranchBuilding.may_be_child_of(CommunityCommittee));
        assert!(PartyGroup.may_be_child_of(BranchBuilding));
        assert!(!PartyGroup.may_be_child_of(CommunityCommittee));
        assert!(!StreetCommittee.may_be_child_of(PartyGroup));
        assert!(StreetCommittee.may_be_root());
        assert!(!PartyGroup.may_be_root());
    }

    #[test]
    fn codes() {
        assert!(OrgCode::parse("HX-SQ01_b2").is_ok());
        assert!(OrgCode::parse("has space").is_err());
        assert!(OrgCode::parse("社区").is_err());
        assert!(OrgCode::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn paths() {
        let p = OrgPath::root(1).child(7).child(42);
        assert_eq!(p.as_str(), "/1/7/42/");
        assert_eq!(p.ids(), vec![1, 7, 42]);
        assert!(OrgPath::root(1).contains(&p));
        assert!(!OrgPath::root(1).child(4).contains(&p));
        // A sibling whose id shares a prefix is not inside.
        assert!(!OrgPath::root(1).child(4).contains(&OrgPath::root(1).child(42)));
        assert!(OrgPath::parse("/1/x/").is_err());
        assert!(OrgPath::parse("1/2/").is_err());
        assert_eq!(OrgPath::parse("/1/2/").unwrap().id(), 2);
    }

    proptest! {
        #[test]
        fn containment_is_prefix_of_ids(a in proptest::collection::vec(1i64..50, 1..5), b in proptest::collection::vec(1i64..50, 1..5)) {
            let mk = |v: &Vec<i64>| v.iter().skip(1).fold(OrgPath::root(v[0]), |p, id| p.child(*id));
            let (pa, pb) = (mk(&a), mk(&b));
            prop_assert_eq!(pa.contains(&pb), b.starts_with(&a));
        }
    }
}
