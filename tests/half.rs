//! bf16 and f16 (feature `half`).
//!
//! 1. Conversions, on every path this CPU has ([`Path::available`]), including paths no tier
//!    picks here: bf16/f16 → f32 on all 65,536 inputs, against the value from the format's
//!    definition and bit for bit against the `half` crate's software conversion
//!    (`to_f32_const`; NaNs up to the quiet bit, which bf16 → f32 leaves as it is); f32 → bf16/f16 on all 2^32 inputs (a strided sweep plus dense edges
//!    under qemu), bit for bit against the `half` crate's software rounding
//!    (`from_f32_const`, the function `from_f32` falls back to without F16C; `from_f32` itself
//!    would use F16C here, i.e. one of the paths under test).
//! 2. Every activation, forward and backward, out of place and in place, and backward from
//!    the output where it exists, on bf16 and f16 slices, on every ISA, lengths 0 to past
//!    several conversion blocks, misaligned: within 1 ULP of the storage type of the f64
//!    reference rounded to that type (backward: of dy·f'(x); near a root of f' within the
//!    absolute 2^-23·|dy| of DESIGN.md §5 plus one ULP). NaN in gives NaN out, ±inf the
//!    limit, nothing outside the output slice is written, bad lengths are errors before any
//!    write.

mod common;

use common::{Rng, SPECIALS, isas, oracle_derivative, oracle_forward, qemu};
use nnsimd::internals::Path;
use nnsimd::internals::reference::{near_root, near_root_abs};
use nnsimd::{Activation, Element, Error, bf16, f16};
use std::fmt::Debug;

/// A storage type under test, with its oracles.
trait Storage: Element + Debug + PartialEq {
    const NAME: &'static str;
    /// Exponent and significand widths.
    const EXP: u32;
    const MAN: u32;
    fn from_bits(b: u16) -> Self;
    fn bits(self) -> u16;
    /// The `half` crate's software f32 → storage rounding.
    fn half_from_f32(x: f32) -> u16;
    /// The `half` crate's software storage → f32.
    fn half_to_f32(b: u16) -> f32;
    /// The `half` crate's f64 → storage rounding (direct, one rounding).
    fn from_f64(x: f64) -> Self;
    fn path_widen(p: Path, src: &[u16], dst: &mut [f32]);
    fn path_narrow(p: Path, src: &[f32], dst: &mut [u16]);

    fn to_f64(self) -> f64 {
        decode::<Self>(self.bits())
    }
}

/// The `Storage` impl of a `half` type: `$exp`/`$man` bits, its `Path` routines.
macro_rules! storage {
    ($t:ident, $exp:expr, $man:expr, $widen:ident, $narrow:ident) => {
        impl Storage for $t {
            const NAME: &'static str = stringify!($t);
            const EXP: u32 = $exp;
            const MAN: u32 = $man;
            fn from_bits(b: u16) -> Self {
                $t::from_bits(b)
            }
            fn bits(self) -> u16 {
                self.to_bits()
            }
            fn half_from_f32(x: f32) -> u16 {
                $t::from_f32_const(x).to_bits()
            }
            fn half_to_f32(b: u16) -> f32 {
                $t::from_bits(b).to_f32_const()
            }
            fn from_f64(x: f64) -> Self {
                $t::from_f64(x)
            }
            fn path_widen(p: Path, src: &[u16], dst: &mut [f32]) {
                p.$widen(src, dst)
            }
            fn path_narrow(p: Path, src: &[f32], dst: &mut [u16]) {
                p.$narrow(src, dst)
            }
        }
    };
}

storage!(bf16, 8, 7, bf16_to_f32, f32_to_bf16);
storage!(f16, 5, 10, f16_to_f32, f32_to_f16);

