//! The crate's internals, for its own tests, examples, benches and fuzz targets (feature
//! `internals`, off by default; the crate's dev-dependencies turn it on). Not part of the
//! stable API: anything here may change in any release.
//!
//! - [`reference`](mod@reference): the f64 reference of every kernel, written from the formulas, and the
//!   accuracy bounds the tests hold the kernels to;
//! - [`activations`]: the activation registry's oracle side (parameters and their ranges,
//!   limits, properties, naive loops, plot settings), one generated match per question;
//! - [`probe`]: the math core's functions as kernels over slices, on any ISA;
//! - [`speed_rows`] (feature `std`): the optimizer rows of the `speed` example and the benches;
//! - `Path` (feature `half`): every bf16/f16 conversion path, including those no tier picks.

pub mod activations;
pub mod probe;

/// The f64 reference and the accuracy bounds, with the activation-level oracle of
/// [`activations`].
pub mod reference {
    pub use super::activations::{
        backward_ok, derivative, derivative_limit, forward, forward_bound, forward_limit,
        has_cancelling_roots, keeps_negative_zero, near_root, near_root_abs, output_derivative,
    };
    pub use crate::reference::*;
}

#[cfg(feature = "half")]
pub use crate::convert::Path;
#[cfg(feature = "std")]
pub use crate::optim::registry::speed_rows;
