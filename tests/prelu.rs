//! PReLU on every available ISA against an oracle written from the definition (He et al., 2015;
//! PyTorch's conventions at x = 0): y = x for x > 0, a_c·x otherwise, with element i in channel
//! (i / inner) % C. The oracle is in tests/common/slope.rs.
//!
//! - Forward and dx are single products: the oracle rounds the exact f64 product to f32 and the
//!   kernel must match it bitwise (0 ULP), NaN for NaN.
//! - The slope gradient Σ dy·x over the channel's x ≤ 0 (NaN x included) is compared with an
//!   exactly summed oracle (f64 products are exact; Neumaier-compensated f64 sum) within
//!   1 ULP of the oracle plus m·2^-44·Σ|dy·x| + m·2^-148 (m elements in the channel): the
//!   double-f32 sum's error is about k·2^-46·Σ|t| after k terms per lane, and products below
//!   2^-126 lose their low part.
//! - The gradient is bitwise the same for 1, 2 and 3 threads.

#![cfg(feature = "std")]

mod common;

use common::slope::{leaky_dx, leaky_forward, prelu_grad, prelu_grad_ok};
use common::{Guarded, Rng, isas, show};
use nnsimd::{Error, Isa, Prelu};

/// Channel layouts (C, inner), covering one slope, channels-last, short and long runs, and
/// periods below and above the forward's pattern buffer (1024) and the gradient's run limit.
const LAYOUTS: [(usize, usize); 12] = [
    (1, 1),
    (1, 7),
    (2, 1),
    (3, 1),
    (3, 5),
    (7, 33),
    (64, 1),
    (5, 300),
    (1500, 1),
    (300, 4),
    (2, 1024),
    (3, 1500),
];

fn slopes_for(rng: &mut Rng, c: usize) -> Vec<f32> {
    (0..c)
        .map(|k| match k % 4 {
            0 => 0.25,
            1 => rng.normal(0.5),
            2 => 0.0,
            _ => -rng.unit() as f32,
        })
        .collect()
}

/// x and dy whose products stay inside f32's range (the oracle's exactness does not need
/// that, but PyTorch's f32 products overflow beyond it, and so do ours).
fn data(rng: &mut Rng, n: usize) -> (Vec<f32>, Vec<f32>) {
    let x = (0..n)
        .map(|_| match rng.next_u64() % 16 {
            0 => 0.0,
            1 => -0.0,
            2 => f32::from_bits(rng.next_u64() as u32 & 0x807f_ffff), // subnormal
            3 => f32::NEG_INFINITY,
            4 => f32::INFINITY,
            _ => rng.normal(3.0),
        })
        .collect();
    let dy = (0..n).map(|_| rng.normal(1.0)).collect();
    (x, dy)
}

