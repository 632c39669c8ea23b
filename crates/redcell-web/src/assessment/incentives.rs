//! Incentives on the web: star ratings (五星争创, `/stars`, an
//! organisation's history at `/orgs/{id}/stars`), commendations (rounds at
//! `/commendations`, the public list at `/orgs/{id}/commended`) and member
//! warnings (`/warnings`, assessors only). JSON beside each page.

use super::{ASSESS, ListQuery, READ, YearQuery};
use crate::Shared;
use crate::api::Q;
use crate::auth::{ApiUser, PageUser};
use crate::error::{ApiResult, ErrorBody};
use crate::kit::{Access, ApiJson, CsrfForm, Errors, Surface};
use crate::pages::{Nav, PageResult, render, render_status};
use crate::registry::pages::{Crumbs, org_crumbs};
use crate::requests::flash_to;
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use redcell_domain::assessment::Period;
use redcell_domain::assessment::incentives::{CommendationKind, NominationId, RoundId, WarningAction, WarningId};
use redcell_domain::{CodeEnum, OrgId, OrgPath};
use redcell_store::StoreError;
use redcell_store::assessment::commend::{
    self, Commended, Nomination, RawNomination, RawReview, RawRound, Round, RoundView,
};
use redcell_store::assessment::stars::{self, RatingRound, RawRate, StarRating};
use redcell_store::assessment::warnings::{self, Candidate, RawDecision, RawProposal, Warning, WarningView};
use redcell_store::registry::{Page, members};
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

/// After a form: back to `to` with a message, or with the error's messages
/// (a refusal or a missing object is answered as such).
fn back(to: &str, r: Result<String, StoreError>) -> PageResult {
    match r {
        Ok(msg) => Ok(flash_to(to, &msg, false)),
        Err(e) => {
            let errs = Errors::of(e)?;
            let sep = if to.contains('?') { '&' } else { '?' };
            let msg = errs.0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("；");
            let r = axum::response::Redirect::to(&format!("{to}{sep}err={}", crate::auth::url_encode(&msg)));
            Ok(axum::response::IntoResponse::into_response(r))
        }
    }
}

#[derive(Deserialize, Default)]
struct Msgs {
    org_id: Option<i64>,
    period: Option<String>,
    year: Option<i32>,
    q: Option<String>,
    all: Option<String>,
    flash: Option<String>,
    err: Option<String>,
}

fn this_year() -> i32 {
    chrono::Datelike::year(&crate::today())
}

/// A year asked for, within the years the system keeps (default: this year).
fn year_of(y: Option<i32>) -> i32 {
    y.unwrap_or_else(this_year).clamp(2000, 2100)
}

// ---- star ratings

#[derive(Template)]
#[template(path = "stars.html")]
struct StarsPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org_id: i64,
    org_name: String,
    period: Period,
    list: Vec<StarRating>,
    /// `Some`: one organisation's history instead of a period's ratings.
    history: bool,
    may_rate: bool,
    csrf: String,
    flash: Option<String>,
    err: Option<String>,
}

async fn stars_page(u: PageUser, State(s): State<Shared>, Query(q): Query<Msgs>) -> PageResult {
    let org = OrgId::new(redcell_store::coverage::org_or_home(&u.p, q.org_id)?);
    let period = match q.period.as_deref() {
        Some(p) if !p.trim().is_empty() => Period::parse("period", p).map_err(StoreError::from)?,
        _ => Period::of(crate::today()),
    };
    let list = stars::ratings(&s.db, &u.p, org, Some(&period.code())).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    let org_name = crumbs.last().map(|c| c.1.clone()).unwrap_or_default();
    crumbs.push((format!("/stars?org_id={org}"), "五星争创".into()));
    let may_rate = u.p.grants.iter().any(|g| g.org_id == org.get() && g.role.can(redcell_domain::Capability::Assess))
        || may_at(&s, &u, org).await;
    Ok(render(&StarsPage {
        nav: Nav::of(&u),
        crumbs,
        org_id: org.get(),
        org_name,
        period,
        list,
        history: false,
        may_rate,
        csrf: u.csrf.clone(),
        flash: q.flash,
        err: q.err,
    }))
}

