//! The portable tier on `wide::f32x8`: SSE2 on x86-64, NEON on aarch64, simd128 on wasm, or
//! plain arrays elsewhere, chosen by `wide` at compile time. Its `mul_add` is fused only where
//! FMA is enabled at compile time, so this backend reports `HAS_FMA = false` and the math core
//! takes exact products from Dekker's split. NaN handling is done with compares and selects,
//! since `wide`'s `min`/`max` drop NaN differently per target.

use super::Simd;
use wide::{f32x8, i32x8, u32x8};

/// The portable backend. Always available.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Portable;

#[inline(always)]
fn bits(a: f32x8) -> i32x8 {
    wide::bytemuck::cast(a)
}

#[inline(always)]
fn float(a: i32x8) -> f32x8 {
    wide::bytemuck::cast(a)
}

impl Simd for Portable {
    type V = f32x8;
    type M = f32x8;
    const LANES: usize = 8;
    const HAS_FMA: bool = false;

    #[inline(always)]
    fn splat(self, x: f32) -> f32x8 {
        f32x8::splat(x)
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> f32x8 {
        let a: [f32; 8] = s[..8].try_into().unwrap_or_default();
        f32x8::new(a)
    }
    #[inline(always)]
    fn store(self, v: f32x8, s: &mut [f32]) {
        s[..8].copy_from_slice(&v.to_array());
    }
    #[inline(always)]
    fn load_partial(self, s: &[f32]) -> f32x8 {
        let mut a = [0.0f32; 8];
        let n = s.len().min(8);
        a[..n].copy_from_slice(&s[..n]);
        f32x8::new(a)
    }
    #[inline(always)]
    fn store_partial(self, v: f32x8, s: &mut [f32]) {
        let n = s.len().min(8);
        s[..n].copy_from_slice(&v.to_array()[..n]);
    }

    #[inline(always)]
    fn add(self, a: f32x8, b: f32x8) -> f32x8 {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: f32x8, b: f32x8) -> f32x8 {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: f32x8, b: f32x8) -> f32x8 {
        a * b
    }
    #[inline(always)]
    fn div(self, a: f32x8, b: f32x8) -> f32x8 {
        a / b
    }
    #[inline(always)]
    fn sqrt(self, a: f32x8) -> f32x8 {
        a.sqrt()
    }
    #[inline(always)]
    fn fma(self, a: f32x8, b: f32x8, c: f32x8) -> f32x8 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn min(self, a: f32x8, b: f32x8) -> f32x8 {
        b.simd_lt(a).select(b, a)
    }
    #[inline(always)]
    fn max(self, a: f32x8, b: f32x8) -> f32x8 {
        a.simd_lt(b).select(b, a)
    }
    #[inline(always)]
    fn round(self, a: f32x8) -> f32x8 {
        // Adding and removing 1.5·2^23 rounds to nearest even for |a| < 2^22.
        let m = f32x8::splat(12582912.0);
        (a + m) - m
    }
    #[inline(always)]
    fn pow2i(self, n: f32x8) -> f32x8 {
        float((n.round_int() + i32x8::splat(127)) << 23)
    }
    #[inline(always)]
    fn exponent(self, a: f32x8) -> f32x8 {
        let e = (bits(a) >> 23) & i32x8::splat(0xff);
        f32x8::from_i32x8(e - i32x8::splat(127))
    }

    #[inline(always)]
    fn and(self, a: f32x8, b: f32x8) -> f32x8 {
        a & b
    }
    #[inline(always)]
    fn or(self, a: f32x8, b: f32x8) -> f32x8 {
        a | b
    }
    #[inline(always)]
    fn xor(self, a: f32x8, b: f32x8) -> f32x8 {
        a ^ b
    }
    #[inline(always)]
    fn andnot(self, a: f32x8, b: f32x8) -> f32x8 {
        float(!bits(a)) & b
    }

    #[inline(always)]
    fn lt(self, a: f32x8, b: f32x8) -> f32x8 {
        a.simd_lt(b)
    }
    #[inline(always)]
    fn le(self, a: f32x8, b: f32x8) -> f32x8 {
        a.simd_le(b)
    }
    #[inline(always)]
    fn any(self, m: f32x8) -> bool {
        m.any()
    }
    #[inline(always)]
    fn select(self, m: f32x8, a: f32x8, b: f32x8) -> f32x8 {
        m.select(a, b)
    }

    type U = u32x8;
    #[inline(always)]
    fn splat_u(self, x: u32) -> u32x8 {
        u32x8::splat(x)
    }
    #[inline(always)]
    fn iota_u(self) -> u32x8 {
        u32x8::new([0, 1, 2, 3, 4, 5, 6, 7])
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn load_u16(self, s: &[u16]) -> u32x8 {
        let s = &s[..8];
        u32x8::new(core::array::from_fn(|j| s[j] as u32))
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn store_u16(self, v: u32x8, s: &mut [u16]) {
        for (d, x) in s[..8].iter_mut().zip(v.to_array()) {
            *d = x as u16;
        }
    }
    #[inline(always)]
    fn add_u(self, a: u32x8, b: u32x8) -> u32x8 {
        a + b
    }
    #[inline(always)]
    fn mul_u(self, a: u32x8, b: u32x8) -> u32x8 {
        a * b
    }
    #[inline(always)]
    fn xor_u(self, a: u32x8, b: u32x8) -> u32x8 {
        a ^ b
    }
    #[inline(always)]
    fn shr_u(self, a: u32x8, n: u32) -> u32x8 {
        a >> n
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn shl_u(self, a: u32x8, n: u32) -> u32x8 {
        a << n
    }
    #[inline(always)]
    fn u_as_f32(self, a: u32x8) -> f32x8 {
        wide::bytemuck::cast(a)
    }
    #[inline(always)]
    fn f32_as_u(self, a: f32x8) -> u32x8 {
        wide::bytemuck::cast(a)
    }
}
