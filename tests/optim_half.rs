//! Optimizer steps with bf16 parameters and bf16 / f16 gradients (`Optimizer::step_typed`), on
//! every ISA:
//! - the f32 master mode updates the master bitwise as the f32 step and writes the `half`
//!   crate's round-to-nearest bf16 of it; half gradients step bitwise as their f32 widening;
//! - stochastic rounding gives, for every element, the value its definition (written here
//!   from the docs, with the random bits from `nnsimd::internals::reference::counter_hash`) gives for the
//!   f32 step's result, always one of its two bf16 neighbours, the same for 1, 2 and 3 threads,
//!   and is unbiased: the fraction rounded up is within 5 standard errors of the exact one;
//! - the f32 step itself stays within the golden tolerance of an f64 Adam written from the
//!   formula; the state after a typed step is bitwise the f32 step's;
//! - NaN and ±inf keep their class, a finite value never rounds to ±inf;
//! - bad lengths change nothing.

mod common;

use common::{mixed as values, qemu};
use nnsimd::internals::reference::{counter_hash, splitmix64};
use nnsimd::optim::{
    AdadeltaConfig, AdafactorConfig, AdagradConfig, AdamConfig, AdamWConfig, AdamaxConfig, Config, Grads,
    LionConfig, NAdamConfig, Optimizer, Params, RmsPropConfig, SgdConfig, Stepped,
};
use nnsimd::{Error, Isa, bf16, f16};

/// Elements per thread chunk (nnsimd::CHUNK).
const CHUNK: usize = nnsimd::CHUNK;

/// Every optimizer, in configurations that use all of their state (Adafactor unfactored: the
/// tests build a shape of one dimension; `adafactor_matrix` takes a factored one).
fn configs() -> Vec<Config> {
    let mut configs = vec![
        Config::Sgd(SgdConfig { lr: 0.01, ..Default::default() }),
        Config::Sgd(SgdConfig {
            lr: 0.01,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-3,
            ..Default::default()
        }),
        Config::Adam(AdamConfig::default()),
        Config::Adam(AdamConfig { amsgrad: true, weight_decay: 0.1, ..Default::default() }),
        Config::AdamW(AdamWConfig { maximize: true, ..Default::default() }),
        Config::Adagrad(AdagradConfig { lr_decay: 0.01, ..Default::default() }),
        Config::RmsProp(RmsPropConfig { centered: true, momentum: 0.9, ..Default::default() }),
        Config::Lion(LionConfig { weight_decay: 0.1, ..Default::default() }),
        Config::Adadelta(AdadeltaConfig { weight_decay: 0.1, maximize: true, ..Default::default() }),
        Config::Adamax(AdamaxConfig { weight_decay: 0.1, ..Default::default() }),
        Config::NAdam(NAdamConfig { weight_decay: 0.1, decoupled_weight_decay: true, ..Default::default() }),
        Config::Adafactor(AdafactorConfig { lr: 0.1, ..Default::default() }),
    ];
    // Every optimizer of the registry: at its defaults where the list has none of its own.
    for c in Config::defaults() {
        if !configs.iter().any(|d| d.name() == c.name()) {
            configs.push(c);
        }
    }
    configs
}

fn to_bf16(x: &[f32]) -> Vec<bf16> {
    x.iter().map(|&v| bf16::from_f32(v)).collect()
}

fn to_f16(x: &[f32]) -> Vec<f16> {
    x.iter().map(|&v| f16::from_f32(v)).collect()
}

/// Two optimizers in the same state: built alike, then three identical f32 steps.
fn twins(cfg: &Config, n: usize, isa: Isa) -> [Box<dyn Optimizer>; 2] {
    [0, 1].map(|_| {
        let mut o = cfg.build(&[n]).unwrap();
        let mut p = values(n, 1);
        for s in 0..3 {
            o.step_with(isa, &mut p, &values(n, 10 + s)).unwrap();
        }
        o
    })
}

