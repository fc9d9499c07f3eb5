//! The exponential-linear family: f(x) = s₊·x for x > 0, s₋·(e^(x/b) − 1) otherwise, and
//! f'(x) = s₊ for x > 0, (s₋/b)·e^(x/b) otherwise (the left side at the kink x = 0, as
//! PyTorch).
//!
//! - ELU (Clevert et al., 2015): s₊ = 1, s₋ = α, b = 1.
//! - SELU (Klambauer et al., 2017): s₊ = λ, s₋ = λ·α, b = 1, with λ = 1.0507009873554805 and
//!   α = 1.6732632423543772, the fixed point of their self-normalizing analysis; ONNX's form
//!   takes α and γ (for λ) as attributes.
//! - CELU (Barron, 2017): s₊ = 1, s₋ = α, b = α.
//! - PELU (Trottier et al., 2017): s₊ = a/b, s₋ = a, b.
//!
//! x/b is carried as hi + lo in the derivative, where e^(x/b) would multiply its rounding by
//! |x/b|; in f itself e^u − 1 saturates at −1 and the rounding does not grow. With b = 1 (ELU,
//! SELU, CELU at α = 1) x/b is x, exact, and the derivative skips that product: 1.27 times
//! as fast on Zen 4 with AVX-512.

use crate::drivers::{Elementwise, OutputGrad};
use crate::math::exp::{exp_parts_exact, exp_parts_in_range, expm1};
use crate::simd::{Pair, Simd, abs, two_prod};

/// 2^-24: below it in magnitude, e^u − 1 rounds to u.
const TINY_U: f32 = 1.0 / 16_777_216.0;

/// SELU's λ = 1.0507009873554804934193349852946 (Klambauer et al., 2017; the digits PyTorch
/// documents), here rounded to f64. The often quoted 1.0507 is 9.9·10⁻⁷ off, 8 f32 ULP.
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;
/// SELU's α = 1.6732632423543772848170429916717 (Klambauer et al., 2017), here rounded to
/// f64. The often quoted 1.6733 is 3.7·10⁻⁵ off, 308 f32 ULP.
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_2;

#[derive(Clone, Copy)]
pub(crate) struct ExpLinear {
    pos: f32,
    neg: f32,
    /// s₋ − neg, the rest of an f64 constant (SELU's λα), for backward from y.
    neg_lo: f32,
    b: f32,
    /// s₋/b, for the derivative.
    neg_over_b: f32,
    /// 1/b as hi + lo.
    inv_b: Pair,
    /// Below this x, x/b < −170, where e^(x/b)·s₋/b is 0 in f32 (s₋/b ≤ 2^64, checked where
    /// the activation is chosen).
    x_min: f32,
}

impl ExpLinear {
    fn new(pos: f64, neg: f64, b: f64) -> ExpLinear {
        ExpLinear {
            pos: pos as f32,
            neg: neg as f32,
            neg_lo: (neg - neg as f32 as f64) as f32,
            b: b as f32,
            neg_over_b: (neg / b) as f32,
            inv_b: Pair::of(1.0 / b),
            x_min: (-170.0 * b) as f32,
        }
    }

    pub(crate) fn elu(alpha: f32) -> ExpLinear {
        ExpLinear::new(1.0, alpha as f64, 1.0)
    }

    pub(crate) fn selu() -> ExpLinear {
        ExpLinear::new(SELU_LAMBDA, SELU_LAMBDA * SELU_ALPHA, 1.0)
    }

    /// ONNX's `Selu` with its attributes: s₊ = γ, s₋ = γ·α (rounded once from f64).
    pub(crate) fn selu_scaled(alpha: f32, gamma: f32) -> ExpLinear {
        ExpLinear::new(gamma as f64, gamma as f64 * alpha as f64, 1.0)
    }

    pub(crate) fn celu(alpha: f32) -> ExpLinear {
        ExpLinear::new(1.0, alpha as f64, alpha as f64)
    }

    pub(crate) fn pelu(a: f32, b: f32) -> ExpLinear {
        ExpLinear::new(a as f64 / b as f64, a as f64, b as f64)
    }
}

impl Elementwise for ExpLinear {
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        let pos = s.mul(s.splat(self.pos), x);
        let u = s.mul(x, s.splat(self.inv_b.hi));
        let neg = s.mul(s.splat(self.neg), expm1(s, u));
        // Where |u| < 2^-24, e^u − 1 = u to half an ULP, and u may be subnormal, its rounding
        // then a large relative error that s₋ would multiply: take (s₋/b)·x, rounded once.
        let tiny = s.lt(abs(s, u), s.splat(TINY_U));
        let neg = s.select(tiny, s.mul(s.splat(self.neg_over_b), x), neg);
        s.select(s.lt(s.splat(0.0), x), pos, neg)
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        let pos = s.mul(dy, s.splat(self.pos));
        // u = x/b as hi + lo, for x in [x_min, 0].
        let xn = s.min(s.max(x, s.splat(self.x_min)), s.splat(0.0));
        // dy·(s₋/b)·e^u with the power of two applied last: e^u may be subnormal.
        let (p, n) = if self.b == 1.0 {
            // b = 1 (ELU, SELU, CELU at α = 1): u = x exactly (a branch the loop takes the same
            // way throughout).
            exp_parts_exact(s, xn)
        } else {
            let (u, ul) = two_prod(s, xn, s.splat(self.inv_b.hi));
            exp_parts_in_range(s, u, s.fma(xn, s.splat(self.inv_b.lo), ul))
        };
        let neg = s.scale(s.mul(s.mul(dy, s.splat(self.neg_over_b)), p), n);
        // NaN in x goes to the `neg` side (the compare is false) and stays NaN there.
        s.select(s.lt(s.splat(0.0), x), pos, neg)
    }
}

/// From y: f' = s₊ where y > 0 (exactly where x > 0), and (s₋/b)·e^(x/b) = (y + s₋)/b
/// otherwise (ELU: y + α, SELU: y + λα, CELU: (y + α)/α, PELU: (y + a)/b), which PyTorch's
/// `elu_backward` uses too when it is given the result. y + s₋ is exact where it cancels (y
/// near −s₋), and SELU's λα enters as hi + lo, so the sum is rounded once.
impl OutputGrad for ExpLinear {
    #[inline(always)]
    fn backward_y<S: Simd>(&self, s: S, y: S::V, dy: S::V) -> S::V {
        let pos = s.mul(dy, s.splat(self.pos));
        let t = s.add(s.add(y, s.splat(self.neg)), s.splat(self.neg_lo));
        let neg = s.mul(dy, s.div(t, s.splat(self.b)));
        s.select(s.lt(s.splat(0.0), y), pos, neg)
    }
}
