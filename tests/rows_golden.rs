//! Row kernels against PyTorch's float64 reference cases: `tests/golden/rows/{softmax,
//! log_softmax,logsumexp}_*.json` (made by PyTorch in float64 from float32 inputs; one JSON
//! object per case: `op`, `params`, `inputs` and `outputs`, tensors as shape, dtype and
//! row-major data, "inf"/"-inf" for infinities and null for NaN), on every available ISA. Each case gives `params.len` and `params.inner` (the kernel
//! runs `along(len, inner)` over `[outer, len, inner]`, outer = x.len() / (len·inner)).
//!
//! f32, against the case's expected values, with the bounds of `src/rows/mod.rs` (m the row's
//! maximum, Σ = Σ_j e^(x_j − m) in f64 here, s the softmax: y for softmax, e^y for log-softmax):
//! - softmax forward within 4 ULP;
//! - log-softmax forward within 4 ULP, or 2^-22·(|x − m| + ln Σ) absolute;
//! - logsumexp within 2 ULP, or 2^-23·(|m| + ln Σ) absolute;
//! - backward from the case's f32 output y and dy, within 8 ULP of `dx_from_y`, or
//!   2^-22·Σ_j |dy_j·s_j| absolute.
//!
//! (The files hold y as float32, the float64 result rounded; logsumexp and `dx_from_y` as
//! float64.)
//!
//! NaN must meet NaN and an infinity must be met exactly; `forward_inplace` and
//! `backward_inplace` must give the out-of-place bits (any NaN equals any NaN).
//!
//! bf16 and f16 (feature `half`): the case's x and dy rounded to the type, against an f64 oracle
//! written here from the formulas on those rounded inputs (backward from the oracle's output
//! rounded to the type); each result must be the oracle rounded to the type or a neighbour of
//! it.

mod common;

use common::golden::{self, tensor};
use nnsimd::internals::reference::ulp_distance;
use nnsimd::{Element, Isa, LogSoftmax, Softmax};
use serde_json::Value;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    Softmax,
    LogSoftmax,
    Logsumexp,
}

/// One reference case: for logsumexp `y` holds one value per row and `dy`, `dx` are empty.
struct Case {
    name: String,
    op: Op,
    len: usize,
    inner: usize,
    x: Vec<f32>,
    dy: Vec<f32>,
    y: Vec<f64>,
    dx: Vec<f64>,
}

fn f32s(v: Vec<f64>) -> Vec<f32> {
    v.into_iter().map(|v| v as f32).collect()
}

/// Every softmax, log-softmax and logsumexp case, by file name.
fn cases() -> Vec<Case> {
    let cases: Vec<Case> = golden::files()
        .into_iter()
        .filter_map(|(name, v)| {
            let op = match v["op"].as_str()? {
                "softmax" => Op::Softmax,
                "log_softmax" => Op::LogSoftmax,
                "logsumexp" => Op::Logsumexp,
                _ => return None,
            };
            let param = |k: &str| v["params"][k].as_u64().expect("len and inner") as usize;
            let (inputs, outputs) = (&v["inputs"], &v["outputs"]);
            let opt = |t: &Value| if t.is_null() { vec![] } else { tensor(t) };
            Some(Case {
                name,
                op,
                len: param("len"),
                inner: param("inner"),
                x: f32s(tensor(&inputs["x"])),
                dy: f32s(opt(&inputs["dy"])),
                y: tensor(if op == Op::Logsumexp { &outputs["lse"] } else { &outputs["y"] }),
                dx: opt(&outputs["dx_from_y"]),
            })
        })
        .collect();
    for op in [Op::Softmax, Op::LogSoftmax, Op::Logsumexp] {
        assert!(cases.iter().filter(|c| c.op == op).count() >= 13, "missing {op:?} cases");
    }
    cases
}

/// The element indices of each row of an `[outer, len, inner]` array of `n` elements, rows in
/// `[outer, inner]` order (logsumexp's output order).
fn rows(n: usize, len: usize, inner: usize) -> Vec<Vec<usize>> {
    (0..n / (len * inner))
        .flat_map(|o| (0..inner).map(move |i| (0..len).map(|j| (o * len + j) * inner + i).collect()))
        .collect()
}

/// A row's maximum m and Σ − 1, Σ = Σ_j e^(x_j − m) = (count of maxima) + (the others' sum), so
/// that ln Σ = log1p(Σ − 1) keeps its digits when one logit dominates. Finite m only.
fn row_sums(x: &[f64]) -> (f64, f64) {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let maxima = x.iter().filter(|&&v| v == m).count() as f64;
    let others: f64 = x.iter().filter(|&&v| v < m).map(|v| (v - m).exp()).sum();
    (m, maxima - 1.0 + others)
}

