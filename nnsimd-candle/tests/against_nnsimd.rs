//! Every op and its gradient bitwise against nnsimd called directly on the same slices, for
//! f32, bf16 and f16 storage.

mod common;

use candle_core::{DType, Device, Result, Tensor, Var};
use common::{Rng, bits, same_gradient, tensor, var};
use nnsimd::loss::{CrossEntropy, Reduction};
use nnsimd::{Activation, Element, LogSoftmax, Softmax, bf16, f16};
use nnsimd_candle::{CrossEntropyOp, activation, cross_entropy, log_softmax_last_dim, softmax_last_dim};

const DTYPES: [DType; 3] = [DType::F32, DType::BF16, DType::F16];

/// The tensor's elements as a `Vec<E>`.
fn elems<E: Element + candle_core::WithDType>(t: &Tensor) -> Result<Vec<E>> {
    t.flatten_all()?.to_vec1::<E>()
}

/// The forward output and the gradient of Σ w·op(x), as bits.
fn run(x: &Var, w: &Tensor, op: impl Fn(&Tensor) -> Result<Tensor>) -> Result<(Vec<u32>, Tensor)> {
    let y = op(x.as_tensor())?;
    let grads = (&y * w)?.sum_all()?.backward()?;
    Ok((bits(&y)?, grads.get(x).unwrap().clone()))
}

/// What nnsimd gives on the slices: y = f(x), and the gradient from the upstream dy (which
/// candle computes as w, the gradient of Σ w·y, exactly).
trait Direct {
    fn forward<E: Element>(&self, x: &[E], y: &mut [E]);
    /// `x` the op's input, `y` its output.
    fn backward<E: Element>(&self, x: &[E], y: &[E], dy: &[E], dx: &mut [E]);
}

impl Direct for Activation {
    fn forward<E: Element>(&self, x: &[E], y: &mut [E]) {
        Activation::forward(self, x, y).unwrap();
    }
    fn backward<E: Element>(&self, x: &[E], _y: &[E], dy: &[E], dx: &mut [E]) {
        Activation::backward(self, x, dy, dx).unwrap();
    }
}

/// Softmax (false) or log-softmax (true) over rows of `.0`.
struct RowsOf(usize, bool);

impl Direct for RowsOf {
    fn forward<E: Element>(&self, x: &[E], y: &mut [E]) {
        if self.1 {
            LogSoftmax::new(self.0).unwrap().forward(x, y)
        } else {
            Softmax::new(self.0).unwrap().forward(x, y)
        }
        .unwrap();
    }
    fn backward<E: Element>(&self, _x: &[E], y: &[E], dy: &[E], dx: &mut [E]) {
        if self.1 {
            LogSoftmax::new(self.0).unwrap().backward(y, dy, dx)
        } else {
            Softmax::new(self.0).unwrap().backward(y, dy, dx)
        }
        .unwrap();
    }
}

/// Runs `op` through candle and `direct` on the slices for one element type, and compares bits.
fn check<E: Element + candle_core::WithDType>(
    what: &str,
    x: &Var,
    w: &Tensor,
    op: impl Fn(&Tensor) -> Result<Tensor>,
    direct: &impl Direct,
) -> Result<()> {
    let (y, dx) = run(x, w, op)?;
    let xs = elems::<E>(x)?;
    let ws = elems::<E>(w)?;
    let mut y_d = xs.clone();
    direct.forward(&xs, &mut y_d);
    let mut dx_d = xs.clone();
    direct.backward(&xs, &y_d, &ws, &mut dx_d);
    let shape = x.shape();
    let y_d = bits(&Tensor::from_vec(y_d, shape, &Device::Cpu)?)?;
    let dx_d = Tensor::from_vec(dx_d, shape, &Device::Cpu)?;
    assert!(y == y_d, "{what} {:?}: forward differs from nnsimd's", x.dtype());
    assert!(same_gradient(&dx, &dx_d)?, "{what} {:?}: backward differs from nnsimd's", x.dtype());
    Ok(())
}

fn check_any(
    what: &str,
    x: &Var,
    w: &Tensor,
    op: impl Fn(&Tensor) -> Result<Tensor>,
    direct: &impl Direct,
) -> Result<()> {
    match x.dtype() {
        DType::F32 => check::<f32>(what, x, w, op, direct),
        DType::BF16 => check::<bf16>(what, x, w, op, direct),
        DType::F16 => check::<f16>(what, x, w, op, direct),
        d => panic!("{d:?}"),
    }
}

