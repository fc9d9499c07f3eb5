//! [`Softmax`] and [`LogSoftmax`] over the last dimension as candle ops with their gradients.

use crate::storage::{Float, Kernel, apply, msg, nn, same_shape};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use nnsimd::{LogSoftmax, Softmax};

/// Softmax or log-softmax over the last dimension of a tensor, as a candle op whose backward
/// ([`RowsBackward`]) reads the saved output.
///
/// - [`Rows::Softmax`]: y_i = e^(x_i − m) / Σ_j e^(x_j − m), m the row's maximum; within 4 ULP
///   of the exact value in f32; backward dx = y·(dy − Σ dy·y) within 8 ULP, or 2^-22·Σ|dy·y|
///   absolute where the difference cancels.
/// - [`Rows::LogSoftmax`]: y_i = x_i − m − ln Σ_j e^(x_j − m); within 4 ULP, or
///   2^-22·(|x − m| + ln Σ) absolute; backward dx = dy − e^y·Σ dy within 8 ULP, or
///   2^-22·Σ|dy·e^y| absolute.
///
/// bf16 and f16 rows are computed in f32 and rounded once. Results are bitwise those of
/// [`Softmax::forward`] / [`LogSoftmax::forward`] with `new(last dim)`. Input: a contiguous
/// CPU tensor of f32, bf16 or f16 with at least one dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// Softmax.
    Softmax,
    /// Log-softmax.
    LogSoftmax,
}

/// The gradient of [`Rows`]: dx from the forward output y and its gradient dy (same shape and
/// dtype), bitwise [`Softmax::backward`] / [`LogSoftmax::backward`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowsBackward(pub Rows);

/// Softmax over the last dimension, with its gradient.
pub fn softmax_last_dim(x: &Tensor) -> candle_core::Result<Tensor> {
    x.apply_op1(Rows::Softmax)
}

/// Log-softmax over the last dimension, with its gradient.
pub fn log_softmax_last_dim(x: &Tensor) -> candle_core::Result<Tensor> {
    x.apply_op1(Rows::LogSoftmax)
}

impl Rows {
    fn op_name(self) -> &'static str {
        match self {
            Rows::Softmax => "softmax",
            Rows::LogSoftmax => "log_softmax",
        }
    }
}

/// The last dimension of `shape`, or an error for a scalar.
fn last_dim(op: &'static str, shape: &Shape) -> candle_core::Result<usize> {
    shape.dims().last().copied().ok_or_else(|| msg(op, "a scalar has no last dimension"))
}

impl Kernel<1> for Rows {
    fn run<E: Float>(&self, [(x, shape)]: [(&[E], &Shape); 1]) -> candle_core::Result<(Vec<E>, Shape)> {
        let op = self.op_name();
        let len = last_dim(op, shape)?;
        let mut y = x.to_vec();
        if !y.is_empty() {
            match self {
                Rows::Softmax => Softmax::new(len).and_then(|k| k.forward_inplace(&mut y)),
                Rows::LogSoftmax => LogSoftmax::new(len).and_then(|k| k.forward_inplace(&mut y)),
            }
            .map_err(nn(op))?;
        }
        Ok((y, shape.clone()))
    }
}

impl Kernel<2> for RowsBackward {
    fn run<E: Float>(
        &self,
        [(y, shape), (dy, _)]: [(&[E], &Shape); 2],
    ) -> candle_core::Result<(Vec<E>, Shape)> {
        let op = self.0.op_name();
        let len = last_dim(op, shape)?;
        let mut dx = dy.to_vec();
        if !dx.is_empty() {
            match self.0 {
                Rows::Softmax => Softmax::new(len).and_then(|k| k.backward_inplace(y, &mut dx)),
                Rows::LogSoftmax => LogSoftmax::new(len).and_then(|k| k.backward_inplace(y, &mut dx)),
            }
            .map_err(nn(op))?;
        }
        Ok((dx, shape.clone()))
    }
}

impl CustomOp1 for Rows {
    fn name(&self) -> &'static str {
        self.op_name()
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        apply(self.name(), self, [(s, l)])
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let dx = res.contiguous()?.apply_op2_no_bwd(&grad_res.contiguous()?, &RowsBackward(*self))?;
        Ok(Some(dx))
    }
}

impl CustomOp2 for RowsBackward {
    fn name(&self) -> &'static str {
        self.0.op_name()
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        same_shape(self.name(), l1, l2)?;
        apply(self.name(), self, [(s1, l1), (s2, l2)])
    }
}
