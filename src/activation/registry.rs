//! The activation registry: one entry per activation, and every list of activations in the
//! crate, its tests, examples, benches and fuzz targets derives from it.
//!
//! As XNNPACK's `.inc` registries, the entries are data handed to a macro chosen by the reader:
//! [`for_each_activation!`]`(m)` expands to `m! { ... every entry ... }`. The activation module
//! reads the kernel side (`super::define_activation!`: the public enum with its docs, names,
//! defaults, parameter checks and the kernel choice); `crate::internals` reads the oracle side
//! (the f64 reference, limits, properties, naive loops, plot settings). Each side resolves only
//! the names its own fields use, so `reference::...` and `naive::...` below are resolved inside
//! `internals` and this module does not depend on the reference.
//!
//! An entry, all fields in this order (optional ones in brackets):
//!
//! ```text
//! /// docs of the variant
//! Variant { /// docs of a parameter
//!           param: RANGE = default, ... }          (or no braces: no parameters)
//!     => {
//!     name: "snake_case",
//!     [joint: condition => param: "expected",]     checked after every parameter's RANGE
//!     kernel: expression of type Chosen,           from the checked parameters
//!     kernels: [ChosenVariant(KernelType) [from_output_if(|k: &KernelType| bool)], ...],
//!     reference: |x| f(x), |x| f'(x),              f64, at finite x (NaN and ±inf handled)
//!     limits: [f(−inf), f(+inf), f'(−inf), f'(+inf)],   NaN: no limit stated
//!     exact: bool,                                 forward bound 0 ULP (else 4)
//!     roots: |x: f32| Option<f64>,                 the argument (x or βx) near roots of f'
//!                                                  whose terms cancel; None: no such roots
//!     keeps_negative_zero: bool,                   f(−0) = −0
//!     [output: |y| g(y), slope: |y| |g'(y)|, piece: |y| which piece of g,]
//!                                                  f' as a function of y = f(x), for the
//!                                                  kernels marked from_output
//!     naive: |v| f, |v, g| g·f',                   plain f32 with std's functions
//!     plot: "family" [with activation as drawn],
//! }
//! ```
//!
//! Adding an activation: its kernel (a file of this module), its f and f' in
//! src/reference.rs, and one entry here.

use crate::error::Error;

/// The valid range of a parameter: finite and within [min, max].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Range {
    pub(crate) min: f32,
    pub(crate) max: f32,
    /// What the error says is expected.
    pub(crate) expected: &'static str,
}

impl Range {
    /// `v` if it is finite and within the range, else the error naming `name`.
    pub(crate) fn check(&self, name: &'static str, v: f32) -> Result<f32, Error> {
        if v.is_finite() && (self.min..=self.max).contains(&v) {
            Ok(v)
        } else {
            Err(Error::InvalidParameter { name, value: v as f64, expected: self.expected })
        }
    }
}

/// The smallest positive f32, 2^-149: a range from it asks for "> 0".
const SMALLEST_POSITIVE: f32 = 1e-45;

/// The largest slope s₋/b of the exponential-linear family (ELU's α, PELU's a/b): below
/// x/b = −170, where the derivative's exponential stops, s₋/b·e^(x/b)·dy is then 0 in f32 for
/// |dy| < 2^31.
const EXP_LINEAR_SLOPE_MAX: f32 = 18_446_744_073_709_551_616.0; // 2^64

/// Any finite value.
pub(crate) const FINITE: Range = Range { min: -f32::MAX, max: f32::MAX, expected: "finite" };
/// Finite and > 0.
pub(crate) const POSITIVE: Range =
    Range { min: SMALLEST_POSITIVE, max: f32::MAX, expected: "finite and > 0" };
/// A divisor b of the exponential-linear family (CELU's α, PELU's b): 1/b must be finite, and
/// b at most 2^64, so that the derivative's cut-off −170·b (below which e^(x/b) is 0 in f32)
/// is finite and −inf has its limit there.
pub(crate) const DIVISOR: Range =
    Range { min: f32::MIN_POSITIVE, max: EXP_LINEAR_SLOPE_MAX, expected: "finite, ≥ 2^-126 and ≤ 2^64" };
/// β of Swish and softplus, the scale of u = βx: at least 2^-32, so that the cut-off
/// |x| = 200/β, beyond which σ(βx) is 0 or 1 in f32, is below 2^40, where x times the
/// smallest exponential the kernels compute (e^-150) still rounds to 0.
pub(crate) const SCALE: Range =
    Range { min: 2.328_306_4e-10, max: f32::MAX, expected: "finite and ≥ 2^-32" };