/// The state as bits, for bitwise comparison (NaN included).
fn state_bits(o: &dyn Optimizer) -> (u64, Vec<(String, Vec<u32>)>) {
    let c = o.export();
    let bufs = c.buffers.iter().map(|(n, b)| (n.to_string(), b.iter().map(|v| v.to_bits()).collect()));
    (c.steps, bufs.collect())
}

/// bf16 bits, NaN compared up to the quiet bit (the conversions quiet a NaN).
fn same_bf16(a: bf16, b: bf16) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan() && (a.to_bits() | 0x40) == (b.to_bits() | 0x40))
}

/// Stochastic rounding of `r` with 16 random bits, from its documented definition.
fn sr_oracle(r: f32, random: u32) -> bf16 {
    if !r.is_finite() {
        return bf16::from_f32(r);
    }
    let up = f32::from_bits((r.to_bits() + random) & 0xFFFF_0000);
    let q = if up.is_finite() { up } else { f32::from_bits(r.to_bits() & 0xFFFF_0000) };
    bf16::from_bits((q.to_bits() >> 16) as u16)
}

/// The random bits of element `i` at step `t` under `seed`, from the generator's definition.
fn sr_bits(seed: u64, t: u64, i: usize) -> u32 {
    counter_hash(splitmix64(seed, t), i as u64) >> 16
}

/// Whether `q` is one of the two bf16 values around the finite `r` (or `r` itself).
fn is_neighbour(r: f32, q: bf16) -> bool {
    let down = f32::from_bits(r.to_bits() & 0xFFFF_0000);
    let up = if down == r { r } else { f32::from_bits((r.to_bits() & 0xFFFF_0000) + 0x1_0000) };
    q.to_f32() == down || q.to_f32() == up
}

/// Checks the stochastic bf16 results `q` of step `t` against the f32 step's results `r`.
fn check_stochastic(what: &str, r: &[f32], q: &[bf16], seed: u64, t: u64) {
    for (i, (&r, &q)) in r.iter().zip(q).enumerate() {
        let want = sr_oracle(r, sr_bits(seed, t, i));
        assert!(same_bf16(q, want), "{what}: element {i}: r {r:e}, got {q}, want {want}");
        assert!(!r.is_finite() || (q.is_finite() && is_neighbour(r, q)), "{what}: element {i}");
    }
}

