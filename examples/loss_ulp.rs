//! Accuracy sweep of the losses (`nnsimd::loss`): `forward_backward` of every loss on every ISA
//! over random cases, against an f64 reference written here from PyTorch's formulas.
//!
//! ```text
//! cargo run --release --example loss_ulp -- [--isa I,J] [--kernels a,b] [--cases N]
//! ```
//!
//! - `--kernels a,b`: some of `mse`, `l1`, `huber`, `smooth_l1`, `bce`, `bce_with_logits`,
//!   `kl_div`, `cross_entropy`, `nll` (default: all of them, in that order).
//! - `--isa I,J`: only those ISAs (default `Isa::available()`); each case's reference is
//!   computed once for all of them.
//! - `--cases N`: random cases per kernel (default 3000), from fixed seeds (case k of a kernel
//!   is the same on every run and for any `--isa`).
//!
//! Every loss runs with `Reduction::Mean`, on f32. The cases:
//!
//! - Element-wise losses: lengths 1 to 4096 (log-uniform, so short tails are common), a scale s
//!   from 0.1 to 100 (log-uniform) per case. `mse`, `l1`, `huber`, `smooth_l1`: p, t ~ s·N(0, 1),
//!   t = p for 1/16 of the elements; δ = 1 or s·10^±1, β = 0, 1 or s·10^±1. `bce`: p = σ(s·z),
//!   exactly 0 or 1 for 1/16 of the elements; `bce_with_logits`: x = s·z, `pos_weight` 1 or
//!   10^±1. Their targets are σ(2z), or 0 and 1 in half the cases. `kl_div`: p = −|s·z|, t = σ(2z)
//!   (0 for 1/8), or with `log_target` (a quarter of the cases) t = −|s·z|.
//! - `cross_entropy`: 2 to 2048 classes (log-uniform), 1 to 64 rows, logits s·N(0, 1); each row
//!   with probability 1/4 has its target's logit 30·s above max(0, the others), 1/8 another
//!   class's; 1/8 of the rows have the ignored index as target. Each case draws its options: label
//!   smoothing 0.1 (half), class weights in [0.1, 4] (half), the strided class axis
//!   `CrossEntropy::along(C, inner)` with inner 2 to 7 (a quarter), `ignore_index` a class in
//!   range rather than −100 (a quarter). `nll`: log-probabilities −|s·z|, the same rows, weights,
//!   axes and ignored targets.
//!
//! One JSON line per kernel, pass and ISA:
//! `{"kernel":"mse","isa":"avx2","pass":"loss","cases":3000,"checked":3000,"fails":0,"max_ulp":1,"worst_of_bound":0.1234,"worst":"...","ok":true}`
//!
//! - `loss`: the reduced loss, within 2 ULP plus 2^-23·f·Σ|term| of f·Σ term, the f64 sum of the
//!   f64 terms (f the mean's factor, 1/n or 1/Σ w[t]; a term is an element's loss, or a row's;
//!   for `kl_div` without log targets |term| is |t·ln t| + |t·p|, its two parts).
//! - `grad`: each gradient element, within 8 ULP of the f64 derivative (times f), or within an
//!   absolute 2^-23·f·(the magnitude of the parts that cancel): 2(|p| + |t|) for `mse`;
//!   (|p| + |t|)/c for `huber` and `smooth_l1` (c = 1, or β: the quadratic part);
//!   (|p| + |t|)/max(p(1 − p), 10⁻¹²) for `bce`; |l·σ(x)| + |w·t| for `bce_with_logits`
//!   (l = 1 + (w − 1)·t is one part: it is (1 − t) + w·t, a sum of parts ≥ 0); none for `l1`,
//!   `kl_div` and `nll`; for `cross_entropy` the row's weight w = (1 − ε)·w[t] + ε·Σw/C (w[t]
//!   without smoothing), the factor of the row's softmax in its gradient, and 0 in an ignored
//!   row. NaN meets NaN (a mean over no rows).
//!
//! `checked` counts the results compared (one per case for `loss`, one per element for `grad`),
//! `fails` those outside their bound. `max_ulp` is the worst ULP distance (the gradient's: over
//! the elements where the absolute bound is not the wider one, and any element that fails);
//! `worst_of_bound` the largest error divided by its bound (the gradient's: the smaller of ULP/8
//! and error/absolute bound), at most 1 when `ok`; `worst` describes the case that reaches it
//! (inputs, value and reference). A summary goes to stderr. Exit code 1 if any line is not ok,
//! 2 on a usage error.
//!
//! The default run (3000 cases per kernel, every ISA) takes a few seconds in release mode.

