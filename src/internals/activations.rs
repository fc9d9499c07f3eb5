//! The oracle side of the activation registry (src/activation/registry.rs): per activation, the
//! f64 reference f and f' of src/reference.rs, the accuracy bounds and the near-root rule, the
//! limits at ±inf, f' as a function of the output, the parameters with their ranges, the
//! plain-f32 naive loops of the speed baselines, and the plot settings. Every function here is a
//! match over every activation, generated from the registry: a new entry is covered by all of
//! them or does not compile.

use crate::Activation;
use crate::activation::registry::{self, Range};
use crate::reference::{self, BACKWARD_BOUND, NEAR_ROOT_ABS, ulp_distance};

/// One parameter of an activation: its name, its value, its default and its valid range (the
/// crate checks it in this order, then the activation's joint condition: [`joint_fault`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param {
    /// The field's name, as errors name it.
    pub name: &'static str,
    /// Its value in the activation asked about.
    pub value: f32,
    /// Its default ([`Activation::from_name`]).
    pub default: f32,
    /// Valid values are finite and within [min, max].
    pub min: f32,
    /// See `min`.
    pub max: f32,
    /// What the error says is expected.
    pub expected: &'static str,
}

fn param(name: &'static str, value: f32, default: f32, range: Range) -> Param {
    Param { name, value, default, min: range.min, max: range.max, expected: range.expected }
}

/// `f(x)` with the closure's argument type fixed (so that the registry's closures need none).
fn call<A, R>(f: impl Fn(A) -> R, x: A) -> R {
    f(x)
}

/// `f(x)` for a reference function f of finite x: NaN in, NaN out (docs/DESIGN.md,
/// Accuracy), and ±inf taken as ±1e100 ([`reference::finite`]).
fn defined(x: f64, f: impl Fn(f64) -> f64) -> f64 {
    if x.is_nan() { f64::NAN } else { f(reference::finite(x)) }
}

/// 1 strictly inside (lo, hi), 0 at and beyond the ends.
fn inside(y: f64, lo: f64, hi: f64) -> f64 {
    reference::inside(y, lo, hi)
}

/// The piece of a g(y) with kinks at lo and hi: 0 at and below lo, 1 inside, 2 at and above hi.
fn between(y: f64, lo: f64, hi: f64) -> i32 {
    (y > lo) as i32 + (y >= hi) as i32
}

/// f' of the exponential-linear family from y: `pos` for y > 0, (y + s₋)/b otherwise.
fn exp_linear(y: f64, pos: f64, neg: f64, b: f64) -> f64 {
    if y > 0.0 { pos } else { (y + neg) / b }
}

/// The naive loops' helpers: f32 constants and σ as a user would write them.
mod naive {
    pub const SELU_LAMBDA: f32 = 1.050_701;
    pub const SELU_ALPHA: f32 = 1.673_263_2;
    pub const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    pub const FRAC_1_SQRT_2: f32 = core::f32::consts::FRAC_1_SQRT_2;
    pub const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

    pub fn sigmoid(v: f32) -> f32 {
        1.0 / (1.0 + (-v).exp())
    }
}

#[inline(always)]
fn map1(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = f(v);
    }
}

