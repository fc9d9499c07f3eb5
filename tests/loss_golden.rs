//! The element-wise losses against PyTorch's float64 reference cases:
//! `tests/golden/rows/{mse,l1,huber,smooth_l1,bce,bce_logits,kl_div}_*.json` (made by PyTorch in
//! float64 from float32 inputs; one JSON object per case: `op`, `params` (`reduction` and the
//! loss's own: `delta`, `beta`, `pos_weight`, `log_target`), `inputs` (`pred`, `target`, and
//! `dloss` for reduction "none") and `outputs` (`loss`, `dpred`), tensors as shape, dtype and
//! row-major data, "inf"/"-inf" for infinities and null for NaN), on every available ISA.
//!
//! Bounds, f the reduction's factor (1 for sum and none, 1/n for mean), the magnitudes computed
//! here in f64 from the inputs:
//! - a reduced loss within 2 ULP + 2^-23·f·Σ|term|, |term| the magnitude of the term's parts:
//!   for kl_div without log_target |t|·(|ln t| + |p|), for bce_with_logits
//!   |(1 − t)·x| + (1 + |(w − 1)·t|)·(ln(1 + e^−|x|) + max(−x, 0)), for bce
//!   |t·ln p| + |(1 − t)·ln(1 − p)| (logs clamped at −100), else |term|;
//! - with reduction "none" each loss within 4 ULP, or 2^-22·|term| absolute;
//! - dpred (the gradient for an upstream gradient of 1, or of `dloss`) within 8 ULP, or for
//!   bce_with_logits, whose derivative l·σ(x) − w·t cancels, within
//!   2^-22·|scale|·((1 + |(w − 1)·t|)·σ(x) + |w·t|) absolute.
//!
//! forward and forward_backward must give the same loss, forward_none and
//! forward_backward_none the same losses. NaN must meet NaN and an infinity must be met exactly.

use nnsimd::internals::reference::ulp_distance;
use nnsimd::loss::{Bce, BceWithLogits, Huber, KlDiv, L1, Mse, Reduction, SmoothL1};
use nnsimd::{Error, Isa};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One loss with its parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Loss {
    Mse,
    L1,
    Huber(f32),
    SmoothL1(f32),
    Bce,
    Logits(f32),
    Kl(bool),
}

impl Loss {
    /// The op's name in the files.
    fn op(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::L1 => "l1",
            Loss::Huber(_) => "huber",
            Loss::SmoothL1(_) => "smooth_l1",
            Loss::Bce => "bce",
            Loss::Logits(_) => "bce_with_logits",
            Loss::Kl(_) => "kl_div",
        }
    }
}

/// Runs `$body` with `$l` the crate's loss struct for `$loss` with reduction `$r`.
macro_rules! with_loss {
    ($loss:expr, $r:expr, |$l:ident| $body:expr) => {{
        let reduction = $r;
        match $loss {
            Loss::Mse => {
                let $l = Mse { reduction };
                $body
            }
            Loss::L1 => {
                let $l = L1 { reduction };
                $body
            }
            Loss::Huber(delta) => {
                let $l = Huber { delta, reduction };
                $body
            }
            Loss::SmoothL1(beta) => {
                let $l = SmoothL1 { beta, reduction };
                $body
            }
            Loss::Bce => {
                let $l = Bce { reduction };
                $body
            }
            Loss::Logits(pos_weight) => {
                let $l = BceWithLogits { pos_weight, reduction };
                $body
            }
            Loss::Kl(log_target) => {
                let $l = KlDiv { log_target, reduction };
                $body
            }
        }
    }};
}

/// One reference case; `dloss` is empty unless the reduction is None.
struct Case {
    name: String,
    loss: Loss,
    reduction: Reduction,
    pred: Vec<f32>,
    target: Vec<f32>,
    dloss: Vec<f32>,
    /// The reduced loss (one value), or each element's.
    want_loss: Vec<f64>,
    want_dpred: Vec<f64>,
}

