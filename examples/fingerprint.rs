//! A fingerprint of the results of every public kernel: each case's outputs (every bit,
//! NaN payloads included), its `Ok`/`Err` results and, for the optimizers, the parameters, the
//! exported state and the step results, hashed with a 64-bit FNV-1a over 32-bit words, for
//! every ISA of `Isa::available()` and 1, 2 and 3 rayon threads. The output lines are
//! `<case> <isa> threads=<t> <hash>`, then `TOTAL <hash>` over all of them.
//!
//! It uses the public API only (`nnsimd::{Activation, Prelu, Rrelu, RreluMode, Glu, Isa,
//! Error, bf16, f16}` and `nnsimd::optim::*`), so that the same program can fingerprint the
//! crate before and after a refactor: equal lines mean equal bits. Run it with `NNSIMD_ISA`
//! unset (the `detect-*` cases use the detected ISA):
//!
//! ```text
//! cargo run --release --all-features --example fingerprint [-- --canonical-nan] > fingerprint.txt
//! ```
//!
//! With `--canonical-nan` every NaN hashes alike (which elements are NaN still counts): the
//! comparison the crate's determinism contract makes, since the sign and payload of a NaN
//! that meets another NaN follow the operand order the compiler chose.
//!
//! The inputs come from a fixed-seed SplitMix64 generator: normal-ish values of scale 3,
//! random bit patterns over the whole f32 line, and specials (±0, ±inf, NaNs, subnormals,
//! ±f32::MAX, values at the kinks); the optimizers get sane finite values with a few extreme
//! ones. The long length, 3·65,536 + 37, is over two of the crate's parallel chunks (16,384
//! elements at the time of writing), so the rayon paths run.

#![allow(clippy::too_many_arguments, clippy::type_complexity)]

use nnsimd::optim::{
    Adadelta, AdadeltaConfig, Adafactor, AdafactorConfig, Adagrad, AdagradConfig, Adam, AdamConfig,
    AdamWConfig, Adamax, AdamaxConfig, Checkpoint, Config, Grads, Lion, LionConfig, NAdam, NAdamConfig,
    Optimizer, Params, RmsProp, RmsPropConfig, Sgd, SgdConfig, Tensor, round_stochastic, step_multi,
    step_multi_scaled, step_multi_scaled_with, step_multi_with, stochastic_bits,
};
use nnsimd::{Activation, Error, Glu, Isa, Prelu, Rrelu, RreluMode, bf16, f16};
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The long length: more than two parallel chunks, and not a multiple of any vector width.
const LONG: usize = 3 * 65536 + 37;
/// Activation lengths.
const LENS: [usize; 11] = [0, 1, 7, 15, 16, 17, 33, 67, 300, 1025, LONG];
/// Lengths for cases that only check errors.
const SHORT_LENS: [usize; 2] = [0, 7];
/// Sentinel elements after each output slice (and the offset before it): an out-of-bounds
/// write changes the hash.
const GUARD: usize = 5;
/// Input buffers: the longest slice plus room for offsets.
const N_IN: usize = LONG + 256;
/// Thread counts.
const THREADS: [usize; 3] = [1, 2, 3];

// ---------------------------------------------------------------------------------------------
// Hash

/// FNV-1a, 64-bit, over 32-bit words (one per f32, one per bf16/f16, one per byte of text).
#[derive(Clone, Copy)]
struct Fnv(u64);

/// With `--canonical-nan`, every NaN value hashes as one word: which elements are NaN is part
/// of the result, the sign and payload of a NaN are not (they follow the operand order that
/// the compiler picks for a commutative operation with two NaN operands).
static CANONICAL_NAN: AtomicBool = AtomicBool::new(false);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    #[inline(always)]
    fn word(&mut self, w: u32) {
        self.0 = (self.0 ^ w as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }

    fn u64(&mut self, v: u64) {
        self.word(v as u32);
        self.word((v >> 32) as u32);
    }

    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        for &b in s.as_bytes() {
            self.word(b as u32);
        }
    }

    fn vals<T: Elem>(&mut self, s: &[T]) {
        self.u64(s.len() as u64);
        let canonical = CANONICAL_NAN.load(Ordering::Relaxed);
        for v in s {
            self.word(if canonical && v.is_nan() { 0x7fc0_0000 } else { v.bits() });
        }
    }

    /// A result: its `Debug` form, and for an error its `Display` form too.
    fn res<T: Debug>(&mut self, r: &Result<T, Error>) {
        self.str(&format!("{r:?}"));
        if let Err(e) = r {
            self.str(&e.to_string());
        }
    }

    /// A result whose `Ok` value is not hashed.
    fn ok<T>(&mut self, r: &Result<T, Error>) {
        self.res(&r.as_ref().map(|_| ()).map_err(|e| e.clone()));
    }

    fn checkpoint(&mut self, c: &Checkpoint<'_>) {
        self.u64(c.steps);
        self.u64(c.scalars.len() as u64);
        for (name, v) in &c.scalars {
            self.str(name);
            self.u64(v.to_bits());
        }
        self.u64(c.buffers.len() as u64);
        for (name, b) in &c.buffers {
            self.str(name);
            self.vals(b);
        }
    }

    fn optimizer(&mut self, o: &dyn Optimizer) {
        self.checkpoint(&o.export());
        self.u64(o.steps());
        self.u64(o.num_params() as u64);
    }
}

/// The output lines of one ISA and thread count.
struct Out<'a> {
    lines: &'a mut Vec<String>,
    isa: String,
    threads: usize,
}

impl Out<'_> {
    fn put(&mut self, case: &str, h: &Fnv) {
        debug_assert!(!case.contains(' '));
        self.lines.push(format!("{case} {} threads={} {:016x}", self.isa, self.threads, h.0));
    }
}

// ---------------------------------------------------------------------------------------------
// Element types

trait Elem: Copy + Send + Sync + 'static {
    const NAME: &'static str;
    fn bits(self) -> u32;
    fn is_nan(self) -> bool;
    fn of(x: f32) -> Self;
    fn from_raw(bits: u32) -> Self;
}

impl Elem for f32 {
    const NAME: &'static str = "f32";
    fn bits(self) -> u32 {
        self.to_bits()
    }
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    fn of(x: f32) -> f32 {
        x
    }
    fn from_raw(bits: u32) -> f32 {
        f32::from_bits(bits)
    }
}

impl Elem for bf16 {
    const NAME: &'static str = "bf16";
    fn bits(self) -> u32 {
        self.to_bits() as u32
    }
    fn is_nan(self) -> bool {
        bf16::is_nan(self)
    }
    fn of(x: f32) -> bf16 {
        bf16::from_f32(x)
    }
    fn from_raw(bits: u32) -> bf16 {
        bf16::from_bits(bits as u16)
    }
}

impl Elem for f16 {
    const NAME: &'static str = "f16";
    fn bits(self) -> u32 {
        self.to_bits() as u32
    }
    fn is_nan(self) -> bool {
        f16::is_nan(self)
    }
    fn of(x: f32) -> f16 {
        f16::from_f32(x)
    }
    fn from_raw(bits: u32) -> f16 {
        f16::from_bits(bits as u16)
    }
}

/// The activation methods for one element type (they are generic over the crate's sealed
/// element trait, which this program does not name).
trait ActOps: Elem {
    fn inputs(d: &Data) -> (&[Self], &[Self]);
    fn forward(a: &Activation, isa: Option<Isa>, x: &[Self], y: &mut [Self]) -> Result<(), Error>;
    fn forward_inplace(a: &Activation, isa: Option<Isa>, x: &mut [Self]) -> Result<(), Error>;
    fn backward(
        a: &Activation,
        isa: Option<Isa>,
        x: &[Self],
        dy: &[Self],
        dx: &mut [Self],
    ) -> Result<(), Error>;
    fn backward_inplace(a: &Activation, isa: Option<Isa>, x: &[Self], dy: &mut [Self]) -> Result<(), Error>;
    fn bfo(a: &Activation, isa: Option<Isa>, y: &[Self], dy: &[Self], dx: &mut [Self]) -> Result<(), Error>;
    fn bfo_inplace(a: &Activation, isa: Option<Isa>, y: &[Self], dy: &mut [Self]) -> Result<(), Error>;
}

