//! Solving an instance: components in parallel, assembling the plan.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::flow::{Comp, CompResult, FlowParams};
use crate::model::{NONE, Prepared, prepare_with};
use crate::{FORMAT_VERSION, Instance, Pair, Plan, PlanError};

/// Tuning of the solver. The result (coverage and cost) does not depend on
/// it, only the time taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolveOptions {
    /// Candidate arcs per household: its `k` nearest members (plus its
    /// current member). Pricing adds whatever else is needed.
    pub k: usize,
    /// Worker threads (components are solved in parallel).
    pub threads: usize,
    /// Pricing rounds per component before giving up on the proof (the plan
    /// is still feasible; `lower_bound` then stays below `cost`).
    pub max_rounds: u32,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions { k: 24, threads: crate::model::default_threads(), max_rounds: 1000 }
    }
}

/// Member prices (the dual values `λ_m` of the capacities) of a solved
/// instance, keyed by member id; members not listed have price 0.
///
/// Handed back to [`solve_with`] for a re-plan after a small change, together
/// with the new instance whose `current` is the previous plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Duals {
    /// `λ_m ≥ 0` per member id (only the non-zero ones).
    pub prices: HashMap<String, i64>,
}

/// Counters of a solve.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SolveStats {
    /// Independent components (grids, or 1 with `cross_grid`).
    pub components: usize,
    /// Candidate arcs at the end (after pricing).
    pub arcs: u64,
    /// Arcs added by pricing.
    pub arcs_added: u64,
    /// The largest number of pricing rounds of a component.
    pub rounds: u32,
    /// Insertions that needed a Dijkstra (not a direct cheapest arc).
    pub dijkstras: u64,
    /// Repairs of members short of households (warm start, pricing).
    pub repairs: u64,
    /// Arcs looked at by the shortest-path searches (a measure of work).
    pub relaxations: u64,
    /// Whether every component's optimality was proven.
    pub certified: bool,
    /// The largest coverage any plan can have.
    pub max_coverage: u64,
    /// Why households are left unassigned, one line per component.
    pub gaps: Vec<String>,
    /// Wall-clock seconds: validating and laying out the instance, solving
    /// the components, writing the plan.
    pub seconds_prepare: f64,
    /// See `seconds_prepare`.
    pub seconds_components: f64,
    /// See `seconds_prepare`.
    pub seconds_output: f64,
    /// Thread-seconds summed over components: candidate arcs, flow, pricing.
    pub thread_seconds: [f64; 3],
}

/// A plan with the prices for a later warm start and the counters.
#[derive(Debug, Clone)]
pub struct Solution {
    /// The plan (the file format).
    pub plan: Plan,
    /// Member prices, for [`solve_with`].
    pub duals: Duals,
    /// Counters.
    pub stats: SolveStats,
}

/// Solves an instance to proven optimality (coverage first, then cost).
///
/// Validates the instance first ([`crate::validate`]). Households that
/// cannot be covered (a grid with more households than capacity, or without
/// members) are listed in `unassigned`; that is not an error.
pub fn solve(inst: &Instance, opts: &SolveOptions) -> Result<Plan, PlanError> {
    solve_with(inst, opts, None).map(|s| s.plan)
}

