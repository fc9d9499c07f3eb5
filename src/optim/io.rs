//! A step's checked inputs ([`Io`]) and the update drivers it runs through: f32 in place,
//! split over fixed chunks, and the other element types through [`super::half`].

use super::scaled::{Scaled, Unscaled};
use super::split_state;
use super::typed::{Grads, Params, check_lengths};
use crate::drivers::update::{UpdateRule, run_update};
use crate::error::Error;
use crate::isa::Isa;

/// A step's parameters and gradients, their lengths checked, the factor that unscales the
/// gradients, and the step number the stochastic rounding draws for.
pub(crate) struct Io<'a> {
    params: Params<'a>,
    grads: Grads<'a>,
    inv_scale: Option<f32>,
    #[cfg_attr(not(feature = "half"), allow(dead_code))]
    step: u64,
}

impl<'a> Io<'a> {
    /// Checks that every slice has `len` elements, for step `step`.
    pub(crate) fn new(params: Params<'a>, grads: Scaled<'a>, len: usize, step: u64) -> Result<Io<'a>, Error> {
        let Scaled { g: grads, inv_scale } = grads;
        check_lengths(&params, &grads, len)?;
        Ok(Io { params, grads, inv_scale, step })
    }

    /// The factor the gradients are multiplied by (1 for plain gradients).
    pub(crate) fn factor(&self) -> f32 {
        self.inv_scale.unwrap_or(1.0)
    }

    /// Stages the step through f32 `scratch` where it is not all f32 (see
    /// [`super::half::Staged`]); without the feature `half` every step is f32 and `scratch`
    /// stays empty.
    #[cfg(feature = "half")]
    pub(crate) fn staged(
        self,
        isa: Isa,
        scratch: &'a mut Vec<f32>,
    ) -> Result<super::half::Staged<'a>, Error> {
        super::half::Staged::new(isa, self.params, self.grads, self.step, scratch)
    }

    /// The f32 parameters and gradients, where both are f32; else the `Io` back.
    pub(crate) fn f32(self) -> Result<(&'a mut [f32], &'a [f32]), Io<'a>> {
        match self {
            Io { params: Params::F32(p), grads: Grads::F32(g), .. } => Ok((p, g)),
            #[allow(unreachable_patterns)]
            io => Err(io),
        }
    }
}

/// Runs the update `k` over the checked `io` and the state slices `st` (each as long as the
/// parameters), in parallel over fixed chunks where that pays: f32 parameters and gradients go
/// to [`run`] as they are, the other element types through [`super::half`]'s blocks.
pub(crate) fn run_io<K: UpdateRule<N>, const N: usize>(isa: Isa, k: &K, io: Io<'_>, st: [&mut [f32]; N]) {
    let io_scale = io.inv_scale;
    match io.f32() {
        Ok((p, g)) => run(isa, k, p, g, io_scale, st),
        #[cfg(feature = "half")]
        Err(io) => match io_scale {
            None => super::half::run(isa, k, io.params, io.grads, io.step, st),
            Some(inv_scale) => {
                let k = Unscaled { k: *k, inv_scale };
                super::half::run(isa, &k, io.params, io.grads, io.step, st)
            }
        },
        // Without the feature every Io is f32.
        #[cfg(not(feature = "half"))]
        Err(_) => {}
    }
}

/// Runs the update `k` over `p`, `g` (unscaled inside the pass where it carries a factor) and
/// the state slices `st` (all of the same length, checked by the caller), in parallel over
/// fixed chunks where that pays.
pub(crate) fn run<K: UpdateRule<N>, const N: usize>(
    isa: Isa,
    k: &K,
    p: &mut [f32],
    g: &[f32],
    inv_scale: Option<f32>,
    st: [&mut [f32]; N],
) {
    match inv_scale {
        None => run_plain(isa, k, p, g, st),
        Some(inv_scale) => run_plain(isa, &Unscaled { k: *k, inv_scale }, p, g, st),
    }
}

/// [`run`] on gradients used as they are.
fn run_plain<K: UpdateRule<N>, const N: usize>(
    isa: Isa,
    k: &K,
    p: &mut [f32],
    g: &[f32],
    st: [&mut [f32]; N],
) {
    debug_assert!(g.len() == p.len() && st.iter().all(|s| s.len() == p.len()));
    #[cfg(feature = "rayon")]
    if p.len() >= 2 * crate::parallel::CHUNK && rayon::current_num_threads() > 1 {
        return split(isa, k, p, g, st);
    }
    let mut st = st;
    run_update(isa, k, p, g, &mut st)
}

/// Halves the work at a chunk boundary until one chunk is left, so that the pieces are the
/// same fixed chunks whatever the number of threads.
#[cfg(feature = "rayon")]
fn split<K: UpdateRule<N>, const N: usize>(isa: Isa, k: &K, p: &mut [f32], g: &[f32], st: [&mut [f32]; N]) {
    use crate::parallel::CHUNK;
    let n = p.len();
    if n <= CHUNK {
        let mut st = st;
        return run_update(isa, k, p, g, &mut st);
    }
    let mid = n.div_ceil(CHUNK) / 2 * CHUNK;
    let (p0, p1) = p.split_at_mut(mid);
    let (g0, g1) = g.split_at(mid);
    let (a, b) = split_state(st, mid);
    rayon::join(|| split(isa, k, p0, g0, a), || split(isa, k, p1, g1, b));
}
