//! The x86-64 conversion routines of each tier: AVX-512F for f16 on the AVX-512 tier, and the
//! tiers' options (F16C for f16 on AVX2, AVX-512-BF16's `vcvtneps2bf16` for f32 → bf16 on
//! AVX-512), and the integer forms of [`portable`] compiled with each tier's features for the
//! rest. The tail shorter than a vector goes through [`portable`],
//! which gives the same bits.

use super::portable;
use crate::isa::{with_features, x86_tier};
use core::arch::x86_64::*;

/// Converts `src` into `dst` (lengths: the shorter) `$w` elements at a time with `$body`
/// (`$s` and `$d` the raw pointers to element `i` of each), and the rest with the portable
/// `$tail`.
macro_rules! vectors {
    ($src:ident, $dst:ident, $w:expr, $tail:path, |$s:ident, $d:ident| $body:expr) => {{
        let n = $src.len().min($dst.len());
        let mut i = 0;
        while i + $w <= n {
            // SAFETY: i + $w <= n, so `$w` elements from i are inside both slices.
            unsafe {
                let ($s, $d) = ($src.as_ptr().add(i), $dst.as_mut_ptr().add(i));
                $body;
            }
            i += $w;
        }
        $tail(&$src[i..n], &mut $dst[i..n]);
    }};
}

/// The portable integer loops of bf16, compiled with the tier's features so that the compiler
/// vectorizes them with its registers.
macro_rules! integer_forms {
    ($tier:ident) => {
        x86_tier!(
            $tier,
            with_features!([] {
                pub(crate) fn bf16s_to_f32(src: &[u16], dst: &mut [f32]) {
                    portable::bf16s_to_f32(src, dst)
                }

                pub(crate) fn f32s_to_bf16(src: &[f32], dst: &mut [u16]) {
                    portable::f32s_to_bf16(src, dst)
                }
            })
        );
    };
}

/// The AVX2 tier: bf16 on integers; with its option F16C, f16 through `vcvtph2ps`/`vcvtps2ph`
/// (8 lanes).
pub(crate) mod avx2 {
    use super::*;

    integer_forms!(avx2);

    x86_tier!(
        avx2,
        with_features!(["f16c"] {
            pub(crate) fn f16s_to_f32(src: &[u16], dst: &mut [f32]) {
                vectors!(src, dst, 8, portable::f16s_to_f32, |s, d| {
                    _mm256_storeu_ps(d, _mm256_cvtph_ps(_mm_loadu_si128(s.cast())))
                })
            }

            /// F16C rounds as the immediate says (nearest even), subnormal f16 results included.
            pub(crate) fn f32s_to_f16(src: &[f32], dst: &mut [u16]) {
                vectors!(src, dst, 8, portable::f32s_to_f16, |s, d| {
                    let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_loadu_ps(s));
                    _mm_storeu_si128(d.cast(), h)
                })
            }
        })
    );
}

/// The AVX-512 tier: bf16 on integers, f16 through the 16-lane `vcvtph2ps`/`vcvtps2ph` of
/// AVX-512F; with its option AVX-512-BF16, f32 → bf16 through `vcvtneps2bf16`.
pub(crate) mod avx512 {
    use super::*;

    integer_forms!(avx512);

    x86_tier!(
        avx512,
        with_features!([] {
            pub(crate) fn f16s_to_f32(src: &[u16], dst: &mut [f32]) {
                vectors!(src, dst, 16, portable::f16s_to_f32, |s, d| {
                    _mm512_storeu_ps(d, _mm512_cvtph_ps(_mm256_loadu_si256(s.cast())))
                })
            }

            pub(crate) fn f32s_to_f16(src: &[f32], dst: &mut [u16]) {
                vectors!(src, dst, 16, portable::f32s_to_f16, |s, d| {
                    let h = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm512_loadu_ps(s));
                    _mm256_storeu_si256(d.cast(), h)
                })
            }
        })
    );

    x86_tier!(
        avx512,
        with_features!(["avx512bf16"] {
            /// [`bf16_bits`](crate::simd::avx512::bf16_bits) on each vector.
            pub(crate) fn f32s_to_bf16_option(src: &[f32], dst: &mut [u16]) {
                vectors!(src, dst, 16, portable::f32s_to_bf16, |s, d| {
                    _mm256_storeu_si256(d.cast(), crate::simd::avx512::bf16_bits(_mm512_loadu_ps(s)))
                })
            }
        })
    );
}
