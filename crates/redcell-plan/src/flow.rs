//! The min-cost flow of one component.
//!
//! Network: household `h` (supply 1) → member `m` (cost `c(h, m)`, on sparse
//! candidate arcs) → sink `T` (capacity `cap_m`, cost 0), and a "skip" arc
//! `h → T` of cost `big` (coverage first). Potentials are kept as member
//! prices `lam[m] = π_T − π_m ≥ 0` and household values `u[h] = π_T − π_h`
//! (with `π_T = 0`), so the reduced costs of the residual arcs are
//!
//! | arc | reduced cost |
//! | --- | --- |
//! | `h → m` (unused) | `c(h, m) + lam[m] − u[h]` |
//! | `m → h` (h assigned to m) | `u[h] − c(h, m) − lam[m]` |
//! | `m → T` (load < cap) | `−lam[m]` |
//! | `T → m` (flow > 0) | `lam[m]` |
//! | `h → T` (skip unused) | `big − u[h]` |
//! | `T → h` (h skipped) | `u[h] − big` |
//!
//! and all of them stay non-negative. Households are inserted one at a time
//! with a Dijkstra from the household to `T` (successive shortest paths).
//! A warm start from any prices and any assignment first drops assignments
//! that are not a cheapest arc, then "forces" members with a positive price to
//! be full (flow `cap` on `m → T`); a member short of households is repaired
//! by a backward Dijkstra from the member to `T`, which either pulls a
//! household in along a cheapest path or lowers the member's price.
//!
//! After the flow is settled, every household is priced against all allowed
//! members: a member outside the candidates with `c + lam < value` is added
//! as an arc, and the flow is repaired from its state; when no such member
//! exists, the potentials are an optimal dual of the full problem.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::model::{NONE, Prepared, round_sqrt};
use crate::spatial::BucketGrid;

/// The household is left without a member (its skip arc is used).
const SKIP: u32 = u32::MAX - 1;
/// The household is not in the network yet.
const PENDING: u32 = u32::MAX;
/// Components with at most this many members are searched by brute force.
const BRUTE_MEMBERS: usize = 256;
/// Components with at least this many households build arcs in parallel.
const PARALLEL_ARCS: usize = 16_384;

/// Sorts a short, nearly sorted slice.
fn insertion_sort(v: &mut [u64]) {
    for i in 1..v.len() {
        let x = v[i];
        let mut j = i;
        while j > 0 && v[j - 1] > x {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
}

/// Tuning of one component's solve.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlowParams {
    pub k: usize,
    pub max_rounds: u32,
    pub threads: usize,
}

/// The outcome for one component.
#[derive(Debug, Default)]
pub(crate) struct CompResult {
    /// Global member index per local household, [`NONE`] if unassigned.
    pub asg: Vec<u32>,
    /// Price per local member.
    pub lam: Vec<i64>,
    pub cost: i64,
    pub lower_bound: i128,
    pub covered: u64,
    pub arcs: u64,
    pub arcs_added: u64,
    pub rounds: u32,
    pub dijkstras: u64,
    pub repairs: u64,
    pub relaxations: u64,
    pub certified: bool,
    /// Seconds spent building arcs, settling the flow, pricing.
    pub t_arcs: f64,
    pub t_settle: f64,
    pub t_price: f64,
}

/// Where the path to `T` ends (forward) or starts (backward).
#[derive(Clone, Copy)]
enum End {
    /// Through member `m` (free member forward; `T → m` backward).
    Member(u32),
    /// Through the skip arc of household `h`.
    Skip(u32),
}

/// A candidate arc: member and cost (costs are below 2^31: coordinates and
/// the move penalty are bounded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    c: u32,
    m: u32,
}

struct ArcsPart {
    cnt: Vec<u32>,
    arc: Vec<Edge>,
    ncb: Vec<i64>,
}