use nnsimd::Isa;
use nnsimd::internals::reference::ulp_distance;
use nnsimd::loss::{Bce, BceWithLogits, CrossEntropy, Huber, KlDiv, L1, Mse, Nll, SmoothL1};
use rayon::prelude::*;
use std::process::exit;
use std::time::Instant;

#[path = "common/isas.rs"]
mod isas;
#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

/// The kernels, in report order.
const KERNELS: [&str; 9] =
    ["mse", "l1", "huber", "smooth_l1", "bce", "bce_with_logits", "kl_div", "cross_entropy", "nll"];
/// Cases per kernel by default.
const DEFAULT_CASES: usize = 3000;
/// The gradient's bound in ULP.
const GRAD_ULP: u64 = 8;
/// The reduced loss's bound in ULP, beside its absolute part.
const LOSS_ULP: f64 = 2.0;
/// 2^-23.
const EPS: f64 = 1.0 / (1u64 << 23) as f64;
/// PyTorch's floor of p(1 − p) in `binary_cross_entropy`'s gradient, as the f32 it is compared
/// in.
const BCE_FLOOR: f32 = 1e-12;

fn usage(msg: &str) -> ! {
    eprintln!("loss_ulp: {msg}");
    eprintln!("usage: loss_ulp [--isa I,J] [--kernels a,b] [--cases N]");
    exit(2)
}

// ---------------------------------------------------------------------------------------------
// Checking

/// How far a result may be from its reference.
#[derive(Clone, Copy)]
enum Bound {
    /// `LOSS_ULP` ULP plus this absolute amount.
    Plus(f64),
    /// `GRAD_ULP` ULP, or this absolute amount.
    Or(f64),
}

/// The spacing of the f32 numbers at `want` (rounded to f32).
fn spacing(want: f64) -> f64 {
    let w = (want as f32).abs();
    if w == f32::MAX {
        (w - f32::from_bits(w.to_bits() - 1)) as f64
    } else {
        (f32::from_bits(w.to_bits() + 1) - w) as f64
    }
}

/// What one (kernel, ISA, pass) has seen.
#[derive(Clone, Default)]
struct Stats {
    checked: u64,
    bad: u64,
    max_ulp: u64,
    worst_of_bound: f64,
    worst: String,
}

impl Stats {
    /// Checks one result; `describe` names it (called only if it becomes the worst).
    fn see(&mut self, got: f32, want: f64, bound: Bound, describe: impl FnOnce() -> String) {
        let ulp = ulp_distance(got, want);
        let err = (got as f64 - want).abs();
        let (ratio, allowed, counts) = if !(want.is_finite() && got.is_finite()) {
            let same = (got.is_nan() && want.is_nan()) || got as f64 == want;
            (if same { 0.0 } else { f64::INFINITY }, 0.0, true)
        } else {
            match bound {
                Bound::Plus(abs) => {
                    let allowed = LOSS_ULP * spacing(want) + abs;
                    (err / allowed, allowed, true)
                }
                Bound::Or(abs) => {
                    let by_ulp = ulp as f64 / GRAD_ULP as f64;
                    let by_abs = if err == 0.0 { 0.0 } else { err / abs };
                    let r = by_ulp.min(by_abs);
                    // Where the absolute bound is the wider one, the ULP distance is not the
                    // measure: it counts only if the result fails.
                    let wide = abs > GRAD_ULP as f64 * spacing(want);
                    (r, abs.max(GRAD_ULP as f64 * spacing(want)), !wide || r > 1.0)
                }
            }
        };
        self.checked += 1;
        // A NaN ratio would fail too.
        let within = ratio <= 1.0;
        self.bad += u64::from(!within);
        if counts {
            self.max_ulp = self.max_ulp.max(ulp);
        }
        if ratio > self.worst_of_bound || self.worst.is_empty() {
            self.worst_of_bound = ratio;
            self.worst = format!("{}: got {got:e}, want {want:e}, bound {allowed:.3e}", describe());
        }
    }

