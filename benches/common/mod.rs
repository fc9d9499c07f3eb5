//! What the criterion benches share: the sizes, ISAs and times of a run (the default, quick and
//! full modes), their inputs, and the baselines they measure beside the kernels (the naive
//! loops, `limit_copy`, `limit_update3`: the code of the `speed` example, in examples/common).
//!
//! - Default: every kernel × every available ISA × 4K, 64K, 1M and 16M elements, except the
//!   scalar backend and the naive loops at 16M (see [`Setup::runs`]); about 10-15 minutes on
//!   two shared cores, which is mostly the slowest rows' minimum of 11 calls.
//! - `NNSIMD_BENCH_QUICK=1`: 64K and 1M only, the best ISA and the baselines, shorter times:
//!   about 2 minutes.
//! - `NNSIMD_BENCH_FULL=1`: the default plus scalar and naive at 16M (a call takes 0.1-10 s
//!   there: about 20 more minutes).
//! - `NNSIMD_BENCH_THREADS=N`: the kernels run in a rayon pool of N threads (default 1, as the
//!   targets are stated).

// Each bench uses only part of this module.
#![allow(dead_code)]

#[path = "../../examples/common/limits.rs"]
pub mod limits;
#[path = "../../examples/common/pass.rs"]
pub mod pass;
#[path = "../../examples/common/workload.rs"]
pub mod workload;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use limits::Level;
use nnsimd::Isa;
use std::hint::black_box;
use std::time::Duration;

/// The element counts of a default run.
pub const SIZES: [usize; 4] = [4096, 65536, 1 << 20, 1 << 24];
/// The element counts of a quick run.
const QUICK_SIZES: [usize; 2] = [65536, 1 << 20];
/// From this size on, the default run leaves out the scalar backend and the naive loops.
const BIG: usize = 1 << 24;

/// What a run measures.
pub struct Setup {
    /// Element counts.
    pub sizes: Vec<usize>,
    /// ISAs of the crate's kernels.
    pub isas: Vec<Isa>,
    /// Whether the scalar backend and the naive loops run at 16M too.
    full: bool,
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

impl Setup {
    /// The run the environment asks for (see the module docs); the first call also sizes the
    /// global rayon pool.
    pub fn from_env() -> Setup {
        #[cfg(feature = "rayon")]
        {
            let threads =
                std::env::var("NNSIMD_BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
            // Err only when the pool already exists, sized by an earlier call.
            let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
        }
        if quick() {
            Setup { sizes: QUICK_SIZES.to_vec(), isas: vec![Isa::best()], full: false }
        } else {
            Setup { sizes: SIZES.to_vec(), isas: Isa::available(), full: env_flag("NNSIMD_BENCH_FULL") }
        }
    }

    /// Whether `isa` (None: the naive loop) is measured at `n` elements. At 16M a call of the
    /// scalar backend or of a naive loop takes 0.1-10 s and criterion makes at least 11 of
    /// them per row, about 20 minutes in all; those rows are compute-bound, their rate is the
    /// 1M row's, so the default run leaves them to `NNSIMD_BENCH_FULL=1`.
    pub fn runs(&self, isa: Option<Isa>, n: usize) -> bool {
        self.full || n < BIG || isa.is_some_and(|i| i != Isa::Scalar)
    }
}

/// Whether this is a quick run.
fn quick() -> bool {
    env_flag("NNSIMD_BENCH_QUICK")
}

/// Criterion's settings: ten samples, short warm-up and measurement (the quick mode's shorter
/// still), few bootstrap resamples, so that the default run fits in 20 minutes on two cores.
/// Command-line flags (`--measurement-time` ...) override them.
pub fn criterion() -> Criterion {
    let (warm, measure) = if quick() { (100, 200) } else { (100, 250) };
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(warm))
        .measurement_time(Duration::from_millis(measure))
        .nresamples(2000)
        .without_plots()
}

/// A group with flat sampling: each sample the same number of calls, so that a slow row costs
/// 10 calls after the warm-up rather than criterion's linear 55.
pub fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sampling_mode(SamplingMode::Flat);
    g
}

/// The `limit_copy` row of `n` elements, y = x.
pub fn bench_copy(g: &mut BenchmarkGroup<WallTime>, x: &[f32], y: &mut [f32]) {
    let n = x.len();
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(BenchmarkId::new("limit_copy", n), |b| b.iter(|| limits::copy(black_box(x), y)));
}

/// The `limit_update3` row of `g.len()` elements (Adam's traffic), compiled for the widest
/// vector extension the CPU has (the `speed` example takes the best of all of them).
pub fn bench_update3(group: &mut BenchmarkGroup<WallTime>, p: &mut [f32], grad: &[f32]) {
    let n = grad.len();
    let level = *Level::available().last().expect("the baseline level is always there");
    let (mut m, mut v) = (vec![0.5f32; n], vec![0.5f32; n]);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(BenchmarkId::new("limit_update3", n), |b| {
        b.iter(|| level.update3(p, &mut m, &mut v, black_box(grad)))
    });
}
