//! The ops and their gradients against candle's own: the same function within the two
//! implementations' combined error.
//!
//! Tolerances: nnsimd is within 4 ULP (gradients 8 ULP) of the exact value, so the bounds are
//! set by candle's f32 formulas. `gelu_erf` is (erf(x/√2) + 1)·0.5·x and `gelu` (tanh) is
//! 0.5·x·(1 + tanh(…)) in f32: where x < 0 the sum with 1 cancels, leaving an absolute error of
//! about ulp(1)·|x| = 2^-23·|x| (relative errors elsewhere of a few ULP). Their gradients,
//! SiLU's x·σ(x) and σ(x) as 1/(1 + e^-x), and tanh, are a few f32 roundings each: 2^-20
//! relative plus 2^-22·(1 + |x|) absolute covers them. Softmax and log-softmax in candle sum
//! e^(x − m) in plain f32 over a row of 64: 64·2^-24 relative on Σ, hence 2^-17 relative on
//! softmax and 2^-17 absolute on log-softmax (whose values are O(1) here).

mod common;

use candle_core::{DType, Result, Tensor, Var};
use common::{Rng, assert_close, tensor, values, var};
use nnsimd::Activation;
use nnsimd_candle::{activation, cross_entropy, log_softmax_last_dim, softmax_last_dim};

/// The output and the gradient of Σ w·f(x) for both implementations of one function.
fn both(
    x: &Var,
    w: &Tensor,
    ours: impl Fn(&Tensor) -> Result<Tensor>,
    theirs: impl Fn(&Tensor) -> Result<Tensor>,
) -> Result<[Vec<f32>; 4]> {
    let mut out = Vec::new();
    for f in [&ours as &dyn Fn(&Tensor) -> Result<Tensor>, &theirs] {
        let y = f(x.as_tensor())?;
        let grads = (&y * w)?.sum_all()?.backward()?;
        out.push(values(&y)?);
        out.push(values(grads.get(x).expect("a gradient"))?);
    }
    let [a, b, c, d]: [Vec<f32>; 4] = out.try_into().unwrap();
    Ok([a, c, b, d])
}

#[test]
fn activations_match_candle() -> Result<()> {
    let mut rng = Rng::new(1);
    type Theirs = fn(&Tensor) -> Result<Tensor>;
    let cases: [(Activation, Theirs); 6] = [
        (Activation::Gelu, |x| x.gelu_erf()),
        (Activation::GeluTanh, |x| x.gelu()),
        (Activation::Silu, |x| x.silu()),
        (Activation::Relu, |x| x.relu()),
        (Activation::Tanh, |x| x.tanh()),
        (Activation::Sigmoid, candle_nn::ops::sigmoid),
    ];
    for (act, theirs) in cases {
        // No element exactly 0 (candle's relu gradient at 0 is 1, PyTorch's and nnsimd's 0).
        let x = var(&mut rng, &[37, 129], -8.0, 8.0, DType::F32)?;
        let w = tensor(&mut rng, &[37, 129], -2.0, 2.0, DType::F32)?;
        let [y, y_c, dx, dx_c] = both(&x, &w, |x| activation(x, act), theirs)?;
        let xs = values(&x)?;
        let ws = values(&w)?;
        let name = act.name();
        assert_close(&format!("{name} forward"), &y, &y_c, 2e-6, |i| 2f32.powi(-22) * xs[i].abs());
        assert_close(&format!("{name} backward"), &dx, &dx_c, 2f32.powi(-20), |i| {
            2f32.powi(-22) * (1.0 + xs[i].abs()) * ws[i].abs()
        });
    }
    Ok(())
}

#[test]
fn softmax_and_log_softmax_match_candle() -> Result<()> {
    let mut rng = Rng::new(2);
    let x = var(&mut rng, &[3, 17, 64], -6.0, 6.0, DType::F32)?;
    let w = tensor(&mut rng, &[3, 17, 64], -1.0, 1.0, DType::F32)?;
    // candle's fused softmax_last_dim has no backward: its gradient is from the composed
    // softmax (max, exp, sum, divide).
    let [y, y_c, dx, dx_c] = both(&x, &w, softmax_last_dim, |x| candle_nn::ops::softmax(x, 2))?;
    assert_close("softmax", &y, &y_c, 2f32.powi(-17), |_| 0.0);
    let fused = values(&candle_nn::ops::softmax_last_dim(&x)?)?;
    assert_close("softmax_last_dim", &y, &fused, 2f32.powi(-17), |_| 0.0);
    assert_close("softmax backward", &dx, &dx_c, 2f32.powi(-17), |_| 2f32.powi(-22));
    let [y, y_c, dx, dx_c] = both(&x, &w, log_softmax_last_dim, |x| candle_nn::ops::log_softmax(x, 2))?;
    assert_close("log_softmax", &y, &y_c, 2f32.powi(-20), |_| 2f32.powi(-17));
    assert_close("log_softmax backward", &dx, &dx_c, 2f32.powi(-17), |_| 2f32.powi(-20));
    Ok(())
}

#[test]
fn cross_entropy_matches_candle() -> Result<()> {
    let mut rng = Rng::new(3);
    let (n, c) = (24, 50);
    let logits = var(&mut rng, &[n, c], -5.0, 5.0, DType::F32)?;
    let t: Vec<u32> = (0..n).map(|_| rng.below(c as u64) as u32).collect();
    let targets = Tensor::new(t.as_slice(), logits.device())?;
    let mut out = Vec::new();
    for ours in [true, false] {
        // Times 3, so the upstream gradient of the loss is not 1.
        let loss = if ours {
            cross_entropy(&logits, &targets)?
        } else {
            candle_nn::loss::cross_entropy(&logits, &targets)?
        };
        let grads = (loss.clone() * 3.0)?.backward()?;
        out.push((loss.to_scalar::<f32>()?, values(grads.get(&logits).unwrap())?));
    }
    let ((l, g), (l_c, g_c)) = (&out[0], &out[1]);
    // candle's loss is a mean of f32 log-softmax values, each within 2^-17 absolute.
    assert!((l - l_c).abs() <= 2f32.powi(-17) * l_c.abs().max(1.0), "{l} vs {l_c}");
    // The gradient is 3·(p − onehot)/N: candle's p from its f32 softmax (2^-17 relative).
    assert_close("cross_entropy backward", g, g_c, 2f32.powi(-17), |_| 2f32.powi(-22));
    Ok(())
}
