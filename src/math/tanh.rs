//! The hyperbolic tangent.

// The constants are the exact decimal values of their f32 roundings.
#![allow(clippy::excessive_precision)]

use super::exp::{EXP2_SIXTEENTHS, expm1, table_reduce_near};
use crate::simd::{Simd, abs, sign_of};

/// tanh(x) = sign(x) · e/(e + 2) with e = e^(2|x|) − 1: e − 1 computed without cancellation
/// keeps the relative accuracy near 0 (the naive (e^x − e^−x)/(e^x + e^−x) loses it), and |x|
/// is clamped at 9.1, past which tanh rounds to ±1. Keeps ±0 and NaN. e comes from
/// [`expm1_twice_table`] where the table lookup is one instruction ([`Simd::FAST_TABLE`]) and
/// FMA is fused, otherwise from [`expm1`]. Worst error over all 2^32 inputs: 2 ULP on scalar,
/// portable and AVX2, 3 ULP on AVX-512 with the table (exhaustive sweeps).
#[inline(always)]
pub(crate) fn tanh<S: Simd>(s: S, x: S::V) -> S::V {
    let a = s.min(abs(s, x), s.splat(9.1));
    let e = if S::FAST_TABLE && S::HAS_FMA { expm1_twice_table(s, a) } else { expm1(s, s.add(a, a)) };
    let t = s.div(e, s.add(e, s.splat(2.0)));
    s.or(t, sign_of(s, x))
}

/// 2^(i/16) − 1 for i = 0..15, rounded to f32: with these, 2^(i/16)·e^r − 1 is one FMA that
/// does not cancel (2^(i/16) rounded and less 1 would carry its rounding error, up to 11 ULP
/// of the result for i = 1).
const EXP2_SIXTEENTHS_M1: [f32; 16] = [
    0.0,
    0.044_273_782_521_486_28,
    0.090_507_730_841_636_66,
    0.138_788_640_499_115,
    0.189_207_121_729_850_77,
    0.241_857_811_808_586_12,
    0.296_839_565_038_681_03,
    0.354_255_557_060_241_7,
    0.414_213_567_972_183_2,
    0.476_826_131_343_841_55,
    0.542_210_817_337_036_1,
    0.610_490_322_113_037_1,
    0.681_792_855_262_756_3,
    0.756_252_169_609_069_8,
    0.834_008_097_648_620_6,
    0.915_206_551_551_818_8,
];

/// e^(2a) − 1 for a in [0, 9.1] (NaN stays NaN), by the table of [`super::exp::exp_table`]:
/// 2a = (m + i/16)·ln2 + r with |r| ≲ ln2/32, then
/// e^(2a) − 1 = 2^m·(2^(i/16)·(e^r − 1) + (2^(i/16) − 1)) + (2^m − 1), where 2^m − 1 is exact
/// and, for m = 0, the bracket is the whole result with no cancellation. The factor 2 is folded
/// into the reduction's constants. 15 vector operations; within 1.5 ULP for m ≤ 1, and for
/// larger m off by up to m·1.9e-9 relative, which [`tanh`] does not show.
#[inline(always)]
pub(crate) fn expm1_twice_table<S: Simd>(s: S, a: S::V) -> S::V {
    // 2a = m·ln2 + r, ρ = r/2, in one FMA: r's error m·1.9e-9 (m ≤ 27) is a relative error of
    // e^(2a) that e/(e + 2) shrinks to at most 4e-9 of tanh, since it grows with e.
    let (k, m, rho) = table_reduce_near(s, 2.0, a);
    // e^r − 1 = r·(1 + r/2 + r²/6 + r³/24), in ρ = r/2: the relative error of e^r − 1 (not
    // only of e^r) must stay small, which takes the fourth power (the third would leave 2 ULP).
    let q = s.fma(s.fma(s.splat(16.0 / 24.0), rho, s.splat(8.0 / 6.0)), rho, s.splat(2.0));
    let p = s.mul(rho, s.fma(q, rho, s.splat(2.0)));
    let w = s.fma(s.table16(&EXP2_SIXTEENTHS, k), p, s.table16(&EXP2_SIXTEENTHS_M1, k));
    let big = s.scale_floor(s.splat(1.0), m);
    s.fma(big, w, s.sub(big, s.splat(1.0)))
}
