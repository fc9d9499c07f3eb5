//! Mish (Misra, 2019): f(x) = x · tanh(softplus(x)) = x · tanh(ln(1 + e^x)).
//!
//! With v = e^(−|x|), tanh(ln(1 + e^x)) is a rational function of v with no cancellation:
//! x ≥ 0: (1 + 2v) / (1 + 2v + 2v²);  x < 0: v(v + 2) / (v² + 2v + 2).
//! For x < 0 the factor v = p·2^n is applied last, so the tail x·e^x stays accurate into the
//! subnormals. The derivative, from the same terms (ω = tanh(softplus x), σ = 1/(1 + e^−x)):
//! f'(x) = ω + x·σ·(1 − ω²), which becomes
//! x ≥ 0: [(1 + 2v)·D + 4x·v²·(1 + v)] / D²,  D = 1 + 2v + 2v²;
//! x < 0: v·[(v + 2)·E + 4x·(1 + v)] / E²,   E = v² + 2v + 2,
//! where the bracket, which cancels near the root of f' (x ≈ −1.19), is evaluated as the
//! polynomial ((v + 4)·v + (6 + 4x))·v + 4·(1 + x), whose x terms are exact there.

use crate::drivers::Elementwise;
use crate::math::exp::exp_parts_lo;
use crate::simd::{Simd, abs, neg, scale_where};

#[derive(Clone, Copy)]
pub(crate) struct Mish;

/// The shared terms: v ≈ e^(−|x|) = (p + p_lo)·2^n, and the lanes where x < 0.
/// Callers clamp x below at −200 first, where both f and f' are 0 in f32, so that
/// x = −inf gives (−)0 rather than inf·0.
#[inline(always)]
fn terms<S: Simd>(s: S, x: S::V) -> Terms<S> {
    let (p, pl, n) = exp_parts_lo(s, neg(s, abs(s, x)), s.splat(0.0));
    Terms { v: s.scale_small(p, n), p, pl, n, neg_x: s.lt(x, s.splat(0.0)) }
}

struct Terms<S: Simd> {
    v: S::V,
    p: S::V,
    pl: S::V,
    n: S::V,
    neg_x: S::M,
}

impl Elementwise for Mish {
    const DEEP_BACKWARD: bool = true;

    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        let x = s.max(x, s.splat(-200.0));
        let Terms { v, p, pl, n, neg_x } = terms(s, x);
        let one = s.splat(1.0);
        let two = s.splat(2.0);
        let vp2 = s.add(v, two);
        // x ≥ 0
        let a = s.fma(two, v, one);
        let d = s.fma(s.add(v, v), v, a);
        // x < 0
        let e = s.fma(v, vp2, two);
        // (p + p_lo)·(v + 2) in one rounding: p's own rounding would cost half an ULP, and so
        // would the rounding of v + 2 (v < 1), whose lost part is exact (v + 2 − 2 is, by
        // Sterbenz) and joins the correction. Without FMA the terms are each rounded once.
        let vp2_lo = s.sub(v, s.sub(vp2, two));
        let num = s.select(neg_x, s.fma(p, vp2, s.fma(p, vp2_lo, s.mul(pl, vp2))), a);
        let den = s.select(neg_x, e, d);
        scale_where(s, neg_x, s.div(s.mul(x, num), den), n)
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        // f'(x) is 1 in f32 from x = 20 on; the clamp keeps inf·0 out of x·v².
        let x = s.min(s.max(x, s.splat(-200.0)), s.splat(50.0));
        let Terms { v, p, pl, n, neg_x } = terms(s, x);
        let v_lo = s.scale_small(pl, n);
        let one = s.splat(1.0);
        let two = s.splat(2.0);
        let vp1 = s.add(v, one);
        let x4 = s.mul(x, s.splat(4.0));
        // x ≥ 0
        let a = s.fma(two, v, one);
        let d = s.fma(s.add(v, v), v, a);
        let num_pos = s.fma(a, d, s.mul(s.mul(x4, s.mul(v, v)), vp1));
        // x < 0
        let vp2 = s.add(v, two);
        let e = s.fma(v, vp2, two);
        let c1 = s.add(s.splat(6.0), x4);
        let c0 = s.add(s.splat(4.0), x4);
        let t = s.fma(s.add(v, s.splat(4.0)), v, c1);
        // The bracket B(v) plus B'(v)·v_lo = (3v² + 8v + 6 + 4x)·v_lo: v's own rounding
        // would otherwise dominate where B cancels.
        let db = s.fma(s.fma(s.splat(3.0), v, s.splat(8.0)), v, c1);
        let num_neg = s.mul(p, s.fma(db, v_lo, s.fma(t, v, c0)));
        let num = s.select(neg_x, num_neg, num_pos);
        let den = s.select(neg_x, e, d);
        scale_where(s, neg_x, s.div(s.mul(dy, num), s.mul(den, den)), n)
    }
}