/// The f64 oracle of a row: softmax e^(x − m)/Σ, log-softmax (x − m) − ln Σ, logsumexp
/// m + ln Σ (one value).
fn forward_oracle(op: Op, x: &[f64]) -> Vec<f64> {
    let (m, s1) = row_sums(x);
    match op {
        Op::Softmax => x.iter().map(|v| (v - m).exp() / (1.0 + s1)).collect(),
        Op::LogSoftmax => x.iter().map(|v| (v - m) - s1.ln_1p()).collect(),
        Op::Logsumexp => vec![m + s1.ln_1p()],
    }
}

/// The f64 oracle of backward from the saved output y: softmax dx = y·(dy − Σ dy·y), log-softmax
/// dx = dy − e^y·Σ dy.
fn backward_oracle(op: Op, y: &[f64], dy: &[f64]) -> Vec<f64> {
    match op {
        Op::Softmax => {
            let dot: f64 = y.iter().zip(dy).map(|(y, d)| y * d).sum();
            y.iter().zip(dy).map(|(y, d)| y * (d - dot)).collect()
        }
        _ => {
            let sum: f64 = dy.iter().sum();
            y.iter().zip(dy).map(|(y, d)| d - y.exp() * sum).collect()
        }
    }
}

/// The element types under test, as seen by the checks (f32 alone needs only `to_f64`).
#[cfg_attr(not(feature = "half"), allow(dead_code))]
trait Float: Element + Default {
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    /// The position on the type's ordered line (+0 and −0 the same point).
    fn ordinal(self) -> i64;
}

impl Float for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn ordinal(self) -> i64 {
        let b = self.to_bits() as i32 as i64;
        if b < 0 { -(b & 0x7fff_ffff) } else { b }
    }
}

#[cfg(feature = "half")]
macro_rules! half_float {
    ($($T:ty),*) => {$(
        impl Float for $T {
            fn from_f64(v: f64) -> Self {
                <$T>::from_f64(v)
            }
            fn to_f64(self) -> f64 {
                <$T>::to_f64(self)
            }
            fn ordinal(self) -> i64 {
                let b = self.to_bits() as i16 as i64;
                if b < 0 { -(b & 0x7fff) } else { b }
            }
        }
    )*};
}
#[cfg(feature = "half")]
half_float!(nnsimd::bf16, nnsimd::f16);

/// Bitwise equal, or both NaN.
fn same<T: Float>(a: &[T], b: &[T]) -> bool {
    a.iter().zip(b).all(|(&a, &b)| {
        let (a, b) = (a.to_f64(), b.to_f64());
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    })
}

/// Runs `$body` with `$k` the softmax or log-softmax kernel of `$op` along `($len, $inner)`.
macro_rules! with_kernel {
    ($op:expr, $len:expr, $inner:expr, |$k:ident| $body:expr) => {
        match $op {
            Op::Softmax => {
                let $k = Softmax::along($len, $inner).unwrap();
                $body
            }
            _ => {
                let $k = LogSoftmax::along($len, $inner).unwrap();
                $body
            }
        }
    };
}

/// The kernel's results on `isa`: the forward (or logsumexp) output and, for softmax and
/// log-softmax, backward from `y_saved` and `dy`. A difference between an in-place form and the
/// out-of-place one is pushed to `fails`.
fn run<T: Float>(
    c: &Case,
    isa: Isa,
    x: &[T],
    y_saved: &[T],
    dy: &[T],
    fails: &mut Vec<String>,
) -> (Vec<T>, Vec<T>) {
    let n = x.len();
    if c.op == Op::Logsumexp {
        let mut out = vec![T::default(); n / c.len];
        LogSoftmax::along(c.len, c.inner).unwrap().logsumexp_with(isa, x, &mut out).unwrap();
        return (out, vec![]);
    }
    let (mut y, mut y2, mut dx, mut dx2) =
        (vec![T::default(); n], x.to_vec(), vec![T::default(); n], dy.to_vec());
    with_kernel!(c.op, c.len, c.inner, |k| {
        k.forward_with(isa, x, &mut y).unwrap();
        k.forward_inplace_with(isa, &mut y2).unwrap();
        k.backward_with(isa, y_saved, dy, &mut dx).unwrap();
        k.backward_inplace_with(isa, y_saved, &mut dx2).unwrap();
    });
    for (pass, a, b) in [("forward", &y, &y2), ("backward", &dx, &dx2)] {
        if !same(a, b) {
            fails.push(format!("{} {isa} {}: {pass}_inplace differs from {pass}", c.name, type_name::<T>()));
        }
    }
    (y, dx)
}

