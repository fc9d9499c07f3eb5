//! RReLU on every available ISA.
//!
//! - The counter-based generator is re-implemented below from its definition (the doc comment
//!   of `nnsimd::activation::unit_at`), in u64 arithmetic, and must give the same u bit for bit
//!   through `unit_at`, `Rrelu::slope_at` and `Rrelu::draw_with` on every ISA, for offsets that
//!   cross a 2^32 boundary and wrap at 2^64.
//! - Its output passes statistical checks with a fixed seed: mean, variance, lag-1 and
//!   cross-seed correlation, χ² over 256 bins, each within 6 standard deviations of the value
//!   for a uniform variable on the 2^-23 grid (a false alarm has probability ~1e-9 per check).
//! - Forward and backward against an oracle with the slopes from the re-implemented generator:
//!   bitwise the single product with the slope as defined (f32 arithmetic), and within
//!   4 ULP (the forward bound) of x·(lower + (upper − lower)·u) computed in f64 when
//!   lower ≥ 0. Stored slopes give the same bits as regenerated ones; evaluation uses the mean.

#![cfg(feature = "std")]

mod common;

use common::slope::{leaky_dx, leaky_forward, rrelu_slope};
use common::{Guarded, Rng, isas, show};
use nnsimd::activation::unit_at;
use nnsimd::{Error, Isa, Rrelu, RreluMode};

// ---------------------------------------------------------------------------------------------
// The generator, from its definition.

/// Step 1: the key words from the seed and the index's high half.
fn def_key(seed: u64, hi: u64) -> (u64, u64) {
    let mut z = seed.wrapping_add(hi.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z & 0xFFFF_FFFF, z >> 32)
}

/// Step 2: the keyed mixer, carried in a u64 and masked.
fn def_hash(c: u64, k0: u64, k1: u64) -> u64 {
    const M: u64 = 0xFFFF_FFFF;
    let mut x = c ^ k0;
    x ^= x >> 16;
    x = (x * 0x7FEB_352D) & M;
    x ^= x >> 15;
    x ^= k1;
    x = (x * 0x846C_A68B) & M;
    x ^ (x >> 16)
}

/// u for (seed, index), as an f64 in [0, 1).
fn def_u(seed: u64, index: u64) -> f64 {
    let (k0, k1) = def_key(seed, index >> 32);
    let h = def_hash(index & 0xFFFF_FFFF, k0, k1);
    (h >> 9) as f64 / (1u64 << 23) as f64
}

const SEEDS: [u64; 4] = [0, 1, 0xDEAD_BEEF_0BAD_F00D, u64::MAX];

/// Indices around 0, a 2^32 boundary and the end of the u64 range.
fn indices() -> Vec<u64> {
    let mut v: Vec<u64> = (0..1000).collect();
    v.extend((1u64 << 32) - 6..(1u64 << 32) + 6);
    v.extend((3u64 << 40) - 3..(3u64 << 40) + 3);
    v.extend(u64::MAX - 6..=u64::MAX);
    v
}

#[test]
fn generator_matches_its_definition() {
    let r = Rrelu::default();
    for seed in SEEDS {
        for k in indices() {
            let u = def_u(seed, k);
            assert_eq!(unit_at(seed, k) as f64, u, "unit_at({seed:#x}, {k:#x})");
            assert_eq!(
                nnsimd::internals::reference::rrelu_unit(seed, k),
                u,
                "reference::rrelu_unit({seed:#x}, {k:#x})"
            );
            let a = rrelu_slope(r.lower(), r.upper(), u);
            assert_eq!(r.slope_at(seed, k).to_bits(), a.to_bits(), "slope_at({seed:#x}, {k:#x})");
        }
    }
}

/// Offsets for the slices: plain, near a 2^32 boundary (crossed by n > 100) and the u64 end
/// (wrapped by n > 50).
const OFFSETS: [u64; 4] = [0, 12_345, (1 << 32) - 100, u64::MAX - 50];

