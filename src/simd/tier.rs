//! Dispatch: one `#[target_feature]` trampoline per tier, which compiles a generic operation
//! with the tier's instructions and runs it on the tier's backend.
//!
//! An operation is written once over [`Simd`] ([`Op`], or a plain generic function wrapped by
//! [`simd_fn!`]); [`run`] picks the trampoline for an [`Isa`]. Each x86 trampoline's features
//! come from [`x86_tier!`](crate::isa::x86_tier), the list that detection reads too. The
//! operation and everything it calls are `#[inline(always)]`, so the whole body is compiled
//! inside the trampoline with its features.
//!
//! How many vectors run side by side is the tier's choice, from what the operation says of
//! itself ([`Op::DEEP`]: a long dependency chain for the registers it needs):
//!
//! | tier     | backend token                | `DEEP` operations      |
//! |----------|------------------------------|------------------------|
//! | scalar   | `Scalar` (1 lane)            | the same               |
//! | portable | `Portable` (8 lanes, `wide`) | the same               |
//! | avx2     | `X2<Avx2>` (2 × 8 lanes)     | the same (16 registers)|
//! | avx512   | `X2<Avx512>` (2 × 16 lanes)  | `X2<X2<Avx512>>`       |
//! | neon     | `X2<Neon>` (2 × 4 lanes)     | the same               |
//!
//! Options of a tier (features some CPUs of the tier have) are further trampolines of the
//! same tier: AVX-512 with AVX-512-BF16 runs an operation that asks for it ([`Op::BF16`]) with
//! the `Avx512Bf16` token, whose bf16 stores round in registers.

use super::Simd;
use super::portable::Portable;
use super::scalar::Scalar;
#[allow(unused_imports)]
use super::unroll::X2;
use crate::isa::Isa;

/// An operation written once over [`Simd`], for [`run`].
pub(crate) trait Op {
    /// What the operation returns.
    type Output;
    /// Whether its dependency chain is long for the registers it needs, so that a tier with
    /// registers to spare runs more vectors side by side (the table in the module docs).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // read by the x86 trampolines
    const DEEP: bool = false;
    /// Whether it stores bf16 through the backend, so that AVX-512 runs it with AVX-512-BF16's
    /// rounding where the CPU has it.
    #[cfg_attr(not(all(target_arch = "x86_64", feature = "half")), allow(dead_code))] // x86, bf16
    const BF16: bool = false;
    /// Runs the operation on the backend `s`.
    fn run<S: Simd>(self, s: S) -> Self::Output;
}

/// Runs `op` on `isa`'s backend, compiled with its features. `isa` must be available
/// ([`Isa::check`]).
#[inline(always)]
pub(crate) fn run<O: Op>(isa: Isa, op: O) -> O::Output {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller checked that the tier is available, so the CPU has its features.
        Isa::Avx2 => unsafe { x86::avx2(op) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            #[cfg(feature = "half")]
            if O::BF16 && crate::isa::X86Option::Avx512Bf16.is_available() {
                // SAFETY: the tier is available (the caller checked) and so is the option.
                return unsafe { x86::avx512bf16(op) };
            }
            // SAFETY: the caller checked that the tier is available.
            unsafe { x86::avx512(op) }
        }
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => op.run(X2(super::neon::Neon)),
        Isa::Portable => op.run(Portable),
        _ => op.run(Scalar),
    }
}

/// The x86 trampolines, one per tier and option.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;

    /// A trampoline: `$name` runs an [`Op`] with `$token`, the tier's features (from
    /// `x86_tier!`) and `$option`'s enabled; `$deep` says whether the tier runs a `DEEP`
    /// operation on four vectors instead of two.
    macro_rules! trampoline {
        ($name:ident, $token:ty, $deep:literal, [$($option:literal)?] $feat:tt, [$($f:tt),*]) => {
            #[target_feature(enable = $feat)]
            $(#[target_feature(enable = $option)])?
            pub(super) fn $name<O: Op>(op: O) -> O::Output {
                // SAFETY: this function runs only where its features are enabled.
                let s = unsafe { <$token>::new_unchecked() };
                if $deep && O::DEEP { op.run(X2(X2(s))) } else { op.run(X2(s)) }
            }
        };
    }

    crate::isa::x86_tier!(avx2, trampoline!(avx2, crate::simd::avx2::Avx2, false, []));
    crate::isa::x86_tier!(avx512, trampoline!(avx512, crate::simd::avx512::Avx512, true, []));
    #[cfg(feature = "half")]
    crate::isa::x86_tier!(
        avx512,
        trampoline!(avx512bf16, crate::simd::avx512::Avx512Bf16, true, ["avx512bf16"])
    );
}

/// An [`Op`] made of a marker type `F` that knows which generic function to call and the
/// arguments `A` to call it with ([`simd_fn!`]).
pub(crate) struct Call<F, A>(pub(crate) A, pub(crate) core::marker::PhantomData<F>);

/// The generic function behind a [`Call`]: `call` runs it on a backend with the arguments.
pub(crate) trait SimdFn<A> {
    type Output;
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // read by the x86 trampolines
    const DEEP: bool = false;
    #[cfg_attr(not(all(target_arch = "x86_64", feature = "half")), allow(dead_code))]
    const BF16: bool = false;
    fn call<S: Simd>(s: S, args: A) -> Self::Output;
}

impl<F: SimdFn<A>, A> Op for Call<F, A> {
    type Output = F::Output;
    const DEEP: bool = F::DEEP;
    const BF16: bool = F::BF16;
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> F::Output {
        F::call(s, self.0)
    }
}

/// Defines `$vis fn $run(isa: Isa, args...)`, which runs the generic function
/// `$f<S: Simd>(s: S, args...)` on an available `isa` through [`run`]: the one way the crate
/// dispatches a function written over [`Simd`]. Optional `deep = ...;` and `bf16 = ...;`
/// (constant expressions of the generic parameters) set [`Op::DEEP`] and [`Op::BF16`].
macro_rules! simd_fn {
    ($(#[$m:meta])* $vis:vis fn $run:ident $(<$($g:ident: $gb:path),*>)? ($($arg:ident: $ty:ty),* $(,)?)
        $(-> $ret:ty)? => $f:path $(; deep = $deep:expr)? $(; bf16 = $bf16:expr)?;) => {
        $(#[$m])*
        $vis fn $run $(<$($g: $gb),*>)? (isa: $crate::isa::Isa, $($arg: $ty),*) $(-> $ret)? {
            struct Marker<$($($g),*)?>(core::marker::PhantomData<($($($g,)*)?)>);
            impl $(<$($g: $gb),*>)? $crate::simd::tier::SimdFn<($($ty,)*)> for Marker<$($($g),*)?> {
                type Output = $crate::simd::tier::simd_fn!(@ret $($ret)?);
                $(const DEEP: bool = $deep;)?
                $(const BF16: bool = $bf16;)?
                #[inline(always)]
                fn call<S: $crate::simd::Simd>(s: S, ($($arg,)*): ($($ty,)*)) -> Self::Output {
                    $f(s, $($arg),*)
                }
            }
            let call = $crate::simd::tier::Call::<Marker<$($($g),*)?>, _>(($($arg,)*), core::marker::PhantomData);
            $crate::simd::tier::run(isa, call)
        }
    };
    (@ret) => { () };
    (@ret $r:ty) => { $r };
}
pub(crate) use simd_fn;
