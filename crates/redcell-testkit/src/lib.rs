//! The shared test kit of the workspace.
//!
//! - [`TestDb`]: a fresh, migrated database that exists for one test: SQLite in
//!   a temporary directory always; PostgreSQL when `REDCELL_TEST_PG` names a
//!   server (e.g. `postgres://postgres@127.0.0.1:5432`), one database per test,
//!   dropped at the end (also when the test panics).
//! - [`store_stories!`]: one `#[tokio::test]` per backend for each store story
//!   `async fn name(db: Db)`, named `name::sqlite` and `name::postgres`.
//! - [`store`]: what the store's tests glob-import (`use redcell_testkit::store::*;`):
//!   the macro as `stories!`, the fixture tenant built through the services and
//!   the assertions on store errors.
//! - `app` (feature `app`): the whole application in process, with the
//!   automatic check that no response shows a clear ID number or phone, the
//!   fixture `world` built through the API, HTML form helpers, and
//!   [`app_stories!`] for stories `async fn name(t: &TestApp)`
//!   (`use redcell_testkit::app::*;`).
//! - [`Multipart`]: `multipart/form-data` bodies; [`cli`]: running the binary.
//!
//! The story macros expand to `#[::tokio::test]`: the crate using them needs
//! `tokio` (with `macros` and `rt`) among its dependencies.

mod db;
mod multipart;

pub mod cli;
pub mod store;

#[cfg(feature = "app")]
pub mod app;

pub use db::{PG_ENV, PgDatabase, TestDb, pg_base};
pub use multipart::Multipart;

use chrono::NaiveDate;
use redcell_domain::IdNumber;
use redcell_domain::ident::DEMO_REGION;

/// The first bytes of a PNG file: the stores sniff the signature, not the pixels.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// A synthetic (never real) ID number from the demo region, born on `birth`.
pub fn synth_id(birth: NaiveDate, seq: u32) -> String {
    IdNumber::synthesise(DEMO_REGION, birth, seq).into_string()
}

/// Generate one `#[tokio::test]` per backend for each store story: a story
/// `async fn name(db: Db)` becomes `name::sqlite` and `name::postgres`. The
/// PostgreSQL test passes with a "skipped" line when `REDCELL_TEST_PG` is not
/// set. Glob-imported as `stories!` from [`store`].
#[macro_export]
macro_rules! store_stories {
    ($($story:ident),+ $(,)?) => {$(
        mod $story {
            #[::tokio::test]
            async fn sqlite() {
                let t = $crate::TestDb::sqlite().await;
                super::$story(t.db.clone()).await;
                t.finish().await;
            }

            #[::tokio::test]
            async fn postgres() {
                let Some(t) = $crate::TestDb::postgres(stringify!($story)).await else {
                    return;
                };
                super::$story(t.db.clone()).await;
                t.finish().await;
            }
        }
    )+};
}

/// Generate one `#[tokio::test]` per backend for each app story: a story
/// `async fn name(t: &TestApp)` becomes `name::sqlite` and `name::postgres`
/// (on a two-worker runtime, as the server runs). The PostgreSQL test passes
/// with a "skipped" line when `REDCELL_TEST_PG` is not set. Glob-imported as
/// `stories!` from `app`.
#[cfg(feature = "app")]
#[macro_export]
macro_rules! app_stories {
    ($($story:ident),+ $(,)?) => {$(
        mod $story {
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::app::TestApp::sqlite().await;
                super::$story(&t).await;
                t.finish().await;
            }

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = $crate::app::TestApp::postgres(stringify!($story)).await else {
                    return;
                };
                super::$story(&t).await;
                t.finish().await;
            }
        }
    )+};
}
