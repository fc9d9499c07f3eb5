//! Activation functions: forward, forward in place and backward, on every ISA.
//!
//! Accuracy (DESIGN.md §5): forward within 4 ULP of the f64 reference on every f32 input (the
//! measured table is in the README), backward within 8 ULP, or within an absolute 2^-23 near
//! the roots of f'. NaN in gives NaN out (in backward too: dx is NaN where x is NaN); ±inf
//! gives the limit. No flush-to-zero is assumed: subnormal inputs and results are exact
//! inputs and correctly scaled results.

mod elu;
mod gelu;
mod gelu_tanh;
pub(crate) mod linear;
mod logistic;
mod mish;
mod prelu;
mod rrelu;
mod tanh;

pub use crate::counter::unit_at;
pub use elu::{SELU_ALPHA, SELU_LAMBDA};
pub use prelu::Prelu;
pub use rrelu::{Rrelu, RreluMode};

use crate::drivers::{Elementwise, FromOutput};
use crate::element::{self, Element};
use crate::error::{Error, NameBuf, check_len};
use crate::isa::Isa;

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
    /// σ(x) = 1/(1 + e^(−x)), the logistic function; f'(x) = σ(x)·σ(−x) = σ(x)(1 − σ(x)),
    /// computed without cancellation (σ'(60) is a tiny normal number, not 0).
    /// Measured worst error (README, Accuracy): forward 3 ULP, backward 4 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    Sigmoid,
    /// relu6(x + 3)/6 = clamp(x/6 + 1/2, 0, 1): PyTorch's `hardsigmoid` (Howard et al., 2019),
    /// not a clamp of σ, nor the 0.2·x + 0.5 of some frameworks. f' = 1/6 on (−3, 3), 0 at and
    /// beyond ±3.
    /// Measured worst error (README, Accuracy): forward 1 ULP, backward exact (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    HardSigmoid,
    /// x/(1 + |x|); f'(x) = 1/(1 + |x|)².
    /// Measured worst error (README, Accuracy): forward 1 ULP, backward 3 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    Softsign,
    /// tanh(x); f'(x) = 1 − tanh²(x), computed without cancellation in the tails.
    /// Measured worst error (README, Accuracy): forward 3 ULP, backward 4 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    Tanh,
    /// clamp(x, min, max): a clamp of x itself, not of tanh(x) (PyTorch's `hardtanh`). f' = 1
    /// strictly inside (min, max), 0 at and beyond the ends. Exact.
    /// Measured (README, Accuracy): forward and backward exact (all 2^32 inputs on scalar,
    /// portable, AVX2 and AVX-512).
    HardTanh {
        /// Lower end (default −1).
        min: f32,
        /// Upper end (default 1).
        max: f32,
    },
    /// max(x, 0) (Nair and Hinton, 2010); NaN stays NaN, as in PyTorch. f' = 1 for x > 0, 0 for
    /// x ≤ 0 (ReLU'(0) = 0, PyTorch's choice). Exact.
    /// Measured (README, Accuracy): forward and backward exact (all 2^32 inputs on scalar,
    /// portable, AVX2 and AVX-512).
    Relu,
    /// min(max(x, 0), 6); f' = 1 on (0, 6), 0 elsewhere. Exact.
    /// Measured (README, Accuracy): forward and backward exact (all 2^32 inputs on scalar,
    /// portable, AVX2 and AVX-512).
    Relu6,
    /// x for x > 0, slope·x otherwise (Maas et al., 2013); f' = 1 for x > 0, slope for x ≤ 0.
    /// Exact.
    /// Measured (README, Accuracy): forward and backward exact (all 2^32 inputs on scalar,
    /// portable, AVX2 and AVX-512).
    LeakyRelu {
        /// Negative slope (default 0.01).
        slope: f32,
    },
    /// ln(1 + e^(βx))/β, and x itself where βx > threshold (PyTorch's `Softplus`); f'(x) =
    /// σ(βx), 1 past the threshold.
    /// Measured worst error (README, Accuracy): forward 2 ULP, backward 3 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    Softplus {
        /// β (default 1).
        beta: f32,
        /// Threshold (default 20).
        threshold: f32,
    },
    /// x for x > 0, α·(e^x − 1) otherwise (Clevert et al., 2015); f' = 1 for x > 0, α·e^x for
    /// x ≤ 0 (f'(0) = α, the left side, as PyTorch).
    /// Measured worst error (README, Accuracy): forward 1 ULP, backward 1 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    Elu {
        /// α (default 1), at most 2^64, so that the derivative's tail (which stops at
        /// x = −170) is 0 there.
        alpha: f32,
    },
    /// max(0, x) + min(0, α·(e^(x/α) − 1)) (Barron, 2017); f' = 1 for x > 0, e^(x/α) for
    /// x ≤ 0.
    /// Measured worst error (README, Accuracy): forward 1 ULP, backward 1 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    Celu {
        /// α (default 1), at least 2^-126, so that 1/α is finite.
        alpha: f32,
    },
    /// (a/b)·x for x ≥ 0, a·(e^(x/b) − 1) otherwise (Trottier et al., 2017); f' = a/b for x > 0,
    /// (a/b)·e^(x/b) for x ≤ 0 (the two sides agree at 0).
    /// Measured worst error (README, Accuracy): forward 1 ULP, backward 1 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    Pelu {
        /// a (default 1), with a/b within [2^-126, 2^64]: normal, and small enough that the
        /// derivative's tail (which stops at x/b = −170) is 0 there.
        a: f32,
        /// b (default 1), at least 2^-126, so that 1/b is finite.
        b: f32,
    },
    /// λ·x for x > 0, λ·α·(e^x − 1) otherwise (Klambauer et al., 2017), with the full-precision
    /// λ = 1.0507009873554804934193349852946 and α = 1.6732632423543772848170429916717
    /// ([`SELU_LAMBDA`], [`SELU_ALPHA`]), not the rounded 1.0507 and 1.6733. f' = λ for x > 0,
    /// λ·α·e^x for x ≤ 0.
    /// Measured worst error (README, Accuracy): forward 2 ULP, backward 2 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    Selu,
    /// x·σ(x) (Elfwing et al., 2018; Swish with β = 1); f'(x) = σ(x)·(1 + x·(1 − σ(x))),
    /// evaluated without cancellation near its root x ≈ −1.28.
    /// Measured worst error (README, Accuracy): forward 3 ULP, backward 6 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    Silu,
    /// x·σ(βx) (Ramachandran et al., 2017); f'(x) = σ(βx)·(1 + βx·(1 − σ(βx))). βx is carried
    /// in double-f32, since e^(βx) would multiply its rounding by |βx|.
    /// Measured worst error (README, Accuracy): forward 3 ULP, backward 6 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    Swish {
        /// β (default 1).
        beta: f32,
    },
    /// β·x·σ(x) (E-Swish, Alcaide, 2018); f'(x) = β·σ(x)·(1 + x·(1 − σ(x))).
    /// Measured worst error (README, Accuracy): forward 4 ULP, backward 6 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    ESwish {
        /// β (default 1.25; the paper uses 1 to 2), at most 65,536, so that the tail (where
        /// the exponential stops, x < −150) is 0.
        beta: f32,
    },
    /// x·relu6(x + 3)/6 (Howard et al., 2019); f' = 0 for x < −3, (2x + 3)/6 on [−3, 3], 1
    /// above (PyTorch's choice at the ends).
    /// Measured worst error (README, Accuracy): forward 2 ULP, backward 1 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    HardSwish,
    /// x·tanh(ln(1 + e^x)) (Misra, 2019); f'(x) = ω + x·σ(x)·(1 − ω²) with
    /// ω = tanh(ln(1 + e^x)), evaluated without cancellation near its root x ≈ −1.19.
    /// Measured worst error (README, Accuracy): forward 4 ULP, backward 7 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    Mish,
    /// x·Φ(x) = x/2·(1 + erf(x/√2)) (Hendrycks and Gimpel, 2016; PyTorch's
    /// `approximate="none"`), computed as x/2·erfc(−x/√2) so that the negative tail is right;
    /// f'(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
    /// Measured worst error (README, Accuracy): forward 4 ULP, backward 7 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    Gelu,
    /// x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (PyTorch's `approximate="tanh"`); with
    /// t the tanh, f'(x) = (1 + t)/2 + x/2·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²). The tanh
    /// argument is carried in double-f32.
    /// Measured worst error (README, Accuracy): forward 3 ULP, backward 6 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    GeluTanh,
    /// ln σ(x) = −ln(1 + e^(−x)); f'(x) = σ(−x).
    /// Measured worst error (README, Accuracy): forward 2 ULP, backward 2 ULP (all 2^32 inputs
    /// on scalar, portable, AVX2 and AVX-512).
    LogSigmoid,
}

