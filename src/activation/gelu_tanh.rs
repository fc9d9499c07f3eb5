//! GELU with the tanh approximation (Hendrycks and Gimpel, 2016; PyTorch's
//! `approximate="tanh"`): f(x) = x/2 · (1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³),
//! computed as f(x) = x·σ(z) with z = 2u = k1·x + k3·x³.
//!
//! Where z is large (x ≈ −10 gives z ≈ −88), an error of one rounding in z is multiplied by
//! |z| in e^z, so z is carried in double-f32 (hi + lo) and the low part enters the exp
//! reduction. f'(x) = σ(z)·(1 + x·(1 − σ(z))·z'), z' = k1 + 3·k3·x², written with
//! v = e^(−|z|) as
//! z ≥ 0: [(1 + v) + x·z'·v] / (1 + v)²;  z < 0: v·[(1 + v) + x·z'] / (1 + v)².
//!
//! On AVX-512 (`Simd::FAST_TABLE`), forward takes x/(1 + e^(−z)) with the table exponential
//! for vectors whose lanes are all ≥ −9.9, and the total formula for the others (see
//! `logistic`'s docs for what that per-vector choice means).

use crate::drivers::Elementwise;
use crate::math::exp::{
    LN2_HI, LN2_LO, LN2_TABLE, LOG2E, TABLE_SHIFT, exp_poly_lo, exp_table_tail, table_index,
};
use crate::simd::{Pair, SIGN, Simd, neg, scale_where, two_prod};

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const COEF: f64 = 0.044_715;
const K1: Pair = Pair::of(2.0 * SQRT_2_OVER_PI);
const K3: Pair = Pair::of(2.0 * SQRT_2_OVER_PI * COEF);

#[derive(Clone, Copy)]
pub(crate) struct GeluTanh;

/// k1 + k·x² as hi + lo, from x² = x2 + x2l (both terms positive).
#[inline(always)]
fn quad<S: Simd>(s: S, x2: S::V, x2l: S::V, k: Pair) -> (S::V, S::V) {
    let (q, ql) = two_prod(s, s.splat(k.hi), x2);
    let ql = s.fma(s.splat(k.hi), x2l, s.fma(s.splat(k.lo), x2, ql));
    // Fast two-sum, larger term first: exact, and one operation shorter than the unordered one.
    let (big, small) = (s.max(q, s.splat(K1.hi)), s.min(q, s.splat(K1.hi)));
    let w = s.add(big, small);
    let wl = s.sub(small, s.sub(w, big));
    (w, s.add(wl, s.add(ql, s.splat(K1.lo))))
}

/// The shared terms, for |x| clamped to 11 (beyond, σ(z) is 0 or 1 in f32, and the clamp
/// keeps |z| ≤ 113 so that the reduction below needs no clamp of its own): a = −|x| clamped,
/// x² as hi + lo, v = e^(−|z|) = p·2^n, p, n, and the lanes where z < 0 (= x < 0).
struct Terms<S: Simd> {
    a: S::V,
    x2: S::V,
    x2l: S::V,
    v: S::V,
    /// The low part of v = e^(−|z|) (for the backward's cancellation).
    v_lo: S::V,
    p: S::V,
    n: S::V,
    neg_z: S::M,
}

#[inline(always)]
fn terms<S: Simd>(s: S, x: S::V) -> Terms<S> {
    let a = s.max(s.or(x, s.splat(SIGN)), s.splat(-11.0));
    let (x2, x2l) = two_prod(s, a, a);
    let (w, wl) = quad(s, x2, x2l, K3);
    // −|z| = a·(w + wl) (w > 0). Reduce it by n·ln2 straight from the product: with FMA,
    // a·w − n·LN2_HI is exact before its one rounding; without, a·w is split first.
    let zn = s.mul(a, w);
    let n = s.round(s.mul(zn, s.splat(LOG2E)));
    let t = s.mul(n, s.splat(LN2_HI));
    let r = if S::HAS_FMA {
        s.fma(a, w, neg(s, t))
    } else {
        let (zh, zl) = two_prod(s, a, w);
        s.add(s.sub(zh, t), zl)
    };
    let r = s.fma(a, wl, s.fma(n, s.splat(-LN2_LO), r));
    let (p, pl) = exp_poly_lo(s, r);
    Terms {
        a,
        x2,
        x2l,
        v: s.scale_small(p, n),
        v_lo: s.scale_small(pl, n),
        p,
        n,
        neg_z: s.lt(x, s.splat(0.0)),
    }
}

