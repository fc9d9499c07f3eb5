//! The losses over classes of `nnsimd::loss` (`CrossEntropy` over class indices,
//! `SoftCrossEntropy` over probability targets, `Nll` over log-probabilities) on every
//! available ISA, against an f64 oracle written here from PyTorch's formulas; the crate's own
//! output is never the oracle.
//!
//! Oracle, per row x of C classes (f64 from the f32 inputs): m = max x, Σ − 1 = (count of maxima
//! − 1) + Σ_{x_c < m} e^(x_c − m), L = log1p(Σ − 1), −log p_c = L − (x_c − m), p_c = e^(x_c − m)/Σ.
//! - Class index t, weights w (W = Σ w), smoothing ε: loss (1 − ε)·w_t·(−log p_t) +
//!   (ε/C)·Σ_c w_c·(−log p_c); gradient s·(A·p_c − (1 − ε)·w_t·[c = t] − (ε/C)·w_c),
//!   A = (1 − ε)·w_t + ε·W/C, the target's entry as s·((ε/C)·Σ_{c≠t} w_c − A·(Σ − 1)/Σ) where
//!   x_t is the maximum. An ignored row: loss 0, gradient 0.
//! - Probability targets y: q = (1 − ε)·y + ε/C, loss −Σ_c w_c·q_c·log p_c (the terms with
//!   w_c·q_c = 0 left out), gradient s·(p_c·Σ_k w_k·q_k − w_c·q_c).
//! - NLL: loss −w_t·x_t, gradient −s·w_t at t and 0 elsewhere.
//! - A row that is not ignored and holds NaN or +inf, or only −inf: NaN loss and gradient (NLL:
//!   only the target's value matters, its gradient stays −s·w_t).
//!
//! `Sum` adds the rows' losses, `Mean` divides by Σ w_t over the rows not ignored (soft: by the
//! number of rows), `BatchMean(n)` by n; s is that factor, or `dloss` of the row with `None`.
//!
//! Bounds (src/loss): the reduced loss within 2 ULP plus 2^-23·Σ|terms| (the magnitudes of the
//! rows' terms, times the factor); each gradient element within 8 ULP, or within
//! 2^-23·|s|·(A + (ε/C)·w_c) absolute (soft: 2^-23·|s|·(Σ|w_k·q_k| + |w_c·q_c|); the magnitude
//! of the two terms that cancel); each row's loss of `Reduction::None` within 4 ULP, or
//! 2^-23·Σ|its terms| absolute. NaN must meet NaN, an infinity must be met exactly, an ignored
//! row's loss and gradient must be zero.
//!
//! Also: in place (`forward_backward_inplace`) equals out of place bitwise, `forward` equals
//! `forward_backward`'s loss bitwise, nothing is written outside the outputs (guard values
//! around misaligned slices), the results are bitwise the same on 1, 2 and 3 threads, bf16 and
//! f16 equal the f32 kernel on the widened values with the gradient rounded once, and every
//! error leaves the outputs unchanged.

mod common;

use common::classes::{RowWant, U23, row_indices, same, ulp_of};
use common::{Guarded, Rng};
use nnsimd::internals::reference::ulp_distance;
use nnsimd::loss::{CrossEntropy, Nll, Reduction};
use nnsimd::{Error, Isa};
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------
// The losses under test and their options.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Ce,
    Soft,
    Nll,
}

/// The options of a loss over classes, as the builders take them.
#[derive(Clone, Debug)]
struct Opts {
    classes: usize,
    inner: usize,
    weight: Option<Vec<f32>>,
    ignore: i64,
    eps: f32,
}

impl Opts {
    fn plain(classes: usize, inner: usize) -> Opts {
        Opts { classes, inner, weight: None, ignore: -100, eps: 0.0 }
    }

    fn w(&self, k: usize) -> f64 {
        self.weight.as_ref().map_or(1.0, |w| w[k] as f64)
    }

    fn ce(&self, red: Reduction) -> CrossEntropy<'_> {
        let l = CrossEntropy::along(self.classes, self.inner)
            .unwrap()
            .ignore_index(self.ignore)
            .label_smoothing(self.eps)
            .reduction(red);
        match &self.weight {
            Some(w) => l.weight(w),
            None => l,
        }
    }

    fn nll(&self, red: Reduction) -> Nll<'_> {
        let l = Nll::along(self.classes, self.inner).unwrap().ignore_index(self.ignore).reduction(red);
        match &self.weight {
            Some(w) => l.weight(w),
            None => l,
        }
    }
}

/// Runs `$body` with `$l` the loss `$which` of options `$o` and reduction `$red`, and `$t` its
/// targets: `$idx` (class indices) or `$prob` (probabilities, for the soft loss).
macro_rules! with_loss {
    ($which:expr, $o:expr, $red:expr, $idx:expr, $prob:expr, |$l:ident, $t:ident| $body:expr) => {
        match $which {
            Which::Ce => {
                let $l = $o.ce($red);
                let $t = $idx;
                $body
            }
            Which::Soft => {
                let $l = $o.ce($red).soft();
                let $t = $prob;
                $body
            }
            Which::Nll => {
                let $l = $o.nll($red);
                let $t = $idx;
                $body
            }
        }
    };
}

/// A batch: logits (log-probabilities for NLL) `[outer, C, inner]`, class targets `[outer,
/// inner]` (CE, NLL) or probability targets of the logits' shape (soft).
#[derive(Clone, Debug)]
struct Data {
    which: Which,
    o: Opts,
    x: Vec<f32>,
    idx: Vec<i64>,
    prob: Vec<f32>,
}

impl Data {
    fn rows(&self) -> usize {
        self.x.len() / self.o.classes
    }
}

/// Rows of C values laid out as `[outer, C, inner]` (row r = o·inner + j).
fn layout(rows: &[Vec<f32>], classes: usize, inner: usize) -> Vec<f32> {
    let mut x = vec![0f32; rows.len() * classes];
    for (row, idx) in rows.iter().zip(row_indices(x.len(), classes, inner)) {
        for (&v, i) in row.iter().zip(idx) {
            x[i] = v;
        }
    }
    x
}

// ---------------------------------------------------------------------------------------------
// The f64 oracle.

/// A row's log-softmax in f64: −log p, p, Σ − 1 and the maximum.
struct LogSm {
    nl: Vec<f64>,
    p: Vec<f64>,
    s1: f64,
    m: f64,
}

