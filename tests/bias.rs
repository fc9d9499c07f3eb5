//! Fused bias and activation (`Activation::forward_bias`, `backward_bias`) against oracles
//! written from the formulas, on every available ISA and every activation.
//!
//! The API defines z = fl(x + bias) (the f32 sum, as the unfused `f(x + bias)` has it); the
//! tests form z the same way and then use the oracles of tests/activations.rs: y within
//! `forward_bound` ULP of the f64 f(z), dx per `common::backward_dy_ok`. The bias gradient
//! dbias[j] = Σ_r dx[r, j] is checked twice:
//! - against the f64 sum of the dx the kernel wrote (each checked above): within 1 ULP plus
//!   rows·2^-44·Σ|dx| (the double-f32 column sums carry about 48 bits; rows·2^-46·Σ|dx| is
//!   their error bound, with a factor 4 of margin);
//! - against the f64 oracle Σ_r dy·f'(z) itself: each dx may be off by 9·2^-23 relative (8
//!   ULP of f', 1 for the product with dy), or 2^-23·|dy| absolute near a root of f', plus
//!   two subnormal steps, so the sum within the sum of those, plus the bound above.

mod common;

use common::{Guarded, Rng, backward_dy_ok, implemented, isas, oracle_derivative, oracle_forward, show};
use nnsimd::internals::reference::{forward_bound, near_root, near_root_abs, ulp_distance};
use nnsimd::{Activation, Error, Isa};

/// (rows, d) shapes: d around the vector widths and odd, rows up to a few hundred elements.
fn shapes() -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    for d in [1usize, 2, 3, 5, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 257] {
        for rows in [0usize, 1, 2, 3, 7] {
            v.push((rows, d));
        }
    }
    v.extend([(40, 9), (300, 1), (1, 300), (13, 23)]);
    if common::qemu() {
        v.retain(|&(r, d)| r * d <= 300);
    }
    v
}

fn off(rng: &mut Rng) -> usize {
    1 + (rng.next_u64() % 15) as usize
}

/// The ULP of f32 at |v| (the step above it), as f64.
fn ulp_at(v: f64) -> f64 {
    let f = (v.abs() as f32).min(f32::MAX);
    (f32::from_bits(f.to_bits() + 1) - f) as f64
}

struct Run {
    y: Vec<f32>,
    dx: Vec<f32>,
    db: Vec<f32>,
}

/// Forward and backward through guarded, misaligned slices; outside writes are failures.
fn run(
    act: &Activation,
    isa: Isa,
    x: &[f32],
    bias: &[f32],
    dy: &[f32],
    rng: &mut Rng,
) -> Result<Run, String> {
    let (n, d) = (x.len(), bias.len());
    let (gx, gbias, gdy) =
        (Guarded::new(off(rng), x), Guarded::new(off(rng), bias), Guarded::new(off(rng), dy));
    let mut y = Guarded::blank(off(rng), n);
    act.forward_bias_with(isa, gx.slice(), gbias.slice(), y.slice_mut()).map_err(|e| e.to_string())?;
    let (mut dx, mut db) = (Guarded::blank(off(rng), n), Guarded::blank(off(rng), d));
    act.backward_bias_with(isa, gx.slice(), gbias.slice(), gdy.slice(), dx.slice_mut(), db.slice_mut())
        .map_err(|e| e.to_string())?;
    for (name, g) in [("y", &y), ("dx", &dx), ("dbias", &db)] {
        if let Some(i) = g.guard_damage() {
            return Err(format!("{name} written outside its slice at {i}"));
        }
    }
    Ok(Run { y: y.slice().to_vec(), dx: dx.slice().to_vec(), db: db.slice().to_vec() })
}

/// One run's inputs.
struct Case<'a> {
    act: &'a Activation,
    x: &'a [f32],
    bias: &'a [f32],
    dy: &'a [f32],
}

