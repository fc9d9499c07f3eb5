//! Adafactor beyond the golden replays of tests/optim.rs: shapes of every rank against an f64
//! oracle written from the formula (../shared/golden/README.md), bad input, empty shapes, NaN
//! spreading, thread-count determinism and every ISA against scalar.

#![cfg(feature = "std")]

mod common;

use common::{Guarded, Rng};
use nnsimd::optim::{Adafactor, AdafactorConfig, Optimizer};
use nnsimd::{Error, Isa};

/// The f64 oracle: PyTorch's Adafactor step (README of the golden data) on f64 copies.
struct Oracle {
    cfg: AdafactorConfig,
    shape: Vec<usize>,
    t: u64,
    /// Rank ≥ 2: row_var per row of every matrix; else v.
    r: Vec<f64>,
    /// Rank ≥ 2: col_var per column of every matrix.
    c: Vec<f64>,
}

impl Oracle {
    fn new(cfg: AdafactorConfig, shape: &[usize]) -> Oracle {
        let n: usize = shape.iter().product();
        let (r, c) = match *shape {
            [.., rows, cols] => {
                let b = n / (rows * cols).max(1);
                (vec![0.0; b * rows], vec![0.0; b * cols])
            }
            _ => (vec![0.0; n], vec![]),
        };
        Oracle { cfg, shape: shape.to_vec(), t: 0, r, c }
    }

    fn rms(x: &[f64]) -> f64 {
        (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
    }

    fn step(&mut self, p: &mut [f64], g: &[f32]) {
        let cfg = self.cfg;
        self.t += 1;
        let t = self.t as f64;
        let g: Vec<f64> = g.iter().map(|&x| if cfg.maximize { -(x as f64) } else { x as f64 }).collect();
        let w = t.powf(cfg.beta2_decay);
        let rho = cfg.lr.min(1.0 / t.sqrt());
        let alpha = cfg.eps2.max(Self::rms(p)) * rho;
        for x in p.iter_mut() {
            *x *= 1.0 - cfg.lr * cfg.weight_decay;
        }
        let e1 = cfg.eps1;
        let est: Vec<f64> = match *self.shape {
            [.., rows, cols] => {
                let mut est = vec![0.0; g.len()];
                for b in 0..g.len() / (rows * cols) {
                    let m = &g[b * rows * cols..(b + 1) * rows * cols];
                    let (rv, cv) = (&mut self.r[b * rows..][..rows], &mut self.c[b * cols..][..cols]);
                    for (i, v) in rv.iter_mut().enumerate() {
                        let mean = (0..cols).map(|j| m[i * cols + j].powi(2)).sum::<f64>() / cols as f64;
                        *v += w * (mean - *v);
                    }
                    for (j, v) in cv.iter_mut().enumerate() {
                        let mean = (0..rows).map(|i| m[i * cols + j].powi(2)).sum::<f64>() / rows as f64;
                        *v += w * (mean - *v);
                    }
                    let norm = (rv.iter().sum::<f64>() / rows as f64).max(e1);
                    for i in 0..rows {
                        for j in 0..cols {
                            est[b * rows * cols + i * cols + j] = rv[i] * cv[j] / norm;
                        }
                    }
                }
                est
            }
            _ => {
                for (v, x) in self.r.iter_mut().zip(&g) {
                    *v += w * (x * x - *v);
                }
                self.r.clone()
            }
        };
        let u: Vec<f64> = g.iter().zip(&est).map(|(x, e)| x / e.max(e1 * e1).sqrt()).collect();
        let step = alpha / 1f64.max(Self::rms(&u) / cfg.d);
        for (x, u) in p.iter_mut().zip(&u) {
            *x -= step * u;
        }
    }
}

/// Gradients with exact zeros, a zero row (every `rows`-th block), one large element.
fn grads(n: usize, rng: &mut Rng, zero_row: Option<(usize, usize)>) -> Vec<f32> {
    let mut g: Vec<f32> = (0..n).map(|i| if i % 13 == 5 { 0.0 } else { rng.normal(1.0) }).collect();
    if let Some((start, len)) = zero_row {
        g[start..start + len].fill(0.0);
    }
    if n > 3 {
        g[n / 3] *= 100.0;
    }
    g
}

fn params(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.normal(0.5)).collect()
}

