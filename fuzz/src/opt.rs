//! Optimizers for the fuzz targets: one table entry per optimizer (its hyperparameters with
//! their allowed ranges, written from the config docs and DESIGN.md §4, independently of the
//! crate's checks), decoding of hyperparameters, and the rules an `Err` must follow.
//!
//! Adding an optimizer is one [`spec!`] line in [`specs`].

use arbitrary::{Result, Unstructured};
use nnsimd::Error;
use nnsimd::optim::{
    Adadelta, AdadeltaConfig, Adafactor, AdafactorConfig, Adagrad, AdagradConfig, Adam, AdamConfig,
    AdamWConfig, Adamax, AdamaxConfig, Config, Lion, LionConfig, NAdam, NAdamConfig, Optimizer, RmsProp,
    RmsPropConfig, Sgd, SgdConfig,
};

/// The allowed range of a real hyperparameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Finite in f32 and ≥ 0 (lr, eps, weight decay, momentum, ...).
    NonNeg,
    /// A decay rate in [0, 1).
    Beta,
    /// A weight in [0, 1] (dampening, RMSprop's α).
    Unit,
    /// Finite in f32 and ≤ 0 (Adafactor's beta2_decay).
    NonPos,
    /// Finite in f32 and ≥ 1 (Adafactor's clipping threshold d).
    AtLeastOne,
}

impl Kind {
    /// Whether the range holds `v`. Every hyperparameter reaches the kernels rounded to f32, so
    /// "finite" means finite once rounded to f32 (1e39 is not).
    pub fn allows(self, v: f64) -> bool {
        let finite = (v as f32).is_finite();
        match self {
            Kind::NonNeg => finite && v >= 0.0,
            Kind::Beta => (0.0..1.0).contains(&v),
            Kind::Unit => (0.0..=1.0).contains(&v),
            Kind::NonPos => finite && v <= 0.0,
            Kind::AtLeastOne => finite && v >= 1.0,
        }
    }
}

/// Hyperparameters as set by the fuzzer, in the order of the spec's fields; `None` keeps the
/// default.
#[derive(Clone, Debug, Default)]
pub struct Hyper {
    pub reals: Vec<Option<f64>>,
    pub flags: Vec<Option<bool>>,
}

/// The values in effect (defaults filled in), by name.
pub struct Effective {
    reals: Vec<(&'static str, f64)>,
    flags: Vec<(&'static str, bool)>,
}

impl Effective {
    pub fn real(&self, name: &str) -> f64 {
        self.reals.iter().find(|r| r.0 == name).map(|r| r.1).expect("no such hyperparameter")
    }
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().find(|r| r.0 == name).map(|r| r.1).expect("no such flag")
    }
}

/// A freshly built optimizer, or why not.
pub type Built = core::result::Result<Box<dyn Optimizer>, Error>;

/// One optimizer: its name (as in the golden JSON files), its hyperparameters, how to build it
/// from its config struct, and the rules that tie several fields together.
pub struct Spec {
    pub name: &'static str,
    pub reals: &'static [(&'static str, Kind)],
    pub flags: &'static [&'static str],
    pub build: fn(&Hyper, usize) -> Built,
    pub effective: fn(&Hyper) -> Effective,
    /// Violations of rules across fields, as (field at fault, its value).
    pub cross: fn(&Effective) -> Vec<(&'static str, f64)>,
    /// Whether the update is well-conditioned in f32 for this configuration, so that two
    /// ISAs, which round differently (FMA or not), must agree within the golden tolerance.
    pub conditioned: fn(&Effective) -> bool,
}

