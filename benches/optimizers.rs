//! Criterion benches of the fused optimizer steps: every optimizer at its defaults (as the
//! `speed` example runs them), on every available ISA, at 4K, 64K, 1M and 16M parameters, beside
//! `limit_update3` (Adam's 4-read/3-write traffic). One group per optimizer; ids `step/ISA/N`,
//! `limit_update3/N`, and for Adam `step_scaled/ISA/N` (inv_scale 2^-10: the finite check's
//! extra read of g and the unscaling multiply). Modes and times: benches/common/mod.rs.

mod common;

use common::workload::{inputs, make_optimizer, optimizer_rows};
use common::{Setup, bench_update3, group};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn optimizers(c: &mut Criterion) {
    let setup = Setup::from_env();
    let nmax = setup.sizes.iter().copied().max().unwrap_or(0);
    let (mut p_all, g_all) = inputs(nmax);
    for name in optimizer_rows() {
        let mut group = group(c, name);
        for &n in &setup.sizes {
            let (p, grad) = (&mut p_all[..n], &g_all[..n]);
            group.throughput(Throughput::Elements(n as u64));
            for &isa in setup.isas.iter().filter(|&&i| setup.runs(Some(i), n)) {
                let Some(mut opt) = make_optimizer(name, n) else { continue };
                group.bench_function(BenchmarkId::new(format!("step/{isa}"), n), |b| {
                    b.iter(|| opt.step_with(isa, p, black_box(grad)))
                });
                if name == "adam" {
                    group.bench_function(BenchmarkId::new(format!("step_scaled/{isa}"), n), |b| {
                        b.iter(|| opt.step_scaled_with(isa, p, black_box(grad), 1.0 / 1024.0))
                    });
                }
            }
            bench_update3(&mut group, p, grad);
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = optimizers
}
criterion_main!(benches);