fn check(isa: Isa, slopes: &[f32], inner: usize, x: &[f32], dy: &[f32], off: usize) -> Result<(), String> {
    let p = Prelu::new(slopes, inner).unwrap();
    let (c, n) = (slopes.len(), x.len());
    let slope = |i: usize| slopes[(i / inner) % c];
    let tag = format!("{isa} C={c} inner={inner} n={n} off={off}");
    // forward
    let xg = Guarded::new(off, x);
    let mut yg = Guarded::blank(off + 3, n);
    p.forward_with(isa, xg.slice(), yg.slice_mut()).unwrap();
    if yg.guard_damage().is_some() {
        return Err(format!("{tag}: forward wrote outside y"));
    }
    let mut z = Guarded::new(off + 1, x);
    p.forward_inplace_with(isa, z.slice_mut()).unwrap();
    if z.guard_damage().is_some() {
        return Err(format!("{tag}: forward_inplace wrote outside x"));
    }
    for (i, &xi) in x.iter().enumerate() {
        let w = leaky_forward(xi, slope(i));
        for (got, what) in [(yg.slice()[i], "forward"), (z.slice()[i], "forward_inplace")] {
            if got.to_bits() != w.to_bits() && !(got.is_nan() && w.is_nan()) {
                return Err(format!(
                    "{tag}: {what} x[{i}]={} a={}: {} want {}",
                    show(x[i]),
                    slope(i),
                    show(got),
                    show(w)
                ));
            }
        }
    }
    // backward: dx and the slope gradient, out of place and in place
    let dyg = Guarded::new(off + 2, dy);
    let mut dxg = Guarded::blank(off, n);
    let mut ds = Guarded::blank(1, c);
    p.backward_with(isa, xg.slice(), dyg.slice(), dxg.slice_mut(), ds.slice_mut()).unwrap();
    let mut inpl = Guarded::new(off + 5, dy);
    let mut ds2 = Guarded::blank(2, c);
    p.backward_inplace_with(isa, xg.slice(), inpl.slice_mut(), ds2.slice_mut()).unwrap();
    if dxg.guard_damage().is_some() || ds.guard_damage().is_some() || inpl.guard_damage().is_some() {
        return Err(format!("{tag}: backward wrote outside its outputs"));
    }
    for i in 0..n {
        let w = leaky_dx(x[i], slope(i), dy[i]);
        for (got, what) in [(dxg.slice()[i], "dx"), (inpl.slice()[i], "dx in place")] {
            if got.to_bits() != w.to_bits() && !(got.is_nan() && w.is_nan()) {
                return Err(format!(
                    "{tag}: {what} x[{i}]={} dy={} a={}: {} want {}",
                    show(x[i]),
                    dy[i],
                    slope(i),
                    show(got),
                    show(w)
                ));
            }
        }
    }
    let want = prelu_grad(x, dy, c, inner);
    for (k, &want) in want.iter().enumerate() {
        let (a, b) = (ds.slice()[k], ds2.slice()[k]);
        if !prelu_grad_ok(a, want) {
            return Err(format!(
                "{tag}: dslopes[{k}] = {} want {:e} (Σ|t| {:e})",
                show(a),
                want.sum,
                want.abs_sum
            ));
        }
        if a.to_bits() != b.to_bits() && !(a.is_nan() && b.is_nan()) {
            return Err(format!("{tag}: dslopes[{k}] in place {} differs from {}", show(b), show(a)));
        }
    }
    Ok(())
}

#[test]
fn every_layout_and_isa_against_the_oracle() {
    let mut rng = Rng(0x9e1f);
    let mut fails = Vec::new();
    for (c, inner) in LAYOUTS {
        let slopes = slopes_for(&mut rng, c);
        let period = if c == 1 { 1 } else { c * inner };
        // 0 .. 3 periods, and a few longer inputs (several gradient pieces, the rayon split).
        let mut counts: Vec<usize> = vec![0, 1, 2, 3];
        if period <= 300 {
            counts.extend((4..=300 / period).step_by(7));
        }
        counts.push(40_000usize.div_ceil(period));
        for k in counts {
            let (x, dy) = data(&mut rng, k * period);
            for isa in isas() {
                let off = 1 + (rng.next_u64() % 15) as usize;
                if let Err(e) = check(isa, &slopes, inner, &x, &dy, off) {
                    fails.push(e);
                }
            }
        }
    }
    assert!(fails.is_empty(), "{} failures:\n{}", fails.len(), fails.join("\n"));
}

/// One slope: every length 0..=300, misaligned, on every ISA.
#[test]
fn one_slope_every_length() {
    let mut rng = Rng(0x51);
    let mut fails = Vec::new();
    for n in 0..=300 {
        let (x, dy) = data(&mut rng, n);
        for isa in isas() {
            let off = 1 + n % 15;
            for (slopes, inner) in [(vec![0.25f32], 1), (vec![-1.5f32], 4)] {
                if let Err(e) = check(isa, &slopes, inner, &x, &dy, off) {
                    fails.push(e);
                }
            }
        }
    }
    assert!(fails.is_empty(), "{} failures:\n{}", fails.len(), fails.join("\n"));
}

/// Non-finite terms: NaN x poisons its channel's gradient (as PyTorch), an infinite product
/// gives ±inf, +inf x adds nothing, x = 0 with dy = ±inf gives NaN (0·inf, as PyTorch).
#[test]
fn non_finite_terms_in_the_gradient() {
    let slopes = [0.5f32, 0.25, 0.125, 2.0];
    for isa in isas() {
        let p = Prelu::new(&slopes, 3).unwrap();
        // channel 0: a NaN x; 1: -inf x (dy > 0); 2: +inf x only on the positive side; 3: x=0, dy=inf
        let x = [1.0, f32::NAN, -1.0, -2.0, f32::NEG_INFINITY, 5.0, f32::INFINITY, -1.0, 2.0, 0.0, -1.0, 1.0];
        let dy = [1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0, f32::INFINITY, 1.0, 1.0];
        let (mut dx, mut ds) = ([0.0f32; 12], [0.0f32; 4]);
        p.backward_with(isa, &x, &dy, &mut dx, &mut ds).unwrap();
        assert!(ds[0].is_nan(), "{isa}: {ds:?}");
        assert_eq!(ds[1], f32::NEG_INFINITY, "{isa}: {ds:?}");
        assert_eq!(ds[2], -1.0, "{isa}: {ds:?}");
        assert!(ds[3].is_nan(), "{isa}: {ds:?}");
        assert!(dx[1].is_nan() && dx[4] == 0.5 && dx[6] == 1.0 && dx[9] == f32::INFINITY, "{isa}: {dx:?}");
    }
}

