//! Backward from the saved output y = f(x), on every available ISA.
//!
//! For each activation that has it, x runs over a strided sweep of the f32 line and the specials,
//! y = f(x) comes from the crate's forward on the same ISA, and dx = backward_from_output(y, 1).
//! Two oracles:
//! 1. g(y), the derivative written as a function of y (sigmoid: y(1 − y), tanh: 1 − y², ...),
//!    evaluated in f64 at the f32 y: the kernel must be within `BACKWARD_BOUND` (8 ULP) of it
//!    everywhere. This is the kernel's own accuracy.
//! 2. f'(x) from `nnsimd::internals::reference` (the crate's backward oracle): within `BACKWARD_BOUND` ULP
//!    (and the near-root rule) wherever y carries the information. Where f' is a small
//!    difference of y terms (σ' = y(1 − y) for large x, 1 − y² for large |x|, y + α towards −inf)
//!    the rounding of y is amplified, and no kernel can meet a relative bound from y alone: there
//!    the test allows the first-order propagation of y's actual error, |g'(y)|·|y − f(x)|, on
//!    top of 8 ULP, and counts those inputs. Where y rounds across a kink of g (hard-sigmoid at
//!    x = 3 − 1 ULP, where x + 3 rounds to 6) the input is counted too. Both counts and the worst
//!    ULP against f'(x) are printed (`--nocapture`).
//!
//! Plus: random dy, lengths 0..=300, misaligned slices, in place = out of place, and
//! `NoOutputBackward` for the others.

mod common;

use common::output_derivative as g;
use common::{Guarded, Rng, SPECIALS, isas, oracle_derivative, oracle_forward, show};
use nnsimd::internals::activations;
use nnsimd::internals::reference::{self, BACKWARD_BOUND, ulp_distance};
use nnsimd::{Activation, Error};

/// Activations with backward from the output, at their defaults and other parameters.
fn supported() -> Vec<Activation> {
    let mut v: Vec<Activation> = Activation::all().filter(|a| a.has_backward_from_output()).collect();
    v.extend([
        Activation::Elu { alpha: 0.5 },
        Activation::Celu { alpha: 2.0 },
        Activation::Pelu { a: 1.5, b: 0.7 },
        Activation::LeakyRelu { slope: 0.2 },
        Activation::LeakyRelu { slope: 0.0 },
        Activation::HardTanh { min: -2.0, max: 0.5 },
    ]);
    v
}

/// |g'(y)|, for the propagation of y's rounding (from the registry's oracle side).
fn g_slope(act: &Activation, y: f64) -> f64 {
    activations::output_slope(act, y)
}

/// Which piece of a piecewise g the value y is on (0 for smooth g).
fn piece(act: &Activation, y: f64) -> i32 {
    activations::output_piece(act, y)
}

/// The tests' forward oracle, or for leaky ReLU with slope 0 at −inf (which tests/common has
/// no limit for) the reference at ±1e100, which is 0·x.
fn forward_oracle(act: &Activation, x: f32) -> f64 {
    match act {
        Activation::LeakyRelu { slope } if *slope == 0.0 && x == f32::NEG_INFINITY => 0.0,
        _ => oracle_forward(act, x),
    }
}

/// As [`forward_oracle`], for the derivative (0 for slope 0).
fn derivative_oracle(act: &Activation, x: f32) -> f64 {
    match act {
        Activation::LeakyRelu { slope } if *slope == 0.0 && x == f32::NEG_INFINITY => 0.0,
        _ => oracle_derivative(act, x),
    }
}

fn ulp_of(v: f64) -> f64 {
    let a = (v.abs() as f32).max(f32::from_bits(1));
    (f32::from_bits(a.to_bits() + 1) - a) as f64
}

