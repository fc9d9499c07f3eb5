//! Drivers for the activations with a slope per element on the negative side: PReLU (a slope
//! per channel), RReLU (a random slope per element, or their mean) and the PReLU slope
//! gradient, with their per-ISA entry points.

#[cfg(feature = "std")]
use super::dsum::add_dw;
use super::*;
use crate::math::linear::{leaky_backward, leaky_forward};
#[cfg(feature = "std")]
use crate::simd::two_prod;

/// Where the slopes of a slice come from, `S::LANES` elements at a time.
pub(crate) trait Source: Sync {
    /// The slopes of the elements `i .. i + S::LANES` of the slice, of which the first `n` exist
    /// (the other lanes may hold anything).
    fn get<S: Simd>(&self, s: S, i: usize, n: usize) -> S::V;
}

/// One slope for every element.
impl Source for f32 {
    #[inline(always)]
    fn get<S: Simd>(&self, s: S, _i: usize, _n: usize) -> S::V {
        s.splat(*self)
    }
}

/// A slope per element, read from a slice as long as the data.
pub(crate) struct Stored<'a>(pub(crate) &'a [f32]);

impl Source for Stored<'_> {
    #[inline(always)]
    fn get<S: Simd>(&self, s: S, i: usize, n: usize) -> S::V {
        load_n(s, self.0, i, n)
    }
}

/// `n` values from `a[i..]`: a whole vector when `n` is `S::LANES`, a partial one otherwise.
#[inline(always)]
pub(crate) fn load_n<S: Simd>(s: S, a: &[f32], i: usize, n: usize) -> S::V {
    if n == S::LANES { s.load(&a[i..]) } else { s.load_partial(&a[i..i + n]) }
}

/// Stores the first `n` lanes of `v` at `a[i..]`, as [`load_n`].
#[inline(always)]
pub(crate) fn store_n<S: Simd>(s: S, v: S::V, a: &mut [f32], i: usize, n: usize) {
    if n == S::LANES { s.store(v, &mut a[i..]) } else { s.store_partial(v, &mut a[i..i + n]) }
}

/// A pass's input and output: two slices, or one that the output overwrites. Each element
/// is read once before it is written, so both forms run the same code.
pub(crate) trait Io: Send {
    /// The same kind of pair over a sub-range.
    type Sub<'b>: Io
    where
        Self: 'b;
    fn len(&self) -> usize;
    /// The elements `a..b`.
    fn sub(&mut self, a: usize, b: usize) -> Self::Sub<'_>;
    /// Splits at `k`, for handing the parts to different threads.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    fn split_at(self, k: usize) -> (Self, Self)
    where
        Self: Sized;
    fn get<S: Simd>(&self, s: S, i: usize, n: usize) -> S::V;
    fn put<S: Simd>(&mut self, s: S, v: S::V, i: usize, n: usize);
}

/// Input and output in separate slices of equal length.
pub(crate) struct Two<'a>(pub(crate) &'a [f32], pub(crate) &'a mut [f32]);

/// One slice, overwritten.
pub(crate) struct One<'a>(pub(crate) &'a mut [f32]);

impl Io for Two<'_> {
    type Sub<'b>
        = Two<'b>
    where
        Self: 'b;
    fn len(&self) -> usize {
        self.1.len()
    }
    fn sub(&mut self, a: usize, b: usize) -> Two<'_> {
        Two(&self.0[a..b], &mut self.1[a..b])
    }
    fn split_at(self, k: usize) -> (Self, Self) {
        let ((i0, i1), (o0, o1)) = (self.0.split_at(k), self.1.split_at_mut(k));
        (Two(i0, o0), Two(i1, o1))
    }
    #[inline(always)]
    fn get<S: Simd>(&self, s: S, i: usize, n: usize) -> S::V {
        load_n(s, self.0, i, n)
    }
    #[inline(always)]
    fn put<S: Simd>(&mut self, s: S, v: S::V, i: usize, n: usize) {
        store_n(s, v, self.1, i, n)
    }
}