/// Regression (found by the fuzz target `prelu_rrelu_diff`): an element with x > 0 adds
/// nothing to its slope's gradient even when dy is ±inf or NaN (PyTorch's
/// `input > 0 ? 0 : input * grad`), where the kernels used to add 0·dy = NaN. One slope, short
/// and long runs; every lane position of the vector bodies and tails.
#[test]
fn positive_x_adds_nothing_whatever_dy() {
    for (c, inner) in [(1usize, 1usize), (3, 6), (2, 100)] {
        let slopes: Vec<f32> = (0..c).map(|k| 0.25 + k as f32).collect();
        let p = Prelu::new(&slopes, inner).unwrap();
        let period = if c == 1 { 1 } else { c * inner };
        let n = period * 300usize.div_ceil(period);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for at in 0..n.min(300) {
                let x: Vec<f32> = (0..n).map(|i| if i == at { 2.5 } else { -1.0 - (i % 5) as f32 }).collect();
                let dy: Vec<f32> = (0..n).map(|i| if i == at { bad } else { 0.5 }).collect();
                let want = prelu_grad(&x, &dy, c, inner);
                for isa in isas() {
                    let (mut dx, mut ds) = (vec![0.0f32; n], vec![0.0f32; c]);
                    p.backward_with(isa, &x, &dy, &mut dx, &mut ds).unwrap();
                    for k in 0..c {
                        assert!(
                            prelu_grad_ok(ds[k], want[k]),
                            "{isa} C={c} inner={inner}: x[{at}] = 2.5, dy = {bad}: dslopes[{k}] = {} want {}",
                            ds[k],
                            want[k].sum
                        );
                    }
                    assert!(dx[at].to_bits() == bad.to_bits() || (bad.is_nan() && dx[at].is_nan()));
                }
            }
        }
    }
}

#[cfg(feature = "rayon")]
#[test]
fn gradient_is_the_same_for_any_thread_count() {
    let mut rng = Rng(0x7e3d);
    for (c, inner, n) in
        [(1, 1, 200_000), (3, 1, 150_000), (16, 4, 131_072), (4, 2048, 4 * 2048 * 9), (1500, 1, 45_000)]
    {
        let slopes = slopes_for(&mut rng, c);
        let (x, dy) = data(&mut rng, n);
        let x: Vec<f32> = x.iter().map(|v| if v.is_finite() { *v } else { -1.0 }).collect();
        let p = Prelu::new(&slopes, inner).unwrap();
        for isa in isas() {
            let mut runs = Vec::new();
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                runs.push(pool.install(|| {
                    let (mut dx, mut ds) = (vec![0.0f32; n], vec![0.0f32; c]);
                    p.backward_with(isa, &x, &dy, &mut dx, &mut ds).unwrap();
                    let mut y = vec![0.0f32; n];
                    p.forward_with(isa, &x, &mut y).unwrap();
                    let bits = |v: &[f32]| v.iter().map(|e| e.to_bits()).collect::<Vec<u32>>();
                    (bits(&ds), bits(&dx), bits(&y))
                }));
            }
            for (t, r) in runs.iter().enumerate().skip(1) {
                assert!(
                    r == &runs[0],
                    "{isa} C={c} inner={inner}: results differ between 1 and {} threads",
                    t + 1
                );
            }
            let want = prelu_grad(&x, &dy, c, inner);
            for (k, &want) in want.iter().enumerate() {
                let got = f32::from_bits(runs[0].0[k]);
                assert!(
                    prelu_grad_ok(got, want),
                    "{isa} C={c} inner={inner}: dslopes[{k}] {got} want {:e}",
                    want.sum
                );
            }
        }
    }
}

