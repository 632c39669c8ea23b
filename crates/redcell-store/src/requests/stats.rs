//! Statistics over the requests in the caller's read scope.

use crate::db::{Args, Db};
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use crate::types::Code;
use chrono::{DateTime, NaiveDate, Utc};
use redcell_domain::calendar::shanghai_date;
use redcell_domain::requests::{Card, RequestKind, RequestState, Satisfaction};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, Default)]
pub struct Stats {
    pub total: i64,
    pub by_kind: Vec<(String, i64)>,
    pub by_state: Vec<(String, i64)>,
    pub overdue: i64,
    pub red: i64,
    pub yellow: i64,
    /// Median days from submission to resolution, over resolved requests.
    pub median_days: Option<f64>,
    /// Share of revisits rated 满意 or 基本满意, in percent.
    pub satisfaction_rate: Option<f64>,
    pub revisits: i64,
}

/// kind, state, card, due date, paused on, submitted at, resolved at, satisfaction.
type StatsRow = (
    Code<RequestKind>,
    Code<RequestState>,
    Code<Card>,
    NaiveDate,
    Option<NaiveDate>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<Code<Satisfaction>>,
);

/// Statistics over the requests in the caller's read scope (`ReadRegistry`).
pub async fn stats(db: &Db, p: &Principal) -> Result<Stats, StoreError> {
    let access = p.access(Capability::ReadRegistry)?;
    let mut a = Args::new();
    let c = access.rows("r", &mut a);
    let rows: Vec<StatsRow> = db
        .all(
            &format!(
                "SELECT r.kind, r.state, r.card, r.due_date, r.paused_on, r.submitted_at, r.resolved_at, r.satisfaction \
                 FROM requests r WHERE {c}"
            ),
            a,
        )
        .await?;
    let today = shanghai_date(Utc::now());
    let mut s = Stats { total: rows.len() as i64, ..Stats::default() };
    let mut kinds = std::collections::BTreeMap::new();
    let mut states = std::collections::BTreeMap::new();
    let mut durations = Vec::new();
    let (mut good, mut rated) = (0i64, 0i64);
    for (kind, state, card, due, paused, sub, res, sat) in rows {
        *kinds.entry(kind.code()).or_insert(0i64) += 1;
        *states.entry(state.code()).or_insert(0i64) += 1;
        if state.is_open() && paused.is_none() && today > due {
            s.overdue += 1;
        }
        if state.is_open() {
            match card.0 {
                Card::Red => s.red += 1,
                Card::Yellow => s.yellow += 1,
                _ => {}
            }
        }
        if let Some(res) = res {
            durations.push((res - sub).num_minutes() as f64 / 1440.0);
        }
        if let Some(sat) = sat {
            rated += 1;
            if sat.0 != Satisfaction::Dissatisfied {
                good += 1;
            }
        }
    }
    s.by_kind =
        RequestKind::ALL.iter().map(|k| (k.label().to_string(), kinds.get(k.code()).copied().unwrap_or(0))).collect();
    s.by_state =
        RequestState::ALL.iter().map(|k| (k.label().to_string(), states.get(k.code()).copied().unwrap_or(0))).collect();
    durations.sort_by(|a, b| a.total_cmp(b));
    if !durations.is_empty() {
        let n = durations.len();
        s.median_days =
            Some(if n % 2 == 1 { durations[n / 2] } else { (durations[n / 2 - 1] + durations[n / 2]) / 2.0 });
    }
    s.revisits = rated;
    if rated > 0 {
        s.satisfaction_rate = Some(100.0 * good as f64 / rated as f64);
    }
    Ok(s)
}