/// ELU's α: a slope of the exponential-linear family, at most [`EXP_LINEAR_SLOPE_MAX`].
pub(crate) const ELU_ALPHA: Range =
    Range { min: SMALLEST_POSITIVE, max: EXP_LINEAR_SLOPE_MAX, expected: "finite, > 0 and ≤ 2^64" };
/// Finite and within ±2^64 (the affine hard-sigmoid's α and β).
pub(crate) const BOUNDED: Range =
    Range { min: -EXP_LINEAR_SLOPE_MAX, max: EXP_LINEAR_SLOPE_MAX, expected: "finite and within ±2^64" };
/// The largest E-Swish β: below x = −150, where its exponential stops, β·x·σ(x) is then 0 in
/// f32.
pub(crate) const E_SWISH_BETA: Range =
    Range { min: SMALLEST_POSITIVE, max: 65_536.0, expected: "finite, > 0 and ≤ 65536" };

/// Whether a slope s₋ of the exponential-linear family (given in f64) is at most 2^64, small
/// enough for the derivative's tail.
pub(crate) fn exp_linear_slope_ok(slope: f64) -> bool {
    slope <= EXP_LINEAR_SLOPE_MAX as f64
}

/// Whether PELU's slope a/b (rounded to f32) is within [2^-126, 2^64]: normal, and small enough
/// for the derivative's tail.
pub(crate) fn pelu_slope_ok(a: f32, b: f32) -> bool {
    let slope = (a as f64 / b as f64) as f32;
    (f32::MIN_POSITIVE..=EXP_LINEAR_SLOPE_MAX).contains(&slope)
}

