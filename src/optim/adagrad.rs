//! Adagrad with learning-rate decay, weight decay and maximize.

use super::scaled::Scaled;
use super::state::{State, state_methods};
use super::typed::run_io;
use super::{Optimizer, Params, non_negative, penalized};
use crate::drivers::update::UpdateRule;
use crate::error::Error;
use crate::isa::Isa;
use crate::simd::Simd;

/// Adagrad's hyperparameters, PyTorch `torch.optim.Adagrad` names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct AdagradConfig {
    /// Learning rate (default 0.01), finite and ≥ 0.
    pub lr: f64,
    /// Learning-rate decay (default 0), finite and ≥ 0.
    pub lr_decay: f64,
    /// L2 penalty λ added to the gradient (default 0), finite and ≥ 0.
    pub weight_decay: f64,
    /// The starting value of the sum of squares (default 0), finite and ≥ 0.
    pub initial_accumulator_value: f64,
    /// ε, added after the square root (default 1e-10), finite and ≥ 0.
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
/// Exported state ([`Optimizer::export`]): `sum` (s).
#[derive(Clone, Debug)]
pub struct Adagrad {
    cfg: AdagradConfig,
    state: State,
}

impl Adagrad {
    /// A fresh state for `len` parameters (the sums start at `initial_accumulator_value`).
    pub fn new(cfg: AdagradConfig, len: usize) -> Result<Adagrad, Error> {
        non_negative("lr", cfg.lr)?;
        non_negative("lr_decay", cfg.lr_decay)?;
        non_negative("weight_decay", cfg.weight_decay)?;
        non_negative("initial_accumulator_value", cfg.initial_accumulator_value)?;
        non_negative("eps", cfg.eps)?;
        let state = State::new(len, [("sum", cfg.initial_accumulator_value as f32)])?;
        Ok(Adagrad { cfg, state })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &AdagradConfig {
        &self.cfg
    }
}

/// The per-step scalars, rounded to f32. State: `[s]`.
struct Rule {
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

impl Optimizer for Adagrad {
    fn step_grads(&mut self, isa: Isa, params: Params<'_>, grads: Scaled<'_>) -> Result<(), Error> {
        let (isa, t, io) = self.state.begin(isa, params, grads)?;
        let c = &self.cfg;
        let k = Rule {
            maximize: c.maximize,
            wd: c.weight_decay as f32,
            eps: c.eps as f32,
            fast_div: c.eps as f32 == 0.0 || c.eps as f32 >= f32::MIN_POSITIVE,
            neg_clr: (-c.lr / (1.0 + (t - 1) as f64 * c.lr_decay)) as f32,
        };
        run_io(isa, &k, io, self.state.buffers());
        self.state.finish(t);
        Ok(())
    }

    state_methods!();
}