/// `None` for the ISA calls the forms without `_with` (the detected ISA).
macro_rules! act_ops {
    ($t:ty, $x:ident, $dy:ident) => {
        impl ActOps for $t {
            fn inputs(d: &Data) -> (&[$t], &[$t]) {
                (&d.$x[..], &d.$dy[..])
            }
            fn forward(a: &Activation, isa: Option<Isa>, x: &[$t], y: &mut [$t]) -> Result<(), Error> {
                match isa {
                    Some(i) => a.forward_with(i, x, y),
                    None => a.forward(x, y),
                }
            }
            fn forward_inplace(a: &Activation, isa: Option<Isa>, x: &mut [$t]) -> Result<(), Error> {
                match isa {
                    Some(i) => a.forward_inplace_with(i, x),
                    None => a.forward_inplace(x),
                }
            }
            fn backward(
                a: &Activation,
                isa: Option<Isa>,
                x: &[$t],
                dy: &[$t],
                dx: &mut [$t],
            ) -> Result<(), Error> {
                match isa {
                    Some(i) => a.backward_with(i, x, dy, dx),
                    None => a.backward(x, dy, dx),
                }
            }
            fn backward_inplace(
                a: &Activation,
                isa: Option<Isa>,
                x: &[$t],
                dy: &mut [$t],
            ) -> Result<(), Error> {
                match isa {
                    Some(i) => a.backward_inplace_with(i, x, dy),
                    None => a.backward_inplace(x, dy),
                }
            }
            fn bfo(
                a: &Activation,
                isa: Option<Isa>,
                y: &[$t],
                dy: &[$t],
                dx: &mut [$t],
            ) -> Result<(), Error> {
                match isa {
                    Some(i) => a.backward_from_output_with(i, y, dy, dx),
                    None => a.backward_from_output(y, dy, dx),
                }
            }
            fn bfo_inplace(a: &Activation, isa: Option<Isa>, y: &[$t], dy: &mut [$t]) -> Result<(), Error> {
                match isa {
                    Some(i) => a.backward_from_output_inplace_with(i, y, dy),
                    None => a.backward_from_output_inplace(y, dy),
                }
            }
        }
    };
}

act_ops!(f32, x, dy);
act_ops!(bf16, xb, dyb);
act_ops!(f16, xh, dyh);

fn sentinel<T: Elem>(n: usize) -> Vec<T> {
    vec![T::of(-7.25); n]
}

// ---------------------------------------------------------------------------------------------
// Data

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Mean 0, standard deviation `scale` (Irwin-Hall of 4, arithmetic only).
    fn normal(&mut self, scale: f64) -> f32 {
        let s = self.unit() + self.unit() + self.unit() + self.unit() - 2.0;
        (s * 3f64.sqrt() * scale) as f32
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn specials() -> Vec<f32> {
    let b = f32::from_bits;
    let mut v = vec![
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
        b(0x7f80_0001),
        b(0xff80_0001),
        b(0x7fd2_3456),
        b(0x7fbf_ffff),
        b(1),
        b(0x8000_0001),
        b(0x007f_ffff),
        b(0x8040_0000),
        b(0x0000_1234),
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
        f32::EPSILON,
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.0,
        3.0,
        -3.0,
        6.0,
        -6.0,
        -1.28,
        -1.278_464_5,
        -1.19,
        -2.0,
        0.2,
        -0.3,
        2.8,
        7.0,
        20.0,
        -20.0,
        1e-20,
        -1e-20,
        1e-7,
        1e20,
        -1e20,
        9.0,
        -9.0,
        15.0,
        -15.0,
        30.0,
        -30.0,
        88.72284,
        89.0,
        -87.33655,
        -88.0,
        -103.97208,
        -104.0,
        -150.0,
        -170.0,
        -171.0,
        1000.0,
        -1000.0,
        65504.0,
        65520.0,
        -65536.0,
        3.389_531_4e38,
        1e-40,
        -1e-40,
    ];
    // Both neighbours of the kinks.
    for k in [3.0f32, -3.0, 6.0, 0.0, 1.0, -1.0, 2.8, 20.0, -1.28, 0.5, -2.0, 7.0] {
        v.push(k.next_up());
        v.push(k.next_down());
    }
    v
}

/// Inputs for the activations: a mix of normal-ish values of scale 3, random bit patterns and
/// specials.
fn mixed(rng: &mut Rng, n: usize, sp: &[f32]) -> Vec<f32> {
    (0..n)
        .map(|_| match rng.below(20) {
            0..=8 => rng.normal(3.0),
            9..=13 => f32::from_bits(rng.next() as u32),
            14..=17 => sp[rng.below(sp.len())],
            18 => rng.normal(0.01),
            _ => rng.normal(60.0),
        })
        .collect()
}

/// A 16-bit copy of `x`: mostly `x` converted, some random bit patterns (the 16-bit types'
/// own subnormals and NaNs).
fn narrow<T: Elem>(rng: &mut Rng, x: &[f32]) -> Vec<T> {
    x.iter()
        .map(|&v| if rng.below(6) == 0 { T::from_raw(rng.next() as u32 & 0xffff) } else { T::of(v) })
        .collect()
}

struct Data {
    x: Vec<f32>,
    dy: Vec<f32>,
    z: Vec<f32>,
    xb: Vec<bf16>,
    dyb: Vec<bf16>,
    xh: Vec<f16>,
    dyh: Vec<f16>,
    /// Sane values (biases, slopes).
    sane: Vec<f32>,
    // Optimizers.
    p: Vec<f32>,
    pb: Vec<bf16>,
    /// Gradients for successive steps.
    g: Vec<Vec<f32>>,
    gb: Vec<Vec<bf16>>,
    gh: Vec<Vec<f16>>,
    /// g[0]·1024, for the scaled steps.
    g_scaled: Vec<f32>,
}

fn data() -> Data {
    let sp = specials();
    let mut rng = Rng(0x5EED_F1A9_E2B1_7000);
    let x = mixed(&mut rng, N_IN, &sp);
    let dy = mixed(&mut rng, N_IN, &sp);
    let z = mixed(&mut rng, N_IN, &sp);
    let xb = narrow(&mut rng, &x);
    let dyb = narrow(&mut rng, &dy);
    let xh = narrow(&mut rng, &x);
    let dyh = narrow(&mut rng, &dy);
    let sane: Vec<f32> = (0..N_IN).map(|_| rng.normal(1.0)).collect();
    let extreme = [1e20f32, -1e-38, 1e-42, 0.0, -0.0, 3e38, -65504.0, 1e-7, -5e3, 1e-30];
    let p: Vec<f32> = (0..N_IN)
        .map(|i| if i % 251 == 17 { extreme[(i / 251) % extreme.len()] } else { rng.normal(1.0) })
        .collect();
    let pb = p.iter().map(|&v| bf16::from_f32(v)).collect();
    let g: Vec<Vec<f32>> =
        (0..6)
            .map(|s| {
                (0..N_IN)
                    .map(|i| {
                        if i % 97 == 13 + s { extreme[(i / 97 + s) % extreme.len()] } else { rng.normal(0.1) }
                    })
                    .collect()
            })
            .collect();
    let gb = g.iter().map(|g| g.iter().map(|&v| bf16::from_f32(v)).collect()).collect();
    let gh = g.iter().map(|g| g.iter().map(|&v| f16::from_f32(v)).collect()).collect();
    let g_scaled = g[0].iter().map(|&v| v * 1024.0).collect();
    Data { x, dy, z, xb, dyb, xh, dyh, sane, p, pb, g, gb, gh, g_scaled }
}

/// (x offset, y offset) pairs: aligned, misaligned by 1 and 3, and mixed.
fn offsets(len: usize) -> &'static [(usize, usize)] {
    if len >= LONG { &[(0, 0), (3, 1)] } else { &[(0, 0), (1, 1), (3, 3), (1, 0), (0, 3)] }
}

// ---------------------------------------------------------------------------------------------
// Activations

/// The activations: every one at its defaults, then other parameters, then invalid ones.
fn activations() -> Vec<(String, Activation, bool)> {
    let mut v: Vec<(String, Activation, bool)> =
        Activation::all().map(|a| (a.name().to_string(), a, true)).collect();
    let extra = [
        ("leaky_relu(slope=-0.3)", Activation::LeakyRelu { slope: -0.3 }),
        ("leaky_relu(slope=0.2)", Activation::LeakyRelu { slope: 0.2 }),
        ("leaky_relu(slope=0)", Activation::LeakyRelu { slope: 0.0 }),
        ("leaky_relu(slope=-0)", Activation::LeakyRelu { slope: -0.0 }),
        ("softplus(beta=2.5,threshold=7)", Activation::Softplus { beta: 2.5, threshold: 7.0 }),
        ("softplus(beta=1,threshold=3)", Activation::Softplus { beta: 1.0, threshold: 3.0 }),
        ("softplus(beta=0.5,threshold=-1)", Activation::Softplus { beta: 0.5, threshold: -1.0 }),
        ("elu(alpha=0.7)", Activation::Elu { alpha: 0.7 }),
        ("elu(alpha=2^64)", Activation::Elu { alpha: 18_446_744_073_709_551_616.0 }),
        ("celu(alpha=2.5)", Activation::Celu { alpha: 2.5 }),
        ("celu(alpha=0.25)", Activation::Celu { alpha: 0.25 }),
        ("pelu(a=1.5,b=0.6)", Activation::Pelu { a: 1.5, b: 0.6 }),
        ("swish(beta=0.3)", Activation::Swish { beta: 0.3 }),
        ("swish(beta=1.7)", Activation::Swish { beta: 1.7 }),
        ("swish(beta=8)", Activation::Swish { beta: 8.0 }),
        ("e_swish(beta=1.375)", Activation::ESwish { beta: 1.375 }),
        ("hard_tanh(min=-2,max=0.5)", Activation::HardTanh { min: -2.0, max: 0.5 }),
        ("hard_tanh(min=0,max=6)", Activation::HardTanh { min: 0.0, max: 6.0 }),
    ];
    v.extend(extra.into_iter().map(|(n, a)| (n.to_string(), a, true)));
    let invalid = [
        ("leaky_relu(slope=nan)", Activation::LeakyRelu { slope: f32::NAN }),
        ("softplus(beta=0)", Activation::Softplus { beta: 0.0, threshold: 20.0 }),
        ("softplus(threshold=inf)", Activation::Softplus { beta: 1.0, threshold: f32::INFINITY }),
        ("elu(alpha=0)", Activation::Elu { alpha: 0.0 }),
        ("elu(alpha=2^65)", Activation::Elu { alpha: 36_893_488_147_419_103_232.0 }),
        ("celu(alpha=1e-39)", Activation::Celu { alpha: 1e-39 }),
        ("pelu(a=1,b=0)", Activation::Pelu { a: 1.0, b: 0.0 }),
        ("pelu(a=1e30,b=1e-30)", Activation::Pelu { a: 1e30, b: 1e-30 }),
        ("swish(beta=-1)", Activation::Swish { beta: -1.0 }),
        ("e_swish(beta=70000)", Activation::ESwish { beta: 70000.0 }),
        ("hard_tanh(min=1,max=1)", Activation::HardTanh { min: 1.0, max: 1.0 }),
        ("hard_tanh(min=nan)", Activation::HardTanh { min: f32::NAN, max: 1.0 }),
    ];
    v.extend(invalid.into_iter().map(|(n, a)| (n.to_string(), a, false)));
    v
}

