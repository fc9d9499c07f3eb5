//! The error function erf and its complement erfc = 1 − erf.
//!
//! Method: two ranges, computed branch-free and selected per lane.
//! - |x| < 0.9: erf(x) = x + x·p(x²), p a polynomial of degree 6 fitted to erf(x)/x − 1 for the
//!   relative error of erf (2^-30 with its coefficients rounded to f32).
//! - |x| ≥ 0.9: erfc(x) = e^(−x²)·t·q(t) with t = 2/(2 + x), q a polynomial of degree 8 fitted to
//!   erfc(x)·e^(x²)/t on x in [0.9, 10.1] for the relative error (2^-28.2). x² is carried in
//!   double-f32 into [`exp_parts`], whose power of two is applied last, so that the tail
//!   (subnormal from x ≈ 9.2 to 10.05) keeps its accuracy. The roundings of t are not left to
//!   shift the argument of q: the residual r = 2 − t·(2 + x), exact from an FMA (or Dekker's
//!   product), corrects the result by (1 + κ(t)·r), κ ≈ d ln(t·q)/d ln t · 1/2.

use super::exp::exp_parts;
use super::horner;
use crate::simd::{Simd, abs, neg, sign_of, two_prod};

/// Where the polynomial in x² hands over to the exponential form.
const T: f32 = 0.9;

/// p(z) ≈ erf(√z)/√z − 1 on [0, 0.905²], degree 6.
const P6: [f32; 7] =
    [7.965_915e-5, -8.044_102_6e-4, 5.192_044_7e-3, -2.685_564e-2, 0.112_836_25, -0.376_126_29, 0.128_379_17];

/// q(t) ≈ erfc(x)·e^(x²)/t, t = 2/(2 + x), on x in [0.899, 10.1], degree 8.
const Q8: [f32; 9] = [
    -4.454_252_9e-2,
    0.240_067_23,
    -0.431_718_35,
    0.242_345_08,
    -1.439_013_7e-2,
    0.200_796_37,
    0.243_082_54,
    0.282_416_8,
    0.282_082_95,
];

/// erfc(a) for a in [0.9, 10.1]; other lanes get a finite or NaN value that callers discard.
#[inline(always)]
fn erfc_tail<S: Simd>(s: S, a: S::V) -> S::V {
    let (hi, lo) = two_prod(s, a, a);
    let (e, n) = exp_parts(s, neg(s, hi), neg(s, lo));
    let two = s.splat(2.0);
    let u = s.add(two, a);
    let t = s.div(two, u);
    // 2 + a = u + ulo exactly (Fast2Sum, larger operand first).
    let ulo = s.sub(s.min(a, two), s.sub(u, s.max(a, two)));
    // r = 2 − t·(2 + a): t·(2 + a) is 2 within a few 2^-24.
    let r = if S::HAS_FMA {
        s.fma(neg(s, t), u, two)
    } else {
        let (h, l) = two_prod(s, t, u);
        s.sub(s.sub(two, h), l)
    };
    let r = s.fma(neg(s, t), ulo, r);
    // erfc(a) ≈ e·t·q(t)·(1 + κ·r), κ = S(a)/(2(1 − t)) with S = −a·d ln(erfc·e^(a²))/da,
    // which 0.46 + 0.75t follows within 3% (r < 2^-21, so that is far below an ULP).
    let kappa = s.fma(s.splat(0.75), t, s.splat(0.46));
    let e = s.fma(e, s.mul(kappa, r), e);
    let tq = s.mul(t, horner(s, t, Q8));
    s.scale(s.mul(e, tq), n)
}

/// erf(x). Odd, keeps ±0; erf(±inf) = ±1 (from |x| ≥ 3.92 on, erf rounds to ±1; |x| is
/// clamped at 4 in the exponential form), NaN → NaN.
///
/// |x| < 0.9: x + x·p(x²) with one rounding (an FMA). |x| ≥ 0.9: ±(1 − erfc(|x|)).
///
/// Worst error over all 2^32 inputs: see the README's table (`erf` row).
#[inline(always)]
pub(crate) fn erf<S: Simd>(s: S, x: S::V) -> S::V {
    let a = abs(s, x);
    let p = horner(s, s.mul(x, x), P6);
    let small = s.fma(x, p, x);
    let big = s.sub(s.splat(1.0), erfc_tail(s, s.min(a, s.splat(4.0))));
    let big = s.or(big, sign_of(s, x));
    s.select(s.lt(a, s.splat(T)), small, big)
}

/// erfc(x) = 1 − erf(x). erfc(+inf) = +0, erfc(−inf) = 2, NaN → NaN; subnormal results (x
/// in [9.2, 10.05]) are computed, with one rounding.
///
/// |x| < 0.9: c + ((1 − c − x) − x·p(x²)) with c = 1, 1/2, 0 for x below 1/4, in [1/4, 1/2),
/// and from 1/2 on, so that 1 − c − x is exact where the result is below 3/4 (Sterbenz).
/// x ≥ 0.9: the exponential form; x ≤ −0.9: 2 − erfc(−x). |x| is clamped at 10.1, beyond
/// which erfc rounds to 0.
///
/// Worst error over all 2^32 inputs: see the README's table (`erfc` row).
#[inline(always)]
pub(crate) fn erfc<S: Simd>(s: S, x: S::V) -> S::V {
    let a = abs(s, x);
    let one = s.splat(1.0);
    let p = horner(s, s.mul(x, x), P6);
    let c = s.select(s.lt(x, s.splat(0.5)), s.splat(0.5), s.splat(0.0));
    let c = s.select(s.lt(x, s.splat(0.25)), one, c);
    let small = s.add(c, s.fma(neg(s, x), p, s.sub(s.sub(one, c), x)));
    let big = erfc_tail(s, s.min(a, s.splat(10.1)));
    let big = s.select(s.lt(x, s.splat(0.0)), s.sub(s.splat(2.0), big), big);
    s.select(s.lt(a, s.splat(T)), small, big)
}
