//! Pages of resident requests (民情诉求): the public submission and follow
//! pages (no account), the revisit link, the back-office queue with bulk
//! triage, a request's detail with the actions the state machine allows, my
//! tasks, statistics with SVG charts, the micro-wish board and the holiday
//! calendar.

use super::{CheckedForm, Nav, PageResult, render, render_status};
use crate::Shared;
use crate::auth::{PageUser, cookie, same_token, set_cookie};
use crate::form::FormData;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use redcell_domain::requests::{Action, FixOutcome, RawRequest, RequestKind, RequestState, Satisfaction};
use redcell_domain::{CodeEnum, FieldError, Invalid};
use redcell_store::StoreError;
use redcell_store::calendar::{self as cal_store, HolidayRow};
use redcell_store::registry::{Page, Paged};
use redcell_store::requests::{
    self, ActInput, Category, Chase, Filter, HistoryRow, Part, Photo, PublicView, Request, Source, Stats, wishes,
};
use serde::Deserialize;

const PUB_CSRF: &str = "rc_pub_csrf";

fn errs_of(e: StoreError) -> Result<Vec<FieldError>, StoreError> {
    match e {
        StoreError::Invalid(Invalid(v)) => Ok(v),
        StoreError::RateLimited(_) => Ok(vec![FieldError::new("_", "rate", redcell_domain::i18n::REQ_RATE_LIMITED)]),
        e => Err(e),
    }
}

fn err_for<'a>(errs: &'a [FieldError], f: &str) -> Option<&'a str> {
    errs.iter().find(|e| e.field == f).map(|e| e.message.as_str())
}

// ---- public: submit

#[derive(Template)]
#[template(path = "req_new.html")]
struct NewPage {
    nav: Option<Nav>,
    csrf: String,
    tenant: i64,
    categories: Vec<Category>,
    grids: Vec<(i64, String)>,
    /// Buildings grouped by "community · grid".
    buildings: Vec<(String, Vec<requests::PublicBuilding>)>,
    form: RawRequest,
    errs: Vec<FieldError>,
}

/// Group buildings (ordered community → grid) under "community · grid".
fn group_buildings(list: Vec<requests::PublicBuilding>) -> Vec<(String, Vec<requests::PublicBuilding>)> {
    let mut out: Vec<(String, Vec<requests::PublicBuilding>)> = Vec::new();
    for b in list {
        let label = format!("{} · {}", b.community, b.grid);
        match out.last_mut() {
            Some((l, v)) if *l == label => v.push(b),
            _ => out.push((label, vec![b])),
        }
    }
    out
}

impl NewPage {
    fn e(&self, f: &str) -> Option<&str> {
        err_for(&self.errs, f)
    }
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
    fn summary(&self) -> String {
        self.errs.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("；")
    }
}

#[derive(Deserialize)]
struct TenantQuery {
    t: Option<i64>,
}

async fn tenant_of(s: &Shared, t: Option<i64>) -> Result<i64, StoreError> {
    match t {
        Some(t) => Ok(t),
        None => requests::default_tenant(&s.db).await,
    }
}

