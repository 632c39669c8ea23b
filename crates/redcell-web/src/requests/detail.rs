//! One request: its details, history and the actions the state machine
//! allows the caller; revisit links; 联办 parts and 上报 chases.

use super::{Shown, gate};
use crate::Shared;
use crate::auth::PageUser;
use crate::form::FormData;
use crate::kit::{CsrfForm, Surface};
use crate::pages::{Nav, PageResult, render_status};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use redcell_domain::ids::*;
use redcell_domain::requests::{Action, FixOutcome, PartStatus, RequestState, Satisfaction};
use redcell_domain::{Capability, CodeEnum, FieldError, Invalid, i18n};
use redcell_store::StoreError;
use redcell_store::calendar as cal_store;
use redcell_store::requests::{self, ActInput, Chase, HistoryRow, Part, Request};

#[derive(Template)]
#[template(path = "request.html")]
struct DetailPage {
    nav: Option<Nav>,
    csrf: String,
    r: Request,
    history: Vec<HistoryRow>,
    actions: Vec<Action>,
    handlers: Vec<(UserId, String)>,
    parts: Vec<Part>,
    chases: Vec<Chase>,
    shown: Shown,
    link: Option<RevisitShare>,
    /// The contact's phone, revealed on request (audited).
    contact: Option<requests::RevealedContact>,
    calendar_warning: bool,
    overdue: bool,
    outcomes: Vec<(&'static str, &'static str)>,
    satisfactions: Vec<(&'static str, &'static str)>,
    staff: bool,
    /// The caller may reveal and call the contact's phone.
    can_call: bool,
    /// A micro-wish the caller may verify with the family and publish.
    can_verify: bool,
    /// Members who could take this published wish or unclaimed request (for its staff).
    suggested: Vec<redcell_store::matching::RequestSuggested>,
    /// What was just done (a member accepted the invitation to handle it).
    flash: Option<String>,
    /// The caller may open the whole queue (else the way back is their own tasks).
    can_queue: bool,
}

impl DetailPage {
    fn summary(&self) -> String {
        self.shown.summary()
    }
    fn has(&self, code: &str) -> bool {
        self.actions.iter().any(|a| a.code() == code)
    }
    fn simple_actions(&self) -> Vec<(&'static str, &'static str)> {
        self.actions
            .iter()
            .filter(|a| {
                matches!(a, Action::Accept | Action::Claim | Action::Start | Action::SupplyMaterials | Action::Close)
            })
            .map(|a| (a.code(), a.label()))
            .collect()
    }
}

/// A revisit link ready to hand to the resident: the full address, a QR code
/// to show on the phone, and a message to paste into a chat.
pub struct RevisitShare {
    pub url: String,
    /// An inline SVG (drawn here, nothing fetched).
    pub qr_svg: String,
    pub message: String,
}

impl RevisitShare {
    fn new(headers: &HeaderMap, s: &Shared, code: &str, token: &str) -> RevisitShare {
        let url = format!("{}/r/revisit/{token}", crate::public_origin(headers, s));
        let qr_svg = qrcode::QrCode::new(url.as_bytes())
            .map(|q| {
                q.render::<qrcode::render::svg::Color>().min_dimensions(180, 180).quiet_zone(true).build().replacen(
                    "<?xml version=\"1.0\" standalone=\"yes\"?>",
                    "",
                    1,
                )
            })
            .unwrap_or_default();
        let message = i18n::REQ_REVISIT_MESSAGE.replace("{code}", code).replace("{url}", &url);
        RevisitShare { url, qr_svg, message }
    }
}

/// What the detail page shows besides the request: a fresh revisit link or
/// a revealed contact.
#[derive(Default)]
struct Extra {
    link: Option<RevisitShare>,
    contact: Option<requests::RevealedContact>,
    flash: Option<String>,
}

