//! Downloads of lists from the pages: `/export/<list>?format=xlsx|csv&<filters>`,
//! the link each list page shows to users who may export (see [`crate::export`]).

use super::{PageError, PageResult};
use crate::Shared;
use crate::auth::PageUser;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use redcell_domain::export::ExportKind;

async fn export(u: PageUser, State(s): State<Shared>, Path(kind): Path<String>, RawQuery(q): RawQuery) -> PageResult {
    let kind = ExportKind::parse("kind", &kind).map_err(|_| PageError::from(redcell_store::StoreError::NotFound))?;
    Ok(crate::export::download(&s.db, &u.p, kind, q.as_deref().unwrap_or("")).await?)
}

pub fn router() -> Router<Shared> {
    Router::new().route("/export/{kind}", get(export))
}
