//! bf16 and f16 ↔ f32 over slices (feature `half`), on the instructions each tier has
//! ([`Path`]: a tier, and its option where the CPU has it): AVX-512F for f16 on the AVX-512
//! tier, its option AVX-512-BF16 for f32 → bf16; the AVX2 tier's option F16C for f16; NEON's
//! `fcvt` for f16 on aarch64; and integer forms, compiled with each tier's features, elsewhere.
//!
//! Every path gives the same bits: storage → f32 is exact, f32 → storage rounds to nearest
//! even as the `half` crate's `from_f32` does (subnormals kept, overflow to infinity, a NaN
//! stays a NaN, quieted, with its sign and upper payload bits). tests/half.rs checks each path
//! against the `half` crate on every input.

#[cfg(target_arch = "aarch64")]
mod neon;
mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::Isa;
#[cfg(target_arch = "x86_64")]
use crate::isa::X86Option;

/// The conversion routines of a tier, with or without the tier's option ([`X86Option`]: F16C
/// on AVX2, AVX-512-BF16 on AVX-512; the other tiers have none). Public through `internals`
/// for the tests, which run every path the CPU has, including those no tier picks on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Path {
    /// The tier whose instructions the routines use: scalar and portable use the integer
    /// forms compiled for the target's baseline, NEON its `fcvt` for f16.
    pub tier: Isa,
    /// Whether they use the tier's option too.
    pub option: bool,
}

impl Path {
    /// Every path: each tier without its option, then with it where it has one.
    #[cfg(feature = "std")]
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // every path, for the tests
    pub fn all() -> Vec<Path> {
        let plain = Isa::ALL.into_iter().map(|tier| Path { tier, option: false });
        let optioned = [Isa::Avx2, Isa::Avx512].into_iter().map(|tier| Path { tier, option: true });
        plain.chain(optioned).collect()
    }

    /// Whether this CPU can run the path: its tier, and its option if it asks for one.
    pub fn is_available(self) -> bool {
        self.tier.is_available() && (!self.option || has_option(self.tier))
    }

    /// The paths this CPU can run.
    #[cfg(feature = "std")]
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // every path, for the tests
    pub fn available() -> Vec<Path> {
        Path::all().into_iter().filter(|p| p.is_available()).collect()
    }

    /// The path the kernels use on an available `isa`: its tier, with its option where the CPU
    /// has it.
    pub fn of(isa: Isa) -> Path {
        Path { tier: isa, option: has_option(isa) }
    }

    /// `self` if available, the portable routines if not.
    fn checked(self) -> Path {
        if self.is_available() { self } else { Path { tier: Isa::Portable, option: false } }
    }
}

/// Whether the CPU has `tier`'s option (false for a tier that has none).
fn has_option(tier: Isa) -> bool {
    match tier {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => X86Option::F16c.is_available(),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => X86Option::Avx512Bf16.is_available(),
        _ => false,
    }
}

// SAFETY (every `unsafe` call below): `checked()` gives an available path, so the CPU has its
// tier's features, and its option's where `option` is set.
impl Path {
    /// `dst[i] = src[i]` as f32 (bf16 bits in), over the shorter length. A path that is not
    /// available runs the portable routines.
    pub fn bf16_to_f32(self, src: &[u16], dst: &mut [f32]) {
        match self.checked().tier {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: see the impl.
            Isa::Avx2 => unsafe { x86::avx2::bf16s_to_f32(src, dst) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: see the impl.
            Isa::Avx512 => unsafe { x86::avx512::bf16s_to_f32(src, dst) },
            _ => portable::bf16s_to_f32(src, dst),
        }
    }

    /// `dst[i]` = the bf16 nearest to `src[i]`.
    pub fn f32_to_bf16(self, src: &[f32], dst: &mut [u16]) {
        match self.checked() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: see the impl.
            Path { tier: Isa::Avx2, .. } => unsafe { x86::avx2::f32s_to_bf16(src, dst) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: see the impl.
            Path { tier: Isa::Avx512, option: false } => unsafe { x86::avx512::f32s_to_bf16(src, dst) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: see the impl.
            Path { tier: Isa::Avx512, option: true } => unsafe { x86::avx512::f32s_to_bf16_option(src, dst) },
            _ => portable::f32s_to_bf16(src, dst),
        }
    }

    /// `dst[i] = src[i]` as f32 (f16 bits in).
    pub fn f16_to_f32(self, src: &[u16], dst: &mut [f32]) {
        match self.checked() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: see the impl.
            Path { tier: Isa::Avx2, option: true } => unsafe { x86::avx2::f16s_to_f32(src, dst) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: see the impl.
            Path { tier: Isa::Avx512, .. } => unsafe { x86::avx512::f16s_to_f32(src, dst) },
            #[cfg(target_arch = "aarch64")]
            Path { tier: Isa::Neon, .. } => neon::f16s_to_f32(src, dst),
            _ => portable::f16s_to_f32(src, dst),
        }
    }

    /// `dst[i]` = the f16 nearest to `src[i]`.
    pub fn f32_to_f16(self, src: &[f32], dst: &mut [u16]) {
        match self.checked() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: see the impl.
            Path { tier: Isa::Avx2, option: true } => unsafe { x86::avx2::f32s_to_f16(src, dst) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: see the impl.
            Path { tier: Isa::Avx512, .. } => unsafe { x86::avx512::f32s_to_f16(src, dst) },
            #[cfg(target_arch = "aarch64")]
            Path { tier: Isa::Neon, .. } => neon::f32s_to_f16(src, dst),
            _ => portable::f32s_to_f16(src, dst),
        }
    }
}
