//! The memory limits of the `speed` example and the criterion benches, measured beside the
//! kernels: `limit_copy` (y = x through memcpy) and `limit_update3` (p, m, v updated in place
//! from g: Adam's 4-read/3-write traffic, a plain loop the compiler vectorizes). One thread;
//! the callers split the work where they want more.

// Each user needs only some of the limits.
#![allow(dead_code)]

/// y = x.
pub fn copy<T: Copy>(x: &[T], y: &mut [T]) {
    y.copy_from_slice(x);
}

/// One Adam-like update of p, m, v from g: the loop a user writes.
#[inline(always)]
pub fn update3_loop(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
    for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
        *m = 0.9 * *m + 0.1 * g;
        *v = 0.999 * *v + 0.001 * g * g;
        *p -= 0.001 * *m / (v.sqrt() + 1e-8);
    }
}

/// The same loop compiled for AVX-512F, as the harness's `-C target-cpu=native` build does: a
/// limit is the best that plain code reaches on this CPU, not the x86-64 baseline's.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn update3_avx512(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
    update3_loop(p, m, v, g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn update3_avx2(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
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

    pub fn update3(self, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
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