/// The value of bit pattern `b` of a binary format with `T::EXP` exponent and `T::MAN`
/// significand bits, from the IEEE definition.
fn decode<T: Storage>(b: u16) -> f64 {
    let sign = if b & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = ((b >> T::MAN) & ((1 << T::EXP) - 1)) as i32;
    let m = (b & ((1 << T::MAN) - 1)) as f64;
    let bias = (1 << (T::EXP - 1)) - 1;
    let scale = (1u64 << T::MAN) as f64;
    if e == (1 << T::EXP) - 1 {
        if m == 0.0 { sign * f64::INFINITY } else { f64::NAN }
    } else if e == 0 {
        sign * m / scale * 2f64.powi(1 - bias)
    } else {
        sign * (1.0 + m / scale) * 2f64.powi(e - bias)
    }
}

/// Position on the ordered line of the storage type (+0 and −0 the same point).
fn ord16(b: u16) -> i32 {
    if b & 0x8000 != 0 { -((b & 0x7fff) as i32) } else { b as i32 }
}

/// ULP distance in the storage type; NaN–NaN 0, NaN–number `u32::MAX`.
fn ulp16<T: Storage>(a: T, b: T) -> u32 {
    match (a.to_f64().is_nan(), b.to_f64().is_nan()) {
        (true, true) => 0,
        (false, false) => (ord16(a.bits()) - ord16(b.bits())).unsigned_abs(),
        _ => u32::MAX,
    }
}

fn paths() -> Vec<Path> {
    let p = Path::available();
    eprintln!("conversion paths: {p:?}");
    p
}

// ---------------------------------------------------------------------------------------------
// 1. Conversions

/// Converts `src` into `dst` in pieces of lengths 1, 2, ..., 40, 1, ... so that every path's
/// vector loop and tail run at every offset.
fn in_pieces<A, B>(src: &[A], dst: &mut [B], f: impl Fn(&[A], &mut [B])) {
    let (mut i, mut len) = (0, 1);
    while i < src.len() {
        let end = (i + len).min(src.len());
        f(&src[i..end], &mut dst[i..end]);
        i = end;
        len = len % 40 + 1;
    }
}

fn widen_all<T: Storage>() {
    let src: Vec<u16> = (0..=u16::MAX).collect();
    for path in paths() {
        for pieces in [false, true] {
            let mut got = vec![0f32; src.len()];
            if pieces {
                in_pieces(&src, &mut got, |s, d| T::path_widen(path, s, d));
            } else {
                T::path_widen(path, &src, &mut got);
            }
            for (&b, &g) in src.iter().zip(&got) {
                let want = decode::<T>(b);
                let value_ok = if want.is_nan() {
                    g.is_nan()
                } else {
                    g as f64 == want && g.is_sign_negative() == want.is_sign_negative()
                };
                // bf16 → f32 is a shift that keeps a signalling NaN signalling, where the half
                // crate sets the quiet bit (bit 22): NaNs agree with it up to that bit.
                let half = T::half_to_f32(b);
                let quiet = if want.is_nan() { 0x0040_0000 } else { 0 };
                assert!(
                    value_ok && (g.to_bits() | quiet) == half.to_bits(),
                    "{} {b:#06x} → f32 on {path:?}: {g:e} ({:#010x}), want {want:e}, half gives {:#010x}",
                    T::NAME,
                    g.to_bits(),
                    half.to_bits()
                );
            }
        }
    }
}

#[test]
fn bf16_to_f32_exact_on_every_input() {
    widen_all::<bf16>();
}

#[test]
fn f16_to_f32_exact_on_every_input() {
    widen_all::<f16>();
}

/// Which f32 inputs the narrowing tests visit.
#[derive(Clone, Copy, PartialEq)]
enum Sweep {
    /// All 2^32.
    Full,
    /// Every 11th upper half with all 65,536 lower halves (the rounding bits), plus the
    /// exponents at the edges (below).
    Dense,
    /// Under qemu: every 4099th pattern, plus the edges thinned.
    Qemu,
}

