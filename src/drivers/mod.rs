//! Element-wise drivers: one generic loop per shape of kernel, and the thin per-ISA entry
//! points that compile it with each instruction set.

use crate::simd::Simd;
use crate::simd::tier::simd_fn;
pub(crate) use lanes::Lanes;

/// An element-wise function and its derivative, written once over [`Simd`].
pub(crate) trait Elementwise: Sync + Copy {
    /// y = f(x).
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V;
    /// dx = dy · f'(x).
    fn backward<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V;
    /// A few cheap operations per vector, so that memory rather than arithmetic bounds the
    /// kernel: bf16 slices then go through it converted in registers ([`Lanes`]), rounded by
    /// `vcvtneps2bf16` where the CPU has AVX-512-BF16. Otherwise they go through f32 blocks,
    /// whose conversion costs less than an in-register integer rounding where the arithmetic
    /// dominates anyway.
    const LIGHT: bool = false;
    /// Whether forward's dependency chain is long for the registers the kernel needs, so that
    /// a tier with registers to spare runs more vectors side by side ([`Op::DEEP`]; the
    /// per-tier table is in `simd::tier`). Elsewhere the wider body spills or loses its
    /// schedule.
    ///
    /// [`Op::DEEP`]: crate::simd::tier::Op::DEEP
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // read by the x86 trampolines
    const DEEP_FORWARD: bool = false;
    /// [`Elementwise::DEEP_FORWARD`] for backward.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // read by the x86 trampolines
    const DEEP_BACKWARD: bool = false;
}

/// What the backward drivers run: dx from dy and a saved value `v` (x for a [`Elementwise`], y
/// for [`FromOutput`]).
pub(crate) trait Grad: Sync + Copy {
    fn grad<S: Simd>(&self, s: S, v: S::V, dy: S::V) -> S::V;
    /// [`Elementwise::LIGHT`] of the kernel.
    const LIGHT: bool;
    /// [`Elementwise::DEEP_BACKWARD`] of the kernel, for its backward from x.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // read by the x86 trampolines
    const DEEP: bool = false;
}

impl<K: Elementwise> Grad for K {
    const LIGHT: bool = K::LIGHT;
    const DEEP: bool = K::DEEP_BACKWARD;
    #[inline(always)]
    fn grad<S: Simd>(&self, s: S, x: S::V, dy: S::V) -> S::V {
        self.backward(s, x, dy)
    }
}

/// An activation whose output y = f(x) determines f'(x) (f is monotone, and f' is a function
/// of y), so that backward can run from the saved output.
pub(crate) trait OutputGrad: Elementwise {
    /// dx = dy · f'(x), from y = f(x).
    fn backward_y<S: Simd>(&self, s: S, y: S::V, dy: S::V) -> S::V;
}

/// Runs an [`OutputGrad`] through the backward drivers, with y in place of x.
#[derive(Clone, Copy)]
pub(crate) struct FromOutput<K>(pub(crate) K);

impl<K: OutputGrad> Grad for FromOutput<K> {
    const LIGHT: bool = K::LIGHT;
    #[inline(always)]
    fn grad<S: Simd>(&self, s: S, y: S::V, dy: S::V) -> S::V {
        self.0.backward_y(s, y, dy)
    }
}

/// Visits `[$from, $n)` in whole vectors of `$S::LANES`, four at a time while it can, then one
/// at a time, running `$body` with `$i` bound to each vector's start, and evaluates to where
/// the partial tail starts. Each element is visited exactly once. A macro rather than a
/// function taking a closure: closures are not inlined into `#[target_feature]` callers, and
/// would be compiled without the instruction set.
macro_rules! blocks {
    ($S:ty, $from:expr, $n:expr, |$i:ident| $body:expr) => {{
        let (n, w) = ($n, <$S>::LANES);
        let mut $i = $from;
        while $i + 4 * w <= n {
            for _ in 0..4 {
                $body;
                $i += w;
            }
        }
        while $i + w <= n {
            $body;
            $i += w;
        }
        $i
    }};
}

/// Where the kernel is [`Elementwise::LIGHT`] and a whole vector of `S` spans 64 bytes or more, the
/// elements of `y` (at most `n`) before its first 64-byte boundary; 0 otherwise. The forward
/// drivers start their whole vectors there, so that no store straddles two cache lines, and
/// take the elements before it as one partial vector: for the light kernels, bound by memory,
/// that is worth 7-8% on Zen 4 with AVX-512 at 65,536 elements on the 16-byte-aligned buffers
/// of a large allocation (ReLU at 0.99 of copy, from 0.92). Where a vector starts changes no
/// result of theirs, NaNs included: their lanes do not meet, and every operation of their
/// forward meets at most one NaN, or the same one twice (hard-swish), so that the operand order
/// of each compiled copy of the loop does not show.
#[inline(always)]
fn head<S: Simd, K: Elementwise, T>(y: &[T], n: usize) -> usize {
    let size = core::mem::size_of::<T>();
    let off = y.as_ptr() as usize % 64;
    if !K::LIGHT || S::LANES * size < 64 || !off.is_multiple_of(size) {
        return 0;
    }
    ((64 - off) % 64 / size).min(n)
}

