//! Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms").

use super::fused::{Fused, Method, arities, constructors};
use super::{beta, non_negative, weight_decay};
use crate::drivers::update::UpdateRule;
use crate::error::Error;
use crate::simd::Simd;
use crate::simd::neg;

/// Lion's hyperparameters, with the names and defaults of its paper's reference code.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct LionConfig {
    /// Learning rate (default 0.0001), finite in f32 and ≥ 0.
    pub lr: f64,
    /// β1, the interpolation of the update direction (default 0.9), in [0, 1).
    pub beta1: f64,
    /// β2, the decay of the momentum (default 0.99), in [0, 1).
    pub beta2: f64,
    /// Decoupled weight decay λ: p ← p·(1 − lr·λ) (default 0), finite in f32 and ≥ 0, as is lr·λ.
    pub weight_decay: f64,
    /// Maximize the objective instead of minimizing it (default false).
    pub maximize: bool,
}

impl Default for LionConfig {
    fn default() -> LionConfig {
        LionConfig { lr: 1e-4, beta1: 0.9, beta2: 0.99, weight_decay: 0.0, maximize: false }
    }
}

/// Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"), the update rule
/// of its paper (PyTorch has no `torch.optim.Lion`; the golden data follows the paper's
/// reference in f32 tensor ops):
///
/// ```text
/// g ← −g if maximize
/// c ← β1·m + (1 − β1)·g           (two rounded products and a rounded sum, never an FMA)
/// p ← p·(1 − lr·λ) − lr·sign(c)   (sign(0) = 0, sign(NaN) = NaN)
/// m ← β2·m + (1 − β2)·g           (likewise without FMA)
/// ```
///
/// c is computed the same way on every ISA, so sign(c) never differs between them: a c near 0
/// that flipped sign would move p by 2·lr. Exported state ([`Optimizer::export`]): `exp_avg` (m).
///
/// [`Optimizer::export`]: super::Optimizer::export
pub type Lion = Fused<LionConfig>;

constructors!(Lion, LionConfig);

impl Method for LionConfig {
    type Rule = Rule;

    fn check(&self) -> Result<(), Error> {
        non_negative("lr", self.lr)?;
        beta("beta1", self.beta1)?;
        beta("beta2", self.beta2)?;
        weight_decay(self.lr, self.weight_decay)?;
        Ok(())
    }

    fn buffers(&self) -> impl Iterator<Item = (&'static str, f32)> {
        [("exp_avg", 0.0)].into_iter()
    }

    fn rule(&self, _: u64, _: &mut [f64]) -> Rule {
        Rule {
            maximize: self.maximize,
            beta1: self.beta1 as f32,
            c1: (1.0 - self.beta1) as f32,
            beta2: self.beta2 as f32,
            c2: (1.0 - self.beta2) as f32,
            decay: (1.0 - self.lr * self.weight_decay) as f32,
            neg_lr: -self.lr as f32,
        }
    }
}

/// The per-step scalars, rounded to f32. State: `[m]`.
#[derive(Clone, Copy)]
pub(crate) struct Rule {
    maximize: bool,
    beta1: f32,
    c1: f32,
    beta2: f32,
    c2: f32,
    decay: f32,
    neg_lr: f32,
}

impl UpdateRule<1> for Rule {
    #[inline(always)]
    fn update<S: Simd>(&self, s: S, p: S::V, g: S::V, st: &mut [S::V; 1]) -> S::V {
        let g = if self.maximize { neg(s, g) } else { g };
        let m = st[0];
        let c = s.add(s.mul(m, s.splat(self.beta1)), s.mul(g, s.splat(self.c1)));
        let zero = s.splat(0.0);
        // sign(c): ±1, and c·0 (±0, or NaN for NaN) where c is neither > 0 nor < 0.
        let sign =
            s.select(s.lt(zero, c), s.splat(1.0), s.select(s.lt(c, zero), s.splat(-1.0), s.mul(c, zero)));
        st[0] = s.add(s.mul(m, s.splat(self.beta2)), s.mul(g, s.splat(self.c2)));
        let p = if self.decay != 1.0 { s.mul(p, s.splat(self.decay)) } else { p };
        // lr·sign(c) is exact, so the FMA rounds like the reference's subtraction.
        s.fma(s.splat(self.neg_lr), sign, p)
    }
}

arities!(Rule: 1);
