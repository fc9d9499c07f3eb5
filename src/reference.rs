//! The f64 reference: every kernel written from its formula in f64, in numerically stable
//! forms (σ via e^(−|x|), e^x − 1 via expm1, tanh-GELU as x·σ(2u)), and the ULP metric of
//! DESIGN.md §5. It is the oracle of the tests and of the `ulp` example, and shares no code
//! with the kernels.

use crate::Activation;
use crate::activation::{SELU_ALPHA, SELU_LAMBDA};
pub use crate::ulp::ulp_distance;

/// σ(z) in f64 without overflow.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + libm::exp(-z))
    } else {
        let e = libm::exp(z);
        e / (1.0 + e)
    }
}

/// ln(1 + e^x) in f64 without overflow.
pub fn softplus(x: f64) -> f64 {
    if x > 30.0 { x + libm::log1p(libm::exp(-x)) } else { libm::log1p(libm::exp(x)) }
}

/// The math core's functions in f64, by the names of `nnsimd::math::probe::NAMES`.
pub fn math(name: &str, x: f64) -> Option<f64> {
    Some(match name {
        "exp" => libm::exp(x),
        "expm1" => libm::expm1(x),
        "tanh" => libm::tanh(x),
        "sigmoid" => sigmoid(x),
        "log1p" => libm::log1p(x),
        "log" => libm::log(x),
        "erf" => libm::erf(x),
        "erfc" => libm::erfc(x),
        "exp_table" => libm::exp(x.clamp(-87.0, 87.0)),
        _ => return None,
    })
}

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

/// ±inf stands for ±1e100 in the reference: far past every kernel's saturation, yet small
/// enough that x³ and x·e^(−x) stay finite in f64, so the formulas give their limits (which
/// round to the f32 limits) instead of inf·0.
fn finite(x: f64) -> f64 {
    x.clamp(-1e100, 1e100)
}

/// f(x) in f64 for an activation (its f32 parameters taken exactly), or None if the
/// reference does not cover it.
pub fn forward(act: &Activation, x: f64) -> Option<f64> {
    if x.is_nan() {
        return forward(act, 0.0).map(|_| f64::NAN);
    }
    let x = finite(x);
    Some(match *act {
        Activation::Elu { alpha } => {
            if x > 0.0 {
                x
            } else {
                alpha as f64 * libm::expm1(x)
            }
        }
        Activation::Selu => {
            if x > 0.0 {
                SELU_LAMBDA * x
            } else {
                SELU_LAMBDA * SELU_ALPHA * libm::expm1(x)
            }
        }
        Activation::Celu { alpha } => {
            let a = alpha as f64;
            if x > 0.0 { x } else { a * libm::expm1(x / a) }
        }
        Activation::Pelu { a, b } => {
            let (a, b) = (a as f64, b as f64);
            if x >= 0.0 { a / b * x } else { a * libm::expm1(x / b) }
        }
        Activation::Gelu => 0.5 * x * libm::erfc(-x * core::f64::consts::FRAC_1_SQRT_2),
        Activation::Sigmoid => sigmoid(x),
        Activation::Silu => x * sigmoid(x),
        Activation::Swish { beta } => x * sigmoid(beta as f64 * x),
        Activation::ESwish { beta } => beta as f64 * x * sigmoid(x),
        Activation::LogSigmoid => -softplus(-x),
        Activation::Softplus { beta, threshold } => {
            let u = beta as f64 * x;
            if u > threshold as f64 { x } else { softplus(u) / beta as f64 }
        }
        Activation::Tanh => libm::tanh(x),
        Activation::Softsign => x / (1.0 + x.abs()),
        Activation::Relu => {
            if x > 0.0 {
                x
            } else {
                0.0
            }
        }
        Activation::Relu6 => x.clamp(0.0, 6.0),
        Activation::HardTanh { min, max } => x.clamp(min as f64, max as f64),
        Activation::LeakyRelu { slope } => {
            if x > 0.0 {
                x
            } else {
                slope as f64 * x
            }
        }
        Activation::HardSigmoid => (x + 3.0).clamp(0.0, 6.0) / 6.0,
        Activation::HardSwish => x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
        Activation::Mish => x * libm::tanh(softplus(x)),
        Activation::GeluTanh => x * sigmoid(2.0 * SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)),
    })
}

