//! The row kernels' loops, over tiles: `rows` × `cols` values of f32 at `x[k·stride + j]`,
//! reduced or written per column. A column is one row of the softmax (the strided case, one
//! lane per row), or one lane of a contiguous row read as a `[len / lanes, lanes]` tile, whose
//! lanes the caller then adds up. Each column's state (its maximum, its partial sums) lives in
//! slices indexed by column, loaded into a vector before the loop over rows and stored after,
//! so that a long axis can be cut into tiles whose results do not depend on the cut.

use super::vector::{self, add_group};
use crate::simd::tier::simd_fn;
use crate::simd::{Simd, load_n as ld, store_n as st};

/// The most lanes of any tier (AVX-512, two vectors side by side): the width of a contiguous
/// row's tile and of its state arrays.
pub(crate) const MAXC: usize = 64;

/// A contiguous block of `n` as tiles of `c` columns: `(offset, rows, cols)` of its whole rows
/// and of the rest (either may be empty).
#[inline(always)]
pub(crate) fn split(n: usize, c: usize) -> [(usize, usize, usize); 2] {
    let rows = n / c;
    [(0, rows, c), (rows * c, 1, n - rows * c)]
}

/// Runs `$body` for each column block of a tile, `$w` lanes from column `$j`. Macros rather
/// than closures here and below: a closure is a function of its own, compiled without the
/// tier's instruction set where it is not inlined.
macro_rules! columns {
    ($S:ty, $cols:expr, |$j:ident, $w:ident| $body:block) => {{
        let cols = $cols;
        let mut $j = 0;
        while $j < cols {
            let $w = (cols - $j).min(<$S>::LANES);
            $body
            $j += <$S>::LANES;
        }
    }};
}

/// The maximum that keeps a NaN: a NaN in either gives NaN (Simd::max alone may drop one in `b`).
#[inline(always)]
fn max_nan<S: Simd>(s: S, a: S::V, b: S::V) -> S::V {
    s.select(s.le(b, b), s.max(a, b), b)
}

/// Sums terms in groups of four rows, added to the column's double-f32 sum: a group is summed in
/// f32 (within 2 units of 2^-24 of its terms' sum), the groups exactly (two-sum), so that a long
/// column is summed to about 2^-23 of its terms' sum however long it is.
macro_rules! grouped {
    ($s:expr, $rows:expr, $h:ident, $l:ident, |$k:ident| $term:block) => {{
        let s = $s;
        let mut k0 = 0;
        while k0 + 4 <= $rows {
            let a = {
                let $k = k0;
                $term
            };
            let b = {
                let $k = k0 + 1;
                $term
            };
            let c = {
                let $k = k0 + 2;
                $term
            };
            let d = {
                let $k = k0 + 3;
                $term
            };
            add_group(s, &mut $h, &mut $l, s.add(s.add(a, b), s.add(c, d)));
            k0 += 4;
        }
        while k0 < $rows {
            let t = {
                let $k = k0;
                $term
            };
            add_group(s, &mut $h, &mut $l, t);
            k0 += 1;
        }
    }};
}

/// m[j] = the maximum of column j and m[j] (NaN if either holds one).
#[inline(always)]
pub(crate) fn max<S: Simd>(s: S, x: &[f32], stride: usize, rows: usize, cols: usize, m: &mut [f32]) {
    columns!(S, cols, |j, w| {
        let mut acc = [ld(s, m, j, w); 4];
        let mut k = 0;
        while k + 4 <= rows {
            for (u, a) in acc.iter_mut().enumerate() {
                *a = max_nan(s, *a, ld(s, x, (k + u) * stride + j, w));
            }
            k += 4;
        }
        while k < rows {
            acc[0] = max_nan(s, acc[0], ld(s, x, k * stride + j, w));
            k += 1;
        }
        let v = max_nan(s, max_nan(s, acc[0], acc[1]), max_nan(s, acc[2], acc[3]));
        st(s, v, m, j, w);
    });
}

/// The exponent of the factor 2^64 by which [`exp_sum`] takes the terms below the maximum.
pub(crate) const TOP_SCALE: f32 = 64.0;

