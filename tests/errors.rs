//! Bad input returns an `nnsimd::Error` and changes no output element (DESIGN.md §4).

mod common;

use common::{GUARD_BITS, implemented, isas};
use nnsimd::{Activation, Error, Isa, Prelu, Rrelu, RreluMode};

const SENTINEL: f32 = f32::from_bits(GUARD_BITS);

fn untouched(v: &[f32]) -> bool {
    v.iter().all(|e| e.to_bits() == GUARD_BITS)
}

fn xs(n: usize) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * 0.37).sin() * 6.0).collect()
}

/// Lengths around the vector widths, the serial/parallel boundary (2·CHUNK) and zero.
fn lengths() -> Vec<usize> {
    let c = nnsimd::CHUNK;
    vec![0, 1, 7, 16, 33, 300, 2 * c - 1, 2 * c, 2 * c + 5]
}

/// Every (activation, ISA) pair that runs: implemented kernels on available ISAs, plus the
/// detected-ISA plain forms (`None`).
fn targets() -> Vec<(Activation, Option<Isa>)> {
    let mut t = Vec::new();
    for act in implemented() {
        t.push((act, None));
        for isa in isas() {
            t.push((act, Some(isa)));
        }
    }
    t
}

fn forward(act: &Activation, isa: Option<Isa>, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    match isa {
        Some(i) => act.forward_with(i, x, y),
        None => act.forward(x, y),
    }
}

fn forward_inplace(act: &Activation, isa: Option<Isa>, x: &mut [f32]) -> Result<(), Error> {
    match isa {
        Some(i) => act.forward_inplace_with(i, x),
        None => act.forward_inplace(x),
    }
}

fn backward(act: &Activation, isa: Option<Isa>, x: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), Error> {
    match isa {
        Some(i) => act.backward_with(i, x, dy, dx),
        None => act.backward(x, dy, dx),
    }
}

fn mismatch(arg: &'static str, expected: usize, found: usize) -> Result<(), Error> {
    Err(Error::LengthMismatch { arg, expected, found })
}

#[test]
fn forward_length_mismatch() {
    for (act, isa) in targets() {
        for n in lengths() {
            let x = xs(n);
            for m in [n.saturating_sub(1), n + 1, n + 17] {
                if m == n {
                    continue;
                }
                let mut y = vec![SENTINEL; m];
                assert_eq!(
                    forward(&act, isa, &x, &mut y),
                    mismatch("y", n, m),
                    "{} {isa:?} n={n} m={m}",
                    act.name()
                );
                assert!(untouched(&y), "{} {isa:?}: y written on error (n={n}, m={m})", act.name());
            }
        }
    }
}

#[test]
fn backward_length_mismatch() {
    for (act, isa) in targets() {
        for n in lengths() {
            let x = xs(n);
            for m in [n.saturating_sub(1), n + 1] {
                if m == n {
                    continue;
                }
                // dy wrong, dx right.
                let dy = vec![1.0f32; m];
                let mut dx = vec![SENTINEL; n];
                assert_eq!(
                    backward(&act, isa, &x, &dy, &mut dx),
                    mismatch("dy", n, m),
                    "{} {isa:?} n={n}",
                    act.name()
                );
                assert!(untouched(&dx), "{} {isa:?}: dx written on a dy mismatch", act.name());
                // dx wrong, dy right.
                let dy = vec![1.0f32; n];
                let mut dx = vec![SENTINEL; m];
                assert_eq!(
                    backward(&act, isa, &x, &dy, &mut dx),
                    mismatch("dx", n, m),
                    "{} {isa:?} n={n}",
                    act.name()
                );
                assert!(untouched(&dx), "{} {isa:?}: dx written on a dx mismatch", act.name());
                // Both wrong: either error, fields consistent, nothing written.
                let dy = vec![1.0f32; m];
                let mut dx = vec![SENTINEL; m + 2];
                match backward(&act, isa, &x, &dy, &mut dx) {
                    Err(Error::LengthMismatch { arg: "dy", expected, found }) => {
                        assert_eq!((expected, found), (n, m))
                    }
                    Err(Error::LengthMismatch { arg: "dx", expected, found }) => {
                        assert_eq!((expected, found), (n, m + 2))
                    }
                    other => panic!("{} {isa:?}: both lengths wrong gave {other:?}", act.name()),
                }
                assert!(untouched(&dx));
            }
        }
    }
}

#[test]
fn probe_length_mismatch() {
    for name in nnsimd::internals::probe::NAMES {
        for isa in isas() {
            let x = xs(40);
            let mut y = vec![SENTINEL; 39];
            assert_eq!(nnsimd::internals::probe::eval(name, isa, &x, &mut y), mismatch("y", 40, 39));
            assert!(untouched(&y));
        }
    }
}

#[test]
fn invalid_parameters() {
    for alpha in [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, -1.0, -1e-30, -f32::MAX] {
        let act = Activation::Elu { alpha };
        let x = xs(50);
        let check = |r: Result<(), Error>, what: &str| match r {
            Err(Error::InvalidParameter { name, value, .. }) => {
                assert_eq!(name, "alpha", "Elu {{ alpha: {alpha} }} {what}");
                assert!(value.to_bits() == (alpha as f64).to_bits() || (value.is_nan() && alpha.is_nan()));
            }
            other => {
                panic!("Elu {{ alpha: {alpha} }} {what}: got {other:?}, want InvalidParameter")
            }
        };
        for isa in std::iter::once(None).chain(isas().into_iter().map(Some)) {
            let mut y = vec![SENTINEL; 50];
            check(forward(&act, isa, &x, &mut y), "forward");
            assert!(untouched(&y));
            let mut z = vec![SENTINEL; 50];
            check(forward_inplace(&act, isa, &mut z), "forward_inplace");
            assert!(untouched(&z));
            let mut dx = vec![SENTINEL; 50];
            check(backward(&act, isa, &x, &x, &mut dx), "backward");
            assert!(untouched(&dx));
        }
    }
    // Valid alphas are accepted (tiny, and huge up to 2^64, included).
    for alpha in [1.0f32, 0.5, 1e-30, 1.8e19, f32::MIN_POSITIVE, 1e-45] {
        let mut y = vec![0.0f32; 10];
        assert_eq!(Activation::Elu { alpha }.forward(&xs(10), &mut y), Ok(()), "alpha = {alpha}");
    }
}

