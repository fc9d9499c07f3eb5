//! Gated linear units (`nnsimd::Glu`) against oracles written from the formulas, on every
//! available ISA: y = f(a)·b, da = f'(a)·(dy·b), db = dy·f(a), on separate slices and on the
//! halves of a [rows, 2·d] tensor.
//!
//! Oracle: f and f' from `nnsimd::internals::reference` (f64), the limits at ±inf from tests/common, NaN
//! for NaN. The API states its products as f32 operations: y = fl(f̃(a)·b) where f̃(a) is the
//! activation's f32 value, within `forward_bound` ULP of f(a); da is the activation's backward
//! with dy replaced by fl(dy·b). So:
//! - y (and db with dy for b) must be fl(v·b) for some f32 v within the bound of the rounded
//!   f(a) ([`product_ok`]); this holds for every input, NaN, ±inf, 0·inf and subnormals
//!   included.
//! - da must pass `common::backward_dy_ok` (the bound of `Activation::backward`) with
//!   dy' = fl(dy·b).
//! - Besides, against the exact f(a)·b in f64, where f(a), b and the product are normal, y is
//!   within 2k + 1 ULP for an activation within k ULP (one ULP of f(a) is at most two of the
//!   product, plus the product's rounding); `measured_accuracy` prints the worst case per gate
//!   and ISA.

mod common;

use common::{Guarded, Rng, SPECIALS, backward_dy_ok, isas, oracle_forward, ordinal, show, step};
use nnsimd::internals::reference::{forward_bound, ulp_distance};
use nnsimd::{Activation, Error, Glu, Isa};

/// The gates of the issue, then every other activation as a gate.
fn gates() -> Vec<Glu> {
    let mut g = vec![Glu::SWIGLU, Glu::GEGLU, Glu::GEGLU_TANH];
    for act in common::implemented() {
        if !g.iter().any(|g| g.activation() == act) {
            g.push(Glu::new(act));
        }
    }
    g
}

/// Whether `got` is fl(v·b) for some f32 v within `k` ULP of `r` (f32 rules: 0·±inf and
/// ±inf·0 are NaN, a product is rounded once).
fn product_ok(r: f32, k: i64, b: f32, got: f32) -> bool {
    if r.is_nan() || b.is_nan() {
        return got.is_nan();
    }
    let (lo, hi) = (step(r, -k), step(r, k));
    if b == 0.0 {
        return if got.is_nan() { lo.is_infinite() || hi.is_infinite() } else { got == 0.0 };
    }
    if b.is_infinite() {
        if got.is_nan() {
            return lo <= 0.0 && 0.0 <= hi;
        }
        // ±inf with the sign of v·b for some nonzero v in [lo, hi].
        let positive = (got > 0.0) == (b > 0.0);
        return got.is_infinite() && if positive { hi > 0.0 } else { lo < 0.0 };
    }
    if got.is_nan() {
        return false;
    }
    // v ↦ fl(v·b) is monotone; the f64 product of two f32 is exact, so one rounding.
    let (p, q) = ((lo as f64 * b as f64) as f32, (hi as f64 * b as f64) as f32);
    let (p, q) = (ordinal(p).min(ordinal(q)), ordinal(p).max(ordinal(q)));
    (p..=q).contains(&ordinal(got))
}

/// The bound of f̃(a) in ULP: the activation's forward bound, 0 at ±inf (the exact limit).
fn f_bound(act: &Activation, a: f32) -> i64 {
    if a.is_infinite() { 0 } else { forward_bound(act) as i64 }
}

/// One element of a forward result checked; `None` when it passes.
fn check_forward(g: &Glu, a: f32, b: f32, y: f32) -> Option<String> {
    let act = g.activation();
    let r = oracle_forward(&act, a) as f32;
    (!product_ok(r, f_bound(&act, a), b, y))
        .then(|| format!("{}: f(a)·b at a={}, b={}: got {}", act.name(), show(a), show(b), show(y)))
}

/// |dy·b| from which da may overflow: 2^112 (mish overflowed from about 2^119 in these tests).
const HUGE_DY: f32 = 5.192_297e33;

