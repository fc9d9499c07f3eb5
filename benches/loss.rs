//! Criterion benches of the losses, the loss rows of the `speed` example: `forward_backward`
//! (the mean loss and its gradient) of each element-wise loss (`mse`, `l1`, `huber`,
//! `smooth_l1`, `bce`, `bce_with_logits`, `kl_div`, at PyTorch's defaults) at n = 1,048,576,
//! and of the mean cross-entropy over 32 rows of 32,000 classes (vocab, n = 1,024,000), on the
//! best ISA. Inputs and calls are the `speed` example's (examples/common/workload.rs). One group
//! per loss; ids `forward_backward/ISA/N`, throughput in elements of the predictions (logits).
//! Threads and times: benches/common/mod.rs (`NNSIMD_BENCH_THREADS`; the modes' sizes and ISAs
//! do not apply here).

mod common;

use common::workload::{LOSSES, class_targets, inputs, loss_inputs, run_cross_entropy, run_loss};
use common::{Setup, group};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nnsimd::Isa;
use std::hint::black_box;

/// Elements of the element-wise losses.
const N: usize = 1 << 20;
/// Cross-entropy's (rows, classes): vocab.
const VOCAB: (usize, usize) = (32, 32_000);

fn loss(c: &mut Criterion) {
    // Sizes the rayon pool (NNSIMD_BENCH_THREADS, default 1).
    let _ = Setup::from_env();
    let isa = Isa::best();
    let (x, dy) = inputs(N);
    let mut grad = vec![0.0f32; N];
    for name in LOSSES {
        let (p, t) = loss_inputs(name, &x, &dy);
        let mut g = group(c, name);
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function(BenchmarkId::new(format!("forward_backward/{isa}"), N), |b| {
            b.iter(|| run_loss(name, isa, black_box(&p), black_box(&t), &mut grad).expect("loss"))
        });
        g.finish();
    }

    let (rows, len) = VOCAB;
    let n = rows * len;
    let (logits, targets) = (&x[..n], class_targets(rows, len));
    let mut g = group(c, "cross_entropy");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(BenchmarkId::new(format!("forward_backward/{isa}"), n), |b| {
        b.iter(|| {
            run_cross_entropy(isa, len, black_box(logits), black_box(&targets), &mut grad[..n])
                .expect("cross_entropy")
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = loss
}
criterion_main!(benches);
