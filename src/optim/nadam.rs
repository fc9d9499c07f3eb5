//! NAdam (Dozat, 2016, "Incorporating Nesterov Momentum into Adam"), PyTorch's variant with
//! momentum decay, L2 or decoupled weight decay, and maximize.

use super::fused::{Fused, Method, arities, constructors};
use super::{adam_like, non_negative, penalized};
use crate::drivers::update::UpdateRule;
use crate::error::Error;
use crate::simd::Simd;

/// NAdam's hyperparameters, PyTorch `torch.optim.NAdam` names and defaults (`betas` split).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct NAdamConfig {
    /// Learning rate (default 0.002), finite in f32 and ≥ 0.
    pub lr: f64,
    /// β1, the decay of the first moment (default 0.9), in [0, 1).
    pub beta1: f64,
    /// β2, the decay of the second moment (default 0.999), in [0, 1).
    pub beta2: f64,
    /// ε, added after the square root (default 1e-8), finite in f32 and ≥ 0.
    pub eps: f64,
    /// Weight decay λ (default 0), finite in f32 and ≥ 0, as is lr·λ: an L2 penalty added to the
    /// gradient, or p ← p·(1 − lr·λ) with `decoupled_weight_decay`.
    pub weight_decay: f64,
    /// ψ, the momentum decay of the μ schedule (default 0.004), finite in f32 and ≥ 0.
    pub momentum_decay: f64,
    /// Decouple the weight decay as AdamW does (default false).
    pub decoupled_weight_decay: bool,
    /// Maximize the objective instead of minimizing it (default false).
    pub maximize: bool,
}

impl Default for NAdamConfig {
    fn default() -> NAdamConfig {
        NAdamConfig {
            lr: 0.002,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum_decay: 0.004,
            decoupled_weight_decay: false,
            maximize: false,
        }
    }
}

/// NAdam, PyTorch `torch.optim.NAdam` semantics (`foreach=False`), at step t (from 1):
///
/// ```text
/// g ← −g if maximize
/// decoupled: p ← p·(1 − lr·λ);   else g ← g + λ·p if λ ≠ 0
/// μ_t = β1·(1 − 0.5·0.96^(t·ψ)),  μ_{t+1} likewise,  Π ← Π·μ_t   (Π starts at 1)
/// m ← m + (1 − β1)·(g − m)                 (PyTorch's lerp)
/// v ← β2·v + (1 − β2)·g²
/// d ← √v / √(1 − β2^t) + ε             (computed as (√v + ε·b)/b, b = √(1 − β2^t))
/// p ← p − lr·(1 − μ_t)/(1 − Π) · g/d − lr·μ_{t+1}/(1 − Π·μ_{t+1}) · m/d
/// ```
///
/// Both μ_t and μ_{t+1} enter the step. The μ product Π is part of the state, kept in f64
/// (PyTorch keeps it in an f32 tensor and reads it back as a double: the two agree to about
/// 1e-7 relative, far inside the golden tolerance); it and the other per-step scalars are
/// computed once per step in f64. The two terms are applied to p one after the other, as
/// PyTorch's two `addcdiv` do, both through one reciprocal 1/d (one division per element):
/// adding the terms first and dividing once rounds differently where they cancel (golden error
/// 0.078 of the tolerance instead of 0.011). Exported state ([`Optimizer::export`]):
/// `exp_avg` (m), `exp_avg_sq` (v) and the scalar `mu_product` (Π).
///
/// [`Optimizer::export`]: super::Optimizer::export
pub type NAdam = Fused<NAdamConfig>;

constructors!(NAdam, NAdamConfig);

impl NAdamConfig {
    /// μ_t of the momentum schedule.
    fn mu(&self, t: u64) -> f64 {
        self.beta1 * (1.0 - 0.5 * 0.96f64.powf(t as f64 * self.momentum_decay))
    }
}

impl Method for NAdamConfig {
    type Rule = Rule;

