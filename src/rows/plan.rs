//! The row drivers: rows spread over threads whole, bf16 and f16 widened to f32 on the way in
//! and rounded on the way out.
//!
//! Contiguous rows (inner = 1) go to `row.rs` a task at a time. A strided axis is read in
//! blocks of [`COLS`] columns, a column per row of the softmax, each column's state kept in
//! arrays, as tiles of `tile.rs`: the slab itself for f32, rows widened into a block of
//! [`BLOCK`] elements for bf16 and f16 (the sums grouped as on the f32 path, so the same bits
//! as the f32 kernels on the widened values). A row's result depends on nothing but the row,
//! so the thread count changes no result.

use super::row;
use super::stats::{self, Kind, Stats, max_nan};
use super::tile::{self, MAXC, Off, On, Out, run_dot, run_exp_sum, run_max, run_write, split};
use crate::element::{BLOCK, Buf, Element};
use crate::isa::Isa;
use crate::parallel::CHUNK;
use core::ops::Range;

/// Columns per block of a strided axis.
const COLS: usize = 256;

/// The geometry `[outer, len, inner]`: `len` and `inner` nonzero, their product in `usize`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Geometry {
    pub(crate) len: usize,
    pub(crate) inner: usize,
}

impl Geometry {
    /// Elements per outer index.
    pub(crate) fn slab(self) -> usize {
        self.len * self.inner
    }
}

/// A forward's input and output: `x` absent in place (the input is `y`), `y` absent for
/// logsumexp (nothing is written but the row's value).
struct Io<'a, T> {
    x: Option<&'a [T]>,
    y: Option<&'a mut [T]>,
}

impl<T> Io<'_, T> {
    fn src(&self, r: Range<usize>) -> &[T] {
        match (self.x, &self.y) {
            (Some(x), _) => &x[r],
            (None, Some(y)) => &y[r],
            (None, None) => &[],
        }
    }
}

/// Two f32 blocks for widened inputs and outputs, made once per task: a fresh one per row
/// would cost more than a short row itself.
struct Scratch {
    a: Buf,
    b: Buf,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch { a: Buf::new(), b: Buf::new() }
    }
}

/// Runs `f(first, x, y)` over whole slabs (`x`'s and `y`'s slabs of `per_x` and `per_y`
/// elements, `first` the index of the first), in groups of about [`CHUNK`] elements over
/// threads where the work is large. Each slab is computed alone, so the thread count changes
/// no result.
fn slabs<A: Sync, B: Send>(
    x: &[A],
    y: &mut [B],
    per_x: usize,
    per_y: usize,
    f: impl Fn(usize, &[A], &mut [B]) + Sync + Send,
) {
    let group = (CHUNK / per_x.max(1)).max(1);
    #[cfg(feature = "rayon")]
    if crate::parallel::parallel(x.len().max(y.len())) && x.len() > group * per_x {
        use rayon::prelude::*;
        return x
            .par_chunks(group * per_x)
            .zip(y.par_chunks_mut(group * per_y))
            .enumerate()
            .for_each(|(i, (x, y))| f(i * group, x, y));
    }
    let _ = (group, per_y);
    f(0, x, y)
}

/// [`slabs`] of `f(x, y)` over an input and an output, or over the output alone where the input
/// is `None` (in place: the inputs are its own values).
fn slabs_io<T: Element>(
    x: Option<&[T]>,
    y: &mut [T],
    per: usize,
    f: impl Fn(Option<&[T]>, &mut [T]) + Sync + Send,
) {
    match x {
        Some(x) => slabs(x, y, per, per, |_, x, y| f(Some(x), y)),
        None => slabs(&[] as &[T], y, per, per, |_, _, y| f(None, y)),
    }
}

