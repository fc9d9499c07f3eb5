//! A transformer encoder of all-MiniLM-L6-v2's shape (hidden 384, 6 layers, 12 heads, FFN
//! 1536, erf GELU, softmax attention, post-LayerNorm as BERT) built from candle-nn layers with
//! weights from a fixed seed, timed with candle's own GELU and softmax against nnsimd's, and
//! one training step (forward, backward, AdamW) with candle-nn's AdamW against nnsimd's
//! through [`NnsimdOptimizer`].
//!
//! ```text
//! cargo run --release -p nnsimd-candle --example encoder            # batch 8 × sequence 128
//! cargo run --release -p nnsimd-candle --example encoder -- --small # a reduced shape (CI)
//! ```
//!
//! Without `RAYON_NUM_THREADS` it runs itself twice, with 1 thread and with all of them (candle's
//! matrix products and nnsimd both size their pools from that variable); with it set, it
//! measures once with that many.
//!
//! Inference uses candle's fused `softmax_last_dim` and LayerNorm; training uses candle's
//! composed softmax and `layer_norm_slow`, which have a backward (the fused ones do not).

use candle_core::{D, DType, Device, Module, Result, Tensor, Var};
use candle_nn::{Linear, Optimizer};
use nnsimd::optim::{AdamWConfig, Config};
use nnsimd_candle::{Activation, NnsimdOptimizer, activation, softmax_last_dim};
use std::time::Instant;

/// The encoder's dimensions.
#[derive(Clone, Copy, Debug)]
struct Shape {
    batch: usize,
    seq: usize,
    hidden: usize,
    layers: usize,
    heads: usize,
    ffn: usize,
}

const FULL: Shape = Shape { batch: 8, seq: 128, hidden: 384, layers: 6, heads: 12, ffn: 1536 };
const SMALL: Shape = Shape { batch: 2, seq: 16, hidden: 64, layers: 2, heads: 4, ffn: 256 };

/// Whose GELU and softmax the forward pass calls; `Neither` skips them (identity), which
/// times the rest of the pass.
#[derive(Clone, Copy, PartialEq)]
enum Ops {
    Candle,
    Nnsimd,
    Neither,
}

/// The repository's seeded generator (SplitMix64), shared with nnsimd's examples.
#[path = "../../examples/common/rng.rs"]
mod splitmix;

/// SplitMix64: the weights are the same on every machine.
struct Rng(splitmix::Rng);

