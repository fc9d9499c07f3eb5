//! Splitting element-wise work over threads in fixed chunks.
//!
//! The chunk size is a constant (a multiple of every vector width), not a function of the
//! thread count, so each element is computed by the same code path whatever the number of
//! threads: results are bitwise identical for 1 or N threads. Inputs shorter than two chunks
//! stay on the calling thread.

/// Elements per chunk: 16,384 (64 KiB of f32), a multiple of every ISA's vector width and of
/// the conversion block of bf16 and f16 slices.
pub const CHUNK: usize = 16_384;

/// Whether `n` elements are worth splitting: at least two chunks, and more than one thread in
/// the current rayon pool (waking a pool of one costs more than it gives).
#[cfg(feature = "rayon")]
fn split(n: usize) -> bool {
    n >= 2 * CHUNK && rayon::current_num_threads() > 1
}

/// `f(x_chunk, y_chunk)` over matching chunks of `x` and `y` (equal lengths).
pub(crate) fn zip2<A: Sync, B: Send>(x: &[A], y: &mut [B], f: impl Fn(&[A], &mut [B]) + Sync + Send) {
    zip2_at(x, y, |_, x, y| f(x, y))
}

/// `f(start, x_chunk, y_chunk)` over matching chunks, `start` being the chunk's first index.
pub(crate) fn zip2_at<A: Sync, B: Send>(
    x: &[A],
    y: &mut [B],
    f: impl Fn(usize, &[A], &mut [B]) + Sync + Send,
) {
    #[cfg(feature = "rayon")]
    if split(x.len()) {
        use rayon::prelude::*;
        x.par_chunks(CHUNK)
            .zip(y.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(k, (x, y))| f(k * CHUNK, x, y));
        return;
    }
    f(0, x, y)
}

/// `f(x_chunk)` over the chunks of `x`, in place.
pub(crate) fn each1<A: Send>(x: &mut [A], f: impl Fn(&mut [A]) + Sync + Send) {
    each1_at(x, |_, x| f(x))
}

/// `f(start, x_chunk)` over the chunks of `x`, in place.
pub(crate) fn each1_at<A: Send>(x: &mut [A], f: impl Fn(usize, &mut [A]) + Sync + Send) {
    #[cfg(feature = "rayon")]
    if split(x.len()) {
        use rayon::prelude::*;
        x.par_chunks_mut(CHUNK).enumerate().for_each(|(k, x)| f(k * CHUNK, x));
        return;
    }
    f(0, x)
}

/// `f(x_chunk, dy_chunk, dx_chunk)` over matching chunks (equal lengths).
pub(crate) fn zip3<A: Sync, B: Send>(
    x: &[A],
    dy: &[A],
    dx: &mut [B],
    f: impl Fn(&[A], &[A], &mut [B]) + Sync + Send,
) {
    zip3_at(x, dy, dx, |_, x, dy, dx| f(x, dy, dx))
}

/// `f(start, x_chunk, dy_chunk, dx_chunk)` over matching chunks.
pub(crate) fn zip3_at<A: Sync, B: Send>(
    x: &[A],
    dy: &[A],
    dx: &mut [B],
    f: impl Fn(usize, &[A], &[A], &mut [B]) + Sync + Send,
) {
    #[cfg(feature = "rayon")]
    if split(x.len()) {
        use rayon::prelude::*;
        x.par_chunks(CHUNK)
            .zip(dy.par_chunks(CHUNK))
            .zip(dx.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(k, ((x, dy), dx))| f(k * CHUNK, x, dy, dx));
        return;
    }
    f(0, x, dy, dx)
}

/// Whether work over `n` elements is split over threads (never without the `rayon` feature).
#[cfg(feature = "std")]
pub(crate) fn parallel(n: usize) -> bool {
    #[cfg(feature = "rayon")]
    return split(n);
    #[cfg(not(feature = "rayon"))]
    return {
        let _ = n;
        false
    };
}

/// Work made of numbered tasks whose outputs are disjoint: it can be cut in two at a task
/// boundary, and one task can run alone. A task returns two partial sums.
#[cfg(feature = "std")]
pub(crate) trait Tasks: Sized + Send {
    /// Cuts the work of tasks `[first, end)` (first being where `self` starts) at task `mid`.
    fn cut(self, first: usize, mid: usize) -> (Self, Self);
    /// Runs task `k`, all that is left in `self`.
    fn run(self, k: usize) -> [f64; 2];
}

/// Runs tasks `[first, end)` of `w` and adds their partial sums in a fixed binary tree (halves
/// at the middle task): the tree, hence every rounding, is the same whether the halves run on
/// two threads (`par`) or one after the other, so the sums do not depend on the thread count.
#[cfg(feature = "std")]
pub(crate) fn tree<W: Tasks>(w: W, first: usize, end: usize, par: bool) -> [f64; 2] {
    match end.saturating_sub(first) {
        0 => [0.0; 2],
        1 => w.run(first),
        n => {
            let mid = first + n / 2;
            let (a, b) = w.cut(first, mid);
            let (x, y) = join(par, || tree(a, first, mid, par), || tree(b, mid, end, par));
            [x[0] + y[0], x[1] + y[1]]
        }
    }
}

