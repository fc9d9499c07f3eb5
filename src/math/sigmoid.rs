//! The logistic function σ(x) = 1 / (1 + e^(−x)).

use super::exp::{exp_parts, exp_table_near};
use crate::simd::{Simd, abs, neg};

/// σ(x) from t = e^(−|x|) = p·2^n: σ(|x|) = 1/(1+t) and σ(−|x|) = t/(1+t), the latter scaled
/// by 2^n last so that tiny results (σ(−100) ≈ 3.7e-44) are not lost. Returns `(num, k, den)`
/// with σ(x) = scale(num/den, k); callers that multiply σ by something fold it into `num`
/// before the division and the scaling.
#[inline(always)]
pub(crate) fn sigmoid_parts<S: Simd>(s: S, x: S::V) -> (S::V, S::V, S::V) {
    let (p, n) = exp_parts(s, neg(s, abs(s, x)), s.splat(0.0));
    let t = s.scale_small(p, n);
    let den = s.add(s.splat(1.0), t);
    let neg_x = s.lt(x, s.splat(0.0));
    (s.select(neg_x, p, s.splat(1.0)), s.select(neg_x, n, s.splat(0.0)), den)
}

/// σ(x). Worst error over all 2^32 inputs: 2 ULP on scalar, portable and AVX2, 3 ULP on
/// AVX-512 with [`logistic_fast`] (exhaustive sweeps), subnormal results included.
#[inline(always)]
pub(crate) fn sigmoid<S: Simd>(s: S, x: S::V) -> S::V {
    if let Some(y) = logistic_fast(s, x, s.splat(1.0)) {
        return y;
    }
    let (num, k, den) = sigmoid_parts(s, x);
    s.scale(s.div(num, den), k)
}

/// num/(1 + e^(−x)) on backends with a one-instruction table ([`Simd::FAST_TABLE`]), when no
/// lane has x < −16 (NaN lanes pass, and give NaN): e^(−x) ≤ e^16 then comes from
/// [`exp_table_near`] within 1.6 ULP (x is clamped at 87 above, where 1 + e^(−x) = 1 and the
/// error of e^(−x) no longer shows), and the quotient needs no late scaling. `None` sends the
/// vector to the total formula.
#[inline(always)]
pub(crate) fn logistic_fast<S: Simd>(s: S, x: S::V, num: S::V) -> Option<S::V> {
    if !S::FAST_TABLE || s.any(s.lt(x, s.splat(-16.0))) {
        return None;
    }
    let e = exp_table_near::<S, true>(s, s.min(x, s.splat(87.0)));
    Some(s.div(num, s.add(s.splat(1.0), e)))
}
