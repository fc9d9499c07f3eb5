//! The crate-private vector trait and its backends.
//!
//! A kernel is written once, generic over [`Simd`]; a backend supplies only the primitive
//! operations below. Every method is `#[inline(always)]` so that a generic kernel, called from a
//! `#[target_feature]` entry point, is compiled as one function with that feature set.
//!
//! Semantics every backend must follow (the scalar backend is the model):
//! - `max(a, b)` is `if a < b { b } else { a }` and `min(a, b)` is `if b < a { b } else { a }`:
//!   a NaN in `a` comes out, a NaN in `b` must not happen (callers pass constants there).
//! - `fma(a, b, c)` is `a * b + c`, fused (one rounding) where [`Simd::HAS_FMA`] says so;
//!   where it does not, it may be fused or not (the portable tier is fused on aarch64, not on
//!   x86-64), so code that needs an exact product uses [`two_prod`], never `fma` alone.
//! - `round(a)` rounds to the nearest integer, ties to even, for |a| < 2^22.
//! - `scale(a, n)` is `a · 2^n` for an integral `n` in [-252, 254], rounded once where the
//!   result is subnormal and `a · 2^(n/2)` is normal.
//! - Lanes of a partial load or store beyond the slice are never read or written.

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
#[cfg(test)]
mod contract;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon;
pub(crate) mod portable;
pub(crate) mod scalar;
pub(crate) mod tier;
pub(crate) mod unroll;

/// A vector instruction set, as a zero-sized token. Holding a token proves that its
/// instructions are available, so its constructor is `unsafe` where they might not be.
pub(crate) trait Simd: Copy {
    /// A vector of `LANES` f32.
    type V: Copy;
    /// A lane mask produced by comparisons.
    type M: Copy;
    const LANES: usize;
    /// Whether `fma` is certainly a fused multiply-add (one rounding); where false it may be
    /// either.
    const HAS_FMA: bool;

