//! The storage types the drivers load into and store from vectors: f32 as it is, and with the
//! feature `half` bf16 through its bits (f32's upper half), so that a bf16 slice is converted
//! in registers on its way through a kernel, with no f32 copy in memory.

use crate::simd::Simd;

/// A storage type of the drivers' slices: `LANES` values to or from one f32 vector.
pub(crate) trait Lanes: Copy + Send + Sync + 'static {
    /// Whether stores round to bf16 (the drivers may then take AVX-512-BF16's conversion).
    #[cfg_attr(not(all(target_arch = "x86_64", feature = "half")), allow(dead_code))]
    const BF16: bool = false;
    /// The first `LANES` values of `x` (at least that many) as f32.
    fn load<S: Simd>(s: S, x: &[Self]) -> S::V;
    /// The first `x.len()` (< `LANES`) values as f32, the other lanes 0.
    fn load_partial<S: Simd>(s: S, x: &[Self]) -> S::V;
    /// `v` into the first `LANES` values of `y`, rounded to nearest even.
    fn store<S: Simd>(s: S, v: S::V, y: &mut [Self]);
    /// The first `y.len()` (< `LANES`) lanes of `v` into `y`, rounded as [`Lanes::store`].
    fn store_partial<S: Simd>(s: S, v: S::V, y: &mut [Self]);
    /// [`Lanes::store`] for lanes that already hold values of this type, a NaN quiet: nothing
    /// to round, the bits are only cut. (Only the optimizers, with `std`, store that way.)
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    #[inline(always)]
    fn store_exact<S: Simd>(s: S, v: S::V, y: &mut [Self]) {
        Self::store(s, v, y)
    }
    /// [`Lanes::store_partial`] for lanes as in [`Lanes::store_exact`].
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    #[inline(always)]
    fn store_exact_partial<S: Simd>(s: S, v: S::V, y: &mut [Self]) {
        Self::store_partial(s, v, y)
    }
}

impl Lanes for f32 {
    #[inline(always)]
    fn load<S: Simd>(s: S, x: &[f32]) -> S::V {
        s.load(x)
    }
    #[inline(always)]
    fn load_partial<S: Simd>(s: S, x: &[f32]) -> S::V {
        s.load_partial(x)
    }
    #[inline(always)]
    fn store<S: Simd>(s: S, v: S::V, y: &mut [f32]) {
        s.store(v, y)
    }
    #[inline(always)]
    fn store_partial<S: Simd>(s: S, v: S::V, y: &mut [f32]) {
        s.store_partial(v, y)
    }
}

#[cfg(feature = "half")]
mod bf16_lanes {
    use super::*;
    use crate::simd::round_bf16;
    use half::bf16;
    use half::slice::HalfFloatSliceExt;

    /// bf16 bits → f32: the bits become the upper half (exact).
    #[inline(always)]
    fn widen<S: Simd>(s: S, h: S::U) -> S::V {
        s.u_as_f32(s.shl_u(h, 16))
    }

    impl Lanes for bf16 {
        const BF16: bool = true;
        #[inline(always)]
        fn load<S: Simd>(s: S, x: &[bf16]) -> S::V {
            widen(s, s.load_u16(x.reinterpret_cast()))
        }
        #[inline(always)]
        fn load_partial<S: Simd>(s: S, x: &[bf16]) -> S::V {
            widen(s, s.load_u16_partial(x.reinterpret_cast()))
        }
        #[inline(always)]
        fn store<S: Simd>(s: S, v: S::V, y: &mut [bf16]) {
            s.store_bf16(v, y.reinterpret_cast_mut())
        }
        #[inline(always)]
        fn store_partial<S: Simd>(s: S, v: S::V, y: &mut [bf16]) {
            s.store_u16_partial(round_bf16(s, v), y.reinterpret_cast_mut())
        }
        #[inline(always)]
        fn store_exact<S: Simd>(s: S, v: S::V, y: &mut [bf16]) {
            s.store_u16(s.shr_u(s.f32_as_u(v), 16), y.reinterpret_cast_mut())
        }
        #[inline(always)]
        fn store_exact_partial<S: Simd>(s: S, v: S::V, y: &mut [bf16]) {
            s.store_u16_partial(s.shr_u(s.f32_as_u(v), 16), y.reinterpret_cast_mut())
        }
    }
}

#[cfg(all(test, feature = "half"))]
mod tests {
    use super::*;
    use crate::simd::portable::Portable;
    use crate::simd::scalar::Scalar;
    use crate::simd::unroll::X2;
    use half::bf16;