async fn new_page(s: &Shared, tenant: i64, csrf: String, form: RawRequest, errs: Vec<FieldError>) -> Response {
    let categories = requests::categories(&s.db, tenant).await.unwrap_or_default();
    let grids = requests::public_grids(&s.db, tenant).await.unwrap_or_default();
    let buildings = group_buildings(requests::public_buildings(&s.db, tenant).await.unwrap_or_default());
    let status = if errs.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut r = render_status(
        status,
        &NewPage { nav: None, csrf: csrf.clone(), tenant, categories, grids, buildings, form, errs },
    );
    if let Ok(v) = set_cookie(PUB_CSRF, &csrf, 3600, s.secure_cookies).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn submit_form(State(s): State<Shared>, Query(q): Query<TenantQuery>) -> PageResult {
    let tenant = tenant_of(&s, q.t).await?;
    let csrf = redcell_store::auth::random_token()?;
    Ok(new_page(&s, tenant, csrf, RawRequest::default(), vec![]).await)
}

async fn submit_post(State(s): State<Shared>, parts: Parts, mut mp: Multipart) -> PageResult {
    let mut f: Vec<(String, String)> = Vec::new();
    let mut photo: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => {
                let e = FieldError::new("photo", "unreadable", redcell_domain::i18n::REQ_PHOTO_TOO_LARGE);
                return Err(StoreError::Invalid(e.into()).into());
            }
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "photo" {
            let fname = field.file_name().unwrap_or("photo").to_string();
            let b = field.bytes().await.map_err(|_| {
                StoreError::Invalid(
                    FieldError::new("photo", "unreadable", redcell_domain::i18n::REQ_PHOTO_TOO_LARGE).into(),
                )
            })?;
            if !b.is_empty() {
                photo = Some((fname, b.to_vec()));
            }
        } else if let Ok(t) = field.text().await {
            f.push((name, t));
        }
    }
    let f = FormData(f);
    let expected = cookie(&parts, PUB_CSRF).unwrap_or("").to_string();
    if expected.is_empty() || !f.get("_csrf").is_some_and(|t| same_token(t, &expected)) {
        return Err(super::PageError::csrf());
    }
    let tenant = tenant_of(&s, f.get("t").and_then(|t| t.parse().ok())).await?;
    let mut raw: RawRequest = f.to_raw(&[]);
    // Households and "acted for" belong to staff registration only.
    raw.household_id = None;
    raw.acting_for = None;
    let again = |errs| new_page(&s, tenant, expected.clone(), raw.clone(), errs);
    let n = match raw.validate() {
        Ok(n) => n,
        Err(Invalid(v)) => return Ok(again(v).await),
    };
    let client = crate::auth::client(&parts, s.trust_forwarded);
    if let Some(ip) = &client.ip
        && let Err(e) = requests::rate_limit(&s.db, ip).await
    {
        let mut r = again(errs_of(e)?).await;
        *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return Ok(r);
    }
    let ph = photo.as_ref().map(|(n, b)| Photo { name: n, bytes: b });
    match requests::submit(&s.db, tenant, n, Source::Resident, None, ph).await {
        Ok(sub) => Ok(Redirect::to(&format!("/r/{}?new=1", sub.code)).into_response()),
        Err(e) => Ok(again(errs_of(e)?).await),
    }
}

// ---- public: follow and revisit

#[derive(Template)]
#[template(path = "req_follow.html")]
struct FollowPage {
    nav: Option<Nav>,
    v: PublicView,
    new: bool,
}

#[derive(Deserialize)]
struct FollowQuery {
    new: Option<String>,
    code: Option<String>,
}

async fn follow(State(s): State<Shared>, Path(code): Path<String>, Query(q): Query<FollowQuery>) -> PageResult {
    let (_, v) = requests::public_view(&s.db, &code).await?;
    Ok(render(&FollowPage { nav: None, v, new: q.new.is_some() }))
}

/// `/r?code=XXXX` from the lookup form.
async fn follow_lookup(Query(q): Query<FollowQuery>) -> Response {
    let code: String = q.code.unwrap_or_default().chars().filter(|c| c.is_ascii_alphanumeric()).take(16).collect();
    if code.is_empty() {
        Redirect::to("/r/new").into_response()
    } else {
        Redirect::to(&format!("/r/{code}")).into_response()
    }
}

#[derive(Template)]
#[template(path = "req_revisit.html")]
struct RevisitPage {
    nav: Option<Nav>,
    csrf: String,
    token: String,
    v: Option<PublicView>,
    error: Option<String>,
    done: Option<String>,
    outcomes: Vec<(&'static str, &'static str)>,
    satisfactions: Vec<(&'static str, &'static str)>,
}

fn revisit_page(
    csrf: String,
    token: String,
    v: Option<PublicView>,
    error: Option<String>,
    done: Option<String>,
) -> RevisitPage {
    RevisitPage {
        nav: None,
        csrf,
        token,
        v,
        error,
        done,
        outcomes: FixOutcome::ALL.iter().map(|o| (o.code(), o.label())).collect(),
        satisfactions: Satisfaction::ALL.iter().map(|o| (o.code(), o.label())).collect(),
    }
}

