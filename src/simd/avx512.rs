//! x86-64 AVX-512 (the x86-64-v4 set: F, BW, DQ, VL): 16 lanes of `__m512`, masked tails, and
//! `vscalefps` to scale by 2^n with one rounding.
//!
//! SAFETY (module-wide argument): an [`Avx512`] token is only made by
//! [`Avx512::new_unchecked`], whose callers have checked that the CPU has AVX-512 F, BW, DQ
//! and VL; every intrinsic below needs no more. Masked loads and stores touch only the lanes of
//! the mask, which never go past the slice.

use super::Simd;
#[cfg(feature = "half")]
use crate::isa::{with_features, x86_tier};
use core::arch::x86_64::*;

/// The AVX-512 backend; with `BF16`, stores to bf16 round with AVX-512-BF16's
/// `vcvtneps2bf16` ([`bf16_bits`]) instead of integer operations.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512With<const BF16: bool>(());

/// The AVX-512 backend.
pub(crate) type Avx512 = Avx512With<false>;
/// The AVX-512 backend with AVX-512-BF16's conversion.
#[cfg(feature = "half")]
pub(crate) type Avx512Bf16 = Avx512With<true>;

impl Avx512 {
    /// # Safety
    /// The CPU must support AVX-512 F, BW, DQ and VL.
    #[inline(always)]
    pub(crate) unsafe fn new_unchecked() -> Self {
        Avx512With(())
    }
}

#[cfg(feature = "half")]
impl Avx512Bf16 {
    /// # Safety
    /// The CPU must support AVX-512 F, BW, DQ, VL and BF16.
    #[inline(always)]
    pub(crate) unsafe fn new_unchecked() -> Self {
        Avx512With(())
    }
}

#[cfg(feature = "half")]
x86_tier!(
    avx512,
    with_features!(["avx512bf16"] {
        /// f32 → bf16 bits, rounded to nearest even with NaNs quieted as the `half` crate does.
        /// `vcvtneps2bf16` does that, but reads subnormal inputs as zero (measured on Zen 4, as Intel
        /// documents): subnormal lanes take the integer rounding instead.
        #[inline]
        pub(crate) fn bf16_bits(v: __m512) -> __m256i {
            // SAFETY: __m256bh and __m256i are both 256 bits of plain data.
            let h: __m256i = unsafe { core::mem::transmute(_mm512_cvtneps_pbh(v)) };
            // Subnormal lanes (vfpclassps class 0x20); ±0, which ReLU gives for half its inputs, is
            // converted right.
            let tiny = _mm512_fpclass_ps_mask::<0x20>(v);
            if tiny == 0 {
                return h;
            }
            // SAFETY: AVX-512 F, BW, DQ and VL are enabled here.
            let r = super::round_bf16(unsafe { Avx512::new_unchecked() }, v);
            _mm256_mask_blend_epi16(tiny, h, _mm512_cvtepi32_epi16(r))
        }
    })
);

#[inline(always)]
fn head(n: usize) -> __mmask16 {
    ((1u32 << n.min(16)) - 1) as __mmask16
}

macro_rules! avx {
    ($($name:ident($($a:ident),*) => $f:ident;)*) => {$(
        #[inline(always)]
        fn $name(self, $($a: __m512),*) -> __m512 {
            // SAFETY: AVX-512F/DQ are available (module docs).
            unsafe { $f($($a),*) }
        }
    )*};
}

impl<const BF16: bool> Simd for Avx512With<BF16> {
    type V = __m512;
    type M = __mmask16;
    const LANES: usize = 16;
    const HAS_FMA: bool = true;
    const FAST_TABLE: bool = true;