/// `None` for a row with NaN or +inf, or only −inf.
fn log_softmax(x: &[f32]) -> Option<LogSm> {
    if x.iter().any(|v| v.is_nan() || *v == f32::INFINITY) || x.iter().all(|&v| v == f32::NEG_INFINITY) {
        return None;
    }
    let m = x.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v as f64));
    let top = x.iter().filter(|&&v| v as f64 == m).count() as f64;
    let others: f64 = x.iter().filter(|&&v| (v as f64) < m).map(|&v| (v as f64 - m).exp()).sum();
    let s1 = (top - 1.0) + others;
    let l = s1.ln_1p();
    let nl = x.iter().map(|&v| l - (v as f64 - m)).collect();
    let p = x.iter().map(|&v| (v as f64 - m).exp() / (1.0 + s1)).collect();
    Some(LogSm { nl, p, s1, m })
}

/// Cross-entropy of one row against class `t`.
fn ce_row(o: &Opts, x: &[f32], t: i64) -> RowWant {
    let c = x.len();
    if t == o.ignore {
        return RowWant::ignored(c);
    }
    let Some(ls) = log_softmax(x) else { return RowWant::nan(c) };
    let t = t as usize;
    let (eps, cf) = (o.eps as f64, c as f64);
    let w: Vec<f64> = (0..c).map(|k| o.w(k)).collect();
    let wsum: f64 = w.iter().sum();
    let hard = (1.0 - eps) * w[t] * ls.nl[t];
    let (mut loss, mut mag) = (hard, hard.abs());
    if eps > 0.0 {
        let smooth: f64 = w.iter().zip(&ls.nl).map(|(w, l)| w * l).sum();
        let smag: f64 = w.iter().zip(&ls.nl).map(|(w, l)| (w * l).abs()).sum();
        loss += eps / cf * smooth;
        mag += eps / cf * smag;
    }
    let a = (1.0 - eps) * w[t] + eps * wsum / cf;
    let mut g: Vec<f64> = (0..c).map(|k| a * ls.p[k] - eps / cf * w[k]).collect();
    g[t] = if x[t] as f64 == ls.m {
        // p_t − 1 = −(Σ − 1)/Σ, and A − (1 − ε)·w_t − (ε/C)·w_t = (ε/C)·Σ_{c≠t} w_c.
        let rest: f64 = w.iter().enumerate().filter(|&(k, _)| k != t).map(|(_, w)| w).sum();
        eps / cf * rest - a * ls.s1 / (1.0 + ls.s1)
    } else {
        a * ls.p[t] - (1.0 - eps) * w[t] - eps / cf * w[t]
    };
    let gm = w.iter().map(|w| a + eps / cf * w).collect();
    RowWant { ignored: false, loss, mag, g, gm }
}

/// Cross-entropy of one row against the probabilities `y`.
fn soft_row(o: &Opts, x: &[f32], y: &[f32]) -> RowWant {
    let c = x.len();
    let Some(ls) = log_softmax(x) else { return RowWant::nan(c) };
    let (eps, cf) = (o.eps as f64, c as f64);
    let wq: Vec<f64> = (0..c).map(|k| o.w(k) * ((1.0 - eps) * y[k] as f64 + eps / cf)).collect();
    let (mut loss, mut mag) = (0.0, 0.0);
    for (q, l) in wq.iter().zip(&ls.nl) {
        if *q != 0.0 {
            loss += q * l;
            mag += (q * l).abs();
        }
    }
    let qsum: f64 = wq.iter().sum();
    let qabs: f64 = wq.iter().map(|q| q.abs()).sum();
    let g = wq.iter().zip(&ls.p).map(|(q, p)| p * qsum - q).collect();
    let gm = wq.iter().map(|q| qabs + q.abs()).collect();
    RowWant { ignored: false, loss, mag, g, gm }
}

/// NLL of one row of log-probabilities against class `t`.
fn nll_row(o: &Opts, x: &[f32], t: i64) -> RowWant {
    let c = x.len();
    if t == o.ignore {
        return RowWant::ignored(c);
    }
    let t = t as usize;
    let w = o.w(t);
    let mut want = RowWant::ignored(c);
    want.ignored = false;
    want.loss = -w * x[t] as f64;
    want.mag = want.loss.abs();
    want.g[t] = -w;
    want.gm[t] = w.abs();
    want
}

/// Every row's expected results, and the mean's divisor.
fn oracle(d: &Data) -> (Vec<RowWant>, f64) {
    let rows = row_indices(d.x.len(), d.o.classes, d.o.inner);
    let wants = rows
        .iter()
        .enumerate()
        .map(|(r, ix)| {
            let x: Vec<f32> = ix.iter().map(|&i| d.x[i]).collect();
            match d.which {
                Which::Ce => ce_row(&d.o, &x, d.idx[r]),
                Which::Soft => soft_row(&d.o, &x, &ix.iter().map(|&i| d.prob[i]).collect::<Vec<_>>()),
                Which::Nll => nll_row(&d.o, &x, d.idx[r]),
            }
        })
        .collect();
    let divisor = match d.which {
        Which::Soft => rows.len() as f64,
        _ => d.idx.iter().filter(|&&t| t != d.o.ignore).map(|&t| d.o.w(t as usize)).sum(),
    };
    (wants, divisor)
}

/// The factor that turns the sum of the rows' losses into the reduced loss.
fn factor(red: Reduction, divisor: f64) -> f64 {
    match red {
        Reduction::None | Reduction::Sum => 1.0,
        Reduction::Mean => 1.0 / divisor,
        Reduction::BatchMean(n) => 1.0 / n as f64,
    }
}

// ---------------------------------------------------------------------------------------------
// Checks and their summary.

/// Per kind of result: how many, the worst ULP distance among those the ULP rule accepts (and
/// where), how many only the absolute bound accepts and the worst error / bound among them.
#[derive(Default)]
struct Stat {
    n: usize,
    max_ulp: u64,
    worst_ulp: String,
    abs_only: usize,
    max_ratio: f64,
    worst_ratio: String,
}

#[derive(Default)]
struct Tally {
    stats: BTreeMap<&'static str, Stat>,
    fails: Vec<String>,
}

impl Tally {
    /// `got` against `want`: within `ulps` ULP, or within `abs`. NaN must meet NaN, an infinity
    /// (either side) must be met exactly.
    fn check(
        &mut self,
        key: &'static str,
        ctx: &dyn Fn() -> String,
        got: f32,
        want: f64,
        ulps: u64,
        abs: f64,
    ) {
        let st = self.stats.entry(key).or_default();
        st.n += 1;
        if want.is_nan() || got.is_nan() {
            if !(want.is_nan() && got.is_nan()) {
                self.fails.push(format!("{key}: got {got:e}, want {want:e}: {}", ctx()));
            }
            return;
        }
        let u = ulp_distance(got, want);
        let err = (got as f64 - want).abs();
        if u <= ulps {
            if u > st.max_ulp {
                st.max_ulp = u;
                st.worst_ulp = format!("got {got:e} want {want:e}: {}", ctx());
            }
        } else if err <= abs {
            st.abs_only += 1;
            let ratio = err / abs;
            if ratio > st.max_ratio {
                st.max_ratio = ratio;
                st.worst_ratio = format!("got {got:e} want {want:e} ({u} ULP, bound {abs:e}): {}", ctx());
            }
        } else {
            self.fails.push(format!(
                "{key}: got {got:e}, want {want:e} ({u} ULP, error {err:e} > {abs:e}): {}",
                ctx()
            ));
        }
    }