async fn revisit_form(State(s): State<Shared>, Path(token): Path<String>) -> PageResult {
    let csrf = redcell_store::auth::random_token()?;
    let page = match requests::revisit_target(&s.db, &token).await {
        Ok(v) => revisit_page(csrf.clone(), token, Some(v), None, None),
        Err(StoreError::Invalid(i)) => {
            let msg = i.first().map(|e| e.message.clone()).unwrap_or_default();
            let mut r = render_status(StatusCode::GONE, &revisit_page(csrf, token, None, Some(msg), None));
            r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            return Ok(r);
        }
        Err(e) => return Err(e.into()),
    };
    let mut r = render(&page);
    if let Ok(v) = set_cookie(PUB_CSRF, &csrf, 3600, s.secure_cookies).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

async fn revisit_post(State(s): State<Shared>, Path(token): Path<String>, parts: Parts, body: Bytes) -> PageResult {
    let f = FormData::parse(&body);
    let expected = cookie(&parts, PUB_CSRF).unwrap_or("").to_string();
    if expected.is_empty() || !f.get("_csrf").is_some_and(|t| same_token(t, &expected)) {
        return Err(super::PageError::csrf());
    }
    let outcome = FixOutcome::parse("outcome", f.get("outcome").unwrap_or(""));
    let sat = Satisfaction::parse("satisfaction", f.get("satisfaction").unwrap_or(""));
    let (outcome, sat) = match (outcome, sat) {
        (Ok(o), Ok(s2)) => (o, s2),
        _ => {
            let v = requests::revisit_target(&s.db, &token).await.ok();
            let msg = "请选择是否解决和满意度".to_string();
            return Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &revisit_page(expected, token, v, Some(msg), None),
            ));
        }
    };
    match requests::revisit_by_link(&s.db, &token, outcome, sat, f.get("comment")).await {
        Ok(state) => {
            let msg = match state {
                RequestState::Closed => "感谢您的评价，该诉求已办结关闭。".to_string(),
                RequestState::Reopened => "已收到，我们会重新办理您的诉求。".to_string(),
                _ => "感谢您的评价。".to_string(),
            };
            Ok(render(&revisit_page(expected, token, None, None, Some(msg))))
        }
        Err(StoreError::Invalid(i)) => {
            let msg = i.first().map(|e| e.message.clone()).unwrap_or_default();
            Ok(render_status(StatusCode::GONE, &revisit_page(expected, token, None, Some(msg), None)))
        }
        Err(e) => Err(e.into()),
    }
}

// ---- back office: queue, my tasks, detail

#[derive(Template)]
#[template(path = "requests.html")]
struct QueuePage {
    nav: Option<Nav>,
    csrf: String,
    title: String,
    list: Paged<Request>,
    pager: super::Pager,
    f: Filter,
    kinds: Vec<(&'static str, &'static str)>,
    states: Vec<(&'static str, &'static str)>,
    handlers: Vec<(i64, String)>,
    today: chrono::NaiveDate,
    bulk: bool,
    flash: Option<String>,
    /// "My tasks": requests open for claiming by the caller as a member.
    claimable: Vec<Request>,
    /// The download of the queue with its filters (for who may export).
    exports: Vec<crate::export::ExportLink>,
}

impl QueuePage {
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
}

#[derive(Deserialize)]
struct QueueQuery {
    kind: Option<String>,
    state: Option<String>,
    overdue: Option<String>,
    org_id: Option<String>,
    q: Option<String>,
    page: Option<u32>,
    flash: Option<String>,
}

fn kinds() -> Vec<(&'static str, &'static str)> {
    RequestKind::ALL.iter().map(|k| (k.code(), k.label())).collect()
}

async fn queue(u: PageUser, State(s): State<Shared>, Query(q): Query<QueueQuery>) -> PageResult {
    let f = Filter { kind: q.kind, state: q.state, overdue: q.overdue, org_id: q.org_id, q: q.q };
    let list = requests::list(&s.db, &u.p, &f, Page { page: q.page, per_page: Some(50) }).await?;
    let base = format!(
        "/requests?kind={}&state={}&overdue={}&org_id={}&q={}&",
        QueuePage::v(&f.kind),
        QueuePage::v(&f.state),
        QueuePage::v(&f.overdue),
        QueuePage::v(&f.org_id),
        crate::auth::url_encode(QueuePage::v(&f.q))
    );
    let pager = super::Pager::of(&list, base);
    let handlers = requests::assignable(&s.db, &u.p).await?;
    let exports = if crate::export::may_export(&u.p) {
        let filters = [
            ("kind", QueuePage::v(&f.kind).to_string()),
            ("state", QueuePage::v(&f.state).to_string()),
            ("overdue", QueuePage::v(&f.overdue).to_string()),
            ("org_id", QueuePage::v(&f.org_id).to_string()),
            ("q", QueuePage::v(&f.q).to_string()),
        ];
        vec![crate::export::link::<requests::RequestList>("民情诉求", &filters)]
    } else {
        vec![]
    };
    let mut states: Vec<(&'static str, &'static str)> = vec![("open", "未办结")];
    states.extend(RequestState::ALL.iter().map(|k| (k.code(), k.label())));
    Ok(render(&QueuePage {
        nav: Nav::of(&u),
        csrf: u.csrf.clone(),
        title: "民情诉求".into(),
        bulk: !handlers.is_empty(),
        list,
        pager,
        f,
        kinds: kinds(),
        states,
        handlers,
        today: crate::today(),
        flash: q.flash,
        claimable: vec![],
        exports,
    }))
}

