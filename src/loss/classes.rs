//! What the losses over classes share: their options, the checks of targets and weights, and
//! the driver that runs a per-row kernel over tasks of whole rows.
//!
//! The kernels read contiguous f32 rows of `C` classes. Contiguous f32 logits are read in place;
//! anything else (bf16 and f16, or a class axis with a stride) is gathered a task at a time
//! into f32 rows, and the gradient scattered back, rounded once.

use super::Reduction;
use crate::element::Element;
use crate::error::{Error, check_len};
use crate::isa::Isa;
use crate::parallel::{CHUNK, map, pieces};

/// The options of a loss over classes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Classes<'w> {
    pub(crate) classes: usize,
    pub(crate) inner: usize,
    pub(crate) weight: Option<&'w [f32]>,
    pub(crate) ignore_index: i64,
    pub(crate) label_smoothing: f32,
    pub(crate) reduction: Reduction,
}

impl<'w> Classes<'w> {
    /// PyTorch's defaults over `[N, classes, inner]`.
    pub(crate) fn new(classes: usize, inner: usize) -> Result<Classes<'w>, Error> {
        for (name, v) in [("classes", classes), ("inner", inner)] {
            if v == 0 {
                return Err(Error::InvalidParameter { name, value: 0.0, expected: "> 0" });
            }
        }
        classes.checked_mul(inner).ok_or(Error::ShapeOverflow)?;
        Ok(Classes {
            classes,
            inner,
            weight: None,
            ignore_index: -100,
            label_smoothing: 0.0,
            reduction: Reduction::Mean,
        })
    }

    /// The weight of class `c` (1 without weights).
    #[inline(always)]
    pub(crate) fn w(&self, c: usize) -> f32 {
        self.weight.map_or(1.0, |w| w[c])
    }

    /// Checks the options, the ISA and the shapes (`x`, the input named `arg`, whole
    /// `[C, inner]` blocks, `t` one target per row), then the targets: the number of rows and the mean's divisor, the summed
    /// weights of the targets not ignored.
    pub(crate) fn check(
        &self,
        isa: Isa,
        (arg, x): (&'static str, usize),
        t: Option<&[i64]>,
        reduced: bool,
    ) -> Result<(usize, f64), Error> {
        self.reduction.check(reduced)?;
        if let Some(w) = self.weight {
            check_len("weight", self.classes, w.len())?;
        }
        let e = self.label_smoothing;
        if !(0.0..=1.0).contains(&e) {
            return Err(Error::InvalidParameter {
                name: "label_smoothing",
                value: e as f64,
                expected: "in [0, 1]",
            });
        }
        isa.check()?;
        let slab = self.classes * self.inner;
        if !x.is_multiple_of(slab) {
            return Err(Error::NotMultiple { arg, found: x, multiple_of: slab });
        }
        let rows = x / self.classes;
        let Some(t) = t else { return Ok((rows, rows as f64)) };
        check_len("target", rows, t.len())?;
        let mut divisor = 0f64;
        for (position, &v) in t.iter().enumerate() {
            if v == self.ignore_index {
                continue;
            }
            if v < 0 || v as u64 >= self.classes as u64 {
                return Err(Error::TargetOutOfRange { position, value: v, classes: self.classes });
            }
            divisor += self.w(v as usize) as f64;
        }
        Ok((rows, divisor))
    }
}

/// A task's inputs, as contiguous f32 rows of `C`: `x` the logits (`None`: they are in `grad`,
/// in place), `probs` the probability targets where there are some, `t` the class targets,
/// `dloss` one upstream gradient per row; per row, its loss goes into `loss` and its gradient,
/// where asked for, into `grad`.
pub(crate) struct Rows<'a> {
    pub(crate) x: Option<&'a [f32]>,
    pub(crate) probs: Option<&'a [f32]>,
    pub(crate) t: &'a [i64],
    pub(crate) dloss: Option<&'a [f32]>,
    pub(crate) loss: &'a mut [f64],
    pub(crate) grad: Option<&'a mut [f32]>,
}

/// The inputs and outputs of a whole pass, as the caller gave them.
pub(crate) struct Pass<'a, T> {
    /// The logits; `None` in place (they are in `grad`).
    pub(crate) x: Option<&'a [T]>,
    pub(crate) probs: Option<&'a [T]>,
    pub(crate) t: &'a [i64],
    pub(crate) dloss: Option<&'a [f32]>,
    pub(crate) loss: Option<&'a mut [f32]>,
    pub(crate) grad: Option<&'a mut [T]>,
}