#[inline(always)]
fn forward<S: Simd, K: Elementwise, T: Lanes>(s: S, k: &K, x: &[T], y: &mut [T]) {
    // A local copy, which stores through the outputs cannot be taken to change.
    let k = &{ *k };
    let n = x.len().min(y.len());
    let y = &mut y[..n];
    let h = head::<S, K, T>(y, n);
    if h > 0 {
        T::store_partial(s, k.forward(s, T::load_partial(s, &x[..h])), &mut y[..h]);
    }
    let i = blocks!(S, h, n, |i| T::store(s, k.forward(s, T::load(s, &x[i..])), &mut y[i..]));
    if i < n {
        T::store_partial(s, k.forward(s, T::load_partial(s, &x[i..n])), &mut y[i..]);
    }
}

#[inline(always)]
fn forward_inplace<S: Simd, K: Elementwise, T: Lanes>(s: S, k: &K, x: &mut [T]) {
    // A local copy, which stores through the outputs cannot be taken to change.
    let k = &{ *k };
    let n = x.len();
    let h = head::<S, K, T>(x, n);
    if h > 0 {
        T::store_partial(s, k.forward(s, T::load_partial(s, &x[..h])), &mut x[..h]);
    }
    let i = blocks!(S, h, n, |i| T::store(s, k.forward(s, T::load(s, &x[i..])), &mut x[i..]));
    if i < n {
        T::store_partial(s, k.forward(s, T::load_partial(s, &x[i..])), &mut x[i..]);
    }
}

#[inline(always)]
fn backward<S: Simd, K: Grad, T: Lanes>(s: S, k: &K, x: &[T], dy: &[T], dx: &mut [T]) {
    // A local copy, which stores through the outputs cannot be taken to change.
    let k = &{ *k };
    let n = x.len().min(dy.len()).min(dx.len());
    let (dy, dx) = (&dy[..n], &mut dx[..n]);
    let i =
        blocks!(S, 0, n, |i| T::store(s, k.grad(s, T::load(s, &x[i..]), T::load(s, &dy[i..])), &mut dx[i..]));
    if i < n {
        let v = k.grad(s, T::load_partial(s, &x[i..n]), T::load_partial(s, &dy[i..]));
        T::store_partial(s, v, &mut dx[i..]);
    }
}

#[inline(always)]
fn backward_inplace<S: Simd, K: Grad, T: Lanes>(s: S, k: &K, x: &[T], dy: &mut [T]) {
    // A local copy, which stores through the outputs cannot be taken to change.
    let k = &{ *k };
    let n = x.len().min(dy.len());
    let i =
        blocks!(S, 0, n, |i| T::store(s, k.grad(s, T::load(s, &x[i..]), T::load(s, &dy[i..])), &mut dy[i..]));
    if i < n {
        let v = k.grad(s, T::load_partial(s, &x[i..n]), T::load_partial(s, &dy[i..n]));
        T::store_partial(s, v, &mut dy[i..n]);
    }
}

simd_fn! {
    /// y = f(x) on an available `isa`, serially. Lengths must match.
    pub(crate) fn run_forward<K: Elementwise, T: Lanes>(k: &K, x: &[T], y: &mut [T]) => forward;
        deep = K::DEEP_FORWARD; bf16 = T::BF16;
}

simd_fn! {
    /// x = f(x) on an available `isa`, serially.
    pub(crate) fn run_forward_inplace<K: Elementwise, T: Lanes>(k: &K, x: &mut [T]) => forward_inplace;
        deep = K::DEEP_FORWARD; bf16 = T::BF16;
}

simd_fn! {
    /// dx = dy·f'(x) on an available `isa`, serially. Lengths must match.
    pub(crate) fn run_backward<K: Grad, T: Lanes>(k: &K, x: &[T], dy: &[T], dx: &mut [T]) => backward;
        deep = K::DEEP; bf16 = T::BF16;
}

simd_fn! {
    /// dy = dy·f'(x) on an available `isa`, serially. Lengths must match.
    pub(crate) fn run_backward_inplace<K: Grad, T: Lanes>(k: &K, x: &[T], dy: &mut [T]) => backward_inplace;
        deep = K::DEEP; bf16 = T::BF16;
}

