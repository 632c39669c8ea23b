//! Typed row ids. A `HouseholdId` cannot be passed where a `MemberId` is
//! expected: every id that crosses a service boundary has its own type.
//!
//! Each is a plain `i64` underneath (the database column), serialises as a
//! JSON number, parses from a path or query segment, and (with the `sqlx`
//! feature) reads from and writes to an `INTEGER`/`BIGINT` column. In the
//! OpenAPI document each is an `integer` component named after the type.

/// Every id type, for macros in other crates that need the list (e.g. to
/// bind ids as SQL arguments): `with_ids!(my_macro)` expands to
/// `my_macro!(OrgId, GridId, …)`.
#[macro_export]
macro_rules! with_ids {
    ($m:ident) => {
        $m!(
            OrgId,
            GridId,
            BuildingId,
            HouseholdId,
            ResidentId,
            MemberId,
            CadreId,
            UnitId,
            UserId,
            RequestId,
            CategoryId,
            BatchId,
            JobId,
            VisitId,
            MeetingId,
            ActivityId,
            PostId,
            PlanId,
            ContactId,
            ExemptionId,
            QuotaRuleId,
            NoticeId,
            FileId,
            ApiKeyId
        );
    };
}

/// Declare typed ids: `id_types!(ServiceItemId: "a service item");`. A
/// capability declares its own ids in its domain module (bind one in SQL with
/// `.get()`, or add it to [`with_ids!`] to bind it directly).
#[macro_export]
macro_rules! id_types {
    ($($(#[$m:meta])* $name:ident : $what:literal),+ $(,)?) => {$(
        $(#[$m])*
        #[doc = concat!("The id of ", $what, ".")]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            pub const fn new(v: i64) -> Self {
                $name(v)
            }
            /// The number stored in the database.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<$name> for i64 {
            fn from(v: $name) -> i64 {
                v.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse::<i64>().map($name)
            }
        }

        impl $crate::ids::TypedId for $name {
            const NAME: &'static str = stringify!($name);
            fn from_i64(v: i64) -> Self {
                $name(v)
            }
            fn get(self) -> i64 {
                self.0
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::ids::integer_schema($what)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        #[cfg(feature = "sqlx")]
        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            i64: sqlx::Decode<'r, DB>,
        {
            fn decode(v: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok($name(<i64 as sqlx::Decode<DB>>::decode(v)?))
            }
        }

        #[cfg(feature = "sqlx")]
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            i64: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <i64 as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <i64 as sqlx::Type<DB>>::compatible(ty)
            }
        }
    )+};
}

/// What every id type can do, for code generic over ids (scope checks).
pub trait TypedId: Copy + Send + Sync + std::fmt::Display + 'static {
    /// The type's name, e.g. `HouseholdId`.
    const NAME: &'static str;
    fn from_i64(v: i64) -> Self;
    fn get(self) -> i64;
}

#[cfg(feature = "openapi")]
#[doc(hidden)]
pub fn integer_schema(what: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .description(Some(format!("The id of {what}.")))
        .into()
}

id_types!(
    OrgId: "an organisation",
    GridId: "a grid",
    BuildingId: "a building",
    HouseholdId: "a household",
    ResidentId: "a resident",
    MemberId: "a party member",
    CadreId: "a cadre",
    UnitId: "an enterprise, social organisation or facility",
    UserId: "an account",
    RequestId: "a resident request",
    CategoryId: "a request category",
    BatchId: "an import batch",
    JobId: "an import job",
    VisitId: "a visit record",
    MeetingId: "a meeting record",
    ActivityId: "an activity record",
    PostId: "a demonstration post",
    PlanId: "a proposed contact plan",
    ContactId: "a contact relation",
    ExemptionId: "an exemption from contact duty",
    QuotaRuleId: "a quota rule",
    NoticeId: "a duty reminder",
    FileId: "a stored file",
    ApiKeyId: "an Open311 API key",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_numbers_on_the_wire() {
        let h = HouseholdId::new(42);
        assert_eq!(serde_json::to_string(&h).unwrap(), "42");
        assert_eq!(serde_json::from_str::<HouseholdId>("7").unwrap(), HouseholdId::new(7));
        assert_eq!("12".parse::<MemberId>().unwrap().get(), 12);
        assert!("x".parse::<MemberId>().is_err());
        assert_eq!(format!("{h} {h:?}"), "42 HouseholdId(42)");
    }
}
