//! [`CrossEntropy`] over class indices, and [`SoftCrossEntropy`] over probability targets.

use super::classes::{Classes, Pass, Rows, drive};
use super::elementwise::loss_methods;
use super::out_lens;
use crate::element::Element;
use crate::error::Error;
use crate::isa::Isa;
use crate::rows::row::{row_stats, row_write_with};
use crate::rows::stats::Kind;
use crate::rows::tile;
use crate::simd::Simd;
use crate::simd::tier::simd_fn;

/// Cross-entropy of logits against class indices, PyTorch's `cross_entropy` with its options:
/// class weights w, an ignored index, label smoothing ε. A row of logits x over C classes with
/// target t has the loss
///
/// (1 − ε)·w_t·(−log p_t) + (ε/C)·Σ_c w_c·(−log p_c),  p = softmax(x),
///
/// an ignored row 0 (and a zero gradient). `Mean` divides the sum by Σ w_t over the rows not
/// ignored (NaN where every row is ignored). The gradient in x is
/// s·(((1 − ε)·w_t + ε·W/C)·p_c − (1 − ε)·w_t·[c = t] − (ε/C)·w_c), W = Σ w and s the
/// row's upstream gradient, computed with the softmax kernel's method: x − max exact, the sum
/// compensated, and the target's entry p_t − 1 from the sum of the others where p_t is near
/// 1. Within 8 ULP of the f64 reference, or 2^-23·s·w absolute where p − one-hot cancels.
///
/// The logits are `[N, C]` rows, or `[N, C, d1, …]` with the class axis of stride
/// `inner = d1·…` ([`CrossEntropy::along`]); the targets `[N, d1, …]`, one per row, as are the
/// losses of [`Reduction::None`](super::Reduction::None).
///
/// ```
/// use nnsimd::loss::{CrossEntropy, Reduction};
///
/// // Two rows of three classes; the second row's target is ignored.
/// let logits = [1.0f32, 2.0, 3.0, 0.5, 0.5, 0.5];
/// let target = [2i64, -100];
/// let mut grad = [0.0f32; 6];
/// let ce = CrossEntropy::new(3)?;
/// let loss = ce.forward_backward(&logits, &target, &mut grad)?;
/// assert!((loss - 0.407_605_97).abs() < 1e-6);
/// assert_eq!(&grad[3..], &[0.0; 3]);
/// assert!((grad.iter().sum::<f32>()).abs() < 1e-6);
///
/// // Label smoothing and a sum.
/// let ce = ce.label_smoothing(0.1).reduction(Reduction::Sum);
/// assert!(ce.forward(&logits, &target)? > loss);
/// # Ok::<(), nnsimd::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossEntropy<'w> {
    c: Classes<'w>,
}

/// The builder methods of a loss over classes.
macro_rules! class_options {
    ($T:ident $(, $smoothing:literal)?) => {
        impl<'w> $T<'w> {
            /// Rows of `classes` logits (`[N, C]`), with PyTorch's defaults: no weights,
            /// ignored index −100, no label smoothing, `Mean`.
            pub fn new(classes: usize) -> Result<Self, Error> {
                Self::along(classes, 1)
            }

            /// The class axis of `[N, classes, inner]` (`inner` = d1·…, the stride of the class
            /// axis). [`Error::InvalidParameter`] for a zero, [`Error::ShapeOverflow`] if
            /// `classes · inner` overflows.
            pub fn along(classes: usize, inner: usize) -> Result<Self, Error> {
                Ok($T { c: Classes::new(classes, inner)? })
            }

            /// Class weights, one per class (checked when the loss runs).
            pub fn weight(mut self, weight: &'w [f32]) -> Self {
                self.c.weight = Some(weight);
                self
            }

            /// The target index whose rows are ignored (PyTorch's `ignore_index`, −100).
            pub fn ignore_index(mut self, index: i64) -> Self {
                self.c.ignore_index = index;
                self
            }

            /// How the rows' losses are combined.
            pub fn reduction(mut self, reduction: $crate::loss::Reduction) -> Self {
                self.c.reduction = reduction;
                self
            }

            $(
            #[doc = $smoothing]
            pub fn label_smoothing(mut self, epsilon: f32) -> Self {
                self.c.label_smoothing = epsilon;
                self
            }
            )?
        }
    };
}
pub(crate) use class_options;

class_options!(
    CrossEntropy,
    "Label smoothing ε in [0, 1] (checked when the loss runs): the target mixes the one-hot vector with the uniform distribution, (1 − ε)·onehot + ε/C."
);

