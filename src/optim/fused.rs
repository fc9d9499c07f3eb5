//! The optimizers whose step is one fused element-wise pass (all but Adafactor): one generic
//! type, [`Fused`], and what each optimizer adds to it ([`Method`]).

use super::io::Io;
use super::scaled::Scaled;
use super::state::{State, state_methods};
use super::{Optimizer, Params};
use crate::error::Error;
use crate::isa::Isa;
use core::fmt::Debug;

/// What one fused optimizer is, apart from the step they all share: the value a [`Fused`] keeps
/// (its checked hyperparameters), its state, and the per-step rule it builds from them.
pub(crate) trait Method: Clone + Debug + Send + Sync + 'static {
    /// The per-step rule: the f32 scalars of one step, and the element-wise update.
    type Rule: Rule;

    /// Scalars carried from step to step, by PyTorch's state key, with their initial values.
    const SCALARS: &'static [(&'static str, f64)] = &[];

    /// Checks the hyperparameters: [`Error::InvalidParameter`] for the first one out of range.
    fn check(&self) -> Result<(), Error>;

    /// The per-element buffers, by PyTorch's state key and initial value, in the order the
    /// rule takes them (a rule is run over exactly these).
    fn buffers(&self) -> impl Iterator<Item = (&'static str, f32)>;

    /// The rule of step `t` (counted from 1), called once every check has passed, so the step
    /// will be taken: it advances `scalars` (in the order of [`Method::SCALARS`]) to their
    /// values after step `t`.
    fn rule(&self, t: u64, scalars: &mut [f64]) -> Self::Rule;
}

/// A per-step rule, run over the state buffers its optimizer built: their number picks the
/// rule's [`UpdateRule`](crate::drivers::update::UpdateRule) instance ([`arities!`]).
pub(crate) trait Rule: Sync {
    /// Runs the update over the checked `io` and the buffers of `st`.
    fn run(&self, isa: Isa, io: Io<'_>, st: &mut State);
}

/// Implements [`Rule`] for a rule type over the numbers of buffers it is built for, each an
/// `UpdateRule<N>` of that type: `arities!(Rule: 2, 3)`.
macro_rules! arities {
    ($rule:ty: $($n:literal),+) => {
        impl $crate::optim::fused::Rule for $rule {
            fn run(
                &self,
                isa: $crate::isa::Isa,
                io: $crate::optim::io::Io<'_>,
                st: &mut $crate::optim::state::State,
            ) {
                match st.num_buffers() {
                    $($n => $crate::optim::io::run_io::<_, $n>(isa, self, io, st.buffers()),)+
                    n => unreachable!("{n} state buffers: the method builds {:?}", [$($n),+]),
                }
            }
        }
    };
}
pub(crate) use arities;

/// The constructor and accessor of `$ty`, a [`Fused`] over its config type `$cfg`.
macro_rules! constructors {
    ($ty:ident, $cfg:ty) => {
        impl $ty {
            /// A fresh state for `len` parameters, after checking `cfg`
            /// ([`Error::InvalidParameter`](crate::Error::InvalidParameter) for a hyperparameter
            /// out of its range, [`Error::OutOfMemory`](crate::Error::OutOfMemory) if the state
            /// does not fit).
            pub fn new(cfg: $cfg, len: usize) -> Result<$ty, $crate::error::Error> {
                $crate::optim::fused::new(cfg, len)
            }

            /// The hyperparameters.
            pub fn config(&self) -> &$cfg {
                self.method()
            }
        }
    };
}
pub(crate) use constructors;

/// An optimizer whose step is one fused pass over parameters, gradients and state: the type
/// behind [`Sgd`](super::Sgd), [`Adagrad`](super::Adagrad), [`Adadelta`](super::Adadelta),
/// [`RmsProp`](super::RmsProp), [`Adam`](super::Adam) (and AdamW), [`Adamax`](super::Adamax),
/// [`NAdam`](super::NAdam) and [`Lion`](super::Lion), each `Fused` over its configuration
/// (Adam's also says whether the weight decay is decoupled). Each of those names documents its
/// formula, state and constructor.
#[derive(Clone, Debug)]
pub struct Fused<M> {
    method: M,
    state: State,
}

/// A fresh optimizer for `len` parameters, after checking `method`'s hyperparameters; its
/// buffers are allocated here ([`Error::OutOfMemory`] if they do not fit).
pub(crate) fn new<M: Method>(method: M, len: usize) -> Result<Fused<M>, Error> {
    method.check()?;
    let state = State::new(len, method.buffers())?.with_scalars(M::SCALARS);
    Ok(Fused { method, state })
}

impl<M> Fused<M> {
    /// The hyperparameters, as checked.
    pub(crate) fn method(&self) -> &M {
        &self.method
    }
}

impl<M: Method> Optimizer for Fused<M> {
    fn step_grads(&mut self, isa: Isa, params: Params<'_>, grads: Scaled<'_>) -> Result<(), Error> {
        let (isa, t, io) = self.state.begin(isa, params, grads)?;
        let rule = self.method.rule(t, self.state.scalars_mut());
        rule.run(isa, io, &mut self.state);
        self.state.finish(t);
        Ok(())
    }

    state_methods!();
}
