//! Helpers shared by the integration tests: the oracles (the f64 `nnsimd::internals::reference`, with
//! the mathematical limits at ±inf the activation registry states from the definitions), the ULP line, the backward-with-dy
//! acceptance rule, guard buffers and the input sets.
//!
//! Nothing here calls a kernel: every expected value comes from `nnsimd::internals::reference` or from the
//! formulas below.

#![allow(dead_code)]

use nnsimd::internals::reference;
use nnsimd::{Activation, Isa};

/// Whether the suite runs under an emulator (`NNSIMD_QEMU` set): case counts drop ~10x and
/// sweeps get sparser.
pub fn qemu() -> bool {
    std::env::var_os("NNSIMD_QEMU").is_some()
}

/// Every activation this version implements (new kernels are picked up automatically).
pub fn implemented() -> Vec<Activation> {
    Activation::all().filter(|a| a.is_implemented()).collect()
}

/// Every implemented activation with one parameter at an end of its accepted range (its
/// smallest or largest valid value), the others at their defaults; combinations that the
/// joint condition refuses (hard-tanh's min < max, PELU's a/b) are left out.
#[allow(dead_code)] // not every test binary sweeps parameters
pub fn at_range_ends() -> Vec<Activation> {
    use nnsimd::internals::activations::{params, with_params};
    let mut acts = Vec::new();
    for act in implemented() {
        let defaults: Vec<f32> = params(&act).iter().map(|p| p.value).collect();
        for (i, p) in params(&act).iter().enumerate() {
            for end in [p.min, p.max] {
                let mut values = defaults.clone();
                values[i] = end;
                let a = with_params(&act, &values);
                if a.is_implemented() && !acts.contains(&a) {
                    acts.push(a);
                }
            }
        }
    }
    acts
}

/// Every ISA this CPU can run.
pub fn isas() -> Vec<Isa> {
    Isa::available()
}

/// Every ISA this CPU can run, as [`isas`], after checking that any ISA named in
/// `NNSIMD_REQUIRE` (comma-separated) is among them, so that a run cannot skip a backend
/// silently.
pub fn checked_isas() -> Vec<Isa> {
    let isas = isas();
    if let Ok(list) = std::env::var("NNSIMD_REQUIRE") {
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let isa: Isa = name.parse().unwrap_or_else(|_| panic!("NNSIMD_REQUIRE: `{name}` is not an ISA"));
            assert!(isas.contains(&isa), "NNSIMD_REQUIRE: {isa} is not available here ({isas:?})");
        }
    }
    isas
}

/// The position of `v` on the ordered f32 line (+0 and −0 are the same point).
pub fn ordinal(v: f32) -> i64 {
    let b = v.to_bits() as i32 as i64;
    if b < 0 { -(b & 0x7fff_ffff) } else { b }
}

/// The f32 at ordinal `o` (0 gives +0).
pub fn from_ordinal(o: i64) -> f32 {
    if o < 0 { f32::from_bits((-o) as u32 | 0x8000_0000) } else { f32::from_bits(o as u32) }
}

/// `v` moved `k` steps along the ordered f32 line (clamped to ±inf).
pub fn step(v: f32, k: i64) -> f32 {
    let inf = ordinal(f32::INFINITY);
    from_ordinal((ordinal(v) + k).clamp(-inf, inf))
}

/// Distance in ULP between two f32 (NaN–NaN is 0, NaN–number is `u64::MAX`).
pub fn ulp32(a: f32, b: f32) -> u64 {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => 0,
        (false, false) => (ordinal(a) - ordinal(b)).unsigned_abs(),
        _ => u64::MAX,
    }
}

// Not every test uses each of them.
#[allow(unused_imports)]
pub use reference::{derivative_limit, forward_limit, keeps_negative_zero, output_derivative};

/// The forward oracle: NaN for NaN, the limit at ±inf (the f64 reference evaluates inf·0
/// there for some kernels; `reference_agrees_with_limits` checks it separately), the f64
/// reference elsewhere.
pub fn oracle_forward(act: &Activation, x: f32) -> f64 {
    if x.is_nan() {
        f64::NAN
    } else if x.is_infinite() {
        forward_limit(act, x > 0.0).expect("no forward limit for this activation")
    } else {
        reference::forward(act, x as f64)
    }
}

/// The derivative oracle, as [`oracle_forward`].
pub fn oracle_derivative(act: &Activation, x: f32) -> f64 {
    if x.is_nan() {
        f64::NAN
    } else if x.is_infinite() {
        derivative_limit(act, x > 0.0).expect("no derivative limit for this activation")
    } else {
        reference::derivative(act, x as f64)
    }
}