/// Forward, in place, backward, in place, and backward from the output, on `T`.
fn act_case<T: ActOps>(
    out: &mut Out,
    isa: Option<Isa>,
    label: &str,
    act: &Activation,
    valid: bool,
    d: &Data,
) {
    let (xs, dys) = T::inputs(d);
    let lens: &[usize] = if valid { &LENS } else { &SHORT_LENS };
    let mut h = [Fnv::new(); 7];
    for &len in lens {
        for &(xo, yo) in offsets(len) {
            let x = &xs[xo..xo + len];
            let dy = &dys[yo..yo + len];

            let mut y = sentinel::<T>(yo + len + GUARD);
            h[0].res(&T::forward(act, isa, x, &mut y[yo..yo + len]));
            h[0].vals(&y);
            let y_out: Vec<T> = y[yo..yo + len].to_vec();

            let mut b = xs[..xo + len + GUARD].to_vec();
            h[1].res(&T::forward_inplace(act, isa, &mut b[xo..xo + len]));
            h[1].vals(&b);

            let mut dx = sentinel::<T>(yo + len + GUARD);
            h[2].res(&T::backward(act, isa, x, dy, &mut dx[yo..yo + len]));
            h[2].vals(&dx);

            let mut b = dys[..yo + len + GUARD].to_vec();
            h[3].res(&T::backward_inplace(act, isa, x, &mut b[yo..yo + len]));
            h[3].vals(&b);

            // From the forward's own output, and from arbitrary values (x) as y.
            for y in [&y_out[..], x] {
                let mut dx = sentinel::<T>(yo + len + GUARD);
                h[4].res(&T::bfo(act, isa, y, dy, &mut dx[yo..yo + len]));
                h[4].vals(&dx);
                let mut b = dys[..yo + len + GUARD].to_vec();
                h[5].res(&T::bfo_inplace(act, isa, y, &mut b[yo..yo + len]));
                h[5].vals(&b);
            }
        }
    }
    // Length errors: nothing is written.
    let e = &mut h[6];
    let (x, dy) = (&xs[..7], &dys[..7]);
    let mut y = sentinel::<T>(9);
    e.res(&T::forward(act, isa, x, &mut y[..8]));
    e.res(&T::forward(act, isa, x, &mut y[..6]));
    e.res(&T::backward(act, isa, x, &dy[..6], &mut y[..7]));
    e.res(&T::backward(act, isa, x, dy, &mut y[..8]));
    e.res(&T::backward_inplace(act, isa, x, &mut y[..8]));
    e.res(&T::bfo(act, isa, x, &dy[..6], &mut y[..7]));
    e.res(&T::bfo(act, isa, x, dy, &mut y[..8]));
    e.res(&T::bfo_inplace(act, isa, x, &mut y[..6]));
    e.vals(&y);
    let tn = T::NAME;
    for (op, h) in
        ["forward", "forward_inplace", "backward", "backward_inplace", "bfo", "bfo_inplace", "len_errors"]
            .iter()
            .zip(&h)
    {
        out.put(&format!("act/{label}/{tn}/{op}"), h);
    }
}

/// The fused bias: y = f(x + bias) and its backward with the bias gradient.
fn bias_case(out: &mut Out, isa: Option<Isa>, label: &str, act: &Activation, valid: bool, d: &Data) {
    let shapes: &[(usize, usize)] = if valid {
        &[(1, 0), (1, 7), (5, 13), (16, 4), (17, 3), (33, 9), (1000, 3), (37, 5315), (65_000, 3)]
    } else {
        &[(5, 13)]
    };
    let (mut hf, mut hb) = (Fnv::new(), Fnv::new());
    for &(dim, rows) in shapes {
        let n = dim * rows;
        for xo in [0, 1] {
            let x = &d.x[xo..xo + n];
            let dy = &d.dy[..n];
            // Sane biases with a few specials.
            let mut bias: Vec<f32> = d.sane[xo..xo + dim].to_vec();
            if dim > 4 {
                bias[3] = d.x[3];
                bias[dim - 1] = -0.0;
            }
            let mut y = sentinel::<f32>(n + GUARD);
            let r = match isa {
                Some(i) => act.forward_bias_with(i, x, &bias, &mut y[..n]),
                None => act.forward_bias(x, &bias, &mut y[..n]),
            };
            hf.res(&r);
            hf.vals(&y);
            let mut dx = sentinel::<f32>(n + GUARD);
            let mut db = sentinel::<f32>(dim + GUARD);
            let r = match isa {
                Some(i) => act.backward_bias_with(i, x, &bias, dy, &mut dx[..n], &mut db[..dim]),
                None => act.backward_bias(x, &bias, dy, &mut dx[..n], &mut db[..dim]),
            };
            hb.res(&r);
            hb.vals(&dx);
            hb.vals(&db);
        }
    }
    // Errors.
    let i = isa.unwrap_or_else(Isa::detect);
    let mut e = Fnv::new();
    let (x, dy, b) = (&d.x[..12], &d.dy[..12], &d.sane[..5]);
    let mut y = sentinel::<f32>(13);
    let mut db = sentinel::<f32>(6);
    e.res(&act.forward_bias_with(i, x, &[], &mut y[..12]));
    e.res(&act.forward_bias_with(i, x, &b[..5], &mut y[..12]));
    e.res(&act.forward_bias_with(i, x, &b[..4], &mut y[..13]));
    e.res(&act.backward_bias_with(i, x, &[], dy, &mut y[..12], &mut db[..0]));
    e.res(&act.backward_bias_with(i, x, &b[..4], &dy[..8], &mut y[..12], &mut db[..4]));
    e.res(&act.backward_bias_with(i, x, &b[..4], dy, &mut y[..13], &mut db[..4]));
    e.res(&act.backward_bias_with(i, x, &b[..4], dy, &mut y[..12], &mut db[..5]));
    e.vals(&y);
    e.vals(&db);
    out.put(&format!("bias/{label}/forward_bias"), &hf);
    out.put(&format!("bias/{label}/backward_bias"), &hb);
    out.put(&format!("bias/{label}/errors"), &e);
}

// ---------------------------------------------------------------------------------------------
// PReLU, RReLU, GLU