/// Expands to `$m! { ($($extra)*) entries }`: the registry handed to a reader macro (see the
/// module docs for the entry format). `$extra` passes tokens the reader needs, such as `$` for
/// a reader that defines macros of its own.
macro_rules! for_each_activation {
    ($m:ident $($extra:tt)*) => {
        $m! { ($($extra)*)

/// σ(x) = 1/(1 + e^(−x)), the logistic function; f'(x) = σ(x)·σ(−x) = σ(x)(1 − σ(x)),
/// computed without cancellation (σ'(60) is a tiny normal number, not 0).
/// Measured worst error (README, Accuracy): forward 3 ULP, backward 4 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
Sigmoid => {
    name: "sigmoid",
    kernel: Chosen::Sigmoid(logistic::Sigmoid),
    kernels: [Sigmoid(logistic::Sigmoid) from_output_if(|_| true)],
    reference: reference::sigmoid, reference::sigmoid_prime,
    limits: [0.0, 1.0, 0.0, 0.0],
    exact: false,
    roots: |_| None,
    keeps_negative_zero: false,
    output: |y| y * (1.0 - y), slope: |y| (1.0 - 2.0 * y).abs(), piece: |_| 0,
    naive: naive::sigmoid, |v, g| {
        let s = naive::sigmoid(v);
        g * s * (1.0 - s)
    },
    plot: "logistic",
}

/// relu6(x + 3)/6 = clamp(x/6 + 1/2, 0, 1): PyTorch's `hardsigmoid` (Howard et al., 2019),
/// not a clamp of σ, nor the 0.2·x + 0.5 of some frameworks. f' = 1/6 on (−3, 3), 0 at and
/// beyond ±3.
/// Measured worst error (README, Accuracy): forward 1 ULP, backward exact (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
HardSigmoid => {
    name: "hard_sigmoid",
    kernel: Chosen::HardSigmoid(linear::HardSigmoid),
    kernels: [HardSigmoid(linear::HardSigmoid) from_output_if(|_| true)],
    reference: reference::hard_sigmoid, reference::hard_sigmoid_prime,
    limits: [0.0, 1.0, 0.0, 0.0],
    exact: false,
    roots: |_| None,
    keeps_negative_zero: false,
    output: |y| inside(y, 0.0, 1.0) / 6.0, slope: |_| 0.0, piece: |y| between(y, 0.0, 1.0),
    naive: |v| (v + 3.0).clamp(0.0, 6.0) / 6.0, |v, g| if v > -3.0 && v < 3.0 { g / 6.0 } else { 0.0 },
    plot: "logistic",
}

/// x/(1 + |x|); f'(x) = 1/(1 + |x|)².
/// Measured worst error (README, Accuracy): forward 1 ULP, backward 3 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
Softsign => {
    name: "softsign",
    kernel: Chosen::Softsign(tanh::Softsign),
    kernels: [Softsign(tanh::Softsign) from_output_if(|_| true)],
    reference: reference::softsign, reference::softsign_prime,
    limits: [-1.0, 1.0, 0.0, 0.0],
    exact: false,
    roots: |_| None,
    keeps_negative_zero: true,
    output: |y| (1.0 - y.abs()).powi(2), slope: |y| 2.0 * (1.0 - y.abs()), piece: |_| 0,
    naive: |v| v / (1.0 + v.abs()), |v, g| {
        let d = 1.0 + v.abs();
        g / (d * d)
    },
    plot: "tanh",
}

/// tanh(x); f'(x) = 1 − tanh²(x), computed without cancellation in the tails.
/// Measured worst error (README, Accuracy): forward 3 ULP, backward 4 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
Tanh => {
    name: "tanh",
    kernel: Chosen::Tanh(tanh::Tanh),
    kernels: [Tanh(tanh::Tanh) from_output_if(|_| true)],
    reference: reference::tanh, reference::tanh_prime,
    limits: [-1.0, 1.0, 0.0, 0.0],
    exact: false,
    roots: |_| None,
    keeps_negative_zero: true,
    output: |y| (1.0 - y) * (1.0 + y), slope: |y| 2.0 * y.abs(), piece: |_| 0,
    naive: |v| v.tanh(), |v, g| {
        let th = v.tanh();
        g * (1.0 - th * th)
    },
    plot: "tanh",
}

/// clamp(x, min, max): a clamp of x itself, not of tanh(x) (PyTorch's `hardtanh`). f' = 1
/// strictly inside (min, max), 0 at and beyond the ends. Exact.
/// Measured (README, Accuracy): forward and backward exact (all 2^32 inputs on scalar,
/// portable, AVX2 and AVX-512).
HardTanh {
    /// Lower end (default −1).
    min: FINITE = -1.0,
    /// Upper end (default 1).
    max: FINITE = 1.0,
} => {
    name: "hard_tanh",
    joint: min < max => min: "less than max",
    kernel: Chosen::HardTanh(linear::Clamp { lo: min, hi: max }),
    kernels: [HardTanh(linear::Clamp) from_output_if(|_| true)],
    reference: |x| reference::hard_tanh(x, min as f64, max as f64),
        |x| reference::hard_tanh_prime(x, min as f64, max as f64),
    limits: [min as f64, max as f64, 0.0, 0.0],
    exact: true,
    roots: |_| None,
    keeps_negative_zero: false,
    output: |y| inside(y, min as f64, max as f64), slope: |_| 0.0,
        piece: |y| between(y, min as f64, max as f64),
    naive: move |v| v.max(min).min(max), move |v, g| if v > min && v < max { g } else { 0.0 },
    plot: "tanh",
}

/// max(x, 0) (Nair and Hinton, 2010); NaN stays NaN, as in PyTorch. f' = 1 for x > 0, 0 for
/// x ≤ 0 (ReLU'(0) = 0, PyTorch's choice). Exact.
/// Measured (README, Accuracy): forward and backward exact (all 2^32 inputs on scalar,
/// portable, AVX2 and AVX-512).
Relu => {
    name: "relu",
    kernel: Chosen::Relu(linear::Relu),
    kernels: [Relu(linear::Relu) from_output_if(|_| true)],
    reference: reference::relu, reference::relu_prime,
    limits: [0.0, f64::INFINITY, 0.0, 1.0],
    exact: true,
    roots: |_| None,
    keeps_negative_zero: false,
    output: |y| (y > 0.0) as i32 as f64, slope: |_| 0.0, piece: |y| (y > 0.0) as i32,
    naive: |v| v.max(0.0), |v, g| if v > 0.0 { g } else { 0.0 },
    plot: "relu",
}

/// min(max(x, 0), 6); f' = 1 on (0, 6), 0 elsewhere. Exact.
/// Measured (README, Accuracy): forward and backward exact (all 2^32 inputs on scalar,
/// portable, AVX2 and AVX-512).
Relu6 => {
    name: "relu6",
    kernel: Chosen::Relu6(linear::Clamp { lo: 0.0, hi: 6.0 }),
    kernels: [Relu6(linear::Clamp) from_output_if(|_| true)],
    reference: reference::relu6, reference::relu6_prime,
    limits: [0.0, 6.0, 0.0, 0.0],
    exact: true,
    roots: |_| None,
    keeps_negative_zero: false,
    output: |y| inside(y, 0.0, 6.0), slope: |_| 0.0, piece: |y| between(y, 0.0, 6.0),
    naive: |v| v.clamp(0.0, 6.0), |v, g| if v > 0.0 && v < 6.0 { g } else { 0.0 },
    plot: "relu",
}

/// x for x > 0, slope·x otherwise (Maas et al., 2013); f' = 1 for x > 0, slope for x ≤ 0.
/// Exact.
/// Measured (README, Accuracy): forward and backward exact (all 2^32 inputs on scalar,
/// portable, AVX2 and AVX-512).
LeakyRelu {
    /// Negative slope (default 0.01).
    slope: FINITE = 0.01,
} => {
    name: "leaky_relu",
    kernel: Chosen::LeakyRelu(linear::LeakyRelu { slope }),
    // A negative slope makes y > 0 on both sides of 0.
    kernels: [LeakyRelu(linear::LeakyRelu) from_output_if(|k: &linear::LeakyRelu| k.slope >= 0.0)],
    reference: |x| reference::leaky_relu(x, slope as f64), |x| reference::leaky_relu_prime(x, slope as f64),
    limits: [
        if slope > 0.0 { f64::NEG_INFINITY } else if slope < 0.0 { f64::INFINITY } else { f64::NAN },
        f64::INFINITY,
        slope as f64,
        1.0,
    ],
    exact: true,
    roots: |_| None,
    keeps_negative_zero: false,
    output: |y| if y > 0.0 { 1.0 } else { slope as f64 }, slope: |_| 0.0, piece: |y| (y > 0.0) as i32,
    naive: move |v| if v > 0.0 { v } else { slope * v }, move |v, g| if v > 0.0 { g } else { slope * g },
    plot: "relu" with Activation::LeakyRelu { slope: 0.1 },
}

/// ln(1 + e^(βx))/β, and x itself where βx > threshold (PyTorch's `Softplus`); f'(x) =
/// σ(βx), 1 past the threshold.
/// Measured worst error (README, Accuracy): forward 2 ULP, backward 3 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
Softplus {
    /// β (default 1), at least 2^-32.
    beta: SCALE = 1.0,
    /// Threshold (default 20).
    threshold: FINITE = 20.0,
} => {
    name: "softplus",
    // β = 1 has its own kernel, without the scaling by β and 1/β.
    kernel: if beta == 1.0 {
        Chosen::SoftplusUnit(logistic::Softplus::new(beta, threshold))
    } else {
        Chosen::Softplus(logistic::Softplus::new(beta, threshold))
    },
    kernels: [SoftplusUnit(logistic::Softplus<true>), Softplus(logistic::Softplus<false>)],
    reference: |x| reference::softplus_thresholded(x, beta as f64, threshold as f64),
        |x| reference::softplus_thresholded_prime(x, beta as f64, threshold as f64),
    limits: [0.0, f64::INFINITY, 0.0, 1.0],
    exact: false,
    roots: |_| None,
    keeps_negative_zero: false,
    naive: move |v| if beta * v > threshold { v } else { (beta * v).exp().ln_1p() / beta },
        move |v, g| if beta * v > threshold { g } else { g * naive::sigmoid(beta * v) },
    plot: "logistic",
}

/// x for x > 0, α·(e^x − 1) otherwise (Clevert et al., 2015); f' = 1 for x > 0, α·e^x for
/// x ≤ 0 (f'(0) = α, the left side, as PyTorch).
/// Measured worst error (README, Accuracy): forward 1 ULP, backward 1 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
Elu {
    /// α (default 1), at most 2^64, so that the derivative's tail (which stops at
    /// x = −170) is 0 there.
    alpha: ELU_ALPHA = 1.0,
} => {
    name: "elu",
    kernel: Chosen::Elu(elu::ExpLinear::elu(alpha)),
    kernels: [Elu(elu::ExpLinear) from_output_if(|_| true)],
    reference: |x| reference::elu(x, alpha as f64), |x| reference::elu_prime(x, alpha as f64),
    limits: [-(alpha as f64), f64::INFINITY, 0.0, 1.0],
    exact: false,
    roots: |_| None,
    keeps_negative_zero: true,
    output: |y| exp_linear(y, 1.0, alpha as f64, 1.0), slope: |y| if y <= 0.0 { 1.0 } else { 0.0 },
        piece: |y| (y > 0.0) as i32,
    naive: move |v| if v > 0.0 { v } else { alpha * v.exp_m1() },
        move |v, g| if v > 0.0 { g } else { g * alpha * v.exp() },
    plot: "exp_linear",
}

/// max(0, x) + min(0, α·(e^(x/α) − 1)) (Barron, 2017); f' = 1 for x > 0, e^(x/α) for
/// x ≤ 0.
/// Measured worst error (README, Accuracy): forward 1 ULP, backward 1 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
Celu {
    /// α (default 1), within [2^-126, 2^64]: 1/α is finite, and so is the derivative's
    /// cut-off at x/α = −170.
    alpha: DIVISOR = 1.0,
} => {
    name: "celu",
    kernel: Chosen::Celu(elu::ExpLinear::celu(alpha)),
    kernels: [Celu(elu::ExpLinear) from_output_if(|_| true)],
    reference: |x| reference::celu(x, alpha as f64), |x| reference::celu_prime(x, alpha as f64),
    limits: [-(alpha as f64), f64::INFINITY, 0.0, 1.0],
    exact: false,
    roots: |_| None,
    keeps_negative_zero: true,
    output: |y| exp_linear(y, 1.0, alpha as f64, alpha as f64),
        slope: |y| if y <= 0.0 { 1.0 / alpha as f64 } else { 0.0 }, piece: |y| (y > 0.0) as i32,
    naive: move |v| if v > 0.0 { v } else { alpha * (v / alpha).exp_m1() },
        move |v, g| if v > 0.0 { g } else { g * (v / alpha).exp() },
    plot: "exp_linear" with Activation::Celu { alpha: 2.0 },
}

/// (a/b)·x for x ≥ 0, a·(e^(x/b) − 1) otherwise (Trottier et al., 2017); f' = a/b for x > 0,
/// (a/b)·e^(x/b) for x ≤ 0 (the two sides agree at 0).
/// Measured worst error (README, Accuracy): forward 1 ULP, backward 1 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
Pelu {
    /// a (default 1), with a/b within [2^-126, 2^64]: normal, and small enough that the
    /// derivative's tail (which stops at x/b = −170) is 0 there.
    a: POSITIVE = 1.0,
    /// b (default 1), within [2^-126, 2^64]: 1/b is finite, and so is the derivative's
    /// cut-off at x/b = −170.
    b: DIVISOR = 1.0,
} => {
    name: "pelu",
    joint: registry::pelu_slope_ok(a, b) => a: "such that a/b is in [2^-126, 2^64]",
    kernel: Chosen::Pelu(elu::ExpLinear::pelu(a, b)),
    kernels: [Pelu(elu::ExpLinear) from_output_if(|_| true)],
    reference: |x| reference::pelu(x, a as f64, b as f64), |x| reference::pelu_prime(x, a as f64, b as f64),
    limits: [-(a as f64), f64::INFINITY, 0.0, a as f64 / b as f64],
    exact: false,
    roots: |_| None,
    keeps_negative_zero: true,
    output: |y| exp_linear(y, a as f64 / b as f64, a as f64, b as f64),
        slope: |y| if y <= 0.0 { 1.0 / b as f64 } else { 0.0 }, piece: |y| (y > 0.0) as i32,
    naive: move |v| if v >= 0.0 { a / b * v } else { a * (v / b).exp_m1() },
        move |v, g| if v >= 0.0 { g * a / b } else { g * a / b * (v / b).exp() },
    plot: "exp_linear" with Activation::Pelu { a: 1.5, b: 2.0 },
}

/// λ·x for x > 0, λ·α·(e^x − 1) otherwise (Klambauer et al., 2017), with the full-precision
/// λ = 1.0507009873554804934193349852946 and α = 1.6732632423543772848170429916717
/// ([`SELU_LAMBDA`], [`SELU_ALPHA`]), not the rounded 1.0507 and 1.6733. f' = λ for x > 0,
/// λ·α·e^x for x ≤ 0.
/// Measured worst error (README, Accuracy): forward 2 ULP, backward 2 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
Selu => {
    name: "selu",
    kernel: Chosen::Selu(elu::ExpLinear::selu()),
    kernels: [Selu(elu::ExpLinear) from_output_if(|_| true)],
    reference: reference::selu, reference::selu_prime,
    limits: [-reference::SELU_LAMBDA * reference::SELU_ALPHA, f64::INFINITY, 0.0, reference::SELU_LAMBDA],
    exact: false,
    roots: |_| None,
    keeps_negative_zero: true,
    output: |y| exp_linear(y, reference::SELU_LAMBDA, reference::SELU_LAMBDA * reference::SELU_ALPHA, 1.0),
        slope: |y| if y <= 0.0 { 1.0 } else { 0.0 }, piece: |y| (y > 0.0) as i32,
    naive: |v| naive::SELU_LAMBDA * if v > 0.0 { v } else { naive::SELU_ALPHA * v.exp_m1() },
        |v, g| g * if v > 0.0 { naive::SELU_LAMBDA } else { naive::SELU_LAMBDA * naive::SELU_ALPHA * v.exp() },
    plot: "exp_linear",
}

/// x·σ(x) (Elfwing et al., 2018; Swish with β = 1); f'(x) = σ(x)·(1 + x·(1 − σ(x))),
/// evaluated without cancellation near its root x ≈ −1.28.
/// Measured worst error (README, Accuracy): forward 3 ULP, backward 6 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
Silu => {
    name: "silu",
    kernel: Chosen::Silu(logistic::Swish::new(1.0, 1.0)),
    kernels: [Silu(logistic::Swish<true, false>)],
    reference: reference::silu, reference::silu_prime,
    limits: [-0.0, f64::INFINITY, 0.0, 1.0],
    exact: false,
    roots: |x| Some(x as f64),
    keeps_negative_zero: true,
    naive: |v| v / (1.0 + (-v).exp()), |v, g| {
        let s = naive::sigmoid(v);
        g * s * (1.0 + v * (1.0 - s))
    },
    plot: "gated",
}

/// x·σ(βx) (Ramachandran et al., 2017); f'(x) = σ(βx)·(1 + βx·(1 − σ(βx))). βx is carried
/// in double-f32, since e^(βx) would multiply its rounding by |βx|.
/// Measured worst error (README, Accuracy): forward 3 ULP, backward 6 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
Swish {
    /// β (default 1), at least 2^-32.
    beta: SCALE = 1.0,
} => {
    name: "swish",
    // β = 1 is SiLU: βx is x, exact, and SiLU's kernel skips the double-f32 product (the
    // same results, 1.2 times as fast).
    kernel: match beta {
        1.0 => Chosen::SwishUnit(logistic::Swish::new(1.0, 1.0)),
        beta => Chosen::Swish(logistic::Swish::new(beta, 1.0)),
    },
    kernels: [SwishUnit(logistic::Swish<true, false>), Swish(logistic::Swish<false, false>)],
    reference: |x| reference::swish(x, beta as f64), |x| reference::swish_prime(x, beta as f64),
    limits: [-0.0, f64::INFINITY, 0.0, 1.0],
    exact: false,
    roots: |x| Some((x * beta) as f64),
    keeps_negative_zero: true,
    naive: move |v| v / (1.0 + (-beta * v).exp()), move |v, g| {
        let s = naive::sigmoid(beta * v);
        g * (s + beta * v * s * (1.0 - s))
    },
    plot: "gated" with Activation::Swish { beta: 2.0 },
}

/// β·x·σ(x) (E-Swish, Alcaide, 2018); f'(x) = β·σ(x)·(1 + x·(1 − σ(x))).
/// Measured worst error (README, Accuracy): forward 4 ULP, backward 6 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512, β = 1.25); near the root of f' (x ≈ −1.28) the
/// bound is absolute, 2^-23·β, since f' is β times SiLU's.
ESwish {
    /// β (default 1.25; the paper uses 1 to 2), at most 65,536, so that the tail (where
    /// the exponential stops, x < −150) is 0.
    beta: E_SWISH_BETA = 1.25,
} => {
    name: "e_swish",
    kernel: Chosen::ESwish(logistic::Swish::new(1.0, beta)),
    kernels: [ESwish(logistic::Swish<true, true>)],
    reference: |x| reference::e_swish(x, beta as f64), |x| reference::e_swish_prime(x, beta as f64),
    limits: [-0.0, f64::INFINITY, 0.0, beta as f64],
    exact: false,
    roots: |x| Some(x as f64),
    keeps_negative_zero: true,
    naive: move |v| beta * v / (1.0 + (-v).exp()), move |v, g| {
        let s = naive::sigmoid(v);
        g * beta * (s + v * s * (1.0 - s))
    },
    plot: "gated",
}

/// x·relu6(x + 3)/6 (Howard et al., 2019); f' = 0 for x < −3, (2x + 3)/6 on [−3, 3], 1
/// above (PyTorch's choice at the ends).
/// Measured worst error (README, Accuracy): forward 2 ULP, backward 1 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
HardSwish => {
    name: "hard_swish",
    kernel: Chosen::HardSwish(linear::HardSwish),
    kernels: [HardSwish(linear::HardSwish)],
    reference: reference::hard_swish, reference::hard_swish_prime,
    limits: [-0.0, f64::INFINITY, 0.0, 1.0],
    exact: false,
    roots: |x| Some(x as f64),
    keeps_negative_zero: true,
    naive: |v| v * (v + 3.0).clamp(0.0, 6.0) / 6.0, |v, g| {
        if v < -3.0 {
            0.0
        } else if v > 3.0 {
            g
        } else {
            g * (2.0 * v + 3.0) / 6.0
        }
    },
    plot: "gated",
}

/// x·tanh(ln(1 + e^x)) (Misra, 2019); f'(x) = ω + x·σ(x)·(1 − ω²) with
/// ω = tanh(ln(1 + e^x)), evaluated without cancellation near its root x ≈ −1.19.
/// Measured worst error (README, Accuracy): forward 4 ULP, backward 7 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
Mish => {
    name: "mish",
    kernel: Chosen::Mish(mish::Mish),
    kernels: [Mish(mish::Mish)],
    reference: reference::mish, reference::mish_prime,
    limits: [-0.0, f64::INFINITY, 0.0, 1.0],
    exact: false,
    roots: |x| Some(x as f64),
    keeps_negative_zero: true,
    naive: |v| v * (v.exp().ln_1p()).tanh(), |v, g| {
        let w = v.exp().ln_1p().tanh();
        g * (w + v * naive::sigmoid(v) * (1.0 - w * w))
    },
    plot: "gated",
}

/// x·Φ(x) = x/2·(1 + erf(x/√2)) (Hendrycks and Gimpel, 2016; PyTorch's
/// `approximate="none"`), computed as x/2·erfc(−x/√2) so that the negative tail is right;
/// f'(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
/// Measured worst error (README, Accuracy): forward 4 ULP, backward 7 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
Gelu => {
    name: "gelu",
    kernel: Chosen::Gelu(gelu::Gelu),
    kernels: [Gelu(gelu::Gelu)],
    reference: reference::gelu, reference::gelu_prime,
    limits: [-0.0, f64::INFINITY, 0.0, 1.0],
    exact: false,
    roots: |x| Some(x as f64),
    keeps_negative_zero: true,
    naive: |v| 0.5 * v * (1.0 + libm::erff(v * naive::FRAC_1_SQRT_2)), |v, g| {
        let cdf = 0.5 * (1.0 + libm::erff(v * naive::FRAC_1_SQRT_2));
        g * (cdf + v * naive::FRAC_1_SQRT_2PI * (-0.5 * v * v).exp())
    },
    plot: "gated",
}

/// x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (PyTorch's `approximate="tanh"`); with
/// t the tanh, f'(x) = (1 + t)/2 + x/2·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²). The tanh
/// argument is carried in double-f32.
/// Measured worst error (README, Accuracy): forward 3 ULP, backward 6 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
GeluTanh => {
    name: "gelu_tanh",
    kernel: Chosen::GeluTanh(gelu_tanh::GeluTanh),
    kernels: [GeluTanh(gelu_tanh::GeluTanh)],
    reference: reference::gelu_tanh, reference::gelu_tanh_prime,
    limits: [-0.0, f64::INFINITY, 0.0, 1.0],
    exact: false,
    roots: |x| Some(x as f64),
    keeps_negative_zero: true,
    naive: |v| 0.5 * v * (1.0 + (naive::SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)).tanh()), |v, g| {
        let th = (naive::SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)).tanh();
        let du = naive::SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * v * v);
        g * (0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * du)
    },
    plot: "gated",
}