/// A [`Spec`] over a config struct: `spec!(name, Config, constructor, [field: Kind, ...],
/// [flag, ...], cross-field rules[, well-conditioned])`.
macro_rules! spec {
    ($name:literal, $cfg:ty, $new:path, [$($r:ident: $k:ident),*], [$($f:ident),*], $cross:expr) => {
        spec!($name, $cfg, $new, [$($r: $k),*], [$($f),*], $cross, |_| true)
    };
    ($name:literal, $cfg:ty, $new:path, [$($r:ident: $k:ident),*], [$($f:ident),*], $cross:expr, $cond:expr) => {{
        fn config(h: &Hyper) -> $cfg {
            let mut c = <$cfg>::default();
            let mut reals = h.reals.iter();
            $(if let Some(Some(v)) = reals.next() { c.$r = *v; })*
            #[allow(unused_mut, unused_variables)]
            let mut flags = h.flags.iter();
            $(if let Some(Some(v)) = flags.next() { c.$f = *v; })*
            c
        }
        fn build(h: &Hyper, n: usize) -> Built {
            $new(config(h), n).map(|o| Box::new(o) as Box<dyn Optimizer>)
        }
        fn effective(h: &Hyper) -> Effective {
            let _c = config(h);
            Effective { reals: vec![$((stringify!($r), _c.$r)),*], flags: vec![$((stringify!($f), _c.$f)),*] }
        }
        Spec {
            name: $name,
            reals: &[$((stringify!($r), Kind::$k)),*],
            flags: &[$(stringify!($f)),*],
            build,
            effective,
            cross: $cross,
            conditioned: $cond,
        }
    }};
}

/// The first moment as PyTorch's lerp, m + (1 − β1)·(g − m), in every Adam-family kernel:
/// where |g| ≪ |m| it cancels to about β1·m, carrying a rounding at |m|'s scale, 1/β1 times
/// its own ULP, which the update's m/√v (√v ≈ |g| with a small β2) passes on whole. With an FMA
/// or without, two ISAs then differ by more than the tolerance for β1 below 0.01 (fuzzing:
/// AdamW with β1 1e-3, β2 0, ε 0 at p = 209.5, 7e-3 apart). β1 = 0 rounds alike on every ISA
/// (1·(g − m) + m rounds once, fused or not).
fn lerp_conditioned(e: &Effective) -> bool {
    let b1 = e.real("beta1");
    b1 == 0.0 || b1 >= 0.01
}

/// Adafactor over n parameters: a matrix (factored second moment) where n has a divisor in
/// 2..=16, else a vector.
fn adafactor(c: AdafactorConfig, n: usize) -> core::result::Result<Adafactor, Error> {
    match (2..=16).find(|k| n >= 2 * k && n.is_multiple_of(*k)) {
        Some(k) => Adafactor::new(c, &[k, n / k]),
        None => Adafactor::new(c, &[n]),
    }
}

fn no_cross(_: &Effective) -> Vec<(&'static str, f64)> {
    Vec::new()
}

/// SGD: Nesterov needs momentum > 0 and no dampening (PyTorch's rule).
fn sgd_cross(e: &Effective) -> Vec<(&'static str, f64)> {
    let mut v = Vec::new();
    if e.flag("nesterov") {
        if e.real("momentum") <= 0.0 {
            v.push(("momentum", e.real("momentum")));
        }
        if e.real("dampening") != 0.0 {
            v.push(("dampening", e.real("dampening")));
        }
    }
    v
}

