//! Throughput of the kernels (DESIGN.md §6, **contract**), with baselines measured in the same run.
//!
//! ```text
//! cargo run --release --example speed -- [--json] [--markdown] [--kernels a,b] [--sizes 65536,...]
//!     [--isa I] [--threads T] [--dtype f32|bf16|f16]
//! ```
//!
//! Rows: every implemented activation × pass (`forward` out-of-place, `backward`) × ISA, and per
//! activation and pass an `"isa":"naive"` row: a plain loop over the f32 formula with std's f32
//! functions (libm's `erff` for GELU, which std lacks on stable), as a user would write it. For
//! every size, whatever `--kernels` says, two memory limits: `limit_copy` (y = x through memcpy)
//! and `limit_update3` (`"pass":"step"`: p, m, v updated in place from g, Adam's 4-read/3-write
//! traffic, a plain loop the compiler vectorizes; it is compiled for the baseline, AVX2 and
//! AVX-512 too, since the peers' harness builds it with `-C target-cpu=native`, and the best
//! of those that the CPU runs counts).
//!
//! Also `prelu` (one slope), `prelu_nhwc64`, `prelu_nchw64` (64 channels, channels-last and
//! NCHW with a batch of 4) and `rrelu` (training), whose backward rows include the slope
//! gradient (PReLU) or regenerate the slopes (RReLU); PReLU with one slope has naive rows (a
//! plain loop, and for backward a running f32 sum), the others none.
//!
//! - `--sizes` (default 4096,65536,1048576,16777216); `--isa` one ISA, or a comma list (default
//!   every available one; `naive` alone leaves only the baselines); `--threads T` (default 1)
//!   runs everything inside a rayon pool of T threads (the naive and limit loops split into the
//!   library's fixed chunks when T > 1).
//! - `--dtype bf16` or `f16` (feature `half`): the activation rows read and write slices of that
//!   type, and `limit_copy` copies that type (2 bytes read and 2 written per element: the rows'
//!   own traffic limit); PReLU, RReLU, the optimizers and the naive loops are f32 only and are
//!   left out. Every row carries `"dtype"` (`f32` by default).
//! - Inputs: x ~ N(0, 3²), dy ~ N(0, 1), from a fixed seed (xorshift64* and Box-Muller),
//!   rounded to the `--dtype`.
//! - Each figure is the best per-call time over repeated samples; repetitions are scaled so a
//!   measurement takes about 30-100 ms and a full default run about two minutes.
//!
//! With `--json`, one line per measurement:
//! `{"kernel":"gelu_tanh","pass":"forward","isa":"avx512","n":65536,"threads":1,"dtype":"f32","melem_per_s":2410.7}`.
//! Otherwise a table with the ratios to the naive loop and to `limit_copy`. Unknown kernel names
//! exit with code 2; known names that this version does not implement are skipped with a note.

use nnsimd::{Activation, Element, Isa, Prelu, Rrelu, RreluMode, optim};
use rayon::prelude::*;
use std::hint::black_box;
use std::process::exit;
use std::time::Instant;