fn prelu_cases(out: &mut Out, isa: Isa, d: &Data) {
    let configs: [(&str, Vec<f32>, usize); 10] = [
        ("one", vec![0.25], 1),
        ("one_neg", vec![-0.3], 1),
        ("one_inner5", vec![0.5], 5),
        ("c3_inner1", vec![0.1, -0.2, 0.0], 1),
        ("c17_inner3", d.sane[..17].to_vec(), 3),
        ("c5_inner7", vec![0.01, 2.0, -1.5, 1e-30, 0.75], 7),
        ("c4_inner64", vec![0.2, -0.0, 3.0, 0.125], 64),
        ("c2_inner100", vec![-0.25, 0.3], 100),
        ("c3_inner1000", vec![0.1, 0.2, 1e20], 1000),
        ("c600_inner1", d.sane[100..700].to_vec(), 1),
    ];
    for (name, slopes, inner) in &configs {
        let mut h = [Fnv::new(); 5];
        let pr = Prelu::new(slopes, *inner);
        h[0].ok(&pr);
        let Ok(pr) = pr else { continue };
        h[0].vals(pr.slopes());
        h[0].u64(pr.inner() as u64);
        h[0].u64(pr.period() as u64);
        let per = pr.period();
        let c = slopes.len();
        for k in [0, 1, 2, 3, 7, LONG / per] {
            let n = k * per;
            for &(xo, yo) in offsets(n) {
                let x = &d.x[xo..xo + n];
                let dy = &d.dy[yo..yo + n];
                let mut y = sentinel::<f32>(yo + n + GUARD);
                h[1].res(&pr.forward_with(isa, x, &mut y[yo..yo + n]));
                h[1].vals(&y);
                let mut b = d.x[..xo + n + GUARD].to_vec();
                h[2].res(&pr.forward_inplace_with(isa, &mut b[xo..xo + n]));
                h[2].vals(&b);
                let mut dx = sentinel::<f32>(yo + n + GUARD);
                let mut ds = sentinel::<f32>(c + GUARD);
                h[3].res(&pr.backward_with(isa, x, dy, &mut dx[yo..yo + n], &mut ds[..c]));
                h[3].vals(&dx);
                h[3].vals(&ds);
                let mut b = d.dy[..yo + n + GUARD].to_vec();
                let mut ds = sentinel::<f32>(c + GUARD);
                h[4].res(&pr.backward_inplace_with(isa, x, &mut b[yo..yo + n], &mut ds[..c]));
                h[4].vals(&b);
                h[4].vals(&ds);
            }
        }
        // Errors: a length that is not a multiple of the period (where it is above 1), a
        // mismatched y, dx, dy or dslopes.
        let n = per * 2;
        let bad = n + usize::from(per > 1);
        let (x, dy) = (&d.x[..bad + 1], &d.dy[..bad + 1]);
        let mut y = sentinel::<f32>(bad + 2);
        let mut ds = sentinel::<f32>(c + 2);
        let e = &mut h[0];
        e.res(&pr.forward_with(isa, &x[..bad], &mut y[..bad]));
        e.res(&pr.forward_with(isa, &x[..n], &mut y[..n + 1]));
        e.res(&pr.forward_inplace_with(isa, &mut y[..bad]));
        e.res(&pr.backward_with(isa, &x[..n], &dy[..n], &mut y[..n], &mut ds[..c + 1]));
        e.res(&pr.backward_with(isa, &x[..n], &dy[..n + 1], &mut y[..n], &mut ds[..c]));
        e.res(&pr.backward_with(isa, &x[..n], &dy[..n], &mut y[..n + 1], &mut ds[..c]));
        e.res(&pr.backward_with(isa, &x[..bad], &dy[..bad], &mut y[..bad], &mut ds[..c]));
        e.res(&pr.backward_inplace_with(isa, &x[..n], &mut y[..n], &mut ds[..c.saturating_sub(1)]));
        e.res(&pr.backward_inplace_with(isa, &x[..n], &mut y[..n + 1], &mut ds[..c]));
        e.vals(&y);
        e.vals(&ds);
        for (op, h) in
            ["new_and_errors", "forward", "forward_inplace", "backward", "backward_inplace"].iter().zip(&h)
        {
            out.put(&format!("prelu/{name}/{op}"), h);
        }
    }
    let mut e = Fnv::new();
    e.ok(&Prelu::new(&[], 1));
    e.ok(&Prelu::new(&[f32::NAN], 1));
    e.ok(&Prelu::new(&[0.1, f32::INFINITY], 1));
    e.ok(&Prelu::new(&[1.0], 0));
    e.ok(&Prelu::new(&[1.0, 2.0], usize::MAX));
    e.ok(&Prelu::new(&[1.0], usize::MAX));
    out.put("prelu/new_errors", &e);
}

fn rrelu_cases(out: &mut Out, isa: Isa, d: &Data) {
    let configs = [
        ("default", Ok(Rrelu::default())),
        ("0.1_0.3", Rrelu::new(0.1, 0.3)),
        ("-0.5_2", Rrelu::new(-0.5, 2.0)),
        ("0.2_0.2", Rrelu::new(0.2, 0.2)),
        ("-3e38_3e38", Rrelu::new(-3e38, 3e38)),
    ];
    let modes: [(&str, u64, u64); 3] =
        [("train0", 42, 0), ("train_hi", 7, (1u64 << 32) - 5), ("train_wrap", u64::MAX, u64::MAX - 10)];
    for (name, r) in &configs {
        let mut h0 = Fnv::new();
        h0.ok(r);
        let Ok(r) = r else { continue };
        h0.u64(r.lower().to_bits() as u64);
        h0.u64(r.upper().to_bits() as u64);
        h0.u64(r.eval_slope().to_bits() as u64);
        for (_, seed, off) in modes {
            for i in [0, 1, 2, 1000, (1 << 32) - 1, 1 << 32, u64::MAX] {
                h0.u64(r.slope_at(seed, off.wrapping_add(i)).to_bits() as u64);
            }
        }
        out.put(&format!("rrelu/{name}/params"), &h0);
        for (mname, seed, off) in
            modes.iter().map(|&(n, s, o)| (n, Some(s), o)).chain([("stored", None, 0), ("eval", None, 1)])
        {
            let mut h = [Fnv::new(); 5];
            for &len in &LENS {
                for &(xo, yo) in offsets(len) {
                    let x = &d.x[xo..xo + len];
                    let dy = &d.dy[yo..yo + len];
                    // Slopes drawn for the stored mode (and hashed as `draw`).
                    let mut drawn = sentinel::<f32>(yo + len + GUARD);
                    let (ds, doff) = (seed.unwrap_or(99), off.wrapping_add(xo as u64));
                    h[0].res(&r.draw_with(isa, ds, doff, &mut drawn[yo..yo + len]));
                    h[0].vals(&drawn);
                    let mode = match (seed, off) {
                        (Some(seed), offset) => RreluMode::Train { seed, offset },
                        (None, 0) => RreluMode::Stored(&drawn[yo..yo + len]),
                        (None, _) => RreluMode::Eval,
                    };
                    let mut y = sentinel::<f32>(yo + len + GUARD);
                    h[1].res(&r.forward_with(isa, mode, x, &mut y[yo..yo + len]));
                    h[1].vals(&y);
                    let mut b = d.x[..xo + len + GUARD].to_vec();
                    h[2].res(&r.forward_inplace_with(isa, mode, &mut b[xo..xo + len]));
                    h[2].vals(&b);
                    let mut dx = sentinel::<f32>(yo + len + GUARD);
                    h[3].res(&r.backward_with(isa, mode, x, dy, &mut dx[yo..yo + len]));
                    h[3].vals(&dx);
                    let mut b = d.dy[..yo + len + GUARD].to_vec();
                    h[4].res(&r.backward_inplace_with(isa, mode, x, &mut b[yo..yo + len]));
                    h[4].vals(&b);
                }
            }
            for (op, h) in
                ["draw", "forward", "forward_inplace", "backward", "backward_inplace"].iter().zip(&h)
            {
                out.put(&format!("rrelu/{name}/{mname}/{op}"), h);
            }
        }
        // Errors.
        let mut e = Fnv::new();
        let (x, dy) = (&d.x[..7], &d.dy[..7]);
        let slopes = [0.2f32; 8];
        let mut y = sentinel::<f32>(9);
        let train = RreluMode::Train { seed: 1, offset: 2 };
        e.res(&r.forward_with(isa, train, x, &mut y[..8]));
        e.res(&r.forward_with(isa, RreluMode::Stored(&slopes[..6]), x, &mut y[..7]));
        e.res(&r.forward_inplace_with(isa, RreluMode::Stored(&slopes), &mut y[..7]));
        e.res(&r.backward_with(isa, RreluMode::Eval, x, &dy[..6], &mut y[..7]));
        e.res(&r.backward_with(isa, RreluMode::Eval, x, dy, &mut y[..8]));
        e.res(&r.backward_with(isa, RreluMode::Stored(&slopes), x, dy, &mut y[..7]));
        e.res(&r.backward_inplace_with(isa, train, x, &mut y[..6]));
        e.res(&r.backward_inplace_with(isa, RreluMode::Stored(&slopes[..7]), x, &mut y[..7]));
        e.vals(&y);
        out.put(&format!("rrelu/{name}/errors"), &e);
    }
    let mut e = Fnv::new();
    e.res(&Rrelu::new(f32::NAN, 0.3));
    e.res(&Rrelu::new(0.1, f32::INFINITY));
    e.res(&Rrelu::new(0.5, 0.25));
    e.res(&Rrelu::new(-f32::MAX, f32::MAX));
    e.res(&Rrelu::new(0.0, 0.0));
    out.put("rrelu/new_errors", &e);
}

