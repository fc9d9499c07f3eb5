//! Inputs that were accepted and then poisoned the state (issue 28): each is now refused where
//! it enters, before anything is written.
//!
//! - optimizer hyperparameters finite in f64 but not in f32, and lr·weight_decay beyond f32;
//! - checkpoint values: NaN or ±inf in any buffer, negative second moments, `steps` ≥ 2^53;
//! - JSON configurations that are arrays (`"hyperparameters": []`, positional fields, a
//!   top-level array) rather than objects;
//! - `NNSIMD_ISA` that is not UTF-8, reported as an unknown name is;
//! - PReLU backward on an empty input, which allocated working memory for the slope period.
//!
//! The expectations are the contracts' own: which fields exist, which state keys are second
//! moments, what a sum over no element is.

use nnsimd::optim::{
    Adadelta, AdadeltaConfig, Adafactor, AdafactorConfig, Adagrad, AdagradConfig, Adam, AdamConfig,
    AdamWConfig, Adamax, AdamaxConfig, Checkpoint, Lion, LionConfig, NAdam, NAdamConfig, Optimizer, RmsProp,
    RmsPropConfig, Sgd, SgdConfig,
};
use nnsimd::{Error, Isa, Prelu};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

// ---------------------------------------------------------------------------------------------
// Allocation counting, per thread (the tests of this file run in parallel).

struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    let _ = ALLOCATED.try_with(|a| a.set(a.get().saturating_add(bytes)));
}

// SAFETY: every call is forwarded to `System` unchanged; the counter only adds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The bytes that `f` allocates on this thread.
fn allocated_by(f: impl FnOnce()) -> usize {
    let before = ALLOCATED.with(Cell::get);
    f();
    ALLOCATED.with(Cell::get) - before
}

// ---------------------------------------------------------------------------------------------
// Hyperparameters beyond f32.

type Build = Box<dyn Fn() -> Result<Box<dyn Optimizer>, Error>>;

fn boxed<T: Optimizer + 'static>(r: Result<T, Error>) -> Result<Box<dyn Optimizer>, Error> {
    r.map(|o| Box::new(o) as Box<dyn Optimizer>)
}

/// Pushes onto `$v`, for each listed field of `$cfg`, (optimizer, field, value, the constructor
/// with that field set to `$value` and the others at their defaults).
macro_rules! with_field {
    ($v:ident, $opt:literal, $new:expr, $cfg:ident { $($field:ident),* }, $value:expr) => {$(
        let x: f64 = $value;
        $v.push(($opt, stringify!($field), x, Box::new(move || boxed($new($cfg { $field: x, ..Default::default() }))) as Build));
    )*};
}

fn adafactor(c: AdafactorConfig) -> Result<Adafactor, Error> {
    Adafactor::new(c, &[4, 6])
}

/// Every real hyperparameter of every optimizer whose range has no upper bound (all but the
/// β and weights in [0, 1]), set to `value`.
fn unbounded_fields(value: f64) -> Vec<(&'static str, &'static str, f64, Build)> {
    let mut v = Vec::new();
    let n = 10;
    with_field!(v, "sgd", |c| Sgd::new(c, n), SgdConfig { lr, momentum, weight_decay }, value);
    with_field!(
        v,
        "adagrad",
        |c| Adagrad::new(c, n),
        AdagradConfig { lr, lr_decay, weight_decay, initial_accumulator_value, eps },
        value
    );
    with_field!(v, "adadelta", |c| Adadelta::new(c, n), AdadeltaConfig { lr, eps, weight_decay }, value);
    with_field!(
        v,
        "rmsprop",
        |c| RmsProp::new(c, n),
        RmsPropConfig { lr, eps, weight_decay, momentum },
        value
    );
    with_field!(v, "adam", |c| Adam::new(c, n), AdamConfig { lr, eps, weight_decay }, value);
    with_field!(v, "adamw", |c| Adam::adamw(c, n), AdamWConfig { lr, eps, weight_decay }, value);
    with_field!(v, "adamax", |c| Adamax::new(c, n), AdamaxConfig { lr, eps, weight_decay }, value);
    with_field!(
        v,
        "nadam",
        |c| NAdam::new(c, n),
        NAdamConfig { lr, eps, weight_decay, momentum_decay },
        value
    );
    with_field!(v, "lion", |c| Lion::new(c, n), LionConfig { lr, weight_decay }, value);
    with_field!(v, "adafactor", adafactor, AdafactorConfig { lr, eps1, eps2, weight_decay }, value);
    v
}

