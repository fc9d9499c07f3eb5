//! Cross-entropy and NLL against PyTorch's float64 reference cases:
//! `tests/golden/rows/{ce,nll}_*.json` (made by PyTorch in float64 from float32 inputs; one JSON
//! object per case: `op` ("cross_entropy" or "nll"), `params` (classes, reduction "none" / "sum"
//! / "mean", ignore_index, label_smoothing), `inputs` (logits or logp `[N, C, d...]`, target
//! int64 `[N, d...]`, optional weight `[C]`, dloss for reduction none) and `outputs` (loss, one
//! per row or a scalar of shape [], and dlogits or dlogp), tensors as shape, dtype and row-major
//! data, "inf"/"-inf" for infinities and null for NaN), on every available ISA. The class axis
//! is dimension 1: the kernels run `along(C, inner)`, inner = d1·….
//!
//! `nll_none` has no dloss: its dlogp is −1 at each target and 0 elsewhere (no weights), the
//! gradient for an upstream gradient of 1 per row, which the test checks before using ones.
//!
//! Bounds, as `tests/loss_classes.rs` states them (magnitudes from the f64 formulas written
//! here, which must first agree with the file to 2^-40 of them):
//! - the reduced loss within 2 ULP plus 2^-23·Σ|terms|;
//! - each row's loss (reduction none) within 4 ULP, or 2^-23·Σ|its terms| absolute;
//! - each gradient element within 8 ULP, or 2^-23·|s|·(A + (ε/C)·w_c) absolute (s the row's
//!   upstream gradient or the reduction's factor, A = (1 − ε)·w_t + ε·W/C; NLL: exact to 8 ULP).
//!
//! NaN must meet NaN, an infinity must be met exactly; `forward` equals `forward_backward`'s
//! loss, and cross-entropy's `forward_backward_inplace` its loss and gradient, bitwise.

mod common;

use common::classes::{RowWant, U23, row_indices, same, ulp_of};
use common::golden::{self, shape, tensor, tensor_f32};
use nnsimd::Isa;
use nnsimd::internals::reference::ulp_distance;
use nnsimd::loss::{CrossEntropy, Nll, Reduction};
use std::collections::BTreeMap;

/// One reference case.
struct Case {
    name: String,
    nll: bool,
    classes: usize,
    inner: usize,
    reduction: Reduction,
    ignore: i64,
    /// Label smoothing as the file gives it (float64), and as the kernel takes it.
    eps64: f64,
    eps: f32,
    x: Vec<f32>,
    t: Vec<i64>,
    weight: Option<Vec<f32>>,
    /// One per row for reduction none.
    dloss: Vec<f32>,
    loss: Vec<f64>,
    grad: Vec<f64>,
}

/// Every cross-entropy and NLL case, by file name.
fn cases() -> Vec<Case> {
    let cases: Vec<Case> = golden::files()
        .into_iter()
        .filter_map(|(name, v)| {
            let nll = match v["op"].as_str()? {
                "cross_entropy" => false,
                "nll" => true,
                _ => return None,
            };
            let (params, inputs, outputs) = (&v["params"], &v["inputs"], &v["outputs"]);
            let xt = &inputs[if nll { "logp" } else { "logits" }];
            let dims = shape(xt);
            let classes = params["classes"].as_u64().expect("classes") as usize;
            assert_eq!(dims[1], classes, "{name}: the class axis is dimension 1");
            let reduction = golden::reduction(params, &name);
            let t: Vec<i64> =
                inputs["target"]["data"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
            let weight = (!inputs["weight"].is_null()).then(|| tensor_f32(&inputs["weight"]));
            let dloss =
                if inputs["dloss"].is_null() { vec![1.0; t.len()] } else { tensor_f32(&inputs["dloss"]) };
            Some(Case {
                name,
                nll,
                classes,
                inner: dims[2..].iter().product(),
                reduction,
                ignore: params["ignore_index"].as_i64().unwrap_or(-100),
                eps64: params["label_smoothing"].as_f64().unwrap_or(0.0),
                eps: params["label_smoothing"].as_f64().unwrap_or(0.0) as f32,
                x: tensor_f32(xt),
                t,
                weight,
                dloss,
                loss: tensor(&outputs["loss"]),
                grad: tensor(&outputs[if nll { "dlogp" } else { "dlogits" }]),
            })
        })
        .collect();
    assert!(cases.iter().filter(|c| !c.nll).count() >= 11, "missing cross-entropy cases");
    assert!(cases.iter().filter(|c| c.nll).count() >= 3, "missing nll cases");
    cases
}

/// A row by the formulas: log-softmax with the maximum subtracted and log1p(Σ − 1), then
/// PyTorch's cross-entropy (or NLL of `x` itself), with the file's ε (the kernel's, ε rounded to
/// f32, differs from it by 2^-27·ε at most, far inside the bounds).
fn row_want(c: &Case, x: &[f32], t: i64) -> RowWant {
    let n = x.len();
    if t == c.ignore {
        return RowWant::ignored(n);
    }
    let t = t as usize;
    let w: Vec<f64> = (0..n).map(|k| c.weight.as_ref().map_or(1.0, |w| w[k] as f64)).collect();
    if c.nll {
        let loss = -w[t] * x[t] as f64;
        let (mut g, mut gm) = (vec![0.0; n], vec![0.0; n]);
        (g[t], gm[t]) = (-w[t], w[t].abs());
        return RowWant { ignored: false, loss, mag: loss.abs(), g, gm };
    }
    let m = x.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v as f64));
    let top = x.iter().filter(|&&v| v as f64 == m).count() as f64;
    let s1 = (top - 1.0) + x.iter().filter(|&&v| (v as f64) < m).map(|&v| (v as f64 - m).exp()).sum::<f64>();
    let l = s1.ln_1p();
    let nl: Vec<f64> = x.iter().map(|&v| l - (v as f64 - m)).collect();
    let p: Vec<f64> = x.iter().map(|&v| (v as f64 - m).exp() / (1.0 + s1)).collect();
    let (eps, cf) = (c.eps64, n as f64);
    let hard = (1.0 - eps) * w[t] * nl[t];
    let (mut loss, mut mag) = (hard, hard.abs());
    if eps > 0.0 {
        loss += eps / cf * w.iter().zip(&nl).map(|(w, l)| w * l).sum::<f64>();
        mag += eps / cf * w.iter().zip(&nl).map(|(w, l)| (w * l).abs()).sum::<f64>();
    }
    let a = (1.0 - eps) * w[t] + eps * w.iter().sum::<f64>() / cf;
    let mut g: Vec<f64> = (0..n).map(|k| a * p[k] - eps / cf * w[k]).collect();
    g[t] = if x[t] as f64 == m {
        let rest: f64 = w.iter().enumerate().filter(|&(k, _)| k != t).map(|(_, w)| w).sum();
        eps / cf * rest - a * s1 / (1.0 + s1)
    } else {
        a * p[t] - (1.0 - eps) * w[t] - eps / cf * w[t]
    };
    let gm = w.iter().map(|w| a + eps / cf * w).collect();
    RowWant { ignored: false, loss, mag, g, gm }
}