    fn splat(self, x: f32) -> Self::V;
    /// Loads `LANES` values from the front of `s` (which must be at least that long).
    fn load(self, s: &[f32]) -> Self::V;
    /// Stores into the front `LANES` values of `s` (which must be at least that long).
    fn store(self, v: Self::V, s: &mut [f32]);
    /// Loads `s.len() < LANES` values; the other lanes are zero and no memory past `s` is read.
    fn load_partial(self, s: &[f32]) -> Self::V;
    /// Stores the first `s.len() < LANES` lanes; nothing past `s` is written.
    fn store_partial(self, v: Self::V, s: &mut [f32]);

    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    fn div(self, a: Self::V, b: Self::V) -> Self::V;
    /// a/b within 1 ULP, for kernels that are bound by the divider (which the square root
    /// shares): IEEE division here; AVX-512 overrides it with a reciprocal estimate and one
    /// correction. Within 1 ULP where a, b and a/b are normal; `b` must not be subnormal; the
    /// special cases (b = ±0, ±inf, NaN, an overflowing quotient) give what division gives.
    /// (Only the optimizers, with `std`, divide and take roots.)
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    #[inline(always)]
    fn div_fast(self, a: Self::V, b: Self::V) -> Self::V {
        self.div(a, b)
    }
    /// √a, correctly rounded (IEEE); NaN for a < 0, −0 for −0.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    fn sqrt(self, a: Self::V) -> Self::V;
    fn fma(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    fn min(self, a: Self::V, b: Self::V) -> Self::V;
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    fn round(self, a: Self::V) -> Self::V;
    /// `2^n` for an integral `n` in [-126, 127].
    fn pow2i(self, n: Self::V) -> Self::V;
    /// `a · 2^n` for an integral `n` in [-252, 254]: two exact power-of-two factors, so the
    /// result is rounded once (where `a · 2^(n/2)` is normal).
    #[inline(always)]
    fn scale(self, a: Self::V, n: Self::V) -> Self::V {
        let n1 = self.round(self.mul(n, self.splat(0.5)));
        self.mul(self.mul(a, self.pow2i(n1)), self.pow2i(self.sub(n, n1)))
    }
    /// `a · 2^n` for an integral `n` ≤ 127, for terms that are only added to numbers ≥ 1:
    /// where `a · 2^n` is below 2^-126 the result may be anything in [0, 2^-125].
    #[inline(always)]
    fn scale_small(self, a: Self::V, n: Self::V) -> Self::V {
        self.mul(a, self.pow2i(self.max(n, self.splat(-126.0))))
    }
    /// `a · 2^floor(n)` for `n` a multiple of 1/16 with `floor(n)` in [-252, 254] (rounded as
    /// [`Simd::scale`]). AVX-512's `vscalefps` floors `n` itself.
    #[inline(always)]
    fn scale_floor(self, a: Self::V, n: Self::V) -> Self::V {
        // floor(n) = round(n − 15/32) for n a multiple of 1/16: no tie can occur.
        self.scale(a, self.round(self.sub(n, self.splat(0.468_75))))
    }
    /// Whether [`Simd::table16`] and [`Simd::table32`] are one instruction (AVX-512's `vpermps`
    /// and `vpermt2ps`). A hint for kernels
    /// with a table-driven fast path; their results stay within the same bounds either way.
    const FAST_TABLE: bool = false;
    /// `t[i]` in each lane, `i` being the low 4 bits of the lane's bit pattern in `k`.
    #[inline(always)]
    fn table16(self, t: &[f32; 16], k: Self::V) -> Self::V {
        lane_lookup(self, t, k)
    }
    /// `t[i]` in each lane, `i` being the low 5 bits of the lane's bit pattern in `k`
    /// (AVX-512: one `vpermt2ps` over two registers).
    #[inline(always)]
    fn table32(self, t: &[f32; 32], k: Self::V) -> Self::V {
        lane_lookup(self, t, k)
    }
    /// `floor(log2(a))` as f32, for a positive normal `a`.
    fn exponent(self, a: Self::V) -> Self::V;

    fn and(self, a: Self::V, b: Self::V) -> Self::V;
    fn or(self, a: Self::V, b: Self::V) -> Self::V;
    fn xor(self, a: Self::V, b: Self::V) -> Self::V;
    /// `!a & b`, bitwise.
    fn andnot(self, a: Self::V, b: Self::V) -> Self::V;

    fn lt(self, a: Self::V, b: Self::V) -> Self::M;
    fn le(self, a: Self::V, b: Self::V) -> Self::M;
    /// Lanes that are neither ±inf nor NaN.
    #[inline(always)]
    fn finite(self, a: Self::V) -> Self::M {
        self.lt(abs(self, a), self.splat(f32::INFINITY))
    }
    /// Whether any lane of `m` is set: for fast paths that hand a whole vector to a slower,
    /// total formula when one of its lanes is outside the fast one's range.
    fn any(self, m: Self::M) -> bool;
    /// `m ? a : b` per lane.
    fn select(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V;

    // Integer lanes, for hashing (RReLU's counter-based draws). Exact on every backend, so
    // the same bits come out of every ISA.

    /// A vector of `LANES` u32.
    type U: Copy;
    /// Every lane `x`.
    fn splat_u(self, x: u32) -> Self::U;
    /// Lane `j` holds `j` (0, 1, ..., `LANES` − 1).
    fn iota_u(self) -> Self::U;
    /// `a + b` per lane, wrapping.
    fn add_u(self, a: Self::U, b: Self::U) -> Self::U;
    /// The low 32 bits of `a · b` per lane.
    fn mul_u(self, a: Self::U, b: Self::U) -> Self::U;
    /// `a ^ b` per lane.
    fn xor_u(self, a: Self::U, b: Self::U) -> Self::U;
    /// `a >> n` per lane, logical, for `n` in 1..32.
    fn shr_u(self, a: Self::U, n: u32) -> Self::U;
    /// `a << n` per lane, for `n` in 1..32.
    #[cfg(feature = "half")]
    fn shl_u(self, a: Self::U, n: u32) -> Self::U;
    /// `LANES` u16 from the front of `s` (at least that long), zero-extended: 16-bit storage
    /// types (bf16) loaded as their bits.
    #[cfg(feature = "half")]
    fn load_u16(self, s: &[u16]) -> Self::U;
    /// The low 16 bits of each lane into the front of `s` (at least `LANES` long).
    #[cfg(feature = "half")]
    fn store_u16(self, v: Self::U, s: &mut [u16]);
    /// [`Simd::load_u16`] of fewer than `LANES` values (the others lanes 0), through a buffer:
    /// for the tail only.
    #[cfg(feature = "half")]
    #[inline(always)]
    fn load_u16_partial(self, s: &[u16]) -> Self::U {
        let mut a = [0u16; MAX_LANES];
        let n = s.len().min(Self::LANES);
        a[..n].copy_from_slice(&s[..n]);
        self.load_u16(&a)
    }
    /// [`Simd::store_u16`] of the first `s.len()` (< `LANES`) lanes, through a buffer.
    #[cfg(feature = "half")]
    #[inline(always)]
    fn store_u16_partial(self, v: Self::U, s: &mut [u16]) {
        let mut a = [0u16; MAX_LANES];
        self.store_u16(v, &mut a);
        let n = s.len().min(Self::LANES);
        s[..n].copy_from_slice(&a[..n]);
    }
    /// `v` rounded to bf16 ([`round_bf16`]) into the front of `s` (at least `LANES` long).
    #[cfg(feature = "half")]
    #[inline(always)]
    fn store_bf16(self, v: Self::V, s: &mut [u16]) {
        self.store_u16(round_bf16(self, v), s)
    }
    /// The lanes' bits read as f32 (a bit cast, no conversion).
    fn u_as_f32(self, a: Self::U) -> Self::V;
    /// The lanes' f32 bits as u32 (a bit cast; stochastic rounding adds to them).
    #[cfg_attr(not(feature = "half"), allow(dead_code))]
    fn f32_as_u(self, a: Self::V) -> Self::U;
}

/// The most lanes of any backend (AVX-512 unrolled twice), for the partial loads' buffers.
#[cfg(feature = "half")]
const MAX_LANES: usize = 32;

/// Bit pattern of the f32 sign.
pub(crate) const SIGN: f32 = -0.0;

/// `t[i]` per lane, i the low bits of the lane's bit pattern in `k` (`t.len()` a power of two
/// up to 32): lane by lane through memory, correct everywhere and fast nowhere, the default of
/// [`Simd::table16`] and [`Simd::table32`] (see [`Simd::FAST_TABLE`]).
#[inline(always)]
fn lane_lookup<S: Simd>(s: S, t: &[f32], k: S::V) -> S::V {
    let mut buf = [0f32; 64];
    let lanes = &mut buf[..S::LANES];
    s.store(k, lanes);
    let mask = t.len() as u32 - 1;
    for v in lanes.iter_mut() {
        *v = t[(v.to_bits() & mask) as usize];
    }
    s.load(lanes)
}

/// `w ≤ LANES` lanes from `x[at..]`: a whole vector, or a partial one (zero beyond `w`).
#[inline(always)]
#[cfg_attr(not(feature = "std"), allow(dead_code))] // the row kernels and losses (std)
pub(crate) fn load_n<S: Simd>(s: S, x: &[f32], at: usize, w: usize) -> S::V {
    if w == S::LANES { s.load(&x[at..]) } else { s.load_partial(&x[at..at + w]) }
}

/// [`load_n`]'s store: the first `w` lanes into `y[at..]`.
#[inline(always)]
#[cfg_attr(not(feature = "std"), allow(dead_code))] // the row kernels and losses (std)
pub(crate) fn store_n<S: Simd>(s: S, v: S::V, y: &mut [f32], at: usize, w: usize) {
    if w == S::LANES { s.store(v, &mut y[at..]) } else { s.store_partial(v, &mut y[at..at + w]) }
}

/// |a|, clearing the sign bit.
#[inline(always)]
pub(crate) fn abs<S: Simd>(s: S, a: S::V) -> S::V {
    s.andnot(s.splat(SIGN), a)
}

/// f32 → bf16 bits, rounded to nearest even as the `half` crate's `from_f32`: adding
/// 0x7FFF plus the lowest kept bit carries into it exactly when the dropped half is above
/// one half, or equal to it with that bit odd (a carry past the largest finite value gives
/// infinity); a NaN keeps its sign and upper payload, quieted.
#[cfg(feature = "half")]
#[inline(always)]
pub(crate) fn round_bf16<S: Simd>(s: S, v: S::V) -> S::U {
    let b = s.f32_as_u(v);
    let high = s.shr_u(b, 16);
    let odd = s.f32_as_u(s.and(s.u_as_f32(high), s.u_as_f32(s.splat_u(1))));
    let rounded = s.u_as_f32(s.shr_u(s.add_u(b, s.add_u(odd, s.splat_u(0x7FFF))), 16));
    let quiet = s.or(s.u_as_f32(high), s.u_as_f32(s.splat_u(0x40)));
    // Bitwise operations only on these patterns (they read as tiny f32, never computed on).
    s.f32_as_u(s.select(s.le(abs(s, v), s.splat(f32::INFINITY)), rounded, quiet))
}

/// The sign bit of `a` alone (±0).
#[inline(always)]
pub(crate) fn sign_of<S: Simd>(s: S, a: S::V) -> S::V {
    s.and(s.splat(SIGN), a)
}

/// `-a`.
#[inline(always)]
pub(crate) fn neg<S: Simd>(s: S, a: S::V) -> S::V {
    s.xor(s.splat(SIGN), a)
}

/// `a · 2^n` in the lanes of `m`, `a` elsewhere (one masked `vscalefps` on AVX-512).
#[inline(always)]
pub(crate) fn scale_where<S: Simd>(s: S, m: S::M, a: S::V, n: S::V) -> S::V {
    s.select(m, s.scale(a, n), a)
}

/// An f32 constant split in two, `hi + lo`, for double-f32 arithmetic.
#[derive(Clone, Copy)]
pub(crate) struct Pair {
    pub hi: f32,
    pub lo: f32,
}

impl Pair {
    /// Splits an f64 constant: `hi` is its f32 rounding, `lo` the rest.
    pub const fn of(c: f64) -> Pair {
        let hi = c as f32;
        Pair { hi, lo: (c - hi as f64) as f32 }
    }
}

/// The exact product `a · b = hi + lo`: from one FMA where it is fused, from Dekker's split of
/// both factors where it is not.
#[inline(always)]
pub(crate) fn two_prod<S: Simd>(s: S, a: S::V, b: S::V) -> (S::V, S::V) {
    let hi = s.mul(a, b);
    if S::HAS_FMA {
        (hi, s.fma(a, b, neg(s, hi)))
    } else {
        let (ah, al) = split(s, a);
        let (bh, bl) = split(s, b);
        let e = s.sub(s.mul(ah, bh), hi);
        let e = s.add(e, s.mul(ah, bl));
        let e = s.add(e, s.mul(al, bh));
        (hi, s.add(e, s.mul(al, bl)))
    }
}

/// Veltkamp's split of a finite `a` into two halves of 12 significant bits each. 4097·a
/// overflows past 2^115 (a parameter such as softplus's β can be near f32::MAX), so beyond
/// 2^100 the halves come from truncation instead: the significand's low 12 bits cleared,
/// which is exact and cannot overflow.
#[inline(always)]
fn split<S: Simd>(s: S, a: S::V) -> (S::V, S::V) {
    const BIG: f32 = 1.267_650_6e30; // 2^100
    let c = s.mul(s.splat(4097.0), a);
    let hi = s.sub(c, s.sub(c, a));
    let truncated = s.and(a, s.splat(f32::from_bits(0xffff_f000)));
    let hi = s.select(s.lt(s.splat(BIG), abs(s, a)), truncated, hi);
    (hi, s.sub(a, hi))
}

/// The exact sum `a + b = hi + lo` (Knuth's two-sum, any order of magnitude).
#[inline(always)]
pub(crate) fn two_sum<S: Simd>(s: S, a: S::V, b: S::V) -> (S::V, S::V) {
    let hi = s.add(a, b);
    let bb = s.sub(hi, a);
    (hi, s.add(s.sub(a, s.sub(hi, bb)), s.sub(b, bb)))
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::Simd;

    /// `div_fast` on AVX-512 against the correctly rounded quotient: within 1 ULP for normal
    /// divisors, and the IEEE results for ±0, ±inf and NaN.
    #[test]
    fn avx512_div_fast() {
        if !crate::isa::Isa::Avx512.is_available() {
            return;
        }
        // SAFETY: the crate's detection reports AVX-512 (F, BW, DQ, VL) usable.
        let s = unsafe { super::avx512::Avx512::new_unchecked() };
        let specials = [0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1.0, -3.0, 1e-30, 1e30];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Finite values of every exponent (made normal by the callers).
            f32::from_bits((state >> 32) as u32 & 0x7f7f_ffff | (state as u32 & 0x8000_0000))
        };
        let normal = |x: f32| if x.abs() < f32::MIN_POSITIVE { f32::MIN_POSITIVE.copysign(x) } else { x };
        for round in 0..20_000 {
            let mut a = [0f32; 16];
            let mut b = [0f32; 16];
            for i in 0..16 {
                a[i] = if round < 9 { specials[(i + round) % 9] } else { normal(next()) };
                b[i] = if round < 9 { specials[i % 9] } else { normal(next()) };
                if round >= 9 && i % 2 == 1 {
                    b[i] = -b[i];
                }
            }
            let mut q = [0f32; 16];
            s.store(s.div_fast(s.load(&a), s.load(&b)), &mut q);
            for i in 0..16 {
                let exact = a[i] / b[i];
                let ok = if exact.is_nan() {
                    q[i].is_nan()
                } else if exact.is_infinite() || exact == 0.0 {
                    q[i] == exact && q[i].is_sign_negative() == exact.is_sign_negative()
                        || exact.abs() < f32::MIN_POSITIVE && (q[i] - exact).abs() <= f32::MIN_POSITIVE
                } else {
                    crate::ulp::ulp_distance(q[i], a[i] as f64 / b[i] as f64) <= 1
                        || exact.abs() < f32::MIN_POSITIVE
                };
                assert!(ok, "{} / {} = {} (div_fast) vs {}", a[i], b[i], q[i], exact);
            }
        }
    }
}

#[cfg(test)]
mod primitive_tests {
    use super::Simd;
    use super::portable::Portable;
    use super::scalar::Scalar;
    use super::unroll::X2;

