//! The activations built on the logistic function σ(u) = 1/(1 + e^(−u)): sigmoid, the Swish
//! family (SiLU, Swish(β), E-Swish(β)), log-sigmoid and softplus.
//!
//! All of them are written with v = e^(−|u|) = p·2^n, where σ(|u|) = 1/(1 + v) and
//! σ(−|u|) = v/(1 + v): the factor 2^n of the small side is applied last (`scale_where`), so
//! results that should be tiny stay accurate down into the subnormals. Where u = βx is not
//! exact, it is carried as hi + lo (`two_prod`), since e^u multiplies an error in u by |u|.
//!
//! Fast paths: where the table lookup is one instruction (AVX-512, `Simd::FAST_TABLE`), a
//! vector whose lanes all lie in the common range (u ≥ −87, or ≥ −40 for the derivatives) takes
//! e^(−u) from the table exponential and the plain quotient, with no late scaling and no
//! selection by sign; any other vector takes the total formula above. Both meet the bounds, but
//! their last bits can differ, so on AVX-512 a result may depend on the other lanes of its
//! vector (the same for any thread count, since the chunks are fixed).

use crate::drivers::{Elementwise, OutputGrad};
use crate::math::exp::{exp_parts, exp_parts_lo, exp_table, exp_table_lo, expm1};
use crate::math::log1p::{log1p, log1p_unit};
use crate::math::sigmoid::{logistic_fast, sigmoid};
use crate::simd::{SIGN, Simd, abs, neg, scale_where, sign_of, two_prod};

/// σ(x); σ'(x) = σ(x)·σ(−x) = v/(1 + v)².
#[derive(Clone, Copy)]
pub(crate) struct Sigmoid;

impl Elementwise for Sigmoid {
    const DEEP_BACKWARD: bool = true;

    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        sigmoid(s, x)
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        let (p, n) = exp_parts(s, neg(s, abs(s, x)), s.splat(0.0));
        let a = s.add(s.splat(1.0), s.scale_small(p, n));
        s.scale(s.div(s.mul(dy, p), s.mul(a, a)), n)
    }
}

/// f(x) = c·x·σ(βx): SiLU (β = c = 1), Swish(β) (c = 1), E-Swish(β) (β = 1, c = β).
/// With u = βx: f'(x) = c·σ(u)·(1 + u·(1 − σ(u))), which is
/// u ≥ 0: c·[(1 + v) + u·v]/(1 + v)²;  u < 0: c·v·[(1 + v) + u]/(1 + v)²,
/// the last bracket evaluated in double-f32 where it cancels (u ≈ −1.28, the root of f').
///
/// `UNIT` says β = 1 (SiLU, E-Swish): u = x is exact and the double-f32 work is compiled out.
/// `SCALED` says c ≠ 1 (E-Swish).
#[derive(Clone, Copy)]
pub(crate) struct Swish<const UNIT: bool, const SCALED: bool> {
    beta: f32,
    c: f32,
    /// |x| beyond which |u| > 200: σ(u) is 0 or 1 in f32 there.
    x_max: f32,
}

impl<const UNIT: bool, const SCALED: bool> Swish<UNIT, SCALED> {
    pub(crate) fn new(beta: f32, c: f32) -> Self {
        debug_assert!(!UNIT || beta == 1.0);
        debug_assert!(SCALED || c == 1.0);
        Swish { beta, c, x_max: 200.0 / beta }
    }
}

/// u = βx as hi + lo, its lanes u < 0, and e^(−|u|) = (p + p_lo)·2^n ≈ v, for x clamped to
/// ±x_max.
struct SwishTerms<S: Simd> {
    xc: S::V,
    u: S::V,
    ul: S::V,
    v: S::V,
    v_lo: S::V,
    p: S::V,
    n: S::V,
    neg_u: S::M,
}

#[inline(always)]
fn swish_terms<S: Simd, const UNIT: bool>(s: S, beta: f32, x_max: f32, x: S::V) -> SwishTerms<S> {
    let xc = s.min(s.max(x, s.splat(-x_max)), s.splat(x_max));
    let (u, ul) = if UNIT { (xc, s.splat(0.0)) } else { two_prod(s, s.splat(beta), xc) };
    // −|u| as hi + lo: the low part takes the sign flip of the high part.
    let lo = s.xor(neg(s, ul), sign_of(s, u));
    let (p, pl, n) = exp_parts_lo(s, s.or(u, s.splat(SIGN)), lo);
    SwishTerms {
        xc,
        u,
        ul,
        v: s.scale_small(p, n),
        v_lo: s.scale_small(pl, n),
        p,
        n,
        neg_u: s.lt(u, s.splat(0.0)),
    }
}