/// The exponent fields where the roundings change regime: f32's 0 (subnormals), 1, 2; f16's
/// subnormal range and its edges (f32 exponents 101, 102, 112..=114); 127; f16's overflow
/// (142, 143); f32's largest (254) and infinity/NaN (255).
const EDGE_EXPONENTS: [u32; 13] = [0, 1, 2, 101, 102, 112, 113, 114, 127, 142, 143, 254, 255];

/// Calls `each` on blocks of the inputs of `sweep`.
fn narrow_blocks(sweep: Sweep, each: &mut dyn FnMut(&[f32])) {
    let mut block = vec![0f32; 1 << 16];
    let mut upper = |hi: u32, lo_step: usize, each: &mut dyn FnMut(&[f32])| {
        let n = (1 << 16) / lo_step;
        for (k, v) in block[..n].iter_mut().enumerate() {
            *v = f32::from_bits(hi << 16 | (k * lo_step) as u32);
        }
        each(&block[..n]);
    };
    let (hi_step, edge_hi_step, lo_step) = match sweep {
        Sweep::Full => (1, 0, 1),
        Sweep::Dense => (11, 1, 1),
        Sweep::Qemu => (0, 9, 7),
    };
    if hi_step > 0 {
        for hi in (0..=u16::MAX as u32).step_by(hi_step) {
            upper(hi, lo_step, each);
        }
    }
    if edge_hi_step > 0 {
        for exp in EDGE_EXPONENTS {
            for hi in (0..256u32).step_by(edge_hi_step) {
                // hi: the sign and the upper 7 significand bits.
                upper((hi >> 7) << 15 | exp << 7 | (hi & 127), lo_step, each);
            }
        }
    }
    if sweep == Sweep::Qemu {
        for c in common::strided(4099).chunks(1 << 16) {
            each(c);
        }
    }
}

/// f32 → storage on every path against the `half` crate's rounding, bit for bit; NaN results
/// counted apart (a difference in a NaN's payload alone would be reported as such).
fn narrow_all<T: Storage>(sweep: Sweep) {
    let paths = paths();
    let mut mismatches = vec![(0u64, 0u64, None::<(u32, u16, u16)>); paths.len()];
    let mut want = vec![0u16; 1 << 16];
    let mut got = vec![0u16; 1 << 16];
    let mut inputs = 0u64;
    narrow_blocks(sweep, &mut |block| {
        let n = block.len();
        for (w, &x) in want.iter_mut().zip(block) {
            *w = T::half_from_f32(x);
        }
        inputs += n as u64;
        for (k, &path) in paths.iter().enumerate() {
            // Split off a short tail so that the vector loop hands over to the tail mid-block.
            let cut = n.saturating_sub(5);
            T::path_narrow(path, &block[..cut], &mut got[..cut]);
            T::path_narrow(path, &block[cut..], &mut got[cut..n]);
            for i in 0..n {
                if got[i] != want[i] {
                    let nan_only =
                        T::from_bits(got[i]).to_f64().is_nan() && T::from_bits(want[i]).to_f64().is_nan();
                    let m = &mut mismatches[k];
                    if nan_only {
                        m.1 += 1
                    } else {
                        m.0 += 1
                    }
                    m.2.get_or_insert((block[i].to_bits(), got[i], want[i]));
                }
            }
        }
    });
    eprintln!("f32 → {}: {inputs} inputs per path", T::NAME);
    for (path, (other, nan, first)) in paths.iter().zip(&mismatches) {
        eprintln!("  {path:?}: {other} mismatches, {nan} NaN-payload-only differences, first {first:x?}");
    }
    for (path, (other, nan, first)) in paths.iter().zip(&mismatches) {
        assert!(
            *other == 0 && *nan == 0,
            "f32 → {} on {path:?} differs from the half crate: {other} values, {nan} NaN payloads; \
             first (input bits, got, want) = {first:x?}",
            T::NAME
        );
    }
}