fn type_name<T>() -> &'static str {
    std::any::type_name::<T>().rsplit("::").next().unwrap()
}

/// A summary row: (op, pass, ISA, element type).
type Key = (Op, &'static str, Isa, &'static str);

/// Per summary row: the worst distance (ULP of the element type) over the results that the ULP
/// rule accepts, how many only the absolute bound accepts, and how many there are.
type Summary = golden::Summary<Key>;

/// The distance between two values of `T` along its ordered line; 0 for NaN against NaN,
/// `u64::MAX` for NaN against a number or an infinity against anything else.
#[cfg(feature = "half")]
fn distance<T: Float>(got: T, want: T) -> u64 {
    let (g, w) = (got.to_f64(), want.to_f64());
    match (g.is_nan(), w.is_nan()) {
        (true, true) => 0,
        (false, false) if (w.is_finite() && g.is_finite()) || g == w => {
            (got.ordinal() - want.ordinal()).unsigned_abs()
        }
        _ => u64::MAX,
    }
}

/// Checks one f32 result: `Ok(Some(ulp))` within `ulps` ULP, `Ok(None)` outside it but within
/// `abs`, `Err` otherwise. NaN must meet NaN, an infinity (either side) must be met exactly.
fn check(got: f32, want: f64, ulps: u64, abs: f64) -> Result<Option<u64>, String> {
    let fail = || Err(format!("got {got:e}, want {want:e}"));
    if !want.is_finite() || !got.is_finite() {
        return if (got.is_nan() && want.is_nan()) || got as f64 == want { Ok(Some(0)) } else { fail() };
    }
    match ulp_distance(got, want) {
        u if u <= ulps => Ok(Some(u)),
        _ if (got as f64 - want).abs() <= abs => Ok(None),
        _ => fail(),
    }
}

#[test]
fn golden_rows_f32() {
    let (mut fails, mut summary) = (vec![], Summary::default());
    for c in &cases() {
        let xs = rows(c.x.len(), c.len, c.inner);
        let x64: Vec<f64> = c.x.iter().map(|&v| v as f64).collect();
        let y_saved = f32s(c.y.clone());
        // The oracle of the bf16 and f16 checks agrees with PyTorch on the f32 inputs: forward
        // rounded to f32, backward within 2^-40·Σ|dy·s|.
        for (r, idx) in xs.iter().enumerate() {
            let at = |v: &[f64]| -> Vec<f64> { idx.iter().map(|&k| v[k]).collect() };
            let want = forward_oracle(c.op, &at(&x64));
            let golden = if c.op == Op::Logsumexp { vec![c.y[r]] } else { at(&c.y) };
            assert_eq!(f32s(want), f32s(golden), "{} row {r}: the test's forward oracle", c.name);
            if c.op != Op::Logsumexp {
                let (y, dy) = (at(&c.y), idx.iter().map(|&k| c.dy[k] as f64).collect::<Vec<_>>());
                let s = |y: f64| if c.op == Op::Softmax { y } else { y.exp() };
                let tol = 2f64.powi(-40) * y.iter().zip(&dy).map(|(&y, d)| (s(y) * d).abs()).sum::<f64>();
                for (want, golden) in backward_oracle(c.op, &y, &dy).into_iter().zip(at(&c.dx)) {
                    assert!((want - golden).abs() <= tol, "{} row {r}: the test's backward oracle", c.name);
                }
            }
        }
        for isa in Isa::available() {
            let (y, dx) = run(c, isa, &c.x, &y_saved, &c.dy, &mut fails);
            let mut see = |pass, k: usize, got: f32, want: f64, ulps: u64, abs: f64| match check(
                got, want, ulps, abs,
            ) {
                Ok(u) => summary.see((c.op, pass, isa, "f32"), u),
                Err(e) => fails.push(format!("{} {isa} {pass} [{k}]: {e} (x {})", c.name, c.x[k])),
            };
            for (r, idx) in xs.iter().enumerate() {
                let (m, s1) = row_sums(&idx.iter().map(|&k| x64[k]).collect::<Vec<_>>());
                let ln_sum = s1.ln_1p();
                match c.op {
                    Op::Logsumexp => {
                        see("forward", idx[0], y[r], c.y[r], 2, 2f64.powi(-23) * (m.abs() + ln_sum))
                    }
                    op => {
                        let abs = |k: usize| match op {
                            Op::LogSoftmax => 2f64.powi(-22) * ((x64[k] - m).abs() + ln_sum),
                            _ => 0.0,
                        };
                        let s = |k: usize| {
                            if op == Op::Softmax { y_saved[k] as f64 } else { (y_saved[k] as f64).exp() }
                        };
                        let dot_abs: f64 = idx.iter().map(|&k| (c.dy[k] as f64 * s(k)).abs()).sum();
                        for &k in idx {
                            see("forward", k, y[k], c.y[k], 4, abs(k));
                            see("backward", k, dx[k], c.dx[k], 8, 2f64.powi(-22) * dot_abs);
                        }
                    }
                }
            }
        }
    }
    summary.print(|(op, pass, isa, ty)| format!("{op:?} {pass} {isa} {ty}"));
    assert!(fails.is_empty(), "{} failures:\n{}", fails.len(), fails.join("\n"));
}

