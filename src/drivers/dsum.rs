//! Double-f32 sums for the gradients that are reductions (PReLU's slopes, the fused bias):
//! about 48 bits per lane, carried on in f64 across lanes and pieces.
//!
//! A term that is itself ±inf or NaN (an overflowing product, an infinite or NaN factor)
//! decides the sum, as in exact arithmetic, whatever the finite terms add up to. So it is kept
//! apart from them: otherwise finite terms whose f32 partial sum overflows to +inf, then a −inf
//! term, would give NaN where the sum is −inf.

use super::*;
use crate::simd::two_sum;

/// (h, l) += p + q, where p + q is one term given exactly (q the low part of an exact
/// product, finite whenever p is; `None` for a plain f32 term).
///
/// - While the sum is finite: p is added to h exactly (two-sum), the rounding errors gathered
///   in l and renormalised every step (fast two-sum, Bailey's "sloppy" double-word add, whose
///   error is a few u² of |h| + |p|), so that |l| ≤ ulp(h)/2 and k terms are summed within
///   about k·2^-46·Σ|term|.
/// - Once it is not: h is what f32 addition gives (±inf once finite terms overflow it), and
///   the terms that are ±inf or NaN themselves are added to l from then on, so that l is
///   non-finite exactly when such a term came ([`Total::lane`] reads that first). The masks
///   and that sum stay off the dependency chain of (h, l), which is as long as a plain
///   double-f32 add's.
#[inline(always)]
pub(crate) fn add_dw<S: Simd>(s: S, h: &mut S::V, l: &mut S::V, p: S::V, q: Option<S::V>) {
    let zero = s.splat(0.0);
    let (sh, e) = two_sum(s, *h, p);
    let e = match q {
        Some(q) => s.add(e, q),
        None => e,
    };
    let t = s.add(e, *l);
    let hh = s.add(sh, t);
    let ll = s.sub(t, s.sub(hh, sh));
    let big = s.add(*l, s.select(s.finite(p), zero, p));
    *l = s.select(s.finite(hh), ll, big);
    *h = s.select(s.finite(sh), hh, sh);
}

/// A sum of double-f32 lanes carried on in f64: `finite`, the sum of the lanes' finite terms
/// (±inf only where an f32 lane overflowed), and `big`, the sum of the non-finite terms (0
/// while there is none), which decides the result once there is one.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Total {
    finite: f64,
    big: f64,
}

#[cfg(feature = "std")]
impl Total {
    /// One lane (h, l) of [`add_dw`].
    pub(crate) fn lane(h: f32, l: f32) -> Total {
        if !l.is_finite() {
            Total { finite: 0.0, big: l as f64 }
        } else if h.is_finite() {
            Total { finite: h as f64 + l as f64, big: 0.0 }
        } else {
            Total { finite: h as f64, big: 0.0 }
        }
    }

    /// The sum: the non-finite terms' sum if there is one.
    pub(crate) fn f64(self) -> f64 {
        if self.big != 0.0 { self.big } else { self.finite }
    }

    /// The sum rounded to f32: the non-finite terms' sum if there is one (NaN ≠ 0 too).
    pub(crate) fn value(self) -> f32 {
        if self.big != 0.0 { self.big as f32 } else { self.finite as f32 }
    }
}

#[cfg(feature = "std")]
impl core::ops::Add for Total {
    type Output = Total;
    fn add(self, o: Total) -> Total {
        Total { finite: self.finite + o.finite, big: self.big + o.big }
    }
}

#[cfg(feature = "std")]
impl core::ops::AddAssign for Total {
    fn add_assign(&mut self, o: Total) {
        *self = *self + o;
    }
}

#[cfg(feature = "std")]
impl core::iter::Sum for Total {
    fn sum<I: Iterator<Item = Total>>(it: I) -> Total {
        it.fold(Total::default(), |a, b| a + b)
    }
}