/// A constructor from (lr, weight_decay).
type WithDecay = Box<dyn Fn(f64, f64) -> Result<Box<dyn Optimizer>, Error>>;

fn with_decay<T: Optimizer + 'static>(f: impl Fn(f64, f64) -> Result<T, Error> + 'static) -> WithDecay {
    Box::new(move |lr, wd| boxed(f(lr, wd)))
}

/// Every optimizer from (lr, weight_decay), each applying its weight decay its own way (L2 or
/// decoupled).
fn lr_and_decay() -> Vec<(&'static str, WithDecay)> {
    let n = 10;
    vec![
        (
            "sgd",
            with_decay(move |lr, weight_decay| {
                Sgd::new(SgdConfig { lr, weight_decay, ..Default::default() }, n)
            }),
        ),
        (
            "adagrad",
            with_decay(move |lr, weight_decay| {
                Adagrad::new(AdagradConfig { lr, weight_decay, ..Default::default() }, n)
            }),
        ),
        (
            "adadelta",
            with_decay(move |lr, weight_decay| {
                Adadelta::new(AdadeltaConfig { lr, weight_decay, ..Default::default() }, n)
            }),
        ),
        (
            "rmsprop",
            with_decay(move |lr, weight_decay| {
                RmsProp::new(RmsPropConfig { lr, weight_decay, ..Default::default() }, n)
            }),
        ),
        (
            "adam",
            with_decay(move |lr, weight_decay| {
                Adam::new(AdamConfig { lr, weight_decay, ..Default::default() }, n)
            }),
        ),
        (
            "adamw",
            with_decay(move |lr, weight_decay| {
                Adam::adamw(AdamWConfig { lr, weight_decay, ..Default::default() }, n)
            }),
        ),
        (
            "adamax",
            with_decay(move |lr, weight_decay| {
                Adamax::new(AdamaxConfig { lr, weight_decay, ..Default::default() }, n)
            }),
        ),
        (
            "nadam",
            with_decay(move |lr, weight_decay| {
                let c = NAdamConfig { lr, weight_decay, decoupled_weight_decay: true, ..Default::default() };
                NAdam::new(c, n)
            }),
        ),
        (
            "lion",
            with_decay(move |lr, weight_decay| {
                Lion::new(LionConfig { lr, weight_decay, ..Default::default() }, n)
            }),
        ),
        (
            "adafactor",
            with_decay(|lr, weight_decay| {
                adafactor(AdafactorConfig { lr, weight_decay, ..Default::default() })
            }),
        ),
    ]
}

fn assert_refused(what: &str, got: Result<Box<dyn Optimizer>, Error>, field: &str, value: f64) {
    match got {
        Err(Error::InvalidParameter { name, value: v, expected }) => {
            assert_eq!(name, field, "{what}");
            assert_eq!(v.to_bits(), value.to_bits(), "{what}");
            assert!(expected.contains("f32"), "{what}: {expected:?} does not say why");
        }
        Err(e) => panic!("{what}: {e:?}, want InvalidParameter for `{field}`"),
        Ok(_) => panic!("{what}: accepted"),
    }
}

