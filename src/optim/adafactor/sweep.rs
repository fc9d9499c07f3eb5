//! The sweeps of an Adafactor step over memory, written once over [`Simd`]; the algorithm and
//! the sweep count are in `super`'s documentation.
//!
//! Sums are compensated, so that they stay accurate over millions of terms on every ISA: each
//! lane adds up to [`BLOCK`] terms in plain f32, then folds that partial into an exact two-term
//! sum `hi + lo` (Knuth's two-sum), and the lanes are added in f64 at the end, in a fixed tree. A
//! sum of non-negative terms is then within about (BLOCK + 2)·2^-24 of its value, relative, for
//! any number of terms. The order of every operation depends on the ISA and the task only,
//! never on the thread count.

use crate::simd::tier::simd_fn;
#[allow(unused_imports)]
use crate::simd::unroll::X2;
use crate::simd::{Simd, two_sum};

/// Plain f32 additions per lane before a partial sum is folded into `hi + lo`.
const BLOCK: u32 = 8;
/// The widest vector of any backend (two AVX-512 registers).
const MAX_LANES: usize = 32;
/// Ones, for the lane mask of a partial vector.
const ONES: [f32; MAX_LANES] = [1.0; MAX_LANES];

/// `hi + lo` of a compensated sum in f64; where `hi` overflowed, `lo` (then NaN) is dropped so
/// that a sum of finite terms that overflows is +inf, not NaN.
pub(super) fn exact(hi: f64, lo: f64) -> f64 {
    if hi.is_finite() { hi + lo } else { hi }
}

/// `hi + lo` summed over the lanes in f64: lane by lane through [`exact`], then in a fixed
/// pairwise tree (lane i + lane i + w/2, halving w), which the compiler vectorizes.
#[inline(always)]
fn lanes<S: Simd>(s: S, hi: S::V, lo: S::V) -> f64 {
    let (mut h, mut l) = ([0.0f32; MAX_LANES], [0.0f32; MAX_LANES]);
    s.store(hi, &mut h);
    s.store(lo, &mut l);
    let mut t = [0.0f64; MAX_LANES];
    for i in 0..S::LANES {
        t[i] = exact(h[i] as f64, l[i] as f64);
    }
    // Every backend's LANES is a power of two.
    let mut w = S::LANES;
    while w > 1 {
        w /= 2;
        for i in 0..w {
            t[i] += t[i + w];
        }
    }
    t[0]
}

/// Lanes `[0, n)` of a vector (`n < LANES`): those a partial load filled from memory.
#[inline(always)]
fn head<S: Simd>(s: S, n: usize) -> S::M {
    s.lt(s.splat(0.0), s.load_partial(&ONES[..n]))
}

/// A compensated sum in vector lanes (module documentation).
#[derive(Clone, Copy)]
struct Acc<S: Simd> {
    hi: S::V,
    lo: S::V,
    part: S::V,
    n: u32,
}

impl<S: Simd> Acc<S> {
    #[inline(always)]
    fn new(s: S) -> Acc<S> {
        let z = s.splat(0.0);
        Acc { hi: z, lo: z, part: z, n: 0 }
    }

    #[inline(always)]
    fn add(&mut self, s: S, x: S::V) {
        self.part = s.add(self.part, x);
        self.n += 1;
        if self.n == BLOCK {
            self.fold(s);
        }
    }

    #[inline(always)]
    fn fold(&mut self, s: S) {
        let (hi, e) = two_sum(s, self.hi, self.part);
        self.hi = hi;
        self.lo = s.add(self.lo, e);
        self.part = s.splat(0.0);
        self.n = 0;
    }

    #[inline(always)]
    fn total(mut self, s: S) -> f64 {
        self.fold(s);
        lanes(s, self.hi, self.lo)
    }
}

/// Column sums of g² for one or more matrices, `cols` entries (a slot) per matrix: each row
/// adds into `part` in plain f32, and every [`BLOCK`] rows `part` is folded exactly into
/// `hi + lo` and cleared, as [`Acc`] does in registers.
pub(super) struct ColSums<'a> {
    pub part: &'a mut [f32],
    pub hi: &'a mut [f32],
    pub lo: &'a mut [f32],
}

impl<'a> ColSums<'a> {
    /// The first `at` entries of each, and the rest.
    pub(super) fn split_at(self, at: usize) -> (ColSums<'a>, ColSums<'a>) {
        let (p0, p1) = self.part.split_at_mut(at);
        let (h0, h1) = self.hi.split_at_mut(at);
        let (l0, l1) = self.lo.split_at_mut(at);
        (ColSums { part: p0, hi: h0, lo: l0 }, ColSums { part: p1, hi: h1, lo: l1 })
    }
}

