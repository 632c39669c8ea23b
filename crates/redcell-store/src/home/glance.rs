//! The organisation at a glance (for a secretary, a community, the street):
//! how many households a member looks after, the open requests by deadline
//! and card, when branches last met with people present, and which branches
//! have gone silent — for the organisation and for each part below it, so
//! that a picture can drill down street → community → branch → grid.
//!
//! Every figure is counted once per organisation (or grid) with one grouped
//! scan of each table inside the subtree, then summed up the tree in memory;
//! no query runs per part.

use crate::args;
use crate::coverage::Tree;
use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::scope::{OrgRef, Principal};
use chrono::NaiveDate;
use redcell_domain::requests::Card;
use redcell_domain::{Capability, CodeEnum, OrgId};
use serde::Serialize;
use std::collections::HashMap;

/// How long without a meeting (with someone present) or a visit before a
/// branch counts as silent.
pub const SILENT_DAYS: i64 = 90;

/// The figures of one organisation's subtree, or of one grid.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub households: i64,
    /// Households a member looks after (an active member contact).
    pub covered: i64,
    /// Requests still to be handled.
    pub open: i64,
    /// Open requests past their due date (not paused).
    pub overdue: i64,
    /// Open requests by card: due within a working day, yellow, red.
    pub warning: i64,
    pub yellow: i64,
    pub red: i64,
    /// Visits recorded in the last [`SILENT_DAYS`] days.
    pub visits: i64,
    /// The last meeting with someone present, and the last visit.
    pub last_meeting: Option<NaiveDate>,
    pub last_visit: Option<NaiveDate>,
}

impl Figures {
    fn add(&mut self, o: &Figures) {
        self.households += o.households;
        self.covered += o.covered;
        self.open += o.open;
        self.overdue += o.overdue;
        self.warning += o.warning;
        self.yellow += o.yellow;
        self.red += o.red;
        self.visits += o.visits;
        self.last_meeting = self.last_meeting.max(o.last_meeting);
        self.last_visit = self.last_visit.max(o.last_visit);
    }

    /// Households a member looks after, in whole percent (`None` without households).
    pub fn coverage_percent(&self) -> Option<i64> {
        (self.households > 0).then(|| (self.covered * 100 + self.households / 2) / self.households)
    }

    /// Open requests on time (no card).
    pub fn on_time(&self) -> i64 {
        (self.open - self.warning - self.yellow - self.red).max(0)
    }
}

/// One part below the organisation: a child organisation or one of its grids.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = GlancePart)]
pub struct Part {
    pub id: i64,
    pub name: String,
    /// `org` or `grid`.
    pub kind: &'static str,
    /// What it is in words (社区党委, 网格党支部, 网格).
    pub kind_label: String,
    /// Its page (the part's own glance for an organisation).
    pub href: String,
    pub figures: Figures,
}

impl Part {
    pub fn is_grid(&self) -> bool {
        self.kind == "grid"
    }
}

/// A branch with no meeting with someone present and no visit for
/// [`SILENT_DAYS`] days.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Silent {
    pub id: i64,
    pub name: String,
    pub last_meeting: Option<NaiveDate>,
    pub last_visit: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Glance {
    pub org: OrgRef,
    pub date: NaiveDate,
    pub whole: Figures,
    /// The organisations right below (party groups left out), or the grids
    /// of an organisation with no organisation below it.
    pub parts: Vec<Part>,
    /// Branches in the subtree gone silent, the longest silent first.
    pub silent: Vec<Silent>,
    /// Branches in the subtree.
    pub branches: i64,
    /// Branches that met (someone present) since the quarter began.
    pub branches_met_this_quarter: i64,
    pub quarter_start: NaiveDate,
}

/// The first day of the quarter `d` is in.
pub fn quarter_start(d: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    let m = (d.month0() / 3) * 3 + 1;
    NaiveDate::from_ymd_opt(d.year(), m, 1).unwrap_or(d)
}

/// Key of a row counted per organisation and grid (grid 0: none).
type Key = (i64, i64);

#[derive(sqlx::FromRow)]
struct Count2 {
    org_id: i64,
    grid_id: i64,
    a: i64,
    b: i64,
}

