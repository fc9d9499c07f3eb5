//! Property tests of the optimizers (DESIGN.md §8), over random configurations built through
//! `nnsimd::optim::Config`:
//! - a step with mismatched lengths, or with slices of another shape than the one the
//!   optimizer was built for, returns `Err` and changes neither parameters nor state: the next
//!   valid step gives bit for bit what it gives without the bad call;
//! - results are bitwise identical on 1, 2 and 3 threads for sizes that are split into chunks
//!   (at least 2·CHUNK).

#![cfg(feature = "std")]

mod common;

use common::optim::{bits, data, snapshot};
use common::qemu;
use nnsimd::Isa;
use nnsimd::optim::{
    AdadeltaConfig, AdafactorConfig, AdagradConfig, AdamConfig, AdamWConfig, AdamaxConfig, Config,
    LionConfig, NAdamConfig, RmsPropConfig, SgdConfig,
};
use proptest::prelude::*;

fn config(cases: u32) -> ProptestConfig {
    let mut c = if std::env::var_os("PROPTEST_CASES").is_some() {
        ProptestConfig::default()
    } else {
        ProptestConfig::with_cases(if qemu() { cases.div_ceil(8) } else { cases })
    };
    // Failures are reported with the configuration and seed in the message (proptest cannot
    // find its persistence root from tests/).
    c.failure_persistence = None;
    c
}

/// A learning rate, weight decay or ε: 0 sometimes, else in (0, 0.1].
fn small() -> impl Strategy<Value = f64> {
    prop_oneof![1 => Just(0.0), 4 => 1e-6..0.1f64]
}

/// A decay rate in [0, 1).
fn rate() -> impl Strategy<Value = f64> {
    prop_oneof![1 => Just(0.0), 4 => 0.0..0.999f64]
}

/// Any optimizer with random valid hyperparameters.
fn any_config() -> impl Strategy<Value = Config> {
    prop_oneof![
        (small(), rate(), 0.0..=1.0f64, small(), any::<bool>(), any::<bool>()).prop_map(
            |(lr, momentum, dampening, weight_decay, nesterov, maximize)| {
                let nesterov = nesterov && momentum > 0.0;
                let dampening = if nesterov { 0.0 } else { dampening };
                Config::Sgd(SgdConfig { lr, momentum, dampening, weight_decay, nesterov, maximize })
            }
        ),
        (small(), small(), small(), 0.0..1.0f64, small(), any::<bool>()).prop_map(
            |(lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize)| {
                Config::Adagrad(AdagradConfig {
                    lr,
                    lr_decay,
                    weight_decay,
                    initial_accumulator_value,
                    eps,
                    maximize,
                })
            }
        ),
        (0.0..2.0f64, 0.0..=1.0f64, small(), small(), any::<bool>()).prop_map(
            |(lr, rho, eps, weight_decay, maximize)| {
                Config::Adadelta(AdadeltaConfig { lr, rho, eps, weight_decay, maximize })
            }
        ),
        (small(), 0.0..=1.0f64, small(), small(), rate(), any::<bool>(), any::<bool>()).prop_map(
            |(lr, alpha, eps, weight_decay, momentum, centered, maximize)| {
                Config::RmsProp(RmsPropConfig { lr, alpha, eps, weight_decay, momentum, centered, maximize })
            }
        ),
        (small(), rate(), rate(), small(), small(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled)| {
                if decoupled {
                    Config::AdamW(AdamWConfig { lr, beta1, beta2, eps, weight_decay, amsgrad, maximize })
                } else {
                    Config::Adam(AdamConfig { lr, beta1, beta2, eps, weight_decay, amsgrad, maximize })
                }
            }
        ),
        (small(), rate(), rate(), small(), small(), any::<bool>()).prop_map(
            |(lr, beta1, beta2, eps, weight_decay, maximize)| {
                Config::Adamax(AdamaxConfig { lr, beta1, beta2, eps, weight_decay, maximize })
            }
        ),
        (small(), rate(), rate(), small(), small(), small(), any::<bool>(), any::<bool>()).prop_map(
            |(lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize)| {
                Config::NAdam(NAdamConfig {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                    momentum_decay,
                    decoupled_weight_decay,
                    maximize,
                })
            }
        ),
        (small(), rate(), rate(), small(), any::<bool>()).prop_map(
            |(lr, beta1, beta2, weight_decay, maximize)| {
                Config::Lion(LionConfig { lr, beta1, beta2, weight_decay, maximize })
            }
        ),
        (small(), -1.0..=0.0f64, small(), small(), 1.0..3.0f64, (small(), any::<bool>())).prop_map(
            |(lr, beta2_decay, eps1, eps2, d, (weight_decay, maximize))| {
                Config::Adafactor(AdafactorConfig { lr, beta2_decay, eps1, eps2, d, weight_decay, maximize })
            }
        ),
        // Every optimizer of the registry at its defaults, so that a new one is covered.
        proptest::sample::select(Config::defaults().collect::<Vec<_>>()),
    ]
}

