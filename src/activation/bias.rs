//! An activation of a biased input, y = f(x + bias), fused into one pass over memory, with
//! the bias gradient summed in the backward pass.

use super::{Activation, Chosen};
use crate::drivers::fused::run_bias;
use crate::error::{Error, check_len};
use crate::isa::Isa;
use crate::parallel::{self, CHUNK, Parts};

/// The rows of x (of shape [rows, d]) for a bias of length d: errors for an empty bias and a
/// length that is not a whole number of rows.
fn bias_rows(n: usize, d: usize) -> Result<usize, Error> {
    if d == 0 {
        return Err(Error::InvalidParameter { name: "bias", value: 0.0, expected: "at least one element" });
    }
    if !n.is_multiple_of(d) {
        return Err(Error::NotMultiple { arg: "x", found: n, multiple_of: d });
    }
    Ok(n / d)
}

/// Fused bias and activation: y = f(x + bias), the bias broadcast over the last dimension
/// (x and y of shape [rows, d], bias of length d), as a linear layer's output feeds its
/// activation. Backward gives dx = dy·f'(x + bias) and the bias gradient
/// dbias\[j\] = Σ_rows dx\[r, j\].
///
/// Every activation can be fused (each has a parameter-free f and f' once its own parameters
/// are fixed; they are checked at each call as in [`Activation::forward`]).
///
/// Accuracy: x + bias is rounded to f32 first, as the unfused `f(x + bias)` does, and f and
/// f' are then the activation's own kernels at that sum, with their bounds (forward 4 ULP,
/// backward 8 ULP or 2^-23 near roots of f'): the fused result is bitwise the unfused one.
/// The bias gradient sums each column in double-f32 (about 48 bits) over pieces of whole rows
/// and adds the pieces in f64, in a fixed order: within 1/2 ULP of the exact sum of the dx
/// values plus about rows·2^-46·Σ|dx| (tests/bias.rs checks rows·2^-44), and bitwise the same
/// for any thread count. NaN in x, bias or dy gives NaN in what it enters (dbias of its
/// column included). An infinite dx decides its column's dbias (the sum of the infinite dx:
/// ±inf, or NaN for both signs), even where the finite dx overflow f32 in a partial sum.
///
/// Speed: one pass over memory; forward runs at the speed of [`Activation::forward`], backward
/// adds the double-f32 column sums (about half the speed of [`Activation::backward`] for silu
/// and relu at 64K elements with d = 64 on AVX-512, one thread). Each row is its own run of vectors, so a
/// narrow d (below the vector width, 32 lanes on AVX-512) leaves lanes idle.
impl Activation {
    /// y = f(x + bias) on the detected ISA: x and y of length rows·d, bias of length d ≥ 1.
    pub fn forward_bias(&self, x: &[f32], bias: &[f32], y: &mut [f32]) -> Result<(), Error> {
        self.forward_bias_with(Isa::detect(), x, bias, y)
    }

    /// [`Activation::forward_bias`] on `isa`.
    pub fn forward_bias_with(&self, isa: Isa, x: &[f32], bias: &[f32], y: &mut [f32]) -> Result<(), Error> {
        let isa = isa.check()?;
        let rows = bias_rows(x.len(), bias.len())?;
        check_len("y", x.len(), y.len())?;
        let k = self.kernel()?;
        let per = bias.len() * (CHUNK / bias.len()).max(1);
        let p = Parts { ins: [x], outs: [y], per_in: [per], per_out: [per] };
        let tasks = rows.div_ceil(per / bias.len());
        with_kernel!(&k, |k| parallel::run_parts(p, tasks, x.len(), &|p| {
            let Parts { ins: [x], outs: [y], .. } = p;
            run_bias(isa, k, x, bias, y)
        }));
        Ok(())
    }
}

#[cfg(feature = "std")]
mod back {
    use super::*;
    use crate::drivers::dsum::Total;
    use crate::drivers::fused::run_bias_back;
    use crate::error::try_filled;

    /// Elements per piece of the bias gradient (whole rows, at least one): each piece sums its
    /// columns on its own, then the pieces are added in order. A constant, so that the sums do
    /// not depend on the thread count.
    const PIECE: usize = 4 * CHUNK;

    impl Activation {
        /// dx = dy·f'(x + bias) and dbias\[j\] = Σ_r dx\[r, j\] (written, not added to), on the
        /// detected ISA: x, dy and dx of length rows·d, bias and dbias of length d ≥ 1.
        pub fn backward_bias(
            &self,
            x: &[f32],
            bias: &[f32],
            dy: &[f32],
            dx: &mut [f32],
            dbias: &mut [f32],
        ) -> Result<(), Error> {
            self.backward_bias_with(Isa::detect(), x, bias, dy, dx, dbias)
        }

        /// [`Activation::backward_bias`] on `isa`.
        pub fn backward_bias_with(
            &self,
            isa: Isa,
            x: &[f32],
            bias: &[f32],
            dy: &[f32],
            dx: &mut [f32],
            dbias: &mut [f32],
        ) -> Result<(), Error> {
            let isa = isa.check()?;
            let (n, d) = (x.len(), bias.len());
            let rows = bias_rows(n, d)?;
            check_len("dy", n, dy.len())?;
            check_len("dx", n, dx.len())?;
            check_len("dbias", d, dbias.len())?;
            let k = self.kernel()?;
            let per = d * PIECE.div_ceil(d);
            let pieces = rows.div_ceil(per / d);
            // Working memory before the first write: f64 totals, and the double-f32 sums
            // (h then l) of the pieces that run at once.
            let slots = pieces.min(2 * parallel::threads()).max(1);
            let mut total = try_filled(d, Total::default())?;
            let acc_len = d.checked_mul(2 * slots).ok_or(Error::OutOfMemory { elements: usize::MAX })?;
            let mut acc = try_filled(acc_len, 0.0f32)?;
            let mut first = 0;
            while first < pieces {
                let batch = slots.min(pieces - first);
                let (lo, hi) = (first * per, ((first + batch) * per).min(n));
                let acc = &mut acc[..2 * d * batch];
                acc.fill(0.0);
                let p = Parts {
                    ins: [&x[lo..hi], &dy[lo..hi]],
                    outs: [&mut dx[lo..hi], &mut *acc],
                    per_in: [per; 2],
                    per_out: [per, 2 * d],
                };
                with_kernel!(&k, |k| parallel::run_parts(p, batch, hi - lo, &|p| {
                    let Parts { ins: [x, dy], outs: [dx, acc], .. } = p;
                    let pieces = x.chunks(per).zip(dy.chunks(per)).zip(dx.chunks_mut(per));
                    for (((x, dy), dx), acc) in pieces.zip(acc.chunks_mut(2 * d)) {
                        run_bias_back(isa, k, x, bias, dy, dx, acc);
                    }
                }));
                // The pieces in order, whatever thread summed each.
                for acc in acc.chunks(2 * d) {
                    let (h, l) = acc.split_at(d);
                    for ((t, &h), &l) in total.iter_mut().zip(h).zip(l) {
                        *t += Total::lane(h, l);
                    }
                }
                first += batch;
            }
            for (db, t) in dbias.iter_mut().zip(&total) {
                *db = t.value();
            }
            Ok(())
        }
    }
}
