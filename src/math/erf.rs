//! The error function erf and its complement erfc = 1 − erf.
//!
//! Method: two ranges, computed branch-free and selected per lane.
//! - Near 0: erf(x) = x + x·p(x²), p a polynomial of degree 6 fitted to erf(x)/x − 1 on
//!   |x| ≤ 0.905 in the minimax sense for the relative error of erf (2^-30 with its coefficients
//!   rounded to f32). erf uses it for |x| < 0.9, erfc (as 1 − erf, arranged so that the
//!   subtraction is exact) for |x| < 0.625, above which it would cancel too many bits.
//! - Beyond: erfc(a) = e^(−a²)·t·q(t), a = |x|, t = 2/(2 + a), q a polynomial of degree 9 fitted
//!   to erfc(a)·e^(a²)/t on a in [0.6, 10.1] for the relative error (2^-29.1); t maps [0.6, ∞) to
//!   (0, 0.77] and keeps q well conditioned (Σ|c_i·t^i| ≤ 1.13·q). a² is carried in double-f32
//!   (`two_prod`) through a Cody–Waite reduction −a² = n·ln2 + r; e^r − 1, the small corrections
//!   and the product with t·q are summed before one rounding, and 2^n is applied last
//!   (`Simd::scale`), so that the tail (subnormal from a ≈ 9.2, 0 beyond 10.05) is rounded once.
//!   The roundings of t would shift the argument of q by up to 2 ULP of t·q: the residual
//!   r = 2 − t·(2 + a), exact from an FMA (or Dekker's product) and Fast2Sum, corrects the
//!   result by the factor 1 + κ(t)·r.

use super::exp::{LN2_HI, LN2_LO, LOG2E};
use super::horner;
use crate::simd::{Simd, abs, neg, sign_of, two_prod};

/// Where erf's polynomial in x² hands over to the exponential form.
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // swept alone through internals::probe
const T_ERF: f32 = 0.9;
/// The same for erfc, where 1 − x − x·p(x²) would cancel too many bits further on.
pub(crate) const T_ERFC: f32 = 0.625;

/// p(z) ≈ erf(√z)/√z − 1 on [0, 0.905²], degree 6.
const P6: [f32; 7] =
    [7.965_915e-5, -8.044_102_6e-4, 5.192_044_7e-3, -2.685_564e-2, 0.112_836_25, -0.376_126_3, 0.128_379_17];

/// q(t) ≈ erfc(x)·e^(x²)/t, t = 2/(2 + x), on x in [0.6, 10.1], degree 9.
const Q9: [f32; 10] = [
    -3.935_172e-2,
    0.103_319_97,
    -9.701_073e-4,
    -0.208_342_82,
    0.112_864_54,
    3.421_808_4e-2,
    0.188_994_72,
    0.244_867_43,
    0.282_264_32,
    0.282_088_55,
];

/// (e^r − 1 − r)/r² on |r| ≤ 0.35, degree 4 (2^-28.1 relative to e^r).
const E4: [f32; 5] = [1.384_799_8e-3, 8.370_006e-3, 4.166_800_5e-2, 0.166_665_09, 0.499_999_94];

/// erfc(a) for a in [0.6, 10.1]; other lanes get a finite or NaN value that callers discard.
#[inline(always)]
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // swept alone through internals::probe
fn erfc_tail<S: Simd>(s: S, a: S::V) -> S::V {
    let (y, n) = erfc_tail_parts(s, a, s.splat(0.0));
    s.scale(y, n)
}