/// Every combination of parameter and gradient type on `isa` at length `n`, slices starting
/// at `off` (misaligned), against the f32 step of a twin.
fn check_case(cfg: &Config, isa: Isa, n: usize, off: usize) {
    let what = format!("{cfg:?} on {isa}, n {n}, offset {off}");
    let g32 = values(n + off, 99);
    let g16 = to_bf16(&g32);
    let gh = to_f16(&g32);
    let widened_b: Vec<f32> = g16.iter().map(|v| v.to_f32()).collect();
    let widened_h: Vec<f32> = gh.iter().map(|v| v.to_f32()).collect();
    let grads: [(Grads, &[f32]); 3] = [
        (Grads::F32(&g32[off..]), &g32[off..]),
        (Grads::Bf16(&g16[off..]), &widened_b[off..]),
        (Grads::F16(&gh[off..]), &widened_h[off..]),
    ];
    for (grads, g) in grads {
        let what = format!("{what}, grads {grads:?}");
        let what = &what[..what.len().min(200)];
        // The f32 step of the twin: the reference for every parameter type.
        let p0 = values(n + off, 1);
        let seed = 0xC0FFEE ^ n as u64;
        let [mut a, mut b] = twins(cfg, n, isa);
        let mut want = p0.clone();
        b.step_with(isa, &mut want[off..], g).unwrap();

        // f32 parameters.
        let mut p = p0.clone();
        a.step_typed(isa, Params::F32(&mut p[off..]), grads).unwrap();
        assert_eq!(bits(&p), bits(&want), "{what}: f32 params");
        assert_eq!(state_bits(&*a), state_bits(&*b), "{what}: state");

        // Master with a bf16 copy.
        let [mut a, _] = twins(cfg, n, isa);
        let mut p = p0.clone();
        let mut copy = vec![bf16::from_f32(7.0); n + off];
        a.step_typed(isa, Params::Master { master: &mut p[off..], copy: &mut copy[off..] }, grads).unwrap();
        assert_eq!(bits(&p), bits(&want), "{what}: master");
        for (i, (&c, &w)) in copy[off..].iter().zip(&want[off..]).enumerate() {
            assert!(same_bf16(c, bf16::from_f32(w)), "{what}: copy element {i}: {c} for {w:e}");
        }
        assert_eq!(state_bits(&*a), state_bits(&*b), "{what}: state (master)");

        // bf16 parameters, stochastic rounding: the twin steps from the same (widened) values.
        let [mut a, mut b] = twins(cfg, n, isa);
        let mut q = to_bf16(&p0);
        let mut r: Vec<f32> = q.iter().map(|v| v.to_f32()).collect();
        b.step_with(isa, &mut r[off..], g).unwrap();
        a.step_typed(isa, Params::Stochastic { params: &mut q[off..], seed }, grads).unwrap();
        check_stochastic(what, &r[off..], &q[off..], seed, a.steps());
        assert_eq!(state_bits(&*a), state_bits(&*b), "{what}: state (stochastic)");
    }
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn every_type_matches_the_f32_step() {
    let lengths: &[usize] =
        if qemu() { &[0, 1, 5, 33, 130] } else { &[0, 1, 3, 8, 17, 31, 64, 100, 257, 1030, 2100] };
    for isa in Isa::available() {
        for cfg in configs() {
            for (j, &n) in lengths.iter().enumerate() {
                check_case(&cfg, isa, n, j % 5);
            }
        }
    }
}

/// Runs `f` on a pool of `threads` threads.
fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
}

#[test]
fn stochastic_is_the_same_for_any_thread_count() {
    let n = if qemu() { 2 * CHUNK + 77 } else { 5 * CHUNK + 777 };
    let cfg = Config::Adam(AdamConfig { weight_decay: 0.01, ..Default::default() });
    let g = to_bf16(&values(n, 5));
    let p0 = to_bf16(&values(n, 6));
    for isa in Isa::available() {
        let runs: Vec<Vec<u16>> = [1, 2, 3]
            .into_iter()
            .map(|threads| {
                on_threads(threads, || {
                    let mut o = cfg.build(&[n]).unwrap();
                    let mut p = p0.clone();
                    for _ in 0..3 {
                        o.step_typed(isa, Params::Stochastic { params: &mut p, seed: 42 }, Grads::Bf16(&g))
                            .unwrap();
                    }
                    p.iter().map(|v| v.to_bits()).collect()
                })
            })
            .collect();
        assert_eq!(runs[0], runs[1], "{isa}: 1 and 2 threads");
        assert_eq!(runs[0], runs[2], "{isa}: 1 and 3 threads");
        // Against the definition for the last step, and another seed differs.
        let mut o = cfg.build(&[n]).unwrap();
        let mut p = p0.clone();
        for _ in 0..2 {
            o.step_typed(isa, Params::Stochastic { params: &mut p, seed: 42 }, Grads::Bf16(&g)).unwrap();
        }
        let mut twin = cfg.build(&[n]).unwrap();
        twin.import(&o.export()).unwrap();
        let mut r: Vec<f32> = p.iter().map(|v| v.to_f32()).collect();
        let gw: Vec<f32> = g.iter().map(|v| v.to_f32()).collect();
        twin.step_with(isa, &mut r, &gw).unwrap();
        let mut q = p.clone();
        let mut other = p.clone();
        let mut o2 = cfg.build(&[n]).unwrap();
        o2.import(&o.export()).unwrap();
        o.step_typed(isa, Params::Stochastic { params: &mut q, seed: 42 }, Grads::Bf16(&g)).unwrap();
        o2.step_typed(isa, Params::Stochastic { params: &mut other, seed: 43 }, Grads::Bf16(&g)).unwrap();
        check_stochastic(&format!("{isa}, n {n}"), &r, &q, 42, 3);
        assert_eq!(q.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), runs[0], "{isa}");
        let differ = q.iter().zip(&other).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        assert!(differ > n / 100, "{isa}: seeds 42 and 43 differ in {differ} of {n}");
    }
}

