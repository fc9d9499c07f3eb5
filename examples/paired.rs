//! Adam's step against `limit_update3` in one process, alternated: round after round, three
//! calls of the limit loop, then three optimizer steps, on the same parameters and gradients.
//! The `speed` example measures the limit once and the step later; at sizes far beyond the
//! caches both move by a third or more over seconds on a shared machine, so a ratio of the two
//! can be off by that much. A ratio per round compares the two at the same moment.
//!
//! `cargo run --release --features half --example paired -- [f32|bf16] [n] [rounds]`
//! (defaults bf16, 16,777,216, 24; one thread, the best ISA, the limit loop at its widest
//! vector level). Prints the median and best Melem/s of each, the median of the per-round
//! ratios and the rounds below 0.9.

#[path = "common/limits.rs"]
mod limits;

use limits::{Level, Stored};
use nnsimd::bf16;
use nnsimd::optim::{Adam, Grads, Optimizer, Params};
use std::hint::black_box;
use std::time::Instant;

/// Calls per timing: one call at 16M takes about 10 ms, well above the clock's resolution.
const CALLS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dtype = args.first().map_or("bf16", |s| s.as_str());
    let n = args.get(1).map_or(16_777_216, |s| s.parse().expect("n: a number of parameters"));
    let rounds = args.get(2).map_or(24, |s| s.parse().expect("rounds: a number"));
    let p0: Vec<f32> = (0..n).map(|i| (i % 977) as f32 * 1e-3).collect();
    let g: Vec<f32> = (0..n).map(|i| (i % 733) as f32 * 1e-4 - 0.03).collect();
    let isa = nnsimd::Isa::detect();
    let (limit, step) = match dtype {
        "f32" => {
            let mut p = p0;
            run(rounds, &mut p, &g, |o, p, g| o.step_with(isa, p, g).expect("step"))
        }
        "bf16" => {
            let mut p: Vec<bf16> = p0.iter().map(|&v| bf16::from_f32(v)).collect();
            let g: Vec<bf16> = g.iter().map(|&v| bf16::from_f32(v)).collect();
            run(rounds, &mut p, &g, |o, p, g| {
                let params = Params::Stochastic { params: p, seed: 1 };
                o.step_typed(isa, params, Grads::Bf16(g)).expect("step")
            })
        }
        _ => panic!("dtype: f32 or bf16, not {dtype:?}"),
    };
    let ratios: Vec<f64> = step.iter().zip(&limit).map(|(s, l)| s / l).collect();
    let below = ratios.iter().filter(|&&r| r < 0.9).count();
    println!(
        "{dtype} n={n} on {isa}: limit_update3 median {:.0} best {:.0} Melem/s | adam median {:.0} best {:.0} | \
         ratio per round: median {:.3}, below 0.9 in {below} of {rounds}",
        median(&limit),
        best(&limit),
        median(&step),
        best(&step),
        median(&ratios)
    );
}

/// Melem/s of the limit loop and of the step, per round, after one round of warm-up (page
/// faults, the state's first touch).
fn run<T: Stored>(
    rounds: usize,
    p: &mut [T],
    g: &[T],
    step: impl Fn(&mut Adam, &mut [T], &[T]),
) -> (Vec<f64>, Vec<f64>) {
    let n = p.len();
    let (mut m, mut v) = (vec![0.0f32; n], vec![0.0f32; n]);
    let level = *Level::available().last().expect("the plain level is always there");
    let mut adam = Adam::new(Default::default(), n).expect("Adam's state");
    let rate = |t: Instant| (n * CALLS) as f64 / t.elapsed().as_secs_f64() / 1e6;
    let (mut limit, mut stepped) = (vec![], vec![]);
    for round in 0..=rounds {
        let t = Instant::now();
        for _ in 0..CALLS {
            level.update3(p, &mut m, &mut v, black_box(g));
        }
        let l = rate(t);
        let t = Instant::now();
        for _ in 0..CALLS {
            step(&mut adam, p, black_box(g));
        }
        if round > 0 {
            limit.push(l);
            stepped.push(rate(t));
        }
    }
    (limit, stepped)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}
