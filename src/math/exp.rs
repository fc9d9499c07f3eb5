//! e^x and e^x − 1, with a split result `p · 2^n` for callers that scale late.
//!
//! Method: x = n·ln2 + r with n = round(x/ln2) and |r| ≤ ln2/2, ln2 split in a 16-bit head (so
//! that n·head is exact even without FMA) and a tail (Cody and Waite). Then
//! e^r − 1 = r + r²·q(r), q a polynomial fitted to (e^r − 1 − r)/r² on |r| ≤ 0.347 in the
//! Chebyshev sense (degree 4 for e^x: 0.41 ULP of e^r − 1 before rounding, far less of e^r;
//! degree 5 for e^x − 1: 0.03 ULP), and the power of two is applied last.

// The constants are the exact decimal values of their f32 roundings.
#![allow(clippy::excessive_precision)]

use super::horner;
use crate::simd::{Pair, Simd, abs};

pub(crate) const LOG2E: f32 = core::f32::consts::LOG2_E;
/// ln 2 to 16 bits, so that n·LN2_HI is exact for |n| < 2^8.
pub(crate) const LN2_HI: f32 = 0.693_145_751_953_125;
/// ln 2 − LN2_HI.
pub(crate) const LN2_LO: f32 = 1.428_606_765_330_187e-6;

/// q(r) ≈ (e^r − 1 − r)/r², degree 4.
const Q4: [f32; 5] = [1.392_639_2e-3, 8.363_345_6e-3, 4.166_655_2e-2, 1.666_657_6e-1, 0.5];
/// q(r) ≈ (e^r − 1 − r)/r², degree 5.
const Q5: [f32; 6] = [1.989_126_9e-4, 1.393_390e-3, 8.333_310_5e-3, 4.166_646_3e-2, 1.666_666_7e-1, 0.5];

/// The reduction of `x + lo` (a double-f32 argument): returns `(r, n)` with x + lo = n·ln2 + r,
/// |r| ≲ 0.35. `x` must be in [-170, 170] (|n| < 2^8).
#[inline(always)]
pub(crate) fn reduce<S: Simd>(s: S, x: S::V, lo: S::V) -> (S::V, S::V) {
    let (r, n) = reduce_exact(s, x);
    (s.add(r, lo), n)
}

/// [`reduce`] for an exact `x` (no low part).
#[inline(always)]
fn reduce_exact<S: Simd>(s: S, x: S::V) -> (S::V, S::V) {
    let n = s.round(s.mul(x, s.splat(LOG2E)));
    let r = s.fma(n, s.splat(-LN2_HI), x);
    (s.fma(n, s.splat(-LN2_LO), r), n)
}

/// 1 + (e^r − 1) for a reduced argument |r| ≲ 0.35, as `p + lo`: the rounding error of the
/// last addition is kept: `p + lo` = 1 + (e^r − 1) to
/// about 0.15 ULP of p, for callers whose result cancels against p (roots of f').
#[inline(always)]
pub(crate) fn exp_poly_lo<S: Simd>(s: S, r: S::V) -> (S::V, S::V) {
    let em1 = s.fma(s.mul(r, r), horner(s, r, Q4), r);
    let one = s.splat(1.0);
    let p = s.add(em1, one);
    (p, s.sub(em1, s.sub(p, one)))
}

/// e^(x + lo) as `(p, n)` with e^(x+lo) = p · 2^n, p in [0.7, 1.42]: callers multiply into `p`
/// and apply `Simd::scale(·, n)` last, so that a subnormal or tiny result keeps its accuracy.
/// `x` is clamped to [-150, 100] first (beyond, the scaled result is 0 or inf); NaN stays NaN.
#[inline(always)]
pub(crate) fn exp_parts<S: Simd>(s: S, x: S::V, lo: S::V) -> (S::V, S::V) {
    let (p, _, n) = exp_parts_lo(s, x, lo);
    (p, n)
}

/// [`exp_parts`] for a caller that has clamped `x` itself, to [-170, 100] (`n` then in
/// [-246, 145], within [`Simd::scale`]'s range): two operations fewer.
#[inline(always)]
pub(crate) fn exp_parts_in_range<S: Simd>(s: S, x: S::V, lo: S::V) -> (S::V, S::V) {
    let (r, n) = reduce(s, x, lo);
    (exp_poly_lo(s, r).0, n)
}

/// [`exp_parts`] with the low part of p: e^(x+lo) = (p + p_lo)·2^n.
#[inline(always)]
pub(crate) fn exp_parts_lo<S: Simd>(s: S, x: S::V, lo: S::V) -> (S::V, S::V, S::V) {
    let x = s.min(s.max(x, s.splat(-150.0)), s.splat(100.0));
    let (r, n) = reduce(s, x, lo);
    let (p, pl) = exp_poly_lo(s, r);
    (p, pl, n)
}

/// [`exp_parts_in_range`] with no low part: one operation fewer.
#[inline(always)]
pub(crate) fn exp_parts_exact<S: Simd>(s: S, x: S::V) -> (S::V, S::V) {
    let (r, n) = reduce_exact(s, x);
    (exp_poly_lo(s, r).0, n)
}

