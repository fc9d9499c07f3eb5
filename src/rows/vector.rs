//! The per-vector arithmetic of the row kernels, written once over [`Simd`] and shared by the
//! tile loops of `tile.rs`.

use crate::math::exp::{exp_parts_in_range, exp_parts_lo};
use crate::simd::{Simd, neg, two_prod, two_sum};

/// x − m exactly, as `hi + lo`. Where `hi` is below −150, e^hi is 0 whatever `lo` is, and
/// log-softmax is hi itself to f32: `lo` is zeroed there, which also keeps it finite where x is
/// −inf (its two-sum error would be NaN).
#[inline(always)]
pub(crate) fn diff<S: Simd>(s: S, x: S::V, m: S::V) -> (S::V, S::V) {
    let (hi, lo) = two_sum(s, x, neg(s, m));
    (hi, s.select(s.lt(hi, s.splat(-150.0)), s.splat(0.0), lo))
}

/// e^(hi + lo) as `p·2^n` for hi + lo = x − m ≤ 0 (NaN where x is NaN, but never above 0
/// otherwise: only the lower clamp is needed, at −150, where e^hi is 0 whatever `lo`).
#[inline(always)]
pub(crate) fn exp_parts<S: Simd>(s: S, hi: S::V, lo: S::V) -> (S::V, S::V) {
    exp_parts_in_range(s, s.max(hi, s.splat(-150.0)), lo)
}

/// softmax: e^(x − m)·r, the scaling by a power of two applied last so that a subnormal result
/// is rounded once.
#[inline(always)]
pub(crate) fn softmax<S: Simd>(s: S, x: S::V, m: S::V, r: S::V) -> S::V {
    let (hi, lo) = diff(s, x, m);
    let (p, n) = exp_parts(s, hi, lo);
    s.scale(s.mul(p, r), n)
}

/// log-softmax: (x − m) − L with L = `lh + ll` (double f32). x − m ≤ 0 ≤ L: no cancellation.
#[inline(always)]
pub(crate) fn log_softmax<S: Simd>(s: S, x: S::V, m: S::V, lh: S::V, ll: S::V) -> S::V {
    let (hi, lo) = diff(s, x, m);
    s.add(s.sub(hi, lh), s.sub(lo, ll))
}

/// A running double-f32 sum per lane, `h + l`, fed positive terms in groups.
#[inline(always)]
pub(crate) fn add_group<S: Simd>(s: S, h: &mut S::V, l: &mut S::V, g: S::V) {
    let (hh, e) = two_sum(s, *h, g);
    *h = hh;
    *l = s.add(*l, e);
}

/// Softmax backward: dx = y·(dy − d), d = `dh + dl` (double f32) the row's Σ dy·y.
#[inline(always)]
pub(crate) fn softmax_grad<S: Simd>(s: S, y: S::V, dy: S::V, dh: S::V, dl: S::V) -> S::V {
    s.mul(y, s.sub(s.sub(dy, dh), dl))
}

/// Log-softmax backward: dx = dy − e^y·D, D = `dh + dl` (double f32) the row's Σ dy. e^y·D
/// can be far larger than dx and than Σ|dy·e^y| (a large D beside a sizeable e^y), so it is
/// carried in two parts to the final subtraction: e^y as p + p_lo (the polynomial's rounding
/// kept), the product exact (two-prod), its cross terms added to the low part, and dy − e^y·D
/// taken by two-sum.
#[inline(always)]
pub(crate) fn log_softmax_grad<S: Simd>(s: S, y: S::V, dy: S::V, dh: S::V, dl: S::V) -> S::V {
    let (p, pl, n) = exp_parts_lo(s, y, s.splat(0.0));
    let (ph, pe) = two_prod(s, p, dh);
    let lo = s.fma(p, dl, s.fma(pl, dh, pe));
    let (a, b) = two_sum(s, dy, neg(s, s.scale(ph, n)));
    s.add(a, s.sub(b, s.scale(lo, n)))
}
