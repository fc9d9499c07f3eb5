//! The multi-tensor step: one call steps many (parameters, gradients, optimizer) triples of any
//! sizes in one parallel pass, as PyTorch's `foreach` steps do.

use super::Optimizer;
use super::scaled::{Scaled, Stepped, check_inv_scale};
use super::typed::{Grads, Params};
use crate::drivers::finite::all_finite;
use crate::error::Error;
use crate::isa::Isa;
use crate::parallel::CHUNK;
use std::vec::Vec;

/// One tensor of a multi-tensor step: its parameters (updated in place), its gradients and the
/// optimizer that owns its state. `O` is any optimizer type, or `dyn Optimizer` for a mix.
pub type Tensor<'a, O> = (&'a mut [f32], &'a [f32], &'a mut O);

/// Steps every tensor of `tensors` once, on the detected ISA: see [`step_multi_with`].
///
/// ```
/// use nnsimd::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig, step_multi};
///
/// let (mut w, mut b) = (vec![0.1f32; 1000], vec![0.0f32; 10]);
/// let (gw, gb) = (vec![0.5f32; 1000], vec![-1.0f32; 10]);
/// let mut adam = Adam::new(AdamConfig::default(), w.len())?;
/// let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() }, b.len())?;
/// step_multi(&mut [
///     (&mut w[..], &gw[..], &mut adam as &mut dyn Optimizer),
///     (&mut b[..], &gb[..], &mut sgd),
/// ])?;
/// assert_eq!((adam.steps(), sgd.steps(), b[0]), (1, 1, 0.1));
/// # Ok::<(), nnsimd::Error>(())
/// ```
pub fn step_multi<O: Optimizer + ?Sized>(tensors: &mut [Tensor<'_, O>]) -> Result<(), Error> {
    step_multi_with(Isa::detect(), tensors)
}

/// Steps every tensor of `tensors` once, on `isa`, in one parallel pass.
///
/// Each tensor's result is bitwise the one its own [`Optimizer::step_with`] gives, for any
/// number of threads: the tensors are cut, in order and by their lengths alone, into units of
/// about [`CHUNK`] elements (consecutive small tensors share a unit, so that they do not each
/// cost a task; a tensor of two chunks or more is a unit of its own, whose step splits into
/// its fixed chunks as usual), and the units run on rayon's threads (feature `rayon`).
///
/// Every check comes first: the ISA ([`Error::IsaUnavailable`]), and each tensor's parameter
/// and gradient lengths against its optimizer's [`Optimizer::num_params`]
/// ([`Error::TensorLengthMismatch`], which names the tensor); on `Err` no tensor, state or
/// step counter has changed. The call allocates the list of units (one entry per unit).
pub fn step_multi_with<O: Optimizer + ?Sized>(isa: Isa, tensors: &mut [Tensor<'_, O>]) -> Result<(), Error> {
    multi(isa, tensors, None).map(|_| ())
}

/// [`step_multi_scaled_with`] on the detected ISA.
pub fn step_multi_scaled<O: Optimizer + ?Sized>(
    tensors: &mut [Tensor<'_, O>],
    inv_scale: f32,
) -> Result<Stepped, Error> {
    step_multi_scaled_with(Isa::detect(), tensors, inv_scale)
}

/// [`step_multi_with`] from scaled gradients, as [`Optimizer::step_scaled_with`] does for one
/// tensor, with one check over all of them: if any gradient of any tensor is ±inf or NaN, no
/// tensor is stepped and the result is [`Stepped::Skipped`] (PyTorch's `GradScaler`, whose one
/// `found_inf` covers all of an optimizer's parameters); otherwise every tensor steps on
/// fl(g·inv_scale) and the result is [`Stepped::Applied`]. `inv_scale` must be finite and > 0
/// ([`Error::InvalidParameter`], checked with the rest before anything is written).
pub fn step_multi_scaled_with<O: Optimizer + ?Sized>(
    isa: Isa,
    tensors: &mut [Tensor<'_, O>],
    inv_scale: f32,
) -> Result<Stepped, Error> {
    multi(isa, tensors, Some(inv_scale))
}

/// The checks, the finite check where there is a scale, and the steps.
fn multi<O: Optimizer + ?Sized>(
    isa: Isa,
    tensors: &mut [Tensor<'_, O>],
    inv_scale: Option<f32>,
) -> Result<Stepped, Error> {
    let inv_scale = inv_scale.map(check_inv_scale).transpose()?;
    let isa = isa.check()?;
    for (tensor, (p, g, o)) in tensors.iter().enumerate() {
        let expected = o.num_params();
        for (arg, found) in [("params", p.len()), ("grads", g.len())] {
            if found != expected {
                return Err(Error::TensorLengthMismatch { tensor, arg, expected, found });
            }
        }
    }
    let total = tensors.iter().fold(0usize, |n, t| n.saturating_add(t.0.len()));
    let ends = units(tensors.iter().map(|t| t.0.len()))?;
    if inv_scale.is_some() {
        let mut grads = Vec::new();
        grads.try_reserve_exact(tensors.len()).map_err(|_| Error::OutOfMemory { elements: tensors.len() })?;
        grads.extend(tensors.iter().map(|t| t.1));
        if !all_units(cut(&mut grads[..], &ends)?, total, &|u: &mut [&[f32]]| {
            u.iter().all(|g| all_finite(isa, g))
        }) {
            return Ok(Stepped::Skipped);
        }
    }
    let step = |u: &mut [Tensor<'_, O>]| -> Result<(), Error> {
        for (p, g, o) in u.iter_mut() {
            let g = match inv_scale {
                Some(c) => Scaled::by(Grads::F32(g), c),
                None => Scaled::plain(Grads::F32(g)),
            };
            o.step_grads(isa, Params::F32(p), g)?;
        }
        Ok(())
    };
    run(cut(tensors, &ends)?, total, &step)?;
    Ok(Stepped::Applied)
}

/// Where the units end, from the tensors' lengths alone, in order: a tensor of two chunks or
/// more alone, smaller ones together until the unit holds a chunk.
fn units(lens: impl Iterator<Item = usize>) -> Result<Vec<usize>, Error> {
    let (mut ends, mut sum) = (Vec::new(), 0usize);
    let oom = |_| Error::OutOfMemory { elements: 1 };
    for (i, n) in lens.enumerate() {
        if n >= 2 * CHUNK && sum > 0 {
            ends.try_reserve(1).map_err(oom)?;
            ends.push(i);
            sum = 0;
        }
        sum = sum.saturating_add(n);
        if sum >= CHUNK {
            ends.try_reserve(1).map_err(oom)?;
            ends.push(i + 1);
            sum = 0;
        }
    }
    if sum > 0 || ends.is_empty() {
        ends.try_reserve(1).map_err(oom)?;
        ends.push(usize::MAX);
    }
    Ok(ends)
}

/// `x` cut at `ends` (the last end may be past `x`).
fn cut<'s, T>(mut x: &'s mut [T], ends: &[usize]) -> Result<Vec<&'s mut [T]>, Error> {
    let mut out = Vec::new();
    out.try_reserve_exact(ends.len()).map_err(|_| Error::OutOfMemory { elements: ends.len() })?;
    let mut at = 0;
    for &end in ends {
        let len = end.min(at + x.len()) - at;
        let (head, rest) = core::mem::take(&mut x).split_at_mut(len);
        out.push(head);
        x = rest;
        at = end;
    }
    Ok(out)
}

/// Whether `f` holds for every unit, over threads where `total` elements are worth it.
fn all_units<T: Send>(units: Vec<&mut [T]>, total: usize, f: &(impl Fn(&mut [T]) -> bool + Sync)) -> bool {
    #[cfg(feature = "rayon")]
    if crate::parallel::parallel(total) {
        use rayon::prelude::*;
        return units.into_par_iter().all(f);
    }
    let _ = total;
    units.into_iter().all(f)
}

/// Runs `f` on every unit, over threads where `total` elements are worth it; the first error.
fn run<T: Send>(
    units: Vec<&mut [T]>,
    total: usize,
    f: &(impl Fn(&mut [T]) -> Result<(), Error> + Sync),
) -> Result<(), Error> {
    #[cfg(feature = "rayon")]
    if crate::parallel::parallel(total) {
        use rayon::prelude::*;
        return units.into_par_iter().try_for_each(f);
    }
    let _ = total;
    units.into_iter().try_for_each(f)
}
