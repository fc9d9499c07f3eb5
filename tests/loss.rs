//! The element-wise losses of `nnsimd::loss` (Mse, L1, Huber, SmoothL1, Bce, BceWithLogits,
//! KlDiv) on every available ISA against an f64 oracle written here from PyTorch's formulas
//! (`torch.nn.functional`): every length from 0 to 300 and a few long ones, misaligned slices,
//! every reduction, their parameters, the special values, thread counts, bf16/f16, and the errors
//! (with nothing written).
//!
//! Bounds (f = the reduction's factor: 1 for Sum, 1/n for Mean, 1/b for BatchMean(b)):
//! - a reduced loss within 2 ULP + 2^-23·f·Σ|term| of f·Σ term, the sum of the f64 terms taken
//!   in f64. |term| is the magnitude of the term's parts: for KlDiv without log_target
//!   |t|·(|ln t| + |p|), for BceWithLogits |(1 − t)·x| + L·(ln(1 + e^−|x|) + max(−x, 0)) with
//!   L = 1 + |(w − 1)·t| the parts of l = 1 + (w − 1)·t (they cancel for w < 1), for Bce
//!   |t·ln p| + |(1 − t)·ln(1 − p)| (logs clamped), else |term|;
//! - with Reduction::None each loss within 4 ULP, or 2^-22·|term| absolute;
//! - each gradient element (derivative × f, or × dloss[i]) within 8 ULP, or, where the
//!   derivative is a difference that cancels (BceWithLogits l·σ(x) − w·t), within
//!   2^-22·|scale|·(L·σ(x) + |w·t|) absolute.
//!
//! NaN must meet NaN, and an infinity (or an f64 value that rounds to one in f32) must be met
//! exactly.

mod common;

use common::losses::{Loss, sigmoid, ulp_of, with_loss};
use common::{Guarded, Rng};
use nnsimd::internals::reference::ulp_distance;
use nnsimd::loss::{Bce, BceWithLogits, Huber, KlDiv, L1, Mse, Reduction, SmoothL1};
use nnsimd::{CHUNK, Error, Isa};

/// Every loss, with the parameters under test.
const LOSSES: [Loss; 15] = [
    Loss::Mse,
    Loss::L1,
    Loss::Huber(1.0),
    Loss::Huber(0.7),
    Loss::Huber(1e-3),
    Loss::Huber(50.0),
    Loss::SmoothL1(1.0),
    Loss::SmoothL1(0.25),
    Loss::SmoothL1(0.0),
    Loss::Bce,
    Loss::Logits(1.0),
    Loss::Logits(3.5),
    Loss::Logits(0.2),
    Loss::Kl(false),
    Loss::Kl(true),
];

const REDUCED: [Reduction; 3] = [Reduction::Sum, Reduction::Mean, Reduction::BatchMean(7)];

/// The oracle of one element.
#[derive(Clone, Copy, Debug)]
struct Want {
    /// The loss term.
    term: f64,
    /// The magnitude of its parts, against which its error is measured.
    mag: f64,
    /// Its derivative in the prediction.
    deriv: f64,
    /// The magnitude of the derivative's parts where they cancel, else 0.
    dmag: f64,
}

/// sgn(d) as PyTorch's l1 derivative: 0 at 0, NaN at NaN.
fn sgn(d: f64) -> f64 {
    if d == 0.0 || d.is_nan() { d * 0.0 } else { d.signum() }
}

