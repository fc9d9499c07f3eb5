//! The element-wise losses over whole slices: fixed chunks of [`CHUNK`] elements spread over
//! threads, each summed alone and the sums added in index order; bf16 and f16 widened to f32 a
//! chunk at a time and the gradient rounded back.

use super::pointwise::{Outs, Pointwise, run_chunk};
use crate::drivers::dsum::Total;
use crate::element::Element;
use crate::isa::Isa;
use crate::parallel::{CHUNK, map, pieces};

/// What an element-wise pass writes: the gradient times `dloss[i]` (or `scale`), the terms.
pub(crate) struct Want<'a, T> {
    pub(crate) dloss: Option<&'a [f32]>,
    pub(crate) scale: f32,
    pub(crate) loss: Option<&'a mut [f32]>,
    pub(crate) grad: Option<&'a mut [T]>,
}

/// Σ of `k`'s terms over `p` and `t` (equal lengths), writing what `want` asks for.
pub(crate) fn elementwise<T: Element, K: Pointwise>(
    isa: Isa,
    k: K,
    p: &[T],
    t: &[T],
    want: Want<'_, T>,
) -> f64 {
    let n = p.len();
    let count = n.div_ceil(CHUNK);
    let tasks: Vec<_> =
        pieces(want.loss, CHUNK, count).into_iter().zip(pieces(want.grad, CHUNK, count)).collect();
    let (dloss, scale) = (want.dloss, want.scale);
    let sums = map(n, tasks.into_iter().enumerate().collect(), |(i, (loss, grad))| {
        let r = i * CHUNK..n.min((i + 1) * CHUNK);
        let dloss = dloss.map(|d| &d[r.clone()]);
        let (p, t) = (&p[r.clone()], &t[r]);
        if let (Some(pf), Some(tf)) = (T::as_f32(p), T::as_f32(t)) {
            let grad = grad.map(|g| T::as_f32_mut(g).expect("f32 slices are f32"));
            return run_chunk(isa, k, pf, tf, Outs { dloss, scale, loss, grad });
        }
        let (mut pf, mut tf) = (vec![0f32; p.len()], vec![0f32; p.len()]);
        T::widen(isa, p, &mut pf);
        T::widen(isa, t, &mut tf);
        let Some(grad) = grad else {
            return run_chunk(isa, k, &pf, &tf, Outs { dloss, scale, loss, grad: None });
        };
        let mut gf = vec![0f32; p.len()];
        let sum = run_chunk(isa, k, &pf, &tf, Outs { dloss, scale, loss, grad: Some(&mut gf) });
        T::narrow(isa, &gf, grad);
        sum
    });
    sums.into_iter().sum::<Total>().f64()
}
