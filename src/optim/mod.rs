//! Fused optimizer steps with PyTorch's `torch.optim` semantics, on every ISA.
//!
//! Each optimizer has a config struct with PyTorch's argument names and defaults (`betas` split
//! into `beta1`, `beta2`), validated by its `new(config, len)` into an [`Error`], and a state
//! type that implements [`Optimizer`]. A step is one fused pass over parameters, gradients and
//! state: every element is read and written once, in SIMD with a partial tail.
//!
//! Hyperparameters are `f64`, as PyTorch's Python floats are: the per-step scalars (bias
//! corrections, effective learning rates, `1 − β`) are computed once per step in f64 and
//! rounded to f32 for the kernel, as PyTorch rounds a Python scalar into an f32 tensor op.
//! Every hyperparameter must therefore be finite in f32, not only in f64 (an lr or a weight
//! decay of 1e39 would reach the kernel as inf), and so must lr·weight_decay, the factor the
//! parameters shrink by per step: otherwise the constructor returns
//! [`Error::InvalidParameter`].
//!
//! Every check (ISA, lengths) happens before the first write: on `Err` neither parameters nor
//! state have changed, and the step counter has not advanced. Work is split over rayon (feature
//! `rayon`) in fixed chunks of [`CHUNK`](crate::CHUNK) elements, so the
//! results are bitwise identical for any number of threads. A step allocates nothing.
//!
//! Checkpoints: [`Optimizer::export`] gives the state as plain data (step count, named f64
//! scalars, named f32 buffers) and [`Optimizer::import`] takes it back after checking it, so a
//! resumed run is bitwise identical to an uninterrupted one.
//!
//! Mixed precision: [`Optimizer::step_scaled`] unscales the gradients inside the step and skips
//! it when one is not finite (PyTorch's `GradScaler`); [`step_multi`] steps many tensors in one
//! parallel pass (with [`step_multi_scaled`], one finite check over all of them);
//! [`Optimizer::step_typed`] takes bf16 / f16 gradients and bf16 parameters ([`Params`]:
//! stochastic rounding, or an f32 master with a bf16 copy), the state staying f32.
//!
//! The optimizers are registered in one place, from which [`Config`] and its list of names
//! ([`Config::NAMES`]) are generated. All but [`Adafactor`] are one generic type, [`Fused`], over
//! their configurations: they share the step (checks, per-step scalars, one fused pass, the
//! step counter) and differ only in their update rule and state.
//!
//! NaN: the updates are element-wise, so a NaN gradient poisons only its own parameter and
//! state elements; except in [`Adafactor`], whose norms spread it (see there).

mod adadelta;
mod adafactor;
mod adagrad;
mod adam;
mod adamax;
mod buffer;
mod fused;
#[cfg(feature = "half")]
mod half;
mod io;
mod lion;
mod multi;
mod nadam;
pub(crate) mod registry;
mod rmsprop;
#[cfg(feature = "half")]
mod rounding;
mod scaled;
mod sgd;
mod state;
mod typed;

pub use adadelta::{Adadelta, AdadeltaConfig};
pub use adafactor::{Adafactor, AdafactorConfig};
pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig, AdamWConfig};
pub use adamax::{Adamax, AdamaxConfig};
pub use fused::Fused;
pub use lion::{Lion, LionConfig};
pub use multi::{Tensor, step_multi, step_multi_scaled, step_multi_scaled_with, step_multi_with};
pub use nadam::{NAdam, NAdamConfig};
pub use registry::Config;
pub use rmsprop::{RmsProp, RmsPropConfig};
#[cfg(feature = "half")]
pub use rounding::{round_stochastic, stochastic_bits};
pub use scaled::Stepped;
pub use sgd::{Sgd, SgdConfig};
pub use typed::{Grads, Params};

use crate::error::Error;
use crate::isa::Isa;
use crate::simd::{Simd, neg};
use scaled::Scaled;

