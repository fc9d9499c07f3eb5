//! Adafactor, PyTorch's variant (`torch.optim.Adafactor`): a factored second moment for
//! matrices, a full one for vectors, no first moment.

mod chunks;
mod factored;
mod sweep;

use super::registry::num_elements;
use super::scaled::Scaled;
use super::state::{State, state_methods};
use super::{Optimizer, Params, finite_in_f32, invalid, non_negative, weight_decay};
use crate::error::Error;
use crate::isa::Isa;
use chunks::Pass;
use factored::Factored;
use std::vec::Vec;
use sweep::{Apply, Full};

/// Adafactor's hyperparameters, PyTorch `torch.optim.Adafactor` names and defaults (its `eps`
/// pair split into `eps1`, `eps2`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct AdafactorConfig {
    /// Learning rate, the cap of the relative step size ρ_t (default 0.01), finite in f32 and ≥ 0.
    pub lr: f64,
    /// The exponent of 1 − β̂2_t = t^beta2_decay (default −0.8), finite in f32 and ≤ 0.
    pub beta2_decay: f64,
    /// Floor of the second-moment estimate (squared) and of its normaliser (default f32's
    /// machine epsilon 2^-23, PyTorch's value for f32 when `eps[0]` is None), finite in f32 and ≥ 0.
    pub eps1: f64,
    /// Floor of RMS(p) in the step size (default 0.001), finite in f32 and ≥ 0.
    pub eps2: f64,
    /// Clipping threshold d of the update's RMS (default 1.0), finite in f32 and ≥ 1.
    pub d: f64,
    /// Decoupled weight decay λ: p ← p·(1 − lr·λ) (default 0), finite in f32 and ≥ 0, as is lr·λ.
    pub weight_decay: f64,
    /// Maximize the objective instead of minimizing it (default false).
    pub maximize: bool,
}

impl Default for AdafactorConfig {
    fn default() -> AdafactorConfig {
        AdafactorConfig {
            lr: 0.01,
            beta2_decay: -0.8,
            eps1: f32::EPSILON as f64,
            eps2: 0.001,
            d: 1.0,
            weight_decay: 0.0,
            maximize: false,
        }
    }
}

/// Adafactor with PyTorch's semantics (`torch.optim.Adafactor`, `foreach=False`), after
/// Shazeer & Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost" (2018). At
/// step t (counted from 1), with n the number of parameters:
///
/// ```text
/// g ← −g if maximize
/// ρ_t = min(lr, 1/√t)          α_t = max(eps2, RMS(p_{t−1}))·ρ_t      (before weight decay)
/// p ← p·(1 − lr·λ)
/// rank ≥ 2, per matrix of the last two dimensions (rows × cols):
///     R ← R + t^beta2_decay·(mean_c g² − R)     per row      (row_var, starts at 0)
///     C ← C + t^beta2_decay·(mean_r g² − C)     per column   (col_var, starts at 0)
///     est = R_r·C_c / max(mean_r R, eps1)
/// rank ≤ 1:
///     est = v ← v + t^beta2_decay·(g² − v)
/// U = g / √max(est, eps1²)
/// p ← p − α_t / max(1, RMS(U)/d) · U
/// ```
///
/// RMS(x) = √(Σx²/n) is taken over the whole tensor; for rank ≥ 3 the leading dimensions index
/// separate matrices, each with its own R, C and normaliser. There is no first moment (PyTorch's
/// variant has no β1). `eps1` defaults to 2^-23, f32's machine epsilon, as PyTorch picks for
/// f32 parameters.
///
/// # Sweeps over memory
/// The step needs RMS(p) and RMS(U), hence every g², before it writes p, so it cannot be one
/// pass. A matrix (rank ≥ 2) takes three sweeps, 24 bytes per parameter:
/// 1. read p and g: Σp², and Σg² per row and per column;
/// 2. (O(rows + cols) work: R, C, and the factors √(norm/R_r) and 1/√C_c), then read g: ΣU²,
///    with U = g·min(√(norm/R_r)·(1/√C_c), 1/eps1);
/// 3. read p and g, write p.
///
/// A vector takes two, 32 bytes per parameter: 1. read p, g, v, write v: Σp², ΣU²;
/// 2. read p, g, v, write p.
///
/// # Accuracy and determinism
/// Sums are compensated (an f32 partial of at most 8 terms per lane folded into an exact
/// hi + lo pair, lanes added in f64), so Σp², ΣU² and the row and column sums are within about
/// 1e-6 relative of their value for any size; the per-step scalars (t^beta2_decay, ρ_t, α_t,
/// the clipping) and the O(rows + cols) work are in f64. Each sum is cut into tasks fixed by the
/// shape (whole rows for sweep 1, chunks of [`CHUNK`](crate::CHUNK) elements for the
/// others) whose partials are added in a fixed tree, so the result is bitwise the same for any
/// number of threads. ISAs differ by rounding only (lane order, FMA).
///
/// # Scaled gradients
/// [`Optimizer::step_scaled`] multiplies each gradient by inv_scale as every sweep loads it
/// (g is read by all of them), so each sweep sees the same fl(g·inv_scale) and the step is
/// bitwise the plain step on those gradients.
///
/// # NaN and infinity
/// A NaN or infinite gradient spreads through the norms: in a matrix it reaches its row's and
/// column's statistics and the matrix's normaliser, so the whole matrix becomes NaN (and stays
/// so, through R and C); in a vector only its own element of p and v becomes NaN, because, as in
/// PyTorch (Python's `max`), a NaN RMS(U) leaves the clipping at 1 and a NaN RMS(p) gives
/// α_t = eps2·ρ_t. A NaN parameter likewise only sets α_t to eps2·ρ_t.
#[derive(Clone, Debug)]
pub struct Adafactor {
    cfg: AdafactorConfig,
    shape: Vec<usize>,
    /// Buffers (PyTorch's state keys): `row_var`, `col_var` (factored) or `variance`.
    state: State,
    moment: Moment,
    /// f32 copies of bf16 parameters and half gradients ([`Optimizer::step_typed`]): empty
    /// until the first such step, then kept.
    #[cfg(feature = "half")]
    scratch: Vec<f32>,
}