/// The f64 oracle from PyTorch's formulas, at f32 prediction `p` (logit for BceWithLogits,
/// log-probability for KlDiv) and target `t`.
fn oracle(loss: Loss, p: f32, t: f32) -> Want {
    let (p, t) = (p as f64, t as f64);
    let d = p - t;
    let plain = |term: f64, deriv: f64| Want { term, mag: term.abs(), deriv, dmag: 0.0 };
    match loss {
        Loss::Mse => plain(d * d, 2.0 * d),
        Loss::L1 => plain(d.abs(), sgn(d)),
        Loss::Huber(delta) => {
            let c = delta as f64;
            if d.abs() < c { plain(0.5 * d * d, d) } else { plain(c * (d.abs() - 0.5 * c), c * sgn(d)) }
        }
        Loss::SmoothL1(beta) => {
            let b = beta as f64;
            if d.abs() < b { plain(0.5 * d * d / b, d / b) } else { plain(d.abs() - 0.5 * b, sgn(d)) }
        }
        Loss::Bce => {
            let lp = p.ln().max(-100.0);
            let lq = (-p).ln_1p().max(-100.0);
            let (a, b) = (t * lp, (1.0 - t) * lq);
            let deriv = (p - t) / (p * (1.0 - p)).max(1e-12);
            Want { term: -(a + b), mag: a.abs() + b.abs(), deriv, dmag: 0.0 }
        }
        Loss::Logits(w) => {
            let (x, w) = (p, w as f64);
            // l = 1 + (w − 1)·t, measured by its parts (they cancel for w < 1).
            let (l, lmag) = (1.0 + (w - 1.0) * t, 1.0 + ((w - 1.0) * t).abs());
            let sp = (-x.abs()).exp().ln_1p() + (-x).max(0.0);
            let (a, b) = ((1.0 - t) * x, l * sp);
            let (s, wt) = (sigmoid(x), w * t);
            Want { term: a + b, mag: a.abs() + lmag * sp, deriv: l * s - wt, dmag: lmag * s + wt.abs() }
        }
        Loss::Kl(false) => {
            let xlogy = if t == 0.0 { 0.0 } else { t * t.ln() };
            let mag = if t == 0.0 { 0.0 } else { t.abs() * (t.ln().abs() + p.abs()) };
            Want { term: xlogy - t * p, mag, deriv: -t, dmag: 0.0 }
        }
        Loss::Kl(true) => {
            let e = t.exp();
            plain(e * (t - p), -e)
        }
    }
}

/// `got` against `want`: NaN with NaN, an infinity (or a value that rounds to one) exactly, else
/// within `ulps` ULP or `abs` absolute (a bound that is not finite counts as 0).
fn close(got: f32, want: f64, ulps: u64, abs: f64) -> bool {
    if got.is_nan() || want.is_nan() {
        return got.is_nan() && want.is_nan();
    }
    if got.is_infinite() || (want as f32).is_infinite() {
        return got == want as f32;
    }
    let abs = if abs.is_finite() { abs } else { 0.0 };
    ulp_distance(got, want) <= ulps || (got as f64 - want).abs() <= abs
}

/// The reduced-loss rule: within 2 ULP + 2^-23·f·Σ|term| (`scaled_mag` = f·Σ|term|).
fn close_sum(got: f32, want: f64, scaled_mag: f64) -> bool {
    if got.is_nan() || want.is_nan() || got.is_infinite() || (want as f32).is_infinite() {
        return close(got, want, 0, 0.0);
    }
    let bound = 2.0 * ulp_of(want) + 2f64.powi(-23) * if scaled_mag.is_finite() { scaled_mag } else { 0.0 };
    (got as f64 - want).abs() <= bound
}

/// The factor f of a reduction over `n` elements.
fn factor(r: Reduction, n: usize) -> f64 {
    match r {
        Reduction::None | Reduction::Sum => 1.0,
        Reduction::Mean => 1.0 / n as f64,
        Reduction::BatchMean(b) => 1.0 / b as f64,
    }
}

fn show(v: f32) -> String {
    common::show(v)
}

