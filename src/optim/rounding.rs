//! Stochastic rounding of f32 to bf16 (feature `half`), for bf16 parameters.

use crate::bf16;
use crate::counter::{hash, key, stream};
use crate::drivers::update::UpdateRule;
use crate::simd::scalar::Scalar;
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
    // q is a bf16 value, ±inf or NaN: the conversion is exact, and quiets a NaN whose payload
    // lies in the low half only (its bits shifted right would read as ±inf).
    bf16::from_f32(round(Scalar, r, random as u32))
}

/// The generator's key words for one high index half.
type Key = (u32, u32);

/// [`round_stochastic`] on every lane, with the random bits in `random`'s lanes' low 16 bits.
#[inline(always)]
fn round<S: Simd>(s: S, r: S::V, random: S::U) -> S::V {
    let high = s.u_as_f32(s.splat_u(0xFFFF_0000));
    let up = s.and(s.u_as_f32(s.add_u(s.f32_as_u(r), random)), high);
    let down = s.and(r, high);
    let inf = s.splat(f32::INFINITY);
    // ±inf: `up` is r (nothing carries into the zero low half), not finite.
    let q = s.select(s.finite(up), up, down);
    // A NaN passes through quieted, as `bf16::from_f32` quiets it: the result is a bf16 value
    // in every case, which the store only truncates (`UpdateRule::EXACT`).
    s.select(s.le(abs(s, r), inf), q, s.or(r, s.u_as_f32(s.splat_u(0x0040_0000))))
}

/// The update `k` with its parameter results rounded stochastically: element `j` of the
/// slices the driver runs on with the random bits of index `c0 + j` (low halves, no wrap)
/// under `key`, the high 16 bits of the counter hash. Inside the update loop, so that the
/// hashing overlaps the state's memory traffic.
#[derive(Clone, Copy)]
pub(crate) struct Rounded<K> {
    pub(crate) k: K,
    pub(crate) key: Key,
    pub(crate) c0: u32,
}

impl<K: Copy> Rounded<K> {
    /// `k` rounded with the stream `stream`, the slices' element 0 having the tensor index
    /// `first`; the slices must not cross a multiple of 2^32 in index.
    pub(crate) fn new(k: &K, stream: u64, first: u64) -> Self {
        Rounded { k: *k, key: key(stream, (first >> 32) as u32), c0: first as u32 }
    }
}

impl<K: UpdateRule<N>, const N: usize> UpdateRule<N> for Rounded<K> {
    /// Element 0's bits for every lane: the driver calls [`UpdateRule::update_at`] instead.
    #[inline(always)]
    fn update<S: Simd>(&self, s: S, p: S::V, g: S::V, st: &mut [S::V; N]) -> S::V {
        self.update_at(s, 0, p, g, st)
    }

    #[inline(always)]
    fn update_at<S: Simd>(&self, s: S, i: usize, p: S::V, g: S::V, st: &mut [S::V; N]) -> S::V {
        round(s, self.k.update(s, p, g, st), bits(s, self.key, self.c0, i))
    }

    const EXACT: bool = true;
}

/// The random bits of the lanes from index `c0 + i` on.
#[inline(always)]
fn bits<S: Simd>(s: S, key: Key, c0: u32, i: usize) -> S::U {
    s.shr_u(hash(s, key, s.add_u(s.splat_u(c0.wrapping_add(i as u32)), s.iota_u())), 16)
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