/// An optimizer that owns its state: a fused, in-place step over one parameter tensor.
///
/// The trait is sealed (its hidden method takes a type only this crate can build): the
/// optimizers of this module are its implementations.
pub trait Optimizer: Send {
    /// One step on the detected ISA ([`Isa::detect`]): updates `params` in place from `grads`.
    /// Both must have [`Optimizer::num_params`] elements, else [`Error::LengthMismatch`] and
    /// nothing changes.
    fn step(&mut self, params: &mut [f32], grads: &[f32]) -> Result<(), Error> {
        self.step_with(Isa::detect(), params, grads)
    }

    /// One step on `isa`: [`Error::IsaUnavailable`] if the CPU lacks it (nothing changes).
    fn step_with(&mut self, isa: Isa, params: &mut [f32], grads: &[f32]) -> Result<(), Error> {
        self.step_typed(isa, Params::F32(params), Grads::F32(grads))
    }

    /// One step on `isa` with parameters and gradients of any element type: bf16 or f16
    /// gradients, and bf16 parameters rounded stochastically or an f32 master with a bf16
    /// copy ([`Params`], feature `half`). The update is the f32 one, from f32 state, on the
    /// gradients widened exactly; with [`Params::F32`] and [`Grads::F32`] it is
    /// [`Optimizer::step_with`]. Lengths are checked as there (nothing changes on `Err`).
    /// [`Adafactor`], whose sweeps take f32 slices, converts through f32 scratch that it
    /// allocates at its first such step ([`Error::OutOfMemory`] if it cannot) and keeps.
    ///
    /// ```
    /// # #[cfg(feature = "half")] {
    /// use nnsimd::optim::{Adam, AdamConfig, Grads, Optimizer, Params};
    /// use nnsimd::{Isa, bf16};
    /// let mut opt = Adam::new(AdamConfig::default(), 3).unwrap();
    /// let mut p = [bf16::from_f32(1.0); 3];
    /// let g = [bf16::from_f32(0.5); 3];
    /// let params = Params::Stochastic { params: &mut p, seed: 42 };
    /// opt.step_typed(Isa::detect(), params, Grads::Bf16(&g)).unwrap();
    /// // 1 − 0.001 lies between the bf16 values 0.99609375 and 1.
    /// assert!(p.iter().all(|v| v.to_f32() == 1.0 || v.to_f32() == 0.99609375));
    /// # }
    /// ```
    fn step_typed(&mut self, isa: Isa, params: Params<'_>, grads: Grads<'_>) -> Result<(), Error> {
        self.step_grads(isa, params, Scaled::plain(grads))
    }

    /// One step from scaled gradients, on the detected ISA: PyTorch's `GradScaler.step`, whose
    /// `grads` are those of the loss multiplied by a scale S, and `inv_scale` = 1/S.
    ///
    /// First a read-only pass checks every gradient: if one is ±inf or NaN (the scale was too
    /// large, or the loss itself diverged), nothing is written (parameters, state, step counter)
    /// and the result is [`Stepped::Skipped`]. Otherwise the step is the plain
    /// [`step`](Optimizer::step) on g' = fl(g·inv_scale), the product rounded to f32 as
    /// PyTorch's `_amp_foreach_non_finite_check_and_unscale_` rounds it, computed inside the
    /// update pass (no unscaled copy of the gradients is written), and the result is
    /// [`Stepped::Applied`]. A step from g' is therefore bitwise the step from g·inv_scale
    /// computed beforehand, and where inv_scale is a power of two (as GradScaler's scales are)
    /// and g' normal, g' is exact: the step is the one from the unscaled gradients.
    ///
    /// `inv_scale` must be finite and > 0, else [`Error::InvalidParameter`]; lengths and ISA
    /// are checked as for `step`. Every check happens before the first write.
    ///
    /// The check is on g as given, as PyTorch's is: for inv_scale > 1 a finite g can give an
    /// infinite g' (|g| > f32::MAX/inv_scale); that step is applied with g' = ±inf and gives
    /// what [`step`](Optimizer::step) gives for that gradient (for Adam, a NaN parameter). With
    /// GradScaler's inv_scale ≤ 1 this cannot happen; g' may then underflow to a subnormal or
    /// to 0 (rounded, never flushed).
    ///
    /// The check costs one more read of the gradients: 4 bytes per parameter on top of the
    /// step's own traffic (Adam: 32 bytes instead of 28).
    fn step_scaled(&mut self, params: &mut [f32], grads: &[f32], inv_scale: f32) -> Result<Stepped, Error> {
        self.step_scaled_with(Isa::detect(), params, grads, inv_scale)
    }

