//! # nnsimd
//!
//! Hand-vectorized CPU kernels for neural networks: activation functions (forward and
//! backward) and fused optimizer steps with PyTorch's semantics. Each kernel is written once
//! over a small vector trait and compiled for every instruction set: AVX-512, AVX2+FMA, NEON, a
//! portable tier on the `wide` crate, and scalar. The best one is picked at run time
//! ([`Isa::detect`]); `NNSIMD_ISA=avx2` (or `portable`, `scalar`, ...) lowers the choice, and
//! every kernel has a `_with` form that takes an explicit [`Isa`].
//!
//! # Quick start
//!
//! ## Run an activation
//!
//! [`Activation`] names the function and its parameters; `forward` writes y = f(x), `backward`
//! writes dx = dy·f'(x) (the chain rule of back-propagation), and both have in-place forms.
//!
//! ```
//! use nnsimd::Activation;
//!
//! let x = [-2.0f32, -0.5, 0.0, 0.5, 2.0];
//! let mut y = [0.0f32; 5];
//! Activation::GeluTanh.forward(&x, &mut y)?;
//! assert!((y[4] - 1.9545977).abs() < 1e-6);
//!
//! // dx = dy · σ'(x), with σ'(0) = 1/4.
//! let dy = [1.0f32; 5];
//! let mut dx = [0.0f32; 5];
//! Activation::Sigmoid.backward(&x, &dy, &mut dx)?;
//! assert_eq!(dx[2], 0.25);
//!
//! // In place, and by name with PyTorch's default parameters (slope 0.01).
//! let mut h = x;
//! Activation::from_name("leaky_relu")?.forward_inplace(&mut h)?;
//! assert_eq!(h, [-0.02, -0.005, 0.0, 0.5, 2.0]);
//!
//! // Bad input is an error, and nothing is written.
//! let mut short = [7.0f32; 4];
//! assert!(Activation::Tanh.forward(&x, &mut short).is_err());
//! assert_eq!(short, [7.0; 4]);
//! # Ok::<(), nnsimd::Error>(())
//! ```
//!
//! ## Step an optimizer
//!
//! Each optimizer in [`optim`] has a config struct with PyTorch's argument names and defaults and
//! a state that implements [`optim::Optimizer`]: `step` updates the parameters in place from
//! their gradients in one fused pass.
//!
//! ```
//! use nnsimd::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
//!
//! // Plain SGD: p ← p − lr·g.
//! let mut p = vec![1.0f32, -2.0, 3.0];
//! let g = vec![0.5f32, 0.5, -1.0];
//! let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() }, p.len())?;
//! sgd.step(&mut p, &g)?;
//! assert_eq!(p, [0.95, -2.05, 3.1]);
//!
//! // Adam minimizing ½‖p − target‖² (gradient p − target); its first step moves each
//! // parameter by about lr against the sign of its gradient.
//! let target = [0.5f32, -1.0, 2.0];
//! let mut p = vec![0.0f32; 3];
//! let mut adam = Adam::new(AdamConfig { lr: 0.05, ..Default::default() }, p.len())?;
//! for _ in 0..300 {
//!     let g: Vec<f32> = p.iter().zip(&target).map(|(p, t)| p - t).collect();
//!     adam.step(&mut p, &g)?;
//! }
//! assert!(p.iter().zip(&target).all(|(p, t)| (p - t).abs() < 0.01));
//! assert_eq!(adam.steps(), 300);
//! # Ok::<(), nnsimd::Error>(())
//! ```
//!
//! ## Pick an ISA
//!
//! ```
//! use nnsimd::{Activation, Error, Isa};
//!
//! println!("running on {}", Isa::detect()); // the best tier, or the one NNSIMD_ISA asks for
//! let x = [0.25f32; 100];
//! let mut y = [0.0f32; 100];
//! for isa in Isa::available() {
//!     // Every tier gives the same result within the stated accuracy.
//!     Activation::Mish.forward_with(isa, &x, &mut y)?;
//!     assert!((y[0] - 0.169_572_4).abs() < 1e-6); // 0.25·tanh(ln(1 + e^0.25))
//! }
//! // A tier this CPU lacks is an error, not a crash.
//! for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
//!     assert_eq!(Activation::Mish.forward_with(isa, &x, &mut y), Err(Error::IsaUnavailable(isa)));
//! }
//! assert_eq!("avx2".parse::<Isa>()?, Isa::Avx2);
//! # Ok::<(), nnsimd::Error>(())
//! ```
//!
//! ## bf16 and f16
//!
//! With the feature `half`, the [`Activation`] methods take slices of `bf16` and `f16` too (re-exported from the `half` crate)
//! (they are generic over the sealed [`Element`]: f32, bf16, f16). The values are converted
//! to f32 exactly (in registers for bf16 through the memory-bound piecewise-linear kernels, in
//! blocks otherwise), the f32 kernel runs, and the results are rounded to nearest even (as the
//! `half` crate's `from_f32`): within 1 ULP of the storage type of the exact result.
//! The conversions use F16C, AVX-512F, AVX-512-BF16 and NEON where the CPU has them, and give
//! the same bits on every path ([`element`] has the details).
//!
//! ```
//! # #[cfg(feature = "half")] {
//! use nnsimd::{Activation, bf16};
//!
//! let x = [-2.0f32, -0.5, 0.0, 0.5, 2.0].map(bf16::from_f32);
//! let mut y = [bf16::ZERO; 5];
//! Activation::Relu.forward(&x, &mut y)?;
//! assert_eq!(y[4], bf16::from_f32(2.0));
//! let dy = [bf16::ONE; 5];
//! let mut dx = [bf16::ZERO; 5];
//! Activation::Sigmoid.backward(&x, &dy, &mut dx)?;
//! assert_eq!(dx[2], bf16::from_f32(0.25));
//! # }
//! # Ok::<(), nnsimd::Error>(())
//! ```
//!
//! # Accuracy and speed
//!
//! Forward within 4 ULP of an f64 reference on every f32 input, tails, subnormals, ±inf and NaN
//! included (ReLU, ReLU6, leaky ReLU and hard-tanh exact); backward within 8 ULP, or within an
//! absolute 2^-23 near the roots of f' (2^-23·β for E-Swish, β times SiLU's f'). Each activation's formula, derivative and source are on
//! its [`Activation`] variant; the measured worst cases per kernel and ISA, and the speed
//! against a plain loop and the memory bandwidth, are tables in the README. Nothing assumes
//! flush-to-zero. Results are bitwise identical for any thread count (fixed chunks, feature
//! `rayon`).
//!
//! # Corrections to common write-ups
//!
//! The kernels follow PyTorch where write-ups of these functions differ:
//! - hard-sigmoid is relu6(x + 3)/6 (slope 1/6 on [−3, 3]), not a clamp of σ nor the
//!   0.2·x + 0.5 of some frameworks ([`Activation::HardSigmoid`]);
//! - hard-tanh clamps x itself to [min, max], not tanh(x) ([`Activation::HardTanh`]);
//! - Adam's second moment averages g² (the element-wise square, not g), and ε is added after
//!   the square root: p ← p − lr·m̂/(√v̂ + ε) ([`optim::Adam`]);
//! - SELU's constants are λ = 1.0507009873554804934193349852946 and
//!   α = 1.6732632423543772848170429916717 ([`SELU_LAMBDA`](activation::SELU_LAMBDA),
//!   [`SELU_ALPHA`](activation::SELU_ALPHA)); the 1.0507 and 1.6733 often quoted are 8 and
//!   308 f32 ULP off.
//!
//! # Beyond the element-wise activations
//!
//! Beyond the element-wise [`Activation`]s: [`Prelu`] (learned slopes per channel, with the
//! slope gradient), [`Rrelu`] (random slopes from a counter-based generator, the same on every
//! ISA and thread count), and [`Activation::backward_from_output`] for frameworks that keep
//! y = f(x) instead of x.
//!
//! Row-wise kernels along any axis ([`rows`]): [`Softmax`], [`LogSoftmax`] (with logsumexp) and
//! [`Hardmax`], forward and backward from the saved output.
//!
//! Loss functions with PyTorch's semantics ([`loss`]): cross-entropy (fused with its gradient,
//! in place over the logits if wanted), NLL, and the element-wise losses fused with their
//! reduction.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
// `unsafe` stays in small blocks (SIMD intrinsics, the feature-checked entry points), each
// with a `// SAFETY:` comment that clippy enforces; unsafe fns state their contract.
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub mod activation;
#[cfg(feature = "half")]
mod convert;
mod counter;
mod drivers;
pub mod element;
mod error;
#[cfg(feature = "internals")]
pub mod internals;
mod isa;
#[cfg(feature = "std")]
pub mod loss;
mod math;
#[cfg(feature = "std")]
pub mod optim;
mod parallel;
#[cfg(any(test, feature = "internals"))]
mod reference;
#[cfg(feature = "std")]
pub mod rows;
mod simd;
#[cfg(any(test, feature = "internals"))]
mod ulp;

pub use activation::{Activation, Glu, Prelu, Rrelu, RreluMode};
pub use element::Element;
pub use error::{Error, NameBuf};
#[cfg(feature = "half")]
pub use half::{bf16, f16};
pub use isa::Isa;
pub use parallel::CHUNK;
#[cfg(feature = "std")]
pub use rows::{Hardmax, LogSoftmax, Softmax};
