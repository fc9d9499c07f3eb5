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
//!   the scalar backend's, where the update is well-conditioned in f32 (`Spec::conditioned`:
//!   not for centered RMSprop).

#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use nnsimd::Isa;
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
    Ok(Case { spec, hyper, compare: !any_raw && !wild, isa, p0, steps })
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
    let isa = c.isa.unwrap_or_else(Isa::detect);
    opt::run_steps(name, &mut *o, &mut *twin, c.isa, &c.p0, &c.steps, |t, p| {
        let g = &c.steps[t].0;
        assert_eq!(scalar.step_with(Isa::Scalar, &mut s, g), Ok(()), "{name} step {}", t + 1);
        if !c.compare || !(spec.conditioned)(&(spec.effective)(&c.hyper)) {
            return;
        }
        for i in 0..n {
            assert!(
                opt::within_tolerance(p[i], s[i]),
                "{name} {:?} on {isa}, step {} element {i}: {} vs scalar {} (p0 {}, g {})",
                c.hyper,
                t + 1,
                show(p[i]),
                show(s[i]),
                show(c.p0[i]),
                show(g[i])
            );
        }
    });
}

fuzz_target!(|data: &[u8]| {
    let specs = opt::specs();
    let mut u = Unstructured::new(data);
    if let Ok(c) = decode(&mut u, &specs) {
        check(&c, &specs[c.spec]);
    }
});