/// A tensor's data: numbers, the strings "inf" / "-inf", null for NaN.
fn tensor(t: &Value) -> Vec<f64> {
    let data = t["data"].as_array().expect("tensor data");
    data.iter()
        .map(|v| match v {
            Value::Null => f64::NAN,
            Value::String(s) => s.parse().expect("inf or -inf"),
            v => v.as_f64().expect("a number"),
        })
        .collect()
}

fn f32s(v: Vec<f64>) -> Vec<f32> {
    v.into_iter().map(|v| v as f32).collect()
}

/// Every element-wise loss case, by file name.
fn cases() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/rows");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/golden/rows")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let cases: Vec<Case> = paths
        .iter()
        .filter_map(|path| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let params = &v["params"];
            let param = |k: &str, default: f64| params[k].as_f64().unwrap_or(default) as f32;
            let loss = match v["op"].as_str()? {
                "mse" => Loss::Mse,
                "l1" => Loss::L1,
                "huber" => Loss::Huber(param("delta", 1.0)),
                "smooth_l1" => Loss::SmoothL1(param("beta", 1.0)),
                "bce" => Loss::Bce,
                "bce_with_logits" => Loss::Logits(param("pos_weight", 1.0)),
                "kl_div" => Loss::Kl(params["log_target"].as_bool().unwrap_or(false)),
                _ => return None,
            };
            let reduction = match params["reduction"].as_str().expect("a reduction") {
                "none" => Reduction::None,
                "sum" => Reduction::Sum,
                "mean" => Reduction::Mean,
                r => panic!("{}: unknown reduction {r}", path.display()),
            };
            let (inputs, outputs) = (&v["inputs"], &v["outputs"]);
            let dloss = if reduction == Reduction::None { f32s(tensor(&inputs["dloss"])) } else { vec![] };
            Some(Case {
                name: path.file_stem().unwrap().to_string_lossy().into(),
                loss,
                reduction,
                pred: f32s(tensor(&inputs["pred"])),
                target: f32s(tensor(&inputs["target"])),
                dloss,
                want_loss: tensor(&outputs["loss"]),
                want_dpred: tensor(&outputs["dpred"]),
            })
        })
        .collect();
    for op in ["mse", "l1", "huber", "smooth_l1", "bce", "bce_with_logits", "kl_div"] {
        for r in [Reduction::None, Reduction::Sum, Reduction::Mean] {
            assert!(
                cases.iter().any(|c| c.loss.op() == op && c.reduction == r),
                "missing a {op} case with reduction {r:?}"
            );
        }
    }
    cases
}

/// σ(x) in f64.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The magnitudes of one element, from the f32 inputs in f64: its term's parts (`mag`), and
/// the derivative's parts where they cancel (`dmag`, else 0).
fn magnitudes(loss: Loss, p: f32, t: f32) -> (f64, f64) {
    let (p, t) = (p as f64, t as f64);
    let d = p - t;
    match loss {
        Loss::Mse => (d * d, 0.0),
        Loss::L1 => (d.abs(), 0.0),
        Loss::Huber(delta) => {
            let c = delta as f64;
            (if d.abs() < c { 0.5 * d * d } else { c * (d.abs() - 0.5 * c) }, 0.0)
        }
        Loss::SmoothL1(beta) => {
            let b = beta as f64;
            (if d.abs() < b { 0.5 * d * d / b } else { d.abs() - 0.5 * b }, 0.0)
        }
        Loss::Bce => {
            let (lp, lq) = (p.ln().max(-100.0), (-p).ln_1p().max(-100.0));
            ((t * lp).abs() + ((1.0 - t) * lq).abs(), 0.0)
        }
        Loss::Logits(w) => {
            let (x, w) = (p, w as f64);
            let lmag = 1.0 + ((w - 1.0) * t).abs();
            let sp = (-x.abs()).exp().ln_1p() + (-x).max(0.0);
            (((1.0 - t) * x).abs() + lmag * sp, lmag * sigmoid(x) + (w * t).abs())
        }
        Loss::Kl(false) => (if t == 0.0 { 0.0 } else { t.abs() * (t.ln().abs() + p.abs()) }, 0.0),
        Loss::Kl(true) => ((t.exp() * d).abs(), 0.0),
    }
}

