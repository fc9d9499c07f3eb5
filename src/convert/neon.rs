//! The aarch64 path: f16 through NEON's `fcvtl`/`fcvtn` (4 lanes, round to nearest even under
//! the default FPCR, subnormals kept); bf16 on integers ([`portable`], which the compiler
//! vectorizes with NEON, the aarch64 baseline).

use super::portable;
use core::arch::aarch64::*;

pub(crate) use portable::{bf16s_to_f32, f32s_to_bf16};

/// Converts `src` into `dst` 4 elements at a time with `$body` (`$s`, `$d` the pointers to
/// element `i` of each), the rest with the portable `$tail`.
macro_rules! quads {
    ($src:ident, $dst:ident, $tail:path, |$s:ident, $d:ident| $body:expr) => {{
        let n = $src.len().min($dst.len());
        let mut i = 0;
        while i + 4 <= n {
            // SAFETY: i + 4 <= n, so 4 elements from i are inside both slices; NEON is part
            // of every aarch64 target.
            unsafe {
                let ($s, $d) = ($src.as_ptr().add(i), $dst.as_mut_ptr().add(i));
                $body;
            }
            i += 4;
        }
        $tail(&$src[i..n], &mut $dst[i..n]);
    }};
}

pub(crate) fn f16s_to_f32(src: &[u16], dst: &mut [f32]) {
    quads!(src, dst, portable::f16s_to_f32, |s, d| vst1q_f32(
        d,
        vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(s)))
    ))
}

pub(crate) fn f32s_to_f16(src: &[f32], dst: &mut [u16]) {
    quads!(src, dst, portable::f32s_to_f16, |s, d| vst1_u16(
        d,
        vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(s)))
    ))
}
