//! aarch64 NEON (Advanced SIMD, part of the aarch64 baseline): 4 lanes of `float32x4_t`,
//! with fused `vfmaq_f32`.
//!
//! SAFETY (module-wide argument): NEON is enabled for every aarch64 target Rust supports, so
//! its intrinsics only need the `unsafe` of their declaration; loads and stores stay inside the
//! slice they come from (lengths are checked first).

use super::Simd;
use core::arch::aarch64::*;

/// The NEON backend.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Neon;

#[inline(always)]
fn bits(a: float32x4_t) -> uint32x4_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { vreinterpretq_u32_f32(a) }
}

#[inline(always)]
fn float(a: uint32x4_t) -> float32x4_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { vreinterpretq_f32_u32(a) }
}

macro_rules! neon {
    ($($name:ident($($a:ident),*) => $f:ident;)*) => {$(
        #[inline(always)]
        fn $name(self, $($a: float32x4_t),*) -> float32x4_t {
            // SAFETY: NEON is part of the aarch64 baseline.
            unsafe { $f($($a),*) }
        }
    )*};
}

impl Simd for Neon {
    type V = float32x4_t;
    type M = uint32x4_t;
    const LANES: usize = 4;
    const HAS_FMA: bool = true;

    #[inline(always)]
    fn splat(self, x: f32) -> float32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { vdupq_n_f32(x) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> float32x4_t {
        assert!(s.len() >= 4);
        // SAFETY: s holds at least 4 values.
        unsafe { vld1q_f32(s.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, v: float32x4_t, s: &mut [f32]) {
        assert!(s.len() >= 4);
        // SAFETY: s holds at least 4 values.
        unsafe { vst1q_f32(s.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn load_partial(self, s: &[f32]) -> float32x4_t {
        let mut a = [0.0f32; 4];
        let n = s.len().min(4);
        a[..n].copy_from_slice(&s[..n]);
        self.load(&a)
    }
    #[inline(always)]
    fn store_partial(self, v: float32x4_t, s: &mut [f32]) {
        let mut a = [0.0f32; 4];
        self.store(v, &mut a);
        let n = s.len().min(4);
        s[..n].copy_from_slice(&a[..n]);
    }

    neon! {
        add(a, b) => vaddq_f32;
        sub(a, b) => vsubq_f32;
        mul(a, b) => vmulq_f32;
        div(a, b) => vdivq_f32;
        sqrt(a) => vsqrtq_f32;
        round(a) => vrndnq_f32;
    }

    #[inline(always)]
    fn fma(self, a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline. vfmaq(c, a, b) = c + a·b, fused.
        unsafe { vfmaq_f32(c, a, b) }
    }
    #[inline(always)]
    fn min(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        self.select(self.lt(b, a), b, a)
    }
    #[inline(always)]
    fn max(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        self.select(self.lt(a, b), b, a)
    }
    #[inline(always)]
    fn pow2i(self, n: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe {
            let e = vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127));
            vreinterpretq_f32_s32(vshlq_n_s32::<23>(e))
        }
    }
    #[inline(always)]
    fn exponent(self, a: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe {
            let e = vandq_u32(vshrq_n_u32::<23>(bits(a)), vdupq_n_u32(0xff));
            vcvtq_f32_s32(vsubq_s32(vreinterpretq_s32_u32(e), vdupq_n_s32(127)))
        }
    }

    #[inline(always)]
    fn and(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        float(unsafe { vandq_u32(bits(a), bits(b)) })
    }
    #[inline(always)]
    fn or(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        float(unsafe { vorrq_u32(bits(a), bits(b)) })
    }
    #[inline(always)]
    fn xor(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        float(unsafe { veorq_u32(bits(a), bits(b)) })
    }
    #[inline(always)]
    fn andnot(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline. vbic(b, a) = b & !a.
        float(unsafe { vbicq_u32(bits(b), bits(a)) })
    }

    #[inline(always)]
    fn lt(self, a: float32x4_t, b: float32x4_t) -> uint32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { vcltq_f32(a, b) }
    }
    #[inline(always)]
    fn le(self, a: float32x4_t, b: float32x4_t) -> uint32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { vcleq_f32(a, b) }
    }
    #[inline(always)]
    fn any(self, m: uint32x4_t) -> bool {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { vmaxvq_u32(m) != 0 }
    }
    #[inline(always)]
    fn select(self, m: uint32x4_t, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { vbslq_f32(m, a, b) }
    }

    type U = uint32x4_t;
    #[inline(always)]
    fn splat_u(self, x: u32) -> uint32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { vdupq_n_u32(x) }
    }
    #[inline(always)]
    fn iota_u(self) -> uint32x4_t {
        const IOTA: [u32; 4] = [0, 1, 2, 3];
        // SAFETY: NEON is part of the aarch64 baseline; IOTA holds 4 values.
        unsafe { vld1q_u32(IOTA.as_ptr()) }
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn load_u16(self, s: &[u16]) -> uint32x4_t {
        assert!(s.len() >= 4);
        // SAFETY: NEON is part of the aarch64 baseline and s holds at least 4 values.
        unsafe { vmovl_u16(vld1_u16(s.as_ptr())) }
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn store_u16(self, v: uint32x4_t, s: &mut [u16]) {
        assert!(s.len() >= 4);
        // SAFETY: NEON is part of the aarch64 baseline and s holds at least 4 values.
        unsafe { vst1_u16(s.as_mut_ptr(), vmovn_u32(v)) }
    }
    #[inline(always)]
    fn add_u(self, a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { vaddq_u32(a, b) }
    }
    #[inline(always)]
    fn mul_u(self, a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { vmulq_u32(a, b) }
    }
    #[inline(always)]
    fn xor_u(self, a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { veorq_u32(a, b) }
    }
    #[inline(always)]
    fn shr_u(self, a: uint32x4_t, n: u32) -> uint32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline. A negative count shifts right.
        unsafe { vshlq_u32(a, vdupq_n_s32(-(n as i32))) }
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn shl_u(self, a: uint32x4_t, n: u32) -> uint32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { vshlq_u32(a, vdupq_n_s32(n as i32)) }
    }
    #[inline(always)]
    fn u_as_f32(self, a: uint32x4_t) -> float32x4_t {
        float(a)
    }
    #[inline(always)]
    fn f32_as_u(self, a: float32x4_t) -> uint32x4_t {
        bits(a)
    }
}