/// erfc(a + alo) = y·2^n for a double-f32 argument a + alo, a in [0.6, 10.1] (|alo| tiny
/// against a): callers multiply into y and scale last, so that a product with a tiny erfc
/// (GELU's tail) is rounded once.
#[inline(always)]
pub(crate) fn erfc_tail_parts<S: Simd>(s: S, a: S::V, alo: S::V) -> (S::V, S::V) {
    let two = s.splat(2.0);
    let u = s.add(two, a);
    let t = s.div(two, u);
    // 2 + a + alo = u + ulo (Fast2Sum, larger operand first, exact; then alo).
    let ulo = s.sub(s.min(a, two), s.sub(u, s.max(a, two)));
    let ulo = s.add(ulo, alo);
    // r = 2 − t·(2 + a): t·(2 + a) is 2 within a few 2^-24.
    let r = if S::HAS_FMA {
        s.fma(neg(s, t), u, two)
    } else {
        let (h, l) = two_prod(s, t, u);
        s.sub(s.sub(two, h), l)
    };
    let r = s.fma(neg(s, t), ulo, r);
    // −a² = −hi − lo = n·ln2 + rh + rl, rh exact (Cody and Waite), |rl| < 2^-11.
    let (hi, lo) = two_prod(s, a, a);
    // (a + alo)² = hi + lo + 2·a·alo, to the precision that matters.
    let lo = s.fma(s.add(a, a), alo, lo);
    let n = s.round(s.mul(hi, s.splat(-LOG2E)));
    let rh = s.fma(n, s.splat(-LN2_HI), neg(s, hi));
    let rl = s.fma(n, s.splat(-LN2_LO), neg(s, lo));
    // The relative corrections: rl, and κ·r for the roundings of t, with
    // κ = S(a)/(2(1 − t)), S = −a·d ln(erfc(a)·e^(a²))/da, which 0.47 + 0.72t follows within 1%.
    let c = s.fma(s.fma(s.splat(0.72), t, s.splat(0.47)), r, rl);
    // g = e^(rh + rl)·(1 + κr) − 1 = em1 + c·(1 + em1), em1 = e^rh − 1, with one rounding that
    // matters (the last addition of rh).
    let em1_lo = s.mul(s.mul(rh, rh), horner(s, rh, E4));
    let em1 = s.add(rh, em1_lo);
    let g = s.add(rh, s.add(s.fma(c, em1, c), em1_lo));
    // erfc(a) = 2^n · t·q(t)·(1 + g), one rounding before the scaling.
    let q = horner(s, t, Q9);
    let y = if S::HAS_FMA {
        s.fma(t, q, s.mul(s.mul(t, q), g))
    } else {
        let (h, l) = two_prod(s, t, q);
        s.add(h, s.fma(h, g, l))
    };
    (y, n)
}

/// erfc(x) for |x| < [`T_ERFC`]: the polynomial form of [`erfc`].
#[inline(always)]
pub(crate) fn erfc_small<S: Simd>(s: S, x: S::V) -> S::V {
    let one = s.splat(1.0);
    let p = horner(s, s.mul(x, x), P6);
    let c = s.select(s.lt(x, s.splat(0.25)), one, s.splat(0.5));
    s.add(c, s.fma(neg(s, x), p, s.sub(s.sub(one, c), x)))
}

/// erf(x). Odd, keeps ±0; erf(±inf) = ±1 (from |x| ≥ 3.92 on, erf rounds to ±1; |x| is
/// clamped at 4 in the exponential form), NaN → NaN.
///
/// |x| < 0.9: x + x·p(x²) with one rounding (an FMA). |x| ≥ 0.9: ±(1 − erfc(|x|)).
///
/// Worst error over all 2^32 inputs: 1 ULP on every ISA (scalar, portable, AVX2, AVX-512).
#[inline(always)]
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // swept alone through internals::probe
pub(crate) fn erf<S: Simd>(s: S, x: S::V) -> S::V {
    let a = abs(s, x);
    let p = horner(s, s.mul(x, x), P6);
    let small = s.fma(x, p, x);
    let big = s.sub(s.splat(1.0), erfc_tail(s, s.min(a, s.splat(4.0))));
    let big = s.or(big, sign_of(s, x));
    s.select(s.lt(a, s.splat(T_ERF)), small, big)
}

/// erfc(x) = 1 − erf(x). erfc(+inf) = +0, erfc(−inf) = 2, NaN → NaN; subnormal results (x
/// in [9.2, 10.05]) are computed, with one rounding.
///
/// |x| < 0.625: c + ((1 − c − x) − x·p(x²)) with c = 1 for x < 1/4 and c = 1/2 from there on,
/// so that 1/2 − x is exact where the result is below 3/4 (Sterbenz). x ≥ 0.625: the
/// exponential form; x ≤ −0.625: 2 − erfc(−x). |x| is clamped at 10.1, beyond which erfc rounds to 0.
///
/// Worst error over all 2^32 inputs: 2 ULP on scalar, AVX2 and AVX-512 (from x = 0.6251 on, the
/// exponential form); 3 ULP on the portable tier (unfused FMA: 264 inputs, from x = 0.8169).
#[inline(always)]
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // swept alone through internals::probe
pub(crate) fn erfc<S: Simd>(s: S, x: S::V) -> S::V {
    let a = abs(s, x);
    let small = erfc_small(s, x);
    let big = erfc_tail(s, s.min(a, s.splat(10.1)));
    let big = s.select(s.lt(x, s.splat(0.0)), s.sub(s.splat(2.0), big), big);
    s.select(s.lt(a, s.splat(T_ERFC)), small, big)
}