/// f'(x) in f64 (PyTorch's side at kinks).
pub fn derivative(act: &Activation, x: f64) -> Option<f64> {
    if x.is_nan() {
        // NaN in, NaN out (DESIGN.md §5), also where PyTorch gives 0 or dy.
        return derivative(act, 0.0).map(|_| f64::NAN);
    }
    let x = finite(x);
    Some(match *act {
        Activation::Elu { alpha } => {
            if x > 0.0 {
                1.0
            } else {
                alpha as f64 * libm::exp(x)
            }
        }
        Activation::Selu => {
            if x > 0.0 {
                SELU_LAMBDA
            } else {
                SELU_LAMBDA * SELU_ALPHA * libm::exp(x)
            }
        }
        Activation::Celu { alpha } => {
            if x > 0.0 {
                1.0
            } else {
                libm::exp(x / alpha as f64)
            }
        }
        Activation::Pelu { a, b } => {
            let (a, b) = (a as f64, b as f64);
            if x > 0.0 { a / b } else { a / b * libm::exp(x / b) }
        }
        Activation::Gelu => {
            let cdf = 0.5 * libm::erfc(-x * core::f64::consts::FRAC_1_SQRT_2);
            cdf + x * libm::exp(-0.5 * x * x) * 0.398_942_280_401_432_7
        }
        Activation::Sigmoid => sigmoid(x) * sigmoid(-x),
        Activation::Silu => swish_derivative(x),
        Activation::Swish { beta } => swish_derivative(beta as f64 * x),
        Activation::ESwish { beta } => beta as f64 * swish_derivative(x),
        Activation::LogSigmoid => sigmoid(-x),
        Activation::Softplus { beta, threshold } => {
            let u = beta as f64 * x;
            if u > threshold as f64 { 1.0 } else { sigmoid(u) }
        }
        Activation::Tanh => {
            // 1 − tanh² = 4e^(−2|x|)/(1 + e^(−2|x|))², without cancellation
            let v = libm::exp(-2.0 * x.abs());
            4.0 * v / ((1.0 + v) * (1.0 + v))
        }
        Activation::Softsign => 1.0 / ((1.0 + x.abs()) * (1.0 + x.abs())),
        Activation::Relu => {
            if x > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::Relu6 => inside(x, 0.0, 6.0),
        Activation::HardTanh { min, max } => inside(x, min as f64, max as f64),
        Activation::LeakyRelu { slope } => {
            if x > 0.0 {
                1.0
            } else {
                slope as f64
            }
        }
        Activation::HardSigmoid => inside(x, -3.0, 3.0) / 6.0,
        Activation::HardSwish => {
            if x < -3.0 {
                0.0
            } else if x <= 3.0 {
                (2.0 * x + 3.0) / 6.0
            } else {
                1.0
            }
        }
        Activation::Mish => {
            let w = libm::tanh(softplus(x));
            w + x * sigmoid(x) * (1.0 - w * w)
        }
        Activation::GeluTanh => {
            let z = 2.0 * SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
            let dz = 2.0 * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x);
            let s = sigmoid(z);
            s + x * s * sigmoid(-z) * dz
        }
    })
}

/// d/dx of x·σ(x) at u (for Swish(β) at u = βx, which is the same function of u):
/// σ(u)·(1 + u·σ(−u)).
fn swish_derivative(u: f64) -> f64 {
    sigmoid(u) * (1.0 + u * sigmoid(-u))
}

/// 1 strictly inside (lo, hi), 0 at and beyond the ends (PyTorch's hardtanh_backward).
fn inside(x: f64, lo: f64, hi: f64) -> f64 {
    if lo < x && x < hi { 1.0 } else { 0.0 }
}

/// Whether f' of `act` has roots where its terms cancel, so that the absolute bound of
/// DESIGN.md §5 applies near them.
pub fn has_cancelling_roots(act: &Activation) -> bool {
    matches!(
        act,
        Activation::Silu
            | Activation::Swish { .. }
            | Activation::ESwish { .. }
            | Activation::Mish
            | Activation::Gelu
            | Activation::GeluTanh
            | Activation::HardSwish
    )
}

