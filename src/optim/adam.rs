//! Adam (with L2 weight decay and AMSGrad) and AdamW (decoupled weight decay), one kernel.

use super::fused::{self, Fused, Method, arities};
use super::{adam_like, penalized};
use crate::drivers::update::UpdateRule;
use crate::error::Error;
use crate::simd::Simd;

/// Adam's hyperparameters, PyTorch `torch.optim.Adam` names and defaults (`betas` split).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct AdamConfig {
    /// Learning rate (default 0.001), finite in f32 and ≥ 0.
    pub lr: f64,
    /// β1, the decay of the first moment (default 0.9), in [0, 1).
    pub beta1: f64,
    /// β2, the decay of the second moment (default 0.999), in [0, 1).
    pub beta2: f64,
    /// ε, added after the square root (default 1e-8), finite in f32 and ≥ 0.
    pub eps: f64,
    /// L2 penalty λ added to the gradient (default 0), finite in f32 and ≥ 0, as is lr·λ.
    pub weight_decay: f64,
    /// Keep the running maximum of v and use it in the denominator (default false).
    pub amsgrad: bool,
    /// Maximize the objective instead of minimizing it (default false).
    pub maximize: bool,
}

impl Default for AdamConfig {
    fn default() -> AdamConfig {
        AdamConfig {
            lr: 0.001,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            maximize: false,
        }
    }
}

/// AdamW's hyperparameters, PyTorch `torch.optim.AdamW` names and defaults: those of
/// [`AdamConfig`], but `weight_decay` defaults to 0.01 and is decoupled.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct AdamWConfig {
    /// Learning rate (default 0.001), finite in f32 and ≥ 0.
    pub lr: f64,
    /// β1 (default 0.9), in [0, 1).
    pub beta1: f64,
    /// β2 (default 0.999), in [0, 1).
    pub beta2: f64,
    /// ε, added after the square root (default 1e-8), finite in f32 and ≥ 0.
    pub eps: f64,
    /// Decoupled weight decay λ: p ← p·(1 − lr·λ) before the update (default 0.01), finite in f32
    /// and ≥ 0, as is lr·λ.
    pub weight_decay: f64,
    /// AMSGrad (default false).
    pub amsgrad: bool,
    /// Maximize the objective instead of minimizing it (default false).
    pub maximize: bool,
}

impl Default for AdamWConfig {
    fn default() -> AdamWConfig {
        AdamWConfig {
            lr: 0.001,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            amsgrad: false,
            maximize: false,
        }
    }
}

/// Adam and AdamW, PyTorch `torch.optim.Adam` / `torch.optim.AdamW` semantics
/// (`foreach=False`), at step t (counted from 1):
///
/// ```text
/// g ← −g if maximize
/// Adam:  g ← g + λ·p if λ ≠ 0          AdamW:  p ← p·(1 − lr·λ)
/// m ← m + (1 − β1)·(g − m)             (PyTorch's lerp)
/// v ← β2·v + (1 − β2)·g²
/// v̂ ← max(v̂, v) if amsgrad, else v̂ = v
/// p ← p − lr/(1 − β1^t) · m / (√v̂ / √(1 − β2^t) + ε)
/// ```
///
/// The second moment averages g², the element-wise square of the gradient (some write-ups
/// drop the square); ε is added after the square root of the bias-corrected second moment
/// (some write-ups put it inside). AMSGrad (Reddi et al., 2018) keeps the maximum of the raw v
/// and bias-corrects that maximum; AdamW is Loshchilov and Hutter (2019); Adam is Kingma and
/// Ba (2015). The bias corrections are computed in f64 once per step. Exported state ([`Optimizer::export`]):
/// `exp_avg` (m), `exp_avg_sq` (v), and `max_exp_avg_sq` (v̂) with AMSGrad.
///
/// [`Optimizer::export`]: super::Optimizer::export
pub type Adam = Fused<AdamKind>;

/// What an [`Adam`] keeps: its hyperparameters, and whether the weight decay is decoupled
/// (AdamW).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamKind {
    cfg: AdamConfig,
    decoupled: bool,
}

impl Adam {
    /// A fresh Adam state for `len` parameters, after checking `cfg`.
    pub fn new(cfg: AdamConfig, len: usize) -> Result<Adam, Error> {
        fused::new(AdamKind { cfg, decoupled: false }, len)
    }

    /// A fresh AdamW state (decoupled weight decay) for `len` parameters, after checking `cfg`.
    pub fn adamw(cfg: AdamWConfig, len: usize) -> Result<Adam, Error> {
        let AdamWConfig { lr, beta1, beta2, eps, weight_decay, amsgrad, maximize } = cfg;
        let cfg = AdamConfig { lr, beta1, beta2, eps, weight_decay, amsgrad, maximize };
        fused::new(AdamKind { cfg, decoupled: true }, len)
    }

