//! GELU, the exact form (Hendrycks and Gimpel, 2016; PyTorch's `approximate="none"`):
//! f(x) = x·Φ(x) = x/2·erfc(−x/√2), f'(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)
//! (near the root of f', a fitted (x − r)·g(x) instead of the cancelling sum).
//!
//! u = −x/√2 is carried as hi + lo: in the negative tail erfc(u) ≈ e^(−u²)·(...), where a
//! rounding of u is multiplied by 2u². There the result is x/2·y·2^n with erfc(u) = y·2^n
//! scaled last, so that GELU(−13) ≈ −1.6e-37 keeps its accuracy; x²/2 in φ likewise.

use crate::drivers::Elementwise;
use crate::math::erf::{T_ERFC, erfc_small, erfc_tail_parts};
use crate::math::exp::{exp_parts, exp_table_tail, table_reduce_square};
use crate::math::horner;
use crate::simd::{Pair, Simd, abs, neg, sign_of, two_prod};

const INV_SQRT2: Pair = Pair::of(core::f64::consts::FRAC_1_SQRT_2);
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// The root of f', r ≈ −0.7517915, as hi + lo.
const ROOT: Pair = Pair { hi: -0.751_791_54, lo: 1.211_445e-8 };
/// g(t) ≈ f'(x)/(x − r) with t = x + 3/4 on |t| ≤ 0.36, degree 8 (0.07 ULP relative):
/// around the root Φ(x) and x·φ(x) cancel, so f' is taken as (x − r)·g(t) there.
const G8: [f32; 9] = [
    -7.171_841_6e-4,
    -2.196_046_3e-3,
    4.508_695_6e-3,
    1.946_507_8e-2,
    -1.459_724_6e-2,
    -0.114_113_28,
    -1.881_270_7e-2,
    0.388_218_67,
    0.432_189_55,
];

#[derive(Clone, Copy)]
pub(crate) struct Gelu;

/// Φ(x) in three pieces: (the polynomial value for |u| < T_ERFC, the tail erfc(|u|) = y·2^n,
/// and the lanes of each region), for x clamped to [−14.5, 14.5] (past which Φ is 0 or 1).
struct Phi<S: Simd> {
    xc: S::V,
    small: S::V,
    y: S::V,
    n: S::V,
    in_small: S::M,
    neg_x: S::M,
}

#[inline(always)]
fn phi_terms<S: Simd>(s: S, x: S::V) -> Phi<S> {
    let xc = s.min(s.max(x, s.splat(-14.5)), s.splat(14.5));
    let (u, ul) = two_prod(s, neg(s, xc), s.splat(INV_SQRT2.hi));
    let ul = s.fma(neg(s, xc), s.splat(INV_SQRT2.lo), ul);
    let a = abs(s, u);
    // |u| as hi + lo: the low part takes the sign flip of the high part.
    let alo = s.xor(ul, sign_of(s, u));
    let (y, n) = erfc_tail_parts(s, s.max(a, s.splat(T_ERFC)), alo);
    Phi {
        xc,
        small: erfc_small(s, u),
        y,
        n,
        in_small: s.lt(a, s.splat(T_ERFC)),
        neg_x: s.lt(xc, s.splat(0.0)),
    }
}