const NAMES: [(&str, Activation); 21] = [
    ("sigmoid", Activation::Sigmoid),
    ("hard_sigmoid", Activation::HardSigmoid),
    ("softsign", Activation::Softsign),
    ("tanh", Activation::Tanh),
    ("hard_tanh", Activation::HardTanh { min: -1.0, max: 1.0 }),
    ("relu", Activation::Relu),
    ("relu6", Activation::Relu6),
    ("leaky_relu", Activation::LeakyRelu { slope: 0.01 }),
    ("softplus", Activation::Softplus { beta: 1.0, threshold: 20.0 }),
    ("elu", Activation::Elu { alpha: 1.0 }),
    ("celu", Activation::Celu { alpha: 1.0 }),
    ("pelu", Activation::Pelu { a: 1.0, b: 1.0 }),
    ("selu", Activation::Selu),
    ("silu", Activation::Silu),
    ("swish", Activation::Swish { beta: 1.0 }),
    ("e_swish", Activation::ESwish { beta: 1.25 }),
    ("hard_swish", Activation::HardSwish),
    ("mish", Activation::Mish),
    ("gelu", Activation::Gelu),
    ("gelu_tanh", Activation::GeluTanh),
    ("log_sigmoid", Activation::LogSigmoid),
];

/// A kernel chosen for an activation, with its parameters checked.
enum Chosen {
    ExpLinear(elu::ExpLinear),
    Mish(mish::Mish),
    GeluTanh(gelu_tanh::GeluTanh),
    Gelu(gelu::Gelu),
    Sigmoid(logistic::Sigmoid),
    Silu(logistic::Swish<true, false>),
    Swish(logistic::Swish<false, false>),
    ESwish(logistic::Swish<true, true>),
    LogSigmoid(logistic::LogSigmoid),
    Softplus(logistic::Softplus<false>),
    SoftplusUnit(logistic::Softplus<true>),
    Tanh(tanh::Tanh),
    Softsign(tanh::Softsign),
    Relu(linear::Relu),
    Clamp(linear::Clamp),
    LeakyRelu(linear::LeakyRelu),
    HardSigmoid(linear::HardSigmoid),
    HardSwish(linear::HardSwish),
}