impl<'w> CrossEntropy<'w> {
    /// The same loss over probability targets ([`SoftCrossEntropy`]).
    pub fn soft(self) -> SoftCrossEntropy<'w> {
        SoftCrossEntropy { c: self.c }
    }

    /// The reduced loss, and the gradient written over the logits (a vocabulary-sized buffer
    /// saved).
    pub fn forward_backward_inplace<E: Element>(
        &self,
        logits: &mut [E],
        target: &[i64],
    ) -> Result<f32, Error> {
        self.forward_backward_inplace_with(Isa::detect(), logits, target)
    }

    /// [`Self::forward_backward_inplace`] on `isa`.
    pub fn forward_backward_inplace_with<E: Element>(
        &self,
        isa: Isa,
        logits: &mut [E],
        target: &[i64],
    ) -> Result<f32, Error> {
        let (_, divisor) = self.c.check(isa, ("logits", logits.len()), Some(target), true)?;
        let pass = Pass { x: None, probs: None, t: target, dloss: None, loss: None, grad: Some(logits) };
        Ok(indices(isa, &self.c, divisor, pass))
    }
}

/// Checks, then runs a class-index pass.
#[allow(clippy::too_many_arguments)]
fn run<E: Element>(
    l: &CrossEntropy<'_>,
    isa: Isa,
    x: &[E],
    t: &[i64],
    dloss: Option<&[f32]>,
    loss: Option<&mut [f32]>,
    grad: Option<&mut [E]>,
    reduced: bool,
) -> Result<f32, Error> {
    let (rows, divisor) = l.c.check(isa, ("logits", x.len()), Some(t), reduced)?;
    out_lens(x.len(), rows, dloss, loss.as_deref(), grad.as_deref())?;
    Ok(indices(isa, &l.c, divisor, Pass { x: Some(x), probs: None, t, dloss, loss, grad }))
}

/// A class-index pass, checked: the reduced loss.
fn indices<E: Element>(isa: Isa, c: &Classes<'_>, divisor: f64, pass: Pass<'_, E>) -> f32 {
    let f = c.reduction.factor(divisor);
    // What every row shares: W = Σ w, and a weight per class for the smoothed gradient (ones
    // without weights).
    let ones = if c.weight.is_none() { vec![1f32; c.classes] } else { Vec::new() };
    let w = c.weight.unwrap_or(&ones);
    let wsum: f64 = w.iter().map(|&w| w as f64).sum();
    let sum = drive(isa, c, pass, |r| run_ce(isa, &Shared { c, wsum, w }, f, r));
    (sum * f) as f32
}

/// What the rows of a cross-entropy pass share.
struct Shared<'a> {
    c: &'a Classes<'a>,
    /// Σ of the class weights.
    wsum: f64,
    /// The class weights, ones without.
    w: &'a [f32],
}

/// Per row: the statistics of log-softmax (maximum m, L = ln Σ e^(x − m), Σ − 1), the loss
/// from them, and where asked the gradient, the target's entry apart: `scale` multiplies each
/// row's gradient without `dloss`.
#[inline(always)]
fn ce<S: Simd>(s: S, sh: &Shared<'_>, scale: f64, r: Rows<'_>) {
    let (c, wsum, w_row) = (sh.c, sh.wsum, sh.w);
    let cl = c.classes;
    let eps = c.label_smoothing as f64;
    let Rows { x, t, dloss, loss, mut grad, .. } = r;
    for (i, (&ti, li)) in t.iter().zip(loss.iter_mut()).enumerate() {
        let g = grad.as_deref_mut().map(|g| &mut g[i * cl..(i + 1) * cl]);
        let xs = x.map(|x| &x[i * cl..(i + 1) * cl]);
        if ti == c.ignore_index {
            *li = 0.0;
            if let Some(g) = g {
                g.fill(0.0);
            }
            continue;
        }
        let ti = ti as usize;
        let (st, xt, smooth) = {
            let xr: &[f32] = xs.or(g.as_deref()).unwrap_or(&[]);
            let st = row_stats(s, Kind::LogSoftmax, Some(xr), None).0;
            let (m, l) = (st.p[0] as f64, st.ln_sum);
            let smooth = if eps > 0.0 {
                // Σ_c w_c·(L − (x_c − m)), each term ≥ 0.
                xr.iter().zip(w_row).map(|(&v, &w)| w as f64 * (l - (v as f64 - m))).sum()
            } else {
                0.0
            };
            (st, xr[ti], smooth)
        };
        let m = st.p[0];
        let (wt, l) = (w_row[ti] as f64, st.ln_sum);
        let dt = xt as f64 - m as f64;
        *li = if m.is_finite() { (1.0 - eps) * wt * (l - dt) + eps / cl as f64 * smooth } else { f64::NAN };
        let Some(g) = g else { continue };
        let sc = dloss.map_or(scale, |d| d[i] as f64);
        if !m.is_finite() {
            g.fill(f32::NAN);
            continue;
        }
        // dx_c = a·p_c − b·w_c, and at the target also − s·(1 − ε)·w_t.
        let a = sc * ((1.0 - eps) * wt + eps * wsum / cl as f64);
        let b = sc * eps / cl as f64;
        let sum = 1.0 + st.sum_m1;
        let p = [m, (a / sum) as f32, b as f32];
        if b == 0.0 {
            row_write_with(s, tile::Softmax, p, xs, None, g);
        } else {
            row_write_with(s, tile::SoftmaxShift, p, xs, Some(w_row), g);
        }
        // The target's entry in f64: where x_t is the maximum, p_t = 1/Σ and
        // a·p_t − c_t = ((a − c_t) − c_t·(Σ − 1))/Σ keeps its digits as Σ → 1.
        let ct = sc * wt * (1.0 - eps + eps / cl as f64);
        g[ti] = if xt == m {
            (((a - ct) - ct * st.sum_m1) / sum) as f32
        } else {
            (a * (xt as f64 - m as f64).exp() / sum - ct) as f32
        };
    }
}