#[inline(always)]
fn map2(x: &[f32], dy: &[f32], dx: &mut [f32], f: impl Fn(f32, f32) -> f32) {
    for ((o, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
        *o = f(v, g);
    }
}

/// `$v` if given, else `$default`: an optional field of a registry entry.
macro_rules! either {
    ($v:expr; $default:expr) => {
        $v
    };
    (; $default:expr) => {
        $default
    };
}

/// The oracle side's reader of the registry.
macro_rules! define_descriptors {
    (() $(
        $(#[$meta:meta])*
        $V:ident $({ $( $(#[$pmeta:meta])* $p:ident : $range:ident = $def:expr ),* $(,)? })? => {
            name: $name:literal,
            $(joint: $jok:expr => $jname:ident : $jexp:literal,)?
            kernel: $kernel:expr,
            kernels: [$($kernels:tt)*],
            reference: $f:expr, $df:expr,
            limits: $limits:expr,
            exact: $exact:literal,
            roots: $roots:expr,
            keeps_negative_zero: $kz:literal,
            $(output: $g:expr, slope: $gs:expr, piece: $gp:expr,)?
            naive: $nf:expr, $ndf:expr,
            plot: $family:literal $(with $shown:expr)?,
        }
    )*) => {
        /// The parameters of `act`, in the order of declaration, with their values.
        pub fn params(act: &Activation) -> Vec<Param> {
            match *act {
                $( Activation::$V { $( $( $p, )* )? .. } => {
                    vec![$( $( param(stringify!($p), $p, $def, registry::$range), )* )?]
                } )*
            }
        }

        /// `act` with its parameters replaced by `values` (in the order of [`params`]).
        ///
        /// # Panics
        /// If `values` does not hold one value per parameter.
        pub fn with_params(act: &Activation, values: &[f32]) -> Activation {
            assert_eq!(values.len(), params(act).len(), "{}: one value per parameter", act.name());
            #[allow(unused_variables, unused_mut)]
            let mut values = values.iter().copied();
            match *act {
                $( Activation::$V { .. } => {
                    Activation::$V $({ $( $p: values.next().unwrap() ),* })?
                } )*
            }
        }

        /// The parameter the crate reports when each parameter is within its range but their
        /// joint condition fails (hard-tanh's min < max, PELU's a/b), with its value; None
        /// otherwise (also where a parameter is out of its own range).
        pub fn joint_fault(act: &Activation) -> Option<(&'static str, f32)> {
            if params(act).iter().any(|p| !(p.value.is_finite() && p.min <= p.value && p.value <= p.max)) {
                return None;
            }
            match *act {
                $( #[allow(unused_variables)] Activation::$V { $( $( $p, )* )? .. } => {
                    either!($( {
                        let joint_ok: bool = $jok;
                        (!joint_ok).then_some((stringify!($jname), $jname))
                    } )?; None)
                } )*
            }
        }

        /// f(x) in f64 (NaN for NaN, ±inf taken as ±1e100: see [`reference::finite`]).
        pub fn forward(act: &Activation, x: f64) -> f64 {
            defined(x, |x| match *act {
                $( Activation::$V { $( $( $p, )* )? .. } => call($f, x), )*
            })
        }

        /// f'(x) in f64 (PyTorch's side at kinks; NaN for NaN, also where PyTorch gives 0 or
        /// dy).
        pub fn derivative(act: &Activation, x: f64) -> f64 {
            defined(x, |x| match *act {
                $( Activation::$V { $( $( $p, )* )? .. } => call($df, x), )*
            })
        }

        /// [f(−inf), f(+inf), f'(−inf), f'(+inf)] from the definitions at the activation's own
        /// parameters; NaN where no limit is stated.
        fn limits(act: &Activation) -> [f64; 4] {
            match *act {
                $( #[allow(unused_variables)] Activation::$V { $( $( $p, )* )? .. } => $limits, )*
            }
        }

        /// The forward bound in ULP: 0 for the piecewise-linear kernels, 4 otherwise.
        pub fn forward_bound(act: &Activation) -> u64 {
            match *act {
                $( Activation::$V { .. } => if $exact { 0 } else { 4 }, )*
            }
        }

        /// The argument (x, or βx for Swish, as the f32 product) that the near-root
        /// rule bounds by 4, for an activation whose f' has roots where its terms cancel; None
        /// for the others.
        fn root_argument(act: &Activation, x: f32) -> Option<f64> {
            match *act {
                $( #[allow(unused_variables)] Activation::$V { $( $( $p, )* )? .. } => {
                    call::<f32, Option<f64>>($roots, x)
                } )*
            }
        }

        /// Whether f(−0) is −0 (f(x) ≈ c·x with c > 0 near 0).
        pub fn keeps_negative_zero(act: &Activation) -> bool {
            match *act {
                $( Activation::$V { .. } => $kz, )*
            }
        }

        /// g(y) = f'(x) written with y = f(x), in f64, where the crate has backward from the
        /// output for this activation's kind (NaN for NaN); None otherwise.
        pub fn output_derivative(act: &Activation, y: f64) -> Option<f64> {
            let g: Option<f64> = match *act {
                $( #[allow(unused_variables)] Activation::$V { $( $( $p, )* )? .. } => {
                    either!($( Some(call::<f64, f64>($g, y)) )?; None)
                } )*
            };
            g.map(|v| if y.is_nan() { f64::NAN } else { v })
        }

        /// |g'(y)|, for the propagation of y's rounding into g(y) (0 where g is flat or has no
        /// output form).
        pub fn output_slope(act: &Activation, y: f64) -> f64 {
            match *act {
                $( #[allow(unused_variables)] Activation::$V { $( $( $p, )* )? .. } => {
                    either!($( call::<f64, f64>($gs, y) )?; 0.0)
                } )*
            }
        }

        /// Which piece of a piecewise g the value y is on (0 for smooth g).
        pub fn output_piece(act: &Activation, y: f64) -> i32 {
            match *act {
                $( #[allow(unused_variables)] Activation::$V { $( $( $p, )* )? .. } => {
                    either!($( call::<f64, i32>($gp, y) )?; 0)
                } )*
            }
        }

        /// y = f(x) as a plain f32 loop over std's functions, as a user would write it.
        pub fn naive_forward(act: &Activation, x: &[f32], y: &mut [f32]) {
            match *act {
                $( Activation::$V { $( $( $p, )* )? .. } => map1(x, y, $nf), )*
            }
        }

        /// dx = dy·f'(x) as a plain f32 loop.
        pub fn naive_backward(act: &Activation, x: &[f32], dy: &[f32], dx: &mut [f32]) {
            match *act {
                $( Activation::$V { $( $( $p, )* )? .. } => map2(x, dy, dx, $ndf), )*
            }
        }

        /// The plot family of `act` (`plot_activations` draws one chart per family).
        pub fn plot_family(act: &Activation) -> &'static str {
            match *act {
                $( Activation::$V { .. } => $family, )*
            }
        }

        /// The activation as plotted: its defaults, or parameters that set its curve apart
        /// from another of its family.
        pub fn plot_shown(act: &Activation) -> Activation {
            match *act {
                $( Activation::$V { .. } => either!($( $shown )?; *act), )*
            }
        }
    };
}

