//! The math core's functions as kernels over slices, so that the `ulp` example and the tests
//! can sweep them on every ISA. Not part of the stable API.

use crate::Error;
use crate::drivers::{Elementwise, run_forward};
use crate::error::{NameBuf, check_len};
use crate::isa::Isa;
use crate::math::{erf, exp, log1p, sigmoid, tanh};
use crate::simd::Simd;

/// The math functions that can be probed, by name.
/// `exp_table` is e^x by the table path, on x clamped to its range [-87, 87], so that every
/// backend's table lookup is swept (only AVX-512 uses it in the activations).
pub const NAMES: [&str; 9] = ["exp", "expm1", "tanh", "sigmoid", "log1p", "erf", "erfc", "log", "exp_table"];

#[derive(Clone, Copy)]
struct Probe(usize);

impl Elementwise for Probe {
    #[inline(always)]
    fn forward<S: Simd>(&self, s: S, x: S::V) -> S::V {
        match self.0 {
            0 => exp::exp(s, x),
            1 => exp::expm1(s, x),
            2 => tanh::tanh(s, x),
            3 => sigmoid::sigmoid(s, x),
            4 => log1p::log1p(s, x),
            5 => erf::erf(s, x),
            6 => erf::erfc(s, x),
            7 => log1p::log(s, x),
            _ => exp::exp_table::<S, false>(s, s.min(s.max(x, s.splat(-87.0)), s.splat(87.0))),
        }
    }
    #[inline(always)]
    fn backward<S: Simd>(&self, s: S, x: S::V, _dy: S::V) -> S::V {
        self.forward(s, x)
    }
}

/// y = f(x) for the math function `name` (one of [`NAMES`]) on `isa`.
pub fn eval(name: &str, isa: Isa, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    let isa = isa.check()?;
    check_len("y", x.len(), y.len())?;
    let i = NAMES
        .iter()
        .position(|n| *n == name)
        .ok_or(Error::UnknownName { kind: "math function", name: NameBuf::new(name) })?;
    run_forward(isa, &Probe(i), x, y);
    Ok(())
}