    /// Adds a later case's results (the first worst case stays).
    fn merge(&mut self, o: Stats) {
        if o.worst_of_bound > self.worst_of_bound || self.worst.is_empty() {
            (self.worst_of_bound, self.worst) = (o.worst_of_bound, o.worst);
        }
        self.checked += o.checked;
        self.bad += o.bad;
        self.max_ulp = self.max_ulp.max(o.max_ulp);
    }
}

/// A case's reference: the reduced loss and its absolute bound (2^-23·f·Σ|term|), the gradient
/// and each element's absolute bound.
struct Reference {
    loss: f64,
    loss_abs: f64,
    grad: Vec<f64>,
    grad_abs: Vec<f64>,
}

/// One random case of a kernel.
trait Case: Sync {
    fn reference(&self) -> Reference;
    /// The loss and gradient of `forward_backward` on `isa`.
    fn run(&self, isa: Isa) -> (f32, Vec<f32>);
    /// The case's parameters.
    fn describe(&self) -> String;
    /// The inputs of gradient element `i`.
    fn element(&self, i: usize) -> String;
    /// All the inputs, for a small case.
    fn inputs(&self) -> Option<String>;
    /// The number of elements.
    fn len(&self) -> usize;
}

/// The loss and gradient stats of one case on each ISA.
fn check(case: &dyn Case, isas: &[Isa]) -> Vec<[Stats; 2]> {
    let r = case.reference();
    isas.iter()
        .map(|&isa| {
            let (loss, grad) = case.run(isa);
            let (mut ls, mut gs) = (Stats::default(), Stats::default());
            ls.see(loss, r.loss, Bound::Plus(r.loss_abs), || match case.inputs() {
                Some(inputs) => format!("{}, {inputs}, loss", case.describe()),
                None => format!("{}, loss", case.describe()),
            });
            for (i, &g) in grad.iter().enumerate() {
                gs.see(g, r.grad[i], Bound::Or(r.grad_abs[i]), || {
                    format!("{}, {}", case.describe(), case.element(i))
                });
            }
            [ls, gs]
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Random inputs

/// Uniform in `[0, k)`.
fn below(rng: &mut Rng, k: usize) -> usize {
    (rng.next_u64() % k as u64) as usize
}

/// True with probability 1/k.
fn one_in(rng: &mut Rng, k: u64) -> bool {
    rng.next_u64().is_multiple_of(k)
}

/// An integer in `[lo, hi]`, log-uniform.
fn log_uniform(rng: &mut Rng, lo: usize, hi: usize) -> usize {
    let v = rng.uniform((lo as f64).ln(), ((hi + 1) as f64).ln()).exp();
    (v as usize).clamp(lo, hi)
}

/// 10^u with u uniform in `[lo, hi)`.
fn decades(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    10f64.powf(rng.uniform(lo, hi))
}

fn sigmoid(v: f64) -> f64 {
    if v < 0.0 {
        let e = v.exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + (-v).exp())
    }
}

fn sgn(d: f64) -> f64 {
    if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
    }
}

// ---------------------------------------------------------------------------------------------
// Element-wise losses

/// An element-wise loss with its parameter.
#[derive(Clone, Copy, Debug)]
enum Elem {
    Mse,
    L1,
    Huber { delta: f32 },
    SmoothL1 { beta: f32 },
    Bce,
    BceWithLogits { pos_weight: f32 },
    KlDiv { log_target: bool },
}

impl Elem {
    /// The magnitude a term's error is measured against: |term|, but for `kl_div` without log
    /// targets |t·ln t| + |t·p|, PyTorch's two terms xlogy(t, t) and t·p, which cancel where
    /// p ≈ ln t (the crate states its bound so).
    fn magnitude(self, p: f64, t: f64, term: f64) -> f64 {
        match self {
            Elem::KlDiv { log_target: false } if t != 0.0 => (t * t.ln()).abs() + (t * p).abs(),
            _ => term.abs(),
        }
    }

    /// PyTorch's term at (p, t), its derivative in p, and the magnitude of the parts that the
    /// derivative's formula cancels (0 where nothing cancels).
    fn term(self, p: f64, t: f64) -> (f64, f64, f64) {
        match self {
            Elem::Mse => {
                let d = p - t;
                (d * d, 2.0 * d, 2.0 * (p.abs() + t.abs()))
            }
            Elem::L1 => {
                let d = p - t;
                (d.abs(), sgn(d), 0.0)
            }
            // abs_diff < δ ? ½d² : δ·(abs_diff − ½δ); derivative d clamped to [−δ, δ].
            Elem::Huber { delta } => {
                let (c, d) = (delta as f64, p - t);
                let cancel = p.abs() + t.abs();
                if d.abs() < c {
                    (0.5 * d * d, d, cancel)
                } else {
                    (c * (d.abs() - 0.5 * c), c * sgn(d), cancel)
                }
            }
            // abs_diff < β ? ½d²/β : abs_diff − ½β; derivative d/β or sgn(d) (β = 0: l1).
            Elem::SmoothL1 { beta } => {
                let (b, d) = (beta as f64, p - t);
                if d.abs() < b {
                    (0.5 * d * d / b, d / b, (p.abs() + t.abs()) / b)
                } else {
                    let cancel = if b > 0.0 { (p.abs() + t.abs()) / b } else { 0.0 };
                    (d.abs() - 0.5 * b, sgn(d), cancel)
                }
            }
            // (t − 1)·max(log1p(−p), −100) − t·max(log p, −100); derivative
            // (p − t)/max((1 − p)·p, ε).
            Elem::Bce => {
                let (lp, lq) = (p.ln().max(-100.0), (-p).ln_1p().max(-100.0));
                let den = ((1.0 - p) * p).max(BCE_FLOOR as f64);
                ((t - 1.0) * lq - t * lp, (p - t) / den, (p.abs() + t.abs()) / den)
            }
            // (1 − t)·x + l·(log1p(e^−|x|) + max(−x, 0)), l = 1 + (w − 1)·t, written as the sum
            // of its parts that are ≥ 0 (x·(1 − t) above 0, −x·w·t below) so that the f64 value
            // keeps its digits; derivative l·σ(x) − w·t.
            Elem::BceWithLogits { pos_weight } => {
                let (w, x) = (pos_weight as f64, p);
                let l = 1.0 + (w - 1.0) * t;
                let sp = (-x.abs()).exp().ln_1p();
                let lin = if x < 0.0 { -x * w * t } else { x * (1.0 - t) };
                let (ls, wt) = (l * sigmoid(x), w * t);
                (lin + l * sp, ls - wt, ls.abs() + wt.abs())
            }
            // xlogy(t, t) − t·p, or with log targets e^t·(t − p); derivative −t, or −e^t.
            Elem::KlDiv { log_target: true } => {
                let e = t.exp();
                (e * (t - p), -e, 0.0)
            }
            Elem::KlDiv { log_target: false } => {
                let tlt = if t == 0.0 { 0.0 } else { t * t.ln() };
                (tlt - t * p, -t, 0.0)
            }
        }
    }
}

struct ElemCase {
    index: usize,
    k: Elem,
    scale: f64,
    p: Vec<f32>,
    t: Vec<f32>,
}

impl ElemCase {
    fn new(name: &str, index: usize, rng: &mut Rng) -> ElemCase {
        let n = log_uniform(rng, 1, 4096);
        let s = decades(rng, -1.0, 2.0);
        let k = match name {
            "mse" => Elem::Mse,
            "l1" => Elem::L1,
            "huber" => {
                Elem::Huber { delta: if one_in(rng, 4) { 1.0 } else { (s * decades(rng, -1.0, 1.0)) as f32 } }
            }
            "smooth_l1" => Elem::SmoothL1 {
                beta: match below(rng, 8) {
                    0 => 0.0,
                    1 | 2 => 1.0,
                    _ => (s * decades(rng, -1.0, 1.0)) as f32,
                },
            },
            "bce" => Elem::Bce,
            "bce_with_logits" => Elem::BceWithLogits {
                pos_weight: if one_in(rng, 2) { 1.0 } else { decades(rng, -1.0, 1.0) as f32 },
            },
            _ => Elem::KlDiv { log_target: one_in(rng, 4) },
        };
        let binary = one_in(rng, 2);
        let target = |rng: &mut Rng| {
            if binary { (rng.next_u64() & 1) as f32 } else { sigmoid(rng.normal(2.0) as f64) as f32 }
        };
        let (mut p, mut t) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            let (pi, ti) = match k {
                Elem::Mse | Elem::L1 | Elem::Huber { .. } | Elem::SmoothL1 { .. } => {
                    let pi = rng.normal(s);
                    (pi, if one_in(rng, 16) { pi } else { rng.normal(s) })
                }
                Elem::Bce => {
                    let pi = match below(rng, 32) {
                        0 => 0.0,
                        1 => 1.0,
                        _ => sigmoid(rng.normal(s) as f64) as f32,
                    };
                    (pi, target(rng))
                }
                Elem::BceWithLogits { .. } => (rng.normal(s), target(rng)),
                Elem::KlDiv { log_target } => {
                    let pi = -rng.normal(s).abs();
                    let ti = if log_target {
                        -rng.normal(s).abs()
                    } else if one_in(rng, 8) {
                        0.0
                    } else {
                        sigmoid(rng.normal(2.0) as f64) as f32
                    };
                    (pi, ti)
                }
            };
            p.push(pi);
            t.push(ti);
        }
        ElemCase { index, k, scale: s, p, t }
    }
}