impl Rng {
    /// Uniform in [0, 1) on a grid of 2^-24.
    fn next_f32(&mut self) -> f32 {
        (self.0.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A tensor of `shape` uniform in [−a, a).
    fn tensor(&mut self, shape: &[usize], a: f32) -> Result<Tensor> {
        let n = shape.iter().product();
        let v = (0..n).map(|_| a * (2.0 * self.next_f32() - 1.0)).collect();
        Tensor::from_vec(v, shape, &Device::Cpu)
    }

    fn var(&mut self, shape: &[usize], a: f32) -> Result<Var> {
        Var::from_tensor(&self.tensor(shape, a)?)
    }
}

/// A linear layer's variables (PyTorch's uniform ±1/√fan_in initialization).
struct Dense {
    w: Var,
    b: Var,
}

impl Dense {
    fn new(rng: &mut Rng, fan_in: usize, fan_out: usize) -> Result<Dense> {
        let a = 1.0 / (fan_in as f32).sqrt();
        Ok(Dense { w: rng.var(&[fan_out, fan_in], a)?, b: rng.var(&[fan_out], a)? })
    }

    fn layer(&self) -> Linear {
        Linear::new(self.w.as_tensor().clone(), Some(self.b.as_tensor().clone()))
    }
}

/// A LayerNorm's scale and shift.
struct Norm {
    w: Var,
    b: Var,
}

impl Norm {
    fn new(hidden: usize) -> Result<Norm> {
        Ok(Norm {
            w: Var::ones(hidden, DType::F32, &Device::Cpu)?,
            b: Var::zeros(hidden, DType::F32, &Device::Cpu)?,
        })
    }

    /// BERT's LayerNorm (ε = 1e-12): candle-nn's fused layer for inference, its composed
    /// form (which has a backward) for training.
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if train {
            candle_nn::ops::layer_norm_slow(x, &self.w, &self.b, 1e-12)
        } else {
            candle_nn::LayerNorm::new(self.w.as_tensor().clone(), self.b.as_tensor().clone(), 1e-12)
                .forward(x)
        }
    }
}

struct Layer {
    qkv: Dense,
    out: Dense,
    norm1: Norm,
    up: Dense,
    down: Dense,
    norm2: Norm,
}

struct Encoder {
    s: Shape,
    layers: Vec<Layer>,
}

impl Encoder {
    fn new(s: Shape, seed: u64) -> Result<Encoder> {
        let mut rng = Rng(splitmix::Rng(seed));
        let h = s.hidden;
        let layers = (0..s.layers)
            .map(|_| {
                Ok(Layer {
                    qkv: Dense::new(&mut rng, h, 3 * h)?,
                    out: Dense::new(&mut rng, h, h)?,
                    norm1: Norm::new(h)?,
                    up: Dense::new(&mut rng, h, s.ffn)?,
                    down: Dense::new(&mut rng, s.ffn, h)?,
                    norm2: Norm::new(h)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Encoder { s, layers })
    }

    fn vars(&self) -> Vec<Var> {
        let mut v = Vec::new();
        for l in &self.layers {
            for d in [&l.qkv, &l.out, &l.up, &l.down] {
                v.extend([d.w.clone(), d.b.clone()]);
            }
            for n in [&l.norm1, &l.norm2] {
                v.extend([n.w.clone(), n.b.clone()]);
            }
        }
        v
    }

    /// Copies every variable's value from `other` (same shape).
    fn load(&self, other: &Encoder) -> Result<()> {
        for (a, b) in self.vars().iter().zip(other.vars()) {
            a.set(b.as_tensor())?;
        }
        Ok(())
    }

    fn gelu(x: &Tensor, ops: Ops) -> Result<Tensor> {
        match ops {
            Ops::Candle => x.gelu_erf(),
            Ops::Nnsimd => activation(x, Activation::Gelu),
            Ops::Neither => Ok(x.clone()),
        }
    }

    fn softmax(x: &Tensor, ops: Ops, train: bool) -> Result<Tensor> {
        match (ops, train) {
            (Ops::Candle, false) => candle_nn::ops::softmax_last_dim(x),
            (Ops::Candle, true) => candle_nn::ops::softmax(x, D::Minus1),
            (Ops::Nnsimd, _) => softmax_last_dim(x),
            (Ops::Neither, _) => Ok(x.clone()),
        }
    }

    /// The encoder on hidden states `[batch, seq, hidden]`.
    fn forward(&self, x: &Tensor, ops: Ops, train: bool) -> Result<Tensor> {
        let Shape { batch: b, seq: t, hidden: h, heads, .. } = self.s;
        let d = h / heads;
        let mut x = x.clone();
        for l in &self.layers {
            let qkv = l.qkv.layer().forward(&x)?.reshape((b, t, 3, heads, d))?.permute((2, 0, 3, 1, 4))?;
            let (q, k, v) = (qkv.get(0)?.contiguous()?, qkv.get(1)?.contiguous()?, qkv.get(2)?.contiguous()?);
            let scores = (q.matmul(&k.t()?.contiguous()?)? / (d as f64).sqrt())?;
            let p = Self::softmax(&scores, ops, train)?;
            let ctx = p.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((b, t, h))?;
            x = l.norm1.forward(&(l.out.layer().forward(&ctx)? + &x)?, train)?;
            let f = l.down.layer().forward(&Self::gelu(&l.up.layer().forward(&x)?, ops)?)?;
            x = l.norm2.forward(&(f + &x)?, train)?;
        }
        Ok(x)
    }
}

/// The fastest of `runs` timings of `f` in milliseconds, after one untimed run (the minimum:
/// the machine's other load only ever adds time).
fn time_ms(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(best)
}

fn max_diff(a: &Tensor, b: &Tensor) -> Result<f32> {
    (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()
}

/// Measures with the current thread count and prints the table's rows.
fn measure(s: Shape, runs: usize, threads: &str) -> Result<()> {
    let input = Rng(splitmix::Rng(7)).tensor(&[s.batch, s.seq, s.hidden], 1.0)?;
    let enc = Encoder::new(s, 42)?;

    // Forward with each one's ops; their share is the time the pass spends beyond the same
    // pass without them.
    let rest = time_ms(runs, || enc.forward(&input, Ops::Neither, false).map(drop))?;
    let mut fwd = [0.0; 2];
    let mut share = [0.0; 2];
    for (i, ops) in [Ops::Candle, Ops::Nnsimd].into_iter().enumerate() {
        fwd[i] = time_ms(runs, || enc.forward(&input, ops, false).map(drop))?;
        share[i] = (1.0 - rest / fwd[i]).max(0.0);
    }
    let y_c = enc.forward(&input, Ops::Candle, false)?;
    let y_n = enc.forward(&input, Ops::Nnsimd, false)?;
    let fwd_diff = max_diff(&y_c, &y_n)?;

    // One training step: loss ½·mean((y − target)²), backward, AdamW (lr 1e-3, decay 0.01).
    let target = Rng(splitmix::Rng(10)).tensor(&[s.batch, s.seq, s.hidden], 1.0)?;
    let loss = |enc: &Encoder, ops: Ops| -> Result<Tensor> {
        let y = enc.forward(&input, ops, true)?;
        (y - &target)?.sqr()?.mean_all()? * 0.5
    };
    let enc_c = Encoder::new(s, 42)?;
    let enc_n = Encoder::new(s, 42)?;
    let params = candle_nn::ParamsAdamW { lr: 1e-3, weight_decay: 0.01, ..Default::default() };
    let mut adam_c = candle_nn::AdamW::new(enc_c.vars(), params.clone())?;
    let config = Config::AdamW(AdamWConfig { lr: 1e-3, weight_decay: 0.01, ..Default::default() });
    let mut adam_n = NnsimdOptimizer::new(enc_n.vars(), config)?;
    let step_c = time_ms(runs, || adam_c.backward_step(&loss(&enc_c, Ops::Candle)?))?;
    let step_n = time_ms(runs, || adam_n.backward_step(&loss(&enc_n, Ops::Nnsimd)?))?;
    // The optimizers alone, each on one set of its model's gradients.
    let grads_c = loss(&enc_c, Ops::Candle)?.backward()?;
    let grads_n = loss(&enc_n, Ops::Nnsimd)?.backward()?;
    let opt_c = time_ms(runs, || adam_c.step(&grads_c))?;
    let opt_n = time_ms(runs, || adam_n.step(&grads_n))?;
    // From the same weights, one step each: the largest difference of the updated weights.
    for e in [&enc_c, &enc_n] {
        e.load(&enc)?;
    }
    let mut adam_c = candle_nn::AdamW::new(enc_c.vars(), params.clone())?;
    let mut adam_n = NnsimdOptimizer::new(enc_n.vars(), config)?;
    adam_c.backward_step(&loss(&enc_c, Ops::Candle)?)?;
    adam_n.backward_step(&loss(&enc_n, Ops::Nnsimd)?)?;
    let mut step_diff = 0f32;
    for (a, b) in enc_c.vars().iter().zip(enc_n.vars()) {
        step_diff = step_diff.max(max_diff(a, &b)?);
    }

    println!(
        "| {threads} | forward | {:.1} | {:.1} | {:.2}× | {:.0}% | {:.0}% | {:.1e} |",
        fwd[0],
        fwd[1],
        fwd[0] / fwd[1],
        100.0 * share[0],
        100.0 * share[1],
        fwd_diff
    );
    println!(
        "| {threads} | training step | {step_c:.1} | {step_n:.1} | {:.2}× | | | {step_diff:.1e} |",
        step_c / step_n
    );
    println!("| {threads} | AdamW alone | {opt_c:.2} | {opt_n:.2} | {:.2}× | | | |", opt_c / opt_n);
    Ok(())
}

fn main() -> Result<()> {
    let small = std::env::args().any(|a| a == "--small");
    let (s, runs) = if small { (SMALL, 2) } else { (FULL, 5) };
    match std::env::var("RAYON_NUM_THREADS") {
        Ok(n) => measure(s, runs, &n),
        Err(_) => {
            println!(
                "encoder {}×{}, hidden {}, {} layers, {} heads, FFN {}; best of {runs} runs after one warm-up",
                s.batch, s.seq, s.hidden, s.layers, s.heads, s.ffn
            );
            println!();
            println!(
                "| threads | pass | candle ms | nnsimd ms | speed-up | GELU+softmax share (candle) | (nnsimd) | max abs diff |"
            );
            println!("|---|---|---|---|---|---|---|---|");
            let all = std::thread::available_parallelism().map_or(1, |n| n.get());
            let exe = std::env::current_exe()?;
            for n in [1, all] {
                let status = std::process::Command::new(&exe)
                    .args(std::env::args().skip(1))
                    .env("RAYON_NUM_THREADS", n.to_string())
                    .status()?;
                if !status.success() {
                    candle_core::bail!("the run with {n} threads failed: {status}");
                }
            }
            Ok(())
        }
    }
}
