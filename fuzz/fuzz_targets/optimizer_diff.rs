//! An arbitrary optimizer (every one in `nnsimd_fuzz::opt::specs`) with default, plausible or
//! arbitrary hyperparameters, a length, an ISA, up to 8 steps of gradients, and bad calls
//! (wrong params or grads length, an ISA the CPU lacks) mixed in. Checked:
//! - no panic;
//! - an invalid configuration is refused with `InvalidParameter` for a field at fault (its
//!   value included), a valid one is accepted;
//! - a bad call gives its error with its fields and changes nothing: params bitwise equal,
//!   step count the same, and state the same (the next steps match, bitwise, a twin that never
//!   saw the bad call);
//! - with plausible hyperparameters and data in ±4 (the golden data's range), the ISA's
//!   params after every step are within tests/optim.rs's tolerance (1e-5·|want| + 1e-6) of
//!   the scalar backend's, with |want| raised to the largest |param| of the scalar trajectory
//!   so far (`opt::within_tolerance`: a step rounds at the size of its operands), where the
//!   update is well-conditioned in f32 (`Spec::conditioned`: not for centered RMSprop), or
//!   within that tolerance plus 4 times the summed drift of scalar twins with one rounding's
//!   nudge to p or g before one step each (`Nudged`: where the trajectory amplifies a
//!   rounding, the ISAs drift as much);
//! - `step_scaled` with inv_scale = 2^k (k in −8..=8) on the gradients divided by it: while
//!   that division is exact and every gradient finite, the parameters are bitwise those of the
//!   plain step (NaNs up to their payload); a non-finite gradient gives `Stepped::Skipped` with params and step count
//!   unchanged;
//! - `step_multi` over the parameters cut in two tensors (at an arbitrary point, each with its
//!   own optimizer) gives, bitwise, what stepping each tensor alone gives.

#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use nnsimd::Isa;
use nnsimd::optim::{Optimizer, Stepped, step_multi, step_multi_with};
use nnsimd_fuzz::common::show;
use nnsimd_fuzz::input;
use nnsimd_fuzz::opt::{self, Hyper, Spec};

#[derive(Debug)]
struct Case {
    spec: usize,
    hyper: Hyper,
    /// Whether results are compared with the scalar backend (no raw hyperparameter, data in ±4).
    compare: bool,
    isa: Option<Isa>,
    p0: Vec<f32>,
    steps: opt::Steps,
    /// k of the `step_scaled` twin's inv_scale 2^k.
    scale_exp: i32,
    /// Where the `step_multi` twin cuts the parameters.
    cut: usize,
}

fn decode(u: &mut Unstructured, specs: &[Spec]) -> Result<Case> {
    let spec = u.choose_index(specs.len())?;
    let (hyper, any_raw) = opt::hyper(u, &specs[spec])?;
    let wild = u.ratio(1u8, 4)?;
    let value = if wild { input::any_f32 } else { input::moderate_f32 };
    let isa = input::isa(u)?;
    let n = input::length(u)?;
    let max_steps = if n > 1000 { 2 } else { 8 };
    let p0 = input::long_values(u, n, value)?;
    let steps = opt::steps(u, n, max_steps, value)?;
    let scale_exp = u.int_in_range(-8..=8)?;
    let cut = u.int_in_range(0..=n)?;
    Ok(Case { spec, hyper, compare: !any_raw && !wild, isa, p0, steps, scale_exp, cut })
}

fn check(c: &Case, spec: &Spec) {
    let name = spec.name;
    let n = c.p0.len();
    let bad = opt::violations(spec, &c.hyper);
    let built = (spec.build)(&c.hyper, n);
    if !bad.is_empty() {
        match built {
            Err(e) => {
                assert!(opt::is_violation(&e, &bad), "{name} {:?}: {e:?} is not one of {bad:?}", c.hyper)
            }
            Ok(_) => panic!("{name} {:?}: accepted, but {bad:?} break the rules", c.hyper),
        }
        return;
    }
    let mut o = built.unwrap_or_else(|e| panic!("{name} {:?}: valid configuration refused: {e:?}", c.hyper));
    assert_eq!((o.num_params(), o.steps()), (n, 0), "{name}: a fresh state");
    let mut twin = (spec.build)(&c.hyper, n).unwrap();
    let mut scalar = (spec.build)(&c.hyper, n).unwrap();
    let mut s = c.p0.clone();
    // Results are compared (and the nudged twins stepped) only for such cases.
    let compare = c.compare && (spec.conditioned)(&(spec.effective)(&c.hyper));
    let mut nudged = Nudged::default();
    // The largest |param| of the scalar trajectory so far: the tolerance's scale.
    let mut scale: Vec<f32> = c.p0.iter().map(|v| v.abs()).collect();
    let isa = c.isa.unwrap_or_else(Isa::detect);
    let mut scaled = ScaledTwin::new((spec.build)(&c.hyper, n).unwrap(), c);
    let mut multi = MultiTwin::new(spec, c);
    opt::run_steps(name, &mut *o, &mut *twin, c.isa, &c.p0, &c.steps, |t, p| {
        let g = &c.steps[t].0;
        scaled.step(name, t, g, p);
        if let Some(m) = &mut multi {
            m.step(name, t, g);
        }
        if compare {
            nudged.spawn(spec, c, &*scalar, &s, &scale);
        }
        assert_eq!(scalar.step_with(Isa::Scalar, &mut s, g), Ok(()), "{name} step {}", t + 1);
        if !compare {
            return;
        }
        let drift = nudged.step(name, t, g, &s);
        for (m, v) in scale.iter_mut().zip(&s) {
            *m = m.max(v.abs());
        }
        for i in 0..n {
            let drift = drift[i];
            assert!(
                opt::within_tolerance_plus(p[i], s[i], scale[i], 4.0 * drift),
                "{name} {:?} on {isa}, step {} element {i}: {} vs scalar {} (p0 {}, g {}, scale {}, drift {drift:e})",
                c.hyper,
                t + 1,
                show(p[i]),
                show(s[i]),
                show(c.p0[i]),
                show(g[i]),
                show(scale[i])
            );
        }
    });
}

