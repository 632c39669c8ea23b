//! The registry capability on the web (SPEC §1): pages from the street down
//! to a household, create/edit/delete forms, the JSON resources, people
//! search, revealing personal data and household files.

pub mod api;
pub mod forms;
pub mod pages;
pub mod raw;

use crate::kit::Surface;

/// Mount the registry's API, pages and navigation.
pub fn mount(s: &mut Surface) {
    api::mount(s);
    pages::mount(s);
    forms::mount(s);
    s.exports(redcell_store::registry::exports());
}
