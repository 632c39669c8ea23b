//! A grid worker's day (今日网格): open requests in the caller's area by
//! deadline, the key households not visited this quarter, and the
//! households no member looks after — each linking to what to do next.

use crate::Shared;
use crate::auth::PageUser;
use crate::kit::{Surface, gates};
use crate::pages::{Nav, PageResult, render};
use askama::Template;
use axum::extract::State;
use chrono::Datelike;
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

/// The first day of the quarter `d` is in.
fn quarter_start(d: chrono::NaiveDate) -> chrono::NaiveDate {
    let m = (d.month0() / 3) * 3 + 1;
    chrono::NaiveDate::from_ymd_opt(d.year(), m, 1).unwrap_or(d)
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

#[cfg(test)]
mod tests {
    use super::quarter_start;
    use chrono::NaiveDate;

    #[test]
    fn quarters_start_on_their_first_day() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(quarter_start(d(2026, 12, 7)), d(2026, 10, 1));
        assert_eq!(quarter_start(d(2026, 1, 1)), d(2026, 1, 1));
        assert_eq!(quarter_start(d(2026, 6, 30)), d(2026, 4, 1));
    }
}
