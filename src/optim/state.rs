//! What every optimizer's state shares: the number of parameters it was built for, the step
//! counter, the named buffers and scalars carried from step to step, the checks a step makes
//! before it writes, and export / import.

use super::Checkpoint;
use super::buffer::Buffer;
use super::io::Io;
use super::scaled::Scaled;
use super::typed::Params;
use crate::error::{Error, NameBuf, check_len};
use crate::isa::Isa;
use std::vec::Vec;

/// The part of an optimizer's state that does not depend on the optimizer's formula.
#[derive(Clone, Debug)]
pub(crate) struct State {
    /// Parameters per step.
    len: usize,
    /// Steps taken (u64: a step count never wraps in practice, and saturates if it would).
    steps: u64,
    /// Per-element buffers, named after PyTorch's state keys, in the order the kernel takes them.
    buffers: Vec<(&'static str, Buffer)>,
    /// Scalars carried from step to step (NAdam's μ product): names and initial values, and
    /// the current values in the same order.
    scalar_names: &'static [(&'static str, f64)],
    scalars: Vec<f64>,
}

impl State {
    /// The state of an optimizer for `len` parameters that has not stepped yet, with one
    /// buffer of `len` elements per `(name, initial value)`, or [`Error::OutOfMemory`].
    pub(crate) fn new(
        len: usize,
        buffers: impl IntoIterator<Item = (&'static str, f32)>,
    ) -> Result<State, Error> {
        State::sized(len, buffers.into_iter().map(|(name, init)| (name, len, init)))
    }

    /// As [`State::new`], but each buffer `(name, length, initial value)` has its own length
    /// (Adafactor's `row_var` and `col_var`).
    pub(crate) fn sized(
        len: usize,
        buffers: impl IntoIterator<Item = (&'static str, usize, f32)>,
    ) -> Result<State, Error> {
        let buffers = buffers.into_iter();
        let mut bufs = Vec::new();
        let (lower, upper) = buffers.size_hint();
        bufs.try_reserve_exact(upper.unwrap_or(lower)).map_err(|_| Error::OutOfMemory { elements: len })?;
        for (name, n, init) in buffers {
            bufs.push((name, Buffer::filled(n, init)?));
        }
        Ok(State { len, steps: 0, buffers: bufs, scalar_names: &[], scalars: Vec::new() })
    }

    /// Adds the scalars carried from step to step, by name and initial value.
    pub(crate) fn with_scalars(mut self, scalars: &'static [(&'static str, f64)]) -> State {
        self.scalar_names = scalars;
        self.scalars = scalars.iter().map(|s| s.1).collect();
        self
    }

    /// Checks a step's ISA and lengths before anything is written, and returns the checked ISA,
    /// the number `t` of the step about to be taken (counted from 1) and the checked slices.
    /// The counter moves only at [`State::finish`], so a step that fails leaves it as it was.
    pub(crate) fn begin<'a>(
        &self,
        isa: Isa,
        params: Params<'a>,
        grads: Scaled<'a>,
    ) -> Result<(Isa, u64, Io<'a>), Error> {
        let isa = isa.check()?;
        let t = self.steps.saturating_add(1);
        Ok((isa, t, Io::new(params, grads, self.len, t)?))
    }

    /// Records that step `t` (from [`State::begin`]) has been taken.
    pub(crate) fn finish(&mut self, t: u64) {
        self.steps = t;
    }

    /// The buffers, in order, as the `N` state slices of a kernel (the optimizer built exactly
    /// `N` of them).
    pub(crate) fn buffers<const N: usize>(&mut self) -> [&mut [f32]; N] {
        debug_assert_eq!(self.buffers.len(), N);
        let mut it = self.buffers.iter_mut().map(|(_, b)| &mut b[..]);
        core::array::from_fn(|_| it.next().unwrap_or_default())
    }

    /// The number of buffers.
    pub(crate) fn num_buffers(&self) -> usize {
        self.buffers.len()
    }

    /// Buffer `i`, read-only.
    pub(crate) fn buffer(&self, i: usize) -> &[f32] {
        &self.buffers[i].1
    }

    /// The scalars' values, in order.
    pub(crate) fn scalars_mut(&mut self) -> &mut [f64] {
        &mut self.scalars
    }

    /// The number of parameters.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The number of steps taken.
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// The state as plain data, borrowed.
    pub(crate) fn export(&self) -> Checkpoint<'_> {
        Checkpoint {
            steps: self.steps,
            scalars: self.scalar_names.iter().zip(&self.scalars).map(|((name, _), v)| (*name, *v)).collect(),
            buffers: self.buffers.iter().map(|(name, b)| (*name, &b[..])).collect(),
        }
    }

    /// Replaces the state by `c` after checking that it has the same scalars and buffers (names,
    /// order and lengths), finite scalars, buffers whose values are all finite and, in a second
    /// moment ([`second_moment`]), ≥ 0, and at most [`MAX_STEPS`] steps; on `Err` nothing has
    /// changed.
    pub(crate) fn import(&mut self, c: &Checkpoint<'_>) -> Result<(), Error> {
        check_len("buffers", self.buffers.len(), c.buffers.len())?;
        check_len("scalars", self.scalars.len(), c.scalars.len())?;
        for ((name, b), (got, values)) in self.buffers.iter().zip(&c.buffers) {
            same_name(name, got)?;
            check_len(name, b.len(), values.len())?;
        }
        for ((name, _), (_, values)) in self.buffers.iter().zip(&c.buffers) {
            check_values(name, values)?;
        }
        if c.steps > MAX_STEPS {
            return Err(Error::InvalidParameter {
                name: "steps",
                value: c.steps as f64,
                expected: "below 2^53",
            });
        }
        for ((name, _), (got, value)) in self.scalar_names.iter().zip(&c.scalars) {
            same_name(name, got)?;
            if !value.is_finite() {
                return Err(Error::InvalidParameter { name, value: *value, expected: "finite" });
            }
        }
        for ((_, b), (_, values)) in self.buffers.iter_mut().zip(&c.buffers) {
            b.copy_from_slice(values);
        }
        for (s, (_, value)) in self.scalars.iter_mut().zip(&c.scalars) {
            *s = *value;
        }
        self.steps = c.steps;
        Ok(())
    }
}

