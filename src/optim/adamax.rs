//! Adamax (Kingma & Ba, 2015, §7.1): Adam with an infinity-norm second moment.

use super::fused::{Fused, Method, arities, constructors};
use super::{adam_like, penalized};
use crate::drivers::update::UpdateRule;
use crate::error::Error;
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
    /// Learning rate (default 0.002), finite in f32 and ≥ 0.
    pub lr: f64,
    /// β1, the decay of the first moment (default 0.9), in [0, 1).
    pub beta1: f64,
    /// β2, the decay of the infinity norm (default 0.999), in [0, 1).
    pub beta2: f64,
    /// ε, added to |g| before the maximum (default 1e-8), finite in f32 and ≥ 0.
    pub eps: f64,
    /// L2 penalty λ added to the gradient (default 0), finite in f32 and ≥ 0, as is lr·λ.
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
///
/// [`Optimizer::export`]: super::Optimizer::export
pub type Adamax = Fused<AdamaxConfig>;

constructors!(Adamax, AdamaxConfig);

impl Method for AdamaxConfig {
    type Rule = Rule;

    fn check(&self) -> Result<(), Error> {
        adam_like(self.lr, self.beta1, self.beta2, self.eps, self.weight_decay)
    }

    fn buffers(&self) -> impl Iterator<Item = (&'static str, f32)> {
        [("exp_avg", 0.0), ("exp_inf", 0.0)].into_iter()
    }

    fn rule(&self, t: u64, _: &mut [f64]) -> Rule {
        Rule {
            maximize: self.maximize,
            wd: self.weight_decay as f32,
            w1: (1.0 - self.beta1) as f32,
            beta2: self.beta2 as f32,
            eps: self.eps as f32,
            neg_clr: (-self.lr / (1.0 - self.beta1.powf(t as f64))) as f32,
        }
    }
}

/// The per-step scalars, rounded to f32. State: `[m, u]`.
#[derive(Clone, Copy)]
pub(crate) struct Rule {
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

arities!(Rule: 2);