/// The default sweep: dense (or strided under qemu).
fn default_sweep() -> Sweep {
    if qemu() { Sweep::Qemu } else { Sweep::Dense }
}

#[test]
fn f32_to_bf16_as_half() {
    narrow_all::<bf16>(default_sweep());
}

#[test]
fn f32_to_f16_as_half() {
    narrow_all::<f16>(default_sweep());
}

/// All 2^32 inputs on every path (about 40 s per type in release on a Zen 4 core; .ci/run
/// runs it): `cargo test --release --features half --test half -- --ignored`.
#[test]
#[ignore]
fn f32_to_bf16_as_half_on_every_input() {
    narrow_all::<bf16>(Sweep::Full);
}

/// As above, for f16.
#[test]
#[ignore]
fn f32_to_f16_as_half_on_every_input() {
    narrow_all::<f16>(Sweep::Full);
}

// ---------------------------------------------------------------------------------------------
// 2. Activations on bf16 and f16

/// Lengths: empty, short, around the vector widths, and past several conversion blocks.
const LENGTHS: [usize; 16] = [0, 1, 2, 3, 7, 15, 16, 17, 33, 64, 100, 255, 300, 511, 513, 1300];

/// Activations under test: every implemented one at its defaults, and a few other parameters.
fn activations() -> Vec<Activation> {
    let mut v = common::implemented();
    v.extend([
        Activation::LeakyRelu { slope: 0.2 },
        Activation::Elu { alpha: 0.5 },
        Activation::Swish { beta: 1.7 },
        Activation::Softplus { beta: 2.0, threshold: 10.0 },
        Activation::HardTanh { min: -2.0, max: 0.5 },
    ]);
    v
}

/// An input of the storage type: any bit pattern, N(0, 3²) or a special, rounded to it.
fn value<T: Storage>(rng: &mut Rng) -> T {
    match rng.next_u64() % 4 {
        0 => T::from_bits(rng.next_u64() as u16),
        1 => T::from_f64(SPECIALS[(rng.next_u64() % SPECIALS.len() as u64) as usize] as f64),
        _ => T::from_f64(rng.normal(3.0) as f64),
    }
}

/// A guard value no kernel produces: a NaN with a payload.
const GUARD: u16 = 0x7fab;
const POST: usize = 5;

/// A buffer with `data` at offset `pre` (misaligned by 0..3 elements) and guards around it.
fn guarded<T: Storage>(pre: usize, data: &[T]) -> Vec<T> {
    let mut v = vec![T::from_bits(GUARD); pre + data.len() + POST];
    v[pre..pre + data.len()].copy_from_slice(data);
    v
}

/// Checks the guards around `[pre, pre + len)`.
fn guards_intact<T: Storage>(v: &[T], pre: usize, len: usize) -> bool {
    (0..pre).chain(pre + len..v.len()).all(|i| v[i].bits() == GUARD)
}

/// The storage-type ULP between `got` and `want` rounded to the type.
fn ulp_to<T: Storage>(got: T, want: f64) -> u32 {
    ulp16(got, T::from_f64(want))
}

/// Forward: within 1 ULP of the storage type of f(x) (NaN for NaN, the limit at ±inf).
fn forward_ok<T: Storage>(act: &Activation, x: T, got: T) -> bool {
    ulp_to(got, oracle_forward(act, x.to_f64() as f32)) <= 1
}

/// Backward: within 1 ULP of dy·f'(x) rounded to the type, or near a root of f' within
/// |dy|·2^-23 plus that ULP; NaN where x or dy is NaN.
fn backward_ok<T: Storage>(act: &Activation, x: T, dy: T, got: T) -> bool {
    let (xf, dyf) = (x.to_f64(), dy.to_f64());
    if xf.is_nan() || dyf.is_nan() {
        return got.to_f64().is_nan();
    }
    let d = oracle_derivative(act, xf as f32);
    let want = dyf * d;
    if ulp_to(got, want) <= 1 {
        return true;
    }
    let rounded = T::from_f64(want);
    let ulp = (T::from_bits(rounded.bits() + 1).to_f64() - rounded.to_f64()).abs();
    near_root(act, xf as f32, d) && (got.to_f64() - want).abs() <= dyf.abs() * near_root_abs(act) + ulp
}

