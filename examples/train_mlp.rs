//! Trains a 2 → 64 → 64 → 1 MLP on two interleaved spirals with every optimizer of the crate
//! and compares them.
//!
//! ```text
//! cargo run --release --example train_mlp -- DIR [--steps N] [--activation NAME] [--optimizers a,b,..] [--lr LR]
//! ```
//!
//! The data (2 × 256 points, 1.5 turns, fixed seed) and the initial weights are the same for
//! every optimizer. Each step is one full batch: forward with plain matrix loops and the crate's
//! activation kernels, mean binary cross-entropy through the crate's `loss::BceWithLogits`,
//! backward with the crate's in-place activation backward, then one fused optimizer step per
//! tensor (weights and biases separately, with their shapes). Writes into DIR:
//! `train_mlp_loss.csv` (the loss at every step, one column per optimizer),
//! `train_mlp_loss.svg` (those curves) and `train_mlp_results.md` (the table it also prints:
//! final loss, accuracy, time).
//!
//! The learning rate of each optimizer is the best of the grid {1, 2, 5}·10^k (0.001 to 2) by
//! the mean of log10(loss) over the 600 steps with tanh, from runs with `--lr` (which sets one
//! rate for all): full batches of a small, clean data set take much larger steps than PyTorch's
//! defaults, which are meant for noisy mini-batches.

#[path = "common/chart.rs"]
mod chart;
#[path = "common/mlp.rs"]
mod mlp;
#[path = "common/rng.rs"]
mod rng;

use chart::{ChartError, Series};
use indicatif::{ProgressBar, ProgressStyle};
use mlp::Mlp;
use nnsimd::optim::{self, Optimizer};
use nnsimd::{Activation, Error};
use plotters::prelude::*;
use rng::Rng;
use std::time::{Duration, Instant};

const SEED: u64 = 0x5eed_2024;
const SIZES: [usize; 4] = [2, 64, 64, 1];

/// Builds an optimizer for one tensor of the given shape at learning rate `lr`.
type Build = fn(lr: f64, shape: &[usize]) -> Result<Box<dyn Optimizer>, Error>;