/// A bad step: which slice has a wrong length.
#[derive(Clone, Copy, Debug)]
enum Bad {
    /// `params` longer or shorter by `k`.
    Params(i64),
    /// `grads` longer or shorter by `k`.
    Grads(i64),
    /// Both of the length of another shape (the same wrong length).
    Shape(i64),
}

fn any_bad() -> impl Strategy<Value = Bad> {
    let k = prop_oneof![-40i64..0, 1i64..40];
    prop_oneof![k.clone().prop_map(Bad::Params), k.clone().prop_map(Bad::Grads), k.prop_map(Bad::Shape)]
}

/// `v` grown (with 0.5) or shrunk by `by` elements, down to empty.
fn resized(v: &[f32], by: i64) -> Vec<f32> {
    let len = (v.len() as i64 + by).max(0) as usize;
    let mut w = v.to_vec();
    w.resize(len, 0.5);
    w
}

proptest! {
    #![proptest_config(config(256))]

    /// Bad lengths change nothing, and the next valid step is as if they never happened.
    #[test]
    fn bad_steps_change_nothing(
        cfg in any_config(),
        shape in prop::collection::vec(1usize..12, 0..=3),
        bad in any_bad(),
        warmup in 0u64..3,
        isa_pick in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let isas = Isa::available();
        let isa = isas[isa_pick.index(isas.len())];
        let n: usize = shape.iter().product();
        let (mut a, mut b) = (cfg.build(&shape).unwrap(), cfg.build(&shape).unwrap());
        let (mut p, mut q) = (data(n, seed), data(n, seed));
        for t in 0..warmup {
            let g = data(n, seed ^ (t + 1));
            a.step_with(isa, &mut p, &g).unwrap();
            b.step_with(isa, &mut q, &g).unwrap();
        }
        let before = snapshot(&*a, &p);
        let g = data(n, seed ^ 99);
        let outcome = match bad {
            Bad::Params(k) => {
                let mut pp = resized(&p, k);
                let r = a.step_with(isa, &mut pp, &g);
                prop_assert!(bits(&pp[..n.min(pp.len())]) == bits(&p[..n.min(pp.len())]), "params written on Err");
                r
            }
            Bad::Grads(k) => a.step_with(isa, &mut p, &resized(&g, k)),
            Bad::Shape(k) => {
                let mut pp = resized(&p, k);
                let r = a.step_with(isa, &mut pp, &resized(&g, k));
                prop_assert!(bits(&pp[..n.min(pp.len())]) == bits(&p[..n.min(pp.len())]), "params written on Err");
                r
            }
        };
        prop_assert!(matches!(outcome, Err(nnsimd::Error::LengthMismatch { .. })), "{:?}", outcome);
        prop_assert!(snapshot(&*a, &p) == before, "{:?} on {}: state or params changed by {:?}", cfg, isa, bad);
        let g2 = data(n, seed ^ 7);
        a.step_with(isa, &mut p, &g2).unwrap();
        b.step_with(isa, &mut q, &g2).unwrap();
        prop_assert!(snapshot(&*a, &p) == snapshot(&*b, &q), "{:?} on {}: the next step differs", cfg, isa);
    }
}

proptest! {
    #![proptest_config(config(12))]

    /// 1, 2 and 3 threads give the same bits for sizes that are split into chunks.
    #[cfg(feature = "rayon")]
    #[test]
    fn same_bits_on_1_2_3_threads(
        cfg in any_config(),
        extra in 0usize..3 * nnsimd::CHUNK,
        isa_pick in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let isas = Isa::available();
        let isa = isas[isa_pick.index(isas.len())];
        let n = 2 * nnsimd::CHUNK + extra;
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut opt = cfg.build(&[n]).unwrap();
                let mut p = data(n, seed);
                for t in 0..3 {
                    opt.step_with(isa, &mut p, &data(n, seed ^ (t + 1))).unwrap();
                }
                snapshot(&*opt, &p)
            })
        };
        let one = run(1);
        for threads in [2, 3] {
            prop_assert!(run(threads) == one, "{:?} on {}, n {}: {} threads differ from 1", cfg, isa, n, threads);
        }
    }
}