/// One element of a backward result checked.
fn check_backward(g: &Glu, a: f32, b: f32, dy: f32, da: f32, db: f32) -> Option<String> {
    let act = g.activation();
    let gb = dy * b;
    // Where |dy·b| is near f32::MAX, the activation's backward overflows in its intermediates
    // (dy times terms up to ~4 before a division), as `Activation::backward` does with such a
    // dy: ±inf (or NaN where f' is 0 or the dy·b is infinite) is accepted there.
    let huge = gb.abs() >= HUGE_DY && !a.is_nan();
    let da_ok = backward_dy_ok(&act, a, gb, da) || huge && (da.is_infinite() || da.is_nan());
    let r = oracle_forward(&act, a) as f32;
    let db_ok = product_ok(r, f_bound(&act, a), dy, db);
    (!da_ok || !db_ok).then(|| {
        format!(
            "{}: a={}, b={}, dy={}: da {} ({}), db {} ({})",
            act.name(),
            show(a),
            show(b),
            show(dy),
            show(da),
            if da_ok { "ok" } else { "BAD" },
            show(db),
            if db_ok { "ok" } else { "BAD" }
        )
    })
}

/// A value: the whole f32 line, N(0, 3²), the specials.
fn value(rng: &mut Rng) -> f32 {
    rng.value()
}

/// dy: N(0, 1), sometimes from a wide range of exponents, 0 or NaN.
fn dy_value(rng: &mut Rng) -> f32 {
    match rng.next_u64() % 16 {
        0 => f32::NAN,
        1 => 0.0,
        2..=4 => {
            let b = rng.next_u64() as u32;
            let e = ((b >> 23) & 0xff) % 140;
            f32::from_bits((b & 0x807f_ffff) | (e << 23))
        }
        _ => rng.normal(1.0),
    }
}

/// Lengths 0..=300 (every third under qemu), and a few larger.
fn lengths() -> Vec<usize> {
    let step = if common::qemu() { 3 } else { 1 };
    (0..=300).step_by(step).chain([1000, 4099]).collect()
}

fn fail_report(fails: Vec<String>) {
    let shown: Vec<&String> = fails.iter().take(12).collect();
    assert!(fails.is_empty(), "{} failures, first:\n{:#?}", fails.len(), shown);
}

#[test]
fn separate_slices_every_isa() {
    let mut rng = Rng(0x61u64);
    let mut fails = Vec::new();
    for g in gates() {
        for isa in isas() {
            for n in lengths() {
                let a: Vec<f32> = (0..n).map(|_| value(&mut rng)).collect();
                let b: Vec<f32> = (0..n).map(|_| value(&mut rng)).collect();
                let dy: Vec<f32> = (0..n).map(|_| dy_value(&mut rng)).collect();
                let off = |rng: &mut Rng| 1 + (rng.next_u64() % 15) as usize;
                let (ga, gb, gd) = (
                    Guarded::new(off(&mut rng), &a),
                    Guarded::new(off(&mut rng), &b),
                    Guarded::new(off(&mut rng), &dy),
                );
                let mut y = Guarded::blank(off(&mut rng), n);
                g.forward_with(isa, ga.slice(), gb.slice(), y.slice_mut()).unwrap();
                let mut da = Guarded::blank(off(&mut rng), n);
                let mut db = Guarded::blank(off(&mut rng), n);
                g.backward_with(isa, ga.slice(), gb.slice(), gd.slice(), da.slice_mut(), db.slice_mut())
                    .unwrap();
                for (name, gd) in [("y", &y), ("da", &da), ("db", &db)] {
                    if let Some(i) = gd.guard_damage() {
                        fails.push(format!("{isa} n={n}: {name} written outside its slice at {i}"));
                    }
                }
                for i in 0..n {
                    let what = format!("{isa} n={n} i={i}");
                    if let Some(e) = check_forward(&g, a[i], b[i], y.slice()[i]) {
                        fails.push(format!("{what} forward {e}"));
                    }
                    if let Some(e) = check_backward(&g, a[i], b[i], dy[i], da.slice()[i], db.slice()[i]) {
                        fails.push(format!("{what} backward {e}"));
                    }
                }
            }
        }
    }
    fail_report(fails);
}

/// Row widths for the halves layout: small, odd, around the vector widths, and wide.
fn widths() -> Vec<usize> {
    vec![1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100, 257]
}