/// Configurations that exercise every hyperparameter.
fn configs() -> Vec<AdafactorConfig> {
    let d = AdafactorConfig::default();
    vec![
        d,
        AdafactorConfig { lr: 0.3, weight_decay: 0.1, maximize: true, ..d },
        AdafactorConfig { beta2_decay: -0.5, eps1: 1e-3, eps2: 0.1, d: 1.5, ..d },
        AdafactorConfig { beta2_decay: 0.0, eps1: 1e-20, ..d },
    ]
}

/// Shapes of every rank and plan: scalars, vectors, one row, one column, lengths that are not
/// multiples of any vector, stacks of small matrices (grouped), matrices cut into row blocks.
const SHAPES: &[&[usize]] = &[
    &[],
    &[1],
    &[37],
    &[1, 45],
    &[45, 1],
    &[5, 7],
    &[3, 5, 7],
    &[2, 3, 4, 5],
    &[2, 70, 33],
    &[1000, 8, 9],
    &[2, 256, 300],
];

#[test]
fn every_rank_matches_the_f64_oracle() {
    let mut worst = 0.0f64;
    for shape in SHAPES {
        let n: usize = shape.iter().product();
        let big = n > 50_000;
        for (ci, cfg) in configs().into_iter().enumerate() {
            if big && ci > 1 {
                continue;
            }
            for isa in Isa::available() {
                let mut rng = Rng(7 + ci as u64);
                let p0 = params(n, &mut rng);
                let mut p = Guarded::new(1 + ci % 3, &p0);
                let mut want: Vec<f64> = p0.iter().map(|&x| x as f64).collect();
                let (mut opt, mut oracle) = (Adafactor::new(cfg, shape).unwrap(), Oracle::new(cfg, shape));
                let cols = shape.last().copied().unwrap_or(1);
                for t in 0..6 {
                    let g = grads(n, &mut rng, (n >= 2 * cols && t % 2 == 0).then_some((cols, cols)));
                    opt.step_with(isa, p.slice_mut(), &g).unwrap();
                    oracle.step(&mut want, &g);
                    for (i, (&got, &w)) in p.slice().iter().zip(&want).enumerate() {
                        let frac = (got as f64 - w).abs() / (1e-5 * w.abs() + 1e-6);
                        assert!(w.is_finite(), "{shape:?} cfg {ci}: the oracle is not finite");
                        assert!(
                            frac <= 1.0,
                            "{shape:?} cfg {ci} on {isa}, step {}, element {i}: got {got:e}, want {w:e}",
                            t + 1
                        );
                        worst = worst.max(frac);
                    }
                }
                assert_eq!(p.guard_damage(), None, "{shape:?} on {isa}: wrote outside the slice");
                assert_eq!(opt.steps(), 6);
            }
        }
    }
    println!("worst {worst:.4} of tolerance (1e-5·|want| + 1e-6)");
}

#[test]
fn bad_hyperparameters_are_errors() {
    let d = AdafactorConfig::default();
    let bad = [
        ("lr", AdafactorConfig { lr: -0.1, ..d }),
        ("lr", AdafactorConfig { lr: f64::NAN, ..d }),
        ("lr", AdafactorConfig { lr: f64::INFINITY, ..d }),
        ("beta2_decay", AdafactorConfig { beta2_decay: 0.1, ..d }),
        ("beta2_decay", AdafactorConfig { beta2_decay: f64::NAN, ..d }),
        ("beta2_decay", AdafactorConfig { beta2_decay: f64::NEG_INFINITY, ..d }),
        ("eps1", AdafactorConfig { eps1: -1e-30, ..d }),
        ("eps1", AdafactorConfig { eps1: f64::NAN, ..d }),
        ("eps2", AdafactorConfig { eps2: -1e-3, ..d }),
        ("eps2", AdafactorConfig { eps2: f64::INFINITY, ..d }),
        ("d", AdafactorConfig { d: 0.999, ..d }),
        ("d", AdafactorConfig { d: f64::NAN, ..d }),
        ("d", AdafactorConfig { d: f64::INFINITY, ..d }),
        ("weight_decay", AdafactorConfig { weight_decay: -1e-4, ..d }),
    ];
    for (name, cfg) in bad {
        for shape in [&[4usize][..], &[3, 4]] {
            match Adafactor::new(cfg, shape) {
                Err(Error::InvalidParameter { name: n, .. }) if n == name => {}
                other => panic!("{name} in {cfg:?}: {other:?}"),
            }
        }
    }
    // PyTorch's bounds, inclusive: beta2_decay = 0, eps = 0, d = 1, lr = 0.
    let edge = AdafactorConfig { lr: 0.0, beta2_decay: 0.0, eps1: 0.0, eps2: 0.0, d: 1.0, ..d };
    assert!(Adafactor::new(edge, &[3, 4]).is_ok());
}

