//! PReLU and RReLU for the fuzz target `prelu_rrelu_diff`: a case's types and running a pass
//! over guarded buffers; decoding in [`decode`], the errors that apply and the checks against
//! the oracles of tests/common/slope.rs in [`check`].

mod check;
mod decode;

pub use check::{against_oracle, expected_errors, param_error_fits, rrelu_extras};
pub use decode::{prelu, prelu_length, rrelu, with_stored};

use crate::act::Params;
use crate::common::Guarded;
use crate::input::same_bits;
use nnsimd::{Error, Isa, Prelu, Rrelu, RreluMode};
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    Forward,
    ForwardInplace,
    Backward,
    BackwardInplace,
}

pub const PASSES: [Pass; 4] = [Pass::Forward, Pass::ForwardInplace, Pass::Backward, Pass::BackwardInplace];

impl Pass {
    fn forward(self) -> bool {
        matches!(self, Pass::Forward | Pass::ForwardInplace)
    }
}

/// The same pass in place if `p` is out of place, and the other way round.
pub fn twin(p: Pass) -> Pass {
    match p {
        Pass::Forward => Pass::ForwardInplace,
        Pass::ForwardInplace => Pass::Forward,
        Pass::Backward => Pass::BackwardInplace,
        Pass::BackwardInplace => Pass::Backward,
    }
}

/// What both activations share: the pass, the ISA, the data and its layout in memory.
#[derive(Clone, Debug)]
pub struct Io {
    pub pass: Pass,
    /// None: the plain entry points (the detected ISA).
    pub isa: Option<Isa>,
    /// An ISA the CPU lacks, asked for instead of `isa`.
    pub missing: Option<Isa>,
    pub x: Vec<f32>,
    /// dy (its length may differ from x's).
    pub dy: Vec<f32>,
    /// Length of the out-of-place output (y or dx).
    pub out_len: usize,
    /// Offsets of x, the output and dy in their guarded buffers (misalignment).
    pub offsets: [usize; 3],
    /// Where RReLU's training pass is split into two calls.
    pub split: usize,
}

#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Train { seed: u64, offset: u64 },
    Stored,
    Eval,
}

#[derive(Debug)]
pub enum Kind {
    Prelu {
        slopes: Vec<f32>,
        inner: usize,
        /// Length of the slope gradient's buffer (`slopes.len()` unless a mismatch is tested).
        ds_len: usize,
    },
    Rrelu {
        lower: f32,
        upper: f32,
        params: Params,
        mode: Mode,
        /// The slopes of `Mode::Stored` (their length may differ from x's).
        stored: Vec<f32>,
    },
}

impl Io {
    /// The buffer a pass writes, before it runs: y or dx blank, x or dy for in place.
    fn out_buffer(&self, pass: Pass) -> Guarded {
        let o = self.offsets[1];
        match pass {
            Pass::Forward | Pass::Backward => Guarded::blank(o, self.out_len),
            Pass::ForwardInplace => Guarded::new(o, &self.x),
            Pass::BackwardInplace => Guarded::new(o, &self.dy),
        }
    }

    /// Whether the output and the slope gradient's buffer are as they were before the pass.
    pub fn untouched(&self, out: &Guarded, ds: &Guarded) -> bool {
        let before = self.out_buffer(self.pass);
        let blank = ds.buf.iter().all(|v| v.to_bits() == crate::common::GUARD_BITS);
        same_bits(&out.buf, &before.buf) && blank
    }
}

/// What running a pass gave.
pub enum Ran {
    /// The activation could not be built.
    Refused(Error),
    /// The pass's result, the buffer it writes and the slope gradient's (empty for RReLU and
    /// forward passes).
    Done(core::result::Result<(), Error>, Guarded, Guarded),
}

/// The buffers of a pass that must succeed.
pub fn done(r: Ran) -> (Guarded, Guarded) {
    match r {
        Ran::Done(Ok(()), out, ds) => (out, ds),
        Ran::Done(Err(e), ..) | Ran::Refused(e) => panic!("a valid call failed: {e:?}"),
    }
}

/// Runs `pass` of `kind` on `isa` (None: the plain entry points) over guarded buffers.
pub fn run(io: &Io, kind: &Kind, pass: Pass, isa: Option<Isa>) -> Ran {
    let xg = Guarded::new(io.offsets[0], &io.x);
    let dyg = Guarded::new(io.offsets[2], &io.dy);
    let (x, dy) = (xg.slice(), dyg.slice());
    let mut out = io.out_buffer(pass);
    let o = out.slice_mut();
    match kind {
        Kind::Prelu { slopes, inner, ds_len } => {
            let p = match Prelu::new(slopes, *inner) {
                Ok(p) => p,
                Err(e) => return Ran::Refused(e),
            };
            let mut ds = Guarded::blank(1, if pass.forward() { 0 } else { *ds_len });
            let d = ds.slice_mut();
            let r = match (pass, isa) {
                (Pass::Forward, Some(i)) => p.forward_with(i, x, o),
                (Pass::Forward, None) => p.forward(x, o),
                (Pass::ForwardInplace, Some(i)) => p.forward_inplace_with(i, o),
                (Pass::ForwardInplace, None) => p.forward_inplace(o),
                (Pass::Backward, Some(i)) => p.backward_with(i, x, dy, o, d),
                (Pass::Backward, None) => p.backward(x, dy, o, d),
                (Pass::BackwardInplace, Some(i)) => p.backward_inplace_with(i, x, o, d),
                (Pass::BackwardInplace, None) => p.backward_inplace(x, o, d),
            };
            Ran::Done(r, out, ds)
        }
        Kind::Rrelu { lower, upper, mode, stored, .. } => {
            let r = match Rrelu::new(*lower, *upper) {
                Ok(r) => r,
                Err(e) => return Ran::Refused(e),
            };
            let m = rrelu_mode(*mode, stored);
            let res = match (pass, isa) {
                (Pass::Forward, Some(i)) => r.forward_with(i, m, x, o),
                (Pass::Forward, None) => r.forward(m, x, o),
                (Pass::ForwardInplace, Some(i)) => r.forward_inplace_with(i, m, o),
                (Pass::ForwardInplace, None) => r.forward_inplace(m, o),
                (Pass::Backward, Some(i)) => r.backward_with(i, m, x, dy, o),
                (Pass::Backward, None) => r.backward(m, x, dy, o),
                (Pass::BackwardInplace, Some(i)) => r.backward_inplace_with(i, m, x, o),
                (Pass::BackwardInplace, None) => r.backward_inplace(m, x, o),
            };
            Ran::Done(res, out, Guarded::blank(1, 0))
        }
    }
}

fn rrelu_mode(mode: Mode, stored: &[f32]) -> RreluMode<'_> {
    match mode {
        Mode::Train { seed, offset } => RreluMode::Train { seed, offset },
        Mode::Stored => RreluMode::Stored(stored),
        Mode::Eval => RreluMode::Eval,
    }
}

/// Rayon pools of 1, 2 and 3 threads, built once.
pub fn pools() -> &'static [rayon::ThreadPool] {
    static POOLS: OnceLock<Vec<rayon::ThreadPool>> = OnceLock::new();
    POOLS.get_or_init(|| {
        (1..=3)
            .map(|t| rayon::ThreadPoolBuilder::new().num_threads(t).build().expect("a thread pool"))
            .collect()
    })
}