/// One vector of a row of sweep 1: p² into `pp`, g² into the row's `gg` and returned.
#[inline(always)]
fn row_vec<S: Simd>(s: S, p: S::V, g: S::V, pp: &mut Acc<S>, gg: &mut Acc<S>) -> S::V {
    let q = s.mul(g, g);
    pp.add(s, s.mul(p, p));
    gg.add(s, q);
    q
}

/// `hi + lo += part` exactly and `part = 0`, over one slot.
#[inline(always)]
fn fold_cols<S: Simd>(s: S, part: &mut [f32], hi: &mut [f32], lo: &mut [f32]) {
    let (n, w, z) = (part.len(), S::LANES, s.splat(0.0));
    let mut c = 0;
    while c + w <= n {
        let (h, e) = two_sum(s, s.load(&hi[c..]), s.load(&part[c..]));
        s.store(h, &mut hi[c..]);
        s.store(s.add(s.load(&lo[c..]), e), &mut lo[c..]);
        s.store(z, &mut part[c..]);
        c += w;
    }
    if c < n {
        let (h, e) = two_sum(s, s.load_partial(&hi[c..]), s.load_partial(&part[c..]));
        s.store_partial(h, &mut hi[c..]);
        s.store_partial(s.add(s.load_partial(&lo[c..]), e), &mut lo[c..]);
        s.store_partial(z, &mut part[c..]);
    }
}

/// Sweep 1 of a factored step, over whole rows of `cols` elements of one or more matrices
/// (`row` has one entry per row, `sums` one slot per matrix, all zero on entry): returns Σp²;
/// writes each row's Σg² into `row` and each column's into `sums.hi + sums.lo`, g being the
/// gradient times `gs` (its unscaling factor, 1 for a plain step).
#[inline(always)]
fn stats<S: Simd>(s: S, p: &[f32], g: &[f32], gs: f32, cols: usize, row: &mut [f32], sums: ColSums) -> f64 {
    let rows = row.len() / (sums.hi.len() / cols).max(1);
    let (w, gs) = (S::LANES, s.splat(gs));
    let mut pp = Acc::new(s);
    for (r, out) in row.iter_mut().enumerate() {
        let (at, slot) = (r * cols, r / rows * cols..(r / rows + 1) * cols);
        let (p, g, part) = (&p[at..at + cols], &g[at..at + cols], &mut sums.part[slot.clone()]);
        let mut gg = Acc::new(s);
        let mut c = 0;
        while c + w <= cols {
            let q = row_vec(s, s.load(&p[c..]), s.mul(s.load(&g[c..]), gs), &mut pp, &mut gg);
            s.store(s.add(s.load(&part[c..]), q), &mut part[c..]);
            c += w;
        }
        if c < cols {
            // Lanes past the row load as 0 and add 0² = 0.
            let gv = s.mul(s.load_partial(&g[c..]), gs);
            let q = row_vec(s, s.load_partial(&p[c..]), gv, &mut pp, &mut gg);
            s.store_partial(s.add(s.load_partial(&part[c..]), q), &mut part[c..]);
        }
        *out = gg.total(s) as f32;
        let i = r % rows;
        if i % BLOCK as usize == BLOCK as usize - 1 || i == rows - 1 {
            fold_cols(s, part, &mut sums.hi[slot.clone()], &mut sums.lo[slot]);
        }
    }
    pp.total(s)
}

/// The factored second moment as per-row and per-column factors: element (r, c) of matrix b has
/// weight min(`ra[b·rows + r]`·`rc[b·cols + c]`, `inv_eps`) = 1/√max(est, eps1²).
#[derive(Clone, Copy)]
pub(super) struct Weights<'a> {
    pub rows: usize,
    pub cols: usize,
    /// √(norm / row_var) per row.
    pub ra: &'a [f32],
    /// 1/√col_var per column.
    pub rc: &'a [f32],
    /// 1/eps1.
    pub inv_eps: f32,
    /// The gradients' unscaling factor (1 for a plain step).
    pub gs: f32,
}

/// U = fl(g·gs)·min(rc·ra, 1/eps1), for one vector of a row whose `ra` is `a`.
#[inline(always)]
fn update<S: Simd>(s: S, g: S::V, gs: S::V, rc: S::V, a: S::V, inv_eps: S::V) -> S::V {
    s.mul(s.mul(g, gs), s.min(s.mul(rc, a), inv_eps))
}