/// Runs `f(io, scratch)` on every slab of `per` elements over threads, `io` the slab's input
/// (`None`: in place) and output, with one scratch per task.
fn each_slab<T: Element>(
    x: Option<&[T]>,
    y: &mut [T],
    per: usize,
    f: impl Fn(&mut Io<'_, T>, &mut Scratch) + Sync + Send,
) {
    slabs_io(x, y, per, |x, y| {
        let mut sc = Scratch::new();
        for o in 0..y.len() / per {
            let r = o * per..(o + 1) * per;
            f(&mut Io { x: x.map(|x| &x[r.clone()]), y: Some(&mut y[r]) }, &mut sc);
        }
    })
}

/// Forward over every row: y = op(x), or in place where `x` is `None`.
pub(crate) fn forward<T: Element>(isa: Isa, g: Geometry, kind: Kind, x: Option<&[T]>, y: &mut [T]) {
    if g.inner == 1 {
        return contiguous(isa, g.len, x, y, |x, y| row::run_forward(isa, kind, g.len, x, y));
    }
    each_slab(x, y, g.slab(), |io, sc| {
        for j0 in (0..g.inner).step_by(COLS) {
            let w = COLS.min(g.inner - j0);
            let mut st = [Stats::nonfinite(0.0); COLS];
            columns_stats(isa, g, kind, io, j0, &mut st[..w], sc);
            let Some(y) = io.y.as_deref_mut() else { return };
            match kind {
                Kind::Softmax => write_strided(isa, g, tile::Softmax, io.x, None, y, j0, &st[..w], sc),
                Kind::LogSoftmax => write_strided(isa, g, tile::LogSoftmax, io.x, None, y, j0, &st[..w], sc),
            }
        }
    })
}

/// Runs `f(x, y)` on f32 rows of `len` over threads: on the slices themselves for f32 (`x`
/// `None` in place), else on rows widened to f32 in a buffer of at least one row and about
/// [`CHUNK`] elements, `f` run in place there and the results rounded into `y`: the same bits
/// as the f32 kernels on the widened values.
fn contiguous<T: Element>(
    isa: Isa,
    len: usize,
    x: Option<&[T]>,
    y: &mut [T],
    f: impl Fn(Option<&[f32]>, &mut [f32]) + Sync + Send,
) {
    let task = |x: Option<&[T]>, y: &mut [T]| {
        if let Some(yf) = T::as_f32_mut(y) {
            return f(x.and_then(T::as_f32), yf);
        }
        let group = len * (CHUNK / len).max(1);
        let mut buf = vec![0f32; group.min(y.len())];
        for (i, y) in y.chunks_mut(group).enumerate() {
            let b = &mut buf[..y.len()];
            T::widen(isa, x.map_or(&*y, |x| &x[i * group..i * group + y.len()]), b);
            f(None, b);
            T::narrow(isa, b, y);
        }
    };
    slabs_io(x, y, len, task)
}

/// logsumexp of every row into `out` (laid out `[outer, inner]`).
pub(crate) fn logsumexp<T: Element>(isa: Isa, g: Geometry, x: &[T], out: &mut [T]) {
    let per = g.slab();
    slabs(x, out, per, g.inner, |_, x, out| {
        if g.inner == 1 {
            // f32 rows (widened where they are not) into f32 values, rounded into `out`.
            let mut lse = [0f32; 64];
            let group = (CHUNK / g.len).clamp(1, lse.len());
            let mut buf = if T::CONVERTS { vec![0f32; group * g.len] } else { Vec::new() };
            for (x, out) in x.chunks(group * g.len).zip(out.chunks_mut(group)) {
                let xf = match T::as_f32(x) {
                    Some(xf) => xf,
                    None => {
                        T::widen(isa, x, &mut buf[..x.len()]);
                        &buf[..x.len()]
                    }
                };
                row::run_logsumexp(isa, g.len, xf, &mut lse[..out.len()]);
                T::narrow(isa, &lse[..out.len()], out);
            }
            return;
        }
        let mut lse = [0f32; COLS];
        let mut sc = Scratch::new();
        for (o, out) in out.chunks_mut(g.inner).enumerate() {
            let io = Io { x: Some(&x[o * per..(o + 1) * per]), y: None };
            for (j0, out) in (0..g.inner).step_by(COLS).zip(out.chunks_mut(COLS)) {
                let mut st = [Stats::nonfinite(0.0); COLS];
                columns_stats(isa, g, Kind::LogSoftmax, &io, j0, &mut st[..out.len()], &mut sc);
                for (l, s) in lse.iter_mut().zip(&st) {
                    *l = s.lse;
                }
                T::narrow(isa, &lse[..out.len()], out);
            }
        }
    });
}

/// Rows `k0 ..` of columns `j0 .. j0 + w` of a `[len, inner]` slab `x` as an f32 tile:
/// `(values, stride, rows)`, the slab itself for f32, else as many rows as fit widened into `buf`.
fn strided_view<'a, T: Element>(
    isa: Isa,
    g: Geometry,
    x: &'a [T],
    k0: usize,
    j0: usize,
    w: usize,
    buf: &'a mut Buf,
) -> (&'a [f32], usize, usize) {
    if let Some(v) = T::as_f32(x) {
        return (&v[k0 * g.inner + j0..], g.inner, g.len - k0);
    }
    let rows = widen_rows(isa, g, x, k0, j0, w, buf);
    (&buf.0[..rows * w], w, rows)
}