/// Terms that are ±inf or NaN decide the slope gradient, as in the exact sum, even where the
/// finite terms' f32 partial sums overflow to the other infinity (a fuzz finding: NaN instead
/// of −inf). Each channel gets 3·10^38 from every element but one, which is −inf (x = −8,
/// dy = f32::MAX) or, in a second run, +inf and −inf in two elements (NaN). Every layout, every
/// position of the infinite terms within a channel's first 70 elements.
#[test]
fn infinite_terms_decide_the_gradient() {
    for isa in isas() {
        for (c, inner) in LAYOUTS {
            let slopes = vec![0.25; c];
            let p = Prelu::new(&slopes, inner).unwrap();
            let n = c * inner * 140usize.div_ceil(inner);
            let per_channel = n / c;
            for at in (0..70.min(per_channel)).step_by(3) {
                for both in [false, true] {
                    let (mut x, mut dy) = (vec![-2e38f32; n], vec![-1.5f32; n]);
                    // Element number `at` of every channel: −8·f32::MAX = −inf; with `both`, the
                    // next one 8·f32::MAX = +inf.
                    let nth = |k: usize| (k / (c * inner)) * inner + k % inner;
                    for i in 0..n {
                        let k = nth(i);
                        if k == at {
                            (x[i], dy[i]) = (-8.0, f32::MAX);
                        } else if both && k == (at + 1) % per_channel {
                            (x[i], dy[i]) = (-8.0, -f32::MAX);
                        }
                    }
                    let (mut dx, mut ds) = (vec![0.0f32; n], vec![0.0f32; c]);
                    p.backward_with(isa, &x, &dy, &mut dx, &mut ds).unwrap();
                    for (k, (&got, want)) in ds.iter().zip(prelu_grad(&x, &dy, c, inner)).enumerate() {
                        let oracle = if both { want.sum.is_nan() } else { want.sum == f64::NEG_INFINITY };
                        assert!(oracle, "the oracle gives {} (both {both})", want.sum);
                        assert!(
                            prelu_grad_ok(got, want),
                            "{isa} C={c} inner={inner} at {at}, both {both}: dslopes[{k}] = {} want {}",
                            show(got),
                            want.sum
                        );
                    }
                }
            }
        }
    }
}

/// Worst gradient error relative to the bound, printed for the report (`--nocapture`).
#[test]
fn gradient_error_report() {
    let mut rng = Rng(0xa11);
    for (c, inner) in [(1usize, 1usize), (64, 1), (8, 4096)] {
        let n = c * inner * (1_000_000 / (c * inner)).max(1);
        let slopes = slopes_for(&mut rng, c);
        let x: Vec<f32> = (0..n).map(|_| rng.normal(3.0)).collect();
        let dy: Vec<f32> = (0..n).map(|_| rng.normal(1.0)).collect();
        let want = prelu_grad(&x, &dy, c, inner);
        let p = Prelu::new(&slopes, inner).unwrap();
        for isa in isas() {
            let (mut dx, mut ds) = (vec![0.0f32; n], vec![0.0f32; c]);
            p.backward_with(isa, &x, &dy, &mut dx, &mut ds).unwrap();
            let worst = (0..c)
                .map(|k| {
                    let w = want[k].sum as f32;
                    let ulps = (common::ordinal(ds[k]) - common::ordinal(w)).unsigned_abs();
                    assert!(prelu_grad_ok(ds[k], want[k]));
                    ulps
                })
                .max()
                .unwrap();
            println!("prelu dslopes C={c} inner={inner} n={n} {isa}: max {worst} ULP from the exact sum");
        }
    }
}

#[test]
fn bad_layouts_are_errors() {
    let nan = [f32::NAN];
    assert!(matches!(Prelu::new(&[], 1), Err(Error::InvalidParameter { name: "slopes", .. })));
    assert!(matches!(Prelu::new(&nan, 1), Err(Error::InvalidParameter { name: "slopes", .. })));
    assert!(matches!(
        Prelu::new(&[1.0, f32::INFINITY], 1),
        Err(Error::InvalidParameter { name: "slopes", .. })
    ));
    assert!(matches!(Prelu::new(&[1.0], 0), Err(Error::InvalidParameter { name: "inner", .. })));
    assert!(matches!(
        Prelu::new(&[1.0, 2.0], usize::MAX),
        Err(Error::InvalidParameter { name: "inner", .. })
    ));
    // One slope takes any length whatever inner is.
    let p = Prelu::new(&[0.5], 7).unwrap();
    let mut y = [0.0f32; 5];
    assert_eq!(p.forward(&[1.0; 5], &mut y), Ok(()));
}