/// The spacing of f32 at |v| (v rounded to f32).
fn ulp_of(v: f64) -> f64 {
    let a = (v as f32).abs();
    let next = f32::from_bits(a.to_bits() + 1);
    if next.is_finite() { next as f64 - a as f64 } else { 2f64.powi(104) }
}

/// Checks one result: `Ok(Some(ulp))` within `ulps` ULP, `Ok(None)` outside it but within
/// `abs`, `Err` otherwise. NaN must meet NaN, an infinity (either side, after rounding to f32)
/// must be met exactly.
fn check(got: f32, want: f64, ulps: u64, abs: f64) -> Result<Option<u64>, String> {
    let fail = || Err(format!("got {got:e} ({:#010x}), want {want:e}", got.to_bits()));
    if got.is_nan() || want.is_nan() || got.is_infinite() || (want as f32).is_infinite() {
        return if (got.is_nan() && want.is_nan()) || got == want as f32 { Ok(Some(0)) } else { fail() };
    }
    match ulp_distance(got, want) {
        u if u <= ulps => Ok(Some(u)),
        _ if (got as f64 - want).abs() <= abs => Ok(None),
        _ => fail(),
    }
}

/// A summary row: (op, reduction, pass, ISA).
type Key = (&'static str, String, &'static str, Isa);

/// Per summary row: the worst distance in ULP, how many results only the absolute bound
/// accepts, and how many there are.
#[derive(Default)]
struct Summary(BTreeMap<Key, (u64, usize, usize)>);

impl Summary {
    fn see(&mut self, key: Key, ulp: Option<u64>) {
        let e = self.0.entry(key).or_default();
        match ulp {
            Some(u) => e.0 = e.0.max(u),
            None => e.1 += 1,
        }
        e.2 += 1;
    }

    fn print(&self) {
        for ((op, r, pass, isa), (ulp, abs, n)) in &self.0 {
            println!(
                "{op} {r} {pass} {isa}: max {ulp} ULP over {n} results ({abs} within the absolute bound only)"
            );
        }
    }
}

/// Runs one case on `isa` and checks it, pushing each failure to `fails`.
fn run(c: &Case, isa: Isa, summary: &mut Summary, fails: &mut Vec<String>) {
    let (p, t, n) = (&c.pred[..], &c.target[..], c.pred.len());
    let mags: Vec<(f64, f64)> = p.iter().zip(t).map(|(&p, &t)| magnitudes(c.loss, p, t)).collect();
    let key = |pass: &'static str| (c.loss.op(), format!("{:?}", c.reduction), pass, isa);
    let mut differ = Vec::new();
    let mut see = |pass: &'static str, i: usize, r: Result<Option<u64>, String>| match r {
        Ok(u) => summary.see(key(pass), u),
        Err(e) => fails.push(format!("{} {isa} {pass}[{i}] (pred {}, target {}): {e}", c.name, p[i], t[i])),
    };
    if c.reduction == Reduction::None {
        let (mut lo, mut lo2, mut g) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
        with_loss!(c.loss, c.reduction, |l| l.forward_none_with(isa, p, t, &mut lo)).unwrap();
        with_loss!(c.loss, c.reduction, |l| l
            .forward_backward_none_with(isa, p, t, &c.dloss, &mut lo2, &mut g))
        .unwrap();
        for i in 0..n {
            let (mag, dmag) = mags[i];
            see("loss", i, check(lo[i], c.want_loss[i], 4, 2f64.powi(-22) * mag));
            let s = (c.dloss[i] as f64).abs();
            see("dpred", i, check(g[i], c.want_dpred[i], 8, 2f64.powi(-22) * s * dmag));
            if lo[i].to_bits() != lo2[i].to_bits() && !(lo[i].is_nan() && lo2[i].is_nan()) {
                differ.push(format!(
                    "{} {isa}: forward_backward_none's loss[{i}] differs from forward_none's",
                    c.name
                ));
            }
        }
    } else {
        check_reduced(c, isa, &mags, &mut see, &mut differ);
    }
    fails.extend(differ);
}

