//! The resident's pages, without an account: submit a request (with an
//! optional photo), follow it by its code, answer a revisit link. Forms carry
//! a double-submit CSRF token (`rc_pub_csrf` cookie and `_csrf` field); the
//! submission is rate limited per client address.

use super::Shown;
use crate::Shared;
use crate::auth::{cookie, same_token, set_cookie};
use crate::form::FormData;
use crate::kit::{Surface, gates};
use crate::pages::{Nav, PageError, PageResult, render, render_status};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use redcell_domain::ids::*;
use redcell_domain::requests::{FixOutcome, RawRequest, RequestState, Satisfaction};
use redcell_domain::{FieldError, Invalid, i18n};
use redcell_store::StoreError;
use redcell_store::requests::{self, Category, Photo, PublicBuilding, PublicView, Source};
use serde::Deserialize;

const PUB_CSRF: &str = "rc_pub_csrf";

#[derive(Template)]
#[template(path = "req_new.html")]
struct NewPage {
    nav: Option<Nav>,
    csrf: String,
    tenant: i64,
    categories: Vec<Category>,
    grids: Vec<(GridId, String)>,
    /// Buildings grouped by "community · grid".
    buildings: Vec<(String, Vec<PublicBuilding>)>,
    form: RawRequest,
    shown: Shown,
}

/// Group buildings (ordered community → grid) under "community · grid".
fn group_buildings(list: Vec<PublicBuilding>) -> Vec<(String, Vec<PublicBuilding>)> {
    let mut out: Vec<(String, Vec<PublicBuilding>)> = Vec::new();
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
        self.shown.get(f)
    }
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
    fn summary(&self) -> String {
        self.shown.summary()
    }
}

#[derive(Deserialize)]
struct TenantQuery {
    t: Option<i64>,
    /// A building to start from (the resident came from "who serves my building").
    building: Option<i64>,
}

async fn tenant_of(s: &Shared, t: Option<i64>) -> Result<i64, StoreError> {
    requests::tenant_or_default(&s.db, t).await
}

async fn new_page(
    s: &Shared,
    tenant: i64,
    csrf: String,
    form: RawRequest,
    shown: Shown,
) -> Result<Response, StoreError> {
    let categories = requests::categories(&s.db, tenant).await?;
    let grids = requests::public_grids(&s.db, tenant).await?;
    let buildings = group_buildings(requests::public_buildings(&s.db, tenant).await?);
    let status = shown.status;
    let mut r = render_status(
        status,
        &NewPage { nav: None, csrf: csrf.clone(), tenant, categories, grids, buildings, form, shown },
    );
    if let Ok(v) = set_cookie(PUB_CSRF, &csrf, 3600, s.secure_cookies).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

async fn submit_form(State(s): State<Shared>, Query(q): Query<TenantQuery>) -> PageResult {
    let tenant = tenant_of(&s, q.t).await?;
    let csrf = redcell_store::auth::random_token()?;
    let form = RawRequest { building_id: q.building.map(|b| b.to_string()), ..RawRequest::default() };
    Ok(new_page(&s, tenant, csrf, form, Shown::none()).await?)
}

/// The public submission's multipart form: its text fields and the photo,
/// read only after the double-submit token (which the page puts first)
/// matched the cookie. A forged upload is refused before its file is read.
struct PublicForm {
    form: FormData,
    photo: Option<(String, Vec<u8>)>,
    /// The token, to put back on a form shown again.
    csrf: String,
}

fn unreadable() -> PageError {
    StoreError::Invalid(FieldError::new("photo", "unreadable", i18n::REQ_PHOTO_TOO_LARGE).into()).into()
}

async fn read_public_form(req: Request, s: &Shared) -> Result<(Parts, PublicForm), PageError> {
    let (parts, body) = req.into_parts();
    let expected = cookie(&parts, PUB_CSRF).unwrap_or("").to_string();
    let req = Request::from_parts(parts.clone(), body);
    let mut mp = Multipart::from_request(req, s).await.map_err(|_| unreadable())?;
    let mut token_ok = false;
    let mut fields = Vec::new();
    let mut photo = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return Err(unreadable()),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "_csrf" {
            token_ok = !expected.is_empty() && field.text().await.is_ok_and(|t| same_token(&t, &expected));
            if !token_ok {
                return Err(PageError::csrf());
            }
        } else if name == "photo" {
            if !token_ok {
                return Err(PageError::csrf());
            }
            let file_name = field.file_name().unwrap_or("photo").to_string();
            let b = field.bytes().await.map_err(|_| unreadable())?;
            if !b.is_empty() {
                photo = Some((file_name, b.to_vec()));
            }
        } else if let Ok(t) = field.text().await {
            fields.push((name, t));
        }
    }
    if !token_ok {
        return Err(PageError::csrf());
    }
    Ok((parts, PublicForm { form: FormData(fields), photo, csrf: expected }))
}

