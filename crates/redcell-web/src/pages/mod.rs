//! Server-rendered pages (zh-CN). Forms post back with a CSRF token; errors are
//! shown beside the fields.

use crate::Shared;
use crate::auth::{LOGIN_CSRF_COOKIE, PageUser, SESSION_COOKIE, cookie, safe_next, same_token, set_cookie};
use crate::form::FormData;
use crate::kit::{CsrfForm, Surface, gates};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use redcell_domain::i18n;
use redcell_store::StoreError;
use redcell_store::registry::Paged;
use serde::Deserialize;

/// What the header of every signed-in page shows: the navigation entries
/// the capabilities mounted (see [`crate::kit::Surface::nav`]) that this
/// caller may use.
pub struct Nav {
    pub user: String,
    pub csrf: String,
    pub items: Vec<crate::kit::NavItem>,
}

impl Nav {
    pub fn of(u: &PageUser) -> Option<Nav> {
        Nav::for_caller(&u.caller())
    }
    pub fn for_caller(c: &crate::kit::Caller) -> Option<Nav> {
        Some(Nav { user: c.p.display_name.clone(), csrf: c.csrf.clone(), items: crate::nav_for(&c.p) })
    }
}

/// Paging links under a list.
pub struct Pager {
    pub page: u32,
    pub pages: u32,
    pub total: i64,
    /// The URL up to and including `?` or `&`, ready for `page=N`.
    pub base: String,
}

impl Pager {
    pub fn of<T>(p: &Paged<T>, base: String) -> Pager {
        Pager { page: p.page, pages: p.pages(), total: p.total, base }
    }
}

/// Render a template as HTML; a rendering failure is logged and shown as a 500 page.
/// `?flash=` on a page a form redirected to: what was just done.
#[derive(serde::Deserialize, Default)]
pub struct FlashQuery {
    pub flash: Option<String>,
}

pub fn render<T: Template>(t: &T) -> Response {
    render_status(StatusCode::OK, t)
}

pub fn render_status<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!("template: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, Html(i18n::INTERNAL.to_string())).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: Option<Nav>,
    title: String,
    message: String,
}

/// A stored instant in China time (UTC+8, no daylight saving), for pages.
pub fn cn(t: &chrono::DateTime<chrono::Utc>, fmt: &str) -> String {
    (*t + chrono::Duration::hours(8)).format(fmt).to_string()
}