/// The reduced loss of case `c` on `isa` and its gradient, each checked by `see`.
fn check_reduced(
    c: &Case,
    isa: Isa,
    mags: &[(f64, f64)],
    see: &mut impl FnMut(&'static str, usize, Result<Option<u64>, String>),
    differ: &mut Vec<String>,
) {
    let (p, t, n) = (&c.pred[..], &c.target[..], c.pred.len());
    let f = if c.reduction == Reduction::Mean { 1.0 / n as f64 } else { 1.0 };
    let mut g = vec![0f32; n];
    let got = with_loss!(c.loss, c.reduction, |l| l.forward_with(isa, p, t)).unwrap();
    let again = with_loss!(c.loss, c.reduction, |l| l.forward_backward_with(isa, p, t, &mut g)).unwrap();
    if got.to_bits() != again.to_bits() && !(got.is_nan() && again.is_nan()) {
        differ.push(format!(
            "{} {isa}: forward_backward's loss {again:e} differs from forward's {got:e}",
            c.name
        ));
    }
    let want = c.want_loss[0];
    let scaled: f64 = f * mags.iter().map(|m| m.0).sum::<f64>();
    let r = match check(got, want, 2, 0.0) {
        Ok(u) => Ok(u),
        Err(_) if (got as f64 - want).abs() <= 2.0 * ulp_of(want) + 2f64.powi(-23) * scaled => Ok(None),
        Err(e) => Err(format!("{e} (2^-23·f·Σ|term| = {:e})", 2f64.powi(-23) * scaled)),
    };
    see("loss", 0, r);
    for i in 0..n {
        see("dpred", i, check(g[i], c.want_dpred[i], 8, 2f64.powi(-22) * f * mags[i].1));
    }
}

#[test]
fn golden_losses_f32() {
    let (mut fails, mut summary) = (vec![], Summary::default());
    let cases = cases();
    for isa in Isa::available() {
        for c in &cases {
            run(c, isa, &mut summary, &mut fails);
        }
    }
    summary.print();
    assert!(fails.is_empty(), "{} failures:\n{}", fails.len(), fails[..fails.len().min(40)].join("\n"));
}

/// The cases' own consistency, so that a malformed file fails here rather than as a bound:
/// matching lengths, a scalar loss where reduced, and Bce's predictions in [0, 1].
#[test]
fn golden_files_are_well_formed() {
    for c in cases() {
        let n = c.pred.len();
        assert!(n > 0 && c.target.len() == n && c.want_dpred.len() == n, "{}", c.name);
        let losses = if c.reduction == Reduction::None { n } else { 1 };
        assert_eq!(c.want_loss.len(), losses, "{}", c.name);
        assert_eq!(c.dloss.len(), if c.reduction == Reduction::None { n } else { 0 }, "{}", c.name);
        if c.loss == Loss::Bce {
            assert!(c.pred.iter().all(|p| (0.0..=1.0).contains(p)), "{}", c.name);
            // Sanity of the domain check on a real case: a value just outside is refused.
            let mut bad = c.pred.clone();
            bad[n / 2] = 1.0 + f32::EPSILON;
            let e = Bce::default().forward(&bad, &c.target).unwrap_err();
            assert!(
                matches!(e, Error::InvalidInput { arg: "pred", position, .. } if position == n / 2),
                "{e:?}"
            );
        }
    }
}
