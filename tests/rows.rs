//! Softmax, log-softmax, logsumexp and hardmax on every available ISA against an f64 oracle
//! written here from the formulas: every row length from 0 to 300 and a few long ones,
//! misaligned slices, strided axes, the special values, in place, thread counts, bf16/f16,
//! and the errors (with nothing written).

mod common;

use nnsimd::internals::reference::ulp_distance;
use nnsimd::{Error, Hardmax, Isa, LogSoftmax, Softmax};

/// A small deterministic generator: xorshift64* and Box–Muller.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (a, b) = (self.unit().max(1e-300), self.unit());
        (-2.0 * a.ln()).sqrt() * (core::f64::consts::TAU * b).cos()
    }
    /// A row's values: scale·N(0, 1), with now and then a −inf, a dominant entry or a tie.
    fn row(&mut self, n: usize, scale: f64) -> Vec<f32> {
        let mut v: Vec<f32> = (0..n).map(|_| (scale * self.normal()) as f32).collect();
        if n > 2 {
            match (self.unit() * 6.0) as u32 {
                0 => v[(self.unit() * n as f64) as usize] = f32::NEG_INFINITY,
                1 => v[(self.unit() * n as f64) as usize] += (30.0 * scale) as f32,
                2 => v[n - 1] = v[0],
                _ => {}
            }
        }
        v
    }
}

/// The oracle of one row `x`: (max, ln Σ e^(x − max), Σ of the terms below the max, count of
/// the max).
fn stats(x: &[f32]) -> (f64, f64) {
    let m = x.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
    let (mut others, mut top) = (0f64, 0f64);
    for &v in x {
        if v as f64 == m { top += 1.0 } else { others += (v as f64 - m).exp() }
    }
    (m, ((top - 1.0) + others).ln_1p())
}

/// Whether a row is special: NaN, +inf, or nothing but −inf (its outputs are all NaN).
fn nan_row(x: &[f32]) -> bool {
    x.iter().any(|v| v.is_nan() || *v == f32::INFINITY) || x.iter().all(|v| *v == f32::NEG_INFINITY)
}

/// The rows of an `[outer, len, inner]` array as index lists.
fn rows(total: usize, len: usize, inner: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for o in 0..total / (len * inner) {
        for j in 0..inner {
            out.push((0..len).map(|k| (o * len + k) * inner + j).collect());
        }
    }
    out
}

/// Checks a forward against the oracle, row by row: softmax within 4 ULP; log-softmax within
/// 4 ULP or 2^-22·(|x − m| + ln Σ); logsumexp within 2 ULP or 2^-23·(|m| + ln Σ).
fn check_forward(what: &str, x: &[f32], len: usize, inner: usize, sm: &[f32], ls: &[f32], lse: &[f32]) {
    for (r, idx) in rows(x.len(), len, inner).iter().enumerate() {
        let row: Vec<f32> = idx.iter().map(|&i| x[i]).collect();
        let (m, l) = stats(&row);
        if row.iter().any(|v| v.is_nan()) {
            assert!(idx.iter().all(|&i| sm[i].is_nan() && ls[i].is_nan()), "{what}: NaN row {r}");
            assert!(lse[r].is_nan(), "{what}: logsumexp of a NaN row {r}");
            continue;
        }
        if nan_row(&row) {
            assert!(idx.iter().all(|&i| sm[i].is_nan() && ls[i].is_nan()), "{what}: row {r} {row:?}");
            assert_eq!(lse[r], m as f32, "{what}: logsumexp of row {r}");
            continue;
        }
        for &i in idx {
            let t = x[i] as f64 - m;
            let (want, got) = (t.exp() / l.exp(), sm[i]);
            assert!(
                ulp_distance(got, want) <= 4,
                "{what}: softmax x={} got {got} want {want} (len {len})",
                x[i]
            );
            let (want, got) = (t - l, ls[i]);
            let ok =
                ulp_distance(got, want) <= 4 || ((got as f64) - want).abs() <= 2f64.powi(-22) * (t.abs() + l);
            assert!(ok, "{what}: log_softmax x={} got {got} want {want} (len {len})", x[i]);
        }
        let (want, got) = (m + l, lse[r]);
        let ok =
            ulp_distance(got, want) <= 2 || ((got as f64) - want).abs() <= 2f64.powi(-23) * (m.abs() + l);
        assert!(ok, "{what}: logsumexp got {got} want {want} (len {len})");
    }
}

