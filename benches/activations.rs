//! Criterion benches of the activations: every implemented kernel, forward and backward, and
//! the PReLU/RReLU rows of the `speed` example, on every available ISA, at 4K, 64K, 1M and 16M
//! elements, beside the naive loop and `limit_copy`. One group per kernel; ids
//! `PASS/ISA/N`, `PASS/naive/N`, `limit_copy/N`. Modes and times: benches/common/mod.rs.

mod common;

use common::pass::Pass;
use common::workload::{SLOPED, inputs, run_sloped};
use common::{Setup, bench_copy, group};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nnsimd::internals::activations as naive;
use nnsimd::{Activation, Isa};
use std::hint::black_box;

const PASSES: [Pass; 2] = [Pass::Forward, Pass::Backward];

fn activations(c: &mut Criterion) {
    let setup = Setup::from_env();
    let nmax = setup.sizes.iter().copied().max().unwrap_or(0);
    let (x_all, dy_all) = inputs(nmax);
    let mut y_all = vec![0.0f32; nmax];
    for act in Activation::all().filter(Activation::is_implemented) {
        let mut g = group(c, act.name());
        for &n in &setup.sizes {
            let (x, dy, y) = (&x_all[..n], &dy_all[..n], &mut y_all[..n]);
            g.throughput(Throughput::Elements(n as u64));
            for pass in PASSES {
                if setup.runs(None, n) {
                    g.bench_function(BenchmarkId::new(format!("{}/naive", pass.name()), n), |b| {
                        b.iter(|| match pass {
                            Pass::Forward => naive::naive_forward(&act, black_box(x), y),
                            Pass::Backward => naive::naive_backward(&act, black_box(x), black_box(dy), y),
                        })
                    });
                }
                for &isa in setup.isas.iter().filter(|&&i| setup.runs(Some(i), n)) {
                    g.bench_function(BenchmarkId::new(format!("{}/{isa}", pass.name()), n), |b| {
                        b.iter(|| match pass {
                            Pass::Forward => act.forward_with(isa, black_box(x), y),
                            Pass::Backward => act.backward_with(isa, black_box(x), black_box(dy), y),
                        })
                    });
                }
            }
            bench_copy(&mut g, x, y);
        }
        g.finish();
    }
}

/// PReLU (one slope, 64 channels channels-last and NCHW) and RReLU in training, as in `speed`.
fn sloped(c: &mut Criterion) {
    let setup = Setup::from_env();
    let nmax = setup.sizes.iter().copied().max().unwrap_or(0);
    let (x_all, dy_all) = inputs(nmax);
    let mut y_all = vec![0.0f32; nmax];
    let mut ds = vec![0.0f32; 64];
    for name in SLOPED {
        let mut g = group(c, name);
        for &n in &setup.sizes {
            let (x, dy, y) = (&x_all[..n], &dy_all[..n], &mut y_all[..n]);
            g.throughput(Throughput::Elements(n as u64));
            for pass in PASSES {
                let targets = std::iter::once(None).chain(setup.isas.iter().map(|&i| Some(i)));
                for isa in targets.filter(|&i| setup.runs(i, n)) {
                    // Whether the row exists (PReLU's naive loop has one slope only; NCHW needs
                    // whole batches): one call, as in `speed`.
                    if !run_sloped(name, pass, isa, x, dy, y, &mut ds) {
                        continue;
                    }
                    let id = format!("{}/{}", pass.name(), isa.map_or("naive", Isa::name));
                    g.bench_function(BenchmarkId::new(id, n), |b| {
                        b.iter(|| run_sloped(name, pass, isa, black_box(x), black_box(dy), y, &mut ds))
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
    targets = activations, sloped
}
criterion_main!(benches);
