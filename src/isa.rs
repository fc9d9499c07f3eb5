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
    /// back to the best available, with one line on stderr). Detected once and cached.
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
        let Ok(want) = std::env::var("NNSIMD_ISA") else {
            return best;
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

#[cfg(target_arch = "x86_64")]
mod x86 {
    cpufeatures::new!(cpu_avx2, "avx2", "fma");
    cpufeatures::new!(cpu_avx512, "avx512f", "avx512bw", "avx512dq", "avx512vl");

    pub(super) fn has_avx2() -> bool {
        cpu_avx2::get()
    }

    pub(super) fn has_avx512() -> bool {
        cpu_avx512::get()
    }
}