/// ln σ(x) = −ln(1 + e^(−x)); f'(x) = σ(−x).
/// Measured worst error (README, Accuracy): forward 2 ULP, backward 2 ULP (all 2^32 inputs
/// on scalar, portable, AVX2 and AVX-512).
LogSigmoid => {
    name: "log_sigmoid",
    kernel: Chosen::LogSigmoid(logistic::LogSigmoid),
    kernels: [LogSigmoid(logistic::LogSigmoid) from_output_if(|_| true)],
    reference: reference::log_sigmoid, reference::log_sigmoid_prime,
    limits: [f64::NEG_INFINITY, -0.0, 1.0, 0.0],
    exact: false,
    roots: |_| None,
    keeps_negative_zero: false,
    output: |y| -libm::expm1(y), slope: |y| libm::exp(y), piece: |_| 0,
    naive: |v| -((-v).exp().ln_1p()), |v, g| g / (1.0 + v.exp()),
    plot: "logistic",
}


/// clamp(α·x + β, 0, 1): ONNX's `HardSigmoid` with its attributes (defaults α = 0.2,
/// β = 0.5); [`Activation::HardSigmoid`] is PyTorch's, with α = 1/6 and β = 1/2. f' = α where
/// α·x + β, rounded to f32, lies strictly inside (0, 1) (where the output does), 0 elsewhere.
/// α·x + β is rounded once (from the exact product and sum on the portable tier, within
/// 1 ULP).
HardSigmoidAffine {
    /// α (default 0.2), nonzero, within ±2^64.
    alpha: BOUNDED = 0.2,
    /// β (default 0.5), within ±2^64.
    beta: BOUNDED = 0.5,
} => {
    name: "hard_sigmoid_affine",
    joint: alpha != 0.0 => alpha: "nonzero",
    kernel: Chosen::HardSigmoidAffine(linear::HardSigmoidAffine { alpha, beta }),
    kernels: [HardSigmoidAffine(linear::HardSigmoidAffine) from_output_if(|_| true)],
    reference: |x| reference::hard_sigmoid_affine(x, alpha as f64, beta as f64),
        |x| reference::hard_sigmoid_affine_prime(x, alpha as f64, beta as f64),
    limits: [(alpha < 0.0) as i32 as f64, (alpha > 0.0) as i32 as f64, 0.0, 0.0],
    exact: false,
    roots: |_| None,
    keeps_negative_zero: false,
    output: move |y| inside(y, 0.0, 1.0) * alpha as f64, slope: |_| 0.0, piece: |y| between(y, 0.0, 1.0),
    naive: move |v| (alpha * v + beta).clamp(0.0, 1.0), move |v, g| {
        let t = alpha * v + beta;
        if t > 0.0 && t < 1.0 { g * alpha } else { 0.0 }
    },
    plot: "logistic" with Activation::HardSigmoidAffine { alpha: 0.2, beta: 0.5 },
}

