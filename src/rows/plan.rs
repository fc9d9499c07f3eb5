//! The row drivers: rows cut into tiles for the kernels of `tile.rs`, bf16 and f16 widened to
//! f32 on the way in and rounded on the way out, whole rows spread over threads.
//!
//! A contiguous row (inner = 1) is read as a `[len / c, c]` tile, `c` being the tier's lanes,
//! in pieces of [`CHUNK`] elements: each piece's lane sums are added in f64, the pieces in
//! order, so a row's result depends on nothing but the row. A strided row is one column of a
//! `[len, inner]` slab, in blocks of [`COLS`] columns whose state is kept per column. bf16 and
//! f16 go through f32 blocks of [`BLOCK`] elements (a multiple of every `4·c`, so that the sums'
//! grouping is that of the f32 path: the same bits as the f32 kernels on the widened values).

use super::stats::{self, Stats, max_nan};
use super::tile::{self, Off, On, run_dot, run_exp_sum, run_max, run_write};
use crate::element::{BLOCK, Buf, Element};
use crate::isa::Isa;
use crate::parallel::CHUNK;
use core::ops::Range;

/// The most lanes of any tier's row kernels (AVX-512, two vectors side by side).
const MAXC: usize = 64;
/// Columns per block of a strided axis.
const COLS: usize = 256;

/// The row function.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Softmax,
    LogSoftmax,
}

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

/// `src` as f32: the slice itself for f32, else widened into `buf` (`src` at most [`BLOCK`]).
fn view<'a, T: Element>(isa: Isa, src: &'a [T], buf: &'a mut Buf) -> &'a [f32] {
    match T::as_f32(src) {
        Some(v) => v,
        None => {
            let b = &mut buf.0[..src.len()];
            T::widen(isa, src, b);
            b
        }
    }
}

/// The block length of a pass over `T`.
fn step<T: Element>() -> usize {
    if T::CONVERTS { BLOCK } else { CHUNK }
}