/// Runs every method of `loss` on `isa` over `p`, `t` and checks it against the oracle:
/// forward and forward_backward with each reduction, forward_none and forward_backward_none
/// with `dloss`. Outputs start `off` elements into guarded buffers, which must stay intact.
fn check_all(isa: Isa, loss: Loss, p: &[f32], t: &[f32], dloss: &[f32], off: usize) {
    let n = p.len();
    let what = format!("{isa} {loss:?} n {n}");
    let w: Vec<Want> = p.iter().zip(t).map(|(&p, &t)| oracle(loss, p, t)).collect();
    let sum: f64 = w.iter().map(|w| w.term).sum();
    let mag: f64 = w.iter().map(|w| w.mag).sum();
    for r in REDUCED {
        let f = factor(r, n);
        let got = loss.forward(r, isa, p, t).unwrap();
        let want = sum * f;
        assert!(
            close_sum(got, want, f * mag),
            "{what} {r:?}: loss {} want {want:e} (Σ|term| {mag:e})",
            show(got)
        );
        let mut g = Guarded::blank(off, n);
        let again = loss.forward_backward(r, isa, p, t, g.slice_mut()).unwrap();
        assert!(
            again.to_bits() == got.to_bits() || again.is_nan() && got.is_nan(),
            "{what} {r:?}: forward_backward's loss"
        );
        assert_eq!(g.guard_damage(), None, "{what} {r:?}: wrote outside grad");
        for (i, (&got, w)) in g.slice().iter().zip(&w).enumerate() {
            let want = w.deriv * f;
            assert!(
                close(got, want, 8, 2f64.powi(-22) * f * w.dmag),
                "{what} {r:?}: grad[{i}] p {} t {}: {} want {want:e}",
                show(p[i]),
                show(t[i]),
                show(got)
            );
        }
    }
    let mut lo = Guarded::blank(off, n);
    loss.forward_none(Reduction::None, isa, p, t, lo.slice_mut()).unwrap();
    assert_eq!(lo.guard_damage(), None, "{what}: forward_none wrote outside loss");
    for (i, (&got, w)) in lo.slice().iter().zip(&w).enumerate() {
        assert!(
            close(got, w.term, 4, 2f64.powi(-22) * w.mag),
            "{what}: loss[{i}] p {} t {}: {} want {:e}",
            show(p[i]),
            show(t[i]),
            show(got),
            w.term
        );
    }
    let (mut lo2, mut g) = (Guarded::blank(3 - off, n), Guarded::blank(off, n));
    loss.forward_backward_none(Reduction::None, isa, p, t, dloss, lo2.slice_mut(), g.slice_mut()).unwrap();
    assert_eq!(
        (lo2.guard_damage(), g.guard_damage()),
        (None, None),
        "{what}: forward_backward_none wrote outside"
    );
    let same = lo
        .slice()
        .iter()
        .zip(lo2.slice())
        .all(|(a, b)| a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan());
    assert!(same, "{what}: forward_backward_none's losses differ from forward_none's");
    for (i, (&got, w)) in g.slice().iter().zip(&w).enumerate() {
        let s = dloss[i] as f64;
        let want = w.deriv * s;
        assert!(
            close(got, want, 8, 2f64.powi(-22) * s.abs() * w.dmag),
            "{what}: grad[{i}] p {} t {} dloss {}: {} want {want:e}",
            show(p[i]),
            show(t[i]),
            show(dloss[i]),
            show(got)
        );
    }
}

/// `v` as a slice starting `off` elements into a larger Vec (misaligned for off ≠ 0 mod lanes).
fn at(off: usize, v: &[f32]) -> Vec<f32> {
    let mut b = vec![0.5f32; off];
    b.extend_from_slice(v);
    b
}

/// One value of a probability in [0, 1]: mostly uniform, sometimes 0, 1 or near them.
fn prob(rng: &mut Rng) -> f32 {
    match rng.next_u64() % 16 {
        0 => 0.0,
        1 => 1.0,
        2 => [1e-45, 1e-30, f32::MIN_POSITIVE, 1e-7][(rng.next_u64() % 4) as usize],
        3 => 1.0 - [2f32.powi(-24), 2f32.powi(-20), 1e-3][(rng.next_u64() % 3) as usize],
        _ => rng.unit() as f32,
    }
}

/// Predictions and targets for `loss`, in its domain, spread over its regimes. Terms,
/// derivatives and their factors (e^t, σ(x)) stay in f32's normal range: below it an f32 holds
/// them to 2^-149 absolute only, which the relative bounds do not cover.
fn data(loss: Loss, n: usize, rng: &mut Rng) -> (Vec<f32>, Vec<f32>) {
    let (mut p, mut t) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let (a, b) = match loss {
            Loss::Mse | Loss::L1 | Loss::Huber(_) | Loss::SmoothL1(_) => {
                let c = match loss {
                    Loss::Huber(c) | Loss::SmoothL1(c) => c,
                    _ => 1.0,
                };
                let t = rng.normal([0.01, 1.0, 100.0][i % 3]);
                match rng.next_u64() % 8 {
                    0 => (t, t),
                    1 => (if i % 2 == 0 { c } else { -c }, 0.0),
                    _ => {
                        let spread = [1e-4, 1e-2, 0.5, 1.0, 4.0, 100.0][(rng.next_u64() % 6) as usize];
                        (t + rng.normal(spread * c.max(1e-3) as f64), t)
                    }
                }
            }
            Loss::Bce => (prob(rng), if i % 3 == 0 { (rng.next_u64() % 2) as f32 } else { prob(rng) }),
            Loss::Logits(_) => {
                let x = match rng.next_u64() % 16 {
                    0 => 0.0,
                    1 => rng.uniform(-87.0, 87.0) as f32,
                    2 => rng.normal(30.0),
                    _ => rng.normal(3.0),
                };
                (x, if i % 3 == 0 { (rng.next_u64() % 2) as f32 } else { rng.unit() as f32 })
            }
            Loss::Kl(false) => {
                let t = match rng.next_u64() % 6 {
                    0 => 0.0,
                    1 => 1.0,
                    2 => [1e-30, 1e-10, 1e-3][(rng.next_u64() % 3) as usize],
                    _ => rng.unit() as f32,
                };
                (-rng.normal(4.0).abs(), t)
            }
            Loss::Kl(true) => {
                let t = match rng.next_u64() % 8 {
                    0 => 0.0,
                    1 => -60.0,
                    2 => rng.uniform(-1.0, 30.0) as f32,
                    _ => -rng.normal(4.0).abs(),
                };
                (-rng.normal(4.0).abs(), t)
            }
        };
        p.push(a);
        t.push(b);
    }
    (p, t)
}

