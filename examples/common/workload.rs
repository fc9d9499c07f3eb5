//! What the `speed` example and the criterion benches run: their inputs, the optimizers at
//! their defaults and the PReLU/RReLU rows, so that both measure the same work.

// Each user needs only some of these.
#![allow(dead_code)]

use super::pass::Pass;
use nnsimd::{Activation, Element, Error, Glu, Isa, LogSoftmax, Prelu, Rrelu, RreluMode, Softmax, optim};

/// Names that `--kernels` accepts for the optimizers (the `speed` example's contract), in the
/// order they are measured: the crate's registry of optimizers, each at its defaults, with the
/// extra rows of some (`sgd_momentum`, `sgd_nesterov`, `amsgrad`).
pub fn optimizer_rows() -> Vec<&'static str> {
    nnsimd::internals::speed_rows().into_iter().map(|(name, _)| name).collect()
}
/// PReLU and RReLU rows: one slope (PyTorch's initial 0.25); 64 channels channels-last;
/// 64 channels NCHW with a batch of 4 (H·W = n/256); RReLU in training at PyTorch's defaults
/// (slopes drawn in forward and regenerated in backward). PReLU's backward row computes dx and
/// the slope gradient. Then the fused kernels: SwiGLU / GEGLU rows on n gates (a = x, b = dy;
/// backward writes da and db, where `ds` holds n values), and an activation of x + bias with a
/// bias of 64 (backward writes dx and the bias gradient).
pub const SLOPED: [&str; 10] = [
    "prelu",
    "prelu_nhwc64",
    "prelu_nchw64",
    "rrelu",
    "swiglu",
    "geglu",
    "geglu_tanh",
    "bias_silu",
    "bias_gelu",
    "bias_relu",
];

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

/// The optimizer behind a `speed` row name, at PyTorch's defaults, built for a
/// square matrix of `n` parameters (Adafactor factors it, the others see `n` elements), or
/// None for a name the registry does not have (or a state that does not fit).
pub fn make_optimizer(name: &str, n: usize) -> Option<Box<dyn optim::Optimizer>> {
    let (_, config) = nnsimd::internals::speed_rows().into_iter().find(|row| row.0 == name)?;
    config.build(&square(n)).ok()
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

/// One call of a PReLU/RReLU/fused row on `isa` (or the plain loop for `None`, where there is one):
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
    let glu = match name {
        "swiglu" => Some(Glu::SWIGLU),
        "geglu" => Some(Glu::GEGLU),
        "geglu_tanh" => Some(Glu::GEGLU_TANH),
        _ => None,
    };
    let bias = name.strip_prefix("bias_").and_then(|a| Activation::from_name(a).ok());
    if glu.is_some() || bias.is_some() {
        // GLU's backward needs n values in `ds`; the bias rows whole rows of 64.
        let fits = match (glu, pass) {
            (Some(_), Pass::Forward) => true,
            (Some(_), Pass::Backward) => ds.len() >= n,
            _ => n.is_multiple_of(64) && n > 0,
        };
        let (Some(isa), true) = (isa, fits) else { return false };
        match (glu, bias, pass) {
            (Some(g), _, Pass::Forward) => g.forward_with(isa, x, dy, out),
            (Some(g), _, Pass::Backward) => g.backward_with(isa, x, dy, dy, out, &mut ds[..n]),
            (_, Some(a), Pass::Forward) => a.forward_bias_with(isa, x, &dy[..64], out),
            (_, Some(a), Pass::Backward) => a.backward_bias_with(isa, x, &dy[..64], dy, out, &mut ds[..64]),
            _ => unreachable!(),
        }
        .expect("fused");
        return true;
    }
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

/// One call of a row kernel's pass on rows of `len`: `a` is x, or for backward the saved output.
pub fn run_row<T: Element>(
    kernel: &str,
    pass: Pass,
    isa: Isa,
    len: usize,
    a: &[T],
    dy: &[T],
    out: &mut [T],
) -> Result<(), Error> {
    match (kernel, pass) {
        ("softmax", Pass::Forward) => Softmax::new(len)?.forward_with(isa, a, out),
        ("softmax", Pass::Backward) => Softmax::new(len)?.backward_with(isa, a, dy, out),
        ("log_softmax", Pass::Forward) => LogSoftmax::new(len)?.forward_with(isa, a, out),
        ("log_softmax", Pass::Backward) => LogSoftmax::new(len)?.backward_with(isa, a, dy, out),
        _ => LogSoftmax::new(len)?.logsumexp_with(isa, a, out),
    }
}

// ---------------------------------------------------------------------------------------------
// Losses

/// The element-wise losses' row names (the `speed` example's contract), each at PyTorch's
/// defaults with a mean, measured as `forward_backward`.
pub const LOSSES: [&str; 7] = ["mse", "l1", "huber", "smooth_l1", "bce", "bce_with_logits", "kl_div"];

/// A loss's inputs from x ~ N(0, 3²) and dy ~ N(0, 1): probabilities σ(x) for `bce`'s
/// predictions, σ(dy) as the binary losses' targets, log-probabilities −|x| with `kl_div`.
pub fn loss_inputs(name: &str, x: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let sig = |v: &[f32]| v.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect::<Vec<f32>>();
    match name {
        "bce" => (sig(x), sig(dy)),
        "bce_with_logits" => (x.to_vec(), sig(dy)),
        "kl_div" => (x.iter().map(|v| -v.abs()).collect(), sig(dy)),
        _ => (x.to_vec(), dy.to_vec()),
    }
}

/// One `forward_backward` of an element-wise loss: the mean loss, the gradient into `grad`.
pub fn run_loss(name: &str, isa: Isa, p: &[f32], t: &[f32], grad: &mut [f32]) -> Result<f32, Error> {
    use nnsimd::loss::*;
    match name {
        "mse" => Mse::default().forward_backward_with(isa, p, t, grad),
        "l1" => L1::default().forward_backward_with(isa, p, t, grad),
        "huber" => Huber::default().forward_backward_with(isa, p, t, grad),
        "smooth_l1" => SmoothL1::default().forward_backward_with(isa, p, t, grad),
        "bce" => Bce::default().forward_backward_with(isa, p, t, grad),
        "bce_with_logits" => BceWithLogits::default().forward_backward_with(isa, p, t, grad),
        _ => KlDiv::default().forward_backward_with(isa, p, t, grad),
    }
}

/// Class targets for rows of `len` logits: a fixed pseudo-random class per row.
pub fn class_targets(rows: usize, len: usize) -> Vec<i64> {
    (0..rows as u64).map(|r| ((r.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 17) % len as u64) as i64).collect()
}

/// One `forward_backward` of the mean cross-entropy over rows of `len` logits.
pub fn run_cross_entropy<T: Element>(
    isa: Isa,
    len: usize,
    x: &[T],
    t: &[i64],
    grad: &mut [T],
) -> Result<f32, Error> {
    nnsimd::loss::CrossEntropy::new(len)?.forward_backward_with(isa, x, t, grad)
}
