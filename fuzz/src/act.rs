//! Activations for the fuzz targets: decoding one with its parameters, the parameter rules of
//! DESIGN.md §4 written out independently of the crate, and the ISA-against-scalar and
//! against-oracle checks with the test suite's bounds.

use crate::common::{self, ulp32};
use crate::input::any_f32;
use arbitrary::{Result, Unstructured};
use nnsimd::internals::reference::{self, BACKWARD_BOUND, NEAR_ROOT_ABS, forward_bound};
use nnsimd::{Activation, Error};

/// How an activation's parameters were chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Params {
    /// PyTorch's defaults (`Activation::all()`).
    Default,
    /// Moderate values, mostly valid: magnitudes in [1/16, 16), signed where a sign is allowed.
    Plausible,
    /// Any f32 (NaN, infinities, zero, negative, subnormal, huge).
    Raw,
}

/// A value in ±[1/16, 16) (or only positive), with 8 bits of mantissa.
pub fn plausible(u: &mut Unstructured, signed: bool) -> Result<f32> {
    let m = 1.0 + u.int_in_range(0u8..=255)? as f32 / 256.0;
    let v = m * (u.int_in_range(-4i8..=3)? as f32).exp2();
    Ok(if signed && u.arbitrary()? { -v } else { v })
}

/// An activation of `Activation::all()` with its parameters chosen per [`Params`].
pub fn activation(u: &mut Unstructured) -> Result<(Activation, Params)> {
    let all: Vec<Activation> = Activation::all().collect();
    let a = all[u.choose_index(all.len())?];
    let mode = match u.int_in_range(0u8..=3)? {
        0 | 1 => Params::Default,
        2 => Params::Plausible,
        _ => Params::Raw,
    };
    if mode == Params::Default {
        return Ok((a, mode));
    }
    let p = |u: &mut Unstructured, signed: bool| match mode {
        Params::Raw => any_f32(u),
        _ => plausible(u, signed),
    };
    // Variants added to the enum later keep their defaults until they are listed here.
    let a = match a {
        Activation::HardTanh { .. } => Activation::HardTanh { min: p(u, true)?, max: p(u, true)? },
        Activation::LeakyRelu { .. } => Activation::LeakyRelu { slope: p(u, true)? },
        Activation::Softplus { .. } => Activation::Softplus { beta: p(u, false)?, threshold: p(u, true)? },
        Activation::Elu { .. } => Activation::Elu { alpha: p(u, false)? },
        Activation::Celu { .. } => Activation::Celu { alpha: p(u, false)? },
        Activation::Pelu { .. } => Activation::Pelu { a: p(u, false)?, b: p(u, false)? },
        Activation::Swish { .. } => Activation::Swish { beta: p(u, false)? },
        Activation::ESwish { .. } => Activation::ESwish { beta: p(u, false)? },
        other => other,
    };
    Ok((a, mode))
}