/// Upstream gradients: N(0, 1), with zeros, ones and large and small values among them.
fn dlosses(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n)
        .map(|_| match rng.next_u64() % 10 {
            0 => 0.0,
            1 => 1.0,
            2 => rng.normal(1e4),
            3 => rng.normal(1e-4),
            _ => rng.normal(1.0),
        })
        .collect()
}

/// Generates data for `loss` of length `n` and checks every method on `isa` at offset
/// 1 + n % 3.
fn check_random(isa: Isa, loss: Loss, n: usize, rng: &mut Rng) {
    let (p, t) = data(loss, n, rng);
    let dl = dlosses(n, rng);
    let off = 1 + n % 3;
    let (pb, tb, db) = (at(off, &p), at(3 - n % 3, &t), at(off, &dl));
    check_all(isa, loss, &pb[off..], &tb[3 - n % 3..], &db[off..], off);
}

#[test]
fn every_length_and_loss_on_every_isa() {
    let mut rng = Rng(0x5eed_1055);
    let step = if common::qemu() { 7 } else { 1 };
    for isa in common::checked_isas() {
        for n in (0..=300).step_by(step) {
            for loss in LOSSES {
                check_random(isa, loss, n, &mut rng);
            }
        }
    }
}

/// Lengths around and past the chunk boundaries (the pieces summed apart, on rayon).
#[test]
fn long_slices_on_every_isa() {
    let mut rng = Rng(77);
    for isa in common::checked_isas() {
        for n in [CHUNK - 1, CHUNK + 1, 2 * CHUNK + 77] {
            for loss in LOSSES {
                check_random(isa, loss, n, &mut rng);
            }
        }
    }
}

/// Values that are not finite, zeros of either sign, tiny and huge ones, per loss: the
/// kernels must give what the f64 formula gives (NaN where it is NaN, infinities exactly).
fn specials(loss: Loss) -> Vec<(f32, f32)> {
    let (inf, nan) = (f32::INFINITY, f32::NAN);
    let general = [0.0, -0.0, 1.0, -1.0, 2.5, -0.3, 1e-3, 1e-40, -1e30, 1e30, inf, -inf, nan];
    let pairs = |ps: &[f32], ts: &[f32]| -> Vec<(f32, f32)> {
        ps.iter().flat_map(|&p| ts.iter().map(move |&t| (p, t))).collect()
    };
    match loss {
        Loss::Mse | Loss::L1 | Loss::Huber(_) | Loss::SmoothL1(_) => pairs(&general, &general),
        Loss::Bce => pairs(
            &[0.0, -0.0, 1.0, 0.5, 1e-45, 1e-30, 1.0 - 2f32.powi(-24), 0.999],
            &[0.0, 1.0, 0.3, -0.5, 2.0, 1e3, inf, -inf, nan],
        ),
        Loss::Logits(_) => pairs(
            &[0.0, -0.0, 1.0, -1.0, 20.0, -20.0, 90.0, -90.0, 200.0, -200.0, 1e30, -1e30, inf, nan],
            &[0.0, 1.0, 0.3, -0.5, 2.0, nan],
        ),
        Loss::Kl(false) => pairs(
            &[0.0, -0.0, -1.0, -50.0, 2.0, -1e30, -inf, inf, nan],
            &[0.0, -0.0, 1.0, 0.3, 1e-30, 1e-45, -0.5, 1e30, inf, nan],
        ),
        Loss::Kl(true) => pairs(
            &[0.0, -1.0, -50.0, 3.0, -1e20, -inf, inf, nan],
            &[0.0, -0.0, -1.0, -60.0, -1e30, 20.0, -inf, inf, nan],
        ),
    }
}

#[test]
fn special_values_on_every_isa() {
    for isa in common::checked_isas() {
        for loss in LOSSES {
            let (p, t): (Vec<f32>, Vec<f32>) = specials(loss).into_iter().unzip();
            // Upstream gradients of moderate size: a derivative below f32's normal range (σ(x)
            // at x < −87) holds only 2^-149 absolute, which a large dloss would magnify.
            let dl: Vec<f32> = (0..p.len()).map(|i| [1.0, -0.5, 2.0, 0.0][i % 4]).collect();
            // Every pair alone (the loss is its term: NaN or inf decides it), then all of them.
            for i in 0..p.len() {
                check_all(isa, loss, &p[i..i + 1], &t[i..i + 1], &[1.0], 1);
            }
            check_all(isa, loss, &p, &t, &dl, 2);
        }
    }
}

