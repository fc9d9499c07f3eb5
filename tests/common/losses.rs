//! The element-wise losses of `nnsimd::loss` as one value with its parameter, whose methods
//! forward to the crate's loss struct, for the tests `loss` and `loss_golden`.

use nnsimd::loss::Reduction;
use nnsimd::{Element, Error, Isa};

/// One loss with its parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    Mse,
    L1,
    Huber(f32),
    SmoothL1(f32),
    Bce,
    Logits(f32),
    Kl(bool),
}

/// Runs `$body` with `$l` the crate's loss struct for `$loss` with reduction `$r`.
#[allow(unused_macros)]
macro_rules! with_loss {
    ($loss:expr, $r:expr, |$l:ident| $body:expr) => {{
        let reduction = $r;
        match $loss {
            $crate::common::losses::Loss::Mse => {
                let $l = ::nnsimd::loss::Mse { reduction };
                $body
            }
            $crate::common::losses::Loss::L1 => {
                let $l = ::nnsimd::loss::L1 { reduction };
                $body
            }
            $crate::common::losses::Loss::Huber(delta) => {
                let $l = ::nnsimd::loss::Huber { delta, reduction };
                $body
            }
            $crate::common::losses::Loss::SmoothL1(beta) => {
                let $l = ::nnsimd::loss::SmoothL1 { beta, reduction };
                $body
            }
            $crate::common::losses::Loss::Bce => {
                let $l = ::nnsimd::loss::Bce { reduction };
                $body
            }
            $crate::common::losses::Loss::Logits(pos_weight) => {
                let $l = ::nnsimd::loss::BceWithLogits { pos_weight, reduction };
                $body
            }
            $crate::common::losses::Loss::Kl(log_target) => {
                let $l = ::nnsimd::loss::KlDiv { log_target, reduction };
                $body
            }
        }
    }};
}
#[allow(unused_imports)]
pub(crate) use with_loss;

impl Loss {
    /// The op's name in the golden files.
    pub fn op(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::L1 => "l1",
            Loss::Huber(_) => "huber",
            Loss::SmoothL1(_) => "smooth_l1",
            Loss::Bce => "bce",
            Loss::Logits(_) => "bce_with_logits",
            Loss::Kl(_) => "kl_div",
        }
    }

    pub fn forward<E: Element>(self, r: Reduction, isa: Isa, p: &[E], t: &[E]) -> Result<f32, Error> {
        with_loss!(self, r, |l| l.forward_with(isa, p, t))
    }

    pub fn forward_backward<E: Element>(
        self,
        r: Reduction,
        isa: Isa,
        p: &[E],
        t: &[E],
        g: &mut [E],
    ) -> Result<f32, Error> {
        with_loss!(self, r, |l| l.forward_backward_with(isa, p, t, g))
    }

    pub fn forward_none<E: Element>(
        self,
        r: Reduction,
        isa: Isa,
        p: &[E],
        t: &[E],
        loss: &mut [f32],
    ) -> Result<(), Error> {
        with_loss!(self, r, |l| l.forward_none_with(isa, p, t, loss))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn forward_backward_none<E: Element>(
        self,
        r: Reduction,
        isa: Isa,
        p: &[E],
        t: &[E],
        dloss: &[f32],
        loss: &mut [f32],
        g: &mut [E],
    ) -> Result<(), Error> {
        with_loss!(self, r, |l| l.forward_backward_none_with(isa, p, t, dloss, loss, g))
    }
}

/// σ(x) in f64.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The spacing of f32 at |v| (v rounded to f32).
pub fn ulp_of(v: f64) -> f64 {
    let a = (v as f32).abs();
    let next = f32::from_bits(a.to_bits() + 1);
    if next.is_finite() { next as f64 - a as f64 } else { 2f64.powi(104) }
}
