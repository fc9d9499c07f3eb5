//! What the tests of the losses over classes (`loss_classes`, `loss_classes_golden`) share: the
//! row layout, a row's f64 expectation, and the comparisons.

/// 2^-23.
pub const U23: f64 = 1.0 / (1u64 << 23) as f64;

/// The element indices of each row of `[outer, classes, inner]`, rows in `[outer, inner]` order.
pub fn row_indices(n: usize, classes: usize, inner: usize) -> Vec<Vec<usize>> {
    (0..n / (classes * inner))
        .flat_map(|o| (0..inner).map(move |j| (0..classes).map(|k| (o * classes + k) * inner + j).collect()))
        .collect()
}

/// One row's expected results for an upstream gradient of 1: its loss, the magnitude of its
/// terms, the gradient per class and the magnitude each gradient element's error is measured
/// against.
#[derive(Clone, Debug)]
pub struct RowWant {
    pub ignored: bool,
    pub loss: f64,
    pub mag: f64,
    pub g: Vec<f64>,
    pub gm: Vec<f64>,
}

impl RowWant {
    /// An ignored row of `c` classes: loss and gradient 0.
    pub fn ignored(c: usize) -> RowWant {
        RowWant { ignored: true, loss: 0.0, mag: 0.0, g: vec![0.0; c], gm: vec![0.0; c] }
    }

    /// A row of `c` classes whose loss and gradient are NaN.
    pub fn nan(c: usize) -> RowWant {
        RowWant { ignored: false, loss: f64::NAN, mag: 0.0, g: vec![f64::NAN; c], gm: vec![0.0; c] }
    }
}

/// The spacing of f32 at `v` rounded to f32.
pub fn ulp_of(v: f64) -> f64 {
    let f = (v as f32).abs();
    if !f.is_finite() {
        return f64::INFINITY;
    }
    (f32::from_bits(f.to_bits() + 1) - f) as f64
}

/// Bitwise equal, or both NaN.
pub fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}