/// Every optimizer the crate has: one spec per name of the crate's registry
/// (`Config::NAMES`), checked here so that a new optimizer cannot go unfuzzed.
pub fn specs() -> Vec<Spec> {
    let specs = vec![
        spec!(
            "sgd",
            SgdConfig,
            Sgd::new,
            [lr: NonNeg, momentum: NonNeg, dampening: Unit, weight_decay: NonNeg],
            [nesterov, maximize],
            sgd_cross
        ),
        spec!(
            "adam",
            AdamConfig,
            Adam::new,
            [lr: NonNeg, beta1: Beta, beta2: Beta, eps: NonNeg, weight_decay: NonNeg],
            [amsgrad, maximize],
            no_cross,
            lerp_conditioned
        ),
        spec!(
            "adamw",
            AdamWConfig,
            Adam::adamw,
            [lr: NonNeg, beta1: Beta, beta2: Beta, eps: NonNeg, weight_decay: NonNeg],
            [amsgrad, maximize],
            no_cross,
            lerp_conditioned
        ),
        spec!(
            "adagrad",
            AdagradConfig,
            Adagrad::new,
            [lr: NonNeg, lr_decay: NonNeg, weight_decay: NonNeg, initial_accumulator_value: NonNeg, eps: NonNeg],
            [maximize],
            no_cross
        ),
        spec!(
            "rmsprop",
            RmsPropConfig,
            RmsProp::new,
            [lr: NonNeg, alpha: Unit, eps: NonNeg, weight_decay: NonNeg, momentum: NonNeg],
            [centered, maximize],
            no_cross,
            // Centered: √(v − ḡ²) cancels when the gradient's variance is small against its mean
            // square (small α, steady gradients); one rounding more or less (FMA) in v or ḡ
            // then moves the result by far more than the tolerance, on every ISA alike.
            |e| !e.flag("centered")
        ),
        spec!(
            "adadelta",
            AdadeltaConfig,
            Adadelta::new,
            [lr: NonNeg, rho: Unit, eps: NonNeg, weight_decay: NonNeg],
            [maximize],
            no_cross
        ),
        spec!(
            "adamax",
            AdamaxConfig,
            Adamax::new,
            [lr: NonNeg, beta1: Beta, beta2: Beta, eps: NonNeg, weight_decay: NonNeg],
            [maximize],
            no_cross,
            lerp_conditioned
        ),
        spec!(
            "nadam",
            NAdamConfig,
            NAdam::new,
            [lr: NonNeg, beta1: Beta, beta2: Beta, eps: NonNeg, weight_decay: NonNeg, momentum_decay: NonNeg],
            [decoupled_weight_decay, maximize],
            no_cross,
            lerp_conditioned
        ),
        spec!(
            "adafactor",
            AdafactorConfig,
            adafactor,
            [lr: NonNeg, beta2_decay: NonPos, eps1: NonNeg, eps2: NonNeg, d: AtLeastOne, weight_decay: NonNeg],
            [maximize],
            no_cross
        ),
        spec!(
            "lion",
            LionConfig,
            Lion::new,
            [lr: NonNeg, beta1: Beta, beta2: Beta, weight_decay: NonNeg],
            [maximize],
            no_cross
        ),
    ];
    let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
    assert_eq!(names.len(), Config::NAMES.len(), "fuzz specs {names:?} against the registry");
    for name in Config::NAMES {
        assert!(names.contains(name), "fuzz/src/opt.rs: no spec for the optimizer {name}");
    }
    specs
}

/// How a hyperparameter was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Default,
    /// In its range, at values people use.
    Plausible,
    /// Any f64: NaN, infinities, negative, > 1, huge, subnormal.
    Raw,
}

/// A value of `kind` as people set it (inside the range).
pub fn plausible(u: &mut Unstructured, kind: Kind) -> Result<f64> {
    const COMMON: [f64; 9] = [0.0, 1e-8, 1e-4, 1e-3, 0.01, 0.1, 0.5, 0.9, 0.999];
    if u.arbitrary()? && matches!(kind, Kind::NonNeg | Kind::Beta | Kind::Unit) {
        let v = COMMON[u.choose_index(COMMON.len())?];
        return Ok(if kind == Kind::Unit && v == 0.999 { 1.0 } else { v });
    }
    let v = u.int_in_range(0u16..=u16::MAX - 1)? as f64 / 65_536.0;
    Ok(match kind {
        Kind::NonPos => -v - 0.5,
        Kind::AtLeastOne => 1.0 + 4.0 * v,
        _ => v,
    })
}

/// Any f64: a raw bit pattern or a value at or just past an edge of the ranges.
pub fn raw(u: &mut Unstructured) -> Result<f64> {
    const EDGES: [f64; 14] = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -1.0,
        -0.0,
        0.0,
        1.0,
        1.0 + f64::EPSILON,
        1.0 - f64::EPSILON / 2.0,
        2.0,
        1e300,
        -1e-300,
        5e-324,
        f64::MAX,
    ];
    Ok(if u.arbitrary()? { f64::from_bits(u.arbitrary()?) } else { EDGES[u.choose_index(EDGES.len())?] })
}

