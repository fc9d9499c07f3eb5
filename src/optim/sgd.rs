//! SGD with momentum, dampening, Nesterov, weight decay and maximize.

use super::fused::{Fused, Method, arities, constructors};
use super::{non_negative, penalized, unit, weight_decay};
use crate::drivers::update::UpdateRule;
use crate::error::Error;
use crate::simd::Simd;

/// SGD's hyperparameters, PyTorch `torch.optim.SGD` names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct SgdConfig {
    /// Learning rate (default 0.001), finite in f32 and ≥ 0.
    pub lr: f64,
    /// Momentum factor μ (default 0), finite in f32 and ≥ 0.
    pub momentum: f64,
    /// Dampening τ (default 0), in [0, 1].
    pub dampening: f64,
    /// L2 penalty λ added to the gradient (default 0), finite in f32 and ≥ 0, as is lr·λ.
    pub weight_decay: f64,
    /// Nesterov momentum (default false); needs momentum > 0 and dampening 0.
    pub nesterov: bool,
    /// Maximize the objective instead of minimizing it (default false).
    pub maximize: bool,
}

impl Default for SgdConfig {
    fn default() -> SgdConfig {
        SgdConfig {
            lr: 0.001,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        }
    }
}

/// Stochastic gradient descent, PyTorch `torch.optim.SGD` semantics (`foreach=False`; Nesterov
/// momentum in the form of Sutskever et al., 2013):
///
/// ```text
/// g ← −g if maximize;  g ← g + λ·p if λ ≠ 0
/// if μ ≠ 0:  b ← g on the first step, else b ← μ·b + (1 − τ)·g
///            g ← g + μ·b if nesterov, else g ← b
/// p ← p − lr·g
/// ```
///
/// Exported state ([`Optimizer::export`]): `momentum_buffer` (b), none when μ = 0.
///
/// [`Optimizer::export`]: super::Optimizer::export
pub type Sgd = Fused<SgdConfig>;

constructors!(Sgd, SgdConfig);

impl Method for SgdConfig {
    type Rule = Rule;

    fn check(&self) -> Result<(), Error> {
        non_negative("lr", self.lr)?;
        non_negative("momentum", self.momentum)?;
        unit("dampening", self.dampening)?;
        weight_decay(self.lr, self.weight_decay)?;
        if self.nesterov && self.momentum <= 0.0 {
            return Err(Error::InvalidParameter {
                name: "momentum",
                value: self.momentum,
                expected: "> 0 with nesterov",
            });
        }
        if self.nesterov && self.dampening != 0.0 {
            return Err(Error::InvalidParameter {
                name: "dampening",
                value: self.dampening,
                expected: "0 with nesterov",
            });
        }
        Ok(())
    }

    fn buffers(&self) -> impl Iterator<Item = (&'static str, f32)> {
        (self.momentum != 0.0).then_some(("momentum_buffer", 0.0)).into_iter()
    }

    fn rule(&self, t: u64, _: &mut [f64]) -> Rule {
        Rule {
            neg_lr: -self.lr as f32,
            wd: self.weight_decay as f32,
            maximize: self.maximize,
            momentum: self.momentum as f32,
            keep: (1.0 - self.dampening) as f32,
            first: t == 1,
            nesterov: self.nesterov,
        }
    }
}

/// The per-step scalars, rounded to f32.
#[derive(Clone, Copy)]
pub(crate) struct Rule {
    neg_lr: f32,
    wd: f32,
    maximize: bool,
    momentum: f32,
    keep: f32,
    first: bool,
    nesterov: bool,
}

impl Rule {
    /// The gradient after maximize and weight decay.
    #[inline(always)]
    fn grad<S: Simd>(&self, s: S, p: S::V, g: S::V) -> S::V {
        penalized(s, self.maximize, self.wd, p, g)
    }
}

impl UpdateRule<0> for Rule {
    #[inline(always)]
    fn update<S: Simd>(&self, s: S, p: S::V, g: S::V, _: &mut [S::V; 0]) -> S::V {
        let g = self.grad(s, p, g);
        s.fma(s.splat(self.neg_lr), g, p)
    }
}

impl UpdateRule<1> for Rule {
    #[inline(always)]
    fn update<S: Simd>(&self, s: S, p: S::V, g: S::V, st: &mut [S::V; 1]) -> S::V {
        let g = self.grad(s, p, g);
        let b =
            if self.first { g } else { s.fma(s.splat(self.keep), g, s.mul(st[0], s.splat(self.momentum))) };
        st[0] = b;
        let d = if self.nesterov { s.fma(s.splat(self.momentum), b, g) } else { b };
        s.fma(s.splat(self.neg_lr), d, p)
    }
}

arities!(Rule: 0, 1);
