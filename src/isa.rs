//! Instruction sets, their detection, and the `NNSIMD_ISA` override.

use core::fmt;

/// An instruction-set tier that kernels can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// One lane of plain f32 arithmetic. Available everywhere.
    Scalar,
    /// The `wide` crate's 8-lane vectors, compiled for the target's baseline (SSE2 on x86-64,
    /// NEON on aarch64). Available everywhere.
    Portable,
    /// x86-64 AVX2 with FMA, 8 lanes.
    Avx2,
    /// x86-64 AVX-512 F+BW+DQ+VL (x86-64-v4), 16 lanes.
    Avx512,
    /// aarch64 NEON, 4 lanes.
    Neon,
}

impl Isa {
    /// Every tier, slowest first.
    pub const ALL: [Isa; 5] = [Isa::Scalar, Isa::Portable, Isa::Avx2, Isa::Avx512, Isa::Neon];

    /// The lowercase name: `scalar`, `portable`, `avx2`, `avx512`, `neon`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    /// Whether this CPU (and build) can run the tier.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar | Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x86::has_avx2(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x86::has_avx512(),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Every available tier, slowest first.
    #[cfg(feature = "std")]
    pub fn available() -> Vec<Isa> {
        Isa::ALL.iter().copied().filter(|i| i.is_available()).collect()
    }

    /// The best available tier (no override).
    pub fn best() -> Isa {
        Isa::ALL.iter().rev().copied().find(|i| i.is_available()).unwrap_or(Isa::Scalar)
    }

    /// The tier the plain kernels use: the best available one, lowered by the environment
    /// variable `NNSIMD_ISA=<name>` if it is set (a name that is unavailable, or unknown, falls
    /// back to the best available, with one line on stderr; a value that is not UTF-8 is an
    /// unknown name). Detected once and cached.
    pub fn detect() -> Isa {
        use core::sync::atomic::{AtomicU8, Ordering};
        static CACHE: AtomicU8 = AtomicU8::new(u8::MAX);
        let c = CACHE.load(Ordering::Relaxed);
        if let Some(&isa) = Isa::ALL.get(c as usize) {
            return isa;
        }
        let isa = Isa::choose();
        CACHE.store(isa as u8, Ordering::Relaxed);
        isa
    }

    #[cfg(feature = "std")]
    fn choose() -> Isa {
        let best = Isa::best();
        let Some(want) = std::env::var_os("NNSIMD_ISA") else {
            return best;
        };
        // A value that is not UTF-8 is no ISA name either, and is reported as one.
        let want = match want.into_string() {
            Ok(want) => want,
            Err(raw) => {
                eprintln!("nnsimd: NNSIMD_ISA={raw:?} is not an ISA name; using {best}");
                return best;
            }
        };
        match want.trim().parse::<Isa>() {
            Ok(isa) if isa.is_available() => isa,
            Ok(isa) => {
                eprintln!("nnsimd: NNSIMD_ISA={isa} is not available here; using {best}");
                best
            }
            Err(_) => {
                eprintln!("nnsimd: NNSIMD_ISA={want:?} is not an ISA name; using {best}");
                best
            }
        }
    }