/// Target duration of a full default run, spread over its measurements.
const TOTAL_SECONDS: f64 = 60.0;
/// Elements per chunk of the threaded naive and limit loops.
const CHUNK: usize = nnsimd::parallel::CHUNK;
/// Names that `--kernels` accepts for the optimizers of DESIGN.md §6 (measured once they exist).
const OPTIMIZERS: [&str; 13] = [
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
const LIMITS: [&str; 2] = ["limit_copy", "limit_update3"];
/// PReLU and RReLU rows: one slope (PyTorch's initial 0.25); 64 channels channels-last;
/// 64 channels NCHW with a batch of 4 (H·W = n/256); RReLU in training at PyTorch's defaults
/// (slopes drawn in forward and regenerated in backward). PReLU's backward row computes dx and
/// the slope gradient.
const SLOPED: [&str; 4] = ["prelu", "prelu_nhwc64", "prelu_nchw64", "rrelu"];

#[path = "common/pass.rs"]
mod pass;
use pass::Pass;

/// The optimizer behind a `speed` row name, at PyTorch's defaults (DESIGN.md §6), or None if
/// this version does not have it.
fn make_optimizer(name: &str, n: usize) -> Option<Box<dyn optim::Optimizer>> {
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

fn usage(msg: &str) -> ! {
    eprintln!("speed: {msg}");
    eprintln!(
        "usage: speed [--json] [--markdown] [--kernels a,b] [--sizes 65536,...] [--isa I] [--threads T] \
         [--dtype f32|bf16|f16]"
    );
    exit(2)
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// xorshift64* with Box-Muller: a fixed stream of N(0, 1) samples.
struct Normal {
    s: u64,
    spare: Option<f64>,
}

impl Normal {
    fn new(seed: u64) -> Normal {
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

    fn fill(&mut self, n: usize, sigma: f64) -> Vec<f32> {
        (0..n).map(|_| (sigma * self.next()) as f32).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Plain loops: what a user writes, split over the pool's threads when there are several.

#[inline(always)]
fn map1(threads: usize, x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32 + Sync + Send) {
    let run = |x: &[f32], y: &mut [f32]| {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = f(v);
        }
    };
    if threads > 1 {
        x.par_chunks(CHUNK).zip(y.par_chunks_mut(CHUNK)).for_each(|(x, y)| run(x, y));
    } else {
        run(x, y)
    }
}

#[inline(always)]
fn map2(threads: usize, x: &[f32], dy: &[f32], dx: &mut [f32], f: impl Fn(f32, f32) -> f32 + Sync + Send) {
    let run = |x: &[f32], dy: &[f32], dx: &mut [f32]| {
        for ((o, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
            *o = f(v, g);
        }
    };
    if threads > 1 {
        x.par_chunks(CHUNK)
            .zip(dy.par_chunks(CHUNK))
            .zip(dx.par_chunks_mut(CHUNK))
            .for_each(|((x, dy), dx)| run(x, dy, dx));
    } else {
        run(x, dy, dx)
    }
}

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

const SELU_LAMBDA: f32 = 1.050_701;
const SELU_ALPHA: f32 = 1.673_263_2;
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// y = f(x) as a plain f32 loop; false for an activation without a naive form.
fn naive_forward(act: Activation, t: usize, x: &[f32], y: &mut [f32]) -> bool {
    match act {
        Activation::Sigmoid => map1(t, x, y, sigmoid),
        Activation::HardSigmoid => map1(t, x, y, |v| (v + 3.0).clamp(0.0, 6.0) / 6.0),
        Activation::Softsign => map1(t, x, y, |v| v / (1.0 + v.abs())),
        Activation::Tanh => map1(t, x, y, |v| v.tanh()),
        Activation::HardTanh { min, max } => map1(t, x, y, move |v| v.max(min).min(max)),
        Activation::Relu => map1(t, x, y, |v| v.max(0.0)),
        Activation::Relu6 => map1(t, x, y, |v| v.clamp(0.0, 6.0)),
        Activation::LeakyRelu { slope } => map1(t, x, y, move |v| if v > 0.0 { v } else { slope * v }),
        Activation::Softplus { beta, threshold } => {
            map1(t, x, y, move |v| if beta * v > threshold { v } else { (beta * v).exp().ln_1p() / beta })
        }
        Activation::Elu { alpha } => map1(t, x, y, move |v| if v > 0.0 { v } else { alpha * v.exp_m1() }),
        Activation::Celu { alpha } => {
            map1(t, x, y, move |v| if v > 0.0 { v } else { alpha * (v / alpha).exp_m1() })
        }
        Activation::Pelu { a, b } => {
            map1(t, x, y, move |v| if v >= 0.0 { a / b * v } else { a * (v / b).exp_m1() })
        }
        Activation::Selu => {
            map1(t, x, y, |v| SELU_LAMBDA * if v > 0.0 { v } else { SELU_ALPHA * v.exp_m1() })
        }
        Activation::Silu => map1(t, x, y, |v| v / (1.0 + (-v).exp())),
        Activation::Swish { beta } => map1(t, x, y, move |v| v / (1.0 + (-beta * v).exp())),
        Activation::ESwish { beta } => map1(t, x, y, move |v| beta * v / (1.0 + (-v).exp())),
        Activation::HardSwish => map1(t, x, y, |v| v * (v + 3.0).clamp(0.0, 6.0) / 6.0),
        Activation::Mish => map1(t, x, y, |v| v * (v.exp().ln_1p()).tanh()),
        Activation::Gelu => map1(t, x, y, |v| 0.5 * v * (1.0 + libm::erff(v * FRAC_1_SQRT_2))),
        Activation::GeluTanh => {
            map1(t, x, y, |v| 0.5 * v * (1.0 + (SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)).tanh()))
        }
        Activation::LogSigmoid => map1(t, x, y, |v| -((-v).exp().ln_1p())),
        _ => return false,
    }
    true
}

/// dx = dy·f'(x) as a plain f32 loop; false for an activation without a naive form.
fn naive_backward(act: Activation, t: usize, x: &[f32], dy: &[f32], dx: &mut [f32]) -> bool {
    match act {
        Activation::Sigmoid => map2(t, x, dy, dx, |v, g| {
            let s = sigmoid(v);
            g * s * (1.0 - s)
        }),
        Activation::HardSigmoid => map2(t, x, dy, dx, |v, g| if v > -3.0 && v < 3.0 { g / 6.0 } else { 0.0 }),
        Activation::Softsign => map2(t, x, dy, dx, |v, g| {
            let d = 1.0 + v.abs();
            g / (d * d)
        }),
        Activation::Tanh => map2(t, x, dy, dx, |v, g| {
            let th = v.tanh();
            g * (1.0 - th * th)
        }),
        Activation::HardTanh { min, max } => {
            map2(t, x, dy, dx, move |v, g| if v > min && v < max { g } else { 0.0 })
        }
        Activation::Relu => map2(t, x, dy, dx, |v, g| if v > 0.0 { g } else { 0.0 }),
        Activation::Relu6 => map2(t, x, dy, dx, |v, g| if v > 0.0 && v < 6.0 { g } else { 0.0 }),
        Activation::LeakyRelu { slope } => {
            map2(t, x, dy, dx, move |v, g| if v > 0.0 { g } else { slope * g })
        }
        Activation::Softplus { beta, threshold } => {
            map2(t, x, dy, dx, move |v, g| if beta * v > threshold { g } else { g * sigmoid(beta * v) })
        }
        Activation::Elu { alpha } => {
            map2(t, x, dy, dx, move |v, g| if v > 0.0 { g } else { g * alpha * v.exp() })
        }
        Activation::Celu { alpha } => {
            map2(t, x, dy, dx, move |v, g| if v > 0.0 { g } else { g * (v / alpha).exp() })
        }
        Activation::Pelu { a, b } => {
            map2(t, x, dy, dx, move |v, g| if v >= 0.0 { g * a / b } else { g * a / b * (v / b).exp() })
        }
        Activation::Selu => map2(t, x, dy, dx, |v, g| {
            g * if v > 0.0 { SELU_LAMBDA } else { SELU_LAMBDA * SELU_ALPHA * v.exp() }
        }),
        Activation::Silu => map2(t, x, dy, dx, |v, g| {
            let s = sigmoid(v);
            g * s * (1.0 + v * (1.0 - s))
        }),
        Activation::Swish { beta } => map2(t, x, dy, dx, move |v, g| {
            let s = sigmoid(beta * v);
            g * (s + beta * v * s * (1.0 - s))
        }),
        Activation::ESwish { beta } => map2(t, x, dy, dx, move |v, g| {
            let s = sigmoid(v);
            g * beta * (s + v * s * (1.0 - s))
        }),
        Activation::HardSwish => map2(t, x, dy, dx, |v, g| {
            if v < -3.0 {
                0.0
            } else if v > 3.0 {
                g
            } else {
                g * (2.0 * v + 3.0) / 6.0
            }
        }),
        Activation::Mish => map2(t, x, dy, dx, |v, g| {
            let w = v.exp().ln_1p().tanh();
            g * (w + v * sigmoid(v) * (1.0 - w * w))
        }),
        Activation::Gelu => map2(t, x, dy, dx, |v, g| {
            let cdf = 0.5 * (1.0 + libm::erff(v * FRAC_1_SQRT_2));
            g * (cdf + v * FRAC_1_SQRT_2PI * (-0.5 * v * v).exp())
        }),
        Activation::GeluTanh => map2(t, x, dy, dx, |v, g| {
            let th = (SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)).tanh();
            let du = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * v * v);
            g * (0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * du)
        }),
        Activation::LogSigmoid => map2(t, x, dy, dx, |v, g| g / (1.0 + v.exp())),
        _ => return false,
    }
    true
}

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
fn run_sloped(
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

fn limit_copy<T: Copy + Send + Sync>(t: usize, x: &[T], y: &mut [T]) {
    if t > 1 {
        x.par_chunks(CHUNK).zip(y.par_chunks_mut(CHUNK)).for_each(|(x, y)| y.copy_from_slice(x));
    } else {
        y.copy_from_slice(x);
    }
}

/// One Adam-like update of p, m, v from g: the loop a user writes.
#[inline(always)]
fn update3_loop(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
    for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
        *m = 0.9 * *m + 0.1 * g;
        *v = 0.999 * *v + 0.001 * g * g;
        *p -= 0.001 * *m / (v.sqrt() + 1e-8);
    }
}

/// The same loop compiled for AVX-512F, as the harness's `-C target-cpu=native` build does: a
/// limit is the best that plain code reaches on this CPU, not the x86-64 baseline's.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn update3_avx512(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
    update3_loop(p, m, v, g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn update3_avx2(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
    update3_loop(p, m, v, g)
}

/// A vector extension the update3 loop is compiled for.
#[derive(Clone, Copy)]
enum Level {
    Base,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Level {
    /// The levels this CPU runs. The limit is the best of them: which is fastest depends on the
    /// CPU (AVX-512's divide and square root are not faster than AVX2's everywhere).
    fn available() -> Vec<Level> {
        #[allow(unused_mut)]
        let mut v = vec![Level::Base];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                v.push(Level::Avx2);
            }
            if is_x86_feature_detected!("avx512f") {
                v.push(Level::Avx512);
            }
        }
        v
    }

    fn update3(self, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
        match self {
            Level::Base => update3_loop(p, m, v, g),
            // SAFETY: `available` lists the level only after checking that the CPU has the features.
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => unsafe { update3_avx2(p, m, v, g) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => unsafe { update3_avx512(p, m, v, g) },
        }
    }
}

fn limit_update3(t: usize, level: Level, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
    if t > 1 {
        p.par_chunks_mut(CHUNK)
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK))
            .for_each(|(((p, m), v), g)| level.update3(p, m, v, g));
    } else {
        level.update3(p, m, v, g)
    }
}

// ---------------------------------------------------------------------------------------------
// Element types

/// The `--dtype` of the activation rows, with x, dy and an output buffer of that type (for
/// bf16 and f16; f32 rows use the f32 buffers).
enum Typed {
    F32,
    #[cfg(feature = "half")]
    Bf16([Vec<nnsimd::bf16>; 3]),
    #[cfg(feature = "half")]
    F16([Vec<nnsimd::f16>; 3]),
}

impl Typed {
    fn new(name: &str, x: &[f32], dy: &[f32]) -> Typed {
        #[cfg(not(feature = "half"))]
        let _ = (x, dy);
        #[cfg(feature = "half")]
        {
            let conv = |v: &[f32], f: fn(f32) -> u16| v.iter().map(|&v| f(v)).collect::<Vec<u16>>();
            let (bf, hf) = (|v| nnsimd::bf16::from_f32(v).to_bits(), |v| nnsimd::f16::from_f32(v).to_bits());
            match name {
                "bf16" => {
                    let t = |v: Vec<u16>| v.into_iter().map(nnsimd::bf16::from_bits).collect();
                    return Typed::Bf16([t(conv(x, bf)), t(conv(dy, bf)), t(conv(x, bf))]);
                }
                "f16" => {
                    let t = |v: Vec<u16>| v.into_iter().map(nnsimd::f16::from_bits).collect();
                    return Typed::F16([t(conv(x, hf)), t(conv(dy, hf)), t(conv(x, hf))]);
                }
                _ => {}
            }
        }
        match name {
            "f32" => Typed::F32,
            "bf16" | "f16" => usage(&format!("--dtype {name} needs the feature `half` (--features half)")),
            _ => usage(&format!("--dtype: {name:?} is not f32, bf16 or f16")),
        }
    }
}

/// Best seconds per call of an activation pass on slices of `T`.
fn time_act<T: Element>(
    budget: f64,
    act: Activation,
    isa: Isa,
    pass: Pass,
    x: &[T],
    dy: &[T],
    y: &mut [T],
) -> f64 {
    best_time(budget, || {
        match pass {
            Pass::Forward => act.forward_with(isa, black_box(x), y),
            Pass::Backward => act.backward_with(isa, black_box(x), black_box(dy), y),
        }
        .expect("kernel");
        black_box(&mut *y);
    })
}

// ---------------------------------------------------------------------------------------------
// Timing

/// Best seconds per call of `f`, spending about `budget` seconds: one warm-up call, then samples
/// of enough calls to last budget/10 each, at least three of them. A call slower than the budget
/// is timed once (the buffers are already in memory), one slower than budget/3 twice.
fn best_time(budget: f64, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    f();
    let warm = t.elapsed().as_secs_f64();
    if warm >= budget {
        return warm;
    }
    let t = Instant::now();
    f();
    let once = t.elapsed().as_secs_f64().max(1e-9);
    if warm.min(once) >= budget / 3.0 {
        return warm.min(once);
    }
    let reps = ((budget / 10.0) / once).ceil().clamp(1.0, 1e9) as u64;
    let end = Instant::now() + std::time::Duration::from_secs_f64(budget);
    let mut best = once;
    let mut samples = 0;
    while samples < 3 || Instant::now() < end {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
        samples += 1;
    }
    best
}

// ---------------------------------------------------------------------------------------------
// Output

struct Out {
    json: bool,
    markdown: bool,
    rows: Vec<Meas>,
}

#[derive(Clone)]
struct Meas {
    kernel: String,
    pass: &'static str,
    isa: String,
    n: usize,
    threads: usize,
    dtype: &'static str,
    melem: f64,
}

impl Out {
    fn header(&self) {
        if !self.json && !self.markdown {
            println!(
                "{:<14} {:<8} {:<8} {:>9} {:>3} {:>11} {:>8} {:>7}",
                "kernel", "pass", "isa", "n", "thr", "Melem/s", "×naive", "×copy"
            );
        }
    }

    fn ratio(&self, m: &Meas, kernel: &str, pass: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.kernel == kernel && r.pass == pass && r.isa == "naive" && r.n == m.n)
            .map(|r| m.melem / r.melem)
    }

    fn push(&mut self, m: Meas) {
        if self.json {
            println!(
                "{{\"kernel\":\"{}\",\"pass\":\"{}\",\"isa\":\"{}\",\"n\":{},\"threads\":{},\"dtype\":\"{}\",\"melem_per_s\":{:.1}}}",
                m.kernel, m.pass, m.isa, m.n, m.threads, m.dtype, m.melem
            );
        } else if !self.markdown {
            let fmt = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}"));
            let naive = if m.kernel.starts_with("limit_") { None } else { self.ratio(&m, &m.kernel, m.pass) };
            let copy = self.ratio(&m, "limit_copy", "forward");
            println!(
                "{:<14} {:<8} {:<8} {:>9} {:>3} {:>11.1} {:>8} {:>7}",
                m.kernel,
                m.pass,
                m.isa,
                m.n,
                m.threads,
                m.melem,
                fmt(naive),
                fmt(copy)
            );
        }
        self.rows.push(m);
    }

    /// One line per kernel, pass and size; one column per ISA.
    fn markdown(&self, isas: &[Isa]) {
        let mut head = String::from("| kernel | pass | n | threads | naive |");
        let mut rule = String::from("|---|---|---:|---:|---:|");
        for isa in isas {
            head += &format!(" {isa} |");
            rule += "---:|";
        }
        println!("{head} best ÷ naive | best ÷ copy |\n{rule}---:|---:|");
        let mut seen: Vec<(&str, &str, usize)> = Vec::new();
        for m in &self.rows {
            let key = (m.kernel.as_str(), m.pass, m.n);
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            let get = |isa: &str| {
                self.rows
                    .iter()
                    .find(|r| r.kernel == m.kernel && r.pass == m.pass && r.n == m.n && r.isa == isa)
            };
            let cell = |r: Option<&Meas>| r.map_or("-".to_string(), |r| format!("{:.0}", r.melem));
            let mut line =
                format!("| {} | {} | {} | {} | {} |", m.kernel, m.pass, m.n, m.threads, cell(get("naive")));
            let mut best: Option<&Meas> = None;
            for isa in isas {
                let r = get(isa.name());
                if let Some(r) = r
                    && best.is_none_or(|b| r.melem > b.melem)
                {
                    best = Some(r);
                }
                line += &format!(" {} |", cell(r));
            }
            let best = best.or(get("naive"));
            let fmt = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}×"));
            let naive = best.and_then(|b| {
                get("naive").filter(|_| !m.kernel.starts_with("limit_")).map(|n| b.melem / n.melem)
            });
            let copy = best.and_then(|b| self.ratio(b, "limit_copy", "forward"));
            println!("{line} {} | {} |", fmt(naive), fmt(copy));
        }
        println!(
            "\nMelem/s, best of repeated calls; x ~ N(0, 3²); out-of-place forward, backward with dy ~ N(0, 1)."
        );
    }
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut json, mut markdown) = (false, false);
    let mut names: Option<Vec<String>> = None;
    let mut sizes: Vec<usize> = vec![4096, 65536, 1 << 20, 1 << 24];
    let mut isa_arg: Option<String> = None;
    let mut threads = 1usize;
    let mut dtype = String::from("f32");
    while let Some(a) = args.next() {
        let mut value = |what: &str| args.next().unwrap_or_else(|| usage(&format!("{a} needs {what}")));
        match a.as_str() {
            "--json" => json = true,
            "--markdown" => markdown = true,
            "--kernels" => {
                let v = value("a list of names");
                names =
                    Some(v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect());
            }
            "--sizes" => {
                let v = value("a list of sizes");
                sizes = v
                    .split(',')
                    .map(|s| s.trim().parse::<usize>().ok().filter(|&n| n > 0))
                    .collect::<Option<Vec<_>>>()
                    .unwrap_or_else(|| usage(&format!("--sizes: {v:?} is not a list of positive numbers")));
            }
            "--isa" => isa_arg = Some(value("an ISA name")),
            "--threads" => {
                let v = value("a number");
                threads = v
                    .parse()
                    .ok()
                    .filter(|&t| t > 0)
                    .unwrap_or_else(|| usage("--threads needs a number ≥ 1"));
            }
            "--dtype" => dtype = value("f32, bf16 or f16"),
            "-h" | "--help" => usage("throughput of the kernels and their baselines"),
            _ => usage(&format!("unknown argument {a}")),
        }
    }

    // ISAs.
    let isas: Vec<Isa> = match &isa_arg {
        None => Isa::available(),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| *s != "naive")
            .map(|s| {
                let isa: Isa = s.parse().unwrap_or_else(|e| usage(&format!("{e}")));
                if !isa.is_available() {
                    usage(&format!("ISA {isa} is not available here (available: {:?})", Isa::available()));
                }
                isa
            })
            .collect(),
    };

    // Kernels.
    let mut acts: Vec<Activation> = Vec::new();
    let mut opts: Vec<&str> = Vec::new();
    let mut sloped: Vec<&str> = Vec::new();
    match &names {
        None => {
            acts.extend(Activation::all().filter(Activation::is_implemented));
            sloped.extend(SLOPED);
            opts.extend(OPTIMIZERS.iter().copied().filter(|o| make_optimizer(o, 1).is_some()));
        }
        Some(list) => {
            for n in list {
                if LIMITS.contains(&n.as_str()) {
                    continue; // always measured
                }
                if let Some(&k) = SLOPED.iter().find(|k| **k == n.as_str()) {
                    if !sloped.contains(&k) {
                        sloped.push(k);
                    }
                } else if let Ok(a) = Activation::from_name(n) {
                    if !a.is_implemented() {
                        eprintln!("speed: skipping {n}: not implemented yet");
                    } else if !acts.contains(&a) {
                        acts.push(a);
                    }
                } else if let Some(&o) = OPTIMIZERS.iter().find(|o| **o == n.as_str()) {
                    if make_optimizer(o, 1).is_none() {
                        eprintln!("speed: skipping {n}: not implemented yet");
                    } else if !opts.contains(&o) {
                        opts.push(o);
                    }
                } else {
                    eprintln!(
                        "speed: unknown kernel {n:?}; known: {}, {}, {}, {}",
                        Activation::all().map(|a| a.name()).collect::<Vec<_>>().join(","),
                        SLOPED.join(","),
                        OPTIMIZERS.join(","),
                        LIMITS.join(",")
                    );
                    exit(2);
                }
            }
        }
    }

    let per_size = 2 + (acts.len() + sloped.len()) * 2 * (isas.len() + 1) + opts.len() * isas.len();
    let budget = (TOTAL_SECONDS / (per_size * sizes.len()) as f64).clamp(0.03, 0.1);

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap_or_else(|e| usage(&format!("cannot build a pool of {threads} threads: {e}")));
    let levels = Level::available();
    let mut out = Out { json, markdown, rows: Vec::new() };
    out.header();

    // Buffers for the largest size, written once so that no page fault lands in a measurement.
    let nmax = sizes.iter().copied().max().unwrap_or(0);
    let mut rng = Normal::new(0x5eed_0123_4567_89ab);
    let x_all = rng.fill(nmax, 3.0);
    let dy_all = rng.fill(nmax, 1.0);
    let mut y_all = vec![1.0f32; nmax];
    let (mut p_all, mut m_all, mut v_all) = (x_all.clone(), vec![0.5f32; nmax], vec![0.5f32; nmax]);
    let mut typed = Typed::new(&dtype, &x_all, &dy_all);
    let dtype: &'static str = dtype.leak();
    if dtype != "f32" && (!sloped.is_empty() || !opts.is_empty()) {
        eprintln!("speed: --dtype {dtype}: PReLU, RReLU and the optimizers are f32 only, left out");
        sloped.clear();
        opts.clear();
    }

    pool.install(|| {
        for &n in &sizes {
            let (x, dy, y) = (&x_all[..n], &dy_all[..n], &mut y_all[..n]);
            let melem = |secs: f64| n as f64 / secs / 1e6;
            let row = |kernel: &str, pass: &'static str, isa: &str, secs: f64| Meas {
                kernel: kernel.to_string(),
                pass,
                isa: isa.to_string(),
                n,
                threads,
                dtype: if kernel == "limit_update3" || pass == "step" { "f32" } else { dtype },
                melem: melem(secs),
            };

            let s = match &mut typed {
                Typed::F32 => best_time(budget, || {
                    limit_copy(threads, black_box(x), y);
                    black_box(&mut *y);
                }),
                #[cfg(feature = "half")]
                Typed::Bf16([x, _, y]) => {
                    best_time(budget, || limit_copy(threads, black_box(&x[..n]), &mut y[..n]))
                }
                #[cfg(feature = "half")]
                Typed::F16([x, _, y]) => {
                    best_time(budget, || limit_copy(threads, black_box(&x[..n]), &mut y[..n]))
                }
            };
            out.push(row("limit_copy", "forward", "naive", s));
            let (p, m, v) = (&mut p_all[..n], &mut m_all[..n], &mut v_all[..n]);
            let s = levels
                .iter()
                .map(|&level| {
                    best_time(budget, || {
                        limit_update3(threads, level, p, m, v, black_box(dy));
                        black_box((&mut *p, &mut *m, &mut *v));
                    })
                })
                .fold(f64::INFINITY, f64::min);
            out.push(row("limit_update3", "step", "naive", s));

            for act in &acts {
                for pass in [Pass::Forward, Pass::Backward] {
                    // The naive loops are f32: other dtypes have no naive rows.
                    let mut has_naive = true;
                    let s = (dtype == "f32").then(|| {
                        best_time(budget, || {
                            has_naive = match pass {
                                Pass::Forward => naive_forward(*act, threads, black_box(x), y),
                                Pass::Backward => {
                                    naive_backward(*act, threads, black_box(x), black_box(dy), y)
                                }
                            };
                            black_box(&mut *y);
                        })
                    });
                    if let Some(s) = s.filter(|_| has_naive) {
                        out.push(row(act.name(), pass.name(), "naive", s));
                    }
                    for &isa in &isas {
                        let s = match &mut typed {
                            Typed::F32 => time_act(budget, *act, isa, pass, x, dy, y),
                            #[cfg(feature = "half")]
                            Typed::Bf16([x, dy, y]) => {
                                time_act(budget, *act, isa, pass, &x[..n], &dy[..n], &mut y[..n])
                            }
                            #[cfg(feature = "half")]
                            Typed::F16([x, dy, y]) => {
                                time_act(budget, *act, isa, pass, &x[..n], &dy[..n], &mut y[..n])
                            }
                        };
                        out.push(row(act.name(), pass.name(), isa.name(), s));
                    }
                }
            }

            let mut ds = vec![0.0f32; 64];
            for &name in &sloped {
                for pass in [Pass::Forward, Pass::Backward] {
                    let targets = std::iter::once(None).chain(isas.iter().map(|&i| Some(i)));
                    for isa in targets {
                        // The plain loops are serial: they run only in one-thread rows.
                        if (isa.is_none() && threads > 1) || !run_sloped(name, pass, isa, x, dy, y, &mut ds) {
                            continue;
                        }
                        let s = best_time(budget, || {
                            run_sloped(name, pass, isa, black_box(x), black_box(dy), y, &mut ds);
                            black_box(&mut *y);
                        });
                        out.push(row(name, pass.name(), isa.map_or("naive", |i| i.name()), s));
                    }
                }
            }

            // Optimizer steps at their defaults, n parameters, g = dy (`n` counts parameters).
            for &name in &opts {
                for &isa in &isas {
                    let Some(mut opt) = make_optimizer(name, n) else { continue };
                    let p = &mut p_all[..n];
                    let s = best_time(budget, || {
                        opt.step_with(isa, p, black_box(dy)).expect("step");
                        black_box(&mut *p);
                    });
                    out.push(row(name, "step", isa.name(), s));
                }
            }
        }
    });
    if markdown {
        out.markdown(&isas);
    }
}