/// Plain SGD with lr 1: the f32 result is fl(p − g), exact for the values below.
fn sgd1(n: usize) -> Box<dyn Optimizer> {
    Config::Sgd(SgdConfig { lr: 1.0, ..Default::default() }).build(&[n]).unwrap()
}

#[test]
fn stochastic_is_unbiased() {
    let n = if qemu() { 20_000 } else { 200_000 };
    // (p, k): r = p + k·2^-23·|p|-ulp-scale, so r lies k/65536 of a bf16 ULP above p (away
    // from zero): the exact probability of rounding away from zero is k/65536.
    let cases: [(f32, u32); 9] = [
        (1.0, 19_661),
        (1.0, 32_768),
        (1.0, 655),
        (1.0, 64_880),
        (-1.0, 19_661),
        (1.992_187_5, 40_000), // just below 2: the upper neighbour is in the next binade
        (-3.0e38, 30_000),     // large
        (0.0, 12_345),         // bf16 subnormals: r = k·2^-149, ULP 2^-133
        (1.0e-39, 50_000),     // f32 subnormal p rounded to bf16 below
    ];
    for isa in Isa::available() {
        for (p, k) in cases {
            let p = bf16::from_f32(p).to_f32();
            let lo = p.to_bits() & 0xFFFF_0000;
            let r = f32::from_bits(lo + k);
            let g = vec![p - r; n];
            assert_eq!(p - (p - r), r, "the case's f32 result is exact");
            let mut q = vec![bf16::from_f32(p); n];
            let mut o = sgd1(n);
            o.step_typed(isa, Params::Stochastic { params: &mut q, seed: 9 }, Grads::F32(&g)).unwrap();
            let down = bf16::from_bits((lo >> 16) as u16);
            let up = q.iter().filter(|&&v| v != down).count();
            assert!(q.iter().all(|&v| is_neighbour(r, v)), "{isa}: {r:e}");
            let f = k as f64 / 65536.0;
            let se = (f * (1.0 - f) / n as f64).sqrt();
            let got = up as f64 / n as f64;
            assert!((got - f).abs() <= 5.0 * se, "{isa}: {r:e}: up {got} want {f} (se {se:.2e})");
        }
        // One element over many steps: each step draws fresh bits.
        let (steps, k) = (if qemu() { 2_000 } else { 20_000 }, 19_661u32);
        let r = f32::from_bits(1.0f32.to_bits() + k);
        let mut o = sgd1(3);
        let mut up = 0;
        for _ in 0..steps {
            let mut q = [bf16::ONE; 3];
            o.step_typed(isa, Params::Stochastic { params: &mut q, seed: 3 }, Grads::F32(&[1.0 - r; 3]))
                .unwrap();
            up += (q[1] != bf16::ONE) as usize;
        }
        let (f, got) = (k as f64 / 65536.0, up as f64 / steps as f64);
        let se = (f * (1.0 - f) / steps as f64).sqrt();
        assert!((got - f).abs() <= 5.0 * se, "{isa}: over steps: up {got} want {f}");
    }
}

