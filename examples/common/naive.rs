//! The naive baselines of the `speed` example and the criterion benches: each activation as a
//! plain f32 loop over std's functions (libm's `erff` for GELU, which std lacks on stable), as a
//! user would write it by hand. One thread; the callers split the work where they want more.

// Each user needs only some of the loops.
#![allow(dead_code)]

use nnsimd::Activation;

#[inline(always)]
fn map1(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = f(v);
    }
}

#[inline(always)]
fn map2(x: &[f32], dy: &[f32], dx: &mut [f32], f: impl Fn(f32, f32) -> f32) {
    for ((o, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
        *o = f(v, g);
    }
}

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

const SELU_LAMBDA: f32 = 1.050_701;
const SELU_ALPHA: f32 = 1.673_263_2;
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// y = f(x) as a plain f32 loop on one thread; false for an activation without a naive form.
pub fn naive_forward(act: Activation, x: &[f32], y: &mut [f32]) -> bool {
    match act {
        Activation::Sigmoid => map1(x, y, sigmoid),
        Activation::HardSigmoid => map1(x, y, |v| (v + 3.0).clamp(0.0, 6.0) / 6.0),
        Activation::Softsign => map1(x, y, |v| v / (1.0 + v.abs())),
        Activation::Tanh => map1(x, y, |v| v.tanh()),
        Activation::HardTanh { min, max } => map1(x, y, move |v| v.max(min).min(max)),
        Activation::Relu => map1(x, y, |v| v.max(0.0)),
        Activation::Relu6 => map1(x, y, |v| v.clamp(0.0, 6.0)),
        Activation::LeakyRelu { slope } => map1(x, y, move |v| if v > 0.0 { v } else { slope * v }),
        Activation::Softplus { beta, threshold } => {
            map1(x, y, move |v| if beta * v > threshold { v } else { (beta * v).exp().ln_1p() / beta })
        }
        Activation::Elu { alpha } => map1(x, y, move |v| if v > 0.0 { v } else { alpha * v.exp_m1() }),
        Activation::Celu { alpha } => {
            map1(x, y, move |v| if v > 0.0 { v } else { alpha * (v / alpha).exp_m1() })
        }
        Activation::Pelu { a, b } => {
            map1(x, y, move |v| if v >= 0.0 { a / b * v } else { a * (v / b).exp_m1() })
        }
        Activation::Selu => map1(x, y, |v| SELU_LAMBDA * if v > 0.0 { v } else { SELU_ALPHA * v.exp_m1() }),
        Activation::Silu => map1(x, y, |v| v / (1.0 + (-v).exp())),
        Activation::Swish { beta } => map1(x, y, move |v| v / (1.0 + (-beta * v).exp())),
        Activation::ESwish { beta } => map1(x, y, move |v| beta * v / (1.0 + (-v).exp())),
        Activation::HardSwish => map1(x, y, |v| v * (v + 3.0).clamp(0.0, 6.0) / 6.0),
        Activation::Mish => map1(x, y, |v| v * (v.exp().ln_1p()).tanh()),
        Activation::Gelu => map1(x, y, |v| 0.5 * v * (1.0 + libm::erff(v * FRAC_1_SQRT_2))),
        Activation::GeluTanh => {
            map1(x, y, |v| 0.5 * v * (1.0 + (SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)).tanh()))
        }
        Activation::LogSigmoid => map1(x, y, |v| -((-v).exp().ln_1p())),
        _ => return false,
    }
    true
}

/// dx = dy·f'(x) as a plain f32 loop on one thread; false for an activation without a naive form.
pub fn naive_backward(act: Activation, x: &[f32], dy: &[f32], dx: &mut [f32]) -> bool {
    match act {
        Activation::Sigmoid => map2(x, dy, dx, |v, g| {
            let s = sigmoid(v);
            g * s * (1.0 - s)
        }),
        Activation::HardSigmoid => map2(x, dy, dx, |v, g| if v > -3.0 && v < 3.0 { g / 6.0 } else { 0.0 }),
        Activation::Softsign => map2(x, dy, dx, |v, g| {
            let d = 1.0 + v.abs();
            g / (d * d)
        }),
        Activation::Tanh => map2(x, dy, dx, |v, g| {
            let th = v.tanh();
            g * (1.0 - th * th)
        }),
        Activation::HardTanh { min, max } => {
            map2(x, dy, dx, move |v, g| if v > min && v < max { g } else { 0.0 })
        }
        Activation::Relu => map2(x, dy, dx, |v, g| if v > 0.0 { g } else { 0.0 }),
        Activation::Relu6 => map2(x, dy, dx, |v, g| if v > 0.0 && v < 6.0 { g } else { 0.0 }),
        Activation::LeakyRelu { slope } => map2(x, dy, dx, move |v, g| if v > 0.0 { g } else { slope * g }),
        Activation::Softplus { beta, threshold } => {
            map2(x, dy, dx, move |v, g| if beta * v > threshold { g } else { g * sigmoid(beta * v) })
        }
        Activation::Elu { alpha } => {
            map2(x, dy, dx, move |v, g| if v > 0.0 { g } else { g * alpha * v.exp() })
        }
        Activation::Celu { alpha } => {
            map2(x, dy, dx, move |v, g| if v > 0.0 { g } else { g * (v / alpha).exp() })
        }
        Activation::Pelu { a, b } => {
            map2(x, dy, dx, move |v, g| if v >= 0.0 { g * a / b } else { g * a / b * (v / b).exp() })
        }
        Activation::Selu => {
            map2(x, dy, dx, |v, g| g * if v > 0.0 { SELU_LAMBDA } else { SELU_LAMBDA * SELU_ALPHA * v.exp() })
        }
        Activation::Silu => map2(x, dy, dx, |v, g| {
            let s = sigmoid(v);
            g * s * (1.0 + v * (1.0 - s))
        }),
        Activation::Swish { beta } => map2(x, dy, dx, move |v, g| {
            let s = sigmoid(beta * v);
            g * (s + beta * v * s * (1.0 - s))
        }),
        Activation::ESwish { beta } => map2(x, dy, dx, move |v, g| {
            let s = sigmoid(v);
            g * beta * (s + v * s * (1.0 - s))
        }),
        Activation::HardSwish => map2(x, dy, dx, |v, g| {
            if v < -3.0 {
                0.0
            } else if v > 3.0 {
                g
            } else {
                g * (2.0 * v + 3.0) / 6.0
            }
        }),
        Activation::Mish => map2(x, dy, dx, |v, g| {
            let w = v.exp().ln_1p().tanh();
            g * (w + v * sigmoid(v) * (1.0 - w * w))
        }),
        Activation::Gelu => map2(x, dy, dx, |v, g| {
            let cdf = 0.5 * (1.0 + libm::erff(v * FRAC_1_SQRT_2));
            g * (cdf + v * FRAC_1_SQRT_2PI * (-0.5 * v * v).exp())
        }),
        Activation::GeluTanh => map2(x, dy, dx, |v, g| {
            let th = (SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)).tanh();
            let du = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * v * v);
            g * (0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * du)
        }),
        Activation::LogSigmoid => map2(x, dy, dx, |v, g| g / (1.0 + v.exp())),
        _ => return false,
    }
    true
}
