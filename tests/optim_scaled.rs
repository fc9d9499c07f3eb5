//! `Optimizer::step_scaled` (gradient unscaling with a skip on inf/NaN, PyTorch's GradScaler):
//! - the finite check, on every ISA, at every length 0..300 on misaligned slices, with ±inf and
//!   NaNs at every position (the vector body, the unrolled body and the tail), and across the
//!   chunks of a parallel check on 1, 2 and 3 threads;
//! - for every optimizer and ISA, a scaled step is bitwise the plain step on the unscaled
//!   gradients g' = fl(g·inv_scale), computed here in f64 (exact) and rounded once to f32, for
//!   powers of two (where g' is exactly g·inv_scale), other factors, factors above 1 and
//!   products that underflow into the subnormals; parameters and every state buffer compared;
//! - a skipped step leaves parameters, the exported checkpoint and the step count unchanged,
//!   and the following steps are those of an optimizer that never saw it;
//! - errors (inv_scale not finite or ≤ 0, lengths, ISA) come before any write;
//! - a finite g whose product overflows steps with g' = ±inf, as documented.
//!
//! The plain step that the scaled one must equal is checked against its own oracles by
//! tests/optim.rs (golden PyTorch trajectories) and tests/optim_isa.rs (f64).

#![cfg(feature = "std")]

mod common;

use common::optim::{bits, configs, data, shape, snapshot};
use common::{isas, qemu};
use nnsimd::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig, Stepped};
use nnsimd::{Error, Isa};

/// fl(g·c): the product of two f32 is exact in f64, so one rounding to f32 gives the correctly
/// rounded product.
fn unscaled(g: &[f32], c: f32) -> Vec<f32> {
    g.iter().map(|&x| (x as f64 * c as f64) as f32).collect()
}

/// Values that are not finite: ±inf and NaNs of both signs and other payloads.
const BAD: [f32; 5] = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, f32::from_bits(0x7f80_0001)];

/// Finite values from the whole line: N(0, 1), the extremes, subnormals, ±0.
fn finite_values(n: usize, seed: u64) -> Vec<f32> {
    let edge = [f32::MAX, -f32::MAX, f32::MIN_POSITIVE, 1e-45, -1e-45, 0.0, -0.0, 3e38];
    let mut v = data(n, seed);
    for (i, x) in v.iter_mut().enumerate() {
        if i % 5 == 2 {
            *x = edge[(i / 5) % edge.len()];
        }
    }
    v
}

#[test]
fn finite_check_every_isa_length_and_position() {
    let (max_len, offsets): (usize, &[usize]) = if qemu() { (120, &[0, 3]) } else { (300, &[0, 1, 3, 7]) };
    let bad: &[f32] = if qemu() { &BAD[..3] } else { &BAD };
    for isa in isas() {
        for n in 0..max_len {
            let mut opt = Sgd::new(SgdConfig::default(), n).unwrap();
            for &off in offsets {
                let mut gbuf = vec![0f32; off];
                gbuf.extend(finite_values(n, n as u64));
                let mut pbuf = vec![0f32; 1 + off];
                pbuf.extend(data(n, 7));
                let p = &mut pbuf[1 + off..];
                let g = &mut gbuf[off..];
                let before = bits(p);
                for j in 0..n {
                    for &b in bad {
                        let keep = g[j];
                        g[j] = b;
                        let r = opt.step_scaled_with(isa, p, g, 0.5).unwrap();
                        assert_eq!(r, Stepped::Skipped, "{isa} n={n} off={off} bad {b} at {j}");
                        g[j] = keep;
                    }
                }
                assert_eq!(bits(p), before, "{isa} n={n}: a skipped step wrote");
                assert_eq!(opt.steps(), 0);
                let r = opt.step_scaled_with(isa, p, g, 0.5).unwrap();
                assert_eq!(r, Stepped::Applied, "{isa} n={n} off={off}: finite gradients skipped");
                opt = Sgd::new(SgdConfig::default(), n).unwrap();
            }
        }
    }
}