/// Each case as `T`: x and dy rounded to `T`, every result the f64 oracle's value on the rounded
/// inputs rounded to `T`, or a neighbour of it. Backward may also lie anywhere between the
/// roundings of oracle ∓ A, A = 2^-22·Σ_j |dy_j·s_j| (the f32 absolute bound, then the one
/// rounding on store): where dy − Σ dy·y cancels (softmax's dominant entry, y = 1 in bf16 beside
/// tiny others) the f32 result has lost the digits that T would keep.
#[cfg(feature = "half")]
fn golden_rows_as<T: Float>(fails: &mut Vec<String>, summary: &mut Summary) {
    let round = |v: &[f32]| -> Vec<T> { v.iter().map(|&v| T::from_f64(v as f64)).collect() };
    let wide = |v: &[T]| -> Vec<f64> { v.iter().map(|v| v.to_f64()).collect() };
    let name = type_name::<T>();
    for c in &cases() {
        let (x, dy) = (round(&c.x), round(&c.dy));
        let (x64, dy64) = (wide(&x), wide(&dy));
        let xs = rows(x.len(), c.len, c.inner);
        // The oracle's forward per element (per row for logsumexp), rounded to T as the saved
        // output, then its backward from that output and A.
        let mut want = vec![0.0; if c.op == Op::Logsumexp { xs.len() } else { x.len() }];
        let (mut want_dx, mut dx_abs) = (vec![0.0; dy.len()], vec![0.0; dy.len()]);
        for (r, idx) in xs.iter().enumerate() {
            let y = forward_oracle(c.op, &idx.iter().map(|&k| x64[k]).collect::<Vec<_>>());
            if c.op == Op::Logsumexp {
                want[r] = y[0];
                continue;
            }
            let y: Vec<f64> = y.iter().map(|&v| T::from_f64(v).to_f64()).collect();
            let d: Vec<f64> = idx.iter().map(|&k| dy64[k]).collect();
            let s = |y: f64| if c.op == Op::Softmax { y } else { y.exp() };
            let a = 2f64.powi(-22) * y.iter().zip(&d).map(|(&y, d)| (d * s(y)).abs()).sum::<f64>();
            for (j, (&k, dx)) in idx.iter().zip(backward_oracle(c.op, &y, &d)).enumerate() {
                (want[k], want_dx[k], dx_abs[k]) = (y[j], dx, a);
            }
        }
        let y_saved: Vec<T> = want.iter().map(|&v| T::from_f64(v)).collect();
        for isa in Isa::available() {
            let (y, dx) = run(c, isa, &x, &y_saved, &dy, fails);
            let no_abs = vec![0.0; y.len()];
            for (pass, got, want, abs) in
                [("forward", &y, &want, &no_abs), ("backward", &dx, &want_dx, &dx_abs)]
            {
                for (k, (&got, &want)) in got.iter().zip(want).enumerate() {
                    let d = distance(got, T::from_f64(want));
                    let (lo, hi) = (T::from_f64(want - abs[k]).to_f64(), T::from_f64(want + abs[k]).to_f64());
                    let bracket = abs[k] > 0.0 && (lo..=hi).contains(&got.to_f64());
                    summary.see((c.op, pass, isa, name), if d <= 1 { Some(d) } else { None });
                    if d > 1 && !bracket {
                        let got = got.to_f64();
                        fails.push(format!(
                            "{} {isa} {name} {pass} [{k}]: got {got:e}, want {want:e}",
                            c.name
                        ));
                    }
                }
            }
        }
    }
}

#[cfg(feature = "half")]
#[test]
fn golden_rows_half() {
    let (mut fails, mut summary) = (vec![], Summary::default());
    golden_rows_as::<nnsimd::bf16>(&mut fails, &mut summary);
    golden_rows_as::<nnsimd::f16>(&mut fails, &mut summary);
    summary.print(|(op, pass, isa, ty)| format!("{op:?} {pass} {isa} {ty}"));
    assert!(fails.is_empty(), "{} failures:\n{}", fails.len(), fails.join("\n"));
}
