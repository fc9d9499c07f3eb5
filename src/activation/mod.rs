//! Activation functions: forward, forward in place and backward, on every ISA.
//!
//! Accuracy (DESIGN.md §5): forward within 4 ULP of the f64 reference on every f32 input (the
//! measured table is in the README), backward within 8 ULP, or within an absolute 2^-23 near
//! the roots of f' (2^-23·β for E-Swish, whose f' is β times SiLU's). NaN in gives NaN out (in backward too: dx is NaN where x is NaN); ±inf
//! gives the limit. No flush-to-zero is assumed: subnormal inputs and results are exact
//! inputs and correctly scaled results.
//!
//! Each activation is one entry of the registry (`registry.rs`): its name, its parameters with
//! their defaults and ranges, its kernel choice, and the oracle side that the crate's internals
//! read (the f64 reference, limits, naive loop, plot). The [`Activation`] enum, its names and
//! checks, and every list of activations in the tests, examples, benches and fuzz targets are
//! generated from it.

mod elu;
mod gelu;
mod gelu_tanh;
pub(crate) mod linear;
mod logistic;
mod mish;
mod names;
mod prelu;
pub(crate) mod registry;
mod rrelu;
#[cfg(feature = "serde")]
mod serialize;
mod tanh;

pub use crate::counter::unit_at;
pub use elu::{SELU_ALPHA, SELU_LAMBDA};
pub use prelu::Prelu;
pub use rrelu::{Rrelu, RreluMode};

use crate::drivers::{Elementwise, FromOutput};
use crate::element::{self, Element};
use crate::error::{Error, NameBuf, check_len};
use crate::isa::Isa;
use registry::{BOUNDED, DIVISOR, E_SWISH_BETA, ELU_ALPHA, FINITE, POSITIVE, SCALE};

