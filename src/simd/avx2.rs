//! x86-64 AVX2 + FMA: 8 lanes of `__m256`.
//!
//! SAFETY (module-wide argument): an [`Avx2`] token is only made by [`Avx2::new_unchecked`],
//! whose callers have checked that the CPU has AVX2 and FMA; every intrinsic below needs no
//! more than that. Pointer accesses stay inside the slice they come from (lengths are checked
//! or masked).

use super::Simd;
use core::arch::x86_64::*;

/// The AVX2+FMA backend.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2(());

impl Avx2 {
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline(always)]
    pub(crate) unsafe fn new_unchecked() -> Self {
        Avx2(())
    }
}

/// Lane mask whose first `n` (0..8) lanes are set, for `maskload`/`maskstore`.
#[inline(always)]
fn head_mask(n: usize) -> __m256i {
    const IDX: [i32; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
    // SAFETY: AVX2 is available (module docs); IDX is 8 i32 long.
    unsafe {
        let idx = _mm256_loadu_si256(IDX.as_ptr().cast());
        _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), idx)
    }
}

macro_rules! avx {
    ($($name:ident($($a:ident),*) => $f:ident;)*) => {$(
        #[inline(always)]
        fn $name(self, $($a: __m256),*) -> __m256 {
            // SAFETY: AVX2 and FMA are available (module docs).
            unsafe { $f($($a),*) }
        }
    )*};
}

impl Simd for Avx2 {
    type V = __m256;
    type M = __m256;
    const LANES: usize = 8;
    const HAS_FMA: bool = true;