    /// bf16 through the vectors of `s`: every bf16 loads as its exact f32, and the store
    /// rounds as the `half` crate's software conversion on every bf16 pattern with the low
    /// halves that decide the rounding (0, 1, below, at and above one half, all ones): ties to
    /// even, carries into the exponent and to infinity, subnormals, NaNs with any payload.
    /// Partial loads and stores of every length below a vector touch only that length.
    fn check<S: Simd>(s: S) {
        let n = S::LANES;
        let all: Vec<bf16> = (0..=0xFFFFu16).map(bf16::from_bits).collect();
        let mut wide = vec![0.0f32; all.len()];
        for (h, y) in all.chunks(n).zip(wide.chunks_mut(n)) {
            f32::store(s, bf16::load(s, h), y);
        }
        for (h, y) in all.iter().zip(&wide) {
            assert_eq!(y.to_bits(), (h.to_bits() as u32) << 16, "load {:#06x}", h.to_bits());
        }
        // Exact stores cut the bits of every bf16 value (NaNs given quiet), whole and partial.
        let quiet: Vec<bf16> =
            all.iter().map(|h| if h.is_nan() { bf16::from_bits(h.to_bits() | 0x40) } else { *h }).collect();
        let mut back = vec![bf16::ZERO; all.len()];
        for (h, y) in quiet.chunks(n).zip(back.chunks_mut(n)) {
            bf16::store_exact(s, bf16::load(s, h), y);
        }
        assert!(back.iter().zip(&quiet).all(|(y, h)| y.to_bits() == h.to_bits()), "exact store");
        for len in 0..n {
            let mut y = vec![bf16::from_bits(0xABCD); n];
            bf16::store_exact_partial(s, bf16::load_partial(s, &quiet[0xFFC0..0xFFC0 + len]), &mut y[..len]);
            for (j, y) in y.iter().enumerate() {
                let want = if j < len { quiet[0xFFC0 + j].to_bits() } else { 0xABCD };
                assert_eq!(y.to_bits(), want, "partial exact store, length {len}, lane {j}");
            }
        }
        let lows = [0u32, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF];
        let xs: Vec<f32> =
            (0..=0xFFFFu32).flat_map(|hi| lows.map(|lo| f32::from_bits(hi << 16 | lo))).collect();
        let mut got = vec![bf16::ZERO; xs.len()];
        for (x, y) in xs.chunks(n).zip(got.chunks_mut(n)) {
            bf16::store(s, f32::load(s, x), y);
        }
        for (x, y) in xs.iter().zip(&got) {
            let want = bf16::from_f32_const(*x).to_bits();
            assert_eq!(y.to_bits(), want, "store {:#010x}", x.to_bits());
        }
        let x = &xs[0x3F80 * lows.len()..];
        for len in 0..n {
            let mut y = vec![bf16::from_bits(0xABCD); n];
            bf16::store_partial(s, f32::load_partial(s, &x[..len]), &mut y[..len]);
            for (j, y) in y.iter().enumerate() {
                let want = if j < len { bf16::from_f32_const(x[j]).to_bits() } else { 0xABCD };
                assert_eq!(y.to_bits(), want, "partial store, length {len}, lane {j}");
            }
            let mut back = vec![f32::NAN; n];
            f32::store_partial(s, bf16::load_partial(s, &all[0x3F80..0x3F80 + len]), &mut back[..len]);
            for (j, y) in back[..len].iter().enumerate() {
                assert_eq!(y.to_bits(), (0x3F80 + j as u32) << 16, "partial load, length {len}, lane {j}");
            }
        }
    }

    #[test]
    fn bf16_lanes_every_backend() {
        check(Scalar);
        check(Portable);
        check(X2(Scalar));
        check(X2(Portable));
        #[cfg(target_arch = "x86_64")]
        {
            if crate::isa::Isa::Avx2.is_available() {
                // SAFETY: the crate's detection reports AVX2 and FMA usable.
                let s = unsafe { crate::simd::avx2::Avx2::new_unchecked() };
                check(s);
                check(X2(s));
            }
            if crate::isa::Isa::Avx512.check().is_ok() {
                // SAFETY: the crate's own detection reports AVX-512 (F, DQ, BW, VL) usable.
                let s = unsafe { crate::simd::avx512::Avx512::new_unchecked() };
                check(s);
                check(X2(s));
            }
            if crate::isa::X86Option::Avx512Bf16.is_available() {
                // SAFETY: the CPU has AVX-512 (F, DQ, BW, VL) and AVX-512-BF16.
                let s = unsafe { crate::simd::avx512::Avx512Bf16::new_unchecked() };
                check(s);
                check(X2(s));
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            check(crate::simd::neon::Neon);
            check(X2(crate::simd::neon::Neon));
        }
    }
}
