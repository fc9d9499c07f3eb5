//! Every ISA against the scalar backend, one optimizer step at a time (DESIGN.md §8), with an
//! independent f64 oracle for both.
//!
//! Each optimizer first takes a few steps on the scalar backend from random data, so that its
//! state is realistic; that state is exported and imported into a fresh optimizer per ISA, which
//! then takes one step on the same random gradient (parameters and gradients at misaligned
//! offsets). The results — parameters and every state buffer — are compared with the scalar
//! backend's and with the oracle.
//!
//! The oracle is the step's formula in f64, written here in the kernels' order of operations,
//! over numbers that also carry a first-order bound `e` on the rounding error an f32
//! evaluation of that order may make, in units of u = 2^-24 (each rounded operation adds
//! |result|; an operation that may or may not be fused adds the product's rounding too; errors
//! of the operands propagate by the derivatives; per-step scalars are rounded f64 constants).
//! The bounds asserted:
//! - scalar and every ISA lie within `e·u` of the f64 result (first order, so with a margin of
//!   2^-10 relative and 2^-140 absolute): `oracle_fraction` ≤ 1;
//! - every ISA differs from scalar by at most `2·e·u`, and where the element is well
//!   conditioned (e ≤ `WELL_CONDITIONED`·|result|, nothing cancels) by at most `ULP_BOUND` ULP;
//! - Lion is bitwise identical on every ISA (its c and sign(c) are computed without FMA).
//!
//! `--nocapture` prints, per optimizer and ISA, the largest ULP distance to scalar on
//! well-conditioned elements and the largest distance as a fraction of `e·u` on all of them.

#![cfg(feature = "std")]

mod common;

use common::{Rng, ulp32};
use nnsimd::Isa;
use nnsimd::optim::{
    Adadelta, AdadeltaConfig, Adagrad, AdagradConfig, Adam, AdamConfig, AdamWConfig, Adamax, AdamaxConfig,
    Checkpoint, Lion, LionConfig, NAdam, NAdamConfig, Optimizer, RmsProp, RmsPropConfig, Sgd, SgdConfig,
};
use std::ops::{Add, Div, Mul, Neg, Sub};

/// The largest ULP distance between an ISA and scalar on a well-conditioned element.
const ULP_BOUND: u64 = 4;
/// An element is well conditioned when its error bound is at most this many times |result|.
const WELL_CONDITIONED: f64 = 8.0;
/// The unit roundoff of f32.
const U: f64 = 1.0 / (1u64 << 24) as f64;

/// An f64 value with a first-order bound `e` (in units of [`U`]) on the rounding error of
/// computing it in f32; `e` is infinite where a first-order bound means nothing (a square root
/// or a division by a value that its own error could reach).
#[derive(Clone, Copy, Debug)]
struct T {
    v: f64,
    e: f64,
}

impl T {
    /// An exact f32 input.
    fn x(v: f32) -> T {
        T { v: v as f64, e: 0.0 }
    }

    /// An f64 constant rounded once to f32 (a per-step scalar).
    fn k(v: f64) -> T {
        T { v, e: v.abs() }
    }

    /// Whether `self`'s error could change it by a relative 2^-10 or more.
    fn fragile(self) -> bool {
        self.e.is_nan() || self.v.is_nan() || self.e * U > self.v.abs() / 1024.0
    }

    fn sqrt(self) -> T {
        let r = self.v.sqrt();
        if self.e == 0.0 {
            T { v: r, e: r }
        } else if self.fragile() {
            T { v: r, e: f64::INFINITY }
        } else {
            T { v: r, e: self.e / (2.0 * r) + r }
        }
    }

    /// a·b + c, fused or not.
    fn fma(a: T, b: T, c: T) -> T {
        let ab = a.v * b.v;
        let v = ab + c.v;
        T { v, e: a.e * b.v.abs() + b.e * a.v.abs() + ab.abs() + c.e + v.abs() }
    }

    fn abs(self) -> T {
        T { v: self.v.abs(), e: self.e }
    }

