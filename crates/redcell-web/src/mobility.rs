//! Mobile members (流动党员) on the web: an organisation's three rosters
//! (自管, 在职, 流动) with the outflow and inflow forms, a card's page (the
//! contact kept, the pairing with the other side, ending it), and
//! organisation-relation transfers (组织关系转接: the queues, starting one, a
//! transfer's steps with the approve, revoke and receive forms). JSON under
//! `/api/v1/mobility` and `/api/v1/transfers`.

use crate::Shared;
use crate::api::Q;
use crate::auth::{ApiUser, PageUser};
use crate::care::options;
use crate::coverage::pages::{Choice, choices_for, pick_field};
use crate::error::{ApiResult, ErrorBody};
use crate::form::FormData;
use crate::kit::{ApiJson, CsrfForm, Errors, Surface, gates};
use crate::pages::{Nav, PageResult, render_status};
use crate::registry::pages::{Crumbs, org_crumbs};
use crate::requests::flash_to;
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use redcell_domain::mobility::{CardId, ContactChannel, ProposalId, Roster, TransferId};
use redcell_domain::{Capability, OrgId};
use redcell_store::coverage::pick::PickKind;
use redcell_store::mobility::{
    self as mb, Card, CardList, CardView, Proposal, RawCard, RawContact, RawEnd, RawProposal, RawProposalDecision,
    RawRefusal, Refusal, RosterList, Rosters,
};
use redcell_store::transfers::{
    self as tr, RawDecision, RawReceipt, RawTransfer, RawTransferSettings, Transfer, TransferList, TransferSettings,
    TransferView, Transfers,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RosterQuery {
    /// The organisation (its subtree); default: the caller's highest (API only).
    pub org_id: Option<i64>,
    /// `self` (自管), `inservice` (在职) or `mobile` (流动, the default).
    pub roster: Option<String>,
    #[serde(skip)]
    #[param(ignore)]
    pub flash: Option<String>,
}

/// Which form the errors belong to.
#[derive(Default, PartialEq, Clone, Copy)]
enum Form {
    #[default]
    None,
    Out,
    In,
    Refuse,
}

#[derive(Template)]
#[template(path = "mobility.html")]
struct RostersPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org_id: i64,
    r: Rosters,
    can_edit: bool,
    csrf: String,
    flash: Option<String>,
    form: Form,
    values: FormData,
    errs: Errors,
    choices: Vec<Choice>,
    exports: Vec<crate::export::ExportLink>,
}

impl RostersPage {
    fn val(&self, name: &str) -> &str {
        self.values.get(name).unwrap_or("")
    }
    fn choices(&self, field: &str) -> Option<&Choice> {
        choices_for(&self.choices, field)
    }
    /// The errors of the form `f` (none for the other).
    fn errs_of(&self, f: &str) -> Errors {
        let on = matches!((self.form, f), (Form::Out, "out") | (Form::In, "in") | (Form::Refuse, "refuse"));
        if on { self.errs.clone() } else { Errors::none() }
    }
    fn tabs(&self) -> Vec<(&'static str, &'static str, usize)> {
        Roster::ALL
            .iter()
            .map(|r| {
                let n = match r {
                    Roster::SelfManaged => self.r.self_managed,
                    Roster::Inservice => self.r.inservice,
                    Roster::Mobile => self.r.mobile,
                };
                (r.code(), r.label(), n)
            })
            .collect()
    }
}

#[allow(clippy::too_many_arguments)]
async fn rosters_view(
    s: &Shared,
    u: &PageUser,
    org: OrgId,
    roster: Option<&str>,
    flash: Option<String>,
    form: Form,
    values: FormData,
    errs: Errors,
    choices: Vec<Choice>,
) -> PageResult {
    let r = mb::rosters(&s.db, &u.p, org, roster).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    crumbs.push((format!("/orgs/{org}/mobility"), "党员名册".into()));
    let o = redcell_store::registry::orgs::get(&s.db, &u.p, org).await?;
    let exports = if crate::export::may_export_at(&u.p, &o.org_path()) {
        let at = [("org_id", org.to_string())];
        vec![
            crate::export::link::<RosterList>("三本名册", &at),
            crate::export::link::<CardList>("流出流入登记卡", &at),
            crate::export::link::<TransferList>("组织关系转接", &at),
        ]
    } else {
        vec![]
    };
    Ok(render_status(
        errs.status(),
        &RostersPage {
            nav: Nav::of(u),
            crumbs,
            org_id: org.get(),
            r,
            can_edit: u.p.holds_at(Capability::EditRegistry, &o.org_path()),
            csrf: u.csrf.clone(),
            flash,
            form,
            values,
            errs,
            choices,
            exports,
        },
    ))
}

