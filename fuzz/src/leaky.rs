//! PReLU and RReLU for the fuzz target `prelu_rrelu_diff`: decoding a layout or slope range,
//! running a pass over guarded buffers, the errors that apply (written from the doc comments,
//! independently of the crate's checks) and the checks against the oracles of
//! tests/common/slope.rs.

use crate::act::{Params, plausible};
use crate::common::slope::{
    leaky_dx, leaky_forward, prelu_grad, prelu_grad_judged, prelu_grad_ok, rrelu_slope,
};
use crate::common::{Guarded, show};
use crate::input::{self, any_f32, moderate_f32, same_bits, same_value};
use arbitrary::{Result, Unstructured};
use nnsimd::parallel::CHUNK;
use nnsimd::reference::{rrelu_forward, rrelu_unit, ulp_distance};
use nnsimd::{Error, Isa, Prelu, Rrelu, RreluMode};
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    Forward,
    ForwardInplace,
    Backward,
    BackwardInplace,
}

pub const PASSES: [Pass; 4] = [Pass::Forward, Pass::ForwardInplace, Pass::Backward, Pass::BackwardInplace];

impl Pass {
    fn forward(self) -> bool {
        matches!(self, Pass::Forward | Pass::ForwardInplace)
    }
}

/// The same pass in place if `p` is out of place, and the other way round.
pub fn twin(p: Pass) -> Pass {
    match p {
        Pass::Forward => Pass::ForwardInplace,
        Pass::ForwardInplace => Pass::Forward,
        Pass::Backward => Pass::BackwardInplace,
        Pass::BackwardInplace => Pass::Backward,
    }
}

/// What both activations share: the pass, the ISA, the data and its layout in memory.
#[derive(Clone, Debug)]
pub struct Io {
    pub pass: Pass,
    /// None: the plain entry points (the detected ISA).
    pub isa: Option<Isa>,
    /// An ISA the CPU lacks, asked for instead of `isa`.
    pub missing: Option<Isa>,
    pub x: Vec<f32>,
    /// dy (its length may differ from x's).
    pub dy: Vec<f32>,
    /// Length of the out-of-place output (y or dx).
    pub out_len: usize,
    /// Offsets of x, the output and dy in their guarded buffers (misalignment).
    pub offsets: [usize; 3],
    /// Where RReLU's training pass is split into two calls.
    pub split: usize,
}

#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Train { seed: u64, offset: u64 },
    Stored,
    Eval,
}

#[derive(Debug)]
pub enum Kind {
    Prelu {
        slopes: Vec<f32>,
        inner: usize,
        /// Length of the slope gradient's buffer (`slopes.len()` unless a mismatch is tested).
        ds_len: usize,
    },
    Rrelu {
        lower: f32,
        upper: f32,
        params: Params,
        mode: Mode,
        /// The slopes of `Mode::Stored` (their length may differ from x's).
        stored: Vec<f32>,
    },
}

/// A PReLU layout: mostly one slope or a few channels with short, long (≥ 64) or any runs;
/// sometimes no slope, `inner` = 0 or an `inner` whose product with C overflows. Slopes are
/// moderate, now and then any f32 (NaN and infinities included).
pub fn prelu(u: &mut Unstructured) -> Result<Kind> {
    let channels = match u.int_in_range(0u8..=31)? {
        0 => 0,
        1 => 1500,
        2..=15 => 1,
        16..=25 => u.int_in_range(2..=8)?,
        _ => u.int_in_range(9..=40)?,
    };
    let inner = match u.int_in_range(0u8..=31)? {
        0 => 0,
        1 => u.int_in_range(usize::MAX / 4..=usize::MAX)?,
        2..=17 => u.int_in_range(1..=8)?,
        18..=23 => u.int_in_range(60..=70)?,
        _ => u.int_in_range(1..=300)?,
    };
    let slope = if u.ratio(1u8, 8)? { any_f32 } else { moderate_f32 };
    let slopes = input::values(u, channels, slope)?;
    let ds_len = if u.ratio(1u8, 32)? { input::other_length(u, channels)? } else { channels };
    Ok(Kind::Prelu { slopes, inner, ds_len })
}

