//! What the `speed` example and the criterion benches run: their inputs, the optimizers at
//! their defaults and the PReLU/RReLU rows, so that both measure the same work.

// Each user needs only some of these.
#![allow(dead_code)]

use super::pass::Pass;
use nnsimd::{Isa, Prelu, Rrelu, RreluMode, optim};

/// Names that `--kernels` accepts for the optimizers of DESIGN.md §6 (measured once they exist).
pub const OPTIMIZERS: [&str; 13] = [
    "sgd",
    "sgd_momentum",
    "sgd_nesterov",
    "adagrad",
    "adadelta",
    "rmsprop",
    "adam",
    "adamw",
    "amsgrad",
    "adamax",
    "nadam",
    "lion",
    "adafactor",
];
/// PReLU and RReLU rows: one slope (PyTorch's initial 0.25); 64 channels channels-last;
/// 64 channels NCHW with a batch of 4 (H·W = n/256); RReLU in training at PyTorch's defaults
/// (slopes drawn in forward and regenerated in backward). PReLU's backward row computes dx and
/// the slope gradient.
pub const SLOPED: [&str; 4] = ["prelu", "prelu_nhwc64", "prelu_nchw64", "rrelu"];

// ---------------------------------------------------------------------------------------------
// Inputs

/// xorshift64* with Box-Muller: a fixed stream of N(0, 1) samples.
pub struct Normal {
    s: u64,
    spare: Option<f64>,
}

impl Normal {
    pub fn new(seed: u64) -> Normal {
        Normal { s: seed | 1, spare: None }
    }

    fn uniform(&mut self) -> f64 {
        self.s ^= self.s >> 12;
        self.s ^= self.s << 25;
        self.s ^= self.s >> 27;
        let r = self.s.wrapping_mul(0x2545_f491_4f6c_dd1d);
        // (0, 1]: never 0, so ln is finite.
        ((r >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    fn next(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let (u1, u2) = (self.uniform(), self.uniform());
        let r = (-2.0 * u1.ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * u2;
        self.spare = Some(r * t.sin());
        r * t.cos()
    }

    pub fn fill(&mut self, n: usize, sigma: f64) -> Vec<f32> {
        (0..n).map(|_| (sigma * self.next()) as f32).collect()
    }
}

/// The inputs of every measurement, `n` of each: x ~ N(0, 3²) (as in the peer measurements),
/// dy ~ N(0, 1), from a fixed seed.
pub fn inputs(n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Normal::new(0x5eed_0123_4567_89ab);
    let x = rng.fill(n, 3.0);
    (x, rng.fill(n, 1.0))
}

// ---------------------------------------------------------------------------------------------
// Optimizers

/// The optimizer behind a `speed` row name, at PyTorch's defaults (DESIGN.md §6), or None if
/// this version does not have it.
pub fn make_optimizer(name: &str, n: usize) -> Option<Box<dyn optim::Optimizer>> {
    use optim::*;
    let sgd = |momentum, nesterov| Sgd::new(SgdConfig { momentum, nesterov, ..SgdConfig::default() }, n);
    let boxed: Result<Box<dyn Optimizer>, nnsimd::Error> = match name {
        "sgd" => sgd(0.0, false).map(|o| Box::new(o) as _),
        "sgd_momentum" => sgd(0.9, false).map(|o| Box::new(o) as _),
        "sgd_nesterov" => sgd(0.9, true).map(|o| Box::new(o) as _),
        "adagrad" => Adagrad::new(AdagradConfig::default(), n).map(|o| Box::new(o) as _),
        "adadelta" => Adadelta::new(AdadeltaConfig::default(), n).map(|o| Box::new(o) as _),
        "rmsprop" => RmsProp::new(RmsPropConfig::default(), n).map(|o| Box::new(o) as _),
        "adam" => Adam::new(AdamConfig::default(), n).map(|o| Box::new(o) as _),
        "adamw" => Adam::adamw(AdamWConfig::default(), n).map(|o| Box::new(o) as _),
        "amsgrad" => {
            Adam::new(AdamConfig { amsgrad: true, ..AdamConfig::default() }, n).map(|o| Box::new(o) as _)
        }
        "adamax" => Adamax::new(AdamaxConfig::default(), n).map(|o| Box::new(o) as _),
        "nadam" => NAdam::new(NAdamConfig::default(), n).map(|o| Box::new(o) as _),
        "lion" => Lion::new(LionConfig::default(), n).map(|o| Box::new(o) as _),
        "adafactor" => Adafactor::new(AdafactorConfig::default(), &square(n)).map(|o| Box::new(o) as _),
        _ => return None,
    };
    boxed.ok()
}

/// The most nearly square matrix of `n` elements, rows ≥ columns: [1024, 1024] for 2^20,
/// [n, 1] for a prime.
fn square(n: usize) -> [usize; 2] {
    let cols = (1..=n.isqrt()).rev().find(|&c| n.is_multiple_of(c)).unwrap_or(1);
    [n / cols.max(1), cols]
}

// ---------------------------------------------------------------------------------------------
// PReLU and RReLU

/// The slopes and layout of a PReLU row for `n` elements: (slopes, inner), or None if `n` does
/// not hold whole periods.
fn prelu_layout(name: &str, n: usize) -> Option<(Vec<f32>, usize)> {
    let channels: Vec<f32> = (0..64).map(|c| 0.25 + c as f32 / 256.0).collect();
    match name {
        "prelu" => Some((vec![0.25], 1)),
        "prelu_nhwc64" => n.is_multiple_of(64).then_some((channels, 1)),
        "prelu_nchw64" => (n.is_multiple_of(256) && n >= 256).then_some((channels, n / 256)),
        _ => None,
    }
}

/// One call of a PReLU/RReLU row on `isa` (or the plain loop for `None`, where there is one):
/// false if there is nothing to run.
pub fn run_sloped(
    name: &str,
    pass: Pass,
    isa: Option<Isa>,
    x: &[f32],
    dy: &[f32],
    out: &mut [f32],
    ds: &mut [f32],
) -> bool {
    let n = x.len();
    if name == "rrelu" {
        let mode = RreluMode::Train { seed: 1, offset: 0 };
        let Some(isa) = isa else { return false };
        match pass {
            Pass::Forward => Rrelu::default().forward_with(isa, mode, x, out),
            Pass::Backward => Rrelu::default().backward_with(isa, mode, x, dy, out),
        }
        .expect("rrelu");
        return true;
    }
    let Some((slopes, inner)) = prelu_layout(name, n) else { return false };
    let p = Prelu::new(&slopes, inner).expect("prelu");
    match (isa, pass) {
        (Some(isa), Pass::Forward) => p.forward_with(isa, x, out).expect("prelu"),
        (Some(isa), Pass::Backward) => {
            p.backward_with(isa, x, dy, out, &mut ds[..slopes.len()]).expect("prelu")
        }
        // The plain loops a user writes (one slope): leaky ReLU, and dx with a running sum.
        (None, Pass::Forward) if slopes.len() == 1 => {
            let a = slopes[0];
            for (o, &v) in out.iter_mut().zip(x) {
                *o = if v > 0.0 { v } else { a * v };
            }
        }
        (None, Pass::Backward) if slopes.len() == 1 => {
            let (a, mut sum) = (slopes[0], 0.0f32);
            for ((o, &v), &g) in out.iter_mut().zip(x).zip(dy) {
                *o = if v > 0.0 { g } else { a * g };
                sum += if v > 0.0 { 0.0 } else { v * g };
            }
            ds[0] = sum;
        }
        _ => return false,
    }
    true
}
