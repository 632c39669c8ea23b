//! Validation and the compact internal form of an instance.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::{FORMAT_VERSION, Instance, PlanError};

/// Coordinates must lie within ±this many metres (a local plane; this keeps
/// every distance, cost and sum exactly representable).
pub const COORDINATE_LIMIT: f64 = 1.0e8;
/// The largest accepted `members[].max`.
pub const MAX_CAPACITY: i64 = 1_000_000;
/// The largest accepted `params.move_penalty`.
pub const MAX_MOVE_PENALTY: i64 = 1_000_000_000;

/// "No member": an unassigned household, a household without current member.
pub(crate) const NONE: u32 = u32::MAX;

/// A small, fast, non-cryptographic hasher for ids (the Fx hash).
#[cfg(test)]
mod tests {
    #[test]
    fn round_sqrt_is_f64_round() {
        let mut x = 0.0f64;
        for i in 0..200_000u64 {
            let v = (i as f64) * 0.25 + x;
            assert_eq!(super::round_sqrt(v), v.sqrt().round() as i64, "{v}");
            x = (x + 0.013_7) % 1.0;
        }
        for d in [0.5f64, 1.5, 2.5, 0.499_999_999_999_999_94, 1e8 + 0.5, 123_456.5] {
            assert_eq!(super::round_sqrt(d * d), (d * d).sqrt().round() as i64, "{d}");
        }
    }
}

#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // The multiplicative hash leaves its low bits depending on the low
        // bits of the input only; hash tables index by the low bits, so mix
        // the high bits down (the fmix64 finaliser).
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

/// A hash map keyed by ids, with the fast hasher.
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

pub(crate) fn fx_map<K, V>(capacity: usize) -> FxMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, BuildHasherDefault::default())
}

/// The households and members (with capacity) of one independent part.
#[derive(Debug, Default)]
pub(crate) struct Component {
    /// The grid's name, or `None` when every grid is one component.
    pub grid: Option<String>,
    /// Household indices, in instance order.
    pub hs: Vec<u32>,
    /// Member indices with `max > 0`, in instance order.
    pub ms: Vec<u32>,
    /// Total capacity of the members.
    pub capacity: u64,
}

/// An instance checked and laid out in arrays.
pub(crate) struct Prepared {
    pub hx: Vec<f64>,
    pub hy: Vec<f64>,
    pub mx: Vec<f64>,
    pub my: Vec<f64>,
    pub cap: Vec<u32>,
    /// The household's current member (index), or [`NONE`].
    pub cur: Vec<u32>,
    pub penalty: i64,
    pub comps: Vec<Component>,
}

impl Prepared {
    /// `cost(h, m)` of the contract.
    #[inline]
    pub fn cost(&self, h: usize, m: usize) -> i64 {
        let dx = self.hx[h] - self.mx[m];
        let dy = self.hy[h] - self.my[m];
        let d = round_sqrt(dx * dx + dy * dy);
        let c = self.cur[h];
        if c != NONE && c as usize != m { d + self.penalty } else { d }
    }
}

/// `round(sqrt(d2))` with halves rounded away from zero, exactly as
/// `f64::round` (which is a library call on baseline x86-64); `d2 >= 0` and
/// below 2^104, as coordinates are bounded.
#[inline]
pub(crate) fn round_sqrt(d2: f64) -> i64 {
    let d = d2.sqrt();
    let i = d as i64;
    // `d - i` is exact: the fractional part of a double.
    if d - i as f64 >= 0.5 { i + 1 } else { i }
}

fn named(list: &str, i: usize, id: &str) -> String {
    format!("{list}[{i}] (id {id:?})")
}

fn check_coord(at: impl Fn() -> String, name: &str, v: f64) -> Result<(), PlanError> {
    if !v.is_finite() {
        return Err(PlanError::invalid(at(), format!("{name} is not a finite number ({v})")));
    }
    if v.abs() > COORDINATE_LIMIT {
        return Err(PlanError::invalid(at(), format!("{name} = {v} is outside ±{COORDINATE_LIMIT:e} metres")));
    }
    Ok(())
}

/// Checks an instance against the contract; the error names the entry.
///
/// Rejected: a version other than 1; empty or duplicate household/member ids;
/// NaN, infinite or out-of-range (beyond ±[`COORDINATE_LIMIT`]) coordinates;
/// negative `max` or `min`, `min > max`, `max` above [`MAX_CAPACITY`];
/// a negative or huge `move_penalty`; in `current`: unknown household or member
/// ids, a household listed twice, and a pair outside the allowed arcs (member
/// of another grid when `cross_grid` is false). `max = 0` is allowed.
pub fn validate(inst: &Instance) -> Result<(), PlanError> {
    prepare(inst).map(|_| ())
}

