//! [`Softmax`] and [`LogSoftmax`]: one definition, two row functions.

use super::plan::{self, Geometry};
use super::stats::Kind;
use super::{check, geometry};
use crate::element::Element;
use crate::error::Error;
use crate::isa::Isa;

/// Defines a row kernel type over [`Kind`] `$kind`: its constructors, forward and backward.
macro_rules! row_kernel {
    ($(#[$doc:meta])* $T:ident, $kind:expr, $backward:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        // `len` is the axis' length, never 0: an `is_empty` would always say false.
        #[allow(clippy::len_without_is_empty)]
        pub struct $T {
            g: Geometry,
        }

        impl $T {
            /// Rows of `len` contiguous elements (the last axis): `along(len, 1)`.
            pub fn new(len: usize) -> Result<Self, Error> {
                Self::along(len, 1)
            }

            /// The axis of length `len` and stride `inner` of a row-major `[outer, len, inner]`
            /// array. [`Error::InvalidParameter`] if either is 0, [`Error::ShapeOverflow`] if
            /// their product overflows.
            pub fn along(len: usize, inner: usize) -> Result<Self, Error> {
                Ok($T { g: geometry(len, inner)? })
            }

            /// The axis' length.
            pub fn len(&self) -> usize {
                self.g.len
            }

            /// The axis' stride: the product of the dimensions after it.
            pub fn inner(&self) -> usize {
                self.g.inner
            }

            /// y = op(x) along the axis, on the best ISA. `x` holds whole `[len, inner]` blocks
            /// ([`Error::NotMultiple`] otherwise); `y` is as long.
            pub fn forward<T: Element>(&self, x: &[T], y: &mut [T]) -> Result<(), Error> {
                self.forward_with(Isa::detect(), x, y)
            }

            /// [`Self::forward`] on `isa`.
            pub fn forward_with<T: Element>(&self, isa: Isa, x: &[T], y: &mut [T]) -> Result<(), Error> {
                check(isa, self.g, ("x", x.len()), &[("y", y.len())])?;
                plan::forward(isa, self.g, $kind, Some(x), y);
                Ok(())
            }

            /// x = op(x) in place.
            pub fn forward_inplace<T: Element>(&self, x: &mut [T]) -> Result<(), Error> {
                self.forward_inplace_with(Isa::detect(), x)
            }

            /// [`Self::forward_inplace`] on `isa`.
            pub fn forward_inplace_with<T: Element>(&self, isa: Isa, x: &mut [T]) -> Result<(), Error> {
                check(isa, self.g, ("x", x.len()), &[])?;
                plan::forward(isa, self.g, $kind, None, x);
                Ok(())
            }

            #[doc = concat!("Backward from the saved output y: ", $backward, ". `y`, `dy` and `dx` are equally long.")]
            pub fn backward<T: Element>(&self, y: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
                self.backward_with(Isa::detect(), y, dy, dx)
            }

            /// [`Self::backward`] on `isa`.
            pub fn backward_with<T: Element>(&self, isa: Isa, y: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
                check(isa, self.g, ("y", y.len()), &[("dy", dy.len()), ("dx", dx.len())])?;
                plan::backward(isa, self.g, $kind, y, Some(dy), dx);
                Ok(())
            }

            /// [`Self::backward`] in place: `dy` becomes dx.
            pub fn backward_inplace<T: Element>(&self, y: &[T], dy: &mut [T]) -> Result<(), Error> {
                self.backward_inplace_with(Isa::detect(), y, dy)
            }

            /// [`Self::backward_inplace`] on `isa`.
            pub fn backward_inplace_with<T: Element>(&self, isa: Isa, y: &[T], dy: &mut [T]) -> Result<(), Error> {
                check(isa, self.g, ("y", y.len()), &[("dy", dy.len())])?;
                plan::backward(isa, self.g, $kind, y, None, dy);
                Ok(())
            }
        }
    };
}

row_kernel! {
    /// Softmax along an axis: y_i = e^(x_i − m) / Σ_j e^(x_j − m), m the maximum (PyTorch's
    /// `softmax(x, dim)`, ONNX's `Softmax`). Within 4 ULP of the f64 reference; backward within
    /// 8 ULP, or 2^-22·Σ|dy·y| absolute where dy − Σ dy·y cancels. See the [module](super) for
    /// the method, the special values and the measured bounds.
    ///
    /// ```
    /// use nnsimd::Softmax;
    ///
    /// // Two rows of three.
    /// let x = [1.0f32, 2.0, 3.0, 0.0, 0.0, f32::NEG_INFINITY];
    /// let mut y = [0.0f32; 6];
    /// Softmax::new(3)?.forward(&x, &mut y)?;
    /// assert!((y[2] - 0.665_240_96).abs() < 1e-7);
    /// assert_eq!(&y[3..], &[0.5, 0.5, 0.0]);
    ///
    /// // Along the first axis of a [2, 3] array (stride 3): columns sum to 1.
    /// Softmax::along(2, 3)?.forward(&x, &mut y)?;
    /// assert!((y[0] + y[3] - 1.0).abs() < 1e-7);
    /// # Ok::<(), nnsimd::Error>(())
    /// ```
    Softmax, Kind::Softmax, "dx = y·(dy − Σ dy·y)"
}

row_kernel! {
    /// Log-softmax along an axis: y_i = x_i − m − ln Σ_j e^(x_j − m) (PyTorch's
    /// `log_softmax(x, dim)`, ONNX's `LogSoftmax`), and [`LogSoftmax::logsumexp`]. Within 4 ULP
    /// of the f64 reference, or 2^-22·(|x − m| + ln Σ) absolute; backward within 8 ULP, or
    /// 2^-22·Σ|dy·e^y| absolute where dy − e^y·Σ dy cancels. A dominant logit's value
    /// −log1p(Σ of the others' e^(x − m)) keeps its digits.
    ///
    /// ```
    /// use nnsimd::LogSoftmax;
    ///
    /// let x = [0.0f32, 0.0, 20.0];
    /// let mut y = [0.0f32; 3];
    /// LogSoftmax::new(3)?.forward(&x, &mut y)?;
    /// // ln(1 + 2e^-20) ≈ 4.122e-9: kept, not rounded to 0.
    /// assert!((y[2] + 4.122_307e-9).abs() < 1e-15);
    ///
    /// let mut lse = [0.0f32; 1];
    /// LogSoftmax::new(3)?.logsumexp(&x, &mut lse)?;
    /// assert_eq!(lse[0], 20.0);
    /// # Ok::<(), nnsimd::Error>(())
    /// ```
    LogSoftmax, Kind::LogSoftmax, "dx = dy − e^y·Σ dy"
}

impl LogSoftmax {
    /// logsumexp of each row, m + ln Σ e^(x − m) (PyTorch's `logsumexp(x, dim)`): one value per
    /// row into `out`, laid out `[outer, inner]` (`x.len() / len` values). Within 2 ULP, or
    /// 2^-23·(|m| + ln Σ) absolute where m + ln Σ cancels; NaN for a row holding NaN, +inf for
    /// one holding +inf, −inf for a row of −inf.
    pub fn logsumexp<T: Element>(&self, x: &[T], out: &mut [T]) -> Result<(), Error> {
        self.logsumexp_with(Isa::detect(), x, out)
    }

    /// [`Self::logsumexp`] on `isa`.
    pub fn logsumexp_with<T: Element>(&self, isa: Isa, x: &[T], out: &mut [T]) -> Result<(), Error> {
        check(isa, self.g, ("x", x.len()), &[])?;
        crate::error::check_len("out", x.len() / self.g.len, out.len())?;
        plan::logsumexp(isa, self.g, x, out);
        Ok(())
    }
}