async fn detail_page(
    s: &Shared,
    u: &PageUser,
    id: RequestId,
    shown: Shown,
    extra: Extra,
) -> Result<Response, StoreError> {
    let Extra { link, contact, flash } = extra;
    let r = requests::get(&s.db, &u.p, id).await?;
    let history = requests::history_of(&s.db, &u.p, id).await?;
    let actions = requests::actions_for(&u.p, &r);
    // The handlers offered are exactly those the assignment accepts.
    let handlers = if actions.contains(&Action::Assign) { requests::handlers_for(&s.db, &r).await? } else { vec![] };
    let parts = requests::parts(&s.db, &u.p, id).await?;
    let chases = requests::chases(&s.db, &u.p, id).await?;
    let cal = cal_store::load(&s.db, r.tenant_id).await?;
    let calendar_warning = !cal_store::uncovered_years(&cal, r.received_on, r.due_date).is_empty();
    let staff = u.p.holds_at(Capability::HandleRequests, r.path()) || r.handler_user_id == Some(u.p.user());
    let can_call = r.contact_phone.is_some() && requests::may_reveal_contact(&u.p, &r);
    let can_verify = requests::wishes::may_verify(&u.p, &r);
    let suggested = if u.p.holds_at(Capability::HandleRequests, r.path()) {
        redcell_store::matching::suggestions(&s.db, &u.p, id).await?
    } else {
        vec![]
    };
    let status = shown.status;
    Ok(render_status(
        status,
        &DetailPage {
            nav: Nav::of(u),
            csrf: u.csrf.clone(),
            overdue: r.overdue(crate::today()),
            r,
            history,
            actions,
            handlers,
            parts,
            chases,
            shown,
            link,
            contact,
            calendar_warning,
            outcomes: FixOutcome::ALL.iter().map(|o| (o.code(), o.label())).collect(),
            satisfactions: Satisfaction::ALL.iter().map(|o| (o.code(), o.label())).collect(),
            staff,
            can_call,
            can_verify,
            suggested,
            flash,
            can_queue: super::queue::Links::of(&u.p).queue,
        },
    ))
}

async fn detail(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<RequestId>,
    axum::extract::Query(q): axum::extract::Query<crate::pages::FlashQuery>,
) -> PageResult {
    Ok(detail_page(&s, &u, id, Shown::none(), Extra { flash: q.flash, ..Extra::default() }).await?)
}

/// Show the contact's phone to someone about to call them (audited).
async fn reveal_contact(u: PageUser, State(s): State<Shared>, Path(id): Path<RequestId>, _f: CsrfForm) -> PageResult {
    let contact = requests::reveal_contact(&s.db, &u.p, id).await?;
    Ok(detail_page(&s, &u, id, Shown::none(), Extra { contact: Some(contact), ..Extra::default() }).await?)
}

/// The page with a fresh revisit link for the resident.
async fn with_link(s: &Shared, u: &PageUser, headers: &HeaderMap, id: RequestId) -> Result<Response, StoreError> {
    let token = requests::revisit_link(&s.db, &u.p, id).await?;
    let code = requests::get(&s.db, &u.p, id).await?.code.clone();
    let link = RevisitShare::new(headers, s, &code, &token);
    detail_page(s, u, id, Shown::none(), Extra { link: Some(link), ..Extra::default() }).await
}

/// An optional coded field of the form: empty is none, an unknown code is named.
fn coded<T: CodeEnum>(
    f: &FormData,
    field: &str,
    parse: fn(&str, &str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    match f.get(field).map(str::trim).filter(|x| !x.is_empty()) {
        Some(x) => parse(field, x).map(Some),
        None => Ok(None),
    }
}

/// The action form's input; every bad field is named.
fn act_input(f: &FormData) -> Result<(Action, ActInput), Invalid> {
    let mut inv = Invalid::default();
    let action = inv.check(Action::parse("action", f.get("action").unwrap_or("")));
    let handler = match f.get("handler").map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => {
            inv.check(h.parse::<UserId>().map_err(|_| FieldError::new("handler_user_id", "number", i18n::ENUM_INVALID)))
        }
        None => None,
    };
    let outcome = inv.check(coded(f, "outcome", FixOutcome::parse)).flatten();
    let satisfaction = inv.check(coded(f, "satisfaction", Satisfaction::parse)).flatten();
    let acting_for = f.get("acting_for").map(str::trim).filter(|x| !x.is_empty()).map(str::to_string);
    if acting_for.as_deref().is_some_and(|a| a.chars().count() > 40) {
        inv.push(FieldError::new("acting_for", "too_long", i18n::REQ_ACTING_FOR_TOO_LONG));
    }
    inv.clone().into_result()?;
    let Some(action) = action else { return Err(inv) };
    let input = ActInput {
        note: f.get("note").map(str::to_string),
        handler_user_id: handler,
        duplicate_of: f.get("duplicate_of").map(str::to_string),
        outcome,
        satisfaction,
        acting_for,
        internal: f.get("internal").is_some(),
    };
    Ok((action, input))
}