/// The most steps a checkpoint may hold: the step arithmetic (bias corrections β^t, t^decay,
/// 1/√t) takes the number t = steps + 1 of the next step as an f64, exact up to 2^53; beyond
/// it t would round to a neighbour, and the resumed steps would not be those of the run that
/// saved it.
const MAX_STEPS: u64 = (1 << 53) - 1;

/// Whether the buffer of PyTorch's state key `name` holds a second moment: a running mean,
/// sum or maximum of squares or magnitudes (Adam's and NAdam's `exp_avg_sq`, AMSGrad's
/// `max_exp_avg_sq`, RMSprop's and Adadelta's `square_avg`, Adadelta's `acc_delta`,
/// Adagrad's `sum`, Adamax's `exp_inf`, Adafactor's `row_var`, `col_var` and `variance`). No
/// step makes one negative, and the update takes its square root or divides by it: a negative
/// value imported there would give NaN. The first moments and momentum buffers (`exp_avg`,
/// `grad_avg`, `momentum_buffer`) are signed.
fn second_moment(name: &str) -> bool {
    matches!(
        name,
        "exp_avg_sq"
            | "max_exp_avg_sq"
            | "square_avg"
            | "acc_delta"
            | "sum"
            | "exp_inf"
            | "row_var"
            | "col_var"
            | "variance"
    )
}

/// Checks an imported buffer's values: all finite (an imported ±inf or NaN would spread to its
/// parameter, or with Adafactor to a whole matrix), and ≥ 0 in a [`second_moment`]. The error
/// names the buffer and the first value at fault.
fn check_values(name: &'static str, values: &[f32]) -> Result<(), Error> {
    let non_negative = second_moment(name);
    let bad = |v: f32| !v.is_finite() || (non_negative && v < 0.0);
    match values.iter().position(|&v| bad(v)) {
        None => Ok(()),
        Some(position) => Err(Error::InvalidInput {
            arg: name,
            position,
            value: values[position],
            expected: if non_negative { "finite and >= 0 (a second moment)" } else { "finite" },
        }),
    }
}

/// Checks that an imported entry has the name the state expects at its place.
fn same_name(expected: &str, got: &str) -> Result<(), Error> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::UnknownName { kind: "state entry", name: NameBuf::new(got) })
    }
}

/// The [`Optimizer`](super::Optimizer) methods that only involve the shared [`State`], for an
/// optimizer that keeps it in a field named `state`.
macro_rules! state_methods {
    () => {
        fn num_params(&self) -> usize {
            self.state.len()
        }

        fn steps(&self) -> u64 {
            self.state.steps()
        }

        fn export(&self) -> super::Checkpoint<'_> {
            self.state.export()
        }

        fn import(&mut self, checkpoint: &super::Checkpoint<'_>) -> Result<(), Error> {
            self.state.import(checkpoint)
        }
    };
}
pub(crate) use state_methods;