fn glu_cases(out: &mut Out, isa: Isa, d: &Data) {
    let glus = [
        ("swiglu", Glu::SWIGLU),
        ("geglu", Glu::GEGLU),
        ("geglu_tanh", Glu::GEGLU_TANH),
        ("sigmoid", Glu::new(Activation::Sigmoid)),
        ("relu", Glu::new(Activation::Relu)),
        ("leaky_relu(-0.3)", Glu::new(Activation::LeakyRelu { slope: -0.3 })),
        ("swish(1.7)", Glu::new(Activation::Swish { beta: 1.7 })),
        ("mish", Glu::new(Activation::Mish)),
        ("elu(alpha=0)", Glu::new(Activation::Elu { alpha: 0.0 })),
    ];
    for (name, g) in &glus {
        let mut h = [Fnv::new(); 5];
        h[0].str(g.activation().name());
        for &len in &LENS {
            for &(xo, yo) in offsets(len) {
                let (a, b) = (&d.x[xo..xo + len], &d.z[yo..yo + len]);
                let dy = &d.dy[xo..xo + len];
                let mut y = sentinel::<f32>(yo + len + GUARD);
                h[1].res(&g.forward_with(isa, a, b, &mut y[yo..yo + len]));
                h[1].vals(&y);
                let mut da = sentinel::<f32>(yo + len + GUARD);
                let mut db = sentinel::<f32>(xo + len + GUARD);
                h[2].res(&g.backward_with(isa, a, b, dy, &mut da[yo..yo + len], &mut db[xo..xo + len]));
                h[2].vals(&da);
                h[2].vals(&db);
            }
        }
        for (dim, rows) in
            [(1, 0), (1, 5), (3, 7), (8, 4), (17, 3), (300, 2), (1000, 98), (7, 14_000), (30_000, 3)]
        {
            let n = 2 * dim * rows;
            for (xo, yo) in [(0, 0), (1, 3)] {
                let x = &d.x[xo..xo + n];
                let dy = &d.dy[yo..yo + n / 2];
                let mut y = sentinel::<f32>(yo + n / 2 + GUARD);
                h[3].res(&g.forward_halves_with(isa, x, dim, &mut y[yo..yo + n / 2]));
                h[3].vals(&y);
                let mut dx = sentinel::<f32>(yo + n + GUARD);
                h[4].res(&g.backward_halves_with(isa, x, dim, dy, &mut dx[yo..yo + n]));
                h[4].vals(&dx);
            }
        }
        // Errors.
        let e = &mut h[0];
        let (a, b, dy) = (&d.x[..12], &d.z[..12], &d.dy[..12]);
        let mut y = sentinel::<f32>(14);
        let mut y2 = sentinel::<f32>(14);
        e.res(&g.forward_with(isa, a, &b[..11], &mut y[..12]));
        e.res(&g.forward_with(isa, a, b, &mut y[..13]));
        e.res(&g.backward_with(isa, a, b, &dy[..11], &mut y[..12], &mut y2[..12]));
        e.res(&g.backward_with(isa, a, b, dy, &mut y[..12], &mut y2[..13]));
        e.res(&g.backward_with(isa, a, b, dy, &mut y[..13], &mut y2[..12]));
        e.res(&g.backward_with(isa, a, &b[..11], dy, &mut y[..12], &mut y2[..12]));
        e.res(&g.forward_halves_with(isa, a, 0, &mut y[..6]));
        e.res(&g.forward_halves_with(isa, a, 4, &mut y[..6]));
        e.res(&g.forward_halves_with(isa, a, 3, &mut y[..5]));
        e.res(&g.forward_halves_with(isa, a, usize::MAX, &mut y[..6]));
        e.res(&g.backward_halves_with(isa, a, 0, &dy[..6], &mut y[..12]));
        e.res(&g.backward_halves_with(isa, &a[..10], 3, &dy[..5], &mut y[..10]));
        e.res(&g.backward_halves_with(isa, a, 3, &dy[..5], &mut y[..12]));
        e.res(&g.backward_halves_with(isa, a, 3, &dy[..6], &mut y[..13]));
        e.vals(&y);
        e.vals(&y2);
        for (op, h) in ["errors", "forward", "backward", "forward_halves", "backward_halves"].iter().zip(&h) {
            out.put(&format!("glu/{name}/{op}"), h);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Optimizers

type Make = Box<dyn Fn(&[usize]) -> Result<Box<dyn Optimizer>, Error>>;

/// The number of elements of `shape`.
fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

fn flat<O: Optimizer + 'static>(f: impl Fn(usize) -> Result<O, Error> + 'static) -> Make {
    Box::new(move |s: &[usize]| Ok(Box::new(f(numel(s))?) as Box<dyn Optimizer>))
}

struct OptSpec {
    name: &'static str,
    make: Make,
    shapes: Vec<Vec<usize>>,
    multi: Vec<Vec<Vec<usize>>>,
}

fn opt_specs() -> Vec<OptSpec> {
    let vec_shapes: Vec<Vec<usize>> = [0, 1, 7, 17, 33, 300, LONG].iter().map(|&n| vec![n]).collect();
    let vec_multi: Vec<Vec<Vec<usize>>> = vec![
        vec![vec![7], vec![300], vec![33]],
        vec![vec![5000], vec![12_000], vec![40_000]],
        vec![vec![LONG], vec![3], vec![16_384]],
    ];
    let spec = |name, make| OptSpec { name, make, shapes: vec_shapes.clone(), multi: vec_multi.clone() };
    let mut v = vec![
        spec("sgd", flat(|n| Sgd::new(SgdConfig { lr: 0.01, ..Default::default() }, n))),
        spec(
            "sgd_momentum",
            flat(|n| {
                Sgd::new(SgdConfig { lr: 0.01, momentum: 0.9, dampening: 0.1, ..Default::default() }, n)
            }),
        ),
        spec(
            "sgd_nesterov_wd",
            flat(|n| {
                let c = SgdConfig {
                    lr: 0.01,
                    momentum: 0.9,
                    nesterov: true,
                    weight_decay: 0.01,
                    ..Default::default()
                };
                Sgd::new(c, n)
            }),
        ),
        spec(
            "sgd_maximize",
            flat(|n| Sgd::new(SgdConfig { lr: 0.01, maximize: true, ..Default::default() }, n)),
        ),
        spec(
            "adagrad",
            flat(|n| {
                let c = AdagradConfig {
                    lr: 0.01,
                    lr_decay: 0.001,
                    weight_decay: 0.01,
                    initial_accumulator_value: 0.1,
                    ..Default::default()
                };
                Adagrad::new(c, n)
            }),
        ),
        spec("adagrad_default", flat(|n| Adagrad::new(AdagradConfig::default(), n))),
        spec("adadelta", flat(|n| Adadelta::new(AdadeltaConfig::default(), n))),
        spec(
            "adadelta_wd_max",
            flat(|n| {
                Adadelta::new(AdadeltaConfig { weight_decay: 0.1, maximize: true, ..Default::default() }, n)
            }),
        ),
        spec("rmsprop", flat(|n| RmsProp::new(RmsPropConfig::default(), n))),
        spec(
            "rmsprop_centered_momentum",
            flat(|n| {
                let c =
                    RmsPropConfig { centered: true, momentum: 0.9, weight_decay: 0.01, ..Default::default() };
                RmsProp::new(c, n)
            }),
        ),
        spec("adam", flat(|n| Adam::new(AdamConfig::default(), n))),
        spec(
            "adam_wd_max",
            flat(|n| Adam::new(AdamConfig { weight_decay: 0.01, maximize: true, ..Default::default() }, n)),
        ),
        spec("adamw", flat(|n| Adam::adamw(AdamWConfig::default(), n))),
        spec("amsgrad", flat(|n| Adam::new(AdamConfig { amsgrad: true, ..Default::default() }, n))),
        spec("adamw_amsgrad", flat(|n| Adam::adamw(AdamWConfig { amsgrad: true, ..Default::default() }, n))),
        spec("adamax", flat(|n| Adamax::new(AdamaxConfig::default(), n))),
        spec("nadam", flat(|n| NAdam::new(NAdamConfig::default(), n))),
        spec(
            "nadam_decoupled",
            flat(|n| {
                NAdam::new(
                    NAdamConfig { weight_decay: 0.01, decoupled_weight_decay: true, ..Default::default() },
                    n,
                )
            }),
        ),
        spec("lion", flat(|n| Lion::new(LionConfig::default(), n))),
        spec(
            "lion_wd_max",
            flat(|n| Lion::new(LionConfig { weight_decay: 0.1, maximize: true, ..Default::default() }, n)),
        ),
    ];
    let adafactor = |c: AdafactorConfig| -> Make {
        Box::new(move |s: &[usize]| Ok(Box::new(Adafactor::new(c, s)?) as Box<dyn Optimizer>))
    };
    let mut vshapes = vec_shapes.clone();
    vshapes.push(vec![]);
    v.push(OptSpec {
        name: "adafactor_vector",
        make: adafactor(AdafactorConfig::default()),
        shapes: vshapes,
        multi: vec_multi.clone(),
    });
    let mshapes: Vec<Vec<usize>> =
        vec![vec![0, 5], vec![1, 1], vec![7, 5], vec![1, 300], vec![33, 17], vec![2, 3, 4], vec![443, 444]];
    let mmulti: Vec<Vec<Vec<usize>>> = vec![
        vec![vec![7, 5], vec![33, 17], vec![2, 3, 4]],
        vec![vec![100, 50], vec![120, 100], vec![200, 200]],
        vec![vec![443, 444], vec![1, 1], vec![128, 128]],
    ];
    v.push(OptSpec {
        name: "adafactor_matrix",
        make: adafactor(AdafactorConfig::default()),
        shapes: mshapes.clone(),
        multi: mmulti.clone(),
    });
    let c = AdafactorConfig {
        lr: 0.05,
        weight_decay: 0.1,
        d: 1.5,
        maximize: true,
        beta2_decay: -0.5,
        ..Default::default()
    };
    v.push(OptSpec { name: "adafactor_matrix_wd_max", make: adafactor(c), shapes: mshapes, multi: mmulti });
    v
}

/// Gradients `g` with `v` at `at` (if there is such an element).
fn with_at(g: &[f32], at: usize, v: f32) -> Vec<f32> {
    let mut g = g.to_vec();
    if let Some(e) = g.get_mut(at) {
        *e = v;
    }
    g
}

fn opt_cases(out: &mut Out, isa: Option<Isa>, spec: &OptSpec, d: &Data) {
    let names = [
        "step",
        "step_offset",
        "nonfinite",
        "scaled",
        "typed_bf16_grads",
        "typed_f16_grads",
        "stochastic",
        "master",
        "scaled_typed",
        "checkpoint",
        "errors",
    ];
    let mut h = [Fnv::new(); 11];
    let i = isa.unwrap_or_else(Isa::detect);
    for shape in &spec.shapes {
        let n = numel(shape);
        let make = || {
            let o = (spec.make)(shape);
            o.expect("valid optimizer")
        };
        // Plain steps, aligned and at offsets.
        for (k, po, go) in [(0, 0, 0), (1, 1, 3)] {
            let mut o = make();
            let mut p = d.p[..po + n + GUARD].to_vec();
            for s in 0..5 {
                let g = &d.g[s][go..go + n];
                let r = match isa {
                    Some(i) => o.step_with(i, &mut p[po..po + n], g),
                    None => o.step(&mut p[po..po + n], g),
                };
                h[k].res(&r);
            }
            h[k].vals(&p);
            h[k].optimizer(o.as_ref());
        }
        // Non-finite gradients: each poisons its own element (Adafactor: more).
        {
            let mut o = make();
            let mut p = d.p[..n].to_vec();
            let mut g = with_at(&d.g[0][..n], n / 2, f32::NAN);
            if n > 3 {
                g[1] = f32::INFINITY;
                g[n - 1] = f32::NEG_INFINITY;
            }
            h[2].res(&o.step_with(i, &mut p, &g));
            h[2].res(&o.step_with(i, &mut p, &d.g[1][..n]));
            h[2].vals(&p);
            h[2].optimizer(o.as_ref());
        }
        // Scaled steps: applied, skipped (inf, NaN), factor 1, bad factors, overflowing g'.
        {
            let mut o = make();
            let mut p = d.p[..n].to_vec();
            let e = &mut h[3];
            let r = match isa {
                Some(i) => o.step_scaled_with(i, &mut p, &d.g_scaled[..n], 1.0 / 1024.0),
                None => o.step_scaled(&mut p, &d.g_scaled[..n], 1.0 / 1024.0),
            };
            e.res(&r);
            e.res(&o.step_scaled_with(i, &mut p, &with_at(&d.g[1][..n], n / 2, f32::INFINITY), 0.5));
            e.res(&o.step_scaled_with(i, &mut p, &with_at(&d.g[1][..n], n.saturating_sub(1), f32::NAN), 0.5));
            e.vals(&p);
            e.res(&o.step_scaled_with(i, &mut p, &d.g[2][..n], 1.0));
            for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
                e.res(&o.step_scaled_with(i, &mut p, &d.g[3][..n], bad));
            }
            e.res(&o.step_scaled_with(i, &mut p, &d.g[3][..n], 4.0));
            e.res(&o.step_scaled_with(i, &mut p, &d.g[4][..n], 3.0));
            e.vals(&p);
            e.optimizer(o.as_ref());
        }
        // bf16 and f16 gradients into f32 parameters.
        for k in [4, 5] {
            let mut o = make();
            let mut p = d.p[..n].to_vec();
            for s in 0..3 {
                let g = if k == 4 { Grads::Bf16(&d.gb[s][..n]) } else { Grads::F16(&d.gh[s][..n]) };
                h[k].res(&o.step_typed(i, Params::F32(&mut p), g));
            }
            h[k].vals(&p);
            h[k].optimizer(o.as_ref());
        }
        // bf16 parameters rounded stochastically, and an f32 master with a bf16 copy.
        let grads = move |s: usize| match s % 3 {
            0 => Grads::F32(&d.g[s][1..n + 1]),
            1 => Grads::Bf16(&d.gb[s][..n]),
            _ => Grads::F16(&d.gh[s][..n]),
        };
        {
            let mut o = make();
            let mut pb = d.pb[..n + GUARD].to_vec();
            for s in 0..5 {
                let params = Params::Stochastic { params: &mut pb[..n], seed: 0x5EED + s as u64 % 2 };
                h[6].res(&o.step_typed(i, params, grads(s)));
            }
            h[6].vals(&pb);
            h[6].optimizer(o.as_ref());
        }
        {
            let mut o = make();
            let mut master = d.p[..n + GUARD].to_vec();
            let mut copy = sentinel::<bf16>(n + GUARD);
            for s in 0..5 {
                let params = Params::Master { master: &mut master[..n], copy: &mut copy[..n] };
                h[7].res(&o.step_typed(i, params, grads(s)));
            }
            h[7].vals(&master);
            h[7].vals(&copy);
            h[7].optimizer(o.as_ref());
        }
        // Scaled steps of the other types: applied, skipped (inf in f16), applied.
        {
            let mut o = make();
            let e = &mut h[8];
            let mut pb = d.pb[..n].to_vec();
            let mut master = d.p[..n].to_vec();
            let mut copy = sentinel::<bf16>(n);
            let params = Params::Stochastic { params: &mut pb, seed: 9 };
            e.res(&o.step_scaled_typed(i, params, Grads::Bf16(&d.gb[0][..n]), 0.5));
            let mut gh = d.gh[1][..n].to_vec();
            if let Some(v) = gh.get_mut(n / 3) {
                *v = f16::INFINITY;
            }
            let params = Params::Stochastic { params: &mut pb, seed: 9 };
            e.res(&o.step_scaled_typed(i, params, Grads::F16(&gh), 0.5));
            let mut gb = d.gb[1][..n].to_vec();
            if let Some(v) = gb.get_mut(n / 3) {
                *v = bf16::NAN;
            }
            let params = Params::Master { master: &mut master, copy: &mut copy };
            e.res(&o.step_scaled_typed(i, params, Grads::Bf16(&gb), 0.5));
            let params = Params::Master { master: &mut master, copy: &mut copy };
            e.res(&o.step_scaled_typed(i, params, Grads::F32(&d.g_scaled[..n]), 1.0 / 1024.0));
            e.res(&o.step_scaled_typed(i, Params::F32(&mut master), Grads::F16(&d.gh[2][..n]), 2.0));
            e.res(&o.step_scaled_typed(i, Params::F32(&mut master), Grads::F16(&d.gh[2][..n]), 0.0));
            e.vals(&pb);
            e.vals(&master);
            e.vals(&copy);
            e.optimizer(o.as_ref());
        }
        // Export, import into a fresh state, and the same steps on both; bad checkpoints.
        {
            let e = &mut h[9];
            let mut a = make();
            let mut pa = d.p[..n].to_vec();
            e.res(&a.step_with(i, &mut pa, &d.g[0][..n]));
            e.res(&a.step_with(i, &mut pa, &d.g[1][..n]));
            let c = a.export();
            let steps = c.steps;
            let scalars: Vec<(String, f64)> = c.scalars.iter().map(|(s, v)| (s.to_string(), *v)).collect();
            let buffers: Vec<(String, Vec<f32>)> =
                c.buffers.iter().map(|(s, b)| (s.to_string(), b.to_vec())).collect();
            let owned = |steps| Checkpoint {
                steps,
                scalars: scalars.iter().map(|(s, v)| (s.as_str(), *v)).collect(),
                buffers: buffers.iter().map(|(s, b)| (s.as_str(), &b[..])).collect(),
            };
            let mut b = make();
            let mut pb = pa.clone();
            // Bad checkpoints first: nothing changes.
            let mut bad = owned(steps);
            bad.buffers.push(("bogus", &d.p[..n]));
            e.res(&b.import(&bad));
            let mut bad = owned(steps);
            if let Some(buf) = bad.buffers.first_mut() {
                buf.1 = &buf.1[..buf.1.len().saturating_sub(1)];
                e.res(&b.import(&bad));
                let mut bad = owned(steps);
                bad.buffers[0].0 = "bogus";
                e.res(&b.import(&bad));
                let mut bad = owned(steps);
                bad.buffers.pop();
                e.res(&b.import(&bad));
            }
            let mut bad = owned(steps);
            if let Some(s) = bad.scalars.first_mut() {
                s.1 = f64::NAN;
                e.res(&b.import(&bad));
                let mut bad = owned(steps);
                bad.scalars[0].0 = "bogus";
                e.res(&b.import(&bad));
            } else {
                bad.scalars.push(("bogus", 1.0));
                e.res(&b.import(&bad));
            }
            e.optimizer(b.as_ref());
            e.res(&b.import(&owned(steps)));
            for s in 2..4 {
                e.res(&a.step_with(i, &mut pa, &d.g[s][..n]));
                e.res(&b.step_with(i, &mut pb, &d.g[s][..n]));
            }
            e.vals(&pa);
            e.vals(&pb);
            e.optimizer(a.as_ref());
            e.optimizer(b.as_ref());
        }
        // Length and ISA errors: nothing changes.
        {
            let e = &mut h[10];
            let mut o = make();
            let mut p = d.p[..n + 1].to_vec();
            let g = &d.g[0][..n + 1];
            e.res(&o.step_with(i, &mut p, &g[..n]));
            e.res(&o.step_with(i, &mut p[..n], g));
            e.res(&o.step_scaled_with(i, &mut p[..n], g, 0.5));
            e.res(&o.step_typed(i, Params::F32(&mut p[..n]), Grads::Bf16(&d.gb[0][..n + 1])));
            let mut copy = sentinel::<bf16>(n + 1);
            e.res(&o.step_typed(
                i,
                Params::Master { master: &mut p[..n], copy: &mut copy },
                Grads::F32(&g[..n]),
            ));
            let mut pb = d.pb[..n + 1].to_vec();
            e.res(&o.step_typed(i, Params::Stochastic { params: &mut pb, seed: 1 }, Grads::F32(&g[..n])));
            for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
                e.res(&o.step_with(isa, &mut p[..n], &g[..n]));
                e.res(&o.step_scaled_with(isa, &mut p[..n], &g[..n], 0.5));
            }
            e.vals(&p);
            e.vals(&copy);
            e.vals(&pb);
            e.optimizer(o.as_ref());
        }
    }
    for (op, h) in names.iter().zip(&h) {
        out.put(&format!("opt/{}/{op}", spec.name), h);
    }
    // Multi-tensor steps.
    let mut h = Fnv::new();
    for shapes in &spec.multi {
        let mut opts: Vec<Box<dyn Optimizer>> =
            shapes.iter().map(|s| (spec.make)(s).expect("valid")).collect();
        let ns: Vec<usize> = shapes.iter().map(|s| numel(s)).collect();
        let mut ps: Vec<Vec<f32>> = ns.iter().enumerate().map(|(k, &n)| d.p[k..k + n].to_vec()).collect();
        let mut step = |opts: &mut Vec<Box<dyn Optimizer>>,
                        ps: &mut Vec<Vec<f32>>,
                        gs: &[Vec<f32>],
                        scale: Option<f32>| {
            let mut t: Vec<Tensor<'_, dyn Optimizer>> = ps
                .iter_mut()
                .zip(gs)
                .zip(opts.iter_mut())
                .map(|((p, g), o)| (&mut p[..], &g[..], o.as_mut()))
                .collect();
            match (scale, isa) {
                (None, Some(i)) => h.res(&step_multi_with(i, &mut t)),
                (None, None) => h.res(&step_multi(&mut t)),
                (Some(c), Some(i)) => h.res(&step_multi_scaled_with(i, &mut t, c)),
                (Some(c), None) => h.res(&step_multi_scaled(&mut t, c)),
            }
        };
        let grads = |s: usize| -> Vec<Vec<f32>> {
            ns.iter().enumerate().map(|(k, &n)| d.g[s][11 * k..11 * k + n].to_vec()).collect()
        };
        for s in 0..3 {
            step(&mut opts, &mut ps, &grads(s), None);
        }
        let scaled: Vec<Vec<f32>> = ns.iter().map(|&n| d.g_scaled[..n].to_vec()).collect();
        step(&mut opts, &mut ps, &scaled, Some(1.0 / 1024.0));
        let mut g = grads(3);
        g[1][ns[1] / 2] = f32::INFINITY;
        step(&mut opts, &mut ps, &g, Some(0.5));
        step(&mut opts, &mut ps, &grads(4), Some(0.0));
        step(&mut opts, &mut ps, &grads(4), Some(0.25));
        let mut g = grads(5);
        g[2].pop();
        step(&mut opts, &mut ps, &g, None);
        step(&mut opts, &mut ps, &g, Some(0.5));
        for p in &ps {
            h.vals(p);
        }
        for o in &opts {
            h.optimizer(o.as_ref());
        }
    }
    out.put(&format!("opt/{}/multi", spec.name), &h);
}