    #[cfg(not(feature = "std"))]
    fn choose() -> Isa {
        Isa::best()
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The target features of each x86 tier, written once: `$then!` is called with the tier's
/// features as the one string that `#[target_feature(enable = ...)]` takes and as the list of
/// single names that detection (`cpufeatures`) takes; a unit test checks that the two agree.
/// Detection below and the tier's `#[target_feature]` trampoline (`simd::tier`) both expand
/// this macro, so they cannot drift apart.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_tier {
    (avx2, $then:ident!($($pre:tt)*)) => {
        $then! { $($pre)* "avx2,fma", ["avx2", "fma"] }
    };
    (avx512, $then:ident!($($pre:tt)*)) => {
        $then! { $($pre)* "avx512f,avx512bw,avx512dq,avx512vl", ["avx512f", "avx512bw", "avx512dq", "avx512vl"] }
    };
}
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_tier;

/// The items, each with the target features of a tier (from `x86_tier!`, the list detection
/// reads) and of the tier's option in brackets, if any (the conversion routines of `half`).
#[cfg(all(target_arch = "x86_64", feature = "half"))]
macro_rules! with_features {
    ($option:tt { $($item:item)* } $feat:tt, $list:tt) => {
        $crate::isa::with_features!(@each $option $feat; $($item)*);
    };
    (@each $option:tt $feat:tt; $first:item $($rest:item)*) => {
        $crate::isa::with_features!(@one $option $feat $first);
        $crate::isa::with_features!(@each $option $feat; $($rest)*);
    };
    (@each $option:tt $feat:tt;) => {};
    (@one [$($option:literal)?] $feat:tt $item:item) => {
        #[target_feature(enable = $feat)]
        $(#[target_feature(enable = $option)])?
        $item
    };
}
#[cfg(all(target_arch = "x86_64", feature = "half"))]
pub(crate) use with_features;

/// Features beyond a tier's own that some of its paths use where the CPU has them: F16C (f16
/// conversions on the AVX2 tier) and AVX-512-BF16 (bf16 rounding on the AVX-512 tier). Their
/// `#[target_feature]` names are `"f16c"` and `"avx512bf16"`.
#[cfg(target_arch = "x86_64")]
#[cfg_attr(not(feature = "half"), allow(dead_code))] // read by the bf16/f16 paths only
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum X86Option {
    F16c,
    Avx512Bf16,
}

#[cfg(target_arch = "x86_64")]
#[cfg_attr(not(feature = "half"), allow(dead_code))]
impl X86Option {
    /// Whether the CPU has the option and its tier (the tier's check covers the OS's register
    /// support): F16C with AVX2, AVX-512-BF16 with AVX-512.
    pub(crate) fn is_available(self) -> bool {
        match self {
            X86Option::F16c => Isa::Avx2.is_available() && x86::has_option(x86::F16C),
            X86Option::Avx512Bf16 => Isa::Avx512.is_available() && x86::has_option(x86::AVX512_BF16),
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::sync::atomic::{AtomicU8, Ordering};

    macro_rules! detect {
        ($name:ident, $joined:tt, [$($f:tt),*]) => {
            cpufeatures::new!($name, $($f),*);
        };
    }
    super::x86_tier!(avx2, detect!(cpu_avx2,));
    super::x86_tier!(avx512, detect!(cpu_avx512,));

    pub(super) fn has_avx2() -> bool {
        cpu_avx2::get()
    }

    pub(super) fn has_avx512() -> bool {
        cpu_avx512::get()
    }

    pub(super) const F16C: u8 = 1;
    pub(super) const AVX512_BF16: u8 = 2;
    const KNOWN: u8 = 0x80;

    /// Whether the CPU has the option bit `feature`, read with `cpuid` once and cached
    /// (`cpufeatures` knows neither F16C nor AVX-512-BF16).
    pub(super) fn has_option(feature: u8) -> bool {
        static CACHE: AtomicU8 = AtomicU8::new(0);
        let mut c = CACHE.load(Ordering::Relaxed);
        if c & KNOWN == 0 {
            c = KNOWN | read();
            CACHE.store(c, Ordering::Relaxed);
        }
        c & feature != 0
    }

    fn read() -> u8 {
        use core::arch::x86_64::{__cpuid, __cpuid_count};
        let max_leaf = __cpuid(0).eax;
        let mut f = 0;
        if max_leaf >= 1 && __cpuid(1).ecx & (1 << 29) != 0 {
            f |= F16C;
        }
        // Leaf 7, sub-leaf 1, EAX bit 5 (sub-leaf 0's EAX gives the last sub-leaf).
        if max_leaf >= 7 && __cpuid_count(7, 0).eax >= 1 && __cpuid_count(7, 1).eax & (1 << 5) != 0 {
            f |= AVX512_BF16;
        }
        f
    }

    #[cfg(test)]
    mod tests {
        macro_rules! agree {
            ($joined:tt, [$($f:tt),*]) => {
                assert_eq!($joined, [$($f),*].join(","))
            };
        }

        #[test]
        fn tier_features_agree() {
            crate::isa::x86_tier!(avx2, agree!());
            crate::isa::x86_tier!(avx512, agree!());
        }
    }
}