/// Checks a backward: dx within 8 ULP of the oracle, or 2^-22·Σ|dy·s| absolute.
fn check_backward(what: &str, log: bool, y: &[f32], dy: &[f32], dx: &[f32], len: usize, inner: usize) {
    for idx in rows(y.len(), len, inner) {
        let s: Vec<f64> = idx.iter().map(|&i| if log { (y[i] as f64).exp() } else { y[i] as f64 }).collect();
        let d: f64 = idx.iter().map(|&i| dy[i] as f64 * if log { 1.0 } else { y[i] as f64 }).sum();
        let scale: f64 = idx.iter().zip(&s).map(|(&i, s)| (dy[i] as f64 * s).abs()).sum();
        for (k, &i) in idx.iter().enumerate() {
            let want = if log { dy[i] as f64 - s[k] * d } else { y[i] as f64 * (dy[i] as f64 - d) };
            let got = dx[i];
            let ok = ulp_distance(got, want) <= 8 || ((got as f64) - want).abs() <= 2f64.powi(-22) * scale;
            assert!(ok, "{what}: dx got {got} want {want} (y {}, dy {}, len {len})", y[i], dy[i]);
        }
    }
}

/// Runs every kernel on `x` laid out `[_, len, inner]` on `isa`, checks against the oracle,
/// and checks that the in-place forms give the same bits.
fn run_all(isa: Isa, x: &[f32], len: usize, inner: usize, rng: &mut Rng) {
    let what = format!("{isa} len {len} inner {inner} n {}", x.len());
    let (sm, ls) = (Softmax::along(len, inner).unwrap(), LogSoftmax::along(len, inner).unwrap());
    let n = x.len();
    let (mut y, mut z, mut lse) = (vec![0f32; n], vec![0f32; n], vec![0f32; n / len]);
    sm.forward_with(isa, x, &mut y).unwrap();
    ls.forward_with(isa, x, &mut z).unwrap();
    ls.logsumexp_with(isa, x, &mut lse).unwrap();
    check_forward(&what, x, len, inner, &y, &z, &lse);
    for (k, out) in [(0, &y), (1, &z)] {
        let mut w = x.to_vec();
        if k == 0 { sm.forward_inplace_with(isa, &mut w) } else { ls.forward_inplace_with(isa, &mut w) }
            .unwrap();
        assert!(
            w.iter().zip(out).all(|(a, b)| a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()),
            "{what}: in place"
        );
    }
    // Backward from the outputs just computed (finite rows only: a NaN row's dx is NaN).
    let dy: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
    for (log, out) in [(false, &y), (true, &z)] {
        let mut dx = vec![0f32; n];
        if log { ls.backward_with(isa, out, &dy, &mut dx) } else { sm.backward_with(isa, out, &dy, &mut dx) }
            .unwrap();
        let mut finite = vec![false; n];
        for r in rows(n, len, inner) {
            if r.iter().all(|&i| out[i].is_finite() || log && out[i] == f32::NEG_INFINITY) {
                r.iter().for_each(|&i| finite[i] = true);
            }
        }
        let keep = |v: &[f32]| -> Vec<f32> { (0..n).map(|i| if finite[i] { v[i] } else { 0.0 }).collect() };
        check_backward(&what, log, &keep(out), &keep(&dy), &keep(&dx), len, inner);
        let mut d = dy.clone();
        if log {
            ls.backward_inplace_with(isa, out, &mut d)
        } else {
            sm.backward_inplace_with(isa, out, &mut d)
        }
        .unwrap();
        assert!(
            d.iter().zip(&dx).all(|(a, b)| a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()),
            "{what}: backward in place"
        );
    }
    // Hardmax: exactly 1 at the first maximum.
    let mut h = vec![0f32; n];
    Hardmax::along(len, inner).unwrap().forward_with(isa, x, &mut h).unwrap();
    for idx in rows(n, len, inner) {
        if idx.iter().any(|&i| x[i].is_nan()) {
            assert!(idx.iter().all(|&i| h[i].is_nan()), "{what}: hardmax NaN row");
            continue;
        }
        let m = idx.iter().map(|&i| x[i]).fold(f32::NEG_INFINITY, f32::max);
        let first = idx.iter().position(|&i| x[i] == m).unwrap();
        for (k, &i) in idx.iter().enumerate() {
            assert_eq!(h[i], if k == first { 1.0 } else { 0.0 }, "{what}: hardmax");
        }
    }
}