/// Default worker threads.
pub(crate) fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Ids → index, split into parts by a hash of the id so that the parts can
/// be built in parallel.
pub(crate) struct IdIndex<'a> {
    parts: Vec<FxMap<&'a str, u32>>,
}

fn part_of(id: &str, parts: usize) -> usize {
    if parts == 1 {
        return 0;
    }
    let mut h = FxHasher::default();
    h.write(id.as_bytes());
    (h.finish() % parts as u64) as usize
}

impl<'a> IdIndex<'a> {
    /// Indexes `ids`; on a duplicate returns `(index, first index)` of the
    /// earliest duplicate in list order.
    pub fn build<T: Sync>(
        items: &'a [T],
        id: impl Fn(&'a T) -> &'a str + Sync,
        threads: usize,
    ) -> Result<Self, (usize, u32)> {
        let parts = if items.len() >= 50_000 { threads.clamp(1, 8) } else { 1 };
        let build_part = |p: usize| -> Result<FxMap<&'a str, u32>, (usize, u32)> {
            let mut map: FxMap<&'a str, u32> = fx_map(items.len() / parts + 16);
            for (i, item) in items.iter().enumerate() {
                let key = id(item);
                if part_of(key, parts) != p {
                    continue;
                }
                if let Some(first) = map.insert(key, i as u32) {
                    return Err((i, first));
                }
            }
            Ok(map)
        };
        type Part<'b> = Result<FxMap<&'b str, u32>, (usize, u32)>;
        let results: Vec<Part<'a>> = if parts == 1 {
            vec![build_part(0)]
        } else {
            std::thread::scope(|s| {
                let hs: Vec<_> = (0..parts).map(|p| s.spawn(move || build_part(p))).collect();
                hs.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
            })
        };
        let mut out = Vec::with_capacity(parts);
        let mut dup: Option<(usize, u32)> = None;
        for r in results {
            match r {
                Ok(m) => out.push(m),
                Err(d) => {
                    if dup.is_none_or(|x| d.0 < x.0) {
                        dup = Some(d);
                    }
                }
            }
        }
        match dup {
            Some(d) => Err(d),
            None => Ok(IdIndex { parts: out }),
        }
    }

    /// The index of `id`.
    pub fn get(&self, id: &str) -> Option<u32> {
        self.parts[part_of(id, self.parts.len())].get(id).copied()
    }
}

/// Validates and builds the compact form.
pub(crate) fn prepare(inst: &Instance) -> Result<Prepared, PlanError> {
    prepare_with(inst, default_threads())
}