/// Parameters at fault, as (name, value).
pub type BadParams = Vec<(&'static str, f32)>;

/// The parameters of `a` that break DESIGN.md §4's rules ("finite, sensible sign"; hard-tanh
/// needs min < max, and then both ends are at fault), or `None` for a variant this table does
/// not know (its result is then not judged).
pub fn bad_params(a: &Activation) -> Option<BadParams> {
    let finite = |n, v: f32| (!v.is_finite()).then_some((n, v));
    let positive = |n, v: f32| (!(v.is_finite() && v > 0.0)).then_some((n, v));
    let within = |n, v: f32, lo: f32, hi: f32| (!(v.is_finite() && lo <= v && v <= hi)).then_some((n, v));
    // The bounds DESIGN.md §4 adds for the exponential-linear family and E-Swish.
    let (slope_max, tiny) = (2f32.powi(64), f32::MIN_POSITIVE);
    let bad: Vec<Option<(&'static str, f32)>> = match *a {
        Activation::HardTanh { min, max } => {
            if min.is_finite() && max.is_finite() && min >= max {
                vec![Some(("min", min)), Some(("max", max))]
            } else {
                vec![finite("min", min), finite("max", max)]
            }
        }
        Activation::LeakyRelu { slope } => vec![finite("slope", slope)],
        Activation::Softplus { beta, threshold } => {
            vec![positive("beta", beta), finite("threshold", threshold)]
        }
        Activation::Elu { alpha } => vec![within("alpha", alpha, 1e-45, slope_max)],
        Activation::Celu { alpha } => vec![within("alpha", alpha, tiny, f32::MAX)],
        Activation::Pelu { a, b } => {
            let (bad_a, bad_b) = (positive("a", a), within("b", b, tiny, f32::MAX));
            // With a and b in range, a/b (rounded to f32) must be too.
            let slope = (a as f64 / b as f64) as f32;
            let bad_slope = (bad_a.is_none() && bad_b.is_none() && !(tiny <= slope && slope <= slope_max))
                .then_some(("a", a));
            vec![bad_a, bad_b, bad_slope]
        }
        Activation::Swish { beta } => vec![positive("beta", beta)],
        Activation::ESwish { beta } => vec![within("beta", beta, 1e-45, 65_536.0)],
        Activation::Sigmoid
        | Activation::HardSigmoid
        | Activation::Softsign
        | Activation::Tanh
        | Activation::Relu
        | Activation::Relu6
        | Activation::Selu
        | Activation::Silu
        | Activation::HardSwish
        | Activation::Mish
        | Activation::Gelu
        | Activation::GeluTanh
        | Activation::LogSigmoid => vec![],
        _ => return None,
    };
    Some(bad.into_iter().flatten().collect())
}

/// Whether `e` is the `InvalidParameter` error for one of the parameters in `bad`, carrying
/// that parameter's value.
pub fn is_param_error(e: &Error, bad: &[(&'static str, f32)]) -> bool {
    match e {
        Error::InvalidParameter { name, value, .. } => bad.iter().any(|&(n, v)| {
            n == *name && (value.to_bits() == (v as f64).to_bits() || (v.is_nan() && value.is_nan()))
        }),
        _ => false,
    }
}

/// Whether dy lies where the test suite measures backward (finite |dy| ≤ 1e4, or NaN):
/// outside it dy·f' may overflow, and the ISAs may then differ in inf against NaN.
pub fn dy_in_domain(dy: f32) -> bool {
    dy.is_nan() || dy.abs() <= 1e4
}

/// Whether the reference covers `a` at `x` (NaN and finite inputs, and ±inf where the
/// definitions give a limit).
fn reference_covers(a: &Activation, x: f32, forward: bool) -> bool {
    if reference::forward(a, 0.0).is_none() {
        return false;
    }
    if x.is_infinite() {
        let pos = x > 0.0;
        return if forward {
            common::forward_limit(a, pos).is_some()
        } else {
            common::derivative_limit(a, pos).is_some()
        };
    }
    true
}

/// A forward result against the oracle, with the test suite's bound (`forward_bound` ULP).
pub fn forward_ok(a: &Activation, x: f32, y: f32) -> bool {
    !reference_covers(a, x, true)
        || reference::ulp_distance(y, common::oracle_forward(a, x)) <= forward_bound(a)
}

/// A backward result against the oracle, with the test suite's rule (`backward_dy_ok`).
pub fn backward_ok(a: &Activation, x: f32, dy: f32, dx: f32) -> bool {
    !reference_covers(a, x, false) || !dy_in_domain(dy) || common::backward_dy_ok(a, x, dy, dx)
}

/// Two forward results (an ISA's, the scalar backend's) within 2·`forward_bound` ULP of each
/// other, the bound of `isas_agree_with_scalar` (NaN agrees only with NaN).
pub fn forward_agree(a: &Activation, y: f32, y0: f32) -> bool {
    ulp32(y, y0) <= 2 * forward_bound(a)
}

/// Two backward results (an ISA's, the scalar backend's) within what two results that each
/// pass `backward_dy_ok` may differ by: each is dy·g rounded (±1 ULP) with g within 8 ULP of
/// f', so |dx − dx0| ≤ (2·8 + 2·2)·2^-23·max(|dx|, |dx0|), plus 2^-149 per ULP where f' or dx is
/// subnormal, plus 2·2^-23·|dy| near a root of f' (the absolute rule). NaN agrees only with NaN
/// (of any sign and payload).
pub fn backward_agree(a: &Activation, x: f32, dy: f32, dx: f32, dx0: f32) -> bool {
    if !dy_in_domain(dy) || dx.to_bits() == dx0.to_bits() || (dx.is_nan() && dx0.is_nan()) {
        return true;
    }
    if dx.is_nan() || dx0.is_nan() {
        return false;
    }
    const ULP1: f64 = f32::EPSILON as f64;
    const TINY: f64 = 1.401_298_464_324_817e-45;
    let (d, big) = ((dx as f64 - dx0 as f64).abs(), dx.abs().max(dx0.abs()) as f64);
    let dy = dy.abs() as f64;
    let mut tol =
        (2 * BACKWARD_BOUND + 4) as f64 * ULP1 * big + (2.0 * BACKWARD_BOUND as f64 * dy + 4.0) * TINY;
    if x.is_finite() && reference::derivative(a, x as f64).is_some_and(|w| reference::near_root(a, x, w)) {
        tol += 2.0 * NEAR_ROOT_ABS * dy;
    }
    d <= tol
}