#[test]
fn unknown_names() {
    let long = "é".repeat(20); // 40 bytes: the 32-byte copy must cut on a char boundary
    for bad in ["", "gelu-tanh", "nope", "relu ", " relu", "RELU_NOT", long.as_str()] {
        match Activation::from_name(bad) {
            Err(Error::UnknownName { kind, name }) => {
                assert_eq!(kind, "activation");
                assert!(
                    bad.starts_with(name.as_str()) && name.as_str().len() <= 32,
                    "{bad:?} -> {:?}",
                    name.as_str()
                );
            }
            other => panic!("from_name({bad:?}) gave {other:?}, want UnknownName"),
        }
    }
    for isa in isas() {
        let mut y = vec![SENTINEL; 3];
        match nnsimd::internals::probe::eval("no_such_fn", isa, &[1.0, 2.0, 3.0], &mut y) {
            Err(Error::UnknownName { name, .. }) => assert_eq!(name.as_str(), "no_such_fn"),
            other => panic!("probe::eval(no_such_fn) gave {other:?}"),
        }
        assert!(untouched(&y));
    }
    // Every name round-trips.
    for act in Activation::all() {
        assert_eq!(Activation::from_name(act.name()), Ok(act));
    }
}

#[test]
fn unimplemented_variants() {
    let x = xs(100);
    let dy = vec![1.0f32; 100];
    for act in Activation::all().filter(|a| !a.is_implemented()) {
        let want = Err(Error::Unimplemented(act.name()));
        for isa in std::iter::once(None).chain(isas().into_iter().map(Some)) {
            let mut y = vec![SENTINEL; 100];
            assert_eq!(forward(&act, isa, &x, &mut y), want, "{} {isa:?}", act.name());
            assert!(untouched(&y));
            let mut z = vec![SENTINEL; 100];
            assert_eq!(forward_inplace(&act, isa, &mut z), want, "{} {isa:?}", act.name());
            assert!(untouched(&z));
            let mut dx = vec![SENTINEL; 100];
            assert_eq!(backward(&act, isa, &x, &dy, &mut dx), want, "{} {isa:?}", act.name());
            assert!(untouched(&dx));
        }
    }
}

/// Each error's Display is one sentence (one line, no sentence break inside) that names the
/// argument, parameter, ISA or name at fault.
#[test]
fn display_is_one_sentence_naming_the_argument() {
    let mut cases: Vec<(Error, &str)> = vec![
        (Error::LengthMismatch { arg: "dy", expected: 10, found: 9 }, "dy"),
        (Error::IsaUnavailable(Isa::Neon), "neon"),
        (Error::ShapeOverflow, "shape"),
    ];
    let mut y = vec![0.0f32; 2];
    cases.push((Activation::Elu { alpha: -1.0 }.forward(&[1.0, 2.0], &mut y).unwrap_err(), "alpha"));
    cases.push((Activation::from_name("no_such_activation").unwrap_err(), "no_such_activation"));
    cases.push(("sse9".parse::<Isa>().unwrap_err(), "sse9"));
    if let Some(act) = Activation::all().find(|a| !a.is_implemented()) {
        cases.push((act.forward(&[1.0, 2.0], &mut y).unwrap_err(), act.name()));
    }
    for act in implemented() {
        cases.push((act.forward(&[1.0, 2.0], &mut y[..1]).unwrap_err(), "y"));
        cases.push((act.backward(&[1.0, 2.0], &[1.0], &mut y).unwrap_err(), "dy"));
        cases.push((act.backward(&[1.0, 2.0], &[1.0, 1.0], &mut y[..1]).unwrap_err(), "dx"));
    }
    for (e, arg) in cases {
        let s = e.to_string();
        assert!(!s.is_empty() && !s.contains('\n'), "{e:?}: {s:?}");
        assert!(!s.trim_end_matches('.').contains(". "), "{e:?}: more than one sentence: {s:?}");
        assert!(
            s.contains(&format!("`{arg}`"))
                || s.split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == arg),
            "{e:?}: {s:?} does not mention {arg:?}"
        );
        let _: &dyn std::error::Error = &e;
    }
}

// ---------------------------------------------------------------------------------------------
// PReLU, RReLU and backward from the output.

/// Every ISA as `Some`, the detected one as `None`, and (where there is one) an unavailable one.
fn isa_choices() -> Vec<Option<Isa>> {
    let mut v: Vec<Option<Isa>> = std::iter::once(None).chain(isas().into_iter().map(Some)).collect();
    v.extend(Isa::ALL.iter().copied().filter(|i| !i.is_available()).map(Some));
    v
}

/// The error an ISA choice gives before anything else: unavailable, or None.
fn isa_error(isa: Option<Isa>) -> Option<Error> {
    isa.filter(|i| !i.is_available()).map(Error::IsaUnavailable)
}

