//! The dtype, layout and error plumbing that every op shares: reading contiguous CPU storage of
//! f32, bf16 or f16 as slices, running a kernel generic over the element type on them, and
//! turning [`nnsimd::Error`] into a candle error that names the op.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, DType, Layout, Shape, WithDType};
use nnsimd::{Element, bf16, f16};

/// An element type that both nnsimd and candle store: f32, bf16 and f16.
pub trait Float: Element + WithDType {
    /// The storage's elements, mutable, if it holds this type.
    fn slice_mut(storage: &mut CpuStorage) -> Option<&mut [Self]>;
}

macro_rules! float {
    ($($T:ty => $V:ident),*) => {$(
        impl Float for $T {
            fn slice_mut(storage: &mut CpuStorage) -> Option<&mut [Self]> {
                match storage {
                    CpuStorage::$V(v) => Some(v.as_mut_slice()),
                    _ => None,
                }
            }
        }
    )*};
}
float!(f32 => F32, bf16 => BF16, f16 => F16);

/// A computation on `N` inputs of one element type `E`, written once for the three types:
/// it gets each input's contiguous elements with its shape and returns the output's elements
/// and shape.
pub(crate) trait Kernel<const N: usize> {
    fn run<E: Float>(&self, inputs: [(&[E], &Shape); N]) -> candle_core::Result<(Vec<E>, Shape)>;
}

/// Runs `kernel` for op `op` on CPU `inputs` that all hold f32, all bf16 or all f16 with
/// contiguous layouts (an offset is fine), and wraps its output as candle storage. Any other
/// dtype, a mix of dtypes, or a strided layout is a candle error naming the op.
pub(crate) fn apply<const N: usize, K: Kernel<N>>(
    op: &'static str,
    kernel: &K,
    inputs: [(&CpuStorage, &Layout); N],
) -> candle_core::Result<(CpuStorage, Shape)> {
    fn typed<const N: usize, K: Kernel<N>, E: Float>(
        op: &'static str,
        kernel: &K,
        inputs: [(&CpuStorage, &Layout); N],
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let mut slices = Vec::with_capacity(N);
        for (s, l) in inputs {
            slices.push((contiguous::<E>(op, s, l)?, l.shape()));
        }
        let slices: [(&[E], &Shape); N] = slices.try_into().unwrap_or_else(|_| unreachable!());
        let (out, shape) = kernel.run(slices)?;
        Ok((E::to_cpu_storage_owned(out), shape))
    }
    let dtype = inputs.first().map_or(DType::F32, |(s, _)| s.dtype());
    match dtype {
        DType::F32 => typed::<N, K, f32>(op, kernel, inputs),
        DType::BF16 => typed::<N, K, bf16>(op, kernel, inputs),
        DType::F16 => typed::<N, K, f16>(op, kernel, inputs),
        other => Err(unsupported(op, other)),
    }
}

/// The elements of `storage` under `layout` as a slice of `E`: the layout must be contiguous
/// (it may start at an offset) and the storage must hold `E`.
pub(crate) fn contiguous<'a, E: Float>(
    op: &'static str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> candle_core::Result<&'a [E]> {
    if storage.dtype() != <E as WithDType>::DTYPE {
        return Err(msg(
            op,
            format!(
                "dtype {:?} where {:?} was expected (the inputs must share one dtype)",
                storage.dtype(),
                <E as WithDType>::DTYPE
            ),
        ));
    }
    let (start, end) = layout.contiguous_offsets().ok_or_else(|| not_contiguous(op, layout))?;
    Ok(&storage.as_slice::<E>()?[start..end])
}

/// The candle error for a dtype the op does not take.
pub(crate) fn unsupported(op: &'static str, dtype: DType) -> candle_core::Error {
    msg(op, format!("dtype {dtype:?} is not supported (f32, bf16 and f16 are)"))
}

/// The candle error for a strided layout.
pub(crate) fn not_contiguous(op: &'static str, layout: &Layout) -> candle_core::Error {
    msg(
        op,
        format!(
            "the layout (shape {:?}, stride {:?}) is not contiguous: call .contiguous() first",
            layout.dims(),
            layout.stride()
        ),
    )
}

/// A candle error `op: what`.
pub(crate) fn msg(op: &'static str, what: impl std::fmt::Display) -> candle_core::Error {
    candle_core::Error::Msg(format!("nnsimd-candle {op}: {what}"))
}

/// Maps an [`nnsimd::Error`] of op `op` to a candle error that names the op.
pub(crate) fn nn(op: &'static str) -> impl Fn(nnsimd::Error) -> candle_core::Error {
    move |e| msg(op, e)
}

/// A candle error unless the two layouts have the same shape.
pub(crate) fn same_shape(op: &'static str, a: &Layout, b: &Layout) -> candle_core::Result<()> {
    if a.dims() == b.dims() {
        Ok(())
    } else {
        Err(msg(op, format!("shapes {:?} and {:?} differ", a.dims(), b.dims())))
    }
}
