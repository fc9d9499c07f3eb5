//! Activations for the fuzz targets: decoding one with its parameters, the parameter rules of
//! the activation registry (`nnsimd::internals::activations`), and the ISA-against-scalar and
//! against-oracle checks with the test suite's bounds.

use crate::common::{self, ulp32};
use crate::input::any_f32;
use arbitrary::{Result, Unstructured};
use nnsimd::internals::activations;
use nnsimd::internals::reference::{self, BACKWARD_BOUND, forward_bound};
use nnsimd::{Activation, Error};

/// How an activation's parameters were chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Params {
    /// PyTorch's defaults (`Activation::all()`).
    Default,
    /// Moderate values, mostly valid: magnitudes in [1/16, 16), signed where a sign is allowed.
    Plausible,
    /// Each parameter at an end of its accepted range or at its default, where the accuracy
    /// claim holds as well.
    Extreme,
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
    let mode = match u.int_in_range(0u8..=4)? {
        0 | 1 => Params::Default,
        2 => Params::Plausible,
        3 => Params::Extreme,
        _ => Params::Raw,
    };
    if mode == Params::Default {
        return Ok((a, mode));
    }
    // Every parameter of the registry, in its order; signed where its range allows a sign.
    let mut values = Vec::new();
    for param in activations::params(&a) {
        values.push(match mode {
            Params::Raw => any_f32(u)?,
            Params::Extreme => *u.choose(&[param.min, param.max, param.default])?,
            _ => plausible(u, param.min < 0.0)?,
        });
    }
    let a = activations::with_params(&a, &values);
    Ok((a, mode))
}

/// Parameters at fault, as (name, value).
pub type BadParams = Vec<(&'static str, f32)>;

/// The parameters of `a` that break the registry's rules (each finite and within its range, in
/// the order the crate checks them; then the joint condition, hard-tanh's min < max and PELU's
/// a/b in [2^-126, 2^64], whose fault the registry names).
pub fn bad_params(a: &Activation) -> BadParams {
    let out_of_range: BadParams = activations::params(a)
        .into_iter()
        .filter(|p| !(p.value.is_finite() && p.min <= p.value && p.value <= p.max))
        .map(|p| (p.name, p.value))
        .collect();
    if out_of_range.is_empty() { activations::joint_fault(a).into_iter().collect() } else { out_of_range }
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
    if x.is_finite() && reference::near_root(a, x, reference::derivative(a, x as f64)) {
        tol += 2.0 * reference::near_root_abs(a) * dy;
    }
    d <= tol
}
