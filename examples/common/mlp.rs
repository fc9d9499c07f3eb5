//! A small multilayer perceptron for binary classification, with plain matrix loops and the
//! crate's kernels for everything element-wise: the hidden activation (forward, and backward in
//! place) and the loss (`loss::BceWithLogits`). Used by the `train_mlp` example, which also
//! declares the `rng` module (examples/common/rng.rs).

use crate::rng::Rng;
use nnsimd::{Activation, Error};

/// Points in the plane with labels 0 or 1.
pub struct Data {
    /// n × 2, row-major.
    pub x: Vec<f32>,
    /// n labels.
    pub t: Vec<f32>,
}

/// Two interleaved spirals of `per_class` points each, `turns` turns long, with uniform noise
/// of ±`noise` on each coordinate.
pub fn two_spirals(per_class: usize, turns: f64, noise: f64, rng: &mut Rng) -> Data {
    let (mut x, mut t) = (Vec::new(), Vec::new());
    for class in 0..2 {
        for i in 0..per_class {
            let r = 0.1 + 0.9 * i as f64 / per_class as f64;
            let angle = r * turns * std::f64::consts::TAU + class as f64 * std::f64::consts::PI;
            x.push((r * angle.cos() + rng.uniform(-noise, noise)) as f32);
            x.push((r * angle.sin() + rng.uniform(-noise, noise)) as f32);
            t.push(class as f32);
        }
    }
    Data { x, t }
}

/// The network: layers `sizes[0] → sizes[1] → … → 1`, the activation after every layer but the
/// last, whose single output is a logit.
pub struct Mlp {
    sizes: Vec<usize>,
    act: Activation,
    /// The tensors in order W0, b0, W1, b1, …; Wl is sizes[l] × sizes[l+1] (row = input).
    pub params: Vec<Vec<f32>>,
    /// The gradients, shaped as `params`.
    pub grads: Vec<Vec<f32>>,
    /// Per layer: the pre-activations z (batch × out), kept for backward.
    z: Vec<Vec<f32>>,
    /// Per layer: its input a (batch × in).
    a: Vec<Vec<f32>>,
}

impl Mlp {
    /// A network with Glorot-uniform weights and zero biases.
    pub fn new(sizes: &[usize], act: Activation, rng: &mut Rng) -> Mlp {
        let mut params = Vec::new();
        for w in sizes.windows(2) {
            let bound = (6.0 / (w[0] + w[1]) as f64).sqrt();
            params.push((0..w[0] * w[1]).map(|_| rng.uniform(-bound, bound) as f32).collect());
            params.push(vec![0.0; w[1]]);
        }
        let grads = params.iter().map(|p: &Vec<f32>| vec![0.0; p.len()]).collect();
        let layers = sizes.len() - 1;
        Mlp {
            sizes: sizes.to_vec(),
            act,
            params,
            grads,
            z: vec![Vec::new(); layers],
            a: vec![Vec::new(); layers],
        }
    }

    /// The shapes of the tensors of `params`: [in, out] for a weight, [out] for a bias.
    pub fn shapes(&self) -> Vec<Vec<usize>> {
        self.sizes.windows(2).flat_map(|w| [vec![w[0], w[1]], vec![w[1]]]).collect()
    }

    /// The logits for the n × sizes[0] inputs `x`; keeps what backward needs.
    pub fn forward(&mut self, x: &[f32]) -> Result<&[f32], Error> {
        let n = x.len() / self.sizes[0];
        let layers = self.z.len();
        let mut input = x.to_vec();
        for l in 0..layers {
            let (inp, out) = (self.sizes[l], self.sizes[l + 1]);
            let mut z = vec![0.0f32; n * out];
            affine(&input, &self.params[2 * l], &self.params[2 * l + 1], inp, out, &mut z);
            self.a[l] = input;
            if l + 1 < layers {
                let mut h = vec![0.0f32; z.len()];
                self.act.forward(&z, &mut h)?;
                input = h;
            } else {
                input = Vec::new();
            }
            self.z[l] = z;
        }
        Ok(&self.z[layers - 1])
    }

    /// Mean binary cross-entropy of the last forward's logits against `t`, and its gradients
    /// into `grads`. Returns (loss, accuracy).
    pub fn backward(&mut self, t: &[f32]) -> Result<(f32, f32), Error> {
        let layers = self.z.len();
        let logits = &self.z[layers - 1];
        let n = logits.len();
        let (loss, mut dz) = bce_with_logits(logits, t)?;
        let correct = logits.iter().zip(t).filter(|&(&z, &t)| (z > 0.0) == (t > 0.5)).count();
        for l in (0..layers).rev() {
            let (inp, out) = (self.sizes[l], self.sizes[l + 1]);
            let (left, right) = self.grads.split_at_mut(2 * l + 1);
            weight_grads(&self.a[l], &dz, inp, out, &mut left[2 * l], &mut right[0]);
            if l == 0 {
                break;
            }
            // dL/da of this layer's input, then through the activation of the layer below.
            let mut da = vec![0.0f32; n * inp];
            input_grads(&dz, &self.params[2 * l], inp, out, &mut da);
            self.act.backward_inplace(&self.z[l - 1], &mut da)?;
            dz = da;
        }
        Ok((loss, correct as f32 / n as f32))
    }
}

/// Mean binary cross-entropy on logits, −t·ln σ(z) − (1 − t)·ln σ(−z) (`loss::BceWithLogits`),
/// and its gradient (σ(z) − t)/n.
fn bce_with_logits(z: &[f32], t: &[f32]) -> Result<(f32, Vec<f32>), Error> {
    let mut grad = vec![0.0f32; z.len()];
    let loss = nnsimd::loss::BceWithLogits::default().forward_backward(z, t, &mut grad)?;
    Ok((loss, grad))
}

/// z = a·W + b for a batch: a is n × inp, W inp × out, z n × out.
fn affine(a: &[f32], w: &[f32], b: &[f32], inp: usize, out: usize, z: &mut [f32]) {
    for (a, z) in a.chunks_exact(inp).zip(z.chunks_exact_mut(out)) {
        z.copy_from_slice(b);
        for (&ak, wk) in a.iter().zip(w.chunks_exact(out)) {
            // z += a_k·W_k: contiguous, so the compiler vectorizes it.
            for (zj, &wj) in z.iter_mut().zip(wk) {
                *zj += ak * wj;
            }
        }
    }
}

/// dW = aᵀ·dz and db = the column sums of dz.
fn weight_grads(a: &[f32], dz: &[f32], inp: usize, out: usize, dw: &mut [f32], db: &mut [f32]) {
    dw.fill(0.0);
    db.fill(0.0);
    for (a, dz) in a.chunks_exact(inp).zip(dz.chunks_exact(out)) {
        for (&ak, dwk) in a.iter().zip(dw.chunks_exact_mut(out)) {
            for (g, &d) in dwk.iter_mut().zip(dz) {
                *g += ak * d;
            }
        }
        for (g, &d) in db.iter_mut().zip(dz) {
            *g += d;
        }
    }
}

/// da = dz·Wᵀ: each element a dot product of a row of dz and a row of W.
fn input_grads(dz: &[f32], w: &[f32], inp: usize, out: usize, da: &mut [f32]) {
    for (dz, da) in dz.chunks_exact(out).zip(da.chunks_exact_mut(inp)) {
        for (d, wk) in da.iter_mut().zip(w.chunks_exact(out)) {
            *d = dot(dz, wk);
        }
    }
}

/// A dot product over 8 partial sums, which the compiler can keep in one vector register (a
/// single running sum would force it to add in order, one lane at a time).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}
