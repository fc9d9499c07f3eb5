//! bf16 and f16 ↔ f32 on integer bits, written once as plain Rust on one element: the
//! portable path, and (compiled with wider vector features, which LLVM vectorizes these
//! branch-free forms into) the integer half of the x86 paths.
//!
//! Rounding is to nearest, ties to even; a NaN stays a NaN with its sign and upper payload
//! bits, made quiet, as the `half` crate and the hardware conversions do.

/// f32 of a bf16: the bf16 is the upper half of the f32's bits, so this is exact. A NaN
/// keeps its bits, signalling or not (a shift, as PyTorch and `vpslld` do; the `half` crate
/// sets the quiet bit).
#[inline(always)]
pub(crate) fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// bf16 nearest to `x` (ties to even).
#[inline(always)]
pub(crate) fn f32_to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    // Adding 0x7fff plus the bit that will be the last kept one rounds the dropped half to
    // nearest even; a carry steps the exponent, up to infinity. NaN would carry into the sign.
    let rounded = b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16;
    let nan = (b >> 16) | 0x0040;
    (if b & 0x7fff_ffff > 0x7f80_0000 { nan } else { rounded }) as u16
}

/// f32 of an f16 (exact: every f16, subnormals included, is a normal f32).
#[inline(always)]
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let a = h & 0x7fff;
    // Normal: the exponent rebiased from 15 to 127.
    let normal = f32::from_bits((a << 13) + 0x3800_0000);
    // Infinity or NaN (quieted: bit 22 set).
    let nan_bit = if a > 0x7c00 { 0x0040_0000 } else { 0 };
    let special = f32::from_bits((a << 13) | 0x7f80_0000 | nan_bit);
    // Subnormal: a·2^-24, as (0.5 + a·2^-24) − 0.5, which is exact and never subnormal, so it
    // holds with flush-to-zero too.
    let subnormal = f32::from_bits(0x3f00_0000 | a) - 0.5;
    let m = if a >= 0x7c00 {
        special
    } else if a < 0x0400 {
        subnormal
    } else {
        normal
    };
    f32::from_bits(m.to_bits() | ((h & 0x8000) << 16))
}

/// f16 nearest to `x` (ties to even), subnormal results included; beyond 65504 it rounds to
/// infinity as IEEE rounding does (from 65520 up).
#[inline(always)]
pub(crate) fn f32_to_f16(x: f32) -> u16 {
    let b = x.to_bits();
    let a = b & 0x7fff_ffff;
    // Normal: rebias 127 → 15 and round the 13 dropped bits to nearest even; a carry steps
    // the exponent, and everything from infinity's encoding up is infinity.
    let normal = (a.wrapping_sub(0x3800_0000).wrapping_add(0x0fff + ((a >> 13) & 1)) >> 13).min(0x7c00);
    // Below 2^-14 the result is a multiple of 2^-24 (up to 2^-14 itself, the smallest normal,
    // whose encoding follows on): adding 0.5, whose ULP is 2^-24, makes the f32 addition round
    // |x| to that multiple (to nearest even), exactly once.
    let subnormal = (f32::from_bits(a) + 0.5).to_bits().wrapping_sub(0x3f00_0000);
    let nan = 0x7e00 | ((a >> 13) & 0x03ff);
    let m = if a > 0x7f80_0000 {
        nan
    } else if a < 0x3880_0000 {
        subnormal
    } else {
        normal
    };
    (((b >> 16) & 0x8000) | m) as u16
}

/// The four conversions over slices (equal lengths), one element at a time for the compiler
/// to vectorize.
macro_rules! slice_fns {
    ($($name:ident($from:ty => $to:ty) = $f:ident;)*) => {$(
        #[inline(always)]
        pub(crate) fn $name(src: &[$from], dst: &mut [$to]) {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = $f(s);
            }
        }
    )*};
}

slice_fns! {
    bf16s_to_f32(u16 => f32) = bf16_to_f32;
    f32s_to_bf16(f32 => u16) = f32_to_bf16;
    f16s_to_f32(u16 => f32) = f16_to_f32;
    f32s_to_f16(f32 => u16) = f32_to_f16;
}