/// R(b) = Φ(−b)·e^(b²/2) on [0, 13.5] in 32 pieces b = (7/16)·j + δ, |δ| ≤ 7/32, each a
/// polynomial of degree 5 in δ fitted for the relative error (2^-23.8 with the coefficients
/// rounded to f32, 2^-23.1 evaluated in f32): `R_PIECES[i][j]` is the coefficient of δ^i in
/// piece j. R is smooth (it falls like 1/(b·√(2π))), where Φ(−b) itself falls too fast for
/// any polynomial.
#[rustfmt::skip]
const R_PIECES: [[f32; 32]; 6] = [
    [0.5, 0.3641049, 0.27977058, 0.22403134, 0.18523167, 0.15704598, 0.1358356, 0.11939913, 0.106345154, 0.0957601, 0.08702394, 0.07970348, 0.07348823, 0.0681506, 0.0635204, 0.059468094, 0.05589348, 0.052717973, 0.049879104, 0.047326658, 0.04501983, 0.04292515, 0.0410149, 0.03926595, 0.03765886, 0.03617717, 0.034806848, 0.03353588, 0.032353897, 0.031251922, 0.030222144, 0.029257724],
    [-0.39894217, -0.23964642, -0.15414304, -0.10490115, -0.07478687, -0.055404205, -0.042373832, -0.033282436, -0.026734242, -0.021886878, -0.018212516, -0.015369269, -0.013129068, -0.011335739, -0.009879807, -0.008682915, -0.007687903, -0.0068523646, -0.0061443476, -0.0055394378, -0.0050187414, -0.0045674643, -0.004173897, -0.0038286801, -0.0035242639, -0.0032545074, -0.0030143752, -0.0027997093, -0.0026070524, -0.002433511, -0.0022766504, -0.0021344088],
    [0.2499931, 0.12962246, 0.07244434, 0.043172885, 0.027176077, 0.017924793, 0.012301456, 0.008736126, 0.0063875197, 0.004790698, 0.0036724547, 0.0028698745, 0.0022807745, 0.0018390444, 0.0015036167, 0.0012431445, 0.0010393527, 0.0008766413, 0.0007459668, 0.00064001064, 0.00055316725, 0.00048092433, 0.00042030987, 0.0003696971, 0.00032699062, 0.0002902161, 0.0002593674, 0.00023214228, 0.00020867323, 0.00018845146, 0.00017043493, 0.00015476838],
    [-0.13283575, -0.06097334, -0.03024907, -0.016077802, -0.009074908, -0.0053980923, -0.0033601394, -0.0021764438, -0.0014591633, -0.0010084629, -0.0007158288, -0.00052014453, -0.0003859146, -0.0002915328, -0.00022412678, -0.00017474467, -0.0001381579, -0.00011049568, -8.9365305e-05, -7.304245e-05, -6.0259845e-05, -5.009156e-05, -4.1934756e-05, -3.539788e-05, -3.0096891e-05, -2.5710131e-05, -2.2137832e-05, -1.9129115e-05, -1.660273e-05, -1.4504818e-05, -1.26918085e-05, -1.1179549e-05],
    [0.06115081, 0.026061762, 0.011628694, 0.0055728285, 0.0028608192, 0.0015309575, 0.0008871599, 0.0005128652, 0.0003235789, 0.00019617158, 0.00012787289, 8.2672675e-05, 5.411731e-05, 5.0474424e-05, 2.5986225e-05, 2.5956595e-05, 1.2393414e-05, 1.6098176e-05, 1.5074495e-05, 8.852349e-06, 1.379472e-06, 2.278398e-06, 9.563577e-06, 8.175923e-06, 3.8638027e-06, 8.112585e-06, -2.3377138e-06, 1.8451487e-06, 2.9624189e-06, -4.6571108e-07, 3.4316608e-06, 3.5825499e-06],
    [-0.020738224, -0.010093921, -0.004087916, -0.0017853313, -0.00084152445, -0.00041035708, -0.00021841229, -0.00011607845, -6.792953e-05, -3.8927697e-05, -2.2614073e-05, -1.3697482e-05, -8.292457e-06, -7.887697e-06, -3.2931737e-06, -3.2584678e-06, -1.477657e-06, -1.8523542e-06, -1.7037065e-06, -8.37705e-07, -2.0944176e-08, -2.9344116e-07, -1.0953174e-06, -8.6496283e-07, -3.2900425e-07, -6.8105237e-07, 1.5282951e-07, -5.5913894e-08, -2.7608672e-07, 5.6794782e-08, -3.5166673e-07, -1.9168249e-07],
];
/// Adding 1.5·2^23 rounds to an integer, which lands in the low bits.
const INT_SHIFT: f32 = 12_582_912.0;

