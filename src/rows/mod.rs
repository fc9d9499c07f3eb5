//! Row-wise kernels: softmax, log-softmax, logsumexp and hardmax, forward and backward, on
//! every ISA and element type.
//!
//! Each kernel runs along one axis of a row-major `[outer, len, inner]` array: `new(len)` for
//! rows of `len` contiguous elements (the last axis), `along(len, inner)` for an axis of length
//! `len` whose elements are `inner` apart (PyTorch's `dim`, ONNX's `axis`, at any position:
//! `inner` is the product of the dimensions after it). A slice holds any whole number of
//! `len · inner` blocks.
//!
//! # Method
//!
//! Three passes over a row: its maximum m; the sum Σ = Σ e^(x − m), with x − m carried exactly
//! (two f32, as the activations carry a large exponential's argument), summed in groups of four
//! terms whose sums are added exactly (two-sum), per lane, then across lanes and pieces in f64;
//! and the output. For f32 softmax the second pass stores the numerators e^(x − m) in y and the
//! third scales them by 1/Σ in place, so x is read twice and y written twice, in cache for any
//! row that fits. Log-softmax writes (x − m) − ln Σ, ln Σ in f64, and for the terms equal to the
//! maximum it counts them apart from the others' sum, so that ln Σ = log1p(count − 1 + others)
//! keeps its digits when one logit dominates (where PyTorch, even in f64, returns 0).
//! Backward reads the saved output: softmax dx = y·(dy − Σ dy·y), log-softmax
//! dx = dy − e^y·Σ dy, the sums as above.
//!
//! A row is cut into fixed pieces of [`CHUNK`](crate::CHUNK) elements whose sums are added in
//! order, and rows are split over threads whole: results are bitwise identical for any thread
//! count. A strided axis is computed one lane per row, with the same grouping.
//!
//! # Semantics (PyTorch's)
//!
//! −inf entries give exactly 0 (softmax) and −inf (log-softmax). A row holding NaN gives NaN
//! everywhere (logsumexp NaN); a row holding +inf gives NaN in softmax and log-softmax and +inf
//! in logsumexp; a row of −inf only gives NaN in softmax and log-softmax and −inf in
//! logsumexp. `len = 1` gives 1 and 0. bf16 and f16 rows are computed in f32 and rounded once
//! on store. Bad input (len or inner 0, a slice that is not a whole number of blocks,
//! mismatched slices, an unavailable ISA) is an [`Error`] with nothing written.
//!
//! # Accuracy
//!
//! Against an f64 reference on the same f32 inputs (the `ulp` example over random rows of
//! lengths 1 to 65,536, scales 0.1 to 100, masked rows and a dominant logit; measured figures
//! per ISA in the crate's `docs/ROWS.md`): softmax within 4 ULP; log-softmax within 4 ULP, or
//! 2^-22·(|x − m| + ln Σ) absolute; logsumexp within 2 ULP, or 2^-23·(|m| + ln Σ) absolute where
//! m + ln Σ cancels; backward within 8 ULP, or 2^-22·Σ|dy·s| absolute (s the softmax) where the
//! difference cancels.

mod hardmax;
mod plan;
pub(crate) mod row;
mod softmax;
pub(crate) mod stats;
pub(crate) mod tile;
mod vector;

pub use hardmax::Hardmax;
pub use softmax::{LogSoftmax, Softmax};

use crate::error::{Error, check_len};
use crate::isa::Isa;
use plan::Geometry;

/// Checks a geometry: `len` and `inner` nonzero, `len · inner` in `usize`.
fn geometry(len: usize, inner: usize) -> Result<Geometry, Error> {
    for (name, v) in [("len", len), ("inner", inner)] {
        if v == 0 {
            return Err(Error::InvalidParameter { name, value: 0.0, expected: "> 0" });
        }
    }
    len.checked_mul(inner).ok_or(Error::ShapeOverflow)?;
    Ok(Geometry { len, inner })
}

/// Checks `isa`, that `x` holds whole blocks of the geometry, and that every other slice in
/// `same` is as long as `x`.
fn check(
    isa: Isa,
    g: Geometry,
    x: (&'static str, usize),
    same: &[(&'static str, usize)],
) -> Result<(), Error> {
    isa.check()?;
    if !x.1.is_multiple_of(g.slab()) {
        return Err(Error::NotMultiple { arg: x.0, found: x.1, multiple_of: g.slab() });
    }
    for &(arg, n) in same {
        check_len(arg, x.1, n)?;
    }
    Ok(())
}