    fn fail(&mut self, msg: String) {
        self.fails.push(msg);
    }

    /// Prints the summary, and fails with the first failures.
    fn finish(self, test: &str) {
        for (key, s) in &self.stats {
            println!(
                "{test}: {key}: {} results, max {} ULP ({}); {} within the absolute bound only, worst {:.3} of it ({})",
                s.n, s.max_ulp, s.worst_ulp, s.abs_only, s.max_ratio, s.worst_ratio
            );
        }
        let n = self.fails.len();
        let shown: Vec<&str> = self.fails.iter().take(40).map(String::as_str).collect();
        assert!(n == 0, "{test}: {n} failures, first ones:\n{}", shown.join("\n"));
    }
}

/// The summary keys: reduced loss, per-row loss, gradient.
fn keys(which: Which) -> [&'static str; 3] {
    match which {
        Which::Ce => ["ce reduced loss", "ce row loss", "ce grad"],
        Which::Soft => ["soft reduced loss", "soft row loss", "soft grad"],
        Which::Nll => ["nll reduced loss", "nll row loss", "nll grad"],
    }
}

/// Checks a gradient laid out as the logits against the rows' expected gradients times
/// `scale(row)`.
fn check_grad(
    tally: &mut Tally,
    d: &Data,
    what: &str,
    wants: &[RowWant],
    scale: &dyn Fn(usize) -> f64,
    got: &[f32],
) {
    let key = keys(d.which)[2];
    for (r, (ix, w)) in row_indices(d.x.len(), d.o.classes, d.o.inner).iter().zip(wants).enumerate() {
        let s = scale(r);
        for (k, &i) in ix.iter().enumerate() {
            let ctx = || {
                let t = d.idx.get(r).map_or(String::new(), |t| format!(" target {t}"));
                let y = d.prob.get(i).map_or(String::new(), |y| format!(" y {y:e}"));
                format!("{what} row {r} class {k} x {:e}{t}{y} scale {s:e}", d.x[i])
            };
            if w.ignored {
                tally.check(key, &ctx, got[i], 0.0, 0, 0.0);
            } else {
                tally.check(key, &ctx, got[i], s * w.g[k], 8, U23 * s.abs() * w.gm[k]);
            }
        }
    }
}

fn same_all(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&a, &b)| same(a, b))
}

/// `v` after `off` leading zeros.
fn padded<T: Copy + Default>(v: &[T], off: usize) -> Vec<T> {
    let mut out = vec![T::default(); off];
    out.extend_from_slice(v);
    out
}

/// Runs every method of `d`'s loss on `isa` with the inputs and outputs `off` elements into
/// larger buffers, and checks them against the oracle: `Sum`, `Mean` and a `BatchMean` through
/// `forward` and `forward_backward` (and in place for CE), then `None` with random upstream
/// gradients through `forward_none` and `forward_backward_none`.
fn check_all(isa: Isa, d: &Data, off: usize, rng: &mut Rng, tally: &mut Tally) {
    let o = &d.o;
    let what = format!(
        "{isa} {:?} C {} inner {} rows {} eps {} ignore {} weights {} off {off}",
        d.which,
        o.classes,
        o.inner,
        d.rows(),
        o.eps,
        o.ignore,
        o.weight.is_some()
    );
    let (wants, divisor) = oracle(d);
    let [k_red, k_row, _] = keys(d.which);
    let (n, rows) = (d.x.len(), d.rows());
    let xb = padded(&d.x, off);
    let xs = &xb[off..];
    let tb = padded(&d.idx, off);
    let ts = &tb[off..];
    let pb = padded(&d.prob, off);
    let ps = &pb[off..];
    let batch = 1 + (rng.next_u64() % 7) as usize;
    for red in [Reduction::Sum, Reduction::Mean, Reduction::BatchMean(batch)] {
        let what = format!("{what} {red:?}");
        let f = factor(red, divisor);
        let lf = with_loss!(d.which, o, red, ts, ps, |l, t| l.forward_with(isa, xs, t)).unwrap();
        let mut g = Guarded::blank(off, n);
        let lfb =
            with_loss!(d.which, o, red, ts, ps, |l, t| l.forward_backward_with(isa, xs, t, g.slice_mut()))
                .unwrap();
        if let Some(i) = g.guard_damage() {
            tally.fail(format!("{what}: forward_backward wrote outside grad at {i}"));
        }
        if !same(lf, lfb) {
            tally.fail(format!("{what}: forward {lf:e} differs from forward_backward's loss {lfb:e}"));
        }
        let sum: f64 = wants.iter().map(|w| w.loss).sum();
        let mag: f64 = wants.iter().map(|w| w.mag).sum();
        let (want, mag) = (sum * f, mag * f.abs());
        tally.check(k_red, &|| what.clone(), lfb, want, 2, 2.0 * ulp_of(want) + U23 * mag);
        check_grad(tally, d, &what, &wants, &|_| f, g.slice());
        if d.which == Which::Ce {
            let mut xi = Guarded::new(off, &d.x);
            let li = o.ce(red).forward_backward_inplace_with(isa, xi.slice_mut(), ts).unwrap();
            if xi.guard_damage().is_some() || !same(li, lfb) || !same_all(xi.slice(), g.slice()) {
                tally.fail(format!("{what}: forward_backward_inplace differs from forward_backward"));
            }
        }
    }
    let what = format!("{what} None");
    let dloss: Vec<f32> =
        (0..rows).map(|_| if rng.next_u64().is_multiple_of(8) { 0.0 } else { rng.normal(1.5) }).collect();
    let db = padded(&dloss, off);
    let ds = &db[off..];
    let mut loss = Guarded::blank(off, rows);
    with_loss!(d.which, o, Reduction::None, ts, ps, |l, t| l.forward_none_with(isa, xs, t, loss.slice_mut()))
        .unwrap();
    let (mut loss2, mut g) = (Guarded::blank(off, rows), Guarded::blank(off, n));
    with_loss!(d.which, o, Reduction::None, ts, ps, |l, t| l.forward_backward_none_with(
        isa,
        xs,
        t,
        ds,
        loss2.slice_mut(),
        g.slice_mut()
    ))
    .unwrap();
    if loss.guard_damage().is_some() || loss2.guard_damage().is_some() || g.guard_damage().is_some() {
        tally.fail(format!("{what}: wrote outside its outputs"));
    }
    if !same_all(loss.slice(), loss2.slice()) {
        tally.fail(format!("{what}: forward_none and forward_backward_none differ"));
    }
    for (r, w) in wants.iter().enumerate() {
        let ctx = || format!("{what} row {r} target {:?}", d.idx.get(r));
        if w.ignored {
            tally.check(k_row, &ctx, loss.slice()[r], 0.0, 0, 0.0);
        } else {
            tally.check(k_row, &ctx, loss.slice()[r], w.loss, 4, U23 * w.mag);
        }
    }
    check_grad(tally, d, &what, &wants, &|r| dloss[r] as f64, g.slice());
}