/// Hyperparameters for `spec`, each default, plausible or raw; returns them with whether any
/// is raw.
pub fn hyper(u: &mut Unstructured, spec: &Spec) -> Result<(Hyper, bool)> {
    let mut h = Hyper::default();
    let mut any_raw = false;
    for &(_, kind) in spec.reals {
        h.reals.push(match u.int_in_range(0u8..=5)? {
            0..=2 => None,
            3 | 4 => Some(plausible(u, kind)?),
            _ => {
                any_raw = true;
                Some(raw(u)?)
            }
        });
    }
    for _ in spec.flags {
        h.flags.push(if u.arbitrary()? { Some(u.arbitrary()?) } else { None });
    }
    Ok((h, any_raw))
}

/// The hyperparameters that break a rule, as (name, value): each field's own range, then the
/// spec's cross-field rules. Empty when the configuration is valid.
pub fn violations(spec: &Spec, h: &Hyper) -> Vec<(&'static str, f64)> {
    let e = (spec.effective)(h);
    let mut v: Vec<(&'static str, f64)> = spec
        .reals
        .iter()
        .map(|&(name, kind)| (name, kind, e.real(name)))
        .filter(|&(_, kind, x)| !kind.allows(x))
        .map(|(name, _, x)| (name, x))
        .collect();
    // Every optimizer: the per-step shrink factor 1 − lr·λ needs lr·λ finite in f32.
    if spec.reals.iter().any(|r| r.0 == "weight_decay") {
        let (lr, wd) = (e.real("lr"), e.real("weight_decay"));
        if Kind::NonNeg.allows(lr) && Kind::NonNeg.allows(wd) && !((lr * wd) as f32).is_finite() {
            v.push(("weight_decay", wd));
        }
    }
    v.extend((spec.cross)(&e));
    v
}

/// Whether `e` is the `InvalidParameter` error for one of `bad`, with its value.
pub fn is_violation(e: &Error, bad: &[(&'static str, f64)]) -> bool {
    match e {
        Error::InvalidParameter { name, value, .. } => bad
            .iter()
            .any(|&(n, v)| n == *name && (value.to_bits() == v.to_bits() || (v.is_nan() && value.is_nan()))),
        _ => false,
    }
}

/// Whether an ISA's parameter `got` agrees with the scalar backend's `want`:
/// |got − want| ≤ 1e-5·scale + 1e-6, the golden replay's tolerance (tests/optim.rs) with
/// |want| replaced by `scale` ≥ |want|, the largest magnitude the parameter has had on the
/// scalar trajectory so far (p0 included). NaN agrees only with NaN, an infinity only with
/// itself.
///
/// Why not |want|: each step p − lr·d rounds at the size of its operands, not of its result.
/// Where p ≈ lr·d the result is small and the two ISAs' roundings (fused FMA or not) differ by a
/// few ULP of p, far over 1e-5 of the result; such a gap is no bug. A wrong update differs by
/// about the update itself, which this tolerance still catches unless the update is below
/// 1e-5 of the parameter, where |want| would not catch it either.
pub fn within_tolerance(got: f32, want: f32, scale: f32) -> bool {
    within_tolerance_plus(got, want, scale, 0.0)
}

/// [`within_tolerance`] with `extra` added to the allowed gap (for finite values).
pub fn within_tolerance_plus(got: f32, want: f32, scale: f32, extra: f64) -> bool {
    if got.is_nan() || want.is_nan() || got.is_infinite() || want.is_infinite() {
        return got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan());
    }
    let scale = (scale as f64).max((want as f64).abs());
    (got as f64 - want as f64).abs() <= 1e-5 * scale + 1e-6 + extra
}

/// A call that must fail and change nothing.
#[derive(Debug)]
pub enum Bad {
    /// params of this (wrong) length.
    ParamsLen(usize),
    /// grads of this (wrong) length.
    GradsLen(usize),
    /// An ISA the CPU lacks.
    Isa(nnsimd::Isa),
}

/// Steps: the gradients of each, and a bad call made just before it.
pub type Steps = Vec<(Vec<f32>, Option<Bad>)>;

/// Up to `max` steps of `n` gradients from `value`, one in 16 preceded by a bad call.
pub fn steps(
    u: &mut Unstructured,
    n: usize,
    max: usize,
    value: fn(&mut Unstructured) -> Result<f32>,
) -> Result<Steps> {
    let mut steps = Vec::new();
    for _ in 0..u.int_in_range(1..=max)? {
        let bad = match u.int_in_range(0u8..=15)? {
            0 => Some(Bad::ParamsLen(crate::input::other_length(u, n)?)),
            1 => Some(Bad::GradsLen(crate::input::other_length(u, n)?)),
            2 => crate::input::unavailable_isa(u)?.map(Bad::Isa),
            _ => None,
        };
        steps.push((crate::input::long_values(u, n, value)?, bad));
    }
    Ok(steps)
}

fn step(
    o: &mut dyn Optimizer,
    isa: Option<nnsimd::Isa>,
    p: &mut [f32],
    g: &[f32],
) -> core::result::Result<(), Error> {
    match isa {
        Some(i) => o.step_with(i, p, g),
        None => o.step(p, g),
    }
}

/// Makes a failing call on `o` and checks that it gives its error and changes nothing visible
/// (params bitwise, the step count).
fn bad_call(
    name: &str,
    o: &mut dyn Optimizer,
    isa: Option<nnsimd::Isa>,
    p: &mut [f32],
    g: &[f32],
    bad: &Bad,
) {
    use crate::input::same_bits;
    let (n, t) = (p.len(), o.steps());
    let before = p.to_vec();
    let (r, want) = match *bad {
        Bad::ParamsLen(m) => {
            let mut other: Vec<f32> = p.iter().copied().chain(core::iter::repeat(1.0)).take(m).collect();
            let r = step(o, isa, &mut other, g);
            assert!(same_bits(&other[..m.min(n)], &before[..m.min(n)]), "{name}: params written on Err");
            (r, Error::LengthMismatch { arg: "params", expected: n, found: m })
        }
        Bad::GradsLen(m) => {
            let g2: Vec<f32> = g.iter().copied().chain(core::iter::repeat(1.0)).take(m).collect();
            (step(o, isa, p, &g2), Error::LengthMismatch { arg: "grads", expected: n, found: m })
        }
        Bad::Isa(i) => (o.step_with(i, p, g), Error::IsaUnavailable(i)),
    };
    assert_eq!(r, Err(want), "{name}: {bad:?}");
    assert!(same_bits(p, &before), "{name}: params changed by {bad:?}");
    assert_eq!(o.steps(), t, "{name}: {bad:?} counted as a step");
}

/// Runs `steps` on `o` (on `isa`, None: the detected one), with their bad calls, next to
/// `twin`, built alike, which never sees a bad call: after every step their params must be
/// bitwise equal, which shows that no failed call changed the state. Calls `each(t, p)` with
/// the params after step t.
pub fn run_steps(
    name: &str,
    o: &mut dyn Optimizer,
    twin: &mut dyn Optimizer,
    isa: Option<nnsimd::Isa>,
    p0: &[f32],
    steps: &Steps,
    mut each: impl FnMut(usize, &[f32]),
) {
    let (mut p, mut q) = (p0.to_vec(), p0.to_vec());
    for (t, (g, bad)) in steps.iter().enumerate() {
        if let Some(bad) = bad {
            bad_call(name, o, isa, &mut p, g, bad);
        }
        assert_eq!(step(o, isa, &mut p, g), Ok(()), "{name} step {}", t + 1);
        assert_eq!(step(twin, isa, &mut q, g), Ok(()), "{name} step {}", t + 1);
        assert_eq!(o.steps(), t as u64 + 1, "{name}: step count");
        assert!(crate::input::same_bits(&p, &q), "{name} step {}: a failed call changed the state", t + 1);
        each(t, &p);
    }
}
