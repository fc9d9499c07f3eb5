//! The activations of ONNX and Hugging Face models: ONNX's attributed HardSigmoid, Selu and
//! ThresholdedRelu against their formulas in f64 on every ISA (the values of ONNX's node
//! conformance cases), the names of `from_name`/`FromStr` (PyTorch's and the `hidden_act`
//! strings of Hugging Face configs), and the serde form `{"name": ..., params...}`.

mod common;

use common::{isas, show};
use nnsimd::internals::reference::{forward_bound, ulp_distance};
use nnsimd::{Activation, Error};

/// f on every ISA within the activation's forward bound of `want` (f64, from the formula).
fn check_forward(act: Activation, xs: &[f32], want: impl Fn(f64) -> f64) {
    for isa in isas() {
        let mut y = vec![0.0f32; xs.len()];
        act.forward_with(isa, xs, &mut y).unwrap();
        for (&x, &y) in xs.iter().zip(&y) {
            let w = want(x as f64);
            assert!(
                ulp_distance(y, w) <= forward_bound(&act),
                "{act:?} on {isa}: f({}) = {}, want {w:e}",
                show(x),
                show(y)
            );
        }
    }
}

/// f' on every ISA (dy = 1) equal to `want` (these derivatives are α, γ·α·e^x or 0 and 1;
/// within 8 ULP for the exponential).
fn check_backward(act: Activation, xs: &[f32], want: impl Fn(f64) -> f64) {
    let ones = vec![1.0f32; xs.len()];
    for isa in isas() {
        let mut dx = vec![0.0f32; xs.len()];
        act.backward_with(isa, xs, &ones, &mut dx).unwrap();
        for (&x, &d) in xs.iter().zip(&dx) {
            let w = want(x as f64);
            assert!(ulp_distance(d, w) <= 8, "{act:?} on {isa}: f'({}) = {}, want {w:e}", show(x), show(d));
        }
    }
}

/// Inputs around the kinks and the usual range.
fn inputs() -> Vec<f32> {
    let mut xs: Vec<f32> = (-400..=400).map(|i| i as f32 / 40.0).collect();
    xs.extend([-3.0, -2.5, -1.2, 0.0, -0.0, 1.2, 2.5, 3.0, 1e-30, -1e-30, 1e30, -1e30]);
    xs
}

#[test]
fn onnx_hard_sigmoid() {
    // ONNX's defaults and the attributes of its conformance case (α = 0.5, β = 0.6).
    for (alpha, beta) in [(0.2f32, 0.5f32), (0.5, 0.6), (-0.25, 0.5), (3.0, -1.0)] {
        let act = Activation::HardSigmoidAffine { alpha, beta };
        let (a, b) = (alpha as f64, beta as f64);
        check_forward(act, &inputs(), |x| (a * x + b).clamp(0.0, 1.0));
        check_backward(act, &inputs(), |x| {
            let t = (a * x + b) as f32;
            if t > 0.0 && t < 1.0 { a } else { 0.0 }
        });
    }
    assert_eq!(
        Activation::from_name("hard_sigmoid_affine").unwrap(),
        Activation::HardSigmoidAffine { alpha: 0.2, beta: 0.5 }
    );
    // PyTorch's hard-sigmoid stays relu6(x + 3)/6.
    check_forward(Activation::HardSigmoid, &inputs(), |x| (x / 6.0 + 0.5).clamp(0.0, 1.0));
}

#[test]
fn onnx_selu() {
    // ONNX's defaults (f32) and its conformance case's α = 2, γ = 3.
    for (alpha, gamma) in [(1.673_263_2f32, 1.050_701f32), (2.0, 3.0), (0.5, 1e-3)] {
        let act = Activation::SeluScaled { alpha, gamma };
        let (a, g) = (alpha as f64, gamma as f64);
        check_forward(act, &inputs(), |x| g * if x > 0.0 { x } else { a * x.exp_m1() });
        check_backward(act, &inputs(), |x| g * if x > 0.0 { 1.0 } else { a * x.exp() });
    }
}

#[test]
fn onnx_thresholded_relu() {
    for alpha in [1.0f32, 2.0, 0.0, -1.5] {
        let act = Activation::ThresholdedRelu { alpha };
        let a = alpha as f64;
        check_forward(act, &inputs(), |x| if x > a { x } else { 0.0 });
        check_backward(act, &inputs(), |x| if x > a { 1.0 } else { 0.0 });
    }
    // The conformance case: α = 2 on [−1, 0.5, 1, 1.5, 2, 2.5] gives [0, 0, 0, 0, 0, 2.5].
    let x = [-1.0f32, 0.5, 1.0, 1.5, 2.0, 2.5];
    let mut y = [7.0f32; 6];
    Activation::ThresholdedRelu { alpha: 2.0 }.forward(&x, &mut y).unwrap();
    assert_eq!(y, [0.0, 0.0, 0.0, 0.0, 0.0, 2.5]);
}

#[test]
fn new_parameters_are_checked() {
    let bad = [
        (Activation::HardSigmoidAffine { alpha: 0.0, beta: 0.5 }, "alpha"),
        (Activation::HardSigmoidAffine { alpha: 1e20, beta: 0.5 }, "alpha"),
        (Activation::HardSigmoidAffine { alpha: 0.2, beta: -1e20 }, "beta"),
        (Activation::HardSigmoidAffine { alpha: f32::NAN, beta: 0.5 }, "alpha"),
        (Activation::SeluScaled { alpha: -1.0, gamma: 1.0 }, "alpha"),
        (Activation::SeluScaled { alpha: 1.0, gamma: 0.0 }, "gamma"),
        (Activation::SeluScaled { alpha: 1e10, gamma: 1e10 }, "alpha"),
        (Activation::ThresholdedRelu { alpha: f32::INFINITY }, "alpha"),
    ];
    for (act, name) in bad {
        let mut y = [5.0f32; 3];
        match act.forward(&[1.0, 2.0, 3.0], &mut y) {
            Err(Error::InvalidParameter { name: got, .. }) => assert_eq!(got, name, "{act:?}"),
            other => panic!("{act:?}: {other:?}"),
        }
        assert_eq!(y, [5.0; 3], "{act:?}: written on error");
    }
}

