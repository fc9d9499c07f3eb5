//! The element-wise losses: their parameters, terms and derivatives. One generic pass
//! ([`run`]) serves them all, and [`loss_methods!`] gives each its public methods.

use super::drive::{Want, elementwise};
use super::pointwise::{Pointwise, Term, diff};
use super::{Reduction, out_lens};
use crate::element::Element;
use crate::error::{Error, check_len};
use crate::isa::Isa;
use crate::math::exp::{exp_parts, exp_parts_lo};
use crate::math::log1p::{log, log1p};
use crate::simd::{Simd, abs, neg, sign_of, two_prod, two_sum};

/// An element-wise loss's parameters, checked into its kernel.
pub(crate) trait Spec {
    type K: Pointwise;
    fn reduction(&self) -> Reduction;
    /// The kernel, or the parameter that is out of range.
    fn kernel(&self) -> Result<Self::K, Error>;
    /// Checks the predictions' domain, before anything is written.
    fn check_pred<T: Element>(&self, _isa: Isa, _pred: &[T]) -> Result<(), Error> {
        Ok(())
    }
}

/// Checks every argument, then runs the pass: the reduced loss (0 where `reduced` is false).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run<L: Spec, T: Element>(
    l: &L,
    isa: Isa,
    pred: &[T],
    target: &[T],
    dloss: Option<&[f32]>,
    loss: Option<&mut [f32]>,
    grad: Option<&mut [T]>,
    reduced: bool,
) -> Result<f32, Error> {
    let r = l.reduction();
    r.check(reduced)?;
    let k = l.kernel()?;
    isa.check()?;
    let n = pred.len();
    check_len("target", n, target.len())?;
    out_lens(n, n, dloss, loss.as_deref(), grad.as_deref())?;
    l.check_pred(isa, pred)?;
    let f = r.factor(n as f64);
    let sum = elementwise(isa, k, pred, target, Want { dloss, scale: f as f32, loss, grad });
    Ok((sum * f) as f32)
}

/// The public methods of a loss type over `(pred, target)` slices of types `[$P]` and `$Tg`,
/// run by `$run` (as [`run`]).
macro_rules! loss_methods {
    ($T:ty, $pred:literal, $tg:ty, $run:path) => {
        impl $T {
            #[doc = concat!("The reduced loss of `", $pred, "` against `target`, on the best ISA.")]
            pub fn forward<E: Element>(&self, pred: &[E], target: &$tg) -> Result<f32, Error> {
                self.forward_with(Isa::detect(), pred, target)
            }

            /// [`Self::forward`] on `isa`.
            pub fn forward_with<E: Element>(&self, isa: Isa, pred: &[E], target: &$tg) -> Result<f32, Error> {
                $run(self, isa, pred, target, None, None, None, true)
            }

            /// The reduced loss, and its gradient (for an upstream gradient of 1) into `grad`.
            pub fn forward_backward<E: Element>(
                &self,
                pred: &[E],
                target: &$tg,
                grad: &mut [E],
            ) -> Result<f32, Error> {
                self.forward_backward_with(Isa::detect(), pred, target, grad)
            }

            /// [`Self::forward_backward`] on `isa`.
            pub fn forward_backward_with<E: Element>(
                &self,
                isa: Isa,
                pred: &[E],
                target: &$tg,
                grad: &mut [E],
            ) -> Result<f32, Error> {
                $run(self, isa, pred, target, None, None, Some(grad), true)
            }

            /// With [`Reduction::None`](crate::loss::Reduction::None): each loss into `loss`.
            pub fn forward_none<E: Element>(
                &self,
                pred: &[E],
                target: &$tg,
                loss: &mut [f32],
            ) -> Result<(), Error> {
                self.forward_none_with(Isa::detect(), pred, target, loss)
            }

            /// [`Self::forward_none`] on `isa`.
            pub fn forward_none_with<E: Element>(
                &self,
                isa: Isa,
                pred: &[E],
                target: &$tg,
                loss: &mut [f32],
            ) -> Result<(), Error> {
                $run(self, isa, pred, target, None, Some(loss), None, false).map(|_| ())
            }

            /// With [`Reduction::None`](crate::loss::Reduction::None): each loss into `loss`, and the gradient for the
            /// upstream gradients `dloss` (one per loss) into `grad`.
            pub fn forward_backward_none<E: Element>(
                &self,
                pred: &[E],
                target: &$tg,
                dloss: &[f32],
                loss: &mut [f32],
                grad: &mut [E],
            ) -> Result<(), Error> {
                self.forward_backward_none_with(Isa::detect(), pred, target, dloss, loss, grad)
            }

            /// [`Self::forward_backward_none`] on `isa`.
            pub fn forward_backward_none_with<E: Element>(
                &self,
                isa: Isa,
                pred: &[E],
                target: &$tg,
                dloss: &[f32],
                loss: &mut [f32],
                grad: &mut [E],
            ) -> Result<(), Error> {
                $run(self, isa, pred, target, Some(dloss), Some(loss), Some(grad), false).map(|_| ())
            }
        }
    };
}
pub(crate) use loss_methods;

