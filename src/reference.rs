//! The f64 reference: every kernel written from its formula in f64, in numerically stable
//! forms (σ via e^(−|x|), e^x − 1 via expm1, tanh-GELU as x·σ(2u)), and the ULP metric of
//! DESIGN.md §5. It is the oracle of the tests and of the `ulp` example, and shares no code
//! with the kernels.

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

/// The math core's functions in f64, by the names of `nnsimd::internals::probe::NAMES`.
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

/// SELU's λ and α in f64 (Klambauer et al., 2017), written here apart from the kernels'.
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;
/// SELU's α.
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_2;

/// ±inf stands for ±1e100 in the reference: far past every kernel's saturation, yet small
/// enough that x³ and x·e^(−x) stay finite in f64, so the formulas give their limits (which
/// round to the f32 limits) instead of inf·0. The activation registry applies it (and NaN in,
/// NaN out) before calling the functions below.
pub fn finite(x: f64) -> f64 {
    x.clamp(-1e100, 1e100)
}

// Each activation's f and f' (PyTorch's side at kinks) of a finite x, its f32 parameters taken
// exactly as f64. The activation registry (src/activation/registry.rs) names them.

/// ELU: x for x > 0, α·(e^x − 1) otherwise.
pub fn elu(x: f64, alpha: f64) -> f64 {
    if x > 0.0 { x } else { alpha * libm::expm1(x) }
}

/// ELU's f'.
pub fn elu_prime(x: f64, alpha: f64) -> f64 {
    if x > 0.0 { 1.0 } else { alpha * libm::exp(x) }
}

/// SELU: λ·x for x > 0, λ·α·(e^x − 1) otherwise.
pub fn selu(x: f64) -> f64 {
    if x > 0.0 { SELU_LAMBDA * x } else { SELU_LAMBDA * SELU_ALPHA * libm::expm1(x) }
}

/// SELU's f'.
pub fn selu_prime(x: f64) -> f64 {
    if x > 0.0 { SELU_LAMBDA } else { SELU_LAMBDA * SELU_ALPHA * libm::exp(x) }
}

/// CELU: x for x > 0, α·(e^(x/α) − 1) otherwise.
pub fn celu(x: f64, alpha: f64) -> f64 {
    if x > 0.0 { x } else { alpha * libm::expm1(x / alpha) }
}

/// CELU's f'.
pub fn celu_prime(x: f64, alpha: f64) -> f64 {
    if x > 0.0 { 1.0 } else { libm::exp(x / alpha) }
}

/// PELU: (a/b)·x for x ≥ 0, a·(e^(x/b) − 1) otherwise.
pub fn pelu(x: f64, a: f64, b: f64) -> f64 {
    if x >= 0.0 { a / b * x } else { a * libm::expm1(x / b) }
}

/// PELU's f'.
pub fn pelu_prime(x: f64, a: f64, b: f64) -> f64 {
    if x > 0.0 { a / b } else { a / b * libm::exp(x / b) }
}

/// GELU: x·Φ(x), via erfc so that the negative tail is right.
pub fn gelu(x: f64) -> f64 {
    0.5 * x * libm::erfc(-x * core::f64::consts::FRAC_1_SQRT_2)
}

/// GELU's f': Φ(x) + x·φ(x).
pub fn gelu_prime(x: f64) -> f64 {
    let cdf = 0.5 * libm::erfc(-x * core::f64::consts::FRAC_1_SQRT_2);
    cdf + x * libm::exp(-0.5 * x * x) * 0.398_942_280_401_432_7
}

/// σ's f': σ(x)·σ(−x).
pub fn sigmoid_prime(x: f64) -> f64 {
    sigmoid(x) * sigmoid(-x)
}

/// SiLU: x·σ(x).
pub fn silu(x: f64) -> f64 {
    x * sigmoid(x)
}

/// d/dx of x·σ(x) (for Swish(β) at u = βx, which is the same function of u):
/// σ(u)·(1 + u·σ(−u)).
pub fn silu_prime(u: f64) -> f64 {
    sigmoid(u) * (1.0 + u * sigmoid(-u))
}

/// Swish: x·σ(βx).
pub fn swish(x: f64, beta: f64) -> f64 {
    x * sigmoid(beta * x)
}

/// Swish's f'.
pub fn swish_prime(x: f64, beta: f64) -> f64 {
    silu_prime(beta * x)
}

/// E-Swish: β·x·σ(x).
pub fn e_swish(x: f64, beta: f64) -> f64 {
    beta * x * sigmoid(x)
}

/// E-Swish's f'.
pub fn e_swish_prime(x: f64, beta: f64) -> f64 {
    beta * silu_prime(x)
}

/// ln σ(x) = −ln(1 + e^(−x)).
pub fn log_sigmoid(x: f64) -> f64 {
    -softplus(-x)
}

/// ln σ's f': σ(−x).
pub fn log_sigmoid_prime(x: f64) -> f64 {
    sigmoid(-x)
}

/// PyTorch's Softplus: ln(1 + e^(βx))/β, and x where βx > threshold.
pub fn softplus_thresholded(x: f64, beta: f64, threshold: f64) -> f64 {
    if past_threshold(x, beta, threshold) { x } else { softplus(beta * x) / beta }
}