/// A store error as a page.
pub fn error_page(e: StoreError) -> Response {
    let (status, title, message) = match &e {
        StoreError::NotFound => (StatusCode::NOT_FOUND, "未找到", i18n::NOT_FOUND.to_string()),
        StoreError::Forbidden => (StatusCode::FORBIDDEN, "没有权限", i18n::FORBIDDEN.to_string()),
        StoreError::Denied(f) => (StatusCode::FORBIDDEN, "没有权限", f.message.clone()),
        StoreError::Invalid(inv) => (StatusCode::UNPROCESSABLE_ENTITY, "输入有误", inv.to_string()),
        StoreError::Unauthorized => (StatusCode::UNAUTHORIZED, "请登录", i18n::LOGIN_REQUIRED.to_string()),
        StoreError::RateLimited(secs) => {
            (StatusCode::TOO_MANY_REQUESTS, "请稍后再试", format!("尝试过于频繁，请 {secs} 秒后再试"))
        }
        _ => {
            tracing::error!("internal error: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "出错了", i18n::INTERNAL.to_string())
        }
    };
    let mut r = render_status(status, &ErrorPage { nav: None, title: title.into(), message });
    if let StoreError::Db(db) = &e
        && !e.is_unique_violation()
        && !e.is_fk_violation()
    {
        r.extensions_mut().insert(crate::ops::StorageFault(db.to_string()));
    }
    r
}

/// The page answering an address no route serves (404), in the layout.
/// Under `/api/` the JSON error layer turns it into the API's error shape.
pub async fn not_found() -> Response {
    render_status(
        StatusCode::NOT_FOUND,
        &ErrorPage { nav: None, title: i18n::NOT_FOUND_TITLE.into(), message: i18n::PAGE_NOT_FOUND.into() },
    )
}

/// The page answering a form whose CSRF token did not match (403).
pub fn csrf_page(c: Option<&crate::kit::Caller>) -> Response {
    render_status(
        StatusCode::FORBIDDEN,
        &ErrorPage {
            nav: c.and_then(Nav::for_caller),
            title: i18n::CSRF_PAGE_TITLE.into(),
            message: i18n::CSRF_FAILED.into(),
        },
    )
}

/// The page answering a signed-in caller without the right to a page (403).
pub fn forbidden_page(c: &crate::kit::Caller) -> Response {
    render_status(
        StatusCode::FORBIDDEN,
        &ErrorPage { nav: Nav::for_caller(c), title: i18n::FORBIDDEN_TITLE.into(), message: i18n::FORBIDDEN.into() },
    )
}

/// Result of a page handler: a store error becomes an error page.
pub struct PageError(StoreError);

impl<E: Into<StoreError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl PageError {
    /// A form whose CSRF token did not match.
    pub fn csrf() -> PageError {
        PageError(StoreError::Denied(redcell_domain::FieldError::new("_csrf", "csrf", i18n::CSRF_FAILED)))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(self.0)
    }
}

pub type PageResult = Result<Response, PageError>;

/// A form post carrying the session's CSRF token.
pub struct CheckedForm(pub FormData);

impl CheckedForm {
    /// Parse a posted form and check its CSRF token; a mismatch is refused
    /// (403), nothing is written, and the attempt is audited.
    #[allow(clippy::result_large_err)] // the error is the page to send back
    pub async fn check(u: &PageUser, db: &redcell_store::Db, body: &Bytes) -> Result<CheckedForm, Response> {
        let f = FormData::parse(body);
        match f.get("_csrf") {
            Some(t) if same_token(t, &u.csrf) => Ok(CheckedForm(f)),
            _ => {
                if let Err(e) = redcell_store::accounts::refused(db, &u.p, "csrf_failed", "form").await {
                    tracing::warn!("auditing a refused form: {e}");
                }
                Err(render_status(
                    StatusCode::FORBIDDEN,
                    &ErrorPage { nav: Nav::of(u), title: "请求被拒绝".into(), message: i18n::CSRF_FAILED.into() },
                ))
            }
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Option<Nav>,
    error: Option<String>,
    csrf: String,
    next: String,
    username: String,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(Query(q): Query<NextQuery>, State(s): State<Shared>) -> Response {
    let csrf = redcell_store::auth::random_token().unwrap_or_default();
    let page = LoginPage {
        nav: None,
        error: None,
        csrf: csrf.clone(),
        next: safe_next(q.next.as_deref()),
        username: String::new(),
    };
    let mut r = render(&page);
    if let Ok(v) = set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, s.secure_cookies).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login_submit(State(s): State<Shared>, parts: Parts, body: Bytes) -> Response {
    let f = FormData::parse(&body);
    let expected = cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or("").to_string();
    let next = safe_next(f.get("next"));
    let username = f.get("username").unwrap_or("").trim().to_string();
    let again = |status: StatusCode, msg: String| {
        let page = LoginPage {
            nav: None,
            error: Some(msg),
            csrf: expected.clone(),
            next: next.clone(),
            username: username.clone(),
        };
        render_status(status, &page)
    };
    match f.get("_csrf") {
        Some(t) if !expected.is_empty() && same_token(t, &expected) => {}
        _ => return again(StatusCode::FORBIDDEN, i18n::CSRF_FAILED.into()),
    }
    let client = crate::auth::client(&parts, s.trust_forwarded);
    match redcell_store::auth::login_from(&s.db, &username, f.get("password").unwrap_or(""), &client).await {
        Ok(sess) => {
            let next = if sess.must_change_password { "/account/password".to_string() } else { next.clone() };
            let mut r = Redirect::to(&next).into_response();
            let max_age = (sess.expires_at - chrono::Utc::now()).num_seconds();
            if let Ok(v) = set_cookie(SESSION_COOKIE, &sess.token, max_age, s.secure_cookies).parse() {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            if let Ok(v) = set_cookie(LOGIN_CSRF_COOKIE, "", 0, s.secure_cookies).parse() {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Err(StoreError::Unauthorized) => again(StatusCode::UNAUTHORIZED, i18n::LOGIN_FAILED.into()),
        Err(StoreError::RateLimited(secs)) => {
            let mut r = again(StatusCode::TOO_MANY_REQUESTS, format!("尝试过于频繁，请 {secs} 秒后再试"));
            if let Ok(v) = secs.to_string().parse() {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(StoreError::Locked(until)) => {
            let local = until + chrono::Duration::hours(8);
            again(
                StatusCode::TOO_MANY_REQUESTS,
                format!("登录失败次数过多，账号锁定至 {}，请稍后再试", local.format("%H:%M")),
            )
        }
        Err(e) => error_page(e),
    }
}

async fn logout(State(s): State<Shared>, parts: Parts, _form: CsrfForm) -> Response {
    if let Some(t) = cookie(&parts, SESSION_COOKIE) {
        let _ = redcell_store::auth::logout(&s.db, t).await;
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = set_cookie(SESSION_COOKIE, "", 0, s.secure_cookies).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// Signing in and out.
pub fn mount_session(s: &mut Surface) {
    crate::api::auth::mount(s);
    s.get("/login", gates::PUBLIC, login_form).post("/login", gates::PUBLIC, login_submit).post(
        "/logout",
        gates::SIGNED_IN,
        logout,
    );
}
