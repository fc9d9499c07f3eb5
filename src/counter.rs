//! The counter-based generator behind RReLU's random slopes.
//!
//! A draw is a pure function of a 64-bit seed and a 64-bit element index, so any element can
//! be drawn alone: the slopes are the same for any ISA, chunking and thread count, and
//! backward can regenerate them. Integer operations are exact, so the SIMD form (every lane an
//! index) gives the scalar bits.
//!
//! # Definition
//! For a seed `s` and an index `k` (all arithmetic wrapping):
//! 1. Key, from the seed and the high half of the index: `z = s + (⌊k / 2^32⌋ + 1) ·
//!    0x9E3779B97F4A7C15`, then SplitMix64's finaliser (Steele, Lea and Flood, 2014, with
//!    Vigna's constants): `z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27;
//!    z *= 0x94D049BB133111EB; z ^= z >> 31`. `k0` is the low 32 bits of `z`, `k1` the high.
//! 2. Hash of the low half `c = k mod 2^32`, a keyed form of the 32-bit mixer "lowbias32" (the
//!    constants of C. Wellons' hash-prospector search): `x = c ^ k0; x ^= x >> 16;
//!    x *= 0x7FEB352D; x ^= x >> 15; x ^= k1; x *= 0x846CA68B; h = x ^ (x >> 16)`.
//! 3. `u = ⌊h / 2^9⌋ · 2^-23`, in [0, 1) on a grid of 2^-23: formed exactly as the f32 with
//!    bits `0x3F800000 | (h >> 9)` (in [1, 2)) minus 1.
//!
//! Every step of the hash is a bijection of the 32-bit words, so for one seed and one high
//! half `c ↦ h` is too: over 2^32 consecutive indices every 23-bit value of `u` comes out
//! exactly 512 times. `k1` enters between the two multiplies, so that the streams of two seeds
//! are not one stream read at XOR-shifted indices (as they would be with a key XORed in front
//! only). The mixer runs once, where an earlier form ran it twice with a key before each run:
//! 10 operations per vector instead of 20, which made Adam's bf16 step (stochastic rounding)
//! 1.2 times as fast in cache. Checked in f64 apart from the crate, for the top 16 bits: one
//! element's bits over 2^20 steps (the keys of consecutive steps' streams) are as uniform
//! and as uncorrelated as random draws (χ² and lag-1 correlation within 2.3 standard
//! deviations); along 2^22 consecutive indices of one step they are more structured (χ²
//! between −11 and +7 standard deviations for 8 keys, where the two-run form stayed within
//! 2), and each input bit flips each output bit with probability ½ ± 0.008.
//! The key costs a 64-bit hash, paid once per 2^32 indices, so the vector loop only needs
//! 32-bit lanes (multiplies included, which every ISA here has).
//!
//! The optimizers' stochastic rounding (`optim::rounding`) draws from the same generator:
//! `h` itself, for the stream seed [`stream`]`(seed, t)` of step `t`.

use crate::simd::Simd;

/// SplitMix64's increment (2^64 / φ, odd).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The key words `(k0, k1)` for a seed and the high half of an index.
pub(crate) fn key(seed: u64, hi: u32) -> (u32, u32) {
    let z = splitmix(seed, hi as u64 + 1);
    (z as u32, (z >> 32) as u32)
}

/// Output `j` of SplitMix64 seeded with `seed`: its finaliser applied to `seed + j·GOLDEN`.
pub(crate) fn splitmix(seed: u64, j: u64) -> u64 {
    let mut z = seed.wrapping_add(j.wrapping_mul(GOLDEN));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of the stream that step `t` draws from: SplitMix64's output `t` from `seed`, so
/// that the steps' streams are unrelated (a seed plus `t` would shift one stream along).
#[cfg_attr(not(all(feature = "half", feature = "std")), allow(dead_code))]
pub(crate) fn stream(seed: u64, t: u64) -> u64 {
    splitmix(seed, t)
}

/// The hash `h` of the low index halves `c` (step 2 of the definition), on every lane.
#[inline(always)]
pub(crate) fn hash<S: Simd>(s: S, (k0, k1): (u32, u32), c: S::U) -> S::U {
    let x = s.xor_u(c, s.splat_u(k0));
    let x = s.mul_u(s.xor_u(x, s.shr_u(x, 16)), s.splat_u(0x7FEB_352D));
    let x = s.xor_u(s.xor_u(x, s.shr_u(x, 15)), s.splat_u(k1));
    let x = s.mul_u(x, s.splat_u(0x846C_A68B));
    s.xor_u(x, s.shr_u(x, 16))
}

/// u in [0, 1) for the low index halves `c` (step 2 and 3 of the definition).
#[inline(always)]
pub(crate) fn unit<S: Simd>(s: S, key: (u32, u32), c: S::U) -> S::V {
    let h = hash(s, key, c);
    let one = s.u_as_f32(s.splat_u(0x3F80_0000));
    s.sub(s.or(s.u_as_f32(s.shr_u(h, 9)), one), one)
}

/// u for one index: the definition, on the scalar backend.
pub fn unit_at(seed: u64, index: u64) -> f32 {
    let s = crate::simd::scalar::Scalar;
    unit(s, key(seed, (index >> 32) as u32), index as u32)
}
