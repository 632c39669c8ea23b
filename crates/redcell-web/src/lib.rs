//! HTTP for redcell: server-rendered pages (zh-CN), the JSON API under
//! `/api/v1` with its OpenAPI document, sessions and scoped access.
//!
//! Handlers parse input, call a capability service in `redcell-store` and
//! render the result. They hold no SQL and no rules.

pub mod accounts;
pub mod api;
pub mod assessment;
pub mod auth;
pub mod care;
pub mod coverage;
pub mod duties;
pub mod error;
pub mod export;
pub mod form;
pub mod guide;
pub mod hardship;
pub mod home;
pub mod imports;
pub mod kit;
pub mod mobility;
pub mod ops;
pub mod pages;
pub mod registry;
pub mod requests;
pub mod teams;
pub mod volunteer;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use redcell_store::Db;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

/// What every handler can reach. No per-user state lives here: sessions are in
/// the database, so several server processes can serve the same users.
pub struct AppState {
    pub db: Db,
    /// Mark cookies `Secure` (set when served behind HTTPS).
    pub secure_cookies: bool,
    /// Behind a reverse proxy: take the client address from the last
    /// `X-Forwarded-For` entry (the one the proxy added) instead of the peer.
    pub trust_forwarded: bool,
    /// Health and metrics of this process (see [`ops`]).
    pub ops: ops::Ops,
}

pub type Shared = Arc<AppState>;

/// Today's date in China (UTC+8, no daylight saving).
pub fn today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// The capabilities, each mounting its own surface (routes, pages, nav
/// entry). Adding a capability adds one line here.
pub const CAPABILITIES: &[fn(&mut kit::Surface)] = &[
    pages::mount_session,
    registry::mount,
    coverage::mount,
    duties::mount,
    requests::mount,
    guide::mount,
    imports::mount,
    accounts::mount,
    home::mount,
    care::mount,
    hardship::mount,
    volunteer::mount,
    teams::mount,
    mobility::mount,
    assessment::mount,
];

/// Every capability's surface, mounted.
pub fn surface() -> kit::Surface {
    let mut s = kit::Surface::new();
    for mount in CAPABILITIES {
        mount(&mut s);
    }
    kit::exports::mount(&mut s);
    s
}

/// Every list the capabilities made downloadable.
pub fn export_lists() -> Vec<&'static dyn redcell_store::export::ExportList> {
    static LISTS: std::sync::OnceLock<Vec<&'static dyn redcell_store::export::ExportList>> = std::sync::OnceLock::new();
    LISTS.get_or_init(|| surface().export_lists().to_vec()).clone()
}

/// The downloadable list with this code.
pub fn export_list(code: &str) -> Option<&'static dyn redcell_store::export::ExportList> {
    export_lists().into_iter().find(|l| l.code() == code)
}

/// The navigation entries `p` may see (from every capability's surface).
pub fn nav_for(p: &redcell_store::Principal) -> Vec<kit::NavItem> {
    static NAV: std::sync::OnceLock<kit::Surface> = std::sync::OnceLock::new();
    NAV.get_or_init(surface).nav_for(p)
}

fn static_file(content_type: &'static str, max_age: u32, body: &'static str) -> axum::routing::MethodRouter<Shared> {
    let cache = format!("public, max-age={max_age}");
    get(move || {
        let cache = cache.clone();
        async move { ([(header::CONTENT_TYPE, content_type.to_string()), (header::CACHE_CONTROL, cache)], body) }
    })
}

