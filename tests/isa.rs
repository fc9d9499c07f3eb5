//! ISA detection and dispatch (DESIGN.md §3).
//!
//! `NNSIMD_REQUIRE=avx2,avx512` (comma-separated ISA names) makes `required_isas_are_available`
//! fail when any listed ISA is not available here (or is not an ISA name), so that CI cannot
//! silently skip a backend.

mod common;

use nnsimd::{Activation, Error, Isa};

#[test]
fn required_isas_are_available() {
    let Ok(list) = std::env::var("NNSIMD_REQUIRE") else {
        eprintln!("NNSIMD_REQUIRE is not set; available: {:?}", Isa::available());
        return;
    };
    let available = Isa::available();
    let mut problems = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name.parse::<Isa>() {
            Ok(isa) if isa.is_available() => {}
            Ok(isa) => problems.push(format!("`{isa}` is not available on this CPU/build")),
            Err(_) => problems.push(format!("`{name}` is not an ISA name")),
        }
    }
    assert!(
        problems.is_empty(),
        "NNSIMD_REQUIRE={list:?}: {}; available here: {}",
        problems.join("; "),
        available.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    );
}

#[test]
fn display_from_str_round_trip() {
    let names = ["scalar", "portable", "avx2", "avx512", "neon"];
    assert_eq!(Isa::ALL.len(), names.len());
    for (isa, name) in Isa::ALL.iter().zip(names) {
        assert_eq!(isa.to_string(), name);
        assert_eq!(isa.name(), name);
        assert_eq!(name.parse::<Isa>(), Ok(*isa));
        assert_eq!(isa.to_string().parse::<Isa>(), Ok(*isa));
    }
    for bad in ["", "sse2", "avx", "avx-512", "avx2 ", "neon,", "scalarx"] {
        match bad.parse::<Isa>() {
            Err(Error::UnknownName { kind, name }) => {
                assert_eq!(kind, "isa");
                assert_eq!(name.as_str(), bad);
            }
            other => panic!("{bad:?}.parse::<Isa>() gave {other:?}, want Err(UnknownName)"),
        }
    }
}

#[test]
fn available_is_consistent() {
    let av = Isa::available();
    assert!(av.contains(&Isa::Scalar), "scalar must always be available");
    assert!(av.contains(&Isa::Portable), "portable must always be available");
    for isa in Isa::ALL {
        assert_eq!(av.contains(&isa), isa.is_available(), "{isa}");
    }
    // Slowest first, in the order of ALL.
    let order: Vec<Isa> = Isa::ALL.iter().copied().filter(|i| av.contains(i)).collect();
    assert_eq!(av, order);
    #[cfg(target_arch = "x86_64")]
    assert!(!Isa::Neon.is_available(), "NEON reported available on x86-64");
    #[cfg(target_arch = "aarch64")]
    {
        assert!(Isa::Neon.is_available(), "NEON must be available on aarch64");
        assert!(!Isa::Avx2.is_available() && !Isa::Avx512.is_available());
    }
}

#[test]
fn detect_is_available_and_best_unless_overridden() {
    let d = Isa::detect();
    assert!(d.is_available(), "detect() = {d} is not available");
    assert_eq!(Isa::detect(), d, "detect() must be cached");
    let best = *Isa::available().last().unwrap();
    match std::env::var("NNSIMD_ISA") {
        Err(_) => assert_eq!(d, best, "detect() without NNSIMD_ISA must be the best available"),
        Ok(want) => match want.trim().parse::<Isa>() {
            Ok(isa) if isa.is_available() => assert_eq!(d, isa, "NNSIMD_ISA={want}"),
            _ => assert_eq!(d, best, "NNSIMD_ISA={want} (unavailable/unknown) must fall back to the best"),
        },
    }
}

#[test]
fn plain_forms_use_detect() {
    let x: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.037).collect();
    let dy: Vec<f32> = (0..1000).map(|i| 1.0 + (i % 7) as f32 * 0.25).collect();
    for act in common::implemented() {
        let (mut a, mut b) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        act.forward(&x, &mut a).unwrap();
        act.forward_with(Isa::detect(), &x, &mut b).unwrap();
        assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()), "{}: forward", act.name());
        let mut c = x.clone();
        act.forward_inplace(&mut c).unwrap();
        assert!(a.iter().zip(&c).all(|(p, q)| p.to_bits() == q.to_bits()), "{}: inplace", act.name());
        act.backward(&x, &dy, &mut a).unwrap();
        act.backward_with(Isa::detect(), &x, &dy, &mut b).unwrap();
        assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()), "{}: backward", act.name());
    }
}

#[test]
fn unavailable_isa_is_an_error_and_writes_nothing() {
    let unavailable: Vec<Isa> = Isa::ALL.iter().copied().filter(|i| !i.is_available()).collect();
    #[cfg(target_arch = "x86_64")]
    assert!(unavailable.contains(&Isa::Neon));
    #[cfg(target_arch = "aarch64")]
    assert!(unavailable.contains(&Isa::Avx2));
    let x: Vec<f32> = (0..100).map(|i| i as f32 * 0.1 - 5.0).collect();
    let sentinel = f32::from_bits(common::GUARD_BITS);
    let untouched = |v: &[f32]| v.iter().all(|e| e.to_bits() == common::GUARD_BITS);
    for isa in unavailable {
        for act in Activation::all() {
            let mut y = vec![sentinel; x.len()];
            assert_eq!(act.forward_with(isa, &x, &mut y), Err(Error::IsaUnavailable(isa)), "{}", act.name());
            assert!(untouched(&y), "{} forward_with({isa}) wrote y", act.name());
            let mut z = vec![sentinel; x.len()];
            assert_eq!(act.forward_inplace_with(isa, &mut z), Err(Error::IsaUnavailable(isa)));
            assert!(untouched(&z), "{} forward_inplace_with({isa}) wrote x", act.name());
            let mut dx = vec![sentinel; x.len()];
            assert_eq!(act.backward_with(isa, &x, &x, &mut dx), Err(Error::IsaUnavailable(isa)));
            assert!(untouched(&dx), "{} backward_with({isa}) wrote dx", act.name());
        }
        for name in nnsimd::internals::probe::NAMES {
            let mut y = vec![sentinel; x.len()];
            assert_eq!(
                nnsimd::internals::probe::eval(name, isa, &x, &mut y),
                Err(Error::IsaUnavailable(isa))
            );
            assert!(untouched(&y), "probe {name} on {isa} wrote y");
        }
    }
}