#[test]
fn draws_are_the_definition_on_every_isa() {
    let r = Rrelu::new(0.0, 1.0).unwrap();
    for isa in isas() {
        for seed in [7u64, u64::MAX] {
            for offset in OFFSETS {
                for n in (0..=300).step_by(13).chain([40_000]) {
                    let mut g = Guarded::blank(1 + n % 15, n);
                    r.draw_with(isa, seed, offset, g.slice_mut()).unwrap();
                    assert!(g.guard_damage().is_none(), "{isa}: draw wrote outside its slice");
                    for (i, &a) in g.slice().iter().enumerate() {
                        let want = rrelu_slope(0.0, 1.0, def_u(seed, offset.wrapping_add(i as u64)));
                        assert_eq!(a.to_bits(), want.to_bits(), "{isa} seed {seed} offset {offset:#x} i {i}");
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics of u (fixed seed; bounds of 6 standard deviations).

#[test]
fn draws_look_uniform() {
    let n = 1usize << 20;
    let r = Rrelu::new(0.0, 1.0).unwrap(); // the slope is u itself: 0 + 1·u, exact
    let mut u = vec![0.0f32; n];
    r.draw(42, 0, &mut u).unwrap();
    let mut v = vec![0.0f32; n];
    r.draw(43, 0, &mut v).unwrap();
    let nf = n as f64;
    let m = (1u64 << 23) as f64;
    let mu = (1.0 - 1.0 / m) / 2.0;
    let var = (m * m - 1.0) / (12.0 * m * m);
    let mean: f64 = u.iter().map(|&x| x as f64).sum::<f64>() / nf;
    let s2: f64 = u.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (nf - 1.0);
    let corr = |a: &[f32], b: &[f32]| {
        let (ma, mb) = (
            a.iter().map(|&x| x as f64).sum::<f64>() / a.len() as f64,
            b.iter().map(|&x| x as f64).sum::<f64>() / b.len() as f64,
        );
        let cov: f64 = a.iter().zip(b).map(|(&x, &y)| (x as f64 - ma) * (y as f64 - mb)).sum();
        let (va, vb): (f64, f64) = (
            a.iter().map(|&x| (x as f64 - ma).powi(2)).sum(),
            b.iter().map(|&y| (y as f64 - mb).powi(2)).sum(),
        );
        cov / (va * vb).sqrt()
    };
    let lag1 = corr(&u[..n - 1], &u[1..]);
    let cross = corr(&u, &v);
    let mut bins = [0u64; 256];
    for &x in &u {
        bins[(x * 256.0) as usize] += 1;
    }
    let e = nf / 256.0;
    let chi2: f64 = bins.iter().map(|&o| (o as f64 - e).powi(2) / e).sum();
    println!(
        "u over {n} draws: mean {mean:.6} (want {mu:.6}), variance {s2:.6} (want {var:.6}), \
         lag-1 corr {lag1:.2e}, cross-seed corr {cross:.2e}, chi2(255) {chi2:.1}"
    );
    let z = 6.0;
    assert!((mean - mu).abs() <= z * (var / nf).sqrt(), "mean {mean}");
    // Var(s²) ≈ σ⁴(κ − 1)/n, with the uniform's kurtosis κ = 9/5.
    assert!((s2 - var).abs() <= z * var * (0.8 / nf).sqrt(), "variance {s2}");
    assert!(lag1.abs() <= z / nf.sqrt(), "lag-1 correlation {lag1}");
    assert!(cross.abs() <= z / nf.sqrt(), "cross-seed correlation {cross}");
    let sd = (2.0 * 255.0f64).sqrt();
    assert!((chi2 - 255.0).abs() <= z * sd, "chi2 {chi2}");
}

// ---------------------------------------------------------------------------------------------
// Forward and backward.

/// (lower, upper) pairs: PyTorch's defaults, [0, 1], a point, a large one, and a range with
/// both signs (checked bitwise against the definition only: its f64 error is absolute).
const RANGES: [(f32, f32); 5] = [(0.125, 1.0 / 3.0), (0.0, 1.0), (0.3, 0.3), (2.0, 5.0), (-0.5, 0.5)];

fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Runs every pass and mode on `isa` and checks them; returns the worst ULP distance of the
/// training forward from the f64 oracle (ranges with lower ≥ 0).
fn check(isa: Isa, (lower, upper): (f32, f32), seed: u64, offset: u64, x: &[f32], dy: &[f32]) -> u64 {
    let r = Rrelu::new(lower, upper).unwrap();
    let n = x.len();
    let tag = format!("{isa} [{lower}, {upper}] seed {seed} offset {offset:#x} n {n}");
    let train = RreluMode::Train { seed, offset };
    let u: Vec<f64> = (0..n).map(|i| def_u(seed, offset.wrapping_add(i as u64))).collect();
    let slopes: Vec<f32> = u.iter().map(|&u| rrelu_slope(lower, upper, u)).collect();
    let mean = ((lower as f64 + upper as f64) / 2.0) as f32;
    let xg = Guarded::new(1 + n % 15, x);
    let dyg = Guarded::new(1 + (n + 4) % 15, dy);
    let mut worst = 0;
    for (mode, label) in [(train, "train"), (RreluMode::Stored(&slopes), "stored"), (RreluMode::Eval, "eval")]
    {
        let slope = |i: usize| if label == "eval" { mean } else { slopes[i] };
        let mut y = Guarded::blank(3, n);
        r.forward_with(isa, mode, xg.slice(), y.slice_mut()).unwrap();
        let mut z = Guarded::new(2, x);
        r.forward_inplace_with(isa, mode, z.slice_mut()).unwrap();
        let mut dx = Guarded::blank(5, n);
        r.backward_with(isa, mode, xg.slice(), dyg.slice(), dx.slice_mut()).unwrap();
        let mut dz = Guarded::new(4, dy);
        r.backward_inplace_with(isa, mode, xg.slice(), dz.slice_mut()).unwrap();
        for g in [&y, &z, &dx, &dz] {
            assert!(g.guard_damage().is_none(), "{tag} {label}: wrote outside an output");
        }
        for i in 0..n {
            let a = slope(i);
            let (w, wd) = (leaky_forward(x[i], a), leaky_dx(x[i], a, dy[i]));
            let ok = same(y.slice()[i], w)
                && same(z.slice()[i], w)
                && same(dx.slice()[i], wd)
                && same(dz.slice()[i], wd);
            assert!(
                ok,
                "{tag} {label} i={i} x={} dy={} slope={a}: y {} / in place {} want {}; dx {} / in place {} want {}",
                show(x[i]),
                dy[i],
                show(y.slice()[i]),
                show(z.slice()[i]),
                show(w),
                show(dx.slice()[i]),
                show(dz.slice()[i]),
                show(wd)
            );
            if label == "train" && lower >= 0.0 && x[i].is_finite() && x[i] <= 0.0 {
                let exact = x[i] as f64 * (lower as f64 + (upper as f64 - lower as f64) * u[i]);
                let d = nnsimd::internals::reference::ulp_distance(y.slice()[i], exact);
                assert!(
                    d <= 4,
                    "{tag} i={i} x={}: y {} is {d} ULP from {exact:e}",
                    show(x[i]),
                    show(y.slice()[i])
                );
                worst = worst.max(d);
            }
        }
    }
    worst
}

fn data(rng: &mut Rng, n: usize) -> (Vec<f32>, Vec<f32>) {
    (0..n).map(|_| (rng.value(), rng.normal(1.0))).unzip()
}

#[test]
fn every_length_mode_and_isa_against_the_oracle() {
    let mut rng = Rng(0x44e1);
    let mut worst = 0;
    for n in (0..=300).chain([1000, 40_000]) {
        let (x, dy) = data(&mut rng, n);
        let range = RANGES[n % RANGES.len()];
        let offset = OFFSETS[(n / 5) % OFFSETS.len()];
        for isa in isas() {
            worst = worst.max(check(isa, range, n as u64 * 31, offset, &x, &dy));
        }
    }
    for range in RANGES {
        let (x, dy) = data(&mut rng, 4099);
        for isa in isas() {
            worst = worst.max(check(isa, range, 5, (1 << 32) - 2000, &x, &dy));
        }
    }
    println!("rrelu training forward: worst {worst} ULP from x·(lower + (upper − lower)·u) in f64");
}

#[cfg(feature = "rayon")]
#[test]
fn same_bits_for_any_thread_count() {
    let n = 100_000;
    let mut rng = Rng(0xabc);
    let (x, dy) = data(&mut rng, n);
    let r = Rrelu::default();
    let mode = RreluMode::Train { seed: 99, offset: (1 << 32) - 50_000 };
    for isa in isas() {
        let mut runs = Vec::new();
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            runs.push(pool.install(|| {
                let (mut y, mut dx) = (vec![0.0f32; n], vec![0.0f32; n]);
                r.forward_with(isa, mode, &x, &mut y).unwrap();
                r.backward_with(isa, mode, &x, &dy, &mut dx).unwrap();
                let bits = |v: &[f32]| v.iter().map(|e| e.to_bits()).collect::<Vec<u32>>();
                (bits(&y), bits(&dx))
            }));
        }
        assert!(runs[1] == runs[0] && runs[2] == runs[0], "{isa}: results depend on the thread count");
    }
}

#[test]
fn parameters_are_checked() {
    assert!(Rrelu::new(0.125, 1.0 / 3.0).is_ok());
    assert!(Rrelu::new(0.25, 0.25).is_ok());
    assert_eq!(Rrelu::default(), Rrelu::new(0.125, 1.0 / 3.0).unwrap());
    assert_eq!(Rrelu::default().eval_slope(), ((0.125 + (1.0f32 / 3.0) as f64) / 2.0) as f32);
    for (lower, upper, name) in [
        (0.5, 0.25, "lower"),
        (f32::NAN, 1.0, "lower"),
        (0.0, f32::INFINITY, "upper"),
        (f32::NEG_INFINITY, 0.0, "lower"),
        (-f32::MAX, f32::MAX, "upper"),
    ] {
        match Rrelu::new(lower, upper) {
            Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name, "({lower}, {upper})"),
            other => panic!("({lower}, {upper}) gave {other:?}"),
        }
    }
}
