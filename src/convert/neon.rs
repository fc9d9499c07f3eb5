//! The aarch64 path: f16 through NEON's `fcvtl`/`fcvtn` (4 lanes; round to nearest even with
//! subnormals kept under the FPCR that Linux starts processes with: RN, no FZ, FZ16 or DN); bf16
//! on integers ([`portable`], which the compiler
//! vectorizes with NEON, the aarch64 baseline).

use super::portable;
use core::arch::aarch64::*;

/// Converts `src` into `dst` 4 elements at a time with `$body` (`$s`, `$d` the pointers to
/// element `i` of each), the rest with the portable `$tail`.
macro_rules! quads {
    ($src:ident, $dst:ident, $tail:path, |$s:ident, $d:ident| $body:expr) => {{
        let n = $src.len().min($dst.len());
        let mut i = 0;
        while i + 4 <= n {
            // SAFETY: i + 4 <= n, so 4 elements from i are inside both slices; NEON is part
            // of every aarch64 target, and the assembly touches only its registers.
            unsafe {
                let ($s, $d) = ($src.as_ptr().add(i), $dst.as_mut_ptr().add(i));
                $body;
            }
            i += 4;
        }
        $tail(&$src[i..n], &mut $dst[i..n]);
    }};
}

// The f16 conversion intrinsics (`vcvt_f32_f16`, ...) are stable only from Rust 1.94, past the
// crate's MSRV (1.89): the two instructions are written as inline assembly instead. Both are
// base AArch64 Advanced SIMD (no FEAT_FP16 needed) and read nothing but their register.

pub(crate) fn f16s_to_f32(src: &[u16], dst: &mut [f32]) {
    quads!(src, dst, portable::f16s_to_f32, |s, d| {
        let h = vld1_u16(s);
        let f: float32x4_t;
        core::arch::asm!("fcvtl {0:v}.4s, {1:v}.4h", out(vreg) f, in(vreg) h, options(pure, nomem, nostack));
        vst1q_f32(d, f)
    })
}

pub(crate) fn f32s_to_f16(src: &[f32], dst: &mut [u16]) {
    quads!(src, dst, portable::f32s_to_f16, |s, d| {
        let f = vld1q_f32(s);
        let h: uint16x4_t;
        core::arch::asm!("fcvtn {0:v}.4h, {1:v}.4s", out(vreg) h, in(vreg) f, options(pure, nomem, nostack));
        vst1_u16(d, h)
    })
}
