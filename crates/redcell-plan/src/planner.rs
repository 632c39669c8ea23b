//! A long-lived incremental planner: the instance kept in memory with the
//! solved state of every grid, re-optimised after each change.
//!
//! [`Planner::new`] solves the instance once (as [`crate::solve_with`]) and
//! keeps, per household, its planned member and, per member, its price
//! `λ_m` (the dual of its capacity). [`Planner::apply`] takes one
//! [`Change`] (a household added, removed or moved; a member added, removed
//! or given another capacity), updates the instance and re-solves only the
//! grids the change touches (one, or two when a household moves between
//! grids), warm-started from the kept prices and assignment: the candidate
//! arcs of the grid are rebuilt (a few hundred households), the assignments
//! that are still cheapest at the kept prices stay, and only the households
//! and members disturbed by the change are repaired with shortest-path
//! searches; pricing against every member of the grid then certifies the
//! grid's optimum again. The whole city's cost and lower bound are the sums
//! over grids, so every [`Update`] carries a proven bound (equal to the cost).
//!
//! With `cross_grid` the whole city is one component and every change
//! re-solves it (still warm-started, but in time proportional to the city).
//!
//! `current` (the assignment in force) is kept as given: the planner's plan
//! is a proposal, not applied. Pairs of `current` whose household or member
//! is removed, or that a move makes disallowed (the household leaves its
//! member's grid), are dropped, exactly as they would have to be dropped from
//! an instance file; [`Planner::instance`] returns the instance in force.

use std::time::Instant;

use crate::city::Rng;
use crate::flow::{Comp, FlowParams};
use crate::model::{COORDINATE_LIMIT, Component, FxMap, MAX_CAPACITY, NONE, Prepared, fx_map, prepare_with};
use crate::solve::solve_components;
use crate::{FORMAT_VERSION, Household, Instance, Member, Pair, Params, Plan, PlanError, SolveOptions};

/// One change to the instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A household moves in (its id must be new).
    AddHousehold(Household),
    /// A household moves out (or dies out, or merges).
    RemoveHousehold {
        /// The household's id.
        id: String,
    },
    /// A household moves to another place, possibly another grid.
    MoveHousehold {
        /// The household's id.
        id: String,
        /// New position (metres).
        x: f64,
        /// New position (metres).
        y: f64,
        /// New grid.
        grid: String,
        /// New building.
        building: String,
    },
    /// A member joins (or returns from exemption); the id must be new.
    AddMember(Member),
    /// A member leaves (transfer, death, exemption).
    RemoveMember {
        /// The member's id.
        id: String,
    },
    /// A member's quota changes.
    SetCapacity {
        /// The member's id.
        id: String,
        /// New hard capacity.
        max: i64,
        /// New quota lower end (`min <= max`).
        min: i64,
    },
}

/// A household whose planned member changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassignment {
    /// The household's id.
    pub household: String,
    /// Its planned member before the change (`None`: unassigned or new).
    pub from: Option<String>,
    /// Its planned member after the change (`None`: unassigned or removed).
    pub to: Option<String>,
}

/// The outcome of one change.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The households whose planned member changed (the diff).
    pub reassigned: Vec<Reassignment>,
    /// Total cost of the whole city's plan after the change.
    pub cost: i64,
    /// Proven lower bound for the whole city (equal to `cost` when proven).
    pub lower_bound: i64,
    /// Households with a member.
    pub assigned: u64,
    /// Households without a member.
    pub unassigned: u64,
    /// Households in `current` whose planned member differs.
    pub moves: u64,
    /// Components (grids) re-solved for this change.
    pub components_solved: usize,
    /// Wall-clock seconds of the change.
    pub seconds: f64,
}

/// The solved state of one component.
#[derive(Debug, Clone, Default)]
struct CompState {
    cost: i64,
    lower_bound: i128,
    covered: u64,
    moves: u64,
    certified: bool,
}

/// The incremental planner; see the module documentation.
pub struct Planner {
    opts: SolveOptions,
    params: Params,
    /// Households and members by slot (`None` once removed).
    hs: Vec<Option<Household>>,
    ms: Vec<Option<Member>>,
    hidx: FxMap<String, u32>,
    midx: FxMap<String, u32>,
    gidx: FxMap<String, u32>,
    /// Coordinates, capacities, `current` and components, by slot.
    prep: Prepared,
    hcomp: Vec<u32>,
    mcomp: Vec<u32>,
    /// Planned member slot per household slot ([`NONE`]: unassigned).
    asg: Vec<u32>,
    /// Price per member slot.
    lam: Vec<i64>,
    state: Vec<CompState>,
}

