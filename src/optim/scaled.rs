//! Gradient scaling for mixed-precision training: a step from gradients that a loss scale S
//! multiplied, unscaled inside the update pass, and skipped when any gradient is not finite.

use super::Optimizer;
use super::typed::{Grads, Params, check_lengths};
use crate::drivers::finite::all_finite;
#[cfg(feature = "half")]
use crate::drivers::finite::all_finite_bits;
use crate::drivers::update::UpdateRule;
use crate::error::Error;
use crate::isa::Isa;
use crate::simd::Simd;

/// What [`Optimizer::step_scaled`] did.
///
/// A loop in the manner of PyTorch's `GradScaler` (scale S, a power of two, halved after a
/// skipped step, doubled after 2000 applied ones):
///
/// ```
/// use nnsimd::optim::{Adam, AdamConfig, Optimizer, Stepped};
///
/// let mut p = vec![0.5f32; 4];
/// let mut adam = Adam::new(AdamConfig::default(), p.len())?;
/// let (mut scale, mut good) = (65536.0f32, 0);
/// for step in 0..3 {
///     // The backward pass of loss·S; here the second one overflows.
///     let g: Vec<f32> = p.iter().map(|&x| if step == 1 { f32::INFINITY } else { x * scale }).collect();
///     match adam.step_scaled(&mut p, &g, 1.0 / scale)? {
///         Stepped::Applied => {
///             good += 1;
///             if good == 2000 {
///                 (scale, good) = (scale * 2.0, 0);
///             }
///         }
///         Stepped::Skipped => (scale, good) = (scale / 2.0, 0),
///     }
/// }
/// assert_eq!((adam.steps(), scale), (2, 32768.0));
/// # Ok::<(), nnsimd::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a skipped step usually means the loss scale should shrink"]
pub enum Stepped {
    /// Every gradient was finite: the step was taken from g·inv_scale.
    Applied,
    /// Some gradient was ±inf or NaN: parameters, state and step counter are unchanged
    /// (PyTorch's `GradScaler` skips `optimizer.step()` when it finds an inf).
    Skipped,
}

/// The gradients of a step (of any element type) and the factor that unscales them, inside
/// the update pass.
///
/// Public in a private module: no code outside the crate can name or build one, so the
/// [`Optimizer`] method that takes it seals the trait.
#[derive(Clone, Copy, Debug)]
pub struct Scaled<'a> {
    /// The gradients as stored (scaled).
    pub(crate) g: Grads<'a>,
    /// The factor 1/S, or `None` for gradients used as they are (the plain `step`).
    pub(crate) inv_scale: Option<f32>,
}

impl<'a> Scaled<'a> {
    /// Gradients used as they are.
    pub(crate) fn plain(g: Grads<'a>) -> Scaled<'a> {
        Scaled { g, inv_scale: None }
    }

    /// Gradients to be multiplied by `inv_scale` (checked by the caller). A factor of 1 takes
    /// the plain kernel: g·1 = g exactly, so the results are the same and the multiply is saved.
    pub(crate) fn by(g: Grads<'a>, inv_scale: f32) -> Scaled<'a> {
        Scaled { g, inv_scale: (inv_scale != 1.0).then_some(inv_scale) }
    }
}

/// `inv_scale` if it is finite and > 0, else [`Error::InvalidParameter`].
pub(crate) fn check_inv_scale(inv_scale: f32) -> Result<f32, Error> {
    if inv_scale.is_finite() && inv_scale > 0.0 {
        Ok(inv_scale)
    } else {
        Err(Error::InvalidParameter {
            name: "inv_scale",
            value: inv_scale as f64,
            expected: "finite and > 0",
        })
    }
}

/// An update run on g·`inv_scale` (rounded to f32) instead of g: the multiply is folded into
/// the update pass, so no scaled copy of the gradients is written.
#[derive(Clone, Copy)]
pub(crate) struct Unscaled<K> {
    pub(crate) k: K,
    pub(crate) inv_scale: f32,
}

impl<K: UpdateRule<N>, const N: usize> UpdateRule<N> for Unscaled<K> {
    #[inline(always)]
    fn update<S: Simd>(&self, s: S, p: S::V, g: S::V, st: &mut [S::V; N]) -> S::V {
        self.k.update(s, p, s.mul(g, s.splat(self.inv_scale)), st)
    }
}

/// [`Optimizer::step_scaled_typed`] (and through it `step_scaled_with`), for every optimizer:
/// the checks, the read-only finite pass over `grads`, then the optimizer's own step on
/// g·`inv_scale`.
pub(crate) fn step_scaled<O: Optimizer + ?Sized>(
    o: &mut O,
    isa: Isa,
    params: Params<'_>,
    grads: Grads<'_>,
    inv_scale: f32,
) -> Result<Stepped, Error> {
    let inv_scale = check_inv_scale(inv_scale)?;
    let isa = isa.check()?;
    check_lengths(&params, &grads, o.num_params())?;
    if !grads_finite(isa, &grads) {
        return Ok(Stepped::Skipped);
    }
    o.step_grads(isa, params, Scaled::by(grads, inv_scale))?;
    Ok(Stepped::Applied)
}

/// Whether every gradient is finite: the f32 check of [`all_finite`] for f32, and for the
/// 16-bit types a test of the exponent field on the bits (all ones for ±inf and NaN).
pub(crate) fn grads_finite(isa: Isa, grads: &Grads<'_>) -> bool {
    #[cfg(feature = "half")]
    use half::slice::HalfFloatSliceExt;
    match grads {
        Grads::F32(g) => all_finite(isa, g),
        #[cfg(feature = "half")]
        Grads::Bf16(g) => all_finite_bits(g.reinterpret_cast(), 0x7F80),
        #[cfg(feature = "half")]
        Grads::F16(g) => all_finite_bits(g.reinterpret_cast(), 0x7C00),
    }
}
