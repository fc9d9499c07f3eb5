//! One lane of plain f32: the fallback on every target and the model of the trait's semantics.

use super::Simd;

/// The scalar backend. Always available.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Scalar;

impl Simd for Scalar {
    type V = f32;
    type M = bool;
    const LANES: usize = 1;
    const HAS_FMA: bool = true;

    #[inline(always)]
    fn splat(self, x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> f32 {
        s[0]
    }
    #[inline(always)]
    fn store(self, v: f32, s: &mut [f32]) {
        s[0] = v;
    }
    #[inline(always)]
    fn load_partial(self, _s: &[f32]) -> f32 {
        // A partial load of one lane holds no element.
        0.0
    }
    #[inline(always)]
    fn store_partial(self, _v: f32, _s: &mut [f32]) {}

    #[inline(always)]
    fn add(self, a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    fn div(self, a: f32, b: f32) -> f32 {
        a / b
    }
    #[inline(always)]
    fn sqrt(self, a: f32) -> f32 {
        #[cfg(feature = "std")]
        return a.sqrt();
        #[cfg(not(feature = "std"))]
        return libm::sqrtf(a);
    }
    #[inline(always)]
    fn fma(self, a: f32, b: f32, c: f32) -> f32 {
        // std's mul_add reaches the C library's fmaf, which uses the FMA instruction where
        // the CPU has one; libm's is a correct but slow software fallback for no_std.
        #[cfg(feature = "std")]
        return a.mul_add(b, c);
        #[cfg(not(feature = "std"))]
        return libm::fmaf(a, b, c);
    }
    #[inline(always)]
    fn min(self, a: f32, b: f32) -> f32 {
        if b < a { b } else { a }
    }
    #[inline(always)]
    fn max(self, a: f32, b: f32) -> f32 {
        if a < b { b } else { a }
    }
    #[inline(always)]
    fn round(self, a: f32) -> f32 {
        libm::rintf(a)
    }
    #[inline(always)]
    fn pow2i(self, n: f32) -> f32 {
        f32::from_bits((((n as i32) + 127) as u32) << 23)
    }
    #[inline(always)]
    fn exponent(self, a: f32) -> f32 {
        (((a.to_bits() >> 23) & 0xff) as i32 - 127) as f32
    }

    #[inline(always)]
    fn and(self, a: f32, b: f32) -> f32 {
        f32::from_bits(a.to_bits() & b.to_bits())
    }
    #[inline(always)]
    fn or(self, a: f32, b: f32) -> f32 {
        f32::from_bits(a.to_bits() | b.to_bits())
    }
    #[inline(always)]
    fn xor(self, a: f32, b: f32) -> f32 {
        f32::from_bits(a.to_bits() ^ b.to_bits())
    }
    #[inline(always)]
    fn andnot(self, a: f32, b: f32) -> f32 {
        f32::from_bits(!a.to_bits() & b.to_bits())
    }

    #[inline(always)]
    fn lt(self, a: f32, b: f32) -> bool {
        a < b
    }
    #[inline(always)]
    fn le(self, a: f32, b: f32) -> bool {
        a <= b
    }
    #[inline(always)]
    fn any(self, m: bool) -> bool {
        m
    }
    #[inline(always)]
    fn select(self, m: bool, a: f32, b: f32) -> f32 {
        if m { a } else { b }
    }

    type U = u32;
    #[inline(always)]
    fn splat_u(self, x: u32) -> u32 {
        x
    }
    #[inline(always)]
    fn iota_u(self) -> u32 {
        0
    }
    #[inline(always)]
    fn add_u(self, a: u32, b: u32) -> u32 {
        a.wrapping_add(b)
    }
    #[inline(always)]
    fn mul_u(self, a: u32, b: u32) -> u32 {
        a.wrapping_mul(b)
    }
    #[inline(always)]
    fn xor_u(self, a: u32, b: u32) -> u32 {
        a ^ b
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn load_u16(self, s: &[u16]) -> u32 {
        s[0] as u32
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn store_u16(self, v: u32, s: &mut [u16]) {
        s[0] = v as u16;
    }
    #[inline(always)]
    fn shr_u(self, a: u32, n: u32) -> u32 {
        a >> n
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn shl_u(self, a: u32, n: u32) -> u32 {
        a << n
    }
    #[inline(always)]
    fn u_as_f32(self, a: u32) -> f32 {
        f32::from_bits(a)
    }
    #[inline(always)]
    fn f32_as_u(self, a: f32) -> u32 {
        a.to_bits()
    }
}
