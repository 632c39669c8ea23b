//! Column types: enumerations stored as codes, and personal data that is masked
//! unless explicitly revealed.

use redcell_domain::CodeEnum;
use redcell_domain::ident::mask_id;
use redcell_domain::phone::mask_phone;
use serde::{Serialize, Serializer};
use sqlx::error::BoxDynError;
use std::fmt;
use std::ops::Deref;

/// A closed enumeration read from its code column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code<T>(pub T);

impl<T> Deref for Code<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: CodeEnum> Serialize for Code<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.code())
    }
}

impl<T: CodeEnum> fmt::Display for Code<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.label())
    }
}

impl<'r, DB: sqlx::Database, T: CodeEnum> sqlx::Decode<'r, DB> for Code<T>
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(v: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = <String as sqlx::Decode<DB>>::decode(v)?;
        T::from_code(&s).map(Code).ok_or_else(|| format!("unknown code {s:?}").into())
    }
}

impl<DB: sqlx::Database, T> sqlx::Type<DB> for Code<T>
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

macro_rules! sensitive {
    ($(#[$m:meta])* $name:ident, $mask:path) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// The masked form, as shown by default.
            pub fn masked(&self) -> String {
                $mask(&self.0)
            }
            /// The clear value. Call only on a path that checked the right to
            /// see it and recorded the access.
            pub fn reveal(&self) -> &str {
                &self.0
            }
            pub fn new(s: String) -> Self {
                $name(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.masked())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.masked())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.masked())
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            String: sqlx::Decode<'r, DB>,
        {
            fn decode(v: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok($name(<String as sqlx::Decode<DB>>::decode(v)?))
            }
        }

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }
    };
}

sensitive!(
    /// An ID number read from the database: displays and serialises masked.
    IdNo,
    mask_id
);
sensitive!(
    /// A phone number read from the database: displays and serialises masked.
    PhoneNo,
    mask_phone
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_by_default() {
        let id = IdNo::new("11010519491231002X".into());
        assert_eq!(id.to_string(), "1101**********002X");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"1101**********002X\"");
        assert_eq!(format!("{id:?}"), "IdNo(1101**********002X)");
        let p = PhoneNo::new("13812345678".into());
        assert_eq!(p.to_string(), "138****5678");
        assert_eq!(p.reveal(), "13812345678");
    }
}