async fn mine(u: PageUser, State(s): State<Shared>) -> PageResult {
    let items = requests::my_tasks(&s.db, &u.p).await?;
    let claimable = requests::claimable(&s.db, &u.p).await?;
    let total = items.len() as i64;
    let list = Paged { items, total, page: 1, per_page: total.max(1) as u32 };
    let pager = super::Pager::of(&list, "/requests/mine?".into());
    Ok(render(&QueuePage {
        nav: Nav::of(&u),
        csrf: u.csrf.clone(),
        title: "我的任务".into(),
        list,
        pager,
        f: Filter::default(),
        kinds: vec![],
        states: vec![],
        handlers: vec![],
        today: crate::today(),
        bulk: false,
        flash: None,
        claimable,
        exports: vec![],
    }))
}

async fn bulk(u: PageUser, State(s): State<Shared>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let ids: Vec<i64> = f.all("id").iter().filter_map(|x| x.parse().ok()).collect();
    let action = Action::parse("action", f.get("action").unwrap_or(""))?;
    let input = ActInput { handler_user_id: f.get("handler").and_then(|h| h.parse().ok()), ..ActInput::default() };
    let (ok, failed) = requests::bulk(&s.db, &u.p, &ids, action, input).await?;
    let mut msg = format!("{}：成功 {} 件", action.label(), ok);
    if !failed.is_empty() {
        let why: Vec<String> = failed.iter().map(|(id, m)| format!("#{id} {m}")).collect();
        msg.push_str(&format!("，未成功 {} 件（{}）", failed.len(), why.join("；")));
    }
    Ok(Redirect::to(&format!("/requests?flash={}", crate::auth::url_encode(&msg))).into_response())
}

#[derive(Template)]
#[template(path = "request.html")]
struct DetailPage {
    nav: Option<Nav>,
    csrf: String,
    r: Request,
    history: Vec<HistoryRow>,
    actions: Vec<Action>,
    handlers: Vec<(i64, String)>,
    parts: Vec<Part>,
    chases: Vec<Chase>,
    errs: Vec<FieldError>,
    link: Option<String>,
    calendar_warning: bool,
    overdue: bool,
    outcomes: Vec<(&'static str, &'static str)>,
    satisfactions: Vec<(&'static str, &'static str)>,
    staff: bool,
}