    /// The hyperparameters (for AdamW, `weight_decay` is the decoupled one).
    pub fn config(&self) -> &AdamConfig {
        &self.method().cfg
    }

    /// Whether the weight decay is decoupled (AdamW).
    pub fn is_decoupled(&self) -> bool {
        self.method().decoupled
    }
}

impl Method for AdamKind {
    type Rule = Rule;

    fn check(&self) -> Result<(), Error> {
        let c = &self.cfg;
        adam_like(c.lr, c.beta1, c.beta2, c.eps, c.weight_decay)
    }

    fn buffers(&self) -> impl Iterator<Item = (&'static str, f32)> {
        let buffers = [("exp_avg", 0.0), ("exp_avg_sq", 0.0), ("max_exp_avg_sq", 0.0)];
        buffers.into_iter().take(if self.cfg.amsgrad { 3 } else { 2 })
    }

    fn rule(&self, t: u64, _: &mut [f64]) -> Rule {
        let c = &self.cfg;
        let bc1 = 1.0 - c.beta1.powf(t as f64);
        let bc2 = 1.0 - c.beta2.powf(t as f64);
        let eps_b = (c.eps * bc2.sqrt()) as f32;
        let tiny = c.eps > 0.0 && eps_b < f32::MIN_POSITIVE;
        let (sqrt_scale, eps_d, b) =
            if tiny { ((1.0 / bc2.sqrt()) as f32, c.eps as f32, 1.0) } else { (1.0, eps_b, bc2.sqrt()) };
        Rule {
            maximize: c.maximize,
            wd: if self.decoupled { 0.0 } else { c.weight_decay as f32 },
            decay: (1.0 - c.lr * c.weight_decay) as f32,
            decoupled: self.decoupled,
            w1: (1.0 - c.beta1) as f32,
            beta2: c.beta2 as f32,
            c2: (1.0 - c.beta2) as f32,
            sqrt_scale,
            eps_d,
            fast_div: eps_d == 0.0 || eps_d >= f32::MIN_POSITIVE,
            neg_step: (-c.lr * b / bc1) as f32,
        }
    }
}

/// The per-step scalars, rounded to f32. State: `[m, v]`, or `[m, v, v̂]` with AMSGrad.
#[derive(Clone, Copy)]
pub(crate) struct Rule {
    maximize: bool,
    /// L2 weight decay (0 for AdamW).
    wd: f32,
    /// 1 − lr·λ for AdamW, 1 otherwise (then not applied).
    decay: f32,
    decoupled: bool,
    w1: f32,
    beta2: f32,
    c2: f32,
    /// The divisor is √v̂·`sqrt_scale` + `eps_d`: 1 and ε·b with b = √(1 − β2^t), or, where
    /// ε·b would be subnormal or 0 for a nonzero ε, 1/b and ε (PyTorch's own form, so that a
    /// tiny ε is not lost and 0/ε stays 0).
    sqrt_scale: f32,
    eps_d: f32,
    /// Whether the quotient may take `div_fast` (reciprocal and one Newton step, within 1 ULP):
    /// the divisor is then never subnormal (`eps_d` is 0 or normal, and √ of any v̂ > 0 is
    /// normal). Division and square root share one slow unit, which bounds the step at 1M
    /// parameters; `div_fast` leaves it the square root alone.
    fast_div: bool,
    /// −lr·b/(1 − β1^t), or −lr/(1 − β1^t) with `sqrt_scale` = 1/b.
    neg_step: f32,
}

impl<const N: usize> UpdateRule<N> for Rule {
    #[inline(always)]
    fn update<S: Simd>(&self, s: S, p: S::V, g: S::V, st: &mut [S::V; N]) -> S::V {
        // wd is 0 for AdamW, whose decay is applied to p instead.
        let g = penalized(s, self.maximize, self.wd, p, g);
        let p = if self.decoupled { s.mul(p, s.splat(self.decay)) } else { p };
        let m = s.fma(s.splat(self.w1), s.sub(g, st[0]), st[0]);
        let v = s.fma(s.splat(self.c2), s.mul(g, g), s.mul(st[1], s.splat(self.beta2)));
        st[0] = m;
        st[1] = v;
        let vhat = if N > 2 {
            st[N - 1] = s.max(v, st[N - 1]);
            st[N - 1]
        } else {
            v
        };
        // m / (√v̂/b + ε) = b·m / (√v̂ + ε·b), b = √(1 − β2^t): one division instead of two
        // (division and square root share one slow unit); b is folded into the f64 scalars.
        // fma(·, 1, e) is the plain sum.
        let denom = s.fma(s.sqrt(vhat), s.splat(self.sqrt_scale), s.splat(self.eps_d));
        let q = if self.fast_div { s.div_fast(m, denom) } else { s.div(m, denom) };
        s.fma(s.splat(self.neg_step), q, p)
    }
}

arities!(Rule: 2, 3);