// ---------------------------------------------------------------------------------------------
// Inputs.

fn pick(rng: &mut Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// Random options over `classes`: weights or not, the ignored index −100, a class, or past the
/// classes, and smoothing 0, 0.1 or 1.
fn random_opts(rng: &mut Rng, classes: usize, inner: usize) -> Opts {
    let weight = rng
        .next_u64()
        .is_multiple_of(2)
        .then(|| (0..classes).map(|_| rng.uniform(0.05, 3.0) as f32).collect());
    let ignore = match rng.next_u64() % 3 {
        0 => -100,
        1 => pick(rng, classes) as i64,
        _ => classes as i64 + 5,
    };
    let eps = [0.0, 0.1, 1.0][pick(rng, 3)];
    Opts { classes, inner, weight, ignore, eps }
}

/// A row of `c` logits around the target `t`: scale·N(0, 1), now and then with a −inf (where
/// `neg_inf`, never at the target), the target or another class dominant by a gap of 3 to 120,
/// or the target tied at the maximum.
fn logit_row(rng: &mut Rng, c: usize, t: usize, scale: f64, neg_inf: bool) -> Vec<f32> {
    let mut v: Vec<f32> = (0..c).map(|_| rng.normal(scale)).collect();
    if c > 1 {
        let other = (t + 1 + pick(rng, c - 1)) % c;
        let max = v.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let gap = [3.0, 17.0, 40.0, 100.0, 120.0][pick(rng, 5)];
        match rng.next_u64() % 8 {
            0 if neg_inf => v[other] = f32::NEG_INFINITY,
            1 | 2 => v[t] = max + gap,
            3 => v[other] = max + gap,
            4 => (v[t], v[other]) = (max, max),
            _ => {}
        }
    }
    v
}

/// A row of probability targets: one-hot, sparse, normalized, or not normalized.
fn prob_row(rng: &mut Rng, c: usize) -> Vec<f32> {
    let kind = rng.next_u64() % 4;
    let mut y: Vec<f64> = (0..c).map(|_| rng.unit()).collect();
    match kind {
        0 => {
            let t = pick(rng, c);
            y.iter_mut().enumerate().for_each(|(k, v)| *v = if k == t { 1.0 } else { 0.0 });
        }
        1 => y.iter_mut().for_each(|v| *v = if *v < 0.5 { 0.0 } else { *v }),
        _ => {}
    }
    let s: f64 = y.iter().sum();
    if kind != 3 && s > 0.0 {
        y.iter_mut().for_each(|v| *v /= s);
    }
    y.into_iter().map(|v| v as f32).collect()
}

/// A batch of `rows` rows of `which` with options `o`: a fraction `p_ignore` of the targets
/// ignored, logits at `scale`, −inf logits away from the target where `neg_inf` (and ε = 0).
fn batch(
    rng: &mut Rng,
    which: Which,
    o: Opts,
    rows: usize,
    scale: f64,
    p_ignore: f64,
    neg_inf: bool,
) -> Data {
    let c = o.classes;
    let mut idx = Vec::new();
    let mut xr = Vec::new();
    let mut pr = Vec::new();
    for _ in 0..rows {
        let t = pick(rng, c);
        let neg_inf = neg_inf && (o.eps == 0.0 || which == Which::Nll) && which != Which::Soft;
        xr.push(logit_row(rng, c, t, scale, neg_inf));
        if which == Which::Soft {
            pr.push(prob_row(rng, c));
        } else {
            idx.push(if rng.unit() < p_ignore { o.ignore } else { t as i64 });
        }
    }
    let x = layout(&xr, c, o.inner);
    let prob = if which == Which::Soft { layout(&pr, c, o.inner) } else { vec![] };
    Data { which, o, x, idx, prob }
}

/// The fraction of ignored targets: mostly 0.3, sometimes none, now and then all.
fn p_ignore(rng: &mut Rng) -> f64 {
    [0.3, 0.3, 0.3, 0.0, 0.0, 1.0][pick(rng, 6)]
}

const SCALES: [f64; 5] = [1e-3, 0.1, 1.0, 10.0, 100.0];

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn every_class_count_on_every_isa() {
    let mut tally = Tally::default();
    let mut rng = Rng(0x5eed_c1a5);
    let step = if common::qemu() { 7 } else { 1 };
    for isa in common::checked_isas() {
        for c in (1..=70).step_by(step) {
            for (k, which) in [Which::Ce, Which::Ce, Which::Soft, Which::Nll].into_iter().enumerate() {
                let rows = [1, 2, 5, 13][(c + k) % 4];
                let o = random_opts(&mut rng, c, 1);
                let (scale, p) = (SCALES[pick(&mut rng, 5)], p_ignore(&mut rng));
                let d = batch(&mut rng, which, o, rows, scale, p, true);
                check_all(isa, &d, (c + k) % 4, &mut rng, &mut tally);
            }
        }
    }
    tally.finish("every_class_count_on_every_isa");
}

#[test]
fn large_class_counts_on_every_isa() {
    let mut tally = Tally::default();
    let mut rng = Rng(0x1a26e);
    for isa in common::checked_isas() {
        // Under qemu (NNSIMD_QEMU), one row of 32000.
        let sizes: &[(usize, usize)] =
            if common::qemu() { &[(1000, 2), (32000, 1)] } else { &[(1000, 5), (4097, 2), (32000, 3)] };
        for &(c, rows) in sizes {
            for which in [Which::Ce, Which::Ce, Which::Soft, Which::Nll] {
                let o = random_opts(&mut rng, c, 1);
                let scale = SCALES[1 + pick(&mut rng, 4)];
                let d = batch(&mut rng, which, o, rows, scale, 0.3, true);
                check_all(isa, &d, 1 + pick(&mut rng, 3), &mut rng, &mut tally);
            }
        }
    }
    tally.finish("large_class_counts_on_every_isa");
}

/// `along(C, inner)`: the class axis with a stride.
#[test]
fn strided_class_axis_on_every_isa() {
    let mut tally = Tally::default();
    let mut rng = Rng(0x571d3);
    for isa in common::checked_isas() {
        for inner in [1, 2, 3, 4, 5, 37] {
            for c in [1, 2, 3, 7, 17, 70] {
                for which in [Which::Ce, Which::Soft, Which::Nll] {
                    let outer = 1 + (c + inner) % 3;
                    let o = random_opts(&mut rng, c, inner);
                    let (scale, p) = (SCALES[pick(&mut rng, 5)], p_ignore(&mut rng));
                    let d = batch(&mut rng, which, o, outer * inner, scale, p, true);
                    check_all(isa, &d, pick(&mut rng, 4), &mut rng, &mut tally);
                }
            }
        }
    }
    tally.finish("strided_class_axis_on_every_isa");
}

/// Batches of several `CHUNK`s, split into several tasks (and rows longer than a chunk).
#[test]
fn many_tasks_on_every_isa() {
    let mut tally = Tally::default();
    let mut rng = Rng(0x7a5c);
    let all = [(7, 1, 5000), (3, 1000, 12_000), (20_000, 1, 3), (20_000, 2, 2), (129, 5, 600)];
    for isa in common::checked_isas() {
        // Under qemu (NNSIMD_QEMU), the first two.
        for &(c, inner, rows) in &all[..if common::qemu() { 2 } else { all.len() }] {
            for which in [Which::Ce, Which::Soft, Which::Nll] {
                let o = random_opts(&mut rng, c, inner);
                let d = batch(&mut rng, which, o, rows, 3.0, 0.3, true);
                check_all(isa, &d, 1 + pick(&mut rng, 3), &mut rng, &mut tally);
            }
        }
    }
    tally.finish("many_tasks_on_every_isa");
}

/// Each smoothing, each kind of ignored index and weights, on every ISA, spelled out rather
/// than drawn.
#[test]
fn every_option_on_every_isa() {
    let mut tally = Tally::default();
    let mut rng = Rng(0x0b7);
    for isa in common::checked_isas() {
        for eps in [0.0, 0.1, 1.0] {
            for ignore in [-100, 2, 9] {
                for weighted in [false, true] {
                    for which in [Which::Ce, Which::Soft, Which::Nll] {
                        let c = 6;
                        let weight = weighted.then(|| (0..c).map(|k| 0.25 + 0.5 * k as f32).collect());
                        let o = Opts { classes: c, inner: 1, weight, ignore, eps };
                        for p in [0.0, 0.5, 1.0] {
                            let d = batch(&mut rng, which, o.clone(), 11, 2.0, p, false);
                            check_all(isa, &d, 0, &mut rng, &mut tally);
                        }
                    }
                }
            }
        }
    }
    tally.finish("every_option_on_every_isa");
}

/// NaN, ±inf, huge logits and ties, alone and together in a batch, against the oracle, and the
/// rules spelled out.
#[test]
fn special_values() {
    let (inf, nan, max) = (f32::INFINITY, f32::NAN, f32::MAX);
    let rows: [(&[f32; 4], i64); 11] = [
        (&[1.0, -inf, 2.0, 0.5], 0),
        (&[1.0, -inf, 2.0, 0.5], 1),
        (&[1.0, nan, 2.0, 0.5], 0),
        (&[1.0, inf, 2.0, 0.5], 2),
        (&[-inf, -inf, -inf, -inf], 0),
        (&[nan, 1.0, inf, 3.0], -100),
        (&[max, -max, 0.0, 1.0], 1),
        (&[3.0, 3.0, 1.0, 3.0], 1),
        (&[-inf, -inf, 5.0, -inf], 2),
        (&[1e30, -1e30, 1e30, 0.0], 0),
        (&[-104.0, 0.0, -90.0, -87.5], 1),
    ];
    let mut tally = Tally::default();
    let mut rng = Rng(0x5bec);
    for isa in common::checked_isas() {
        for eps in [0.0, 0.1, 1.0] {
            for weighted in [false, true] {
                let weight = weighted.then(|| vec![0.5, 1.5, 2.0, 0.75]);
                let o = Opts { classes: 4, inner: 1, weight, ignore: -100, eps };
                let all: Vec<Vec<f32>> = rows.iter().map(|(x, _)| x.to_vec()).collect();
                let idx: Vec<i64> = rows.iter().map(|&(_, t)| t).collect();
                let nll_idx: Vec<i64> = idx.iter().map(|&t| if t == -100 { t } else { 3 - t }).collect();
                let mut datas = vec![];
                for (which, idx) in [(Which::Ce, &idx), (Which::Nll, &idx), (Which::Nll, &nll_idx)] {
                    datas.push(Data { which, o: o.clone(), x: all.concat(), idx: idx.clone(), prob: vec![] });
                    for (x, &t) in all.iter().zip(idx.iter()) {
                        datas.push(Data { which, o: o.clone(), x: x.clone(), idx: vec![t], prob: vec![] });
                    }
                }
                let prob: Vec<f32> = (0..all.len()).flat_map(|_| [0.125, 0.5, 0.25, 0.125]).collect();
                // Probability targets: no −inf logits (a zero probability there is 0·∞).
                let finite: Vec<f32> =
                    all.concat().iter().map(|&v| if v == -inf { -30.0 } else { v }).collect();
                datas.push(Data { which: Which::Soft, o: o.clone(), x: finite, idx: vec![], prob });
                for d in &datas {
                    check_all(isa, d, 1, &mut rng, &mut tally);
                }
            }
        }
        // The rules, spelled out (ε = 0, no weights, Sum).
        let ce = CrossEntropy::new(3).unwrap().reduction(Reduction::Sum);
        let x = [1.0, -inf, 2.0];
        let mut g = [0f32; 3];
        let l = ce.forward_backward_with(isa, &x, &[0], &mut g).unwrap();
        assert!(
            l.is_finite() && g.iter().all(|v| v.is_finite()),
            "{isa}: a −inf logit off the target: {l} {g:?}"
        );
        assert_eq!(g[1], 0.0, "{isa}: the gradient at a −inf logit");
        let l = ce.forward_backward_with(isa, &x, &[1], &mut g).unwrap();
        assert_eq!(l, inf, "{isa}: a −inf target logit");
        assert!(g.iter().all(|v| v.is_finite()) && g[1] == -1.0, "{isa}: gradient at a −inf target: {g:?}");
        for bad in [[1.0, nan, 2.0], [1.0, inf, 2.0], [-inf; 3]] {
            let l = ce.forward_backward_with(isa, &bad, &[0], &mut g).unwrap();
            assert!(l.is_nan() && g.iter().all(|v| v.is_nan()), "{isa}: {bad:?} gives {l} {g:?}");
            // Ignored, the same row adds nothing.
            let two = [bad, [0.0, 0.0, 0.0]].concat();
            let mut g2 = [0f32; 6];
            let l = ce.forward_backward_with(isa, &two, &[-100, 0], &mut g2).unwrap();
            assert!(ulp_distance(l, 3f64.ln()) <= 2, "{isa}: an ignored {bad:?} row: {l}");
            assert_eq!(&g2[..3], &[0.0; 3], "{isa}: the gradient of an ignored row");
        }
        // Mean over nothing but ignored rows: NaN, and a zero gradient.
        let mut g2 = [7f32; 6];
        let l = CrossEntropy::new(3)
            .unwrap()
            .forward_backward_with(isa, &[1.0; 6], &[-100, -100], &mut g2)
            .unwrap();
        assert!(l.is_nan() && g2 == [0.0; 6], "{isa}: every row ignored: {l} {g2:?}");
    }
    tally.finish("special_values");
}

/// Bitwise the same loss and gradient on pools of 1, 2 and 3 threads, at sizes of several
/// `CHUNK`s.
#[cfg(feature = "rayon")]
#[test]
fn any_thread_count_same_bits() {
    let mut rng = Rng(0x7417);
    let cases = [
        (Which::Ce, 1000, 1, 50),
        (Which::Ce, 7, 1, 9000),
        (Which::Ce, 40_000, 1, 2),
        (Which::Ce, 13, 9, 4500),
        (Which::Soft, 300, 1, 200),
        (Which::Soft, 5, 4, 4000),
        (Which::Nll, 100, 1, 700),
    ];
    for (which, c, inner, rows) in cases {
        let o = Opts { eps: 0.1, ..random_opts(&mut rng, c, inner) };
        let d = batch(&mut rng, which, o, rows, 4.0, 0.2, true);
        let dloss: Vec<f32> = (0..rows).map(|_| rng.normal(1.0)).collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let n = d.x.len();
                let (ts, ps) = (&d.idx[..], &d.prob[..]);
                let mut out = vec![];
                for red in [Reduction::Mean, Reduction::Sum] {
                    let mut g = vec![0f32; n];
                    let l = with_loss!(which, d.o, red, ts, ps, |k, t| k.forward_backward(&d.x, t, &mut g))
                        .unwrap();
                    out.push(vec![l]);
                    out.push(g);
                    if which == Which::Ce {
                        let mut xi = d.x.clone();
                        let l = d.o.ce(red).forward_backward_inplace(&mut xi, ts).unwrap();
                        out.push(vec![l]);
                        out.push(xi);
                    }
                }
                let (mut loss, mut g) = (vec![0f32; rows], vec![0f32; n]);
                with_loss!(which, d.o, Reduction::None, ts, ps, |k, t| k
                    .forward_backward_none(&d.x, t, &dloss, &mut loss, &mut g))
                .unwrap();
                out.push(loss);
                out.push(g);
                out.into_iter()
                    .map(|v| v.iter().map(|f| f.to_bits()).collect::<Vec<u32>>())
                    .collect::<Vec<_>>()
            })
        };
        let one = run(1);
        assert!(
            one == run(2) && one == run(3),
            "{which:?} C {c} inner {inner}: results depend on the thread count"
        );
    }
}