#[derive(sqlx::FromRow)]
struct CardRow {
    org_id: i64,
    grid_id: i64,
    card: String,
    n: i64,
    late: i64,
}

#[derive(sqlx::FromRow)]
struct Last {
    org_id: i64,
    n: i64,
    last: Option<NaiveDate>,
}

/// The organisation `org_id` at a glance, for a caller who reads it.
pub async fn glance(db: &Db, p: &Principal, org_id: OrgId) -> Result<Glance, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let org = access.org(&mut db.conn(), org_id).await?;
    let today = crate::coverage::today();
    glance_of(db, org, today).await
}

async fn glance_of(db: &Db, org: OrgRef, today: NaiveDate) -> Result<Glance, StoreError> {
    let t = org.tenant_id;
    let tree = Tree::load(db, t).await?;
    let since = today - chrono::Duration::days(SILENT_DAYS);
    let quarter = quarter_start(today);

    let mut per: HashMap<Key, Figures> = HashMap::new();
    // Households, and those with an active member contact.
    {
        let mut a = Args::new();
        let u = org.under("h", &mut a);
        let rows: Vec<Count2> = db
            .all(
                &format!(
                    "SELECT h.org_id, h.grid_id, COUNT(*) AS a, \
                     COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM contacts c WHERE c.tenant_id = h.tenant_id \
                       AND c.level = 'member_household' AND c.to_id = h.id AND c.until IS NULL) THEN 1 ELSE 0 END), 0) AS b \
                     FROM households h WHERE {u} GROUP BY h.org_id, h.grid_id"
                ),
                a,
            )
            .await?;
        for r in rows {
            let f = per.entry((r.org_id, r.grid_id)).or_default();
            f.households += r.a;
            f.covered += r.b;
        }
    }
    // Open requests by card, and those past their due date.
    {
        let mut a = Args::new();
        let u = org.under("r", &mut a);
        let d = a.push(today);
        let rows: Vec<CardRow> = db
            .all(
                &format!(
                    "SELECT r.org_id, COALESCE(r.grid_id, 0) AS grid_id, r.card, COUNT(*) AS n, \
                     COALESCE(SUM(CASE WHEN r.paused_on IS NULL AND r.due_date < {d} THEN 1 ELSE 0 END), 0) AS late \
                     FROM requests r WHERE {u} AND {} GROUP BY r.org_id, COALESCE(r.grid_id, 0), r.card",
                    crate::requests::open_clause()
                ),
                a,
            )
            .await?;
        for r in rows {
            let f = per.entry((r.org_id, r.grid_id)).or_default();
            f.open += r.n;
            f.overdue += r.late;
            match Card::from_code(&r.card) {
                Some(Card::Warning) => f.warning += r.n,
                Some(Card::Yellow) => f.yellow += r.n,
                Some(Card::Red) => f.red += r.n,
                _ => {}
            }
        }
    }
    // Meetings held with someone present (per organisation), and visits.
    let mut met: HashMap<i64, Option<NaiveDate>> = HashMap::new();
    {
        let mut a = Args::new();
        let u = org.under("m", &mut a);
        let rows: Vec<Last> = db
            .all(
                &format!(
                    "SELECT m.org_id, COUNT(*) AS n, MAX(m.held_on) AS last FROM duty_meetings m \
                     WHERE {u} AND m.present_count > 0 GROUP BY m.org_id"
                ),
                a,
            )
            .await?;
        for r in rows {
            met.insert(r.org_id, r.last);
            per.entry((r.org_id, -1)).or_default().last_meeting = r.last;
        }
    }
    {
        let mut a = Args::new();
        let u = org.under("v", &mut a);
        let s = a.push(since);
        let rows: Vec<Last> = db
            .all(
                &format!(
                    "SELECT v.org_id, COALESCE(SUM(CASE WHEN v.visited_on >= {s} THEN 1 ELSE 0 END), 0) AS n, \
                     MAX(v.visited_on) AS last FROM duty_visits v WHERE {u} GROUP BY v.org_id"
                ),
                a,
            )
            .await?;
        for r in rows {
            let f = per.entry((r.org_id, -1)).or_default();
            f.visits += r.n;
            f.last_visit = r.last;
        }
    }

    // Sum up: per organisation of the subtree (its own rows and everything below).
    let root = org.path.clone();
    let sub: Vec<&OrgRef> = tree.subtree(&root).collect();
    let mut by_org: HashMap<i64, Figures> = HashMap::new();
    for ((o, _), f) in &per {
        let Some(row) = tree.get(*o) else { continue };
        for id in row.path.ids() {
            if tree.get(id).is_some_and(|x| org.path.contains(&x.path)) {
                by_org.entry(id).or_default().add(f);
            }
        }
    }
    let whole = by_org.get(&org.id).cloned().unwrap_or_default();

    // The parts: organisations right below (not party groups) or, below
    // none, the grids of this organisation.
    let children: Vec<&&OrgRef> = sub.iter().filter(|o| o.parent_id == Some(org.id) && o.kind.level() < 5).collect();
    let parts = if children.is_empty() {
        grid_parts(db, &org, &per).await?
    } else {
        children
            .iter()
            .map(|c| Part {
                id: c.id,
                name: c.name.clone(),
                kind: "org",
                kind_label: c.kind.label().to_string(),
                href: format!("/orgs/{}/glance", c.id),
                figures: by_org.get(&c.id).cloned().unwrap_or_default(),
            })
            .collect()
    };

    // Branches: silent ones, and those that met this quarter.
    let branches: Vec<&&OrgRef> = sub.iter().filter(|o| o.kind.is_branch()).collect();
    let mut silent = Vec::new();
    let mut met_this_quarter = 0;
    for b in &branches {
        let f = by_org.get(&b.id).cloned().unwrap_or_default();
        // A branch's own meetings (its party groups' meetings are theirs).
        let own_meeting = met.get(&b.id).copied().flatten();
        if own_meeting.is_some_and(|d| d >= quarter) {
            met_this_quarter += 1;
        }
        let quiet = |d: Option<NaiveDate>| d.is_none_or(|d| d < since);
        if quiet(f.last_meeting) && quiet(f.last_visit) {
            silent.push(Silent {
                id: b.id,
                name: b.name.clone(),
                last_meeting: f.last_meeting,
                last_visit: f.last_visit,
            });
        }
    }
    silent.sort_by_key(|s| (s.last_meeting.max(s.last_visit), s.id));
    Ok(Glance {
        org,
        date: today,
        whole,
        parts,
        silent,
        branches: branches.len() as i64,
        branches_met_this_quarter: met_this_quarter,
        quarter_start: quarter,
    })
}

