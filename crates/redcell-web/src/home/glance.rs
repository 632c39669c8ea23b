//! The organisation at a glance (组织一览), where a secretary, a community
//! and the street start: pictures drawn on the server as SVG (they scale to a
//! phone and need no script), each linking to the list behind it, and the
//! parts below with the same figures to drill down street → community →
//! branch → grid.

use crate::Shared;
use crate::api::Q;
use crate::auth::{ApiUser, PageUser};
use crate::coverage::api::OrgQuery;
use crate::error::{ApiResult, ErrorBody};
use crate::kit::{Surface, gates};
use crate::pages::{Nav, PageResult, render};
use crate::registry::pages::{Crumbs, org_crumbs};
use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use redcell_domain::OrgId;
use redcell_store::home::glance::{self, Figures, Glance, SILENT_DAYS};
use utoipa_axum::routes;

/// One coloured piece of a bar: its share of the whole and where it leads.
pub struct Segment {
    pub label: &'static str,
    pub class: &'static str,
    pub n: i64,
    pub x: f64,
    pub w: f64,
    pub href: String,
}

/// The open requests of `f` as a bar of `width` (on time, due soon,
/// yellow, red), each piece linking to the queue filtered to it.
fn request_bar(f: &Figures, org: i64, width: f64) -> Vec<Segment> {
    let base = format!("/requests?state=open&org_id={org}");
    let pieces = [
        ("按期", "ok", f.on_time(), base.clone()),
        ("临期", "warn", f.warning, format!("/requests?card=warning&org_id={org}")),
        ("黄牌", "yellow", f.yellow, format!("/requests?card=yellow&org_id={org}")),
        ("红牌", "red", f.red, format!("/requests?card=red&org_id={org}")),
    ];
    let total = f.open.max(1) as f64;
    let mut x = 0.0;
    pieces
        .into_iter()
        .map(|(label, class, n, href)| {
            let w = width * n as f64 / total;
            let s = Segment { label, class, n, x, w, href };
            x += w;
            s
        })
        .collect()
}

/// A ring showing `percent` (0–100) of a circle of circumference 100
/// (radius 15.915): the dash of the coloured arc.
pub fn ring_dash(percent: Option<i64>) -> String {
    let p = percent.unwrap_or(0).clamp(0, 100);
    format!("{p} {}", 100 - p)
}

/// The class of a coverage figure: complete, most, or little.
pub fn coverage_class(percent: Option<i64>) -> &'static str {
    match percent {
        Some(100) => "full",
        Some(p) if p >= 80 => "good",
        _ => "low",
    }
}

#[derive(Template)]
#[template(path = "glance.html")]
struct GlancePage {
    nav: Option<Nav>,
    crumbs: Crumbs,
    g: Glance,
    coverage: Option<i64>,
    requests: Vec<Segment>,
    met: Option<i64>,
    silent_days: i64,
    up: Option<i64>,
}

impl GlancePage {
    fn part_percent(f: &Figures) -> Option<i64> {
        f.coverage_percent()
    }
    fn part_class(f: &Figures) -> &'static str {
        coverage_class(f.coverage_percent())
    }
    fn dash(p: &Option<i64>) -> String {
        ring_dash(*p)
    }
    fn class(p: &Option<i64>) -> &'static str {
        coverage_class(*p)
    }
    fn part_bar(f: &Figures, width: f64) -> Vec<Segment> {
        request_bar(f, 0, width)
    }
}

async fn glance_page(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    let g = glance::glance(&s.db, &u.p, OrgId::new(id)).await?;
    let mut crumbs = org_crumbs(&s.db, &u.p, OrgId::new(id)).await?;
    // The crumbs lead from one glance to the one above.
    for c in crumbs.iter_mut() {
        c.0.push_str("/glance");
    }
    let up = g.org.parent_id.filter(|_| crumbs.len() > 1);
    let coverage = g.whole.coverage_percent();
    let requests = request_bar(&g.whole, g.org.id, 300.0);
    let met = (g.branches > 0).then(|| (g.branches_met_this_quarter * 100 + g.branches / 2) / g.branches);
    Ok(render(&GlancePage { nav: Nav::of(&u), crumbs, g, coverage, requests, met, silent_days: SILENT_DAYS, up }))
}

/// Where a signed-in account with a registry to read starts: its own
/// organisation at a glance.
async fn my_glance(u: PageUser) -> axum::response::Redirect {
    match u.p.home_orgs().as_slice() {
        [one] => axum::response::Redirect::to(&format!("/orgs/{one}/glance")),
        _ => axum::response::Redirect::to("/orgs"),
    }
}

/// An organisation at a glance: households a member looks after, open
/// requests by card and deadline, visits and meetings, silent branches, and
/// the same figures for each part right below (organisations, or the grids of
/// an organisation with none below it).
#[utoipa::path(get, path = "/api/v1/glance", tag = "home", operation_id = "org_glance", params(OrgQuery),
    responses((status = 200, body = Glance), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_glance(ApiUser(p): ApiUser, State(s): State<Shared>, Q(q): Q<OrgQuery>) -> ApiResult<Json<Glance>> {
    let org = redcell_store::coverage::org_or_home(&p, q.org_id)?;
    Ok(Json(glance::glance(&s.db, &p, OrgId::new(org)).await?))
}

pub fn mount(s: &mut Surface) {
    s.api(gates::READ, routes!(api_glance));
    s.get("/orgs/{id}/glance", gates::READ, glance_page).get("/glance", gates::READ, my_glance);
    s.nav(4, "/glance", redcell_domain::i18n::GLANCE_NAV, gates::READ);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_bar_fills_its_width_in_order() {
        let f = Figures { open: 10, warning: 2, yellow: 3, red: 1, ..Figures::default() };
        let bar = request_bar(&f, 7, 300.0);
        assert_eq!(bar.iter().map(|s| s.n).collect::<Vec<_>>(), vec![4, 2, 3, 1]);
        let end = bar.last().map(|s| s.x + s.w).unwrap_or_default();
        assert!((end - 300.0).abs() < 1e-9, "{end}");
        assert!(bar[3].href.contains("card=red") && bar[3].href.contains("org_id=7"));
        // Nothing open: nothing drawn, nothing divided by zero.
        assert!(request_bar(&Figures::default(), 7, 300.0).iter().all(|s| s.w == 0.0));
    }

    #[test]
    fn rings_and_classes() {
        assert_eq!(ring_dash(Some(75)), "75 25");
        assert_eq!(ring_dash(None), "0 100");
        assert_eq!(ring_dash(Some(130)), "100 0");
        assert_eq!(
            (coverage_class(Some(100)), coverage_class(Some(85)), coverage_class(None)),
            ("full", "good", "low")
        );
    }
}
