//! [`Hardmax`].

use super::plan::{self, Geometry};
use super::{check, geometry};
use crate::element::Element;
use crate::error::Error;
use crate::isa::Isa;

/// Hardmax along an axis (ONNX's `Hardmax`): 1 at the first maximum of each row, 0 elsewhere;
/// NaN everywhere in a row that holds a NaN. Exact. No backward (its derivative is 0 almost
/// everywhere).
///
/// ```
/// use nnsimd::Hardmax;
///
/// let x = [1.0f32, 3.0, 3.0, -1.0];
/// let mut y = [0.0f32; 4];
/// Hardmax::new(4)?.forward(&x, &mut y)?;
/// assert_eq!(y, [0.0, 1.0, 0.0, 0.0]);
/// # Ok::<(), nnsimd::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hardmax {
    g: Geometry,
}

impl Hardmax {
    /// Rows of `len` contiguous elements: `along(len, 1)`.
    pub fn new(len: usize) -> Result<Self, Error> {
        Self::along(len, 1)
    }

    /// The axis of length `len` and stride `inner` of a row-major `[outer, len, inner]` array.
    pub fn along(len: usize, inner: usize) -> Result<Self, Error> {
        Ok(Hardmax { g: geometry(len, inner)? })
    }

    /// y = hardmax(x) along the axis, on the best ISA.
    pub fn forward<T: Element>(&self, x: &[T], y: &mut [T]) -> Result<(), Error> {
        self.forward_with(Isa::detect(), x, y)
    }

    /// [`Self::forward`] on `isa`.
    pub fn forward_with<T: Element>(&self, isa: Isa, x: &[T], y: &mut [T]) -> Result<(), Error> {
        check(isa, self.g, ("x", x.len()), &[("y", y.len())])?;
        plan::hardmax(isa, self.g, Some(x), y);
        Ok(())
    }

    /// x = hardmax(x) in place.
    pub fn forward_inplace<T: Element>(&self, x: &mut [T]) -> Result<(), Error> {
        self.forward_inplace_with(Isa::detect(), x)
    }

    /// [`Self::forward_inplace`] on `isa`.
    pub fn forward_inplace_with<T: Element>(&self, isa: Isa, x: &mut [T]) -> Result<(), Error> {
        check(isa, self.g, ("x", x.len()), &[])?;
        plan::hardmax(isa, self.g, None, x);
        Ok(())
    }
}