#[test]
fn finite_check_across_chunks_and_threads() {
    let chunk = nnsimd::CHUNK;
    let n = 2 * chunk + 37;
    let g = finite_values(n, 11);
    let places = [0, 1, chunk - 1, chunk, chunk + 17, 2 * chunk - 1, 2 * chunk, n - 1];
    let isas = if qemu() { vec![Isa::detect()] } else { isas() };
    for threads in 1..=3 {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            for &isa in &isas {
                let mut opt = Sgd::new(SgdConfig::default(), n).unwrap();
                let mut p = data(n, 3);
                let before = bits(&p);
                for &j in &places {
                    let mut g = g.clone();
                    g[j] = f32::NAN;
                    assert_eq!(opt.step_scaled_with(isa, &mut p, &g, 0.25).unwrap(), Stepped::Skipped);
                    g[j] = f32::NEG_INFINITY;
                    assert_eq!(opt.step_scaled_with(isa, &mut p, &g, 0.25).unwrap(), Stepped::Skipped);
                }
                assert_eq!(bits(&p), before);
                assert_eq!(opt.step_scaled_with(isa, &mut p, &g, 0.25).unwrap(), Stepped::Applied);
            }
        });
    }
}

/// The unscaling factors: powers of two (GradScaler's), 1, others, above 1, and one whose
/// products are subnormal or 0.
const FACTORS: [f32; 6] = [1.0 / 65536.0, 1.0, 0.3, 1.0 / 3.0, 3.0, 1.0e-40];

/// Gradients as a loss scale of about 1/c leaves them (kept finite).
fn scaled_grads(n: usize, seed: u64, c: f32) -> Vec<f32> {
    let s = (1.0 / c as f64).min(1e20);
    data(n, seed).iter().map(|&x| (x as f64 * s) as f32).collect()
}

