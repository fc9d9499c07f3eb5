//! Gated linear units: y = f(a)·b, fused into one pass over memory.

use super::{Activation, Chosen};
use crate::drivers::fused::{run_glu, run_glu_back, run_glu_back_halves, run_glu_halves};
use crate::error::{Error, check_len};
use crate::isa::Isa;
use crate::parallel::{self, CHUNK, Parts};

/// A gated linear unit, y = f(a)·b, with the gate's activation f applied to a.
///
/// GLU (Dauphin et al., 2017, "Language Modeling with Gated Convolutional Networks") gates a
/// linear projection with σ of another; Shazeer (2020, "GLU Variants Improve Transformer")
/// puts other activations in the gate: SwiGLU = silu(a)·b ([`Glu::SWIGLU`]), GEGLU =
/// gelu(a)·b with the erf GELU ([`Glu::GEGLU`]) or the tanh one ([`Glu::GEGLU_TANH`]), ReGLU
/// = relu(a)·b. Any [`Activation`] can be the gate; its parameters are checked at each call
/// as [`Activation::forward`] does.
///
/// - Forward: y = f(a)·b. Backward from dy: da = f'(a)·(dy·b), db = dy·f(a). The kernels
///   call the activation's own f and f' and add the products in the same pass: forward
///   reads a and b and writes y; backward reads a, b, dy and writes da and db.
/// - Layouts: two separate slices ([`Glu::forward`]), or the two halves of the last dimension
///   of one tensor x of shape [rows, 2·d], a = x[.., :d] and b = x[.., d:], y of shape
///   [rows, d] ([`Glu::forward_halves`]; backward writes dx of shape [rows, 2·d]). This is
///   the split of PyTorch's `torch.nn.functional.glu(x, dim=-1)` and of Megatron's fused
///   SwiGLU, with the gate on the first half. Note that `F.glu` itself computes a·σ(b), the
///   sigmoid on the *second* half: `Glu::new(Activation::Sigmoid)` gives σ(a)·b.
/// - Accuracy: y = fl(f̃(a)·b), the activation's f32 value f̃(a) (within its bound, 4 ULP)
///   times b, rounded once. Where f̃(a) is k ULP off, y is within 2k + 1 ULP of the exact
///   f(a)·b (one ULP of f(a) can be two of the product), usually k + 1. In backward, dy·b is
///   rounded once and takes dy's place in the activation's backward (the accuracy of
///   [`Activation::backward`] with that dy), and db = fl(dy·f̃(a)). Measured against the exact
///   products in f64 (tests/glu.rs, `measured_accuracy`: 200,000 a ~ N(0, 3²) or U(−20, 20),
///   b and dy ~ N(0, 1), normal results; 20,000 on NEON under qemu), on scalar, portable,
///   AVX2, AVX-512 and NEON: y within 3 ULP for SwiGLU, GEGLU and GEGLU-tanh, db within
///   3 ULP, da within 5 ULP (SwiGLU, GEGLU) and 6 ULP (GEGLU-tanh) away from the roots of f',
///   where the activation's absolute 2^-23 rule applies (times |dy·b|).
/// - Range: the products are f32. Where |dy·b| overflows, or comes within a few powers of two
///   of f32::MAX (the activations' backward multiplies dy by intermediate terms before a
///   division; mish overflowed from |dy·b| ≈ 2^119 in the tests, which accept ±inf from 2^112),
///   da is ±inf or NaN; a product below f32's range rounds into the subnormals or to 0, as f32
///   arithmetic does.
/// - NaN in a, b or dy gives NaN in every result it enters; ±inf follows f32 arithmetic
///   (f(a) = 0 times b = ±inf is NaN, as in PyTorch's unfused f(a)·b).
/// - Threads: element-wise, so bitwise the same for any thread count (feature `rayon`).
///
/// ```
/// use nnsimd::activation::Glu;
/// // x of shape [2, 2·2]: each row holds a then b.
/// let x = [1.0f32, -1.0, 2.0, 3.0, 0.0, 4.0, 5.0, 6.0];
/// let mut y = [0.0f32; 4];
/// Glu::SWIGLU.forward_halves(&x, 2, &mut y)?;
/// let silu = |v: f32| v / (1.0 + (-v).exp());
/// assert!((y[0] - silu(1.0) * 2.0).abs() < 1e-6 && (y[1] - silu(-1.0) * 3.0).abs() < 1e-6);
/// assert_eq!(y[2], 0.0); // silu(0)·5
/// # Ok::<(), nnsimd::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Glu {
    activation: Activation,
}

impl Glu {
    /// SwiGLU: silu(a)·b (Shazeer, 2020).
    pub const SWIGLU: Glu = Glu::new(Activation::Silu);
    /// GEGLU with the exact, erf GELU: gelu(a)·b (Shazeer, 2020).
    pub const GEGLU: Glu = Glu::new(Activation::Gelu);
    /// GEGLU with the tanh approximation of GELU (PyTorch's `approximate="tanh"`).
    pub const GEGLU_TANH: Glu = Glu::new(Activation::GeluTanh);

    /// The gated linear unit f(a)·b with `activation` as f.
    pub const fn new(activation: Activation) -> Glu {
        Glu { activation }
    }

    /// The gate's activation f.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// y = f(a)·b on the detected ISA. a, b and y have the same length.
    pub fn forward(&self, a: &[f32], b: &[f32], y: &mut [f32]) -> Result<(), Error> {
        self.forward_with(Isa::detect(), a, b, y)
    }