/// The scheme and host residents reach this server at, for links they are
/// sent (`REDCELL_PUBLIC_URL` when set, else the address the caller used).
pub fn public_origin(headers: &axum::http::HeaderMap, s: &AppState) -> String {
    if let Ok(u) = std::env::var("REDCELL_PUBLIC_URL")
        && !u.trim().is_empty()
    {
        return u.trim().trim_end_matches('/').to_string();
    }
    let forwarded = |name: &str| {
        s.trust_forwarded
            .then(|| headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.split(',').next().unwrap_or("").trim()))
            .flatten()
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let host = forwarded("x-forwarded-host")
        .or_else(|| headers.get(header::HOST).and_then(|v| v.to_str().ok()).map(str::to_string))
        .filter(|h| h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')))
        .unwrap_or_else(|| "localhost".into());
    let scheme = forwarded("x-forwarded-proto")
        .filter(|p| p == "https" || p == "http")
        .unwrap_or_else(|| if s.secure_cookies { "https".into() } else { "http".into() });
    format!("{scheme}://{host}")
}

/// The whole application.
pub fn app(state: Shared) -> Router {
    let mut surface = surface();
    surface
        .public(axum::http::Method::GET, "/healthz", get(ops::healthz))
        .public(axum::http::Method::GET, "/metrics", get(ops::metrics))
        .public(
            axum::http::Method::GET,
            "/static/app.css",
            static_file("text/css; charset=utf-8", 3600, include_str!("../static/app.css")),
        )
        .public(
            axum::http::Method::GET,
            "/static/app.js",
            static_file("text/javascript; charset=utf-8", 3600, include_str!("../static/app.js")),
        )
        .public(
            axum::http::Method::GET,
            "/static/favicon.svg",
            static_file("image/svg+xml", 86400, include_str!("../static/favicon.svg")),
        )
        .public(
            axum::http::Method::GET,
            "/favicon.ico",
            get(|| async { axum::response::Redirect::permanent("/static/favicon.svg") }),
        );
    let parts = surface.into_parts();
    let openapi = Arc::new(parts.openapi);
    Router::new()
        .route("/api/v1/openapi.json", get(move || { let o = openapi.clone(); async move { axum::Json(o.as_ref().clone()) } }))
        .merge(parts.api.layer(axum::middleware::from_fn(kit::idempotency::idempotent)))
        .merge(parts.pages)
        // Bodies up to 2 MB; the upload routes, merged after this layer, have their own limit.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(2 * 1024 * 1024))
        .merge(parts.uploads)
        .fallback(pages::not_found)
        .with_state(state.clone())
        .layer(axum::middleware::from_fn(api_errors_as_json))
        .layer(axum::middleware::from_fn(kit::gate::audit_refusals))
        .layer(axum::middleware::from_fn_with_state(state.clone(), ops::observe))
        .layer(axum::Extension(state))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Pages and answers carry personal data: nothing is kept by a browser
        // or a proxy (Back after logout shows nothing), except what sets its
        // own policy (the static files).
        .layer(header_layer(header::CACHE_CONTROL, "no-store"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
        .layer(header_layer(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ))
}

/// The OpenAPI document of the API (as served at `/api/v1/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    surface().into_parts().openapi
}

/// Answers under `/api/` that no handler wrote (no such route, an id that is
/// not a number, a method the route does not have, a body over the limit) in
/// the API error shape, like every other API error.
async fn api_errors_as_json(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let status = res.status();
    let json = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !api || json || !status.is_client_error() {
        return res;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", redcell_domain::i18n::NOT_FOUND),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", redcell_domain::i18n::METHOD_NOT_ALLOWED),
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", redcell_domain::i18n::BODY_TOO_LARGE),
        _ => ("bad_request", redcell_domain::i18n::BAD_REQUEST),
    };
    let detail = error::ErrorDetail { code: code.into(), message: message.into(), field: None, fields: vec![] };
    let mut out = (status, axum::Json(error::ErrorBody { error: detail })).into_response();
    for (k, v) in res.headers() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().append(k.clone(), v.clone());
        }
    }
    out
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// How long a stopping server waits for requests in flight (and the import
/// job in hand) before it cuts them.
pub const DEFAULT_SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Resolves on SIGTERM (systemd, Docker, Kubernetes) or SIGINT (Ctrl-C).
pub async fn stop_signal() {
    let int = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = int => {}
        _ = term => {}
    }
}