impl DetailPage {
    fn summary(&self) -> String {
        self.errs.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("；")
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

async fn detail_page(
    s: &Shared,
    u: &PageUser,
    id: i64,
    errs: Vec<FieldError>,
    link: Option<String>,
) -> Result<Response, StoreError> {
    let r = requests::get(&s.db, &u.p, id).await?;
    let history = requests::history_of(&s.db, &u.p, id).await?;
    let actions = requests::actions_for(&u.p, &r);
    let handlers = if actions.contains(&Action::Assign) { requests::assignable(&s.db, &u.p).await? } else { vec![] };
    let parts = requests::parts(&s.db, &u.p, id).await?;
    let chases = requests::chases(&s.db, &u.p, id).await?;
    let cal = redcell_store::calendar::load(&s.db, r.tenant_id).await?;
    let calendar_warning = !cal_store::uncovered_years(&cal, r.received_on, r.due_date).is_empty();
    let today = crate::today();
    let staff = u.p.scope(redcell_domain::Capability::EditRegistry).contains(&r.path());
    let status = if errs.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(
        status,
        &DetailPage {
            nav: Nav::of(u),
            csrf: u.csrf.clone(),
            overdue: r.overdue(today),
            r,
            history,
            actions,
            handlers,
            parts,
            chases,
            errs,
            link,
            calendar_warning,
            outcomes: FixOutcome::ALL.iter().map(|o| (o.code(), o.label())).collect(),
            satisfactions: Satisfaction::ALL.iter().map(|o| (o.code(), o.label())).collect(),
            staff,
        },
    ))
}

async fn detail(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    Ok(detail_page(&s, &u, id, vec![], None).await?)
}

async fn act(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let action = match Action::parse("action", f.get("action").unwrap_or("")) {
        Ok(a) => a,
        Err(e) => return Ok(detail_page(&s, &u, id, vec![e], None).await?),
    };
    let input = ActInput {
        note: f.get("note").map(str::to_string),
        handler_user_id: f.get("handler").and_then(|h| h.parse().ok()),
        duplicate_of: f.get("duplicate_of").map(str::to_string),
        outcome: f.get("outcome").and_then(FixOutcome::from_code),
        satisfaction: f.get("satisfaction").and_then(Satisfaction::from_code),
        acting_for: f.get("acting_for").map(str::trim).filter(|x| !x.is_empty()).map(str::to_string),
        internal: f.get("internal").is_some(),
    };
    match requests::act(&s.db, &u.p, id, action, input).await {
        Ok(r) if action == Action::Resolve && r.state() == RequestState::Resolved => {
            let token = requests::revisit_link(&s.db, &u.p, id).await?;
            Ok(detail_page(&s, &u, id, vec![], Some(format!("/r/revisit/{token}"))).await?)
        }
        Ok(_) => Ok(Redirect::to(&format!("/requests/{id}")).into_response()),
        Err(e) => Ok(detail_page(&s, &u, id, errs_of(e)?, None).await?),
    }
}

async fn new_link(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    if let Err(r) = CheckedForm::check(&u, &s.db, &body).await {
        return Ok(r);
    }
    match requests::revisit_link(&s.db, &u.p, id).await {
        Ok(token) => Ok(detail_page(&s, &u, id, vec![], Some(format!("/r/revisit/{token}"))).await?),
        Err(e) => Ok(detail_page(&s, &u, id, errs_of(e)?, None).await?),
    }
}

async fn add_part(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let r = if let Some(pid) = f.get("part_id").and_then(|x| x.parse::<i64>().ok()) {
        let st = redcell_domain::requests::PartStatus::parse("status", f.get("status").unwrap_or(""))?;
        requests::set_part_status(&s.db, &u.p, id, pid, st).await
    } else {
        requests::add_part(&s.db, &u.p, id, f.get("participant").unwrap_or(""), f.get("part").unwrap_or("")).await
    };
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/requests/{id}")).into_response()),
        Err(e) => Ok(detail_page(&s, &u, id, errs_of(e)?, None).await?),
    }
}

async fn chase(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    match requests::chase(&s.db, &u.p, id, f.get("contact").unwrap_or(""), f.get("note")).await {
        Ok(()) => Ok(Redirect::to(&format!("/requests/{id}")).into_response()),
        Err(e) => Ok(detail_page(&s, &u, id, errs_of(e)?, None).await?),
    }
}

// ---- back office: register on a resident's behalf (代为登记)

#[derive(Template)]
#[template(path = "req_register.html")]
struct RegisterPage {
    nav: Option<Nav>,
    csrf: String,
    categories: Vec<Category>,
    classes: Vec<(&'static str, &'static str)>,
    form: RawRequest,
    errs: Vec<FieldError>,
    /// Households the typed text found (to choose one).
    choices: Vec<redcell_store::coverage::pick::Candidate>,
}

impl RegisterPage {
    fn e(&self, f: &str) -> Option<&str> {
        err_for(&self.errs, f)
    }
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
    fn summary(&self) -> String {
        self.errs.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("；")
    }
}

async fn register_page(
    s: &Shared,
    u: &PageUser,
    form: RawRequest,
    errs: Vec<FieldError>,
    choices: Vec<redcell_store::coverage::pick::Candidate>,
) -> Result<Response, StoreError> {
    let categories = requests::categories(&s.db, u.p.tenant_id).await?;
    let classes = redcell_domain::requests::ErrandClass::ALL.iter().map(|k| (k.code(), k.label())).collect();
    let status = if errs.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(
        status,
        &RegisterPage { nav: Nav::of(u), csrf: u.csrf.clone(), categories, classes, form, errs, choices },
    ))
}

async fn register_form(u: PageUser, State(s): State<Shared>) -> PageResult {
    Ok(register_page(&s, &u, RawRequest::default(), vec![], vec![]).await?)
}