#[test]
fn prelu_bad_input_writes_nothing() {
    let slopes = [0.25f32, 0.5, -1.0];
    let p = Prelu::new(&slopes, 4).unwrap(); // period 12
    for isa in isa_choices() {
        let isa_err = isa_error(isa);
        let expect = |e: Error| Err(isa_err.clone().unwrap_or(e));
        let fwd = |x: &[f32], y: &mut [f32]| match isa {
            Some(i) => p.forward_with(i, x, y),
            None => p.forward(x, y),
        };
        let fwd_in = |x: &mut [f32]| match isa {
            Some(i) => p.forward_inplace_with(i, x),
            None => p.forward_inplace(x),
        };
        let bwd = |x: &[f32], dy: &[f32], dx: &mut [f32], ds: &mut [f32]| match isa {
            Some(i) => p.backward_with(i, x, dy, dx, ds),
            None => p.backward(x, dy, dx, ds),
        };
        let bwd_in = |x: &[f32], dy: &mut [f32], ds: &mut [f32]| match isa {
            Some(i) => p.backward_inplace_with(i, x, dy, ds),
            None => p.backward_inplace(x, dy, ds),
        };
        for n in [12usize, 24, 2 * nnsimd::CHUNK + 12 * 3] {
            let x = xs(n);
            // y too short / too long
            let mut y = vec![SENTINEL; n - 1];
            assert_eq!(
                fwd(&x, &mut y),
                expect(Error::LengthMismatch { arg: "y", expected: n, found: n - 1 })
            );
            assert!(untouched(&y));
            // x not a whole number of periods
            let mut y = vec![SENTINEL; n + 5];
            let x5 = xs(n + 5);
            assert_eq!(
                fwd(&x5, &mut y),
                expect(Error::NotMultiple { arg: "x", found: n + 5, multiple_of: 12 })
            );
            assert!(untouched(&y));
            let mut z = vec![SENTINEL; n + 5];
            assert_eq!(
                fwd_in(&mut z),
                expect(Error::NotMultiple { arg: "x", found: n + 5, multiple_of: 12 })
            );
            assert!(untouched(&z));
            // backward: dy, dx, dslopes wrong, and x not whole periods
            let (mut dx, mut ds) = (vec![SENTINEL; n], vec![SENTINEL; 3]);
            let dy = vec![1.0f32; n];
            assert_eq!(
                bwd(&x, &dy[1..], &mut dx, &mut ds),
                expect(Error::LengthMismatch { arg: "dy", expected: n, found: n - 1 })
            );
            assert_eq!(
                bwd(&x, &dy, &mut dx[1..], &mut ds),
                expect(Error::LengthMismatch { arg: "dx", expected: n, found: n - 1 })
            );
            assert_eq!(
                bwd(&x, &dy, &mut dx, &mut ds[..2]),
                expect(Error::LengthMismatch { arg: "dslopes", expected: 3, found: 2 })
            );
            assert!(untouched(&dx) && untouched(&ds));
            let (mut dx5, dy5) = (vec![SENTINEL; n + 5], vec![1.0f32; n + 5]);
            assert_eq!(
                bwd(&x5, &dy5, &mut dx5, &mut ds),
                expect(Error::NotMultiple { arg: "x", found: n + 5, multiple_of: 12 })
            );
            assert!(untouched(&dx5) && untouched(&ds));
            let mut g = vec![SENTINEL; n - 1];
            assert_eq!(
                bwd_in(&x, &mut g, &mut ds),
                expect(Error::LengthMismatch { arg: "dy", expected: n, found: n - 1 })
            );
            let mut g = vec![SENTINEL; n];
            assert_eq!(
                bwd_in(&x, &mut g, &mut ds[..1]),
                expect(Error::LengthMismatch { arg: "dslopes", expected: 3, found: 1 })
            );
            assert!(untouched(&g) && untouched(&ds));
        }
    }
    // Construction.
    let bad: [(&[f32], usize, &str); 5] = [
        (&[], 1, "slopes"),
        (&[f32::NAN], 1, "slopes"),
        (&[1.0, f32::NEG_INFINITY], 3, "slopes"),
        (&[1.0], 0, "inner"),
        (&[1.0, 2.0], usize::MAX / 2 + 1, "inner"),
    ];
    for (slopes, inner, name) in bad {
        match Prelu::new(slopes, inner) {
            Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name, "{slopes:?} inner {inner}"),
            other => panic!("Prelu::new({slopes:?}, {inner}) gave {other:?}"),
        }
    }
}