    #[inline(always)]
    fn splat(self, x: f32) -> __m256 {
        // SAFETY: AVX is available (module docs).
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m256 {
        assert!(s.len() >= 8);
        // SAFETY: AVX is available and s holds at least 8 values.
        unsafe { _mm256_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, v: __m256, s: &mut [f32]) {
        assert!(s.len() >= 8);
        // SAFETY: AVX is available and s holds at least 8 values.
        unsafe { _mm256_storeu_ps(s.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn load_partial(self, s: &[f32]) -> __m256 {
        debug_assert!(s.len() < 8);
        // SAFETY: AVX is available; maskload touches only the first s.len() lanes.
        unsafe { _mm256_maskload_ps(s.as_ptr(), head_mask(s.len().min(8))) }
    }
    #[inline(always)]
    fn store_partial(self, v: __m256, s: &mut [f32]) {
        debug_assert!(s.len() < 8);
        // SAFETY: AVX is available; maskstore touches only the first s.len() lanes.
        unsafe { _mm256_maskstore_ps(s.as_mut_ptr(), head_mask(s.len().min(8)), v) }
    }

    avx! {
        add(a, b) => _mm256_add_ps;
        sub(a, b) => _mm256_sub_ps;
        mul(a, b) => _mm256_mul_ps;
        div(a, b) => _mm256_div_ps;
        sqrt(a) => _mm256_sqrt_ps;
        fma(a, b, c) => _mm256_fmadd_ps;
        and(a, b) => _mm256_and_ps;
        or(a, b) => _mm256_or_ps;
        xor(a, b) => _mm256_xor_ps;
        andnot(a, b) => _mm256_andnot_ps;
    }

    #[inline(always)]
    fn min(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX is available. minps(b, a) = b < a ? b : a.
        unsafe { _mm256_min_ps(b, a) }
    }
    #[inline(always)]
    fn max(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX is available. maxps(b, a) = b > a ? b : a.
        unsafe { _mm256_max_ps(b, a) }
    }
    #[inline(always)]
    fn round(self, a: __m256) -> __m256 {
        // SAFETY: AVX is available.
        unsafe { _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a) }
    }
    #[inline(always)]
    fn pow2i(self, n: __m256) -> __m256 {
        // SAFETY: AVX2 is available (module docs).
        unsafe {
            let e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
            _mm256_castsi256_ps(_mm256_slli_epi32::<23>(e))
        }
    }
    #[inline(always)]
    fn exponent(self, a: __m256) -> __m256 {
        // SAFETY: AVX2 is available (module docs).
        unsafe {
            let e = _mm256_srli_epi32::<23>(_mm256_castps_si256(a));
            let e = _mm256_sub_epi32(_mm256_and_si256(e, _mm256_set1_epi32(0xff)), _mm256_set1_epi32(127));
            _mm256_cvtepi32_ps(e)
        }
    }

    #[inline(always)]
    fn lt(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX is available.
        unsafe { _mm256_cmp_ps::<_CMP_LT_OQ>(a, b) }
    }
    #[inline(always)]
    fn le(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX is available.
        unsafe { _mm256_cmp_ps::<_CMP_LE_OQ>(a, b) }
    }
    #[inline(always)]
    fn any(self, m: __m256) -> bool {
        // SAFETY: AVX is available.
        unsafe { _mm256_movemask_ps(m) != 0 }
    }
    #[inline(always)]
    fn select(self, m: __m256, a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX is available.
        unsafe { _mm256_blendv_ps(b, a, m) }
    }

    type U = __m256i;
    #[inline(always)]
    fn splat_u(self, x: u32) -> __m256i {
        // SAFETY: AVX is available.
        unsafe { _mm256_set1_epi32(x as i32) }
    }
    #[inline(always)]
    fn iota_u(self) -> __m256i {
        // SAFETY: AVX is available.
        unsafe { _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7) }
    }
    #[inline(always)]
    fn add_u(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: AVX2 is available (module docs).
        unsafe { _mm256_add_epi32(a, b) }
    }
    #[inline(always)]
    fn mul_u(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: AVX2 is available (module docs).
        unsafe { _mm256_mullo_epi32(a, b) }
    }
    #[inline(always)]
    fn xor_u(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: AVX2 is available (module docs).
        unsafe { _mm256_xor_si256(a, b) }
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn load_u16(self, s: &[u16]) -> __m256i {
        assert!(s.len() >= 8);
        // SAFETY: AVX2 is available (module docs) and s holds at least 8 values.
        unsafe { _mm256_cvtepu16_epi32(_mm_loadu_si128(s.as_ptr().cast())) }
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn store_u16(self, v: __m256i, s: &mut [u16]) {
        assert!(s.len() >= 8);
        // SAFETY: AVX2 is available (module docs) and s holds at least 8 values. The lanes are
        // cut to 16 bits first, so the saturating pack keeps them; it packs within 128-bit
        // halves, and the permute brings the two halves' results together.
        unsafe {
            let low = _mm256_and_si256(v, _mm256_set1_epi32(0xFFFF));
            let packed = _mm256_permute4x64_epi64::<0b1000>(_mm256_packus_epi32(low, low));
            _mm_storeu_si128(s.as_mut_ptr().cast(), _mm256_castsi256_si128(packed))
        }
    }
    #[inline(always)]
    fn shr_u(self, a: __m256i, n: u32) -> __m256i {
        // SAFETY: AVX2 is available (module docs). A constant `n` becomes an immediate.
        unsafe { _mm256_srl_epi32(a, _mm_cvtsi32_si128(n as i32)) }
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn shl_u(self, a: __m256i, n: u32) -> __m256i {
        // SAFETY: AVX2 is available (module docs). A constant `n` becomes an immediate.
        unsafe { _mm256_sll_epi32(a, _mm_cvtsi32_si128(n as i32)) }
    }
    #[inline(always)]
    fn u_as_f32(self, a: __m256i) -> __m256 {
        // SAFETY: AVX is available.
        unsafe { _mm256_castsi256_ps(a) }
    }
    #[inline(always)]
    fn f32_as_u(self, a: __m256) -> __m256i {
        // SAFETY: AVX is available.
        unsafe { _mm256_castps_si256(a) }
    }
}
