//! Duties and their rhythm (走访、组织生活) on the web: one's own duties,
//! an organisation's compliance, rules as data, visits, meetings and
//! activities, the reminder channel.

pub mod api;
pub mod diary;
pub mod pages;

use crate::kit::Surface;

/// Mount the duties pages, API and navigation.
pub fn mount(s: &mut Surface) {
    api::mount(s);
    pages::mount(s);
    diary::mount(s);
}