/// Per (case kind, result, ISA): the worst ULP distance among results the ULP rule accepts,
/// how many only the absolute bound accepts and the worst error / bound among those, and how
/// many there are.
#[derive(Default)]
struct Summary(BTreeMap<Key, (u64, usize, f64, usize)>);

/// A summary row: (case kind, result, ISA).
type Key = (&'static str, &'static str, Isa);

impl Summary {
    fn print(&self) {
        for ((op, what, isa), (ulp, abs, ratio, n)) in &self.0 {
            println!(
                "{op} {what} {isa}: max {ulp} ULP over {n} results ({abs} within the absolute bound only, worst {ratio:.3} of it)"
            );
        }
    }
}

/// `got` against `want`: `Ok(Ok(ulp))` within `ulps`, `Ok(Err(error / abs))` within `abs`
/// only, `Err` otherwise. NaN must meet NaN, an infinity (either side) must be met exactly.
fn check(got: f32, want: f64, ulps: u64, abs: f64) -> Result<Result<u64, f64>, String> {
    let fail = || Err(format!("got {got:e}, want {want:e}"));
    if want.is_nan() || got.is_nan() {
        return if want.is_nan() && got.is_nan() { Ok(Ok(0)) } else { fail() };
    }
    let u = ulp_distance(got, want);
    let err = (got as f64 - want).abs();
    if u <= ulps {
        Ok(Ok(u))
    } else if err <= abs {
        Ok(Err(err / abs))
    } else {
        fail()
    }
}

/// The kernel's results on `isa`: the losses (one reduced loss, or one per row) and the
/// gradient. Differences between its equivalent forms are pushed to `fails`.
fn run(c: &Case, isa: Isa, fails: &mut Vec<String>) -> (Vec<f32>, Vec<f32>) {
    let (n, nr) = (c.x.len(), c.t.len());
    let mut grad = vec![0f32; n];
    macro_rules! methods {
        ($l:expr) => {{
            let l = $l.ignore_index(c.ignore).reduction(c.reduction);
            let l = match &c.weight {
                Some(w) => l.weight(w),
                None => l,
            };
            if c.reduction == Reduction::None {
                let (mut loss, mut loss2) = (vec![0f32; nr], vec![0f32; nr]);
                l.forward_none_with(isa, &c.x, &c.t, &mut loss).unwrap();
                l.forward_backward_none_with(isa, &c.x, &c.t, &c.dloss, &mut loss2, &mut grad).unwrap();
                if !loss.iter().zip(&loss2).all(|(&a, &b)| same(a, b)) {
                    fails.push(format!("{} {isa}: forward_none differs from forward_backward_none", c.name));
                }
                (loss2, l)
            } else {
                let lf = l.forward_with(isa, &c.x, &c.t).unwrap();
                let lfb = l.forward_backward_with(isa, &c.x, &c.t, &mut grad).unwrap();
                if !same(lf, lfb) {
                    fails.push(format!(
                        "{} {isa}: forward {lf:e} differs from forward_backward {lfb:e}",
                        c.name
                    ));
                }
                (vec![lfb], l)
            }
        }};
    }
    let loss = if c.nll {
        methods!(Nll::along(c.classes, c.inner).unwrap()).0
    } else {
        let (loss, l) = methods!(CrossEntropy::along(c.classes, c.inner).unwrap().label_smoothing(c.eps));
        if c.reduction != Reduction::None {
            let mut xi = c.x.clone();
            let li = l.forward_backward_inplace_with(isa, &mut xi, &c.t).unwrap();
            if !same(li, loss[0]) || !xi.iter().zip(&grad).all(|(&a, &b)| same(a, b)) {
                fails.push(format!(
                    "{} {isa}: forward_backward_inplace differs from forward_backward",
                    c.name
                ));
            }
        }
        loss
    };
    (loss, grad)
}

