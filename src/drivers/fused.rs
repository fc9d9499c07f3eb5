//! Drivers for the fused kernels: a gated linear unit y = f(a)·b, and an activation of a
//! biased input y = f(x + bias), forward and backward, with their per-ISA entry points. Each
//! calls an activation's own per-vector f and f' ([`Elementwise`]) and adds only the products,
//! the bias and (bias backward) the column sums, in the same pass over memory.

use super::dsum::add_dw;
use super::*;

/// Loads `$a[$i..]`: a whole vector, or the `$n − $i < LANES` values of a partial tail.
macro_rules! get {
    ($s:expr, $tail:expr, $a:expr, $i:expr, $n:expr) => {
        if $tail { $s.load_partial(&$a[$i..$n]) } else { $s.load(&$a[$i..]) }
    };
}

/// Stores into `$a[$i..]` as [`get!`] loads.
macro_rules! put {
    ($s:expr, $tail:expr, $v:expr, $a:expr, $i:expr, $n:expr) => {
        if $tail { $s.store_partial($v, &mut $a[$i..$n]) } else { $s.store($v, &mut $a[$i..]) }
    };
}

/// Runs `$body` with `$i` at each whole vector of `[0, $n)` (`$tail` false), then once at the
/// partial tail (`$tail` true) if there is one. `$tail` is a constant in each copy of the body,
/// so the branches of [`get!`] and [`put!`] fold away.
macro_rules! each {
    ($S:ty, $n:expr, |$i:ident, $tail:ident| $body:expr) => {{
        let n = $n;
        let i = blocks!($S, 0, n, |$i| {
            let $tail = false;
            $body
        });
        if i < n {
            let ($i, $tail) = (i, true);
            $body;
        }
    }};
}

/// y = f(a)·b on separate slices (the length of y).
#[inline(always)]
fn glu<S: Simd, K: Elementwise>(s: S, k: &K, a: &[f32], b: &[f32], y: &mut [f32]) {
    let n = y.len();
    let (a, b) = (&a[..n], &b[..n]);
    each!(S, n, |i, tail| {
        let v = s.mul(k.forward(s, get!(s, tail, a, i, n)), get!(s, tail, b, i, n));
        put!(s, tail, v, y, i, n)
    });
}

/// da = f'(a)·(dy·b) and db = dy·f(a) on separate slices (the length of da). dy·b is rounded once
/// and then enters f' where the kernel takes its dy, before f''s last rounding and scaling,
/// so that a tiny f'(a) keeps its accuracy.
#[inline(always)]
fn glu_back<S: Simd, K: Elementwise>(
    s: S,
    k: &K,
    a: &[f32],
    b: &[f32],
    dy: &[f32],
    da: &mut [f32],
    db: &mut [f32],
) {
    let n = da.len();
    let (a, b, dy, db) = (&a[..n], &b[..n], &dy[..n], &mut db[..n]);
    each!(S, n, |i, tail| {
        let (av, g) = (get!(s, tail, a, i, n), get!(s, tail, dy, i, n));
        let gb = s.mul(g, get!(s, tail, b, i, n));
        put!(s, tail, k.backward(s, av, gb), da, i, n);
        put!(s, tail, s.mul(g, k.forward(s, av)), db, i, n)
    });
}

/// y = f(a)·b on the halves of each row of x ([rows, 2d]; a the first d values, b the last d),
/// y of shape [rows, d].
#[inline(always)]
fn glu_halves<S: Simd, K: Elementwise>(s: S, k: &K, x: &[f32], d: usize, y: &mut [f32]) {
    for (x, y) in x.chunks_exact(2 * d).zip(y.chunks_exact_mut(d)) {
        glu(s, k, &x[..d], &x[d..], y);
    }
}