/// Whether the caller assesses at (or above) the organisation.
async fn may_at(s: &Shared, u: &PageUser, org: OrgId) -> bool {
    let path: Option<(String,)> = s
        .db
        .opt("SELECT path FROM orgs WHERE tenant_id = $1 AND id = $2", redcell_store::args![u.p.tenant_id, org.get()])
        .await
        .ok()
        .flatten();
    path.and_then(|(p,)| OrgPath::parse(&p).ok()).is_some_and(|p| u.p.holds_at(redcell_domain::Capability::Assess, &p))
}

async fn org_stars_page(u: PageUser, State(s): State<Shared>, Path(id): Path<OrgId>) -> PageResult {
    let list = stars::history(&s.db, &u.p, id).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, id).await?;
    let org_name = crumbs.last().map(|c| c.1.clone()).unwrap_or_default();
    crumbs.push((format!("/orgs/{id}/stars"), "星级记录".into()));
    Ok(render(&StarsPage {
        nav: Nav::of(&u),
        crumbs,
        org_id: id.get(),
        org_name,
        period: Period::of(crate::today()),
        list,
        history: true,
        may_rate: false,
        csrf: u.csrf.clone(),
        flash: None,
        err: None,
    }))
}

async fn rate_page(u: PageUser, State(s): State<Shared>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawRate = f.to_raw(&[]);
    // Back to the page of what was asked, from parsed values only.
    let org = raw.org_id.as_deref().and_then(|x| x.trim().parse::<i64>().ok()).unwrap_or(0);
    let period =
        raw.period.as_deref().and_then(|x| Period::parse("period", x).ok()).map(|p| p.code()).unwrap_or_default();
    let to = format!("/stars?org_id={org}&period={period}");
    let r = stars::rate(&s.db, &u.p, &raw).await.map(|round| {
        let mut msg = format!("已评定 {} 个组织的星级", round.rated.len());
        for k in &round.skipped {
            msg.push_str(&format!("；{}：{}", k.org_name, k.reason));
        }
        msg
    });
    back(&to, r)
}

// ---- commendations

#[derive(Template)]
#[template(path = "commendations.html")]
struct RoundsPage {
    nav: Option<Nav>,
    year: i32,
    rounds: Vec<Round>,
    kinds: Vec<(String, String)>,
    may_open: bool,
    home_org: i64,
    csrf: String,
    flash: Option<String>,
    err: Option<String>,
    today: chrono::NaiveDate,
}

async fn rounds_page(u: PageUser, State(s): State<Shared>, Query(q): Query<Msgs>) -> PageResult {
    let year = year_of(q.year);
    let rounds = commend::rounds(&s.db, &u.p, Some(year)).await?;
    let kinds = CommendationKind::ALL.iter().map(|k| (k.code().to_string(), k.label().to_string())).collect();
    Ok(render(&RoundsPage {
        nav: Nav::of(&u),
        year,
        rounds,
        kinds,
        may_open: u.p.holds(redcell_domain::Capability::Assess),
        home_org: redcell_store::coverage::org_or_home(&u.p, None).unwrap_or(0),
        csrf: u.csrf.clone(),
        flash: q.flash,
        err: q.err,
        today: crate::today(),
    }))
}

async fn open_round_page(u: PageUser, State(s): State<Shared>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawRound = f.to_raw(&[]);
    match commend::open_round(&s.db, &u.p, &raw).await {
        Ok(r) => Ok(flash_to(&format!("/commendations/{}", r.id), "评选已开始，可以提名", false)),
        Err(e) => back("/commendations", Err(e)),
    }
}

