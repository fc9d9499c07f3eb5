//! tanh and softsign.

use crate::drivers::{Elementwise, OutputGrad};
use crate::math::exp::exp_parts;
use crate::math::tanh::tanh;
use crate::simd::{Simd, abs};

/// tanh(x); f'(x) = 1 − tanh² = 4v/(1 + v)² with v = e^(−2|x|), scaled last so that the
/// tails (tanh'(50) ≈ 1.5e-43) are not flushed.
#[derive(Clone, Copy)]
pub(crate) struct Tanh;

impl Elementwise for Tanh {
    const DEEP_BACKWARD: bool = true;

    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        tanh(s, x)
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        let a = abs(s, x);
        let (p, n) = exp_parts(s, s.sub(s.splat(0.0), s.add(a, a)), s.splat(0.0));
        let d = s.add(s.splat(1.0), s.scale_small(p, n));
        s.scale(s.div(s.mul(s.mul(dy, s.splat(4.0)), p), s.mul(d, d)), n)
    }
}

/// x/(1 + |x|); f'(x) = 1/(1 + |x|)², squared after the division so that it does not
/// overflow for huge x.
#[derive(Clone, Copy)]
pub(crate) struct Softsign;

impl Elementwise for Softsign {
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        // ±inf → ±1: the ratio is ±1 in f32 from |x| = 2^25 on anyway.
        let xc = s.min(s.max(x, s.splat(-1e30)), s.splat(1e30));
        s.div(xc, s.add(s.splat(1.0), abs(s, xc)))
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        let r = s.div(s.splat(1.0), s.add(s.splat(1.0), abs(s, x)));
        s.mul(s.mul(dy, r), r)
    }
}

/// From y = tanh(x): f' = 1 − y² = (1 − y)(1 + y) (no cancellation in 1 − y²).
impl OutputGrad for Tanh {
    #[inline(always)]
    fn backward_y<S: Simd>(&self, s: S, y: S::V, dy: S::V) -> S::V {
        let one = s.splat(1.0);
        s.mul(s.mul(dy, s.sub(one, y)), s.add(one, y))
    }
}

/// From y = x/(1 + |x|): 1/(1 + |x|) = 1 − |y|, so f' = (1 − |y|)².
impl OutputGrad for Softsign {
    #[inline(always)]
    fn backward_y<S: Simd>(&self, s: S, y: S::V, dy: S::V) -> S::V {
        let r = s.sub(s.splat(1.0), abs(s, y));
        s.mul(s.mul(dy, r), r)
    }
}