/// GLU backward on halves: dx ([rows, 2d]) gets da in the first half of each row, db in the
/// second, from x ([rows, 2d]) and dy ([rows, d]).
#[inline(always)]
fn glu_back_halves<S: Simd, K: Elementwise>(s: S, k: &K, x: &[f32], d: usize, dy: &[f32], dx: &mut [f32]) {
    for ((x, dy), dx) in x.chunks_exact(2 * d).zip(dy.chunks_exact(d)).zip(dx.chunks_exact_mut(2 * d)) {
        let (da, db) = dx.split_at_mut(d);
        glu_back(s, k, &x[..d], &x[d..], dy, da, db);
    }
}

/// y = f(x + bias) on the rows of x ([rows, d], d = bias.len()).
#[inline(always)]
fn bias<S: Simd, K: Elementwise>(s: S, k: &K, x: &[f32], bias: &[f32], y: &mut [f32]) {
    let d = bias.len();
    for (x, y) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
        each!(S, d, |i, tail| {
            let z = s.add(get!(s, tail, x, i, d), get!(s, tail, bias, i, d));
            put!(s, tail, k.forward(s, z), y, i, d)
        });
    }
}

/// dx = dy·f'(x + bias) on the rows of x ([rows, d]), and each column's dx added into the
/// double-f32 sums `acc` (h then l, d each), row after row.
#[inline(always)]
fn bias_back<S: Simd, K: Elementwise>(
    s: S,
    k: &K,
    x: &[f32],
    bias: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    acc: &mut [f32],
) {
    let d = bias.len();
    let (h, l) = acc[..2 * d].split_at_mut(d);
    for ((x, dy), dx) in x.chunks_exact(d).zip(dy.chunks_exact(d)).zip(dx.chunks_exact_mut(d)) {
        each!(S, d, |i, tail| {
            let z = s.add(get!(s, tail, x, i, d), get!(s, tail, bias, i, d));
            let g = k.backward(s, z, get!(s, tail, dy, i, d));
            put!(s, tail, g, dx, i, d);
            let (mut hv, mut lv) = (get!(s, tail, h, i, d), get!(s, tail, l, i, d));
            // Lanes past a partial tail add 0 and are not stored.
            add_dw(s, &mut hv, &mut lv, g, None);
            put!(s, tail, hv, h, i, d);
            put!(s, tail, lv, l, i, d)
        });
    }
}

simd_fn! {
    /// y = f(a)·b on an available `isa`, serially (the length of y).
    pub(crate) fn run_glu<K: Elementwise>(k: &K, a: &[f32], b: &[f32], y: &mut [f32]) => glu;
}

simd_fn! {
    /// y = f(a)·b on the halves of the rows of x, on an available `isa`, serially.
    pub(crate) fn run_glu_halves<K: Elementwise>(k: &K, x: &[f32], d: usize, y: &mut [f32]) => glu_halves;
}

simd_fn! {
    /// GLU backward on separate slices, on an available `isa`, serially (the length of da).
    pub(crate) fn run_glu_back<K: Elementwise>(
        k: &K,
        a: &[f32],
        b: &[f32],
        dy: &[f32],
        da: &mut [f32],
        db: &mut [f32],
    ) => glu_back;
}

simd_fn! {
    /// GLU backward on halves, on an available `isa`, serially.
    pub(crate) fn run_glu_back_halves<K: Elementwise>(
        k: &K,
        x: &[f32],
        d: usize,
        dy: &[f32],
        dx: &mut [f32],
    ) => glu_back_halves;
}

simd_fn! {
    /// y = f(x + bias) on an available `isa`, serially.
    pub(crate) fn run_bias<K: Elementwise>(k: &K, x: &[f32], b: &[f32], y: &mut [f32]) => bias;
}

simd_fn! {
    /// Bias backward over whole rows, the column sums added into `acc` (h then l), on an
    /// available `isa`, serially. (Without `std`, nothing takes the column sums.)
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn run_bias_back<K: Elementwise>(
        k: &K,
        x: &[f32],
        b: &[f32],
        dy: &[f32],
        dx: &mut [f32],
        acc: &mut [f32],
    ) => bias_back;
}