/// Calls `$body` with `$k` bound to the concrete kernel inside `$chosen`.
macro_rules! with_kernel {
    ($chosen:expr, |$k:ident| $body:expr) => {
        match $chosen {
            Chosen::ExpLinear($k) => $body,
            Chosen::Mish($k) => $body,
            Chosen::GeluTanh($k) => $body,
            Chosen::Gelu($k) => $body,
            Chosen::Sigmoid($k) => $body,
            Chosen::Silu($k) => $body,
            Chosen::Swish($k) => $body,
            Chosen::ESwish($k) => $body,
            Chosen::LogSigmoid($k) => $body,
            Chosen::Softplus($k) => $body,
            Chosen::SoftplusUnit($k) => $body,
            Chosen::Tanh($k) => $body,
            Chosen::Softsign($k) => $body,
            Chosen::Relu($k) => $body,
            Chosen::Clamp($k) => $body,
            Chosen::LeakyRelu($k) => $body,
            Chosen::HardSigmoid($k) => $body,
            Chosen::HardSwish($k) => $body,
        }
    };
}

/// Calls `$body` with `$k` bound to the kernel inside `$chosen` run from its output, or
/// evaluates to `$none` where the output does not determine f'.
macro_rules! with_output_kernel {
    ($chosen:expr, |$k:ident| $body:expr, $none:expr) => {
        match $chosen {
            Chosen::ExpLinear(k) => {
                let $k = &FromOutput(k);
                $body
            }
            Chosen::Sigmoid(k) => {
                let $k = &FromOutput(k);
                $body
            }
            Chosen::LogSigmoid(k) => {
                let $k = &FromOutput(k);
                $body
            }
            Chosen::Tanh(k) => {
                let $k = &FromOutput(k);
                $body
            }
            Chosen::Softsign(k) => {
                let $k = &FromOutput(k);
                $body
            }
            Chosen::Relu(k) => {
                let $k = &FromOutput(k);
                $body
            }
            Chosen::Clamp(k) => {
                let $k = &FromOutput(k);
                $body
            }
            // A negative slope makes y > 0 on both sides of 0.
            Chosen::LeakyRelu(k) if k.slope >= 0.0 => {
                let $k = &FromOutput(k);
                $body
            }
            Chosen::HardSigmoid(k) => {
                let $k = &FromOutput(k);
                $body
            }
            _ => $none,
        }
    };
}

