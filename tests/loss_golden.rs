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

mod common;

use common::golden::{self, tensor, tensor_f32};
use common::losses::{Loss, sigmoid, ulp_of};
use nnsimd::internals::reference::ulp_distance;
use nnsimd::loss::{Bce, Reduction};
use nnsimd::{Error, Isa};

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

/// Every element-wise loss case, by file name.
fn cases() -> Vec<Case> {
    let cases: Vec<Case> = golden::files()
        .into_iter()
        .filter_map(|(name, v)| {
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
            let reduction = golden::reduction(params, &name);
            let (inputs, outputs) = (&v["inputs"], &v["outputs"]);
            let dloss = if reduction == Reduction::None { tensor_f32(&inputs["dloss"]) } else { vec![] };
            Some(Case {
                name,
                loss,
                reduction,
                pred: tensor_f32(&inputs["pred"]),
                target: tensor_f32(&inputs["target"]),
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
type Summary = golden::Summary<Key>;

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
        c.loss.forward_none(c.reduction, isa, p, t, &mut lo).unwrap();
        c.loss.forward_backward_none(c.reduction, isa, p, t, &c.dloss, &mut lo2, &mut g).unwrap();
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
    let got = c.loss.forward(c.reduction, isa, p, t).unwrap();
    let again = c.loss.forward_backward(c.reduction, isa, p, t, &mut g).unwrap();
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
    summary.print(|(op, r, pass, isa)| format!("{op} {r} {pass} {isa}"));
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
