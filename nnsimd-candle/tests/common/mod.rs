//! What the tests share: a seeded generator, tensors from it, and comparisons.
#![allow(dead_code)]

use candle_core::{DType, Device, Result, Tensor, Var};

/// The repository's seeded generator (SplitMix64), shared with nnsimd's examples and tests.
#[path = "../../../examples/common/rng.rs"]
mod splitmix;

/// A small seeded generator: the same numbers on every machine.
pub struct Rng(splitmix::Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(splitmix::Rng(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }

    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A CPU tensor of `shape` with entries uniform in [lo, hi), of `dtype`.
pub fn tensor(rng: &mut Rng, shape: &[usize], lo: f32, hi: f32, dtype: DType) -> Result<Tensor> {
    let n = shape.iter().product();
    Tensor::from_vec(rng.vec(n, lo, hi), shape, &Device::Cpu)?.to_dtype(dtype)
}

/// A variable as [`tensor`] makes.
pub fn var(rng: &mut Rng, shape: &[usize], lo: f32, hi: f32, dtype: DType) -> Result<Var> {
    Var::from_tensor(&tensor(rng, shape, lo, hi, dtype)?)
}

/// The tensor's values as f32, flattened.
pub fn values(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()?.to_dtype(DType::F32)?.to_vec1()
}

/// The tensor's elements as raw bits (f32, bf16 and f16 alike), flattened.
pub fn bits(t: &Tensor) -> Result<Vec<u32>> {
    let t = t.flatten_all()?;
    Ok(match t.dtype() {
        DType::F32 => t.to_vec1::<f32>()?.iter().map(|v| v.to_bits()).collect(),
        DType::BF16 => t.to_vec1::<half::bf16>()?.iter().map(|v| v.to_bits() as u32).collect(),
        DType::F16 => t.to_vec1::<half::f16>()?.iter().map(|v| v.to_bits() as u32).collect(),
        d => panic!("no bits for {d:?}"),
    })
}

/// Asserts |a − b| ≤ rel·|b| + abs elementwise (NaN equal to NaN), naming `what` and the first
/// element outside.
pub fn assert_close(what: &str, a: &[f32], b: &[f32], rel: f32, abs: impl Fn(usize) -> f32) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        if x.is_nan() && y.is_nan() {
            continue;
        }
        let tol = rel * y.abs() + abs(i);
        assert!((x - y).abs() <= tol, "{what}[{i}]: {x} vs {y} (tolerance {tol})");
    }
}

/// Whether two gradients are the same values: bitwise, except that 0 and −0 are equal (candle
/// adds each gradient to a zero, which turns −0 into 0).
pub fn same_gradient(a: &Tensor, b: &Tensor) -> Result<bool> {
    let (a, b) = (values(a)?, values(b)?);
    Ok(a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits() || (*x == 0.0 && *y == 0.0)))
}