async fn rosters_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    Query(q): Query<RosterQuery>,
) -> PageResult {
    rosters_view(&s, &u, org, q.roster.as_deref(), q.flash, Form::None, FormData(vec![]), Errors::none(), vec![]).await
}

async fn record(s: &Shared, u: &PageUser, org: OrgId, f: FormData, form: Form) -> PageResult {
    let mut raw: RawCard = f.to_raw(&[]);
    raw.direction = Some(if form == Form::Out { "out" } else { "in" }.into());
    raw.org_id = Some(org.to_string());
    let mut picked = Vec::new();
    let mut choices = Vec::new();
    if f.get("member_id").is_some_and(|v| !v.trim().is_empty()) || f.get("_pick_member_id").is_some() {
        pick_field(
            &s.db,
            &u.p,
            &f,
            "member_id",
            PickKind::Member,
            org.get(),
            &mut raw.member_id,
            &mut picked,
            &mut choices,
        )
        .await?;
    } else {
        raw.member_id = None;
    }
    let r = if picked.is_empty() {
        mb::record(&s.db, &u.p, &raw).await
    } else {
        Err(redcell_store::StoreError::Invalid(redcell_domain::Invalid(picked)))
    };
    match r {
        Ok(c) => {
            Ok(flash_to(&format!("/mobility/cards/{}", c.id), &format!("{}登记卡已登记", c.direction_label()), false))
        }
        Err(e) => rosters_view(s, u, org, Some("mobile"), None, form, f, Errors::of(e)?, choices).await,
    }
}

async fn record_out(u: PageUser, State(s): State<Shared>, Path(org): Path<OrgId>, CsrfForm(f): CsrfForm) -> PageResult {
    record(&s, &u, org, f, Form::Out).await
}

async fn record_in(u: PageUser, State(s): State<Shared>, Path(org): Path<OrgId>, CsrfForm(f): CsrfForm) -> PageResult {
    record(&s, &u, org, f, Form::In).await
}

async fn refuse(u: PageUser, State(s): State<Shared>, Path(org): Path<OrgId>, CsrfForm(f): CsrfForm) -> PageResult {
    let mut raw: RawRefusal = f.to_raw(&[]);
    raw.org_id = Some(org.to_string());
    match mb::refuse(&s.db, &u.p, &raw).await {
        Ok(x) => Ok(flash_to(
            &format!("/orgs/{org}/mobility"),
            &format!("已记录不接收（流出登记卡 {}），流出组织会看到理由", x.card_no),
            false,
        )),
        Err(e) => rosters_view(&s, &u, org, Some("mobile"), None, Form::Refuse, f, Errors::of(e)?, vec![]).await,
    }
}

// ---- a card

#[derive(Template)]
#[template(path = "mobility_card.html")]
struct CardPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    v: CardView,
    can_edit: bool,
    csrf: String,
    flash: Option<String>,
    /// `contact` or `end`: the form the errors belong to.
    form: &'static str,
    values: FormData,
    errs: Errors,
    channels: Vec<(String, String)>,
}

impl CardPage {
    fn val(&self, name: &str) -> &str {
        self.values.get(name).unwrap_or("")
    }
    fn errs_of(&self, f: &str) -> Errors {
        if self.form == f { self.errs.clone() } else { Errors::none() }
    }
}

