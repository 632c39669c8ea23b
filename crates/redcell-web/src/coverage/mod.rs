//! Contact responsibility and full coverage (联系全覆盖) on the web: the
//! coverage report, contacts, quotas, exemptions, proposed plans, the
//! demonstration posts and the people picker, as pages and API.

pub mod api;
pub mod pages;
pub mod posts;

use crate::kit::Surface;

/// Mount the coverage pages, API and downloadable lists.
pub fn mount(s: &mut Surface) {
    api::mount(s);
    pages::mount(s);
    s.exports(redcell_store::coverage::exports());
}