async fn register_post(u: PageUser, State(s): State<Shared>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let mut raw: RawRequest = f.to_raw(&[]);
    raw.room = None;
    // The household: chosen from the list offered last time, or text to find.
    let mut errs = Vec::new();
    let mut choices = Vec::new();
    if let Some(id) = f.get("_pick_household_id").filter(|v| !v.is_empty()) {
        raw.household_id = Some(id.to_string());
    } else {
        match requests::resolve_household(&s.db, &u.p, raw.household_id.as_deref().unwrap_or("")).await? {
            Ok(id) => raw.household_id = id.map(|i| i.to_string()),
            Err((e, found)) => {
                errs.push(e);
                choices = found;
            }
        }
    }
    if !errs.is_empty() {
        return Ok(register_page(&s, &u, raw, errs, choices).await?);
    }
    let n = match raw.validate() {
        Ok(n) => n,
        Err(Invalid(v)) => return Ok(register_page(&s, &u, raw, v, vec![]).await?),
    };
    match requests::submit(&s.db, u.p.tenant_id, n, Source::Staff, Some(&u.p), None).await {
        Ok(sub) => Ok(Redirect::to(&format!("/requests/{}", sub.id)).into_response()),
        Err(StoreError::Forbidden) => {
            let e = FieldError::new("household_id", "scope", redcell_domain::i18n::FORBIDDEN);
            Ok(register_page(&s, &u, raw, vec![e], vec![]).await?)
        }
        Err(e) => Ok(register_page(&s, &u, raw, errs_of(e)?, vec![]).await?),
    }
}

// ---- statistics

#[derive(Template)]
#[template(path = "req_stats.html")]
struct StatsPage {
    nav: Option<Nav>,
    st: Stats,
    kind_bars: Vec<Bar>,
    state_bars: Vec<Bar>,
    kind_h: usize,
    state_h: usize,
}

struct Bar {
    label: String,
    n: i64,
    width: f64,
}

fn bars(v: &[(String, i64)]) -> Vec<Bar> {
    let max = v.iter().map(|x| x.1).max().unwrap_or(0).max(1) as f64;
    v.iter().map(|(l, n)| Bar { label: l.clone(), n: *n, width: (*n as f64) / max * 300.0 }).collect()
}

impl StatsPage {
    fn median(&self) -> String {
        self.st.median_days.map(|d| format!("{d:.1} 天")).unwrap_or_else(|| "—".into())
    }
    fn rate(&self) -> String {
        self.st.satisfaction_rate.map(|d| format!("{d:.0}%")).unwrap_or_else(|| "—".into())
    }
}

async fn stats(u: PageUser, State(s): State<Shared>) -> PageResult {
    let st = requests::stats(&s.db, &u.p).await?;
    let kind_bars = bars(&st.by_kind);
    let state_bars = bars(&st.by_state);
    Ok(render(&StatsPage {
        nav: Nav::of(&u),
        kind_h: kind_bars.len() * 28 + 8,
        state_h: state_bars.len() * 28 + 8,
        kind_bars,
        state_bars,
        st,
    }))
}

// ---- wishes

#[derive(Template)]
#[template(path = "wishes.html")]
struct WishesPage {
    nav: Option<Nav>,
    csrf: String,
    cards: Vec<wishes::WishCard>,
    flash: Option<String>,
}

#[derive(Deserialize)]
struct FlashQuery {
    flash: Option<String>,
}

async fn wish_board(u: PageUser, State(s): State<Shared>, Query(q): Query<FlashQuery>) -> PageResult {
    let cards = wishes::board(&s.db, &u.p).await?;
    Ok(render(&WishesPage { nav: Nav::of(&u), csrf: u.csrf.clone(), cards, flash: q.flash }))
}

async fn wish_action(
    u: PageUser,
    State(s): State<Shared>,
    Path((id, what)): Path<(i64, String)>,
    body: Bytes,
) -> PageResult {
    if let Err(r) = CheckedForm::check(&u, &s.db, &body).await {
        return Ok(r);
    }
    let r = match what.as_str() {
        "verify" => wishes::verify(&s.db, &u.p, id).await,
        "claim" => wishes::claim(&s.db, &u.p, id).await,
        "contacted" => wishes::contacted(&s.db, &u.p, id).await,
        "complete" => wishes::complete(&s.db, &u.p, id, None).await,
        _ => Err(StoreError::NotFound),
    };
    let msg = match r {
        Ok(_) => "已保存".to_string(),
        Err(e) => errs_of(e)?.first().map(|e| e.message.clone()).unwrap_or_default(),
    };
    Ok(Redirect::to(&format!("/wishes?flash={}", crate::auth::url_encode(&msg))).into_response())
}

