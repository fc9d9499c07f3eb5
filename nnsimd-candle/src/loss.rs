//! Cross-entropy over class indices as a candle op with its gradient.

use crate::storage::{Float, Kernel, apply, msg, nn, not_contiguous};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};
use nnsimd::loss::{self, Reduction};
use std::borrow::Cow;

/// The mean cross-entropy of logits `[N, C]` against class indices `[N]`, PyTorch's
/// `cross_entropy(logits, target, ignore_index, label_smoothing)` with `reduction="mean"`:
/// row i's loss is (1 − ε)·(−log p_t) + (ε/C)·Σ_c (−log p_c), p = softmax(x_i), t its target;
/// rows whose target is `ignore_index` count for nothing, and the mean divides by the number of
/// the others. The result is a scalar of the logits' dtype (the f32 loss rounded once), bitwise
/// [`nnsimd::loss::CrossEntropy::forward`]'s.
///
/// The gradient in the logits ([`CrossEntropyBackward`]) is (s/n)·(p_c − (1 − ε)·[c = t] − ε/C)
/// for an upstream gradient s and n rows not ignored, within 8 ULP of the exact value in f32, or 2^-23·s
/// absolute where p − one-hot cancels; with s = 1 it is bitwise nnsimd's `forward_backward`.
/// The targets get no gradient.
///
/// Logits: a contiguous CPU tensor of f32, bf16 or f16. Targets: contiguous i64, u32 or u8; a
/// target outside [0, C) that is not `ignore_index` is an error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossEntropyOp {
    /// The target value whose rows are ignored (PyTorch's default −100).
    pub ignore_index: i64,
    /// Label smoothing ε in [0, 1] (default 0).
    pub label_smoothing: f32,
}

impl Default for CrossEntropyOp {
    fn default() -> Self {
        CrossEntropyOp { ignore_index: -100, label_smoothing: 0.0 }
    }
}

/// The gradient of [`CrossEntropyOp`] in the logits, from the logits, the targets and the
/// scalar upstream gradient (of the logits' dtype).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossEntropyBackward(pub CrossEntropyOp);

/// The mean cross-entropy of `logits` `[N, C]` against class indices `targets` `[N]`
/// (PyTorch's defaults: no label smoothing, ignored index −100), with its gradient in the logits.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    logits.apply_op2(targets, CrossEntropyOp::default())
}

const NAME: &str = "cross_entropy";

impl CrossEntropyOp {
    fn loss(&self, classes: usize) -> Result<loss::CrossEntropy<'static>, nnsimd::Error> {
        Ok(loss::CrossEntropy::new(classes)?
            .ignore_index(self.ignore_index)
            .label_smoothing(self.label_smoothing))
    }
}

/// The classes C of logits `[N, C]` whose targets have shape `[N]`.
fn classes(logits: &Shape, targets: &Layout) -> candle_core::Result<usize> {
    match (logits.dims(), targets.dims()) {
        (&[n, c], &[t]) if n == t => Ok(c),
        (l, t) => Err(msg(NAME, format!("logits must be [N, C] and targets [N]; got {l:?} and {t:?}"))),
    }
}

/// The class indices as i64 (borrowed when they are i64).
fn targets<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<Cow<'a, [i64]>> {
    let (start, end) = l.contiguous_offsets().ok_or_else(|| not_contiguous(NAME, l))?;
    Ok(match s {
        CpuStorage::I64(v) => Cow::Borrowed(&v[start..end]),
        CpuStorage::U32(v) => v[start..end].iter().map(|&t| t as i64).collect(),
        CpuStorage::U8(v) => v[start..end].iter().map(|&t| t as i64).collect(),
        other => {
            return Err(msg(
                NAME,
                format!("targets of dtype {:?}: class indices are i64, u32 or u8", other.dtype()),
            ));
        }
    })
}

/// The loss of logits (the one input) against captured targets.
struct Forward<'a> {
    op: &'a CrossEntropyOp,
    targets: &'a [i64],
    classes: usize,
}

impl Kernel<1> for Forward<'_> {
    fn run<E: Float>(&self, [(x, _)]: [(&[E], &Shape); 1]) -> candle_core::Result<(Vec<E>, Shape)> {
        let l = self.op.loss(self.classes).map_err(nn(NAME))?;
        let loss = l.forward(x, self.targets).map_err(nn(NAME))?;
        Ok((vec![E::from_f64(loss as f64)], Shape::from(())))
    }
}

/// The gradient in logits (first input) for the upstream gradient (second, a scalar).
struct Backward<'a> {
    op: &'a CrossEntropyOp,
    targets: &'a [i64],
    classes: usize,
}

impl Kernel<2> for Backward<'_> {
    fn run<E: Float>(
        &self,
        [(x, shape), (ds, _)]: [(&[E], &Shape); 2],
    ) -> candle_core::Result<(Vec<E>, Shape)> {
        let s = match ds {
            [s] => s.to_f64(),
            _ => return Err(msg(NAME, "the upstream gradient must be a scalar")),
        };
        let l = self.op.loss(self.classes).map_err(nn(NAME))?;
        let mut grad = x.to_vec();
        if s == 1.0 {
            l.forward_backward_inplace(&mut grad, self.targets).map_err(nn(NAME))?;
        } else {
            // The mean's factor s/n goes into each row's upstream gradient, so the gradient is
            // rounded once.
            let n = self.targets.iter().filter(|&&t| t != self.op.ignore_index).count();
            let dloss = vec![(s / n as f64) as f32; self.targets.len()];
            let mut losses = vec![0f32; self.targets.len()];
            l.reduction(Reduction::None)
                .forward_backward_none(x, self.targets, &dloss, &mut losses, &mut grad)
                .map_err(nn(NAME))?;
        }
        Ok((grad, shape.clone()))
    }
}

impl CustomOp2 for CrossEntropyOp {
    fn name(&self) -> &'static str {
        NAME
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let classes = classes(l1.shape(), l2)?;
        let targets = targets(s2, l2)?;
        apply(NAME, &Forward { op: self, targets: &targets, classes }, [(s1, l1)])
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = logits.contiguous()?.apply_op3_no_bwd(
            &targets.contiguous()?,
            &grad_res.contiguous()?,
            &CrossEntropyBackward(*self),
        )?;
        Ok((Some(grad), None))
    }
}

impl CustomOp3 for CrossEntropyBackward {
    fn name(&self) -> &'static str {
        NAME
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let classes = classes(l1.shape(), l2)?;
        let targets = targets(s2, l2)?;
        apply(NAME, &Backward { op: &self.0, targets: &targets, classes }, [(s1, l1), (s3, l3)])
    }
}