/// bf16 and f16: the same loss as the f32 kernel on the widened inputs, and its gradient
/// rounded once to the type.
#[cfg(feature = "half")]
mod half_types {
    use super::*;
    use nnsimd::{Element, bf16, f16};

    trait Half: Element + Copy + Default {
        const NAME: &'static str;
        fn from_f32(v: f32) -> Self;
        fn to_f32(self) -> f32;
        fn bits(self) -> u16;
    }

    macro_rules! half {
        ($($T:ty),*) => {$(
            impl Half for $T {
                const NAME: &'static str = stringify!($T);
                fn from_f32(v: f32) -> Self { <$T>::from_f32(v) }
                fn to_f32(self) -> f32 { <$T>::to_f32(self) }
                fn bits(self) -> u16 { self.to_bits() }
            }
        )*};
    }
    half!(bf16, f16);

    /// `got` is `want` rounded to `T` (any NaN for NaN).
    fn rounded<T: Half>(got: &[T], want: &[f32]) -> Option<usize> {
        got.iter().zip(want).position(|(&g, &w)| {
            let r = T::from_f32(w);
            !(g.bits() == r.bits() || (g.to_f32().is_nan() && w.is_nan()))
        })
    }

    fn check<T: Half>(isa: Isa, d: &Data, rng: &mut Rng, fails: &mut Vec<String>) {
        let what = format!("{isa} {} {:?} C {} inner {}", T::NAME, d.which, d.o.classes, d.o.inner);
        let (o, ts, n, rows) = (&d.o, &d.idx[..], d.x.len(), d.rows());
        let x: Vec<T> = d.x.iter().map(|&v| T::from_f32(v)).collect();
        let p: Vec<T> = d.prob.iter().map(|&v| T::from_f32(v)).collect();
        let xw: Vec<f32> = x.iter().map(|v| v.to_f32()).collect();
        let pw: Vec<f32> = p.iter().map(|v| v.to_f32()).collect();
        let (ph, pf) = (&p[..], &pw[..]);
        for red in [Reduction::Sum, Reduction::Mean] {
            let lh = with_loss!(d.which, o, red, ts, ph, |l, t| l.forward_with(isa, &x, t)).unwrap();
            let lf = with_loss!(d.which, o, red, ts, pf, |l, t| l.forward_with(isa, &xw, t)).unwrap();
            let (mut gh, mut gf) = (vec![T::default(); n], vec![0f32; n]);
            let lhb = with_loss!(d.which, o, red, ts, ph, |l, t| l
                .forward_backward_with(isa, &x, t, &mut gh))
            .unwrap();
            let lfb = with_loss!(d.which, o, red, ts, pf, |l, t| l
                .forward_backward_with(isa, &xw, t, &mut gf))
            .unwrap();
            if !same(lh, lf) || !same(lhb, lfb) {
                fails.push(format!("{what} {red:?}: loss {lh:e} / {lhb:e}, f32 kernel {lf:e} / {lfb:e}"));
            }
            if let Some(i) = rounded(&gh, &gf) {
                fails.push(format!(
                    "{what} {red:?}: grad[{i}] {} is not the f32 kernel's {:e} rounded",
                    gh[i].to_f32(),
                    gf[i]
                ));
            }
            if d.which == Which::Ce {
                let mut xi = x.clone();
                let li = o.ce(red).forward_backward_inplace_with(isa, &mut xi, ts).unwrap();
                if !same(li, lhb)
                    || xi
                        .iter()
                        .zip(&gh)
                        .any(|(a, b)| a.bits() != b.bits() && !(a.to_f32().is_nan() && b.to_f32().is_nan()))
                {
                    fails.push(format!("{what} {red:?}: in place differs from forward_backward"));
                }
            }
        }
        let dloss: Vec<f32> = (0..rows).map(|_| rng.normal(1.0)).collect();
        let (mut lh, mut lf) = (vec![0f32; rows], vec![0f32; rows]);
        with_loss!(d.which, o, Reduction::None, ts, ph, |l, t| l.forward_none_with(isa, &x, t, &mut lh))
            .unwrap();
        with_loss!(d.which, o, Reduction::None, ts, pf, |l, t| l.forward_none_with(isa, &xw, t, &mut lf))
            .unwrap();
        if !same_all(&lh, &lf) {
            fails.push(format!("{what} None: forward_none differs from the f32 kernel's"));
        }
        let (mut gh, mut gf) = (vec![T::default(); n], vec![0f32; n]);
        with_loss!(d.which, o, Reduction::None, ts, ph, |l, t| l
            .forward_backward_none_with(isa, &x, t, &dloss, &mut lh, &mut gh))
        .unwrap();
        with_loss!(d.which, o, Reduction::None, ts, pf, |l, t| l
            .forward_backward_none_with(isa, &xw, t, &dloss, &mut lf, &mut gf))
        .unwrap();
        if !same_all(&lh, &lf) {
            fails.push(format!("{what} None: forward_backward_none's losses differ from the f32 kernel's"));
        }
        if let Some(i) = rounded(&gh, &gf) {
            fails.push(format!(
                "{what} None: grad[{i}] {} is not the f32 kernel's {:e} rounded",
                gh[i].to_f32(),
                gf[i]
            ));
        }
    }