impl Case for ElemCase {
    fn reference(&self) -> Reference {
        let n = self.p.len();
        let f = 1.0 / n as f64;
        let (mut sum, mut sum_abs) = (0f64, 0f64);
        let (mut grad, mut grad_abs) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (&p, &t) in self.p.iter().zip(&self.t) {
            let (term, d, cancel) = self.k.term(p as f64, t as f64);
            sum += term;
            sum_abs += self.k.magnitude(p as f64, t as f64, term);
            grad.push(f * d);
            grad_abs.push(EPS * f * cancel);
        }
        Reference { loss: f * sum, loss_abs: EPS * f * sum_abs, grad, grad_abs }
    }

    fn run(&self, isa: Isa) -> (f32, Vec<f32>) {
        let (p, t) = (&self.p[..], &self.t[..]);
        let mut g = vec![0f32; p.len()];
        let loss = match self.k {
            Elem::Mse => Mse::default().forward_backward_with(isa, p, t, &mut g),
            Elem::L1 => L1::default().forward_backward_with(isa, p, t, &mut g),
            Elem::Huber { delta } => {
                Huber { delta, ..Default::default() }.forward_backward_with(isa, p, t, &mut g)
            }
            Elem::SmoothL1 { beta } => {
                SmoothL1 { beta, ..Default::default() }.forward_backward_with(isa, p, t, &mut g)
            }
            Elem::Bce => Bce::default().forward_backward_with(isa, p, t, &mut g),
            Elem::BceWithLogits { pos_weight } => {
                BceWithLogits { pos_weight, ..Default::default() }.forward_backward_with(isa, p, t, &mut g)
            }
            Elem::KlDiv { log_target } => {
                KlDiv { log_target, ..Default::default() }.forward_backward_with(isa, p, t, &mut g)
            }
        }
        .unwrap_or_else(|e| panic!("{}: {e}", self.describe()));
        (loss, g)
    }

