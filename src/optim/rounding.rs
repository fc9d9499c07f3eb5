//! Stochastic rounding of f32 to bf16 (feature `half`), for bf16 parameters.

use crate::activation::counter::{hash, key, stream};
use crate::bf16;
use crate::isa::Isa;
use crate::kernel::{on_isa, simd_entries};
use crate::simd::portable::Portable;
use crate::simd::scalar::Scalar;
#[allow(unused_imports)]
use crate::simd::unroll::X2;
use crate::simd::{Simd, abs};

/// Rounds `r` to bf16 stochastically with the 16 random bits `random`.
///
/// # Definition
/// - `r` NaN or ±inf: `r` itself (a NaN stays a NaN, quieted as
///   `bf16::from_f32` quiets it; ±inf stays ±inf).
/// - Otherwise, with `b` the bits of `r` as a u32: `q` = the f32 with bits
///   `(b + random) & 0xFFFF_0000`, a bf16 value; if `q` is ±inf (only for |r| above
///   `bf16::MAX`), `q` = the f32 with bits `b & 0xFFFF_0000` (±`bf16::MAX`) instead. The
///   result is `q` as bf16, exactly.
///
/// Adding to the low half carries into the high half exactly when `low + random ≥ 2^16`,
/// `low` being `b`'s low 16 bits, so `r` goes to its bf16 neighbour away from zero with
/// probability `low / 2^16` = `(|r| − |t|) / ulp`, `t` being `r` truncated toward zero, and to
/// `t` otherwise: the result is `r` in expectation, exactly, for uniform `random` (subnormals
/// and binade edges included, as the f32 bit patterns of either sign are ordered by
/// magnitude). It is always one of the two bf16 values around `r`, so within one bf16 ULP
/// of it (2^-7 relative for normal values). A finite `r` never becomes ±inf: above
/// `bf16::MAX` (in magnitude) it stays at ±`bf16::MAX` (where round-to-nearest would give
/// ±inf above `bf16::MAX` + half an ULP), the one place where the mean is not `r`.
pub fn round_stochastic(r: f32, random: u16) -> bf16 {
    let q = round(Scalar, r, random as u32);
    bf16::from_bits((q.to_bits() >> 16) as u16)
}

/// [`round_stochastic`] on every lane, with the random bits in `random`'s lanes' low 16 bits.
#[inline(always)]
fn round<S: Simd>(s: S, r: S::V, random: S::U) -> S::V {
    let high = s.u_as_f32(s.splat_u(0xFFFF_0000));
    let up = s.and(s.u_as_f32(s.add_u(s.f32_as_u(r), random)), high);
    let down = s.and(r, high);
    let inf = s.splat(f32::INFINITY);
    let q = s.select(s.lt(abs(s, up), inf), up, down);
    // NaN and ±inf fail the comparison and pass through.
    s.select(s.lt(abs(s, r), inf), q, r)
}

/// Rounds `x` in place, element `j` with the random bits of index `c0 + j` (low halves, no
/// wrap), the high 16 bits of the counter hash under `key`.
#[inline(always)]
fn stochastic<S: Simd>(s: S, key: Key, c0: u32, x: &mut [f32]) {
    let (n, w) = (x.len(), S::LANES);
    let mut i = 0;
    while i + w <= n {
        s.store(round(s, s.load(&x[i..]), bits(s, key, c0, i)), &mut x[i..]);
        i += w;
    }
    if i < n {
        s.store_partial(round(s, s.load_partial(&x[i..]), bits(s, key, c0, i)), &mut x[i..]);
    }
}

/// The random bits of the lanes from index `c0 + i` on.
#[inline(always)]
fn bits<S: Simd>(s: S, key: Key, c0: u32, i: usize) -> S::U {
    s.shr_u(hash(s, key, s.add_u(s.splat_u(c0.wrapping_add(i as u32)), s.iota_u())), 16)
}

/// The generator's key words for one high index half.
type Key = (u32, u32);

simd_entries! {
    fn stochastic(key: Key, c0: u32, x: &mut [f32]);
}

/// Rounds `x` in place (each value then exactly a bf16) with the stream `stream`, `x[0]`
/// having the tensor index `first`; `x` must not cross a multiple of 2^32 in index.
pub(crate) fn run_stochastic(isa: Isa, stream: u64, first: u64, x: &mut [f32]) {
    let k = key(stream, (first >> 32) as u32);
    on_isa!(isa, stochastic(k, first as u32, x))
}

/// The 16 random bits that element `index` of a bf16-parameter step `step` (counted from 1,
/// as [`Optimizer::steps`](super::Optimizer::steps) after it) rounds with under `seed`: the
/// high 16 bits of the counter hash `h` (see [`unit_at`](crate::activation::unit_at)'s
/// generator) for the stream seed `SplitMix64(seed, step)`.
pub fn stochastic_bits(seed: u64, step: u64, index: u64) -> u16 {
    let s = Scalar;
    let h = hash(s, key(stream(seed, step), (index >> 32) as u32), index as u32);
    (h >> 16) as u16
}