/// The `Config` path, a mixed multi-tensor step, and invalid configurations.
fn config_cases(out: &mut Out, isa: Isa, d: &Data) {
    let names = [
        "sgd",
        "adagrad",
        "adadelta",
        "rmsprop",
        "adam",
        "adamw",
        "adamax",
        "nadam",
        "lion",
        "adafactor",
        "bogus",
    ];
    let shapes: [&[usize]; 6] = [&[7], &[33, 17], &[], &[0, 5], &[usize::MAX, 3], &[LONG]];
    let mut configs: Vec<Result<Config, Error>> = names.iter().map(|n| Config::from_name(n)).collect();
    configs.push(Ok(Config::Adam(AdamConfig { amsgrad: true, weight_decay: 0.1, ..Default::default() })));
    configs.push(Ok(Config::Sgd(SgdConfig { momentum: 0.5, nesterov: true, ..Default::default() })));
    configs.push(Ok(Config::Adam(AdamConfig { lr: -1.0, ..Default::default() })));
    configs.push(Ok(Config::Adafactor(AdafactorConfig { d: 0.5, ..Default::default() })));
    let mut h = Fnv::new();
    for c in &configs {
        h.res(c);
        let Ok(c) = c else { continue };
        h.str(c.name());
        for s in shapes {
            let o = c.build(s);
            h.ok(&o);
            let Ok(mut o) = o else { continue };
            let n = numel(s);
            let mut p = d.p[..n].to_vec();
            for st in 0..3 {
                h.res(&o.step_with(isa, &mut p, &d.g[st][..n]));
            }
            h.vals(&p);
            h.optimizer(o.as_ref());
        }
    }
    out.put("config/build_and_step", &h);

    // A mix of optimizers in one multi-tensor step.
    let mut h = Fnv::new();
    let mut adam = Adam::new(AdamConfig::default(), 1000).expect("adam");
    let mut sgd = Sgd::new(SgdConfig { lr: 0.1, momentum: 0.9, ..Default::default() }, 10).expect("sgd");
    let mut af = Adafactor::new(AdafactorConfig::default(), &[33, 17]).expect("adafactor");
    let mut lion = Lion::new(LionConfig::default(), 40_000).expect("lion");
    let (mut w, mut b, mut m, mut l) =
        (d.p[..1000].to_vec(), d.p[1..11].to_vec(), d.p[2..563].to_vec(), d.p[3..40_003].to_vec());
    for s in 0..4 {
        let g = &d.g[s];
        let mut t: [Tensor<'_, dyn Optimizer>; 4] = [
            (&mut w[..], &g[..1000], &mut adam),
            (&mut b[..], &g[5..15], &mut sgd),
            (&mut m[..], &g[7..568], &mut af),
            (&mut l[..], &g[9..40_009], &mut lion),
        ];
        if s == 2 {
            h.res(&step_multi_scaled_with(isa, &mut t, 0.5));
        } else {
            h.res(&step_multi_with(isa, &mut t));
        }
    }
    for p in [&w, &b, &m, &l] {
        h.vals(p);
    }
    for o in [&adam as &dyn Optimizer, &sgd, &af, &lion] {
        h.optimizer(o);
    }
    h.vals(af.row_var());
    h.vals(af.col_var());
    h.vals(af.variance());
    h.u64(af.is_factored() as u64);
    for &v in af.shape() {
        h.u64(v as u64);
    }
    out.put("config/multi_mixed", &h);
}