/// The claimer completes a wish with an optional photo (multipart).
async fn wish_complete_photo(
    u: PageUser,
    State(s): State<Shared>,
    Path(id): Path<i64>,
    mut mp: Multipart,
) -> PageResult {
    let mut csrf_ok = false;
    let mut photo: Option<(String, Vec<u8>)> = None;
    let unreadable = || -> super::PageError {
        StoreError::Invalid(FieldError::new("photo", "unreadable", redcell_domain::i18n::REQ_PHOTO_TOO_LARGE).into())
            .into()
    };
    loop {
        let field = match mp.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return Err(unreadable()),
        };
        match field.name() {
            Some("_csrf") => csrf_ok = field.text().await.is_ok_and(|t| same_token(&t, &u.csrf)),
            Some("photo") => {
                let name = field.file_name().unwrap_or("photo").to_string();
                match field.bytes().await {
                    Ok(b) if !b.is_empty() => photo = Some((name, b.to_vec())),
                    Ok(_) => {}
                    Err(_) => return Err(unreadable()),
                }
            }
            _ => {}
        }
    }
    if !csrf_ok {
        let _ = redcell_store::accounts::refused(&s.db, &u.p, "csrf_failed", &format!("wish#{id} photo")).await;
        return Err(super::PageError::csrf());
    }
    let ph = photo.as_ref().map(|(n, b)| Photo { name: n, bytes: b });
    let msg = match wishes::complete(&s.db, &u.p, id, ph).await {
        Ok(_) => "已保存".to_string(),
        Err(e) => errs_of(e)?.first().map(|e| e.message.clone()).unwrap_or_default(),
    };
    Ok(Redirect::to(&format!("/wishes?flash={}", crate::auth::url_encode(&msg))).into_response())
}

// ---- holiday calendar

#[derive(Template)]
#[template(path = "holidays.html")]
struct HolidaysPage {
    nav: Option<Nav>,
    csrf: String,
    rows: Vec<HolidayRow>,
    own: bool,
    errs: Vec<FieldError>,
    years: Vec<i32>,
}

impl HolidaysPage {
    fn e(&self, f: &str) -> Option<&str> {
        err_for(&self.errs, f)
    }
}

async fn holidays_page(s: &Shared, u: &PageUser, errs: Vec<FieldError>) -> Result<Response, StoreError> {
    let (rows, own) = cal_store::list(&s.db, &u.p).await?;
    let mut years: Vec<i32> = rows.iter().map(|r| chrono::Datelike::year(&r.date)).collect();
    years.dedup();
    let status = if errs.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(status, &HolidaysPage { nav: Nav::of(u), csrf: u.csrf.clone(), rows, own, errs, years }))
}

async fn holidays(u: PageUser, State(s): State<Shared>) -> PageResult {
    Ok(holidays_page(&s, &u, vec![]).await?)
}

async fn holidays_post(u: PageUser, State(s): State<Shared>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let r = if let Some(d) = f.get("remove") {
        match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => cal_store::remove(&s.db, &u.p, d).await,
            Err(_) => Err(FieldError::new("date", "date", redcell_domain::i18n::DATE_INVALID).into()),
        }
    } else {
        cal_store::add(
            &s.db,
            &u.p,
            f.get("date").unwrap_or(""),
            f.get("kind").unwrap_or(""),
            f.get("name").unwrap_or(""),
        )
        .await
    };
    match r {
        Ok(()) => Ok(Redirect::to("/admin/holidays").into_response()),
        Err(e) => Ok(holidays_page(&s, &u, errs_of(e)?).await?),
    }
}

// ---- categories

#[derive(Template)]
#[template(path = "req_categories.html")]
struct CategoriesPage {
    nav: Option<Nav>,
    csrf: String,
    list: Vec<Category>,
    kinds: Vec<(&'static str, &'static str)>,
    classes: Vec<(&'static str, &'static str)>,
    form: redcell_domain::requests::RawCategory,
    errs: Vec<FieldError>,
    /// Open311 keys (only for those who edit the tenant's root).
    keys: Option<Vec<requests::keys::ApiKey>>,
    /// A key just issued: shown once.
    new_key: Option<String>,
}