/// The period of a PReLU layout (None if it cannot be built).
fn period(channels: usize, inner: usize) -> Option<usize> {
    match (channels, inner) {
        (0, _) | (_, 0) => None,
        (1, _) => Some(1),
        _ => channels.checked_mul(inner),
    }
}

/// A length for a layout: a few whole periods, sometimes enough of them to split into
/// threads, now and then one that is not a multiple of the period.
pub fn prelu_length(u: &mut Unstructured, channels: usize, inner: usize) -> Result<usize> {
    let Some(p) = period(channels, inner).filter(|&p| p <= 20_000) else {
        return input::length(u);
    };
    let k = if u.ratio(1u8, 32)? {
        (2 * CHUNK).div_ceil(p) + u.int_in_range(0..=(2 * CHUNK).div_ceil(p))?
    } else {
        u.int_in_range(0..=(300 / p).max(3))?
    };
    let off = if p > 1 && u.ratio(1u8, 16)? { u.int_in_range(1..=p - 1)? } else { 0 };
    Ok(k * p + off)
}

/// An RReLU slope range (PyTorch's default, moderate bounds of either sign, mostly ordered, or
/// any f32) and mode (training at an offset near 0, a 2^32 boundary, the end of u64 or
/// anywhere; stored slopes; evaluation).
pub fn rrelu(u: &mut Unstructured) -> Result<Kind> {
    let params = match u.int_in_range(0u8..=3)? {
        0 | 1 => Params::Default,
        2 => Params::Plausible,
        _ => Params::Raw,
    };
    let (lower, upper) = match params {
        Params::Default => (Rrelu::default().lower(), Rrelu::default().upper()),
        Params::Plausible => {
            let (a, b) = (plausible(u, true)?, plausible(u, false)?);
            if a > b && !u.ratio(1u8, 16)? { (b, a) } else { (a, b) }
        }
        Params::Raw => (any_f32(u)?, any_f32(u)?),
    };
    let mode = match u.int_in_range(0u8..=5)? {
        0..=2 => {
            let seed = u.arbitrary()?;
            let offset = match u.int_in_range(0u8..=3)? {
                0 => u.int_in_range(0..=1000)?,
                1 => (u.int_in_range(1u64..=8)? << 32).wrapping_sub(u.int_in_range(0..=300)?),
                2 => u64::MAX - u.int_in_range(0..=300)?,
                _ => u.arbitrary()?,
            };
            Mode::Train { seed, offset }
        }
        3 | 4 => Mode::Stored,
        _ => Mode::Eval,
    };
    Ok(Kind::Rrelu { lower, upper, params, mode, stored: Vec::new() })
}

/// Fills in RReLU's stored slopes for `n` elements: the drawn ones or any f32, sometimes of
/// the wrong length.
pub fn with_stored(u: &mut Unstructured, kind: Kind, n: usize) -> Result<Kind> {
    match kind {
        Kind::Rrelu { lower, upper, params, mode: Mode::Stored, .. } => {
            let len = if u.ratio(1u8, 16)? { input::other_length(u, n)? } else { n };
            let stored = if u.arbitrary()? {
                let seed = u.arbitrary()?;
                (0..len as u64).map(|i| rrelu_slope(lower, upper, rrelu_unit(seed, i))).collect()
            } else {
                input::long_values(u, len, any_f32)?
            };
            Ok(Kind::Rrelu { lower, upper, params, mode: Mode::Stored, stored })
        }
        other => Ok(other),
    }
}

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

impl Io {
    /// The buffer a pass writes, before it runs: y or dx blank, x or dy for in place.
    fn out_buffer(&self, pass: Pass) -> Guarded {
        let o = self.offsets[1];
        match pass {
            Pass::Forward | Pass::Backward => Guarded::blank(o, self.out_len),
            Pass::ForwardInplace => Guarded::new(o, &self.x),
            Pass::BackwardInplace => Guarded::new(o, &self.dy),
        }
    }

    /// Whether the output and the slope gradient's buffer are as they were before the pass.
    pub fn untouched(&self, out: &Guarded, ds: &Guarded) -> bool {
        let before = self.out_buffer(self.pass);
        let blank = ds.buf.iter().all(|v| v.to_bits() == crate::common::GUARD_BITS);
        same_bits(&out.buf, &before.buf) && blank
    }
}