/// Checks that do not depend on the ISA or the threads: names, parsing, invalid
/// configurations, stochastic rounding.
fn api_cases(out: &mut Out, d: &Data) {
    let mut h = Fnv::new();
    for (name, a, _) in activations() {
        h.str(&name);
        h.str(a.name());
        h.u64(a.is_implemented() as u64);
        h.u64(a.has_backward_from_output() as u64);
        h.res(&Activation::from_name(a.name()).map(|b| b == a));
    }
    for n in ["gelu", "Gelu", "", "swiglu", "a_very_long_name_that_is_longer_than_thirty_two_bytes"] {
        h.res(&Activation::from_name(n));
    }
    h.str(&format!("{:?}", Isa::ALL));
    for isa in Isa::ALL {
        h.str(isa.name());
        h.str(&isa.to_string());
        h.u64(isa.is_available() as u64);
        h.res(&isa.check());
        h.res(&isa.name().to_uppercase().parse::<Isa>());
    }
    h.res(&"sse".parse::<Isa>());
    h.str(&format!("{:?} {:?}", Isa::available(), Isa::best()));
    out.put("api/names", &h);

    let mut h = Fnv::new();
    h.ok(&Sgd::new(SgdConfig { lr: f64::NAN, ..Default::default() }, 3));
    h.ok(&Sgd::new(SgdConfig { momentum: -1.0, ..Default::default() }, 3));
    h.ok(&Sgd::new(SgdConfig { dampening: 2.0, ..Default::default() }, 3));
    h.ok(&Sgd::new(SgdConfig { nesterov: true, ..Default::default() }, 3));
    h.ok(&Sgd::new(SgdConfig { nesterov: true, momentum: 0.9, dampening: 0.1, ..Default::default() }, 3));
    h.ok(&Adam::new(AdamConfig { beta1: 1.0, ..Default::default() }, 3));
    h.ok(&Adam::new(AdamConfig { beta2: -0.1, ..Default::default() }, 3));
    h.ok(&Adam::new(AdamConfig { eps: f64::INFINITY, ..Default::default() }, 3));
    h.ok(&Adam::adamw(AdamWConfig { weight_decay: -1.0, ..Default::default() }, 3));
    h.ok(&Adagrad::new(AdagradConfig { lr_decay: -1.0, ..Default::default() }, 3));
    h.ok(&Adagrad::new(AdagradConfig { initial_accumulator_value: f64::NAN, ..Default::default() }, 3));
    h.ok(&Adadelta::new(AdadeltaConfig { rho: 1.5, ..Default::default() }, 3));
    h.ok(&RmsProp::new(RmsPropConfig { alpha: 2.0, ..Default::default() }, 3));
    h.ok(&RmsProp::new(RmsPropConfig { momentum: -0.5, ..Default::default() }, 3));
    h.ok(&Adamax::new(AdamaxConfig { beta2: 1.0, ..Default::default() }, 3));
    h.ok(&NAdam::new(NAdamConfig { momentum_decay: -1.0, ..Default::default() }, 3));
    h.ok(&Lion::new(LionConfig { beta1: 1.0, ..Default::default() }, 3));
    h.ok(&Adafactor::new(AdafactorConfig { beta2_decay: 0.5, ..Default::default() }, &[3]));
    h.ok(&Adafactor::new(AdafactorConfig { d: 0.5, ..Default::default() }, &[3]));
    h.ok(&Adafactor::new(AdafactorConfig { eps1: -1.0, ..Default::default() }, &[3]));
    h.ok(&Adafactor::new(AdafactorConfig::default(), &[usize::MAX, 2]));
    h.ok(&Adafactor::new(AdafactorConfig::default(), &[usize::MAX, 0]));
    // The configurations back, with their defaults.
    h.str(&format!("{:?}", Sgd::new(SgdConfig::default(), 1).expect("sgd").config()));
    h.str(&format!("{:?}", Adam::adamw(AdamWConfig::default(), 1).expect("adamw").config()));
    h.u64(Adam::adamw(AdamWConfig::default(), 1).expect("adamw").is_decoupled() as u64);
    h.str(&format!("{:?}", Adagrad::new(AdagradConfig::default(), 1).expect("adagrad").config()));
    h.str(&format!("{:?}", Adadelta::new(AdadeltaConfig::default(), 1).expect("adadelta").config()));
    h.str(&format!("{:?}", RmsProp::new(RmsPropConfig::default(), 1).expect("rmsprop").config()));
    h.str(&format!("{:?}", Adamax::new(AdamaxConfig::default(), 1).expect("adamax").config()));
    h.str(&format!("{:?}", NAdam::new(NAdamConfig::default(), 1).expect("nadam").config()));
    h.str(&format!("{:?}", Lion::new(LionConfig::default(), 1).expect("lion").config()));
    h.str(&format!("{:?}", Adafactor::new(AdafactorConfig::default(), &[2, 3]).expect("adafactor").config()));
    let mut pp = [0.5f32; 2];
    h.str(&format!("{:?}", Params::from(&mut pp[..])));
    h.str(&format!("{:?}", Grads::from(&d.g[0][..2])));
    h.u64(Grads::from(&d.gb[0][..3]).len() as u64);
    h.u64(Grads::from(&d.gh[0][..0]).is_empty() as u64);
    out.put("api/optimizer_configs", &h);

    let mut h = Fnv::new();
    let mut rng = Rng(77);
    for &v in &d.x[..2000] {
        for r in [0u16, 1, 0x7fff, 0x8000, 0xffff, rng.next() as u16] {
            h.word(round_stochastic(v, r).to_bits() as u32);
        }
    }
    for seed in [0, 42, u64::MAX] {
        for step in [0, 1, 2, 1000, u64::MAX] {
            for index in [0, 1, 2, 1000, (1 << 32) - 1, 1 << 32, u64::MAX] {
                h.word(stochastic_bits(seed, step, index) as u32);
            }
        }
    }
    out.put("api/stochastic_rounding", &h);
}