/// y and dx of every element; the fails go into `fails`.
fn check_elements(c: &Case, r: &Run, what: &str, fails: &mut Vec<String>) {
    let Case { act, x, bias, dy } = *c;
    let d = bias.len();
    for i in 0..x.len() {
        let z = x[i] + bias[i % d];
        let want = oracle_forward(act, z);
        if ulp_distance(r.y[i], want) > forward_bound(act) {
            fails.push(format!("{what} [{i}] forward at z={}: {} vs {want:e}", show(z), show(r.y[i])));
        }
        if !backward_dy_ok(act, z, dy[i], r.dx[i]) {
            fails.push(format!(
                "{what} [{i}] backward at z={}, dy={}: {}",
                show(z),
                show(dy[i]),
                show(r.dx[i])
            ));
        }
    }
}

/// The bias gradient, both ways (module docs).
fn check_dbias(c: &Case, r: &Run, what: &str, fails: &mut Vec<String>) {
    let Case { act, x, bias, dy } = *c;
    let d = bias.len();
    let rows = x.len() / d;
    for (j, (&got, &bj)) in r.db.iter().zip(bias).enumerate() {
        let col = (0..rows).map(|i| i * d + j);
        // The sum of the written dx.
        let sum: f64 = col.clone().map(|i| r.dx[i] as f64).sum();
        let abs: f64 = col.clone().map(|i| (r.dx[i] as f64).abs()).sum();
        let slack = rows as f64 * abs * 2f64.powi(-44);
        if sum.is_nan() {
            if !got.is_nan() {
                fails.push(format!("{what} dbias[{j}]: {} but a dx is NaN", show(got)));
            }
            continue;
        }
        if (got as f64 - sum).abs() > ulp_at(sum) + slack {
            fails.push(format!("{what} dbias[{j}]: {} vs Σdx {sum:e}", show(got)));
        }
        // The f64 oracle Σ dy·f'(z).
        let (mut exact, mut err) = (0.0f64, ulp_at(sum) + slack);
        for i in col {
            let z = x[i] + bj;
            let fp = oracle_derivative(act, z);
            let t = dy[i] as f64 * fp;
            exact += t;
            err += t.abs() * 9.0 * 2f64.powi(-23) + 2.0 * 2f64.powi(-149);
            if near_root(act, z, fp) {
                err += (dy[i] as f64).abs() * near_root_abs(act);
            }
        }
        if (got as f64 - exact).abs() > err {
            fails.push(format!("{what} dbias[{j}]: {} vs oracle {exact:e} (bound {err:e})", show(got)));
        }
    }
}

fn fail_report(fails: Vec<String>) {
    let shown: Vec<&String> = fails.iter().take(12).collect();
    assert!(fails.is_empty(), "{} failures, first:\n{:#?}", fails.len(), shown);
}

/// Moderate finite data (x ~ N(0, 3²), bias ~ N(0, 1), dy ~ N(0, 1)), so that the column
/// sums are finite and meaningful: every activation, ISA and shape.
#[test]
fn every_activation_every_isa() {
    let mut rng = Rng(0xb1a5);
    let mut fails = Vec::new();
    for act in implemented() {
        for isa in isas() {
            for (rows, d) in shapes() {
                let x: Vec<f32> = (0..rows * d).map(|_| rng.normal(3.0)).collect();
                let bias: Vec<f32> = (0..d).map(|_| rng.normal(1.0)).collect();
                let dy: Vec<f32> = (0..rows * d).map(|_| rng.normal(1.0)).collect();
                let what = format!("{} {isa} [{rows}, {d}]", act.name());
                match run(&act, isa, &x, &bias, &dy, &mut rng) {
                    Ok(r) => {
                        let c = Case { act: &act, x: &x, bias: &bias, dy: &dy };
                        check_elements(&c, &r, &what, &mut fails);
                        check_dbias(&c, &r, &what, &mut fails);
                    }
                    Err(e) => fails.push(format!("{what}: {e}")),
                }
            }
        }
    }
    fail_report(fails);
}

