//! What every optimizer's state shares: the number of parameters it was built for, the step
//! counter, and the checks a step makes before it writes.

use super::check_step;
use crate::error::Error;
use crate::isa::Isa;

/// The part of an optimizer's state that does not depend on the optimizer.
#[derive(Clone, Debug)]
pub(crate) struct State {
    /// Parameters per step.
    len: usize,
    /// Steps taken (u64: a step count never wraps in practice, and saturates if it would).
    steps: u64,
}

impl State {
    /// The state of an optimizer for `len` parameters that has not stepped yet.
    pub(crate) fn new(len: usize) -> State {
        State { len, steps: 0 }
    }

    /// Checks a step's ISA and lengths before anything is written, and returns the checked ISA
    /// and the number `t` of the step about to be taken (counted from 1). The counter moves
    /// only at [`State::finish`], so a step that fails leaves it as it was.
    pub(crate) fn begin(&self, isa: Isa, params: &[f32], grads: &[f32]) -> Result<(Isa, u64), Error> {
        let isa = check_step(isa, self.len, params, grads)?;
        Ok((isa, self.steps.saturating_add(1)))
    }

    /// Records that step `t` (from [`State::begin`]) has been taken.
    pub(crate) fn finish(&mut self, t: u64) {
        self.steps = t;
    }

    /// The number of parameters.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The number of steps taken.
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }
}

/// The [`Optimizer`](super::Optimizer) methods that only read the shared [`State`], for an
/// optimizer that keeps it in a field named `state`.
macro_rules! state_methods {
    () => {
        fn num_params(&self) -> usize {
            self.state.len()
        }

        fn steps(&self) -> u64 {
            self.state.steps()
        }
    };
}
pub(crate) use state_methods;