/// Serve until `stop` resolves (see [`stop_signal`]); then stop accepting,
/// let the requests in flight finish, and cut what is still running after
/// `deadline`. The import worker finishes its job in hand within the same
/// deadline; a job cut at the deadline is handed back to the queue.
pub async fn serve(
    state: Shared,
    bind: std::net::SocketAddr,
    deadline: std::time::Duration,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let hourly_state = state.clone();
    let hourly = tokio::spawn(async move {
        let (db, ops) = (&hourly_state.db, &hourly_state.ops);
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = redcell_store::idempotency::purge(db).await {
                tracing::warn!("purging idempotency keys: {e}");
            }
            let r = redcell_store::auth::purge_expired_sessions(db).await;
            ops.job_ran(ops::Job::SessionPurge, r.is_ok());
            if let Err(e) = r {
                tracing::warn!("purging sessions: {e}");
            }
            let r = redcell_store::duties::notices::run_all(db, today()).await;
            ops.job_ran(ops::Job::Reminders, r.is_ok());
            if let Err(e) = r {
                tracing::warn!("duty reminders: {e}");
            }
            // The storage checked while serving (SQLite: quick_check), and
            // the planner's statistics kept fresh.
            match redcell_store::backup::check(db, true).await {
                Ok(problems) => {
                    if !problems.is_empty() {
                        tracing::error!("integrity check: {} problem(s), first: {}", problems.len(), problems[0]);
                    }
                    ops.job_ran(ops::Job::IntegrityCheck, problems.is_empty());
                    ops.set_integrity(problems);
                }
                Err(e) => {
                    ops.job_ran(ops::Job::IntegrityCheck, false);
                    tracing::warn!("integrity check: {e}");
                }
            }
            if let Err(e) = db.optimize().await {
                tracing::warn!("optimize: {e}");
            }
        }
    });
    let escalate_state = state.clone();
    let escalation = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            let r = redcell_store::requests::escalate::run(&escalate_state.db, chrono::Utc::now()).await;
            escalate_state.ops.job_ran(ops::Job::Escalation, r.is_ok());
            if let Err(e) = r {
                tracing::warn!("request escalation: {e}");
            }
        }
    });
    // Roster import jobs: any server process may work them.
    let (stopping, stop_rx) = tokio::sync::watch::channel(false);
    let worker_name = format!("pid{}", std::process::id());
    let worker = tokio::spawn(redcell_store::import::jobs::worker(
        state.db.clone(),
        worker_name.clone(),
        today,
        stop_rx.clone(),
    ));
    tokio::spawn(async move {
        stop.await;
        tracing::info!("stopping: no new connections; finishing requests in flight (at most {deadline:?})");
        let _ = stopping.send(true);
    });
    let db = state.db.clone();
    let mut graceful_rx = stop_rx.clone();
    let server = axum::serve(listener, app(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = graceful_rx.wait_for(|s| *s).await;
        });
    let mut deadline_rx = stop_rx;
    let cut = async move {
        let _ = deadline_rx.wait_for(|s| *s).await;
        tokio::time::sleep(deadline).await;
    };
    let served = tokio::select! {
        r = server => r,
        _ = cut => {
            tracing::warn!("stopping: requests still running after {deadline:?} were cut");
            Ok(())
        }
    };
    hourly.abort();
    escalation.abort();
    // The worker saw the flag; give it what is left of the deadline.
    let cut_worker = worker.abort_handle();
    if tokio::time::timeout(deadline, worker).await.is_err() {
        cut_worker.abort();
        tracing::warn!("stopping: the import job in hand was cut (its transaction is rolled back)");
    }
    match redcell_store::import::jobs::hand_back(&db, &worker_name).await {
        Ok(n) if n > 0 => tracing::info!("stopping: {n} import job(s) handed back to the queue"),
        Ok(_) => {}
        Err(e) => tracing::warn!("stopping: handing back import jobs: {e}"),
    }
    db.close().await;
    served
}
