//! redcell-docs: printable and downloadable documents (xlsx rosters, PDF boards,
//! SVG charts, QR codes). Kept in its own crate because the PDF engine (typst)
//! takes minutes to compile; nothing else needs to rebuild when it changes.
//!
//! Documents arrive with the capabilities that need them (rosters, boards).
//! Every document writer neutralises spreadsheet formulas with the domain's
//! rule, re-exported here.

pub mod export;
pub mod read;
pub mod rosters;
pub mod xlsx;

pub use redcell_domain::text::spreadsheet_safe as safe_cell;