/// BceWithLogits at x = −inf with w·t > 0: the mathematical limit, +inf (the loss is −x·w·t
/// plus a vanishing term there; PyTorch's own evaluation order gives −inf + inf = NaN), and the
/// gradient l·σ(−inf) − w·t = −w·t.
#[test]
fn logits_at_minus_infinity() {
    for isa in common::checked_isas() {
        for w in [1.0f32, 3.5, 0.2] {
            for t in [1.0f32, 0.3, 2.0] {
                let l = BceWithLogits { pos_weight: w, reduction: Reduction::Sum };
                let mut g = [0f32];
                let v = l.forward_backward_with(isa, &[f32::NEG_INFINITY], &[t], &mut g).unwrap();
                assert_eq!(v, f32::INFINITY, "{isa} w={w} t={t}");
                assert!((g[0] + w * t).abs() <= 2.0 * f32::EPSILON * (w * t), "{isa} w={w} t={t}: {}", g[0]);
            }
        }
    }
}

/// Parameters drawn at random: Huber δ, SmoothL1 β, the positive weight (negative ones too).
mod params {
    use super::*;
    use proptest::prelude::*;

    fn any_loss() -> impl Strategy<Value = Loss> {
        prop_oneof![
            (1e-4f32..100.0).prop_map(Loss::Huber),
            (0f32..10.0).prop_map(Loss::SmoothL1),
            (-3f32..20.0).prop_map(Loss::Logits),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: if common::qemu() { 16 } else { 128 },
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn random_parameters(loss in any_loss(), n in 0usize..200, seed in any::<u64>()) {
            let mut rng = Rng(seed);
            for isa in common::checked_isas() {
                check_random(isa, loss, n, &mut rng);
            }
        }
    }
}

#[test]
fn empty_slices() {
    for isa in common::checked_isas() {
        for loss in LOSSES {
            let e: &[f32] = &[];
            assert!(loss.forward(Reduction::Mean, isa, e, e).unwrap().is_nan(), "{loss:?}: mean of nothing");
            assert!(loss.forward_backward(Reduction::Mean, isa, e, e, &mut []).unwrap().is_nan(), "{loss:?}");
            for r in [Reduction::Sum, Reduction::BatchMean(7)] {
                assert_eq!(
                    loss.forward(r, isa, e, e).unwrap().to_bits(),
                    0,
                    "{loss:?} {r:?}: sum of nothing"
                );
                assert_eq!(
                    loss.forward_backward(r, isa, e, e, &mut []).unwrap().to_bits(),
                    0,
                    "{loss:?} {r:?}"
                );
            }
            loss.forward_none(Reduction::None, isa, e, e, &mut []).unwrap();
            loss.forward_backward_none(Reduction::None, isa, e, e, &[], &mut [], &mut []).unwrap();
        }
    }
}

/// The losses and gradients of every method, as bits, computed on a pool of `threads`.
fn on_pool(threads: usize, loss: Loss, p: &[f32], t: &[f32], dl: &[f32]) -> Vec<Vec<u32>> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<u32>>();
    pool.install(|| {
        let mut out = Vec::new();
        for r in REDUCED {
            let mut g = vec![0f32; p.len()];
            let a = with_loss!(loss, r, |l| l.forward(p, t)).unwrap();
            let b = with_loss!(loss, r, |l| l.forward_backward(p, t, &mut g)).unwrap();
            out.extend([bits(&[a, b]), bits(&g)]);
        }
        let (mut lo, mut lo2, mut g) = (vec![0f32; p.len()], vec![0f32; p.len()], vec![0f32; p.len()]);
        with_loss!(loss, Reduction::None, |l| l.forward_none(p, t, &mut lo)).unwrap();
        with_loss!(loss, Reduction::None, |l| l.forward_backward_none(p, t, dl, &mut lo2, &mut g)).unwrap();
        out.extend([bits(&lo), bits(&lo2), bits(&g)]);
        out
    })
}