    const SCALARS: &'static [(&'static str, f64)] = &[("mu_product", 1.0)];

    fn check(&self) -> Result<(), Error> {
        adam_like(self.lr, self.beta1, self.beta2, self.eps, self.weight_decay)?;
        non_negative("momentum_decay", self.momentum_decay)?;
        Ok(())
    }

    fn buffers(&self) -> impl Iterator<Item = (&'static str, f32)> {
        [("exp_avg", 0.0), ("exp_avg_sq", 0.0)].into_iter()
    }

    fn rule(&self, t: u64, scalars: &mut [f64]) -> Rule {
        let (mu, mu_next) = (self.mu(t), self.mu(t.saturating_add(1)));
        let product = scalars[0] * mu;
        scalars[0] = product;
        let decoupled = self.decoupled_weight_decay;
        let b = (1.0 - self.beta2.powf(t as f64)).sqrt();
        let tiny = self.eps > 0.0 && ((self.eps * b) as f32) < f32::MIN_POSITIVE;
        let (sqrt_scale, eps_d, b) =
            if tiny { ((1.0 / b) as f32, self.eps as f32, 1.0) } else { (1.0, (self.eps * b) as f32, b) };
        Rule {
            maximize: self.maximize,
            wd: if decoupled { 0.0 } else { self.weight_decay as f32 },
            decay: decoupled.then_some((1.0 - self.lr * self.weight_decay) as f32),
            w1: (1.0 - self.beta1) as f32,
            beta2: self.beta2 as f32,
            c2: (1.0 - self.beta2) as f32,
            sqrt_scale,
            eps_d,
            neg_cg: (-self.lr * (1.0 - mu) / (1.0 - product) * b) as f32,
            neg_cm: (-self.lr * mu_next / (1.0 - product * mu_next) * b) as f32,
        }
    }
}

/// The per-step scalars, rounded to f32. State: `[m, v]`.
#[derive(Clone, Copy)]
pub(crate) struct Rule {
    maximize: bool,
    /// L2 weight decay (0 when decoupled).
    wd: f32,
    /// 1 − lr·λ when decoupled (else not applied).
    decay: Option<f32>,
    w1: f32,
    beta2: f32,
    c2: f32,
    /// The divisor is √v·`sqrt_scale` + `eps_d`: 1 and ε·b with b = √(1 − β2^t), or, where ε·b
    /// would be subnormal or 0 for a nonzero ε, 1/b and ε (PyTorch's own form, so that a tiny
    /// ε is not lost and 0/ε stays 0); the factors below carry b in the first case only.
    sqrt_scale: f32,
    eps_d: f32,
    /// −lr·(1 − μ_t)/(1 − Π_t)·b, the factor of g/(√v + ε·b).
    neg_cg: f32,
    /// −lr·μ_{t+1}/(1 − Π_t·μ_{t+1})·b, the factor of m/(√v + ε·b).
    neg_cm: f32,
}

impl UpdateRule<2> for Rule {
    #[inline(always)]
    fn update<S: Simd>(&self, s: S, p: S::V, g: S::V, st: &mut [S::V; 2]) -> S::V {
        // `wd` is 0 when the decay is decoupled, so the order of these two does not matter.
        let g = penalized(s, self.maximize, self.wd, p, g);
        let p = match self.decay {
            Some(decay) => s.mul(p, s.splat(decay)),
            None => p,
        };
        let m = s.fma(s.splat(self.w1), s.sub(g, st[0]), st[0]);
        let v = s.fma(s.splat(self.c2), s.mul(g, g), s.mul(st[1], s.splat(self.beta2)));
        st[0] = m;
        st[1] = v;
        // x/(√v/b + ε) = b·x/(√v + ε·b): b is folded into the f64 scalars, saving a division
        // (fma(·, 1, e) is the plain sum).
        let d = s.fma(s.sqrt(v), s.splat(self.sqrt_scale), s.splat(self.eps_d));
        // Both terms over one divisor, divided once: a reciprocal 1/d would overflow for a tiny
        // d (ε below 2^-126 and v = 0) and make 0·inf = NaN where the quotient is 0.
        let num = s.fma(s.splat(self.neg_cg), g, s.mul(s.splat(self.neg_cm), m));
        s.add(p, s.div(num, d))
    }
}

arities!(Rule: 2);
