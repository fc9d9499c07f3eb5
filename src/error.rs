//! The crate's one error type.

use crate::Isa;
use core::fmt;
use core::str::FromStr;

/// Why a kernel refused its input. Every check happens before the first write, so on `Err`
/// no output or state value has changed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// Two slices that must have the same length do not.
    LengthMismatch {
        /// The argument whose length is wrong (`"y"`, `"dy"`, `"dx"`, ...).
        arg: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        found: usize,
    },
    /// As [`Error::LengthMismatch`], in one tensor of a multi-tensor step
    /// ([`optim::step_multi`](crate::optim::step_multi)): which one, counted from 0 in the list.
    TensorLengthMismatch {
        /// The tensor's position in the list.
        tensor: usize,
        /// The argument whose length is wrong (`"params"` or `"grads"`).
        arg: &'static str,
        /// The length it must have: the tensor's optimizer's number of parameters.
        expected: usize,
        /// The length it has.
        found: usize,
    },
    /// A parameter is outside its allowed range, or not finite.
    InvalidParameter {
        /// The parameter (`"alpha"`, `"lr"`, ...).
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it must be, as a phrase (`"finite and > 0"`).
        expected: &'static str,
    },
    /// The CPU (or this build) does not have the instruction set that was asked for; its
    /// `Display` lists the ones it has ([`Isa::available`](crate::Isa::available)).
    IsaUnavailable(Isa),
    /// A name that does not denote a known activation, optimizer or ISA.
    UnknownName {
        /// What kind of name (`"activation"`, `"isa"`, ...).
        kind: &'static str,
        /// The name given, shortened to 32 bytes.
        name: NameBuf,
    },
    /// The kernel is part of the API but not implemented yet in this version.
    Unimplemented(&'static str),
    /// A length that must be a whole number of periods is not (PReLU: x must hold whole
    /// blocks of `slopes.len() · inner` elements).
    NotMultiple {
        /// The argument whose length is wrong (`"x"`).
        arg: &'static str,
        /// Its length.
        found: usize,
        /// The period it must be a multiple of.
        multiple_of: usize,
    },
    /// Backward from the output was asked of an activation whose output does not determine its
    /// derivative (it is not monotone, or f' is not a function of y).
    NoOutputBackward(&'static str),
    /// Optimizer state or working memory of this many f32 elements could not be allocated.
    OutOfMemory {
        /// The number of f32 elements asked for.
        elements: usize,
    },
    /// A tensor shape whose number of elements (the product of its dimensions) overflows
    /// `usize`.
    ShapeOverflow,
    /// A loss method called with a reduction it does not take: `forward` and
    /// `forward_backward` reduce, the `_none` methods need [`Reduction::None`]. The text says
    /// which.
    ///
    /// [`Reduction::None`]: crate::loss::Reduction::None
    Reduction(&'static str),
    /// A class index outside `[0, classes)` that is not the ignored index.
    TargetOutOfRange {
        /// Its position in the targets.
        position: usize,
        /// The index found.
        value: i64,
        /// The number of classes.
        classes: usize,
    },
    /// An input value outside the domain of the kernel (binary cross-entropy's predictions
    /// outside [0, 1], NaN included), or a value of a checkpoint's state that
    /// [`Optimizer::import`](crate::optim::Optimizer::import) refuses (NaN, ±inf, a negative
    /// second moment).
    InvalidInput {
        /// The argument (`"pred"`), or the state buffer (`"exp_avg_sq"`).
        arg: &'static str,
        /// The first offending position.
        position: usize,
        /// Its value.
        value: f32,
        /// What it must be, as a phrase.
        expected: &'static str,
    },
}

/// A short copy of a name, so that [`Error`] needs no allocation (it works without `std`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NameBuf {
    buf: [u8; 32],
    len: u8,
}

impl NameBuf {
    pub(crate) fn new(s: &str) -> NameBuf {
        let mut end = s.len().min(32);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut buf = [0u8; 32];
        buf[..end].copy_from_slice(&s.as_bytes()[..end]);
        NameBuf { buf, len: end as u8 }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }
}

impl fmt::Debug for NameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LengthMismatch { arg, expected, found } => {
                write!(f, "`{arg}` has {found} elements but must have {expected}")
            }
            Error::TensorLengthMismatch { tensor, arg, expected, found } => {
                write!(
                    f,
                    "tensor {tensor}: `{arg}` has {found} elements but its optimizer has {expected} parameters"
                )
            }
            Error::InvalidParameter { name, value, expected } => {
                write!(f, "parameter `{name}` is {value} but must be {expected}")
            }
            Error::IsaUnavailable(isa) => {
                write!(f, "instruction set `{isa}` is not available on this CPU or build (available:")?;
                // What the user may ask for instead, without allocating (no_std).
                let mut sep = " ";
                for i in Isa::ALL.iter().filter(|i| i.is_available()) {
                    write!(f, "{sep}{i}")?;
                    sep = ", ";
                }
                f.write_str(")")
            }
            Error::UnknownName { kind, name } => {
                write!(f, "`{}` is not a known {kind} name", name.as_str())
            }
            Error::Unimplemented(what) => write!(f, "`{what}` is not implemented yet"),
            Error::NotMultiple { arg, found, multiple_of } => {
                write!(f, "`{arg}` has {found} elements but must have a multiple of {multiple_of}")
            }
            Error::NoOutputBackward(name) => write!(
                f,
                "`{name}` has no backward from its output, as its output does not determine its derivative"
            ),
            Error::OutOfMemory { elements } => {
                write!(f, "could not allocate state or working memory of {elements} f32 elements")
            }
            Error::ShapeOverflow => {
                write!(
                    f,
                    "`shape` has more elements than usize can count: the product of its dimensions overflows"
                )
            }
            Error::Reduction(why) => write!(f, "wrong reduction for this loss method: {why}"),
            Error::TargetOutOfRange { position, value, classes } => {
                write!(
                    f,
                    "target {value} at position {position} is not a class in [0, {classes}) nor the ignored index"
                )
            }
            Error::InvalidInput { arg, position, value, expected } => {
                write!(f, "`{arg}[{position}]` is {value} but must be {expected}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// `len` copies of `init`, or [`Error::OutOfMemory`] (not an abort) if they do not fit.
#[cfg(feature = "std")]
pub(crate) fn try_filled<T: Clone>(len: usize, init: T) -> Result<Vec<T>, Error> {
    let mut v = Vec::new();
    let words = len.saturating_mul(core::mem::size_of::<T>().div_ceil(4));
    v.try_reserve_exact(len).map_err(|_| Error::OutOfMemory { elements: words })?;
    v.resize(len, init);
    Ok(v)
}

/// Checks that `found` equals `expected`.
pub(crate) fn check_len(arg: &'static str, expected: usize, found: usize) -> Result<(), Error> {
    if expected == found { Ok(()) } else { Err(Error::LengthMismatch { arg, expected, found }) }
}

// The fallible side of `Isa`, here so that the tiers (a lower layer) need not name `Error`.
impl Isa {
    /// `Ok(self)` if available, else [`Error::IsaUnavailable`].
    pub fn check(self) -> Result<Isa, Error> {
        if self.is_available() { Ok(self) } else { Err(Error::IsaUnavailable(self)) }
    }
}

impl FromStr for Isa {
    type Err = Error;
    fn from_str(s: &str) -> Result<Isa, Error> {
        Isa::ALL
            .iter()
            .copied()
            .find(|i| i.name().eq_ignore_ascii_case(s))
            .ok_or(Error::UnknownName { kind: "isa", name: NameBuf::new(s) })
    }
}