async fn card_view(
    s: &Shared,
    u: &PageUser,
    id: CardId,
    flash: Option<String>,
    form: &'static str,
    values: FormData,
    errs: Errors,
) -> PageResult {
    let v = mb::card(&s.db, &u.p, id).await?;
    let org = OrgId::new(v.card.org_id);
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    crumbs.push((format!("/orgs/{org}/mobility"), "党员名册".into()));
    crumbs.push((format!("/mobility/cards/{id}"), format!("{}登记卡 {}", v.card.direction_label(), v.card.card_no)));
    let o = redcell_store::registry::orgs::get(&s.db, &u.p, org).await?;
    Ok(render_status(
        errs.status(),
        &CardPage {
            nav: Nav::of(u),
            crumbs,
            v,
            can_edit: u.p.holds_at(Capability::EditRegistry, &o.org_path()),
            csrf: u.csrf.clone(),
            flash,
            form,
            values,
            errs,
            channels: options(ContactChannel::ALL, ContactChannel::code, ContactChannel::label),
        },
    ))
}

async fn card_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<CardId>,
    Query(q): Query<crate::pages::FlashQuery>,
) -> PageResult {
    card_view(&s, &u, id, q.flash, "", FormData(vec![]), Errors::none()).await
}

async fn contact(u: PageUser, State(s): State<Shared>, Path(id): Path<CardId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawContact = f.to_raw(&[]);
    match mb::add_contact(&s.db, &u.p, id, &raw).await {
        Ok(_) => Ok(flash_to(&format!("/mobility/cards/{id}"), "联系已记录", false)),
        Err(e) => card_view(&s, &u, id, None, "contact", f, Errors::of(e)?).await,
    }
}

async fn end(u: PageUser, State(s): State<Shared>, Path(id): Path<CardId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawEnd = f.to_raw(&[]);
    match mb::end(&s.db, &u.p, id, &raw).await {
        Ok(_) => Ok(flash_to(&format!("/mobility/cards/{id}"), "登记卡已结束，记录保留", false)),
        Err(e) => card_view(&s, &u, id, None, "end", f, Errors::of(e)?).await,
    }
}

async fn propose(u: PageUser, State(s): State<Shared>, Path(id): Path<CardId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawProposal = f.to_raw(&[]);
    match mb::propose(&s.db, &u.p, id, &raw).await {
        Ok(x) => Ok(flash_to(
            &format!("/mobility/cards/{id}"),
            &format!("{}建议已记录，等待支部决定", x.kind_label()),
            false,
        )),
        Err(e) => card_view(&s, &u, id, None, "propose", f, Errors::of(e)?).await,
    }
}

async fn decide_proposal(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<ProposalId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawProposalDecision = f.to_raw(&[]);
    let card = CardId::new(f.get("card").and_then(|x| x.parse().ok()).unwrap_or(0));
    match mb::decide_proposal(&s.db, &u.p, id, &raw).await {
        Ok(x) => Ok(flash_to(&format!("/mobility/cards/{}", x.card_id), "支部决定已记录", false)),
        Err(e) => card_view(&s, &u, card, None, "decide", f, Errors::of(e)?).await,
    }
}

// ---- API