/// Widens rows `k0 ..` of columns `j0 .. j0 + w` of a slab into `buf` (row k at `k·w`), as many
/// as fit; returns how many.
fn widen_rows<T: Element>(
    isa: Isa,
    g: Geometry,
    x: &[T],
    k0: usize,
    j0: usize,
    w: usize,
    buf: &mut Buf,
) -> usize {
    let rows = (g.len - k0).min(BLOCK / w);
    for k in 0..rows {
        let at = (k0 + k) * g.inner + j0;
        T::widen(isa, &x[at..at + w], &mut buf.0[k * w..(k + 1) * w]);
    }
    rows
}

/// The statistics of columns `j0 .. j0 + st.len()` of a strided slab.
fn columns_stats<T: Element>(
    isa: Isa,
    g: Geometry,
    kind: Kind,
    io: &Io<'_, T>,
    j0: usize,
    st: &mut [Stats],
    sc: &mut Scratch,
) {
    let w = st.len();
    let x = io.src(0..g.slab());
    let buf = &mut sc.a;
    let mut m = [f32::NEG_INFINITY; COLS];
    let mut k0 = 0;
    while k0 < g.len {
        let (v, stride, rows) = strided_view(isa, g, x, k0, j0, w, buf);
        run_max(isa, v, stride, rows, w, &mut m[..w]);
        k0 += rows;
    }
    let shift: [f32; COLS] = core::array::from_fn(|j| Stats::shift(m[j]).unwrap_or(0.0));
    let (mut h, mut l, mut k) = ([0f32; COLS], [0f32; COLS], [0f32; COLS]);
    let mut k0 = 0;
    while k0 < g.len {
        let (v, stride, rows) = strided_view(isa, g, x, k0, j0, w, buf);
        let sums = [&mut h[..w], &mut l[..w], &mut k[..w]];
        match kind {
            Kind::Softmax => run_exp_sum::<Off, Off>(isa, Some(v), stride, rows, w, &shift, sums, &mut []),
            Kind::LogSoftmax => run_exp_sum::<On, Off>(isa, Some(v), stride, rows, w, &shift, sums, &mut []),
        }
        k0 += rows;
    }
    for (j, st) in st.iter_mut().enumerate() {
        *st = match (Stats::shift(m[j]), kind) {
            (None, _) => Stats::nonfinite(m[j]),
            (Some(m), Kind::Softmax) => Stats::softmax(m, stats::lane(h[j], l[j])),
            (Some(m), Kind::LogSoftmax) => Stats::log_softmax(m, stats::lane(h[j], l[j]), k[j] as f64),
        };
    }
}