    fn max(self, o: T) -> T {
        T { v: self.v.max(o.v), e: self.e.max(o.e) }
    }
}

impl Add for T {
    type Output = T;
    fn add(self, o: T) -> T {
        let v = self.v + o.v;
        T { v, e: self.e + o.e + v.abs() }
    }
}

impl Sub for T {
    type Output = T;
    fn sub(self, o: T) -> T {
        self + -o
    }
}

impl Neg for T {
    type Output = T;
    fn neg(self) -> T {
        T { v: -self.v, e: self.e }
    }
}

impl Mul for T {
    type Output = T;
    fn mul(self, o: T) -> T {
        let v = self.v * o.v;
        T { v, e: self.e * o.v.abs() + o.e * self.v.abs() + v.abs() }
    }
}

impl Div for T {
    type Output = T;
    fn div(self, o: T) -> T {
        let v = self.v / o.v;
        if o.e != 0.0 && o.fragile() {
            return T { v, e: f64::INFINITY };
        }
        T { v, e: self.e / o.v.abs() + o.e * v.abs() / o.v.abs() + v.abs() }
    }
}

/// One step's formula for one element: parameters, gradient, the state in export order, the
/// step number t (from 1) and the exported scalars; returns the new parameter.
type Formula = Box<dyn Fn(T, T, &mut [T], u64, &[f64]) -> T>;

/// g after maximize and an L2 weight decay λ (when λ ≠ 0).
fn grad(maximize: bool, wd: f64, p: T, g: T) -> T {
    let g = if maximize { -g } else { g };
    if wd != 0.0 { T::fma(T::k(wd), p, g) } else { g }
}

/// Lerp m + w·(g − m), PyTorch's form for w < 0.5.
fn lerp(m: T, g: T, w: f64) -> T {
    T::fma(T::k(w), g - m, m)
}

/// β·v + (1 − β)·g².
fn mean_square(v: T, g: T, beta: f64) -> T {
    T::fma(T::k(1.0 - beta), g * g, v * T::k(beta))
}

fn sgd(c: SgdConfig) -> Formula {
    Box::new(move |p, g, st, t, _| {
        let g = grad(c.maximize, c.weight_decay, p, g);
        let d = if c.momentum != 0.0 {
            let b = if t == 1 { g } else { T::fma(T::k(1.0 - c.dampening), g, st[0] * T::k(c.momentum)) };
            st[0] = b;
            if c.nesterov { T::fma(T::k(c.momentum), b, g) } else { b }
        } else {
            g
        };
        T::fma(T::k(-c.lr), d, p)
    })
}

fn adagrad(c: AdagradConfig) -> Formula {
    Box::new(move |p, g, st, t, _| {
        let g = grad(c.maximize, c.weight_decay, p, g);
        st[0] = T::fma(g, g, st[0]);
        let clr = -c.lr / (1.0 + (t - 1) as f64 * c.lr_decay);
        T::fma(T::k(clr), g / (st[0].sqrt() + T::k(c.eps)), p)
    })
}

fn adadelta(c: AdadeltaConfig) -> Formula {
    Box::new(move |p, g, st, _, _| {
        let g = grad(c.maximize, c.weight_decay, p, g);
        let eps = T::k(c.eps);
        st[0] = mean_square(st[0], g, c.rho);
        let delta = ((st[1] + eps) / (st[0] + eps)).sqrt() * g;
        st[1] = mean_square(st[1], delta, c.rho);
        T::fma(T::k(-c.lr), delta, p)
    })
}

fn rmsprop(c: RmsPropConfig) -> Formula {
    Box::new(move |p, g, st, _, _| {
        let g = grad(c.maximize, c.weight_decay, p, g);
        st[0] = mean_square(st[0], g, c.alpha);
        let avg = if c.centered {
            st[1] = lerp(st[1], g, 1.0 - c.alpha);
            (st[0] - st[1] * st[1]).sqrt()
        } else {
            st[0].sqrt()
        };
        let q = g / (avg + T::k(c.eps));
        let d = if c.momentum > 0.0 {
            let last = st.len() - 1;
            st[last] = T::fma(T::k(c.momentum), st[last], q);
            st[last]
        } else {
            q
        };
        T::fma(T::k(-c.lr), d, p)
    })
}

