//! A row's statistics, finished in f64 from the tiles' per-lane sums: what the write pass
//! needs, and logsumexp.

/// The row function.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Softmax,
    LogSoftmax,
}

/// A lane's double-f32 sum `(h, l)` as f64: `h` alone once it is ±inf or NaN (its low part is
/// then NaN).
#[inline(always)]
pub(crate) fn lane(h: f32, l: f32) -> f64 {
    if h.is_finite() { h as f64 + l as f64 } else { h as f64 }
}

/// Σ over lanes of [`lane`], in eight running sums by lane position, then pairwise: a fixed
/// order, so the same bits every time, in loops the compiler vectorizes (a short row's cost is
/// much in these reductions).
#[inline(always)]
pub(crate) fn lanes(h: &[f32], l: &[f32]) -> f64 {
    let mut acc = [0f64; 8];
    for (h, l) in h.chunks(8).zip(l.chunks(8)) {
        for ((a, &h), &l) in acc.iter_mut().zip(h).zip(l) {
            *a += lane(h, l);
        }
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// The maximum of `m`'s lanes, NaN if one is NaN.
#[inline(always)]
pub(crate) fn lanes_max(m: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let mut nan = false;
    for m in m.chunks(8) {
        for (a, &v) in acc.iter_mut().zip(m) {
            *a = a.max(v);
            nan |= v.is_nan();
        }
    }
    if nan { f32::NAN } else { acc.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) }
}

/// Σ of `k`'s lanes: counts, exact in f32 below 2^24, in eight running sums (a sequential
/// sum of 32 lanes costs a short row more than its arithmetic).
#[inline(always)]
pub(crate) fn lanes_count(k: &[f32]) -> f64 {
    let mut acc = [0f32; 8];
    for k in k.chunks(8) {
        for (a, &v) in acc.iter_mut().zip(k) {
            *a += v;
        }
    }
    acc.iter().map(|&a| a as f64).sum()
}

/// The maximum that keeps a NaN, as the tiles take it.
#[inline(always)]
pub(crate) fn max_nan(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() { f32::NAN } else { a.max(b) }
}
/// What a softmax row's write pass reads, per column: `[m, p1, p2]` (the tiles' `Out`
/// parameters), and the row's logsumexp.
#[derive(Clone, Copy)]
pub(crate) struct Stats {
    pub(crate) p: [f32; 3],
    pub(crate) lse: f32,
    /// Log-softmax: ln Σ and Σ − 1 in f64 (the losses' row terms), NaN elsewhere.
    pub(crate) ln_sum: f64,
    pub(crate) sum_m1: f64,
}

impl Stats {
    /// The shift the sum pass subtracts: the maximum where it is finite. Elsewhere every output
    /// of the row is NaN (a NaN or +inf in the row, or every entry −inf) and logsumexp is the
    /// maximum itself, so the sum pass is skipped.
    #[inline(always)]
    pub(crate) fn shift(m: f32) -> Option<f32> {
        m.is_finite().then_some(m)
    }

    /// A row whose maximum is not finite: outputs NaN, logsumexp = m (NaN, +inf or −inf). The
    /// write pass subtracts +inf, which leaves no entry finite (x − inf is −inf or NaN), and
    /// scales by NaN.
    #[inline(always)]
    pub(crate) fn nonfinite(m: f32) -> Stats {
        Stats { p: [f32::INFINITY, f32::NAN, f32::NAN], lse: m, ln_sum: f64::NAN, sum_m1: f64::NAN }
    }

    /// Softmax: 1/Σ, Σ = Σ e^(x − m) ≥ 1.
    #[inline(always)]
    pub(crate) fn softmax(m: f32, sum: f64) -> Stats {
        Stats { p: [m, (1.0 / sum) as f32, 0.0], lse: 0.0, ln_sum: f64::NAN, sum_m1: f64::NAN }
    }

    /// Log-softmax and logsumexp from the sum of the terms below the maximum, `others` (times
    /// 2^64, as [`exp_sum`](super::tile) takes it), and the
    /// number of entries equal to it, `top` (≥ 1): L = ln Σ = log1p(top − 1 + others), exact
    /// to f64 where Σ is 1 plus a tiny amount; L as double f32 `[m, hi, lo]`, lse = m + L.
    #[inline(always)]
    pub(crate) fn log_softmax(m: f32, others: f64, top: f64) -> Stats {
        let others = libm::ldexp(others, -(super::tile::TOP_SCALE as i32));
        let sum_m1 = (top - 1.0) + others;
        let l = sum_m1.ln_1p();
        let hi = l as f32;
        Stats { p: [m, hi, (l - hi as f64) as f32], lse: (m as f64 + l) as f32, ln_sum: l, sum_m1 }
    }

    /// Softmax backward: d = Σ dy·y as double f32 in `[_, hi, lo]`.
    #[inline(always)]
    pub(crate) fn dot(d: f64) -> Stats {
        let hi = d as f32;
        let lo = if hi.is_finite() { (d - hi as f64) as f32 } else { 0.0 };
        Stats { p: [0.0, hi, lo], lse: 0.0, ln_sum: f64::NAN, sum_m1: f64::NAN }
    }
}