/// Runs `kernel` over every row, in tasks of whole slabs of about [`CHUNK`] elements spread
/// over threads: returns Σ of the rows' losses, added per task in row order and the tasks in
/// order, and writes each row's loss into `pass.loss` where given.
pub(crate) fn drive<T: Element>(
    isa: Isa,
    c: &Classes<'_>,
    pass: Pass<'_, T>,
    kernel: impl Fn(Rows<'_>) + Sync + Send,
) -> f64 {
    let slab = c.classes * c.inner;
    let n = pass.x.or(pass.grad.as_deref()).map_or(0, <[T]>::len);
    let per = (CHUNK / slab).max(1);
    let count = (n / slab).div_ceil(per);
    let tasks: Vec<_> = pieces(pass.grad, per * slab, count)
        .into_iter()
        .zip(pieces(pass.loss, per * c.inner, count))
        .enumerate()
        .collect();
    let (x, probs, t, dloss) = (pass.x, pass.probs, pass.t, pass.dloss);
    let sums = map(n, tasks, |(i, (grad, loss))| {
        let (e, r) = (
            i * per * slab..n.min((i + 1) * per * slab),
            i * per * c.inner..(n / c.classes).min((i + 1) * per * c.inner),
        );
        let rows = r.len();
        let t = if t.is_empty() { t } else { &t[r.clone()] };
        let dloss = dloss.map(|d| &d[r]);
        let mut lr = vec![0f64; rows];
        let direct = c.inner == 1 && !T::CONVERTS;
        if direct {
            let x = x.map(|x| T::as_f32(&x[e.clone()]).unwrap_or(&[]));
            let probs = probs.map(|p| T::as_f32(&p[e.clone()]).unwrap_or(&[]));
            let grad = grad.and_then(T::as_f32_mut);
            kernel(Rows { x, probs, t, dloss, loss: &mut lr, grad });
        } else {
            let len = e.len();
            let mut a = vec![0f32; len];
            let mut b = vec![0f32; if probs.is_some() { len } else { 0 }];
            let src: &[T] = match (x, &grad) {
                (Some(x), _) => &x[e.clone()],
                (None, Some(g)) => g,
                (None, None) => &[],
            };
            gather(isa, c, src, &mut a);
            if let Some(p) = probs {
                gather(isa, c, &p[e.clone()], &mut b);
            }
            let probs = probs.map(|_| &b[..]);
            match grad {
                Some(g) => {
                    kernel(Rows { x: None, probs, t, dloss, loss: &mut lr, grad: Some(&mut a) });
                    scatter(isa, c, &a, g);
                }
                None => kernel(Rows { x: Some(&a), probs, t, dloss, loss: &mut lr, grad: None }),
            }
        }
        if let Some(loss) = loss {
            // Rows run in [outer, inner] order in both layouts, as the losses are laid out.
            for (o, &v) in loss.iter_mut().zip(&lr) {
                *o = v as f32;
            }
        }
        lr.iter().sum::<f64>()
    });
    sums.into_iter().sum()
}

/// Slabs `[C, inner]` of `src` as f32 rows of `C` into `dst`, row `o·inner + j` for class
/// axis position `(o, ·, j)`.
fn gather<T: Element>(isa: Isa, c: &Classes<'_>, src: &[T], dst: &mut [f32]) {
    let (cl, inner) = (c.classes, c.inner);
    if inner == 1 {
        return T::widen(isa, src, dst);
    }
    let mut line = vec![0f32; inner];
    for (o, slab) in src.chunks(cl * inner).enumerate() {
        let out = &mut dst[o * cl * inner..(o + 1) * cl * inner];
        for k in 0..cl {
            T::widen(isa, &slab[k * inner..(k + 1) * inner], &mut line);
            for (j, &v) in line.iter().enumerate() {
                out[j * cl + k] = v;
            }
        }
    }
}

/// [`gather`]'s inverse, rounding into `dst`.
fn scatter<T: Element>(isa: Isa, c: &Classes<'_>, src: &[f32], dst: &mut [T]) {
    let (cl, inner) = (c.classes, c.inner);
    if inner == 1 {
        return T::narrow(isa, src, dst);
    }
    let mut line = vec![0f32; inner];
    for (o, slab) in dst.chunks_mut(cl * inner).enumerate() {
        let rows = &src[o * cl * inner..(o + 1) * cl * inner];
        for k in 0..cl {
            for (j, v) in line.iter_mut().enumerate() {
                *v = rows[j * cl + k];
            }
            T::narrow(isa, &line, &mut slab[k * inner..(k + 1) * inner]);
        }
    }
}