#[test]
fn bad_shapes_are_errors() {
    let d = AdafactorConfig::default();
    assert_eq!(Adafactor::new(d, &[usize::MAX, 2]).unwrap_err(), Error::ShapeOverflow);
    assert_eq!(Adafactor::new(d, &[1 << 32, 1 << 32, 2]).unwrap_err(), Error::ShapeOverflow);
    // Products that fit but whose state cannot be allocated.
    assert!(matches!(Adafactor::new(d, &[1 << 60]), Err(Error::OutOfMemory { .. })));
    assert!(matches!(Adafactor::new(d, &[1 << 40, 1 << 20]), Err(Error::OutOfMemory { .. })));
    // A zero dimension anywhere: an empty tensor, whatever the other dimensions.
    for shape in [&[0usize][..], &[3, 0], &[0, 5], &[usize::MAX, 0], &[1 << 40, 1 << 40, 0]] {
        let mut opt = Adafactor::new(d, shape).unwrap();
        assert_eq!(opt.num_params(), 0);
        for isa in Isa::available() {
            opt.step_with(isa, &mut [], &[]).unwrap();
        }
        assert!(opt.step(&mut [1.0], &[1.0]).is_err());
        assert_eq!(opt.steps(), Isa::available().len() as u64);
    }
    let e = Error::ShapeOverflow.to_string();
    assert!(e.contains("shape") && e.contains("overflows"), "{e}");
}

/// The bits of the parameters and the whole state.
fn snapshot(opt: &Adafactor, p: &[f32]) -> Vec<u32> {
    [p, opt.row_var(), opt.col_var(), opt.variance()].concat().iter().map(|x| x.to_bits()).collect()
}

#[test]
fn bad_lengths_change_nothing() {
    for shape in [&[37usize][..], &[6, 7], &[2, 3, 5]] {
        let n: usize = shape.iter().product();
        for isa in Isa::available() {
            let mut rng = Rng(3);
            let (p0, g1, g2) = (params(n, &mut rng), grads(n, &mut rng, None), grads(n, &mut rng, None));
            let cfg = AdafactorConfig { weight_decay: 0.1, ..Default::default() };
            let (mut a, mut b) = (Adafactor::new(cfg, shape).unwrap(), Adafactor::new(cfg, shape).unwrap());
            let (mut p, mut q) = (p0.clone(), p0.clone());
            a.step_with(isa, &mut p, &g1).unwrap();
            b.step_with(isa, &mut q, &g1).unwrap();
            let before = snapshot(&a, &p);
            let mut longer = p.clone();
            longer.push(1.0);
            let g_longer = [&g1[..], &[1.0]].concat();
            assert!(matches!(a.step_with(isa, &mut longer, &g_longer), Err(Error::LengthMismatch { .. })));
            assert!(a.step_with(isa, &mut longer, &g1).is_err());
            assert!(a.step_with(isa, &mut p, &g1[..n - 1]).is_err());
            assert!(a.step_with(isa, &mut p[..n - 1], &g1[..n - 1]).is_err());
            assert_eq!(snapshot(&a, &p), before, "{shape:?} on {isa}: changed by a failed step");
            assert_eq!(snapshot(&a, &longer[..n]), before);
            assert_eq!(a.steps(), 1);
            a.step_with(isa, &mut p, &g2).unwrap();
            b.step_with(isa, &mut q, &g2).unwrap();
            assert_eq!(snapshot(&a, &p), snapshot(&b, &q), "{shape:?} on {isa}");
        }
    }
}

#[test]
fn zero_gradient_leaves_parameters_unchanged() {
    for shape in [&[37usize][..], &[6, 7], &[2, 3, 5]] {
        let n: usize = shape.iter().product();
        for isa in Isa::available() {
            let p0 = params(n, &mut Rng(1));
            let mut p = p0.clone();
            let mut opt = Adafactor::new(AdafactorConfig::default(), shape).unwrap();
            for _ in 0..3 {
                opt.step_with(isa, &mut p, &vec![0.0; n]).unwrap();
            }
            assert_eq!(p, p0, "{shape:?} on {isa}");
        }
    }
}