    fn describe(&self) -> String {
        format!("case {} {:?}, n = {}, scale {:.4}", self.index, self.k, self.p.len(), self.scale)
    }

    fn element(&self, i: usize) -> String {
        format!("element {i}: p = {:e}, t = {:e}", self.p[i], self.t[i])
    }

    fn inputs(&self) -> Option<String> {
        (self.p.len() <= 4).then(|| format!("p = {:?}, t = {:?}", self.p, self.t))
    }

    fn len(&self) -> usize {
        self.p.len()
    }
}

// ---------------------------------------------------------------------------------------------
// Losses over classes

/// A cross-entropy or NLL case: `[outer, C, inner]` logits (log-probabilities for NLL), one
/// target per row (rows in `[outer, inner]` order).
struct ClassCase {
    index: usize,
    nll: bool,
    classes: usize,
    outer: usize,
    inner: usize,
    smoothing: f32,
    weight: Option<Vec<f32>>,
    ignore: i64,
    scale: f64,
    x: Vec<f32>,
    t: Vec<i64>,
}

impl ClassCase {
    fn new(nll: bool, index: usize, rng: &mut Rng) -> ClassCase {
        let classes = log_uniform(rng, 2, 2048);
        let rows = 1 + below(rng, 64);
        let inner = if one_in(rng, 4) { 2 + below(rng, 6) } else { 1 };
        let outer = (rows / inner).max(1);
        let smoothing = if !nll && one_in(rng, 2) { 0.1 } else { 0.0 };
        let weight = one_in(rng, 2).then(|| (0..classes).map(|_| decades(rng, -1.0, 0.6) as f32).collect());
        let ignore = if one_in(rng, 4) { below(rng, classes) as i64 } else { -100 };
        let s = decades(rng, -1.0, 2.0);
        let mut c = ClassCase {
            index,
            nll,
            classes,
            outer,
            inner,
            smoothing,
            weight,
            ignore,
            scale: s,
            x: vec![0.0; outer * classes * inner],
            t: Vec::with_capacity(outer * inner),
        };
        for r in 0..outer * inner {
            let t = if one_in(rng, 8) { ignore } else { below(rng, classes) as i64 };
            c.t.push(t);
            for k in 0..classes {
                let (v, at) = (rng.normal(s), c.at(r, k));
                c.x[at] = if nll { -v.abs() } else { v };
            }
            // A dominant logit: the target's (1/4), another class's (1/8).
            let keep = match below(rng, 8) {
                0 | 1 if !nll && t != ignore => Some(t as usize),
                2 if !nll => Some(below(rng, classes)),
                _ => None,
            };
            if let Some(keep) = keep {
                let rest =
                    (0..classes).filter(|&k| k != keep).map(|k| c.x[c.at(r, k)]).fold(0.0f32, f32::max);
                let at = c.at(r, keep);
                c.x[at] = rest + 30.0 * s as f32;
            }
        }
        c
    }

