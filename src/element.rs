//! The element types the activations read and write: f32, and with the feature `half` the
//! `half` crate's `bf16` and `f16`.
//!
//! f32 slices go to the kernels as they are. bf16 slices go to the light kernels
//! (`Elementwise::LIGHT`: ReLU and the other piecewise-linear ones, memory-bound) as they are too,
//! converted in registers on load and store. Otherwise bf16 and f16 slices are converted in
//! blocks of [`BLOCK`] elements into an f32 buffer on the stack (exactly), the f32 kernel runs
//! on the block, and the results are rounded back to nearest even. Either way the f32 kernels
//! are reused unchanged, the results are the same bits, and the threads split the slices into
//! the same fixed chunks as for f32, so the results are bitwise identical for any thread count.

use crate::drivers::{
    Elementwise, Grad, run_backward, run_backward_inplace, run_forward, run_forward_inplace,
};
use crate::isa::Isa;
use crate::parallel;

/// A type the activations take slices of: `f32`, and with the feature `half` the `half`
/// crate's `bf16` and `f16` (re-exported as `nnsimd::bf16` and
/// `nnsimd::f16`). Sealed: implemented for those types only.
pub trait Element: sealed::Sealed + Copy + Send + Sync + 'static {}

pub(crate) mod sealed {
    use crate::Isa;

    /// The conversions behind [`Element`](super::Element).
    pub trait Sealed: Sized {
        /// The type the drivers load and store in registers: `Self` for f32 and bf16. (The
        /// bound is crate-private, as the whole trait is in effect: sealed.)
        #[allow(private_bounds)]
        type Direct: crate::drivers::Lanes;
        /// The slice itself where the drivers take the type directly (f32 and bf16); `None`
        /// sends it through f32 blocks (f16).
        fn direct(s: &[Self]) -> Option<&[Self::Direct]>;
        /// As [`Sealed::direct`], mutable.
        fn direct_mut(s: &mut [Self]) -> Option<&mut [Self::Direct]>;
        /// Whether [`Sealed::direct`] converts (bf16), so that the activations take it only
        /// for a [`Elementwise::LIGHT`](crate::drivers::Elementwise::LIGHT) kernel.
        const CONVERTS: bool;
        /// The slice as f32 where it is one (the row kernels read f32 in place, and widen the
        /// others).
        fn as_f32(_: &[Self]) -> Option<&[f32]> {
            None
        }
        /// As [`Sealed::as_f32`], mutable.
        fn as_f32_mut(_: &mut [Self]) -> Option<&mut [f32]> {
            None
        }
        /// `dst = src` as f32 (exact), with `isa`'s conversion path; equal lengths.
        fn widen(isa: Isa, src: &[Self], dst: &mut [f32]);
        /// `dst = src` rounded to nearest even, with `isa`'s conversion path; equal lengths.
        fn narrow(isa: Isa, src: &[f32], dst: &mut [Self]);
    }
}

impl Element for f32 {}

impl sealed::Sealed for f32 {
    type Direct = f32;
    const CONVERTS: bool = false;
    fn direct(s: &[f32]) -> Option<&[f32]> {
        Some(s)
    }
    fn direct_mut(s: &mut [f32]) -> Option<&mut [f32]> {
        Some(s)
    }
    fn as_f32(s: &[f32]) -> Option<&[f32]> {
        Some(s)
    }
    fn as_f32_mut(s: &mut [f32]) -> Option<&mut [f32]> {
        Some(s)
    }
    fn widen(_: Isa, src: &[f32], dst: &mut [f32]) {
        dst.copy_from_slice(src)
    }
    fn narrow(_: Isa, src: &[f32], dst: &mut [f32]) {
        dst.copy_from_slice(src)
    }
}

/// Element impls for the `half` types, on their bits through [`crate::convert::Path`].
#[cfg(feature = "half")]
macro_rules! half_element {
    ($t:ty, $to_f32:ident, $from_f32:ident, $direct:ty, |$s:ident| $some:expr) => {
        impl Element for $t {}

        impl sealed::Sealed for $t {
            type Direct = $direct;
            const CONVERTS: bool = true;
            #[allow(unused_variables)]
            fn direct($s: &[$t]) -> Option<&[$direct]> {
                $some
            }
            #[allow(unused_variables)]
            fn direct_mut($s: &mut [$t]) -> Option<&mut [$direct]> {
                $some
            }
            #[inline]
            fn widen(isa: Isa, src: &[$t], dst: &mut [f32]) {
                use half::slice::HalfFloatSliceExt;
                crate::convert::Path::of(isa).$to_f32(src.reinterpret_cast(), dst)
            }
            #[inline]
            fn narrow(isa: Isa, src: &[f32], dst: &mut [$t]) {
                use half::slice::HalfFloatSliceExt;
                crate::convert::Path::of(isa).$from_f32(src, dst.reinterpret_cast_mut())
            }
        }
    };
}

#[cfg(feature = "half")]
half_element!(half::bf16, bf16_to_f32, f32_to_bf16, half::bf16, |s| Some(s));
#[cfg(feature = "half")]
half_element!(half::f16, f16_to_f32, f32_to_f16, f32, |s| None);