// ---------------------------------------------------------------------------------------------
// Driver

/// Everything on one ISA, in the current rayon pool.
fn suite(out: &mut Out, isa: Isa, d: &Data) {
    for (label, act, valid) in activations() {
        act_case::<f32>(out, Some(isa), &label, &act, valid, d);
        act_case::<bf16>(out, Some(isa), &label, &act, valid, d);
        act_case::<f16>(out, Some(isa), &label, &act, valid, d);
        bias_case(out, Some(isa), &label, &act, valid, d);
    }
    prelu_cases(out, isa, d);
    rrelu_cases(out, isa, d);
    glu_cases(out, isa, d);
    for spec in opt_specs() {
        opt_cases(out, Some(isa), &spec, d);
    }
    config_cases(out, isa, d);
}

/// The forms without `_with`, on the detected ISA: a few activations and optimizers.
fn detect_suite(out: &mut Out, d: &Data) {
    for (label, act, valid) in
        activations().into_iter().filter(|(l, _, _)| ["gelu", "relu", "sigmoid"].contains(&l.as_str()))
    {
        act_case::<f32>(out, None, &label, &act, valid, d);
        act_case::<bf16>(out, None, &label, &act, valid, d);
        bias_case(out, None, &label, &act, valid, d);
    }
    let mut h = [Fnv::new(); 4];
    let pr = Prelu::new(&[0.1, -0.2, 0.3], 5).expect("prelu");
    let r = Rrelu::default();
    let mode = RreluMode::Train { seed: 3, offset: 5 };
    let g = Glu::SWIGLU;
    for n in [0, 15, 300, LONG / 15 * 15] {
        let (x, dy) = (&d.x[..n], &d.dy[1..n + 1]);
        let mut y = sentinel::<f32>(n);
        let mut dx = sentinel::<f32>(n);
        let mut ds = [0.0f32; 3];
        h[0].res(&pr.forward(x, &mut y));
        h[0].res(&pr.backward(x, dy, &mut dx, &mut ds));
        h[0].vals(&y);
        h[0].vals(&dx);
        h[0].vals(&ds);
        let mut b = x.to_vec();
        h[0].res(&pr.forward_inplace(&mut b));
        let mut c = dy.to_vec();
        h[0].res(&pr.backward_inplace(x, &mut c, &mut ds));
        h[0].vals(&b);
        h[0].vals(&c);
        h[0].vals(&ds);

        h[1].res(&r.draw(3, 5, &mut y));
        h[1].vals(&y);
        h[1].res(&r.forward(mode, x, &mut y));
        h[1].res(&r.backward(mode, x, dy, &mut dx));
        h[1].vals(&y);
        h[1].vals(&dx);
        let mut b = x.to_vec();
        h[1].res(&r.forward_inplace(RreluMode::Eval, &mut b));
        let mut c = dy.to_vec();
        h[1].res(&r.backward_inplace(mode, x, &mut c));
        h[1].vals(&b);
        h[1].vals(&c);

        let z = &d.z[..n];
        let mut db = sentinel::<f32>(n);
        h[2].res(&g.forward(x, z, &mut y));
        h[2].res(&g.backward(x, z, dy, &mut dx, &mut db));
        h[2].vals(&y);
        h[2].vals(&dx);
        h[2].vals(&db);
        let m = n / 10 * 10;
        let mut y = sentinel::<f32>(m / 2);
        let mut dx = sentinel::<f32>(m);
        h[3].res(&g.forward_halves(&d.x[..m], 5, &mut y));
        h[3].res(&g.backward_halves(&d.x[..m], 5, &d.dy[..m / 2], &mut dx));
        h[3].vals(&y);
        h[3].vals(&dx);
    }
    for (op, h) in ["prelu", "rrelu", "glu", "glu_halves"].iter().zip(&h) {
        out.put(&format!("{op}/detect_forms"), h);
    }
    for spec in
        opt_specs().into_iter().filter(|s| ["adam", "sgd_momentum", "adafactor_matrix"].contains(&s.name))
    {
        opt_cases(out, None, &spec, d);
    }
}

fn main() {
    if std::env::args().any(|a| a == "--canonical-nan") {
        CANONICAL_NAN.store(true, Ordering::Relaxed);
    }
    let start = Instant::now();
    let d = data();
    let mut lines = Vec::new();
    let pools: Vec<(usize, rayon::ThreadPool)> = THREADS
        .iter()
        .map(|&t| (t, rayon::ThreadPoolBuilder::new().num_threads(t).build().expect("rayon pool")))
        .collect();
    {
        let mut out = Out { lines: &mut lines, isa: "any".into(), threads: 1 };
        api_cases(&mut out, &d);
    }
    for isa in Isa::available() {
        for (t, pool) in &pools {
            let t0 = Instant::now();
            let mut out = Out { lines: &mut lines, isa: isa.name().into(), threads: *t };
            pool.install(|| suite(&mut out, isa, &d));
            eprintln!("{isa} threads={t}: {:.1} s", t0.elapsed().as_secs_f64());
        }
    }
    for (t, pool) in &pools {
        let mut out = Out { lines: &mut lines, isa: format!("detect-{}", Isa::detect()), threads: *t };
        pool.install(|| detect_suite(&mut out, &d));
    }
    // The ISAs this CPU lacks: every call is an error, and nothing is written.
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        let (t, pool) = &pools[0];
        let mut out = Out { lines: &mut lines, isa: isa.name().into(), threads: *t };
        pool.install(|| suite(&mut out, isa, &d));
    }
    let mut total = Fnv::new();
    for l in &lines {
        println!("{l}");
        total.str(l);
    }
    println!("TOTAL {:016x}", total.0);
    eprintln!("{} lines in {:.1} s", lines.len(), start.elapsed().as_secs_f64());
}