/// A hyperparameter finite in f64 but not once rounded to f32 (3.5e38 and up: f32::MAX is
/// 3.4028235e38) reached the kernels as inf; it is refused, naming the field. f32::MAX itself
/// is finite in f32 and accepted.
#[test]
fn hyperparameters_beyond_f32_are_refused() {
    // The issue's cases first.
    let sgd = |c: SgdConfig| boxed(Sgd::new(c, 8));
    assert_refused("sgd lr", sgd(SgdConfig { lr: 1e39, ..Default::default() }), "lr", 1e39);
    assert_refused(
        "sgd weight_decay",
        sgd(SgdConfig { weight_decay: 1e39, ..Default::default() }),
        "weight_decay",
        1e39,
    );
    let adam = boxed(Adam::new(AdamConfig { weight_decay: 1e39, ..Default::default() }, 8));
    assert_refused("adam weight_decay", adam, "weight_decay", 1e39);
    let af = boxed(Adafactor::new(AdafactorConfig { eps2: 1e39, ..Default::default() }, &[3, 5]));
    assert_refused("adafactor eps2", af, "eps2", 1e39);

    for value in [1e39, 3.5e38, 1e300, f64::MAX] {
        for (opt, field, v, build) in unbounded_fields(value) {
            assert_refused(&format!("{opt} {field}={v:e}"), build(), field, v);
        }
    }
    for (opt, field, v, build) in unbounded_fields(f32::MAX as f64) {
        // lr = f32::MAX with the default weight decay: lr·λ is 0 or, for AdamW's 0.01,
        // 3.4e36; both finite.
        assert!(build().is_ok(), "{opt} {field}={v:e} (f32::MAX) refused: {:?}", build().err());
    }
    // Adafactor's exponent and clipping threshold, used in f64, follow the same rule.
    let af = boxed(adafactor(AdafactorConfig { d: 1e39, ..Default::default() }));
    assert_refused("adafactor d", af, "d", 1e39);
    let af = boxed(adafactor(AdafactorConfig { beta2_decay: -1e39, ..Default::default() }));
    assert_refused("adafactor beta2_decay", af, "beta2_decay", -1e39);
}

/// lr·weight_decay, the factor 1 − lr·λ the parameters shrink by per step, must be finite in
/// f32 too: lr = λ = 1e20 each is, alone, but their product 1e40 is not. Through `Config` as
/// well, which builds through the same checks.
#[test]
fn lr_times_weight_decay_beyond_f32_is_refused() {
    for (opt, build) in lr_and_decay() {
        assert_refused(&format!("{opt} lr·λ = 1e40"), build(1e20, 1e20), "weight_decay", 1e20);
        assert_refused(&format!("{opt} lr·λ = 4e38"), build(2.0, 2e38), "weight_decay", 2e38);
        assert!(build(1e19, 1e19).is_ok(), "{opt}: lr·λ = 1e38 refused");
        assert!(build(1.0, f32::MAX as f64).is_ok(), "{opt}: lr·λ = f32::MAX refused");
    }
    use nnsimd::optim::Config;
    let c = Config::AdamW(AdamWConfig { lr: 1e20, weight_decay: 1e20, ..Default::default() });
    assert_refused("Config adamw", c.build(&[4]), "weight_decay", 1e20);
    let c = Config::Sgd(SgdConfig { lr: 1e39, ..Default::default() });
    assert_refused("Config sgd", c.build(&[4]), "lr", 1e39);
}

// ---------------------------------------------------------------------------------------------
// Checkpoint import.

/// PyTorch's state keys of second moments (means, sums or maxima of squares or magnitudes):
/// never negative after any step, and the update takes their square root.
const SECOND_MOMENTS: &[&str] = &[
    "exp_avg_sq",
    "max_exp_avg_sq",
    "square_avg",
    "acc_delta",
    "sum",
    "exp_inf",
    "row_var",
    "col_var",
    "variance",
];

/// The signed ones: first moments and momentum buffers.
const SIGNED: &[&str] = &["exp_avg", "grad_avg", "momentum_buffer"];

/// Every optimizer in configurations that, together, have every state buffer.
fn full_state(n: usize) -> Vec<(&'static str, Box<dyn Optimizer>)> {
    fn b<T: Optimizer + 'static>(r: Result<T, Error>) -> Box<dyn Optimizer> {
        Box::new(r.unwrap())
    }
    vec![
        ("sgd momentum", b(Sgd::new(SgdConfig { momentum: 0.9, ..Default::default() }, n))),
        ("adagrad", b(Adagrad::new(AdagradConfig::default(), n))),
        ("adadelta", b(Adadelta::new(AdadeltaConfig::default(), n))),
        (
            "rmsprop centered momentum",
            b(RmsProp::new(RmsPropConfig { centered: true, momentum: 0.9, ..Default::default() }, n)),
        ),
        ("adam amsgrad", b(Adam::new(AdamConfig { amsgrad: true, ..Default::default() }, n))),
        ("adamw", b(Adam::adamw(AdamWConfig::default(), n))),
        ("adamax", b(Adamax::new(AdamaxConfig::default(), n))),
        ("nadam", b(NAdam::new(NAdamConfig::default(), n))),
        ("lion", b(Lion::new(LionConfig::default(), n))),
        ("adafactor matrix", b(Adafactor::new(AdafactorConfig::default(), &[2, n / 2]))),
        ("adafactor vector", b(Adafactor::new(AdafactorConfig::default(), &[n]))),
    ]
}

