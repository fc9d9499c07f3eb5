//! Contiguous f32 rows, every pass of a row inside one dispatch: a row is read as a
//! `[len / c, c]` tile, `c` the tier's lanes, in pieces of [`CHUNK`] elements whose lane sums are
//! added in f64 in order. A task's rows run in one call, so that a short row (attention's 128)
//! pays no dispatch and its lane reductions are compiled with the tier's instructions.

use super::stats::{self, Kind, Stats};
use super::tile::{self, MAXC, Off, On, dot, exp_sum, max, split, write};
use crate::parallel::CHUNK;
use crate::simd::Simd;
use crate::simd::tier::simd_fn;

/// A row's statistics (maximum, then sum). With an output `y` and softmax, the sum pass also
/// stores the numerators e^(x − m) in `y`, which the second value then says. `x` is `None`
/// where the input is `y` (in place); with neither, the row is empty.
#[inline(always)]
pub(crate) fn row_stats<S: Simd>(
    s: S,
    kind: Kind,
    x: Option<&[f32]>,
    mut y: Option<&mut [f32]>,
) -> (Stats, bool) {
    let c = S::LANES;
    let mut mv = [f32::NEG_INFINITY; MAXC];
    let n = {
        let src: &[f32] = match (x, &y) {
            (Some(x), _) => x,
            (None, Some(y)) => y,
            (None, None) => &[],
        };
        for (at, rows, cols) in split(src.len(), c) {
            if rows * cols > 0 {
                max(s, &src[at..], c, rows, cols, &mut mv);
            }
        }
        src.len()
    };
    let m = stats::lanes_max(&mv[..c]);
    let Some(m) = Stats::shift(m) else { return (Stats::nonfinite(m), false) };
    let top = kind == Kind::LogSoftmax;
    let store = !top && y.is_some();
    let mv = [m; MAXC];
    let (mut sum, mut count) = (0f64, 0f64);
    for p in (0..n).step_by(CHUNK) {
        let (mut h, mut l, mut k) = ([0f32; MAXC], [0f32; MAXC], [0f32; MAXC]);
        for (at, rows, cols) in split(n.min(p + CHUNK) - p, c) {
            if rows * cols == 0 {
                continue;
            }
            let (o, sums) = (p + at, [&mut h[..], &mut l[..], &mut k[..]]);
            let xo = x.map(|x| &x[o..]);
            match &mut y {
                Some(y) if store => exp_sum::<S, Off, On>(s, xo, c, rows, cols, &mv, sums, &mut y[o..]),
                y => {
                    let src = xo.or(y.as_deref().map(|y| &y[o..]));
                    if top {
                        exp_sum::<S, On, Off>(s, src, c, rows, cols, &mv, sums, &mut [])
                    } else {
                        exp_sum::<S, Off, Off>(s, src, c, rows, cols, &mv, sums, &mut [])
                    }
                }
            }
        }
        sum += stats::lanes(&h[..c], &l[..c]);
        if top {
            count += stats::lanes_count(&k[..c]);
        }
    }
    match kind {
        Kind::Softmax => (Stats::softmax(m, sum), store),
        Kind::LogSoftmax => (Stats::log_softmax(m, sum, count), false),
    }
}

/// A row's output from its statistics: from x (`None`: from y itself, in place), or by scaling
/// the numerators that [`row_stats`] `stored` in y.
#[inline(always)]
fn row_write<S: Simd>(s: S, kind: Kind, st: Stats, stored: bool, x: Option<&[f32]>, y: &mut [f32]) {
    match kind {
        _ if stored => row_write_with(s, tile::Scale, st.p, None, None, y),
        Kind::Softmax => row_write_with(s, tile::Softmax, st.p, x, None, y),
        Kind::LogSoftmax => row_write_with(s, tile::LogSoftmax, st.p, x, None, y),
    }
}

