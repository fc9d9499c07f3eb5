//! The piecewise-linear activations: ReLU, clamps (hard-tanh, ReLU6), leaky ReLU,
//! hard-sigmoid (PyTorch's and ONNX's affine one), hard-swish and the thresholded ReLU, with
//! PyTorch's forms and its choices at the kinks.
//! Backward is dy·f'(x) as a product, so NaN propagates from x and from dy alike (PyTorch
//! returns 0 for a NaN dy where f' is 0).

use crate::drivers::{Elementwise, OutputGrad};
use crate::math::linear::{keep_nan, leaky_backward, leaky_forward};
use crate::simd::{Simd, abs, two_prod, two_sum};

/// dy·1 where lo < x < hi, dy·0 elsewhere, NaN where x is NaN.
#[inline(always)]
fn pass_inside<S: Simd>(s: S, x: S::V, dy: S::V, lo: f32, hi: f32) -> S::V {
    let (zero, one) = (s.splat(0.0), s.splat(1.0));
    let g = s.select(s.lt(s.splat(lo), x), one, zero);
    keep_nan(s, x, s.mul(dy, s.select(s.lt(x, s.splat(hi)), g, zero)))
}

/// max(x, 0), NaN kept (PyTorch); f' = 1 for x > 0, 0 for x ≤ 0.
#[derive(Clone, Copy)]
pub(crate) struct Relu;

impl Elementwise for Relu {
    const LIGHT: bool = true;
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        // max(x, 0) is x < 0 ? 0 : x (NaN and −0 stay). Not a select with x as an arm: in
        // place, LLVM turns that into a masked store (vmaskmovps), three times slower on AVX2.
        s.max(x, s.splat(0.0))
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        keep_nan(s, x, s.mul(dy, s.select(s.lt(s.splat(0.0), x), s.splat(1.0), s.splat(0.0))))
    }
}

/// clamp(x, lo, hi): hard-tanh (−1, 1 by default) and ReLU6 (0, 6). f' = 1 strictly inside,
/// 0 at and beyond the ends (PyTorch's hardtanh_backward).
#[derive(Clone, Copy)]
pub(crate) struct Clamp {
    pub(crate) lo: f32,
    pub(crate) hi: f32,
}

impl Elementwise for Clamp {
    const LIGHT: bool = true;
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        s.min(s.max(x, s.splat(self.lo)), s.splat(self.hi))
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        pass_inside(s, x, dy, self.lo, self.hi)
    }
}

/// x for x > 0, slope·x otherwise; f' = 1 or slope.
#[derive(Clone, Copy)]
pub(crate) struct LeakyRelu {
    pub(crate) slope: f32,
}

impl Elementwise for LeakyRelu {
    const LIGHT: bool = true;
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        leaky_forward(s, x, s.splat(self.slope))
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        leaky_backward(s, x, s.splat(self.slope), dy)
    }
}

/// relu6(x + 3)/6 (PyTorch's hard-sigmoid, not a clamp of σ); f' = 1/6 for −3 < x < 3.
#[derive(Clone, Copy)]
pub(crate) struct HardSigmoid;

/// clamp(x + 3, 0, 6)/6, with the division as a product by 1/6 (x + 3 is exact near −3).
#[inline(always)]
fn relu6_shift<S: Simd>(s: S, x: S::V) -> S::V {
    let t = s.min(s.max(s.add(x, s.splat(3.0)), s.splat(0.0)), s.splat(6.0));
    s.mul(t, s.splat(1.0 / 6.0))
}

impl Elementwise for HardSigmoid {
    const LIGHT: bool = true;
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        relu6_shift(s, x)
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        pass_inside(s, x, s.mul(dy, s.splat(1.0 / 6.0)), -3.0, 3.0)
    }
}

/// clamp(α·x + β, 0, 1), ONNX's `HardSigmoid`; f' = α where α·x + β, rounded to f32, lies in
/// (0, 1), which is where the output does (0 elsewhere, as PyTorch's hard-sigmoid at its ends).
#[derive(Clone, Copy)]
pub(crate) struct HardSigmoidAffine {
    pub(crate) alpha: f32,
    pub(crate) beta: f32,
}

/// Beyond it |α·x|, and with |β| ≤ 2^64 the sum, clamps to 0 or 1 whatever its rounding.
const AFFINE_HUGE: f32 = f32::from_bits((127 + 66) << 23); // 2^66