fn check_point(at: &str, x: f64, y: f64) -> Result<(), PlanError> {
    for (name, v) in [("x", x), ("y", y)] {
        if !v.is_finite() {
            return Err(PlanError::invalid(at, format!("{name} is not a finite number ({v})")));
        }
        if v.abs() > COORDINATE_LIMIT {
            return Err(PlanError::invalid(at, format!("{name} = {v} is outside ±{COORDINATE_LIMIT:e} metres")));
        }
    }
    Ok(())
}

fn check_quota(at: &str, max: i64, min: i64) -> Result<(), PlanError> {
    if max < 0 {
        return Err(PlanError::invalid(at, format!("max is negative ({max})")));
    }
    if min < 0 {
        return Err(PlanError::invalid(at, format!("min is negative ({min})")));
    }
    if max > MAX_CAPACITY {
        return Err(PlanError::invalid(at, format!("max {max} is larger than {MAX_CAPACITY}")));
    }
    if min > max {
        return Err(PlanError::invalid(at, format!("min ({min}) is greater than max ({max})")));
    }
    Ok(())
}

impl Planner {
    /// Validates and solves `inst` (cold), keeping the state for changes.
    pub fn new(inst: &Instance, opts: &SolveOptions) -> Result<Self, PlanError> {
        let threads = opts.threads.max(1);
        let mut prep = prepare_with(inst, threads)?;
        let params = Self::flow_params(opts, prep.comps.len() == 1 && inst.params.cross_grid);
        let results = solve_components(&prep, params, threads, None)?;
        let nh = inst.households.len();
        let nm = inst.members.len();
        let mut gidx: FxMap<String, u32> = fx_map(prep.comps.len() + 16);
        for (c, comp) in prep.comps.iter().enumerate() {
            if let Some(g) = &comp.grid {
                gidx.insert(g.clone(), c as u32);
            }
        }
        let mut hcomp = vec![NONE; nh];
        let mut asg = vec![NONE; nh];
        let mut lam = vec![0i64; nm];
        let mut state = Vec::with_capacity(prep.comps.len());
        for (c, (comp, r)) in prep.comps.iter().zip(&results).enumerate() {
            for (l, &h) in comp.hs.iter().enumerate() {
                hcomp[h as usize] = c as u32;
                asg[h as usize] = r.asg[l];
            }
            for (l, &m) in comp.ms.iter().enumerate() {
                lam[m as usize] = r.lam[l];
            }
            state.push(CompState {
                cost: r.cost,
                lower_bound: r.lower_bound,
                covered: r.covered,
                moves: 0,
                certified: r.certified,
            });
        }
        // Members: their component (grids without households get one now).
        let mut mcomp = vec![NONE; nm];
        let prepared = if inst.params.cross_grid { usize::MAX } else { prep.comps.len() };
        for (m, mem) in inst.members.iter().enumerate() {
            let c = if inst.params.cross_grid {
                if prep.comps.is_empty() {
                    prep.comps.push(Component::default());
                    state.push(CompState { certified: true, ..CompState::default() });
                }
                0
            } else {
                match gidx.get(mem.grid.as_str()) {
                    Some(&c) => c,
                    None => {
                        let c = prep.comps.len() as u32;
                        prep.comps.push(Component { grid: Some(mem.grid.clone()), ..Component::default() });
                        state.push(CompState { certified: true, ..CompState::default() });
                        gidx.insert(mem.grid.clone(), c);
                        c
                    }
                }
            };
            // `prepare` lists the members of grids with households only.
            if c as usize >= prepared && prep.cap[m] > 0 {
                let comp = &mut prep.comps[c as usize];
                comp.ms.push(m as u32);
                comp.capacity += u64::from(prep.cap[m]);
            }
            mcomp[m] = c;
        }
        let mut hidx: FxMap<String, u32> = fx_map(nh);
        for (h, hh) in inst.households.iter().enumerate() {
            hidx.insert(hh.id.clone(), h as u32);
        }
        let mut midx: FxMap<String, u32> = fx_map(nm);
        for (m, mm) in inst.members.iter().enumerate() {
            midx.insert(mm.id.clone(), m as u32);
        }
        let mut p = Planner {
            opts: opts.clone(),
            params: inst.params.clone(),
            hs: inst.households.iter().cloned().map(Some).collect(),
            ms: inst.members.iter().cloned().map(Some).collect(),
            hidx,
            midx,
            gidx,
            prep,
            hcomp,
            mcomp,
            asg,
            lam,
            state,
        };
        for c in 0..p.prep.comps.len() {
            p.state[c].moves = p.comp_moves(c);
        }
        Ok(p)
    }