/// PyTorch's Softplus's f': σ(βx), 1 past the threshold.
pub fn softplus_thresholded_prime(x: f64, beta: f64, threshold: f64) -> f64 {
    if past_threshold(x, beta, threshold) { 1.0 } else { sigmoid(beta * x) }
}

/// PyTorch's test βx > threshold, made on βx as an f32 tensor holds it: rounded to f32 (for f32
/// x and β, the f64 product is exact and rounding it once gives the f32 product).
fn past_threshold(x: f64, beta: f64, threshold: f64) -> bool {
    (beta * x) as f32 as f64 > threshold
}

/// tanh.
pub fn tanh(x: f64) -> f64 {
    libm::tanh(x)
}

/// tanh's f': 1 − tanh² = 4e^(−2|x|)/(1 + e^(−2|x|))², without cancellation.
pub fn tanh_prime(x: f64) -> f64 {
    let v = libm::exp(-2.0 * x.abs());
    4.0 * v / ((1.0 + v) * (1.0 + v))
}

/// Softsign: x/(1 + |x|).
pub fn softsign(x: f64) -> f64 {
    x / (1.0 + x.abs())
}

/// Softsign's f': 1/(1 + |x|)².
pub fn softsign_prime(x: f64) -> f64 {
    1.0 / ((1.0 + x.abs()) * (1.0 + x.abs()))
}

/// ReLU: max(x, 0).
pub fn relu(x: f64) -> f64 {
    if x > 0.0 { x } else { 0.0 }
}

/// ReLU's f' (0 at 0).
pub fn relu_prime(x: f64) -> f64 {
    if x > 0.0 { 1.0 } else { 0.0 }
}

/// ReLU6: clamp(x, 0, 6).
pub fn relu6(x: f64) -> f64 {
    x.clamp(0.0, 6.0)
}

/// ReLU6's f'.
pub fn relu6_prime(x: f64) -> f64 {
    inside(x, 0.0, 6.0)
}

/// Hard-tanh: clamp(x, min, max).
pub fn hard_tanh(x: f64, min: f64, max: f64) -> f64 {
    x.clamp(min, max)
}

/// Hard-tanh's f'.
pub fn hard_tanh_prime(x: f64, min: f64, max: f64) -> f64 {
    inside(x, min, max)
}

/// Leaky ReLU: x for x > 0, slope·x otherwise.
pub fn leaky_relu(x: f64, slope: f64) -> f64 {
    if x > 0.0 { x } else { slope * x }
}

/// Leaky ReLU's f'.
pub fn leaky_relu_prime(x: f64, slope: f64) -> f64 {
    if x > 0.0 { 1.0 } else { slope }
}

/// Hard-sigmoid: relu6(x + 3)/6.
pub fn hard_sigmoid(x: f64) -> f64 {
    (x + 3.0).clamp(0.0, 6.0) / 6.0
}

/// ONNX's hard-sigmoid: clamp(α·x + β, 0, 1).
pub fn hard_sigmoid_affine(x: f64, alpha: f64, beta: f64) -> f64 {
    (alpha * x + beta).clamp(0.0, 1.0)
}

/// Its f': α where α·x + β, rounded to f32 as the kernel and its output hold it, is inside
/// (0, 1).
pub fn hard_sigmoid_affine_prime(x: f64, alpha: f64, beta: f64) -> f64 {
    inside((alpha * x + beta) as f32 as f64, 0.0, 1.0) * alpha
}

/// Hard-sigmoid's f'.
pub fn hard_sigmoid_prime(x: f64) -> f64 {
    inside(x, -3.0, 3.0) / 6.0
}

/// Hard-swish: x·relu6(x + 3)/6.
pub fn hard_swish(x: f64) -> f64 {
    x * (x + 3.0).clamp(0.0, 6.0) / 6.0
}

/// Hard-swish's f' (PyTorch's choice at the ends).
pub fn hard_swish_prime(x: f64) -> f64 {
    if x < -3.0 {
        0.0
    } else if x <= 3.0 {
        (2.0 * x + 3.0) / 6.0
    } else {
        1.0
    }
}

/// Mish: x·tanh(ln(1 + e^x)).
pub fn mish(x: f64) -> f64 {
    x * libm::tanh(softplus(x))
}

/// Mish's f': ω + x·σ(x)·(1 − ω²).
pub fn mish_prime(x: f64) -> f64 {
    let w = libm::tanh(softplus(x));
    w + x * sigmoid(x) * (1.0 - w * w)
}

/// tanh-GELU as x·σ(2u), u = √(2/π)·(x + 0.044715·x³).
pub fn gelu_tanh(x: f64) -> f64 {
    x * sigmoid(2.0 * SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
}

/// tanh-GELU's f'.
pub fn gelu_tanh_prime(x: f64) -> f64 {
    let z = 2.0 * SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
    let dz = 2.0 * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x);
    let s = sigmoid(z);
    s + x * s * sigmoid(-z) * dz
}

/// 1 strictly inside (lo, hi), 0 at and beyond the ends (PyTorch's hardtanh_backward).
pub fn inside(x: f64, lo: f64, hi: f64) -> f64 {
    if lo < x && x < hi { 1.0 } else { 0.0 }
}

/// The backward bound in ULP (outside the near-root region).
pub const BACKWARD_BOUND: u64 = 8;
/// The absolute bound near roots of f': 2^-23.
pub const NEAR_ROOT_ABS: f64 = 1.0 / 8_388_608.0;

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
