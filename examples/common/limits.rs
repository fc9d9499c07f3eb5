//! The memory limits of the `speed` example and the criterion benches, measured beside the
//! kernels: `limit_copy` (y = x through memcpy) and `limit_update3` (p, m, v updated in place
//! from g: Adam's 4-read/3-write traffic, a plain loop the compiler vectorizes), with p and g
//! f32 (28 bytes per parameter) or bf16 (22 bytes). One thread; the callers split the work
//! where they want more.

// Each user needs only some of the limits.
#![allow(dead_code)]

/// y = x.
pub fn copy<T: Copy>(x: &[T], y: &mut [T]) {
    y.copy_from_slice(x);
}

/// How the limit loop reads and writes p and g.
pub trait Stored: Copy {
    fn get(self) -> f32;
    fn put(v: f32) -> Self;
}

impl Stored for f32 {
    #[inline(always)]
    fn get(self) -> f32 {
        self
    }
    #[inline(always)]
    fn put(v: f32) -> f32 {
        v
    }
}

/// bf16 widened by a shift and narrowed by truncation: the cheapest conversions, since the
/// limit counts the memory traffic (2 bytes per p read and write, 2 per g).
#[cfg(feature = "half")]
impl Stored for nnsimd::bf16 {
    #[inline(always)]
    fn get(self) -> f32 {
        f32::from_bits((self.to_bits() as u32) << 16)
    }
    #[inline(always)]
    fn put(v: f32) -> nnsimd::bf16 {
        nnsimd::bf16::from_bits((v.to_bits() >> 16) as u16)
    }
}

/// One Adam-like update of p, m, v from g: the loop a user writes.
#[inline(always)]
pub fn update3_loop<T: Stored>(p: &mut [T], m: &mut [f32], v: &mut [f32], g: &[T]) {
    for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
        let g = g.get();
        *m = 0.9 * *m + 0.1 * g;
        *v = 0.999 * *v + 0.001 * g * g;
        *p = T::put(p.get() - 0.001 * *m / (v.sqrt() + 1e-8));
    }
}

/// The same loop compiled for AVX-512F, as the harness's `-C target-cpu=native` build does: a
/// limit is the best that plain code reaches on this CPU, not the x86-64 baseline's.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn update3_avx512<T: Stored>(p: &mut [T], m: &mut [f32], v: &mut [f32], g: &[T]) {
    update3_loop(p, m, v, g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn update3_avx2<T: Stored>(p: &mut [T], m: &mut [f32], v: &mut [f32], g: &[T]) {
    update3_loop(p, m, v, g)
}

/// A vector extension the update3 loop is compiled for.
#[derive(Clone, Copy)]
pub enum Level {
    Base,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Level {
    /// The levels this CPU runs. The limit is the best of them: which is fastest depends on the
    /// CPU (AVX-512's divide and square root are not faster than AVX2's everywhere).
    pub fn available() -> Vec<Level> {
        #[allow(unused_mut)]
        let mut v = vec![Level::Base];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                v.push(Level::Avx2);
            }
            if is_x86_feature_detected!("avx512f") {
                v.push(Level::Avx512);
            }
        }
        v
    }

    pub fn update3<T: Stored>(self, p: &mut [T], m: &mut [f32], v: &mut [f32], g: &[T]) {
        match self {
            Level::Base => update3_loop(p, m, v, g),
            // SAFETY: `available` lists the level only after checking that the CPU has the features.
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => unsafe { update3_avx2(p, m, v, g) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => unsafe { update3_avx512(p, m, v, g) },
        }
    }
}