    /// The index of class `k` in row `r`.
    fn at(&self, r: usize, k: usize) -> usize {
        ((r / self.inner) * self.classes + k) * self.inner + r % self.inner
    }

    fn w(&self, k: usize) -> f64 {
        self.weight.as_ref().map_or(1.0, |w| w[k] as f64)
    }
}

impl Case for ClassCase {
    /// Cross-entropy per row, p = softmax(x) from m = max x and Σ = Σ e^(x − m) (Σ − 1 from the
    /// count of maxima, ln Σ = log1p(Σ − 1)): (1 − ε)·w[t]·(−log p[t]) + (ε/C)·Σ_c w[c]·(−log
    /// p[c]), gradient A·p[c] − (1 − ε)·w[t]·[c = t] − (ε/C)·w[c] with A = (1 − ε)·w[t] + ε·Σw/C
    /// (the target's entry at the maximum as ((A − c_t) − c_t·(Σ − 1))/Σ). NLL per row −w[t]·x[t],
    /// gradient −w[t] at the target. The mean divides by Σ w[t] over the rows not ignored (PyTorch
    /// divides the smoothing term by the same).
    fn reference(&self) -> Reference {
        let (cl, n) = (self.classes, self.x.len());
        let eps = self.smoothing as f64;
        let wsum: f64 = (0..cl).map(|k| self.w(k)).sum();
        let divisor: f64 = self.t.iter().filter(|&&t| t != self.ignore).map(|&t| self.w(t as usize)).sum();
        let f = 1.0 / divisor;
        let (mut sum, mut sum_abs) = (0f64, 0f64);
        let (mut grad, mut grad_abs) = (vec![0f64; n], vec![0f64; n]);
        for (r, &t) in self.t.iter().enumerate() {
            if t == self.ignore {
                continue;
            }
            let t = t as usize;
            let x = |k: usize| self.x[self.at(r, k)] as f64;
            let wt = self.w(t);
            let term = if self.nll {
                grad[self.at(r, t)] = -wt * f;
                -wt * x(t)
            } else {
                let m = (0..cl).map(x).fold(f64::NEG_INFINITY, f64::max);
                let maxima = (0..cl).filter(|&k| x(k) == m).count() as f64;
                let others: f64 = (0..cl).map(x).filter(|&v| v < m).map(|v| (v - m).exp()).sum();
                let (total, total_m1) = (maxima + others, maxima - 1.0 + others);
                let ln_sum = total_m1.ln_1p();
                let nlp = |k: usize| ln_sum - (x(k) - m);
                let smooth: f64 = if eps > 0.0 { (0..cl).map(|k| self.w(k) * nlp(k)).sum() } else { 0.0 };
                let a = (1.0 - eps) * wt + eps * wsum / cl as f64;
                for k in 0..cl {
                    let b = eps / cl as f64 * self.w(k);
                    let g = if k != t {
                        a * (x(k) - m).exp() / total - b
                    } else if x(t) == m {
                        let ct = (1.0 - eps) * wt + b;
                        ((a - ct) - ct * total_m1) / total
                    } else {
                        a * (x(t) - m).exp() / total - ((1.0 - eps) * wt + b)
                    };
                    grad[self.at(r, k)] = f * g;
                    grad_abs[self.at(r, k)] = EPS * f * a;
                }
                (1.0 - eps) * wt * nlp(t) + eps / cl as f64 * smooth
            };
            sum += term;
            sum_abs += term.abs();
        }
        Reference { loss: f * sum, loss_abs: EPS * f * sum_abs, grad, grad_abs }
    }