    fn flow_params(opts: &SolveOptions, one_component: bool) -> FlowParams {
        FlowParams {
            k: opts.k.max(1),
            max_rounds: opts.max_rounds,
            threads: if one_component { opts.threads.max(1) } else { 1 },
        }
    }

    fn comp_moves(&self, c: usize) -> u64 {
        self.prep.comps[c]
            .hs
            .iter()
            .filter(|&&h| {
                let cur = self.prep.cur[h as usize];
                cur != NONE && cur != self.asg[h as usize]
            })
            .count() as u64
    }

    /// Total cost of the current plan.
    pub fn cost(&self) -> i64 {
        self.state.iter().map(|s| s.cost).sum()
    }

    /// Proven lower bound of the current plan (equal to the cost when every
    /// grid's optimum is certified).
    pub fn lower_bound(&self) -> i64 {
        let lb: i128 = self.state.iter().map(|s| s.lower_bound).sum();
        lb.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// Whether every grid's optimum is proven.
    pub fn certified(&self) -> bool {
        self.state.iter().all(|s| s.certified)
    }

    /// Households with a member.
    pub fn assigned(&self) -> u64 {
        self.state.iter().map(|s| s.covered).sum()
    }

    /// Households in the instance.
    pub fn households(&self) -> usize {
        self.hidx.len()
    }

    /// Members in the instance.
    pub fn members(&self) -> usize {
        self.midx.len()
    }

    /// The planned member of a household (`None`: unassigned or unknown).
    pub fn member_of(&self, household: &str) -> Option<&str> {
        let &h = self.hidx.get(household)?;
        let m = self.asg[h as usize];
        if m == NONE { None } else { self.ms[m as usize].as_ref().map(|m| m.id.as_str()) }
    }

    /// The instance as it stands after all changes (households and members
    /// in their original order, new ones at the end; `current` without the
    /// pairs the changes invalidated).
    pub fn instance(&self) -> Instance {
        let households: Vec<Household> = self.hs.iter().flatten().cloned().collect();
        let members: Vec<Member> = self.ms.iter().flatten().cloned().collect();
        let current = self
            .hs
            .iter()
            .enumerate()
            .filter_map(|(h, hh)| {
                let hh = hh.as_ref()?;
                let cur = self.prep.cur[h];
                let m = self.ms.get(cur as usize)?.as_ref()?;
                Some(Pair { household: hh.id.clone(), member: m.id.clone() })
            })
            .collect();
        Instance { version: FORMAT_VERSION, households, members, current, params: self.params.clone() }
    }

    /// The current plan (the file format; `seconds` is 0).
    pub fn plan(&self) -> Plan {
        let mut assignments = Vec::with_capacity(self.hidx.len());
        let mut unassigned = Vec::new();
        for (h, hh) in self.hs.iter().enumerate() {
            let Some(hh) = hh else { continue };
            match self.ms.get(self.asg[h] as usize).and_then(|m| m.as_ref()) {
                Some(m) => assignments.push(Pair { household: hh.id.clone(), member: m.id.clone() }),
                None => unassigned.push(hh.id.clone()),
            }
        }
        Plan {
            version: FORMAT_VERSION,
            assignments,
            unassigned,
            cost: self.cost(),
            lower_bound: self.lower_bound(),
            moves: self.state.iter().map(|s| s.moves).sum(),
            seconds: 0.0,
        }
    }

    /// The component of a grid, created when new.
    fn comp_of_grid(&mut self, grid: &str) -> u32 {
        if self.params.cross_grid {
            if self.prep.comps.is_empty() {
                self.prep.comps.push(Component::default());
                self.state.push(CompState { certified: true, ..CompState::default() });
            }
            return 0;
        }
        if let Some(&c) = self.gidx.get(grid) {
            return c;
        }
        let c = self.prep.comps.len() as u32;
        self.prep.comps.push(Component { grid: Some(grid.to_string()), ..Component::default() });
        self.state.push(CompState { certified: true, ..CompState::default() });
        self.gidx.insert(grid.to_string(), c);
        c
    }

    fn remove_from(list: &mut Vec<u32>, x: u32) {
        if let Some(i) = list.iter().position(|&v| v == x) {
            list.remove(i);
        }
    }

    fn member_slot(&self, id: &str, at: &str) -> Result<u32, PlanError> {
        self.midx.get(id).copied().ok_or_else(|| PlanError::invalid(at, format!("unknown member {id:?}")))
    }

    fn household_slot(&self, id: &str, at: &str) -> Result<u32, PlanError> {
        self.hidx.get(id).copied().ok_or_else(|| PlanError::invalid(at, format!("unknown household {id:?}")))
    }

    /// Applies one change and re-optimises the grids it touches. On an
    /// invalid change (unknown or duplicate id, bad coordinates or quota)
    /// nothing changes and the error names the entry.
    pub fn apply(&mut self, change: &Change) -> Result<Update, PlanError> {
        let t0 = Instant::now();
        let mut touched: Vec<u32> = Vec::with_capacity(2);
        let mut diff: Vec<Reassignment> = Vec::new();
        match change {
            Change::AddHousehold(h) => {
                let at = format!("household {:?}", h.id);
                if h.id.is_empty() {
                    return Err(PlanError::invalid("household", "id is empty"));
                }
                if self.hidx.contains_key(h.id.as_str()) {
                    return Err(PlanError::invalid(at, "duplicate id"));
                }
                check_point(&at, h.x, h.y)?;
                let slot = self.hs.len() as u32;
                let c = self.comp_of_grid(&h.grid);
                self.hs.push(Some(h.clone()));
                self.hidx.insert(h.id.clone(), slot);
                self.prep.hx.push(h.x);
                self.prep.hy.push(h.y);
                self.prep.cur.push(NONE);
                self.hcomp.push(c);
                self.asg.push(NONE);
                self.prep.comps[c as usize].hs.push(slot);
                touched.push(c);
            }
            Change::RemoveHousehold { id } => {
                let h = self.household_slot(id, "RemoveHousehold")?;
                let hu = h as usize;
                let c = self.hcomp[hu];
                Self::remove_from(&mut self.prep.comps[c as usize].hs, h);
                let old = self.asg[hu];
                if old != NONE {
                    diff.push(Reassignment { household: id.clone(), from: self.member_id(old), to: None });
                }
                self.asg[hu] = NONE;
                self.prep.cur[hu] = NONE;
                self.hcomp[hu] = NONE;
                self.hidx.remove(id.as_str());
                self.hs[hu] = None;
                touched.push(c);
            }
            Change::MoveHousehold { id, x, y, grid, building } => {
                let h = self.household_slot(id, "MoveHousehold")?;
                check_point(&format!("household {id:?}"), *x, *y)?;
                let hu = h as usize;
                let old_c = self.hcomp[hu];
                let c = self.comp_of_grid(grid);
                self.prep.hx[hu] = *x;
                self.prep.hy[hu] = *y;
                if let Some(hh) = self.hs[hu].as_mut() {
                    hh.x = *x;
                    hh.y = *y;
                    hh.grid.clone_from(grid);
                    hh.building.clone_from(building);
                }
                touched.push(old_c);
                if c != old_c {
                    Self::remove_from(&mut self.prep.comps[old_c as usize].hs, h);
                    self.prep.comps[c as usize].hs.push(h);
                    self.hcomp[hu] = c;
                    // Its current member is in another grid now.
                    let cur = self.prep.cur[hu];
                    if cur != NONE && self.mcomp[cur as usize] != c {
                        self.prep.cur[hu] = NONE;
                    }
                    touched.push(c);
                }
            }
            Change::AddMember(m) => {
                let at = format!("member {:?}", m.id);
                if m.id.is_empty() {
                    return Err(PlanError::invalid("member", "id is empty"));
                }
                if self.midx.contains_key(m.id.as_str()) {
                    return Err(PlanError::invalid(at, "duplicate id"));
                }
                check_point(&at, m.x, m.y)?;
                check_quota(&at, m.max, m.min)?;
                let slot = self.ms.len() as u32;
                let c = self.comp_of_grid(&m.grid);
                self.ms.push(Some(m.clone()));
                self.midx.insert(m.id.clone(), slot);
                self.prep.mx.push(m.x);
                self.prep.my.push(m.y);
                self.prep.cap.push(m.max as u32);
                self.mcomp.push(c);
                self.lam.push(0);
                if m.max > 0 {
                    let comp = &mut self.prep.comps[c as usize];
                    // The largest slot: the list stays sorted.
                    comp.ms.push(slot);
                    comp.capacity += m.max as u64;
                }
                touched.push(c);
            }
            Change::RemoveMember { id } => {
                let m = self.member_slot(id, "RemoveMember")?;
                let mu = m as usize;
                let c = self.mcomp[mu];
                let comp = &mut self.prep.comps[c as usize];
                if self.prep.cap[mu] > 0 {
                    Self::remove_from(&mut comp.ms, m);
                    comp.capacity -= u64::from(self.prep.cap[mu]);
                }
                for &h in &comp.hs {
                    if self.prep.cur[h as usize] == m {
                        self.prep.cur[h as usize] = NONE;
                    }
                }
                self.prep.cap[mu] = 0;
                self.lam[mu] = 0;
                self.midx.remove(id.as_str());
                touched.push(c);
                // The diff names the member while it still has an id.
                let c = c as usize;
                for &h in &self.prep.comps[c].hs {
                    if self.asg[h as usize] == m {
                        self.asg[h as usize] = NONE;
                        diff.push(Reassignment { household: self.household_id(h), from: Some(id.clone()), to: None });
                    }
                }
                self.ms[mu] = None;
            }
            Change::SetCapacity { id, max, min } => {
                let m = self.member_slot(id, "SetCapacity")?;
                check_quota(&format!("member {id:?}"), *max, *min)?;
                let mu = m as usize;
                let c = self.mcomp[mu];
                let comp = &mut self.prep.comps[c as usize];
                let old = self.prep.cap[mu];
                let new = *max as u32;
                if old > 0 {
                    comp.capacity -= u64::from(old);
                }
                if new > 0 {
                    comp.capacity += u64::from(new);
                }
                if old == 0 && new > 0 {
                    let at = comp.ms.partition_point(|&v| v < m);
                    comp.ms.insert(at, m);
                } else if old > 0 && new == 0 {
                    Self::remove_from(&mut comp.ms, m);
                    self.lam[mu] = 0;
                }
                self.prep.cap[mu] = new;
                if let Some(mm) = self.ms[mu].as_mut() {
                    mm.max = *max;
                    mm.min = *min;
                }
                touched.push(c);
            }
        }
        for &c in &touched {
            self.resolve(c as usize, &mut diff);
        }
        // A household's several steps (e.g. a removed member's households,
        // then their new members) are one entry.
        let diff = merge_diff(diff);
        Ok(Update {
            reassigned: diff,
            cost: self.cost(),
            lower_bound: self.lower_bound(),
            assigned: self.assigned(),
            unassigned: self.hidx.len() as u64 - self.assigned(),
            moves: self.state.iter().map(|s| s.moves).sum(),
            components_solved: touched.len(),
            seconds: t0.elapsed().as_secs_f64(),
        })
    }

    fn member_id(&self, m: u32) -> Option<String> {
        self.ms.get(m as usize).and_then(|m| m.as_ref()).map(|m| m.id.clone())
    }

    fn household_id(&self, h: u32) -> String {
        self.hs.get(h as usize).and_then(|h| h.as_ref()).map(|h| h.id.clone()).unwrap_or_default()
    }

    /// Re-solves component `c` from the kept prices and assignment.
    fn resolve(&mut self, c: usize, diff: &mut Vec<Reassignment>) {
        let params = Self::flow_params(&self.opts, self.params.cross_grid);
        let comp = &self.prep.comps[c];
        let lam0: Vec<i64> = comp.ms.iter().map(|&m| self.lam[m as usize]).collect();
        let init: Vec<u32> = comp
            .hs
            .iter()
            .map(|&h| {
                let a = self.asg[h as usize];
                if a == NONE { NONE } else { comp.ms.binary_search(&a).map_or(NONE, |j| j as u32) }
            })
            .collect();
        let r = Comp::new(&self.prep, &comp.hs, &comp.ms, params).solve(Some(&lam0), Some(&init));
        let comp = &self.prep.comps[c];
        for (l, &h) in comp.hs.iter().enumerate() {
            let new = r.asg[l];
            let old = self.asg[h as usize];
            if new != old {
                let household = self.hs[h as usize].as_ref().map(|h| h.id.clone()).unwrap_or_default();
                diff.push(Reassignment { household, from: self.member_id(old), to: self.member_id(new) });
                self.asg[h as usize] = new;
            }
        }
        for (l, &m) in comp.ms.iter().enumerate() {
            self.lam[m as usize] = r.lam[l];
        }
        let moves = self.comp_moves(c);
        self.state[c] =
            CompState { cost: r.cost, lower_bound: r.lower_bound, covered: r.covered, moves, certified: r.certified };
    }
}

/// Merges entries of the same household: first `from`, last `to`; entries
/// that end where they started are dropped.
fn merge_diff(diff: Vec<Reassignment>) -> Vec<Reassignment> {
    if diff.len() <= 1 {
        return diff;
    }
    let mut out: Vec<Reassignment> = Vec::with_capacity(diff.len());
    let mut at: FxMap<String, usize> = fx_map(diff.len());
    for r in diff {
        match at.get(r.household.as_str()) {
            Some(&i) => out[i].to = r.to,
            None => {
                at.insert(r.household.clone(), out.len());
                out.push(r);
            }
        }
    }
    out.retain(|r| r.from != r.to);
    out
}

/// A random change for tests and benchmarks: a household moves in next to
/// another, moves out, or moves a few metres (now and then to another
/// grid); a member joins, leaves, or gets another quota. Ids are fresh
/// (`h-r{n}`, `m-r{n}`).
pub(crate) fn random_change(p: &Planner, rng: &mut Rng, n: u64) -> Change {
    let pick_h = |rng: &mut Rng| -> Option<&Household> {
        if p.hs.is_empty() {
            return None;
        }
        (0..64).find_map(|_| p.hs[rng.below(p.hs.len())].as_ref())
    };
    let pick_m = |rng: &mut Rng| -> Option<&Member> {
        if p.ms.is_empty() {
            return None;
        }
        (0..64).find_map(|_| p.ms[rng.below(p.ms.len())].as_ref())
    };
    loop {
        match rng.below(6) {
            0 => {
                if let Some(host) = pick_h(rng) {
                    return Change::AddHousehold(Household {
                        id: format!("h-r{n}"),
                        x: host.x + (rng.f64() - 0.5) * 16.0,
                        y: host.y + (rng.f64() - 0.5) * 16.0,
                        grid: host.grid.clone(),
                        building: host.building.clone(),
                    });
                }
            }
            1 => {
                if let Some(h) = pick_h(rng) {
                    return Change::RemoveHousehold { id: h.id.clone() };
                }
            }
            2 => {
                if let (Some(h), Some(to)) = (pick_h(rng), pick_h(rng)) {
                    // Mostly within its grid; one in four to another one.
                    let far = rng.below(4) == 0;
                    let (x, y, grid, building) = if far {
                        (to.x, to.y, to.grid.clone(), to.building.clone())
                    } else {
                        (
                            h.x + (rng.f64() - 0.5) * 40.0,
                            h.y + (rng.f64() - 0.5) * 40.0,
                            h.grid.clone(),
                            h.building.clone(),
                        )
                    };
                    return Change::MoveHousehold { id: h.id.clone(), x, y, grid, building };
                }
            }
            3 => {
                if let Some(host) = pick_h(rng) {
                    return Change::AddMember(Member {
                        id: format!("m-r{n}"),
                        x: host.x + (rng.f64() - 0.5) * 4.0,
                        y: host.y + (rng.f64() - 0.5) * 4.0,
                        grid: host.grid.clone(),
                        building: host.building.clone(),
                        max: rng.range(0, 15) as i64,
                        min: 0,
                    });
                }
            }
            4 => {
                if let Some(m) = pick_m(rng) {
                    return Change::RemoveMember { id: m.id.clone() };
                }
            }
            _ => {
                if let Some(m) = pick_m(rng) {
                    let max = rng.range(0, 15) as i64;
                    return Change::SetCapacity { id: m.id.clone(), max, min: max.min(m.min) };
                }
            }
        }
        if p.hidx.is_empty() && p.midx.is_empty() {
            return Change::AddHousehold(Household {
                id: format!("h-r{n}"),
                x: rng.f64() * 100.0,
                y: rng.f64() * 100.0,
                grid: "g-1".into(),
                building: "b-1".into(),
            });
        }
    }
}