fn adam(c: AdamConfig, decoupled: bool) -> Formula {
    Box::new(move |p, g, st, t, _| {
        let g = if c.maximize { -g } else { g };
        let (p, g) = if decoupled {
            (p * T::k(1.0 - c.lr * c.weight_decay), g)
        } else {
            (p, grad(false, c.weight_decay, p, g))
        };
        st[0] = lerp(st[0], g, 1.0 - c.beta1);
        st[1] = mean_square(st[1], g, c.beta2);
        let vhat = if c.amsgrad {
            st[2] = st[1].max(st[2]);
            st[2]
        } else {
            st[1]
        };
        // m/(√v̂/b + ε) with b = √(1 − β2^t), as the kernel computes it: b·m/(√v̂ + ε·b).
        let (t, b) = (t as f64, (1.0 - c.beta2.powf(t as f64)).sqrt());
        let denom = vhat.sqrt() + T::k(c.eps * b);
        T::fma(T::k(-c.lr * b / (1.0 - c.beta1.powf(t))), st[0] / denom, p)
    })
}

fn adamax(c: AdamaxConfig) -> Formula {
    Box::new(move |p, g, st, t, _| {
        let g = grad(c.maximize, c.weight_decay, p, g);
        st[0] = lerp(st[0], g, 1.0 - c.beta1);
        st[1] = (st[1] * T::k(c.beta2)).max(g.abs() + T::k(c.eps));
        T::fma(T::k(-c.lr / (1.0 - c.beta1.powf(t as f64))), st[0] / st[1], p)
    })
}

fn nadam(c: NAdamConfig) -> Formula {
    Box::new(move |p, g, st, t, scalars| {
        let g = if c.maximize { -g } else { g };
        let (p, g) = if c.decoupled_weight_decay {
            (p * T::k(1.0 - c.lr * c.weight_decay), g)
        } else {
            (p, grad(false, c.weight_decay, p, g))
        };
        let mu_at = |t: u64| c.beta1 * (1.0 - 0.5 * 0.96f64.powf(t as f64 * c.momentum_decay));
        let (mu, mu_next) = (mu_at(t), mu_at(t + 1));
        let product = scalars[0] * mu;
        st[0] = lerp(st[0], g, 1.0 - c.beta1);
        st[1] = mean_square(st[1], g, c.beta2);
        // d = √v/b + ε with b = √(1 − β2^t), as the kernel computes it: b·x/(√v + ε·b).
        let b = (1.0 - c.beta2.powf(t as f64)).sqrt();
        let d = st[1].sqrt() + T::k(c.eps * b);
        let r = T::x(1.0) / d;
        let p = T::fma(T::k(-c.lr * (1.0 - mu) / (1.0 - product) * b), g * r, p);
        T::fma(T::k(-c.lr * mu_next / (1.0 - product * mu_next) * b), st[0] * r, p)
    })
}

/// Lion: c and m in f32 exactly as the kernel (and the paper's reference) round them, so that
/// sign(c) is the reference's; then p·(1 − lr·λ) − lr·sign(c).
fn lion(c: LionConfig) -> Formula {
    Box::new(move |p, g, st, _, _| {
        let g = if c.maximize { -g.v as f32 } else { g.v as f32 };
        let m = st[0].v as f32;
        let cc = m * c.beta1 as f32 + g * (1.0 - c.beta1) as f32;
        st[0] = T::x(m * c.beta2 as f32 + g * (1.0 - c.beta2) as f32);
        let sign = if cc > 0.0 {
            1.0
        } else if cc < 0.0 {
            -1.0
        } else {
            0.0
        };
        let p = if c.weight_decay != 0.0 { p * T::k(1.0 - c.lr * c.weight_decay) } else { p };
        T::fma(T::k(-c.lr), T::x(sign), p)
    })
}