fn finite(name: &'static str, v: f32) -> Result<f32, Error> {
    bounded(name, v, -f32::MAX, f32::MAX, "finite")
}

fn positive_finite(name: &'static str, v: f32) -> Result<f32, Error> {
    bounded(name, v, SMALLEST_POSITIVE, f32::MAX, "finite and > 0")
}

/// A divisor b of the exponential-linear family (CELU's α, PELU's b): 1/b must be finite.
fn divisor(name: &'static str, v: f32) -> Result<f32, Error> {
    bounded(name, v, f32::MIN_POSITIVE, f32::MAX, "finite and ≥ 2^-126")
}

/// `v` if it is finite and within [min, max], else the error naming `name` and `expected`.
fn bounded(name: &'static str, v: f32, min: f32, max: f32, expected: &'static str) -> Result<f32, Error> {
    if v.is_finite() && (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(Error::InvalidParameter { name, value: v as f64, expected })
    }
}

/// The largest slope s₋/b of the exponential-linear family (ELU's α, PELU's a/b): below
/// x/b = −170, where the derivative's exponential stops, s₋/b·e^(x/b)·dy is then 0 in f32 for
/// |dy| < 2^31.
const EXP_LINEAR_SLOPE_MAX: f32 = 18_446_744_073_709_551_616.0; // 2^64

/// The smallest positive f32, 2^-149: `bounded` from it asks for "> 0".
const SMALLEST_POSITIVE: f32 = 1e-45;

/// The largest E-Swish β: below x = −150, where its exponential stops, β·x·σ(x) is then 0 in
/// f32.
const E_SWISH_BETA_MAX: f32 = 65_536.0;

impl Activation {
    /// Every activation with its default parameters, in the order of the enum.
    pub fn all() -> impl Iterator<Item = Activation> {
        NAMES.iter().map(|&(_, a)| a)
    }