/// An owned copy of a checkpoint.
#[derive(Clone, Debug, PartialEq)]
struct Saved {
    steps: u64,
    scalars: Vec<(String, f64)>,
    buffers: Vec<(String, Vec<f32>)>,
}

impl Saved {
    fn of(o: &dyn Optimizer) -> Saved {
        let c = o.export();
        Saved {
            steps: c.steps,
            scalars: c.scalars.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            buffers: c.buffers.iter().map(|(k, b)| (k.to_string(), b.to_vec())).collect(),
        }
    }

    fn checkpoint(&self) -> Checkpoint<'_> {
        Checkpoint {
            steps: self.steps,
            scalars: self.scalars.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
            buffers: self.buffers.iter().map(|(k, b)| (k.as_str(), &b[..])).collect(),
        }
    }

    /// Bits, so that NaN compares equal to itself.
    fn bits(&self) -> (u64, Vec<u64>, Vec<Vec<u32>>) {
        (
            self.steps,
            self.scalars.iter().map(|s| s.1.to_bits()).collect(),
            self.buffers.iter().map(|b| b.1.iter().map(|v| v.to_bits()).collect()).collect(),
        )
    }
}

fn stepped(o: &mut dyn Optimizer, n: usize) {
    for t in 0..2 {
        let mut p: Vec<f32> = (0..n).map(|i| (i as f32 - 4.5) * 0.3).collect();
        let g: Vec<f32> = (0..n).map(|i| ((i * 7 + t) % 5) as f32 * 0.2 - 0.35).collect();
        o.step_with(Isa::Scalar, &mut p, &g).unwrap();
    }
}

/// NaN or ±inf in any buffer, a negative value in a second moment, and `steps` at 2^53 or more
/// are refused on import, naming the buffer and the first value at fault, and the state stays
/// what it was (the next export is bitwise the same). A negative value in a signed buffer is
/// a valid state and imports.
#[test]
fn checkpoint_values_that_would_poison_the_state_are_refused() {
    let n = 10;
    let mut seen = Vec::new();
    for (label, mut o) in full_state(n) {
        stepped(&mut *o, n);
        let good = Saved::of(&*o);
        assert!(!good.buffers.is_empty(), "{label}");
        let check_refused =
            |o: &mut dyn Optimizer, bad: &Saved, what: &str, want: &dyn Fn(&Error) -> bool| {
                match o.import(&bad.checkpoint()) {
                    Err(e) => assert!(want(&e), "{label}: {what}: {e:?}"),
                    Ok(()) => panic!("{label}: {what} imported"),
                }
                assert_eq!(Saved::of(o).bits(), good.bits(), "{label}: {what} changed the state");
            };
        for (b, (name, values)) in good.buffers.iter().enumerate() {
            let second = SECOND_MOMENTS.contains(&name.as_str());
            assert!(second || SIGNED.contains(&name.as_str()), "{label}: state key `{name}` unclassified");
            seen.push(name.clone());
            let at = values.len() - 1;
            let mut bads = vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
            if second {
                bads.extend([-1.0, -f32::MIN_POSITIVE, -1e-45]);
            }
            for bad in bads {
                let mut s = good.clone();
                s.buffers[b].1[at] = bad;
                s.steps += 1;
                let what = format!("`{name}`[{at}] = {bad}");
                let want = |e: &Error| {
                    matches!(e, Error::InvalidInput { arg, position, value, .. }
                    if arg == name && *position == at && value.to_bits() == bad.to_bits())
                };
                check_refused(&mut *o, &s, &what, &want);
            }
            // Negative zero is ≥ 0, and negative values are valid in a signed buffer.
            let mut s = good.clone();
            s.buffers[b].1[0] = -0.0;
            if !second {
                s.buffers[b].1[at] = -3.5;
            }
            let mut twin = full_state(n).into_iter().find(|(l, _)| *l == label).unwrap().1;
            assert_eq!(twin.import(&s.checkpoint()), Ok(()), "{label}: `{name}` with valid values");
            assert_eq!(Saved::of(&*twin), s, "{label}");
        }
        // Steps: t = steps + 1 is exact in f64 up to 2^53.
        for steps in [(1u64 << 53) + 1, 1 << 60, u64::MAX] {
            let mut s = good.clone();
            s.steps = steps;
            let want = |e: &Error| matches!(e, Error::InvalidParameter { name: "steps", .. });
            check_refused(&mut *o, &s, &format!("steps = {steps}"), &want);
        }
        let mut s = good.clone();
        s.steps = (1 << 53) - 1;
        assert_eq!(o.import(&s.checkpoint()), Ok(()), "{label}: steps 2^53 - 1");
        assert_eq!(o.steps(), (1 << 53) - 1);
    }
    for key in SECOND_MOMENTS.iter().chain(SIGNED) {
        assert!(seen.iter().any(|s| s == key), "no optimizer here has `{key}`");
    }
}

