//! [`Nll`]: the negative log-likelihood of log-probabilities.

use super::classes::Classes;
use super::cross_entropy::class_options;
use super::elementwise::loss_methods;
use super::out_lens;
use crate::element::{BLOCK, Element};
use crate::error::Error;
use crate::isa::Isa;

/// Negative log-likelihood, PyTorch's `nll_loss`: a row of log-probabilities with target t has
/// the loss −w_t·logp_t (class weights w, 1 without), an ignored row 0; the gradient is
/// −s·w_t at the target and 0 elsewhere (s the row's upstream gradient). `Mean` divides by
/// Σ w_t over the rows not ignored. Shapes as [`CrossEntropy`](super::CrossEntropy).
///
/// ```
/// use nnsimd::loss::Nll;
///
/// let logp = [-0.1f32, -2.5, -3.0, -1.2, -0.4, -2.0];
/// let mut grad = [1.0f32; 6];
/// let loss = Nll::new(3)?.forward_backward(&logp, &[0, 1], &mut grad)?;
/// assert_eq!(loss, (0.1 + 0.4) / 2.0);
/// assert_eq!(grad, [-0.5, 0.0, 0.0, 0.0, -0.5, 0.0]);
/// # Ok::<(), nnsimd::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Nll<'w> {
    c: Classes<'w>,
}

class_options!(Nll);

/// Checks, then runs: the loss reads one value per row, the gradient is zero but at the
/// targets.
#[allow(clippy::too_many_arguments)]
fn run<E: Element>(
    l: &Nll<'_>,
    isa: Isa,
    x: &[E],
    t: &[i64],
    dloss: Option<&[f32]>,
    mut loss: Option<&mut [f32]>,
    mut grad: Option<&mut [E]>,
    reduced: bool,
) -> Result<f32, Error> {
    let c = &l.c;
    let (rows, divisor) = c.check(isa, ("logp", x.len()), Some(t), reduced)?;
    out_lens(x.len(), rows, dloss, loss.as_deref(), grad.as_deref())?;
    let f = c.reduction.factor(divisor);
    if let Some(g) = grad.as_deref_mut() {
        let zero = [0f32; BLOCK];
        for g in g.chunks_mut(BLOCK) {
            E::narrow(isa, &zero[..g.len()], g);
        }
    }
    let (cl, inner) = (c.classes, c.inner);
    let mut sum = 0f64;
    for (r, &ti) in t.iter().enumerate() {
        let li = if ti == c.ignore_index {
            0.0
        } else {
            let at = ((r / inner) * cl + ti as usize) * inner + r % inner;
            let mut v = [0f32];
            E::widen(isa, &x[at..at + 1], &mut v);
            let w = c.w(ti as usize) as f64;
            if let Some(g) = grad.as_deref_mut() {
                let s = dloss.map_or(f, |d| d[r] as f64);
                E::narrow(isa, &[(-w * s) as f32], &mut g[at..at + 1]);
            }
            -w * v[0] as f64
        };
        if let Some(loss) = loss.as_deref_mut() {
            loss[r] = li as f32;
        }
        sum += li;
    }
    Ok((sum * f) as f32)
}

loss_methods!(Nll<'_>, "logp", [i64], run);
