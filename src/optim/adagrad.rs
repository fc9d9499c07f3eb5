//! Adagrad with learning-rate decay, weight decay and maximize.

use super::fused::{Fused, Method, arities, constructors};
use super::{non_negative, penalized, weight_decay};
use crate::drivers::update::UpdateRule;
use crate::error::Error;
use crate::simd::Simd;

/// Adagrad's hyperparameters, PyTorch `torch.optim.Adagrad` names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct AdagradConfig {
    /// Learning rate (default 0.01), finite in f32 and ≥ 0.
    pub lr: f64,
    /// Learning-rate decay (default 0), finite in f32 and ≥ 0.
    pub lr_decay: f64,
    /// L2 penalty λ added to the gradient (default 0), finite in f32 and ≥ 0, as is lr·λ.
    pub weight_decay: f64,
    /// The starting value of the sum of squares (default 0), finite in f32 and ≥ 0.
    pub initial_accumulator_value: f64,
    /// ε, added after the square root (default 1e-10), finite in f32 and ≥ 0.
    pub eps: f64,
    /// Maximize the objective instead of minimizing it (default false).
    pub maximize: bool,
}

impl Default for AdagradConfig {
    fn default() -> AdagradConfig {
        AdagradConfig {
            lr: 0.01,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
        }
    }
}

/// Adagrad (Duchi, Hazan and Singer, 2011), PyTorch `torch.optim.Adagrad` semantics
/// (`foreach=False`), at step t (from 1):
///
/// ```text
/// g ← −g if maximize;  g ← g + λ·p if λ ≠ 0
/// s ← s + g²
/// p ← p − lr/(1 + (t − 1)·lr_decay) · g / (√s + ε)
/// ```
///
/// ε is added after the square root; the effective learning rate is computed in f64.
/// Exported state ([`Optimizer::export`]): `sum` (s), which starts at
/// `initial_accumulator_value`.
///
/// [`Optimizer::export`]: super::Optimizer::export
pub type Adagrad = Fused<AdagradConfig>;

constructors!(Adagrad, AdagradConfig);

impl Method for AdagradConfig {
    type Rule = Rule;

    fn check(&self) -> Result<(), Error> {
        non_negative("lr", self.lr)?;
        non_negative("lr_decay", self.lr_decay)?;
        weight_decay(self.lr, self.weight_decay)?;
        non_negative("initial_accumulator_value", self.initial_accumulator_value)?;
        non_negative("eps", self.eps)?;
        Ok(())
    }

    fn buffers(&self) -> impl Iterator<Item = (&'static str, f32)> {
        [("sum", self.initial_accumulator_value as f32)].into_iter()
    }

    fn rule(&self, t: u64, _: &mut [f64]) -> Rule {
        Rule {
            maximize: self.maximize,
            wd: self.weight_decay as f32,
            eps: self.eps as f32,
            fast_div: self.eps as f32 == 0.0 || self.eps as f32 >= f32::MIN_POSITIVE,
            neg_clr: (-self.lr / (1.0 + (t - 1) as f64 * self.lr_decay)) as f32,
        }
    }
}

/// The per-step scalars, rounded to f32. State: `[s]`.
#[derive(Clone, Copy)]
pub(crate) struct Rule {
    maximize: bool,
    wd: f32,
    eps: f32,
    /// Whether the quotient may take `div_fast` (reciprocal and one correction, within 1 ULP):
    /// the divisor √s + ε is then never subnormal (ε is 0 or normal, and √ of any s > 0 is
    /// normal). With a subnormal ε and s = 0 the estimate would be inf where the quotient is 0.
    fast_div: bool,
    neg_clr: f32,
}

impl UpdateRule<1> for Rule {
    #[inline(always)]
    fn update<S: Simd>(&self, s: S, p: S::V, g: S::V, st: &mut [S::V; 1]) -> S::V {
        let g = penalized(s, self.maximize, self.wd, p, g);
        let sum = s.fma(g, g, st[0]);
        st[0] = sum;
        let std = s.add(s.sqrt(sum), s.splat(self.eps));
        let q = if self.fast_div { s.div_fast(g, std) } else { s.div(g, std) };
        s.fma(s.splat(self.neg_clr), q, p)
    }
}

arities!(Rule: 1);