/// Adds Σ e^(x − m[j]) to column j's sum `(h[j], l[j])`. With `TOP`, the terms where x = m[j]
/// (exactly 1) are counted in `c[j]` instead, so that the sum of the others stays exact where
/// it is tiny beside them (log-softmax of a dominant entry is −log1p of it), and that sum is
/// taken times 2^[`TOP_SCALE`]. With `STORE`, each
/// e^(x − m) is also written to `y` (the softmax's numerators, scaled later); `x` is `None` where
/// it is `y` itself (in place). Without `STORE`, `x` must be given.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn exp_sum<S: Simd, TOP: Flag, STORE: Flag>(
    s: S,
    x: Option<&[f32]>,
    stride: usize,
    rows: usize,
    cols: usize,
    m: &[f32],
    sums: [&mut [f32]; 3],
    y: &mut [f32],
) {
    let [h, l, c] = sums;
    let (zero, one) = (s.splat(0.0), s.splat(1.0));
    columns!(S, cols, |j, w| {
        let mv = ld(s, m, j, w);
        let (mut hv, mut lv) = (ld(s, h, j, w), ld(s, l, j, w));
        let mut count = zero;
        grouped!(s, rows, hv, lv, |k| {
            let xv = match x {
                Some(x) => ld(s, x, k * stride + j, w),
                None => ld(s, y, k * stride + j, w),
            };
            let (hi, lo) = vector::diff(s, xv, mv);
            let (p, n) = vector::exp_parts(s, hi, lo);
            if TOP::ON {
                // The others' sum may be all there is beside the maximum's 1s, and tiny: its
                // terms are taken times 2^64, so that none is rounded as a subnormal.
                let top = s.le(zero, hi);
                count = s.add(count, s.select(top, one, zero));
                s.select(top, zero, s.scale(p, s.add(n, s.splat(TOP_SCALE))))
            } else {
                let e = s.scale(p, n);
                if STORE::ON {
                    st(s, e, y, k * stride + j, w);
                }
                e
            }
        });
        st(s, hv, h, j, w);
        st(s, lv, l, j, w);
        if TOP::ON {
            st(s, s.add(ld(s, c, j, w), count), c, j, w);
        }
    });
}

/// Adds Σ dy·y (with `PRODUCT`, grouped as [`grouped!`]: within 2^-22·Σ|dy·y|) or Σ dy (every
/// term exactly) to column j's sum `(h[j], l[j])`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn dot<S: Simd, PRODUCT: Flag>(
    s: S,
    y: &[f32],
    dy: &[f32],
    stride: usize,
    rows: usize,
    cols: usize,
    h: &mut [f32],
    l: &mut [f32],
) {
    columns!(S, cols, |j, w| {
        let (mut hv, mut lv) = (ld(s, h, j, w), ld(s, l, j, w));
        if PRODUCT::ON {
            grouped!(s, rows, hv, lv, |k| {
                s.mul(ld(s, dy, k * stride + j, w), ld(s, y, k * stride + j, w))
            });
        } else {
            // Each dy added exactly: log-softmax's dx = dy − e^y·Σ dy needs Σ dy to within a
            // fraction of the dominant entry's dy, however large Σ|dy| is.
            for k in 0..rows {
                add_group(s, &mut hv, &mut lv, ld(s, dy, k * stride + j, w));
            }
        }
        st(s, hv, h, j, w);
        st(s, lv, l, j, w);
    });
}

/// An element-wise output of the row kernels: out = f(a, b, column parameters).
pub(crate) trait Out: Copy {
    /// The output from the inputs `a`, `b` (b unread where there is one input) and the column's
    /// parameters `p`.
    fn out<S: Simd>(self, s: S, a: S::V, b: S::V, p: [S::V; 3]) -> S::V;
    /// Whether `b` is read.
    const TWO: bool;
}

/// Writes `out[k·ostride + j] = f(a, b, p[·][j])` over the tile; an input that is `None` is
/// read from `out` itself (in place). `b` is read only by a two-input output ([`Out::TWO`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn write<S: Simd, O: Out>(
    s: S,
    o: O,
    a: Option<&[f32]>,
    b: Option<&[f32]>,
    stride: usize,
    rows: usize,
    cols: usize,
    p: [&[f32]; 3],
    out: &mut [f32],
    ostride: usize,
) {
    columns!(S, cols, |j, w| {
        let pv = [ld(s, p[0], j, w), ld(s, p[1], j, w), ld(s, p[2], j, w)];
        for k in 0..rows {
            let av = match a {
                Some(a) => ld(s, a, k * stride + j, w),
                None => ld(s, out, k * ostride + j, w),
            };
            let bv = match b {
                _ if !O::TWO => av,
                Some(b) => ld(s, b, k * stride + j, w),
                None => ld(s, out, k * ostride + j, w),
            };
            st(s, o.out(s, av, bv, pv), out, k * ostride + j, w);
        }
    });
}