/// The row segments of the elements `[e0, e0 + len)` (matrices stored one after another, rows
/// of `cols`): for each, its offset from `e0`, its row and the offset of its first column.
struct Segments {
    cols: usize,
    e0: usize,
    at: usize,
    len: usize,
}

impl Iterator for Segments {
    /// (offset from e0, global row, column, length)
    type Item = (usize, usize, usize, usize);
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.at == self.len {
            return None;
        }
        let e = self.e0 + self.at;
        let (r, c) = (e / self.cols, e % self.cols);
        let n = (self.cols - c).min(self.len - self.at);
        let item = (self.at, r, c, n);
        self.at += n;
        Some(item)
    }
}

/// Sweep 2 of a factored step over the elements `[e0, e0 + g.len())`: Σ U².
#[inline(always)]
fn norm<S: Simd>(s: S, wt: &Weights, e0: usize, g: &[f32]) -> f64 {
    let (w, ie, gs) = (S::LANES, s.splat(wt.inv_eps), s.splat(wt.gs));
    let mut uu = Acc::new(s);
    for (at, r, c0, n) in (Segments { cols: wt.cols, e0, at: 0, len: g.len() }) {
        let (g, rc) = (&g[at..at + n], &wt.rc[r / wt.rows * wt.cols + c0..][..n]);
        let a = s.splat(wt.ra[r]);
        let mut c = 0;
        while c + w <= n {
            let u = update(s, s.load(&g[c..]), gs, s.load(&rc[c..]), a, ie);
            uu.add(s, s.mul(u, u));
            c += w;
        }
        if c < n {
            // Lanes past the segment could be 0·inf: masked out of the sum.
            let u = update(s, s.load_partial(&g[c..]), gs, s.load_partial(&rc[c..]), a, ie);
            uu.add(s, s.select(head(s, n - c), s.mul(u, u), s.splat(0.0)));
        }
    }
    uu.total(s)
}

/// The scalars of the write sweep: p ← p·`decay` + `k`·U (`k` = ∓α/max(1, RMS(U)/d)).
#[derive(Clone, Copy)]
pub(super) struct Apply {
    pub k: f32,
    pub decay: f32,
}

/// Sweep 3 of a factored step over the elements `[e0, e0 + p.len())`: writes p.
#[inline(always)]
fn apply<S: Simd>(s: S, wt: &Weights, e0: usize, p: &mut [f32], g: &[f32], ap: Apply) {
    let (w, ie, gs) = (S::LANES, s.splat(wt.inv_eps), s.splat(wt.gs));
    let (k, decay) = (s.splat(ap.k), s.splat(ap.decay));
    for (at, r, c0, n) in (Segments { cols: wt.cols, e0, at: 0, len: p.len() }) {
        let (p, g) = (&mut p[at..at + n], &g[at..at + n]);
        let rc = &wt.rc[r / wt.rows * wt.cols + c0..][..n];
        let a = s.splat(wt.ra[r]);
        let mut c = 0;
        while c + w <= n {
            let u = update(s, s.load(&g[c..]), gs, s.load(&rc[c..]), a, ie);
            s.store(s.fma(k, u, s.mul(s.load(&p[c..]), decay)), &mut p[c..]);
            c += w;
        }
        if c < n {
            let u = update(s, s.load_partial(&g[c..]), gs, s.load_partial(&rc[c..]), a, ie);
            s.store_partial(s.fma(k, u, s.mul(s.load_partial(&p[c..]), decay)), &mut p[c..]);
        }
    }
}

/// The scalars of the unfactored (vector) sweeps.
#[derive(Clone, Copy)]
pub(super) struct Full {
    /// Whether 1 − β̂2_t = t^beta2_decay, the weight of g² in the running mean, is ≥ 0.5.
    pub high: bool,
    /// That weight w if not `high`, else w − 1.
    pub c: f32,
    /// eps1².
    pub eps_sq: f32,
    /// The gradients' unscaling factor (1 for a plain step).
    pub gs: f32,
}

impl Full {
    pub(super) fn new(w: f64, eps1: f64, gs: f32) -> Full {
        let high = w >= 0.5;
        Full { high, c: (if high { w - 1.0 } else { w }) as f32, eps_sq: (eps1 * eps1) as f32, gs }
    }
}

