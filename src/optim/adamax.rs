//! Adamax (Kingma & Ba, 2015, §7.1): Adam with an infinity-norm second moment.

use super::scaled::Scaled;
use super::state::{State, state_methods};
use super::typed::run_io;
use super::{Optimizer, Params, beta, non_negative, penalized};
use crate::drivers::update::UpdateRule;
use crate::error::Error;
use crate::isa::Isa;
use crate::simd::Simd;
use crate::simd::abs;

/// Adamax's hyperparameters, PyTorch `torch.optim.Adamax` names and defaults (`betas` split).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct AdamaxConfig {
    /// Learning rate (default 0.002), finite and ≥ 0.
    pub lr: f64,
    /// β1, the decay of the first moment (default 0.9), in [0, 1).
    pub beta1: f64,
    /// β2, the decay of the infinity norm (default 0.999), in [0, 1).
    pub beta2: f64,
    /// ε, added to |g| before the maximum (default 1e-8), finite and ≥ 0.
    pub eps: f64,
    /// L2 penalty λ added to the gradient (default 0), finite and ≥ 0.
    pub weight_decay: f64,
    /// Maximize the objective instead of minimizing it (default false).
    pub maximize: bool,
}

impl Default for AdamaxConfig {
    fn default() -> AdamaxConfig {
        AdamaxConfig { lr: 0.002, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, maximize: false }
    }
}

/// Adamax, PyTorch `torch.optim.Adamax` semantics (`foreach=False`), at step t (from 1):
///
/// ```text
/// g ← −g if maximize;  g ← g + λ·p if λ ≠ 0
/// m ← m + (1 − β1)·(g − m)          (PyTorch's lerp)
/// u ← max(β2·u, |g| + ε)            (NaN in either side gives NaN, as torch.maximum)
/// p ← p − lr/(1 − β1^t) · m/u
/// ```
///
/// ε is added to |g| inside the maximum, as PyTorch does (the paper has no ε). The bias
/// correction is computed in f64 once per step. Exported state ([`Optimizer::export`]):
/// `exp_avg` (m), `exp_inf` (u).
#[derive(Clone, Debug)]
pub struct Adamax {
    cfg: AdamaxConfig,
    state: State,
}

impl Adamax {
    /// A fresh state for `len` parameters, after checking `cfg`.
    pub fn new(cfg: AdamaxConfig, len: usize) -> Result<Adamax, Error> {
        non_negative("lr", cfg.lr)?;
        beta("beta1", cfg.beta1)?;
        beta("beta2", cfg.beta2)?;
        non_negative("eps", cfg.eps)?;
        non_negative("weight_decay", cfg.weight_decay)?;
        let state = State::new(len, [("exp_avg", 0.0), ("exp_inf", 0.0)])?;
        Ok(Adamax { cfg, state })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &AdamaxConfig {
        &self.cfg
    }
}

/// The per-step scalars, rounded to f32. State: `[m, u]`.
struct Rule {
    maximize: bool,
    wd: f32,
    w1: f32,
    beta2: f32,
    eps: f32,
    /// −lr / (1 − β1^t).
    neg_clr: f32,
}

impl UpdateRule<2> for Rule {
    #[inline(always)]
    fn update<S: Simd>(&self, s: S, p: S::V, g: S::V, st: &mut [S::V; 2]) -> S::V {
        let g = penalized(s, self.maximize, self.wd, p, g);
        let m = s.fma(s.splat(self.w1), s.sub(g, st[0]), st[0]);
        let decayed = s.mul(st[1], s.splat(self.beta2));
        let fresh = s.add(abs(s, g), s.splat(self.eps));
        // `max(fresh, decayed)` keeps a NaN of `fresh`; the select keeps one of `decayed`
        // (it is not ≤ itself), so a NaN on either side comes out, as in torch.maximum.
        let u = s.select(s.le(decayed, decayed), s.max(fresh, decayed), decayed);
        st[0] = m;
        st[1] = u;
        s.fma(s.splat(self.neg_clr), s.div(m, u), p)
    }
}

impl Optimizer for Adamax {
    fn step_grads(&mut self, isa: Isa, params: Params<'_>, grads: Scaled<'_>) -> Result<(), Error> {
        let (isa, t, io) = self.state.begin(isa, params, grads)?;
        let c = &self.cfg;
        let k = Rule {
            maximize: c.maximize,
            wd: c.weight_decay as f32,
            w1: (1.0 - c.beta1) as f32,
            beta2: c.beta2 as f32,
            eps: c.eps as f32,
            neg_clr: (-c.lr / (1.0 - c.beta1.powf(t as f64))) as f32,
        };
        run_io(isa, &k, io, self.state.buffers());
        self.state.finish(t);
        Ok(())
    }

    state_methods!();
}
