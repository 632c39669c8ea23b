//! Persistence for redcell on SQLite and PostgreSQL, one module per capability.
//!
//! Functions here are the capability services: they take validated domain
//! input and the caller's [`scope::Principal`], enforce the rules that need
//! the database (scope, uniqueness, references, cycles) and write in one
//! transaction together with the audit row.

pub mod accounts;
pub mod assessment;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod calendar;
pub mod care;
pub mod coverage;
pub mod db;
pub mod demo;
pub mod duties;
pub mod error;
pub mod export;
pub mod files;
pub mod guide;
pub mod hardship;
pub mod home;
pub mod idempotency;
pub mod import;
pub mod matching;
pub mod mobility;
pub mod registry;
pub mod requests;
pub mod scope;
pub mod teams;
pub mod transfers;
pub mod types;
pub mod volunteer;

pub use db::{Arg, Args, Backend, Db, Tx};
pub use error::StoreError;
pub use scope::{Capability, Principal, Scope};
pub use types::{Code, IdNo, PhoneNo};