/// v + w·(q − v), as torch's `lerp` computes it: from v for w < 0.5, from q as q − (1 − w)·(q − v)
/// otherwise, so that a weight near 1 (t^beta2_decay at small t, or beta2_decay = 0) does not
/// round q − v at the scale of v into a small result.
#[inline(always)]
fn lerp<S: Simd>(s: S, v: S::V, q: S::V, f: Full) -> S::V {
    let d = s.sub(q, v);
    s.fma(s.splat(f.c), d, if f.high { q } else { v })
}

/// Sweep 1 of an unfactored step: v ← lerp(v, g², w) (written), and returns [Σp², ΣU²] with
/// U² = g²/max(v, eps1²).
#[inline(always)]
fn full_stats<S: Simd>(s: S, p: &[f32], g: &[f32], v: &mut [f32], f: Full) -> [f64; 2] {
    let (w, e2, gs) = (S::LANES, s.splat(f.eps_sq), s.splat(f.gs));
    let (n, mut pp, mut uu) = (v.len(), Acc::new(s), Acc::new(s));
    let mut i = 0;
    while i + w <= n {
        let (pv, gv) = (s.load(&p[i..]), s.mul(s.load(&g[i..]), gs));
        let q = s.mul(gv, gv);
        let vv = s.load(&v[i..]);
        let vv = lerp(s, vv, q, f);
        s.store(vv, &mut v[i..]);
        pp.add(s, s.mul(pv, pv));
        uu.add(s, s.div(q, s.max(vv, e2)));
        i += w;
    }
    if i < n {
        let (pv, gv) = (s.load_partial(&p[i..]), s.mul(s.load_partial(&g[i..]), gs));
        let q = s.mul(gv, gv);
        let vv = s.load_partial(&v[i..]);
        let vv = lerp(s, vv, q, f);
        s.store_partial(vv, &mut v[i..]);
        pp.add(s, s.mul(pv, pv));
        // Lanes past the slice would be 0/0 when eps1 = 0: masked out.
        uu.add(s, s.select(head(s, n - i), s.div(q, s.max(vv, e2)), s.splat(0.0)));
    }
    [pp.total(s), uu.total(s)]
}

/// Sweep 2 of an unfactored step: p ← p·decay + k·g/√max(v, eps1²).
#[inline(always)]
fn full_apply<S: Simd>(s: S, p: &mut [f32], g: &[f32], v: &[f32], f: Full, ap: Apply) {
    let (w, e2, gs) = (S::LANES, s.splat(f.eps_sq), s.splat(f.gs));
    let (k, decay, n) = (s.splat(ap.k), s.splat(ap.decay), p.len());
    let mut i = 0;
    while i + w <= n {
        let u = s.div(s.mul(s.load(&g[i..]), gs), s.sqrt(s.max(s.load(&v[i..]), e2)));
        s.store(s.fma(k, u, s.mul(s.load(&p[i..]), decay)), &mut p[i..]);
        i += w;
    }
    if i < n {
        let g = s.mul(s.load_partial(&g[i..]), gs);
        let u = s.div(g, s.sqrt(s.max(s.load_partial(&v[i..n]), e2)));
        s.store_partial(s.fma(k, u, s.mul(s.load_partial(&p[i..]), decay)), &mut p[i..]);
    }
}

simd_fn! {
    /// Sweep 1 (factored) on an available `isa`: see [`stats`].
    pub(super) fn run_stats(
        p: &[f32],
        g: &[f32],
        gs: f32,
        cols: usize,
        row: &mut [f32],
        sums: ColSums<'_>,
    ) -> f64 => stats;
}

simd_fn! {
    /// Sweep 2 (factored) on an available `isa`: see [`norm`].
    pub(super) fn run_norm(wt: &Weights<'_>, e0: usize, g: &[f32]) -> f64 => norm;
}

simd_fn! {
    /// Sweep 3 (factored) on an available `isa`: see [`apply`].
    pub(super) fn run_apply(wt: &Weights<'_>, e0: usize, p: &mut [f32], g: &[f32], ap: Apply) => apply;
}

simd_fn! {
    /// Sweep 1 (unfactored) on an available `isa`: see [`full_stats`].
    pub(super) fn run_full_stats(p: &[f32], g: &[f32], v: &mut [f32], f: Full) -> [f64; 2] => full_stats;
}

simd_fn! {
    /// Sweep 2 (unfactored) on an available `isa`: see [`full_apply`].
    pub(super) fn run_full_apply(p: &mut [f32], g: &[f32], v: &[f32], f: Full, ap: Apply) => full_apply;
}
