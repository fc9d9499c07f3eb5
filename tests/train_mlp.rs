//! The MLP of `examples/train_mlp.rs` (examples/common/mlp.rs): its loss and gradients against
//! an independent f64 implementation written here, with central differences for the gradients.

#[path = "../examples/common/mlp.rs"]
#[allow(dead_code)]
mod mlp;
#[path = "../examples/common/rng.rs"]
mod rng;

use mlp::Mlp;
use nnsimd::Activation;
use rng::Rng;

/// Mean binary cross-entropy of the network `params` (W0, b0, W1, b1, …; W row = input) on
/// `x` (rows of 2), in f64, with the hidden activation `f`.
fn loss64(sizes: &[usize], params: &[Vec<f64>], x: &[f32], t: &[f32], f: fn(f64) -> f64) -> f64 {
    let mut total = 0.0;
    for (row, &t) in x.chunks(sizes[0]).zip(t) {
        let mut a: Vec<f64> = row.iter().map(|&v| v as f64).collect();
        let layers = sizes.len() - 1;
        for l in 0..layers {
            let (w, b) = (&params[2 * l], &params[2 * l + 1]);
            let out = sizes[l + 1];
            let z: Vec<f64> =
                (0..out).map(|j| b[j] + (0..a.len()).map(|k| a[k] * w[k * out + j]).sum::<f64>()).collect();
            a = if l + 1 < layers { z.iter().map(|&z| f(z)).collect() } else { z };
        }
        let z = a[0];
        // −t·ln σ(z) − (1 − t)·ln σ(−z) = softplus(z) − t·z.
        let softplus = z.max(0.0) + (-z.abs()).exp().ln_1p();
        total += softplus - t as f64 * z;
    }
    total / t.len() as f64
}

fn check(act: Activation, f: fn(f64) -> f64) {
    let sizes = [2, 5, 4, 1];
    let mut rng = Rng(7);
    let data = mlp::two_spirals(6, 1.0, 0.05, &mut rng);
    let mut net = Mlp::new(&sizes, act, &mut rng);
    net.forward(&data.x).unwrap();
    let (loss, _) = net.backward(&data.t).unwrap();
    let p64: Vec<Vec<f64>> = net.params.iter().map(|p| p.iter().map(|&v| v as f64).collect()).collect();
    let want = loss64(&sizes, &p64, &data.x, &data.t, f);
    assert!((loss as f64 - want).abs() < 1e-5, "{}: loss {loss} vs {want}", act.name());
    let h = 1e-6;
    for (i, tensor) in p64.iter().enumerate() {
        for j in 0..tensor.len() {
            let (mut up, mut down) = (p64.clone(), p64.clone());
            up[i][j] += h;
            down[i][j] -= h;
            let fd = (loss64(&sizes, &up, &data.x, &data.t, f) - loss64(&sizes, &down, &data.x, &data.t, f))
                / (2.0 * h);
            let got = net.grads[i][j] as f64;
            assert!(
                (got - fd).abs() <= 1e-5 + 1e-4 * fd.abs(),
                "{}: d/dp[{i}][{j}] = {got}, expected {fd}",
                act.name()
            );
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    check(Activation::Tanh, f64::tanh);
    check(Activation::Sigmoid, |z| 1.0 / (1.0 + (-z).exp()));
}