async fn act(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<RequestId>,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let (action, input) = match act_input(&f) {
        Ok(x) => x,
        Err(Invalid(v)) => return Ok(detail_page(&s, &u, id, Shown::invalid(v), Extra::default()).await?),
    };
    match requests::act(&s.db, &u.p, id, action, input).await {
        Ok(r) if action == Action::Resolve && r.state() == RequestState::Resolved => {
            Ok(with_link(&s, &u, &headers, id).await?)
        }
        Ok(_) => Ok(Redirect::to(&format!("/requests/{id}")).into_response()),
        Err(e) => Ok(detail_page(&s, &u, id, Shown::of(e)?, Extra::default()).await?),
    }
}

async fn new_link(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<RequestId>,
    headers: HeaderMap,
    _f: CsrfForm,
) -> PageResult {
    match with_link(&s, &u, &headers, id).await {
        Ok(r) => Ok(r),
        Err(e) => Ok(detail_page(&s, &u, id, Shown::of(e)?, Extra::default()).await?),
    }
}

async fn add_part(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<RequestId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let r = match f.get("part_id").map(str::trim).filter(|x| !x.is_empty()) {
        Some(pid) => match pid.parse::<i64>() {
            Ok(pid) => match PartStatus::parse("status", f.get("status").unwrap_or("")) {
                Ok(st) => requests::set_part_status(&s.db, &u.p, id, pid, st).await,
                Err(e) => Err(e.into()),
            },
            Err(_) => Err(FieldError::new("part_id", "number", i18n::ENUM_INVALID).into()),
        },
        None => {
            requests::add_part(&s.db, &u.p, id, f.get("participant").unwrap_or(""), f.get("part").unwrap_or("")).await
        }
    };
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/requests/{id}")).into_response()),
        Err(e) => Ok(detail_page(&s, &u, id, Shown::of(e)?, Extra::default()).await?),
    }
}

async fn chase(u: PageUser, State(s): State<Shared>, Path(id): Path<RequestId>, CsrfForm(f): CsrfForm) -> PageResult {
    match requests::chase(&s.db, &u.p, id, f.get("contact").unwrap_or(""), f.get("note")).await {
        Ok(()) => Ok(Redirect::to(&format!("/requests/{id}")).into_response()),
        Err(e) => Ok(detail_page(&s, &u, id, Shown::of(e)?, Extra::default()).await?),
    }
}

/// Invite a suggested member to take the published wish.
async fn invite(u: PageUser, State(s): State<Shared>, Path(id): Path<RequestId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: redcell_store::volunteer::RawInvite = f.to_raw(&[]);
    match redcell_store::matching::invite(&s.db, &u.p, id, &raw).await {
        Ok(_) => Ok(Redirect::to(&format!("/requests/{id}#suggested")).into_response()),
        Err(e) => Ok(detail_page(&s, &u, id, Shown::of(e)?, Extra::default()).await?),
    }
}

pub fn mount(s: &mut Surface) {
    s.get("/requests/{id}", gate::SEE, detail)
        .post("/requests/{id}/invite", gate::ACT, invite)
        .post("/requests/{id}/act", gate::ACT, act)
        .post("/requests/{id}/revisit-link", gate::ACT, new_link)
        .post("/requests/{id}/contact", gate::ACT, reveal_contact)
        .post("/requests/{id}/part", gate::ACT, add_part)
        .post("/requests/{id}/chase", gate::ACT, chase);
}