#[derive(Default)]
struct Stats {
    inputs: usize,
    max_ulp_g: u64,
    max_ulp_x: u64,
    worst_x: f32,
    propagated: usize,
    kink: usize,
    nan_y: usize,
    /// The smallest |x| that needed the propagated allowance.
    from_x: f32,
    fails: Vec<String>,
}

#[test]
fn sweep_against_both_oracles() {
    let mut xs = common::strided(common::sweep_stride());
    xs.extend_from_slice(&SPECIALS);
    let ones = vec![1.0f32; xs.len()];
    let mut all_fails = Vec::new();
    for act in supported() {
        let fx: Vec<f64> = xs.iter().map(|&x| forward_oracle(&act, x)).collect();
        let dfx: Vec<f64> = xs.iter().map(|&x| derivative_oracle(&act, x)).collect();
        for isa in isas() {
            let mut y = vec![0.0f32; xs.len()];
            act.forward_with(isa, &xs, &mut y).unwrap();
            let mut dx = vec![0.0f32; xs.len()];
            act.backward_from_output_with(isa, &y, &ones, &mut dx).unwrap();
            let mut st = Stats { from_x: f32::INFINITY, ..Stats::default() };
            for i in 0..xs.len() {
                st.inputs += 1;
                let (x, yv, got) = (xs[i], y[i] as f64, dx[i]);
                // 1. Against g at the f32 y.
                let want_g = g(&act, yv).expect("g covers every supported activation");
                let u = ulp_distance(got, want_g);
                st.max_ulp_g = st.max_ulp_g.max(u);
                if u > BACKWARD_BOUND && st.fails.len() < 6 {
                    st.fails.push(format!(
                        "x={} y={}: {} vs g(y) {want_g:e} ({u} ULP)",
                        show(x),
                        show(y[i]),
                        show(got)
                    ));
                }
                // 2. Against f'(x).
                let want = dfx[i];
                let ux = ulp_distance(got, want);
                if reference::backward_ok(&act, x, got, want) {
                    if ux > st.max_ulp_x && !reference::near_root(&act, x, want) {
                        (st.max_ulp_x, st.worst_x) = (ux, x);
                    }
                    continue;
                }
                if yv.is_nan() && got.is_nan() {
                    // y is NaN for a number x only where forward is (0·inf for leaky ReLU
                    // with slope 0 at −inf): NaN propagates.
                    st.nan_y += 1;
                    continue;
                }
                if piece(&act, yv) != piece(&act, fx[i]) {
                    st.kink += 1;
                    continue;
                }
                // y's error, with the f64 oracle's own rounding of f(x) (2^-53 relative,
                // which is coarse where f(x) is near ±1 and f' is tiny).
                let dy_err = (yv - fx[i]).abs() + fx[i].abs() * 2f64.powi(-52);
                // First and second order (|g''| ≤ 2 for sigmoid, tanh and softsign).
                let allowed = BACKWARD_BOUND as f64 * ulp_of(want.abs().max(want_g.abs()))
                    + g_slope(&act, yv) * dy_err
                    + dy_err * dy_err;
                if (got as f64 - want).abs() <= allowed {
                    st.propagated += 1;
                    st.from_x = st.from_x.min(x.abs());
                } else if st.fails.len() < 6 {
                    st.fails.push(format!(
                        "x={} y={}: {} vs f'(x) {want:e} ({ux} ULP, allowed {allowed:e})",
                        show(x),
                        show(y[i]),
                        show(got)
                    ));
                }
            }
            println!(
                "{:?} {isa}: {} inputs; vs g(y): max {} ULP; vs f'(x): max {} ULP within the bound (x = {}), \
                 {} inputs (|x| from {:e}) within the propagated error of y only, {} across a kink, {} NaN y",
                act,
                st.inputs,
                st.max_ulp_g,
                st.max_ulp_x,
                show(st.worst_x),
                st.propagated,
                st.from_x,
                st.kink,
                st.nan_y
            );
            if !st.fails.is_empty() {
                all_fails.push(format!("{:?} {isa}: {}", act, st.fails.join("; ")));
            }
        }
    }
    assert!(all_fails.is_empty(), "{}", all_fails.join("\n"));
}