#[test]
fn names_of_pytorch_and_hugging_face() {
    let cases = [
        ("gelu", Activation::Gelu),
        ("gelu_new", Activation::GeluTanh),
        ("gelu_pytorch_tanh", Activation::GeluTanh),
        ("gelu_fast", Activation::GeluTanh),
        ("gelu_tanh", Activation::GeluTanh),
        ("quick_gelu", Activation::Swish { beta: 1.702 }),
        ("silu", Activation::Silu),
        ("swish", Activation::Swish { beta: 1.0 }),
        ("relu", Activation::Relu),
        ("relu6", Activation::Relu6),
        ("mish", Activation::Mish),
        ("tanh", Activation::Tanh),
        ("sigmoid", Activation::Sigmoid),
        ("leaky_relu", Activation::LeakyRelu { slope: 0.01 }),
        ("elu", Activation::Elu { alpha: 1.0 }),
        ("selu", Activation::Selu),
        ("celu", Activation::Celu { alpha: 1.0 }),
        ("softplus", Activation::Softplus { beta: 1.0, threshold: 20.0 }),
        ("hardswish", Activation::HardSwish),
        ("hard_swish", Activation::HardSwish),
        ("hardsigmoid", Activation::HardSigmoid),
        ("hardtanh", Activation::HardTanh { min: -1.0, max: 1.0 }),
        ("logsigmoid", Activation::LogSigmoid),
    ];
    for (name, want) in cases {
        assert_eq!(Activation::from_name(name).unwrap(), want, "{name}");
        assert_eq!(name.parse::<Activation>().unwrap(), want, "{name}");
    }
    // Every activation's own name reads back as itself with its defaults.
    for act in Activation::all() {
        assert_eq!(act.name().parse::<Activation>().unwrap(), act);
    }
    assert!(matches!("gelu_erf".parse::<Activation>(), Err(Error::UnknownName { kind: "activation", .. })));
    assert!("".parse::<Activation>().is_err());
    // Hugging Face's `gelu` is the erf form; its tanh forms differ from it in the last digits.
    let (mut erf, mut tanh) = ([0.0f32], [0.0f32]);
    Activation::from_name("gelu").unwrap().forward(&[1.5f32], &mut erf).unwrap();
    Activation::from_name("gelu_new").unwrap().forward(&[1.5f32], &mut tanh).unwrap();
    assert_ne!(erf, tanh);
    // quick_gelu = x·σ(1.702x).
    let b = 1.702f32 as f64;
    check_forward(Activation::from_name("quick_gelu").unwrap(), &inputs(), |x| x / (1.0 + (-b * x).exp()));
}

#[cfg(feature = "serde")]
mod serde_form {
    use nnsimd::Activation;
    use serde_json::json;

    #[test]
    fn every_activation_round_trips() {
        for act in Activation::all() {
            let v = serde_json::to_value(act).unwrap();
            assert_eq!(v["name"], act.name());
            let back: Activation = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(back, act, "{v}");
        }
        let act = Activation::HardSigmoidAffine { alpha: 0.25, beta: -0.5 };
        assert_eq!(
            serde_json::to_value(act).unwrap(),
            json!({"name": "hard_sigmoid_affine", "alpha": 0.25, "beta": -0.5})
        );
    }

    #[test]
    fn objects_strings_and_defaults() {
        let a: Activation = serde_json::from_str(r#"{"name": "leaky_relu", "slope": 0.2}"#).unwrap();
        assert_eq!(a, Activation::LeakyRelu { slope: 0.2 });
        let a: Activation = serde_json::from_str(r#""gelu_new""#).unwrap();
        assert_eq!(a, Activation::GeluTanh);
        let a: Activation = serde_json::from_str(r#"{"threshold": 10, "name": "softplus"}"#).unwrap();
        assert_eq!(a, Activation::Softplus { beta: 1.0, threshold: 10.0 });
        let a: Vec<Activation> = serde_json::from_str(r#"["relu", {"name": "elu"}]"#).unwrap();
        assert_eq!(a, [Activation::Relu, Activation::Elu { alpha: 1.0 }]);
    }

    #[test]
    fn bad_forms_are_errors() {
        for (text, says) in [
            (r#"{"name": "relu", "slope": 0.2}"#, "no parameter `slope`"),
            (r#"{"name": "elu", "alpha": -1}"#, "alpha"),
            (r#"{"name": "hard_sigmoid_affine", "alpha": 0}"#, "nonzero"),
            (r#"{"slope": 0.2}"#, "name"),
            (r#"{"name": "nope"}"#, "nope"),
            (r#""nope""#, "nope"),
            (r#"{"name": "elu", "alpha": 1, "alpha": 2}"#, "duplicate"),
            (r#"{"name": "elu", "alpha": "x"}"#, "invalid type"),
            (r#"[1, 2]"#, "activation"),
            (r#"3"#, "activation"),
        ] {
            let e = serde_json::from_str::<Activation>(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