    /// y = f(a)·b on `isa`.
    pub fn forward_with(&self, isa: Isa, a: &[f32], b: &[f32], y: &mut [f32]) -> Result<(), Error> {
        let isa = isa.check()?;
        check_len("b", a.len(), b.len())?;
        check_len("y", a.len(), y.len())?;
        let k = self.activation.kernel()?;
        let p = Parts { ins: [a, b], outs: [y], per_in: [CHUNK; 2], per_out: [CHUNK] };
        with_kernel!(&k, |k| parallel::run_parts(p, a.len().div_ceil(CHUNK), a.len(), &|p| {
            let Parts { ins: [a, b], outs: [y], .. } = p;
            run_glu(isa, k, a, b, y)
        }));
        Ok(())
    }

    /// da = f'(a)·(dy·b) and db = dy·f(a) on the detected ISA; every slice has a's length.
    pub fn backward(
        &self,
        a: &[f32],
        b: &[f32],
        dy: &[f32],
        da: &mut [f32],
        db: &mut [f32],
    ) -> Result<(), Error> {
        self.backward_with(Isa::detect(), a, b, dy, da, db)
    }

    /// [`Glu::backward`] on `isa`.
    pub fn backward_with(
        &self,
        isa: Isa,
        a: &[f32],
        b: &[f32],
        dy: &[f32],
        da: &mut [f32],
        db: &mut [f32],
    ) -> Result<(), Error> {
        let isa = isa.check()?;
        check_len("b", a.len(), b.len())?;
        check_len("dy", a.len(), dy.len())?;
        check_len("da", a.len(), da.len())?;
        check_len("db", a.len(), db.len())?;
        let k = self.activation.kernel()?;
        let p = Parts { ins: [a, b, dy], outs: [da, db], per_in: [CHUNK; 3], per_out: [CHUNK; 2] };
        with_kernel!(&k, |k| parallel::run_parts(p, a.len().div_ceil(CHUNK), a.len(), &|p| {
            let Parts { ins: [a, b, dy], outs: [da, db], .. } = p;
            run_glu_back(isa, k, a, b, dy, da, db)
        }));
        Ok(())
    }

    /// y = f(a)·b on the halves of x, on the detected ISA: x of shape [rows, 2·d] (a the
    /// first d values of each row, b the last d), y of shape [rows, d].
    pub fn forward_halves(&self, x: &[f32], d: usize, y: &mut [f32]) -> Result<(), Error> {
        self.forward_halves_with(Isa::detect(), x, d, y)
    }

    /// [`Glu::forward_halves`] on `isa`.
    pub fn forward_halves_with(&self, isa: Isa, x: &[f32], d: usize, y: &mut [f32]) -> Result<(), Error> {
        let isa = isa.check()?;
        let rows = halves_rows(x.len(), d)?;
        check_len("y", x.len() / 2, y.len())?;
        let k = self.activation.kernel()?;
        let r = rows_per_task(d);
        let p = Parts { ins: [x], outs: [y], per_in: [2 * d * r], per_out: [d * r] };
        with_kernel!(&k, |k| parallel::run_parts(p, rows.div_ceil(r), x.len(), &|p| {
            let Parts { ins: [x], outs: [y], .. } = p;
            run_glu_halves(isa, k, x, d, y)
        }));
        Ok(())
    }

    /// Backward of [`Glu::forward_halves`] on the detected ISA: from x ([rows, 2·d]) and dy
    /// ([rows, d]), dx ([rows, 2·d]) gets da in the first half of each row and db in the
    /// second.
    pub fn backward_halves(&self, x: &[f32], d: usize, dy: &[f32], dx: &mut [f32]) -> Result<(), Error> {
        self.backward_halves_with(Isa::detect(), x, d, dy, dx)
    }

    /// [`Glu::backward_halves`] on `isa`.
    pub fn backward_halves_with(
        &self,
        isa: Isa,
        x: &[f32],
        d: usize,
        dy: &[f32],
        dx: &mut [f32],
    ) -> Result<(), Error> {
        let isa = isa.check()?;
        let rows = halves_rows(x.len(), d)?;
        check_len("dy", x.len() / 2, dy.len())?;
        check_len("dx", x.len(), dx.len())?;
        let k = self.activation.kernel()?;
        let r = rows_per_task(d);
        let p = Parts { ins: [x, dy], outs: [dx], per_in: [2 * d * r, d * r], per_out: [2 * d * r] };
        with_kernel!(&k, |k| parallel::run_parts(p, rows.div_ceil(r), x.len(), &|p| {
            let Parts { ins: [x, dy], outs: [dx], .. } = p;
            run_glu_back_halves(isa, k, x, d, dy, dx)
        }));
        Ok(())
    }
}

/// The rows of x holding two halves of `d` each: errors for d = 0, 2·d beyond usize, and a
/// length that is not a whole number of rows.
fn halves_rows(n: usize, d: usize) -> Result<usize, Error> {
    if d == 0 {
        return Err(Error::InvalidParameter { name: "d", value: 0.0, expected: "at least 1" });
    }
    let row = d.checked_mul(2).ok_or(Error::ShapeOverflow)?;
    if !n.is_multiple_of(row) {
        return Err(Error::NotMultiple { arg: "x", found: n, multiple_of: row });
    }
    Ok(n / row)
}

/// Whole rows of d outputs per parallel task: about [`CHUNK`] outputs, at least one row.
fn rows_per_task(d: usize) -> usize {
    (CHUNK / d).max(1)
}
