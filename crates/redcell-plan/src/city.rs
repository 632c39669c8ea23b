//! Deterministic test cities and churn, for tests and benchmarks.

use std::collections::HashSet;

use crate::{FORMAT_VERSION, Household, Instance, Member, Pair, Params, Plan};

/// SplitMix64: small, fast, deterministic on every platform.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed ^ 0x6a09_e667_f3bc_c908)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Generates a city of `households` households (deterministic in `seed`).
///
/// Grids of 300–600 households laid out on a lattice (pitch 650 m), each
/// with buildings of uneven size (houses of 2–12 households, blocks of
/// 12–60, towers of 60–160) at random places in the grid; households are
/// within a few metres of their building and numbered spatially, grid by
/// grid (`h-1`, `h-2`, …). About one member per 11 households, living in the
/// grid's buildings, with `max` 10–15 and `min` 10; a grid may be short of
/// capacity now and then. `move_penalty` is 100 (metres), `cross_grid`
/// false, `current` empty.
pub fn generate_city(households: usize, seed: u64) -> Instance {
    let mut rng = Rng::new(seed);
    // Grid sizes.
    let mut sizes = Vec::new();
    let mut left = households;
    while left > 0 {
        let s = rng.range(300, 600) as usize;
        let s = if left < s + 300 { left } else { s };
        sizes.push(s);
        left -= s;
    }
    let cols = (sizes.len() as f64).sqrt().ceil().max(1.0) as usize;
    let pitch = 650.0;
    let mut hs = Vec::with_capacity(households);
    let mut ms = Vec::with_capacity(households / 10 + 1);
    let mut building_no = 0usize;
    for (g, &size) in sizes.iter().enumerate() {
        let grid = format!("g-{}", g + 1);
        let side = (25.0 * (size as f64).sqrt()).min(pitch - 20.0);
        let gx = (g % cols) as f64 * pitch + rng.f64() * (pitch - side);
        let gy = (g / cols) as f64 * pitch + rng.f64() * (pitch - side);
        // Buildings.
        let mut blds: Vec<(f64, f64, usize)> = Vec::new();
        let mut left = size;
        while left > 0 {
            let r = rng.f64();
            let want = if r < 0.5 {
                rng.range(2, 12)
            } else if r < 0.85 {
                rng.range(12, 60)
            } else {
                rng.range(60, 160)
            } as usize;
            let n = want.min(left);
            blds.push((gx + rng.f64() * side, gy + rng.f64() * side, n));
            left -= n;
        }
        // Spatial order within the grid: 80 m strips, serpentine.
        blds.sort_by(|a, b| {
            let sa = ((a.1 - gy) / 80.0) as i64;
            let sb = ((b.1 - gy) / 80.0) as i64;
            let ka = if sa % 2 == 0 { a.0 } else { -a.0 };
            let kb = if sb % 2 == 0 { b.0 } else { -b.0 };
            sa.cmp(&sb).then(ka.total_cmp(&kb))
        });
        let first_h = hs.len();
        for &(bx, by, n) in &blds {
            building_no += 1;
            let building = format!("b-{building_no}");
            for _ in 0..n {
                hs.push(Household {
                    id: format!("h-{}", hs.len() + 1),
                    x: round2(bx + (rng.f64() - 0.5) * 16.0),
                    y: round2(by + (rng.f64() - 0.5) * 16.0),
                    grid: grid.clone(),
                    building: building.clone(),
                });
            }
        }
        // Members: about one per 11 households.
        let count = ((size as f64 / 11.0) + (rng.f64() * 3.0 - 1.5)).round().max(1.0) as usize;
        for _ in 0..count {
            let at = first_h + rng.below(size);
            let host = &hs[at];
            ms.push(Member {
                id: format!("m-{}", ms.len() + 1),
                x: round2(host.x + (rng.f64() - 0.5) * 4.0),
                y: round2(host.y + (rng.f64() - 0.5) * 4.0),
                grid: grid.clone(),
                building: host.building.clone(),
                max: rng.range(10, 15) as i64,
                min: 10,
            });
        }
    }
    Instance {
        version: FORMAT_VERSION,
        households: hs,
        members: ms,
        current: Vec::new(),
        params: Params { cross_grid: false, move_penalty: 100 },
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The instance after a small change: about `fraction / 2` of the households
/// move out and as many move in (next to a random existing household, in
/// its building and grid), about `fraction / 4` of the members leave and as
/// many join (in a random building), and `current` becomes `previous`'s
/// assignments (pairs whose household or member left are dropped), so that
/// `move_penalty` matters. Deterministic in `seed`.
///
/// Takes the previous plan explicitly (the instance does not hold it).
pub fn churn(inst: &Instance, previous: &Plan, fraction: f64, seed: u64) -> Instance {
    let mut rng = Rng::new(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xc0ffee);
    let nh = inst.households.len();
    let nm = inst.members.len();
    let frac = fraction.clamp(0.0, 1.0);
    let h_out = ((nh as f64) * frac / 2.0).round() as usize;
    let h_in = h_out;
    let m_out = if nm == 0 { 0 } else { (((nm as f64) * frac / 4.0).round() as usize).clamp(1, nm) };
    let m_in = m_out;

    let mut gone_h = vec![false; nh];
    let mut k = 0;
    while k < h_out.min(nh) {
        let i = rng.below(nh);
        if !gone_h[i] {
            gone_h[i] = true;
            k += 1;
        }
    }
    let mut gone_m = vec![false; nm];
    let mut k = 0;
    while k < m_out {
        let i = rng.below(nm);
        if !gone_m[i] {
            gone_m[i] = true;
            k += 1;
        }
    }
    let mut hids: HashSet<&str> = inst.households.iter().map(|h| h.id.as_str()).collect();
    let mut mids: HashSet<&str> = inst.members.iter().map(|m| m.id.as_str()).collect();
    // New households, attached after a random existing one.
    let mut extra: Vec<Vec<Household>> = vec![Vec::new(); nh];
    let mut new_ids: Vec<String> = Vec::new();
    for i in 0..if nh == 0 { 0 } else { h_in } {
        let at = rng.below(nh);
        let host = &inst.households[at];
        let mut id = format!("h-c{seed}-{}", i + 1);
        while hids.contains(id.as_str()) {
            id.push('x');
        }
        new_ids.push(id.clone());
        extra[at].push(Household {
            id,
            x: round2(host.x + (rng.f64() - 0.5) * 16.0),
            y: round2(host.y + (rng.f64() - 0.5) * 16.0),
            grid: host.grid.clone(),
            building: host.building.clone(),
        });
    }
    for id in &new_ids {
        hids.insert(id.as_str());
    }
    let mut households = Vec::with_capacity(nh - h_out + h_in);
    for (i, h) in inst.households.iter().enumerate() {
        if !gone_h[i] {
            households.push(h.clone());
        }
        households.append(&mut extra[i]);
    }
    let mut members: Vec<Member> =
        inst.members.iter().enumerate().filter(|(i, _)| !gone_m[*i]).map(|(_, m)| m.clone()).collect();
    let mut new_mids = Vec::new();
    for i in 0..if households.is_empty() { 0 } else { m_in } {
        let host = &households[rng.below(households.len())];
        let mut id = format!("m-c{seed}-{}", i + 1);
        while mids.contains(id.as_str()) {
            id.push('x');
        }
        new_mids.push(id.clone());
        members.push(Member {
            id,
            x: round2(host.x + (rng.f64() - 0.5) * 4.0),
            y: round2(host.y + (rng.f64() - 0.5) * 4.0),
            grid: host.grid.clone(),
            building: host.building.clone(),
            max: rng.range(10, 15) as i64,
            min: 10,
        });
    }
    for id in &new_mids {
        mids.insert(id.as_str());
    }
    let kept_h: HashSet<&str> =
        inst.households.iter().enumerate().filter(|(i, _)| !gone_h[*i]).map(|(_, h)| h.id.as_str()).collect();
    let kept_m: HashSet<&str> =
        inst.members.iter().enumerate().filter(|(i, _)| !gone_m[*i]).map(|(_, m)| m.id.as_str()).collect();
    let current: Vec<Pair> = previous
        .assignments
        .iter()
        .filter(|p| kept_h.contains(p.household.as_str()) && kept_m.contains(p.member.as_str()))
        .cloned()
        .collect();
    Instance { version: FORMAT_VERSION, households, members, current, params: inst.params.clone() }
}