#[test]
fn rrelu_bad_input_writes_nothing() {
    let r = Rrelu::default();
    for isa in isa_choices() {
        let isa_err = isa_error(isa);
        let expect = |e: Error| Err(isa_err.clone().unwrap_or(e));
        for n in [0usize, 17, 2 * nnsimd::CHUNK + 1] {
            let x = xs(n);
            let stored = vec![0.2f32; n + 1];
            for mode in
                [RreluMode::Train { seed: 1, offset: 2 }, RreluMode::Eval, RreluMode::Stored(&stored[..n])]
            {
                let mut y = vec![SENTINEL; n + 1];
                let r1 = match isa {
                    Some(i) => r.forward_with(i, mode, &x, &mut y),
                    None => r.forward(mode, &x, &mut y),
                };
                assert_eq!(r1, expect(Error::LengthMismatch { arg: "y", expected: n, found: n + 1 }));
                let (dy, mut dx) = (vec![1.0f32; n], vec![SENTINEL; n + 2]);
                let r2 = match isa {
                    Some(i) => r.backward_with(i, mode, &x, &dy, &mut dx),
                    None => r.backward(mode, &x, &dy, &mut dx),
                };
                assert_eq!(r2, expect(Error::LengthMismatch { arg: "dx", expected: n, found: n + 2 }));
                let mut g = vec![SENTINEL; n + 3];
                let r3 = match isa {
                    Some(i) => r.backward_inplace_with(i, mode, &x, &mut g),
                    None => r.backward_inplace(mode, &x, &mut g),
                };
                assert_eq!(r3, expect(Error::LengthMismatch { arg: "dy", expected: n, found: n + 3 }));
                assert!(untouched(&y) && untouched(&dx) && untouched(&g));
            }
            // Stored slopes of the wrong length.
            let bad = RreluMode::Stored(&stored);
            let mut y = vec![SENTINEL; n];
            let r4 = match isa {
                Some(i) => r.forward_with(i, bad, &x, &mut y),
                None => r.forward(bad, &x, &mut y),
            };
            assert_eq!(r4, expect(Error::LengthMismatch { arg: "slopes", expected: n, found: n + 1 }));
            let mut z = vec![SENTINEL; n];
            let r5 = match isa {
                Some(i) => r.forward_inplace_with(i, bad, &mut z),
                None => r.forward_inplace(bad, &mut z),
            };
            assert_eq!(r5, expect(Error::LengthMismatch { arg: "slopes", expected: n, found: n + 1 }));
            assert!(untouched(&y) && untouched(&z));
            if let Some(i) = isa.filter(|i| !i.is_available()) {
                let mut out = vec![SENTINEL; n];
                assert_eq!(r.draw_with(i, 1, 0, &mut out), Err(Error::IsaUnavailable(i)));
                assert!(untouched(&out));
            }
        }
    }
    for (lower, upper) in [(0.5f32, 0.25f32), (f32::NAN, 1.0), (0.0, f32::INFINITY), (-f32::MAX, f32::MAX)] {
        assert!(
            matches!(Rrelu::new(lower, upper), Err(Error::InvalidParameter { .. })),
            "({lower}, {upper})"
        );
    }
}

#[test]
fn backward_from_output_bad_input_writes_nothing() {
    for act in implemented() {
        for isa in isa_choices() {
            let isa_err = isa_error(isa);
            let y = xs(40);
            let (dy, mut dx) = (vec![1.0f32; 39], vec![SENTINEL; 40]);
            let r1 = match isa {
                Some(i) => act.backward_from_output_with(i, &y, &dy, &mut dx),
                None => act.backward_from_output(&y, &dy, &mut dx),
            };
            assert_eq!(
                r1,
                Err(isa_err.clone().unwrap_or(Error::LengthMismatch { arg: "dy", expected: 40, found: 39 }))
            );
            let dy = vec![1.0f32; 40];
            let mut dx = vec![SENTINEL; 41];
            let r2 = match isa {
                Some(i) => act.backward_from_output_with(i, &y, &dy, &mut dx),
                None => act.backward_from_output(&y, &dy, &mut dx),
            };
            assert_eq!(
                r2,
                Err(isa_err.clone().unwrap_or(Error::LengthMismatch { arg: "dx", expected: 40, found: 41 }))
            );
            let mut g = vec![SENTINEL; 40];
            let r3 = match isa {
                Some(i) => act.backward_from_output_inplace_with(i, &y, &mut g),
                None => act.backward_from_output_inplace(&y, &mut g),
            };
            let want = match (&isa_err, act.has_backward_from_output()) {
                (Some(e), _) => Err(e.clone()),
                (None, true) => Ok(()),
                (None, false) => Err(Error::NoOutputBackward(act.name())),
            };
            assert_eq!(r3, want, "{} {isa:?}", act.name());
            assert!(untouched(&dx));
            if want.is_err() {
                assert!(untouched(&g));
            }
        }
    }
    // Invalid parameters come first, as in the other passes.
    let mut dx = vec![SENTINEL; 4];
    assert!(matches!(
        Activation::Elu { alpha: -1.0 }.backward_from_output(&[0.0; 4], &[1.0; 4], &mut dx),
        Err(Error::InvalidParameter { name: "alpha", .. })
    ));
    assert!(untouched(&dx));
}

#[test]
fn new_errors_display_one_sentence() {
    let cases = [
        (Error::NotMultiple { arg: "x", found: 10, multiple_of: 4 }, "x"),
        (Error::NoOutputBackward("gelu"), "gelu"),
        (Error::OutOfMemory { elements: 1 << 40 }, "memory"),
        (Rrelu::new(1.0, 0.0).unwrap_err(), "lower"),
        (Prelu::new(&[1.0], 0).unwrap_err(), "inner"),
    ];
    for (e, arg) in cases {
        let s = e.to_string();
        assert!(!s.is_empty() && !s.contains('\n'), "{e:?}: {s:?}");
        assert!(!s.trim_end_matches('.').contains(". "), "{e:?}: more than one sentence: {s:?}");
        assert!(s.contains(arg), "{e:?}: {s:?} does not mention {arg:?}");
    }
}