/// Writes columns `j0 .. j0 + st.len()` of a strided slab, `dst = o(a, b, p)` with `p` the
/// columns' parameters from `st`: on the slabs themselves for f32, through rows widened into the
/// scratch blocks for bf16 and f16. An input that is `None` is read from `dst` (in place); `b`
/// only for a two-input output.
#[allow(clippy::too_many_arguments)]
fn write_strided<T: Element, O: Out>(
    isa: Isa,
    g: Geometry,
    o: O,
    a: Option<&[T]>,
    b: Option<&[T]>,
    dst: &mut [T],
    j0: usize,
    st: &[Stats],
    sc: &mut Scratch,
) {
    let w = st.len();
    let p: [[f32; COLS]; 3] =
        core::array::from_fn(|i| core::array::from_fn(|j| st.get(j).map_or(0.0, |s| s.p[i])));
    let p = [&p[0][..w], &p[1][..w], &p[2][..w]];
    if let Some(out) = T::as_f32_mut(dst) {
        let a = a.and_then(T::as_f32).map(|a| &a[j0..]);
        let b = b.and_then(T::as_f32).map(|b| &b[j0..]);
        return run_write(isa, o, a, b, g.inner, g.len, w, p, &mut out[j0..], g.inner);
    }
    let Scratch { a: wa, b: wb } = sc;
    let mut k0 = 0;
    while k0 < g.len {
        let rows = widen_rows(isa, g, a.unwrap_or(&*dst), k0, j0, w, wa);
        if O::TWO {
            widen_rows(isa, g, b.unwrap_or(&*dst), k0, j0, w, wb);
        }
        run_write(isa, o, Some(&wa.0[..rows * w]), None, w, rows, w, p, &mut wb.0[..rows * w], w);
        for k in 0..rows {
            let at = (k0 + k) * g.inner + j0;
            T::narrow(isa, &wb.0[k * w..(k + 1) * w], &mut dst[at..at + w]);
        }
        k0 += rows;
    }
}

/// Backward over every row: dx from the saved output `y` and `dy` (`None`: in place, `dx` holds
/// dy).
pub(crate) fn backward<T: Element>(
    isa: Isa,
    g: Geometry,
    kind: Kind,
    y: &[T],
    dy: Option<&[T]>,
    dx: &mut [T],
) {
    let per = g.slab();
    slabs(y, dx, per, per, |first, y, dx| {
        let dy = dy.map(|d| &d[first * per..first * per + dx.len()]);
        if g.inner == 1 {
            return contiguous_grad(isa, kind, g.len, y, dy, dx);
        }
        let mut sc = Scratch::new();
        for o in 0..dx.len() / per {
            let r = o * per..(o + 1) * per;
            let dy = dy.map(|d| &d[r.clone()]);
            grad_slab(isa, g, kind, &y[r.clone()], dy, &mut dx[r], &mut sc);
        }
    });
}

/// [`backward`] of contiguous rows of `len`: on the slices for f32, else through f32 buffers of
/// whole rows (as [`contiguous`]).
fn contiguous_grad<T: Element>(isa: Isa, kind: Kind, len: usize, y: &[T], dy: Option<&[T]>, dx: &mut [T]) {
    if let (Some(yf), Some(dxf)) = (T::as_f32(y), T::as_f32_mut(dx)) {
        return row::run_backward(isa, kind, len, yf, dy.and_then(T::as_f32), dxf);
    }
    let group = len * (CHUNK / len).max(1);
    let (mut a, mut b) = (vec![0f32; group.min(dx.len())], vec![0f32; group.min(dx.len())]);
    for (i, dx) in dx.chunks_mut(group).enumerate() {
        let r = i * group..i * group + dx.len();
        let (a, b) = (&mut a[..dx.len()], &mut b[..dx.len()]);
        T::widen(isa, &y[r.clone()], a);
        T::widen(isa, dy.map_or(&*dx, |d| &d[r]), b);
        row::run_backward(isa, kind, len, a, None, b);
        T::narrow(isa, b, dx);
    }
}