#[test]
fn nan_gradient_spreads_through_its_matrix_only() {
    for isa in Isa::available() {
        // Rank 3: matrix 1 of 3 gets a NaN; its norms make all of it NaN, the others stay finite
        // (the clipping ignores a NaN RMS(U), as Python's max does in PyTorch).
        let (shape, n) = ([3usize, 4, 5], 60);
        let mut rng = Rng(11);
        let mut p = params(n, &mut rng);
        let mut g = grads(n, &mut rng, None);
        g[20 + 7] = f32::NAN;
        let mut opt = Adafactor::new(AdafactorConfig::default(), &shape).unwrap();
        opt.step_with(isa, &mut p, &g).unwrap();
        assert!(p[..20].iter().chain(&p[40..]).all(|x| x.is_finite()), "{isa}");
        assert!(p[20..40].iter().all(|x| x.is_nan()), "{isa}");
        // A vector: only the element itself.
        let mut p = params(50, &mut rng);
        let mut g = grads(50, &mut rng, None);
        g[9] = f32::NAN;
        let mut opt = Adafactor::new(AdafactorConfig::default(), &[50]).unwrap();
        opt.step_with(isa, &mut p, &g).unwrap();
        assert!(p[9].is_nan() && opt.variance()[9].is_nan(), "{isa}");
        assert!(p.iter().enumerate().all(|(i, x)| i == 9 || x.is_finite()), "{isa}");
    }
}

/// Shapes of at least two chunks, one per plan: row blocks, stacked matrices grouped, a vector.
#[cfg(feature = "rayon")]
const LARGE: &[&[usize]] = &[&[512, 300], &[2, 256, 300], &[40, 30, 100], &[3, 40000], &[100_003]];

#[cfg(feature = "rayon")]
#[test]
fn one_two_and_three_threads_bitwise_identical() {
    use nnsimd::CHUNK;
    let run = |threads: usize, isa: Isa, shape: &[usize]| {
        let n: usize = shape.iter().product();
        assert!(n >= 2 * CHUNK);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut rng = Rng(5);
            let mut p = params(n, &mut rng);
            let cfg = AdafactorConfig { weight_decay: 0.01, ..Default::default() };
            let mut opt = Adafactor::new(cfg, shape).unwrap();
            for _ in 0..3 {
                opt.step_with(isa, &mut p, &grads(n, &mut rng, None)).unwrap();
            }
            snapshot(&opt, &p)
        })
    };
    for shape in LARGE {
        for isa in Isa::available() {
            let one = run(1, isa, shape);
            for threads in [2, 3] {
                assert!(
                    one == run(threads, isa, shape),
                    "{shape:?} on {isa}: 1 and {threads} threads differ"
                );
            }
        }
    }
}

/// Every ISA against scalar after 5 steps: the sums differ in their lane order and the update
/// in FMA use, so a parameter may differ by a few roundings at the size of the parameters (σ =
/// 0.5 here: a value near 0 got there by steps that cancel, each rounded at that size).
#[test]
fn every_isa_matches_scalar() {
    let shapes: &[&[usize]] = &[&[300], &[33, 70], &[3, 17, 40], &[2, 256, 300]];
    let mut worst = 0.0f64;
    for shape in shapes {
        let n: usize = shape.iter().product();
        let run = |isa: Isa| {
            let mut rng = Rng(9);
            let mut p = params(n, &mut rng);
            let mut opt = Adafactor::new(AdafactorConfig { lr: 0.1, ..Default::default() }, shape).unwrap();
            for _ in 0..5 {
                opt.step_with(isa, &mut p, &grads(n, &mut rng, None)).unwrap();
            }
            p
        };
        let want = run(Isa::Scalar);
        for isa in Isa::available() {
            for (i, (a, b)) in run(isa).iter().zip(&want).enumerate() {
                let bound = 8.0 * f32::EPSILON as f64 * (b.abs() as f64).max(0.5);
                let frac = (a - b).abs() as f64 / bound;
                assert!(frac <= 1.0, "{shape:?} {isa} element {i}: {a:e} vs scalar {b:e}");
                worst = worst.max(frac);
            }
        }
    }
    println!("worst {worst:.4} of the bound");
}