/// Every pass on `T`, every ISA, every length, misaligned.
fn activations_on<T: Storage>() {
    let mut rng = Rng(0x6a1f_0000 + T::EXP as u64);
    let mut fails = Vec::new();
    for act in activations() {
        let name = act.name();
        for isa in isas() {
            for (k, &len) in LENGTHS.iter().enumerate() {
                let pre = k % 4;
                let x: Vec<T> = (0..len).map(|_| value::<T>(&mut rng)).collect();
                let dy: Vec<T> = (0..len).map(|_| T::from_f64(rng.normal(1.0) as f64)).collect();
                let mut report = |pass: &str, out: &[T], ok: &dyn Fn(usize, T) -> bool, guards: bool| {
                    if !guards {
                        fails.push(format!("{name} {pass} {isa} len {len}: wrote outside the slice"));
                    }
                    if let Some(i) = (0..len).find(|&i| !ok(i, out[pre + i])) {
                        fails.push(format!(
                            "{name} {pass} {isa} {} len {len}: x = {:?}, dy = {:?}, got {:?}",
                            T::NAME,
                            x[i],
                            dy[i],
                            out[pre + i]
                        ));
                    }
                };
                let fwd = |i: usize, g: T| forward_ok(&act, x[i], g);
                let bwd = |i: usize, g: T| backward_ok(&act, x[i], dy[i], g);

                let mut y = guarded(pre, &vec![T::from_bits(0); len]);
                act.forward_with(isa, &x, &mut y[pre..pre + len]).unwrap();
                report("forward", &y, &fwd, guards_intact(&y, pre, len));

                let mut xi = guarded(pre, &x);
                act.forward_inplace_with(isa, &mut xi[pre..pre + len]).unwrap();
                report("forward_inplace", &xi, &fwd, guards_intact(&xi, pre, len));

                let xs = guarded(pre, &x);
                let mut dx = guarded(pre, &vec![T::from_bits(0); len]);
                act.backward_with(isa, &xs[pre..pre + len], &dy, &mut dx[pre..pre + len]).unwrap();
                report("backward", &dx, &bwd, guards_intact(&dx, pre, len));

                let mut d = guarded(pre, &dy);
                act.backward_inplace_with(isa, &x, &mut d[pre..pre + len]).unwrap();
                report("backward_inplace", &d, &bwd, guards_intact(&d, pre, len));
            }
        }
    }
    assert!(fails.is_empty(), "{} failures:\n{}", fails.len(), fails.join("\n"));
}

#[test]
fn activations_bf16() {
    activations_on::<bf16>();
}

#[test]
fn activations_f16() {
    activations_on::<f16>();
}

