//! Oracles of the leaky ReLUs with given slopes, written from their definitions: PReLU (He et
//! al., 2015; PyTorch's conventions at x = 0) and RReLU's slope (Xu et al., 2015; the crate's
//! generator, `nnsimd::internals::reference::rrelu_unit`). Shared by tests/prelu.rs, tests/rrelu.rs and
//! the fuzz target `prelu_rrelu_diff`.

/// Forward with slope `a`: x for x > 0, otherwise the exact product rounded once to f32 (the
/// f64 product of two f32 is exact), NaN for NaN.
pub fn leaky_forward(x: f32, a: f32) -> f32 {
    if x > 0.0 { x } else { (x as f64 * a as f64) as f32 }
}

/// dx with slope `a`: NaN for NaN x (the crate's rule), dy for x > 0, the rounded product
/// a·dy otherwise (x = 0 included).
pub fn leaky_dx(x: f32, a: f32, dy: f32) -> f32 {
    if x.is_nan() {
        f32::NAN
    } else if x > 0.0 {
        dy
    } else {
        (dy as f64 * a as f64) as f32
    }
}

/// One channel's slope gradient, as the oracle has it.
#[derive(Clone, Copy, Debug)]
pub struct GradWant {
    /// Σ dy·x over the channel's x ≤ 0 or NaN, summed exactly enough (Neumaier in f64).
    pub sum: f64,
    /// Σ |dy·x| over the same terms.
    pub abs_sum: f64,
    /// The channel's element count.
    pub count: usize,
}

/// PReLU's slope gradient per channel (element i in channel (i / inner) % C). Each term
/// dy·x is exact in f64, except that one beyond f32's range is ±inf, as the f32 product the
/// crate documents (and PyTorch computes).
pub fn prelu_grad(x: &[f32], dy: &[f32], channels: usize, inner: usize) -> Vec<GradWant> {
    let mut out = vec![GradWant { sum: 0.0, abs_sum: 0.0, count: 0 }; channels];
    let mut comp = vec![0.0f64; channels];
    for i in 0..x.len() {
        let o = &mut out[(i / inner) % channels];
        o.count += 1;
        if x[i] > 0.0 {
            continue;
        }
        let exact = x[i] as f64 * dy[i] as f64;
        let t = if (exact as f32).is_infinite() { exact.signum() * f64::INFINITY } else { exact };
        let sum = o.sum + t;
        comp[(i / inner) % channels] +=
            if o.sum.abs() >= t.abs() { (o.sum - sum) + t } else { (t - sum) + o.sum };
        o.sum = sum;
        o.abs_sum += t.abs();
    }
    for (o, c) in out.iter_mut().zip(&comp) {
        // An infinite or NaN sum is what plain summation gives (the compensation is NaN).
        if o.sum.is_finite() {
            o.sum += c;
        }
    }
    out
}

/// Whether the oracle can judge a gradient: a non-finite sum (a NaN or infinite term), or
/// finite terms whose magnitudes sum within f32's range, so that no partial sum of the
/// crate's f32 accumulators overflows (beyond that it may give ±inf where the exact sum is
/// finite).
pub fn prelu_grad_judged(want: GradWant) -> bool {
    !want.sum.is_finite() || want.abs_sum <= f32::MAX as f64
}

/// The crate's accuracy claim for the gradient: NaN for NaN, the infinity for an infinite sum,
/// otherwise within 1 ULP of the exact sum plus m·2^-44·Σ|dy·x| + m·2^-148 (m elements in the
/// channel): the double-f32 sum's error is about k·2^-46·Σ|t| after k terms per lane, and
/// products below 2^-126 lose their low part.
pub fn prelu_grad_ok(got: f32, want: GradWant) -> bool {
    if want.sum.is_nan() {
        return got.is_nan();
    }
    if want.sum.is_infinite() {
        return got as f64 == want.sum;
    }
    let w = want.sum as f32;
    let ulp = (f32::from_bits(w.abs().to_bits() + 1) - w.abs()) as f64;
    let m = want.count as f64;
    let bound = ulp + m * (want.abs_sum * 2f64.powi(-44) + 2f64.powi(-148));
    (got as f64 - want.sum).abs() <= bound
}

/// RReLU's training slope as defined: min(lower + r·u, upper) in f32 arithmetic, each
/// operation rounded, r = upper − lower rounded to f32, u the generator's draw.
pub fn rrelu_slope(lower: f32, upper: f32, u: f64) -> f32 {
    let r = (upper as f64 - lower as f64) as f32;
    let a = lower + r * u as f32;
    if upper < a { upper } else { a }
}
