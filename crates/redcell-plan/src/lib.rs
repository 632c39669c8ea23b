//! redcell-plan: the coverage and contact-assignment solver (联系全覆盖).
//!
//! Pure Rust, no database: it reads an assignment instance and writes a plan
//! as specified in `shared/formats/plan-instance.md` (the contract).
//!
//! # The problem
//! Every household should have one party member responsible for it; every
//! member takes at most `max` households; when `params.cross_grid` is false a
//! household may only get a member of its own grid. The cost of giving
//! household `h` to member `m` is
//! `round(euclidean_distance(h, m)) + (h has a current member and m is not it ? move_penalty : 0)`.
//! A plan is optimal when it assigns as many households as possible
//! (coverage first) and, among those plans, has the least total cost.
//!
//! # The method
//! A transportation problem solved as a min-cost flow, independently per
//! component (one component per grid, or one for everything when
//! `cross_grid` is true), components in parallel on all cores:
//! * sparse candidate arcs: the `k` nearest members of each household plus
//!   its current member, in compact rows (u32 member, u32 cost) sorted by
//!   cost; in a grid the nearest are found from the previous household's
//!   (only members within `D + δ` can qualify, see `flow.rs`), in a large
//!   component (`cross_grid`) with a bucket-grid spatial index;
//! * successive shortest paths with Dijkstra and node potentials, one
//!   household inserted at a time; coverage first is a "skip" arc of cost
//!   `M` larger than any possible gain from a longer augmenting path;
//! * pricing: with the member prices `λ` of the final potentials every
//!   household is checked against **all** allowed members (not only the
//!   candidates); violating arcs are added and the flow is repaired from its
//!   current state, until no arc violates, which proves optimality;
//! * the lower bound is the dual value
//!   `Σ (the F smallest of min_m(c(h,m) + λ_m)) − Σ_m max_m·λ_m`, where `F`
//!   is the coverage, a bound on the cost of any plan with that coverage for
//!   any prices `λ ≥ 0`, and equal to the cost at optimality.
//!
//! Re-planning after a small change starts from the previous prices
//! ([`Duals`]) and the assignment in force (`current`), see [`solve_with`].
//!
//! # Incremental planning
//! [`Planner`] keeps a solved instance in memory; [`Planner::apply`] takes
//! one [`Change`] (household added/removed/moved, member added/removed,
//! capacity changed), re-solves only the grids it touches from the kept
//! prices and assignment, and returns an [`Update`]: the households whose
//! planned member changed, and the whole city's cost with its certified
//! lower bound.
//!
//! # Moves
//! [`Plan::moves`] counts households listed in `current` whose member in the
//! plan differs from the current one; a household in `current` that the plan
//! leaves unassigned counts as a move too. Households without a current
//! member never count.

use serde::{Deserialize, Serialize};

mod city;
mod cli;
mod error;
mod evaluate;
mod flow;
mod model;
mod planner;
mod solve;
mod spatial;

pub use city::{churn, generate_city};
pub use cli::{cli_bench, cli_solve, read_instance, read_plan, write_instance_atomically, write_plan_atomically};
pub use error::PlanError;
pub use evaluate::{Evaluation, evaluate};
pub use model::{COORDINATE_LIMIT, MAX_CAPACITY, MAX_MOVE_PENALTY, validate};
pub use planner::{Change, Planner, Reassignment, Update};
pub use solve::{Duals, Solution, SolveOptions, SolveStats, solve, solve_with};

/// The current format version of instance and plan files.
pub const FORMAT_VERSION: u32 = 1;

/// A household to be covered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Household {
    /// Unique within `households`.
    pub id: String,
    /// Metres in a local plane.
    pub x: f64,
    /// Metres in a local plane.
    pub y: f64,
    /// The grid (网格) the household belongs to.
    pub grid: String,
    /// The building the household lives in (informative).
    pub building: String,
}

/// A member who can take households, up to `max`.
///
/// `max` and `min` are non-negative integers in the file; they are read as
/// `i64` so that a negative value is reported by [`validate`] with the entry
/// named rather than as a parse error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Unique within `members`.
    pub id: String,
    /// Metres in a local plane.
    pub x: f64,
    /// Metres in a local plane.
    pub y: f64,
    /// The grid (网格) the member belongs to.
    pub grid: String,
    /// The building the member lives in (informative).
    pub building: String,
    /// Hard capacity: at most this many households (may be 0).
    pub max: i64,
    /// The quota's lower end: reported, not enforced; `min <= max`.
    pub min: i64,
}

/// One household–member pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    /// A household id.
    pub household: String,
    /// A member id.
    pub member: String,
}

/// Parameters of an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Params {
    /// When false a household may only be assigned to a member of its grid.
    #[serde(default)]
    pub cross_grid: bool,
    /// Cost added when a household gets a member other than its current one.
    #[serde(default)]
    pub move_penalty: i64,
}

/// An assignment instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Must be [`FORMAT_VERSION`].
    pub version: u32,
    /// The households to cover.
    pub households: Vec<Household>,
    /// The members who can take households (exempt members are not listed).
    pub members: Vec<Member>,
    /// The assignment in force (optional).
    #[serde(default)]
    pub current: Vec<Pair>,
    /// Parameters.
    #[serde(default)]
    pub params: Params,
}

/// A solved plan, as written by `redcell plan solve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`FORMAT_VERSION`].
    pub version: u32,
    /// The assigned households with their member, in the instance's order.
    pub assignments: Vec<Pair>,
    /// Households left without a member, in the instance's order.
    pub unassigned: Vec<String>,
    /// The objective of the plan (sum of `cost(h, m)` over assignments).
    pub cost: i64,
    /// A proven lower bound on the cost of any plan with the same coverage;
    /// equal to `cost` when optimality is proven.
    pub lower_bound: i64,
    /// Households in `current` whose member differs in this plan (left
    /// unassigned included).
    pub moves: u64,
    /// Wall-clock seconds the solver took.
    pub seconds: f64,
}

#[cfg(test)]
mod tests;