/// What running a pass gave.
pub enum Ran {
    /// The activation could not be built.
    Refused(Error),
    /// The pass's result, the buffer it writes and the slope gradient's (empty for RReLU and
    /// forward passes).
    Done(core::result::Result<(), Error>, Guarded, Guarded),
}

/// The buffers of a pass that must succeed.
pub fn done(r: Ran) -> (Guarded, Guarded) {
    match r {
        Ran::Done(Ok(()), out, ds) => (out, ds),
        Ran::Done(Err(e), ..) | Ran::Refused(e) => panic!("a valid call failed: {e:?}"),
    }
}

/// Runs `pass` of `kind` on `isa` (None: the plain entry points) over guarded buffers.
pub fn run(io: &Io, kind: &Kind, pass: Pass, isa: Option<Isa>) -> Ran {
    let xg = Guarded::new(io.offsets[0], &io.x);
    let dyg = Guarded::new(io.offsets[2], &io.dy);
    let (x, dy) = (xg.slice(), dyg.slice());
    let mut out = io.out_buffer(pass);
    let o = out.slice_mut();
    match kind {
        Kind::Prelu { slopes, inner, ds_len } => {
            let p = match Prelu::new(slopes, *inner) {
                Ok(p) => p,
                Err(e) => return Ran::Refused(e),
            };
            let mut ds = Guarded::blank(1, if pass.forward() { 0 } else { *ds_len });
            let d = ds.slice_mut();
            let r = match (pass, isa) {
                (Pass::Forward, Some(i)) => p.forward_with(i, x, o),
                (Pass::Forward, None) => p.forward(x, o),
                (Pass::ForwardInplace, Some(i)) => p.forward_inplace_with(i, o),
                (Pass::ForwardInplace, None) => p.forward_inplace(o),
                (Pass::Backward, Some(i)) => p.backward_with(i, x, dy, o, d),
                (Pass::Backward, None) => p.backward(x, dy, o, d),
                (Pass::BackwardInplace, Some(i)) => p.backward_inplace_with(i, x, o, d),
                (Pass::BackwardInplace, None) => p.backward_inplace(x, o, d),
            };
            Ran::Done(r, out, ds)
        }
        Kind::Rrelu { lower, upper, mode, stored, .. } => {
            let r = match Rrelu::new(*lower, *upper) {
                Ok(r) => r,
                Err(e) => return Ran::Refused(e),
            };
            let m = rrelu_mode(*mode, stored);
            let res = match (pass, isa) {
                (Pass::Forward, Some(i)) => r.forward_with(i, m, x, o),
                (Pass::Forward, None) => r.forward(m, x, o),
                (Pass::ForwardInplace, Some(i)) => r.forward_inplace_with(i, m, o),
                (Pass::ForwardInplace, None) => r.forward_inplace(m, o),
                (Pass::Backward, Some(i)) => r.backward_with(i, m, x, dy, o),
                (Pass::Backward, None) => r.backward(m, x, dy, o),
                (Pass::BackwardInplace, Some(i)) => r.backward_inplace_with(i, m, x, o),
                (Pass::BackwardInplace, None) => r.backward_inplace(m, x, o),
            };
            Ran::Done(res, out, Guarded::blank(1, 0))
        }
    }
}

fn rrelu_mode(mode: Mode, stored: &[f32]) -> RreluMode<'_> {
    match mode {
        Mode::Train { seed, offset } => RreluMode::Train { seed, offset },
        Mode::Stored => RreluMode::Stored(stored),
        Mode::Eval => RreluMode::Eval,
    }
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

/// Rayon pools of 1, 2 and 3 threads, built once.
pub fn pools() -> &'static [rayon::ThreadPool] {
    static POOLS: OnceLock<Vec<rayon::ThreadPool>> = OnceLock::new();
    POOLS.get_or_init(|| {
        (1..=3)
            .map(|t| rayon::ThreadPoolBuilder::new().num_threads(t).build().expect("a thread pool"))
            .collect()
    })
}