// ---------------------------------------------------------------------------------------------
// JSON.

/// A configuration is an object whose `"hyperparameters"` is an object: serde's positional
/// forms (arrays) are refused, whichever key comes first.
#[cfg(feature = "serde")]
#[test]
fn json_configurations_must_be_objects() {
    use nnsimd::optim::Config;
    let parse = |s: &str| serde_json::from_str::<Config>(s);
    for bad in [
        r#"{"optimizer": "adam", "hyperparameters": []}"#,
        r#"{"hyperparameters": [], "optimizer": "adam"}"#,
        r#"{"optimizer": "sgd", "hyperparameters": [0.5, 0.9, 0.0, 0.0, false, false]}"#,
        r#"{"hyperparameters": [0.5], "optimizer": "sgd"}"#,
        r#"{"optimizer": "adafactor", "hyperparameters": [0.01]}"#,
        r#"["adam", {}]"#,
        r#"["adam", {"lr": 0.1}]"#,
        r#"["sgd", [0.5]]"#,
        r#"[]"#,
        r#"{"optimizer": "adam", "hyperparameters": null}"#,
        r#"{"optimizer": "adam", "hyperparameters": 0.1}"#,
        r#""adam""#,
    ] {
        match parse(bad) {
            Err(_) => {}
            Ok(c) => panic!("{bad} accepted as {c:?}"),
        }
    }
    // Objects, in either key order, still read.
    let lr = |lr| Config::Sgd(SgdConfig { lr, ..Default::default() });
    assert_eq!(parse(r#"{"optimizer": "sgd", "hyperparameters": {"lr": 0.5}}"#).unwrap(), lr(0.5));
    assert_eq!(
        parse(r#"{"hyperparameters": {"lr": 0.25}, "optimizer": "sgd", "shape": [3]}"#).unwrap(),
        lr(0.25)
    );
    for c in Config::defaults() {
        assert_eq!(parse(&serde_json::to_string(&c).unwrap()).unwrap(), c);
    }
}

// ---------------------------------------------------------------------------------------------
// NNSIMD_ISA.

/// Set in the child process of `nnsimd_isa_not_utf8_is_reported`.
const CHILD: &str = "NNSIMD_RELIABILITY_CHILD";

/// In the child process: detects the ISA (which reads NNSIMD_ISA) and prints it. Elsewhere,
/// nothing.
#[test]
fn nnsimd_isa_child() {
    if std::env::var_os(CHILD).is_some() {
        println!("detected={}", Isa::detect());
    }
}

/// A value of NNSIMD_ISA that is not UTF-8 names no ISA: detection falls back to the best
/// tier and says so on stderr, as for an unknown name, instead of ignoring it silently.
#[cfg(unix)]
#[test]
fn nnsimd_isa_not_utf8_is_reported() {
    use std::os::unix::ffi::OsStrExt;
    let run = |value: &std::ffi::OsStr| {
        let exe = std::env::current_exe().unwrap();
        // Under qemu-user (NNSIMD_QEMU, see tests/common) this binary is no host executable:
        // the child runs through the same emulator and sysroot as CI's runner.
        let mut cmd = if cfg!(target_arch = "aarch64") && std::env::var_os("NNSIMD_QEMU").is_some() {
            let mut c = std::process::Command::new("qemu-aarch64");
            c.args(["-L", "/usr/aarch64-linux-gnu"]).arg(exe);
            c
        } else {
            std::process::Command::new(exe)
        };
        let out = cmd
            .args(["--exact", "nnsimd_isa_child", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env("NNSIMD_ISA", value)
            .output()
            .unwrap();
        assert!(out.status.success(), "child failed: {out:?}");
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let best = format!("detected={}", Isa::best());
    for value in [&b"avx2\xff"[..], b"\xc3\x28", b"\x80"] {
        let (stdout, stderr) = run(std::ffi::OsStr::from_bytes(value));
        assert!(stdout.contains(&best), "NNSIMD_ISA={value:?}: {stdout}");
        let report: Vec<&str> = stderr.lines().filter(|l| l.starts_with("nnsimd: NNSIMD_ISA=")).collect();
        assert_eq!(report.len(), 1, "NNSIMD_ISA={value:?}: stderr {stderr:?}");
        assert!(report[0].contains("is not an ISA name"), "{}", report[0]);
        assert!(report[0].ends_with(&format!("using {}", Isa::best())), "{}", report[0]);
    }
    // The same line as for a UTF-8 name that is no ISA.
    let (stdout, stderr) = run(std::ffi::OsStr::new("avx3"));
    assert!(stdout.contains(&best), "{stdout}");
    assert!(stderr.contains("nnsimd: NNSIMD_ISA=\"avx3\" is not an ISA name"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// PReLU backward on an empty input.

/// An empty x holds whole periods (none) for any layout, and its slope gradient is a sum over
/// no element: 0 for every slope, computed without working memory. 262,144 slopes with runs of
/// 63 (short runs) or 64 (long runs) sized a 200 MB or 130 MB scratch for it.
#[test]
fn prelu_backward_on_empty_input_allocates_nothing() {
    let slopes = vec![0.25f32; 262_144];
    let isa = Isa::Scalar;
    for inner in [63, 64, 1] {
        let p = Prelu::new(&slopes, inner).unwrap();
        let mut ds = vec![7.0f32; slopes.len()];
        let bytes = allocated_by(|| p.backward_with(isa, &[], &[], &mut [], &mut ds).unwrap());
        assert!(bytes <= 4096, "inner {inner}: backward on an empty input allocated {bytes} bytes");
        assert!(ds.iter().all(|d| d.to_bits() == 0), "inner {inner}: slope gradient not +0");
        let mut ds = vec![7.0f32; slopes.len()];
        let bytes = allocated_by(|| p.backward_inplace_with(isa, &[], &mut [], &mut ds).unwrap());
        assert!(bytes <= 4096, "inner {inner}: backward_inplace on an empty input allocated {bytes} bytes");
        assert!(ds.iter().all(|d| d.to_bits() == 0), "inner {inner}: in place, slope gradient not +0");
    }
    // One slope: the same.
    let one = Prelu::new(&slopes[..1], 1).unwrap();
    let mut ds = [7.0f32];
    let bytes = allocated_by(|| one.backward_with(isa, &[], &[], &mut [], &mut ds).unwrap());
    assert!(bytes <= 4096 && ds[0].to_bits() == 0, "one slope: {bytes} bytes, {ds:?}");
    // A nonempty input still sums: one period of the short-run layout.
    let (c, inner) = (3, 5);
    let p = Prelu::new(&slopes[..c], inner).unwrap();
    let x: Vec<f32> = (0..c * inner).map(|i| i as f32 - 7.0).collect();
    let dy = vec![2.0f32; x.len()];
    let (mut dx, mut ds) = (vec![0.0; x.len()], vec![0.0; c]);
    p.backward_with(isa, &x, &dy, &mut dx, &mut ds).unwrap();
    // Channel k holds x = 5k − 7 .. 5k − 3; Σ 2·x over its x ≤ 0: 2·(−25), 2·(−3), nothing.
    assert_eq!(ds, [-50.0f32, -6.0, 0.0]);
}
