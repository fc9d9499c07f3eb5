//! The square root, as an extension of the crate's vector trait for the optimizer kernels.
//!
//! Every implementation is the IEEE correctly rounded square root (`sqrtps`, `vsqrtq_f32`,
//! `f32::sqrt`), so it gives the same result on every ISA. It lives here rather than in
//! `Simd` itself only to keep this module self-contained; it can move into the trait unchanged.

use crate::simd::Simd;
use crate::simd::portable::Portable;
use crate::simd::scalar::Scalar;
use crate::simd::unroll::X2;

/// A backend with a correctly rounded square root.
pub(crate) trait Sqrt: Simd {
    /// √a per lane, correctly rounded; NaN for a < 0, −0 for −0.
    fn sqrt(self, a: Self::V) -> Self::V;
}

impl Sqrt for Scalar {
    #[inline(always)]
    fn sqrt(self, a: f32) -> f32 {
        #[cfg(feature = "std")]
        return a.sqrt();
        #[cfg(not(feature = "std"))]
        return libm::sqrtf(a);
    }
}

impl Sqrt for Portable {
    #[inline(always)]
    fn sqrt(self, a: wide::f32x8) -> wide::f32x8 {
        a.sqrt()
    }
}

#[cfg(target_arch = "x86_64")]
impl Sqrt for crate::simd::avx2::Avx2 {
    #[inline(always)]
    fn sqrt(self, a: core::arch::x86_64::__m256) -> core::arch::x86_64::__m256 {
        // SAFETY: an Avx2 token proves AVX is available.
        unsafe { core::arch::x86_64::_mm256_sqrt_ps(a) }
    }
}

#[cfg(target_arch = "x86_64")]
impl Sqrt for crate::simd::avx512::Avx512 {
    #[inline(always)]
    fn sqrt(self, a: core::arch::x86_64::__m512) -> core::arch::x86_64::__m512 {
        // SAFETY: an Avx512 token proves AVX-512F is available.
        unsafe { core::arch::x86_64::_mm512_sqrt_ps(a) }
    }
}

#[cfg(target_arch = "aarch64")]
impl Sqrt for crate::simd::neon::Neon {
    #[inline(always)]
    fn sqrt(self, a: core::arch::aarch64::float32x4_t) -> core::arch::aarch64::float32x4_t {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { core::arch::aarch64::vsqrtq_f32(a) }
    }
}

impl<S: Sqrt> Sqrt for X2<S> {
    #[inline(always)]
    fn sqrt(self, a: Self::V) -> Self::V {
        (self.0.sqrt(a.0), self.0.sqrt(a.1))
    }
}