#[test]
fn every_length_and_offset_on_every_isa() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let step = if common::qemu() { 7 } else { 1 };
    for isa in Isa::available() {
        for len in (1..=300).step_by(step) {
            let scale = [0.1, 1.0, 10.0, 100.0][len % 4];
            let outer = 1 + len % 3;
            let off = len % 16;
            let mut buf = vec![0f32; off];
            for _ in 0..outer {
                buf.extend(rng.row(len, scale));
            }
            run_all(isa, &buf[off..], len, 1, &mut rng);
        }
    }
}

#[test]
fn strided_axes_on_every_isa() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for isa in Isa::available() {
        for (len, inner, outer) in
            [(1, 3, 2), (2, 2, 1), (5, 3, 2), (17, 7, 1), (40, 33, 2), (3, 300, 1), (130, 5, 1)]
        {
            let x = rng.row(len * inner * outer, 3.0);
            run_all(isa, &x, len, inner, &mut rng);
        }
    }
}

#[test]
fn long_rows_on_every_isa() {
    let mut rng = Rng(7);
    let n = nnsimd::CHUNK * 2 + 1001;
    for isa in Isa::available() {
        let mut x = rng.row(n, 3.0);
        x[5] = 40.0; // one dominant logit in a long row
        run_all(isa, &x, n, 1, &mut rng);
    }
}

#[test]
fn special_rows() {
    let (inf, nan) = (f32::INFINITY, f32::NAN);
    let cases: [&[f32]; 8] = [
        &[1.0, nan, 2.0],
        &[1.0, inf, 2.0],
        &[-inf, -inf, -inf],
        &[-inf, 0.5, -inf],
        &[3.0],
        &[f32::MAX, -f32::MAX, 0.0],
        &[88.0, -88.0, 1e-30],
        &[-1e30, 1e30, 1e30],
    ];
    let mut rng = Rng(3);
    for isa in Isa::available() {
        for x in cases {
            run_all(isa, x, x.len(), 1, &mut rng);
            // The same row repeated along a strided axis.
            let t: Vec<f32> = x.iter().flat_map(|&v| [v, v]).collect();
            run_all(isa, &t, x.len(), 2, &mut rng);
        }
        let mut y = [0f32; 1];
        Softmax::new(1).unwrap().forward_with(isa, &[-7.0], &mut y).unwrap();
        assert_eq!(y, [1.0]);
        LogSoftmax::new(1).unwrap().forward_with(isa, &[-7.0], &mut y).unwrap();
        assert_eq!(y, [0.0]);
    }
}

/// Bitwise the same results on pools of 1, 2 and 3 threads: many short rows, and long rows.
#[test]
fn any_thread_count_same_bits() {
    let mut rng = Rng(11);
    for (len, rows) in [(100, 2000), (nnsimd::CHUNK * 3 + 5, 2), (1000, 1)] {
        let x = rng.row(len * rows, 5.0);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut y = vec![0f32; x.len()];
                let mut z = vec![0f32; x.len()];
                Softmax::new(len).unwrap().forward(&x, &mut y).unwrap();
                LogSoftmax::new(len).unwrap().forward(&x, &mut z).unwrap();
                let mut dx = vec![0f32; x.len()];
                Softmax::new(len).unwrap().backward(&y, &z, &mut dx).unwrap();
                [y, z, dx].map(|v| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>())
            })
        };
        let one = run(1);
        assert!(one == run(2) && one == run(3), "len {len}: results depend on the thread count");
    }
}