/// In-place optimizer updates: one fused pass over parameters, gradients and `N` state slices.
#[cfg(feature = "std")]
pub(crate) mod update {
    use super::*;
    use crate::isa::Isa;
    use crate::simd::tier::{Op, run};

    /// One optimizer's element-wise step, written once over [`Simd`] (with a square root).
    pub(crate) trait UpdateRule<const N: usize>: Sync + Copy {
        /// Returns the new parameters from `p` and `g`, updating the `N` state vectors in place.
        fn update<S: Simd>(&self, s: S, p: S::V, g: S::V, st: &mut [S::V; N]) -> S::V;

        /// [`UpdateRule::update`] for the lanes of elements `i ..` of the slices, for a result that
        /// depends on the element's index (stochastic rounding).
        #[inline(always)]
        fn update_at<S: Simd>(&self, s: S, _i: usize, p: S::V, g: S::V, st: &mut [S::V; N]) -> S::V {
            self.update(s, p, g, st)
        }

        /// Whether the results are already values of the parameters' storage type (NaNs
        /// quiet), so that storing them only drops the low bits ([`Lanes::store_exact`]).
        const EXACT: bool = false;
    }

    /// Loads lane block `i` of every slice, updates it and stores it back; the tail goes through
    /// partial loads and stores, so each element is read and written exactly once.
    #[inline(always)]
    fn update_inplace<S: Simd, K: UpdateRule<N>, P: Lanes, G: Lanes, const N: usize>(
        s: S,
        k: &K,
        p: &mut [P],
        g: &[G],
        st: &mut [&mut [f32]; N],
    ) {
        let n = p.len();
        let g = &g[..n];
        // Every state slice cut to n as well: with all lengths equal to the loop's bound, the
        // slice and load checks inside the loop fold away.
        let mut st: [&mut [f32]; N] = st.each_mut().map(|x| &mut x[..n]);
        let i = blocks!(S, 0, n, |i| {
            let mut v = [s.splat(0.0); N];
            for (v, x) in v.iter_mut().zip(st.iter()) {
                *v = s.load(&x[i..]);
            }
            let r = k.update_at(s, i, P::load(s, &p[i..]), G::load(s, &g[i..]), &mut v);
            if K::EXACT {
                P::store_exact(s, r, &mut p[i..])
            } else {
                P::store(s, r, &mut p[i..])
            }
            for (v, x) in v.iter().zip(st.iter_mut()) {
                s.store(*v, &mut x[i..]);
            }
        });
        if i < n {
            let mut v = [s.splat(0.0); N];
            for (v, x) in v.iter_mut().zip(st.iter()) {
                *v = s.load_partial(&x[i..n]);
            }
            let r = k.update_at(s, i, P::load_partial(s, &p[i..]), G::load_partial(s, &g[i..]), &mut v);
            if K::EXACT {
                P::store_exact_partial(s, r, &mut p[i..])
            } else {
                P::store_partial(s, r, &mut p[i..])
            }
            for (v, x) in v.iter().zip(st.iter_mut()) {
                s.store_partial(*v, &mut x[i..n]);
            }
        }
    }

    /// [`update_inplace`] as an [`Op`], for [`run`].
    struct UpdateOp<'a, 'b, K, P, G, const N: usize> {
        k: &'a K,
        p: &'a mut [P],
        g: &'a [G],
        st: &'a mut [&'b mut [f32]; N],
    }

    impl<K: UpdateRule<N>, P: Lanes, G: Lanes, const N: usize> Op for UpdateOp<'_, '_, K, P, G, N> {
        type Output = ();
        #[inline(always)]
        fn run<S: Simd>(self, s: S) {
            // The rule copied to a local: the compiler then knows that the stores to the
            // parameters and state leave its scalars alone, and keeps them in registers (read
            // through the reference, they were loaded again after every store).
            let k = *self.k;
            update_inplace(s, &k, self.p, self.g, self.st)
        }
    }

    /// Runs `k` over `p`, `g` and `st` on an available `isa`, serially. `g` and every state
    /// slice must be at least as long as `p`.
    pub(crate) fn run_update<K: UpdateRule<N>, P: Lanes, G: Lanes, const N: usize>(
        isa: Isa,
        k: &K,
        p: &mut [P],
        g: &[G],
        st: &mut [&mut [f32]; N],
    ) {
        run(isa, UpdateOp { k, p, g, st })
    }
}

pub(crate) mod dsum;
#[cfg(feature = "std")]
pub(crate) mod finite;
pub(crate) mod fused;
pub(crate) mod lanes;
pub(crate) mod slope;