/// GELU forward on backends with a one-instruction table ([`Simd::FAST_TABLE`]) and fused FMA,
/// when no lane has |x| > 13 (NaN lanes pass, and give NaN): with b = |x|,
/// Φ(−b) = e^(−b²/2)·R(b) for every lane, R from [`R_PIECES`] and e^(−b²/2) from the table
/// exponential, reduced from b itself ([`table_reduce_square`]); then x·Φ(x) is −b·Φ(−b) or
/// x − b·Φ(−b). One form
/// for all lanes, where the total formula computes both erfc branches and the late scaling
/// that results below 2^-126 need. `None` sends the vector there. Worst
/// error over all 2^32 inputs on AVX-512: 4 ULP (the total formula: 3), for about twice the
/// speed.
#[inline(always)]
fn forward_fast<S: Simd>(s: S, x: S::V) -> Option<S::V> {
    let b = abs(s, x);
    if !(S::FAST_TABLE && S::HAS_FMA) || s.any(s.lt(s.splat(13.0), b)) {
        return None;
    }
    let k = s.fma(b, s.splat(16.0 / 7.0), s.splat(INT_SHIFT));
    // δ = b − (7/16)·j, exact.
    let d = s.fma(s.sub(k, s.splat(INT_SHIFT)), s.splat(-7.0 / 16.0), b);
    let mut r = s.table32(&R_PIECES[5], k);
    for c in R_PIECES[..5].iter().rev() {
        r = s.fma(r, d, s.table32(c, k));
    }
    // h = b·Φ(−b) ≥ 0, with b taken into the exponential's table value, so that it is rounded
    // once after the scaling (Φ(−13) ≈ 6e-39 alone would be subnormal). x·Φ(x) is then −h for
    // x < 0 and x − h for x ≥ 0: max(x, 0) − h. max keeps x = −0 (Simd::max returns its first
    // operand on a tie), so −0 − (+0) keeps the sign of the zero, and a NaN x.
    let (ke, m, rho) = table_reduce_square(s, -0.5, b);
    let h = exp_table_tail(s, -0.5, ke, m, rho, Some(s.mul(b, r)));
    Some(s.sub(s.max(x, s.splat(0.0)), h))
}

impl Elementwise for Gelu {
    const DEEP_BACKWARD: bool = true;

    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        if let Some(y) = forward_fast(s, x) {
            return y;
        }
        let t = phi_terms(s, x);
        let half_x = s.mul(s.splat(0.5), t.xc);
        // x < 0: x/2·erfc(|u|), scaled last; x > 0: x − x/2·erfc(|u|).
        let tail = s.scale(s.mul(half_x, t.y), t.n);
        let big = s.select(t.neg_x, tail, s.sub(x, tail));
        s.select(t.in_small, s.mul(half_x, t.small), big)
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        let t = phi_terms(s, x);
        let half = s.splat(0.5);
        let e = s.scale(s.mul(half, t.y), t.n);
        let cdf = s.select(t.in_small, s.mul(half, t.small), s.select(t.neg_x, e, s.sub(s.splat(1.0), e)));
        // φ(x) from e^(−x²/2) with x² as hi + lo, scaled last.
        let (h, l) = two_prod(s, t.xc, t.xc);
        let (p, n) = exp_parts(s, s.mul(h, s.splat(-0.5)), s.mul(l, s.splat(-0.5)));
        let xpdf = s.scale(s.mul(s.mul(t.xc, s.splat(INV_SQRT_2PI)), p), n);
        // Near the root: (x − r)·g(x + 3/4); x − r.hi and x + 3/4 are exact there (Sterbenz).
        let tt = s.add(x, s.splat(0.75));
        let d = s.sub(s.sub(x, s.splat(ROOT.hi)), s.splat(ROOT.lo));
        let near = s.mul(d, horner(s, tt, G8));
        let g = s.select(s.lt(abs(s, tt), s.splat(0.36)), near, s.add(cdf, xpdf));
        s.mul(dy, g)
    }
}