#[derive(Template)]
#[template(path = "commendation.html")]
struct RoundPage {
    nav: Option<Nav>,
    v: RoundView,
    /// Nominations the caller may decide on now.
    mine: Vec<i64>,
    q: String,
    found: Vec<(i64, String, String, bool)>,
    csrf: String,
    flash: Option<String>,
    err: Option<String>,
}

async fn round_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<RoundId>,
    Query(q): Query<Msgs>,
) -> PageResult {
    let v = commend::round(&s.db, &u.p, id).await?;
    let mut mine = Vec::new();
    for n in v.nominations.iter().filter(|n| n.state == "pending") {
        if let Some(l) = n.level_org_id
            && may_at(&s, &u, OrgId::new(l)).await
        {
            mine.push(n.id);
        }
    }
    let qs = q.q.clone().unwrap_or_default();
    let mut found = Vec::new();
    if v.may_nominate && !qs.trim().is_empty() {
        let f = members::MemberFilter {
            org_id: Some(OrgId::new(v.round.org_id)),
            q: Some(qs.trim().to_string()),
            ..Default::default()
        };
        let nominated: Vec<i64> = v.nominations.iter().map(|n| n.member_id).collect();
        for m in members::list(&s.db, &u.p, &f, Page::first(20)).await?.items {
            found.push((m.id.get(), m.name.clone(), m.org_name.clone(), nominated.contains(&m.id.get())));
        }
    }
    Ok(render(&RoundPage { nav: Nav::of(&u), v, mine, q: qs, found, csrf: u.csrf.clone(), flash: q.flash, err: q.err }))
}

async fn nominate_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<RoundId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawNomination = f.to_raw(&[]);
    let r = commend::nominate(&s.db, &u.p, id, &raw).await.map(|n| format!("已提名{}，等待上级审核", n.member_name));
    back(&format!("/commendations/{id}"), r)
}

async fn review_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<NominationId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawReview = f.to_raw(&[]);
    let round = f.get("round_id").and_then(|x| x.parse::<i64>().ok()).unwrap_or(0);
    let r = commend::review(&s.db, &u.p, id, &raw).await.map(|n| format!("{}：{}", n.member_name, n.state_label()));
    back(&format!("/commendations/{round}"), r)
}

async fn publish_round_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<RoundId>,
    CsrfForm(_f): CsrfForm,
) -> PageResult {
    let r =
        commend::publish(&s.db, &u.p, id).await.map(|r| format!("「{}」评选结果已公布（{} 人）", r.title, r.approved));
    back(&format!("/commendations/{id}"), r)
}

#[derive(Template)]
#[template(path = "commended.html")]
struct CommendedPage {
    nav: Option<Nav>,
    org_id: i64,
    org_name: String,
    year: i32,
    list: Vec<Commended>,
}

async fn commended_page(State(s): State<Shared>, Path(id): Path<OrgId>, Query(q): Query<Msgs>) -> PageResult {
    let year = year_of(q.year);
    let (org_name, list) = commend::commended(&s.db, id, year).await?;
    Ok(render(&CommendedPage { nav: None, org_id: id.get(), org_name, year, list }))
}

// ---- warnings

#[derive(Template)]
#[template(path = "warnings.html")]
struct WarningsPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    org_id: i64,
    all: bool,
    cases: Vec<Warning>,
    candidates: Vec<Candidate>,
    candidates_total: usize,
    /// Organisations with suggestions: (id, name, how many).
    by_org: Vec<(i64, String, usize)>,
    csrf: String,
    flash: Option<String>,
    err: Option<String>,
}