/// The table path of the Swish family, on backends where the lookup is one instruction
/// ([`Simd::FAST_TABLE`]) and FMA is fused: u = βx as hi + lo (x clamped at x_max above) and
/// e = e^(−u), when every lane has u ≥ `lowest` (NaN lanes pass). For β ≠ 1 the low part of u
/// enters the reduction whole. `None` sends the vector to the total formula.
#[inline(always)]
fn swish_exp<S: Simd, const UNIT: bool>(
    s: S,
    beta: f32,
    x_max: f32,
    x: S::V,
    lowest: f32,
) -> Option<(S::V, S::V, S::V)> {
    if !(S::FAST_TABLE && S::HAS_FMA) {
        return None;
    }
    let xc = s.min(x, s.splat(x_max));
    let (u, ul) = if UNIT { (xc, s.splat(0.0)) } else { two_prod(s, s.splat(beta), xc) };
    if s.any(s.lt(u, s.splat(lowest))) {
        return None;
    }
    Some((u, ul, exp_table_lo::<S, true>(s, u, (!UNIT).then_some(ul))))
}

/// ln(1 + e^(−|x|)) with the table exponential, for |x| clamped at 87 (where e^(−|x|) is
/// normal, and beyond which the callers' other term dwarfs it): the shared part of softplus
/// (β = 1) and log-sigmoid.
#[inline(always)]
fn log1p_exp_neg_abs<S: Simd>(s: S, x: S::V) -> S::V {
    log1p_unit(s, exp_table::<S, true>(s, s.min(abs(s, x), s.splat(87.0))))
}

impl<const UNIT: bool, const SCALED: bool> Elementwise for Swish<UNIT, SCALED> {
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        // x·σ(u) = x/(1 + e^(−u)), every u ≥ −87: e^(−u) and the result are normal, nothing
        // is scaled late. E-Swish multiplies x by c first: one rounding more, in the
        // subnormals at most.
        if let Some((_, _, e)) = swish_exp::<S, UNIT>(s, self.beta, self.x_max, x, -87.0) {
            let num = if SCALED { s.mul(s.splat(self.c), x) } else { x };
            return s.div(num, s.add(s.splat(1.0), e));
        }
        let t = swish_terms::<S, UNIT>(s, self.beta, self.x_max, x);
        // |x_max| < 2^40 (β ≥ 2^-32): x·p is finite, and where u is clamped at −200 (the
        // exponential itself stops at −150) x·p·2^n still rounds to 0.
        let num = s.select(t.neg_u, s.mul(t.xc, t.p), x);
        // E-Swish: c goes in before the last rounding (the division for tiny x, the scaling by
        // 2^n for very negative x), which may fall in the subnormals, where c times its error
        // would be several ULP. c ≤ 2^16 and |num| < 2^9 where u < 0: c·num is finite there.
        let num = if SCALED { s.mul(s.splat(self.c), num) } else { num };
        scale_where(s, t.neg_u, s.div(num, s.add(s.splat(1.0), t.v)), t.n)
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        // [1 + e·(1 + u)]/(1 + e)² with e = e^(−u), for u ≥ −40, where (1 + e)² < 6e34 stays
        // finite. Near the root (u ≈ −1.28), 1 + u.hi is exact and e·(1 + u) + 1 rounds once:
        // the error of e leaves an absolute error far inside the near-root rule.
        if let Some((u, ul, e)) = swish_exp::<S, UNIT>(s, self.beta, self.x_max, x, -40.0) {
            let one = s.splat(1.0);
            let a = s.add(one, e);
            let one_u = if UNIT { s.add(one, u) } else { s.add(s.add(one, u), ul) };
            let num = s.fma(e, one_u, one);
            let dyc = if SCALED { s.mul(dy, s.splat(self.c)) } else { dy };
            return s.mul(dyc, s.div(num, s.mul(a, a)));
        }
        let t = swish_terms::<S, UNIT>(s, self.beta, self.x_max, x);
        let one = s.splat(1.0);
        let a = s.add(one, t.v);
        let al = s.add(s.sub(t.v, s.sub(a, one)), t.v_lo);
        let num_neg = s.mul(t.p, s.add(s.add(a, t.u), s.add(al, t.ul)));
        let num_pos = s.fma(t.u, t.v, a);
        let num = s.select(t.neg_u, num_neg, num_pos);
        let dyc = s.mul(dy, s.splat(self.c));
        scale_where(s, t.neg_u, s.div(s.mul(dyc, num), s.mul(a, a)), t.n)
    }
}

/// ln σ(x) = −ln(1 + e^(−x)): x − ln(1 + v) for x < 0, −ln(1 + v) for x ≥ 0 (v computed with
/// one rounding, so that ln σ(100) ≈ −3.7e-44 is right). f'(x) = σ(−x).
#[derive(Clone, Copy)]
pub(crate) struct LogSigmoid;