    #[test]
    fn bf16_and_f16_equal_the_f32_kernel_rounded() {
        let mut rng = Rng(0x4a1f);
        let mut fails = vec![];
        for isa in common::checked_isas() {
            for (c, inner, rows) in [
                (1, 1, 3),
                (3, 1, 7),
                (7, 1, 9),
                (70, 1, 4),
                (1000, 1, 3),
                (5, 3, 6),
                (9, 37, 74),
                (7, 1, 5000),
            ] {
                for which in [Which::Ce, Which::Soft, Which::Nll] {
                    let o = random_opts(&mut rng, c, inner);
                    let scale = SCALES[pick(&mut rng, 5)];
                    let d = batch(&mut rng, which, o, rows, scale, 0.3, true);
                    check::<bf16>(isa, &d, &mut rng, &mut fails);
                    check::<f16>(isa, &d, &mut rng, &mut fails);
                }
            }
        }
        assert!(
            fails.is_empty(),
            "{} failures:\n{}",
            fails.len(),
            fails.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Errors.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Forward,
    ForwardBackward,
    ForwardNone,
    ForwardBackwardNone,
    Inplace,
}

const METHODS: [Method; 5] = [
    Method::Forward,
    Method::ForwardBackward,
    Method::ForwardNone,
    Method::ForwardBackwardNone,
    Method::Inplace,
];

/// The guard written into every output before an erroneous call.
const SENTINEL: f32 = 7.25;

/// Calls `m` (a reduced method with `red`, a `_none` one with `Reduction::None` unless
/// `force_red`) on `d` with outputs of lengths `[dloss, loss, grad]` filled with the sentinel;
/// returns the result, and whether every output and (in place) the logits kept their bits.
/// `None` where the method does not apply to the loss (in place: CE only).
fn call(
    d: &Data,
    red: Reduction,
    isa: Isa,
    m: Method,
    lens: [usize; 3],
) -> Option<(Result<f32, Error>, bool)> {
    let (o, ts, ps, x) = (&d.o, &d.idx[..], &d.prob[..], &d.x[..]);
    let dloss = vec![1f32; lens[0]];
    let (mut loss, mut grad) = (vec![SENTINEL; lens[1]], vec![SENTINEL; lens[2]]);
    let mut xi = d.x.clone();
    let r = match m {
        Method::Forward => with_loss!(d.which, o, red, ts, ps, |l, t| l.forward_with(isa, x, t)),
        Method::ForwardBackward => {
            with_loss!(d.which, o, red, ts, ps, |l, t| l.forward_backward_with(isa, x, t, &mut grad))
        }
        Method::ForwardNone => {
            with_loss!(d.which, o, red, ts, ps, |l, t| l.forward_none_with(isa, x, t, &mut loss)).map(|_| 0.0)
        }
        Method::ForwardBackwardNone => with_loss!(d.which, o, red, ts, ps, |l, t| l
            .forward_backward_none_with(isa, x, t, &dloss, &mut loss, &mut grad))
        .map(|_| 0.0),
        Method::Inplace if d.which == Which::Ce => o.ce(red).forward_backward_inplace_with(isa, &mut xi, ts),
        Method::Inplace => return None,
    };
    let kept = loss.iter().chain(&grad).all(|v| v.to_bits() == SENTINEL.to_bits())
        && xi.iter().zip(&d.x).all(|(a, b)| a.to_bits() == b.to_bits());
    Some((r, kept))
}

/// The reduction each method takes.
fn natural(m: Method) -> Reduction {
    match m {
        Method::ForwardNone | Method::ForwardBackwardNone => Reduction::None,
        _ => Reduction::Mean,
    }
}

/// Every method of `d` with good output lengths must fail as `ok` says, writing nothing.
fn expect_all(d: &Data, what: &str, ok: &dyn Fn(&Error) -> bool) {
    let (n, rows) = (d.x.len(), d.x.len() / d.o.classes);
    for m in METHODS {
        let Some((r, kept)) = call(d, natural(m), Isa::detect(), m, [rows, rows, n]) else { continue };
        match r {
            Err(e) if ok(&e) => assert!(kept, "{what} {m:?}: wrote before failing with {e:?}"),
            r => panic!("{what} {m:?}: got {r:?}"),
        }
    }
}

fn data(which: Which, o: Opts, x: Vec<f32>, idx: Vec<i64>) -> Data {
    let prob = if which == Which::Soft { vec![0.25; x.len()] } else { vec![] };
    Data { which, o, x, idx, prob }
}

#[test]
fn errors_write_nothing() {
    let x: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 2.0).collect();
    // A target outside [0, C) that is not the ignored index: the first one's position.
    for which in [Which::Ce, Which::Nll] {
        for (ignore, t, position, value) in [
            (-100, vec![0, -100, 3, -1], 2, 3),
            (-100, vec![1, -7, 5, 0], 1, -7),
            (7, vec![0, 7, -100, 2], 2, -100),
            (-100, vec![0, 1, 2, i64::MAX], 3, i64::MAX),
            (-100, vec![i64::MIN, 1, 2, 3], 0, i64::MIN),
        ] {
            let d = data(which, Opts { ignore, ..Opts::plain(3, 1) }, x.clone(), t);
            let want = Error::TargetOutOfRange { position, value, classes: 3 };
            expect_all(&d, &format!("{which:?} targets {:?}", d.idx), &|e| *e == want);
        }
    }
    for which in [Which::Ce, Which::Soft, Which::Nll] {
        let idx = vec![0, 1, 2, 0];
        // Weights of the wrong length.
        for len in [2, 4] {
            let weight = Some(vec![1.0; len]);
            let d = data(which, Opts { weight, ..Opts::plain(3, 1) }, x.clone(), idx.clone());
            let want = Error::LengthMismatch { arg: "weight", expected: 3, found: len };
            expect_all(&d, &format!("{which:?} weights of {len}"), &|e| *e == want);
        }
        // Logits that are not whole [C, inner] blocks (9 is a multiple of C alone).
        for n in [7, 9, 13] {
            let d = data(which, Opts::plain(3, 2), (0..n).map(|i| i as f32).collect(), vec![0; n / 3]);
            let ok = |e: &Error| match e {
                Error::NotMultiple { arg, found, multiple_of } => {
                    *found == n && *multiple_of == 6 && (which == Which::Nll || *arg == "logits")
                }
                _ => false,
            };
            expect_all(&d, &format!("{which:?} {n} logits of [3, 2]"), &ok);
        }
        // Targets of the wrong length: one per row (soft: the logits' length).
        for delta in [-1i64, 1] {
            let mut d = data(which, Opts::plain(3, 1), x.clone(), vec![]);
            let (want_len, found) = if which == Which::Soft {
                d.prob = vec![0.25; (12 + delta) as usize];
                (12, (12 + delta) as usize)
            } else {
                d.idx = vec![0; (4 + delta) as usize];
                (4, (4 + delta) as usize)
            };
            let want = Error::LengthMismatch { arg: "target", expected: want_len, found };
            expect_all(&d, &format!("{which:?} targets of {found}"), &|e| *e == want);
        }
        // Outputs of the wrong length: dloss and loss one per row, grad as the logits.
        let d = data(which, Opts::plain(3, 1), x.clone(), idx.clone());
        for (m, lens, arg, expected, found) in [
            (Method::ForwardBackward, [4, 4, 11], "grad", 12, 11),
            (Method::ForwardBackward, [4, 4, 13], "grad", 12, 13),
            (Method::ForwardNone, [4, 3, 12], "loss", 4, 3),
            (Method::ForwardNone, [4, 5, 12], "loss", 4, 5),
            (Method::ForwardBackwardNone, [3, 4, 12], "dloss", 4, 3),
            (Method::ForwardBackwardNone, [5, 4, 12], "dloss", 4, 5),
            (Method::ForwardBackwardNone, [4, 3, 12], "loss", 4, 3),
            (Method::ForwardBackwardNone, [4, 4, 11], "grad", 12, 11),
        ] {
            let (r, kept) = call(&d, natural(m), Isa::detect(), m, lens).unwrap();
            assert_eq!(r, Err(Error::LengthMismatch { arg, expected, found }), "{which:?} {m:?} {lens:?}");
            assert!(kept, "{which:?} {m:?} {lens:?}: wrote before failing");
        }
        // The wrong kind of reduction for the method; a batch of 0.
        for m in METHODS {
            let reds: &[Reduction] = match natural(m) {
                Reduction::None => &[Reduction::Sum, Reduction::Mean, Reduction::BatchMean(2)],
                _ => &[Reduction::None],
            };
            for &red in reds {
                let Some((r, kept)) = call(&d, red, Isa::detect(), m, [4, 4, 12]) else { continue };
                assert!(matches!(r, Err(Error::Reduction(_))), "{which:?} {m:?} {red:?}: {r:?}");
                assert!(kept, "{which:?} {m:?} {red:?}: wrote before failing");
            }
            if natural(m) != Reduction::None {
                let Some((r, kept)) = call(&d, Reduction::BatchMean(0), Isa::detect(), m, [4, 4, 12]) else {
                    continue;
                };
                assert!(
                    matches!(r, Err(Error::InvalidParameter { name: "batch", .. })),
                    "{which:?} {m:?}: {r:?}"
                );
                assert!(kept, "{which:?} {m:?} BatchMean(0): wrote before failing");
            }
        }
        // Unavailable ISAs.
        for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
            for m in METHODS {
                let Some((r, kept)) = call(&d, natural(m), isa, m, [4, 4, 12]) else { continue };
                assert_eq!(r, Err(Error::IsaUnavailable(isa)), "{which:?} {m:?}");
                assert!(kept);
            }
        }
    }
    // Label smoothing outside [0, 1], or NaN.
    for which in [Which::Ce, Which::Soft] {
        for eps in [-0.1, -0.0001, 1.0001, 2.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let d = data(which, Opts { eps, ..Opts::plain(3, 1) }, x.clone(), vec![0, 1, 2, 0]);
            let ok = |e: &Error| matches!(e, Error::InvalidParameter { name: "label_smoothing", .. });
            expect_all(&d, &format!("{which:?} label_smoothing {eps}"), &ok);
        }
    }
    // Zero classes or inner, and a shape that overflows.
    for (c, inner) in [(0, 1), (1, 0), (0, 0), (3, 0)] {
        let ok = |r: Result<(), Error>| matches!(r, Err(Error::InvalidParameter { .. }));
        assert!(ok(CrossEntropy::along(c, inner).map(|_| ())), "CrossEntropy::along({c}, {inner})");
        assert!(ok(Nll::along(c, inner).map(|_| ())), "Nll::along({c}, {inner})");
    }
    assert!(matches!(CrossEntropy::new(0), Err(Error::InvalidParameter { name: "classes", .. })));
    assert!(matches!(Nll::new(0), Err(Error::InvalidParameter { name: "classes", .. })));
    assert!(matches!(CrossEntropy::along(3, 0), Err(Error::InvalidParameter { name: "inner", .. })));
    assert_eq!(CrossEntropy::along(usize::MAX, 2), Err(Error::ShapeOverflow));
    assert_eq!(Nll::along(2, usize::MAX), Err(Error::ShapeOverflow));
    // No rows: the sum is 0, the mean 0/0.
    let ce = CrossEntropy::new(3).unwrap();
    assert_eq!(ce.reduction(Reduction::Sum).forward::<f32>(&[], &[]), Ok(0.0));
    assert!(ce.forward::<f32>(&[], &[]).unwrap().is_nan());
    ce.reduction(Reduction::None).forward_none::<f32>(&[], &[], &mut []).unwrap();
}