/// The message of each error carries what fixes the call: the argument with the expected and
/// the found length; the parameter with its value and its range; the ISA with the ones there are.
#[test]
fn display_gives_expected_and_found() {
    let s = Error::LengthMismatch { arg: "grads", expected: 1000, found: 999 }.to_string();
    assert!(s.contains("`grads`") && s.contains("1000") && s.contains("999"), "{s}");
    let e = Adam::new(AdamConfig { beta2: 1.5, ..Default::default() }, 3).unwrap_err();
    let s = e.to_string();
    assert!(s.contains("`beta2`") && s.contains("1.5") && s.contains("[0, 1)"), "{s}");
    let mut y = [0.0f32; 1];
    let s = Activation::HardTanh { min: 2.0, max: 1.0 }.forward(&[0.0], &mut y).unwrap_err().to_string();
    assert!(s.contains("`min`") && s.contains('2') && s.contains("max"), "{s}");
    for missing in unavailable() {
        let s = Error::IsaUnavailable(missing).to_string();
        assert!(s.contains(&format!("`{missing}`")), "{s}");
        for isa in isas() {
            assert!(s.contains(isa.name()), "{s} does not list {isa}");
        }
        assert!(!s.trim_end_matches('.').contains(". ") && !s.contains('\n'), "{s}");
    }
    assert_eq!(
        Error::OutOfMemory { elements: 1 << 62 }.to_string().matches(&(1u64 << 62).to_string()).count(),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Every entry point of an activation, one call: the plain form (None) or the `_with` form.

/// The four passes, each writing one buffer: forward (y), forward in place (x), backward (dx),
/// backward in place (dy).
#[derive(Clone, Copy, Debug)]
enum Pass {
    Forward,
    ForwardInplace,
    Backward,
    BackwardInplace,
}

const PASSES: [Pass; 4] = [Pass::Forward, Pass::ForwardInplace, Pass::Backward, Pass::BackwardInplace];

/// Runs `pass` of `act` on `isa` over x (length n) with the written buffer `out` (whose length
/// is the caller's choice) and `dy`.
fn call(
    act: &Activation,
    isa: Option<Isa>,
    pass: Pass,
    x: &[f32],
    dy: &[f32],
    out: &mut [f32],
) -> Result<(), Error> {
    match (pass, isa) {
        (Pass::Forward, _) => forward(act, isa, x, out),
        (Pass::ForwardInplace, _) => forward_inplace(act, isa, out),
        (Pass::Backward, _) => backward(act, isa, x, dy, out),
        (Pass::BackwardInplace, Some(i)) => act.backward_inplace_with(i, x, out),
        (Pass::BackwardInplace, None) => act.backward_inplace(x, out),
    }
}

/// The ISAs this CPU lacks (on x86-64 at least NEON).
fn unavailable() -> Vec<Isa> {
    Isa::ALL.iter().copied().filter(|i| !i.is_available()).collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|e| e.to_bits()).collect()
}

/// Runs `pass` expecting `want`; the written buffer starts as `init` and must end bitwise equal.
fn assert_refused(act: &Activation, isa: Option<Isa>, pass: Pass, x: &[f32], init: &[f32], want: &Error) {
    let dy = vec![0.5f32; x.len()];
    let mut out = init.to_vec();
    let r = call(act, isa, pass, x, &dy, &mut out);
    assert_eq!(r.as_ref(), Err(want), "{:?} {isa:?} {pass:?}", act);
    assert_eq!(bits(&out), bits(init), "{:?} {isa:?} {pass:?}: buffer written on {want:?}", act);
}

#[test]
fn backward_inplace_length_mismatch() {
    for (act, isa) in targets() {
        for n in [0, 1, 17, 300] {
            let x = xs(n);
            for m in [n.saturating_sub(1), n + 1, n + 40] {
                if m == n {
                    continue;
                }
                let dy: Vec<f32> = (0..m).map(|i| i as f32 - 3.5).collect();
                let want = Error::LengthMismatch { arg: "dy", expected: n, found: m };
                assert_refused(&act, isa, Pass::BackwardInplace, &x, &dy, &want);
            }
        }
    }
}

#[test]
fn unavailable_isa_every_pass() {
    let x = xs(70);
    for act in Activation::all() {
        for isa in unavailable() {
            for pass in PASSES {
                let init: Vec<f32> =
                    if matches!(pass, Pass::ForwardInplace) { x.clone() } else { vec![SENTINEL; 70] };
                assert_refused(&act, Some(isa), pass, &x, &init, &Error::IsaUnavailable(isa));
            }
        }
    }
}

/// Activations with one parameter out of its range: (activation, the parameter, its value).
fn bad_activations() -> Vec<(Activation, &'static str, f32)> {
    let mut v = Vec::new();
    // Finite is all these ask.
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        v.push((Activation::HardTanh { min: bad, max: 1.0 }, "min", bad));
        v.push((Activation::HardTanh { min: -1.0, max: bad }, "max", bad));
        v.push((Activation::LeakyRelu { slope: bad }, "slope", bad));
        v.push((Activation::Softplus { beta: 1.0, threshold: bad }, "threshold", bad));
    }
    // Finite and > 0.
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, -1e-45, -1.0, -f32::MAX] {
        v.push((Activation::Elu { alpha: bad }, "alpha", bad));
        v.push((Activation::Celu { alpha: bad }, "alpha", bad));
        v.push((Activation::Pelu { a: bad, b: 1.0 }, "a", bad));
        v.push((Activation::Pelu { a: 1.0, b: bad }, "b", bad));
        v.push((Activation::Swish { beta: bad }, "beta", bad));
        v.push((Activation::ESwish { beta: bad }, "beta", bad));
        v.push((Activation::Softplus { beta: bad, threshold: 20.0 }, "beta", bad));
    }
    // Beyond a bound: a divisor b with 1/b not finite, a slope s₋/b outside [2^-126, 2^64],
    // E-Swish's β above 65,536.
    for bad in [1e-45, 1e-41, 1.1754942e-38] {
        v.push((Activation::Celu { alpha: bad }, "alpha", bad));
        v.push((Activation::Pelu { a: 1e-38, b: bad }, "b", bad));
    }
    for bad in [1.9e19, 1e30, f32::MAX] {
        v.push((Activation::Elu { alpha: bad }, "alpha", bad));
        v.push((Activation::Pelu { a: bad, b: 1.0 }, "a", bad));
        v.push((Activation::ESwish { beta: bad }, "beta", bad));
    }
    // β of Swish and softplus below 2^-32; a divisor (CELU's α, PELU's b) above 2^64.
    for bad in [1e-45, 1e-30, 2.328_306e-10] {
        v.push((Activation::Swish { beta: bad }, "beta", bad));
        v.push((Activation::Softplus { beta: bad, threshold: 20.0 }, "beta", bad));
    }
    for bad in [1.9e19, 1e30, f32::MAX] {
        v.push((Activation::Celu { alpha: bad }, "alpha", bad));
        v.push((Activation::Pelu { a: 1.0, b: bad }, "b", bad));
    }
    // ONNX's forms: the affine hard-sigmoid's α nonzero and both within ±2^64; γ·α ≤ 2^64.
    for bad in [0.0, -0.0, 1.9e19, -1.9e19, f32::NAN] {
        v.push((Activation::HardSigmoidAffine { alpha: bad, beta: 0.5 }, "alpha", bad));
    }
    v.push((Activation::HardSigmoidAffine { alpha: 0.2, beta: 1.9e19 }, "beta", 1.9e19));
    v.push((Activation::SeluScaled { alpha: 1e10, gamma: 1e10 }, "alpha", 1e10));
    v.push((Activation::SeluScaled { alpha: 1.0, gamma: -1.0 }, "gamma", -1.0));
    v.push((Activation::ThresholdedRelu { alpha: f32::NEG_INFINITY }, "alpha", f32::NEG_INFINITY));
    v.push((Activation::ESwish { beta: 65_537.0 }, "beta", 65_537.0));
    v.push((Activation::Pelu { a: f32::MAX, b: 0.5 }, "a", f32::MAX));
    v.push((Activation::Pelu { a: 1e-30, b: 1e10 }, "a", 1e-30));
    // Hard-tanh's ends in the wrong order, or equal.
    v.push((Activation::HardTanh { min: 1.0, max: 1.0 }, "min", 1.0));
    v.push((Activation::HardTanh { min: 2.0, max: -2.0 }, "min", 2.0));
    v
}