/// Values from the whole f32 line (NaN, ±inf, subnormals, huge) in x and bias: the element
/// oracles, and NaN in dbias exactly where a dx of its column is NaN.
#[test]
fn whole_line_every_isa() {
    let mut rng = Rng(0x11ae);
    let mut fails = Vec::new();
    for act in implemented() {
        for isa in isas() {
            for (rows, d) in [(5usize, 33usize), (3, 17), (1, 64), (9, 7)] {
                let x: Vec<f32> = (0..rows * d).map(|_| rng.value()).collect();
                let bias: Vec<f32> = (0..d).map(|_| rng.value()).collect();
                let dy: Vec<f32> = (0..rows * d).map(|_| rng.normal(1.0)).collect();
                let what = format!("{} {isa} [{rows}, {d}]", act.name());
                match run(&act, isa, &x, &bias, &dy, &mut rng) {
                    Ok(r) => {
                        check_elements(
                            &Case { act: &act, x: &x, bias: &bias, dy: &dy },
                            &r,
                            &what,
                            &mut fails,
                        );
                        for j in 0..d {
                            let any_nan = (0..rows).any(|i| r.dx[i * d + j].is_nan());
                            if any_nan && !r.db[j].is_nan() {
                                fails.push(format!("{what} dbias[{j}] = {} with a NaN dx", r.db[j]));
                            }
                        }
                    }
                    Err(e) => fails.push(format!("{what}: {e}")),
                }
            }
        }
    }
    fail_report(fails);
}

/// NaN in the bias makes its column NaN; ±inf in x gives the limits.
#[test]
fn nan_and_inf() {
    for isa in isas() {
        let act = Activation::Silu;
        let x = [1.0f32, f32::INFINITY, f32::NEG_INFINITY, 2.0];
        let bias = [f32::NAN, 0.5];
        let mut y = [0.0f32; 4];
        act.forward_bias_with(isa, &x, &bias, &mut y).unwrap();
        assert!(y[0].is_nan() && y[2].is_nan(), "{isa}: {y:?}");
        assert_eq!(y[1], f32::INFINITY, "{isa}");
        let (mut dx, mut db) = ([0.0f32; 4], [0.0f32; 2]);
        act.backward_bias_with(isa, &x, &bias, &[1.0; 4], &mut dx, &mut db).unwrap();
        assert!(db[0].is_nan() && dx[0].is_nan() && dx[2].is_nan(), "{isa}: {dx:?} {db:?}");
        // silu'(+inf) = 1, and silu'(2.5).
        let want = 1.0 + oracle_derivative(&act, 2.5);
        assert!(ulp_distance(db[1], want) <= 8, "{isa}: {} vs {want}", db[1]);
        // Empty rows: a zero gradient is written.
        let mut db = [9.0f32; 3];
        act.backward_bias_with(isa, &[], &[1.0; 3], &[], &mut [], &mut db).unwrap();
        assert_eq!(db, [0.0; 3]);
    }
}

/// An infinite dx decides its column's dbias even where the finite dx of the column overflow
/// f32 in their partial sums (which gave NaN for −inf before): relu at x = 1 passes dy
/// through, 3·10^38 in every row but one, −inf there (+inf and −inf in two rows: NaN).
#[test]
fn infinite_dx_decides_dbias() {
    let act = Activation::Relu;
    for isa in isas() {
        for d in [1usize, 3, 17, 40] {
            let rows = 150;
            for at in (0..rows).step_by(7) {
                for both in [false, true] {
                    let x = vec![1.0f32; rows * d];
                    let mut dy = vec![3e38f32; rows * d];
                    for j in 0..d {
                        dy[at * d + j] = f32::NEG_INFINITY;
                        if both {
                            dy[((at + 1) % rows) * d + j] = f32::INFINITY;
                        }
                    }
                    let (mut dx, mut db) = (vec![0.0f32; rows * d], vec![0.0f32; d]);
                    act.backward_bias_with(isa, &x, &vec![0.0; d], &dy, &mut dx, &mut db).unwrap();
                    for (j, &got) in db.iter().enumerate() {
                        let ok = if both { got.is_nan() } else { got == f32::NEG_INFINITY };
                        assert!(ok, "{isa} d={d} at row {at}, both {both}: dbias[{j}] = {}", show(got));
                    }
                }
            }
        }
    }
}