registry::for_each_activation!(define_descriptors);

/// lim f(x) for x → +inf (`pos`) or −inf, from the definitions at the activation's own
/// parameters; None where no limit is stated.
pub fn forward_limit(act: &Activation, pos: bool) -> Option<f64> {
    Some(limits(act)[pos as usize]).filter(|v| !v.is_nan())
}

/// lim f'(x) for x → ±inf.
pub fn derivative_limit(act: &Activation, pos: bool) -> Option<f64> {
    Some(limits(act)[2 + pos as usize]).filter(|v| !v.is_nan())
}

/// Whether f' of `act` has roots where its terms cancel, so that the absolute bound of
/// docs/DESIGN.md (Accuracy) applies near them.
pub fn has_cancelling_roots(act: &Activation) -> bool {
    root_argument(act, 0.0).is_some()
}

/// The scale of the terms that cancel near a root of f': |f'(+inf)| (1 for SiLU, Swish, GELU,
/// Mish; β for E-Swish, whose f' is β times SiLU's), 1 where that limit is 0 or not stated.
pub fn root_scale(act: &Activation) -> f64 {
    derivative_limit(act, true).map(f64::abs).filter(|s| s.is_finite() && *s > 0.0).unwrap_or(1.0)
}

/// The absolute bound of backward where [`near_root`] holds: 2^-23·s, s the [`root_scale`].
pub fn near_root_abs(act: &Activation) -> f64 {
    NEAR_ROOT_ABS * root_scale(act)
}

/// Whether `x` lies where the absolute rule (docs/DESIGN.md, Accuracy) governs backward:
/// near a root of f' whose terms cancel, |f'(x)| < 2^-6·s (`want` is the reference f'(x), s
/// the [`root_scale`]) and |x| ≤ 4 (|βx| ≤ 4 for Swish). There the error is measured in
/// absolute terms, not in ULP.
pub fn near_root(act: &Activation, x: f32, want: f64) -> bool {
    root_argument(act, x).is_some_and(|bx| want.abs() < root_scale(act) / 64.0 && bx.abs() <= 4.0)
}

/// Whether a backward result `got` for input `x` meets the accuracy bound (docs/DESIGN.md,
/// Accuracy) against the reference derivative `want` (dy = 1): within 8 ULP, or within
/// 2^-23·s absolute (s the [`root_scale`]) where [`near_root`] holds.
pub fn backward_ok(act: &Activation, x: f32, got: f32, want: f64) -> bool {
    ulp_distance(got, want) <= BACKWARD_BOUND
        || (near_root(act, x, want) && (got as f64 - want).abs() <= near_root_abs(act))
}