/// [`prepare`] with a number of threads.
pub(crate) fn prepare_with(inst: &Instance, threads: usize) -> Result<Prepared, PlanError> {
    if inst.version != FORMAT_VERSION {
        return Err(PlanError::invalid(
            "version",
            format!("unsupported version {} (expected {FORMAT_VERSION})", inst.version),
        ));
    }
    let p = &inst.params;
    if p.move_penalty < 0 {
        return Err(PlanError::invalid("params.move_penalty", format!("must not be negative ({})", p.move_penalty)));
    }
    if p.move_penalty > MAX_MOVE_PENALTY {
        return Err(PlanError::invalid(
            "params.move_penalty",
            format!("{} is larger than {MAX_MOVE_PENALTY}", p.move_penalty),
        ));
    }
    if inst.households.len() >= (NONE - 1) as usize || inst.members.len() >= (NONE - 1) as usize {
        return Err(PlanError::invalid("instance", "too many households or members"));
    }

    let nh = inst.households.len();
    let nm = inst.members.len();
    let mut hx = Vec::with_capacity(nh);
    let mut hy = Vec::with_capacity(nh);
    for (i, h) in inst.households.iter().enumerate() {
        let at = || named("households", i, &h.id);
        if h.id.is_empty() {
            return Err(PlanError::invalid(format!("households[{i}]"), "id is empty"));
        }
        check_coord(at, "x", h.x)?;
        check_coord(at, "y", h.y)?;
        hx.push(h.x);
        hy.push(h.y);
    }
    let hidx = IdIndex::build(&inst.households, |h| h.id.as_str(), threads).map_err(|(i, first)| {
        PlanError::invalid(
            named("households", i, &inst.households[i].id),
            format!("duplicate id (first at households[{first}])"),
        )
    })?;
    let mut mx = Vec::with_capacity(nm);
    let mut my = Vec::with_capacity(nm);
    let mut cap = Vec::with_capacity(nm);
    for (i, m) in inst.members.iter().enumerate() {
        let at = || named("members", i, &m.id);
        if m.id.is_empty() {
            return Err(PlanError::invalid(format!("members[{i}]"), "id is empty"));
        }
        check_coord(at, "x", m.x)?;
        check_coord(at, "y", m.y)?;
        if m.max < 0 {
            return Err(PlanError::invalid(at(), format!("max is negative ({})", m.max)));
        }
        if m.min < 0 {
            return Err(PlanError::invalid(at(), format!("min is negative ({})", m.min)));
        }
        if m.max > MAX_CAPACITY {
            return Err(PlanError::invalid(at(), format!("max {} is larger than {MAX_CAPACITY}", m.max)));
        }
        if m.min > m.max {
            return Err(PlanError::invalid(at(), format!("min ({}) is greater than max ({})", m.min, m.max)));
        }
        mx.push(m.x);
        my.push(m.y);
        cap.push(m.max as u32);
    }
    let midx = IdIndex::build(&inst.members, |m| m.id.as_str(), threads).map_err(|(i, first)| {
        PlanError::invalid(
            named("members", i, &inst.members[i].id),
            format!("duplicate id (first at members[{first}])"),
        )
    })?;

    // `current`: resolve the pairs (in parallel), then look for repeats.
    let resolve = |lo: usize, hi: usize| -> Result<Vec<(u32, u32)>, PlanError> {
        let mut out = Vec::with_capacity(hi - lo);
        // `current` usually follows the households' order: try the next one
        // before hashing.
        let mut next_h = 0usize;
        for i in lo..hi {
            let pair = &inst.current[i];
            let guess = inst.households.get(next_h).filter(|h| h.id == pair.household);
            let found = match guess {
                Some(_) => Some(next_h as u32),
                None => hidx.get(pair.household.as_str()),
            };
            let Some(h) = found else {
                return Err(PlanError::invalid(
                    format!("current[{i}]"),
                    format!("unknown household {:?}", pair.household),
                ));
            };
            let Some(m) = midx.get(pair.member.as_str()) else {
                return Err(PlanError::invalid(format!("current[{i}]"), format!("unknown member {:?}", pair.member)));
            };
            let hg = &inst.households[h as usize].grid;
            let mg = &inst.members[m as usize].grid;
            if !p.cross_grid && hg != mg {
                return Err(PlanError::invalid(
                    format!("current[{i}] (household {:?}, member {:?})", pair.household, pair.member),
                    format!("member is in grid {mg:?} but the household in grid {hg:?} (cross_grid is false)"),
                ));
            }
            out.push((h, m));
            next_h = h as usize + 1;
        }
        Ok(out)
    };
    let nc = inst.current.len();
    let pairs: Vec<(u32, u32)> = if threads > 1 && nc >= 50_000 {
        let chunk = nc.div_ceil(threads);
        let results: Vec<Result<Vec<(u32, u32)>, PlanError>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads)
                .map(|t| {
                    let resolve = &resolve;
                    s.spawn(move || resolve((t * chunk).min(nc), ((t + 1) * chunk).min(nc)))
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        });
        let mut all = Vec::with_capacity(nc);
        for r in results {
            all.extend(r?);
        }
        all
    } else {
        resolve(0, nc)?
    };
    let mut cur = vec![NONE; nh];
    for (i, &(h, m)) in pairs.iter().enumerate() {
        if cur[h as usize] != NONE {
            let first = pairs.iter().position(|q| q.0 == h).unwrap_or(i);
            return Err(PlanError::invalid(
                format!("current[{i}]"),
                format!("household {:?} appears twice (first at current[{first}])", inst.current[i].household),
            ));
        }
        cur[h as usize] = m;
    }

    // Components.
    let mut comps: Vec<Component> = Vec::new();
    if p.cross_grid {
        let mut c = Component { grid: None, hs: (0..nh as u32).collect(), ..Component::default() };
        for (m, &k) in cap.iter().enumerate() {
            if k > 0 {
                c.ms.push(m as u32);
                c.capacity += u64::from(k);
            }
        }
        comps.push(c);
    } else {
        let mut gidx: FxMap<&str, u32> = fx_map(nh / 256 + 16);
        // Households usually come grid by grid: remember the last grid.
        let mut last: (&str, u32) = ("", NONE);
        for (i, h) in inst.households.iter().enumerate() {
            let g = if last.1 != NONE && last.0 == h.grid {
                last.1
            } else {
                let g = *gidx.entry(h.grid.as_str()).or_insert_with(|| {
                    comps.push(Component { grid: Some(h.grid.clone()), ..Component::default() });
                    (comps.len() - 1) as u32
                });
                last = (h.grid.as_str(), g);
                g
            };
            comps[g as usize].hs.push(i as u32);
        }
        for (i, m) in inst.members.iter().enumerate() {
            if cap[i] == 0 {
                continue;
            }
            // Members of grids without households take nobody.
            if let Some(&g) = gidx.get(m.grid.as_str()) {
                let c = &mut comps[g as usize];
                c.ms.push(i as u32);
                c.capacity += u64::from(cap[i]);
            }
        }
    }
    Ok(Prepared { hx, hy, mx, my, cap, cur, penalty: p.move_penalty, comps })
}
