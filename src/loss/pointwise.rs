//! The element-wise losses' loop, written once over [`Simd`]: a loss gives its term and its
//! derivative per vector ([`Pointwise`]); [`chunk`] sums the terms and writes the gradient, or
//! the terms themselves.

use crate::drivers::dsum::{Total, add_dw};
use crate::simd::tier::simd_fn;
use crate::simd::{Simd, load_n, store_n, two_sum};

/// One loss term: `hi + lo` (`lo` the low part of a term known exactly, else 0), and the
/// term's derivative in the prediction.
pub(crate) struct Term<V> {
    pub(crate) hi: V,
    pub(crate) lo: V,
    pub(crate) grad: V,
}

/// An element-wise loss: its term at prediction `p` and target `t`.
pub(crate) trait Pointwise: Copy + Sync + Send {
    fn term<S: Simd>(&self, s: S, p: S::V, t: S::V) -> Term<S::V>;
}

/// p − t exactly as `(hi, lo)`, `lo` zeroed where `hi` is not finite (its two-sum error is
/// NaN there).
#[inline(always)]
pub(crate) fn diff<S: Simd>(s: S, p: S::V, t: S::V) -> (S::V, S::V) {
    let (hi, lo) = two_sum(s, p, crate::simd::neg(s, t));
    (hi, s.select(s.finite(hi), lo, s.splat(0.0)))
}

/// The ones of a partial vector's valid lanes.
const ONES: [f32; 64] = [1.0; 64];

/// What [`chunk`] writes: the gradient `grad` = derivative × (`dloss[i]`, or `scale` without
/// `dloss`), and the terms `loss`, each where given.
pub(crate) struct Outs<'a> {
    pub(crate) dloss: Option<&'a [f32]>,
    pub(crate) scale: f32,
    pub(crate) loss: Option<&'a mut [f32]>,
    pub(crate) grad: Option<&'a mut [f32]>,
}

/// The terms of `k` over `p` and `t` (equal lengths), summed: per lane in double f32
/// ([`add_dw`]), the lanes then in order.
#[inline(always)]
pub(crate) fn chunk<S: Simd, K: Pointwise>(s: S, k: K, p: &[f32], t: &[f32], mut o: Outs<'_>) -> Total {
    let (n, c) = (p.len(), S::LANES);
    let zero = s.splat(0.0);
    let (mut h, mut l) = (zero, zero);
    let mut i = 0;
    while i < n {
        let w = (n - i).min(c);
        let term = k.term(s, load_n(s, p, i, w), load_n(s, t, i, w));
        let lo = s.select(s.finite(term.hi), term.lo, zero);
        let (hi, lo) = if w == c {
            (term.hi, lo)
        } else {
            // The lanes past the slice hold the term at (0, 0), which need not be 0.
            let valid = s.lt(zero, s.load_partial(&ONES[..w]));
            (s.select(valid, term.hi, zero), s.select(valid, lo, zero))
        };
        add_dw(s, &mut h, &mut l, hi, Some(lo));
        if let Some(loss) = o.loss.as_deref_mut() {
            store_n(s, s.add(hi, lo), loss, i, w);
        }
        if let Some(grad) = o.grad.as_deref_mut() {
            let by = o.dloss.map_or(s.splat(o.scale), |d| load_n(s, d, i, w));
            store_n(s, s.mul(term.grad, by), grad, i, w);
        }
        i += c;
    }
    let (mut hs, mut ls) = ([0f32; 64], [0f32; 64]);
    s.store(h, &mut hs);
    s.store(l, &mut ls);
    hs[..c].iter().zip(&ls[..c]).map(|(&h, &l)| Total::lane(h, l)).sum()
}

simd_fn! {
    /// [`chunk`] on an available `isa`.
    pub(crate) fn run_chunk<K: Pointwise>(k: K, p: &[f32], t: &[f32], o: Outs<'_>) -> Total => chunk::<_, K>;
}
