//! Loss functions with PyTorch's semantics (`torch.nn.functional`): the loss, and with
//! `forward_backward` its gradient written in the same pass.
//!
//! - Over classes: [`CrossEntropy`] (logits and class indices, with class weights, an ignored
//!   index and label smoothing, or probability targets) and [`Nll`] (log-probabilities), along
//!   the class axis of `[N, C]` or `[N, C, d1, …]` arrays as [`Softmax::along`] reads them.
//! - Element-wise, fused with their reduction: [`Mse`], [`L1`], [`Huber`], [`SmoothL1`],
//!   [`Bce`], [`BceWithLogits`] and [`KlDiv`].
//!
//! Each is a small struct of PyTorch's arguments (public fields, `Default` being PyTorch's
//! defaults) with four methods, each also as `_with(isa, …)`:
//!
//! | method | reduction | returns | writes |
//! |---|---|---|---|
//! | `forward` | `Sum`, `Mean`, `BatchMean` | the loss | nothing |
//! | `forward_backward` | `Sum`, `Mean`, `BatchMean` | the loss | the gradient for an upstream gradient of 1 |
//! | `forward_none` | `None` | — | each element's (each row's) loss |
//! | `forward_backward_none` | `None` | — | the losses, and the gradient for the upstream gradients `dloss` |
//!
//! A method called with the other kind of reduction is [`Error::Reduction`]. Predictions and
//! logits may be f32, bf16 or f16 ([`Element`](crate::Element)), computed in f32 with the
//! gradient rounded once into their type; losses are f32.
//!
//! # Reductions
//!
//! A sum is taken in fixed pieces of [`CHUNK`](crate::CHUNK) elements (or whole rows), each
//! summed in double f32 and carried on in f64, the pieces added in index order: the loss is
//! bitwise the same for any thread count, and within 2 ULP plus 2^-23·Σ|term| of the exact sum
//! of the exact terms. `Mean` divides by the number of elements (cross-entropy and NLL over
//! class indices: by the summed weights of the targets that are not ignored), `BatchMean(n)` by
//! `n` (PyTorch's `batchmean` for [`KlDiv`]: the first dimension).
//!
//! # Errors and special values
//!
//! Lengths, shapes, parameters and class indices are checked before anything is written: a
//! target outside `[0, C)` that is not the ignored index is [`Error::TargetOutOfRange`] with its
//! position, a prediction of [`Bce`] outside [0, 1] (NaN included) is
//! [`Error::InvalidInput`], as PyTorch raises. NaN or ±inf elsewhere is data: it propagates as
//! in PyTorch.
//!
//! [`Softmax::along`]: crate::Softmax::along

mod classes;
mod cross_entropy;
mod drive;
mod elementwise;
mod nll;
mod pointwise;

pub use cross_entropy::{CrossEntropy, SoftCrossEntropy};
pub use elementwise::{Bce, BceWithLogits, Huber, KlDiv, L1, Mse, SmoothL1};
pub use nll::Nll;

use crate::error::{Error, check_len};

/// How the per-element (per-row) losses are combined, as PyTorch's `reduction` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// No reduction: each element's (row's) loss, written by the `_none` methods.
    None,
    /// Their sum.
    Sum,
    /// Their mean (cross-entropy and NLL over class indices: the sum divided by the summed
    /// weights of the targets that are not ignored). PyTorch's default.
    #[default]
    Mean,
    /// The sum divided by a batch size `n > 0`, as PyTorch's `kl_div(reduction="batchmean")`
    /// divides by the first dimension.
    BatchMean(usize),
}

impl Reduction {
    /// Checks that the reduction is one that sums (`reduced`) or not, and that a batch size
    /// is positive.
    pub(crate) fn check(self, reduced: bool) -> Result<(), Error> {
        match (self, reduced) {
            (Reduction::None, true) => Err(Error::Reduction(
                "this method reduces: use a reduction other than None, or the _none methods",
            )),
            (Reduction::None, false) => Ok(()),
            (_, false) => Err(Error::Reduction("the _none methods need Reduction::None")),
            (Reduction::BatchMean(0), _) => {
                Err(Error::InvalidParameter { name: "batch", value: 0.0, expected: "> 0" })
            }
            _ => Ok(()),
        }
    }

    /// The factor that turns a sum into the reduced loss, given the mean's divisor.
    pub(crate) fn factor(self, mean_divisor: f64) -> f64 {
        match self {
            Reduction::None | Reduction::Sum => 1.0,
            Reduction::Mean => 1.0 / mean_divisor,
            Reduction::BatchMean(n) => 1.0 / n as f64,
        }
    }
}

/// Checks the lengths of the optional arguments: `dloss` and `loss` one per row (per element
/// for the element-wise losses), `grad` as the input (`n`).
pub(crate) fn out_lens<E>(
    n: usize,
    rows: usize,
    dloss: Option<&[f32]>,
    loss: Option<&[f32]>,
    grad: Option<&[E]>,
) -> Result<(), Error> {
    for (arg, len, want) in [
        ("dloss", dloss.map(<[f32]>::len), rows),
        ("loss", loss.map(<[f32]>::len), rows),
        ("grad", grad.map(<[E]>::len), n),
    ] {
        if let Some(len) = len {
            check_len(arg, want, len)?;
        }
    }
    Ok(())
}