/// Shapes large enough to be split over threads (several pieces of the bias gradient):
/// y, dx and dbias bitwise the same for 1, 2 and 3 threads.
#[cfg(feature = "rayon")]
#[test]
fn same_bits_for_any_thread_count() {
    let mut rng = Rng(0x3d);
    let bits = |v: &[f32]| v.iter().map(|e| e.to_bits()).collect::<Vec<u32>>();
    for (rows, d) in [(8000usize, 37usize), (3, 70_000), (600, 512)] {
        let x: Vec<f32> = (0..rows * d).map(|_| rng.normal(3.0)).collect();
        let bias: Vec<f32> = (0..d).map(|_| rng.normal(1.0)).collect();
        let dy: Vec<f32> = (0..rows * d).map(|_| rng.normal(1.0)).collect();
        let acts = [Activation::Silu, Activation::Relu, Activation::Gelu, Activation::Tanh];
        for act in &acts[..if common::qemu() { 2 } else { 4 }] {
            for isa in isas() {
                let mut runs = Vec::new();
                for threads in [1, 2, 3] {
                    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                    runs.push(pool.install(|| {
                        let (mut y, mut dx, mut db) = (vec![0.0; x.len()], vec![0.0; x.len()], vec![0.0; d]);
                        act.forward_bias_with(isa, &x, &bias, &mut y).unwrap();
                        act.backward_bias_with(isa, &x, &bias, &dy, &mut dx, &mut db).unwrap();
                        [bits(&y), bits(&dx), bits(&db)]
                    }));
                }
                for (t, r) in runs.iter().enumerate().skip(1) {
                    for (j, name) in ["y", "dx", "dbias"].iter().enumerate() {
                        assert!(
                            r[j] == runs[0][j],
                            "{} {isa} [{rows}, {d}]: {name} differs, 1 vs {} threads",
                            act.name(),
                            t + 1
                        );
                    }
                }
            }
        }
    }
}

/// Every error leaves every output as it was.
#[test]
fn errors_write_nothing() {
    let act = Activation::Gelu;
    let guard = 7.5f32;
    let x = [1.0f32; 12];
    let check = |r: Result<(), Error>, want: Error, outs: &[&[f32]]| {
        assert_eq!(r, Err(want));
        assert!(outs.iter().all(|o| o.iter().all(|&v| v == guard)), "output written on error");
    };
    let (mut y, mut dx, mut db) = ([guard; 12], [guard; 12], [guard; 4]);
    let empty = Error::InvalidParameter { name: "bias", value: 0.0, expected: "at least one element" };
    check(act.forward_bias(&x, &[], &mut y), empty.clone(), &[&y]);
    check(act.backward_bias(&x, &[], &x, &mut dx, &mut db[..0]), empty, &[&dx]);
    let not_rows = Error::NotMultiple { arg: "x", found: 12, multiple_of: 5 };
    check(act.forward_bias(&x, &x[..5], &mut y), not_rows.clone(), &[&y]);
    check(act.backward_bias(&x, &x[..5], &x, &mut dx, &mut [guard; 5]), not_rows, &[&dx]);
    let mismatch = |arg, expected, found| Error::LengthMismatch { arg, expected, found };
    check(act.forward_bias(&x, &x[..4], &mut y[..8]), mismatch("y", 12, 8), &[&y]);
    check(act.backward_bias(&x, &x[..4], &x[..8], &mut dx, &mut db), mismatch("dy", 12, 8), &[&dx, &db]);
    check(act.backward_bias(&x, &x[..4], &x, &mut dx[..8], &mut db), mismatch("dx", 12, 8), &[&dx, &db]);
    check(act.backward_bias(&x, &x[..4], &x, &mut dx, &mut db[..3]), mismatch("dbias", 4, 3), &[&dx, &db]);
    let bad = Activation::Softplus { beta: 0.0, threshold: 20.0 };
    assert!(matches!(
        bad.forward_bias(&x, &x[..4], &mut y),
        Err(Error::InvalidParameter { name: "beta", .. })
    ));
    assert!(matches!(
        bad.backward_bias(&x, &x[..4], &x, &mut dx, &mut db),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(y.iter().chain(&dx).chain(&db).all(|&v| v == guard));
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        check(act.forward_bias_with(isa, &x, &x[..4], &mut y), Error::IsaUnavailable(isa), &[&y]);
        check(
            act.backward_bias_with(isa, &x, &x[..4], &x, &mut dx, &mut db),
            Error::IsaUnavailable(isa),
            &[&dx, &db],
        );
    }
}
