//! An optimizer bridge: candle [`Var`]s stepped in place by any nnsimd optimizer.

use crate::storage::{msg, nn, not_contiguous};
use candle_core::backend::BackendStorage;
use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, DType, InplaceOp2, Layout, Tensor, Var};
use nnsimd::optim::{Config, Grads, Optimizer, Params};
use nnsimd::{Isa, f16};
use std::cell::RefCell;

const NAME: &str = "optimizer step";

/// Steps candle [`Var`]s with an nnsimd optimizer ([`Config`]: SGD, Adam, AdamW, Lion,
/// Adafactor, ...), one optimizer state per variable, each step fused and in place on the
/// variable's contiguous CPU storage.
///
/// - f32 variables are updated exactly as [`Optimizer::step`] updates a slice: bitwise nnsimd's
///   result for the same gradients.
/// - bf16 and f16 variables keep an f32 master copy here (initialized from the variable): the
///   step updates the master from the gradients widened exactly, and the variable receives the
///   master rounded to nearest even (bf16 in the same pass, [`Params::Master`]).
///
/// Gradients may be f32, bf16 or f16 and must be contiguous. A variable without a gradient in
/// the [`GradStore`] is left as it is and its state does not advance, as candle-nn's optimizers
/// do. Variables must be contiguous CPU tensors of f32, bf16 or f16 ([`NnsimdOptimizer::new`]
/// checks).
///
/// It implements candle-nn's [`candle_nn::Optimizer`] with [`Config`] as its configuration;
/// [`set_learning_rate`](candle_nn::Optimizer::set_learning_rate) rebuilds each state with the
/// new rate and carries the moments over (export and import), so the steps that follow are those
/// of an optimizer built with that rate from the same state.
pub struct NnsimdOptimizer {
    config: Config,
    params: Vec<Param>,
    /// A learning rate set since the last step, applied (and checked) by the next one.
    pending_lr: Option<f64>,
}

/// One variable with its optimizer state.
struct Param {
    var: Var,
    opt: Box<dyn Optimizer>,
    /// The f32 master of a bf16 or f16 variable.
    master: Option<Vec<f32>>,
}

impl NnsimdOptimizer {
    /// One optimizer state of `config` per variable. Errors: a variable that is not a CPU
    /// tensor of f32, bf16 or f16, and the optimizer's own checks of `config`.
    pub fn new(vars: Vec<Var>, config: Config) -> candle_core::Result<Self> {
        let params = vars.into_iter().map(|var| Param::new(var, &config)).collect::<Result<_, _>>()?;
        Ok(NnsimdOptimizer { config, params, pending_lr: None })
    }

    /// The configuration (with the learning rate last set).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The variables, in the order given.
    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.params.iter().map(|p| &p.var)
    }

    /// One step: each variable with a gradient in `grads` is updated in place.
    pub fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        if let Some(lr) = self.pending_lr.take() {
            self.rebuild(lr)?;
        }
        for p in &mut self.params {
            if let Some(g) = grads.get(&p.var) {
                p.step(g)?;
            }
        }
        Ok(())
    }

    /// Rebuilds every state with learning rate `lr`, importing the old state into it.
    fn rebuild(&mut self, lr: f64) -> candle_core::Result<()> {
        let mut config = self.config;
        *lr_mut(&mut config).ok_or_else(|| msg(NAME, "this optimizer's learning rate cannot be set"))? = lr;
        let mut fresh = Vec::with_capacity(self.params.len());
        for p in &self.params {
            let mut opt = config.build(p.var.dims()).map_err(nn(NAME))?;
            opt.import(&p.opt.export()).map_err(nn(NAME))?;
            fresh.push(opt);
        }
        for (p, opt) in self.params.iter_mut().zip(fresh) {
            p.opt = opt;
        }
        self.config = config;
        Ok(())
    }
}