/// A row's output from its statistics `p` through `o`, from `a` (`None`: in place) and `b`
/// (read by a two-input output), each as long as `y`.
#[inline(always)]
pub(crate) fn row_write_with<S: Simd, O: tile::Out>(
    s: S,
    o: O,
    p: [f32; 3],
    a: Option<&[f32]>,
    b: Option<&[f32]>,
    y: &mut [f32],
) {
    let c = S::LANES;
    let p = p.map(|v| [v; MAXC]);
    let p = [&p[0][..], &p[1][..], &p[2][..]];
    for (at, rows, cols) in split(y.len(), c) {
        if rows * cols > 0 {
            write(s, o, a.map(|a| &a[at..]), b.map(|b| &b[at..]), c, rows, cols, p, &mut y[at..], c);
        }
    }
}

/// Forward over rows of `len`: y = op(x), in place where `x` is `None`.
#[inline(always)]
fn forward<S: Simd>(s: S, kind: Kind, len: usize, x: Option<&[f32]>, y: &mut [f32]) {
    for (r, y) in y.chunks_exact_mut(len).enumerate() {
        let x = x.map(|x| &x[r * len..(r + 1) * len]);
        let (st, stored) = row_stats(s, kind, x, Some(&mut *y));
        row_write(s, kind, st, stored, x, y);
    }
}

/// logsumexp of rows of `len` into `out`, one each.
#[inline(always)]
fn logsumexp<S: Simd>(s: S, len: usize, x: &[f32], out: &mut [f32]) {
    for (x, out) in x.chunks_exact(len).zip(out) {
        *out = row_stats(s, Kind::LogSoftmax, Some(x), None).0.lse;
    }
}

/// Backward over rows of `len` from the saved output `y`: dx from dy (`None`: `dx` holds dy).
#[inline(always)]
fn backward<S: Simd>(s: S, kind: Kind, len: usize, y: &[f32], dy: Option<&[f32]>, dx: &mut [f32]) {
    let c = S::LANES;
    for (r, dx) in dx.chunks_exact_mut(len).enumerate() {
        let (y, dy) = (&y[r * len..(r + 1) * len], dy.map(|d| &d[r * len..(r + 1) * len]));
        let mut d = 0f64;
        for p in (0..len).step_by(CHUNK) {
            let (mut h, mut l) = ([0f32; MAXC], [0f32; MAXC]);
            for (at, rows, cols) in split(len.min(p + CHUNK) - p, c) {
                if rows * cols == 0 {
                    continue;
                }
                let (y, o) = (&y[p + at..], p + at);
                let d = dy.map_or(&dx[o..], |d| &d[o..]);
                match kind {
                    Kind::Softmax => dot::<S, On>(s, y, d, c, rows, cols, &mut h, &mut l),
                    Kind::LogSoftmax => dot::<S, Off>(s, y, d, c, rows, cols, &mut h, &mut l),
                }
            }
            d += stats::lanes(&h[..c], &l[..c]);
        }
        let p = Stats::dot(d).p;
        match kind {
            Kind::Softmax => row_write_with(s, tile::SoftmaxGrad, p, Some(y), dy, dx),
            Kind::LogSoftmax => row_write_with(s, tile::LogSoftmaxGrad, p, Some(y), dy, dx),
        }
    }
}

simd_fn! {
    /// [`forward`] on an available `isa`.
    pub(crate) fn run_forward(kind: Kind, len: usize, x: Option<&[f32]>, y: &mut [f32]) => forward;
}

simd_fn! {
    /// [`logsumexp`] on an available `isa`.
    pub(crate) fn run_logsumexp(len: usize, x: &[f32], out: &mut [f32]) => logsumexp;
}

simd_fn! {
    /// [`backward`] on an available `isa`.
    pub(crate) fn run_backward(kind: Kind, len: usize, y: &[f32], dy: Option<&[f32]>, dx: &mut [f32]) => backward;
}