    /// `table16`, `table32`, `scale_floor`, `any` and `finite` against their definitions, on one
    /// backend.
    fn check<S: Simd>(s: S) {
        let table: [f32; 16] = core::array::from_fn(|i| i as f32 * 0.5 - 3.0);
        let table32: [f32; 32] = core::array::from_fn(|i| i as f32 * 0.25 + 7.0);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut k = vec![0f32; S::LANES];
        let mut n = vec![0f32; S::LANES];
        let mut a = vec![0f32; S::LANES];
        let mut out = vec![0f32; S::LANES];
        for round in 0..2000 {
            for j in 0..S::LANES {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                k[j] = f32::from_bits(state as u32);
                // Multiples of 1/16 over the documented range of floor(n), both signs.
                n[j] = ((state >> 32) % (380 * 16)) as f32 / 16.0 - 252.0 + (round % 2) as f32;
                a[j] = 1.0 + ((state >> 40) as u32 & 0xffff) as f32 / 65536.0;
            }
            s.store(s.table16(&table, s.load(&k)), &mut out);
            for j in 0..S::LANES {
                assert_eq!(out[j], table[(k[j].to_bits() & 15) as usize], "table16({:#x})", k[j].to_bits());
            }
            s.store(s.table32(&table32, s.load(&k)), &mut out);
            for j in 0..S::LANES {
                assert_eq!(out[j], table32[(k[j].to_bits() & 31) as usize], "table32({:#x})", k[j].to_bits());
            }
            s.store(s.scale_floor(s.load(&a), s.load(&n)), &mut out);
            for j in 0..S::LANES {
                let want = (a[j] as f64 * (n[j] as f64).floor().exp2()) as f32;
                assert_eq!(out[j], want, "scale_floor({}, {})", a[j], n[j]);
            }
            for lane in 0..S::LANES {
                let v: Vec<f32> = (0..S::LANES).map(|j| if j == lane { -1.0 } else { 1.0 }).collect();
                assert!(s.any(s.lt(s.load(&v), s.splat(0.0))));
            }
            assert!(!s.any(s.lt(s.splat(1.0), s.splat(0.0))));
        }
        let specials = [0.0, -0.0, 1e-45, -f32::MAX, f32::MAX, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
        let specials = specials.into_iter().chain([f32::from_bits(0xff80_0001), f32::from_bits(0x7fc0_1234)]);
        for v in specials {
            for lane in 0..S::LANES {
                let mut x = vec![2.5f32; S::LANES];
                x[lane] = v;
                s.store(s.select(s.finite(s.load(&x)), s.splat(1.0), s.splat(0.0)), &mut out);
                for j in 0..S::LANES {
                    assert_eq!(out[j] == 1.0, x[j].is_finite(), "finite({:#x}) in lane {j}", x[j].to_bits());
                }
            }
        }
    }

    #[test]
    fn table_scale_any_every_backend() {
        check(Scalar);
        check(Portable);
        check(X2(Scalar));
        #[cfg(target_arch = "x86_64")]
        {
            if crate::isa::Isa::Avx2.is_available() {
                // SAFETY: the crate's detection reports AVX2 and FMA usable.
                check(unsafe { super::avx2::Avx2::new_unchecked() });
            }
            if crate::isa::Isa::Avx512.check().is_ok() {
                // SAFETY: the crate's own detection reports AVX-512 (F, DQ, BW, VL) usable.
                check(unsafe { super::avx512::Avx512::new_unchecked() });
            }
        }
        #[cfg(target_arch = "aarch64")]
        check(super::neon::Neon);
    }
}
