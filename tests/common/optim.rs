//! Optimizer helpers shared by the optimizer tests: one configuration of every optimizer (with
//! its options on), fixed data and exact snapshots of parameters and state.

use super::Rng;
use nnsimd::optim::{
    AdadeltaConfig, AdafactorConfig, AdagradConfig, AdamConfig, AdamWConfig, AdamaxConfig, Config,
    LionConfig, NAdamConfig, Optimizer, RmsPropConfig, SgdConfig,
};

/// Every optimizer, with options that exercise each kernel form; Adafactor as a vector (full
/// second moment) and as a matrix stack (factored), for which `shape` gives the tensor's shape
/// from the number of elements `n` (rounded down to a multiple of the matrix width).
pub fn configs() -> Vec<(&'static str, Config)> {
    let mut configs = vec![
        ("sgd", Config::Sgd(SgdConfig { lr: 0.01, ..Default::default() })),
        (
            "sgd_nesterov",
            Config::Sgd(SgdConfig {
                lr: 0.01,
                momentum: 0.9,
                weight_decay: 0.01,
                nesterov: true,
                ..Default::default()
            }),
        ),
        ("sgd_momentum", Config::Sgd(SgdConfig { momentum: 0.8, dampening: 0.1, ..Default::default() })),
        (
            "adagrad",
            Config::Adagrad(AdagradConfig { lr_decay: 0.01, weight_decay: 0.1, ..Default::default() }),
        ),
        ("adadelta", Config::Adadelta(AdadeltaConfig { weight_decay: 0.01, ..Default::default() })),
        (
            "rmsprop",
            Config::RmsProp(RmsPropConfig {
                momentum: 0.9,
                centered: true,
                maximize: true,
                ..Default::default()
            }),
        ),
        ("rmsprop_plain", Config::RmsProp(RmsPropConfig::default())),
        ("adam", Config::Adam(AdamConfig::default())),
        ("amsgrad", Config::Adam(AdamConfig { amsgrad: true, weight_decay: 0.01, ..Default::default() })),
        ("adamw", Config::AdamW(AdamWConfig::default())),
        ("adamax", Config::Adamax(AdamaxConfig { weight_decay: 0.01, ..Default::default() })),
        (
            "nadam",
            Config::NAdam(NAdamConfig {
                decoupled_weight_decay: true,
                weight_decay: 0.01,
                ..Default::default()
            }),
        ),
        ("lion", Config::Lion(LionConfig { weight_decay: 0.1, ..Default::default() })),
        ("adafactor", Config::Adafactor(AdafactorConfig { weight_decay: 0.01, ..Default::default() })),
        ("adafactor_matrix", Config::Adafactor(AdafactorConfig::default())),
    ];
    // Every optimizer of the registry: at its defaults where the list has none of its own.
    for c in Config::defaults() {
        if !configs.iter().any(|(_, d)| d.name() == c.name()) {
            configs.push((c.name(), c));
        }
    }
    configs
}

/// Panics unless every optimizer of the crate's registry ([`Config::NAMES`]) is among `names`
/// (by its own name, or a variant named `name_...`): a list of optimizers typed in a test must
/// grow with the registry, not skip a new optimizer silently.
pub fn assert_covers<'a>(what: &str, names: impl IntoIterator<Item = &'a str>) {
    let names: Vec<&str> = names.into_iter().collect();
    for &o in Config::NAMES {
        let listed = names.iter().any(|n| *n == o || n.strip_prefix(o).is_some_and(|v| v.starts_with('_')));
        assert!(listed, "{what}: the optimizer {o} is missing (listed: {names:?})");
    }
}

/// The shape a configuration named `name` is built for, for about `n` elements: a vector, or
/// for `adafactor_matrix` a stack of 2 matrices 3 × k (so its length is 6·⌊n/6⌋).
pub fn shape(name: &str, n: usize) -> Vec<usize> {
    if name == "adafactor_matrix" { vec![2, 3, n / 6] } else { vec![n] }
}

/// `n` values N(0, 1), with exact zeros, from `seed`.
pub fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    (0..n).map(|i| if i % 9 == 4 { 0.0 } else { rng.normal(1.0) }).collect()
}

/// The bits of `x`.
pub fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// An exact picture of parameters and state: the parameters' bits, the step count, the
/// scalars' and the buffers' bits (NaN included).
pub type Snapshot = (Vec<u32>, u64, Vec<u64>, Vec<Vec<u32>>);

/// The parameters' and the state's bits, from the exported checkpoint.
pub fn snapshot(opt: &dyn Optimizer, p: &[f32]) -> Snapshot {
    let c = opt.export();
    (
        bits(p),
        c.steps,
        c.scalars.iter().map(|s| s.1.to_bits()).collect(),
        c.buffers.iter().map(|b| bits(b.1)).collect(),
    )
}