/// One slab's backward.
#[allow(clippy::too_many_arguments)]
fn grad_slab<T: Element>(
    isa: Isa,
    g: Geometry,
    kind: Kind,
    y: &[T],
    dy: Option<&[T]>,
    dx: &mut [T],
    sc: &mut Scratch,
) {
    for j0 in (0..g.inner).step_by(COLS) {
        let w = COLS.min(g.inner - j0);
        let (mut h, mut l) = ([0f32; COLS], [0f32; COLS]);
        let mut k0 = 0;
        while k0 < g.len {
            let (vy, stride, rows) = strided_view(isa, g, y, k0, j0, w, &mut sc.a);
            let (vd, _, _) = strided_view(isa, g, dy.unwrap_or(&*dx), k0, j0, w, &mut sc.b);
            let (h, l) = (&mut h[..w], &mut l[..w]);
            // Σ dy·y for softmax, Σ dy for log-softmax.
            match kind {
                Kind::Softmax => run_dot::<On>(isa, vy, vd, stride, rows, w, h, l),
                Kind::LogSoftmax => run_dot::<Off>(isa, vy, vd, stride, rows, w, h, l),
            }
            k0 += rows;
        }
        let st: [Stats; COLS] = core::array::from_fn(|j| Stats::dot(stats::lane(h[j], l[j])));
        match kind {
            Kind::Softmax => write_strided(isa, g, tile::SoftmaxGrad, Some(y), dy, dx, j0, &st[..w], sc),
            Kind::LogSoftmax => {
                write_strided(isa, g, tile::LogSoftmaxGrad, Some(y), dy, dx, j0, &st[..w], sc)
            }
        }
    }
}

/// Hardmax over every row: 1 at the first maximum, 0 elsewhere; NaN everywhere in a row that
/// holds one. In place where `x` is `None`.
pub(crate) fn hardmax<T: Element>(isa: Isa, g: Geometry, x: Option<&[T]>, y: &mut [T]) {
    let c = tile::run_lanes(isa);
    each_slab(x, y, g.slab(), |io, sc| hard_slab(isa, c, g, io, sc))
}

/// One slab of [`hardmax`].
fn hard_slab<T: Element>(isa: Isa, c: usize, g: Geometry, io: &mut Io<'_, T>, sc: &mut Scratch) {
    let buf = &mut sc.a;
    for j0 in (0..g.inner).step_by(COLS) {
        let w = COLS.min(g.inner - j0);
        let x = io.src(0..g.slab());
        let mut m = [f32::NEG_INFINITY; COLS];
        let mut k0 = 0;
        while k0 < g.len {
            let (v, stride, rows) = strided_view(isa, g, x, k0, j0, w, buf);
            if g.inner == 1 {
                // A contiguous row: its tile has the tier's lanes as columns.
                let mut mc = [f32::NEG_INFINITY; MAXC];
                for (at, r, cc) in split(rows, c).into_iter().filter(|t| t.1 * t.2 > 0) {
                    run_max(isa, &v[at..], c, r, cc, &mut mc);
                }
                m[0] = max_nan(m[0], stats::lanes_max(&mc[..c]));
            } else {
                run_max(isa, v, stride, rows, w, &mut m[..w]);
            }
            k0 += rows;
        }
        // The first row of each column that holds its maximum.
        let mut first = [usize::MAX; COLS];
        let mut k0 = 0;
        while k0 < g.len && first[..w].iter().zip(&m).any(|(&f, m)| f == usize::MAX && !m.is_nan()) {
            let (v, stride, rows) = strided_view(isa, g, x, k0, j0, w, buf);
            for k in 0..rows {
                for j in 0..w {
                    if first[j] == usize::MAX && v[k * stride + j] == m[j] {
                        first[j] = k0 + k;
                    }
                }
            }
            k0 += rows;
        }
        let Some(y) = io.y.as_deref_mut() else { return };
        let value = |j: usize, k: usize| {
            if m[j].is_nan() {
                f32::NAN
            } else if first[j] == k {
                1.0
            } else {
                0.0
            }
        };
        if g.inner == 1 {
            for i in (0..g.len).step_by(BLOCK) {
                let r = i..g.len.min(i + BLOCK);
                for (k, v) in buf.0[..r.len()].iter_mut().enumerate() {
                    *v = value(0, i + k);
                }
                T::narrow(isa, &buf.0[..r.len()], &mut y[r]);
            }
            return;
        }
        for k in 0..g.len {
            let at = k * g.inner + j0;
            let row: [f32; COLS] = core::array::from_fn(|j| if j < w { value(j, k) } else { 0.0 });
            T::narrow(isa, &row[..w], &mut y[at..at + w]);
        }
    }
}