/// Propose stopping membership (half a year without contact) or removal (two years after).
#[utoipa::path(post, path = "/api/v1/mobility/cards/{id}/proposals", tag = "mobility", operation_id = "mobility_propose",
    params(("id" = i64, Path)), request_body = RawProposal,
    responses((status = 201, body = Proposal), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_propose(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<CardId>,
    ApiJson(raw): ApiJson<RawProposal>,
) -> ApiResult<(StatusCode, Json<Proposal>)> {
    Ok((StatusCode::CREATED, Json(mb::propose(&s.db, &p, id, &raw).await?)))
}

/// The branch's decision on a proposal (once).
#[utoipa::path(post, path = "/api/v1/mobility/proposals/{id}/decision", tag = "mobility", operation_id = "mobility_decide_proposal",
    params(("id" = i64, Path)), request_body = RawProposalDecision,
    responses((status = 200, body = Proposal), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_decide_proposal(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<ProposalId>,
    ApiJson(raw): ApiJson<RawProposalDecision>,
) -> ApiResult<Json<Proposal>> {
    Ok(Json(mb::decide_proposal(&s.db, &p, id, &raw).await?))
}

/// The three rosters of an organisation's subtree: how many on each, and the lines of one.
#[utoipa::path(get, path = "/api/v1/mobility/rosters", tag = "mobility", operation_id = "mobility_rosters",
    params(RosterQuery),
    responses((status = 200, body = Rosters), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_rosters(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<RosterQuery>,
) -> ApiResult<Json<Rosters>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(mb::rosters(&s.db, &p, OrgId::new(org), q.roster.as_deref()).await?))
}

/// Record an outflow card (the member's own organisation keeps it) or an inflow card.
#[utoipa::path(post, path = "/api/v1/mobility/cards", tag = "mobility", operation_id = "mobility_record_card",
    request_body = RawCard,
    responses((status = 201, body = Card), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_record(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawCard>,
) -> ApiResult<(StatusCode, Json<Card>)> {
    Ok((StatusCode::CREATED, Json(mb::record(&s.db, &p, &raw).await?)))
}

/// A card with its contacts and the other side of its pairing.
#[utoipa::path(get, path = "/api/v1/mobility/cards/{id}", tag = "mobility", operation_id = "mobility_card",
    params(("id" = i64, Path)),
    responses((status = 200, body = CardView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_card(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<CardId>,
) -> ApiResult<Json<CardView>> {
    Ok(Json(mb::card(&s.db, &p, id).await?))
}

/// The id of the contact recorded.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ContactCreated {
    pub id: i64,
}

/// Record a contact kept with the member while the card is open.
#[utoipa::path(post, path = "/api/v1/mobility/cards/{id}/contacts", tag = "mobility", operation_id = "mobility_contact",
    params(("id" = i64, Path)), request_body = RawContact,
    responses((status = 201, body = ContactCreated), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_contact(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<CardId>,
    ApiJson(raw): ApiJson<RawContact>,
) -> ApiResult<(StatusCode, Json<ContactCreated>)> {
    Ok((StatusCode::CREATED, Json(ContactCreated { id: mb::add_contact(&s.db, &p, id, &raw).await? })))
}

/// End a card: the member came back, or left the receiving organisation.
#[utoipa::path(post, path = "/api/v1/mobility/cards/{id}/end", tag = "mobility", operation_id = "mobility_end_card",
    params(("id" = i64, Path)), request_body = RawEnd,
    responses((status = 200, body = Card), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_end(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<CardId>,
    ApiJson(raw): ApiJson<RawEnd>,
) -> ApiResult<Json<Card>> {
    Ok(Json(mb::end(&s.db, &p, id, &raw).await?))
}

// ---- transfers (组织关系转接)

#[derive(Template)]
#[template(path = "transfers.html")]
struct TransfersPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org_id: i64,
    list: Transfers,
    can_edit: bool,
    csrf: String,
    flash: Option<String>,
    values: FormData,
    errs: Errors,
    choices: Vec<Choice>,
    /// The tenant's administrators set how long letters are valid.
    can_configure: bool,
    /// `settings` when the errors belong to the settings form.
    form: &'static str,
    exports: Vec<crate::export::ExportLink>,
}

impl TransfersPage {
    fn errs_of(&self, f: &str) -> Errors {
        if self.form == f { self.errs.clone() } else { Errors::none() }
    }
    fn val(&self, name: &str) -> &str {
        self.values.get(name).unwrap_or("")
    }
    fn choices(&self, field: &str) -> Option<&Choice> {
        choices_for(&self.choices, field)
    }
}

#[allow(clippy::too_many_arguments)]
async fn transfers_view(
    s: &Shared,
    u: &PageUser,
    org: OrgId,
    flash: Option<String>,
    values: FormData,
    errs: Errors,
    choices: Vec<Choice>,
    form: &'static str,
) -> PageResult {
    let list = tr::transfers(&s.db, &u.p, org).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    crumbs.push((format!("/orgs/{org}/mobility"), "党员名册".into()));
    crumbs.push((format!("/orgs/{org}/transfers"), "组织关系转接".into()));
    let o = redcell_store::registry::orgs::get(&s.db, &u.p, org).await?;
    let exports = if crate::export::may_export_at(&u.p, &o.org_path()) {
        vec![crate::export::link::<TransferList>("组织关系转接台账", &[("org_id", org.to_string())])]
    } else {
        vec![]
    };
    Ok(render_status(
        errs.status(),
        &TransfersPage {
            nav: Nav::of(u),
            crumbs,
            org_id: org.get(),
            list,
            can_edit: u.p.holds_at(Capability::EditRegistry, &o.org_path()),
            csrf: u.csrf.clone(),
            flash,
            values,
            errs,
            choices,
            can_configure: u.p.holds_at(Capability::EditRegistry, &redcell_domain::OrgPath::root(u.p.tenant_id)),
            form,
            exports,
        },
    ))
}

async fn transfers_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    Query(q): Query<crate::pages::FlashQuery>,
) -> PageResult {
    transfers_view(&s, &u, org, q.flash, FormData(vec![]), Errors::none(), vec![], "").await
}

async fn transfer_settings(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawTransferSettings = f.to_raw(&[]);
    // The page the form is on is an organisation's: one the caller reads.
    redcell_store::registry::orgs::get(&s.db, &u.p, org).await?;
    match tr::set_settings(&s.db, &u.p, &raw).await {
        Ok(x) => Ok(flash_to(
            &format!("/orgs/{org}/transfers"),
            &format!("介绍信有效期改为 {} 天，此后开出的介绍信适用", x.letter_days),
            false,
        )),
        Err(e) => transfers_view(&s, &u, org, None, f, Errors::of(e)?, vec![], "settings").await,
    }
}

async fn start_transfer(
    u: PageUser,
    State(s): State<Shared>,
    Path(org): Path<OrgId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let mut raw: RawTransfer = f.to_raw(&[]);
    let mut picked = Vec::new();
    let mut choices = Vec::new();
    pick_field(
        &s.db,
        &u.p,
        &f,
        "member_id",
        PickKind::Member,
        org.get(),
        &mut raw.member_id,
        &mut picked,
        &mut choices,
    )
    .await?;
    let r = if picked.is_empty() {
        tr::start(&s.db, &u.p, &raw).await
    } else {
        Err(redcell_store::StoreError::Invalid(redcell_domain::Invalid(picked)))
    };
    match r {
        Ok(t) => Ok(flash_to(&format!("/transfers/{}", t.id), "转接已提出，等待上级组织审批", false)),
        Err(e) => transfers_view(&s, &u, org, None, f, Errors::of(e)?, choices, "start").await,
    }
}

#[derive(Template)]
#[template(path = "transfer.html")]
struct TransferPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    v: TransferView,
    csrf: String,
    flash: Option<String>,
    errs: Errors,
    values: FormData,
}

impl TransferPage {
    fn val(&self, name: &str) -> &str {
        self.values.get(name).unwrap_or("")
    }
}

async fn transfer_view(
    s: &Shared,
    u: &PageUser,
    id: TransferId,
    flash: Option<String>,
    values: FormData,
    errs: Errors,
) -> PageResult {
    let v = tr::transfer(&s.db, &u.p, id).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, OrgId::new(v.side_org_id)).await?;
    crumbs.push((format!("/orgs/{}/transfers", v.side_org_id), "组织关系转接".into()));
    crumbs.push((format!("/transfers/{id}"), format!("{}的组织关系转接", v.transfer.member_name)));
    Ok(render_status(
        errs.status(),
        &TransferPage { nav: Nav::of(u), crumbs, v, csrf: u.csrf.clone(), flash, errs, values },
    ))
}

async fn transfer_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<TransferId>,
    Query(q): Query<crate::pages::FlashQuery>,
) -> PageResult {
    transfer_view(&s, &u, id, q.flash, FormData(vec![]), Errors::none()).await
}