/// Solves an instance, optionally warm-started.
///
/// With `warm = Some(duals)` (from a previous [`Solution`]), the solver
/// starts from those member prices and from the assignment in `inst.current`
/// (normally the previous plan): after a small change only the households
/// and members around the change are re-optimised. The result is the same
/// optimum as a cold solve (ties may be broken differently).
pub fn solve_with(inst: &Instance, opts: &SolveOptions, warm: Option<&Duals>) -> Result<Solution, PlanError> {
    let t0 = Instant::now();
    let prep = prepare_with(inst, opts.threads.max(1))?;
    let warm_lam: Option<Vec<i64>> =
        warm.map(|d| inst.members.iter().map(|m| d.prices.get(&m.id).copied().unwrap_or(0)).collect());
    let threads = opts.threads.max(1);
    let params = FlowParams {
        k: opts.k.max(1),
        max_rounds: opts.max_rounds,
        threads: if prep.comps.len() == 1 { threads } else { 1 },
    };
    let t1 = Instant::now();
    let results = solve_components(&prep, params, threads, warm_lam.as_deref())?;
    let t2 = Instant::now();

    let nh = inst.households.len();
    let nm = inst.members.len();
    let mut asg = vec![NONE; nh];
    let mut lam = vec![0i64; nm];
    let mut stats = SolveStats { components: prep.comps.len(), certified: true, ..SolveStats::default() };
    let mut cost = 0i64;
    let mut lb: i128 = 0;
    for (c, r) in prep.comps.iter().zip(&results) {
        for (l, &h) in c.hs.iter().enumerate() {
            asg[h as usize] = r.asg[l];
        }
        for (l, &m) in c.ms.iter().enumerate() {
            lam[m as usize] = r.lam[l];
        }
        cost += r.cost;
        lb += r.lower_bound;
        stats.arcs += r.arcs;
        stats.arcs_added += r.arcs_added;
        stats.rounds = stats.rounds.max(r.rounds);
        stats.dijkstras += r.dijkstras;
        stats.repairs += r.repairs;
        stats.relaxations += r.relaxations;
        stats.certified &= r.certified;
        stats.thread_seconds[0] += r.t_arcs;
        stats.thread_seconds[1] += r.t_settle;
        stats.thread_seconds[2] += r.t_price;
        let can = (c.hs.len() as u64).min(c.capacity);
        stats.max_coverage += can;
        let left = c.hs.len() as u64 - r.covered;
        if left > 0 {
            let place = match &c.grid {
                Some(g) => format!("grid {g:?}"),
                None => "all grids".to_string(),
            };
            let why = if c.ms.is_empty() {
                "has no member with capacity".to_string()
            } else {
                format!("has {} households but its {} members take at most {}", c.hs.len(), c.ms.len(), c.capacity)
            };
            stats.gaps.push(format!("{place} {why}: {left} left without a member"));
        }
    }
    let lower_bound = lb.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;

    // The plan's lists (string copies: in parallel for large instances).
    let build = |lo: usize, hi: usize| {
        let mut assignments = Vec::with_capacity(hi - lo);
        let mut unassigned = Vec::new();
        let mut moves = 0u64;
        for (h, &m) in asg.iter().enumerate().take(hi).skip(lo) {
            let cur = prep.cur[h];
            if cur != NONE && cur != m {
                moves += 1;
            }
            let id = &inst.households[h].id;
            if m == NONE {
                unassigned.push(id.clone());
            } else {
                assignments.push(Pair { household: id.clone(), member: inst.members[m as usize].id.clone() });
            }
        }
        (assignments, unassigned, moves)
    };
    let parts = if threads > 1 && nh >= 100_000 {
        let chunk = nh.div_ceil(threads);
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads)
                .map(|t| {
                    let build = &build;
                    s.spawn(move || build((t * chunk).min(nh), ((t + 1) * chunk).min(nh)))
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect::<Vec<_>>()
        })
    } else {
        vec![build(0, nh)]
    };
    let mut parts = parts.into_iter();
    let (mut assignments, mut unassigned, mut moves) = parts.next().unwrap_or_default();
    for (a, u, mv) in parts {
        assignments.extend(a);
        unassigned.extend(u);
        moves += mv;
    }
    let prices = inst.members.iter().zip(&lam).filter(|(_, l)| **l != 0).map(|(m, l)| (m.id.clone(), *l)).collect();
    stats.seconds_prepare = (t1 - t0).as_secs_f64();
    stats.seconds_components = (t2 - t1).as_secs_f64();
    stats.seconds_output = t2.elapsed().as_secs_f64();
    let plan = Plan {
        version: FORMAT_VERSION,
        assignments,
        unassigned,
        cost,
        lower_bound,
        moves,
        seconds: t0.elapsed().as_secs_f64(),
    };
    Ok(Solution { plan, duals: Duals { prices }, stats })
}

fn solve_one(prep: &Prepared, ci: usize, params: FlowParams, warm: Option<&[i64]>) -> CompResult {
    let c = &prep.comps[ci];
    let comp = Comp::new(prep, &c.hs, &c.ms, params);
    match warm {
        None => comp.solve(None, None),
        Some(lam) => {
            let lam0: Vec<i64> = c.ms.iter().map(|&m| lam[m as usize]).collect();
            let init: Vec<u32> =
                c.hs.iter()
                    .map(|&h| {
                        let cur = prep.cur[h as usize];
                        if cur == NONE { NONE } else { c.ms.binary_search(&cur).map_or(NONE, |j| j as u32) }
                    })
                    .collect();
            comp.solve(Some(&lam0), Some(&init))
        }
    }
}

pub(crate) fn solve_components(
    prep: &Prepared,
    params: FlowParams,
    threads: usize,
    warm: Option<&[i64]>,
) -> Result<Vec<CompResult>, PlanError> {
    let nc = prep.comps.len();
    // Largest first, so that the threads finish together.
    let mut order: Vec<usize> = (0..nc).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(prep.comps[c].hs.len() * (prep.comps[c].ms.len() + 1)));
    let workers = threads.min(nc).max(1);
    if workers == 1 {
        return Ok((0..nc).map(|c| solve_one(prep, c, params, warm)).collect());
    }
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<CompResult>>> = Mutex::new((0..nc).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= nc {
                        break;
                    }
                    let c = order[i];
                    done.push((c, solve_one(prep, c, params, warm)));
                }
                let mut slots = slots.lock().unwrap_or_else(|e| e.into_inner());
                for (c, r) in done {
                    slots[c] = Some(r);
                }
            });
        }
    });
    let slots = slots.into_inner().unwrap_or_else(|e| e.into_inner());
    slots
        .into_iter()
        .enumerate()
        .map(|(c, r)| r.ok_or_else(|| PlanError::invalid(format!("component {c}"), "solver thread failed")))
        .collect()
}
