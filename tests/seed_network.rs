//! The seed network of `examples/seed_network.rs` (the same code, included from
//! `examples/common/seed.rs`) against the hand-worked values of issue 8 and an f64 oracle
//! written from the formulas, on every ISA.

#[path = "../examples/common/seed.rs"]
#[allow(dead_code)]
mod seed;

use nnsimd::{Activation, Isa};

/// The printed values are rounded to 4 decimals: each must round to the hand-worked value.
const PRINTED: f64 = 0.5e-4;

fn close(what: &str, isa: Isa, got: f32, want: f64, tol: f64) {
    assert!((got as f64 - want).abs() <= tol, "{isa}: {what} = {got}, expected {want} ± {tol}");
}

/// The pass in f64 from the formulas, with f and f' given.
fn oracle(f: fn(f64) -> f64, df: fn(f64) -> f64) -> ([f64; 2], [f64; 2], f64, f64, [f64; 2]) {
    let x = seed::X as f64;
    let z = [0.6 * x + 0.1, -0.4 * x + 0.2];
    let h = [f(z[0]), f(z[1])];
    let y = 0.3 * h[0] + 0.3 * h[1];
    let dy = y - 1.0;
    let dz = [0.3 * dy * df(z[0]), 0.3 * dy * df(z[1])];
    (z, h, y, dy, dz)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn check(act: Activation, hand: ([f64; 2], f64, f64, [f64; 2]), exact: ([f64; 2], f64, f64, [f64; 2])) {
    for isa in Isa::available() {
        let s = seed::run_with(isa, act).unwrap();
        let (h, y, dy, dz) = hand;
        for i in 0..2 {
            close("h", isa, s.h[i], h[i], PRINTED);
            close("dL/dz", isa, s.dz[i], dz[i], PRINTED);
        }
        close("y", isa, s.y, y, PRINTED);
        close("dL/dy", isa, s.dy, dy, PRINTED);
        // f32 arithmetic on values of order 1: a few f32 ULP of the f64 oracle.
        let (h, y, dy, dz) = exact;
        for i in 0..2 {
            close("h (f64)", isa, s.h[i], h[i], 1e-6);
            close("dL/dz (f64)", isa, s.dz[i], dz[i], 1e-6);
            close("dL/dw (f64)", isa, s.dw[i], dz[i] * 0.5, 1e-6);
            close("dL/dv (f64)", isa, s.dv[i], dy * h[i], 1e-6);
        }
        close("y (f64)", isa, s.y, y, 1e-6);
        close("dL/dy (f64)", isa, s.dy, dy, 1e-6);
        close("L (f64)", isa, s.loss, 0.5 * dy * dy, 1e-6);
    }
}

#[test]
fn relu_matches_the_worked_example() {
    // ReLU'(0) = 0 (PyTorch): the second unit sits exactly at z = 0.
    let (z, h, y, dy, dz) = oracle(|z| z.max(0.0), |z| if z > 0.0 { 1.0 } else { 0.0 });
    assert_eq!(z[1], 0.0);
    check(Activation::Relu, ([0.4, 0.0], 0.12, -0.88, [-0.264, 0.0]), (h, y, dy, dz));
    assert_eq!(seed::run(Activation::Relu).unwrap().dz[1], 0.0);
}

#[test]
fn sigmoid_matches_the_worked_example() {
    let (_, h, y, dy, dz) = oracle(sigmoid, |z| sigmoid(z) * (1.0 - sigmoid(z)));
    check(Activation::Sigmoid, ([0.5987, 0.5], 0.3296, -0.6704, [-0.0483, -0.0503]), (h, y, dy, dz));
}