#[cfg(feature = "half")]
#[test]
fn bf16_and_f16_rows() {
    use nnsimd::{bf16, f16};
    let mut rng = Rng(5);
    for isa in Isa::available() {
        for len in [1, 3, 31, 130, 2100] {
            let x32 = rng.row(len * 2, 4.0);
            macro_rules! check {
                ($t:ty) => {{
                    let x: Vec<$t> = x32.iter().map(|&v| <$t>::from_f32(v)).collect();
                    let xr: Vec<f32> = x.iter().map(|v| v.to_f32()).collect();
                    let mut y = vec![<$t>::from_f32(0.0); x.len()];
                    Softmax::new(len).unwrap().forward_with(isa, &x, &mut y).unwrap();
                    let mut z = y.clone();
                    LogSoftmax::new(len).unwrap().forward_with(isa, &x, &mut z).unwrap();
                    for r in 0..2 {
                        let row = &xr[r * len..(r + 1) * len];
                        if nan_row(row) {
                            continue;
                        }
                        let (m, l) = stats(row);
                        for k in 0..len {
                            let i = r * len + k;
                            let t = xr[i] as f64 - m;
                            for (got, want) in [(y[i], (t - l).exp()), (z[i], t - l)] {
                                let w = <$t>::from_f64(want);
                                let near = [
                                    w,
                                    <$t>::from_bits(w.to_bits().wrapping_add(1)),
                                    <$t>::from_bits(w.to_bits().wrapping_sub(1)),
                                ];
                                assert!(
                                    near.contains(&got) || got.to_f32() == want as f32,
                                    "{isa} {}: got {got} want {want}",
                                    stringify!($t)
                                );
                            }
                        }
                    }
                }};
            }
            check!(bf16);
            check!(f16);
        }
    }
}

#[test]
fn errors_write_nothing() {
    let x = [1.0f32; 12];
    let sentinel = [7.0f32; 12];
    for (len, inner) in [(0, 1), (1, 0)] {
        assert!(matches!(Softmax::along(len, inner), Err(Error::InvalidParameter { .. })));
        assert!(matches!(LogSoftmax::along(len, inner), Err(Error::InvalidParameter { .. })));
        assert!(matches!(Hardmax::along(len, inner), Err(Error::InvalidParameter { .. })));
    }
    assert_eq!(Softmax::along(usize::MAX, 2), Err(Error::ShapeOverflow));
    let sm = Softmax::new(5).unwrap();
    let mut y = sentinel;
    assert_eq!(sm.forward(&x, &mut y), Err(Error::NotMultiple { arg: "x", found: 12, multiple_of: 5 }));
    let sm = Softmax::along(2, 3).unwrap();
    let mut short = [7.0f32; 11];
    assert!(matches!(sm.forward(&x, &mut short), Err(Error::LengthMismatch { arg: "y", .. })));
    assert_eq!(short, [7.0; 11]);
    let mut dx = sentinel;
    assert!(matches!(sm.backward(&x, &x[..6], &mut dx), Err(Error::LengthMismatch { arg: "dy", .. })));
    assert_eq!(dx, sentinel);
    let mut lse = [7.0f32; 3];
    let ls = LogSoftmax::new(4).unwrap();
    assert!(matches!(ls.logsumexp(&x, &mut lse[..2]), Err(Error::LengthMismatch { arg: "out", .. })));
    assert_eq!(lse, [7.0; 3]);
    ls.logsumexp(&x, &mut lse).unwrap();
    assert!(lse.iter().all(|v| (v - (1.0 + 4f32.ln())).abs() < 1e-6));
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        let mut y = sentinel;
        assert_eq!(Softmax::new(3).unwrap().forward_with(isa, &x, &mut y), Err(Error::IsaUnavailable(isa)));
        assert_eq!(
            Hardmax::new(3).unwrap().forward_inplace_with(isa, &mut y),
            Err(Error::IsaUnavailable(isa))
        );
        assert_eq!(y, sentinel);
    }
    // Empty input: no rows, nothing to do.
    Softmax::new(3).unwrap().forward::<f32>(&[], &mut []).unwrap();
}

/// A dominant entry whose others' e^(x − m) are all subnormal or near it: log-softmax's
/// dominant value −log1p(Σ others) and logsumexp keep their digits (the others' terms were once
/// rounded as subnormals, up to 2620 ULP off).
#[test]
fn dominant_entry_with_subnormal_others() {
    let mut rng = Rng(13);
    for isa in Isa::available() {
        let lens: &[usize] = if common::qemu() { &[2, 17, 1000] } else { &[2, 17, 1000, 65_536] };
        for &len in lens {
            for gap in [87.0f32, 90.0, 95.0, 100.0, 103.0, 104.0, 110.0] {
                let mut x = vec![-gap; len];
                x[0] = 0.0;
                x[len / 2] = -gap - 0.37;
                run_all(isa, &x, len, 1, &mut rng);
                let t: Vec<f32> = x.iter().flat_map(|&v| [v, v + 1.0, v]).collect();
                run_all(isa, &t, len, 3, &mut rng);
            }
        }
    }
}
