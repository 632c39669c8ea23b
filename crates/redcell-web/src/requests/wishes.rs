//! The micro-wish board: verify and publish (staff or members), claim,
//! contact the family and complete (members; the completion may carry a
//! photo).

use super::{flash_to, gate};
use crate::Shared;
use crate::auth::PageUser;
use crate::kit::{CsrfForm, CsrfMultipart, Surface, gates};
use crate::pages::{FlashQuery, Nav, PageResult, render};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use redcell_domain::Capability;
use redcell_domain::ids::*;
use redcell_store::StoreError;
use redcell_store::requests::{Photo, Request, wishes};

#[derive(Template)]
#[template(path = "wishes.html")]
struct WishesPage {
    nav: Option<Nav>,
    csrf: String,
    cards: Vec<wishes::WishCard>,
    flash: Option<String>,
    /// The caller may claim wishes (an in-service member).
    may_claim: bool,
    /// The caller reads the request queue (the link back to it).
    reader: bool,
}

async fn wish_board(u: PageUser, State(s): State<Shared>, Query(q): Query<FlashQuery>) -> PageResult {
    let cards = wishes::board(&s.db, &u.p).await?;
    let may_claim = u.p.holds(Capability::ClaimRequests);
    let reader = gates::READ.admits(&u.p);
    Ok(render(&WishesPage { nav: Nav::of(&u), csrf: u.csrf.clone(), cards, flash: q.flash, may_claim, reader }))
}

/// Back to the board with what happened; a refusal is audited.
fn answer(r: Result<Request, StoreError>) -> Result<Response, StoreError> {
    let (msg, refused) = match r {
        Ok(_) => ("已保存".to_string(), false),
        Err(StoreError::Invalid(i)) => (i.first().map(|e| e.message.clone()).unwrap_or_default(), false),
        Err(StoreError::Denied(f)) => (f.message, true),
        Err(StoreError::Forbidden | StoreError::NotFound) => (redcell_domain::i18n::FORBIDDEN.to_string(), true),
        Err(e) => return Err(e),
    };
    Ok(flash_to("/wishes", &msg, refused))
}

async fn wish_action(
    u: PageUser,
    State(s): State<Shared>,
    Path((id, what)): Path<(RequestId, String)>,
    _f: CsrfForm,
) -> PageResult {
    let r = match what.as_str() {
        "verify" => wishes::verify(&s.db, &u.p, id).await,
        "claim" => wishes::claim(&s.db, &u.p, id).await,
        "contacted" => wishes::contacted(&s.db, &u.p, id).await,
        "complete" => wishes::complete(&s.db, &u.p, id, None).await,
        _ => return Err(StoreError::NotFound.into()),
    };
    Ok(answer(r)?)
}

/// The claimer completes a wish with an optional photo (multipart, the
/// CSRF token first).
async fn wish_complete_photo(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<RequestId>,
    f: CsrfMultipart,
) -> PageResult {
    let ph = f.file("photo").map(|p| Photo { name: &p.file_name, bytes: &p.bytes });
    Ok(answer(wishes::complete(&s.db, &u.p, id, ph).await)?)
}

pub fn mount(s: &mut Surface) {
    s.get("/wishes", gate::SEE, wish_board).post("/wishes/{id}/{what}", gate::ACT, wish_action).upload(
        "/wishes/{id}/complete-photo",
        gate::CLAIM,
        redcell_store::files::MAX_BYTES + 64 * 1024,
        wish_complete_photo,
    );
}