impl Io for One<'_> {
    type Sub<'b>
        = One<'b>
    where
        Self: 'b;
    fn len(&self) -> usize {
        self.0.len()
    }
    fn sub(&mut self, a: usize, b: usize) -> One<'_> {
        One(&mut self.0[a..b])
    }
    fn split_at(self, k: usize) -> (Self, Self) {
        let (a, b) = self.0.split_at_mut(k);
        (One(a), One(b))
    }
    #[inline(always)]
    fn get<S: Simd>(&self, s: S, i: usize, n: usize) -> S::V {
        load_n(s, self.0, i, n)
    }
    #[inline(always)]
    fn put<S: Simd>(&mut self, s: S, v: S::V, i: usize, n: usize) {
        store_n(s, v, self.0, i, n)
    }
}

/// Runs `$body` over `[0, $n)` with `$i` the start and `$w` the width of each span: whole
/// vectors (`$w` = `LANES`, a constant), then one partial span for the tail.
macro_rules! spans {
    ($S:ty, $n:expr, |$i:ident, $w:ident| $body:expr) => {{
        let n = $n;
        let $w = <$S>::LANES;
        let i = blocks!($S, 0, n, |$i| $body);
        if i < n {
            let ($i, $w) = (i, n - i);
            $body;
        }
    }};
}

/// y = x for x > 0, a·x otherwise, with the slopes of `p`.
#[inline(always)]
fn forward<S: Simd, P: Source, IO: Io>(s: S, p: &P, mut io: IO) {
    spans!(S, io.len(), |i, w| {
        let x = io.get(s, i, w);
        io.put(s, leaky_forward(s, x, p.get(s, i, w)), i, w)
    });
}

/// dx = dy for x > 0, a·dy otherwise (dy in, dx out through `io`).
#[inline(always)]
fn backward<S: Simd, P: Source, IO: Io>(s: S, p: &P, x: &[f32], mut io: IO) {
    let x = &x[..io.len()];
    spans!(S, x.len(), |i, w| {
        let dy = io.get(s, i, w);
        io.put(s, leaky_backward(s, load_n(s, x, i, w), p.get(s, i, w), dy), i, w)
    });
}

/// out = the slopes of `p`.
#[inline(always)]
fn draw<S: Simd, P: Source>(s: S, p: &P, out: &mut [f32]) {
    spans!(S, out.len(), |i, w| store_n(s, p.get(s, i, w), out, i, w));
}

/// (h, l) += a·b in double-f32 ([`add_dw`]), the product taken exactly (hi + lo).
#[cfg(feature = "std")]
#[inline(always)]
fn accumulate<S: Simd>(s: S, h: &mut S::V, l: &mut S::V, a: S::V, b: S::V) {
    let (p, q) = two_prod(s, a, b);
    add_dw(s, h, l, p, Some(q));
}

/// The factors of an element's slope-gradient term: (x, dy) where x ≤ 0 or NaN, (0, 0) where
/// x > 0, so that such an element adds exactly 0 even when dy is ±inf or NaN (PyTorch's
/// `input > 0 ? 0 : input * grad`; 0·dy would be NaN there).
#[cfg(feature = "std")]
#[inline(always)]
fn negative_terms<S: Simd>(s: S, x: S::V, dy: S::V) -> (S::V, S::V) {
    let (pos, zero) = (s.lt(s.splat(0.0), x), s.splat(0.0));
    (s.select(pos, zero, x), s.select(pos, zero, dy))
}

/// f32 values per channel of [`run_grad`]'s accumulators: two double-f32 vectors of up to 32
/// lanes, laid out as h₀, l₀, h₁, l₁ at offsets 0, 32, 64, 96 whatever the ISA's width.
#[cfg(feature = "std")]
pub(crate) const RUN_ACC: usize = 128;

/// dx for the `w` elements from `i`, and their dy·x (x ≤ 0) into (h, l).
#[cfg(feature = "std")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn grad_step<S: Simd, IO: Io>(
    s: S,
    a: S::V,
    x: &[f32],
    io: &mut IO,
    i: usize,
    w: usize,
    h: &mut S::V,
    l: &mut S::V,
) {
    let (xv, dy) = (load_n(s, x, i, w), io.get(s, i, w));
    io.put(s, leaky_backward(s, xv, a, dy), i, w);
    // Lanes past a partial tail hold x = dy = 0 and add 0.
    let (xt, dyt) = negative_terms(s, xv, dy);
    accumulate(s, h, l, xt, dyt);
}