/// The forward bound in ULP: 0 for the piecewise-linear kernels, 4 otherwise.
pub fn forward_bound(act: &Activation) -> u64 {
    match act {
        Activation::Relu | Activation::Relu6 | Activation::LeakyRelu { .. } | Activation::HardTanh { .. } => {
            0
        }
        _ => 4,
    }
}

/// The backward bound in ULP (outside the near-root region).
pub const BACKWARD_BOUND: u64 = 8;
/// The absolute bound near roots of f': 2^-23.
pub const NEAR_ROOT_ABS: f64 = 1.0 / 8_388_608.0;

/// Whether `x` lies where DESIGN.md §5's absolute rule governs backward: near a root of f'
/// whose terms cancel, |f'(x)| < 2^-6 (`want` is the reference f'(x)) and |x| ≤ 4 (|βx| ≤ 4 for
/// Swish). There the error is measured in absolute terms, not in ULP.
pub fn near_root(act: &Activation, x: f32, want: f64) -> bool {
    let bx = match act {
        Activation::Swish { beta } => (x * beta) as f64,
        _ => x as f64,
    };
    has_cancelling_roots(act) && want.abs() < 1.0 / 64.0 && bx.abs() <= 4.0
}

/// Whether a backward result `got` for input `x` meets DESIGN.md §5's bound against the
/// reference derivative `want` (dy = 1): within 8 ULP, or within 2^-23 absolute where
/// [`near_root`] holds.
pub fn backward_ok(act: &Activation, x: f32, got: f32, want: f64) -> bool {
    ulp_distance(got, want) <= BACKWARD_BOUND
        || (near_root(act, x, want) && (got as f64 - want).abs() <= NEAR_ROOT_ABS)
}

/// RReLU's u for (seed, index), from the definition in `nnsimd::activation::unit_at`'s docs,
/// written apart from the kernels (32-bit words as u32, wrapping): the key from the seed and
/// the index's high half (SplitMix64's finaliser), the keyed 32-bit mixer, then the top 23
/// bits as a fraction.
pub fn rrelu_unit(seed: u64, index: u64) -> f64 {
    (counter_hash(seed, index) >> 9) as f64 * (1.0 / 8_388_608.0)
}

/// Output `j` of SplitMix64 from `seed`: its finaliser of `seed + j·0x9E3779B97F4A7C15`.
pub fn splitmix64(seed: u64, j: u64) -> u64 {
    let mut z = seed.wrapping_add(j.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    for (shift, mul) in [(30, 0xBF58_476D_1CE4_E5B9u64), (27, 0x94D0_49BB_1331_11EB)] {
        z = (z ^ (z >> shift)).wrapping_mul(mul);
    }
    z ^ (z >> 31)
}

/// The counter generator's 32-bit hash `h` of (seed, index), before RReLU takes its top 23
/// bits and the bf16 stochastic rounding its top 16.
pub fn counter_hash(seed: u64, index: u64) -> u32 {
    let z = splitmix64(seed, (index >> 32) + 1);
    let mut w = index as u32 ^ z as u32;
    w = (w ^ (w >> 16)).wrapping_mul(0x7FEB_352D);
    w = (w ^ (w >> 15) ^ (z >> 32) as u32).wrapping_mul(0x846C_A68B);
    w ^ (w >> 16)
}

/// RReLU's training forward in f64 at element `index`: x for x > 0, otherwise
/// x·(lower + (upper − lower)·u) with the exact slope (the kernel rounds it to f32).
pub fn rrelu_forward(lower: f32, upper: f32, seed: u64, index: u64, x: f64) -> f64 {
    if x > 0.0 || x.is_nan() {
        return x;
    }
    x * rrelu_slope(lower, upper, seed, index)
}

/// The exact training slope lower + (upper − lower)·u at element `index`.
pub fn rrelu_slope(lower: f32, upper: f32, seed: u64, index: u64) -> f64 {
    let (l, u) = (lower as f64, upper as f64);
    l + (u - l) * rrelu_unit(seed, index)
}
