//! ELU and SELU: f(x) = λ·x for x > 0, λ·α·(e^x − 1) otherwise.
//!
//! ELU (Clevert et al., 2015): λ = 1. SELU (Klambauer et al., 2017): λ = 1.0507009873554805,
//! α = 1.6732632423543772, the fixed point of their self-normalizing analysis.
//! f'(x) = λ for x > 0, λ·α·e^x otherwise (PyTorch's choice at the kink x = 0: the left side).

use crate::kernel::Kernel;
use crate::math::exp::{exp_parts, expm1};
use crate::simd::Simd;

/// SELU's λ.
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;
/// SELU's α.
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_2;

/// λ·x and λ·α·(e^x − 1), with λ and λ·α rounded to f32 once.
pub(crate) struct ScaledElu {
    lambda: f32,
    lambda_alpha: f32,
}

impl ScaledElu {
    pub(crate) fn elu(alpha: f32) -> ScaledElu {
        ScaledElu { lambda: 1.0, lambda_alpha: alpha }
    }

    pub(crate) fn selu() -> ScaledElu {
        ScaledElu { lambda: SELU_LAMBDA as f32, lambda_alpha: (SELU_LAMBDA * SELU_ALPHA) as f32 }
    }
}

impl Kernel for ScaledElu {
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        let pos = s.mul(s.splat(self.lambda), x);
        let neg = s.mul(s.splat(self.lambda_alpha), expm1(s, x));
        s.select(s.lt(s.splat(0.0), x), pos, neg)
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        let pos = s.mul(dy, s.splat(self.lambda));
        // dy·λα·e^x with the power of two applied last: e^x may be subnormal.
        let (p, n) = exp_parts(s, s.min(x, s.splat(0.0)), s.splat(0.0));
        let neg = s.scale(s.mul(s.mul(dy, s.splat(self.lambda_alpha)), p), n);
        // NaN in x goes to the `neg` side (the compare is false) and stays NaN there.
        s.select(s.lt(s.splat(0.0), x), pos, neg)
    }
}