async fn submit_post(State(s): State<Shared>, req: Request) -> PageResult {
    let (parts, f) = read_public_form(req, &s).await?;
    let tenant = tenant_of(&s, f.form.get("t").and_then(|t| t.parse().ok())).await?;
    let mut raw: RawRequest = f.form.to_raw(&[]);
    // Households and "acted for" belong to staff registration only.
    raw.household_id = None;
    raw.acting_for = None;
    let n = match raw.validate() {
        Ok(n) => n,
        Err(Invalid(v)) => return Ok(new_page(&s, tenant, f.csrf, raw, Shown::invalid(v)).await?),
    };
    let client = crate::auth::client(&parts, s.trust_forwarded);
    if let Some(ip) = &client.ip
        && let Err(e) = requests::rate_limit(&s.db, ip).await
    {
        return Ok(new_page(&s, tenant, f.csrf, raw, Shown::of(e)?).await?);
    }
    let ph = f.photo.as_ref().map(|(n, b)| Photo { name: n, bytes: b });
    match requests::submit(&s.db, tenant, n, Source::Resident, None, ph).await {
        Ok(sub) => Ok(Redirect::to(&format!("/r/{}?new=1", sub.code)).into_response()),
        Err(e) => Ok(new_page(&s, tenant, f.csrf, raw, Shown::of(e)?).await?),
    }
}

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

async fn follow(
    State(s): State<Shared>,
    Path(code): Path<String>,
    Query(q): Query<FollowQuery>,
    parts: Parts,
) -> PageResult {
    let client = crate::auth::client(&parts, s.trust_forwarded);
    let (_, v) = requests::public_lookup(&s.db, &code, client.ip.as_deref()).await?;
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
    /// Service hours logged for this request, waiting for confirmation.
    hours: Vec<redcell_store::volunteer::Hours>,
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
        hours: vec![],
        outcomes: FixOutcome::ALL.iter().map(|o| (o.code(), o.label())).collect(),
        satisfactions: Satisfaction::ALL.iter().map(|o| (o.code(), o.label())).collect(),
    }
}

async fn revisit_form(State(s): State<Shared>, Path(token): Path<String>) -> PageResult {
    let csrf = redcell_store::auth::random_token()?;
    let page = match requests::revisit_target(&s.db, &token).await {
        Ok(v) => {
            let hours = requests::revisit_hours(&s.db, &token).await?;
            RevisitPage { hours, ..revisit_page(csrf.clone(), token, Some(v), None, None) }
        }
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
        return Err(PageError::csrf());
    }
    let outcome = FixOutcome::parse("outcome", f.get("outcome").unwrap_or(""));
    let sat = Satisfaction::parse("satisfaction", f.get("satisfaction").unwrap_or(""));
    let (outcome, sat) = match (outcome, sat) {
        (Ok(o), Ok(s2)) => (o, s2),
        _ => {
            let v = requests::revisit_target(&s.db, &token).await.ok();
            let hours = requests::revisit_hours(&s.db, &token).await.unwrap_or_default();
            let msg = i18n::REQ_REVISIT_ANSWER_REQUIRED.to_string();
            return Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &RevisitPage { hours, ..revisit_page(expected, token, v, Some(msg), None) },
            ));
        }
    };
    // Ticked hours; a value that is not a number names no hours of this request.
    let confirm: Vec<i64> = f.all("hours").iter().map(|x| x.trim().parse().unwrap_or(0)).collect();
    match requests::revisit_by_link(&s.db, &token, outcome, sat, f.get("comment"), &confirm).await {
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

/// Mount the public pages (no account; the upload has its own limit).
pub fn mount(s: &mut Surface) {
    s.get("/r/new", gates::PUBLIC, submit_form)
        .get("/r", gates::PUBLIC, follow_lookup)
        .get("/r/{code}", gates::PUBLIC, follow)
        .get("/r/revisit/{token}", gates::PUBLIC, revisit_form)
        .post("/r/revisit/{token}", gates::PUBLIC, revisit_post)
        .upload("/r/submit", gates::PUBLIC, redcell_store::files::MAX_BYTES + 64 * 1024, submit_post);
}
