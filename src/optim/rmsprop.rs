//! RMSprop, plain or centered, with momentum, weight decay and maximize.

use super::fused::{Fused, Method, arities, constructors};
use super::{non_negative, penalized, unit, weight_decay};
use crate::drivers::update::UpdateRule;
use crate::error::Error;
use crate::simd::Simd;

/// RMSprop's hyperparameters, PyTorch `torch.optim.RMSprop` names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct RmsPropConfig {
    /// Learning rate (default 0.01), finite in f32 and ≥ 0.
    pub lr: f64,
    /// α, the decay of the mean square (default 0.99), in [0, 1].
    pub alpha: f64,
    /// ε, added after the square root (default 1e-8), finite in f32 and ≥ 0.
    pub eps: f64,
    /// L2 penalty λ added to the gradient (default 0), finite in f32 and ≥ 0, as is lr·λ.
    pub weight_decay: f64,
    /// Momentum μ (default 0), finite in f32 and ≥ 0.
    pub momentum: f64,
    /// Subtract the squared running mean of g inside the square root (default false).
    pub centered: bool,
    /// Maximize the objective instead of minimizing it (default false).
    pub maximize: bool,
}

impl Default for RmsPropConfig {
    fn default() -> RmsPropConfig {
        RmsPropConfig {
            lr: 0.01,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

/// RMSprop (Tieleman and Hinton, 2012, lecture 6e of their Coursera course; centered as in
/// Graves, 2013), PyTorch `torch.optim.RMSprop` semantics (`foreach=False`):
///
/// ```text
/// g ← −g if maximize;  g ← g + λ·p if λ ≠ 0
/// v ← α·v + (1 − α)·g²
/// centered: ḡ ← ḡ + (1 − α)·(g − ḡ),  d ← √max(v − ḡ², 0) + ε;   else d ← √v + ε
/// μ > 0:    b ← μ·b + g/d,  p ← p − lr·b;                   else p ← p − lr·g/d
/// ```
///
/// ε is added after the square root; with momentum the buffer holds g/d. Exported state
/// ([`Optimizer::export`]): `square_avg` (v), then `grad_avg` (ḡ) if centered, then
/// `momentum_buffer` (b) if μ > 0. Centered, v − ḡ² (a variance, ≥ 0 exactly) cancels when the
/// gradient is steady and can round below 0; PyTorch then takes √ of it and gives NaN, here it
/// is clamped to 0 (the step is then lr·g/ε, the limit of the exact formula).
///
/// [`Optimizer::export`]: super::Optimizer::export
pub type RmsProp = Fused<RmsPropConfig>;

constructors!(RmsProp, RmsPropConfig);

impl Method for RmsPropConfig {
    type Rule = Rule;

    fn check(&self) -> Result<(), Error> {
        non_negative("lr", self.lr)?;
        unit("alpha", self.alpha)?;
        non_negative("eps", self.eps)?;
        weight_decay(self.lr, self.weight_decay)?;
        non_negative("momentum", self.momentum)?;
        Ok(())
    }

    fn buffers(&self) -> impl Iterator<Item = (&'static str, f32)> {
        let wanted =
            [("square_avg", true), ("grad_avg", self.centered), ("momentum_buffer", self.momentum > 0.0)];
        wanted.into_iter().filter(|b| b.1).map(|(name, _)| (name, 0.0))
    }

    fn rule(&self, _: u64, _: &mut [f64]) -> Rule {
        Rule {
            maximize: self.maximize,
            wd: self.weight_decay as f32,
            alpha: self.alpha as f32,
            c: (1.0 - self.alpha) as f32,
            eps: self.eps as f32,
            centered: self.centered,
            momentum: (self.momentum > 0.0).then_some(self.momentum as f32),
            neg_lr: -self.lr as f32,
        }
    }
}

/// The per-step scalars, rounded to f32. State: `[v]`, `[v, ḡ]`, `[v, b]` or `[v, ḡ, b]`.
#[derive(Clone, Copy)]
pub(crate) struct Rule {
    maximize: bool,
    wd: f32,
    alpha: f32,
    c: f32,
    eps: f32,
    centered: bool,
    momentum: Option<f32>,
    neg_lr: f32,
}

impl<const N: usize> UpdateRule<N> for Rule {
    #[inline(always)]
    fn update<S: Simd>(&self, s: S, p: S::V, g: S::V, st: &mut [S::V; N]) -> S::V {
        let g = penalized(s, self.maximize, self.wd, p, g);
        let c = s.splat(self.c);
        let v = s.fma(c, s.mul(g, g), s.mul(st[0], s.splat(self.alpha)));
        st[0] = v;
        let avg = if self.centered {
            let ga = s.fma(c, s.sub(g, st[1]), st[1]);
            st[1] = ga;
            // v − ḡ² ≥ 0 exactly, but may round below 0 when it cancels (steady gradients).
            s.sqrt(s.max(s.sub(v, s.mul(ga, ga)), s.splat(0.0)))
        } else {
            s.sqrt(v)
        };
        let q = s.div(g, s.add(avg, s.splat(self.eps)));
        let d = match self.momentum {
            Some(mu) => {
                let b = s.fma(s.splat(mu), st[N - 1], q);
                st[N - 1] = b;
                b
            }
            None => q,
        };
        s.fma(s.splat(self.neg_lr), d, p)
    }
}

arities!(Rule: 1, 2, 3);
