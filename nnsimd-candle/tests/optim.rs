//! The optimizer bridge: bitwise nnsimd's step on f32 variables, the master copy for bf16 and
//! f16, the learning rate, and a small network trained with it.

mod common;

use candle_core::{DType, Device, Module, Result, Tensor, Var};
use candle_nn::{Linear, Optimizer as _};
use common::{Rng, bits, values, var};
use nnsimd::optim::{Adam, AdamWConfig, Config, Optimizer};
use nnsimd::{Activation, bf16, f16};
use nnsimd_candle::{NnsimdOptimizer, activation, cross_entropy};

fn adamw(lr: f64) -> Config {
    Config::AdamW(AdamWConfig { lr, ..AdamWConfig::default() })
}

/// Σ w·v for a fixed w: a loss whose gradient in v is w.
fn linear_loss(v: &Var, w: &Tensor) -> Result<Tensor> {
    (v.as_tensor() * w)?.sum_all()
}

#[test]
fn f32_steps_are_nnsimds() -> Result<()> {
    let mut rng = Rng::new(30);
    let v = var(&mut rng, &[40, 300], -1.0, 1.0, DType::F32)?;
    let mut p = values(&v)?;
    let mut opt = NnsimdOptimizer::new(vec![v.clone()], adamw(0.01))?;
    let mut direct = Adam::adamw(AdamWConfig { lr: 0.01, ..AdamWConfig::default() }, p.len()).unwrap();
    for _ in 0..3 {
        let w = common::tensor(&mut rng, &[40, 300], -1.0, 1.0, DType::F32)?;
        opt.backward_step(&linear_loss(&v, &w)?)?;
        direct.step(&mut p, &values(&w)?).unwrap();
        assert_eq!(
            values(&v)?.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            p.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
    Ok(())
}

#[test]
fn half_variables_are_the_f32_master_rounded() -> Result<()> {
    for dtype in [DType::BF16, DType::F16] {
        let mut rng = Rng::new(31);
        let v = var(&mut rng, &[1000], -1.0, 1.0, dtype)?;
        let mut master = values(&v)?;
        let mut opt = NnsimdOptimizer::new(vec![v.clone()], adamw(0.003))?;
        let mut direct = Adam::adamw(AdamWConfig { lr: 0.003, ..AdamWConfig::default() }, 1000).unwrap();
        for _ in 0..5 {
            let w = common::tensor(&mut rng, &[1000], -1.0, 1.0, dtype)?;
            opt.backward_step(&linear_loss(&v, &w)?)?;
            direct.step(&mut master, &values(&w)?).unwrap();
            let rounded: Vec<u32> = match dtype {
                DType::BF16 => master.iter().map(|&m| bf16::from_f32(m).to_bits() as u32).collect(),
                _ => master.iter().map(|&m| f16::from_f32(m).to_bits() as u32).collect(),
            };
            assert_eq!(bits(&v)?, rounded, "{dtype:?}");
        }
    }
    Ok(())
}

#[test]
fn learning_rate_is_set_and_the_state_carried() -> Result<()> {
    let mut rng = Rng::new(32);
    let v = var(&mut rng, &[64], -1.0, 1.0, DType::F32)?;
    let mut p = values(&v)?;
    let mut opt = NnsimdOptimizer::new(vec![v.clone()], adamw(0.01))?;
    let mut direct = Adam::adamw(AdamWConfig { lr: 0.01, ..AdamWConfig::default() }, 64).unwrap();
    let w = common::tensor(&mut rng, &[64], -1.0, 1.0, DType::F32)?;
    let wv = values(&w)?;
    opt.backward_step(&linear_loss(&v, &w)?)?;
    direct.step(&mut p, &wv).unwrap();
    opt.set_learning_rate(0.002);
    assert_eq!(opt.learning_rate(), 0.002);
    opt.backward_step(&linear_loss(&v, &w)?)?;
    // nnsimd's optimizer with the new rate and the old state.
    let mut fresh = Adam::adamw(AdamWConfig { lr: 0.002, ..AdamWConfig::default() }, 64).unwrap();
    fresh.import(&direct.export()).unwrap();
    fresh.step(&mut p, &wv).unwrap();
    assert_eq!(values(&v)?, p);
    assert_eq!(fresh.steps(), 2);
    // An invalid rate fails the next step, naming it.
    opt.set_learning_rate(-1.0);
    let e = opt.backward_step(&linear_loss(&v, &w)?).unwrap_err().to_string();
    assert!(e.contains("lr"), "{e}");
    Ok(())
}

#[test]
fn a_variable_without_a_gradient_is_left_alone() -> Result<()> {
    let mut rng = Rng::new(33);
    let (a, b) = (var(&mut rng, &[8], -1.0, 1.0, DType::F32)?, var(&mut rng, &[8], -1.0, 1.0, DType::F32)?);
    let before = values(&b)?;
    let mut opt = NnsimdOptimizer::new(vec![a.clone(), b.clone()], adamw(0.1))?;
    opt.backward_step(&a.as_tensor().sum_all()?)?;
    assert_eq!(values(&b)?, before);
    Ok(())
}

/// A two-layer network (16 → 64 → 4, erf GELU) learns which of 4 fixed centres each point
/// is nearest, through nnsimd's GELU, cross-entropy and AdamW.
#[test]
fn a_small_mlp_learns() -> Result<()> {
    let dev = Device::Cpu;
    let mut rng = Rng::new(34);
    let (n, d, h, k) = (256, 16, 64, 4);
    let centres = rng.vec(k * d, -1.0, 1.0);
    let mut xs = Vec::new();
    let mut ts = Vec::new();
    for _ in 0..n {
        let c = rng.below(k as u64) as usize;
        xs.extend((0..d).map(|j| centres[c * d + j] + rng.uniform(-0.5, 0.5)));
        ts.push(c as i64);
    }
    let x = Tensor::from_vec(xs, (n, d), &dev)?;
    let t = Tensor::from_vec(ts, n, &dev)?;
    let w1 = var(&mut rng, &[h, d], -0.25, 0.25, DType::F32)?;
    let b1 = Var::zeros(h, DType::F32, &dev)?;
    let w2 = var(&mut rng, &[k, h], -0.125, 0.125, DType::F32)?;
    let b2 = Var::zeros(k, DType::F32, &dev)?;
    let l1 = Linear::new(w1.as_tensor().clone(), Some(b1.as_tensor().clone()));
    let l2 = Linear::new(w2.as_tensor().clone(), Some(b2.as_tensor().clone()));
    let mut opt = NnsimdOptimizer::new(vec![w1, b1, w2, b2], adamw(0.01))?;
    let mut losses = Vec::new();
    for _ in 0..60 {
        let logits = l2.forward(&activation(&l1.forward(&x)?, Activation::Gelu)?)?;
        let loss = cross_entropy(&logits, &t)?;
        losses.push(loss.to_scalar::<f32>()?);
        opt.backward_step(&loss)?;
    }
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(first > 1.0 && last < 0.2 * first, "loss {first} -> {last}");
    Ok(())
}