/// softmax from x: p = [m, 1/Σ, -].
#[derive(Clone, Copy)]
pub(crate) struct Softmax;
impl Out for Softmax {
    const TWO: bool = false;
    #[inline(always)]
    fn out<S: Simd>(self, s: S, x: S::V, _: S::V, p: [S::V; 3]) -> S::V {
        vector::softmax(s, x, p[0], p[1])
    }
}

/// softmax from its stored numerators: y·(1/Σ), p = [-, 1/Σ, -].
#[derive(Clone, Copy)]
pub(crate) struct Scale;
impl Out for Scale {
    const TWO: bool = false;
    #[inline(always)]
    fn out<S: Simd>(self, s: S, e: S::V, _: S::V, p: [S::V; 3]) -> S::V {
        s.mul(e, p[1])
    }
}

/// A scaled softmax less a weighted shift, from (x, w): e^(x − m)·r − c·w, p = [m, r, c]
/// (cross-entropy's gradient, the target's entry apart).
#[derive(Clone, Copy)]
pub(crate) struct SoftmaxShift;
impl Out for SoftmaxShift {
    const TWO: bool = true;
    #[inline(always)]
    fn out<S: Simd>(self, s: S, x: S::V, w: S::V, p: [S::V; 3]) -> S::V {
        s.sub(vector::softmax(s, x, p[0], p[1]), s.mul(p[2], w))
    }
}

/// log-softmax from x: p = [m, L hi, L lo].
#[derive(Clone, Copy)]
pub(crate) struct LogSoftmax;
impl Out for LogSoftmax {
    const TWO: bool = false;
    #[inline(always)]
    fn out<S: Simd>(self, s: S, x: S::V, _: S::V, p: [S::V; 3]) -> S::V {
        vector::log_softmax(s, x, p[0], p[1], p[2])
    }
}

/// softmax backward from (y, dy): p = [-, d hi, d lo].
#[derive(Clone, Copy)]
pub(crate) struct SoftmaxGrad;
impl Out for SoftmaxGrad {
    const TWO: bool = true;
    #[inline(always)]
    fn out<S: Simd>(self, s: S, y: S::V, dy: S::V, p: [S::V; 3]) -> S::V {
        vector::softmax_grad(s, y, dy, p[1], p[2])
    }
}

/// log-softmax backward from (y, dy): p = [-, D hi, D lo].
#[derive(Clone, Copy)]
pub(crate) struct LogSoftmaxGrad;
impl Out for LogSoftmaxGrad {
    const TWO: bool = true;
    #[inline(always)]
    fn out<S: Simd>(self, s: S, y: S::V, dy: S::V, p: [S::V; 3]) -> S::V {
        vector::log_softmax_grad(s, y, dy, p[1], p[2])
    }
}

#[inline(always)]
fn lanes<S: Simd>(_: S) -> usize {
    S::LANES
}

simd_fn! {
    /// The lanes of the tier's vector for these kernels: the columns of a contiguous row's tile.
    pub(crate) fn run_lanes() -> usize => lanes;
}

simd_fn! {
    /// [`max`] on an available `isa`.
    pub(crate) fn run_max(x: &[f32], stride: usize, rows: usize, cols: usize, m: &mut [f32]) => max;
}

simd_fn! {
    /// [`exp_sum`] on an available `isa`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_exp_sum<TOP: Flag, STORE: Flag>(x: Option<&[f32]>, stride: usize, rows: usize, cols: usize,
        m: &[f32], sums: [&mut [f32]; 3], y: &mut [f32]) => exp_sum::<_, TOP, STORE>;
}

simd_fn! {
    /// [`dot`] on an available `isa`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_dot<PRODUCT: Flag>(y: &[f32], dy: &[f32], stride: usize, rows: usize, cols: usize,
        h: &mut [f32], l: &mut [f32]) => dot::<_, PRODUCT>;
}

simd_fn! {
    /// [`write`] on an available `isa`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_write<O: Out>(o: O, a: Option<&[f32]>, b: Option<&[f32]>, stride: usize, rows: usize, cols: usize,
        p: [&[f32]; 3], out: &mut [f32], ostride: usize) => write;
}

/// A compile-time flag as a type, for `simd_fn!`'s type parameters.
pub(crate) trait Flag: 'static {
    const ON: bool;
}
/// The flag set.
pub(crate) struct On;
/// The flag clear.
pub(crate) struct Off;
impl Flag for On {
    const ON: bool = true;
}
impl Flag for Off {
    const ON: bool = false;
}