    fn run(&self, isa: Isa) -> (f32, Vec<f32>) {
        let mut g = vec![0f32; self.x.len()];
        let (cl, inner) = (self.classes, self.inner);
        let loss = if self.nll {
            let mut l = Nll::along(cl, inner).expect("geometry").ignore_index(self.ignore);
            if let Some(w) = &self.weight {
                l = l.weight(w);
            }
            l.forward_backward_with(isa, &self.x, &self.t, &mut g)
        } else {
            let mut l = CrossEntropy::along(cl, inner)
                .expect("geometry")
                .ignore_index(self.ignore)
                .label_smoothing(self.smoothing);
            if let Some(w) = &self.weight {
                l = l.weight(w);
            }
            l.forward_backward_with(isa, &self.x, &self.t, &mut g)
        }
        .unwrap_or_else(|e| panic!("{}: {e}", self.describe()));
        (loss, g)
    }

    fn describe(&self) -> String {
        let ignored = self.t.iter().filter(|&&t| t == self.ignore).count();
        format!(
            "case {}: C = {}, [{}, C, {}], {} of {} rows ignored (ignore_index {}), smoothing {}, {}, scale {:.4}",
            self.index,
            self.classes,
            self.outer,
            self.inner,
            ignored,
            self.t.len(),
            self.ignore,
            self.smoothing,
            if self.weight.is_some() { "weighted" } else { "no weights" },
            self.scale,
        )
    }

    fn element(&self, i: usize) -> String {
        let (j, k) = (i % self.inner, i / self.inner % self.classes);
        let r = i / (self.classes * self.inner) * self.inner + j;
        let t = self.t[r];
        let max = (0..self.classes).map(|c| self.x[self.at(r, c)]).fold(f32::NEG_INFINITY, f32::max);
        let xt = if t == self.ignore {
            String::from("ignored")
        } else {
            format!("x[t] = {:e}", self.x[self.at(r, t as usize)])
        };
        format!(
            "row {r}, target {t}, class {k}: x = {:e}, {xt}, row max {max:e}, w[t] {}",
            self.x[i],
            if t == self.ignore { 0.0 } else { self.w(t as usize) }
        )
    }

