//! The errors that apply to a case (written from the doc comments, independently of the
//! crate's checks) and the checks of a successful pass against the oracles.

use super::decode::period;
use super::{Io, Kind, Mode, Pass};
use crate::act::Params;
use crate::common::slope::{
    leaky_dx, leaky_forward, prelu_grad, prelu_grad_judged, prelu_grad_ok, rrelu_slope,
};
use crate::common::{Guarded, show};
use crate::input::{same_bits, same_value};
use nnsimd::internals::reference::{rrelu_forward, rrelu_unit, ulp_distance};
use nnsimd::{Error, Isa, Rrelu, RreluMode};

/// Parameters at fault, as (name, value).
pub type Bad = Vec<(&'static str, f64)>;

/// The construction's rule breaks (DESIGN.md §4 and the doc comments of `Prelu::new` and
/// `Rrelu::new`).
fn build_errors(kind: &Kind) -> Bad {
    let mut bad = Vec::new();
    match kind {
        Kind::Prelu { slopes, inner, .. } => {
            if slopes.is_empty() {
                bad.push(("slopes", 0.0));
            }
            bad.extend(slopes.iter().filter(|a| !a.is_finite()).map(|&a| ("slopes", a as f64)));
            if *inner == 0 {
                bad.push(("inner", 0.0));
            } else if slopes.len() > 1 && slopes.len().checked_mul(*inner).is_none() {
                bad.push(("inner", *inner as f64));
            }
        }
        Kind::Rrelu { lower, upper, .. } => {
            let (l, h) = (*lower, *upper);
            if !l.is_finite() {
                bad.push(("lower", l as f64));
            }
            if !h.is_finite() {
                bad.push(("upper", h as f64));
            }
            if bad.is_empty() && l > h {
                bad.push(("lower", l as f64));
            } else if bad.is_empty() && ((h as f64 - l as f64) as f32).is_infinite() {
                bad.push(("upper", h as f64));
            }
        }
    }
    bad
}

/// Whether `e` is `InvalidParameter` for one of `bad`, with its value (NaN for NaN).
pub fn param_error_fits(e: &Error, bad: &Bad) -> bool {
    match e {
        Error::InvalidParameter { name, value, .. } => bad
            .iter()
            .any(|&(n, v)| n == *name && (value.to_bits() == v.to_bits() || (v.is_nan() && value.is_nan()))),
        _ => false,
    }
}

/// The call's errors that apply (any one may be reported), and the construction's.
pub fn expected_errors(io: &Io, kind: &Kind) -> (Vec<Error>, Bad) {
    let n = io.x.len();
    let mut errs = Vec::new();
    if let Some(i) = io.missing {
        errs.push(Error::IsaUnavailable(i));
    }
    let mut len = |arg, expected, found| {
        if expected != found {
            errs.push(Error::LengthMismatch { arg, expected, found });
        }
    };
    match io.pass {
        Pass::Forward => len("y", n, io.out_len),
        Pass::ForwardInplace => {}
        Pass::Backward => {
            len("dy", n, io.dy.len());
            len("dx", n, io.out_len);
        }
        Pass::BackwardInplace => len("dy", n, io.dy.len()),
    }
    match kind {
        Kind::Prelu { slopes, inner, ds_len } => {
            if !io.pass.forward() {
                len("dslopes", slopes.len(), *ds_len);
            }
            if let Some(p) = period(slopes.len(), *inner).filter(|p| !n.is_multiple_of(*p)) {
                errs.push(Error::NotMultiple { arg: "x", found: n, multiple_of: p });
            }
        }
        Kind::Rrelu { mode: Mode::Stored, stored, .. } => len("slopes", n, stored.len()),
        Kind::Rrelu { .. } => {}
    }
    (errs, build_errors(kind))
}

/// The slope of element `i`, from the definitions (valid layouts and ranges only).
fn slope_of(kind: &Kind, i: usize) -> f32 {
    match kind {
        Kind::Prelu { slopes, inner, .. } => slopes[(i / inner) % slopes.len()],
        Kind::Rrelu { lower, upper, mode, stored, .. } => match *mode {
            Mode::Train { seed, offset } => {
                rrelu_slope(*lower, *upper, rrelu_unit(seed, offset.wrapping_add(i as u64)))
            }
            Mode::Stored => stored[i],
            Mode::Eval => ((*lower as f64 + *upper as f64) / 2.0) as f32,
        },
    }
}

/// A successful pass's output (and PReLU's slope gradient) on `isa` against the oracles.
pub fn against_oracle(io: &Io, kind: &Kind, isa: Isa, out: &[f32], ds: &[f32]) {
    let forward = io.pass.forward();
    for (i, &got) in out.iter().enumerate() {
        let (x, a) = (io.x[i], slope_of(kind, i));
        let want = if forward { leaky_forward(x, a) } else { leaky_dx(x, a, io.dy[i]) };
        assert!(
            same_value(got, want),
            "{kind:?} {:?} on {isa}: x[{i}]={} slope {} dy {}: {} want {}",
            io.pass,
            show(x),
            show(a),
            show(io.dy.get(i).copied().unwrap_or(0.0)),
            show(got),
            show(want)
        );
    }
    if let Kind::Prelu { slopes, inner, .. } = kind
        && !forward
    {
        let want = prelu_grad(&io.x, &io.dy, slopes.len(), *inner);
        for (k, (&got, &w)) in ds.iter().zip(&want).enumerate() {
            assert!(
                !prelu_grad_judged(w) || prelu_grad_ok(got, w),
                "{kind:?} {:?} on {isa}: dslopes[{k}] = {} want {:e} (Σ|t| {:e}, {} elements)",
                io.pass,
                show(got),
                w.sum,
                w.abs_sum,
                w.count
            );
        }
    }
}

/// RReLU in training: `draw` on `isa` gives the defined slopes; two calls on a split slice
/// give the bits of one (out-of-place passes, whose result is `out`); with default or moderate
/// bounds and lower ≥ 0, the forward is within 4 ULP of the exact product.
pub fn rrelu_extras(io: &Io, kind: &Kind, isa: Isa, out: &[f32]) {
    let Kind::Rrelu { lower, upper, params, mode: Mode::Train { seed, offset }, .. } = *kind else {
        return;
    };
    let r = Rrelu::new(lower, upper).unwrap();
    let n = io.x.len();
    let mut drawn = Guarded::blank(io.offsets[1], n);
    r.draw_with(isa, seed, offset, drawn.slice_mut()).unwrap();
    assert!(drawn.guard_damage().is_none(), "{kind:?}: draw on {isa} wrote outside its slice");
    for (i, &a) in drawn.slice().iter().enumerate() {
        let want = slope_of(kind, i);
        assert!(
            a.to_bits() == want.to_bits(),
            "{kind:?}: draw on {isa}, i={i}: {} want {}",
            show(a),
            show(want)
        );
    }
    if matches!(io.pass, Pass::Forward | Pass::Backward) {
        let s = io.split;
        let mut parts = vec![0.0f32; n];
        let (p0, p1) = parts.split_at_mut(s);
        let (x, dy) = (&io.x[..], &io.dy[..]);
        let train = |k: usize| RreluMode::Train { seed, offset: offset.wrapping_add(k as u64) };
        if io.pass == Pass::Forward {
            r.forward_with(isa, train(0), &x[..s], p0).unwrap();
            r.forward_with(isa, train(s), &x[s..], p1).unwrap();
        } else {
            r.backward_with(isa, train(0), &x[..s], &dy[..s], p0).unwrap();
            r.backward_with(isa, train(s), &x[s..], &dy[s..], p1).unwrap();
        }
        assert!(same_bits(&parts, out), "{kind:?} {:?} on {isa}: split at {s} differs", io.pass);
    }
    if !io.pass.forward() || params == Params::Raw || lower < 0.0 {
        return;
    }
    for (i, (&x, &y)) in io.x.iter().zip(out).enumerate() {
        let exact = rrelu_forward(lower, upper, seed, offset.wrapping_add(i as u64), x as f64);
        if x.is_finite() && x <= 0.0 && exact.abs() <= f32::MAX as f64 {
            let d = ulp_distance(y, exact);
            assert!(d <= 4, "{kind:?} on {isa}: x[{i}]={}: y {} is {d} ULP from {exact:e}", show(x), show(y));
        }
    }
}