simd_fn! {
    /// [`ce`] on an available `isa`.
    fn run_ce(sh: &Shared<'_>, scale: f64, r: Rows<'_>) => ce;
}

loss_methods!(CrossEntropy<'_>, "logits", [i64], run);

/// [`CrossEntropy`] over probability targets (soft labels, as PyTorch's `cross_entropy`
/// accepts them): a row's loss is −Σ_c w_c·q_c·log p_c with q = (1 − ε)·target + ε/C, its
/// gradient s·(p_c·Σ_k w_k·q_k − w_c·q_c). The ignored index does not apply, and `Mean`
/// divides by the number of rows. The targets have the logits' shape. The loss terms and
/// the gradient are taken in f64 per element. A class with w·q = 0 adds nothing to the loss,
/// whatever its logit (its limit: PyTorch's product gives NaN where that logit is −inf).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftCrossEntropy<'w> {
    c: Classes<'w>,
}

/// Checks, then runs a probability-target pass.
#[allow(clippy::too_many_arguments)]
fn run_soft<E: Element>(
    l: &SoftCrossEntropy<'_>,
    isa: Isa,
    x: &[E],
    probs: &[E],
    dloss: Option<&[f32]>,
    loss: Option<&mut [f32]>,
    grad: Option<&mut [E]>,
    reduced: bool,
) -> Result<f32, Error> {
    let (rows, divisor) = l.c.check(isa, ("logits", x.len()), None, reduced)?;
    crate::error::check_len("target", x.len(), probs.len())?;
    out_lens(x.len(), rows, dloss, loss.as_deref(), grad.as_deref())?;
    let c = &l.c;
    let f = c.reduction.factor(divisor);
    let pass = Pass { x: Some(x), probs: Some(probs), t: &[], dloss, loss, grad };
    let sum = drive(isa, c, pass, |r| run_soft_rows(isa, c, f, r));
    Ok((sum * f) as f32)
}

/// Per row of [`SoftCrossEntropy`]: the statistics as [`ce`], then the terms in f64.
#[inline(always)]
fn soft<S: Simd>(s: S, c: &Classes<'_>, scale: f64, r: Rows<'_>) {
    let cl = c.classes;
    let eps = c.label_smoothing as f64;
    let Rows { x, probs, dloss, loss, mut grad, .. } = r;
    let probs = probs.unwrap_or(&[]);
    for (i, li) in loss.iter_mut().enumerate() {
        let g = grad.as_deref_mut().map(|g| &mut g[i * cl..(i + 1) * cl]);
        let xs = x.map(|x| &x[i * cl..(i + 1) * cl]);
        let q = |k: usize| c.w(k) as f64 * ((1.0 - eps) * probs[i * cl + k] as f64 + eps / cl as f64);
        let (st, qsum) = {
            let xr: &[f32] = xs.or(g.as_deref()).unwrap_or(&[]);
            let st = row_stats(s, Kind::LogSoftmax, Some(xr), None).0;
            let (m, l) = (st.p[0] as f64, st.ln_sum);
            let (mut acc, mut qsum) = (0f64, 0f64);
            for (k, &v) in xr.iter().enumerate() {
                let qk = q(k);
                if qk != 0.0 {
                    acc += qk * (l - (v as f64 - m));
                }
                qsum += qk;
            }
            *li = if m.is_finite() { acc } else { f64::NAN };
            (st, qsum)
        };
        let Some(g) = g else { continue };
        let (m, sc, sum) = (st.p[0] as f64, dloss.map_or(scale, |d| d[i] as f64), 1.0 + st.sum_m1);
        // In place (no `x`), each logit is read just before its gradient replaces it.
        for k in 0..cl {
            let v = xs.map_or(g[k], |x| x[k]) as f64;
            g[k] = (sc * (qsum * (v - m).exp() / sum - q(k))) as f32;
        }
    }
}

simd_fn! {
    /// [`soft`] on an available `isa`.
    fn run_soft_rows(c: &Classes<'_>, scale: f64, r: Rows<'_>) => soft;
}

loss_methods!(SoftCrossEntropy<'_>, "logits", [E], run_soft);