    /// [`Optimizer::step_scaled`] on `isa`: [`Error::IsaUnavailable`] if the CPU lacks it.
    fn step_scaled_with(
        &mut self,
        isa: Isa,
        params: &mut [f32],
        grads: &[f32],
        inv_scale: f32,
    ) -> Result<Stepped, Error> {
        scaled::step_scaled(self, isa, Params::F32(params), Grads::F32(grads), inv_scale)
    }

    /// [`Optimizer::step_scaled_with`] on parameters and gradients of any element type, as
    /// [`Optimizer::step_typed`] takes them: the finite check reads the gradients as stored
    /// (for bf16 and f16, their exponent fields), and the step runs on the widened gradients
    /// times `inv_scale`, rounded to f32. Lengths and `inv_scale` are checked first, and on
    /// `Err` or [`Stepped::Skipped`] nothing has changed.
    fn step_scaled_typed(
        &mut self,
        isa: Isa,
        params: Params<'_>,
        grads: Grads<'_>,
        inv_scale: f32,
    ) -> Result<Stepped, Error> {
        scaled::step_scaled(self, isa, params, grads, inv_scale)
    }

    /// The step proper, on parameters and gradients of any type, the gradients possibly
    /// carrying an unscaling factor.
    #[doc(hidden)]
    fn step_grads(&mut self, isa: Isa, params: Params<'_>, grads: Scaled<'_>) -> Result<(), Error>;

    /// The number of parameters the state was built for.
    fn num_params(&self) -> usize;

    /// The number of steps taken so far.
    fn steps(&self) -> u64;

    /// The state as plain data, borrowed: the step count, the scalars and the per-element
    /// buffers, named after PyTorch's state keys. The hyperparameters are not part of it.
    fn export(&self) -> Checkpoint<'_>;