/// x/(1 + e^(−z)) with the table exponential, on backends where the lookup is one instruction
/// and FMA is fused, when no lane has x < −9.9: e^(−z) ≤ e^85 and the result are then normal,
/// so nothing is scaled late and no side is selected (x is clamped at 9.9 in z, past which
/// e^(−z) no longer changes 1 + e^(−z)). `None` sends the vector to the total formula.
#[inline(always)]
fn forward_fast<S: Simd>(s: S, x: S::V) -> Option<S::V> {
    if !(S::FAST_TABLE && S::HAS_FMA) || s.any(s.lt(x, s.splat(-9.9))) {
        return None;
    }
    let xc = s.min(x, s.splat(9.9));
    let (x2, x2l) = two_prod(s, xc, xc);
    let (w, wl) = quad(s, x2, x2l, K3);
    let k = table_index::<S, true>(s, s.mul(xc, w));
    let m = s.sub(k, s.splat(TABLE_SHIFT));
    // ρ = z + m·ln2 (−z = m·ln2 + r, ρ = −r): xc·w + m·LN2.hi is exact inside the FMA (m·hi
    // is exact), then the small terms.
    let rho = s.fma(xc, w, s.mul(m, s.splat(LN2_TABLE.hi)));
    let rho = s.fma(xc, wl, s.fma(m, s.splat(LN2_TABLE.lo), rho));
    let e = exp_table_tail(s, -1.0, k, m, rho, None);
    Some(s.div(x, s.add(s.splat(1.0), e)))
}

impl Elementwise for GeluTanh {
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        if let Some(y) = forward_fast(s, x) {
            return y;
        }
        let Terms { a, v, p, n, neg_z, .. } = terms(s, x);
        // x·σ(z) = x/(1 + v) for z ≥ 0, x·v/(1 + v) for z < 0 (there a stands for x: the
        // result is 0 in f32 below −11 either way, and −inf must not meet the finite 2^n).
        let num = s.select(neg_z, s.mul(a, p), x);
        scale_where(s, neg_z, s.div(num, s.add(s.splat(1.0), v)), n)
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        let Terms { a: _, x2, x2l, v, v_lo, p, n, neg_z } = terms(s, x);
        let xc = s.min(s.max(x, s.splat(-11.0)), s.splat(11.0));
        let one = s.splat(1.0);
        // x·z' as hi + lo: near the root of f' (x ≈ −0.75) it cancels against 1 + v.
        let (dz, dzl) = quad(s, x2, x2l, Pair::of(6.0 * SQRT_2_OVER_PI * COEF));
        let (b, bl) = two_prod(s, xc, dz);
        let bl = s.fma(xc, dzl, bl);
        let a = s.add(one, v);
        let al = s.add(s.sub(v, s.sub(a, one)), v_lo);
        // z < 0 (x < 0): (1 + v) + x·z', whose high parts subtract exactly.
        let num_neg = s.mul(p, s.add(s.add(a, b), s.add(al, bl)));
        // z ≥ 0: (1 + v) + x·z'·v, all terms positive.
        let num_pos = s.fma(b, v, a);
        let num = s.select(neg_z, num_neg, num_pos);
        scale_where(s, neg_z, s.div(s.mul(dy, num), s.mul(a, a)), n)
    }
}
