//! GELU, the exact form (Hendrycks and Gimpel, 2016; PyTorch's `approximate="none"`):
//! f(x) = x·Φ(x) = x/2·erfc(−x/√2), f'(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)
//! (near the root of f', a fitted (x − r)·g(x) instead of the cancelling sum).
//!
//! u = −x/√2 is carried as hi + lo: in the negative tail erfc(u) ≈ e^(−u²)·(...), where a
//! rounding of u is multiplied by 2u². There the result is x/2·y·2^n with erfc(u) = y·2^n
//! scaled last, so that GELU(−13) ≈ −1.6e-37 keeps its accuracy; x²/2 in φ likewise.

use crate::kernel::Kernel;
use crate::math::erf::{T_ERFC, erfc_small, erfc_tail_parts};
use crate::math::exp::exp_parts;
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

impl Kernel for Gelu {
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
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
