//! Bad input returns an `nnsimd::Error` and changes no output element (DESIGN.md §4).

mod common;

use common::{GUARD_BITS, implemented, isas};
use nnsimd::{Activation, Error, Isa};

const SENTINEL: f32 = f32::from_bits(GUARD_BITS);

fn untouched(v: &[f32]) -> bool {
    v.iter().all(|e| e.to_bits() == GUARD_BITS)
}

fn xs(n: usize) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * 0.37).sin() * 6.0).collect()
}

/// Lengths around the vector widths, the serial/parallel boundary (2·CHUNK) and zero.
fn lengths() -> Vec<usize> {
    let c = nnsimd::parallel::CHUNK;
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
    for name in nnsimd::math::probe::NAMES {
        for isa in isas() {
            let x = xs(40);
            let mut y = vec![SENTINEL; 39];
            assert_eq!(nnsimd::math::probe::eval(name, isa, &x, &mut y), mismatch("y", 40, 39));
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
    // Valid alphas are accepted (tiny and huge included).
    for alpha in [1.0f32, 0.5, 1e-30, 1e30, f32::MIN_POSITIVE, 1e-45] {
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
        match nnsimd::math::probe::eval("no_such_fn", isa, &[1.0, 2.0, 3.0], &mut y) {
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
