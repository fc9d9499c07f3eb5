//! Vector math written once, generic over the crate-private `Simd` trait.
//!
//! None of it assumes flush-to-zero: subnormal inputs are read as they are, and results that
//! should be subnormal are computed with one final rounding (`Simd::scale`). Each function
//! states the worst error measured over all 2^32 f32 inputs (`ulp` example, `--exhaustive`)
//! against an f64 reference, in units in the last place of the f32 result.

pub(crate) mod erf;
pub(crate) mod exp;
pub(crate) mod linear;
pub(crate) mod log1p;
pub(crate) mod sigmoid;
pub(crate) mod tanh;

use crate::simd::Simd;

/// Horner's rule with coefficients highest degree first: `c[0]·r^(k-1) + ... + c[k-1]`.
#[inline(always)]
pub(crate) fn horner<S: Simd, const K: usize>(s: S, r: S::V, c: [f32; K]) -> S::V {
    let mut acc = s.splat(c[0]);
    for &ci in &c[1..] {
        acc = s.fma(acc, r, s.splat(ci));
    }
    acc
}
