//! Activation kernels against the f64 reference (DESIGN.md §5, §8), on every available ISA.
//!
//! Oracle: `nnsimd::internals::reference` (f64, from the formulas) for finite inputs, the mathematical
//! limits (tests/common, from the definitions) at ±inf, NaN for NaN. Bounds: forward within
//! `reference::forward_bound` ULP; backward with dy = 1 per `reference::backward_ok`; backward
//! with another dy per `common::backward_dy_ok` (backward_ok's bound on f', then 1 ULP for the
//! product with dy).
//!
//! Under an emulator set `NNSIMD_QEMU=1`: proptest case counts drop ~10x (the sweeps keep their
//! stride, so NEON gets the same dense sweep as x86).
//! The exhaustive sweep over all 2^32 inputs is ignored by default; run it with
//! `cargo test --release --test activations -- --ignored exhaustive --nocapture`.

mod common;

use common::{Guarded, Rng, SPECIALS, implemented, isas, oracle_derivative, oracle_forward, show};
use nnsimd::internals::reference::{self, BACKWARD_BOUND, forward_bound, ulp_distance};
use nnsimd::{Activation, Isa};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

// ---------------------------------------------------------------------------------------------
// Property tests: random lengths, misalignment and values from the whole f32 line.

/// x: a mix of raw bit patterns (NaN, inf, subnormal, huge), N(0, 3²), uniform in ±20 and the
/// special values.
fn x_value() -> impl Strategy<Value = f32> {
    prop_oneof![
        3 => any::<u32>().prop_map(f32::from_bits),
        4 => (0.0f64..1.0, 0.0f64..1.0).prop_map(|(u1, u2)| {
            (3.0 * (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
        }),
        1 => -20.0f32..20.0,
        2 => prop::sample::select(SPECIALS.to_vec()),
    ]
}

/// dy: finite with |dy| ≤ 1e4, from the whole range of exponents (subnormals included), plus
/// 0, ±1, and rarely NaN (dx must then be NaN).
fn dy_value() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => any::<u32>().prop_map(|b| {
            // Keep sign and mantissa, fold the exponent field into 0..=139 (|dy| < 8192).
            let e = ((b >> 23) & 0xff) % 140;
            f32::from_bits((b & 0x807f_ffff) | (e << 23))
        }),
        3 => -4.0f32..4.0,
        2 => prop::sample::select(vec![0.0f32, -0.0, 1.0, -1.0, 1e4, -1e4, f32::MIN_POSITIVE, 1e-45]),
        1 => Just(f32::NAN),
    ]
}

#[derive(Clone)]
struct Case {
    x: Vec<f32>,
    dy: Vec<f32>,
    /// Offsets (1..15) of x, y/dx and dy inside their guarded buffers.
    ox: usize,
    oy: usize,
    od: usize,
}

/// One line per vector (the default pretty form prints one element per line).
impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Case {{ n: {}, ox: {}, oy: {}, od: {},", self.x.len(), self.ox, self.oy, self.od)?;
        writeln!(f, "  x: {:?},", self.x)?;
        write!(f, "  dy: {:?} }}", self.dy)
    }
}

fn case() -> impl Strategy<Value = Case> {
    let len = prop_oneof![40 => 0usize..=300, 1 => prop::sample::select(vec![1000usize, 4099, 40_000])];
    len.prop_flat_map(|n| {
        (
            prop::collection::vec(x_value(), n),
            prop::collection::vec(dy_value(), n),
            1usize..15,
            1usize..15,
            1usize..15,
        )
    })
    .prop_map(|(x, dy, ox, oy, od)| Case { x, dy, ox, oy, od })
}

fn config() -> ProptestConfig {
    let mut c = if std::env::var_os("PROPTEST_CASES").is_some() {
        ProptestConfig::default()
    } else if common::qemu() {
        ProptestConfig::with_cases(51)
    } else {
        ProptestConfig::with_cases(512)
    };
    c.max_shrink_iters = 2_000;
    // The tests live in tests/, where proptest's source-relative persistence cannot find its
    // root; failures are reported with the exact input in the message instead.
    c.failure_persistence = None;
    c
}

