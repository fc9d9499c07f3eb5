//! The vector trait's contract (the module docs of `simd`), checked on every backend the CPU
//! has, through the same trampolines the kernels run in: min/max with a NaN first operand,
//! rounding to nearest even, `pow2i` and `scale` at the ends of their ranges, `fma` (fused
//! where `HAS_FMA` says so) and `sqrt` against their scalar definitions, and partial loads
//! and stores at every length, which must not touch the lanes past the slice.

use super::Simd;
use super::tier::{Op, run};
use crate::isa::Isa;

/// Values on which the primitives are compared with their scalar definitions.
fn values() -> Vec<f32> {
    let mut v = vec![
        0.0,
        -0.0,
        0.5,
        1.5,
        2.5,
        -2.5,
        -0.5,
        3.5,
        4_194_303.5,
        -4_194_302.5,
        1e-45,
        -1e-45,
        f32::MIN_POSITIVE,
        f32::MAX,
        -f32::MAX,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..512 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let x = f32::from_bits(state as u32);
        v.push(if x.is_nan() { (state >> 40) as f32 / 1024.0 } else { x });
    }
    v
}

/// Round to nearest, ties to even, for |a| < 2^22, written from the definition.
fn round_even(a: f32) -> f32 {
    let f = a.floor();
    let d = a - f;
    if d > 0.5 || (d == 0.5 && f % 2.0 != 0.0) { f + 1.0 } else { f }
}

fn same(got: f32, want: f32) -> bool {
    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan())
}

struct Contract;

impl Op for Contract {
    type Output = ();
    fn run<S: Simd>(self, s: S) {
        let w = S::LANES;
        let vals = values();
        let mut out = vec![0f32; w];
        for chunk in vals.chunks(w) {
            let mut a = vec![1.0f32; w];
            a[..chunk.len()].copy_from_slice(chunk);
            let b: Vec<f32> = a.iter().rev().map(|x| if x.is_nan() { 2.0 } else { *x }).collect();
            let (va, vb) = (s.load(&a), s.load(&b));
            // min/max: `if a < b { b } else { a }` and `if b < a { b } else { a }`, NaN in a kept.
            s.store(s.max(va, vb), &mut out);
            for j in 0..w {
                let want = if a[j] < b[j] { b[j] } else { a[j] };
                assert!(same(out[j], want) || (out[j] == want), "max({}, {})", a[j], b[j]);
            }
            s.store(s.min(va, vb), &mut out);
            for j in 0..w {
                let want = if b[j] < a[j] { b[j] } else { a[j] };
                assert!(same(out[j], want) || (out[j] == want), "min({}, {})", a[j], b[j]);
            }
            s.store(s.sqrt(va), &mut out);
            for j in 0..w {
                assert!(same(out[j], a[j].sqrt()), "sqrt({})", a[j]);
            }
            let c: Vec<f32> = a.iter().map(|x| x * 0.75).collect();
            s.store(s.fma(va, vb, s.load(&c)), &mut out);
            for j in 0..w {
                // Fused where HAS_FMA says so; otherwise either rounding is allowed.
                let fused = a[j].mul_add(b[j], c[j]);
                let ok = same(out[j], fused) || (!S::HAS_FMA && same(out[j], a[j] * b[j] + c[j]));
                assert!(ok, "fma({}, {}, {}) = {}, HAS_FMA {}", a[j], b[j], c[j], out[j], S::HAS_FMA);
            }
            // round: |a| < 2^22 only.
            let r: Vec<f32> = a.iter().map(|x| if x.abs() < 4_194_304.0 { *x } else { 0.25 }).collect();
            s.store(s.round(s.load(&r)), &mut out);
            for j in 0..w {
                assert!(same(out[j], round_even(r[j])) || out[j] == round_even(r[j]), "round({})", r[j]);
            }
        }
        // pow2i over [-126, 127] and scale over [-252, 254], exact where the result is normal.
        for n in -126..=127 {
            s.store(s.pow2i(s.splat(n as f32)), &mut out);
            assert!(out.iter().all(|&y| y == (n as f32).exp2()), "pow2i({n})");
        }
        for n in -252..=254 {
            s.store(s.scale(s.splat(1.5), s.splat(n as f32)), &mut out);
            let want = (1.5f64 * (n as f64).exp2()) as f32;
            assert!(out.iter().all(|&y| y == want), "scale(1.5, {n})");
        }
        // Partial loads and stores at every length: lanes past the slice are neither read
        // (they load as zero) nor written.
        let src: Vec<f32> = (0..w).map(|i| i as f32 + 1.0).collect();
        for len in 0..w {
            let v = s.load_partial(&src[..len]);
            s.store(v, &mut out);
            for (j, y) in out.iter().enumerate() {
                assert_eq!(*y, if j < len { src[j] } else { 0.0 }, "load_partial, length {len}, lane {j}");
            }
            let mut dst = vec![-7.0f32; w];
            s.store_partial(s.load(&src), &mut dst[..len]);
            for (j, y) in dst.iter().enumerate() {
                assert_eq!(*y, if j < len { src[j] } else { -7.0 }, "store_partial, length {len}, lane {j}");
            }
        }
    }
}

#[test]
fn contract_on_every_tier() {
    for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
        run(isa, Contract);
    }
}
