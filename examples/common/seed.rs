//! The seed network: one input, two hidden units with an activation, one linear output, and the
//! squared-error loss ½(y − t)². Shared by `examples/seed_network.rs` and `tests/seed_network.rs`,
//! so that the test checks exactly what the example prints.
//!
//! The hidden activation and its derivative come from the crate's kernels
//! ([`Activation::forward_with`] and [`Activation::backward_with`]); the two dot products are plain f32.

use nnsimd::loss::{Mse, Reduction};
use nnsimd::{Activation, Error, Isa};

/// The input x.
pub const X: f32 = 0.5;
/// Hidden weights w.
pub const W: [f32; 2] = [0.6, -0.4];
/// Hidden biases b.
pub const B: [f32; 2] = [0.1, 0.2];
/// Output weights v.
pub const V: [f32; 2] = [0.3, 0.3];
/// Output bias c.
pub const C: f32 = 0.0;
/// Target t.
pub const T: f32 = 1.0;

/// One forward and backward pass of the seed network.
#[derive(Clone, Copy, Debug)]
pub struct Seed {
    /// Hidden pre-activations z = w·x + b.
    pub z: [f32; 2],
    /// Hidden outputs h = f(z).
    pub h: [f32; 2],
    /// Output y = v·h + c.
    pub y: f32,
    /// Loss ½(y − t)².
    pub loss: f32,
    /// dL/dy = y − t.
    pub dy: f32,
    /// dL/dh = v·dL/dy.
    pub dh: [f32; 2],
    /// Pre-activation gradients dL/dz = dL/dh·f'(z) (the crate's backward kernel).
    pub dz: [f32; 2],
    /// dL/dw = dL/dz·x.
    pub dw: [f32; 2],
    /// dL/dv = dL/dy·h.
    pub dv: [f32; 2],
}

/// Runs the seed network with hidden activation `act` on the detected ISA.
pub fn run(act: Activation) -> Result<Seed, Error> {
    run_with(Isa::detect(), act)
}

/// Runs the seed network with hidden activation `act` on `isa`.
pub fn run_with(isa: Isa, act: Activation) -> Result<Seed, Error> {
    let z = [W[0] * X + B[0], W[1] * X + B[1]];
    let mut h = [0.0f32; 2];
    act.forward_with(isa, &z, &mut h)?;
    let y = V[0] * h[0] + V[1] * h[1] + C;
    // L = ½(y − t)² is half of PyTorch's `mse_loss` (y − t)², whose derivative is 2(y − t):
    // `loss::Mse` with no reduction, scaled by an upstream gradient of ½.
    let (mut sq, mut dys) = ([0.0f32], [0.0f32]);
    Mse { reduction: Reduction::None }.forward_backward_none_with(
        isa,
        &[y],
        &[T],
        &[0.5],
        &mut sq,
        &mut dys,
    )?;
    let (loss, dy) = (0.5 * sq[0], dys[0]);
    let dh = [V[0] * dy, V[1] * dy];
    let mut dz = [0.0f32; 2];
    act.backward_with(isa, &z, &dh, &mut dz)?;
    let dw = [dz[0] * X, dz[1] * X];
    let dv = [dy * h[0], dy * h[1]];
    Ok(Seed { z, h, y, loss, dy, dh, dz, dw, dv })
}

impl core::fmt::Display for Seed {
    /// The values to 4 decimals, one quantity a line.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // + 0.0 turns −0 (a negative gradient times ReLU'(0) = 0) into 0 for printing.
        let pair = |v: [f32; 2]| format!("({:.4}, {:.4})", v[0] + 0.0, v[1] + 0.0);
        writeln!(f, "  z     = {}", pair(self.z))?;
        writeln!(f, "  h     = {}", pair(self.h))?;
        writeln!(f, "  y     = {:.4}", self.y)?;
        writeln!(f, "  L     = {:.4}", self.loss)?;
        writeln!(f, "  dL/dy = {:.4}", self.dy)?;
        writeln!(f, "  dL/dh = {}", pair(self.dh))?;
        writeln!(f, "  dL/dz = {}   (pre-activation gradients)", pair(self.dz))?;
        writeln!(f, "  dL/dw = {}", pair(self.dw))?;
        write!(f, "  dL/dv = {}", pair(self.dv))
    }
}