/// A contiguous block of `n` as tiles of `c` columns: the whole rows, then the rest as one
/// partial row: `(offset, rows, cols)`.
fn tiles(n: usize, c: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    let rows = n / c;
    [(0, rows, c), (rows * c, 1, n - rows * c)].into_iter().filter(|t| t.1 * t.2 > 0)
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

/// Forward over every row: y = op(x), or in place where `x` is `None`.
pub(crate) fn forward<T: Element>(isa: Isa, g: Geometry, kind: Kind, x: Option<&[T]>, y: &mut [T]) {
    let c = tile::run_lanes(isa);
    let per = g.slab();
    let each = |x: Option<&[T]>, y: &mut [T]| {
        for o in 0..y.len() / per {
            let r = o * per..(o + 1) * per;
            let io = Io { x: x.map(|x| &x[r.clone()]), y: Some(&mut y[r]) };
            slab(isa, c, g, kind, io);
        }
    };
    match x {
        Some(x) => slabs(x, y, per, per, |_, x, y| each(Some(x), y)),
        // In place: only `y` is split (the inputs are its own values).
        None => slabs(&[] as &[T], y, per, per, |_, _, y| each(None, y)),
    }
}

/// logsumexp of every row into `out` (laid out `[outer, inner]`).
pub(crate) fn logsumexp<T: Element>(isa: Isa, g: Geometry, x: &[T], out: &mut [T]) {
    let c = tile::run_lanes(isa);
    let per = g.slab();
    slabs(x, out, per, g.inner, |_, x, out| {
        let mut lse = [0f32; COLS];
        for (o, out) in out.chunks_mut(g.inner).enumerate() {
            let io = Io { x: Some(&x[o * per..(o + 1) * per]), y: None };
            for (j0, out) in (0..g.inner).step_by(COLS).zip(out.chunks_mut(COLS)) {
                let lse = &mut lse[..out.len()];
                slab_lse(isa, c, g, &io, j0, lse);
                T::narrow(isa, lse, out);
            }
        }
    });
}

/// One slab `[len, inner]` of a forward.
fn slab<T: Element>(isa: Isa, c: usize, g: Geometry, kind: Kind, mut io: Io<'_, T>) {
    if g.inner == 1 {
        let (st, stored) = row_stats(isa, c, kind, &mut io, g.len, true);
        write_row(isa, c, kind, &mut io, st, stored, g.len);
        return;
    }
    for j0 in (0..g.inner).step_by(COLS) {
        let w = COLS.min(g.inner - j0);
        let mut st = [Stats::nonfinite(0.0); COLS];
        columns_stats(isa, g, kind, &io, j0, &mut st[..w]);
        write_columns(isa, g, kind, &mut io, j0, &st[..w]);
    }
}

/// logsumexp of columns `j0 ..` of a slab (`lse.len()` of them; one, of a contiguous row).
fn slab_lse<T: Element>(isa: Isa, c: usize, g: Geometry, io: &Io<'_, T>, j0: usize, lse: &mut [f32]) {
    if g.inner == 1 {
        let mut io = Io { x: io.x, y: None };
        lse[0] = row_stats(isa, c, Kind::LogSoftmax, &mut io, g.len, false).0.lse;
        return;
    }
    let mut st = [Stats::nonfinite(0.0); COLS];
    columns_stats(isa, g, Kind::LogSoftmax, io, j0, &mut st[..lse.len()]);
    for (l, s) in lse.iter_mut().zip(&st) {
        *l = s.lse;
    }
}

/// A contiguous row's statistics: its maximum (pass 1) and sum (pass 2). With `store` (f32
/// softmax with an output), pass 2 also writes the numerators e^(x − m) to `y`, which
/// [`write_row`] then scales (and says so).
fn row_stats<T: Element>(
    isa: Isa,
    c: usize,
    kind: Kind,
    io: &mut Io<'_, T>,
    n: usize,
    write: bool,
) -> (Stats, bool) {
    let mut buf = Buf::new();
    let mut m = [f32::NEG_INFINITY; MAXC];
    for i in (0..n).step_by(step::<T>()) {
        let v = view(isa, io.src(i..n.min(i + step::<T>())), &mut buf);
        for (at, rows, cols) in tiles(v.len(), c) {
            run_max(isa, &v[at..], c, rows, cols, &mut m);
        }
    }
    let m = m[..c].iter().fold(f32::NEG_INFINITY, |a, &b| max_nan(a, b));
    let Some(m) = Stats::shift(m) else { return (Stats::nonfinite(m), false) };
    let top = kind == Kind::LogSoftmax;
    let store = !top && write && !T::CONVERTS;
    let mv = [m; MAXC];
    let (mut sum, mut count) = (0f64, 0f64);
    for p in (0..n).step_by(CHUNK) {
        let (mut h, mut l, mut k) = ([0f32; MAXC], [0f32; MAXC], [0f32; MAXC]);
        let end = n.min(p + CHUNK);
        for i in (p..end).step_by(step::<T>()) {
            let r = i..end.min(i + step::<T>());
            if store {
                let x = io.x.and_then(|x| T::as_f32(&x[r.clone()]));
                let Some(y) = io.y.as_deref_mut().and_then(|y| T::as_f32_mut(&mut y[r])) else { continue };
                for (at, rows, cols) in tiles(y.len(), c) {
                    let sums = [&mut h[..], &mut l[..], &mut k[..]];
                    run_exp_sum::<Off, On>(isa, x.map(|x| &x[at..]), c, rows, cols, &mv, sums, &mut y[at..]);
                }
            } else {
                let v = view(isa, io.src(r), &mut buf);
                for (at, rows, cols) in tiles(v.len(), c) {
                    let sums = [&mut h[..], &mut l[..], &mut k[..]];
                    if top {
                        run_exp_sum::<On, Off>(isa, Some(&v[at..]), c, rows, cols, &mv, sums, &mut []);
                    } else {
                        run_exp_sum::<Off, Off>(isa, Some(&v[at..]), c, rows, cols, &mv, sums, &mut []);
                    }
                }
            }
        }
        sum += stats::lanes(&h[..c], &l[..c]);
        count += k[..c].iter().map(|&k| k as f64).sum::<f64>();
    }
    let st = match kind {
        Kind::Softmax => Stats::softmax(m, sum),
        Kind::LogSoftmax => Stats::log_softmax(m, sum, count),
    };
    (st, store)
}

/// A contiguous row's pass 3: y from x and the row's statistics, or from the numerators that
/// pass 2 `stored` in y.
fn write_row<T: Element>(
    isa: Isa,
    c: usize,
    kind: Kind,
    io: &mut Io<'_, T>,
    st: Stats,
    stored: bool,
    n: usize,
) {
    let p = st.p.map(|v| [v; MAXC]);
    let p = [&p[0][..], &p[1][..], &p[2][..]];
    let (mut a, mut b) = (Buf::new(), Buf::new());
    for i in (0..n).step_by(step::<T>()) {
        let r = i..n.min(i + step::<T>());
        let x = io.x.map(|x| &x[r.clone()]);
        let Some(y) = io.y.as_deref_mut().map(|y| &mut y[r]) else { return };
        if let Some(yf) = T::as_f32_mut(y) {
            let x = x.and_then(T::as_f32);
            for (at, rows, cols) in tiles(yf.len(), c) {
                let (x, y) = (x.map(|x| &x[at..]), &mut yf[at..]);
                match kind {
                    _ if stored => run_write(isa, tile::Scale, None, None, c, rows, cols, p, y, c),
                    Kind::Softmax => run_write(isa, tile::Softmax, x, None, c, rows, cols, p, y, c),
                    Kind::LogSoftmax => run_write(isa, tile::LogSoftmax, x, None, c, rows, cols, p, y, c),
                }
            }
        } else {
            let len = y.len();
            T::widen(isa, x.unwrap_or(&*y), &mut a.0[..len]);
            let (v, out) = (&a.0[..len], &mut b.0[..len]);
            for (at, rows, cols) in tiles(len, c) {
                let (v, o) = (Some(&v[at..]), &mut out[at..]);
                match kind {
                    Kind::Softmax => run_write(isa, tile::Softmax, v, None, c, rows, cols, p, o, c),
                    Kind::LogSoftmax => run_write(isa, tile::LogSoftmax, v, None, c, rows, cols, p, o, c),
                }
            }
            T::narrow(isa, out, y);
        }
    }
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
fn columns_stats<T: Element>(isa: Isa, g: Geometry, kind: Kind, io: &Io<'_, T>, j0: usize, st: &mut [Stats]) {
    let w = st.len();
    let x = io.src(0..g.slab());
    let mut buf = Buf::new();
    let mut m = [f32::NEG_INFINITY; COLS];
    let mut k0 = 0;
    while k0 < g.len {
        let (v, stride, rows) = strided_view(isa, g, x, k0, j0, w, &mut buf);
        run_max(isa, v, stride, rows, w, &mut m[..w]);
        k0 += rows;
    }
    let shift: [f32; COLS] = core::array::from_fn(|j| Stats::shift(m[j]).unwrap_or(0.0));
    let (mut h, mut l, mut k) = ([0f32; COLS], [0f32; COLS], [0f32; COLS]);
    let mut k0 = 0;
    while k0 < g.len {
        let (v, stride, rows) = strided_view(isa, g, x, k0, j0, w, &mut buf);
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

/// The output of columns `j0 .. j0 + st.len()` of a strided slab.
fn write_columns<T: Element>(isa: Isa, g: Geometry, kind: Kind, io: &mut Io<'_, T>, j0: usize, st: &[Stats]) {
    let w = st.len();
    let p: [[f32; COLS]; 3] =
        core::array::from_fn(|i| core::array::from_fn(|j| st.get(j).map_or(0.0, |s| s.p[i])));
    let p = [&p[0][..w], &p[1][..w], &p[2][..w]];
    let Some(y) = io.y.as_deref_mut() else { return };
    if let Some(yf) = T::as_f32_mut(y) {
        let x = io.x.and_then(T::as_f32).map(|x| &x[j0..]);
        let out = &mut yf[j0..];
        match kind {
            Kind::Softmax => run_write(isa, tile::Softmax, x, None, g.inner, g.len, w, p, out, g.inner),
            Kind::LogSoftmax => run_write(isa, tile::LogSoftmax, x, None, g.inner, g.len, w, p, out, g.inner),
        }
        return;
    }
    let (mut a, mut b) = (Buf::new(), Buf::new());
    let mut k0 = 0;
    while k0 < g.len {
        let rows = widen_rows(isa, g, io.x.unwrap_or(&*y), k0, j0, w, &mut a);
        let (v, out) = (Some(&a.0[..rows * w]), &mut b.0[..rows * w]);
        match kind {
            Kind::Softmax => run_write(isa, tile::Softmax, v, None, w, rows, w, p, out, w),
            Kind::LogSoftmax => run_write(isa, tile::LogSoftmax, v, None, w, rows, w, p, out, w),
        }
        for k in 0..rows {
            let at = (k0 + k) * g.inner + j0;
            T::narrow(isa, &out[k * w..(k + 1) * w], &mut y[at..at + w]);
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
    let c = tile::run_lanes(isa);
    let per = g.slab();
    slabs(y, dx, per, per, |first, y, dx| {
        for o in 0..dx.len() / per {
            let r = o * per..(o + 1) * per;
            let dy = dy.map(|d| &d[(first + o) * per..(first + o + 1) * per]);
            grad_slab(isa, c, g, kind, &y[r.clone()], dy, &mut dx[r]);
        }
    });
}

/// `Σ dy·y` (softmax) or `Σ dy` (log-softmax) of a tile into `(h, l)`.
#[allow(clippy::too_many_arguments)]
fn dot(
    isa: Isa,
    kind: Kind,
    y: &[f32],
    dy: &[f32],
    stride: usize,
    rows: usize,
    cols: usize,
    h: &mut [f32],
    l: &mut [f32],
) {
    match kind {
        Kind::Softmax => run_dot::<On>(isa, y, dy, stride, rows, cols, h, l),
        Kind::LogSoftmax => run_dot::<Off>(isa, y, dy, stride, rows, cols, h, l),
    }
}

/// The backward's write pass over a tile: `b = None` reads dy from `out` (in place).
#[allow(clippy::too_many_arguments)]
fn grad(
    isa: Isa,
    kind: Kind,
    y: &[f32],
    dy: Option<&[f32]>,
    stride: usize,
    rows: usize,
    cols: usize,
    p: [&[f32]; 3],
    out: &mut [f32],
    ostride: usize,
) {
    match kind {
        Kind::Softmax => run_write(isa, tile::SoftmaxGrad, Some(y), dy, stride, rows, cols, p, out, ostride),
        Kind::LogSoftmax => {
            run_write(isa, tile::LogSoftmaxGrad, Some(y), dy, stride, rows, cols, p, out, ostride)
        }
    }
}

/// One slab's backward.
fn grad_slab<T: Element>(
    isa: Isa,
    c: usize,
    g: Geometry,
    kind: Kind,
    y: &[T],
    dy: Option<&[T]>,
    dx: &mut [T],
) {
    let (mut a, mut b) = (Buf::new(), Buf::new());
    if g.inner == 1 {
        let n = g.len;
        let mut d = 0f64;
        for p in (0..n).step_by(CHUNK) {
            let (mut h, mut l) = ([0f32; MAXC], [0f32; MAXC]);
            let end = n.min(p + CHUNK);
            for i in (p..end).step_by(step::<T>()) {
                let r = i..end.min(i + step::<T>());
                let vy = view(isa, &y[r.clone()], &mut a);
                let vd = view(isa, dy.map_or(&dx[r.clone()], |d| &d[r]), &mut b);
                for (at, rows, cols) in tiles(vy.len(), c) {
                    dot(isa, kind, &vy[at..], &vd[at..], c, rows, cols, &mut h, &mut l);
                }
            }
            d += stats::lanes(&h[..c], &l[..c]);
        }
        let st = Stats::dot(d);
        let p = st.p.map(|v| [v; MAXC]);
        let p = [&p[0][..], &p[1][..], &p[2][..]];
        for i in (0..n).step_by(step::<T>()) {
            let r = i..n.min(i + step::<T>());
            if let (Some(yf), Some(out)) = (T::as_f32(&y[r.clone()]), T::as_f32_mut(&mut dx[r.clone()])) {
                let dyf = dy.and_then(|d| T::as_f32(&d[r.clone()]));
                for (at, rows, cols) in tiles(yf.len(), c) {
                    grad(isa, kind, &yf[at..], dyf.map(|d| &d[at..]), c, rows, cols, p, &mut out[at..], c);
                }
                continue;
            }
            let len = r.len();
            T::widen(isa, &y[r.clone()], &mut a.0[..len]);
            T::widen(isa, dy.map_or(&dx[r.clone()], |d| &d[r.clone()]), &mut b.0[..len]);
            for (at, rows, cols) in tiles(len, c) {
                grad(isa, kind, &a.0[at..len], None, c, rows, cols, p, &mut b.0[at..len], c);
            }
            T::narrow(isa, &b.0[..len], &mut dx[r]);
        }
        return;
    }
    for j0 in (0..g.inner).step_by(COLS) {
        let w = COLS.min(g.inner - j0);
        let (mut h, mut l) = ([0f32; COLS], [0f32; COLS]);
        let mut k0 = 0;
        while k0 < g.len {
            let (vy, stride, rows) = strided_view(isa, g, y, k0, j0, w, &mut a);
            let (vd, _, _) = strided_view(isa, g, dy.unwrap_or(&*dx), k0, j0, w, &mut b);
            dot(isa, kind, vy, vd, stride, rows, w, &mut h[..w], &mut l[..w]);
            k0 += rows;
        }
        let st: [Stats; COLS] = core::array::from_fn(|j| Stats::dot(stats::lane(h[j], l[j])));
        let p: [[f32; COLS]; 3] = core::array::from_fn(|i| core::array::from_fn(|j| st[j].p[i]));
        let p = [&p[0][..w], &p[1][..w], &p[2][..w]];
        if let (Some(yf), Some(out)) = (T::as_f32(y), T::as_f32_mut(dx)) {
            let dyf = dy.and_then(T::as_f32).map(|d| &d[j0..]);
            grad(isa, kind, &yf[j0..], dyf, g.inner, g.len, w, p, &mut out[j0..], g.inner);
            continue;
        }
        let mut k0 = 0;
        while k0 < g.len {
            let rows = widen_rows(isa, g, y, k0, j0, w, &mut a);
            widen_rows(isa, g, dy.unwrap_or(&*dx), k0, j0, w, &mut b);
            grad(isa, kind, &a.0[..rows * w], None, w, rows, w, p, &mut b.0[..rows * w], w);
            for k in 0..rows {
                let at = (k0 + k) * g.inner + j0;
                T::narrow(isa, &b.0[k * w..(k + 1) * w], &mut dx[at..at + w]);
            }
            k0 += rows;
        }
    }
}

/// Hardmax over every row: 1 at the first maximum, 0 elsewhere; NaN everywhere in a row that
/// holds one. In place where `x` is `None`.
pub(crate) fn hardmax<T: Element>(isa: Isa, g: Geometry, x: Option<&[T]>, y: &mut [T]) {
    let c = tile::run_lanes(isa);
    let per = g.slab();
    let each = |x: Option<&[T]>, y: &mut [T]| {
        for o in 0..y.len() / per {
            let r = o * per..(o + 1) * per;
            let mut io = Io { x: x.map(|x| &x[r.clone()]), y: Some(&mut y[r]) };
            hard_slab(isa, c, g, &mut io);
        }
    };
    match x {
        Some(x) => slabs(x, y, per, per, |_, x, y| each(Some(x), y)),
        None => slabs(&[] as &[T], y, per, per, |_, _, y| each(None, y)),
    }
}

/// One slab of [`hardmax`].
fn hard_slab<T: Element>(isa: Isa, c: usize, g: Geometry, io: &mut Io<'_, T>) {
    let mut buf = Buf::new();
    for j0 in (0..g.inner).step_by(COLS) {
        let w = COLS.min(g.inner - j0);
        let x = io.src(0..g.slab());
        let mut m = [f32::NEG_INFINITY; COLS];
        let mut k0 = 0;
        while k0 < g.len {
            let (v, stride, rows) = strided_view(isa, g, x, k0, j0, w, &mut buf);
            if w == 1 && g.inner == 1 {
                // A contiguous row: its tile has the tier's lanes as columns.
                let mut mc = [f32::NEG_INFINITY; MAXC];
                for (at, r, cc) in tiles(rows, c) {
                    run_max(isa, &v[at..], c, r, cc, &mut mc);
                }
                m[0] = max_nan(m[0], mc[..c].iter().fold(f32::NEG_INFINITY, |a, &b| max_nan(a, b)));
            } else {
                run_max(isa, v, stride, rows, w, &mut m[..w]);
            }
            k0 += rows;
        }
        // The first row of each column that holds its maximum.
        let mut first = [usize::MAX; COLS];
        let mut k0 = 0;
        while k0 < g.len && first[..w].iter().zip(&m).any(|(&f, m)| f == usize::MAX && !m.is_nan()) {
            let (v, stride, rows) = strided_view(isa, g, x, k0, j0, w, &mut buf);
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
