//! Adadelta (Zeiler, 2012) with weight decay and maximize.

use super::fused::{Fused, Method, arities, constructors};
use super::{non_negative, penalized, unit, weight_decay};
use crate::drivers::update::UpdateRule;
use crate::error::Error;
use crate::simd::Simd;

/// Adadelta's hyperparameters, PyTorch `torch.optim.Adadelta` names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct AdadeltaConfig {
    /// Learning rate, a factor on the step (default 1.0), finite in f32 and ≥ 0.
    pub lr: f64,
    /// ρ, the decay of both running averages (default 0.9), in [0, 1].
    pub rho: f64,
    /// ε, added inside both square roots (default 1e-6), finite in f32 and ≥ 0.
    pub eps: f64,
    /// L2 penalty λ added to the gradient (default 0), finite in f32 and ≥ 0, as is lr·λ.
    pub weight_decay: f64,
    /// Maximize the objective instead of minimizing it (default false).
    pub maximize: bool,
}

impl Default for AdadeltaConfig {
    fn default() -> AdadeltaConfig {
        AdadeltaConfig { lr: 1.0, rho: 0.9, eps: 1e-6, weight_decay: 0.0, maximize: false }
    }
}

/// Adadelta, PyTorch `torch.optim.Adadelta` semantics (`foreach=False`):
///
/// ```text
/// g ← −g if maximize;  g ← g + λ·p if λ ≠ 0
/// v ← ρ·v + (1 − ρ)·g²
/// δ ← √(u + ε) / √(v + ε) · g
/// u ← ρ·u + (1 − ρ)·δ²
/// p ← p − lr·δ
/// ```
///
/// ε is inside both square roots, and u (the running mean of squared steps) enters δ before it
/// is updated, as in PyTorch. Exported state ([`Optimizer::export`]):
/// `square_avg` (v), `acc_delta` (u).
///
/// [`Optimizer::export`]: super::Optimizer::export
pub type Adadelta = Fused<AdadeltaConfig>;

constructors!(Adadelta, AdadeltaConfig);

impl Method for AdadeltaConfig {
    type Rule = Rule;

    fn check(&self) -> Result<(), Error> {
        non_negative("lr", self.lr)?;
        unit("rho", self.rho)?;
        non_negative("eps", self.eps)?;
        weight_decay(self.lr, self.weight_decay)?;
        Ok(())
    }

    fn buffers(&self) -> impl Iterator<Item = (&'static str, f32)> {
        [("square_avg", 0.0), ("acc_delta", 0.0)].into_iter()
    }

    fn rule(&self, _: u64, _: &mut [f64]) -> Rule {
        Rule {
            maximize: self.maximize,
            wd: self.weight_decay as f32,
            rho: self.rho as f32,
            c: (1.0 - self.rho) as f32,
            eps: self.eps as f32,
            neg_lr: -self.lr as f32,
        }
    }
}

/// The per-step scalars, rounded to f32. State: `[v, u]`.
#[derive(Clone, Copy)]
pub(crate) struct Rule {
    maximize: bool,
    wd: f32,
    rho: f32,
    c: f32,
    eps: f32,
    neg_lr: f32,
}

impl UpdateRule<2> for Rule {
    #[inline(always)]
    fn update<S: Simd>(&self, s: S, p: S::V, g: S::V, st: &mut [S::V; 2]) -> S::V {
        let g = penalized(s, self.maximize, self.wd, p, g);
        let (rho, c, eps) = (s.splat(self.rho), s.splat(self.c), s.splat(self.eps));
        let v = s.fma(c, s.mul(g, g), s.mul(st[0], rho));
        // √(u + ε)/√(v + ε) as one square root of the quotient: division and square root
        // share one slow unit, and the quotient rounds no worse.
        let delta = s.mul(s.sqrt(s.div(s.add(st[1], eps), s.add(v, eps))), g);
        st[0] = v;
        st[1] = s.fma(c, s.mul(delta, delta), s.mul(st[1], rho));
        s.fma(s.splat(self.neg_lr), delta, p)
    }
}

arities!(Rule: 2);
