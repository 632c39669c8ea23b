//! Validated domain types and rules for redcell. No I/O.
//!
//! Every type here can only hold a valid value: construct through `parse`, which
//! returns a [`FieldError`] naming the field and the reason (in Simplified Chinese,
//! from the [`i18n`] catalogue).

pub mod assessment;
pub mod calendar;
pub mod care;
pub mod coverage;
pub mod duties;
pub mod error;
pub mod export;
pub mod guide;
pub mod i18n;
pub mod ident;
pub mod ids;
pub mod input;
pub mod mobility;
pub mod org;
pub mod phone;
pub mod registry;
pub mod requests;
pub mod role;
pub mod rosters;
pub mod text;
pub mod volunteer;

#[cfg(feature = "openapi")]
#[doc(hidden)]
pub use utoipa as __utoipa;

pub use error::{FieldError, Invalid};
pub use ident::IdNumber;
pub use ids::*;
pub use org::{OrgCode, OrgKind, OrgPath};
pub use phone::Phone;
pub use registry::{CadreKind, Gender, HouseholdTag, HouseholdTags, MemberCategory, MemberStatus, UnitKind};
pub use role::{Capability, Role};
pub use text::{Name, Text};

/// A closed enumeration stored as a stable code (implemented by `code_enum!`).
pub trait CodeEnum: Sized + Copy + 'static {
    fn from_code(s: &str) -> Option<Self>;
    fn code(self) -> &'static str;
    fn label(self) -> &'static str;
}
