//! The multi-tensor step (`optim::step_multi*`): many tensors of different sizes and
//! optimizers in one call give, bit for bit, what stepping each tensor alone gives, on every ISA
//! and on 1, 2 and 3 threads, plain and scaled; one non-finite gradient anywhere skips every
//! tensor; every error comes before any write.

#![cfg(feature = "std")]

mod common;

use common::optim::{Snapshot, configs, data, shape, snapshot};
use common::{isas, qemu};
use nnsimd::CHUNK;
use nnsimd::optim::{
    Adam, AdamConfig, Config, Optimizer, Stepped, Tensor, step_multi, step_multi_scaled,
    step_multi_scaled_with, step_multi_with,
};
use nnsimd::{Error, Isa};

/// Tensor sizes: empty, tiny, a chunk's edges, and tensors that split into chunks themselves.
fn sizes() -> Vec<usize> {
    if qemu() {
        vec![0, 1, 7, 300, CHUNK + 3, 5, 2 * CHUNK + 5]
    } else {
        // One per configuration; the last is Adafactor's factored matrix stack.
        vec![
            0,
            1,
            7,
            300,
            CHUNK - 1,
            5,
            CHUNK + 3,
            2 * CHUNK + 5,
            13,
            3 * CHUNK,
            2,
            64,
            100,
            17,
            2 * CHUNK + 40,
        ]
    }
}

/// A list of tensors: sizes from [`sizes`], each with the next optimizer of [`configs`].
struct Model {
    opts: Vec<Box<dyn Optimizer>>,
    params: Vec<Vec<f32>>,
    /// Gradient generations: `grads[step][tensor]`.
    grads: Vec<Vec<Vec<f32>>>,
}

/// Built fresh each time, from fixed seeds; `scale` multiplies the gradients.
fn model(steps: usize, scale: f32) -> Model {
    let cfgs: Vec<(&str, Config)> = configs();
    let (mut opts, mut params) = (Vec::new(), Vec::new());
    for (i, &n) in sizes().iter().enumerate() {
        let (name, cfg) = &cfgs[i % cfgs.len()];
        let sh = shape(name, n);
        let n: usize = sh.iter().product();
        opts.push(cfg.build(&sh).unwrap());
        params.push(data(n, i as u64));
    }
    let grads = (0..steps)
        .map(|s| {
            params
                .iter()
                .enumerate()
                .map(|(i, p)| data(p.len(), 1000 * s as u64 + i as u64).iter().map(|g| g * scale).collect())
                .collect()
        })
        .collect();
    Model { opts, params, grads }
}

impl Model {
    fn snapshot(&self) -> Vec<Snapshot> {
        self.opts.iter().zip(&self.params).map(|(o, p)| snapshot(&**o, p)).collect()
    }

    /// The multi-step's argument for step `s`.
    fn tensors(&mut self, s: usize) -> Vec<Tensor<'_, dyn Optimizer>> {
        let grads = &self.grads[s];
        self.params
            .iter_mut()
            .zip(grads)
            .zip(self.opts.iter_mut())
            .map(|((p, g), o)| (&mut p[..], &g[..], &mut **o))
            .collect()
    }
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap()
}

/// Each tensor alone, on one thread: plain steps, or scaled by `c`.
fn alone(isa: Isa, steps: usize, scale: f32, c: Option<f32>) -> Vec<Snapshot> {
    pool(1).install(|| {
        let mut m = model(steps, scale);
        for s in 0..steps {
            for ((o, p), g) in m.opts.iter_mut().zip(m.params.iter_mut()).zip(&m.grads[s]) {
                match c {
                    Some(c) => assert_eq!(o.step_scaled_with(isa, p, g, c).unwrap(), Stepped::Applied),
                    None => o.step_with(isa, p, g).unwrap(),
                }
            }
        }
        m.snapshot()
    })
}

#[test]
fn multi_equals_each_alone_on_1_2_3_threads() {
    let steps = 2;
    for isa in isas() {
        for c in [None, Some(1.0 / 1024.0), Some(0.3)] {
            let scale = c.map_or(1.0, |c| 1.0 / c);
            let want = alone(isa, steps, scale, c);
            for threads in 1..=3 {
                let got = pool(threads).install(|| {
                    let mut m = model(steps, scale);
                    for s in 0..steps {
                        let mut t = m.tensors(s);
                        match c {
                            Some(c) => {
                                assert_eq!(step_multi_scaled_with(isa, &mut t, c).unwrap(), Stepped::Applied)
                            }
                            None => step_multi_with(isa, &mut t).unwrap(),
                        }
                    }
                    m.snapshot()
                });
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(g == w, "{isa} inv_scale {c:?} threads {threads}: tensor {i} differs");
                }
            }
        }
    }
}