impl Elementwise for LogSigmoid {
    const DEEP_BACKWARD: bool = true;

    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        if S::FAST_TABLE && !s.any(s.lt(s.splat(87.0), x)) {
            // min(x, 0) − ln(1 + e^(−|x|)), for x ≤ 87.
            return s.sub(s.min(x, s.splat(0.0)), log1p_exp_neg_abs(s, x));
        }
        let (p, n) = exp_parts(s, neg(s, abs(s, x)), s.splat(0.0));
        let l = log1p(s, s.scale(p, n));
        s.select(s.lt(x, s.splat(0.0)), s.sub(x, l), neg(s, l))
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        let (p, n) = exp_parts(s, neg(s, abs(s, x)), s.splat(0.0));
        let den = s.add(s.splat(1.0), s.scale_small(p, n));
        let pos = s.le(s.splat(0.0), x);
        let num = s.select(pos, s.mul(dy, p), dy);
        scale_where(s, pos, s.div(num, den), n)
    }
}

/// Softplus with PyTorch's parameters: f(x) = ln(1 + e^(βx))/β, and x where βx > threshold.
/// With u = βx (hi + lo) and v = e^(−|u|): u ≥ 0: x + ln(1 + v)/β; u < 0: ln(1 + v)/β, which
/// below u = −80 is v/β, scaled last. f'(x) = σ(βx) (1 past the threshold).
///
/// `UNIT` says β = 1: on backends with a one-instruction table ([`Simd::FAST_TABLE`]), vectors
/// with every x ≥ −87 then take max(x, 0) + ln(1 + v) with v = e^(−|x|) from the table (normal
/// there, so nothing is scaled late) and the logarithm for arguments in [0, 1]; backward takes
/// dy/(1 + e^(−x)).
#[derive(Clone, Copy)]
pub(crate) struct Softplus<const UNIT: bool> {
    beta: f32,
    threshold: f32,
    x_max: f32,
}

impl<const UNIT: bool> Softplus<UNIT> {
    pub(crate) fn new(beta: f32, threshold: f32) -> Self {
        debug_assert!(!UNIT || beta == 1.0);
        Softplus { beta, threshold, x_max: 200.0 / beta }
    }

    /// βx > threshold, PyTorch's test, on βx rounded to f32 and not clamped (a threshold below
    /// −200 must still see x below it).
    #[inline(always)]
    fn past_threshold<S: Simd>(&self, s: S, x: S::V) -> S::M {
        let u = if UNIT { x } else { s.mul(s.splat(self.beta), x) };
        s.lt(s.splat(self.threshold), u)
    }
}

impl<const UNIT: bool> Elementwise for Softplus<UNIT> {
    const DEEP_FORWARD: bool = true;

    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        if UNIT && S::FAST_TABLE && !s.any(s.lt(x, s.splat(-87.0))) {
            let y = s.add(s.max(x, s.splat(0.0)), log1p_exp_neg_abs(s, x));
            return s.select(self.past_threshold(s, x), x, y);
        }
        let t = swish_terms::<S, false>(s, self.beta, self.x_max, x);
        let beta = s.splat(self.beta);
        let l = s.div(log1p(s, t.v), beta);
        let tail = s.scale(s.div(t.p, beta), t.n);
        let neg_side = s.select(s.lt(t.u, s.splat(-80.0)), tail, l);
        let y = s.select(t.neg_u, neg_side, s.add(x, l));
        s.select(self.past_threshold(s, x), x, y)
    }

    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        if UNIT && let Some(g) = logistic_fast(s, x, dy) {
            return s.select(self.past_threshold(s, x), dy, g);
        }
        let t = swish_terms::<S, false>(s, self.beta, self.x_max, x);
        let num = s.select(t.neg_u, s.mul(dy, t.p), dy);
        let g = scale_where(s, t.neg_u, s.div(num, s.add(s.splat(1.0), t.v)), t.n);
        s.select(self.past_threshold(s, x), dy, g)
    }
}

/// From y = σ(x): f' = y·(1 − y).
impl OutputGrad for Sigmoid {
    #[inline(always)]
    fn backward_y<S: Simd>(&self, s: S, y: S::V, dy: S::V) -> S::V {
        s.mul(s.mul(dy, y), s.sub(s.splat(1.0), y))
    }
}

/// From y = ln σ(x): f' = σ(−x) = 1 − e^y = −expm1(y), accurate for y near 0 (x large).
impl OutputGrad for LogSigmoid {
    #[inline(always)]
    fn backward_y<S: Simd>(&self, s: S, y: S::V, dy: S::V) -> S::V {
        s.mul(dy, neg(s, expm1(s, y)))
    }
}