fn check_case(c: &Case) -> Result<(), TestCaseError> {
    let n = c.x.len();
    let xg = Guarded::new(c.ox, &c.x);
    let dyg = Guarded::new(c.od, &c.dy);
    let ones = Guarded::new(c.od, &vec![1.0f32; n]);
    for act in implemented() {
        let name = act.name();
        let bound = forward_bound(&act);
        let want: Vec<f64> = c.x.iter().map(|&x| oracle_forward(&act, x)).collect();
        for isa in isas() {
            // forward
            let mut yg = Guarded::blank(c.oy, n);
            prop_assert_eq!(act.forward_with(isa, xg.slice(), yg.slice_mut()), Ok(()));
            prop_assert!(
                yg.guard_damage().is_none(),
                "{} {} forward wrote outside y at buf[{:?}] (n={})",
                name,
                isa,
                yg.guard_damage(),
                n
            );
            for (i, (&got, &w)) in yg.slice().iter().zip(&want).enumerate() {
                let u = ulp_distance(got, w);
                prop_assert!(
                    u <= bound,
                    "{} {} forward x[{}]={}: got {}, want {:e}, {} ULP > {}",
                    name,
                    isa,
                    i,
                    show(c.x[i]),
                    show(got),
                    w,
                    u,
                    bound
                );
            }
            // forward in place: bitwise the same as forward, except that a NaN may come out
            // with another sign or payload (IEEE 754 leaves them open, and the two entry
            // points are compiled separately)
            let mut zg = Guarded::new(c.oy, &c.x);
            prop_assert_eq!(act.forward_inplace_with(isa, zg.slice_mut()), Ok(()));
            prop_assert!(
                zg.guard_damage().is_none(),
                "{} {} forward_inplace wrote outside x (n={})",
                name,
                isa,
                n
            );
            for (i, (a, b)) in zg.slice().iter().zip(yg.slice()).enumerate() {
                prop_assert!(
                    same_value(*a, *b),
                    "{} {} forward_inplace x[{}]={}: got {}, forward gave {}",
                    name,
                    isa,
                    i,
                    show(c.x[i]),
                    show(*a),
                    show(*b)
                );
            }
            // backward, random dy and dy = 1
            for (dy, label) in [(&dyg, "dy"), (&ones, "dy=1")] {
                let mut dxg = Guarded::blank(c.oy, n);
                prop_assert_eq!(act.backward_with(isa, xg.slice(), dy.slice(), dxg.slice_mut()), Ok(()));
                prop_assert!(
                    dxg.guard_damage().is_none(),
                    "{} {} backward ({}) wrote outside dx (n={})",
                    name,
                    isa,
                    label,
                    n
                );
                for (i, &got) in dxg.slice().iter().enumerate() {
                    let (x, d) = (c.x[i], dy.slice()[i]);
                    prop_assert!(
                        common::backward_dy_ok(&act, x, d, got),
                        "{} {} backward x[{}]={} dy={}: got {}, want dy*f' = {:e} (f' = {:e})",
                        name,
                        isa,
                        i,
                        show(x),
                        show(d),
                        show(got),
                        d as f64 * oracle_derivative(&act, x),
                        oracle_derivative(&act, x)
                    );
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Every implemented activation × every available ISA against the oracle, with random
    /// lengths (0..=300, 1000, 4099, 40000 — the last crosses 2·CHUNK and runs on rayon),
    /// misaligned slices and guard values around every output.
    #[test]
    fn kernels_match_reference(c in case()) {
        check_case(&c)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Explicit edge values and limits.

fn run_forward(act: &Activation, isa: Isa, x: f32) -> f32 {
    let mut y = [0.0f32; 1];
    act.forward_with(isa, &[x], &mut y).unwrap();
    y[0]
}

fn run_backward(act: &Activation, isa: Isa, x: f32, dy: f32) -> f32 {
    let mut dx = [0.0f32; 1];
    act.backward_with(isa, &[x], &[dy], &mut dx).unwrap();
    dx[0]
}

/// Checks `got` against an exact limit: ±inf exactly, 0 with its sign (if `signed_zero`),
/// otherwise within `bound` ULP.
fn limit_ok(got: f32, limit: f64, bound: u64, signed_zero: bool) -> bool {
    if limit.is_infinite() {
        got == limit as f32
    } else if limit == 0.0 && signed_zero {
        got == 0.0 && got.is_sign_negative() == limit.is_sign_negative()
    } else {
        ulp_distance(got, limit) <= bound
    }
}

#[test]
fn edge_values_and_limits() {
    let mut fails = Vec::new();
    let nans = [f32::NAN, -f32::NAN, f32::from_bits(0x7f80_0001), f32::from_bits(0xffc1_2345)];
    let subnormals = [1e-45f32, -1e-45, 1e-40, -1e-40, 1.1754942e-38, -1.1754942e-38, 5e-39, -5e-39];
    for act in implemented() {
        let name = act.name();
        let fb = forward_bound(&act);
        // The limits from the definitions, asserted explicitly for the kernels we know.
        let (fpos, fneg) =
            (common::forward_limit(&act, true).unwrap(), common::forward_limit(&act, false).unwrap());
        let (dpos, dneg) =
            (common::derivative_limit(&act, true).unwrap(), common::derivative_limit(&act, false).unwrap());
        match act {
            Activation::Elu { alpha } => assert!(fpos == f64::INFINITY && fneg == -(alpha as f64)),
            Activation::Selu => assert!(
                fpos == f64::INFINITY
                    && fneg == -(nnsimd::activation::SELU_LAMBDA * nnsimd::activation::SELU_ALPHA)
            ),
            Activation::Mish | Activation::GeluTanh => {
                assert!(fpos == f64::INFINITY && fneg == 0.0 && fneg.is_sign_negative());
                assert!(dpos == 1.0 && dneg == 0.0);
            }
            _ => {}
        }
        for isa in isas() {
            for &x in &nans {
                let y = run_forward(&act, isa, x);
                if !y.is_nan() {
                    fails.push(format!("{name} {isa}: f({}) = {}, want NaN", show(x), show(y)));
                }
                for dy in [1.0, 0.0, -2.5, f32::NAN] {
                    let dx = run_backward(&act, isa, x, dy);
                    if !dx.is_nan() {
                        fails.push(format!(
                            "{name} {isa}: backward x={} dy={dy}: {}, want NaN",
                            show(x),
                            show(dx)
                        ));
                    }
                }
            }
            for (x, lim, dlim) in [(f32::INFINITY, fpos, dpos), (f32::NEG_INFINITY, fneg, dneg)] {
                let y = run_forward(&act, isa, x);
                if !limit_ok(y, lim, fb, true) {
                    fails.push(format!("{name} {isa}: f({x}) = {}, want the limit {lim:e}", show(y)));
                }
                let dx = run_backward(&act, isa, x, 1.0);
                if !limit_ok(dx, dlim, BACKWARD_BOUND, false) {
                    fails.push(format!(
                        "{name} {isa}: f'({x}) (dy=1) = {}, want the limit {dlim:e}",
                        show(dx)
                    ));
                }
                let dx = run_backward(&act, isa, x, 0.0);
                if dx != 0.0 {
                    fails.push(format!("{name} {isa}: backward x={x} dy=0: {}, want 0", show(dx)));
                }
                let dx = run_backward(&act, isa, x, f32::NAN);
                if !dx.is_nan() {
                    fails.push(format!("{name} {isa}: backward x={x} dy=NaN: {}, want NaN", show(dx)));
                }
            }
            if common::keeps_negative_zero(&act) {
                for z in [0.0f32, -0.0] {
                    let y = run_forward(&act, isa, z);
                    if y != 0.0 || y.is_sign_negative() != z.is_sign_negative() {
                        fails.push(format!("{name} {isa}: f({}) = {}, want {}", show(z), show(y), show(z)));
                    }
                }
            }
            // Subnormal and other special finite inputs against the reference.
            for &x in subnormals.iter().chain(SPECIALS.iter().filter(|v| v.is_finite())) {
                let want = reference::forward(&act, x as f64);
                let y = run_forward(&act, isa, x);
                if ulp_distance(y, want) > fb {
                    fails.push(format!(
                        "{name} {isa}: f({}) = {}, reference {want:e} ({} ULP)",
                        show(x),
                        show(y),
                        ulp_distance(y, want)
                    ));
                }
                let d = reference::derivative(&act, x as f64);
                let dx = run_backward(&act, isa, x, 1.0);
                if !reference::backward_ok(&act, x, dx, d) {
                    fails.push(format!(
                        "{name} {isa}: f'({}) = {}, reference {d:e} ({} ULP)",
                        show(x),
                        show(dx),
                        ulp_distance(dx, d)
                    ));
                }
                let dx = run_backward(&act, isa, x, f32::NAN);
                if !dx.is_nan() {
                    fails.push(format!(
                        "{name} {isa}: backward x={} dy=NaN: {}, want NaN",
                        show(x),
                        show(dx)
                    ));
                }
                let dx = run_backward(&act, isa, x, 0.0);
                if dx != 0.0 {
                    fails.push(format!("{name} {isa}: backward x={} dy=0: {}, want 0", show(x), show(dx)));
                }
            }
        }
    }
    assert!(fails.is_empty(), "{} edge failures:\n{}", fails.len(), fails.join("\n"));
}

/// Parameters away from the defaults, on subnormal and tiny inputs, where a kernel that rounds
/// an intermediate into the subnormals and then multiplies it by a parameter loses several ULP
/// (the activation_diff fuzz target found E-Swish(β = 8.28125) at x = 0x0000ff03 5 ULP off on
/// the portable tier). Every ISA, forward and backward, against the reference.
#[test]
fn subnormal_inputs_with_large_and_small_parameters() {
    let mut acts = vec![Activation::ESwish { beta: 8.28125 }];
    for p in [1.0 / 16.0, 0.3, 3.0, 8.28125, 16.0, 1000.0] {
        acts.push(Activation::ESwish { beta: p });
        acts.push(Activation::Swish { beta: p });
        acts.push(Activation::Elu { alpha: p });
        acts.push(Activation::Celu { alpha: p });
        acts.push(Activation::Pelu { a: p, b: 1.0 });
        acts.push(Activation::Pelu { a: 1.0, b: p });
        acts.push(Activation::Pelu { a: p, b: 1.0 / p });
        acts.push(Activation::Softplus { beta: p, threshold: 20.0 });
        acts.push(Activation::LeakyRelu { slope: p });
    }
    let mut xs = vec![f32::from_bits(0x0000_ff03)];
    for bits in
        [1u32, 2, 3, 0xff, 0x1234, 0xff03, 0x7_ffff, 0x40_0000, 0x7f_ffff, 0x80_0000, 0x80_0001, 0x0400_0000]
    {
        let v = f32::from_bits(bits);
        xs.extend([v, -v]);
    }
    xs.extend([1e-30f32, -1e-30, 1e-10, -1e-10, 1e-7, -1e-7]);
    let ones = vec![1.0f32; xs.len()];
    let mut fails = Vec::new();
    for act in &acts {
        let bound = forward_bound(act);
        for isa in isas() {
            let mut y = vec![0.0f32; xs.len()];
            act.forward_with(isa, &xs, &mut y).unwrap();
            let mut dx = vec![0.0f32; xs.len()];
            act.backward_with(isa, &xs, &ones, &mut dx).unwrap();
            for (i, &x) in xs.iter().enumerate() {
                let want = reference::forward(act, x as f64);
                if ulp_distance(y[i], want) > bound {
                    fails.push(format!(
                        "{act:?} {isa} forward x={}: {} want {want:e} ({} ULP)",
                        show(x),
                        show(y[i]),
                        ulp_distance(y[i], want)
                    ));
                }
                let d = reference::derivative(act, x as f64);
                if !reference::backward_ok(act, x, dx[i], d) {
                    fails.push(format!(
                        "{act:?} {isa} backward x={}: {} want {d:e} ({} ULP)",
                        show(x),
                        show(dx[i]),
                        ulp_distance(dx[i], d)
                    ));
                }
            }
        }
    }
    assert!(fails.is_empty(), "{} failures:\n{}", fails.len(), fails.join("\n"));
}

/// Parameters near f32::MAX: the portable tier (no FMA) splits β·x exactly with Veltkamp's
/// split, whose 4097·β overflowed past 2^115 and made NaN (found by activation_diff:
/// Softplus(β = 1.3693595e38) backward at x = 0, dy = 0 gave NaN on portable, 0 on scalar).
#[test]
fn huge_parameters() {
    check_parameters(&[
        Activation::Softplus { beta: 1.369_359_5e38, threshold: 0.000_121_481_72 },
        Activation::Softplus { beta: f32::MAX, threshold: 20.0 },
        Activation::Swish { beta: 1e38 },
        Activation::Swish { beta: 3e35 },
    ]);
}

/// Scale parameters at and beyond the ends of their range (those refused are left out here):
/// where 1/b (or 1/α, 1/β) overflows or is subnormal, and where a slope times the tail of an
/// exponential stops short of 0 (the activation_diff fuzz target found PELU with b = 1.4e-41
/// backward at x = −8, dy = 0: NaN on scalar, 0 on AVX-512; b is now refused below 2^-126).
#[test]
fn extreme_scale_parameters() {
    let mut acts = Vec::new();
    for p in [1e-45, 1e-41, f32::MIN_POSITIVE, 1e-30, 65_536.0, 1.8e19, 1e30, 8.507_059e37, f32::MAX] {
        acts.extend([
            Activation::Elu { alpha: p },
            Activation::Celu { alpha: p },
            Activation::Pelu { a: 1.0, b: p },
            Activation::Pelu { a: p, b: 1.0 },
            Activation::Swish { beta: p },
            Activation::ESwish { beta: p },
            Activation::Softplus { beta: p, threshold: 20.0 },
        ]);
    }
    // a/b near overflow and near underflow.
    acts.extend([
        Activation::Pelu { a: f32::MAX, b: 0.5 },
        Activation::Pelu { a: 1e-45, b: f32::MAX },
        Activation::Pelu { a: 1e-30, b: 1e10 },
        Activation::Pelu { a: 1e20, b: 1.0 },
    ]);
    // Those out of range are refused (tests/errors.rs checks which).
    acts.retain(|a| a.is_implemented());
    check_parameters(&acts);
}

/// Each activation on every ISA at zeros, subnormals, tiny, unit and large inputs: f and f'
/// against the reference, and dy = 0 giving 0.
fn check_parameters(acts: &[Activation]) {
    let xs = [
        0.0f32, -0.0, 1e-45, -1e-45, 1e-38, -1e-38, 1e-30, -1e-30, 1.0, -1.0, 100.0, -100.0, -171.0, -1e4,
        1e30, -1e30,
    ];
    let mut fails = Vec::new();
    for act in acts {
        for isa in isas() {
            for &x in &xs {
                let want = reference::forward(act, x as f64);
                let y = run_forward(act, isa, x);
                if ulp_distance(y, want) > forward_bound(act) {
                    fails.push(format!("{act:?} {isa} f({}) = {}, want {want:e}", show(x), show(y)));
                }
                let d = reference::derivative(act, x as f64);
                let dx = run_backward(act, isa, x, 1.0);
                if !reference::backward_ok(act, x, dx, d) {
                    fails.push(format!("{act:?} {isa} f'({}) = {}, want {d:e}", show(x), show(dx)));
                }
                let dx = run_backward(act, isa, x, 0.0);
                if dx != 0.0 {
                    fails.push(format!("{act:?} {isa} backward x={} dy=0: {}", show(x), show(dx)));
                }
            }
        }
    }
    assert!(fails.is_empty(), "{} failures:\n{}", fails.len(), fails.join("\n"));
}

/// The oracle itself at the edges: `reference::forward`/`derivative` at ±inf, rounded to f32
/// (the reference is defined as its f32 rounding, DESIGN.md §5), must give the limits of the
/// definitions, zeros with their sign; −0 kept; NaN for NaN. (A failure here is a bug in
/// src/reference.rs, not in a kernel; the other tests use the limits at ±inf directly.)
#[test]
fn reference_agrees_with_limits() {
    let mut fails = Vec::new();
    for act in implemented() {
        let name = act.name();
        for pos in [true, false] {
            let x = if pos { f64::INFINITY } else { f64::NEG_INFINITY };
            let (lim, dlim) =
                (common::forward_limit(&act, pos).unwrap(), common::derivative_limit(&act, pos).unwrap());
            let (f, lim) = (reference::forward(&act, x) as f32, lim as f32);
            if f.to_bits() != lim.to_bits() {
                fails.push(format!("reference::forward({name}, {x}) = {f:?}, want {lim:?}"));
            }
            let (d, dlim) = (reference::derivative(&act, x) as f32, dlim as f32);
            if d != dlim {
                fails.push(format!("reference::derivative({name}, {x}) = {d:?}, want {dlim:?}"));
            }
        }
        if !reference::forward(&act, f64::NAN).is_nan() || !reference::derivative(&act, f64::NAN).is_nan() {
            fails.push(format!("reference of {name} at NaN is not NaN"));
        }
        if common::keeps_negative_zero(&act) {
            let f = reference::forward(&act, -0.0);
            if !(f == 0.0 && f.is_sign_negative()) {
                fails.push(format!("reference::forward({name}, -0.0) = {f:?}, want -0.0"));
            }
        }
    }
    assert!(fails.is_empty(), "{} reference edge failures:\n{}", fails.len(), fails.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Strided ULP sweeps over the whole f32 line.

/// Statistics of one sweep (kernel, pass, ISA).
#[derive(Default)]
struct Stats {
    inputs: usize,
    max_ulp: u64,
    worst_x: f32,
    fails: usize,
    near_root: usize,
    first: Vec<String>,
}

impl Stats {
    /// Records one result. Results accepted by backward's near-root absolute rule (ok, yet
    /// more than `BACKWARD_BOUND` ULP away) are counted in `near_root`, not in `max_ulp`.
    fn record(&mut self, x: f32, got: f32, want: f64, ok: bool) {
        self.inputs += 1;
        let u = ulp_distance(got, want);
        if ok && u > BACKWARD_BOUND {
            self.near_root += 1;
        } else if u > self.max_ulp {
            self.max_ulp = u;
            self.worst_x = x;
        }
        if !ok {
            self.fails += 1;
            if self.first.len() < 8 {
                self.first.push(format!("x={} got {} want {want:e} ({u} ULP)", show(x), show(got)));
            }
        }
    }

    fn report(&self, what: &str, out: &mut Vec<String>) {
        println!(
            "{what}: inputs {} max_ulp {} worst_x {} near_root_abs {} fails {}",
            self.inputs,
            self.max_ulp,
            show(self.worst_x),
            self.near_root,
            self.fails
        );
        if self.fails > 0 {
            out.push(format!("{what}: {} failures, e.g. {}", self.fails, self.first.join("; ")));
        }
    }
}

/// Every implemented activation at its default parameters; Swish at β ≠ 1, whose fast path
/// (AVX-512) carries u = βx in two parts; and each parameter at both ends of its accepted
/// range, where the accuracy claim must hold too.
fn swept() -> Vec<Activation> {
    let mut acts = implemented();
    acts.extend([0.3, 1.7, 8.0].map(|beta| Activation::Swish { beta }));
    acts.extend(common::at_range_ends());
    acts
}

fn sweep_inputs() -> Vec<f32> {
    let mut x = common::strided(common::sweep_stride());
    x.extend_from_slice(&SPECIALS);
    x
}

#[test]
fn sweep_forward() {
    let xs = sweep_inputs();
    let mut fails = Vec::new();
    for act in swept() {
        let bound = forward_bound(&act);
        let want: Vec<f64> = xs.iter().map(|&x| oracle_forward(&act, x)).collect();
        for isa in isas() {
            let mut y = vec![0.0f32; xs.len()];
            act.forward_with(isa, &xs, &mut y).unwrap();
            let mut st = Stats::default();
            for i in 0..xs.len() {
                st.record(xs[i], y[i], want[i], ulp_distance(y[i], want[i]) <= bound);
            }
            st.report(&format!("{act:?} forward {isa} (bound {bound})"), &mut fails);
        }
    }
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

#[test]
fn sweep_backward() {
    let xs = sweep_inputs();
    let ones = vec![1.0f32; xs.len()];
    let mut fails = Vec::new();
    for act in swept() {
        let want: Vec<f64> = xs.iter().map(|&x| oracle_derivative(&act, x)).collect();
        for isa in isas() {
            let mut dx = vec![0.0f32; xs.len()];
            act.backward_with(isa, &xs, &ones, &mut dx).unwrap();
            let mut st = Stats::default();
            for i in 0..xs.len() {
                st.record(xs[i], dx[i], want[i], reference::backward_ok(&act, xs[i], dx[i], want[i]));
            }
            st.report(
                &format!("{act:?} backward {isa} (bound {BACKWARD_BOUND} / near-root 2^-23)"),
                &mut fails,
            );
        }
    }
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

#[test]
fn sweep_math() {
    let xs = sweep_inputs();
    let mut fails = Vec::new();
    for name in nnsimd::internals::probe::NAMES {
        let bound = common::math_bound(name);
        if reference::math(name, 1.0).is_none() {
            fails.push(format!("math {name}: nnsimd::internals::reference::math has no reference for it"));
            continue;
        }
        let want: Vec<f64> = xs.iter().map(|&x| reference::math(name, x as f64).unwrap()).collect();
        for isa in isas() {
            let mut y = vec![0.0f32; xs.len()];
            nnsimd::internals::probe::eval(name, isa, &xs, &mut y).unwrap();
            let mut st = Stats::default();
            for i in 0..xs.len() {
                st.record(xs[i], y[i], want[i], ulp_distance(y[i], want[i]) <= bound);
            }
            st.report(&format!("math {name} {isa} (bound {bound})"), &mut fails);
        }
    }
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

/// Every ISA within 2·forward_bound ULP of the scalar backend (NaN agrees only with NaN).
#[test]
fn isas_agree_with_scalar() {
    let xs = sweep_inputs();
    let mut fails = Vec::new();
    for act in implemented() {
        let tol = 2 * forward_bound(&act);
        let mut y0 = vec![0.0f32; xs.len()];
        act.forward_with(Isa::Scalar, &xs, &mut y0).unwrap();
        for isa in isas() {
            let mut y = vec![0.0f32; xs.len()];
            act.forward_with(isa, &xs, &mut y).unwrap();
            let bad: Vec<usize> = (0..xs.len()).filter(|&i| common::ulp32(y[i], y0[i]) > tol).collect();
            if !bad.is_empty() {
                let i = bad[0];
                fails.push(format!(
                    "{} {isa} vs scalar: {} inputs differ by > {tol} ULP, e.g. x={}: {} vs scalar {}",
                    act.name(),
                    bad.len(),
                    show(xs[i]),
                    show(y[i]),
                    show(y0[i])
                ));
            }
        }
    }
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Determinism across thread counts.

/// Bitwise equal, or both NaN (of any sign and payload).
fn same_value(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[cfg(feature = "rayon")]
#[test]
fn same_bits_for_any_thread_count() {
    let n = 100_000;
    let mut rng = Rng(0x5eed);
    let x: Vec<f32> = (0..n).map(|_| rng.value()).collect();
    let dy: Vec<f32> = (0..n).map(|_| rng.normal(1.0)).collect();
    let bits = |v: &[f32]| v.iter().map(|e| e.to_bits()).collect::<Vec<u32>>();
    for act in implemented() {
        for isa in isas() {
            let mut runs = Vec::new();
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                runs.push(pool.install(|| {
                    let mut y = vec![0.0f32; n];
                    act.forward_with(isa, &x, &mut y).unwrap();
                    let mut z = x.clone();
                    act.forward_inplace_with(isa, &mut z).unwrap();
                    let mut dx = vec![0.0f32; n];
                    act.backward_with(isa, &x, &dy, &mut dx).unwrap();
                    let mut d = dy.clone();
                    act.backward_inplace_with(isa, &x, &mut d).unwrap();
                    (bits(&y), bits(&z), bits(&dx), bits(&d))
                }));
            }
            for (t, r) in runs.iter().enumerate().skip(1) {
                assert!(
                    r.0 == runs[0].0,
                    "{} {isa}: forward differs between 1 and {} threads",
                    act.name(),
                    t + 1
                );
                assert!(
                    r.1 == runs[0].1,
                    "{} {isa}: forward_inplace differs between 1 and {} threads",
                    act.name(),
                    t + 1
                );
                assert!(
                    r.2 == runs[0].2,
                    "{} {isa}: backward differs between 1 and {} threads",
                    act.name(),
                    t + 1
                );
                assert!(
                    r.3 == runs[0].3,
                    "{} {isa}: backward_inplace differs between 1 and {} threads",
                    act.name(),
                    t + 1
                );
            }
            let (fwd, inplace) = (&runs[0].0, &runs[0].1);
            if let Some(i) = (0..n).find(|&i| !same_value(f32::from_bits(fwd[i]), f32::from_bits(inplace[i])))
            {
                panic!(
                    "{} {isa}: forward_inplace differs from forward, e.g. x[{i}]={}: forward {}, in place {}",
                    act.name(),
                    show(x[i]),
                    show(f32::from_bits(runs[0].0[i])),
                    show(f32::from_bits(runs[0].1[i]))
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Exhaustive: all 2^32 inputs. Ignored by default (hours on 2 cores); run it with
//     cargo test --release --test activations -- --ignored exhaustive --nocapture
// It visits the line in 256 blocks of 2^24 inputs (references computed with rayon, kernels
// split by the library's own rayon path) and checks every implemented kernel (forward and
// backward with dy = 1) and every math-core function on every available ISA. Set
// `NNSIMD_EXHAUSTIVE_FROM=<block>` (0..256) to resume from a block printed by an earlier run,
// and `NNSIMD_EXHAUSTIVE_TO=<block>` (exclusive) to split the line between machines.

#[cfg(feature = "rayon")]
#[test]
#[ignore]
fn exhaustive() {
    use rayon::prelude::*;
    const BLOCK: u64 = 1 << 24;
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|s| s.parse().ok()).unwrap_or(d);
    let (from, to) = (env("NNSIMD_EXHAUSTIVE_FROM", 0), env("NNSIMD_EXHAUSTIVE_TO", 256).min(256));
    let acts = implemented();
    let isas = isas();
    // (label, stats) per kernel × pass × ISA, in a fixed order.
    let mut stats: Vec<(String, Stats)> = Vec::new();
    fn slot(stats: &mut Vec<(String, Stats)>, ix: &mut usize, label: String) -> usize {
        if *ix == stats.len() {
            stats.push((label, Stats::default()));
        }
        *ix += 1;
        *ix - 1
    }
    let ones = vec![1.0f32; BLOCK as usize];
    let mut out = vec![0.0f32; BLOCK as usize];
    for block in from..to {
        let mut ix = 0;
        let xs: Vec<f32> = (block * BLOCK..(block + 1) * BLOCK).map(|b| f32::from_bits(b as u32)).collect();
        let mut want = vec![0.0f64; xs.len()];
        for act in &acts {
            for pass in ["forward", "backward"] {
                want.par_iter_mut().zip(&xs).for_each(|(w, &x)| {
                    *w = if pass == "forward" { oracle_forward(act, x) } else { oracle_derivative(act, x) }
                });
                for &isa in &isas {
                    let k = slot(&mut stats, &mut ix, format!("{} {pass} {isa}", act.name()));
                    if pass == "forward" {
                        act.forward_with(isa, &xs, &mut out).unwrap();
                    } else {
                        act.backward_with(isa, &xs, &ones, &mut out).unwrap();
                    }
                    let bound = forward_bound(act);
                    for i in 0..xs.len() {
                        let ok = if pass == "forward" {
                            ulp_distance(out[i], want[i]) <= bound
                        } else {
                            reference::backward_ok(act, xs[i], out[i], want[i])
                        };
                        stats[k].1.record(xs[i], out[i], want[i], ok);
                    }
                }
            }
        }
        for name in nnsimd::internals::probe::NAMES {
            let bound = common::math_bound(name);
            assert!(reference::math(name, 1.0).is_some(), "no reference for math `{name}`");
            want.par_iter_mut().zip(&xs).for_each(|(w, &x)| *w = reference::math(name, x as f64).unwrap());
            for &isa in &isas {
                let k = slot(&mut stats, &mut ix, format!("math {name} {isa}"));
                nnsimd::internals::probe::eval(name, isa, &xs, &mut out).unwrap();
                for i in 0..xs.len() {
                    stats[k].1.record(xs[i], out[i], want[i], ulp_distance(out[i], want[i]) <= bound);
                }
            }
        }
        let bad: usize = stats.iter().map(|s| s.1.fails).sum();
        eprintln!("exhaustive: block {block} of 256 done, failures so far {bad}");
    }
    let mut fails = Vec::new();
    for (label, st) in &stats {
        st.report(label, &mut fails);
    }
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Backward in place: dy overwritten by dx gives what backward gives (NaNs may differ in sign
// or payload), on every ISA, every tail length, misaligned, and past the rayon split.

#[test]
fn backward_inplace_matches_backward() {
    let mut rng = Rng(0xbac4);
    for act in implemented() {
        for isa in isas() {
            for (off, n) in [(0usize, 0usize), (1, 1), (3, 17), (5, 63), (7, 300), (1, 40_000)] {
                let x: Vec<f32> = (0..off + n).map(|_| rng.value()).collect();
                let dy: Vec<f32> = (0..off + n).map(|_| rng.normal(1.0)).collect();
                let (x, dy) = (&x[off..], &dy[off..]);
                let mut dx = vec![0.0f32; n];
                act.backward_with(isa, x, dy, &mut dx).unwrap();
                let mut buf = dy.to_vec();
                act.backward_inplace_with(isa, x, &mut buf).unwrap();
                for i in 0..n {
                    assert!(
                        same_value(buf[i], dx[i]),
                        "{} {isa} n={n}: backward_inplace at x={} gave {}, backward {}",
                        act.name(),
                        x[i],
                        buf[i],
                        dx[i]
                    );
                }
            }
            // A length mismatch is an error and leaves dy as it was.
            let mut dy = vec![1.5f32; 9];
            assert!(act.backward_inplace_with(isa, &[0.0; 8], &mut dy).is_err());
            assert!(dy.iter().all(|&v| v == 1.5));
        }
    }
}

/// Findings of adversarial testing, each wrong on every ISA before the fix:
/// - softplus with a threshold below −200: βx was compared after its clamp to ±200/β, so
///   Softplus { β: 1, threshold: −1000 } gave x itself at x = −5000 (PyTorch: ≈ 0);
/// - Swish and softplus with β below 2^-32 (now refused): 200/β overflowed, and x·e^(βx) at
///   huge |x| stopped short of 0 (Swish { β: 1e-30 }(−f32::MAX) gave −1.4e-33);
/// - CELU with α (and PELU with b) above 2^64 (now refused): the derivative's cut-off −170·α
///   overflowed, and CELU { α: f32::MAX }'s backward at −inf gave NaN.
#[test]
fn parameter_edges_found_by_fuzzing() {
    let cases = [
        (Activation::Softplus { beta: 1.0, threshold: -1000.0 }, -5000.0f32),
        (Activation::Softplus { beta: 1.0, threshold: -1000.0 }, -1000.5),
        (Activation::Softplus { beta: 0.5, threshold: -1000.0 }, -2500.0),
        (Activation::Softplus { beta: 2.0, threshold: -f32::MAX }, -f32::MAX),
        (Activation::Softplus { beta: 1.0, threshold: -f32::MAX }, f32::NEG_INFINITY),
    ];
    for (act, x) in cases {
        for isa in isas() {
            let (got, want) = (run_forward(&act, isa, x), oracle_forward(&act, x));
            assert!(
                ulp_distance(got, want) <= forward_bound(&act),
                "{act:?} {isa} f({x}) = {got:e}, want {want:e}"
            );
            let (got, want) = (run_backward(&act, isa, x, 1.0), oracle_derivative(&act, x));
            assert!(
                reference::backward_ok(&act, x, got, want),
                "{act:?} {isa} f'({x}) = {got:e}, want {want:e}"
            );
        }
    }
    for bad in [
        Activation::Swish { beta: 1e-30 },
        Activation::Swish { beta: 2.3e-10 },
        Activation::Softplus { beta: 1e-30, threshold: 20.0 },
        Activation::Celu { alpha: f32::MAX },
        Activation::Celu { alpha: 1.9e19 },
        Activation::Pelu { a: 1e30, b: 1e20 },
    ] {
        assert!(!bad.is_implemented(), "{bad:?} is accepted");
    }
}

/// Swish and E-Swish with a tiny β at |x| near f32::MAX, where βx is moderate and x·σ(βx) is
/// finite but x times e^(βx)'s significand may overflow (found by fuzzing: Swish(β = 2.2e-38)
/// at −f32::MAX gave −inf on the total formula, −1.93e35 on AVX-512's table path): within the
/// forward bound of the f64 oracle on every ISA, for E-Swish and for the β that Swish accepts
/// (2^-32 and above).
#[test]
fn swish_tiny_beta_at_huge_x() {
    let xs = [-f32::MAX, f32::MAX, -3.0e38, -1.0e38, -2.0e38, 3.0e38];
    for beta in [2.196_195_7e-38f32, 1.0e-38, 5.0e-39, 2.328_306_4e-10] {
        let acts = [Activation::Swish { beta }, Activation::ESwish { beta }];
        for act in acts.into_iter().filter(Activation::is_implemented) {
            for isa in isas() {
                for &x in &xs {
                    let (got, want) = (run_forward(&act, isa, x), oracle_forward(&act, x));
                    let u = ulp_distance(got, want);
                    assert!(
                        u <= forward_bound(&act),
                        "{act:?} on {isa} at {x:e}: {got:e} against {want:e} ({u} ULP)"
                    );
                }
            }
        }
    }
}