async fn after_transfer<T>(
    s: &Shared,
    u: &PageUser,
    id: TransferId,
    f: FormData,
    r: Result<T, redcell_store::StoreError>,
    ok: &str,
) -> PageResult {
    match r {
        Ok(_) => Ok(flash_to(&format!("/transfers/{id}"), ok, false)),
        Err(e) => transfer_view(s, u, id, None, f, Errors::of(e)?).await,
    }
}

async fn decide(u: PageUser, State(s): State<Shared>, Path(id): Path<TransferId>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawDecision = f.to_raw(&[]);
    let r = tr::decide(&s.db, &u.p, id, &raw).await;
    after_transfer(&s, &u, id, f, r, "审批意见已记录").await
}

async fn revoke(u: PageUser, State(s): State<Shared>, Path(id): Path<TransferId>, CsrfForm(f): CsrfForm) -> PageResult {
    let r = tr::revoke(&s.db, &u.p, id).await;
    after_transfer(&s, &u, id, f, r, "转接已撤回").await
}

async fn receive(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<TransferId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawReceipt = f.to_raw(&[]);
    let r = tr::receive(&s.db, &u.p, id, &raw).await;
    after_transfer(&s, &u, id, f, r, "已办结").await
}

async fn release(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<TransferId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let r = tr::release(&s.db, &u.p, id).await;
    after_transfer(&s, &u, id, f, r, "已移出党员名册，转接记录保留").await
}

