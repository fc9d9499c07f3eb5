//! Piecewise-linear primitives shared by the activations and the slope drivers (leaky ReLU,
//! PReLU, RReLU): exact, one rounding at most, NaN kept.

use crate::simd::Simd;

/// `r`, or x itself where x is NaN.
#[inline(always)]
pub(crate) fn keep_nan<S: Simd>(s: S, x: S::V, r: S::V) -> S::V {
    s.select(s.le(x, x), r, x)
}

/// x for x > 0, a·x otherwise (one rounding: exact against the f64 reference), with a slope
/// per lane: leaky ReLU, PReLU and RReLU. NaN stays NaN (a·NaN); as in PyTorch, a = 0 at
/// x = −inf gives 0·(−inf) = NaN.
#[inline(always)]
pub(crate) fn leaky_forward<S: Simd>(s: S, x: S::V, a: S::V) -> S::V {
    // x·1 is x exactly; the factor is selected rather than x itself, which in place LLVM would
    // make a masked store (vmaskmovps, three times slower on AVX2).
    s.mul(x, s.select(s.lt(s.splat(0.0), x), s.splat(1.0), a))
}

/// dy for x > 0, a·dy otherwise (x = 0 takes the slope, as PyTorch), NaN where x is NaN.
#[inline(always)]
pub(crate) fn leaky_backward<S: Simd>(s: S, x: S::V, a: S::V, dy: S::V) -> S::V {
    keep_nan(s, x, s.select(s.lt(s.splat(0.0), x), dy, s.mul(a, dy)))
}
