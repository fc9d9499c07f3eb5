//! An arbitrary activation (any of `Activation::all()`, with default, moderate or arbitrary
//! parameters), arbitrary values, length, slice offsets, pass and ISA (any of
//! `Isa::available()`, the plain entry points, or one the CPU lacks), sometimes with a wrong
//! length. Checked:
//! - no panic;
//! - bad input (unavailable ISA, length mismatch, a parameter breaking the registry's rules)
//!   gives one of the errors that apply, with its fields, and writes nothing;
//! - valid input gives Ok, writes exactly the output slice, in place equals out of place on
//!   that ISA, and the ISA agrees with the scalar backend within the test suite's bounds
//!   (forward 2·forward_bound ULP; backward what two results within backward_dy_ok may differ by);
//! - with default or moderate parameters, the ISA and scalar results meet the oracle's bounds.

#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use nnsimd::{Activation, Error, Isa};
use nnsimd_fuzz::act::{self, Params};
use nnsimd_fuzz::common::{Guarded, show};
use nnsimd_fuzz::input::{self, same_value};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Pass {
    Forward,
    ForwardInplace,
    Backward,
    BackwardInplace,
}

#[derive(Debug)]
struct Case {
    act: Activation,
    params: Params,
    pass: Pass,
    /// None: the plain entry points (the detected ISA).
    isa: Option<Isa>,
    /// An ISA the CPU lacks, asked for instead of `isa`.
    missing: Option<Isa>,
    x: Vec<f32>,
    dy: Vec<f32>,
    /// Lengths of the output (y or dx) and of dy: `x.len()` unless a mismatch is tested.
    out_len: usize,
    dy_len: usize,
    /// Offsets of x, the output and dy in their guarded buffers (misalignment).
    ox: usize,
    oy: usize,
    od: usize,
}

fn decode(u: &mut Unstructured) -> Result<Case> {
    let (act, params) = act::activation(u)?;
    let pass = *u.choose(&[Pass::Forward, Pass::ForwardInplace, Pass::Backward, Pass::BackwardInplace])?;
    let isa = input::isa(u)?;
    let missing = if u.ratio(1u8, 32)? { input::unavailable_isa(u)? } else { None };
    let n = input::length(u)?;
    let (out_len, dy_len) = input::out_and_dy_lengths(u, n)?;
    let (ox, oy, od) = (u.int_in_range(0..=15)?, u.int_in_range(0..=15)?, u.int_in_range(0..=15)?);
    let x = input::long_values(u, n, input::any_f32)?;
    let dy = input::long_values(u, dy_len, input::any_f32)?;
    Ok(Case { act, params, pass, isa, missing, x, dy, out_len, dy_len, ox, oy, od })
}

/// Runs `pass` on `isa` (None: the plain entry point) over guarded buffers; returns the result
/// and the buffer that may be written (y, x in place, dx, or dy in place).
fn run(c: &Case, isa: Option<Isa>, x: &Guarded, dy: &Guarded) -> (core::result::Result<(), Error>, Guarded) {
    let a = &c.act;
    match c.pass {
        Pass::Forward => {
            let mut y = Guarded::blank(c.oy, c.out_len);
            let r = match isa {
                Some(i) => a.forward_with(i, x.slice(), y.slice_mut()),
                None => a.forward(x.slice(), y.slice_mut()),
            };
            (r, y)
        }
        Pass::ForwardInplace => {
            let mut y = Guarded::new(c.oy, x.slice());
            let r = match isa {
                Some(i) => a.forward_inplace_with(i, y.slice_mut()),
                None => a.forward_inplace(y.slice_mut()),
            };
            (r, y)
        }
        Pass::Backward => {
            let mut dx = Guarded::blank(c.oy, c.out_len);
            let r = match isa {
                Some(i) => a.backward_with(i, x.slice(), dy.slice(), dx.slice_mut()),
                None => a.backward(x.slice(), dy.slice(), dx.slice_mut()),
            };
            (r, dx)
        }
        Pass::BackwardInplace => {
            let mut d = Guarded::new(c.oy, dy.slice());
            let r = match isa {
                Some(i) => a.backward_inplace_with(i, x.slice(), d.slice_mut()),
                None => a.backward_inplace(x.slice(), d.slice_mut()),
            };
            (r, d)
        }
    }
}