/// How far the scalar trajectory carries the roundings of each step. For every step j, two
/// twins start from the scalar optimizer's checkpoint and parameters before step j: one with
/// its parameters moved by 2^-24 of the tolerance's scale, the other with step j's gradients
/// made 2^-23 larger (relative), and both then follow the scalar trajectory's gradients: one
/// rounding of the operands on either side of the update (p, and g with what the step derives
/// from it, such as g + wd·p). The drift after step t is the sum over those twins of
/// |twin − scalar|. Two ISAs round differently at every step, with either sign, so where the
/// trajectory amplifies a rounding they drift apart by up to about that sum, and a step rounds
/// several operations: fuzzing found gaps of up to 5 times the sum where the tolerance itself
/// was about twice it, so the allowance is the tolerance plus 4 times the sum. A rounding
/// inside a step that cancels is beyond these nudges: the Adam family's lerp at β1 < 0.01 is
/// left out of the comparison instead (`opt::lerp_conditioned`). Found by fuzzing,
/// NAdam with lr 0.79, wd 0.063 and β2 1e-4: its update at β2 → 0 is about lr·sign(g + wd·p)
/// scaled by |g + wd·p|/(|g + wd·p| + ε), so a rounding of g + wd·p while it is near ε is
/// carried into p at lr's scale, and the decay feeds it back into the next gradients. A twin
/// nudged in p at every step missed such cases twice: its nudges' effects cancelled, or were
/// far smaller than the rounding of a gradient 10^7 times |p|.
#[derive(Default)]
struct Nudged {
    /// (optimizer, parameters) per step and kind: element 2j nudged in p, 2j + 1 in g.
    twins: Vec<Stepper>,
}

impl Nudged {
    /// Before step t: the step's two twins, each a copy of the scalar optimizer (its checkpoint)
    /// and parameters `s`, the first with p moved by 2^-24 of `scale`.
    fn spawn(&mut self, spec: &Spec, c: &Case, scalar: &dyn Optimizer, s: &[f32], scale: &[f32]) {
        let moved = s.iter().zip(scale).map(|(v, m)| v + m * f32::EPSILON / 2.0).collect();
        let checkpoint = scalar.export();
        for p in [moved, s.to_vec()] {
            let mut o = (spec.build)(&c.hyper, s.len()).unwrap();
            assert_eq!(o.import(&checkpoint), Ok(()), "{}: a twin from the scalar's checkpoint", spec.name);
            self.twins.push((o, p));
        }
    }

    /// Steps every twin, step t's g-twin on gradients 2^-23 larger, and gives each element's
    /// drift from `s`, the scalar parameters after step t.
    fn step(&mut self, name: &str, t: usize, g: &[f32], s: &[f32]) -> Vec<f64> {
        let larger: Vec<f32> = g.iter().map(|v| v * (1.0 + f32::EPSILON)).collect();
        let mut drift = vec![0.0; s.len()];
        for (j, (o, p)) in self.twins.iter_mut().enumerate() {
            let g = if j == 2 * t + 1 { &larger } else { g };
            assert_eq!(o.step_with(Isa::Scalar, p, g), Ok(()), "{name} step {}: nudged twin {j}", t + 1);
            for ((d, &a), &b) in drift.iter_mut().zip(p.iter()).zip(s) {
                *d += (a as f64 - b as f64).abs();
            }
        }
        drift
    }
}