pub(crate) struct Comp<'a> {
    params: FlowParams,
    hx: Vec<f64>,
    hy: Vec<f64>,
    mx: Vec<f64>,
    my: Vec<f64>,
    /// Local index of the household's current member, [`NONE`] if none here.
    hcur: Vec<u32>,
    /// The move penalty if the household has a current member, else 0.
    hpen: Vec<i64>,
    cap: Vec<u32>,
    ms: &'a [u32],
    big: i64,
    index: Option<BucketGrid>,
    // Candidate arcs (CSR).
    off: Vec<u32>,
    arc: Vec<Edge>,
    /// Lower bound on `c(h, m)` of every non-candidate member.
    ncb: Vec<i64>,
    /// Lower bound on `c(h, m) + lam[m]` of every non-candidate member,
    /// established by the last pricing.
    ncproof: Vec<i64>,
    // Reverse arcs (member → households), built on demand.
    rev_ok: bool,
    rev_off: Vec<u32>,
    rev_h: Vec<u32>,
    rev_c: Vec<i64>,
    // Flow state.
    asg: Vec<u32>,
    casg: Vec<i64>,
    u: Vec<i64>,
    lam: Vec<i64>,
    load: Vec<u32>,
    flow: Vec<u32>,
    head: Vec<u32>,
    next: Vec<u32>,
    prev: Vec<u32>,
    pending: Vec<u32>,
    // Scratch.
    dm: Vec<i64>,
    pm: Vec<u32>,
    dh: Vec<i64>,
    ph: Vec<u32>,
    touched_m: Vec<u32>,
    touched_h: Vec<u32>,
    settled_m: Vec<u32>,
    settled_h: Vec<(u32, i64)>,
    heap: BinaryHeap<Reverse<(i64, u32)>>,
    // Stats.
    dijkstras: u64,
    repairs: u64,
    arcs_added: u64,
    relaxations: u64,
}

impl<'a> Comp<'a> {
    /// Lays out the component `hs` × `ms` (members with capacity only).
    pub fn new(p: &Prepared, hs: &[u32], ms: &'a [u32], params: FlowParams) -> Self {
        let n = hs.len();
        let mc = ms.len();
        let hx: Vec<f64> = hs.iter().map(|&h| p.hx[h as usize]).collect();
        let hy: Vec<f64> = hs.iter().map(|&h| p.hy[h as usize]).collect();
        let mx: Vec<f64> = ms.iter().map(|&m| p.mx[m as usize]).collect();
        let my: Vec<f64> = ms.iter().map(|&m| p.my[m as usize]).collect();
        let cap: Vec<u32> = ms.iter().map(|&m| p.cap[m as usize]).collect();
        let mut hcur = vec![NONE; n];
        let mut hpen = vec![0i64; n];
        for (l, &h) in hs.iter().enumerate() {
            let c = p.cur[h as usize];
            if c != NONE {
                hpen[l] = p.penalty;
                if let Ok(j) = ms.binary_search(&c) {
                    hcur[l] = j as u32;
                }
            }
        }
        // big > (members + 1) * (largest cost): no augmenting path gains it.
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for (x, y) in hx.iter().zip(&hy).chain(mx.iter().zip(&my)) {
            x0 = x0.min(*x);
            x1 = x1.max(*x);
            y0 = y0.min(*y);
            y1 = y1.max(*y);
        }
        let diag = if n + mc == 0 { 0.0 } else { ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt() };
        let cmax = diag.ceil() as i64 + 2 + p.penalty;
        let big = ((mc as i64 + 1) * (cmax + 1)).max(1) as u64;
        let big = big.next_power_of_two() as i64;
        let index = (mc > BRUTE_MEMBERS.max(params.k)).then(|| BucketGrid::new(&mx, &my));
        Comp {
            params,
            hx,
            hy,
            mx,
            my,
            hcur,
            hpen,
            cap,
            ms,
            big,
            index,
            off: Vec::new(),
            arc: Vec::new(),
            ncb: Vec::new(),
            ncproof: vec![0; n],
            rev_ok: false,
            rev_off: Vec::new(),
            rev_h: Vec::new(),
            rev_c: Vec::new(),
            asg: vec![PENDING; n],
            casg: vec![0; n],
            u: vec![0; n],
            lam: vec![0; mc],
            load: vec![0; mc],
            flow: vec![0; mc],
            head: vec![NONE; mc],
            next: vec![NONE; n],
            prev: vec![NONE; n],
            pending: Vec::new(),
            dm: vec![i64::MAX; mc],
            pm: vec![NONE; mc],
            dh: vec![i64::MAX; n],
            ph: vec![NONE; n],
            touched_m: Vec::new(),
            touched_h: Vec::new(),
            settled_m: Vec::new(),
            settled_h: Vec::new(),
            heap: BinaryHeap::new(),
            dijkstras: 0,
            repairs: 0,
            arcs_added: 0,
            relaxations: 0,
        }
    }

    #[inline]
    fn n(&self) -> usize {
        self.hx.len()
    }

    #[inline]
    fn mc(&self) -> usize {
        self.mx.len()
    }

    #[inline]
    fn dist2(&self, h: usize, m: usize) -> f64 {
        let dx = self.hx[h] - self.mx[m];
        let dy = self.hy[h] - self.my[m];
        dx * dx + dy * dy
    }

