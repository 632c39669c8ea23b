//! A bucket-grid spatial index over points (the members of a component).

/// Points bucketed into square cells of side `s`, about two per cell.
pub(crate) struct BucketGrid {
    x0: f64,
    y0: f64,
    s: f64,
    nx: usize,
    ny: usize,
    /// `start[c]..start[c + 1]` are the items of cell `c = j * nx + i`.
    start: Vec<u32>,
    items: Vec<u32>,
}

impl BucketGrid {
    /// Indexes the points `(xs[i], ys[i])`; items are the indices `i`.
    pub fn new(xs: &[f64], ys: &[f64]) -> Self {
        let n = xs.len();
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for i in 0..n {
            x0 = x0.min(xs[i]);
            x1 = x1.max(xs[i]);
            y0 = y0.min(ys[i]);
            y1 = y1.max(ys[i]);
        }
        if n == 0 {
            (x0, y0, x1, y1) = (0.0, 0.0, 0.0, 0.0);
        }
        let w = x1 - x0;
        let h = y1 - y0;
        let cells = (n / 2).max(1) as f64;
        let mut s = ((w * h) / cells).sqrt();
        s = s.max(w.max(h) / cells).max(1.0);
        let nx = ((w / s) as usize + 1).max(1);
        let ny = ((h / s) as usize + 1).max(1);
        let mut g = BucketGrid { x0, y0, s, nx, ny, start: vec![0; nx * ny + 1], items: vec![0; n] };
        let cell: Vec<u32> = (0..n).map(|i| g.cell_of(xs[i], ys[i]) as u32).collect();
        for &c in &cell {
            g.start[c as usize + 1] += 1;
        }
        for c in 0..nx * ny {
            g.start[c + 1] += g.start[c];
        }
        let mut fill = g.start.clone();
        for (i, &c) in cell.iter().enumerate() {
            g.items[fill[c as usize] as usize] = i as u32;
            fill[c as usize] += 1;
        }
        g
    }

    fn clamp_i(&self, x: f64) -> usize {
        let f = ((x - self.x0) / self.s).floor();
        if f <= 0.0 { 0 } else { (f as usize).min(self.nx - 1) }
    }

    fn clamp_j(&self, y: f64) -> usize {
        let f = ((y - self.y0) / self.s).floor();
        if f <= 0.0 { 0 } else { (f as usize).min(self.ny - 1) }
    }

    fn cell_of(&self, x: f64, y: f64) -> usize {
        self.clamp_j(y) * self.nx + self.clamp_i(x)
    }

    /// The number of cells.
    pub fn cells(&self) -> usize {
        self.nx * self.ny
    }

    /// The items of cell `c`.
    pub fn cell_items(&self, c: usize) -> &[u32] {
        &self.items[self.start[c] as usize..self.start[c + 1] as usize]
    }

    /// The distance from `(x, y)` to the rectangle of cell `(i, j)`.
    fn rect_dist(&self, x: f64, y: f64, i: usize, j: usize) -> f64 {
        let lx = self.x0 + i as f64 * self.s;
        let ly = self.y0 + j as f64 * self.s;
        let dx = (lx - x).max(0.0).max(x - (lx + self.s));
        let dy = (ly - y).max(0.0).max(y - (ly + self.s));
        (dx * dx + dy * dy).sqrt()
    }

