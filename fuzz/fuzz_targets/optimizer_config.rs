//! An arbitrary optimizer configuration, shape and data through `nnsimd::optim::Config`: Ok or
//! Err, never a panic, and an Err leaves parameters and state untouched.
//!
//! The configuration is JSON as the golden files write it: either rendered from a structured
//! one (any optimizer of `nnsimd_fuzz::opt::specs`, each field default, plausible or raw —
//! non-finite values become `1e999`, which JSON cannot hold), sometimes spoiled (an unknown
//! field, a field of the wrong type, an unknown optimizer name, no `"hyperparameters"`), or
//! the fuzzer's raw bytes. Checked:
//! - deserializing never panics; a structured, unspoiled configuration with finite values
//!   deserializes;
//! - `build(shape)` is refused exactly when a field breaks its range (`InvalidParameter` naming
//!   a field at fault, with its value), or with `ShapeOverflow` when the element count
//!   overflows, or `OutOfMemory` past what memory can hold (never an abort);
//! - steps with arbitrary values (NaN, infinities) and bad calls mixed in never panic, and a bad
//!   call changes neither params nor state (a twin that never saw it stays bitwise equal).

#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use nnsimd::Error;
use nnsimd::optim::Config;
use nnsimd_fuzz::input;
use nnsimd_fuzz::opt::{self, Hyper, Spec};

#[derive(Debug)]
struct Case {
    json: String,
    /// The structured configuration the JSON was rendered from, when it is exact (finite values,
    /// not spoiled): then the result is judged against the field rules.
    exact: Option<(usize, Hyper)>,
    shape: Vec<usize>,
    p0: Vec<f32>,
    steps: opt::Steps,
}

/// Element counts at least this large cannot be allocated (4·n bytes exceeds isize::MAX);
/// shapes between 2^16 and this are not generated, since they would really be allocated.
const HUGE: usize = 1 << 61;

/// The element count of `shape` (DESIGN.md §4: a product that overflows is an error; a zero
/// dimension makes it 0 whatever the others, as `Config::build` documents), None on overflow.
fn elements(shape: &[usize]) -> Option<usize> {
    if shape.contains(&0) { Some(0) } else { shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) }
}

/// A shape: 0 to 4 dimensions whose product is small, overflows, or is at least `HUGE`.
fn shape(u: &mut Unstructured) -> Result<Vec<usize>> {
    let dims = u.int_in_range(0usize..=4)?;
    let mut v = Vec::new();
    for _ in 0..dims {
        v.push(if u.ratio(1u8, 8)? {
            u.int_in_range(1usize << 31..=usize::MAX)?
        } else {
            u.int_in_range(0usize..=40)?
        });
    }
    // An overflowing shape is refused before anything is allocated; a huge one becomes a
    // vector (Adafactor would allocate rows + columns of a huge matrix, which may fit); a small
    // product keeps every dimension small (Adafactor's factors of [0, 2^40] would be real).
    let n = elements(&v);
    Ok(match n {
        None => v,
        Some(n) if n >= HUGE => vec![n],
        Some(n) if n > 1 << 16 => vec![n % 300],
        Some(_) => v.into_iter().map(|d| d % 41).collect(),
    })
}

fn render(u: &mut Unstructured, spec: &Spec, h: &Hyper) -> Result<(String, bool)> {
    let mut fields = Vec::new();
    let mut exact = true;
    for (&(name, _), v) in spec.reals.iter().zip(&h.reals) {
        if let Some(v) = v {
            if v.is_finite() {
                fields.push(format!("\"{name}\": {v:?}"));
            } else {
                exact = false;
                fields.push(format!("\"{name}\": {}1e999", if *v < 0.0 { "-" } else { "" }));
            }
        }
    }
    for (&name, f) in spec.flags.iter().zip(&h.flags) {
        if let Some(f) = f {
            fields.push(format!("\"{name}\": {f}"));
        }
    }
    let mut name = spec.name.to_string();
    let mut hyper_key = "hyperparameters";
    match u.int_in_range(0u8..=15)? {
        0 => fields.push("\"no_such_field\": 1".into()),
        1 if !fields.is_empty() => {
            fields[0] = format!("{}: \"0.1\"", fields[0].split(':').next().unwrap_or(""))
        }
        2 => name.push('x'),
        3 => hyper_key = "hyper",
        _ => {
            return Ok((
                format!("{{\"optimizer\": \"{name}\", \"{hyper_key}\": {{{}}}}}", fields.join(", ")),
                exact,
            ));
        }
    }
    Ok((format!("{{\"optimizer\": \"{name}\", \"{hyper_key}\": {{{}}}}}", fields.join(", ")), false))
}

fn decode(u: &mut Unstructured, specs: &[Spec]) -> Result<Case> {
    let (json, exact) = if u.ratio(1u8, 8)? {
        let len = u.int_in_range(0usize..=200)?;
        (String::from_utf8_lossy(u.bytes(len.min(u.len()))?).into_owned(), None)
    } else {
        let spec = u.choose_index(specs.len())?;
        let (hyper, _) = opt::hyper(u, &specs[spec])?;
        let (json, exact) = render(u, &specs[spec], &hyper)?;
        (json, exact.then_some((spec, hyper)))
    };
    let shape = shape(u)?;
    let n = elements(&shape).unwrap_or(usize::MAX);
    let (p0, steps) = if n >= HUGE {
        (Vec::new(), Vec::new())
    } else {
        let max_steps = if n > 1000 { 2 } else { 16 };
        (input::long_values(u, n, input::any_f32)?, opt::steps(u, n, max_steps, input::any_f32)?)
    };
    Ok(Case { json, exact, shape, p0, steps })
}

fn check(c: &Case, specs: &[Spec]) {
    let parsed = serde_json::from_str::<Config>(&c.json);
    let cfg = match (parsed, &c.exact) {
        (Ok(cfg), _) => cfg,
        (Err(e), Some(_)) => panic!("{}: an exact configuration does not deserialize: {e}", c.json),
        (Err(_), None) => return,
    };
    let n = elements(&c.shape);
    let bad = c.exact.as_ref().map(|(i, h)| opt::violations(&specs[*i], h));
    let name = cfg.name();
    let mut o = match cfg.build(&c.shape) {
        Err(e) => {
            let _ = e.to_string();
            let fits = match (&e, n) {
                (Error::ShapeOverflow, None) => true,
                (Error::OutOfMemory { .. }, Some(n)) => n >= HUGE,
                (Error::InvalidParameter { .. }, _) => bad.as_ref().is_none_or(|b| opt::is_violation(&e, b)),
                _ => false,
            };
            assert!(fits, "{} shape {:?}: {e:?} does not apply (rule breaks: {bad:?})", c.json, c.shape);
            return;
        }
        Ok(o) => o,
    };
    let n = n.unwrap_or_else(|| panic!("{}: shape {:?} overflows, yet built", c.json, c.shape));
    assert!(bad.as_ref().is_none_or(|b| b.is_empty()), "{}: accepted, but {bad:?} break the rules", c.json);
    assert_eq!((o.num_params(), o.steps()), (n, 0), "{name}: a fresh state");
    if n >= HUGE {
        return; // an optimizer without state (plain SGD): nothing to step
    }
    let mut twin = cfg.build(&c.shape).unwrap();
    opt::run_steps(name, &mut *o, &mut *twin, None, &c.p0, &c.steps, |_, _| {});
}

fuzz_target!(|data: &[u8]| {
    let specs = opt::specs();
    let mut u = Unstructured::new(data);
    if let Ok(c) = decode(&mut u, &specs) {
        check(&c, &specs);
    }
});