    fn inputs(&self) -> Option<String> {
        let w = self.weight.as_ref().map_or(String::new(), |w| format!(", weight = {w:?}"));
        (self.x.len() <= 16).then(|| format!("x = {:?}, target = {:?}{w}", self.x, self.t))
    }

    fn len(&self) -> usize {
        self.x.len()
    }
}

/// Case `index` of kernel `name` (fixed seed per kernel and case).
fn make_case(name: &str, index: usize) -> Box<dyn Case> {
    let k = KERNELS.iter().position(|&n| n == name).expect("a known kernel") as u64;
    let mut rng = Rng(0x1055_0000_0000_0000 ^ (k << 40) ^ index as u64);
    match name {
        "cross_entropy" => Box::new(ClassCase::new(false, index, &mut rng)),
        "nll" => Box::new(ClassCase::new(true, index, &mut rng)),
        _ => Box::new(ElemCase::new(name, index, &mut rng)),
    }
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let mut args = std::env::args().skip(1);
    let mut isas = Isa::available();
    let mut names: Vec<&str> = KERNELS.to_vec();
    let mut cases = DEFAULT_CASES;
    while let Some(a) = args.next() {
        let mut value = |what: &str| args.next().unwrap_or_else(|| usage(&format!("{a} needs {what}")));
        match a.as_str() {
            "--isa" => {
                let v = value("a list of ISA names");
                isas = isas::parse(&v, &[]).unwrap_or_else(|e| usage(&e));
            }
            "--kernels" => {
                let v = value("a list of names");
                names = Vec::new();
                for n in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let Some(&k) = KERNELS.iter().find(|&&k| k == n) else {
                        usage(&format!("unknown kernel {n} (kernels: {})", KERNELS.join(", ")))
                    };
                    if !names.contains(&k) {
                        names.push(k);
                    }
                }
            }
            "--cases" => {
                cases = value("a number")
                    .parse()
                    .ok()
                    .filter(|&c| c > 0)
                    .unwrap_or_else(|| usage("--cases needs a number > 0"))
            }
            "-h" | "--help" => usage("accuracy of the losses against an f64 reference"),
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    if isas.is_empty() || names.is_empty() {
        usage("nothing to run");
    }

    let t0 = Instant::now();
    let mut all_ok = true;
    for name in names {
        let t1 = Instant::now();
        let per_case: Vec<(usize, Vec<[Stats; 2]>)> = (0..cases)
            .into_par_iter()
            .map(|i| {
                let case = make_case(name, i);
                (case.len(), check(&*case, &isas))
            })
            .collect();
        let elements: usize = per_case.iter().map(|(n, _)| n).sum();
        let mut total: Vec<[Stats; 2]> = vec![Default::default(); isas.len()];
        for (_, stats) in per_case {
            for (t, s) in total.iter_mut().zip(stats) {
                let [l, g] = s;
                t[0].merge(l);
                t[1].merge(g);
            }
        }
        for (p, pass) in ["loss", "grad"].into_iter().enumerate() {
            for (isa, t) in isas.iter().zip(&total) {
                let s = &t[p];
                let ok = s.bad == 0;
                all_ok &= ok;
                let ratio = if s.worst_of_bound.is_finite() {
                    format!("{:.4}", s.worst_of_bound)
                } else {
                    "null".into()
                };
                println!(
                    "{{\"kernel\":\"{name}\",\"isa\":\"{isa}\",\"pass\":\"{pass}\",\"cases\":{cases},\"checked\":{},\"fails\":{},\
                     \"max_ulp\":{},\"worst_of_bound\":{ratio},\"worst\":{},\"ok\":{ok}}}",
                    s.checked,
                    s.bad,
                    s.max_ulp,
                    serde_json::Value::String(s.worst.clone()),
                );
            }
        }
        eprintln!(
            "loss_ulp: {name}: {cases} cases, {elements} elements, {} ISAs, {:.2} s",
            isas.len(),
            t1.elapsed().as_secs_f64()
        );
    }
    eprintln!("loss_ulp: {:.1} s in all", t0.elapsed().as_secs_f64());
    if !all_ok {
        exit(1);
    }
}