/// The activation module's reader of the registry (`registry.rs`): the public enum with its docs,
/// `all`, `name`, `from_name`, the parameter checks and the kernel choice (`Chosen`,
/// `with_kernel!`, `with_output_kernel!`).
macro_rules! define_activation {
    (($d:tt) $(
        $(#[$meta:meta])*
        $V:ident $({ $( $(#[$pmeta:meta])* $p:ident : $range:ident = $def:expr ),* $(,)? })? => {
            name: $name:literal,
            $(joint: $jok:expr => $jname:ident : $jexp:literal,)?
            kernel: $kernel:expr,
            kernels: [$( $K:ident ( $kt:ty ) $(from_output_if($guard:expr))? ),* $(,)?],
            // The oracle side, read by `crate::internals`.
            $($oracle:tt)*
        }
    )*) => {
        /// An element-wise activation function with its parameters (PyTorch's defaults from
        /// [`Activation::from_name`]).
        ///
        /// Each variant gives f, f' as backward computes it (with PyTorch's choice at kinks) and its
        /// source. Accuracy, as the module says: forward within 4 ULP of an f64 reference on every
        /// f32 input, backward within 8 ULP or an absolute 2^-23 near the roots of f'; the
        /// piecewise-linear ones are exact. The README has the measured worst case per kernel and ISA,
        /// and the speed of each against a plain loop and the memory bandwidth.
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Activation {
            $( $(#[$meta])* $V $({ $( $(#[$pmeta])* $p: f32 ),* })?, )*
        }

        /// Every activation with its default parameters, in the order of the registry.
        const ALL: &[Activation] = &[$( Activation::$V $({ $($p: $def),* })? ),*];

        /// A kernel chosen for an activation, with its parameters checked.
        enum Chosen {
            $( $( $K($kt), )* )*
        }

        /// Calls `$body` with `$k` bound to the concrete kernel inside `$chosen`.
        macro_rules! with_kernel {
            ($d chosen:expr, |$d k:ident| $d body:expr) => {
                match $d chosen {
                    $( $( Chosen::$K($d k) => $d body, )* )*
                }
            };
        }

        /// Calls `$body` with `$k` bound to the kernel inside `$chosen` run from its output, or
        /// evaluates to `$none` where the output does not determine f'.
        macro_rules! with_output_kernel {
            ($d chosen:expr, |$d k:ident| $d body:expr, $d none:expr) => {
                match $d chosen {
                    $( $( $(
                        Chosen::$K(k) if {
                            let from_output: fn(&$kt) -> bool = $guard;
                            from_output(k)
                        } => {
                            let $d k = &FromOutput(*k);
                            $d body
                        }
                    )? )* )*
                    _ => $d none,
                }
            };
        }

        impl Activation {
            /// Every activation with its default parameters, in the order of the enum.
            pub fn all() -> impl Iterator<Item = Activation> {
                ALL.iter().copied()
            }

            /// The snake_case name: `"gelu_tanh"`, `"leaky_relu"`, ...
            pub fn name(&self) -> &'static str {
                match self {
                    $( Activation::$V { .. } => $name, )*
                }
            }

            /// The activation called `name`, with its default parameters: the names of
            /// [`Activation::name`] (PyTorch's, in snake_case), PyTorch's spellings
            /// `hardswish`, `hardsigmoid`, `hardtanh` and `logsigmoid`, and the `hidden_act`
            /// strings of Hugging Face configs: `gelu` (erf), `gelu_new`, `gelu_pytorch_tanh`
            /// and `gelu_fast` (tanh GELU), `quick_gelu` (x·σ(1.702x), Swish with β = 1.702),
            /// `silu` and `swish` (SiLU), and the names that are already the activations' own.
            pub fn from_name(name: &str) -> Result<Activation, Error> {
                Ok(match name {
                    $( $name => Activation::$V $({ $($p: $def),* })?, )*
                    _ => return names::alias(name)
                        .ok_or(Error::UnknownName { kind: "activation", name: NameBuf::new(name) }),
                })
            }

            /// Calls `f` with each parameter's name and value, in the order of declaration.
            #[cfg(feature = "serde")]
            fn for_each_param(&self, mut f: impl FnMut(&'static str, f32)) {
                match *self {
                    $( Activation::$V { $( $( $p, )* )? .. } => { $( $( f(stringify!($p), $p); )* )? } )*
                }
            }

            /// The parameter called `name`, if this activation has one.
            #[cfg(feature = "serde")]
            #[allow(clippy::match_single_binding)]
            fn param_mut(&mut self, name: &str) -> Option<&mut f32> {
                match self {
                    $( Activation::$V { $( $( $p, )* )? .. } => match name {
                        $( $( stringify!($p) => Some($p), )* )?
                        _ => None,
                    }, )*
                }
            }

            /// The kernel for these parameters, after checking each against its range (in the
            /// order of declaration) and then the joint condition, if any.
            fn kernel(&self) -> Result<Chosen, Error> {
                Ok(match *self {
                    $( Activation::$V { $( $( $p, )* )? .. } => {
                        $( $( let $p = $range.check(stringify!($p), $p)?; )* )?
                        $( let joint_ok: bool = $jok;
                        if !joint_ok {
                            let value = $jname as f64;
                            return Err(Error::InvalidParameter { name: stringify!($jname), value, expected: $jexp });
                        } )?
                        $kernel
                    } )*
                })
            }
        }
    };
}

registry::for_each_activation!(define_activation $);

impl Activation {
    /// Whether this version implements the activation (the others return
    /// [`Error::Unimplemented`]).
    pub fn is_implemented(&self) -> bool {
        self.kernel().is_ok()
    }

    /// y = f(x) on the detected ISA ([`Isa::detect`]).
    ///
    /// The slices hold f32, or with the feature `half` the `half` crate's `bf16` or `f16`
    /// (every method here takes any [`Element`]): those are converted to f32 exactly, the f32
    /// kernel runs, and the result is rounded to nearest even. That is within 1 ULP of the
    /// storage type of the exact result (backward: near a root of f', where the f32 bound is
    /// the absolute 2^-23, within 2^-23·|dy| plus 1 ULP), as tests/half.rs checks.
    pub fn forward<T: Element>(&self, x: &[T], y: &mut [T]) -> Result<(), Error> {
        self.forward_with(Isa::detect(), x, y)
    }

    /// x = f(x) on the detected ISA.
    pub fn forward_inplace<T: Element>(&self, x: &mut [T]) -> Result<(), Error> {
        self.forward_inplace_with(Isa::detect(), x)
    }

    /// dx = dy · f'(x) on the detected ISA.
    pub fn backward<T: Element>(&self, x: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
        self.backward_with(Isa::detect(), x, dy, dx)
    }

    /// dy = dy · f'(x) on the detected ISA: backward in place, the incoming gradient overwritten
    /// by the outgoing one.
    pub fn backward_inplace<T: Element>(&self, x: &[T], dy: &mut [T]) -> Result<(), Error> {
        self.backward_inplace_with(Isa::detect(), x, dy)
    }

    /// dy = dy · f'(x) on `isa`.
    pub fn backward_inplace_with<T: Element>(&self, isa: Isa, x: &[T], dy: &mut [T]) -> Result<(), Error> {
        let isa = isa.check()?;
        check_len("dy", x.len(), dy.len())?;
        let k = self.kernel()?;
        with_kernel!(&k, |k| element::backward_inplace(isa, k, x, dy));
        Ok(())
    }

    /// y = f(x) on `isa`: [`Error::IsaUnavailable`] if the CPU lacks it.
    pub fn forward_with<T: Element>(&self, isa: Isa, x: &[T], y: &mut [T]) -> Result<(), Error> {
        let isa = isa.check()?;
        check_len("y", x.len(), y.len())?;
        let k = self.kernel()?;
        with_kernel!(&k, |k| element::forward(isa, k, x, y));
        Ok(())
    }

    /// x = f(x) on `isa`.
    pub fn forward_inplace_with<T: Element>(&self, isa: Isa, x: &mut [T]) -> Result<(), Error> {
        let isa = isa.check()?;
        let k = self.kernel()?;
        with_kernel!(&k, |k| element::forward_inplace(isa, k, x));
        Ok(())
    }

    /// dx = dy · f'(x) on `isa`.
    pub fn backward_with<T: Element>(&self, isa: Isa, x: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
        let isa = isa.check()?;
        check_len("dy", x.len(), dy.len())?;
        check_len("dx", x.len(), dx.len())?;
        let k = self.kernel()?;
        with_kernel!(&k, |k| element::backward(isa, k, x, dy, dx));
        Ok(())
    }
}

/// Backward from the saved output y = f(x), as frameworks that keep y instead of x need it.
///
/// Available where f is monotone and f' is a function of y: sigmoid (y·(1 − y)), tanh
/// ((1 − y)(1 + y)), softsign ((1 − |y|)²), log_sigmoid (−expm1(y)), relu, relu6, hard_tanh,
/// hard_sigmoid and leaky_relu with a slope ≥ 0 (the same tests on y as on x), elu, celu,
/// selu and pelu ((y + s₋)/b on the negative side). The others (softplus, whose threshold
/// makes y ambiguous; the non-monotone silu, swish, e_swish, hard_swish, mish, gelu,
/// gelu_tanh; leaky_relu with a negative slope) return [`Error::NoOutputBackward`].
///
/// Accuracy: within a few ULP of the same formula evaluated exactly at the f32 y (tested
/// against BACKWARD_BOUND, 8 ULP). Against f'(x) the rounding of y itself is amplified where
/// f' is a small difference of y terms: σ' for large x (1 − y with y ≈ 1), tanh' for large
/// |x|, the ELU family towards −inf (y + α with y ≈ −α), softsign for large |x|. There the
/// derivative from y has only the absolute accuracy of y, as in every framework that does
/// this; use [`Activation::backward`] with x where the tails matter.
impl Activation {
    /// Whether [`Activation::backward_from_output`] is available (with these parameters).
    pub fn has_backward_from_output(&self) -> bool {
        self.kernel().is_ok_and(|k| with_output_kernel!(&k, |_k| true, false))
    }

    /// dx = dy·f'(x) from y = f(x), on the detected ISA.
    pub fn backward_from_output<T: Element>(&self, y: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
        self.backward_from_output_with(Isa::detect(), y, dy, dx)
    }

    /// dx = dy·f'(x) from y = f(x), on `isa`.
    pub fn backward_from_output_with<T: Element>(
        &self,
        isa: Isa,
        y: &[T],
        dy: &[T],
        dx: &mut [T],
    ) -> Result<(), Error> {
        let isa = isa.check()?;
        check_len("dy", y.len(), dy.len())?;
        check_len("dx", y.len(), dx.len())?;
        let k = self.kernel()?;
        with_output_kernel!(
            &k,
            |k| element::backward(isa, k, y, dy, dx),
            return Err(Error::NoOutputBackward(self.name()))
        );
        Ok(())
    }

    /// dy = dy·f'(x) from y = f(x) (in place), on the detected ISA.
    pub fn backward_from_output_inplace<T: Element>(&self, y: &[T], dy: &mut [T]) -> Result<(), Error> {
        self.backward_from_output_inplace_with(Isa::detect(), y, dy)
    }

    /// dy = dy·f'(x) from y = f(x) (in place), on `isa`.
    pub fn backward_from_output_inplace_with<T: Element>(
        &self,
        isa: Isa,
        y: &[T],
        dy: &mut [T],
    ) -> Result<(), Error> {
        let isa = isa.check()?;
        check_len("dy", y.len(), dy.len())?;
        let k = self.kernel()?;
        with_output_kernel!(
            &k,
            |k| element::backward_inplace(isa, k, y, dy),
            return Err(Error::NoOutputBackward(self.name()))
        );
        Ok(())
    }
}

/// Keeps the unused-trait lint quiet until every kernel shape is used.
#[allow(dead_code)]
fn _uses_kernel<K: Elementwise>(_: &K) {}

// The fused kernels, after `with_kernel!` (which they use) is defined.
mod bias;
mod glu;
pub use glu::Glu;