    /// `cost(h, m)` of the contract (same arithmetic as `Prepared::cost`).
    #[inline]
    fn cost(&self, h: usize, m: usize) -> i64 {
        let d = round_sqrt(self.dist2(h, m));
        if self.hcur[h] == m as u32 { d } else { d + self.hpen[h] }
    }

    #[inline]
    fn arcs(&self, h: usize) -> std::ops::Range<usize> {
        self.off[h] as usize..self.off[h + 1] as usize
    }

    fn is_candidate(&self, h: usize, m: u32) -> bool {
        self.arc[self.arcs(h)].iter().any(|a| a.m == m)
    }

    // ---- candidate arcs -------------------------------------------------

    fn arcs_range(&self, lo: usize, hi: usize) -> ArcsPart {
        let k = self.params.k.max(1);
        let mc = self.mc();
        let mut part = ArcsPart {
            cnt: Vec::with_capacity(hi - lo),
            arc: Vec::with_capacity((hi - lo) * (k.min(mc) + 1)),
            ncb: Vec::with_capacity(hi - lo),
        };
        let mut buf: Vec<(f64, u32)> = Vec::new();
        // Keys `cost << 32 | member`: costs are below 2^31 (coordinates and
        // the penalty are bounded), so integer order is (cost, member) order.
        let mut keys: Vec<u64> = Vec::with_capacity(mc.min(4 * k + 64));
        // The nearest members of the previous household (see below).
        let mut top: Vec<u32> = Vec::with_capacity(k + 1);
        let (mut topd, mut px, mut py) = (0.0f64, 0.0f64, 0.0f64);
        let mut mark: Vec<u32> = if self.index.is_none() && mc > k { vec![0; mc] } else { Vec::new() };
        let mut cand: Vec<(f64, u32)> = Vec::with_capacity(mc.min(4 * k + 64));
        for h in lo..hi {
            keys.clear();
            // The k nearest by rounded distance; `dk` bounds the others.
            let dk = if let (Some(ix), true) = (&self.index, mc > k) {
                let d2k = ix.knn(self.hx[h], self.hy[h], k, |m| self.dist2(h, m as usize), &mut buf);
                keys.extend(buf.iter().map(|&(d2, m)| ((round_sqrt(d2) as u64) << 32) | u64::from(m)));
                d2k.map(round_sqrt)
            } else if mc > k {
                // The previous household's k + 1 nearest are all within
                // `D + δ` of this one (`D` the distance of its (k+1)-th,
                // `δ` the distance between the two households), so only
                // members within that radius can be among this one's k + 1
                // nearest. Households are numbered spatially: usually few
                // pass besides the previous ones, already nearly in order.
                let stamp = h as u32 + 1;
                cand.clear();
                let thr2 = if top.is_empty() {
                    f64::INFINITY
                } else {
                    let (dx, dy) = (self.hx[h] - px, self.hy[h] - py);
                    let r = topd + (dx * dx + dy * dy).sqrt();
                    // A margin far above rounding errors.
                    r * r * (1.0 + 1e-9) + 1e-6
                };
                for &m in &top {
                    mark[m as usize] = stamp;
                    cand.push((self.dist2(h, m as usize), m));
                }
                for (m, mk) in mark.iter().enumerate() {
                    if *mk != stamp {
                        let d = self.dist2(h, m);
                        if d <= thr2 {
                            cand.push((d, m as u32));
                        }
                    }
                }
                for i in 1..cand.len() {
                    let x = cand[i];
                    let mut j = i;
                    while j > 0 && (cand[j - 1].0 > x.0 || (cand[j - 1].0 == x.0 && cand[j - 1].1 > x.1)) {
                        cand[j] = cand[j - 1];
                        j -= 1;
                    }
                    cand[j] = x;
                }
                debug_assert!(cand.len() > k);
                top.clear();
                top.extend(cand[..=k].iter().map(|c| c.1));
                topd = cand[k].0.sqrt();
                (px, py) = (self.hx[h], self.hy[h]);
                keys.extend(cand[..k].iter().map(|&(d2, m)| ((round_sqrt(d2) as u64) << 32) | u64::from(m)));
                Some(round_sqrt(cand[k].0))
            } else {
                keys.extend((0..mc).map(|m| ((round_sqrt(self.dist2(h, m)) as u64) << 32) | m as u64));
                if mc > k {
                    keys.select_nth_unstable(k - 1);
                    let dk = (keys[k - 1] >> 32) as i64;
                    keys.truncate(k);
                    Some(dk)
                } else {
                    None
                }
            };
            let pen = self.hpen[h] as u64;
            let cur = self.hcur[h];
            let mut has_cur = false;
            for key in keys.iter_mut() {
                if (*key & 0xffff_ffff) as u32 == cur {
                    has_cur = true;
                } else {
                    *key += pen << 32;
                }
            }
            if cur != NONE && !has_cur {
                keys.push(((self.cost(h, cur as usize) as u64) << 32) | u64::from(cur));
            }
            // Sorted by cost: scans stop at the first arc that cannot help
            // (nearly sorted already: an insertion sort).
            insertion_sort(&mut keys);
            for &key in &keys {
                part.arc.push(Edge { m: (key & 0xffff_ffff) as u32, c: (key >> 32) as u32 });
            }
            part.cnt.push(keys.len() as u32);
            part.ncb.push(match dk {
                None => i64::MAX,
                Some(d) => d + self.hpen[h],
            });
        }
        part
    }