/// Random dy, every length 0..=300, misaligned, in place against out of place.
#[test]
fn lengths_dy_and_in_place() {
    let mut rng = Rng(0x0b7);
    for act in supported() {
        for isa in isas() {
            for n in (0..=300).step_by(7).chain([40_000]) {
                let x: Vec<f32> = (0..n).map(|_| rng.value()).collect();
                let dy: Vec<f32> = (0..n).map(|_| rng.normal(2.0)).collect();
                let mut y = vec![0.0f32; n];
                act.forward_with(isa, &x, &mut y).unwrap();
                let (yg, dyg) = (Guarded::new(1 + n % 13, &y), Guarded::new(1 + n % 11, &dy));
                let mut dx = Guarded::blank(1 + n % 7, n);
                act.backward_from_output_with(isa, yg.slice(), dyg.slice(), dx.slice_mut()).unwrap();
                let mut d2 = Guarded::new(2, &dy);
                act.backward_from_output_inplace_with(isa, yg.slice(), d2.slice_mut()).unwrap();
                assert!(dx.guard_damage().is_none() && d2.guard_damage().is_none(), "{act:?} {isa}: guard");
                for i in 0..n {
                    let (a, b) = (dx.slice()[i], d2.slice()[i]);
                    assert!(
                        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                        "{act:?} {isa}: in place"
                    );
                    // dy·g within 8 ULP of g, then 1 ULP for the product.
                    let w = g(&act, y[i] as f64).unwrap();
                    let exact = dy[i] as f64 * w;
                    let tol = (BACKWARD_BOUND + 1) as f64 * ulp_of(exact) + ulp_of(0.0);
                    assert!(
                        (a.is_nan() && exact.is_nan()) || (a as f64 - exact).abs() <= tol,
                        "{act:?} {isa} y={} dy={}: {} want {exact:e}",
                        show(y[i]),
                        dy[i],
                        show(a)
                    );
                }
            }
        }
    }
}

#[test]
fn the_others_say_no() {
    let y = [0.5f32; 8];
    let sentinel = f32::from_bits(common::GUARD_BITS);
    let mut no: Vec<Activation> = Activation::all().filter(|a| !a.has_backward_from_output()).collect();
    no.push(Activation::LeakyRelu { slope: -0.5 });
    for act in no {
        assert!(act.is_implemented());
        for isa in isas() {
            let mut dx = [sentinel; 8];
            assert_eq!(
                act.backward_from_output_with(isa, &y, &y, &mut dx),
                Err(Error::NoOutputBackward(act.name()))
            );
            let mut dy = [sentinel; 8];
            assert_eq!(
                act.backward_from_output_inplace_with(isa, &y, &mut dy),
                Err(Error::NoOutputBackward(act.name()))
            );
            assert!(dx.iter().chain(&dy).all(|v| v.to_bits() == common::GUARD_BITS));
        }
    }
    // The kernels from the output and the oracle's g(y) are declared apart in the registry:
    // each activation has both or neither.
    for act in Activation::all() {
        assert_eq!(
            act.has_backward_from_output(),
            g(&act, 0.5).is_some(),
            "{}: backward from the output and its oracle g(y) disagree",
            act.name()
        );
    }
    let names: Vec<&str> =
        Activation::all().filter(|a| a.has_backward_from_output()).map(|a| a.name()).collect();
    assert_eq!(
        names,
        [
            "sigmoid",
            "hard_sigmoid",
            "softsign",
            "tanh",
            "hard_tanh",
            "relu",
            "relu6",
            "leaky_relu",
            "elu",
            "celu",
            "pelu",
            "selu",
            "log_sigmoid",
            "hard_sigmoid_affine",
            "selu_scaled"
        ]
    );
}