#[test]
fn halves_every_isa() {
    let mut rng = Rng(0x4a1f);
    let mut fails = Vec::new();
    for g in gates() {
        for isa in isas() {
            for d in widths() {
                for rows in [0usize, 1, 2, 5] {
                    let x: Vec<f32> = (0..rows * 2 * d).map(|_| value(&mut rng)).collect();
                    let dy: Vec<f32> = (0..rows * d).map(|_| dy_value(&mut rng)).collect();
                    let gx = Guarded::new(1 + (rng.next_u64() % 15) as usize, &x);
                    let gdy = Guarded::new(1 + (rng.next_u64() % 15) as usize, &dy);
                    let mut y = Guarded::blank(1 + (rng.next_u64() % 15) as usize, rows * d);
                    g.forward_halves_with(isa, gx.slice(), d, y.slice_mut()).unwrap();
                    let mut dx = Guarded::blank(1 + (rng.next_u64() % 15) as usize, rows * 2 * d);
                    g.backward_halves_with(isa, gx.slice(), d, gdy.slice(), dx.slice_mut()).unwrap();
                    if y.guard_damage().is_some() || dx.guard_damage().is_some() {
                        fails.push(format!("{isa} d={d} rows={rows}: written outside the output"));
                    }
                    for r in 0..rows {
                        for j in 0..d {
                            let (a, b) = (x[r * 2 * d + j], x[r * 2 * d + d + j]);
                            let what = format!("{isa} d={d} rows={rows} [{r}, {j}]");
                            if let Some(e) = check_forward(&g, a, b, y.slice()[r * d + j]) {
                                fails.push(format!("{what} forward {e}"));
                            }
                            let (da, db) = (dx.slice()[r * 2 * d + j], dx.slice()[r * 2 * d + d + j]);
                            if let Some(e) = check_backward(&g, a, b, dy[r * d + j], da, db) {
                                fails.push(format!("{what} backward {e}"));
                            }
                        }
                    }
                }
            }
        }
    }
    fail_report(fails);
}

/// Every special value against every other, as a and as b.
#[test]
fn specials_every_isa() {
    let n = SPECIALS.len();
    let a: Vec<f32> = (0..n * n).map(|i| SPECIALS[i / n]).collect();
    let b: Vec<f32> = (0..n * n).map(|i| SPECIALS[i % n]).collect();
    let dy: Vec<f32> = (0..n * n).map(|i| [1.0, -0.5, 3.0][i % 3]).collect();
    let mut fails = Vec::new();
    for g in gates() {
        for isa in isas() {
            let (mut y, mut da, mut db) = (vec![0.0; n * n], vec![0.0; n * n], vec![0.0; n * n]);
            g.forward_with(isa, &a, &b, &mut y).unwrap();
            g.backward_with(isa, &a, &b, &dy, &mut da, &mut db).unwrap();
            for i in 0..n * n {
                if let Some(e) = check_forward(&g, a[i], b[i], y[i]) {
                    fails.push(format!("{isa} forward {e}"));
                }
                if let Some(e) = check_backward(&g, a[i], b[i], dy[i], da[i], db[i]) {
                    fails.push(format!("{isa} backward {e}"));
                }
            }
        }
    }
    fail_report(fails);
}

/// NaN in a or b: NaN in y, da and db; the mathematical cases at ±inf.
#[test]
fn nan_and_inf() {
    let nan = f32::NAN;
    for isa in isas() {
        for g in [Glu::SWIGLU, Glu::GEGLU, Glu::GEGLU_TANH] {
            let a = [nan, 1.0, f32::INFINITY, f32::NEG_INFINITY, f32::INFINITY];
            let b = [1.0, nan, 2.0, 2.0, 0.0];
            let mut y = [0.0f32; 5];
            g.forward_with(isa, &a, &b, &mut y).unwrap();
            assert!(y[0].is_nan() && y[1].is_nan(), "{isa}: NaN in, NaN out: {y:?}");
            // f(+inf) = +inf, f(−inf) = −0: inf·2, −0·2, inf·0 = NaN.
            assert_eq!(y[2], f32::INFINITY, "{isa}");
            assert_eq!(y[3], 0.0, "{isa}");
            assert!(y[4].is_nan(), "{isa}: inf·0 is NaN");
            let (mut da, mut db) = ([0.0f32; 5], [0.0f32; 5]);
            g.backward_with(isa, &a, &b, &[1.0; 5], &mut da, &mut db).unwrap();
            assert!(da[0].is_nan() && db[0].is_nan() && da[1].is_nan(), "{isa}: {da:?} {db:?}");
            // f'(+inf) = 1: da = 2; f'(−inf) = 0: da = 0; db = f(a).
            assert_eq!((da[2], db[2]), (2.0, f32::INFINITY), "{isa}");
            assert!(da[3].abs() < 1e-40 && db[3] == 0.0, "{isa}: {} {}", da[3], db[3]);
        }
    }
}

