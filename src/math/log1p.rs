//! ln(1 + x), and ln(x) from the same core.
//!
//! Method: 1 + x = m·2^k with m in (√½, √2], so that ln(1 + x) = k·ln2 + ln(1 + f), f = m − 1 in
//! [−0.293, 0.415]; ln(1 + f) = f − f²/2 + f³·q(f), q a polynomial of degree 7 fitted to
//! (ln(1 + f) − f + f²/2)/f³ in the minimax sense for the relative error of ln(1 + f)
//! (2^-27.1 with its coefficients rounded to f32). No division, no table.

use super::exp::{LN2_HI, LN2_LO};
use super::horner;
use crate::simd::{Simd, neg, sign_of, two_sum};

/// The significand bits of an f32 (as a bit pattern).
const MANT: f32 = f32::from_bits(0x007f_ffff);
const SQRT2: f32 = core::f32::consts::SQRT_2;

/// q(f) ≈ (ln(1 + f) − f + f²/2)/f³ on [−0.2930, 0.4143], degree 7.
const Q7: [f32; 8] = [
    -0.076_411_89,
    0.127_681_06,
    -0.131_603_88,
    0.142_006_98,
    -0.166_232_11,
    0.200_012_65,
    -0.250_008_26,
    0.333_333_3,
];

/// `(m, k)` with a = m·2^k and m in (√½, √2], for a positive normal `a`: the significand
/// from the bits (exact, also for a near f32::MAX, where 2^-k is not an f32).
#[inline(always)]
fn split_exponent<S: Simd>(s: S, a: S::V) -> (S::V, S::V) {
    let m1 = s.or(s.and(a, s.splat(MANT)), s.splat(1.0));
    let e = s.exponent(a);
    let halve = s.lt(s.splat(SQRT2), m1);
    (s.select(halve, s.mul(m1, s.splat(0.5)), m1), s.select(halve, s.add(e, s.splat(1.0)), e))
}

/// k·ln2 + ln(1 + f) for f in [−0.2930, 0.4143] and an integral k in [−150, 128]: the terms
/// added from the smallest, so that k·ln2 − ln(1 + f) cancels exactly where k = 1, f < 0.
#[inline(always)]
fn log_reduced<S: Simd>(s: S, f: S::V, k: S::V) -> S::V {
    let h = s.fma(f, horner(s, f, Q7), s.splat(-0.5));
    let w = s.fma(s.mul(f, f), h, s.mul(k, s.splat(LN2_LO)));
    s.fma(k, s.splat(LN2_HI), s.add(f, w))
}

/// ln(1 + x).
///
/// 1 + x = u + d exactly (two-sum); u = m·2^k as above, and f = (m − 1) + d·2^-k with one
/// rounding (f = x exactly where k = 0, so tiny x give x, −0 included). Then
/// [`log_reduced`]. log1p(−1) = −inf, log1p(x < −1) = NaN, log1p(inf) = inf, NaN → NaN.
///
/// Worst error over all 2^32 inputs: 1 ULP on scalar, AVX2 and AVX-512 (fused FMA); 2 ULP on
/// the portable tier (unfused FMA: 11 inputs, near x = 0.427 where k·ln2 and ln(1 + f) cancel).
#[inline(always)]
pub(crate) fn log1p<S: Simd>(s: S, x: S::V) -> S::V {
    let one = s.splat(1.0);
    let (u, d) = two_sum(s, one, x);
    let (m, k) = split_exponent(s, u);
    // 2^-k, clamped where it is not an f32: there d ≤ 1 and d·2^-k is negligible.
    let t = s.pow2i(neg(s, s.min(k, s.splat(126.0))));
    let f = s.fma(d, t, s.sub(m, one));
    let y = log_reduced(s, f, k);
    let below = s.select(s.lt(x, s.splat(-1.0)), s.splat(f32::NAN), s.splat(f32::NEG_INFINITY));
    let y = s.select(s.le(x, s.splat(-1.0)), below, y);
    // +inf and NaN give themselves.
    let y = s.select(s.lt(x, s.splat(f32::INFINITY)), y, x);
    // ln(1 + x) has the sign of x; this keeps −0.
    s.or(y, sign_of(s, x))
}

/// ln(1 + v) for v in [0, 1] (or NaN), where none of [`log1p`]'s range handling can occur:
/// 1 + v = 2^k·(1 + f) with k = 0 and f = v up to √2 − 1, and above with k = 1 and
/// f = (v − 1)/2, which is exact. Then [`log_reduced`].
#[inline(always)]
pub(crate) fn log1p_unit<S: Simd>(s: S, v: S::V) -> S::V {
    let big = s.lt(s.splat(SQRT2 - 1.0), v);
    let f = s.select(big, s.fma(v, s.splat(0.5), s.splat(-0.5)), v);
    log_reduced(s, f, s.select(big, s.splat(1.0), s.splat(0.0)))
}

/// ln(x): subnormal x scaled by 2^24 first, then x = m·2^k and f = m − 1 exactly, and
/// [`log_reduced`]. log(±0) = −inf, log(x < 0) = NaN, log(inf) = inf, NaN → NaN.
///
/// Worst error over all 2^32 inputs: 1 ULP on every ISA (scalar, portable, AVX2, AVX-512).
/// Not in the probe's list: `reference::math` has no "log" yet.
#[inline(always)]
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // swept alone through internals::probe
pub(crate) fn log<S: Simd>(s: S, x: S::V) -> S::V {
    let sub = s.lt(x, s.splat(f32::MIN_POSITIVE));
    let xs = s.select(sub, s.mul(x, s.splat(16_777_216.0)), x);
    let (m, k) = split_exponent(s, xs);
    let k = s.sub(k, s.select(sub, s.splat(24.0), s.splat(0.0)));
    let y = log_reduced(s, s.sub(m, s.splat(1.0)), k);
    let zero = s.splat(0.0);
    let below = s.select(s.lt(x, zero), s.splat(f32::NAN), s.splat(f32::NEG_INFINITY));
    let y = s.select(s.le(x, zero), below, y);
    s.select(s.lt(x, s.splat(f32::INFINITY)), y, x)
}