/// The grids of `org` with their figures (households and requests are
/// counted per grid; meetings and visits belong to organisations).
async fn grid_parts(db: &Db, org: &OrgRef, per: &HashMap<Key, Figures>) -> Result<Vec<Part>, StoreError> {
    let grids: Vec<(i64, String)> = db
        .all(
            "SELECT id, name FROM grids WHERE tenant_id = $1 AND org_id = $2 ORDER BY code, id",
            args![org.tenant_id, org.id],
        )
        .await?;
    Ok(grids
        .into_iter()
        .map(|(id, name)| {
            let mut f = Figures::default();
            for ((_, g), x) in per {
                if *g == id {
                    f.add(x);
                }
            }
            Part { id, name, kind: "grid", kind_label: "网格".into(), href: format!("/grids/{id}"), figures: f }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_add_up_and_say_percent() {
        let mut a = Figures { households: 3, covered: 2, open: 4, warning: 1, red: 1, ..Figures::default() };
        let d = NaiveDate::from_ymd_opt(2026, 5, 1);
        let b = Figures { households: 1, covered: 1, last_meeting: d, ..Figures::default() };
        a.add(&b);
        assert_eq!((a.households, a.covered, a.last_meeting), (4, 3, d));
        assert_eq!(a.coverage_percent(), Some(75));
        assert_eq!(a.on_time(), 2);
        assert_eq!(Figures::default().coverage_percent(), None);
    }

    #[test]
    fn quarters_start_on_their_first_day() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(quarter_start(d(2026, 12, 7)), d(2026, 10, 1));
        assert_eq!(quarter_start(d(2026, 1, 1)), d(2026, 1, 1));
        assert_eq!(quarter_start(d(2026, 6, 30)), d(2026, 4, 1));
    }
}
