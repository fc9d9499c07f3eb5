//! # nnsimd-candle
//!
//! [nnsimd](nnsimd)'s CPU kernels inside [candle](candle_core): every [`Activation`], softmax
//! and log-softmax over the last dimension, and cross-entropy over class indices as candle
//! custom ops whose backward runs through candle's autograd (so [`Var`](candle_core::Var)s get
//! gradients), and [`NnsimdOptimizer`], which steps candle variables with any nnsimd optimizer.
//!
//! ```
//! use candle_core::{Device, Tensor, Var};
//! use nnsimd::Activation;
//! use nnsimd_candle::{activation, cross_entropy, softmax_last_dim};
//!
//! let x = Var::from_vec(vec![-1.0f32, 0.0, 1.0, 2.0, 0.5, -0.5], (2, 3), &Device::Cpu)?;
//! let h = activation(&x, Activation::Gelu)?;
//! let p = softmax_last_dim(&h)?;
//! assert!((p.sum_all()?.to_scalar::<f32>()? - 2.0).abs() < 1e-6);
//!
//! let targets = Tensor::new(&[2i64, 0], &Device::Cpu)?;
//! let loss = cross_entropy(&h, &targets)?;
//! let grads = loss.backward()?;
//! assert_eq!(grads.get(&x).unwrap().dims(), &[2, 3]);
//! # Ok::<(), candle_core::Error>(())
//! ```
//!
//! # What the ops take
//!
//! Contiguous CPU tensors (a view at an offset, such as a slice along the first dimension, is
//! fine) of f32, bf16 or f16. Any other dtype, a strided layout (call `.contiguous()` first), a
//! CUDA or Metal tensor, or an error of nnsimd (an invalid parameter, a class index out of
//! range) is a candle error naming the op. The gradients that candle passes back are made
//! contiguous before the backward op reads them.
//!
//! # Accuracy
//!
//! nnsimd's, and each op's result is bitwise that of the nnsimd function on the same slice. In
//! f32: activations within 4 ULP of the exact value (the piecewise-linear ones exact), their
//! gradients within 8 ULP, or an absolute 2^-23·|dy| near a root of f'; softmax and
//! log-softmax within 4 ULP (log-softmax or 2^-22·(|x − m| + ln Σ) absolute), their gradients
//! within 8 ULP or a small absolute bound where the difference cancels; cross-entropy's gradient
//! within 8 ULP. bf16 and f16 are computed in f32 and rounded once to the storage type. Each
//! op's documentation gives its bound.

mod activation;
mod loss;
mod optim;
mod rows;
mod storage;

pub use activation::{ActivationBackward, ActivationOp, activation};
pub use loss::{CrossEntropyBackward, CrossEntropyOp, cross_entropy};
pub use nnsimd::Activation;
pub use optim::NnsimdOptimizer;
pub use rows::{Rows, RowsBackward, log_softmax_last_dim, softmax_last_dim};
pub use storage::Float;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctest;