/// After the receipt slip of a transfer out of the deployment: take the member off the registry (the transfer keeps their name).
#[utoipa::path(post, path = "/api/v1/transfers/{id}/release", tag = "mobility", operation_id = "transfer_release",
    params(("id" = i64, Path)),
    responses((status = 200, body = Transfer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_release(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<TransferId>,
) -> ApiResult<Json<Transfer>> {
    Ok(Json(tr::release(&s.db, &p, id).await?))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransfersQuery {
    /// The organisation (its subtree, sent or received); default: the caller's highest.
    pub org_id: Option<i64>,
}

/// An organisation's transfers: waiting for the caller, still open, and the latest closed.
#[utoipa::path(get, path = "/api/v1/transfers", tag = "mobility", operation_id = "transfers", params(TransfersQuery),
    responses((status = 200, body = Transfers), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_transfers(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<TransfersQuery>,
) -> ApiResult<Json<Transfers>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(tr::transfers(&s.db, &p, OrgId::new(org)).await?))
}

/// Start a transfer of a member's relation (to an organisation by code, or outside).
#[utoipa::path(post, path = "/api/v1/transfers", tag = "mobility", operation_id = "transfer_start", request_body = RawTransfer,
    responses((status = 201, body = Transfer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_start(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawTransfer>,
) -> ApiResult<(StatusCode, Json<Transfer>)> {
    Ok((StatusCode::CREATED, Json(tr::start(&s.db, &p, &raw).await?)))
}

/// A transfer with its approval steps and what the caller may do.
#[utoipa::path(get, path = "/api/v1/transfers/{id}", tag = "mobility", operation_id = "transfer", params(("id" = i64, Path)),
    responses((status = 200, body = TransferView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_transfer(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<TransferId>,
) -> ApiResult<Json<TransferView>> {
    Ok(Json(tr::transfer(&s.db, &p, id).await?))
}

/// The next approver approves or refuses (with a reason).
#[utoipa::path(post, path = "/api/v1/transfers/{id}/decision", tag = "mobility", operation_id = "transfer_decide",
    params(("id" = i64, Path)), request_body = RawDecision,
    responses((status = 200, body = Transfer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_decide(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<TransferId>,
    ApiJson(raw): ApiJson<RawDecision>,
) -> ApiResult<Json<Transfer>> {
    Ok(Json(tr::decide(&s.db, &p, id, &raw).await?))
}

/// The sending organisation takes the transfer back (until the first approval).
#[utoipa::path(post, path = "/api/v1/transfers/{id}/revoke", tag = "mobility", operation_id = "transfer_revoke",
    params(("id" = i64, Path)),
    responses((status = 200, body = Transfer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_revoke(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<TransferId>,
) -> ApiResult<Json<Transfer>> {
    Ok(Json(tr::revoke(&s.db, &p, id).await?))
}

/// The receiving organisation confirms receipt (the member moves) or refuses; for a transfer out of the deployment, the receipt slip.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/receipt", tag = "mobility", operation_id = "transfer_receive",
    params(("id" = i64, Path)), request_body = RawReceipt,
    responses((status = 200, body = Transfer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_receive(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<TransferId>,
    ApiJson(raw): ApiJson<RawReceipt>,
) -> ApiResult<Json<Transfer>> {
    Ok(Json(tr::receive(&s.db, &p, id, &raw).await?))
}

/// The tenant's transfer settings (how long an introduction letter is valid).
#[utoipa::path(get, path = "/api/v1/mobility/settings", tag = "mobility", operation_id = "mobility_settings",
    responses((status = 200, body = TransferSettings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_settings(ApiUser(p): ApiUser, State(s): State<Shared>) -> ApiResult<Json<TransferSettings>> {
    Ok(Json(tr::settings(&s.db, &p).await?))
}

/// Change how long letters issued from now on are valid (1 to 90 days; the tenant's administrators).
#[utoipa::path(put, path = "/api/v1/mobility/settings", tag = "mobility", operation_id = "mobility_set_settings",
    request_body = RawTransferSettings,
    responses((status = 200, body = TransferSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_set_settings(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawTransferSettings>,
) -> ApiResult<Json<TransferSettings>> {
    Ok(Json(tr::set_settings(&s.db, &p, &raw).await?))
}

/// An organisation declines to receive a member who presents an outflow card (the reason is shown to the sending side).
#[utoipa::path(post, path = "/api/v1/mobility/refusals", tag = "mobility", operation_id = "mobility_refuse",
    request_body = RawRefusal,
    responses((status = 201, body = Refusal), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_refuse(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawRefusal>,
) -> ApiResult<(StatusCode, Json<Refusal>)> {
    Ok((StatusCode::CREATED, Json(mb::refuse(&s.db, &p, &raw).await?)))
}

/// Deadlines of mobile members and transfers falling on the caller (also on "my duties").
#[utoipa::path(get, path = "/api/v1/mobility/reminders", tag = "mobility", operation_id = "mobility_reminders",
    responses((status = 200, body = Vec<redcell_store::mobility::Reminder>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_reminders(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
) -> ApiResult<Json<Vec<redcell_store::mobility::Reminder>>> {
    Ok(Json(mb::reminders(&s.db, &p, crate::today()).await?))
}

pub fn mount(s: &mut Surface) {
    s.get("/orgs/{id}/mobility", gates::READ, rosters_page)
        .post("/orgs/{id}/mobility/out", gates::EDIT, record_out)
        .post("/orgs/{id}/mobility/in", gates::EDIT, record_in)
        .post("/orgs/{id}/mobility/refuse", gates::EDIT, refuse)
        .get("/mobility/cards/{id}", gates::READ, card_page)
        .post("/mobility/cards/{id}/contacts", gates::EDIT, contact)
        .post("/mobility/cards/{id}/end", gates::EDIT, end)
        .post("/mobility/cards/{id}/proposals", gates::EDIT, propose)
        .post("/mobility/proposals/{id}/decide", gates::EDIT, decide_proposal)
        .get("/orgs/{id}/transfers", gates::READ, transfers_page)
        .post("/orgs/{id}/transfers", gates::EDIT, start_transfer)
        .post("/orgs/{id}/transfers/settings", gates::EDIT, transfer_settings)
        .get("/transfers/{id}", gates::READ, transfer_page)
        .post("/transfers/{id}/decide", gates::EDIT, decide)
        .post("/transfers/{id}/revoke", gates::EDIT, revoke)
        .post("/transfers/{id}/receive", gates::EDIT, receive)
        .post("/transfers/{id}/release", gates::EDIT, release);
    s.api(gates::READ, routes!(api_rosters))
        .api(gates::EDIT, routes!(api_record))
        .api(gates::EDIT, routes!(api_refuse))
        .api(gates::READ, routes!(api_settings))
        .api(gates::EDIT, routes!(api_set_settings))
        .api(gates::READ, routes!(api_card))
        .api(gates::EDIT, routes!(api_contact))
        .api(gates::EDIT, routes!(api_end))
        .api(gates::EDIT, routes!(api_propose))
        .api(gates::EDIT, routes!(api_decide_proposal))
        .api(gates::READ, routes!(api_transfers))
        .api(gates::SIGNED_IN, routes!(api_reminders))
        .api(gates::EDIT, routes!(api_start))
        .api(gates::READ, routes!(api_transfer))
        .api(gates::EDIT, routes!(api_decide))
        .api(gates::EDIT, routes!(api_revoke))
        .api(gates::EDIT, routes!(api_receive))
        .api(gates::EDIT, routes!(api_release));
    s.exports(mb::exports());
}