/// Bitwise the same losses and gradients on pools of 1, 2 and 3 threads, over several chunks.
#[test]
fn any_thread_count_same_bits() {
    let mut rng = Rng(11);
    let n = 3 * CHUNK + 1234;
    for loss in LOSSES {
        let (p, t) = data(loss, n, &mut rng);
        let dl = dlosses(n, &mut rng);
        let one = on_pool(1, loss, &p, &t, &dl);
        assert!(one == on_pool(2, loss, &p, &t, &dl), "{loss:?}: 2 threads differ from 1");
        assert!(one == on_pool(3, loss, &p, &t, &dl), "{loss:?}: 3 threads differ from 1");
    }
}

/// bf16 and f16: the results of the f32 kernel on the widened values, the gradient rounded
/// once into the type.
#[cfg(feature = "half")]
#[test]
fn bf16_and_f16_are_f32_on_the_widened_values() {
    use nnsimd::{bf16, f16};
    let mut rng = Rng(5);
    let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan();
    for isa in common::checked_isas() {
        for n in [0, 1, 7, 33, 300, 2100, CHUNK + 5] {
            for loss in LOSSES {
                let (p32, t32) = data(loss, n, &mut rng);
                let dl = dlosses(n, &mut rng);
                macro_rules! check {
                    ($T:ty) => {{
                        let what = format!("{isa} {loss:?} {} n {n}", stringify!($T));
                        let p: Vec<$T> = p32.iter().map(|&v| <$T>::from_f32(v)).collect();
                        let t: Vec<$T> = t32.iter().map(|&v| <$T>::from_f32(v)).collect();
                        let pw: Vec<f32> = p.iter().map(|v| v.to_f32()).collect();
                        let tw: Vec<f32> = t.iter().map(|v| v.to_f32()).collect();
                        let rounded =
                            |g: &[f32]| -> Vec<$T> { g.iter().map(|&v| <$T>::from_f32(v)).collect() };
                        let same_t = |a: &[$T], b: &[$T]| {
                            a.iter().zip(b).all(|(a, b)| {
                                same(a.to_f32(), b.to_f32()) && (a.is_nan() || a.to_bits() == b.to_bits())
                            })
                        };
                        for r in REDUCED {
                            let (mut g, mut g32) = (vec![<$T>::from_f32(7.0); n], vec![0f32; n]);
                            let want = loss.forward_backward(r, isa, &pw, &tw, &mut g32).unwrap();
                            assert!(same(loss.forward(r, isa, &p, &t).unwrap(), want), "{what} {r:?}: loss");
                            assert!(
                                same(loss.forward_backward(r, isa, &p, &t, &mut g).unwrap(), want),
                                "{what} {r:?}"
                            );
                            assert!(same_t(&g, &rounded(&g32)), "{what} {r:?}: grad");
                        }
                        let (mut lo, mut lo32, mut g, mut g32) =
                            (vec![0f32; n], vec![0f32; n], vec![<$T>::from_f32(7.0); n], vec![0f32; n]);
                        loss.forward_backward_none(Reduction::None, isa, &pw, &tw, &dl, &mut lo32, &mut g32)
                            .unwrap();
                        loss.forward_backward_none(Reduction::None, isa, &p, &t, &dl, &mut lo, &mut g)
                            .unwrap();
                        assert!(lo.iter().zip(&lo32).all(|(&a, &b)| same(a, b)), "{what}: losses");
                        assert!(same_t(&g, &rounded(&g32)), "{what}: grad with dloss");
                        loss.forward_none(Reduction::None, isa, &p, &t, &mut lo).unwrap();
                        assert!(lo.iter().zip(&lo32).all(|(&a, &b)| same(a, b)), "{what}: forward_none");
                    }};
                }
                check!(bf16);
                check!(f16);
            }
        }
        // Bce's domain check on the widened values: the first bad position, past a block.
        for bad in [f32::NAN, -0.5, 1.5] {
            let mut p = vec![bf16::from_f32(0.5); 5000];
            p[4321] = bf16::from_f32(bad);
            p[4800] = bf16::from_f32(2.0);
            let mut g = vec![bf16::from_f32(7.0); 5000];
            let err = Bce::default().forward_backward_with(isa, &p, &p, &mut g).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { arg: "pred", position: 4321, .. }), "{isa}: {err:?}");
            assert!(g.iter().all(|v| v.to_f32() == 7.0), "{isa}: bf16 Bce wrote on an error");
            let p: Vec<f16> = p.iter().map(|v| f16::from_f32(v.to_f32())).collect();
            let mut lo = vec![7.0f32; 5000];
            let err = Bce { reduction: Reduction::None }.forward_none_with(isa, &p, &p, &mut lo).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { arg: "pred", position: 4321, .. }), "{isa}: {err:?}");
            assert!(lo.iter().all(|&v| v == 7.0), "{isa}: f16 Bce wrote on an error");
        }
    }
}