    fn build_arcs(&mut self) {
        let n = self.n();
        let threads = self.params.threads.max(1);
        let parts: Vec<ArcsPart> = if threads > 1 && n >= PARALLEL_ARCS {
            let chunk = n.div_ceil(threads);
            let this = &*self;
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let lo = (t * chunk).min(n);
                        let hi = ((t + 1) * chunk).min(n);
                        s.spawn(move || this.arcs_range(lo, hi))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| match h.join() {
                        Ok(p) => p,
                        Err(e) => std::panic::resume_unwind(e),
                    })
                    .collect()
            })
        } else {
            vec![self.arcs_range(0, n)]
        };
        let total: usize = parts.iter().map(|p| p.arc.len()).sum();
        let mut off = Vec::with_capacity(n + 1);
        let mut arc = Vec::with_capacity(total);
        let mut ncb = Vec::with_capacity(n);
        off.push(0u32);
        let mut acc = 0u32;
        for p in parts {
            for c in p.cnt {
                acc += c;
                off.push(acc);
            }
            arc.extend_from_slice(&p.arc);
            ncb.extend_from_slice(&p.ncb);
        }
        self.off = off;
        self.arc = arc;
        self.ncb = ncb;
        self.rev_ok = false;
    }

    /// Adds arcs `(h, m, c)` (sorted by household) to the candidates.
    fn add_arcs(&mut self, extra: &[(u32, u32, i64)]) {
        let n = self.n();
        let mut off = Vec::with_capacity(n + 1);
        let mut arc = Vec::with_capacity(self.arc.len() + extra.len());
        off.push(0u32);
        let mut e = 0;
        for h in 0..n {
            let lo = arc.len();
            arc.extend_from_slice(&self.arc[self.arcs(h)]);
            let had = e;
            while e < extra.len() && extra[e].0 as usize == h {
                arc.push(Edge { m: extra[e].1, c: extra[e].2 as u32 });
                e += 1;
            }
            if e > had {
                arc[lo..].sort_unstable();
            }
            off.push(arc.len() as u32);
        }
        self.off = off;
        self.arc = arc;
        self.rev_ok = false;
        self.arcs_added += extra.len() as u64;
    }

    fn build_rev(&mut self) {
        let mc = self.mc();
        let mut rev_off = vec![0u32; mc + 1];
        for a in &self.arc {
            rev_off[a.m as usize + 1] += 1;
        }
        for m in 0..mc {
            rev_off[m + 1] += rev_off[m];
        }
        let mut fill = rev_off.clone();
        let mut rev_h = vec![0u32; self.arc.len()];
        let mut rev_c = vec![0i64; self.arc.len()];
        for h in 0..self.n() {
            for a in self.arcs(h) {
                let m = self.arc[a].m as usize;
                let at = fill[m] as usize;
                rev_h[at] = h as u32;
                rev_c[at] = i64::from(self.arc[a].c);
                fill[m] += 1;
            }
        }
        self.rev_off = rev_off;
        self.rev_h = rev_h;
        self.rev_c = rev_c;
        self.rev_ok = true;
    }

    // ---- assignment lists -----------------------------------------------

    fn link(&mut self, h: u32, m: u32, c: i64) {
        let (hu, mu) = (h as usize, m as usize);
        self.asg[hu] = m;
        self.casg[hu] = c;
        let first = self.head[mu];
        self.next[hu] = first;
        self.prev[hu] = NONE;
        if first != NONE {
            self.prev[first as usize] = h;
        }
        self.head[mu] = h;
        self.load[mu] += 1;
    }

    fn unlink(&mut self, h: u32) {
        let hu = h as usize;
        let m = self.asg[hu] as usize;
        let (p, nx) = (self.prev[hu], self.next[hu]);
        if p != NONE {
            self.next[p as usize] = nx;
        } else {
            self.head[m] = nx;
        }
        if nx != NONE {
            self.prev[nx as usize] = p;
        }
        self.load[m] -= 1;
        self.asg[hu] = PENDING;
    }

    /// Takes an assigned or skipped household out of the network.
    fn make_pending(&mut self, h: u32) {
        let a = self.asg[h as usize];
        if a == PENDING {
            return;
        }
        if a != SKIP {
            self.unlink(h);
            // A member with a price stays forced full (a deficit to repair).
            if self.lam[a as usize] == 0 {
                self.flow[a as usize] -= 1;
            }
        }
        self.asg[h as usize] = PENDING;
        self.pending.push(h);
    }

    // ---- initial state ----------------------------------------------------

    /// Starts from prices `lam0` (per local member, or zero) and an initial
    /// assignment `init` (local member per household, [`NONE`] for none).
    fn init(&mut self, lam0: Option<&[i64]>, init: Option<&[u32]>) {
        let n = self.n();
        let mc = self.mc();
        if let Some(l) = lam0 {
            let big = self.big;
            for (lam, &l) in self.lam.iter_mut().zip(l) {
                *lam = l.clamp(0, big);
            }
        }
        let mut kept = Vec::new();
        if let Some(init) = init {
            for (h, &m) in init.iter().enumerate() {
                if m != NONE && self.is_candidate(h, m) {
                    let c = self.cost(h, m as usize);
                    self.link(h as u32, m, c);
                    kept.push(h as u32);
                }
            }
        }
        // Over-full members give back their most recent households.
        for m in 0..mc {
            while self.load[m] > self.cap[m] {
                let h = self.head[m];
                self.unlink(h);
            }
        }
        // An assignment stays only if it is a cheapest arc at these prices.
        for &h in &kept {
            let hu = h as usize;
            let m = self.asg[hu];
            if m == PENDING {
                continue;
            }
            let val = self.casg[hu] + self.lam[m as usize];
            let mut best = self.big;
            for a in self.arcs(hu) {
                if self.arc[a].m != m {
                    best = best.min(i64::from(self.arc[a].c) + self.lam[self.arc[a].m as usize]);
                }
            }
            if val <= best {
                self.u[hu] = val;
            } else {
                self.unlink(h);
            }
        }
        for m in 0..mc {
            self.flow[m] = if self.lam[m] > 0 { self.cap[m] } else { self.load[m] };
        }
        self.pending.clear();
        self.pending.extend((0..n as u32).filter(|&h| self.asg[h as usize] == PENDING));
    }

    // ---- settling: repairs and insertions ---------------------------------

    fn settle(&mut self) {
        for m in 0..self.mc() {
            while self.flow[m] > self.load[m] {
                self.fix_deficit(m as u32);
            }
        }
        let mut pend = std::mem::take(&mut self.pending);
        pend.retain(|&h| self.asg[h as usize] == PENDING);
        // Direct insertions first (cheapest arc to a free member).
        let mut rest = Vec::new();
        for &h in &pend {
            if !self.try_direct(h) {
                rest.push(h);
            }
        }
        // Then a shortest-path search for each of the others.
        for &h in &rest {
            self.insert(h);
        }
        pend.clear();
        self.pending = pend;
    }

    fn reset_scratch(&mut self) {
        for &m in &self.touched_m {
            self.dm[m as usize] = i64::MAX;
        }
        for &h in &self.touched_h {
            self.dh[h as usize] = i64::MAX;
        }
        self.touched_m.clear();
        self.touched_h.clear();
        self.settled_m.clear();
        self.settled_h.clear();
        self.heap.clear();
    }

    /// Inserts pending household `h0` along a shortest path to `T`.
    fn insert(&mut self, h0: u32) {
        if !self.try_direct(h0) {
            self.search_insert(h0);
        }
    }

    /// Sets `u[h0]` to the value of its cheapest arc; links `h0` when that
    /// arc goes to a free member (a shortest path of reduced length 0), or
    /// skips it when it has no arc below `big`. Returns whether it did.
    fn try_direct(&mut self, h0: u32) -> bool {
        let h0u = h0 as usize;
        let big = self.big;
        // The cheapest arc at the current prices, preferring a free member.
        let mut best = big;
        let mut bm = NONE;
        let mut bfree = false;
        for a in self.arcs(h0u) {
            let Edge { c, m } = self.arc[a];
            let v = i64::from(c) + self.lam[m as usize];
            let free = self.load[m as usize] < self.cap[m as usize];
            if v < best || (v == best && bm != NONE && free && !bfree) {
                best = v;
                bm = m;
                bfree = free;
            }
        }
        self.u[h0u] = best;
        if bm == NONE {
            self.asg[h0u] = SKIP;
            self.u[h0u] = big;
            return true;
        }
        if bfree {
            debug_assert_eq!(self.lam[bm as usize], 0);
            let c = self.cost(h0u, bm as usize);
            self.link(h0, bm, c);
            self.flow[bm as usize] += 1;
            return true;
        }
        false
    }

    /// The Dijkstra part of [`Comp::insert`]; `u[h0]` is the value of its
    /// cheapest arc.
    fn search_insert(&mut self, h0: u32) {
        let h0u = h0 as usize;
        let big = self.big;
        let best = self.u[h0u];
        self.dijkstras += 1;
        // Dijkstra from h0 over reduced costs.
        let mut dt = big - best;
        let mut end = End::Skip(h0);
        for a in self.arcs(h0u) {
            let Edge { c, m } = self.arc[a];
            let (c, m) = (i64::from(c), m as usize);
            if c - best >= dt {
                break;
            }
            self.relaxations += 1;
            let d = c + self.lam[m] - best;
            if d < self.dm[m] && d < dt {
                if self.dm[m] == i64::MAX {
                    self.touched_m.push(m as u32);
                }
                self.dm[m] = d;
                self.pm[m] = h0;
                if self.load[m] < self.cap[m] {
                    // A free member reaches T at once (reduced cost 0).
                    dt = d;
                    end = End::Member(m as u32);
                } else {
                    self.heap.push(Reverse((d, m as u32)));
                }
            }
        }
        while let Some(Reverse((d, m))) = self.heap.pop() {
            let mu = m as usize;
            if d > self.dm[mu] {
                continue;
            }
            if d >= dt {
                break;
            }
            if self.load[mu] < self.cap[mu] {
                dt = d;
                end = End::Member(m);
                break;
            }
            self.settled_m.push(m);
            let lam_m = self.lam[mu];
            let mut h = self.head[mu];
            while h != NONE {
                let hu = h as usize;
                let dhh = d + self.u[hu] - self.casg[hu] - lam_m;
                if dhh < dt {
                    self.settled_h.push((h, dhh));
                    let uh = self.u[hu];
                    let sk = dhh + big - uh;
                    if sk < dt {
                        dt = sk;
                        end = End::Skip(h);
                    }
                    for a in self.arcs(hu) {
                        // Arcs are sorted by cost and prices are >= 0.
                        let Edge { c, m: m2 } = self.arc[a];
                        let (c, m2) = (i64::from(c), m2 as usize);
                        if dhh + c - uh >= dt {
                            break;
                        }
                        self.relaxations += 1;
                        if m2 == mu {
                            continue;
                        }
                        let nd = dhh + c + self.lam[m2] - uh;
                        if nd < self.dm[m2] && nd < dt {
                            if self.dm[m2] == i64::MAX {
                                self.touched_m.push(m2 as u32);
                            }
                            self.dm[m2] = nd;
                            self.pm[m2] = h;
                            if self.load[m2] < self.cap[m2] {
                                dt = nd;
                                end = End::Member(m2 as u32);
                            } else {
                                self.heap.push(Reverse((nd, m2 as u32)));
                            }
                        }
                    }
                }
                h = self.next[hu];
            }
        }
        // Potentials: settled nodes move by (dt - distance).
        for i in 0..self.settled_m.len() {
            let m = self.settled_m[i] as usize;
            self.lam[m] += dt - self.dm[m];
        }
        for i in 0..self.settled_h.len() {
            let (h, d) = self.settled_h[i];
            if d < dt {
                self.u[h as usize] += dt - d;
            }
        }
        self.u[h0u] = best + dt;
        // Augment.
        let mut cur = match end {
            End::Skip(h) => {
                let m = self.asg[h as usize];
                if h == h0 {
                    self.asg[h0u] = SKIP;
                    self.reset_scratch();
                    return;
                }
                self.unlink(h);
                self.asg[h as usize] = SKIP;
                m
            }
            End::Member(m) => {
                self.flow[m as usize] += 1;
                m
            }
        };
        loop {
            let h = self.pm[cur as usize];
            let old = self.asg[h as usize];
            if old != PENDING {
                self.unlink(h);
            }
            let c = self.cost(h as usize, cur as usize);
            self.link(h, cur, c);
            if h == h0 {
                break;
            }
            cur = old;
        }
        self.reset_scratch();
    }

    /// Repairs one unit of deficit at member `m0` (forced full by its price
    /// but short of households) with a backward Dijkstra from `m0` to `T`.
    fn fix_deficit(&mut self, m0: u32) {
        if !self.rev_ok {
            self.build_rev();
        }
        self.repairs += 1;
        let big = self.big;
        let m0u = m0 as usize;
        let mut et = self.lam[m0u];
        let mut end = End::Member(m0);
        self.dm[m0u] = 0;
        self.touched_m.push(m0);
        self.heap.push(Reverse((0, m0)));
        while let Some(Reverse((e, w))) = self.heap.pop() {
            let wu = w as usize;
            if e > self.dm[wu] {
                continue;
            }
            if e >= et {
                break;
            }
            self.settled_m.push(w);
            if w != m0 && self.flow[wu] > 0 && e + self.lam[wu] < et {
                et = e + self.lam[wu];
                end = End::Member(w);
            }
            let lam_w = self.lam[wu];
            for a in self.rev_off[wu] as usize..self.rev_off[wu + 1] as usize {
                self.relaxations += 1;
                let h = self.rev_h[a];
                let hu = h as usize;
                let st = self.asg[hu];
                if st == PENDING || st == w {
                    continue;
                }
                let eh = e + self.rev_c[a] + lam_w - self.u[hu];
                if eh >= et || eh >= self.dh[hu] {
                    continue;
                }
                if self.dh[hu] == i64::MAX {
                    self.touched_h.push(h);
                }
                self.dh[hu] = eh;
                self.ph[hu] = w;
                if st == SKIP {
                    let t = eh + self.u[hu] - big;
                    if t < et {
                        et = t;
                        end = End::Skip(h);
                    }
                } else {
                    let m2 = st as usize;
                    let t = eh + self.u[hu] - self.casg[hu] - self.lam[m2];
                    if t < self.dm[m2] && t < et {
                        if self.dm[m2] == i64::MAX {
                            self.touched_m.push(st);
                        }
                        self.dm[m2] = t;
                        self.pm[m2] = h;
                        self.heap.push(Reverse((t, st)));
                    }
                }
            }
        }
        for i in 0..self.settled_m.len() {
            let w = self.settled_m[i] as usize;
            if self.dm[w] < et {
                self.lam[w] -= et - self.dm[w];
                if self.lam[w] < 0 {
                    // Only a member without flow (no T → w arc) can get here;
                    // raising its price back to 0 keeps every arc valid.
                    debug_assert_eq!(self.flow[w], 0);
                    self.lam[w] = 0;
                }
            }
        }
        for i in 0..self.touched_h.len() {
            let h = self.touched_h[i] as usize;
            if self.dh[h] < et {
                self.u[h] -= et - self.dh[h];
            }
        }
        // Augment along T → ... → m0.
        let mut cur = match end {
            End::Member(w) if w == m0 => {
                self.flow[m0u] -= 1;
                self.reset_scratch();
                return;
            }
            End::Member(w) => {
                self.flow[w as usize] -= 1;
                let h = self.pm[w as usize];
                let to = self.ph[h as usize];
                self.unlink(h);
                let c = self.cost(h as usize, to as usize);
                self.link(h, to, c);
                to
            }
            End::Skip(h) => {
                let to = self.ph[h as usize];
                let c = self.cost(h as usize, to as usize);
                self.link(h, to, c);
                to
            }
        };
        while cur != m0 {
            let h = self.pm[cur as usize];
            let to = self.ph[h as usize];
            self.unlink(h);
            let c = self.cost(h as usize, to as usize);
            self.link(h, to, c);
            cur = to;
        }
        self.reset_scratch();
    }

    // ---- pricing -------------------------------------------------------------

    /// Prices every household against all allowed members; returns the arcs
    /// `(h, m, c)` that violate (sorted by household) and records in
    /// `ncproof` the proven lower bound on non-candidate arcs.
    fn price(&mut self) -> Vec<(u32, u32, i64)> {
        let n = self.n();
        let mc = self.mc();
        let lam_min = self.lam.iter().copied().min().unwrap_or(0);
        let cell_min: Vec<i64> = match &self.index {
            Some(ix) => (0..ix.cells())
                .map(|c| ix.cell_items(c).iter().map(|&m| self.lam[m as usize]).min().unwrap_or(i64::MAX))
                .collect(),
            None => Vec::new(),
        };
        let mut out = Vec::new();
        let mut found: Vec<(i64, u32, i64)> = Vec::new();
        let keep_max = 2 * self.params.k.max(4);
        for h in 0..n {
            let val = match self.asg[h] {
                SKIP => self.big,
                m => self.casg[h] + self.lam[m as usize],
            };
            let nb = self.ncb[h].saturating_add(lam_min);
            if nb >= val {
                self.ncproof[h] = nb;
                continue;
            }
            found.clear();
            let pen = self.hpen[h];
            let count = std::cell::Cell::new(0usize);
            let mut consider = |m: usize, this: &Self| {
                let c = this.cost(h, m);
                let v = c + this.lam[m];
                if v < val && !this.is_candidate(h, m as u32) {
                    found.push((v, m as u32, c));
                    count.set(count.get() + 1);
                }
            };
            match &self.index {
                None => {
                    for m in 0..mc {
                        consider(m, self);
                    }
                }
                Some(ix) => {
                    let lim = val as f64 + 1.0;
                    ix.visit_cells(
                        self.hx[h],
                        self.hy[h],
                        // Rings go outwards: once enough violating arcs are
                        // found (the nearest), the round has its progress.
                        |lb| count.get() < keep_max && lb - 1.0 + (pen.saturating_add(lam_min)) as f64 <= lim,
                        |d, c| d - 1.0 + (pen.saturating_add(cell_min[c])) as f64 <= lim,
                        |c| {
                            for &m in ix.cell_items(c) {
                                consider(m as usize, self);
                            }
                        },
                    );
                }
            }
            if found.is_empty() {
                self.ncproof[h] = nb.max(val);
            } else {
                self.ncproof[h] = nb;
                if found.len() > keep_max {
                    found.select_nth_unstable(keep_max - 1);
                    found.truncate(keep_max);
                }
                out.extend(found.iter().map(|&(_, m, c)| (h as u32, m, c)));
            }
        }
        out
    }

    /// Adds violating arcs and takes the households they concern out of the
    /// network when the new arc is cheaper than their current choice.
    fn apply(&mut self, extra: &[(u32, u32, i64)]) {
        self.add_arcs(extra);
        let mut i = 0;
        while i < extra.len() {
            let h = extra[i].0;
            let mut best = i64::MAX;
            while i < extra.len() && extra[i].0 == h {
                best = best.min(extra[i].2 + self.lam[extra[i].1 as usize]);
                i += 1;
            }
            let hu = h as usize;
            let val = match self.asg[hu] {
                SKIP => self.big,
                m => self.casg[hu] + self.lam[m as usize],
            };
            if best < val {
                self.make_pending(h);
            } else {
                self.u[hu] = val;
            }
        }
    }

    // ---- driver ---------------------------------------------------------------

    /// Solves the component; `lam0` are starting prices per local member and
    /// `init` a starting assignment (local member per household).
    pub fn solve(mut self, lam0: Option<&[i64]>, init: Option<&[u32]>) -> CompResult {
        let n = self.n();
        let t = std::time::Instant::now();
        self.build_arcs();
        let t_arcs = t.elapsed().as_secs_f64();
        self.init(lam0, init);
        let mut rounds = 0u32;
        let (mut t_settle, mut t_price) = (0.0, 0.0);
        let certified = loop {
            let t = std::time::Instant::now();
            self.settle();
            t_settle += t.elapsed().as_secs_f64();
            let t = std::time::Instant::now();
            let extra = self.price();
            t_price += t.elapsed().as_secs_f64();
            if extra.is_empty() {
                break true;
            }
            if rounds >= self.params.max_rounds {
                break false;
            }
            rounds += 1;
            self.apply(&extra);
        };
        // The dual bound: F smallest of min_m (c + lam) minus Σ cap·lam.
        let mut a: Vec<i64> = (0..n)
            .map(|h| {
                let mut v = self.ncproof[h];
                for x in self.arcs(h) {
                    v = v.min(i64::from(self.arc[x].c).saturating_add(self.lam[self.arc[x].m as usize]));
                }
                v
            })
            .collect();
        let mut cost = 0i64;
        let mut covered = 0usize;
        let mut asg = vec![NONE; n];
        for (h, out) in asg.iter_mut().enumerate() {
            let m = self.asg[h];
            if m != SKIP && m != PENDING {
                cost += self.casg[h];
                covered += 1;
                *out = self.ms[m as usize];
            }
        }
        if covered < n && covered > 0 {
            a.select_nth_unstable(covered - 1);
        }
        let mut lb: i128 = a[..covered].iter().map(|&v| i128::from(v)).sum();
        for m in 0..self.mc() {
            lb -= i128::from(self.cap[m]) * i128::from(self.lam[m]);
        }
        CompResult {
            asg,
            cost,
            lower_bound: lb,
            covered: covered as u64,
            arcs: self.arc.len() as u64,
            arcs_added: self.arcs_added,
            rounds,
            dijkstras: self.dijkstras,
            repairs: self.repairs,
            relaxations: self.relaxations,
            certified,
            t_arcs,
            t_settle,
            t_price,
            lam: self.lam,
        }
    }
}