#[test]
fn invalid_parameters_every_activation_and_pass() {
    let x = xs(50);
    for (act, name, value) in bad_activations() {
        for isa in std::iter::once(None).chain(isas().into_iter().map(Some)) {
            for pass in PASSES {
                let init: Vec<f32> =
                    if matches!(pass, Pass::ForwardInplace) { x.clone() } else { vec![SENTINEL; 50] };
                let mut out = init.clone();
                let r = call(&act, isa, pass, &x, &x, &mut out);
                match r {
                    Err(Error::InvalidParameter { name: got, value: v, expected }) => {
                        assert_eq!(got, name, "{act:?} {pass:?}");
                        assert!(
                            v.to_bits() == (value as f64).to_bits() || (v.is_nan() && value.is_nan()),
                            "{act:?} {pass:?}: value {v} reported, {value} given"
                        );
                        assert!(!expected.is_empty());
                    }
                    other => panic!("{act:?} {isa:?} {pass:?}: {other:?}, want InvalidParameter({name})"),
                }
                assert_eq!(bits(&out), bits(&init), "{act:?} {isa:?} {pass:?}: written on Err");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Optimizers: invalid hyperparameters, wrong lengths, an unavailable ISA, state too large.
// "No state byte changed" is checked on the state's Debug form, which prints every element.

use nnsimd::optim::{
    Adadelta, AdadeltaConfig, Adafactor, AdafactorConfig, Adagrad, AdagradConfig, Adam, AdamConfig,
    AdamWConfig, Adamax, AdamaxConfig, Lion, LionConfig, NAdam, NAdamConfig, Optimizer, RmsProp,
    RmsPropConfig, Sgd, SgdConfig,
};

/// Adafactor over a vector of n parameters (the full second moment), or, where n allows, a
/// 2 × n/2 matrix (the factored one).
fn adafactor(c: AdafactorConfig, n: usize) -> Result<Adafactor, Error> {
    if n >= 4 && n.is_multiple_of(2) { Adafactor::new(c, &[2, n / 2]) } else { Adafactor::new(c, &[n]) }
}

/// An optimizer whose whole state can be printed.
trait Stateful: Optimizer + std::fmt::Debug {}
impl<T: Optimizer + std::fmt::Debug> Stateful for T {}

type Build = Box<dyn Fn(usize) -> Result<Box<dyn Stateful>, Error>>;

fn boxed<T: Stateful + 'static>(r: Result<T, Error>) -> Result<Box<dyn Stateful>, Error> {
    r.map(|o| Box::new(o) as Box<dyn Stateful>)
}

/// Every optimizer, in a configuration that uses all of its state.
fn optimizers() -> Vec<(&'static str, Build)> {
    vec![
        ("sgd", Box::new(|n| boxed(Sgd::new(SgdConfig { lr: 0.1, ..Default::default() }, n)))),
        (
            "sgd_nesterov",
            Box::new(|n| {
                boxed(Sgd::new(
                    SgdConfig { momentum: 0.9, nesterov: true, weight_decay: 0.01, ..Default::default() },
                    n,
                ))
            }),
        ),
        ("adam", Box::new(|n| boxed(Adam::new(AdamConfig { amsgrad: true, ..Default::default() }, n)))),
        ("adamw", Box::new(|n| boxed(Adam::adamw(AdamWConfig::default(), n)))),
        ("adagrad", Box::new(|n| boxed(Adagrad::new(AdagradConfig::default(), n)))),
        (
            "rmsprop",
            Box::new(|n| {
                boxed(RmsProp::new(RmsPropConfig { centered: true, momentum: 0.5, ..Default::default() }, n))
            }),
        ),
        ("lion", Box::new(|n| boxed(Lion::new(LionConfig::default(), n)))),
        ("adadelta", Box::new(|n| boxed(Adadelta::new(AdadeltaConfig::default(), n)))),
        ("adamax", Box::new(|n| boxed(Adamax::new(AdamaxConfig::default(), n)))),
        ("nadam", Box::new(|n| boxed(NAdam::new(NAdamConfig::default(), n)))),
        ("adafactor", Box::new(|n| boxed(adafactor(AdafactorConfig::default(), n)))),
    ]
}

/// One bad call on `o`: it must give `want` and leave params, the step count and the state
/// (its Debug form) exactly as they were.
fn assert_step_refused(label: &str, o: &mut dyn Stateful, isa: Isa, p: &mut [f32], g: &[f32], want: Error) {
    let (before_p, before_state, before_steps) = (bits(p), format!("{o:?}"), o.steps());
    assert_eq!(o.step_with(isa, p, g), Err(want.clone()), "{label}");
    assert_eq!(bits(p), before_p, "{label}: params written on {want:?}");
    assert_eq!(format!("{o:?}"), before_state, "{label}: state changed by {want:?}");
    assert_eq!(o.steps(), before_steps, "{label}: {want:?} counted as a step");
}

#[test]
fn optimizer_step_errors_change_nothing() {
    common::optim::assert_covers("errors.rs optimizers()", optimizers().iter().map(|o| o.0));
    for (name, build) in optimizers() {
        for isa in isas() {
            for n in [0usize, 1, 37, 2 * nnsimd::CHUNK + 3] {
                let mut o = build(n).unwrap();
                let mut p = xs(n);
                let g: Vec<f32> = xs(n + 1)[1..].to_vec();
                o.step_with(isa, &mut p, &g).unwrap();
                let label = format!("{name} on {isa}, n {n}");
                for m in [n.saturating_sub(1), n + 1] {
                    if m == n {
                        continue;
                    }
                    let mut wrong = xs(m);
                    let want = Error::LengthMismatch { arg: "params", expected: n, found: m };
                    let before = bits(&wrong);
                    assert_step_refused(&label, &mut *o, isa, &mut wrong, &g, want);
                    assert_eq!(bits(&wrong), before);
                    let want = Error::LengthMismatch { arg: "grads", expected: n, found: m };
                    assert_step_refused(&label, &mut *o, isa, &mut p, &xs(m), want);
                }
                for missing in unavailable() {
                    assert_step_refused(&label, &mut *o, missing, &mut p, &g, Error::IsaUnavailable(missing));
                }
                // Still usable, and at step 2.
                o.step_with(isa, &mut p, &g).unwrap();
                assert_eq!(o.steps(), 2, "{label}");
            }
        }
    }
}

/// A constructor with one hyperparameter set to a bad value: (optimizer, field, value, build).
type BadConfig = (&'static str, &'static str, f64, Build);

/// Pushes onto `$v`, for each listed field of `$cfg`, the config with that field set to `$bad`.
macro_rules! bad_fields {
    ($v:ident, $opt:literal, $new:path, $cfg:ident { $($field:ident),* }, $bad:expr) => {$(
        let b: f64 = $bad;
        $v.push(($opt, stringify!($field), b, Box::new(move |n| boxed($new($cfg { $field: b, ..Default::default() }, n)))));
    )*};
}

/// Every hyperparameter of every optimizer, out of its range.
fn bad_configs() -> Vec<BadConfig> {
    let mut v: Vec<BadConfig> = Vec::new();
    // lr and the other "finite and >= 0" fields: NaN, infinite, negative.
    for bad in [f64::NAN, f64::INFINITY, -f64::INFINITY, -1.0, -1e-300] {
        bad_fields!(v, "sgd", Sgd::new, SgdConfig { lr, momentum, weight_decay }, bad);
        bad_fields!(v, "adam", Adam::new, AdamConfig { lr, eps, weight_decay }, bad);
        bad_fields!(v, "adamw", Adam::adamw, AdamWConfig { lr, eps, weight_decay }, bad);
        bad_fields!(
            v,
            "adagrad",
            Adagrad::new,
            AdagradConfig { lr, lr_decay, weight_decay, initial_accumulator_value, eps },
            bad
        );
        bad_fields!(v, "rmsprop", RmsProp::new, RmsPropConfig { lr, eps, weight_decay, momentum }, bad);
        bad_fields!(v, "lion", Lion::new, LionConfig { lr, weight_decay }, bad);
        bad_fields!(v, "adadelta", Adadelta::new, AdadeltaConfig { lr, eps, weight_decay }, bad);
        bad_fields!(v, "adamax", Adamax::new, AdamaxConfig { lr, eps, weight_decay }, bad);
        bad_fields!(v, "nadam", NAdam::new, NAdamConfig { lr, eps, weight_decay, momentum_decay }, bad);
        bad_fields!(v, "adafactor", adafactor, AdafactorConfig { lr, eps1, eps2, weight_decay }, bad);
    }
    // Adafactor: the clipping threshold d ≥ 1, the decay exponent ≤ 0 (both finite).
    for bad in [f64::NAN, f64::INFINITY, 0.999_999, 0.0, -1.0] {
        bad_fields!(v, "adafactor", adafactor, AdafactorConfig { d }, bad);
    }
    for bad in [f64::NAN, f64::NEG_INFINITY, 1e-300, 0.5] {
        bad_fields!(v, "adafactor", adafactor, AdafactorConfig { beta2_decay }, bad);
    }
    // Betas outside [0, 1).
    for bad in [f64::NAN, -0.1, 1.0, 1.5, f64::INFINITY] {
        bad_fields!(v, "adam", Adam::new, AdamConfig { beta1, beta2 }, bad);
        bad_fields!(v, "adamw", Adam::adamw, AdamWConfig { beta1, beta2 }, bad);
        bad_fields!(v, "lion", Lion::new, LionConfig { beta1, beta2 }, bad);
        bad_fields!(v, "adamax", Adamax::new, AdamaxConfig { beta1, beta2 }, bad);
        bad_fields!(v, "nadam", NAdam::new, NAdamConfig { beta1, beta2 }, bad);
    }
    // Weights outside [0, 1].
    for bad in [f64::NAN, -0.1, 1.0 + f64::EPSILON, 2.0] {
        bad_fields!(v, "sgd", Sgd::new, SgdConfig { dampening }, bad);
        bad_fields!(v, "rmsprop", RmsProp::new, RmsPropConfig { alpha }, bad);
        bad_fields!(v, "adadelta", Adadelta::new, AdadeltaConfig { rho }, bad);
    }
    // Nesterov needs momentum > 0 and no dampening.
    v.push((
        "sgd",
        "momentum",
        0.0,
        Box::new(|n| boxed(Sgd::new(SgdConfig { nesterov: true, ..Default::default() }, n))),
    ));
    v.push((
        "sgd",
        "dampening",
        0.5,
        Box::new(|n| {
            boxed(Sgd::new(
                SgdConfig { nesterov: true, momentum: 0.9, dampening: 0.5, ..Default::default() },
                n,
            ))
        }),
    ));
    v
}

#[test]
fn optimizer_invalid_hyperparameters() {
    for (opt, field, value, build) in bad_configs() {
        for n in [0, 10] {
            match build(n) {
                Err(e @ Error::InvalidParameter { name, value: v, expected }) => {
                    assert_eq!(name, field, "{opt} {field}={value}: {e:?}");
                    assert!(v.to_bits() == value.to_bits() || (v.is_nan() && value.is_nan()), "{opt}: {e:?}");
                    assert!(!expected.is_empty());
                    let s = e.to_string();
                    assert!(s.contains(&format!("`{field}`")) && s.contains(expected), "{opt}: {s}");
                }
                Err(e) => panic!("{opt} {field}={value}: {e:?}, want InvalidParameter"),
                Ok(_) => panic!("{opt} {field}={value}: accepted"),
            }
        }
    }
}

/// State that cannot be allocated is an `OutOfMemory` error, not an abort.
#[test]
fn optimizer_state_too_large() {
    for n in [usize::MAX, usize::MAX / 4 + 1, 1 << 61] {
        for (name, build) in optimizers() {
            match build(n) {
                // The state's largest buffer: n elements, or a factor's (Adafactor on 2 × n/2).
                Err(Error::OutOfMemory { elements }) => {
                    assert!(elements == n || (name == "adafactor" && elements == n / 2), "{name}: {elements}")
                }
                Err(e) => panic!("{name}: {e:?}, want OutOfMemory"),
                // Plain SGD keeps no state.
                Ok(o) => assert!(name == "sgd" && o.num_params() == n, "{name}: state of {n} built"),
            }
        }
    }
}

/// Through `Config`: a step whose params do not have the element count of the shape the
/// optimizer was built for is refused, and changes nothing (the next steps match, bitwise, a
/// twin that never saw the bad call).
#[test]
fn config_shape_mismatch_changes_nothing() {
    use nnsimd::optim::Config;
    for &name in Config::NAMES {
        let cfg = Config::from_name(name).unwrap();
        for isa in isas() {
            let shape = [3usize, 4];
            let (mut o, mut twin) = (cfg.build(&shape).unwrap(), cfg.build(&shape).unwrap());
            let g = xs(12);
            let (mut p, mut q) = (xs(13)[1..].to_vec(), xs(13)[1..].to_vec());
            o.step_with(isa, &mut p, &g).unwrap();
            twin.step_with(isa, &mut q, &g).unwrap();
            let mut wrong = xs(11);
            let before = bits(&wrong);
            let want = Err(Error::LengthMismatch { arg: "params", expected: 12, found: 11 });
            assert_eq!(o.step_with(isa, &mut wrong, &g[..11]), want, "{name} on {isa}");
            assert_eq!(bits(&wrong), before, "{name}: params written on Err");
            assert_eq!(o.steps(), 1);
            for _ in 0..2 {
                o.step_with(isa, &mut p, &g).unwrap();
                twin.step_with(isa, &mut q, &g).unwrap();
                assert_eq!(bits(&p), bits(&q), "{name} on {isa}: state changed by a refused step");
            }
        }
    }
}

/// Unknown optimizer names are `UnknownName` errors naming the optimizer kind and (a prefix of)
/// the name; a shape whose element count overflows is `ShapeOverflow` for every optimizer,
/// before anything is allocated.
#[test]
fn optimizer_unknown_names_and_overflowing_shapes() {
    use nnsimd::optim::Config;
    let long = "ä".repeat(20); // 40 bytes: the 32-byte copy must cut on a char boundary
    for bad in ["", "Adam", "adamm", "sgd ", "adam_w", long.as_str()] {
        match Config::from_name(bad) {
            Err(Error::UnknownName { kind, name }) => {
                assert_eq!(kind, "optimizer");
                assert!(bad.starts_with(name.as_str()) && name.as_str().len() <= 32, "{bad:?} -> {name:?}");
            }
            other => panic!("Config::from_name({bad:?}) gave {other:?}, want UnknownName"),
        }
    }
    for &name in Config::NAMES {
        let cfg = Config::from_name(name).unwrap();
        for shape in [&[usize::MAX, 2][..], &[1 << 40, 1 << 40], &[3, usize::MAX / 2, 1], &[2, 2, 1 << 62]] {
            assert_eq!(cfg.build(shape).err(), Some(Error::ShapeOverflow), "{name} {shape:?}");
        }
    }
}