/// One optimizer of the comparison. New optimizers join by adding a row to [`OPTIMIZERS`].
struct Entry {
    name: &'static str,
    lr: f64,
    build: Build,
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The optimizers compared, with their learning rates; every other hyperparameter is
/// PyTorch's default unless the name says otherwise.
const OPTIMIZERS: &[Entry] = &[
    Entry {
        name: "sgd",
        lr: 1.0,
        build: |lr, s| {
            Ok(Box::new(optim::Sgd::new(optim::SgdConfig { lr, ..Default::default() }, numel(s))?))
        },
    },
    Entry {
        name: "sgd_momentum",
        lr: 1.0,
        build: |lr, s| {
            let cfg = optim::SgdConfig { lr, momentum: 0.9, ..Default::default() };
            Ok(Box::new(optim::Sgd::new(cfg, numel(s))?))
        },
    },
    Entry {
        name: "sgd_nesterov",
        lr: 0.5,
        build: |lr, s| {
            let cfg = optim::SgdConfig { lr, momentum: 0.9, nesterov: true, ..Default::default() };
            Ok(Box::new(optim::Sgd::new(cfg, numel(s))?))
        },
    },
    Entry {
        name: "adagrad",
        lr: 0.2,
        build: |lr, s| {
            Ok(Box::new(optim::Adagrad::new(optim::AdagradConfig { lr, ..Default::default() }, numel(s))?))
        },
    },
    Entry {
        name: "rmsprop",
        lr: 0.1,
        build: |lr, s| {
            Ok(Box::new(optim::RmsProp::new(optim::RmsPropConfig { lr, ..Default::default() }, numel(s))?))
        },
    },
    Entry {
        name: "adam",
        lr: 0.1,
        build: |lr, s| {
            Ok(Box::new(optim::Adam::new(optim::AdamConfig { lr, ..Default::default() }, numel(s))?))
        },
    },
    Entry {
        name: "adamw",
        lr: 0.1,
        build: |lr, s| {
            Ok(Box::new(optim::Adam::adamw(optim::AdamWConfig { lr, ..Default::default() }, numel(s))?))
        },
    },
    Entry {
        name: "amsgrad",
        lr: 0.1,
        build: |lr, s| {
            let cfg = optim::AdamConfig { lr, amsgrad: true, ..Default::default() };
            Ok(Box::new(optim::Adam::new(cfg, numel(s))?))
        },
    },
    Entry {
        name: "adadelta",
        lr: 2.0,
        build: |lr, s| {
            Ok(Box::new(optim::Adadelta::new(optim::AdadeltaConfig { lr, ..Default::default() }, numel(s))?))
        },
    },
    Entry {
        name: "adamax",
        lr: 0.1,
        build: |lr, s| {
            Ok(Box::new(optim::Adamax::new(optim::AdamaxConfig { lr, ..Default::default() }, numel(s))?))
        },
    },
    Entry {
        name: "nadam",
        lr: 0.2,
        build: |lr, s| {
            Ok(Box::new(optim::NAdam::new(optim::NAdamConfig { lr, ..Default::default() }, numel(s))?))
        },
    },
    Entry {
        name: "adafactor",
        lr: 0.02,
        build: |lr, s| {
            Ok(Box::new(optim::Adafactor::new(optim::AdafactorConfig { lr, ..Default::default() }, s)?))
        },
    },
    Entry {
        name: "lion",
        lr: 0.02,
        build: |lr, s| {
            Ok(Box::new(optim::Lion::new(optim::LionConfig { lr, ..Default::default() }, numel(s))?))
        },
    },
];

/// What one training run gives.
struct Run {
    name: &'static str,
    lr: f64,
    losses: Vec<f32>,
    accuracy: f32,
    /// Wall time of the whole run, and of the optimizer steps alone.
    total: Duration,
    steps: Duration,
}

struct Options {
    dir: std::path::PathBuf,
    steps: usize,
    act: Activation,
    only: Option<Vec<String>>,
    lr: Option<f64>,
}

fn usage(msg: &str) -> ! {
    eprintln!("train_mlp: {msg}");
    eprintln!("usage: train_mlp DIR [--steps N] [--activation NAME] [--optimizers a,b,..] [--lr LR]");
    eprintln!("optimizers: {}", OPTIMIZERS.iter().map(|e| e.name).collect::<Vec<_>>().join(", "));
    std::process::exit(2);
}

fn options() -> Options {
    let mut args = std::env::args().skip(1);
    let mut o = Options { dir: Default::default(), steps: 600, act: Activation::Tanh, only: None, lr: None };
    let mut dir = None;
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&format!("{a} needs a value")));
        match a.as_str() {
            "--steps" => o.steps = value().parse().unwrap_or_else(|_| usage("--steps takes a number")),
            "--activation" => {
                o.act = Activation::from_name(&value()).unwrap_or_else(|e| usage(&e.to_string()))
            }
            "--lr" => o.lr = Some(value().parse().unwrap_or_else(|_| usage("--lr takes a number"))),
            "--optimizers" => o.only = Some(value().split(',').map(String::from).collect()),
            _ if a.starts_with("--") => usage(&format!("unknown option {a}")),
            _ if dir.is_none() => dir = Some(a),
            _ => usage("only one DIR"),
        }
    }
    o.dir = dir.unwrap_or_else(|| usage("DIR is missing")).into();
    let known = |n: &&String| OPTIMIZERS.iter().any(|e| e.name == n.as_str());
    if let Some(bad) = o.only.iter().flatten().find(|n| !known(n)) {
        usage(&format!("unknown optimizer {bad}"));
    }
    o
}

/// Trains a fresh network (same seed, same data) with `entry` for `o.steps` full-batch steps.
fn train(entry: &Entry, data: &mlp::Data, o: &Options, bar: &ProgressBar) -> Result<Run, Error> {
    let mut net = Mlp::new(&SIZES, o.act, &mut Rng(SEED));
    let lr = o.lr.unwrap_or(entry.lr);
    let mut opts = net.shapes().iter().map(|s| (entry.build)(lr, s)).collect::<Result<Vec<_>, _>>()?;
    let mut losses = Vec::with_capacity(o.steps + 1);
    let mut in_steps = Duration::ZERO;
    let start = Instant::now();
    for step in 0..o.steps {
        net.forward(&data.x)?;
        let (loss, _) = net.backward(&data.t)?;
        let t = Instant::now();
        for ((opt, p), g) in opts.iter_mut().zip(&mut net.params).zip(&net.grads) {
            opt.step(p, g)?;
        }
        in_steps += t.elapsed();
        losses.push(loss);
        if step % 20 == 0 {
            bar.set_message(format!("loss {loss:.4}"));
        }
        bar.inc(1);
    }
    // The loss and accuracy after the last step.
    net.forward(&data.x)?;
    let (loss, accuracy) = net.backward(&data.t)?;
    losses.push(loss);
    let total = start.elapsed();
    bar.finish_with_message(format!("loss {loss:.4}, accuracy {:.1}%", 100.0 * accuracy));
    Ok(Run { name: entry.name, lr, losses, accuracy, total, steps: in_steps })
}