impl HardSigmoidAffine {
    /// α·x + β rounded once where FMA is fused; elsewhere from the exact product and sum
    /// (within 1 ULP, and exact where α·x and β cancel, which is where the output nears 0).
    #[inline(always)]
    fn affine<S: Simd>(&self, s: S, x: S::V) -> S::V {
        let (a, b) = (s.splat(self.alpha), s.splat(self.beta));
        if S::HAS_FMA {
            return s.fma(a, x, b);
        }
        let (hi, lo) = two_prod(s, a, x);
        let (sum, err) = two_sum(s, hi, b);
        let t = s.add(sum, s.add(err, lo));
        // A huge or infinite α·x keeps its sign in hi (the split's products would overflow).
        s.select(s.lt(s.splat(AFFINE_HUGE), abs(s, hi)), hi, t)
    }
}

impl Elementwise for HardSigmoidAffine {
    const LIGHT: bool = true;
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        s.min(s.max(self.affine(s, x), s.splat(0.0)), s.splat(1.0))
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        pass_inside(s, self.affine(s, x), s.mul(dy, s.splat(self.alpha)), 0.0, 1.0)
    }
}

/// x where x > α, 0 elsewhere (ONNX's `ThresholdedRelu`); f' = 1 where x > α, 0 elsewhere.
#[derive(Clone, Copy)]
pub(crate) struct Thresholded {
    pub(crate) alpha: f32,
}

impl Elementwise for Thresholded {
    const LIGHT: bool = true;
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        keep_nan(s, x, s.select(s.lt(s.splat(self.alpha), x), x, s.splat(0.0)))
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        let g = s.select(s.lt(s.splat(self.alpha), x), s.splat(1.0), s.splat(0.0));
        keep_nan(s, x, s.mul(dy, g))
    }
}

/// x·relu6(x + 3)/6 (Howard et al., 2019). f' (PyTorch): 0 for x < −3, (2x + 3)/6 for
/// −3 ≤ x ≤ 3, 1 above; 2x + 3 is exact around its root −1.5.
#[derive(Clone, Copy)]
pub(crate) struct HardSwish;

impl Elementwise for HardSwish {
    const LIGHT: bool = true;
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        // Below −3 the second factor is 0: x clamped at −4 keeps −inf from making 0·inf.
        s.mul(s.max(x, s.splat(-4.0)), relu6_shift(s, x))
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        let mid = s.mul(s.fma(s.splat(2.0), x, s.splat(3.0)), s.splat(1.0 / 6.0));
        let d = s.select(s.le(x, s.splat(3.0)), mid, s.splat(1.0));
        keep_nan(s, x, s.mul(dy, s.select(s.lt(x, s.splat(-3.0)), s.splat(0.0), d)))
    }
}

// Backward from the output y: each of these is monotone with y on the same side of its kinks
// as x (y > 0 exactly where x > 0, lo < y < hi exactly where lo < x < hi), so f' is the same
// function of y as of x. Where y rounds onto a kink value (hard-sigmoid's 1 at x = 3 − 1 ULP,
// where x + 3 rounds to 6), the output reads as saturated.

impl OutputGrad for Relu {
    #[inline(always)]
    fn backward_y<S: Simd>(&self, s: S, y: S::V, dy: S::V) -> S::V {
        self.backward(s, y, dy)
    }
}

impl OutputGrad for Clamp {
    #[inline(always)]
    fn backward_y<S: Simd>(&self, s: S, y: S::V, dy: S::V) -> S::V {
        self.backward(s, y, dy)
    }
}

/// Only for a slope ≥ 0 (the caller checks): with a negative slope y > 0 on both sides.
impl OutputGrad for LeakyRelu {
    #[inline(always)]
    fn backward_y<S: Simd>(&self, s: S, y: S::V, dy: S::V) -> S::V {
        self.backward(s, y, dy)
    }
}

/// y in (0, 1) exactly where α·x + β is.
impl OutputGrad for HardSigmoidAffine {
    #[inline(always)]
    fn backward_y<S: Simd>(&self, s: S, y: S::V, dy: S::V) -> S::V {
        pass_inside(s, y, s.mul(dy, s.splat(self.alpha)), 0.0, 1.0)
    }
}

/// y in (0, 1) exactly where x is in (−3, 3).
impl OutputGrad for HardSigmoid {
    #[inline(always)]
    fn backward_y<S: Simd>(&self, s: S, y: S::V, dy: S::V) -> S::V {
        pass_inside(s, y, s.mul(dy, s.splat(1.0 / 6.0)), 0.0, 1.0)
    }
}