/// e^x. Worst error over all 2^32 inputs: 1 ULP on scalar, portable, AVX2 and AVX-512
/// (exhaustive sweep, `ulp --exhaustive --kernels math:exp`).
#[inline(always)]
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // swept alone through internals::probe
pub(crate) fn exp<S: Simd>(s: S, x: S::V) -> S::V {
    let (p, n) = exp_parts(s, x, s.splat(0.0));
    s.scale(p, n)
}

/// e^x − 1, accurate also near 0 (where it is x, and keeps the sign of ±0). Saturates to −1
/// below −17.4 and overflows to +inf above 88.72. Worst error over all 2^32 inputs: 1 ULP on
/// scalar, portable, AVX2 and AVX-512 (exhaustive sweep).
#[inline(always)]
pub(crate) fn expm1<S: Simd>(s: S, x: S::V) -> S::V {
    let xc = s.min(s.max(x, s.splat(-26.0)), s.splat(89.0));
    let (r, n) = reduce(s, xc, s.splat(0.0));
    let em1 = s.fma(s.mul(r, r), horner(s, r, Q5), r);
    // e^x − 1 = 2·(t·(1 + em1) − 1/2) with t = 2^(n−1): t·em1 + (t − 1/2) in one FMA, and
    // t − 1/2 is exact for n ≥ −24; halving t keeps it finite up to n = 128.
    let t = s.pow2i(s.sub(n, s.splat(1.0)));
    let y = s.fma(t, em1, s.sub(t, s.splat(0.5)));
    let y = s.add(y, y);
    // Below 2^-25, e^x − 1 rounds to x (halving x above would round it in the subnormals),
    // and x keeps its sign, −0 included.
    s.select(s.lt(abs(s, x), s.splat(2.980_232_2e-8)), x, y)
}

/// 2^(i/16) for i = 0..15, rounded to f32.
pub(crate) const EXP2_SIXTEENTHS: [f32; 16] = [
    1.0,
    1.044_273_7,
    1.090_507_7,
    1.138_788_6,
    1.189_207_1,
    1.241_857_8,
    1.296_839_6,
    1.354_255_6,
    core::f32::consts::SQRT_2,
    1.476_826_2,
    1.542_210_8,
    1.610_490_3,
    1.681_792_8,
    1.756_252_2,
    1.834_008_1,
    1.915_206_6,
];
/// ln 2 to 12 bits, so that k·LN2_HI12 is exact for the |k| < 2^12 sixteenths of [`exp_table`].
const LN2_HI12: f32 = 0.693_115_234_375;
/// ln 2 − LN2_HI12.
const LN2_LO12: f32 = 3.194_618_3e-5;

/// e^(±x) (`NEG` picks the sign) for ±x in [-87, 87], by a table: ±x = (m + i/16)·ln2 + r with
/// |r| ≤ ln2/32, e^r − 1 = r + c2·r² + c3·r³ (0.12 ULP from e^r − 1 on that interval), then
/// `2^(i/16)·e^r` and the scaling by 2^m. Within about 1.2 ULP: the table entries are
/// rounded once. Costs 10 vector operations against the polynomial path's 13, for backends
/// where the lookup is one instruction ([`Simd::FAST_TABLE`]); correct on every backend.
#[inline(always)]
pub(crate) fn exp_table<S: Simd, const NEG: bool>(s: S, x: S::V) -> S::V {
    exp_table_lo::<S, NEG>(s, x, None)
}

/// [`exp_table`] of a two-part argument x + lo (|lo| tiny against x): e^(±(x + lo)), the low
/// part added to the reduced argument, where an error in it is not multiplied by |x|.
#[inline(always)]
pub(crate) fn exp_table_lo<S: Simd, const NEG: bool>(s: S, x: S::V, lo: Option<S::V>) -> S::V {
    let c = if NEG { -1.0 } else { 1.0 };
    let (k, m, rho) = table_reduce(s, c, x);
    // c·(x + lo) = m·ln2 + r: lo joins ρ = r/c.
    let rho = match lo {
        Some(lo) => s.add(rho, lo),
        None => rho,
    };
    exp_table_tail(s, c, k, m, rho, None)
}

/// The reduction of the table exponential for c·b², c a power of two, with b² exact: as
/// [`table_reduce`] of b·b, except that ρ's first step is one FMA on b itself,
/// b·b − m·HI12/c, whose exact value is small and rounded once, where b·b rounded would carry
/// its error, up to 2^-24·b², into ρ. m·HI12/c is exact (m's 11 bits against HI12's 12, for
/// c·b² down to −2^11/16·ln2).
#[inline(always)]
pub(crate) fn table_reduce_square<S: Simd>(s: S, c: f32, b: S::V) -> (S::V, S::V, S::V) {
    let (k, m) = table_split(s, c, s.mul(b, b));
    let rho = s.fma(b, b, s.mul(m, s.splat(-LN2_HI12 / c)));
    (k, m, s.fma(m, s.splat(-LN2_LO12 / c), rho))
}

