//! Accounts and the audit trail on the web: managing users and their grants,
//! one's own account and sessions, and the auditors' view of the trail.

pub mod api;
pub mod pages;

use crate::kit::Surface;

/// Mount the account and audit pages, API, navigation and lists.
pub fn mount(s: &mut Surface) {
    api::mount(s);
    pages::mount(s);
    s.exports(redcell_store::accounts::exports()).exports(redcell_store::audit::exports());
}