fn write_csv(path: &std::path::Path, runs: &[Run]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let names: Vec<&str> = runs.iter().map(|r| r.name).collect();
    writeln!(f, "step,{}", names.join(","))?;
    for step in 0..runs.first().map_or(0, |r| r.losses.len()) {
        let row: Vec<String> = runs.iter().map(|r| r.losses[step].to_string()).collect();
        writeln!(f, "{step},{}", row.join(","))?;
    }
    f.flush()
}

fn write_chart(path: &std::path::Path, runs: &[Run], act: Activation) -> Result<(), ChartError> {
    let series: Vec<Series> = runs
        .iter()
        .map(|r| {
            let points = r.losses.iter().enumerate().map(|(i, &l)| (i as f64, l as f64)).collect();
            Series::new(r.name.to_string(), points)
        })
        .collect();
    let steps = runs.first().map_or(1, |r| r.losses.len().max(2) - 1) as f64;
    let y = chart::y_range(&series);
    let lo = series.iter().flat_map(|s| s.pieces.iter().flatten()).map(|p| p.1).fold(f64::INFINITY, f64::min);
    let y = (lo.max(1e-10) * 0.8)..y.end;
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!("Two spirals, 2-64-64-1 MLP ({}): training loss", act.name());
    chart::draw(&root, &title, ("step", "binary cross-entropy"), 0.0..steps, y.log_scale(), &series)?;
    root.present()?;
    Ok(())
}

/// The results as a markdown table, best final loss first.
fn table(runs: &[Run]) -> String {
    let mut order: Vec<&Run> = runs.iter().collect();
    order.sort_by(|a, b| a.losses.last().partial_cmp(&b.losses.last()).unwrap_or(std::cmp::Ordering::Equal));
    let mut s = String::from(
        "| optimizer | lr | final loss | accuracy | time (s) | of which optimizer steps (ms) |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for r in order {
        s += &format!(
            "| {} | {} | {:.2e} | {:.1}% | {:.2} | {:.1} |\n",
            r.name,
            r.lr,
            r.losses.last().copied().unwrap_or(f32::NAN),
            100.0 * r.accuracy,
            r.total.as_secs_f64(),
            r.steps.as_secs_f64() * 1e3
        );
    }
    s
}

fn main() {
    let o = options();
    let data = mlp::two_spirals(256, 1.5, 0.02, &mut Rng(SEED ^ 1));
    let entries: Vec<&Entry> =
        OPTIMIZERS.iter().filter(|e| o.only.as_ref().is_none_or(|n| n.iter().any(|n| n == e.name))).collect();
    let style = ProgressStyle::with_template("{prefix:>13} [{bar:30}] {pos:>4}/{len} {elapsed:>3} {msg}")
        .expect("a valid template")
        .progress_chars("=> ");
    let mut runs = Vec::new();
    for e in entries {
        let bar = ProgressBar::new(o.steps as u64).with_style(style.clone()).with_prefix(e.name);
        match train(e, &data, &o, &bar) {
            Ok(run) => runs.push(run),
            Err(err) => {
                eprintln!("train_mlp: {}: {err}", e.name);
                std::process::exit(1);
            }
        }
    }
    let result = (|| -> Result<(), ChartError> {
        std::fs::create_dir_all(&o.dir)?;
        write_csv(&o.dir.join("train_mlp_loss.csv"), &runs)?;
        write_chart(&o.dir.join("train_mlp_loss.svg"), &runs, o.act)?;
        let table = table(&runs);
        std::fs::write(o.dir.join("train_mlp_results.md"), &table)?;
        println!(
            "{} points, {} full-batch steps, hidden activation {}, isa {}\n\n{table}",
            data.t.len(),
            o.steps,
            o.act.name(),
            nnsimd::Isa::detect()
        );
        Ok(())
    })();
    if let Err(e) = result {
        eprintln!("train_mlp: {e}");
        std::process::exit(1);
    }
}
