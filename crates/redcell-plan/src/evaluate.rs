//! Recomputing the numbers of any plan, from any solver.

use crate::model::{IdIndex, NONE, default_threads, prepare};
use crate::{FORMAT_VERSION, Instance, Plan, PlanError};

/// What a plan achieves on an instance, recomputed from scratch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Households with a member.
    pub assigned: u64,
    /// Households without a member.
    pub unassigned: u64,
    /// The largest coverage any plan can have: per component (grid, or
    /// everything with `cross_grid`) the smaller of its households and the
    /// total capacity of its members.
    pub max_coverage: u64,
    /// The objective: sum of `cost(h, m)` over the assignments.
    pub cost: i64,
    /// Households in `current` whose member differs (unassigned included).
    pub moves: u64,
}

/// Checks that `plan` is feasible for `inst` and recomputes its coverage,
/// cost and moves.
///
/// Errors name the entry: a plan version other than 1, unknown ids, a
/// household assigned twice or both assigned and unassigned, a household in
/// neither list, a member of another grid when `cross_grid` is false, a
/// member above `max`. The plan's own `cost`, `moves` and `lower_bound` are
/// not trusted: compare them with the result.
pub fn evaluate(inst: &Instance, plan: &Plan) -> Result<Evaluation, PlanError> {
    let prep = prepare(inst)?;
    if plan.version != FORMAT_VERSION {
        return Err(PlanError::invalid(
            "plan.version",
            format!("unsupported version {} (expected {FORMAT_VERSION})", plan.version),
        ));
    }
    let nh = inst.households.len();
    let threads = default_threads();
    let (Ok(hidx), Ok(midx)) = (
        IdIndex::build(&inst.households, |h| h.id.as_str(), threads),
        IdIndex::build(&inst.members, |m| m.id.as_str(), threads),
    ) else {
        return Err(PlanError::invalid("instance", "duplicate ids"));
    };
    const UNSEEN: u32 = NONE;
    const UNASSIGNED: u32 = NONE - 1;
    let mut seen = vec![UNSEEN; nh];
    let mut load = vec![0u64; inst.members.len()];
    let mut cost = 0i64;
    for (i, pair) in plan.assignments.iter().enumerate() {
        let at = || format!("assignments[{i}] (household {:?}, member {:?})", pair.household, pair.member);
        let Some(h) = hidx.get(pair.household.as_str()) else {
            return Err(PlanError::invalid(at(), "unknown household"));
        };
        let Some(m) = midx.get(pair.member.as_str()) else {
            return Err(PlanError::invalid(at(), "unknown member"));
        };
        if seen[h as usize] != UNSEEN {
            return Err(PlanError::infeasible(at(), "household is assigned twice"));
        }
        seen[h as usize] = m;
        let hh = &inst.households[h as usize];
        let mm = &inst.members[m as usize];
        if !inst.params.cross_grid && hh.grid != mm.grid {
            return Err(PlanError::infeasible(
                at(),
                format!(
                    "member is in grid {:?} but the household in grid {:?} (cross_grid is false)",
                    mm.grid, hh.grid
                ),
            ));
        }
        load[m as usize] += 1;
        if load[m as usize] > u64::from(prep.cap[m as usize]) {
            return Err(PlanError::infeasible(
                at(),
                format!("member takes more than its max of {}", prep.cap[m as usize]),
            ));
        }
        cost += prep.cost(h as usize, m as usize);
    }
    for (i, id) in plan.unassigned.iter().enumerate() {
        let at = || format!("unassigned[{i}] ({id:?})");
        let Some(h) = hidx.get(id.as_str()) else {
            return Err(PlanError::invalid(at(), "unknown household"));
        };
        match seen[h as usize] {
            UNSEEN => seen[h as usize] = UNASSIGNED,
            UNASSIGNED => return Err(PlanError::infeasible(at(), "listed twice")),
            _ => return Err(PlanError::infeasible(at(), "household is also assigned")),
        }
    }
    if let Some(h) = seen.iter().position(|&s| s == UNSEEN) {
        return Err(PlanError::infeasible(
            format!("households[{h}] (id {:?})", inst.households[h].id),
            "neither assigned nor listed as unassigned",
        ));
    }
    let mut assigned = 0u64;
    let mut moves = 0u64;
    for (h, &s) in seen.iter().enumerate() {
        let m = if s == UNASSIGNED { NONE } else { s };
        if m != NONE {
            assigned += 1;
        }
        if prep.cur[h] != NONE && prep.cur[h] != m {
            moves += 1;
        }
    }
    let max_coverage = prep.comps.iter().map(|c| (c.hs.len() as u64).min(c.capacity)).sum();
    Ok(Evaluation { assigned, unassigned: nh as u64 - assigned, max_coverage, cost, moves })
}