#[test]
fn one_non_finite_gradient_skips_every_tensor() {
    let mut m = model(2, 64.0);
    assert_eq!(step_multi_scaled(&mut m.tensors(0), 1.0 / 64.0).unwrap(), Stepped::Applied);
    let before = m.snapshot();
    let last = m.params.len() - 1;
    for (i, j, bad) in [(last, 63, f32::NAN), (1, 0, f32::INFINITY), (6, CHUNK + 1, f32::NEG_INFINITY)] {
        let keep = m.grads[1][i][j];
        m.grads[1][i][j] = bad;
        for threads in 1..=3 {
            let r = pool(threads).install(|| step_multi_scaled(&mut m.tensors(1), 1.0 / 64.0).unwrap());
            assert_eq!(r, Stepped::Skipped);
            assert!(m.snapshot() == before, "a skipped multi-step wrote ({bad} in tensor {i})");
        }
        m.grads[1][i][j] = keep;
    }
}

#[test]
fn errors_come_before_any_write() {
    let mut m = model(1, 1.0);
    let before = m.snapshot();
    let last = m.params.len() - 1;
    // The last tensor's gradients one short: nothing is written, not even the first tensors.
    m.grads[0][last].pop();
    let r = step_multi(&mut m.tensors(0));
    let n = m.params[last].len();
    let want = Error::TensorLengthMismatch { tensor: last, arg: "grads", expected: n, found: n - 1 };
    assert_eq!(r, Err(want.clone()));
    let r = step_multi_scaled(&mut m.tensors(0), 0.5);
    assert_eq!(r, Err(want));
    m.grads[0][last].push(1.0);
    m.params[last].push(1.0);
    let r = step_multi(&mut m.tensors(0));
    let want = Error::TensorLengthMismatch { tensor: last, arg: "params", expected: n, found: n + 1 };
    assert_eq!(r, Err(want));
    m.params[last].pop();
    assert!(m.snapshot() == before, "a failed multi-step wrote");
    for c in [0.0, -2.0, f32::NAN, f32::INFINITY] {
        let r = step_multi_scaled(&mut m.tensors(0), c);
        assert!(matches!(r, Err(Error::InvalidParameter { name: "inv_scale", .. })), "{r:?}");
    }
    if let Some(isa) = [Isa::Avx2, Isa::Avx512, Isa::Neon].into_iter().find(|i| !i.is_available()) {
        assert!(matches!(step_multi_with(isa, &mut m.tensors(0)), Err(Error::IsaUnavailable(_))));
    }
    assert!(m.snapshot() == before, "a failed multi-step wrote");
    // An empty list is a step of nothing.
    step_multi::<dyn Optimizer>(&mut []).unwrap();
    assert_eq!(step_multi_scaled::<Adam>(&mut [], 0.5).unwrap(), Stepped::Applied);
}

#[test]
fn one_optimizer_type_without_dyn() {
    let lens = [3usize, 40, CHUNK + 9];
    let cfg = AdamConfig { amsgrad: true, ..Default::default() };
    let mut opts: Vec<Adam> = lens.iter().map(|&n| Adam::new(cfg, n).unwrap()).collect();
    let mut alone: Vec<Adam> = opts.clone();
    let mut params: Vec<Vec<f32>> = lens.iter().map(|&n| data(n, n as u64)).collect();
    let mut params_alone = params.clone();
    let grads: Vec<Vec<f32>> = lens.iter().map(|&n| data(n, 7 + n as u64)).collect();
    let mut t: Vec<Tensor<'_, Adam>> = params
        .iter_mut()
        .zip(&grads)
        .zip(opts.iter_mut())
        .map(|((p, g), o)| (&mut p[..], &g[..], o))
        .collect();
    step_multi(&mut t).unwrap();
    for ((o, p), g) in alone.iter_mut().zip(params_alone.iter_mut()).zip(&grads) {
        o.step(p, g).unwrap();
    }
    for i in 0..lens.len() {
        assert_eq!(snapshot(&opts[i], &params[i]), snapshot(&alone[i], &params_alone[i]));
    }
}