/// The worst distance to the exact f(a)·b (f64), over N(0, 3²) a and N(0, 1) b, where every
/// factor and the product are normal; printed, and within 2k + 1 ULP.
#[test]
fn measured_accuracy() {
    let n = if common::qemu() { 20_000 } else { 200_000 };
    let mut rng = Rng(0xacc);
    let a: Vec<f32> =
        (0..n).map(|i| if i % 2 == 0 { rng.normal(3.0) } else { rng.uniform(-20.0, 20.0) as f32 }).collect();
    let b: Vec<f32> = (0..n).map(|_| rng.normal(1.0)).collect();
    let dy: Vec<f32> = (0..n).map(|_| rng.normal(1.0)).collect();
    for g in [Glu::SWIGLU, Glu::GEGLU, Glu::GEGLU_TANH] {
        let act = g.activation();
        for isa in isas() {
            let mut y = vec![0.0f32; n];
            g.forward_with(isa, &a, &b, &mut y).unwrap();
            let mut worst = (0u64, 0.0f32, 0.0f32);
            for i in 0..n {
                let f = oracle_forward(&act, a[i]);
                let want = f * b[i] as f64;
                let normal = |v: f64| v.abs() >= f32::MIN_POSITIVE as f64;
                if !(normal(f) && normal(b[i] as f64) && normal(want)) {
                    continue;
                }
                let u = ulp_distance(y[i], want);
                if u > worst.0 {
                    worst = (u, a[i], b[i]);
                }
            }
            let k = forward_bound(&act);
            println!(
                "{} forward {isa}: max {} ULP of f(a)·b (a={}, b={})",
                act.name(),
                worst.0,
                worst.1,
                worst.2
            );
            assert!(worst.0 <= 2 * k + 1, "{} {isa}: {} ULP", act.name(), worst.0);
            // Backward, printed only (its bound is checked per element elsewhere): da against
            // the exact dy·b·f'(a) away from the roots of f', db against dy·f(a).
            let (mut da, mut db) = (vec![0.0f32; n], vec![0.0f32; n]);
            g.backward_with(isa, &a, &b, &dy, &mut da, &mut db).unwrap();
            let (mut wa, mut wb) = (0u64, 0u64);
            for i in 0..n {
                let fp = common::oracle_derivative(&act, a[i]);
                let want_a = dy[i] as f64 * b[i] as f64 * fp;
                let want_b = dy[i] as f64 * oracle_forward(&act, a[i]);
                let normal = |v: f64| v.abs() >= f32::MIN_POSITIVE as f64;
                if normal(want_a) && (fp.abs() >= 1.0 / 64.0 || a[i].abs() > 4.0) {
                    wa = wa.max(ulp_distance(da[i], want_a));
                }
                if normal(want_b) {
                    wb = wb.max(ulp_distance(db[i], want_b));
                }
            }
            println!(
                "{} backward {isa}: max {wa} ULP in da (|f'| ≥ 2^-6 or |a| > 4), {wb} ULP in db",
                act.name()
            );
        }
    }
}