/// The reduction of the table exponential for c·x, c a power of two (±1/2, ±1, 2) constant at
/// the call site: `(k, m, ρ)` with k = c·x·log2(e) plus `TABLE_SHIFT` (its low bits index the
/// table), m = k − `TABLE_SHIFT` (the exponent to 1/16) and ρ = r/c, where
/// c·x = m·ln2 + r. m·ln2/c is taken in two parts, the first exact (12 bits of ln2 against
/// m's at most 12, and c a power of two), so ρ's first step is exact.
#[inline(always)]
pub(crate) fn table_reduce<S: Simd>(s: S, c: f32, x: S::V) -> (S::V, S::V, S::V) {
    let (k, m) = table_split(s, c, x);
    let rho = s.fma(m, s.splat(-LN2_HI12 / c), x);
    (k, m, s.fma(m, s.splat(-LN2_LO12 / c), rho))
}

/// k and m of [`table_reduce`].
#[inline(always)]
fn table_split<S: Simd>(s: S, c: f32, x: S::V) -> (S::V, S::V) {
    let k = s.fma(x, s.splat(c * LOG2E), s.splat(TABLE_SHIFT));
    (k, s.sub(k, s.splat(TABLE_SHIFT)))
}

/// [`exp_table`] (e^(±x), `NEG` picks the sign, ±x in [-87, 87]) with the reduction in one
/// step: ρ = x ∓ m·LN2_F32, ln 2 rounded to f32, one FMA that is exact before its rounding,
/// against two. Cheaper by one FMA, for a relative error that grows with the exponent:
/// |m|·|LN2_F32 − ln2| ≈ |x|·2.75e-9, 0.37 ULP at |x| = 16 and 2 ULP at 87, on top of
/// [`exp_table`]'s 1.2. For callers that need the full accuracy only for small |x|.
#[inline(always)]
pub(crate) fn exp_table_near<S: Simd, const NEG: bool>(s: S, x: S::V) -> S::V {
    let c = if NEG { -1.0 } else { 1.0 };
    let (k, m, rho) = table_reduce_near(s, c, x);
    exp_table_tail(s, c, k, m, rho, None)
}

/// [`table_reduce`] in one step, ρ = x − m·LN2_F32/c (see [`exp_table_near`]): r is off by
/// m·(LN2_F32 − ln2), |m|·1.9e-9.
#[inline(always)]
pub(crate) fn table_reduce_near<S: Simd>(s: S, c: f32, x: S::V) -> (S::V, S::V, S::V) {
    let (k, m) = table_split(s, c, x);
    (k, m, s.fma(m, s.splat(-core::f32::consts::LN_2 / c), x))
}

/// Adding 1.5·2^19 rounds to a multiple of 1/16 (the sixteenths land in the low bits, which
/// index the table); subtracting it again is exact.
pub(crate) const TABLE_SHIFT: f32 = 786_432.0;

/// The first step of [`exp_table`] for callers that reduce their own argument:
/// k = ±x·log2(e) plus `TABLE_SHIFT`, whose value less the shift is m, the exponent to 1/16,
/// and whose low bits index the table. `x` may be a rounded approximation of the argument:
/// the reduction then starts from the exact one.
#[inline(always)]
pub(crate) fn table_index<S: Simd, const NEG: bool>(s: S, x: S::V) -> S::V {
    let sign = if NEG { -1.0 } else { 1.0 };
    s.fma(x, s.splat(sign * LOG2E), s.splat(TABLE_SHIFT))
}

/// ln 2 in two parts for callers of [`exp_table_tail`]: `HI12` has 12 significant bits, so
/// m·HI12 is exact.
pub(crate) const LN2_TABLE: Pair = Pair { hi: LN2_HI12, lo: LN2_LO12 };

/// The end of [`exp_table`]: f·e^r (f = 1 if `None`) from k ([`table_index`]),
/// m = k − `TABLE_SHIFT`, and the reduced argument ρ = r/c, where c·x = m·ln2 + r, |r| is
/// about ln2/32 or less and c is ±1 or ±1/2.
#[inline(always)]
pub(crate) fn exp_table_tail<S: Simd>(s: S, c: f32, k: S::V, m: S::V, rho: S::V, f: Option<S::V>) -> S::V {
    const C2: f32 = 0.500_005;
    const C3: f32 = 0.166_666_67;
    // e^r − 1 = r·(1 + c2·r + c3·r²) = ρ·(c + c2·c²·ρ + c3·c³·ρ²): c2 is 1/2 nudged so that
    // e^r is within 0.12 ULP; e^r − 1 alone would need one term more.
    let q = s.mul(rho, s.fma(s.fma(s.splat(C3 * c * c * c), rho, s.splat(C2 * c * c)), rho, s.splat(c)));
    let t = s.table16(&EXP2_SIXTEENTHS, k);
    let t = match f {
        Some(f) => s.mul(t, f),
        None => t,
    };
    s.scale_floor(s.fma(t, q, t), m)
}