    #[inline(always)]
    fn splat(self, x: f32) -> __m512 {
        // SAFETY: AVX-512F is available.
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m512 {
        assert!(s.len() >= 16);
        // SAFETY: AVX-512F is available and s holds at least 16 values.
        unsafe { _mm512_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, v: __m512, s: &mut [f32]) {
        assert!(s.len() >= 16);
        // SAFETY: AVX-512F is available and s holds at least 16 values.
        unsafe { _mm512_storeu_ps(s.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn load_partial(self, s: &[f32]) -> __m512 {
        debug_assert!(s.len() < 16);
        // SAFETY: AVX-512F is available; the mask covers only the first s.len() lanes.
        unsafe { _mm512_maskz_loadu_ps(head(s.len()), s.as_ptr()) }
    }
    #[inline(always)]
    fn store_partial(self, v: __m512, s: &mut [f32]) {
        debug_assert!(s.len() < 16);
        // SAFETY: AVX-512F is available; the mask covers only the first s.len() lanes.
        unsafe { _mm512_mask_storeu_ps(s.as_mut_ptr(), head(s.len()), v) }
    }

    avx! {
        add(a, b) => _mm512_add_ps;
        sub(a, b) => _mm512_sub_ps;
        mul(a, b) => _mm512_mul_ps;
        div(a, b) => _mm512_div_ps;
        sqrt(a) => _mm512_sqrt_ps;
        fma(a, b, c) => _mm512_fmadd_ps;
        and(a, b) => _mm512_and_ps;
        or(a, b) => _mm512_or_ps;
        xor(a, b) => _mm512_xor_ps;
        andnot(a, b) => _mm512_andnot_ps;
        scale(a, n) => _mm512_scalef_ps;
        scale_small(a, n) => _mm512_scalef_ps;
        scale_floor(a, n) => _mm512_scalef_ps;
    }

    #[inline(always)]
    fn min(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: AVX-512F is available. minps(b, a) = b < a ? b : a.
        unsafe { _mm512_min_ps(b, a) }
    }
    #[inline(always)]
    fn max(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: AVX-512F is available. maxps(b, a) = b > a ? b : a.
        unsafe { _mm512_max_ps(b, a) }
    }
    #[inline(always)]
    fn div_fast(self, a: __m512, b: __m512) -> __m512 {
        // q0 = a·rcp14(b) is within 2^-14 and exact in the special cases (rcp14 gives ±inf for
        // ±0 and ±0 for ±inf); one correction with the residual a − b·q0 (exact from the FMA)
        // takes it to within 1 ULP. Where that gives NaN (the special cases and an overflowing
        // quotient, where the residual is infinite or NaN), q0 stands.
        // SAFETY: AVX-512F is available.
        unsafe {
            let r = _mm512_rcp14_ps(b);
            let q0 = _mm512_mul_ps(a, r);
            let e = _mm512_fnmadd_ps(b, q0, a);
            let q = _mm512_fmadd_ps(e, r, q0);
            _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_UNORD_Q>(q, q), q, q0)
        }
    }
    #[inline(always)]
    fn pow2i(self, n: __m512) -> __m512 {
        self.scale(self.splat(1.0), n)
    }
    #[inline(always)]
    fn exponent(self, a: __m512) -> __m512 {
        // SAFETY: AVX-512F is available.
        unsafe { _mm512_getexp_ps(a) }
    }
    #[inline(always)]
    fn round(self, a: __m512) -> __m512 {
        // SAFETY: AVX-512F is available. Immediate 8: round to nearest, exceptions suppressed.
        unsafe { _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a) }
    }

    #[inline(always)]
    fn table16(self, t: &[f32; 16], k: __m512) -> __m512 {
        // SAFETY: AVX-512F is available; `t` holds 16 f32 and vpermps reads the index's low 4
        // bits only.
        unsafe { _mm512_permutexvar_ps(_mm512_castps_si512(k), _mm512_loadu_ps(t.as_ptr())) }
    }
    #[inline(always)]
    fn table32(self, t: &[f32; 32], k: __m512) -> __m512 {
        // SAFETY: AVX-512F is available; `t` holds 32 f32 and vpermt2ps reads the index's low
        // 5 bits only (bit 4 picks the register).
        unsafe {
            let lo = _mm512_loadu_ps(t.as_ptr());
            let hi = _mm512_loadu_ps(t[16..].as_ptr());
            _mm512_permutex2var_ps(lo, _mm512_castps_si512(k), hi)
        }
    }
    #[inline(always)]
    fn any(self, m: __mmask16) -> bool {
        m != 0
    }
    #[inline(always)]
    fn lt(self, a: __m512, b: __m512) -> __mmask16 {
        // SAFETY: AVX-512F is available.
        unsafe { _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b) }
    }
    #[inline(always)]
    fn le(self, a: __m512, b: __m512) -> __mmask16 {
        // SAFETY: AVX-512F is available.
        unsafe { _mm512_cmp_ps_mask::<_CMP_LE_OQ>(a, b) }
    }
    #[inline(always)]
    fn finite(self, a: __m512) -> __mmask16 {
        // One vfpclassps for ±inf and NaN (0x99: QNaN, +inf, -inf, SNaN) instead of abs and a
        // compare. SAFETY: AVX-512DQ is available.
        !unsafe { _mm512_fpclass_ps_mask::<0x99>(a) }
    }
    #[inline(always)]
    fn select(self, m: __mmask16, a: __m512, b: __m512) -> __m512 {
        // SAFETY: AVX-512F is available.
        unsafe { _mm512_mask_blend_ps(m, b, a) }
    }

    type U = __m512i;
    #[inline(always)]
    fn splat_u(self, x: u32) -> __m512i {
        // SAFETY: AVX-512F is available.
        unsafe { _mm512_set1_epi32(x as i32) }
    }
    #[inline(always)]
    fn iota_u(self) -> __m512i {
        // SAFETY: AVX-512F is available.
        unsafe { _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) }
    }
    #[inline(always)]
    fn add_u(self, a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: AVX-512F is available.
        unsafe { _mm512_add_epi32(a, b) }
    }
    #[inline(always)]
    fn mul_u(self, a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: AVX-512F is available.
        unsafe { _mm512_mullo_epi32(a, b) }
    }
    #[inline(always)]
    fn xor_u(self, a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: AVX-512F is available.
        unsafe { _mm512_xor_si512(a, b) }
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn load_u16(self, s: &[u16]) -> __m512i {
        assert!(s.len() >= 16);
        // SAFETY: AVX-512F is available and s holds at least 16 values.
        unsafe { _mm512_cvtepu16_epi32(_mm256_loadu_si256(s.as_ptr().cast())) }
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn store_u16(self, v: __m512i, s: &mut [u16]) {
        assert!(s.len() >= 16);
        // SAFETY: AVX-512F is available and s holds at least 16 values.
        unsafe { _mm256_storeu_si256(s.as_mut_ptr().cast(), _mm512_cvtepi32_epi16(v)) }
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn store_bf16(self, v: __m512, s: &mut [u16]) {
        if BF16 {
            assert!(s.len() >= 16);
            // SAFETY: a token with BF16 is only made where the CPU has AVX-512-BF16 too, and s
            // holds at least 16 values.
            unsafe { _mm256_storeu_si256(s.as_mut_ptr().cast(), bf16_bits(v)) }
        } else {
            self.store_u16(super::round_bf16(self, v), s)
        }
    }
    #[inline(always)]
    fn shr_u(self, a: __m512i, n: u32) -> __m512i {
        // SAFETY: AVX-512F is available. A constant `n` becomes an immediate.
        unsafe { _mm512_srl_epi32(a, _mm_cvtsi32_si128(n as i32)) }
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn shl_u(self, a: __m512i, n: u32) -> __m512i {
        // SAFETY: AVX-512F is available. A constant `n` becomes an immediate.
        unsafe { _mm512_sll_epi32(a, _mm_cvtsi32_si128(n as i32)) }
    }
    #[inline(always)]
    fn u_as_f32(self, a: __m512i) -> __m512 {
        // SAFETY: AVX-512F is available.
        unsafe { _mm512_castsi512_ps(a) }
    }
    #[inline(always)]
    fn f32_as_u(self, a: __m512) -> __m512i {
        // SAFETY: AVX-512F is available.
        unsafe { _mm512_castps_si512(a) }
    }
}