#[cfg(feature = "rayon")]
#[test]
fn same_bits_for_any_thread_count() {
    let (n, d) = (100_000, 300);
    let mut rng = Rng(0x7d);
    let a: Vec<f32> = (0..n).map(|_| value(&mut rng)).collect();
    let b: Vec<f32> = (0..n).map(|_| value(&mut rng)).collect();
    let dy: Vec<f32> = (0..n).map(|_| rng.normal(1.0)).collect();
    let x: Vec<f32> = (0..2 * n - 2 * n % (2 * d)).map(|_| value(&mut rng)).collect();
    let hdy = &dy[..x.len() / 2];
    let bits = |v: &[f32]| v.iter().map(|e| e.to_bits()).collect::<Vec<u32>>();
    for g in [Glu::SWIGLU, Glu::GEGLU, Glu::GEGLU_TANH, Glu::new(Activation::Relu)] {
        for isa in isas() {
            let mut runs = Vec::new();
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                runs.push(pool.install(|| {
                    let (mut y, mut da, mut db) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
                    g.forward_with(isa, &a, &b, &mut y).unwrap();
                    g.backward_with(isa, &a, &b, &dy, &mut da, &mut db).unwrap();
                    let (mut hy, mut hdx) = (vec![0.0; x.len() / 2], vec![0.0; x.len()]);
                    g.forward_halves_with(isa, &x, d, &mut hy).unwrap();
                    g.backward_halves_with(isa, &x, d, hdy, &mut hdx).unwrap();
                    [bits(&y), bits(&da), bits(&db), bits(&hy), bits(&hdx)]
                }));
            }
            for (t, r) in runs.iter().enumerate().skip(1) {
                for (j, name) in ["forward", "da", "db", "halves forward", "halves dx"].iter().enumerate() {
                    assert!(
                        r[j] == runs[0][j],
                        "{} {isa}: {name} differs between 1 and {} threads",
                        g.activation().name(),
                        t + 1
                    );
                }
            }
        }
    }
}

/// Every error leaves every output as it was.
#[test]
fn errors_write_nothing() {
    let g = Glu::SWIGLU;
    let guard = 7.5f32;
    let x = [1.0f32; 12];
    let check = |r: Result<(), Error>, want: Error, outs: &[&[f32]]| {
        assert_eq!(r, Err(want));
        assert!(outs.iter().all(|o| o.iter().all(|&v| v == guard)), "output written on error");
    };
    let (mut y, mut da, mut db) = ([guard; 12], [guard; 12], [guard; 12]);
    let mismatch = |arg, expected, found| Error::LengthMismatch { arg, expected, found };
    check(g.forward(&x, &x[..11], &mut y), mismatch("b", 12, 11), &[&y]);
    check(g.forward(&x, &x, &mut y[..11]), mismatch("y", 12, 11), &[&y]);
    check(g.backward(&x, &x, &x[..3], &mut da, &mut db), mismatch("dy", 12, 3), &[&da, &db]);
    check(g.backward(&x, &x, &x, &mut da[..5], &mut db), mismatch("da", 12, 5), &[&da, &db]);
    check(g.backward(&x, &x, &x, &mut da, &mut db[..5]), mismatch("db", 12, 5), &[&da, &db]);
    // Halves: d = 0, 2·d overflowing, x not whole rows, y/dy/dx lengths.
    let d0 = Error::InvalidParameter { name: "d", value: 0.0, expected: "at least 1" };
    check(g.forward_halves(&x, 0, &mut y[..6]), d0.clone(), &[&y]);
    check(g.backward_halves(&x, 0, &x[..6], &mut da), d0, &[&da]);
    check(g.forward_halves(&x, usize::MAX / 2 + 1, &mut y[..6]), Error::ShapeOverflow, &[&y]);
    check(
        g.forward_halves(&x, 4, &mut y[..6]),
        Error::NotMultiple { arg: "x", found: 12, multiple_of: 8 },
        &[&y],
    );
    check(
        g.backward_halves(&x, 5, &x[..6], &mut da),
        Error::NotMultiple { arg: "x", found: 12, multiple_of: 10 },
        &[&da],
    );
    check(g.forward_halves(&x, 3, &mut y[..5]), mismatch("y", 6, 5), &[&y]);
    check(g.backward_halves(&x, 3, &x[..5], &mut da), mismatch("dy", 6, 5), &[&da]);
    check(g.backward_halves(&x, 3, &x[..6], &mut da[..11]), mismatch("dx", 12, 11), &[&da]);
    // A gate with a bad parameter, and an ISA this CPU lacks.
    let bad = Glu::new(Activation::Elu { alpha: -1.0 });
    assert!(matches!(bad.forward(&x, &x, &mut y), Err(Error::InvalidParameter { name: "alpha", .. })));
    assert!(matches!(bad.backward_halves(&x, 3, &x[..6], &mut da), Err(Error::InvalidParameter { .. })));
    assert!(y.iter().chain(&da).all(|&v| v == guard));
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        check(g.forward_with(isa, &x, &x, &mut y), Error::IsaUnavailable(isa), &[&y]);
        check(g.backward_halves_with(isa, &x, 3, &x[..6], &mut da), Error::IsaUnavailable(isa), &[&da]);
    }
}
