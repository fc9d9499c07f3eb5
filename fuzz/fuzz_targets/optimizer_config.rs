//! An arbitrary optimizer configuration, size and data: Ok or Err, never a panic, and an Err
//! leaves parameters and state untouched.
//!
//! The configuration goes through each optimizer's config struct and constructor
//! (`Adam::new(AdamConfig, len)`, ...). NOTE: when `nnsimd::optim::Config` (serde, DESIGN.md
//! §4) lands, this target also feeds it JSON: the structured configuration below rendered
//! with wrong types, unknown fields and huge numbers, and the fuzzer's raw bytes.
//!
//! Checked: a configuration is refused exactly when a field breaks its range (the error names
//! a field at fault, with its value); a size past what memory can hold gives
//! `Error::OutOfMemory`, not an abort; steps with arbitrary values (NaN, infinities) and bad
//! calls mixed in never panic, and a bad call changes neither params nor state.

#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use nnsimd::Error;
use nnsimd_fuzz::input;
use nnsimd_fuzz::opt::{self, Hyper, Spec};

#[derive(Debug)]
struct Case {
    spec: usize,
    hyper: Hyper,
    /// The number of parameters: small, or at least 2^61, whose state cannot be allocated
    /// (sizes in between would really be allocated, and exhaust the machine).
    len: usize,
    p0: Vec<f32>,
    steps: opt::Steps,
}

const HUGE: usize = 1 << 61;

fn decode(u: &mut Unstructured, specs: &[Spec]) -> Result<Case> {
    let spec = u.choose_index(specs.len())?;
    let (hyper, _) = opt::hyper(u, &specs[spec])?;
    let huge = u.ratio(1u8, 16)?;
    let len = if huge { u.int_in_range(HUGE..=usize::MAX)? } else { input::length(u)? };
    let (p0, steps) = if huge {
        (Vec::new(), Vec::new())
    } else {
        let max_steps = if len > 1000 { 2 } else { 16 };
        (input::long_values(u, len, input::any_f32)?, opt::steps(u, len, max_steps, input::any_f32)?)
    };
    Ok(Case { spec, hyper, len, p0, steps })
}

fn check(c: &Case, spec: &Spec) {
    let name = spec.name;
    let bad = opt::violations(spec, &c.hyper);
    let built = (spec.build)(&c.hyper, c.len);
    let mut o = match built {
        Err(e) => {
            let _ = e.to_string();
            let fits = opt::is_violation(&e, &bad)
                || (c.len >= HUGE && e == Error::OutOfMemory { elements: c.len } && bad.is_empty());
            assert!(fits, "{name} {:?} len {}: {e:?} does not apply (rule breaks: {bad:?})", c.hyper, c.len);
            return;
        }
        Ok(o) => o,
    };
    assert!(bad.is_empty(), "{name} {:?}: accepted, but {bad:?} break the rules", c.hyper);
    assert_eq!((o.num_params(), o.steps()), (c.len, 0), "{name}: a fresh state");
    if c.len >= HUGE {
        return; // an optimizer without state (plain SGD): nothing to step
    }
    let mut twin = (spec.build)(&c.hyper, c.len).unwrap();
    opt::run_steps(name, &mut *o, &mut *twin, None, &c.p0, &c.steps, |_, _| {});
}

fuzz_target!(|data: &[u8]| {
    let specs = opt::specs();
    let mut u = Unstructured::new(data);
    if let Ok(c) = decode(&mut u, &specs) {
        check(&c, &specs[c.spec]);
    }
});