/// Backward from the output on `T`: y a storage value of f's range (f(x) rounded), within
/// 1 ULP of the type of dy·g(y), g the derivative written with y (tests/common).
fn from_output_on<T: Storage>() {
    let mut rng = Rng(0x0b7f_0000 + T::EXP as u64);
    let mut fails = Vec::new();
    for act in activations().into_iter().filter(Activation::has_backward_from_output) {
        for isa in isas() {
            for (k, &len) in LENGTHS.iter().enumerate() {
                let pre = k % 4;
                let y: Vec<T> = (0..len)
                    .map(|_| T::from_f64(oracle_forward(&act, value::<T>(&mut rng).to_f64() as f32)))
                    .collect();
                let dy: Vec<T> = (0..len).map(|_| T::from_f64(rng.normal(1.0) as f64)).collect();
                let ok = |i: usize, got: T| {
                    let (yv, d) = (y[i].to_f64(), dy[i].to_f64());
                    let g = common::output_derivative(&act, yv).expect("covered");
                    if yv.is_nan() { got.to_f64().is_nan() } else { ulp_to(got, d * g) <= 1 }
                };
                let mut dx = guarded(pre, &vec![T::from_bits(0); len]);
                act.backward_from_output_with(isa, &y, &dy, &mut dx[pre..pre + len]).unwrap();
                let mut d = guarded(pre, &dy);
                act.backward_from_output_inplace_with(isa, &y, &mut d[pre..pre + len]).unwrap();
                for (pass, out) in [("backward_from_output", &dx), ("backward_from_output_inplace", &d)] {
                    let bad = (0..len).find(|&i| !ok(i, out[pre + i]));
                    if let Some(i) = bad {
                        fails.push(format!(
                            "{} {pass} {isa} {} len {len}: y = {:?}, dy = {:?}, got {:?}",
                            act.name(),
                            T::NAME,
                            y[i],
                            dy[i],
                            out[pre + i]
                        ));
                    }
                    if !guards_intact(out, pre, len) {
                        fails.push(format!("{} {pass} {isa} len {len}: wrote outside the slice", act.name()));
                    }
                }
            }
        }
    }
    assert!(fails.is_empty(), "{} failures:\n{}", fails.len(), fails.join("\n"));
}

#[test]
fn from_output_bf16() {
    from_output_on::<bf16>();
}

#[test]
fn from_output_f16() {
    from_output_on::<f16>();
}

/// Bad lengths and an unavailable ISA are errors, and nothing is written.
#[test]
fn errors_before_any_write() {
    let x = [bf16::from_f32(1.5); 40];
    let mut short = [bf16::from_bits(GUARD); 39];
    let act = Activation::Gelu;
    assert!(matches!(act.forward(&x, &mut short), Err(Error::LengthMismatch { .. })));
    assert!(matches!(act.backward(&x, &x, &mut short), Err(Error::LengthMismatch { .. })));
    assert!(matches!(act.backward(&x, &x[1..], &mut [bf16::ZERO; 40]), Err(Error::LengthMismatch { .. })));
    assert!(matches!(act.backward_inplace(&x, &mut short), Err(Error::LengthMismatch { .. })));
    assert!(matches!(
        Activation::Tanh.backward_from_output(&x, &x, &mut short),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        Activation::Gelu.backward_from_output(&x, &x, &mut [bf16::ZERO; 40]),
        Err(Error::NoOutputBackward(_))
    ));
    assert!(matches!(
        Activation::Elu { alpha: -1.0 }.forward(&x, &mut [bf16::ZERO; 40]),
        Err(Error::InvalidParameter { .. })
    ));
    let mut h = [f16::from_bits(GUARD); 40];
    for isa in nnsimd::Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        assert_eq!(act.forward_inplace_with(isa, &mut h), Err(Error::IsaUnavailable(isa)));
    }
    assert!(short.iter().all(|v| v.to_bits() == GUARD));
    assert!(h.iter().all(|v| v.to_bits() == GUARD));
}

/// Results do not depend on the thread count (the chunks are fixed), on a length that splits.
#[test]
fn same_for_any_thread_count() {
    let n = 5 * nnsimd::CHUNK + 77;
    let mut rng = Rng(7);
    let x: Vec<bf16> = (0..n).map(|_| value::<bf16>(&mut rng)).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut y = vec![bf16::ZERO; n];
        pool.install(|| Activation::Mish.forward(&x, &mut y)).unwrap();
        y.iter().map(|v| v.to_bits()).collect::<Vec<u16>>()
    };
    let one = run(1);
    assert!(one == run(2), "mish on bf16: one and two threads differ");
    let one: Vec<bf16> = one.into_iter().map(bf16::from_bits).collect();
    assert!(x.iter().zip(&one).all(|(&x, &y)| forward_ok(&Activation::Mish, x, y)));
}