/// γ·x for x > 0, γ·α·(e^x − 1) otherwise: ONNX's `Selu` with its attributes (defaults, f32:
/// α = 1.67326319217681884765625, γ = 1.05070102214813232421875); [`Activation::Selu`] keeps
/// the full-precision constants. f' = γ for x > 0, γ·α·e^x for x ≤ 0. The kernel is SELU's,
/// with the same bounds.
SeluScaled {
    /// α (default ONNX's), > 0, with γ·α at most 2^64.
    alpha: ELU_ALPHA = 1.673_263_2,
    /// γ (default ONNX's), > 0 and at most 2^64.
    gamma: ELU_ALPHA = 1.050_701,
} => {
    name: "selu_scaled",
    joint: registry::exp_linear_slope_ok(alpha as f64 * gamma as f64) => alpha: "such that γ·α ≤ 2^64",
    kernel: Chosen::SeluScaled(elu::ExpLinear::selu_scaled(alpha, gamma)),
    kernels: [SeluScaled(elu::ExpLinear) from_output_if(|_| true)],
    reference: |x| gamma as f64 * reference::elu(x, alpha as f64),
        |x| gamma as f64 * reference::elu_prime(x, alpha as f64),
    limits: [-(alpha as f64 * gamma as f64), f64::INFINITY, 0.0, gamma as f64],
    exact: false,
    roots: |_| None,
    keeps_negative_zero: true,
    output: move |y| exp_linear(y, gamma as f64, gamma as f64 * alpha as f64, 1.0),
        slope: |y| if y <= 0.0 { 1.0 } else { 0.0 }, piece: |y| (y > 0.0) as i32,
    naive: move |v| gamma * if v > 0.0 { v } else { alpha * v.exp_m1() },
        move |v, g| g * gamma * if v > 0.0 { 1.0 } else { alpha * v.exp() },
    plot: "exp_linear" with Activation::SeluScaled { alpha: 1.673_263_2, gamma: 1.050_701 },
}

/// x where x > α, 0 elsewhere: ONNX's `ThresholdedRelu` (default α = 1). f' = 1 where x > α,
/// 0 elsewhere (at x = α too). Exact.
ThresholdedRelu {
    /// α (default 1).
    alpha: FINITE = 1.0,
} => {
    name: "thresholded_relu",
    kernel: Chosen::ThresholdedRelu(linear::Thresholded { alpha }),
    kernels: [ThresholdedRelu(linear::Thresholded)],
    reference: |x| if x > alpha as f64 { x } else { 0.0 }, |x| if x > alpha as f64 { 1.0 } else { 0.0 },
    limits: [0.0, f64::INFINITY, 0.0, 1.0],
    exact: true,
    roots: |_| None,
    keeps_negative_zero: false,
    naive: move |v| if v > alpha { v } else { 0.0 }, move |v, g| if v > alpha { g } else { 0.0 },
    plot: "relu" with Activation::ThresholdedRelu { alpha: 1.0 },
}
        }
    };
}
pub(crate) use for_each_activation;
