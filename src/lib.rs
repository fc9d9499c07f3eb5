//! # nnsimd
//!
//! Hand-vectorized CPU kernels for neural networks: activation functions (forward and
//! backward) and, in later versions, fused optimizer steps. Each kernel is written once over a
//! small vector trait and compiled for every instruction set: AVX-512, AVX2+FMA, NEON, a
//! portable tier on the `wide` crate, and scalar. The best one is picked at run time
//! ([`Isa::detect`]); `NNSIMD_ISA=avx2` (or `portable`, `scalar`, ...) lowers the choice, and
//! every kernel has a `_with` form that takes an explicit [`Isa`].
//!
//! ```
//! use nnsimd::Activation;
//! let x = [-2.0f32, -0.5, 0.0, 0.5, 2.0];
//! let mut y = [0.0f32; 5];
//! Activation::GeluTanh.forward(&x, &mut y).unwrap();
//! assert!((y[4] - 1.9545977).abs() < 1e-6);
//! ```
//!
//! Accuracy: within a few ULP of an f64 reference on every f32 input, tails included (see
//! the README's measured table). Results are the same for any thread count.
//!
//! Beyond the element-wise [`Activation`]s: [`Prelu`] (learned slopes per channel, with the
//! slope gradient), [`Rrelu`] (random slopes from a counter-based generator, the same on every
//! ISA and thread count), and [`Activation::backward_from_output`] for frameworks that keep
//! y = f(x) instead of x.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod activation;
mod error;
mod isa;
mod kernel;
#[doc(hidden)]
pub mod math;
#[cfg(feature = "std")]
pub mod optim;
pub mod parallel;
#[doc(hidden)]
pub mod reference;
mod simd;

pub use activation::{Activation, Prelu, Rrelu, RreluMode};
pub use error::{Error, NameBuf};
pub use isa::Isa;
