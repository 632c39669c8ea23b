//! The back-office queue with its filters, export link and bulk triage;
//! "my tasks"; the statistics with SVG charts.

use super::{flash_to, gate, kinds};
use crate::Shared;
use crate::auth::PageUser;
use crate::kit::{CsrfForm, Surface, gates};
use crate::pages::{Nav, PageResult, Pager, render};
use askama::Template;
use axum::extract::{Query, State};
use redcell_domain::ids::*;
use redcell_domain::requests::{Action, Card, RequestState};
use redcell_domain::{Capability, FieldError, i18n};
use redcell_store::registry::{Page, Paged};
use redcell_store::requests::{self, ActInput, Filter, Request, Stats};
use redcell_store::{Principal, StoreError};
use serde::Deserialize;

/// What the links above a request list offer this caller.
pub(crate) struct Links {
    /// The whole queue (readers).
    pub queue: bool,
    /// Registering on a resident's behalf (staff).
    pub register: bool,
    /// The tenant's categories and holidays (its administrators).
    pub settings: bool,
}

impl Links {
    pub fn of(p: &Principal) -> Links {
        Links { queue: gates::READ.admits(p), register: gates::HANDLE.admits(p), settings: gates::SETTINGS.admits(p) }
    }
}

#[derive(Template)]
#[template(path = "requests.html")]
struct QueuePage {
    nav: Option<Nav>,
    csrf: String,
    title: String,
    list: Paged<Request>,
    pager: Pager,
    f: QueueQuery,
    kinds: Vec<(&'static str, &'static str)>,
    states: Vec<(&'static str, &'static str)>,
    cards: Vec<(&'static str, &'static str)>,
    handlers: Vec<(UserId, String)>,
    today: chrono::NaiveDate,
    bulk: bool,
    flash: Option<String>,
    /// "My tasks": requests open for claiming by the caller as a member.
    claimable: Vec<Request>,
    /// The download of the queue with its filters (for who may export).
    exports: Vec<crate::export::ExportLink>,
    links: Links,
}

impl QueuePage {
    fn v(x: &Option<String>) -> &str {
        x.as_deref().unwrap_or("")
    }
}

/// The queue's filters as the page's form sends them (empty boxes included).
#[derive(Deserialize, Default)]
struct QueueQuery {
    kind: Option<String>,
    state: Option<String>,
    overdue: Option<String>,
    card: Option<String>,
    org_id: Option<String>,
    q: Option<String>,
    page: Option<u32>,
    flash: Option<String>,
}

impl QueueQuery {
    /// The store's filter: an organisation number that is not a number is named.
    fn filter(&self) -> Result<Filter, StoreError> {
        let org_id = match self.org_id.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
            Some(o) => Some(o.parse::<OrgId>().map_err(|_| FieldError::new("org_id", "number", i18n::REQ_FILTER_ORG))?),
            None => None,
        };
        Ok(Filter {
            kind: self.kind.clone(),
            state: self.state.clone(),
            overdue: self.overdue.clone(),
            card: self.card.clone(),
            org_id,
            q: self.q.clone(),
        })
    }
}

async fn queue(u: PageUser, State(s): State<Shared>, Query(q): Query<QueueQuery>) -> PageResult {
    let f = q.filter()?;
    let list = requests::list(&s.db, &u.p, &f, Page { page: q.page, per_page: Some(50) }).await?;
    let v = QueuePage::v;
    let base = format!(
        "/requests?kind={}&state={}&overdue={}&card={}&org_id={}&q={}&",
        crate::auth::url_encode(v(&q.kind)),
        crate::auth::url_encode(v(&q.state)),
        crate::auth::url_encode(v(&q.overdue)),
        crate::auth::url_encode(v(&q.card)),
        crate::auth::url_encode(v(&q.org_id)),
        crate::auth::url_encode(v(&q.q))
    );
    let pager = Pager::of(&list, base);
    let handlers = requests::bulk_handlers(&s.db, &u.p).await?;
    let exports = if crate::export::may_export(&u.p) {
        let filters = [
            ("kind", v(&q.kind).to_string()),
            ("state", v(&q.state).to_string()),
            ("overdue", v(&q.overdue).to_string()),
            ("card", v(&q.card).to_string()),
            ("org_id", v(&q.org_id).to_string()),
            ("q", v(&q.q).to_string()),
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
        title: i18n::REQ_NAV_QUEUE.into(),
        bulk: u.p.holds(Capability::HandleRequests) && !handlers.is_empty(),
        list,
        pager,
        flash: q.flash.clone(),
        f: q,
        kinds: kinds(),
        states,
        cards: Card::ALL.iter().filter(|c| **c != Card::None).map(|c| (c.code(), c.label())).collect(),
        handlers,
        today: crate::today(),
        claimable: vec![],
        exports,
        links: Links::of(&u.p),
    }))
}

async fn mine(u: PageUser, State(s): State<Shared>, Query(q): Query<QueueQuery>) -> PageResult {
    let items = requests::my_tasks(&s.db, &u.p).await?;
    let claimable = requests::claimable(&s.db, &u.p).await?;
    let total = items.len() as i64;
    let list = Paged { items, total, page: 1, per_page: total.max(1) as u32 };
    let pager = Pager::of(&list, "/requests/mine?".into());
    Ok(render(&QueuePage {
        nav: Nav::of(&u),
        csrf: u.csrf.clone(),
        title: i18n::REQ_NAV_TASKS.into(),
        list,
        pager,
        f: QueueQuery::default(),
        kinds: vec![],
        states: vec![],
        cards: vec![],
        handlers: vec![],
        today: crate::today(),
        bulk: false,
        flash: q.flash,
        claimable,
        exports: vec![],
        links: Links::of(&u.p),
    }))
}

/// Bulk triage from the queue: accept, or assign to a handler of the
/// organisation (each request checked on its own; refusals are audited).
async fn bulk(u: PageUser, State(s): State<Shared>, CsrfForm(f): CsrfForm) -> PageResult {
    let mut ids = Vec::new();
    for x in f.all("id") {
        ids.push(x.parse::<RequestId>().map_err(|_| FieldError::new("id", "number", i18n::ENUM_INVALID))?);
    }
    let action = Action::parse("action", f.get("action").unwrap_or(""))?;
    let handler = match f.get("handler").map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => {
            Some(h.parse::<UserId>().map_err(|_| FieldError::new("handler_user_id", "number", i18n::ENUM_INVALID))?)
        }
        None => None,
    };
    let input = ActInput { handler_user_id: handler, ..ActInput::default() };
    let out = requests::bulk(&s.db, &u.p, &ids, action, input).await?;
    let mut msg = format!("{}：成功 {} 件", action.label(), out.ok);
    if !out.failed.is_empty() {
        let why: Vec<String> = out.failed.iter().map(|(id, m)| format!("#{id} {m}")).collect();
        msg.push_str(&format!("，未成功 {} 件（{}）", out.failed.len(), why.join("；")));
    }
    Ok(flash_to("/requests", &msg, out.refused))
}

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

pub fn mount(s: &mut Surface) {
    s.get("/requests", gates::READ, queue)
        .get("/requests/mine", gate::ACT, mine)
        .post("/requests/bulk", gates::HANDLE, bulk)
        .get("/requests/stats", gates::READ, stats);
}