/// `(a(), b())`, on two threads where `par` says so and rayon is there.
#[cfg(feature = "std")]
fn join<A, B, RA, RB>(par: bool, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    #[cfg(feature = "rayon")]
    if par {
        return rayon::join(a, b);
    }
    let _ = par;
    (a(), b())
}

/// Slices cut into numbered tasks of whole rows: `ins[j]` holds `per_in[j]` elements per task,
/// `outs[j]` `per_out[j]` (the last task may be shorter). The outputs of different tasks are
/// disjoint, so tasks can run on different threads.
#[cfg_attr(not(feature = "rayon"), allow(dead_code))]
pub(crate) struct Parts<'a, const I: usize, const O: usize> {
    pub ins: [&'a [f32]; I],
    pub outs: [&'a mut [f32]; O],
    pub per_in: [usize; I],
    pub per_out: [usize; O],
}

impl<'a, const I: usize, const O: usize> Parts<'a, I, O> {
    /// Splits off the first `k` tasks from the rest.
    #[cfg_attr(not(feature = "rayon"), allow(dead_code))]
    fn cut(mut self, k: usize) -> (Self, Self) {
        let mut ins_hi = self.ins;
        for (j, (lo, hi)) in self.ins.iter_mut().zip(&mut ins_hi).enumerate() {
            let m = k.saturating_mul(self.per_in[j]).min(lo.len());
            (*lo, *hi) = lo.split_at(m);
        }
        let mut outs_hi: [&'a mut [f32]; O] = core::array::from_fn(|_| Default::default());
        for (j, (lo, hi)) in self.outs.iter_mut().zip(&mut outs_hi).enumerate() {
            let all = core::mem::take(lo);
            let m = k.saturating_mul(self.per_out[j]).min(all.len());
            (*lo, *hi) = all.split_at_mut(m);
        }
        let hi = Parts { ins: ins_hi, outs: outs_hi, per_in: self.per_in, per_out: self.per_out };
        (self, hi)
    }
}

/// Runs `f` over `tasks` tasks of `p`: on the calling thread as one call where the work is
/// small ([`parallel`] of `n` elements) or rayon is absent, otherwise cut in halves at task
/// boundaries, each half on its own thread. For element-wise work, whose every result is
/// computed by the same lanes whatever the cut, the output does not depend on the thread count.
pub(crate) fn run_parts<const I: usize, const O: usize>(
    p: Parts<'_, I, O>,
    tasks: usize,
    n: usize,
    f: &(impl Fn(Parts<'_, I, O>) + Sync),
) {
    #[cfg(feature = "rayon")]
    if split(n) && tasks > 1 {
        return halves(p, tasks, f);
    }
    let _ = (tasks, n);
    f(p)
}

#[cfg(feature = "rayon")]
fn halves<const I: usize, const O: usize>(
    p: Parts<'_, I, O>,
    tasks: usize,
    f: &(impl Fn(Parts<'_, I, O>) + Sync),
) {
    if tasks <= 1 {
        return f(p);
    }
    let mid = tasks / 2;
    let (a, b) = p.cut(mid);
    rayon::join(|| halves(a, mid, f), || halves(b, tasks - mid, f));
}

/// The threads of the current rayon pool (1 without rayon).
#[cfg(feature = "std")]
pub(crate) fn threads() -> usize {
    #[cfg(feature = "rayon")]
    return rayon::current_num_threads();
    #[cfg(not(feature = "rayon"))]
    return 1;
}

/// `f` over `items`, in order, on the current rayon pool where work over `n` elements is worth
/// splitting ([`parallel`]): each item is computed alone, so the results do not depend on the
/// thread count.
#[cfg(feature = "std")]
pub(crate) fn map<I: Send, R: Send>(n: usize, items: Vec<I>, f: impl Fn(I) -> R + Sync + Send) -> Vec<R> {
    #[cfg(feature = "rayon")]
    if parallel(n) {
        use rayon::prelude::*;
        return items.into_par_iter().map(f).collect();
    }
    let _ = n;
    items.into_iter().map(f).collect()
}

/// An optional output cut into pieces of `per` elements, or `count` absent pieces.
#[cfg(feature = "std")]
pub(crate) fn pieces<X>(o: Option<&mut [X]>, per: usize, count: usize) -> Vec<Option<&mut [X]>> {
    match o {
        Some(o) => o.chunks_mut(per).map(Some).collect(),
        None => (0..count).map(|_| None).collect(),
    }
}
