//! A grid worker's day (今日网格): open requests in the caller's area by
//! deadline, the key households not visited this quarter, and the
//! households no member looks after — each linking to what to do next.

use crate::Shared;
use crate::auth::PageUser;
use crate::kit::{Surface, gates};
use crate::pages::{Nav, PageResult, render};
use askama::Template;
use axum::extract::State;
use redcell_store::home::glance::quarter_start;
use redcell_store::home::{self, Counted, HouseholdLine};
use redcell_store::requests::{self, Request};

#[derive(Template)]
#[template(path = "grid_today.html")]
struct GridToday {
    nav: Option<Nav>,
    today: chrono::NaiveDate,
    quarter_start: chrono::NaiveDate,
    requests: Vec<Request>,
    due: Counted<HouseholdLine>,
    alone: Counted<HouseholdLine>,
}

async fn today_page(u: PageUser, State(s): State<Shared>) -> PageResult {
    let today = crate::today();
    let since = quarter_start(today);
    let requests = requests::open_by_deadline(&s.db, &u.p, 15).await?;
    let (due, alone) = home::grid_today(&s.db, &u.p, since, 20).await?;
    Ok(render(&GridToday { nav: Nav::of(&u), today, quarter_start: since, requests, due, alone }))
}

pub fn mount(s: &mut Surface) {
    s.get("/grid/today", gates::RECORD, today_page);
    s.nav(6, "/grid/today", redcell_domain::i18n::GRID_TODAY_NAV, gates::RECORD);
}