async fn warnings_page(u: PageUser, State(s): State<Shared>, Query(q): Query<Msgs>) -> PageResult {
    let org = OrgId::new(redcell_store::coverage::org_or_home(&u.p, q.org_id)?);
    let all = q.all.is_some();
    let cases = warnings::list(&s.db, &u.p, org, all).await?;
    let mut candidates = warnings::candidates(&s.db, &u.p, org).await?;
    // A street has many: the page shows the first ones (by organisation) and says how many there are.
    let candidates_total = candidates.len();
    let mut by_org: Vec<(i64, String, usize)> = Vec::new();
    for c in &candidates {
        match by_org.iter_mut().find(|x| x.0 == c.org_id) {
            Some(x) => x.2 += 1,
            None => by_org.push((c.org_id, c.org_name.clone(), 1)),
        }
    }
    candidates.truncate(60);
    let mut crumbs = org_crumbs(&s.db, &u.p, org).await?;
    crumbs.push((format!("/warnings?org_id={org}"), "党员警示".into()));
    Ok(render(&WarningsPage {
        nav: Nav::of(&u),
        crumbs,
        org_id: org.get(),
        all,
        cases,
        candidates,
        candidates_total,
        by_org,
        csrf: u.csrf.clone(),
        flash: q.flash,
        err: q.err,
    }))
}

async fn propose_page(u: PageUser, State(s): State<Shared>, CsrfForm(f): CsrfForm) -> PageResult {
    let raw: RawProposal = f.to_raw(&[]);
    match warnings::propose(&s.db, &u.p, &raw).await {
        Ok(w) => Ok(flash_to(&format!("/warnings/{}", w.id), "已提出，请按程序认定", false)),
        Err(e) => {
            let org = f.get("back_org").and_then(|x| x.trim().parse::<i64>().ok()).unwrap_or(0);
            back(&format!("/warnings?org_id={org}"), Err(e))
        }
    }
}

#[derive(Template)]
#[template(path = "warning.html")]
struct WarningPage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    v: WarningView,
    actions: Vec<(String, String)>,
    csrf: String,
    flash: Option<String>,
    err: Option<String>,
}

async fn warning_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<WarningId>,
    Query(q): Query<Msgs>,
) -> PageResult {
    let v = warnings::get(&s.db, &u.p, id).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, OrgId::new(v.warning.org_id)).await?;
    crumbs.push((format!("/warnings?org_id={}", v.warning.org_id), "党员警示".into()));
    crumbs.push((format!("/warnings/{id}"), v.warning.name.clone()));
    let actions = v
        .actions
        .iter()
        .filter_map(|c| WarningAction::from_code(c).map(|a| (c.clone(), a.label().to_string())))
        .collect();
    Ok(render_status(
        StatusCode::OK,
        &WarningPage { nav: Nav::of(&u), crumbs, v, actions, csrf: u.csrf.clone(), flash: q.flash, err: q.err },
    ))
}

async fn decide_page(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<WarningId>,
    CsrfForm(f): CsrfForm,
) -> PageResult {
    let raw: RawDecision = f.to_raw(&[]);
    let r = warnings::decide(&s.db, &u.p, id, &raw).await.map(|v| format!("已记录：{}", v.warning.state_label()));
    back(&format!("/warnings/{id}"), r)
}

// ---- API

/// The star ratings of a half-year under an organisation.
#[utoipa::path(get, path = "/api/v1/stars", tag = "assessment", operation_id = "star_ratings", params(ListQuery),
    responses((status = 200, body = Vec<StarRating>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_stars(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<ListQuery>,
) -> ApiResult<Json<Vec<StarRating>>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(stars::ratings(&s.db, &p, OrgId::new(org), q.period.as_deref()).await?))
}

/// Rate (again) every organisation under one whose star assessment is final for the half-year.
#[utoipa::path(post, path = "/api/v1/stars", tag = "assessment", operation_id = "star_rate", request_body = RawRate,
    responses((status = 200, body = RatingRound), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_rate(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawRate>,
) -> ApiResult<Json<RatingRound>> {
    Ok(Json(stars::rate(&s.db, &p, &raw).await?))
}

/// An organisation's star history (newest first).
#[utoipa::path(get, path = "/api/v1/orgs/{id}/stars", tag = "assessment", operation_id = "org_stars", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<StarRating>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_org_stars(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<OrgId>,
) -> ApiResult<Json<Vec<StarRating>>> {
    Ok(Json(stars::history(&s.db, &p, id).await?))
}