#[test]
fn scaled_step_is_the_step_on_unscaled_gradients() {
    let lens: &[usize] = if qemu() { &[0, 7, 61] } else { &[0, 1, 6, 13, 64, 130, 257] };
    for (name, cfg) in configs() {
        for isa in isas() {
            for &n0 in lens {
                for c in FACTORS {
                    let sh = shape(name, n0);
                    let n: usize = sh.iter().product();
                    let mut a = cfg.build(&sh).unwrap();
                    let mut b = cfg.build(&sh).unwrap();
                    // Misaligned, at different offsets.
                    let mut pa_buf = vec![0f32; n + 1];
                    pa_buf[1..].copy_from_slice(&data(n, 5));
                    let pa = &mut pa_buf[1..];
                    let mut pb = pa.to_vec();
                    for step in 0..3u64 {
                        let mut g_buf = vec![0f32; n + 3];
                        g_buf[3..].copy_from_slice(&scaled_grads(n, 100 + step, c));
                        let g = &g_buf[3..];
                        let gu = unscaled(g, c);
                        if c.log2().fract() == 0.0 && c >= 1.0 / 65536.0 {
                            // A power of two and normal products: g' is g·c exactly.
                            assert!(g.iter().zip(&gu).all(|(&x, &y)| x as f64 * c as f64 == y as f64));
                        }
                        let r = a.step_scaled_with(isa, pa, g, c).unwrap();
                        assert_eq!(r, Stepped::Applied);
                        b.step_with(isa, &mut pb, &gu).unwrap();
                        assert_eq!(
                            snapshot(&*a, pa),
                            snapshot(&*b, &pb),
                            "{name} {isa} n={n} inv_scale={c} step {step}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn skipped_step_changes_nothing() {
    let n = 203;
    for (name, cfg) in configs() {
        for isa in isas() {
            let sh = shape(name, n);
            let n: usize = sh.iter().product();
            let mut a = cfg.build(&sh).unwrap();
            let mut b = cfg.build(&sh).unwrap();
            let mut pa = data(n, 1);
            let mut pb = pa.clone();
            for step in 0..2 {
                let g = scaled_grads(n, 40 + step, 0.125);
                assert_eq!(a.step_scaled_with(isa, &mut pa, &g, 0.125).unwrap(), Stepped::Applied);
                assert_eq!(b.step_scaled_with(isa, &mut pb, &g, 0.125).unwrap(), Stepped::Applied);
            }
            let before = snapshot(&*a, &pa);
            for j in [0, n / 2, n - 1] {
                for bad in BAD {
                    let mut g = scaled_grads(n, 50, 0.125);
                    g[j] = bad;
                    assert_eq!(a.step_scaled_with(isa, &mut pa, &g, 0.125).unwrap(), Stepped::Skipped);
                    assert_eq!(snapshot(&*a, &pa), before, "{name} {isa}: skip at {j} wrote");
                }
            }
            assert_eq!(a.steps(), 2);
            for step in 0..2 {
                let g = scaled_grads(n, 60 + step, 0.125);
                assert_eq!(a.step_scaled_with(isa, &mut pa, &g, 0.125).unwrap(), Stepped::Applied);
                assert_eq!(b.step_scaled_with(isa, &mut pb, &g, 0.125).unwrap(), Stepped::Applied);
                assert_eq!(snapshot(&*a, &pa), snapshot(&*b, &pb), "{name} {isa}: after a skip");
            }
        }
    }
}

#[test]
fn errors_come_before_any_write() {
    let n = 50;
    let unavailable = [Isa::Avx2, Isa::Avx512, Isa::Neon].into_iter().find(|i| !i.is_available());
    for (name, cfg) in configs() {
        let sh = shape(name, n);
        let n: usize = sh.iter().product();
        let mut a = cfg.build(&sh).unwrap();
        let mut p = data(n, 2);
        let g = data(n, 3);
        let _ = a.step_scaled(&mut p, &g, 0.5).unwrap();
        let before = snapshot(&*a, &p);
        let mut g_bad = g.clone();
        g_bad[n / 2] = f32::NAN;
        for c in [0.0, -0.0, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -1e-45] {
            for grads in [&g, &g_bad] {
                match a.step_scaled(&mut p, grads, c) {
                    Err(Error::InvalidParameter { name: "inv_scale", .. }) => {}
                    other => panic!("{name}: inv_scale {c} gave {other:?}"),
                }
            }
        }
        for (pl, gl) in [(n + 1, n), (n, n - 1), (n - 1, n - 1)] {
            let (mut p2, mut g2) = (data(pl, 2), data(gl, 3));
            g2[0] = f32::NAN;
            let before2 = bits(&p2);
            let r = a.step_scaled(&mut p2, &g2, 0.5);
            assert!(matches!(r, Err(Error::LengthMismatch { .. })), "{name}: {r:?}");
            assert_eq!(bits(&p2), before2);
        }
        if let Some(isa) = unavailable {
            assert!(matches!(a.step_scaled_with(isa, &mut p, &g, 0.5), Err(Error::IsaUnavailable(_))));
        }
        assert_eq!(snapshot(&*a, &p), before, "{name}: an error wrote");
        // The smallest positive factor is valid.
        assert_eq!(a.step_scaled(&mut p, &g, 1e-45).unwrap(), Stepped::Applied);
    }
}

#[test]
fn overflowing_product_steps_with_infinity() {
    for isa in isas() {
        let n = 21;
        let cfg = AdamConfig::default();
        let (mut a, mut b) = (Adam::new(cfg, n).unwrap(), Adam::new(cfg, n).unwrap());
        let mut g = data(n, 9);
        g[4] = f32::MAX / 2.0;
        g[17] = -f32::MAX / 3.0;
        let (mut pa, mut pb) = (data(n, 8), data(n, 8));
        assert_eq!(a.step_scaled_with(isa, &mut pa, &g, 4.0).unwrap(), Stepped::Applied);
        let gu = unscaled(&g, 4.0);
        assert_eq!((gu[4], gu[17]), (f32::INFINITY, f32::NEG_INFINITY));
        b.step_with(isa, &mut pb, &gu).unwrap();
        assert_eq!(snapshot(&a, &pa), snapshot(&b, &pb));
        // Adam on an infinite gradient: m/√v = inf/inf.
        assert!(pa[4].is_nan() && pa[17].is_nan() && pa[3].is_finite());
    }
}

#[test]
fn scaled_step_same_bits_on_1_2_3_threads() {
    let n = 3 * nnsimd::CHUNK + 77;
    let mut results = Vec::new();
    for threads in 1..=3 {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        results.push(pool.install(|| {
            configs()
                .into_iter()
                .map(|(name, cfg)| {
                    let sh = shape(name, n);
                    let n: usize = sh.iter().product();
                    let mut a = cfg.build(&sh).unwrap();
                    let mut p = data(n, 4);
                    for step in 0..2 {
                        let g = scaled_grads(n, 70 + step, 0.3);
                        assert_eq!(a.step_scaled(&mut p, &g, 0.3).unwrap(), Stepped::Applied);
                    }
                    snapshot(&*a, &p)
                })
                .collect::<Vec<_>>()
        }));
    }
    assert!(results[1] == results[0] && results[2] == results[0]);
}