/// Defines an element-wise loss type: its struct (`Default` = PyTorch's defaults), its
/// [`Spec`] and its methods.
macro_rules! element_loss {
    ($(#[$doc:meta])* $T:ident { $($(#[$fdoc:meta])* $f:ident: $ft:ty = $fd:expr),* } => $K:ty, |$l:ident| $kernel:expr
        $(; check = $check:path)?) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $T {
            $($(#[$fdoc])* pub $f: $ft,)*
            /// How the losses are combined.
            pub reduction: Reduction,
        }

        impl Default for $T {
            fn default() -> Self {
                $T { $($f: $fd,)* reduction: Reduction::Mean }
            }
        }

        impl Spec for $T {
            type K = $K;
            fn reduction(&self) -> Reduction {
                self.reduction
            }
            fn kernel(&self) -> Result<$K, Error> {
                let $l = self;
                $kernel
            }
            $(fn check_pred<T: Element>(&self, isa: Isa, pred: &[T]) -> Result<(), Error> {
                $check(isa, pred)
            })?
        }

        loss_methods!($T, "pred", [E], run);
    };
}

/// A parameter that must be finite and at least `min` (above it where `strict`).
fn at_least(
    name: &'static str,
    v: f32,
    min: f32,
    strict: bool,
    expected: &'static str,
) -> Result<f32, Error> {
    let ok = v.is_finite() && if strict { v > min } else { v >= min };
    if ok { Ok(v) } else { Err(Error::InvalidParameter { name, value: v as f64, expected }) }
}

/// The square (p − t)² as `hi + lo`, exact where it does not overflow, and p − t.
#[inline(always)]
fn square<S: Simd>(s: S, p: S::V, t: S::V) -> (S::V, S::V, S::V) {
    let (d, dl) = diff(s, p, t);
    let (h, l) = two_prod(s, d, d);
    (h, s.fma(s.add(d, d), dl, l), d)
}

/// |p − t| as `hi + lo` (exact), and p − t.
#[inline(always)]
fn absdiff<S: Simd>(s: S, p: S::V, t: S::V) -> (S::V, S::V, S::V) {
    let (d, dl) = diff(s, p, t);
    let flip = s.lt(d, s.splat(0.0));
    (abs(s, d), s.select(flip, neg(s, dl), dl), d)
}

/// sgn(d): ±1, 0 at ±0 (with its sign), NaN at NaN.
#[inline(always)]
fn sgn<S: Simd>(s: S, d: S::V) -> S::V {
    let one = s.or(s.splat(1.0), sign_of(s, d));
    s.select(s.lt(s.splat(0.0), abs(s, d)), one, s.mul(d, s.splat(0.0)))
}

/// Kernel of [`Mse`]: (p − t)², derivative 2(p − t).
#[derive(Clone, Copy)]
pub(crate) struct MseK;
impl Pointwise for MseK {
    #[inline(always)]
    fn term<S: Simd>(&self, s: S, p: S::V, t: S::V) -> Term<S::V> {
        let (hi, lo, d) = square(s, p, t);
        Term { hi, lo, grad: s.add(d, d) }
    }
}

/// Kernel of [`L1`]: |p − t|, derivative sgn(p − t).
#[derive(Clone, Copy)]
pub(crate) struct L1K;
impl Pointwise for L1K {
    #[inline(always)]
    fn term<S: Simd>(&self, s: S, p: S::V, t: S::V) -> Term<S::V> {
        let (hi, lo, d) = absdiff(s, p, t);
        Term { hi, lo, grad: sgn(s, d) }
    }
}

/// Kernel of [`Huber`] (`c` = δ) and [`SmoothL1`] (`c` = β, the quadratic part divided by
/// it): below `c`, `q`·(p − t)² with derivative 2q·(p − t); from `c` on, `g`·(|p − t| − c/2)
/// with derivative g·sgn(p − t).
#[derive(Clone, Copy)]
pub(crate) struct HuberK {
    c: f32,
    q: f32,
    g: f32,
}
impl Pointwise for HuberK {
    #[inline(always)]
    fn term<S: Simd>(&self, s: S, p: S::V, t: S::V) -> Term<S::V> {
        let (sh, sl, d) = square(s, p, t);
        let (ah, al, _) = absdiff(s, p, t);
        let (q, g, c) = (s.splat(self.q), s.splat(self.g), s.splat(self.c));
        let near = s.lt(ah, c);
        let lin = s.mul(g, s.add(s.sub(ah, s.splat(0.5 * self.c)), al));
        let hi = s.select(near, s.mul(q, sh), lin);
        let lo = s.select(near, s.mul(q, sl), s.splat(0.0));
        let grad = s.select(near, s.mul(s.add(q, q), d), s.mul(g, sgn(s, d)));
        Term { hi, lo, grad }
    }
}

element_loss! {
    /// Mean squared error, PyTorch's `mse_loss`: (p − t)², derivative 2(p − t). (The ½ of the
    /// textbook's ½(t − p)², whose derivative is p − t, is not part of it.)
    ///
    /// ```
    /// use nnsimd::loss::{Mse, Reduction};
    ///
    /// let (p, t) = ([1.0f32, 2.0, 4.0], [1.0f32, 1.0, 1.0]);
    /// let mut grad = [0.0f32; 3];
    /// let loss = Mse::default().forward_backward(&p, &t, &mut grad)?;
    /// assert_eq!(loss, 10.0 / 3.0);
    /// assert_eq!(grad, [0.0, 2.0 / 3.0, 2.0]);
    /// assert_eq!(Mse { reduction: Reduction::Sum }.forward(&p, &t)?, 10.0);
    /// # Ok::<(), nnsimd::Error>(())
    /// ```
    Mse {} => MseK, |_l| Ok(MseK)
}

element_loss! {
    /// Mean absolute error, PyTorch's `l1_loss`: |p − t|, derivative sgn(p − t) (0 where p = t).
    L1 {} => L1K, |_l| Ok(L1K)
}

element_loss! {
    /// Huber loss, PyTorch's `huber_loss`: ½(p − t)² where |p − t| < δ, else
    /// δ·(|p − t| − δ/2); derivative p − t clamped to [−δ, δ]. δ must be finite and > 0.
    Huber {
        /// δ, where the loss turns from quadratic to linear (PyTorch's default 1).
        delta: f32 = 1.0
    } => HuberK, |l| {
        let d = at_least("delta", l.delta, 0.0, true, "finite and > 0")?;
        Ok(HuberK { c: d, q: 0.5, g: d })
    }
}

element_loss! {
    /// Smooth L1 loss, PyTorch's `smooth_l1_loss`: ½(p − t)²/β where |p − t| < β, else
    /// |p − t| − β/2; derivative (p − t)/β, or sgn(p − t). β must be finite and ≥ 0; β = 0 is
    /// [`L1`], as in PyTorch.
    SmoothL1 {
        /// β, where the loss turns from quadratic to linear (PyTorch's default 1).
        beta: f32 = 1.0
    } => HuberK, |l| {
        let b = at_least("beta", l.beta, 0.0, false, "finite and >= 0")?;
        Ok(HuberK { c: b, q: if b > 0.0 { 0.5 / b } else { 0.0 }, g: 1.0 })
    }
}

/// Kernel of [`Bce`].
#[derive(Clone, Copy)]
pub(crate) struct BceK;
impl Pointwise for BceK {
    #[inline(always)]
    fn term<S: Simd>(&self, s: S, p: S::V, t: S::V) -> Term<S::V> {
        let (one, floor) = (s.splat(1.0), s.splat(-100.0));
        let lp = s.max(log(s, p), floor);
        let lq = s.max(log1p(s, neg(s, p)), floor);
        let hi = neg(s, s.fma(t, lp, s.mul(s.sub(one, t), lq)));
        let q = s.sub(one, p);
        let grad = s.div(s.sub(p, t), s.max(s.mul(q, p), s.splat(1e-12)));
        Term { hi, lo: s.splat(0.0), grad }
    }
}

element_loss! {
    /// Binary cross-entropy on probabilities, PyTorch's `binary_cross_entropy`:
    /// −(t·ln p + (1 − t)·ln(1 − p)), each log clamped at −100; derivative
    /// (p − t)/max(p(1 − p), 10⁻¹²). A prediction outside [0, 1] (NaN included) is
    /// [`Error::InvalidInput`], found before anything is written.
    Bce {} => BceK, |_l| Ok(BceK); check = Bce::domain
}

impl Bce {
    /// The first prediction outside [0, 1], NaN included.
    fn domain<T: Element>(isa: Isa, pred: &[T]) -> Result<(), Error> {
        let bad = |at: usize, v: f32| Error::InvalidInput {
            arg: "pred",
            position: at,
            value: v,
            expected: "in [0, 1]",
        };
        let check = |at: usize, p: &[f32]| match p.iter().position(|v| !(0.0..=1.0).contains(v)) {
            Some(i) => Err(bad(at + i, p[i])),
            None => Ok(()),
        };
        if let Some(p) = T::as_f32(pred) {
            return check(0, p);
        }
        let mut buf = [0f32; crate::element::BLOCK];
        for (i, p) in pred.chunks(buf.len()).enumerate() {
            T::widen(isa, p, &mut buf[..p.len()]);
            check(i * buf.len(), &buf[..p.len()])?;
        }
        Ok(())
    }
}

/// Kernel of [`BceWithLogits`], `w` the positive weight.
#[derive(Clone, Copy)]
pub(crate) struct BceLogitsK {
    w: f32,
}
impl Pointwise for BceLogitsK {
    #[inline(always)]
    fn term<S: Simd>(&self, s: S, x: S::V, t: S::V) -> Term<S::V> {
        let (zero, one, w) = (s.splat(0.0), s.splat(1.0), s.splat(self.w));
        // e = e^−|x| with its low part, 1 + e exactly: σ(x) = num/(1 + e) (num = e below 0,
        // else 1) to about 1 ULP, the quotient corrected by its remainder.
        let (pe, pl, n) = exp_parts_lo(s, neg(s, abs(s, x)), zero);
        let (e, el) = (s.scale(pe, n), s.scale(pl, n));
        let (dh, dl) = two_sum(s, one, e);
        let neg_x = s.lt(x, zero);
        let (nh, nl) = (s.select(neg_x, e, one), s.select(neg_x, el, zero));
        let q = s.div(nh, dh);
        let r = s.add(s.fma(neg(s, q), dh, nh), s.fma(neg(s, q), s.add(dl, el), nl));
        let sig = s.add(q, s.div(r, dh));
        // l = 1 + (w − 1)·t, the weight of the log term, as (1 − t) + w·t: rounding w − 1
        // would cost 2^-24/w relative to l for a small w and t near 1.
        let l = s.fma(w, t, s.sub(one, t));
        let sp = log1p(s, e);
        // (1 − t)·x + l·(ln(1 + e^−|x|) + max(−x, 0)), as sums of terms ≥ 0 for t in [0, 1]:
        // x·(1 − t) above 0, −x·w·t below.
        let lin = s.select(neg_x, s.mul(neg(s, x), s.mul(w, t)), s.mul(x, s.sub(one, t)));
        let hi = s.fma(l, sp, lin);
        // l·σ − w·t, w·t exact: they cancel where σ ≈ w·t/l.
        let (wh, wl) = two_prod(s, w, t);
        let grad = s.sub(s.fma(l, sig, neg(s, wh)), wl);
        Term { hi, lo: zero, grad }
    }
}

element_loss! {
    /// Binary cross-entropy on logits, PyTorch's `binary_cross_entropy_with_logits`:
    /// (1 − t)·x + l·ln(1 + e^−x) with l = 1 + (w − 1)·t, in the stable form
    /// max(x, 0) − x·t + ln(1 + e^−|x|) where w = 1; derivative l·σ(x) − w·t. At x = ±inf the
    /// loss is its limit (+inf where the linear term grows, as at x = −inf with w·t > 0, where
    /// PyTorch's order of evaluation gives NaN).
    BceWithLogits {
        /// The weight w of the positive examples, for every element (PyTorch's `pos_weight`
        /// as one value; 1 is none). Finite.
        pos_weight: f32 = 1.0
    } => BceLogitsK, |l| {
        let w = at_least("pos_weight", l.pos_weight, f32::MIN, false, "finite")?;
        Ok(BceLogitsK { w })
    }
}

/// Kernel of [`KlDiv`].
#[derive(Clone, Copy)]
pub(crate) struct KlK {
    log_target: bool,
}
impl Pointwise for KlK {
    #[inline(always)]
    fn term<S: Simd>(&self, s: S, p: S::V, t: S::V) -> Term<S::V> {
        let zero = s.splat(0.0);
        if self.log_target {
            // e^t·(t − p) with t − p exact and e^t = pe·2^n: the product of e^t, kept normal
            // (2^n1, n1 ≥ −125), and (t − p)·2^(n − n1) rounds once where the term is tiny and
            // cannot overflow where e^t is tiny and |t − p| huge. Below t = −150 (exp_parts'
            // clamp) the term is taken as 0: at most 2^-87, only where |p| is near f32::MAX.
            let (pe, n) = exp_parts(s, t, zero);
            let pe = s.select(s.lt(t, s.splat(-150.0)), zero, pe);
            let n1 = s.max(n, s.splat(-125.0));
            let n2 = s.sub(n, n1);
            let e1 = s.scale(pe, n1);
            let (d, dl) = diff(s, t, p);
            let (h, l) = two_prod(s, e1, s.scale(d, n2));
            let lo = s.fma(e1, s.scale(dl, n2), l);
            return Term { hi: h, lo, grad: neg(s, s.scale(pe, n)) };
        }
        // t·ln t − t·p, t·ln t taken as 0 where t = 0 (PyTorch's xlogy); NaN for t < 0.
        let lt = s.select(s.lt(zero, abs(s, t)), log(s, t), zero);
        let hi = s.fma(t, lt, neg(s, s.mul(t, p)));
        Term { hi, lo: zero, grad: neg(s, t) }
    }
}

element_loss! {
    /// Kullback–Leibler divergence, PyTorch's `kl_div` with `pred` the log-probabilities:
    /// t·(ln t − p) (0 where t = 0), or with `log_target` e^t·(t − p); derivative −t, or −e^t.
    /// PyTorch's `batchmean` is [`Reduction::BatchMean`]. Without log targets the term is
    /// taken as PyTorch's two, t·ln t − t·p, which cancel where p ≈ ln t: the loss is then
    /// within 2^-23·Σ(|t·ln t| + |t·p|), not 2^-23·Σ|term|.
    KlDiv {
        /// Whether the targets are log-probabilities too.
        log_target: bool = false
    } => KlK, |l| Ok(KlK { log_target: l.log_target })
}