#[test]
fn every_activation_is_nnsimds() -> Result<()> {
    let mut rng = Rng::new(10);
    for dtype in DTYPES {
        for act in Activation::all().filter(Activation::is_implemented) {
            // Over 2 chunks of nnsimd's, so the threaded path runs too.
            let x = var(&mut rng, &[3, 5000], -10.0, 10.0, dtype)?;
            let w = tensor(&mut rng, &[3, 5000], -2.0, 2.0, dtype)?;
            check_any(act.name(), &x, &w, |x| activation(x, act), &act)?;
        }
    }
    Ok(())
}

#[test]
fn softmax_and_log_softmax_are_nnsimds() -> Result<()> {
    let mut rng = Rng::new(11);
    for dtype in DTYPES {
        for &len in &[1, 7, 64, 1000] {
            let x = var(&mut rng, &[2, 3, len], -20.0, 20.0, dtype)?;
            let w = tensor(&mut rng, &[2, 3, len], -1.0, 1.0, dtype)?;
            check_any("softmax", &x, &w, softmax_last_dim, &RowsOf(len, false))?;
            check_any("log_softmax", &x, &w, log_softmax_last_dim, &RowsOf(len, true))?;
        }
    }
    Ok(())
}

/// Cross-entropy's loss and gradient against nnsimd's `forward_backward` (upstream gradient
/// 1) and `forward_backward_none` (upstream gradient s, spread as s/n per row).
fn cross_entropy_typed<E: Element + candle_core::WithDType>(dtype: DType, rng: &mut Rng) -> Result<()> {
    let (n, c) = (13, 300);
    let logits = var(rng, &[n, c], -8.0, 8.0, dtype)?;
    let mut t: Vec<i64> = (0..n).map(|_| rng.below(c as u64) as i64).collect();
    t[4] = -100;
    let targets = Tensor::new(t.as_slice(), &Device::Cpu)?;
    let xs = elems::<E>(&logits)?;
    for smoothing in [0.0f32, 0.1] {
        let op = CrossEntropyOp { label_smoothing: smoothing, ..CrossEntropyOp::default() };
        let ce = CrossEntropy::new(c).unwrap().label_smoothing(smoothing);
        let loss = logits.apply_op2(&targets, op)?;
        if smoothing == 0.0 {
            let plain = cross_entropy(&logits, &targets)?;
            assert_eq!(bits(&plain)?, bits(&loss)?);
        }
        // Upstream 1.
        let g = loss.backward()?;
        let mut grad = xs.clone();
        let l = ce.forward_backward(&xs, &t, &mut grad).unwrap();
        let expect = Tensor::new(l, &Device::Cpu)?.to_dtype(dtype)?;
        assert_eq!(bits(&loss)?, bits(&expect)?, "{dtype:?} loss");
        let grad = Tensor::from_vec(grad, (n, c), &Device::Cpu)?;
        assert!(same_gradient(g.get(&logits).unwrap(), &grad)?, "{dtype:?} gradient, s = 1");
        // Upstream 0.5 (exact in every dtype).
        let g = (loss * 0.5)?.backward()?;
        let dloss = vec![(0.5 / (n - 1) as f64) as f32; n];
        let mut losses = vec![0f32; n];
        let mut grad = xs.clone();
        ce.reduction(Reduction::None).forward_backward_none(&xs, &t, &dloss, &mut losses, &mut grad).unwrap();
        let grad = Tensor::from_vec(grad, (n, c), &Device::Cpu)?;
        assert!(same_gradient(g.get(&logits).unwrap(), &grad)?, "{dtype:?} gradient, s = 0.5");
    }
    Ok(())
}

#[test]
fn cross_entropy_is_nnsimds() -> Result<()> {
    let mut rng = Rng::new(12);
    cross_entropy_typed::<f32>(DType::F32, &mut rng)?;
    cross_entropy_typed::<bf16>(DType::BF16, &mut rng)?;
    cross_entropy_typed::<f16>(DType::F16, &mut rng)
}

#[test]
fn targets_u32_and_u8_equal_i64() -> Result<()> {
    let mut rng = Rng::new(13);
    let logits = tensor(&mut rng, &[6, 5], -3.0, 3.0, DType::F32)?;
    let t = [0u8, 4, 2, 1, 3, 3];
    let t64 = Tensor::new(&t.map(|v| v as i64), &Device::Cpu)?;
    let l = cross_entropy(&logits, &t64)?;
    for other in [Tensor::new(&t, &Device::Cpu)?, Tensor::new(&t.map(|v| v as u32), &Device::Cpu)?] {
        assert_eq!(bits(&cross_entropy(&logits, &other)?)?, bits(&l)?);
    }
    Ok(())
}