    /// The snake_case name: `"gelu_tanh"`, `"leaky_relu"`, ...
    pub fn name(&self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, a)| core::mem::discriminant(a) == core::mem::discriminant(self))
            .map_or("?", |(n, _)| n)
    }

    /// The activation called `name`, with its default parameters.
    pub fn from_name(name: &str) -> Result<Activation, Error> {
        NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, a)| a)
            .ok_or(Error::UnknownName { kind: "activation", name: NameBuf::new(name) })
    }

    /// Whether this version implements the activation (the others return
    /// [`Error::Unimplemented`]).
    pub fn is_implemented(&self) -> bool {
        self.kernel().is_ok()
    }

    fn kernel(&self) -> Result<Chosen, Error> {
        Ok(match *self {
            Activation::Elu { alpha } => {
                let alpha = bounded(
                    "alpha",
                    alpha,
                    SMALLEST_POSITIVE,
                    EXP_LINEAR_SLOPE_MAX,
                    "finite, > 0 and ≤ 2^64",
                )?;
                Chosen::ExpLinear(elu::ExpLinear::elu(alpha))
            }
            Activation::Selu => Chosen::ExpLinear(elu::ExpLinear::selu()),
            Activation::Celu { alpha } => Chosen::ExpLinear(elu::ExpLinear::celu(divisor("alpha", alpha)?)),
            Activation::Pelu { a, b } => {
                let (a, b) = (positive_finite("a", a)?, divisor("b", b)?);
                let slope = (a as f64 / b as f64) as f32;
                if !(f32::MIN_POSITIVE..=EXP_LINEAR_SLOPE_MAX).contains(&slope) {
                    let expected = "such that a/b is in [2^-126, 2^64]";
                    return Err(Error::InvalidParameter { name: "a", value: a as f64, expected });
                }
                Chosen::ExpLinear(elu::ExpLinear::pelu(a, b))
            }
            Activation::Mish => Chosen::Mish(mish::Mish),
            Activation::GeluTanh => Chosen::GeluTanh(gelu_tanh::GeluTanh),
            Activation::Gelu => Chosen::Gelu(gelu::Gelu),
            Activation::Sigmoid => Chosen::Sigmoid(logistic::Sigmoid),
            Activation::Silu => Chosen::Silu(logistic::Swish::new(1.0, 1.0)),
            // β = 1 is SiLU: βx is x, exact, and SiLU's kernel skips the double-f32 product
            // (the same results, 1.2 times as fast).
            Activation::Swish { beta } => match positive_finite("beta", beta)? {
                1.0 => Chosen::Silu(logistic::Swish::new(1.0, 1.0)),
                beta => Chosen::Swish(logistic::Swish::new(beta, 1.0)),
            },
            Activation::ESwish { beta } => {
                let beta =
                    bounded("beta", beta, SMALLEST_POSITIVE, E_SWISH_BETA_MAX, "finite, > 0 and ≤ 65536")?;
                Chosen::ESwish(logistic::Swish::new(1.0, beta))
            }
            Activation::LogSigmoid => Chosen::LogSigmoid(logistic::LogSigmoid),
            Activation::Softplus { beta, threshold } => {
                let (beta, threshold) = (positive_finite("beta", beta)?, finite("threshold", threshold)?);
                if beta == 1.0 {
                    Chosen::SoftplusUnit(logistic::Softplus::new(beta, threshold))
                } else {
                    Chosen::Softplus(logistic::Softplus::new(beta, threshold))
                }
            }
            Activation::Tanh => Chosen::Tanh(tanh::Tanh),
            Activation::Softsign => Chosen::Softsign(tanh::Softsign),
            Activation::Relu => Chosen::Relu(linear::Relu),
            Activation::Relu6 => Chosen::Clamp(linear::Clamp { lo: 0.0, hi: 6.0 }),
            Activation::HardTanh { min, max } => {
                let (lo, hi) = (finite("min", min)?, finite("max", max)?);
                if lo >= hi {
                    return Err(Error::InvalidParameter {
                        name: "min",
                        value: lo as f64,
                        expected: "less than max",
                    });
                }
                Chosen::Clamp(linear::Clamp { lo, hi })
            }
            Activation::LeakyRelu { slope } => {
                Chosen::LeakyRelu(linear::LeakyRelu { slope: finite("slope", slope)? })
            }
            Activation::HardSigmoid => Chosen::HardSigmoid(linear::HardSigmoid),
            Activation::HardSwish => Chosen::HardSwish(linear::HardSwish),
        })
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