/// Runs every method of `loss` (with reduction `r` for the reducing ones, `rn` for the _none
/// ones) with `f` deciding the arguments, and checks that each fails with an error `ok` accepts
/// and writes nothing.
fn each_method_fails(
    isa: Isa,
    loss: Loss,
    (r, rn): (Reduction, Reduction),
    (p, t, dl): (&[f32], &[f32], &[f32]),
    (nl, ng): (usize, usize),
    ok: impl Fn(&Error) -> bool,
) {
    let what = format!(
        "{isa} {loss:?} {r:?}/{rn:?} p {} t {} dloss {} loss {nl} grad {ng}",
        p.len(),
        t.len(),
        dl.len()
    );
    let (mut lo, mut g) = (vec![7.0f32; nl], vec![7.0f32; ng]);
    let untouched = |lo: &[f32], g: &[f32]| lo.iter().chain(g).all(|&v| v == 7.0);
    let e = loss.forward(r, isa, p, t).unwrap_err();
    assert!(ok(&e), "{what}: forward: {e:?}");
    let e = loss.forward_backward(r, isa, p, t, &mut g).unwrap_err();
    assert!(ok(&e) && untouched(&lo, &g), "{what}: forward_backward: {e:?}");
    let e = loss.forward_none(rn, isa, p, t, &mut lo).unwrap_err();
    assert!(ok(&e) && untouched(&lo, &g), "{what}: forward_none: {e:?}");
    let e = loss.forward_backward_none(rn, isa, p, t, dl, &mut lo, &mut g).unwrap_err();
    assert!(ok(&e) && untouched(&lo, &g), "{what}: forward_backward_none: {e:?}");
}