    /// Replaces the state by `checkpoint`, typically one that [`Optimizer::export`] gave for an
    /// optimizer built with the same configuration and length: the steps that follow are then
    /// bitwise identical to those the exporting optimizer would have taken. The checkpoint
    /// must have the same scalars and buffers, in the same order, with the same names and
    /// lengths, and finite scalars; otherwise [`Error::LengthMismatch`],
    /// [`Error::UnknownName`] or [`Error::InvalidParameter`], and nothing changes.
    ///
    /// The values are checked too, so that a corrupt or foreign checkpoint cannot poison the
    /// steps that follow: every buffer value must be finite, and those of a second moment
    /// (`exp_avg_sq`, `max_exp_avg_sq`, `square_avg`, `acc_delta`, `sum`, `exp_inf`, `row_var`,
    /// `col_var`, `variance`), whose square root the update takes, ≥ 0; else
    /// [`Error::InvalidInput`] naming the buffer and the first value at fault. `steps` must be
    /// below 2^53, where the f64 step arithmetic (bias corrections β^t) stops being exact;
    /// else [`Error::InvalidParameter`]. A state that steps themselves poisoned (an inf or NaN
    /// gradient leaves inf or NaN in the state) is therefore exported but not imported.
    fn import(&mut self, checkpoint: &Checkpoint<'_>) -> Result<(), Error>;
}

/// An optimizer's state as plain data, for checkpoints: what [`Optimizer::export`] gives and
/// [`Optimizer::import`] takes. To save it, store `steps`, each scalar and each buffer's
/// slice; to restore it, build the optimizer with the same configuration and import a
/// `Checkpoint` that borrows the loaded values.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint<'a> {
    /// Steps taken.
    pub steps: u64,
    /// Scalars carried from step to step, by name: NAdam's `mu_product`; empty for the others.
    pub scalars: Vec<(&'a str, f64)>,
    /// Per-element buffers, by name (`exp_avg`, `exp_avg_sq`, `momentum_buffer`, ...), in the
    /// order the optimizer documents; each has [`Optimizer::num_params`] elements, except
    /// Adafactor's `row_var` and `col_var` (one per row, one per column of each matrix).
    pub buffers: Vec<(&'a str, &'a [f32])>,
}

fn invalid(name: &'static str, value: f64, expected: &'static str) -> Error {
    Error::InvalidParameter { name, value, expected }
}

/// Whether `v` stays finite when rounded to f32, as the kernels take every hyperparameter and
/// every per-step scalar derived from it: a value finite in f64 but beyond f32's range (1e39)
/// would reach the update as ±inf and turn the parameters and state into infinities and NaN.
/// Every hyperparameter check requires it.
pub(crate) fn finite_in_f32(v: f64) -> bool {
    (v as f32).is_finite()
}

/// A learning rate, weight decay, eps, ...: ≥ 0 and finite in f32 ([`finite_in_f32`]).
pub(crate) fn non_negative(name: &'static str, v: f64) -> Result<f64, Error> {
    if finite_in_f32(v) && v >= 0.0 { Ok(v) } else { Err(invalid(name, v, "finite in f32 and >= 0")) }
}

/// A weight decay λ for the learning rate `lr` (checked before it): ≥ 0 and finite in f32, and
/// lr·λ finite in f32 too. Per step the parameters shrink by the factor 1 − lr·λ, decoupled
/// (p·(1 − lr·λ)) or through the gradient (p − lr·(g + λ·p)); a product beyond f32's range
/// would give ±inf there.
pub(crate) fn weight_decay(lr: f64, wd: f64) -> Result<f64, Error> {
    non_negative("weight_decay", wd)?;
    if finite_in_f32(lr * wd) {
        Ok(wd)
    } else {
        Err(invalid("weight_decay", wd, "such that lr * weight_decay is finite in f32"))
    }
}

/// A decay rate β: in [0, 1).
pub(crate) fn beta(name: &'static str, v: f64) -> Result<f64, Error> {
    if (0.0..1.0).contains(&v) { Ok(v) } else { Err(invalid(name, v, "in [0, 1)")) }
}

/// The checks of the Adam family (Adam, AdamW, Adamax, NAdam), in this order: lr, β1, β2, ε
/// and the weight decay.
pub(crate) fn adam_like(lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64) -> Result<(), Error> {
    non_negative("lr", lr)?;
    beta("beta1", beta1)?;
    beta("beta2", beta2)?;
    non_negative("eps", eps)?;
    self::weight_decay(lr, weight_decay)?;
    Ok(())
}

/// A weight in [0, 1] (dampening, RMSprop's α).
pub(crate) fn unit(name: &'static str, v: f64) -> Result<f64, Error> {
    if (0.0..=1.0).contains(&v) { Ok(v) } else { Err(invalid(name, v, "in [0, 1]")) }
}

/// The gradient as the update uses it, PyTorch's first two lines: −g with `maximize`, then
/// plus the L2 penalty λ·p when λ ≠ 0.
#[inline(always)]
pub(crate) fn penalized<S: Simd>(s: S, maximize: bool, wd: f32, p: S::V, g: S::V) -> S::V {
    let g = if maximize { neg(s, g) } else { g };
    if wd != 0.0 { s.fma(s.splat(wd), p, g) } else { g }
}

/// `len` copies of `init`, or [`Error::OutOfMemory`] (not an abort) if they do not fit.
pub(crate) fn filled(len: usize, init: f32) -> Result<Vec<f32>, Error> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Error::OutOfMemory { elements: len })?;
    v.resize(len, init);
    Ok(v)
}

/// Each state slice split at `at`: the first parts, and the rest.
#[cfg_attr(not(any(feature = "rayon", feature = "half")), allow(dead_code))]
pub(crate) fn split_state<const N: usize>(
    st: [&mut [f32]; N],
    at: usize,
) -> ([&mut [f32]; N], [&mut [f32]; N]) {
    let mut a: [&mut [f32]; N] = core::array::from_fn(|_| <&mut [f32]>::default());
    let mut b: [&mut [f32]; N] = core::array::from_fn(|_| <&mut [f32]>::default());
    for (j, s) in st.into_iter().enumerate() {
        (a[j], b[j]) = s.split_at_mut(at);
    }
    (a, b)
}