/// Every optimizer in configurations that use all of their state, with their formulas.
fn cases(n: usize) -> Vec<(&'static str, Box<dyn Optimizer>, Formula)> {
    let sgd_m =
        SgdConfig { lr: 0.01, momentum: 0.9, dampening: 0.1, weight_decay: 1e-3, ..Default::default() };
    let sgd_n = SgdConfig { lr: 0.01, momentum: 0.9, nesterov: true, maximize: true, ..Default::default() };
    let ada = AdagradConfig {
        lr_decay: 0.01,
        weight_decay: 0.01,
        initial_accumulator_value: 0.1,
        ..Default::default()
    };
    let delta = AdadeltaConfig { weight_decay: 0.01, ..Default::default() };
    let rms = RmsPropConfig { centered: true, momentum: 0.9, weight_decay: 0.01, ..Default::default() };
    let rms_plain = RmsPropConfig::default();
    let adam_l2 = AdamConfig { weight_decay: 0.01, amsgrad: true, ..Default::default() };
    let adamw = AdamWConfig { maximize: true, ..Default::default() };
    let adamw_as = AdamConfig { maximize: true, weight_decay: 0.01, ..Default::default() };
    let max = AdamaxConfig { weight_decay: 0.01, ..Default::default() };
    let nad = NAdamConfig { weight_decay: 0.01, ..Default::default() };
    let nadw = NAdamConfig { weight_decay: 0.01, decoupled_weight_decay: true, ..Default::default() };
    let li = LionConfig { weight_decay: 0.1, ..Default::default() };
    vec![
        ("sgd", Box::new(Sgd::new(SgdConfig::default(), n).unwrap()), sgd(SgdConfig::default())),
        ("sgd_momentum", Box::new(Sgd::new(sgd_m, n).unwrap()), sgd(sgd_m)),
        ("sgd_nesterov", Box::new(Sgd::new(sgd_n, n).unwrap()), sgd(sgd_n)),
        ("adagrad", Box::new(Adagrad::new(ada, n).unwrap()), adagrad(ada)),
        ("adadelta", Box::new(Adadelta::new(delta, n).unwrap()), adadelta(delta)),
        ("rmsprop", Box::new(RmsProp::new(rms_plain, n).unwrap()), rmsprop(rms_plain)),
        ("rmsprop_centered", Box::new(RmsProp::new(rms, n).unwrap()), rmsprop(rms)),
        ("adam_l2_amsgrad", Box::new(Adam::new(adam_l2, n).unwrap()), adam(adam_l2, false)),
        ("adamw", Box::new(Adam::adamw(adamw, n).unwrap()), adam(adamw_as, true)),
        ("adamax", Box::new(Adamax::new(max, n).unwrap()), adamax(max)),
        ("nadam", Box::new(NAdam::new(nad, n).unwrap()), nadam(nad)),
        ("nadam_decoupled", Box::new(NAdam::new(nadw, n).unwrap()), nadam(nadw)),
        ("lion", Box::new(Lion::new(li, n).unwrap()), lion(li)),
    ]
}

/// N(0, 1) values with exact zeros and an occasional ×100, as in the golden data.
fn data(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| match i % 13 {
            0 => 0.0,
            7 => 100.0 * rng.normal(1.0),
            _ => rng.normal(1.0),
        })
        .collect()
}

/// One step on `isa` from `saved`, parameters at offset 1 and gradients at offset 3 of their
/// buffers; returns the new parameters and the new state.
fn one_step(
    fresh: &mut dyn Optimizer,
    saved: &Checkpoint<'_>,
    isa: Isa,
    p: &[f32],
    g: &[f32],
) -> (Vec<f32>, Vec<Vec<f32>>) {
    fresh.import(saved).unwrap();
    let mut pb = vec![0.0; p.len() + 1];
    pb[1..].copy_from_slice(p);
    let mut gb = vec![0.0; g.len() + 3];
    gb[3..].copy_from_slice(g);
    fresh.step_with(isa, &mut pb[1..], &gb[3..]).unwrap();
    (pb[1..].to_vec(), fresh.export().buffers.iter().map(|(_, b)| b.to_vec()).collect())
}