/// Elements per block converted to f32: 4 KiB per f32 buffer, so that backward's two buffers
/// and the slices' blocks (14 KiB) stay in L1 while the kernel runs on them, and the per-block
/// dispatch is amortized (512 measured 4% and 256 13% slower in cache on Zen 4; 2048 no
/// faster).
pub const BLOCK: usize = 1024;

/// A block's f32 buffer, aligned to a cache line.
#[repr(align(64))]
pub(crate) struct Buf(pub(crate) [f32; BLOCK]);

impl Buf {
    pub(crate) fn new() -> Buf {
        Buf([0.0; BLOCK])
    }
}

/// Runs `f(a, b)` on `dst` block by block as f32: each block `a` is widened from `src` (from
/// `dst` itself when None), `f` writes `b` from it, and `b` is narrowed back into `dst`. Equal
/// lengths. Out of place on the buffers: LLVM turns some in-place selects (ReLU's) into masked
/// stores, which AVX2 on AMD runs ten times slower.
#[inline(always)]
fn blocks1<T: Element>(isa: Isa, src: Option<&[T]>, dst: &mut [T], f: impl Fn(&[f32], &mut [f32])) {
    let (mut a, mut b) = (Buf::new(), Buf::new());
    for i in (0..dst.len()).step_by(BLOCK) {
        let r = i..dst.len().min(i + BLOCK);
        let (a, b) = (&mut a.0[..r.len()], &mut b.0[..r.len()]);
        T::widen(isa, src.map_or(&dst[r.clone()], |s| &s[r.clone()]), a);
        f(a, b);
        T::narrow(isa, b, &mut dst[r]);
    }
}

/// As [`blocks1`], with a second input `x` widened alongside: `f(x, block)` updates the block.
#[inline(always)]
fn blocks2<T: Element>(isa: Isa, x: &[T], src: Option<&[T]>, dst: &mut [T], f: impl Fn(&[f32], &mut [f32])) {
    let (mut a, mut b) = (Buf::new(), Buf::new());
    for i in (0..dst.len()).step_by(BLOCK) {
        let r = i..dst.len().min(i + BLOCK);
        let (a, b) = (&mut a.0[..r.len()], &mut b.0[..r.len()]);
        T::widen(isa, &x[r.clone()], a);
        T::widen(isa, src.map_or(&dst[r.clone()], |s| &s[r.clone()]), b);
        f(a, b);
        T::narrow(isa, b, &mut dst[r]);
    }
}

/// The slice for the drivers to load and store in registers: always for f32, and for bf16
/// when the kernel is [`Elementwise::LIGHT`]; `None` sends it through blocks.
fn direct<T: Element>(light: bool, s: &[T]) -> Option<&[T::Direct]> {
    if light || !T::CONVERTS { T::direct(s) } else { None }
}

/// As [`direct`], mutable.
fn direct_mut<T: Element>(light: bool, s: &mut [T]) -> Option<&mut [T::Direct]> {
    if light || !T::CONVERTS { T::direct_mut(s) } else { None }
}

/// y = f(x) on an available `isa`, over threads. Equal lengths.
pub(crate) fn forward<T: Element, K: Elementwise>(isa: Isa, k: &K, x: &[T], y: &mut [T]) {
    if let (Some(x), Some(y)) = (direct(K::LIGHT, x), direct_mut(K::LIGHT, y)) {
        return parallel::zip2(x, y, |x, y| run_forward(isa, k, x, y));
    }
    parallel::zip2(x, y, |x, y| blocks1(isa, Some(x), y, |a, b| run_forward(isa, k, a, b)))
}

/// x = f(x) on an available `isa`, over threads.
pub(crate) fn forward_inplace<T: Element, K: Elementwise>(isa: Isa, k: &K, x: &mut [T]) {
    if let Some(x) = direct_mut(K::LIGHT, x) {
        return parallel::each1(x, |x| run_forward_inplace(isa, k, x));
    }
    parallel::each1(x, |x| blocks1(isa, None, x, |a, b| run_forward(isa, k, a, b)))
}

/// dx = dy·f'(v) (v being x, or y for a kernel run from its output) on an available `isa`,
/// over threads. Equal lengths.
pub(crate) fn backward<T: Element, G: Grad>(isa: Isa, k: &G, v: &[T], dy: &[T], dx: &mut [T]) {
    if let (Some(v), Some(dy), Some(dx)) =
        (direct(G::LIGHT, v), direct(G::LIGHT, dy), direct_mut(G::LIGHT, dx))
    {
        return parallel::zip3(v, dy, dx, |v, dy, dx| run_backward(isa, k, v, dy, dx));
    }
    parallel::zip3(v, dy, dx, |v, dy, dx| {
        blocks2(isa, v, Some(dy), dx, |v, d| run_backward_inplace(isa, k, v, d))
    })
}

/// dy = dy·f'(v) on an available `isa`, over threads. Equal lengths.
pub(crate) fn backward_inplace<T: Element, G: Grad>(isa: Isa, k: &G, v: &[T], dy: &mut [T]) {
    if let (Some(v), Some(dy)) = (direct(G::LIGHT, v), direct_mut(G::LIGHT, dy)) {
        return parallel::zip2(v, dy, |v, dy| run_backward_inplace(isa, k, v, dy));
    }
    parallel::zip2(v, dy, |v, dy| blocks2(isa, v, None, dy, |v, d| run_backward_inplace(isa, k, v, d)))
}