#[test]
fn golden_losses_over_classes() {
    let (mut fails, mut summary) = (vec![], Summary::default());
    for c in &cases() {
        let idx = row_indices(c.x.len(), c.classes, c.inner);
        assert_eq!(idx.len(), c.t.len(), "{}: one target per row", c.name);
        let wants: Vec<RowWant> = idx
            .iter()
            .zip(&c.t)
            .map(|(ix, &t)| row_want(c, &ix.iter().map(|&i| c.x[i]).collect::<Vec<_>>(), t))
            .collect();
        let divisor: f64 = wants
            .iter()
            .zip(&c.t)
            .filter(|(w, _)| !w.ignored)
            .map(|(_, &t)| c.weight.as_ref().map_or(1.0, |w| w[t as usize] as f64))
            .sum();
        let f = match c.reduction {
            Reduction::Mean => 1.0 / divisor,
            _ => 1.0,
        };
        let scale = |r: usize| if c.reduction == Reduction::None { c.dloss[r] as f64 } else { f };
        // The formulas agree with the file: losses to 2^-40 of their terms, gradients to 2^-40
        // of their magnitudes (nll_none's gradient, from ones, included).
        let close = |a: f64, b: f64, tol: f64| (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= tol;
        if c.reduction == Reduction::None {
            for (r, w) in wants.iter().enumerate() {
                assert!(
                    close(w.loss, c.loss[r], 2f64.powi(-40) * w.mag),
                    "{} row {r}: the test's loss formula",
                    c.name
                );
            }
        } else {
            let (sum, mag) = wants.iter().fold((0.0, 0.0), |(s, m), w| (s + w.loss, m + w.mag));
            assert!(
                close(sum * f, c.loss[0], 2f64.powi(-40) * mag * f),
                "{}: the test's loss formula",
                c.name
            );
        }
        for (r, (ix, w)) in idx.iter().zip(&wants).enumerate() {
            for (k, &i) in ix.iter().enumerate() {
                let want = if w.ignored { 0.0 } else { scale(r) * w.g[k] };
                let tol = 2f64.powi(-40) * scale(r).abs() * w.gm[k];
                assert!(
                    close(want, c.grad[i], tol),
                    "{} row {r} class {k}: the test's gradient formula",
                    c.name
                );
            }
        }
        let op = match (c.nll, c.eps > 0.0) {
            (true, _) => "nll",
            (false, false) => "cross_entropy",
            (false, true) => "cross_entropy smoothed",
        };
        for isa in common::checked_isas() {
            let (loss, grad) = run(c, isa, &mut fails);
            let mut see = |what: &'static str, at: String, got: f32, want: f64, ulps: u64, abs: f64| {
                let e = summary.0.entry((op, what, isa)).or_default();
                e.3 += 1;
                match check(got, want, ulps, abs) {
                    Ok(Ok(u)) => e.0 = e.0.max(u),
                    Ok(Err(ratio)) => {
                        e.1 += 1;
                        e.2 = e.2.max(ratio);
                    }
                    Err(msg) => fails.push(format!("{} {isa} {what} {at}: {msg}", c.name)),
                }
            };
            if c.reduction == Reduction::None {
                for (r, w) in wants.iter().enumerate() {
                    see("row loss", format!("row {r}"), loss[r], c.loss[r], 4, U23 * w.mag);
                }
            } else {
                let mag: f64 = wants.iter().map(|w| w.mag).sum::<f64>() * f;
                let want = c.loss[0];
                see("loss", String::new(), loss[0], want, 2, 2.0 * ulp_of(want) + U23 * mag);
            }
            for (r, (ix, w)) in idx.iter().zip(&wants).enumerate() {
                for (k, &i) in ix.iter().enumerate() {
                    let at = format!("row {r} class {k} (x {:e}, target {})", c.x[i], c.t[r]);
                    let abs = if w.ignored { 0.0 } else { U23 * scale(r).abs() * w.gm[k] };
                    see("grad", at, grad[i], c.grad[i], 8, abs);
                }
            }
        }
    }
    summary.print();
    assert!(fails.is_empty(), "{} failures:\n{}", fails.len(), fails.join("\n"));
}