/// An optimizer stepped with `step_scaled` beside the plain one, while their parameters can be
/// expected to agree bitwise.
struct ScaledTwin {
    o: Box<dyn Optimizer>,
    p: Vec<f32>,
    isa: Option<Isa>,
    inv_scale: f32,
    in_step: bool,
}

impl ScaledTwin {
    fn new(o: Box<dyn Optimizer>, c: &Case) -> Self {
        ScaledTwin { o, p: c.p0.clone(), isa: c.isa, inv_scale: (c.scale_exp as f32).exp2(), in_step: true }
    }

    /// Step t with g/inv_scale; `plain` is the plain optimizer's parameters after its step t.
    fn step(&mut self, name: &str, t: usize, g: &[f32], plain: &[f32]) {
        if !self.in_step {
            return;
        }
        let inv = self.inv_scale;
        let gs: Vec<f32> = g.iter().map(|&v| v / inv).collect();
        let (steps, before) = (self.o.steps(), self.p.clone());
        let got = match self.isa {
            Some(isa) => self.o.step_scaled_with(isa, &mut self.p, &gs, inv),
            None => self.o.step_scaled(&mut self.p, &gs, inv),
        };
        if !gs.iter().all(|v| v.is_finite()) {
            assert_eq!(got, Ok(Stepped::Skipped), "{name} step {}: a non-finite gradient", t + 1);
            assert_eq!(self.o.steps(), steps, "{name} step {}: a skipped step counted", t + 1);
            assert!(input::same_bits(&self.p, &before), "{name} step {}: a skipped step wrote", t + 1);
            self.in_step = false;
            return;
        }
        assert_eq!(got, Ok(Stepped::Applied), "{name} step {}: finite gradients", t + 1);
        let exact = gs.iter().zip(g).all(|(&a, &b)| (a * inv).to_bits() == b.to_bits());
        if !exact {
            self.in_step = false;
            return;
        }
        // Bitwise, except that a NaN (p0 or hyperparameters may be wild) may carry another
        // payload or sign.
        assert!(
            self.p.iter().zip(plain).all(|(&a, &b)| input::same_value(a, b)),
            "{name} step {} on {:?}: step_scaled with inv_scale {inv} differs from step ({} elements; \
             first at {:?})",
            t + 1,
            self.isa,
            plain.len(),
            self.p
                .iter()
                .zip(plain)
                .position(|(a, b)| a.to_bits() != b.to_bits())
                .map(|i| (i, g[i], self.p[i], plain[i]))
        );
    }
}

/// An optimizer and its parameters.
type Stepper = (Box<dyn Optimizer>, Vec<f32>);

/// The parameters cut in two tensors, each with its own optimizer: stepped together by
/// `step_multi`, and beside them one by one by `step`.
struct MultiTwin {
    cut: usize,
    /// (optimizer, parameters) of each tensor, for `step_multi`.
    multi: Vec<Stepper>,
    /// The same, stepped alone.
    alone: Vec<Stepper>,
    isa: Option<Isa>,
}

impl MultiTwin {
    /// None where the configuration cannot be built for a piece's length.
    fn new(spec: &Spec, c: &Case) -> Option<Self> {
        let (a, b) = c.p0.split_at(c.cut);
        let build = || -> Option<Vec<Stepper>> {
            [a, b].iter().map(|p| Some(((spec.build)(&c.hyper, p.len()).ok()?, p.to_vec()))).collect()
        };
        Some(MultiTwin { cut: c.cut, multi: build()?, alone: build()?, isa: c.isa })
    }

    fn step(&mut self, name: &str, t: usize, g: &[f32]) {
        let g = g.split_at(self.cut);
        for ((o, p), g) in self.alone.iter_mut().zip([g.0, g.1]) {
            let r = match self.isa {
                Some(isa) => o.step_with(isa, p, g),
                None => o.step(p, g),
            };
            assert_eq!(r, Ok(()), "{name} step {}: one tensor alone", t + 1);
        }
        let mut tensors: Vec<_> =
            self.multi.iter_mut().zip([g.0, g.1]).map(|((o, p), g)| (&mut p[..], g, &mut **o)).collect();
        let r = match self.isa {
            Some(isa) => step_multi_with(isa, &mut tensors),
            None => step_multi(&mut tensors),
        };
        assert_eq!(r, Ok(()), "{name} step {}: step_multi", t + 1);
        for (j, ((_, m), (_, a))) in self.multi.iter().zip(&self.alone).enumerate() {
            assert!(
                m.iter().zip(a).all(|(&x, &y)| input::same_value(x, y)),
                "{name} step {} on {:?}, cut at {}: tensor {j} of step_multi differs from its step alone",
                t + 1,
                self.isa,
                self.cut
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let specs = opt::specs();
    let mut u = Unstructured::new(data);
    if let Ok(c) = decode(&mut u, &specs) {
        check(&c, &specs[c.spec]);
    }
});