#[test]
fn special_values_keep_their_class() {
    let (max, big) = (bf16::MAX.to_f32(), 2f32.powi(104));
    // (p, g): r = fl(p − g).
    let cases: [(f32, f32); 10] = [
        (1.0, f32::NAN),
        (f32::NAN, 0.0),
        (1.0, f32::NEG_INFINITY),
        (f32::INFINITY, 1.0),
        (f32::NEG_INFINITY, 1.0),
        (max, -big),             // r = bf16::MAX + 1 f32 ULP: stays bf16::MAX
        (max, -(65535.0 * big)), // r = f32::MAX: stays bf16::MAX
        (-max, 65535.0 * big),   // r = −f32::MAX: stays −bf16::MAX
        (max, -1.0e38),          // r overflows f32 itself: +inf
        (-0.0, 0.0),             // r = −0
    ];
    for isa in Isa::available() {
        let n = 40;
        for (p, g) in cases {
            let r = p - g;
            let mut q = vec![bf16::from_f32(p); n];
            sgd1(n)
                .step_typed(isa, Params::Stochastic { params: &mut q, seed: 1 }, Grads::F32(&vec![g; n]))
                .unwrap();
            for v in q {
                let ok = if r.is_nan() {
                    v.is_nan()
                } else if r.is_infinite() {
                    v.to_f32() == r
                } else {
                    v.is_finite() && is_neighbour(r, v) && v.is_sign_negative() == r.is_sign_negative()
                };
                assert!(ok, "{isa}: p {p:e}, g {g:e}: r {r:e} gave {v}");
            }
        }
    }
}

/// One Adam step in f64, from PyTorch's formula (no weight decay, no AMSGrad), at step `t`.
fn adam_f64(c: &AdamConfig, t: i32, p: f64, g: f64, m: &mut f64, v: &mut f64) -> f64 {
    *m = c.beta1 * *m + (1.0 - c.beta1) * g;
    *v = c.beta2 * *v + (1.0 - c.beta2) * g * g;
    let (bc1, bc2) = (1.0 - c.beta1.powi(t), 1.0 - c.beta2.powi(t));
    p - c.lr / bc1 * *m / ((*v).sqrt() / bc2.sqrt() + c.eps)
}

#[test]
fn adam_bf16_against_f64() {
    let n = 3000;
    let c = AdamConfig { lr: 0.01, ..Default::default() };
    for isa in Isa::available() {
        let mut o = Config::Adam(c).build(&[n]).unwrap();
        let mut q = to_bf16(&values(n, 2));
        let mut st = vec![(0.0f64, 0.0f64); n];
        for t in 1..=5 {
            let g = to_bf16(&values(n, 20 + t as u64));
            let before: Vec<f64> = q.iter().map(|v| v.to_f64()).collect();
            o.step_typed(isa, Params::Stochastic { params: &mut q, seed: 5 }, Grads::Bf16(&g)).unwrap();
            for i in 0..n {
                let (m, v) = &mut st[i];
                let want = adam_f64(&c, t, before[i], g[i].to_f64(), m, v);
                // The f32 result is within the golden tolerance of `want`, and the stored value
                // one of the bf16 values around it: at most one bf16 ULP further.
                let tol = 1e-5 * want.abs() + 1e-6;
                let ulp = 2f64.powi(((want.abs() + tol).log2().floor() as i32 - 7).max(-133));
                let got = q[i].to_f64();
                assert!(
                    (got - want).abs() <= tol + ulp,
                    "{isa}: step {t} element {i}: got {got:e}, f64 {want:e}"
                );
            }
        }
    }
}

