//! What a step reads and writes, by element type: [`Params`] (f32; with the feature `half`,
//! bf16 with stochastic rounding or an f32 master with a bf16 copy) and [`Grads`] (f32, bf16,
//! f16). These are plain data: the checked step that runs over them is `super::io`.

use crate::error::{Error, check_len};
#[cfg(feature = "half")]
use crate::{bf16, f16};

/// The parameters a step updates ([`Optimizer::step_typed`](super::Optimizer::step_typed)).
///
/// The update is always computed in f32 from f32 state (the moments stay f32); the variants
/// differ in how the f32 result `r` is stored:
#[derive(Debug)]
#[non_exhaustive]
pub enum Params<'a> {
    /// f32 parameters updated in place: `r` itself, as [`Optimizer::step`](super::Optimizer::step).
    F32(&'a mut [f32]),
    /// bf16 parameters updated in place: each element is widened to f32 (exactly), updated,
    /// and `r` rounded stochastically to one of its two bf16 neighbours, up (away from zero)
    /// with probability equal to the distance from the lower one in bf16 ULPs, so the stored
    /// value is `r` in expectation. The random bits come from a counter-based generator keyed
    /// by `(seed, step, element index)`: the same bits for any ISA, thread count and chunking,
    /// and a resumed run (same seed, state imported) continues bitwise as an uninterrupted one.
    /// Definition and accuracy: [`round_stochastic`](crate::optim::round_stochastic).
    #[cfg(feature = "half")]
    Stochastic {
        /// The parameters, bf16.
        params: &'a mut [bf16],
        /// The generator's seed: keep it for the whole run; each step draws fresh bits.
        seed: u64,
    },
    /// An f32 master copy updated in place (bitwise as [`Params::F32`]), and its bf16 copy
    /// written in the same pass, each element `r` rounded to nearest even (as the `half`
    /// crate's `bf16::from_f32`: a NaN stays NaN, beyond the bf16 range goes to ±inf).
    #[cfg(feature = "half")]
    Master {
        /// The f32 parameters, updated in place.
        master: &'a mut [f32],
        /// Written with `master` rounded to bf16; its old contents are not read.
        copy: &'a mut [bf16],
    },
}

/// The gradients of a step ([`Optimizer::step_typed`](super::Optimizer::step_typed)): bf16
/// and f16 are widened to f32 (exactly) as they are read.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Grads<'a> {
    /// f32 gradients.
    F32(&'a [f32]),
    /// bf16 gradients.
    #[cfg(feature = "half")]
    Bf16(&'a [bf16]),
    /// f16 gradients.
    #[cfg(feature = "half")]
    F16(&'a [f16]),
}

impl<'a> From<&'a mut [f32]> for Params<'a> {
    fn from(p: &'a mut [f32]) -> Params<'a> {
        Params::F32(p)
    }
}

impl<'a> From<&'a [f32]> for Grads<'a> {
    fn from(g: &'a [f32]) -> Grads<'a> {
        Grads::F32(g)
    }
}

#[cfg(feature = "half")]
impl<'a> From<&'a [bf16]> for Grads<'a> {
    fn from(g: &'a [bf16]) -> Grads<'a> {
        Grads::Bf16(g)
    }
}

#[cfg(feature = "half")]
impl<'a> From<&'a [f16]> for Grads<'a> {
    fn from(g: &'a [f16]) -> Grads<'a> {
        Grads::F16(g)
    }
}

impl Grads<'_> {
    /// The number of gradients.
    pub fn len(&self) -> usize {
        match self {
            Grads::F32(g) => g.len(),
            #[cfg(feature = "half")]
            Grads::Bf16(g) => g.len(),
            #[cfg(feature = "half")]
            Grads::F16(g) => g.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// [`Error::LengthMismatch`] unless every slice of `params` and `grads` has `len` elements.
pub(crate) fn check_lengths(params: &Params<'_>, grads: &Grads<'_>, len: usize) -> Result<(), Error> {
    match params {
        Params::F32(p) => check_len("params", len, p.len())?,
        #[cfg(feature = "half")]
        Params::Stochastic { params, .. } => check_len("params", len, params.len())?,
        #[cfg(feature = "half")]
        Params::Master { master, copy } => {
            check_len("params", len, master.len())?;
            check_len("copy", len, copy.len())?;
        }
    }
    check_len("grads", len, grads.len())
}