/// Acceptance rule for `dx = dy·f'(x)` with an arbitrary `dy`.
///
/// With dy = 1 it is exactly `reference::backward_ok`. Otherwise: the kernel may compute f'(x)
/// as any f32 `g` that `backward_ok` accepts (within 8 ULP of f', or within 2^-23 absolute near
/// a root of f') and then multiply by dy; the exact products dy·g form an interval whose ends
/// we compute exactly in f64 (a product of two f32 is exact in f64) and round to f32. On top
/// of that we allow 1 ULP for the final product (a kernel may fold dy in before the last
/// operation, adding one rounding). Special cases: NaN x or NaN dy → NaN; dy = 0 with a finite
/// f'(x) → 0 (either sign).
pub fn backward_dy_ok(act: &Activation, x: f32, dy: f32, got: f32) -> bool {
    if x.is_nan() || dy.is_nan() {
        return got.is_nan();
    }
    let want = oracle_derivative(act, x);
    if dy == 1.0 {
        return ulp_backward_ok(act, x, got, want);
    }
    if dy == 0.0 && want.is_finite() {
        return got == 0.0;
    }
    if got.is_nan() {
        return false;
    }
    let r = want as f32;
    let mut lo = step(r, -(reference::BACKWARD_BOUND as i64)) as f64;
    let mut hi = step(r, reference::BACKWARD_BOUND as i64) as f64;
    if reference::near_root(act, x, want) {
        lo = lo.min(want - reference::near_root_abs(act));
        hi = hi.max(want + reference::near_root_abs(act));
    }
    let (a, b) = ((dy as f64 * lo) as f32, (dy as f64 * hi) as f32);
    let (a, b) = if ordinal(a) <= ordinal(b) { (a, b) } else { (b, a) };
    let o = ordinal(got);
    ordinal(a) - 1 <= o && o <= ordinal(b) + 1
}

/// `reference::backward_ok`, with the oracle's derivative (limits at ±inf).
pub fn ulp_backward_ok(act: &Activation, x: f32, got: f32, want: f64) -> bool {
    reference::backward_ok(act, x, got, want)
}

/// The ULP bound of a math-core function: exp, expm1, log1p ≤ 2; tanh, sigmoid, erf ≤ 3;
/// erfc ≤ 4; log ≤ 2 (the class of log1p; src/math/log1p.rs states 1 measured). A new
/// function without a bound here fails loudly.
pub fn math_bound(name: &str) -> u64 {
    match name {
        "exp" | "expm1" | "log1p" | "log" | "exp_table" => 2,
        "tanh" | "sigmoid" | "erf" => 3,
        "erfc" => 4,
        _ => panic!("no ULP bound known for math function `{name}`: add it to tests/common"),
    }
}

/// Special inputs every test visits.
pub const SPECIALS: [f32; 26] = [
    0.0,
    -0.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    f32::MIN_POSITIVE,
    -f32::MIN_POSITIVE,
    1e-45,
    -1e-45,
    f32::MAX,
    -f32::MAX,
    88.7,
    -88.7,
    -10.5,
    20.0,
    -20.0,
    1.0,
    -1.0,
    1e-40,
    -1e-40,
    -1.19,
    -0.75,
    -3.0,
    3.0,
    104.0,
    -104.0,
];

/// Every `stride`-th bit pattern of the f32 line, starting at 0.
pub fn strided(stride: u64) -> Vec<f32> {
    (0..(1u64 << 32)).step_by(stride as usize).map(|b| f32::from_bits(b as u32)).collect()
}

/// The sweep stride: 4099 (about 1M inputs), under qemu too, where it is NEON's dense sweep
/// (tens of seconds; the exhaustive one would take hours there).
pub fn sweep_stride() -> u64 {
    4_099
}

/// A buffer of `pre + len + post` guard values with the slice `[pre, pre + len)` filled
/// from `data` (or guard values if `data` is None).
pub struct Guarded {
    pub buf: Vec<f32>,
    pub pre: usize,
    pub len: usize,
}

/// The guard pattern: a quiet NaN with a payload a kernel would not produce.
pub const GUARD_BITS: u32 = 0x7fd1_5ead;
/// Elements of guard after every slice.
pub const POST: usize = 19;

impl Guarded {
    pub fn new(pre: usize, data: &[f32]) -> Guarded {
        let mut buf = vec![f32::from_bits(GUARD_BITS); pre + data.len() + POST];
        buf[pre..pre + data.len()].copy_from_slice(data);
        Guarded { buf, pre, len: data.len() }
    }

    pub fn blank(pre: usize, len: usize) -> Guarded {
        Guarded { buf: vec![f32::from_bits(GUARD_BITS); pre + len + POST], pre, len }
    }

    pub fn slice(&self) -> &[f32] {
        &self.buf[self.pre..self.pre + self.len]
    }

    pub fn slice_mut(&mut self) -> &mut [f32] {
        &mut self.buf[self.pre..self.pre + self.len]
    }

    /// The index of the first guard element that changed, if any.
    pub fn guard_damage(&self) -> Option<usize> {
        let outside = (0..self.pre).chain(self.pre + self.len..self.buf.len());
        outside.into_iter().find(|&i| self.buf[i].to_bits() != GUARD_BITS)
    }
}

/// Formats an f32 with its bit pattern, for failure messages.
pub fn show(v: f32) -> String {
    format!("{v:e} ({:#010x})", v.to_bits())
}

pub mod classes;
pub mod golden;
#[cfg(feature = "std")]
pub mod losses;
#[cfg(feature = "std")]
pub mod optim;
pub mod slope;

/// A small deterministic generator (SplitMix64), for tests that need fixed data.
#[path = "../../examples/common/rng.rs"]
mod rng;
pub use rng::Rng;

impl Rng {
    /// A mix of the whole line, N(0, 3²) and the specials.
    pub fn value(&mut self) -> f32 {
        match self.next_u64() % 8 {
            0 | 1 => f32::from_bits(self.next_u64() as u32),
            2 => SPECIALS[(self.next_u64() % SPECIALS.len() as u64) as usize],
            _ => self.normal(3.0),
        }
    }
}

/// A deterministic mix of values in [-2, 2) for the optimizer tests, every 11th an exact zero.
pub fn mixed(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 11 == 0 { 0.0 } else { ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 4.0 }
        })
        .collect()
}