#[test]
fn every_isa_matches_scalar_within_the_bound() {
    let n = 1003;
    let mut rng = Rng(0x5eed_0f09);
    let mut report = Vec::new();
    // Adafactor's step is not element-wise (its norms span the tensor): tests/adafactor.rs
    // holds its ISAs against each other.
    let listed = cases(1).into_iter().map(|c| c.0).chain(["adafactor"]);
    common::optim::assert_covers("optim_isa cases()", listed);
    for ((name, mut warm, formula), fresh) in cases(n).into_iter().zip(cases(n)) {
        let mut p = data(&mut rng, n);
        for _ in 0..3 {
            warm.step_with(Isa::Scalar, &mut p, &data(&mut rng, n)).unwrap();
        }
        let g = data(&mut rng, n);
        let saved = warm.export();
        let t = saved.steps + 1;
        let scalars: Vec<f64> = saved.scalars.iter().map(|s| s.1).collect();
        // The oracle, element by element: the new parameter first, then the state in order.
        let oracle: Vec<Vec<T>> = (0..n)
            .map(|i| {
                let mut st: Vec<T> = saved.buffers.iter().map(|b| T::x(b.1[i])).collect();
                let q = formula(T::x(p[i]), T::x(g[i]), &mut st, t, &scalars);
                std::iter::once(q).chain(st).collect()
            })
            .collect();
        let mut fresh = fresh.1;
        let (sp, sst) = one_step(&mut *fresh, &saved, Isa::Scalar, &p, &g);
        let flat = |q: &[f32], st: &[Vec<f32>], i: usize| -> Vec<f32> {
            std::iter::once(q[i]).chain(st.iter().map(|b| b[i])).collect()
        };
        for isa in Isa::available() {
            let (ip, ist) = one_step(&mut *fresh, &saved, isa, &p, &g);
            let (mut max_ulp, mut max_frac, mut max_oracle) = (0u64, 0.0f64, 0.0f64);
            let (mut values, mut well) = (0usize, 0usize);
            for (i, want) in oracle.iter().enumerate() {
                let (s, x) = (flat(&sp, &sst, i), flat(&ip, &ist, i));
                for (k, o) in want.iter().enumerate() {
                    let what = if k == 0 { "params".to_string() } else { format!("state {}", k - 1) };
                    if name == "lion" {
                        assert_eq!(x[k].to_bits(), s[k].to_bits(), "lion on {isa}: {what}[{i}] differs");
                    }
                    values += 1;
                    if o.e.is_infinite() {
                        continue;
                    }
                    let tol = o.e * U * (1.0 + 1.0 / 1024.0) + 2f64.powi(-140);
                    let off = (x[k] as f64 - o.v).abs();
                    max_oracle = max_oracle.max(off / tol);
                    assert!(
                        off <= tol,
                        "{name} on {isa}: {what}[{i}] = {:e}, f64 formula {:e}, bound {tol:e}",
                        x[k],
                        o.v
                    );
                    let d = (x[k] as f64 - s[k] as f64).abs();
                    max_frac = max_frac.max(d / (o.e * U).max(f64::MIN_POSITIVE));
                    assert!(d <= 2.0 * tol, "{name} on {isa}: {what}[{i}] {:e} vs scalar {:e}", x[k], s[k]);
                    if o.e <= WELL_CONDITIONED * o.v.abs() {
                        well += 1;
                        let u = ulp32(x[k], s[k]);
                        max_ulp = max_ulp.max(u);
                        assert!(
                            u <= ULP_BOUND,
                            "{name} on {isa}: {what}[{i}] {:e} vs scalar {:e}: {u} ULP",
                            x[k],
                            s[k]
                        );
                    }
                }
            }
            report.push(format!(
                "{name:17} {isa:9} max {max_ulp} ULP from scalar ({well} of {values} values well conditioned), \
                 {max_frac:.3} of e·u from scalar, {max_oracle:.3} of the oracle bound"
            ));
        }
    }
    println!("{}", report.join("\n"));
}