/// How the second moment is kept, by the rank of the shape.
#[derive(Clone, Debug)]
enum Moment {
    /// No elements: a step only counts.
    Empty,
    /// Rank ≤ 1: `variance`, one per parameter.
    Full,
    /// Rank ≥ 2: `row_var` and `col_var`, with the plan and scratch of the sweeps.
    Factored(Factored),
}

impl Adafactor {
    /// A fresh Adafactor state for a tensor of `shape` (row-major), after checking `cfg`:
    /// rank ≥ 2 factors the last two dimensions, rank 0 and 1 keep a full second moment. The
    /// product of the dimensions must fit in `usize` ([`Error::ShapeOverflow`]); a zero
    /// dimension makes an empty tensor, whose steps only count. State and scratch (O(rows +
    /// cols) per matrix) are allocated here, [`Error::OutOfMemory`] if they do not fit.
    ///
    /// [`Optimizer::export`] gives the buffers `row_var` (one per row of each matrix) and
    /// `col_var` (one per column of each matrix) for rank ≥ 2, `variance` (one per parameter)
    /// for rank ≤ 1, none for an empty tensor; no scalars.
    pub fn new(cfg: AdafactorConfig, shape: &[usize]) -> Result<Adafactor, Error> {
        non_negative("lr", cfg.lr)?;
        if !(finite_in_f32(cfg.beta2_decay) && cfg.beta2_decay <= 0.0) {
            return Err(invalid("beta2_decay", cfg.beta2_decay, "finite in f32 and <= 0"));
        }
        non_negative("eps1", cfg.eps1)?;
        non_negative("eps2", cfg.eps2)?;
        if !(finite_in_f32(cfg.d) && cfg.d >= 1.0) {
            return Err(invalid("d", cfg.d, "finite in f32 and >= 1"));
        }
        weight_decay(cfg.lr, cfg.weight_decay)?;
        let len = num_elements(shape)?;
        let (moment, state) = match *shape {
            _ if len == 0 => (Moment::Empty, State::new(0, [])?),
            [.., rows, cols] => {
                // Each product is at most len.
                let batch = len / (rows * cols);
                let bufs = [("row_var", batch * rows, 0.0), ("col_var", batch * cols, 0.0)];
                (Moment::Factored(Factored::new(batch, rows, cols)?), State::sized(len, bufs)?)
            }
            _ => (Moment::Full, State::new(len, [("variance", 0.0)])?),
        };
        let mut dims = Vec::new();
        dims.try_reserve_exact(shape.len()).map_err(|_| Error::OutOfMemory { elements: shape.len() })?;
        dims.extend_from_slice(shape);
        Ok(Adafactor {
            cfg,
            shape: dims,
            state,
            moment,
            #[cfg(feature = "half")]
            scratch: Vec::new(),
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &AdafactorConfig {
        &self.cfg
    }

    /// The shape the state was built for.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Whether the second moment is factored (rank ≥ 2 and no zero dimension).
    pub fn is_factored(&self) -> bool {
        matches!(self.moment, Moment::Factored(_))
    }

    /// The factored second moment's row statistics R (one per row of every matrix, in order),
    /// or an empty slice if it is not factored.
    pub fn row_var(&self) -> &[f32] {
        if self.is_factored() { self.state.buffer(0) } else { &[] }
    }

    /// The factored second moment's column statistics C (one per column of every matrix), or
    /// an empty slice if it is not factored.
    pub fn col_var(&self) -> &[f32] {
        if self.is_factored() { self.state.buffer(1) } else { &[] }
    }

    /// The full second moment v of a rank ≤ 1 tensor, or an empty slice.
    pub fn variance(&self) -> &[f32] {
        if matches!(self.moment, Moment::Full) { self.state.buffer(0) } else { &[] }
    }
}

/// The write sweep's scalars from Σp² and ΣU² over `n` parameters (f64, once per step).
fn scalars(c: &AdafactorConfig, n: usize, rho: f64, pp: f64, uu: f64) -> Apply {
    let n = n as f64;
    // f64::max drops a NaN as Python's max(eps2, nan) and max(1.0, nan) do in PyTorch.
    let alpha = c.eps2.max((pp / n).sqrt()) * rho;
    let k = alpha / 1f64.max((uu / n).sqrt() / c.d);
    let decay = (1.0 - c.lr * c.weight_decay) as f32;
    Apply { k: (if c.maximize { k } else { -k }) as f32, decay }
}

impl Optimizer for Adafactor {
    fn step_grads(&mut self, isa: Isa, params: Params<'_>, grads: Scaled<'_>) -> Result<(), Error> {
        let (isa, t, io) = self.state.begin(isa, params, grads)?;
        let gs = io.factor();
        // The sweeps take f32 slices: other types are staged through f32 scratch.
        #[cfg(feature = "half")]
        let (mut scratch, mut staged) = (core::mem::take(&mut self.scratch), None);
        let (params, grads) = match io.f32() {
            Ok(pg) => pg,
            #[cfg(feature = "half")]
            Err(io) => staged.insert(io.staged(isa, &mut scratch)?).f32(),
            #[cfg(not(feature = "half"))]
            Err(_) => return Err(Error::Unimplemented("steps other than f32 need the feature `half`")),
        };
        let (c, tf, n) = (self.cfg, t as f64, params.len());
        let w = tf.powf(c.beta2_decay);
        let rho = c.lr.min(1.0 / tf.sqrt());
        let par = crate::parallel::parallel(n);
        match &mut self.moment {
            Moment::Empty => {}
            Moment::Full => {
                let [v] = self.state.buffers();
                let f = Full::new(w, c.eps1, gs);
                let [pp, uu] = chunks::run(isa, &Pass::FullStats(f), params, grads, v, par);
                let ap = scalars(&c, n, rho, pp, uu);
                chunks::run(isa, &Pass::FullApply(f, ap), params, grads, v, par);
            }
            Moment::Factored(m) => {
                let pp = m.stats(isa, params, grads, gs, par);
                m.refresh(w, c.eps1, self.state.buffers());
                let wt = m.weights((1.0 / c.eps1) as f32, gs);
                let [uu, _] = chunks::run(isa, &Pass::Norm(wt), params, grads, &mut [], par);
                let ap = scalars(&c, n, rho, pp, uu);
                chunks::run(isa, &Pass::Apply(wt, ap), params, grads, &mut [], par);
            }
        }
        #[cfg(feature = "half")]
        {
            if let Some(s) = staged {
                s.finish(isa);
            }
            self.scratch = scratch;
        }
        self.state.finish(t);
        Ok(())
    }

    state_methods!();
}