impl CategoriesPage {
    fn e(&self, f: &str) -> Option<&str> {
        err_for(&self.errs, f)
    }
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
}

async fn categories_page(
    s: &Shared,
    u: &PageUser,
    form: redcell_domain::requests::RawCategory,
    errs: Vec<FieldError>,
) -> Result<Response, StoreError> {
    categories_page_with(s, u, form, errs, None).await
}

async fn categories_page_with(
    s: &Shared,
    u: &PageUser,
    form: redcell_domain::requests::RawCategory,
    errs: Vec<FieldError>,
    new_key: Option<String>,
) -> Result<Response, StoreError> {
    let list = requests::categories(&s.db, u.p.tenant_id).await?;
    let keys = requests::keys::list(&s.db, &u.p).await.ok();
    let status = if errs.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let classes = redcell_domain::requests::ErrandClass::ALL.iter().map(|k| (k.code(), k.label())).collect();
    Ok(render_status(
        status,
        &CategoriesPage {
            nav: Nav::of(u),
            csrf: u.csrf.clone(),
            list,
            kinds: kinds(),
            classes,
            form,
            errs,
            keys,
            new_key,
        },
    ))
}

async fn categories(u: PageUser, State(s): State<Shared>) -> PageResult {
    Ok(categories_page(&s, &u, Default::default(), vec![]).await?)
}

async fn categories_post(u: PageUser, State(s): State<Shared>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    let raw: redcell_domain::requests::RawCategory = f.to_raw(&[]);
    let r = match raw.validate() {
        Ok(n) => requests::create_category(&s.db, &u.p, n).await.map(|_| ()),
        Err(inv) => Err(StoreError::Invalid(inv)),
    };
    match r {
        Ok(()) => Ok(Redirect::to("/admin/request-categories").into_response()),
        Err(e) => Ok(categories_page(&s, &u, raw, errs_of(e)?).await?),
    }
}

/// Issue an Open311 key (shown once) or revoke one.
async fn open311_keys_post(u: PageUser, State(s): State<Shared>, body: Bytes) -> PageResult {
    let f = match CheckedForm::check(&u, &s.db, &body).await {
        Ok(f) => f.0,
        Err(r) => return Ok(r),
    };
    if let Some(id) = f.get("revoke").and_then(|x| x.parse::<i64>().ok()) {
        requests::keys::revoke(&s.db, &u.p, id).await?;
        return Ok(Redirect::to("/admin/request-categories").into_response());
    }
    match requests::keys::create(&s.db, &u.p, f.get("label").unwrap_or("")).await {
        Ok(key) => Ok(categories_page_with(&s, &u, Default::default(), vec![], Some(key)).await?),
        Err(e) => Ok(categories_page(&s, &u, Default::default(), errs_of(e)?).await?),
    }
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/r/new", get(submit_form))
        .route("/r", get(follow_lookup))
        .route("/r/{code}", get(follow))
        .route("/r/revisit/{token}", get(revisit_form).post(revisit_post))
        .route("/requests", get(queue))
        .route("/requests/bulk", post(bulk))
        .route("/requests/mine", get(mine))
        .route("/requests/new", get(register_form).post(register_post))
        .route("/requests/stats", get(stats))
        .route("/requests/{id}", get(detail))
        .route("/requests/{id}/act", post(act))
        .route("/requests/{id}/revisit-link", post(new_link))
        .route("/requests/{id}/part", post(add_part))
        .route("/requests/{id}/chase", post(chase))
        .route("/wishes", get(wish_board))
        .route("/wishes/{id}/{what}", post(wish_action))
        .route("/admin/holidays", get(holidays).post(holidays_post))
        .route("/admin/request-categories", get(categories).post(categories_post))
        .route("/admin/open311-keys", post(open311_keys_post))
}

/// The public submission takes a photo: its own body limit.
pub fn upload_router() -> Router<Shared> {
    let limit = redcell_store::files::MAX_BYTES + 64 * 1024;
    Router::new()
        .route("/r/submit", post(submit_post).layer(axum::extract::DefaultBodyLimit::max(limit)))
        .route(
            "/wishes/{id}/complete-photo",
            post(wish_complete_photo).layer(axum::extract::DefaultBodyLimit::max(limit)),
        )
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
}
