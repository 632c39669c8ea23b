//! Roster import (花名册导入) on the web: upload, check, commit in the
//! background, error sheets, batches and their undo.

pub mod pages;

use crate::kit::Surface;

/// Mount the import pages and navigation.
pub fn mount(s: &mut Surface) {
    pages::mount(s);
}