    /// Calls `f(cell, rect_distance)` for every cell in Chebyshev ring `r`
    /// around the cell of `(x, y)`; returns false when the ring lies entirely
    /// outside the grid (and so do all further rings).
    fn ring(&self, x: f64, y: f64, r: usize, mut f: impl FnMut(usize, f64)) -> bool {
        let ci = self.clamp_i(x) as isize;
        let cj = self.clamp_j(y) as isize;
        let r = r as isize;
        let (nx, ny) = (self.nx as isize, self.ny as isize);
        if ci - r < 0 && cj - r < 0 && ci + r >= nx && cj + r >= ny {
            return false;
        }
        let mut visit = |i: isize, j: isize| {
            if i >= 0 && j >= 0 && i < nx && j < ny {
                let (i, j) = (i as usize, j as usize);
                f(j * self.nx + i, self.rect_dist(x, y, i, j));
            }
        };
        if r == 0 {
            visit(ci, cj);
            return true;
        }
        for i in ci - r..=ci + r {
            visit(i, cj - r);
            visit(i, cj + r);
        }
        for j in cj - r + 1..=cj + r - 1 {
            visit(ci - r, j);
            visit(ci + r, j);
        }
        true
    }

    /// The `k` nearest items to `(x, y)` by squared distance, written to
    /// `out` (unordered); returns the squared distance of the k-th nearest
    /// (every item not returned is at least that far), or `None` when
    /// there are at most `k` items and all were returned.
    ///
    /// `dist2(i)` gives the squared distance of item `i`.
    pub fn knn(&self, x: f64, y: f64, k: usize, dist2: impl Fn(u32) -> f64, out: &mut Vec<(f64, u32)>) -> Option<f64> {
        out.clear();
        if self.items.len() <= k {
            out.extend(self.items.iter().map(|&i| (dist2(i), i)));
            return None;
        }
        let mut r = 0usize;
        loop {
            let more = self.ring(x, y, r, |c, _| {
                out.extend(self.cell_items(c).iter().map(|&i| (dist2(i), i)));
            });
            if out.len() >= k {
                out.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
                let dk = out[k - 1].0;
                // Any cell of ring r + 1 is at least r * s away.
                let lb = r as f64 * self.s;
                if !more || lb * lb >= dk {
                    out.truncate(k);
                    return Some(dk);
                }
            } else if !more {
                // Fewer items than k in the grid cannot happen here.
                return None;
            }
            r += 1;
        }
    }

    /// Calls `f(cell)` for every cell whose rectangle is closer to `(x, y)`
    /// than `keep(rect_distance, cell)` allows: `keep` returns whether the
    /// cell may hold a wanted item. Stops at the first ring whose lower
    /// bound `(r - 1) * s` fails `ring_ok`.
    pub fn visit_cells(
        &self,
        x: f64,
        y: f64,
        ring_ok: impl Fn(f64) -> bool,
        keep: impl Fn(f64, usize) -> bool,
        mut f: impl FnMut(usize),
    ) {
        let mut r = 0usize;
        loop {
            let lb = r.saturating_sub(1) as f64 * self.s;
            if !ring_ok(lb) {
                return;
            }
            let more = self.ring(x, y, r, |c, d| {
                if keep(d, c) {
                    f(c)
                }
            });
            if !more {
                return;
            }
            r += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knn_matches_brute_force() {
        let mut s = 12345u64;
        let mut rnd = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64) / ((1u64 << 53) as f64)
        };
        let n = 500;
        let xs: Vec<f64> = (0..n).map(|_| rnd() * 1000.0).collect();
        let ys: Vec<f64> = (0..n).map(|_| rnd() * 300.0).collect();
        let g = BucketGrid::new(&xs, &ys);
        let mut out = Vec::new();
        for q in 0..200 {
            let (x, y) = (rnd() * 1400.0 - 200.0, rnd() * 600.0 - 150.0);
            let d2 = |i: u32| {
                let dx = xs[i as usize] - x;
                let dy = ys[i as usize] - y;
                dx * dx + dy * dy
            };
            let k = 1 + q % 17;
            let dk = g.knn(x, y, k, d2, &mut out).unwrap();
            let mut all: Vec<f64> = (0..n as u32).map(d2).collect();
            all.sort_by(|a, b| a.total_cmp(b));
            assert_eq!(dk, all[k - 1]);
            assert_eq!(out.len(), k);
            assert!(out.iter().all(|&(d, _)| d <= dk));
        }
    }
}
