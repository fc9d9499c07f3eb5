//! Every [`Activation`] as a candle op with its gradient.

use crate::storage::{Float, Kernel, apply, nn};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use nnsimd::Activation;

/// y = f(x) element-wise for an [`Activation`] (any variant, with its parameters), as a candle
/// op whose backward is [`ActivationBackward`].
///
/// Accuracy is nnsimd's: in f32 the forward pass is within 4 ULP of the exact value (ReLU,
/// ReLU6, leaky ReLU and hard-tanh exact), the gradient dx = dy·f'(x) within 8 ULP of the exact
/// f' times dy, or within an absolute 2^-23·|dy| near a root of f'. bf16 and f16 are computed in
/// f32 and rounded once to nearest even: within 1 ULP of the storage type. The result is
/// bitwise that of [`Activation::forward`] on the same slice.
///
/// Input: a contiguous CPU tensor of f32, bf16 or f16, any shape. An invalid parameter is the
/// candle error of [`nnsimd::Error::InvalidParameter`], raised when the op runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActivationOp(pub Activation);

/// dx = dy·f'(x): the gradient of [`ActivationOp`], from the op's input x and the output's
/// gradient dy (same shape and dtype), bitwise [`Activation::backward`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActivationBackward(pub Activation);

/// `f(x)` for `act`, with its gradient through candle's autograd.
pub fn activation(x: &Tensor, act: Activation) -> candle_core::Result<Tensor> {
    x.apply_op1(ActivationOp(act))
}

impl Kernel<1> for ActivationOp {
    fn run<E: Float>(&self, [(x, shape)]: [(&[E], &Shape); 1]) -> candle_core::Result<(Vec<E>, Shape)> {
        let mut y = x.to_vec();
        self.0.forward_inplace(&mut y).map_err(nn(self.0.name()))?;
        Ok((y, shape.clone()))
    }
}

impl Kernel<2> for ActivationBackward {
    fn run<E: Float>(
        &self,
        [(x, shape), (dy, _)]: [(&[E], &Shape); 2],
    ) -> candle_core::Result<(Vec<E>, Shape)> {
        let mut dx = dy.to_vec();
        self.0.backward_inplace(x, &mut dx).map_err(nn(self.0.name()))?;
        Ok((dx, shape.clone()))
    }
}

impl CustomOp1 for ActivationOp {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        apply(self.name(), self, [(s, l)])
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let dx = arg.contiguous()?.apply_op2_no_bwd(&grad_res.contiguous()?, &ActivationBackward(self.0))?;
        Ok(Some(dx))
    }
}

impl CustomOp2 for ActivationBackward {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        crate::storage::same_shape(self.name(), l1, l2)?;
        apply(self.name(), self, [(s1, l1), (s2, l2)])
    }
}