/// The commendation rounds of a year.
#[utoipa::path(get, path = "/api/v1/commendations", tag = "assessment", operation_id = "commendation_rounds", params(YearQuery),
    responses((status = 200, body = Vec<Round>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_rounds(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<YearQuery>,
) -> ApiResult<Json<Vec<Round>>> {
    Ok(Json(commend::rounds(&s.db, &p, Some(q.year())).await?))
}

/// Open a commendation round with its nominating window.
#[utoipa::path(post, path = "/api/v1/commendations", tag = "assessment", operation_id = "commendation_open", request_body = RawRound,
    responses((status = 201, body = Round), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_open_round(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawRound>,
) -> ApiResult<(StatusCode, Json<Round>)> {
    Ok((StatusCode::CREATED, Json(commend::open_round(&s.db, &p, &raw).await?)))
}

/// A round with the nominations the caller may see.
#[utoipa::path(get, path = "/api/v1/commendations/{id}", tag = "assessment", operation_id = "commendation_round", params(("id" = i64, Path)),
    responses((status = 200, body = RoundView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_round(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<RoundId>,
) -> ApiResult<Json<RoundView>> {
    Ok(Json(commend::round(&s.db, &p, id).await?))
}

/// Nominate a member (within the window), with reasons; the member's record is kept with it.
#[utoipa::path(post, path = "/api/v1/commendations/{id}/nominations", tag = "assessment", operation_id = "commendation_nominate",
    params(("id" = i64, Path)), request_body = RawNomination,
    responses((status = 201, body = Nomination), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_nominate(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<RoundId>,
    ApiJson(raw): ApiJson<RawNomination>,
) -> ApiResult<(StatusCode, Json<Nomination>)> {
    Ok((StatusCode::CREATED, Json(commend::nominate(&s.db, &p, id, &raw).await?)))
}

/// Publish a round once every nomination is decided.
#[utoipa::path(post, path = "/api/v1/commendations/{id}/publish", tag = "assessment", operation_id = "commendation_publish",
    params(("id" = i64, Path)),
    responses((status = 200, body = Round), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_publish_round(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<RoundId>,
) -> ApiResult<Json<Round>> {
    Ok(Json(commend::publish(&s.db, &p, id).await?))
}

/// A level's decision on a nomination: pass on (approved at the round's organisation) or reject with a reason.
#[utoipa::path(post, path = "/api/v1/nominations/{id}/review", tag = "assessment", operation_id = "nomination_review",
    params(("id" = i64, Path)), request_body = RawReview,
    responses((status = 200, body = Nomination), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_review(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<NominationId>,
    ApiJson(raw): ApiJson<RawReview>,
) -> ApiResult<Json<Nomination>> {
    Ok(Json(commend::review(&s.db, &p, id, &raw).await?))
}

/// Those commended in a year among an organisation's members (the list the public page shows).
#[derive(Serialize, utoipa::ToSchema)]
pub struct CommendedList {
    pub org_name: String,
    pub year: i32,
    pub commended: Vec<Commended>,
}

#[utoipa::path(get, path = "/api/v1/orgs/{id}/commended", tag = "assessment", operation_id = "org_commended",
    params(("id" = i64, Path), YearQuery), responses((status = 200, body = CommendedList), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_commended(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<OrgId>,
    Q(q): Q<YearQuery>,
) -> ApiResult<Json<CommendedList>> {
    let year = q.year();
    redcell_store::scope::OrgRef::for_cap(&mut s.db.conn(), &p, id.get(), redcell_domain::Capability::ReadRegistry)
        .await?;
    let (org_name, commended) = commend::commended(&s.db, id, year).await?;
    Ok(Json(CommendedList { org_name, year, commended }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WarningsQuery {
    /// The organisation (its subtree); default: the caller's highest.
    pub org_id: Option<i64>,
    /// Closed cases too.
    pub all: Option<bool>,
}

/// Members' warning cases of an organisation's subtree (assessors only).
#[utoipa::path(get, path = "/api/v1/warnings", tag = "assessment", operation_id = "member_warnings", params(WarningsQuery),
    responses((status = 200, body = Vec<Warning>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_warnings(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<WarningsQuery>,
) -> ApiResult<Json<Vec<Warning>>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(warnings::list(&s.db, &p, OrgId::new(org), q.all.unwrap_or(false)).await?))
}

/// Members the records suggest for a warning, with the records.
#[utoipa::path(get, path = "/api/v1/warnings/candidates", tag = "assessment", operation_id = "warning_candidates", params(WarningsQuery),
    responses((status = 200, body = Vec<Candidate>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_candidates(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Q(q): Q<WarningsQuery>,
) -> ApiResult<Json<Vec<Candidate>>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(warnings::candidates(&s.db, &p, OrgId::new(org)).await?))
}

/// Propose a warning for a member (grounds from the records, or written).
#[utoipa::path(post, path = "/api/v1/warnings", tag = "assessment", operation_id = "warning_propose", request_body = RawProposal,
    responses((status = 201, body = Warning), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_propose(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    ApiJson(raw): ApiJson<RawProposal>,
) -> ApiResult<(StatusCode, Json<Warning>)> {
    Ok((StatusCode::CREATED, Json(warnings::propose(&s.db, &p, &raw).await?)))
}

/// A warning case with its decisions and the caller's open decisions.
#[utoipa::path(get, path = "/api/v1/warnings/{id}", tag = "assessment", operation_id = "member_warning", params(("id" = i64, Path)),
    responses((status = 200, body = WarningView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn api_warning(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<WarningId>,
) -> ApiResult<Json<WarningView>> {
    Ok(Json(warnings::get(&s.db, &p, id).await?))
}

/// Record a decision on a warning case (with its decision record).
#[utoipa::path(post, path = "/api/v1/warnings/{id}/decisions", tag = "assessment", operation_id = "warning_decide",
    params(("id" = i64, Path)), request_body = RawDecision,
    responses((status = 200, body = WarningView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_decide(
    ApiUser(p): ApiUser,
    State(s): State<Shared>,
    Path(id): Path<WarningId>,
    ApiJson(raw): ApiJson<RawDecision>,
) -> ApiResult<Json<WarningView>> {
    Ok(Json(warnings::decide(&s.db, &p, id, &raw).await?))
}

pub fn mount(s: &mut Surface) {
    s.get("/stars", READ, stars_page)
        .post("/stars", ASSESS, rate_page)
        .get("/orgs/{id}/stars", READ, org_stars_page)
        .get("/commendations", READ, rounds_page)
        .post("/commendations", ASSESS, open_round_page)
        .get("/commendations/{id}", READ, round_page)
        .post("/commendations/{id}/nominations", ASSESS, nominate_page)
        .post("/commendations/{id}/publish", ASSESS, publish_round_page)
        .post("/nominations/{id}/review", ASSESS, review_page)
        .get("/orgs/{id}/commended", Access::Public, commended_page)
        .get("/warnings", ASSESS, warnings_page)
        .post("/warnings", ASSESS, propose_page)
        .get("/warnings/{id}", ASSESS, warning_page)
        .post("/warnings/{id}/decisions", ASSESS, decide_page);
    s.api(READ, routes!(api_stars))
        .api(ASSESS, routes!(api_rate))
        .api(READ, routes!(api_org_stars))
        .api(READ, routes!(api_rounds))
        .api(ASSESS, routes!(api_open_round))
        .api(READ, routes!(api_round))
        .api(ASSESS, routes!(api_nominate))
        .api(ASSESS, routes!(api_publish_round))
        .api(ASSESS, routes!(api_review))
        .api(READ, routes!(api_commended))
        .api(ASSESS, routes!(api_warnings))
        .api(ASSESS, routes!(api_candidates))
        .api(ASSESS, routes!(api_propose))
        .api(ASSESS, routes!(api_warning))
        .api(ASSESS, routes!(api_decide));
}
