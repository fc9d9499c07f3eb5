//! Two vectors of a backend driven in lock-step, as one vector of twice the width.
//!
//! A kernel's dependency chain is long (exp, a division, the scaling); run on one register at
//! a time it leaves the FMA units waiting on latency. Doing every primitive on two registers
//! side by side puts two independent chains next to each other in the instruction stream, which
//! the out-of-order core then overlaps. Written once, for every backend.

use super::Simd;

/// `S` twice over: `LANES = 2 · S::LANES`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct X2<S>(pub S);

macro_rules! pairwise {
    ($($name:ident($($a:ident),*);)*) => {$(
        #[inline(always)]
        fn $name(self, $($a: Self::V),*) -> Self::V {
            (self.0.$name($($a.0),*), self.0.$name($($a.1),*))
        }
    )*};
}

impl<S: Simd> Simd for X2<S> {
    type V = (S::V, S::V);
    type M = (S::M, S::M);
    const LANES: usize = 2 * S::LANES;
    const HAS_FMA: bool = S::HAS_FMA;

    #[inline(always)]
    fn splat(self, x: f32) -> Self::V {
        let v = self.0.splat(x);
        (v, v)
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> Self::V {
        (self.0.load(s), self.0.load(&s[S::LANES..]))
    }
    #[inline(always)]
    fn store(self, v: Self::V, s: &mut [f32]) {
        self.0.store(v.0, s);
        self.0.store(v.1, &mut s[S::LANES..]);
    }
    #[inline(always)]
    fn load_partial(self, s: &[f32]) -> Self::V {
        if s.len() < S::LANES {
            (self.0.load_partial(s), self.0.splat(0.0))
        } else {
            (self.0.load(s), self.0.load_partial(&s[S::LANES..]))
        }
    }
    #[inline(always)]
    fn store_partial(self, v: Self::V, s: &mut [f32]) {
        if s.len() < S::LANES {
            self.0.store_partial(v.0, s);
        } else {
            self.0.store(v.0, s);
            self.0.store_partial(v.1, &mut s[S::LANES..]);
        }
    }

    pairwise! {
        add(a, b);
        sub(a, b);
        mul(a, b);
        div(a, b);
        div_fast(a, b);
        sqrt(a);
        fma(a, b, c);
        min(a, b);
        max(a, b);
        round(a);
        pow2i(n);
        scale(a, n);
        scale_small(a, n);
        scale_floor(a, n);
        exponent(a);
        and(a, b);
        or(a, b);
        xor(a, b);
        andnot(a, b);
    }

    #[inline(always)]
    fn lt(self, a: Self::V, b: Self::V) -> Self::M {
        (self.0.lt(a.0, b.0), self.0.lt(a.1, b.1))
    }
    #[inline(always)]
    fn le(self, a: Self::V, b: Self::V) -> Self::M {
        (self.0.le(a.0, b.0), self.0.le(a.1, b.1))
    }
    #[inline(always)]
    fn finite(self, a: Self::V) -> Self::M {
        (self.0.finite(a.0), self.0.finite(a.1))
    }
    #[inline(always)]
    fn any(self, m: Self::M) -> bool {
        self.0.any(m.0) || self.0.any(m.1)
    }
    const FAST_TABLE: bool = S::FAST_TABLE;
    #[inline(always)]
    fn table16(self, t: &[f32; 16], k: Self::V) -> Self::V {
        (self.0.table16(t, k.0), self.0.table16(t, k.1))
    }
    #[inline(always)]
    fn table32(self, t: &[f32; 32], k: Self::V) -> Self::V {
        (self.0.table32(t, k.0), self.0.table32(t, k.1))
    }
    #[inline(always)]
    fn select(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V {
        (self.0.select(m.0, a.0, b.0), self.0.select(m.1, a.1, b.1))
    }

    type U = (S::U, S::U);
    #[inline(always)]
    fn splat_u(self, x: u32) -> Self::U {
        let v = self.0.splat_u(x);
        (v, v)
    }
    #[inline(always)]
    fn iota_u(self) -> Self::U {
        let i = self.0.iota_u();
        (i, self.0.add_u(i, self.0.splat_u(S::LANES as u32)))
    }
    #[inline(always)]
    fn add_u(self, a: Self::U, b: Self::U) -> Self::U {
        (self.0.add_u(a.0, b.0), self.0.add_u(a.1, b.1))
    }
    #[inline(always)]
    fn mul_u(self, a: Self::U, b: Self::U) -> Self::U {
        (self.0.mul_u(a.0, b.0), self.0.mul_u(a.1, b.1))
    }
    #[inline(always)]
    fn xor_u(self, a: Self::U, b: Self::U) -> Self::U {
        (self.0.xor_u(a.0, b.0), self.0.xor_u(a.1, b.1))
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn load_u16(self, s: &[u16]) -> Self::U {
        (self.0.load_u16(s), self.0.load_u16(&s[S::LANES..]))
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn store_u16(self, v: Self::U, s: &mut [u16]) {
        self.0.store_u16(v.0, s);
        self.0.store_u16(v.1, &mut s[S::LANES..]);
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn store_bf16(self, v: Self::V, s: &mut [u16]) {
        self.0.store_bf16(v.0, s);
        self.0.store_bf16(v.1, &mut s[S::LANES..]);
    }
    #[inline(always)]
    fn shr_u(self, a: Self::U, n: u32) -> Self::U {
        (self.0.shr_u(a.0, n), self.0.shr_u(a.1, n))
    }
    #[cfg(feature = "half")]
    #[inline(always)]
    fn shl_u(self, a: Self::U, n: u32) -> Self::U {
        (self.0.shl_u(a.0, n), self.0.shl_u(a.1, n))
    }
    #[inline(always)]
    fn u_as_f32(self, a: Self::U) -> Self::V {
        (self.0.u_as_f32(a.0), self.0.u_as_f32(a.1))
    }
    #[inline(always)]
    fn f32_as_u(self, a: Self::V) -> Self::U {
        (self.0.f32_as_u(a.0), self.0.f32_as_u(a.1))
    }
}