#[test]
fn bad_lengths_change_nothing() {
    let n = 50;
    for isa in Isa::available() {
        for cfg in configs() {
            let [mut a, b] = twins(&cfg, n, isa);
            let g = to_bf16(&values(n, 3));
            let mut q = to_bf16(&values(n + 1, 4));
            let mut m = values(n, 4);
            let mut copy = vec![bf16::ONE; n];
            let q0 = q.clone();
            let e = a.step_typed(isa, Params::Stochastic { params: &mut q, seed: 0 }, Grads::Bf16(&g));
            assert!(matches!(e, Err(Error::LengthMismatch { .. })), "{cfg:?}: {e:?}");
            let e =
                a.step_typed(isa, Params::Stochastic { params: &mut q[..n], seed: 0 }, Grads::Bf16(&g[1..]));
            assert!(matches!(e, Err(Error::LengthMismatch { .. })), "{cfg:?}: {e:?}");
            let e =
                a.step_typed(isa, Params::Master { master: &mut m, copy: &mut copy[1..] }, Grads::Bf16(&g));
            assert!(matches!(e, Err(Error::LengthMismatch { .. })), "{cfg:?}: {e:?}");
            assert_eq!(
                q.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                q0.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
            assert_eq!(bits(&m), bits(&values(n, 4)));
            assert!(copy.iter().all(|&v| v == bf16::ONE));
            assert_eq!(state_bits(&*a), state_bits(&*b), "{cfg:?}: state changed by a failed step");
        }
    }
}

#[test]
fn adafactor_matrix() {
    let cfg = Config::Adafactor(AdafactorConfig { weight_decay: 0.1, ..Default::default() });
    let (rows, cols) = (37, 29);
    let n = rows * cols;
    for isa in Isa::available() {
        let make = || {
            let mut o = cfg.build(&[rows, cols]).unwrap();
            let mut p = values(n, 1);
            o.step_with(isa, &mut p, &values(n, 10)).unwrap();
            o
        };
        let (mut a, mut b) = (make(), make());
        let g = to_bf16(&values(n, 3));
        let gw: Vec<f32> = g.iter().map(|v| v.to_f32()).collect();
        let mut q = to_bf16(&values(n, 4));
        let mut r: Vec<f32> = q.iter().map(|v| v.to_f32()).collect();
        b.step_with(isa, &mut r, &gw).unwrap();
        a.step_typed(isa, Params::Stochastic { params: &mut q, seed: 8 }, Grads::Bf16(&g)).unwrap();
        check_stochastic(&format!("adafactor {rows}x{cols} on {isa}"), &r, &q, 8, a.steps());
        assert_eq!(state_bits(&*a), state_bits(&*b));
    }
}

/// The public scalar `round_stochastic` against its documented definition, NaNs whose payload
/// lies in the low half only included (their bits shifted right would read as ±inf).
#[test]
fn round_stochastic_helper_matches_its_definition() {
    use nnsimd::optim::round_stochastic;
    for bits in [0x7f80_0001u32, 0xff80_0001, 0x7f80_ffff, 0x7fc0_0000, 0xffc0_1234] {
        for random in [0u16, 1, 0x8000, 0xffff] {
            let y = round_stochastic(f32::from_bits(bits), random).to_f32();
            assert!(y.is_nan(), "NaN {bits:#x} with {random:#x} gave {y}");
        }
    }
    for x in [f32::INFINITY, f32::NEG_INFINITY] {
        assert_eq!(round_stochastic(x, 0xffff).to_f32(), x);
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..200_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let b = state as u32;
        let x = f32::from_bits(b);
        if !x.is_finite() {
            continue;
        }
        let random = (state >> 40) as u16;
        let up = f32::from_bits(b.wrapping_add(random as u32) & 0xffff_0000);
        let want = if up.is_infinite() { f32::from_bits(b & 0xffff_0000) } else { up };
        let got = round_stochastic(x, random).to_f32();
        assert_eq!(got.to_bits(), want.to_bits(), "x = {x:e} ({b:#x}), random {random:#x}");
    }
}

/// `step_scaled_typed` with inv_scale 1/8 on bf16 and f16 gradients multiplied by 8 (exactly):
/// bitwise `step_typed` on the unscaled gradients, for every optimizer, parameter mode and ISA
/// over three steps; then a ±inf or NaN gradient gives `Skipped` with nothing written (params,
/// copy, step count), and a gradient slice one short is an error before any write.
#[test]
fn scaled_typed_is_the_typed_step_on_unscaled_gradients() {
    let n = 300;
    let g32: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
    let gb: Vec<bf16> = g32.iter().map(|&v| bf16::from_f32(v)).collect();
    let gh: Vec<f16> = g32.iter().map(|&v| f16::from_f32(v)).collect();
    let gb8: Vec<bf16> = gb.iter().map(|&v| bf16::from_f32(v.to_f32() * 8.0)).collect();
    let gh8: Vec<f16> = gh.iter().map(|&v| f16::from_f32(v.to_f32() * 8.0)).collect();
    let p0: Vec<f32> = (0..n).map(|i| 1.0 - i as f32 / 256.0).collect();
    for isa in Isa::available() {
        for cfg in configs() {
            for half_grads in [true, false] {
                let plain = if half_grads { Grads::Bf16(&gb) } else { Grads::F16(&gh) };
                let scaled = if half_grads { Grads::Bf16(&gb8) } else { Grads::F16(&gh8) };
                let (mut a, mut b) = (cfg.build(&[n]).unwrap(), cfg.build(&[n]).unwrap());
                let pb0: Vec<bf16> = p0.iter().map(|&v| bf16::from_f32(v)).collect();
                let (mut sa, mut sb) = (pb0.clone(), pb0.clone());
                let (mut ma, mut mb) = (p0.clone(), p0.clone());
                let (mut ca, mut cb) = (pb0.clone(), pb0.clone());
                for t in 0..3 {
                    let stochastic = t % 2 == 0;
                    if stochastic {
                        a.step_typed(isa, Params::Stochastic { params: &mut sa, seed: 9 }, plain).unwrap();
                        let p = Params::Stochastic { params: &mut sb, seed: 9 };
                        assert_eq!(b.step_scaled_typed(isa, p, scaled, 0.125), Ok(Stepped::Applied));
                    } else {
                        a.step_typed(isa, Params::Master { master: &mut ma, copy: &mut ca }, plain).unwrap();
                        let p = Params::Master { master: &mut mb, copy: &mut cb };
                        assert_eq!(b.step_scaled_typed(isa, p, scaled, 0.125), Ok(Stepped::Applied));
                    }
                    let same =
                        sa == sb && ca == cb && ma.iter().zip(&mb).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{cfg:?} on {isa}, step {t}, half grads {half_grads}: scaled differs");
                }
                for bad in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
                    let (mut gb9, mut gh9) = (gb8.clone(), gh8.clone());
                    gb9[n / 2] = bf16::from_f32(bad);
                    gh9[n / 2] = f16::from_f32(bad);
                    let g = if half_grads { Grads::Bf16(&gb9) } else { Grads::F16(&gh9) };
                    let (steps, before) = (b.steps(), (sb.clone(), mb.clone(), cb.clone()));
                    let p = Params::Master { master: &mut mb, copy: &mut cb };
                    assert_eq!(b.step_scaled_typed(isa, p, g, 0.125), Ok(Stepped::Skipped));
                    let p = Params::Stochastic { params: &mut sb, seed: 9 };
                    assert_eq!(b.step_scaled_typed(isa, p, g, 0.125), Ok(Stepped::Skipped));
                    assert_eq!(b.steps(), steps, "{cfg:?}: a skipped step counted");
                    let after = (sb.clone(), mb.clone(), cb.clone());
                    assert!(after.0 == before.0 && after.2 == before.2, "{cfg:?}: a skipped step wrote");
                    assert!(after.1.iter().zip(&before.1).all(|(x, y)| x.to_bits() == y.to_bits()));
                }
                let short = if half_grads { Grads::Bf16(&gb8[1..]) } else { Grads::F16(&gh8[1..]) };
                let p = Params::Stochastic { params: &mut sb, seed: 9 };
                let r = b.step_scaled_typed(isa, p, short, 0.125);
                assert_eq!(r, Err(Error::LengthMismatch { arg: "grads", expected: n, found: n - 1 }));
                assert_eq!(b.steps(), 3);
            }
        }
    }
}
