//! bf16 and f16 ↔ f32 over slices (feature `half`), on the instructions each tier has: F16C
//! on the AVX2 tier and AVX-512F on the AVX-512 tier for f16, AVX-512-BF16 for f32 → bf16
//! where the CPU has it, NEON's `fcvt` for f16 on aarch64, and integer forms elsewhere.
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

/// A set of conversion routines: a tier with or without its option ([`X86Option`]). Public
/// through `internals` for the tests, which run every path the CPU has, including those no
/// tier picks on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// Integer forms, compiled for the target's baseline.
    Portable,
    /// F16C for f16, integer forms compiled for AVX2 for bf16.
    Avx2,
    /// AVX-512F for f16, integer forms compiled for AVX-512 for bf16.
    Avx512,
    /// As `Avx512`, with AVX-512-BF16 for f32 → bf16.
    Avx512Bf16,
    /// NEON's `fcvt` for f16, the integer forms for bf16.
    Neon,
}

impl Path {
    /// Every path, slowest first.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // every path, for the tests
    pub const ALL: [Path; 5] = [Path::Portable, Path::Avx2, Path::Avx512, Path::Avx512Bf16, Path::Neon];

    /// Whether this CPU can run the path.
    pub fn is_available(self) -> bool {
        match self {
            Path::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => X86Option::F16c.is_available(),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => Isa::Avx512.is_available(),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512Bf16 => X86Option::Avx512Bf16.is_available(),
            #[cfg(target_arch = "aarch64")]
            Path::Neon => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The paths this CPU can run.
    #[cfg(feature = "std")]
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // every path, for the tests
    pub fn available() -> Vec<Path> {
        Path::ALL.into_iter().filter(|p| p.is_available()).collect()
    }

    /// The path the kernels use on an available `isa`: the best one of its tier.
    pub fn of(isa: Isa) -> Path {
        match isa {
            Isa::Avx2 if Path::Avx2.is_available() => Path::Avx2,
            Isa::Avx512 if Path::Avx512Bf16.is_available() => Path::Avx512Bf16,
            Isa::Avx512 => Path::Avx512,
            Isa::Neon => Path::Neon,
            _ => Path::Portable,
        }
    }
}

/// Dispatches a conversion to `$path`'s routine; the path must be available.
macro_rules! on_path {
    ($path:expr, $f:ident($src:expr, $dst:expr)) => {{
        let (src, dst) = ($src, $dst);
        match $path {
            // SAFETY: the path is available, so the CPU has its routine's features.
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => unsafe { x86::avx2::$f(src, dst) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => unsafe { x86::avx512::$f(src, dst) },
            #[cfg(target_arch = "aarch64")]
            Path::Neon => neon::$f(src, dst),
            _ => portable::$f(src, dst),
        }
    }};
}

impl Path {
    /// `dst[i] = src[i]` as f32 (bf16 bits in), over the shorter length. A path that is not
    /// available runs the portable routines.
    pub fn bf16_to_f32(self, src: &[u16], dst: &mut [f32]) {
        let path = self.checked();
        on_path!(path, bf16s_to_f32(src, dst))
    }

    /// `dst[i]` = the bf16 nearest to `src[i]`.
    pub fn f32_to_bf16(self, src: &[f32], dst: &mut [u16]) {
        match self {
            // SAFETY: the path is available: the CPU has AVX-512 and AVX-512-BF16.
            #[cfg(target_arch = "x86_64")]
            Path::Avx512Bf16 if self.is_available() => unsafe { x86::avx512bf16::f32s_to_bf16(src, dst) },
            _ => on_path!(self.checked(), f32s_to_bf16(src, dst)),
        }
    }

    /// `dst[i] = src[i]` as f32 (f16 bits in).
    pub fn f16_to_f32(self, src: &[u16], dst: &mut [f32]) {
        let path = self.checked();
        on_path!(path, f16s_to_f32(src, dst))
    }

    /// `dst[i]` = the f16 nearest to `src[i]`.
    pub fn f32_to_f16(self, src: &[f32], dst: &mut [u16]) {
        let path = self.checked();
        on_path!(path, f32s_to_f16(src, dst))
    }

    /// `self` if available (Portable if not), with AVX-512-BF16 read as AVX-512: their f16
    /// and bf16 → f32 routines are the same.
    fn checked(self) -> Path {
        match self {
            _ if !self.is_available() => Path::Portable,
            Path::Avx512Bf16 => Path::Avx512,
            _ => self,
        }
    }
}
