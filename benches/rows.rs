//! Criterion benches of the row kernels, the rows of the `speed` example: `softmax` and
//! `log_softmax` (forward, and backward from the saved output y = op(x)) and `logsumexp`
//! (forward, one value per row), at n = 65,536 (attn, 512 rows of 128), 1,024,000 (vocab,
//! 32 × 32,000) and 8,192,000 (big, 256 × 32,000), on the best ISA and the scalar backend (the
//! best only with `NNSIMD_BENCH_QUICK=1`), beside `limit_copy`. One group per kernel; ids
//! `PASS/ISA/N` and `limit_copy/N`, throughput in elements of x. Inputs, threads and times:
//! benches/common/mod.rs.

mod common;

use common::pass::Pass;
use common::workload::{inputs, run_row};
use common::{Setup, bench_copy, group};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nnsimd::Isa;
use std::hint::black_box;

/// The row kernels and their passes.
const ROWS: [(&str, &[Pass]); 3] = [
    ("softmax", &[Pass::Forward, Pass::Backward]),
    ("log_softmax", &[Pass::Forward, Pass::Backward]),
    ("logsumexp", &[Pass::Forward]),
];
/// (rows, len): attn, vocab, big.
const SHAPES: [(usize, usize); 3] = [(512, 128), (32, 32_000), (256, 32_000)];

fn rows(c: &mut Criterion) {
    let setup = Setup::from_env();
    let isas: Vec<Isa> =
        setup.isas.iter().copied().filter(|&i| i == Isa::best() || i == Isa::Scalar).collect();
    let nmax = SHAPES.iter().map(|(r, l)| r * l).max().unwrap_or(0);
    let (x_all, dy_all) = inputs(nmax);
    let (mut y_all, mut saved) = (vec![0.0f32; nmax], vec![0.0f32; nmax]);
    for (kernel, passes) in ROWS {
        let mut g = group(c, kernel);
        for (rows, len) in SHAPES {
            let n = rows * len;
            let (x, dy, y) = (&x_all[..n], &dy_all[..n], &mut y_all[..n]);
            g.throughput(Throughput::Elements(n as u64));
            for &pass in passes {
                let a = match pass {
                    Pass::Forward => x,
                    Pass::Backward => {
                        run_row(kernel, Pass::Forward, Isa::best(), len, x, x, &mut saved[..n])
                            .expect("row kernel");
                        &saved[..n]
                    }
                };
                let out = if kernel == "logsumexp" { &mut y[..rows] } else { &mut *y };
                for &isa in &isas {
                    g.bench_function(BenchmarkId::new(format!("{}/{isa}", pass.name()), n), |b| {
                        b.iter(|| run_row(kernel, pass, isa, len, black_box(a), black_box(dy), out))
                    });
                }
            }
            bench_copy(&mut g, x, y);
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = rows
}
criterion_main!(benches);