/// The errors that apply to the case (any one of them may be reported), and the parameters at
/// fault.
fn expected_errors(c: &Case) -> (Vec<Error>, act::BadParams) {
    let n = c.x.len();
    let mut errs = Vec::new();
    if let Some(i) = c.missing {
        errs.push(Error::IsaUnavailable(i));
    }
    let (out, dy) = match c.pass {
        Pass::Forward => (Some("y"), None),
        Pass::ForwardInplace => (None, None),
        Pass::Backward => (Some("dx"), Some("dy")),
        Pass::BackwardInplace => (None, Some("dy")),
    };
    if let Some(arg) = out.filter(|_| c.out_len != n) {
        errs.push(Error::LengthMismatch { arg, expected: n, found: c.out_len });
    }
    if let Some(arg) = dy.filter(|_| c.dy_len != n) {
        errs.push(Error::LengthMismatch { arg, expected: n, found: c.dy_len });
    }
    (errs, act::bad_params(&c.act))
}

fn check(c: &Case) {
    let a = &c.act;
    let name = a.name();
    let x = Guarded::new(c.ox, &c.x);
    let dy = Guarded::new(c.od, &c.dy);
    let isa = c.missing.or(c.isa);
    let (r, out) = run(c, isa, &x, &dy);
    let (errs, bad) = expected_errors(c);
    let bad_now = !bad.is_empty();
    let untouched = |g: &Guarded, orig: Option<&[f32]>| {
        g.guard_damage().is_none() && orig.is_none_or(|o| input::same_bits(g.slice(), o))
    };
    let orig = match c.pass {
        Pass::ForwardInplace => Some(&c.x[..]),
        Pass::BackwardInplace => Some(&c.dy[..]),
        _ => None,
    };
    let blank = vec![f32::from_bits(nnsimd_fuzz::common::GUARD_BITS); out.len];
    let orig = orig.unwrap_or(&blank);
    if let Err(e) = &r {
        let fits = errs.contains(e) || act::is_param_error(e, &bad);
        assert!(
            fits,
            "{name} {:?} {isa:?}: error {e:?} does not apply (expected one of {errs:?}, bad {bad:?})",
            c.pass
        );
        assert!(untouched(&out, Some(orig)), "{name} {:?} {isa:?}: output written on {e:?}", c.pass);
        let _ = e.to_string();
        return;
    }
    assert!(
        errs.is_empty() && !bad_now,
        "{name} {:?} {isa:?}: Ok, but expected one of {errs:?} / bad parameters {bad:?}",
        c.pass
    );
    assert!(
        out.guard_damage().is_none(),
        "{name} {:?} {isa:?}: wrote outside the output at {:?}",
        c.pass,
        out.guard_damage()
    );
    let isa = isa.unwrap_or_else(Isa::detect);
    let forward = matches!(c.pass, Pass::Forward | Pass::ForwardInplace);
    // The same pass out of place on `isa` and on the scalar backend.
    let compute = |i: Isa| {
        let mut v = vec![0.0f32; c.x.len()];
        if forward {
            a.forward_with(i, &c.x, &mut v).unwrap();
        } else {
            a.backward_with(i, &c.x, &c.dy, &mut v).unwrap();
        }
        v
    };
    let got = out.slice();
    let here = compute(isa);
    if matches!(c.pass, Pass::ForwardInplace | Pass::BackwardInplace) {
        for i in 0..got.len() {
            assert!(
                same_value(got[i], here[i]),
                "{name} {:?} {isa}: x[{i}]={}: in place {}, out of place {}",
                c.pass,
                show(c.x[i]),
                show(got[i]),
                show(here[i])
            );
        }
    }
    let scalar = compute(Isa::Scalar);
    let oracle = c.params != Params::Raw;
    for i in 0..got.len() {
        let (xi, yi, si) = (c.x[i], got[i], scalar[i]);
        let dyi = if forward { 1.0 } else { c.dy[i] };
        let agree =
            if forward { act::forward_agree(a, yi, si) } else { act::backward_agree(a, xi, dyi, yi, si) };
        assert!(
            agree,
            "{a:?} {:?} on {isa} against scalar: x[{i}]={} dy={}: {} vs scalar {}",
            c.pass,
            show(xi),
            show(dyi),
            show(yi),
            show(si)
        );
        if oracle {
            for (who, v) in [(isa, yi), (Isa::Scalar, si)] {
                let ok = if forward { act::forward_ok(a, xi, v) } else { act::backward_ok(a, xi, dyi, v) };
                assert!(
                    ok,
                    "{a:?} {:?} on {who} against the oracle: x[{i}]={} dy={}: {}",
                    c.pass,
                    show(xi),
                    show(dyi),
                    show(v)
                );
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok(c) = decode(&mut u) {
        check(&c);
    }
});
