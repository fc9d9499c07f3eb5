//! What the ops refuse, as candle errors that name the op; and views at an offset, which they
//! take.

mod common;

use candle_core::{DType, Device, Result, Tensor, Var};
use common::{Rng, bits, tensor};
use nnsimd::Activation;
use nnsimd_candle::{NnsimdOptimizer, activation, cross_entropy, log_softmax_last_dim, softmax_last_dim};

/// The error's message, which must contain each of `words`.
fn expect_err(r: Result<Tensor>, words: &[&str]) {
    let e = r.expect_err("an error").to_string();
    for w in words {
        assert!(e.contains(w), "{e:?} does not mention {w:?}");
    }
}

#[test]
fn other_dtypes_are_refused() -> Result<()> {
    let x = Tensor::new(&[1.0f64, 2.0], &Device::Cpu)?;
    expect_err(activation(&x, Activation::Gelu), &["gelu", "F64"]);
    expect_err(softmax_last_dim(&x), &["softmax", "F64"]);
    let t = Tensor::new(&[1i64], &Device::Cpu)?;
    expect_err(cross_entropy(&x.reshape((1, 2))?, &t), &["cross_entropy", "F64"]);
    expect_err(
        cross_entropy(&x.to_dtype(DType::F32)?.reshape((1, 2))?, &t.to_dtype(DType::F32)?),
        &["cross_entropy", "targets", "F32"],
    );
    let v = Var::new(&[1.0f64], &Device::Cpu)?;
    let opt = NnsimdOptimizer::new(vec![v], nnsimd::optim::Config::from_name("adamw").unwrap());
    assert!(opt.err().expect("an error").to_string().contains("F64"));
    Ok(())
}

#[test]
fn strided_layouts_are_refused() -> Result<()> {
    let mut rng = Rng::new(20);
    let x = tensor(&mut rng, &[4, 6], -1.0, 1.0, DType::F32)?.t()?;
    expect_err(activation(&x, Activation::Silu), &["silu", "not contiguous", "[6, 4]"]);
    expect_err(log_softmax_last_dim(&x), &["log_softmax", "not contiguous"]);
    // After .contiguous() it runs.
    activation(&x.contiguous()?, Activation::Silu)?;
    Ok(())
}

#[test]
fn a_view_at_an_offset_is_read_from_its_offset() -> Result<()> {
    let mut rng = Rng::new(21);
    let x = tensor(&mut rng, &[5, 8], -3.0, 3.0, DType::BF16)?;
    let view = x.narrow(0, 2, 2)?;
    let copy = view.copy()?;
    assert_eq!(bits(&activation(&view, Activation::Mish)?)?, bits(&activation(&copy, Activation::Mish)?)?);
    assert_eq!(bits(&softmax_last_dim(&view)?)?, bits(&softmax_last_dim(&copy)?)?);
    Ok(())
}

#[test]
fn nnsimd_errors_become_candle_errors() -> Result<()> {
    let x = Tensor::new(&[1.0f32, -1.0], &Device::Cpu)?;
    expect_err(activation(&x, Activation::Elu { alpha: f32::NAN }), &["elu", "alpha"]);
    let logits = Tensor::new(&[[1.0f32, 2.0], [0.5, 0.0]], &Device::Cpu)?;
    expect_err(cross_entropy(&logits, &Tensor::new(&[0i64, 2], &Device::Cpu)?), &["cross_entropy"]);
    expect_err(cross_entropy(&logits, &Tensor::new(&[0i64, 1, 1], &Device::Cpu)?), &["cross_entropy", "[N]"]);
    Ok(())
}