#[test]
fn errors_write_nothing() {
    let (p, t, dl) = ([0.25f32; 9], [0.5f32; 9], [1.0f32; 9]);
    let ok_r = (Reduction::Mean, Reduction::None);
    for isa in common::checked_isas() {
        for loss in LOSSES {
            // Lengths: each argument named.
            let mismatch = |arg: &'static str| move |e: &Error| matches!(e, Error::LengthMismatch { arg: a, expected: 9, found: 8 } if *a == arg);
            let mut g8 = [7.0f32; 8];
            for (r, rn) in [ok_r, (Reduction::Sum, Reduction::None)] {
                let e = loss.forward(r, isa, &p, &t[..8]).unwrap_err();
                assert!(mismatch("target")(&e), "{loss:?}: {e:?}");
                let e = loss.forward_backward(r, isa, &p, &t, &mut g8).unwrap_err();
                assert!(mismatch("grad")(&e) && g8 == [7.0; 8], "{loss:?}: {e:?}");
                let mut lo8 = [7.0f32; 8];
                let e = loss.forward_none(rn, isa, &p, &t, &mut lo8).unwrap_err();
                assert!(mismatch("loss")(&e) && lo8 == [7.0; 8], "{loss:?}: {e:?}");
                let (mut lo, mut g) = ([7.0f32; 9], [7.0f32; 9]);
                let e = loss.forward_backward_none(rn, isa, &p, &t, &dl[..8], &mut lo, &mut g).unwrap_err();
                assert!(mismatch("dloss")(&e) && lo == [7.0; 9] && g == [7.0; 9], "{loss:?}: {e:?}");
                let e = loss.forward_backward_none(rn, isa, &p, &t, &dl, &mut lo8, &mut g).unwrap_err();
                assert!(mismatch("loss")(&e) && lo8 == [7.0; 8] && g == [7.0; 9], "{loss:?}: {e:?}");
                let e = loss.forward_backward_none(rn, isa, &p, &t, &dl, &mut lo, &mut g8).unwrap_err();
                assert!(mismatch("grad")(&e) && lo == [7.0; 9] && g8 == [7.0; 8], "{loss:?}: {e:?}");
                let e = loss.forward_backward_none(rn, isa, &p, &t[..8], &dl, &mut lo, &mut g).unwrap_err();
                assert!(mismatch("target")(&e) && lo == [7.0; 9] && g == [7.0; 9], "{loss:?}: {e:?}");
            }
            // The other kind of reduction, and a batch of 0.
            let reduction = |e: &Error| matches!(e, Error::Reduction(_));
            each_method_fails(isa, loss, (Reduction::None, Reduction::Sum), (&p, &t, &dl), (9, 9), reduction);
            each_method_fails(
                isa,
                loss,
                (Reduction::None, Reduction::Mean),
                (&p, &t, &dl),
                (9, 9),
                reduction,
            );
            each_method_fails(
                isa,
                loss,
                (Reduction::None, Reduction::BatchMean(3)),
                (&p, &t, &dl),
                (9, 9),
                reduction,
            );
            let e = loss.forward(Reduction::BatchMean(0), isa, &p, &t).unwrap_err();
            assert!(matches!(e, Error::InvalidParameter { name: "batch", .. }), "{loss:?}: {e:?}");
            let mut g = [7.0f32; 9];
            let e = loss.forward_backward(Reduction::BatchMean(0), isa, &p, &t, &mut g).unwrap_err();
            assert!(
                matches!(e, Error::InvalidParameter { name: "batch", .. }) && g == [7.0; 9],
                "{loss:?}: {e:?}"
            );
        }
        // Parameters out of range.
        let (nan, inf) = (f32::NAN, f32::INFINITY);
        let bad: [(Loss, &str); 12] = [
            (Loss::Huber(0.0), "delta"),
            (Loss::Huber(-0.0), "delta"),
            (Loss::Huber(-1.0), "delta"),
            (Loss::Huber(nan), "delta"),
            (Loss::Huber(inf), "delta"),
            (Loss::SmoothL1(-1e-30), "beta"),
            (Loss::SmoothL1(-1.0), "beta"),
            (Loss::SmoothL1(nan), "beta"),
            (Loss::SmoothL1(inf), "beta"),
            (Loss::Logits(nan), "pos_weight"),
            (Loss::Logits(inf), "pos_weight"),
            (Loss::Logits(-inf), "pos_weight"),
        ];
        for (loss, name) in bad {
            let param = move |e: &Error| matches!(e, Error::InvalidParameter { name: n, .. } if *n == name);
            each_method_fails(isa, loss, ok_r, (&p, &t, &dl), (9, 9), param);
        }
        // Bce's predictions outside [0, 1]: the first bad position, whatever comes after.
        let bce = |e: &Error, at: usize| matches!(e, Error::InvalidInput { arg: "pred", position, .. } if *position == at);
        for (bad, at) in [(f32::NAN, 0), (-0.1, 4), (1.0 + f32::EPSILON, 8), (inf, 3), (-inf, 5), (-1e-45, 6)]
        {
            let mut q = p;
            q[at] = bad;
            if at + 2 < 9 {
                q[at + 2] = nan;
            }
            each_method_fails(isa, Loss::Bce, ok_r, (&q, &t, &dl), (9, 9), |e| bce(e, at));
        }
        let mut long = vec![0.5f32; 3 * CHUNK];
        long[2 * CHUNK + 11] = 1.5;
        long[2 * CHUNK + 12] = -1.5;
        let (tl, dll) = (vec![0.5f32; long.len()], vec![1.0f32; long.len()]);
        each_method_fails(isa, Loss::Bce, ok_r, (&long, &tl, &dll), (long.len(), long.len()), |e| {
            bce(e, 2 * CHUNK + 11)
        });
    }
    // An ISA this machine does not have.
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        for loss in LOSSES {
            each_method_fails(isa, loss, (Reduction::Mean, Reduction::None), (&p, &t, &dl), (9, 9), |e| {
                *e == Error::IsaUnavailable(isa)
            });
        }
    }
}

/// The documented examples of the contract, exactly: Mse's Sum, Mean and gradient.
#[test]
fn small_exact_cases() {
    let (p, t) = ([1.0f32, 2.0, 4.0], [1.0f32, 1.0, 1.0]);
    for isa in common::checked_isas() {
        let mut g = [0f32; 3];
        assert_eq!(Mse::default().forward_backward_with(isa, &p, &t, &mut g), Ok(10.0 / 3.0));
        assert_eq!(g, [0.0, 2.0 / 3.0, 2.0]);
        assert_eq!(Mse { reduction: Reduction::Sum }.forward_with(isa, &p, &t), Ok(10.0));
        assert_eq!(L1 { reduction: Reduction::BatchMean(2) }.forward_with(isa, &p, &t), Ok(2.0));
        assert_eq!(Huber::default().forward_with(isa, &[0.5f32, 3.0], &[0.0, 0.0]), Ok((0.125 + 2.5) / 2.0));
    }
    // PyTorch's defaults.
    assert_eq!(Mse::default().reduction, Reduction::Mean);
    assert_eq!((Huber::default().delta, SmoothL1::default().beta), (1.0, 1.0));
    assert_eq!(BceWithLogits::default().pos_weight, 1.0);
    assert!(!KlDiv::default().log_target);
    assert_eq!(KlDiv::default().reduction, Reduction::Mean);
}
