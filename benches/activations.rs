//! Criterion benches of the activations: every implemented kernel, forward and backward, on
//! every available ISA, at 4K and 64K elements (larger sizes: the `speed` example).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nnsimd::{Activation, Isa};
use std::hint::black_box;
use std::time::Duration;

fn inputs(n: usize) -> Vec<f32> {
    // A fixed xorshift stream mapped to about [-9, 9]: both tails of every kernel.
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 18.0
        })
        .collect()
}

fn activations(c: &mut Criterion) {
    for act in Activation::all().filter(Activation::is_implemented) {
        let mut g = c.benchmark_group(act.name());
        g.measurement_time(Duration::from_millis(500)).warm_up_time(Duration::from_millis(200));
        for n in [4096, 65536] {
            let x = inputs(n);
            let dy = vec![1.0f32; n];
            let mut y = vec![0.0f32; n];
            g.throughput(Throughput::Elements(n as u64));
            for isa in Isa::available() {
                g.bench_function(BenchmarkId::new(format!("forward/{isa}"), n), |b| {
                    b.iter(|| act.forward_with(isa, black_box(&x), &mut y))
                });
                g.bench_function(BenchmarkId::new(format!("backward/{isa}"), n), |b| {
                    b.iter(|| act.backward_with(isa, black_box(&x), &dy, &mut y))
                });
            }
            g.bench_function(BenchmarkId::new("limit_copy", n), |b| {
                b.iter(|| y.copy_from_slice(black_box(&x)))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, activations);
criterion_main!(benches);