/// One run of elements that share the slope `a`: dx (through `io`), and Σ dy·x over x ≤ 0
/// added into the run's channel accumulators `acc` ([`RUN_ACC`] values). Two accumulators take
/// alternate vectors, so that two dependency chains overlap.
#[cfg(feature = "std")]
#[inline(always)]
fn run_grad<S: Simd, IO: Io>(s: S, a: f32, x: &[f32], mut io: IO, acc: &mut [f32]) {
    let (x, w) = (&x[..io.len()], S::LANES);
    debug_assert!(w <= 32 && acc.len() >= RUN_ACC);
    let (n, av) = (x.len(), s.splat(a));
    let (mut h0, mut l0, mut h1, mut l1) =
        (s.load(acc), s.load(&acc[32..]), s.load(&acc[64..]), s.load(&acc[96..]));
    let mut i = 0;
    while i + 2 * w <= n {
        grad_step(s, av, x, &mut io, i, w, &mut h0, &mut l0);
        grad_step(s, av, x, &mut io, i + w, w, &mut h1, &mut l1);
        i += 2 * w;
    }
    if i + w <= n {
        grad_step(s, av, x, &mut io, i, w, &mut h0, &mut l0);
        i += w;
    }
    if i < n {
        grad_step(s, av, x, &mut io, i, n - i, &mut h1, &mut l1);
    }
    s.store(h0, acc);
    s.store(l0, &mut acc[32..]);
    s.store(h1, &mut acc[64..]);
    s.store(l1, &mut acc[96..]);
}

/// One row of elements with the slopes `a` (as long as the row): dx (through `io`), and
/// dy·x over x ≤ 0 added into the per-position accumulators `acc_h`, `acc_l`.
#[cfg(feature = "std")]
#[inline(always)]
fn row_grad<S: Simd, IO: Io>(s: S, a: &[f32], x: &[f32], mut io: IO, acc_h: &mut [f32], acc_l: &mut [f32]) {
    let x = &x[..io.len()];
    spans!(S, x.len(), |i, w| {
        let (xv, dy) = (load_n(s, x, i, w), io.get(s, i, w));
        io.put(s, leaky_backward(s, xv, load_n(s, a, i, w), dy), i, w);
        let (mut h, mut l) = (load_n(s, acc_h, i, w), load_n(s, acc_l, i, w));
        let (xt, dyt) = negative_terms(s, xv, dy);
        accumulate(s, &mut h, &mut l, xt, dyt);
        store_n(s, h, acc_h, i, w);
        store_n(s, l, acc_l, i, w);
    });
}

simd_fn! {
    /// y = x for x > 0, a·x otherwise, on an available `isa`, serially.
    pub(crate) fn run_forward<P: Source, IO: Io>(p: &P, io: IO) => forward;
}

simd_fn! {
    /// dx = dy for x > 0, a·dy otherwise, on an available `isa`, serially.
    pub(crate) fn run_backward<P: Source, IO: Io>(p: &P, x: &[f32], io: IO) => backward;
}

simd_fn! {
    /// out = the slopes of `p`, on an available `isa`, serially.
    pub(crate) fn run_draw<P: Source>(p: &P, out: &mut [f32]) => draw;
}

simd_fn! {
    /// dx for a run with one slope `a`, and its slope gradient added into `acc` (see
    /// [`run_grad`]; `acc` holds at least [`RUN_ACC`] values).
    #[cfg(feature = "std")]
    pub(crate) fn run_run_grad<IO: Io>(a: f32, x: &[f32], io: IO, acc: &mut [f32]) => run_grad;
}

simd_fn! {
    /// dx for a row with slopes `a`, accumulating the gradient per position (see [`row_grad`]).
    #[cfg(feature = "std")]
    pub(crate) fn run_row_grad<IO: Io>(a: &[f32], x: &[f32], io: IO, h: &mut [f32], l: &mut [f32]) => row_grad;
}