/// The learning rate inside `config`, for the optimizers that have one.
fn lr_mut(config: &mut Config) -> Option<&mut f64> {
    Some(match config {
        Config::Sgd(c) => &mut c.lr,
        Config::Adagrad(c) => &mut c.lr,
        Config::Adadelta(c) => &mut c.lr,
        Config::RmsProp(c) => &mut c.lr,
        Config::Adam(c) => &mut c.lr,
        Config::AdamW(c) => &mut c.lr,
        Config::Adamax(c) => &mut c.lr,
        Config::NAdam(c) => &mut c.lr,
        Config::Lion(c) => &mut c.lr,
        Config::Adafactor(c) => &mut c.lr,
        _ => return None,
    })
}

impl Param {
    fn new(var: Var, config: &Config) -> candle_core::Result<Param> {
        if !var.device().is_cpu() {
            return Err(msg(NAME, format!("variable on {:?}: only CPU tensors are supported", var.device())));
        }
        let master = match var.dtype() {
            DType::F32 => None,
            DType::BF16 | DType::F16 => Some(var.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?),
            other => return Err(crate::storage::unsupported(NAME, other)),
        };
        let opt = config.build(var.dims()).map_err(nn(NAME))?;
        Ok(Param { var, opt, master })
    }

    fn step(&mut self, grad: &Tensor) -> candle_core::Result<()> {
        let op = Step { opt: RefCell::new(&mut *self.opt), master: RefCell::new(self.master.as_deref_mut()) };
        self.var.inplace_op2(grad, &op)
    }
}

/// The in-place step of one variable (first operand) from its gradient (second).
struct Step<'a> {
    opt: RefCell<&'a mut dyn Optimizer>,
    master: RefCell<Option<&'a mut [f32]>>,
}

impl InplaceOp2 for Step<'_> {
    fn name(&self) -> &'static str {
        NAME
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        let (p0, p1) = l1.contiguous_offsets().ok_or_else(|| not_contiguous(NAME, l1))?;
        let (g0, g1) = l2.contiguous_offsets().ok_or_else(|| not_contiguous(NAME, l2))?;
        let grads = match s2 {
            CpuStorage::F32(g) => Grads::F32(&g[g0..g1]),
            CpuStorage::BF16(g) => Grads::Bf16(&g[g0..g1]),
            CpuStorage::F16(g) => Grads::F16(&g[g0..g1]),
            other => return Err(crate::storage::unsupported(NAME, other.dtype())),
        };
        let mut opt = self.opt.borrow_mut();
        let mut master = self.master.borrow_mut();
        let isa = Isa::detect();
        match (s1, master.as_deref_mut()) {
            (CpuStorage::F32(p), None) => opt.step_typed(isa, Params::F32(&mut p[p0..p1]), grads),
            (CpuStorage::BF16(p), Some(master)) => {
                opt.step_typed(isa, Params::Master { master, copy: &mut p[p0..p1] }, grads)
            }
            (CpuStorage::F16(p), Some(master)) => opt.step_typed(isa, Params::F32(master), grads).map(|()| {
                for (p, &m) in p[p0..p1].iter_mut().zip(master.iter()) {
                    *p = f16::from_f32(m);
                }
            }),
            (other, _) => return Err(crate::storage::unsupported(NAME, other.dtype())),
        }
        .map_err(nn(NAME))
    }
}

impl candle_nn::Optimizer for NnsimdOptimizer {
    type Config = Config;

    fn new(vars: Vec<Var>, config: Config) -> candle_core::Result<Self> {
        NnsimdOptimizer::new(vars, config)
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        NnsimdOptimizer::step(self, grads)
    }

    fn learning_rate(&self) -> f64 {
        let mut config = self.config;
        self.pending_lr.or_else(|| lr_mut(&mut config).map(|lr| *lr)).unwrap_or(f64::NAN)
    }

    /// Takes effect at the next step, which fails if the optimizer refuses the rate.
    fn set_learning_rate(&mut self, lr: f64) {
        self.pending_lr = Some(lr);
    }
}
