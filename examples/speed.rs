//! Throughput of the kernels (DESIGN.md §6, **contract**), with baselines measured in the same run.
//!
//! ```text
//! cargo run --release --example speed -- [--json] [--markdown] [--kernels a,b] [--sizes 65536,...]
//!     [--isa I] [--threads 1,2] [--save FILE] [--dtype f32|bf16|f16]
//! ```
//!
//! Rows: every implemented activation × pass (`forward` out-of-place, `backward`) × ISA, and per
//! activation and pass an `"isa":"naive"` row: a plain loop over the f32 formula with std's f32
//! functions (libm's `erff` for GELU, which std lacks on stable), as a user would write it. For
//! every size, whatever `--kernels` says, two memory limits: `limit_copy` (y = x through memcpy)
//! and `limit_update3` (`"pass":"step"`: p, m, v updated in place from g, Adam's 4-read/3-write
//! traffic, a plain loop the compiler vectorizes; it is compiled for the baseline, AVX2 and
//! AVX-512 too, since the peers' harness builds it with `-C target-cpu=native`, and the best
//! of those that the CPU runs counts).
//!
//! Adam also has a `"pass":"step_scaled"` row: `Optimizer::step_scaled` with inv_scale 2^-10
//! (the finite check's read of g, then the step with the unscaling multiply), held against
//! `limit_update3` as the plain step is.
//!
//! Also `prelu` (one slope), `prelu_nhwc64`, `prelu_nchw64` (64 channels, channels-last and
//! NCHW with a batch of 4) and `rrelu` (training), whose backward rows include the slope
//! gradient (PReLU) or regenerate the slopes (RReLU); PReLU with one slope has naive rows (a
//! plain loop, and for backward a running f32 sum), the others none.
//!
//! Row kernels: `softmax` and `log_softmax` (`forward`, and `backward` from the saved output
//! y = op(x)) and `logsumexp` (`forward`, one value per row), on rows of `len` contiguous
//! elements at three shapes: attn 512 × 128 (n = 65,536), vocab 32 × 32,000 (n = 1,024,000)
//! and big 256 × 32,000 (n = 8,192,000). `n` counts the elements of x; their rows carry an
//! extra `"len"` field. `--sizes N` runs the shape of n = N (none if N is not one of them); by
//! default all three, with the limits measured at their n too. Their naive rows are a plain
//! loop per row over f32 (max, sum of exp, divide; backward: the sum of dy·y or of dy, then the
//! formula); with T > 1 they split rows over the pool whole, as the library does.
//!
//! Losses: each element-wise loss of `nnsimd::loss` (`mse`, `l1`, `huber`, `smooth_l1`, `bce`,
//! `bce_with_logits`, `kl_div`, at PyTorch's defaults with a mean) as `"pass":"forward_backward"`
//! (the loss and the gradient in one call) at the sizes, and `cross_entropy` (class targets,
//! mean) at the row kernels' shapes, `n` the logits. Their naive rows are plain f32 loops of the
//! formula, forward then backward. They are f32 only.
//!
//! - `--sizes` (default 4096,65536,1048576,16777216); `--isa` one ISA, or a comma list (default
//!   every available one; `naive` alone leaves only the baselines); `--threads T` or a list
//!   `--threads 1,2` (default 1, and 1,2 with `--markdown`) runs everything inside a rayon pool
//!   of T threads, for each T in turn (the naive and limit loops split into the library's fixed
//!   chunks when T > 1; the serial loops of PReLU are left out there); `--save FILE` writes the
//!   JSON lines to FILE too, whatever is printed (one run for a table and a chart).
//! - With T > 1 the pool's worker i is pinned to the i-th CPU the process may use (Linux;
//!   `--no-pin` leaves them to the scheduler). On a shared, busy machine the scheduler tends to
//!   wake the second worker on the caller's own CPU, where it waits until the call is over:
//!   unpinned, 2 threads then measure as 1 (gelu_tanh at 1M on 2 vCPUs at load average 10:
//!   the tenth-percentile call took 517 µs unpinned in 5 runs of 6, 262-292 µs pinned in 6 of
//!   6, against 515 µs on one thread). speedcheck pins the one-thread runs to CPU 0 likewise.
//! - `--dtype bf16` or `f16` (feature `half`): the activation rows read and write slices of that
//!   type, and `limit_copy` copies that type (2 bytes read and 2 written per element: the rows'
//!   own traffic limit). With bf16 the optimizer rows step bf16 parameters (stochastic
//!   rounding) from bf16 gradients with f32 state, and `limit_update3` reads and writes p and
//!   g as bf16 (22 bytes per parameter against f32's 28), and `step_scaled` is
//!   `Optimizer::step_scaled_typed` with those. With f16 the optimizers are left out. PReLU,
//!   RReLU and the naive loops are f32 only and are left out. Every row carries `"dtype"`
//!   (`f32` by default).
//! - Inputs: x ~ N(0, 3²), dy ~ N(0, 1), from a fixed seed (xorshift64* and Box-Muller),
//!   rounded to the `--dtype`; the criterion benches (benches/) measure the same work, from
//!   examples/common.
//! - Each figure is the best per-call time over repeated samples; repetitions are scaled so a
//!   measurement takes 30-300 ms (narrow runs the longer, so that a busy spell of the shared
//!   machine does not cover a whole measurement) and a full default run about two minutes.
//!
//! With `--json`, one line per measurement:
//! `{"kernel":"gelu_tanh","pass":"forward","isa":"avx512","n":65536,"threads":1,"dtype":"f32","melem_per_s":2410.7}`
//! (row kernels: `..."n":65536,"len":128,"threads":1...`).
//! Otherwise a table with the ratios to the naive loop and to the memory limit (`limit_copy`, or
//! `limit_update3` for optimizer steps); with `--markdown`, a markdown table with one line per
//! kernel, pass, size and thread count, adding the ratio to the same kernel on one thread.
//! Unknown kernel names exit with code 2; known names that this version does not implement are
//! skipped with a note.

// The naive baselines: each activation's plain f32 loop, from the activation registry.
use nnsimd::internals::activations as naive;
use nnsimd::{Activation, Element, Isa};
use rayon::prelude::*;
use std::hint::black_box;
use std::io::Write;
use std::process::exit;
use std::time::Instant;

/// Target duration of a full default run, spread over its measurements.
const TOTAL_SECONDS: f64 = 60.0;
/// Shortest sample: calls are timed in groups lasting at least this long, so that the clock's
/// own cost (tens of ns) stays below 0.1%.
const SAMPLE_SECONDS: f64 = 50e-6;
/// Elements per chunk of the threaded naive and limit loops.
const CHUNK: usize = nnsimd::CHUNK;
const LIMITS: [&str; 2] = ["limit_copy", "limit_update3"];
/// The row kernels and their passes.
const ROWS: [(&str, &[Pass]); 3] = [
    ("softmax", &[Pass::Forward, Pass::Backward]),
    ("log_softmax", &[Pass::Forward, Pass::Backward]),
    ("logsumexp", &[Pass::Forward]),
];
/// The row kernels' shapes, (rows, len): attn, vocab, big.
const SHAPES: [(usize, usize); 3] = [(512, 128), (32, 32_000), (256, 32_000)];
#[path = "common/isas.rs"]
mod isas;
#[path = "common/limits.rs"]
mod limits;
#[path = "common/pass.rs"]
mod pass;
#[path = "common/workload.rs"]
mod workload;
use limits::{Level, Stored};
use pass::Pass;
use workload::{
    LOSSES, SLOPED, class_targets, loss_inputs, make_optimizer, optimizer_rows, run_cross_entropy, run_loss,
    run_row, run_sloped,
};

fn usage(msg: &str) -> ! {
    eprintln!("speed: {msg}");
    eprintln!(
        "usage: speed [--json] [--markdown] [--kernels a,b] [--sizes 65536,...] [--isa I] [--threads 1,2] \
         [--save FILE] [--no-pin] [--dtype f32|bf16|f16]"
    );
    exit(2)
}

// ---------------------------------------------------------------------------------------------
// Baselines, split over the pool's threads in the library's chunks when there are several.

/// The naive forward loop over `x` into `y`.
fn naive_forward(t: usize, act: Activation, x: &[f32], y: &mut [f32]) {
    if t > 1 {
        x.par_chunks(CHUNK).zip(y.par_chunks_mut(CHUNK)).for_each(|(x, y)| {
            naive::naive_forward(&act, x, y);
        });
    } else {
        naive::naive_forward(&act, x, y);
    }
}

/// The naive backward loop.
fn naive_backward(t: usize, act: Activation, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    if t > 1 {
        x.par_chunks(CHUNK).zip(dy.par_chunks(CHUNK)).zip(dx.par_chunks_mut(CHUNK)).for_each(
            |((x, dy), dx)| {
                naive::naive_backward(&act, x, dy, dx);
            },
        );
    } else {
        naive::naive_backward(&act, x, dy, dx);
    }
}

fn limit_copy<T: Copy + Send + Sync>(t: usize, x: &[T], y: &mut [T]) {
    if t > 1 {
        x.par_chunks(CHUNK).zip(y.par_chunks_mut(CHUNK)).for_each(|(x, y)| limits::copy(x, y));
    } else {
        limits::copy(x, y);
    }
}

fn limit_update3<T: Stored + Send + Sync>(
    t: usize,
    level: Level,
    p: &mut [T],
    m: &mut [f32],
    v: &mut [f32],
    g: &[T],
) {
    if t > 1 {
        p.par_chunks_mut(CHUNK)
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK))
            .for_each(|(((p, m), v), g)| level.update3(p, m, v, g));
    } else {
        level.update3(p, m, v, g)
    }
}

/// The naive loop of a row kernel over one row: `a` is x, or for backward the saved output y;
/// `out` is the row's output (one value for logsumexp).
fn naive_row(kernel: &str, pass: Pass, a: &[f32], dy: &[f32], out: &mut [f32]) {
    let dot = |w: &[f32]| -> f32 { dy.iter().zip(w).map(|(d, w)| d * w).sum() };
    match (kernel, pass) {
        ("softmax", Pass::Backward) => {
            let s = dot(a);
            for ((o, &y), &d) in out.iter_mut().zip(a).zip(dy) {
                *o = y * (d - s);
            }
        }
        (_, Pass::Backward) => {
            let s: f32 = dy.iter().sum();
            for ((o, &y), &d) in out.iter_mut().zip(a).zip(dy) {
                *o = d - y.exp() * s;
            }
        }
        ("softmax", _) => {
            let m = a.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let mut sum = 0.0;
            for (o, &v) in out.iter_mut().zip(a) {
                *o = (v - m).exp();
                sum += *o;
            }
            out.iter_mut().for_each(|o| *o /= sum);
        }
        _ => {
            let m = a.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let lse = m + a.iter().map(|&v| (v - m).exp()).sum::<f32>().ln();
            match kernel {
                "logsumexp" => out[0] = lse,
                _ => out.iter_mut().zip(a).for_each(|(o, &v)| *o = v - lse),
            }
        }
    }
}

/// The naive loop of a row kernel over rows of `len`, split over the pool's threads in whole
/// rows (about a library chunk each) when there are several.
fn naive_rows(t: usize, kernel: &str, pass: Pass, len: usize, a: &[f32], dy: &[f32], out: &mut [f32]) {
    let w = out.len() / (a.len() / len); // output per row: len, or 1 for logsumexp
    let rows = |a: &[f32], dy: &[f32], out: &mut [f32]| {
        for ((a, dy), out) in a.chunks(len).zip(dy.chunks(len)).zip(out.chunks_mut(w)) {
            naive_row(kernel, pass, a, dy, out);
        }
    };
    if t > 1 {
        let k = (CHUNK / len).max(1);
        a.par_chunks(k * len)
            .zip(dy.par_chunks(k * len))
            .zip(out.par_chunks_mut(k * w))
            .for_each(|((a, dy), out)| rows(a, dy, out));
    } else {
        rows(a, dy, out);
    }
}

/// The naive loop of an element-wise loss with a mean: Σ of the f32 terms, the gradient
/// divided by n, over the library's chunks on the pool's threads when there are several.
fn naive_loss(t: usize, name: &str, p: &[f32], tg: &[f32], grad: &mut [f32]) -> f32 {
    let k = 1.0 / p.len() as f32;
    let term = |p: f32, t: f32| -> (f32, f32) {
        let d = p - t;
        match name {
            "mse" => (d * d, 2.0 * d * k),
            "l1" => (d.abs(), d.signum() * k),
            "huber" | "smooth_l1" if d.abs() < 1.0 => (0.5 * d * d, d * k),
            "huber" | "smooth_l1" => (d.abs() - 0.5, d.signum() * k),
            "bce" => (
                -(t * p.ln().max(-100.0) + (1.0 - t) * (-p).ln_1p().max(-100.0)),
                d / (p * (1.0 - p)).max(1e-12) * k,
            ),
            "bce_with_logits" => {
                (p.max(0.0) - p * t + (-p.abs()).exp().ln_1p(), (1.0 / (1.0 + (-p).exp()) - t) * k)
            }
            _ => (if t > 0.0 { t * (t.ln() - p) } else { 0.0 }, -t * k),
        }
    };
    let part = |p: &[f32], tg: &[f32], g: &mut [f32]| -> f32 {
        let mut sum = 0.0;
        for ((&p, &t), g) in p.iter().zip(tg).zip(g) {
            let (l, d) = term(p, t);
            sum += l;
            *g = d;
        }
        sum
    };
    let sum: f32 = if t > 1 {
        p.par_chunks(CHUNK)
            .zip(tg.par_chunks(CHUNK))
            .zip(grad.par_chunks_mut(CHUNK))
            .map(|((p, t), g)| part(p, t, g))
            .sum()
    } else {
        part(p, tg, grad)
    };
    sum * k
}

/// The naive loop of the mean cross-entropy over rows of `len`: per row the maximum, the sum of
/// exponentials, the loss, and the gradient (softmax − one-hot)/rows; rows split over the pool
/// whole when there are several threads.
fn naive_cross_entropy(t: usize, len: usize, x: &[f32], tg: &[i64], grad: &mut [f32]) -> f32 {
    let k = 1.0 / tg.len() as f32;
    let row = |x: &[f32], t: i64, g: &mut [f32]| -> f32 {
        let m = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let sum: f32 = x.iter().map(|&v| (v - m).exp()).sum();
        for (g, &v) in g.iter_mut().zip(x) {
            *g = (v - m).exp() / sum * k;
        }
        g[t as usize] -= k;
        sum.ln() - (x[t as usize] - m)
    };
    let rows = |x: &[f32], tg: &[i64], g: &mut [f32]| -> f32 {
        x.chunks(len).zip(tg).zip(g.chunks_mut(len)).map(|((x, &t), g)| row(x, t, g)).sum()
    };
    let sum: f32 = if t > 1 {
        let r = (CHUNK / len).max(1);
        x.par_chunks(r * len)
            .zip(tg.par_chunks(r))
            .zip(grad.par_chunks_mut(r * len))
            .map(|((x, t), g)| rows(x, t, g))
            .sum()
    } else {
        rows(x, tg, grad)
    };
    sum * k
}

// ---------------------------------------------------------------------------------------------
// Placement

/// The CPUs this process may run on, in order (Linux; elsewhere none, and nothing is pinned).
fn allowed_cpus() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity writes at most
        // size_of::<cpu_set_t>() bytes into it, and CPU_ISSET reads within it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return Vec::new();
            }
            (0..libc::CPU_SETSIZE as usize).filter(|&c| libc::CPU_ISSET(c, &set)).collect()
        }
    }
    #[cfg(not(target_os = "linux"))]
    Vec::new()
}

/// Pins the calling thread to `cpu`, as well as it can (a failure leaves it unpinned).
fn pin_to(cpu: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes within it (cpu comes from
    // allowed_cpus, below CPU_SETSIZE); sched_setaffinity only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpu;
}

// ---------------------------------------------------------------------------------------------
// Timing

/// Best seconds per call of `f`, spending about `budget` seconds: one warm-up call, then samples
/// of enough calls to last [`SAMPLE_SECONDS`] each, at least three of them. A call slower than
/// the budget is timed once (the buffers are already in memory), one slower than budget/3 twice.
///
/// Short samples, as the peers' harness times single calls: on a shared machine the best
/// sample is one that no other process interrupted, and with two threads one during which the
/// other core was free; a long sample averages those interruptions in.
fn best_time(budget: f64, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    f();
    let warm = t.elapsed().as_secs_f64();
    if warm >= budget {
        return warm;
    }
    let t = Instant::now();
    f();
    let once = t.elapsed().as_secs_f64().max(1e-9);
    if warm.min(once) >= budget / 3.0 {
        return warm.min(once);
    }
    let reps = (SAMPLE_SECONDS / once).ceil().clamp(1.0, 1e9) as u64;
    let end = Instant::now() + std::time::Duration::from_secs_f64(budget);
    let mut best = once;
    let mut samples = 0;
    while samples < 3 || Instant::now() < end {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
        samples += 1;
    }
    best
}

// ---------------------------------------------------------------------------------------------
// Output

struct Out {
    json: bool,
    markdown: bool,
    /// `--save`: the JSON lines go to this file too, whatever is printed.
    save: Option<std::fs::File>,
    rows: Vec<Meas>,
}

#[derive(Clone)]
struct Meas {
    kernel: String,
    pass: &'static str,
    isa: String,
    n: usize,
    /// The row length of a row kernel.
    len: Option<usize>,
    threads: usize,
    dtype: &'static str,
    melem: f64,
}

impl Meas {
    /// Whether `other` is measured on the same size and thread count.
    fn beside(&self, other: &Meas) -> bool {
        self.n == other.n && self.threads == other.threads
    }

    /// The memory limit this row is held against: update3 for optimizer steps, else copy.
    fn limit(&self) -> &'static str {
        if self.pass.starts_with("step") { "limit_update3" } else { "limit_copy" }
    }
}

impl Out {
    fn header(&self) {
        if !self.json && !self.markdown {
            println!(
                "{:<14} {:<8} {:<8} {:>9} {:>3} {:>11} {:>8} {:>7}",
                "kernel", "pass", "isa", "n", "thr", "Melem/s", "×naive", "×limit"
            );
        }
    }

    /// The row of `kernel`, `pass` and `isa` measured beside `m`.
    fn find(&self, m: &Meas, kernel: &str, pass: &str, isa: &str) -> Option<&Meas> {
        self.rows.iter().find(|r| r.kernel == kernel && r.pass == pass && r.isa == isa && r.beside(m))
    }

    /// `m` as a multiple of the naive loop of its kernel (None for the limits themselves).
    fn to_naive(&self, m: &Meas) -> Option<f64> {
        if m.kernel.starts_with("limit_") {
            return None;
        }
        self.find(m, &m.kernel, m.pass, "naive").map(|r| m.melem / r.melem)
    }

    /// `m` as a multiple of its memory limit (copy, or update3 for optimizer steps).
    fn to_limit(&self, m: &Meas) -> Option<f64> {
        let pass = if m.pass.starts_with("step") { "step" } else { "forward" };
        self.find(m, m.limit(), pass, "naive").map(|r| m.melem / r.melem)
    }

    fn push(&mut self, m: Meas) {
        let len = m.len.map_or(String::new(), |l| format!(",\"len\":{l}"));
        let line = format!(
            "{{\"kernel\":\"{}\",\"pass\":\"{}\",\"isa\":\"{}\",\"n\":{}{len},\"threads\":{},\"dtype\":\"{}\",\"melem_per_s\":{:.1}}}",
            m.kernel, m.pass, m.isa, m.n, m.threads, m.dtype, m.melem
        );
        if let Some(f) = &mut self.save
            && let Err(e) = writeln!(f, "{line}")
        {
            eprintln!("speed: cannot write to the --save file: {e}");
            exit(1);
        }
        if self.json {
            println!("{line}");
        } else if !self.markdown {
            let fmt = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}"));
            println!(
                "{:<14} {:<8} {:<8} {:>9} {:>3} {:>11.1} {:>8} {:>7}",
                m.kernel,
                m.pass,
                m.isa,
                m.n,
                m.threads,
                m.melem,
                fmt(self.to_naive(&m)),
                fmt(self.to_limit(&m))
            );
        }
        self.rows.push(m);
    }

    /// One line per kernel, pass, size and thread count (the thread counts of one kernel, pass
    /// and size next to each other); one column per ISA; the best ISA as a multiple of the naive
    /// loop, of the memory limit and of the same kernel on one thread.
    fn markdown(&self, isas: &[Isa]) {
        let mut head = String::from("| kernel | pass | n | threads | naive |");
        let mut rule = String::from("|---|---|---:|---:|---:|");
        for isa in isas {
            head += &format!(" {isa} |");
            rule += "---:|";
        }
        println!("{head} best ÷ naive | best ÷ limit | best ÷ 1 thread |\n{rule}---:|---:|---:|");
        // Lines in the order the kernels were first measured, then by size and thread count.
        let mut lines: Vec<(usize, usize, usize, &Meas)> = Vec::new();
        let mut kernels: Vec<(&str, &str)> = Vec::new();
        for m in &self.rows {
            let k = (m.kernel.as_str(), m.pass);
            let order = kernels.iter().position(|&q| q == k).unwrap_or_else(|| {
                kernels.push(k);
                kernels.len() - 1
            });
            if !lines.iter().any(|l| l.0 == order && l.3.beside(m)) {
                lines.push((order, m.n, m.threads, m));
            }
        }
        lines.sort_by_key(|l| (l.0, l.1, l.2));
        let fmt = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}×"));
        let cell = |r: Option<&Meas>| r.map_or("-".to_string(), |r| format!("{:.0}", r.melem));
        for &(_, n, threads, m) in &lines {
            let get = |isa: &str| self.find(m, &m.kernel, m.pass, isa);
            let mut line =
                format!("| {} | {} | {n} | {threads} | {} |", m.kernel, m.pass, cell(get("naive")));
            let mut best: Option<&Meas> = None;
            for isa in isas {
                let r = get(isa.name());
                if let Some(r) = r
                    && best.is_none_or(|b| r.melem > b.melem)
                {
                    best = Some(r);
                }
                line += &format!(" {} |", cell(r));
            }
            let best = best.or(get("naive"));
            let naive = best.and_then(|b| self.to_naive(b));
            let limit = best.and_then(|b| self.to_limit(b));
            // The best of the same kernel on one thread, whatever its ISA.
            let one = self
                .rows
                .iter()
                .filter(|r| r.kernel == m.kernel && r.pass == m.pass && r.n == n && r.threads == 1)
                .filter(|r| r.isa != "naive" || best.is_some_and(|b| b.isa == "naive"))
                .map(|r| r.melem)
                .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))));
            let scale = best.zip(one).filter(|_| threads > 1).map(|(b, o)| b.melem / o);
            println!("{line} {} | {} | {} |", fmt(naive), fmt(limit), fmt(scale));
        }
        println!(
            "\nMelem/s, best of repeated calls; x ~ N(0, 3²); out-of-place forward, backward with \
             dy ~ N(0, 1). The limit is limit_copy (y = x), or limit_update3 (Adam's traffic) for \
             optimizer steps."
        );
    }
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut json, mut markdown) = (false, false);
    let mut names: Option<Vec<String>> = None;
    let mut sizes: Vec<usize> = vec![4096, 65536, 1 << 20, 1 << 24];
    let mut sizes_given = false;
    let mut isa_arg: Option<String> = None;
    let mut save: Option<String> = None;
    let mut pin = true;
    let mut thread_counts: Option<Vec<usize>> = None;
    let mut dtype = String::from("f32");
    while let Some(a) = args.next() {
        let mut value = |what: &str| args.next().unwrap_or_else(|| usage(&format!("{a} needs {what}")));
        match a.as_str() {
            "--json" => json = true,
            "--markdown" => markdown = true,
            "--kernels" => {
                let v = value("a list of names");
                names =
                    Some(v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect());
            }
            "--sizes" => {
                let v = value("a list of sizes");
                sizes = v
                    .split(',')
                    .map(|s| s.trim().parse::<usize>().ok().filter(|&n| n > 0))
                    .collect::<Option<Vec<_>>>()
                    .unwrap_or_else(|| usage(&format!("--sizes: {v:?} is not a list of positive numbers")));
                sizes_given = true;
            }
            "--isa" => isa_arg = Some(value("an ISA name")),
            "--save" => save = Some(value("a file name")),
            "--no-pin" => pin = false,
            "--threads" => {
                let v = value("a list of thread counts");
                thread_counts = Some(
                    v.split(',')
                        .map(|s| s.trim().parse::<usize>().ok().filter(|&t| t > 0))
                        .collect::<Option<Vec<_>>>()
                        .unwrap_or_else(|| usage("--threads needs a list of numbers ≥ 1")),
                );
            }
            "--dtype" => dtype = value("f32, bf16 or f16"),
            "-h" | "--help" => usage("throughput of the kernels and their baselines"),
            _ => usage(&format!("unknown argument {a}")),
        }
    }

    // One thread, or one and two for the markdown table (the scaling column).
    let thread_counts = thread_counts.unwrap_or(if markdown { vec![1, 2] } else { vec![1] });

    // ISAs.
    let isas: Vec<Isa> = match &isa_arg {
        None => Isa::available(),
        Some(list) => isas::parse(list, &["naive"]).unwrap_or_else(|e| usage(&e)),
    };

    // Kernels.
    let mut acts: Vec<Activation> = Vec::new();
    let mut opts: Vec<&str> = Vec::new();
    let mut sloped: Vec<&str> = Vec::new();
    let mut rows: Vec<(&str, &[Pass])> = Vec::new();
    let mut losses: Vec<&str> = Vec::new();
    let mut ce = false;
    let optimizers = optimizer_rows();
    match &names {
        None => {
            acts.extend(Activation::all().filter(Activation::is_implemented));
            sloped.extend(SLOPED);
            opts.extend(optimizers.iter().copied());
            rows.extend(ROWS);
            losses.extend(LOSSES);
            ce = true;
        }
        Some(list) => {
            for n in list {
                if LIMITS.contains(&n.as_str()) {
                    continue; // always measured
                }
                if let Some(&k) = SLOPED.iter().find(|k| **k == n.as_str()) {
                    if !sloped.contains(&k) {
                        sloped.push(k);
                    }
                } else if let Ok(a) = Activation::from_name(n) {
                    if !a.is_implemented() {
                        eprintln!("speed: skipping {n}: not implemented yet");
                    } else if !acts.contains(&a) {
                        acts.push(a);
                    }
                } else if let Some(&o) = optimizers.iter().find(|o| **o == n.as_str()) {
                    if !opts.contains(&o) {
                        opts.push(o);
                    }
                } else if let Some(&r) = ROWS.iter().find(|r| r.0 == n.as_str()) {
                    if !rows.contains(&r) {
                        rows.push(r);
                    }
                } else if let Some(&l) = LOSSES.iter().find(|l| **l == n.as_str()) {
                    if !losses.contains(&l) {
                        losses.push(l);
                    }
                } else if n == "cross_entropy" {
                    ce = true;
                } else {
                    eprintln!(
                        "speed: unknown kernel {n:?}; known: {}, {}, {}, {}, {}, cross_entropy, {}",
                        Activation::all().map(|a| a.name()).collect::<Vec<_>>().join(","),
                        SLOPED.join(","),
                        optimizers.join(","),
                        ROWS.map(|r| r.0).join(","),
                        LOSSES.join(","),
                        LIMITS.join(",")
                    );
                    exit(2);
                }
            }
        }
    }

    let dtype: &'static str = dtype.leak();
    if dtype != "f32" && !sloped.is_empty() {
        eprintln!("speed: --dtype {dtype}: PReLU and RReLU are f32 only, left out");
        sloped.clear();
    }
    if dtype == "f16" && !opts.is_empty() {
        eprintln!("speed: --dtype f16: the optimizers take bf16 or f32 parameters, left out");
        opts.clear();
    }
    if dtype != "f32" && (!losses.is_empty() || ce) {
        eprintln!("speed: --dtype {dtype}: the loss rows are f32 only, left out");
        losses.clear();
        ce = false;
    }

    // The row kernels' shapes: those --sizes names, or all three.
    let shapes: Vec<(usize, usize)> = SHAPES
        .into_iter()
        .filter(|&(r, l)| (!rows.is_empty() || ce) && (!sizes_given || sizes.contains(&(r * l))))
        .collect();
    let per_size = 2
        + (acts.len() + sloped.len()) * 2 * (isas.len() + 1)
        + opts.len() * isas.len()
        + losses.len() * (isas.len() + 1);
    let per_shape = (rows.iter().map(|r| r.1.len()).sum::<usize>() + ce as usize) * (isas.len() + 1);
    let runs = (per_size * sizes.len() + (2 + per_shape) * shapes.len()) * thread_counts.len();
    let plan = Plan {
        acts,
        sloped,
        opts,
        rows,
        losses,
        ce,
        isas,
        sizes,
        shapes,
        levels: Level::available(),
        budget: (TOTAL_SECONDS / runs as f64).clamp(0.03, 0.3),
    };
    let save = save.map(|path| {
        std::fs::File::create(&path).unwrap_or_else(|e| usage(&format!("--save: cannot create {path}: {e}")))
    });
    let mut out = Out { json, markdown, save, rows: Vec::new() };
    out.header();

    // Buffers for the largest size, written once so that no page fault lands in a measurement.
    let nmax = plan.ns().into_iter().max().unwrap_or(0);
    let (x, dy) = workload::inputs(nmax);
    let typed = Typed::new(dtype, &x, &dy);
    let mut buf = Buffers {
        p: x.clone(),
        x,
        dy,
        y: vec![1.0f32; nmax],
        m: vec![0.5f32; nmax],
        v: vec![0.5f32; nmax],
        typed,
        dtype,
    };
    let cpus = if pin { allowed_cpus() } else { Vec::new() };
    for &threads in &thread_counts {
        let cpus = if threads > 1 { cpus.clone() } else { Vec::new() };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .start_handler(move |i| {
                if !cpus.is_empty() {
                    pin_to(cpus[i % cpus.len()]);
                }
            })
            .build()
            .unwrap_or_else(|e| usage(&format!("cannot build a pool of {threads} threads: {e}")));
        pool.install(|| measure(&plan, threads, &mut buf, &mut out));
    }
    if markdown {
        out.markdown(&plan.isas);
    }
}

/// What to measure.
struct Plan<'a> {
    acts: Vec<Activation>,
    sloped: Vec<&'a str>,
    opts: Vec<&'a str>,
    /// Row kernels and their passes.
    rows: Vec<(&'a str, &'a [Pass])>,
    /// Element-wise losses.
    losses: Vec<&'a str>,
    /// Whether cross-entropy is measured.
    ce: bool,
    isas: Vec<Isa>,
    /// Element counts of the element-wise kernels and optimizers.
    sizes: Vec<usize>,
    /// (rows, len) of the row kernels.
    shapes: Vec<(usize, usize)>,
    /// The vector extensions the update3 limit is measured with (the best counts).
    levels: Vec<Level>,
    /// Seconds per measurement.
    budget: f64,
}

impl Plan<'_> {
    /// Every element count measured: the sizes, then the shapes' counts not among them.
    fn ns(&self) -> Vec<usize> {
        let mut ns = self.sizes.clone();
        for (r, l) in &self.shapes {
            if !ns.contains(&(r * l)) {
                ns.push(r * l);
            }
        }
        ns
    }
}

/// Inputs x and dy, output y, optimizer parameters p and limit_update3's state m and v, each as
/// long as the largest size.
struct Buffers {
    x: Vec<f32>,
    dy: Vec<f32>,
    y: Vec<f32>,
    p: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    /// x, dy and y in the `--dtype`, when it is not f32.
    typed: Typed,
    dtype: &'static str,
}

/// The `--dtype` of the activation rows, with x, dy and an output buffer of that type (for
/// bf16 and f16; f32 rows use the f32 buffers).
enum Typed {
    F32,
    #[cfg(feature = "half")]
    Bf16([Vec<nnsimd::bf16>; 3]),
    #[cfg(feature = "half")]
    F16([Vec<nnsimd::f16>; 3]),
}

impl Typed {
    fn new(name: &str, x: &[f32], dy: &[f32]) -> Typed {
        #[cfg(not(feature = "half"))]
        let _ = (x, dy);
        #[cfg(feature = "half")]
        {
            let conv = |v: &[f32], f: fn(f32) -> u16| v.iter().map(|&v| f(v)).collect::<Vec<u16>>();
            let (bf, hf) = (|v| nnsimd::bf16::from_f32(v).to_bits(), |v| nnsimd::f16::from_f32(v).to_bits());
            match name {
                "bf16" => {
                    let t = |v: Vec<u16>| v.into_iter().map(nnsimd::bf16::from_bits).collect();
                    return Typed::Bf16([t(conv(x, bf)), t(conv(dy, bf)), t(conv(x, bf))]);
                }
                "f16" => {
                    let t = |v: Vec<u16>| v.into_iter().map(nnsimd::f16::from_bits).collect();
                    return Typed::F16([t(conv(x, hf)), t(conv(dy, hf)), t(conv(x, hf))]);
                }
                _ => {}
            }
        }
        match name {
            "f32" => Typed::F32,
            "bf16" | "f16" => usage(&format!("--dtype {name} needs the feature `half` (--features half)")),
            _ => usage(&format!("--dtype: {name:?} is not f32, bf16 or f16")),
        }
    }
}

/// Best seconds per call of an activation pass on slices of `T`.
fn time_act<T: Element>(
    budget: f64,
    act: Activation,
    isa: Isa,
    pass: Pass,
    x: &[T],
    dy: &[T],
    y: &mut [T],
) -> f64 {
    best_time(budget, || {
        match pass {
            Pass::Forward => act.forward_with(isa, black_box(x), y),
            Pass::Backward => act.backward_with(isa, black_box(x), black_box(dy), y),
        }
        .expect("kernel");
        black_box(&mut *y);
    })
}

/// Every measurement of `plan` on `threads` threads (inside a pool of that many).
fn measure(plan: &Plan, threads: usize, buf: &mut Buffers, out: &mut Out) {
    let (isas, budget) = (&plan.isas, plan.budget);
    let dtype = buf.dtype;
    for n in plan.ns() {
        let (x, dy, y) = (&buf.x[..n], &buf.dy[..n], &mut buf.y[..n]);
        let melem = |secs: f64| n as f64 / secs / 1e6;
        let row = |kernel: &str, pass: &'static str, isa: &str, secs: f64| Meas {
            kernel: kernel.to_string(),
            pass,
            isa: isa.to_string(),
            n,
            len: None,
            threads,
            dtype: if pass.starts_with("step") && dtype != "bf16" { "f32" } else { dtype },
            melem: melem(secs),
        };

        let s = match &mut buf.typed {
            Typed::F32 => best_time(budget, || {
                limit_copy(threads, black_box(x), y);
                black_box(&mut *y);
            }),
            #[cfg(feature = "half")]
            Typed::Bf16([x, _, y]) => {
                best_time(budget, || limit_copy(threads, black_box(&x[..n]), &mut y[..n]))
            }
            #[cfg(feature = "half")]
            Typed::F16([x, _, y]) => {
                best_time(budget, || limit_copy(threads, black_box(&x[..n]), &mut y[..n]))
            }
        };
        out.push(row("limit_copy", "forward", "naive", s));
        let (m, v) = (&mut buf.m[..n], &mut buf.v[..n]);
        let s = plan
            .levels
            .iter()
            .map(|&level| match &mut buf.typed {
                // bf16: the optimizer rows' own traffic, on their buffers (p in y, g = dy).
                #[cfg(feature = "half")]
                Typed::Bf16([_, g, p]) => best_time(budget, || {
                    limit_update3(threads, level, &mut p[..n], m, v, black_box(&g[..n]));
                    black_box((&mut *p, &mut *m, &mut *v));
                }),
                _ => {
                    let p = &mut buf.p[..n];
                    best_time(budget, || {
                        limit_update3(threads, level, p, m, v, black_box(dy));
                        black_box((&mut *p, &mut *m, &mut *v));
                    })
                }
            })
            .fold(f64::INFINITY, f64::min);
        out.push(row("limit_update3", "step", "naive", s));

        // The element-wise kernels and optimizers at their sizes only (not at a shape's n).
        let (acts, sloped, opts) = if plan.sizes.contains(&n) {
            (&plan.acts[..], &plan.sloped[..], &plan.opts[..])
        } else {
            (&[][..], &[][..], &[][..])
        };
        for act in acts {
            for pass in [Pass::Forward, Pass::Backward] {
                // The naive loops are f32: other dtypes have no naive rows.
                let s = (dtype == "f32").then(|| {
                    best_time(budget, || {
                        match pass {
                            Pass::Forward => naive_forward(threads, *act, black_box(x), y),
                            Pass::Backward => naive_backward(threads, *act, black_box(x), black_box(dy), y),
                        }
                        black_box(&mut *y);
                    })
                });
                if let Some(s) = s {
                    out.push(row(act.name(), pass.name(), "naive", s));
                }
                for &isa in isas {
                    let s = match &mut buf.typed {
                        Typed::F32 => time_act(budget, *act, isa, pass, x, dy, y),
                        #[cfg(feature = "half")]
                        Typed::Bf16([x, dy, y]) => {
                            time_act(budget, *act, isa, pass, &x[..n], &dy[..n], &mut y[..n])
                        }
                        #[cfg(feature = "half")]
                        Typed::F16([x, dy, y]) => {
                            time_act(budget, *act, isa, pass, &x[..n], &dy[..n], &mut y[..n])
                        }
                    };
                    out.push(row(act.name(), pass.name(), isa.name(), s));
                }
            }
        }

        let mut ds = vec![0.0f32; n.max(64)]; // GLU's db: n values
        for &name in sloped {
            for pass in [Pass::Forward, Pass::Backward] {
                let targets = std::iter::once(None).chain(isas.iter().map(|&i| Some(i)));
                for isa in targets {
                    // The plain loops are serial: they run only in one-thread rows.
                    if (isa.is_none() && threads > 1) || !run_sloped(name, pass, isa, x, dy, y, &mut ds) {
                        continue;
                    }
                    let s = best_time(budget, || {
                        run_sloped(name, pass, isa, black_box(x), black_box(dy), y, &mut ds);
                        black_box(&mut *y);
                    });
                    out.push(row(name, pass.name(), isa.map_or("naive", |i| i.name()), s));
                }
            }
        }

        // Optimizer steps at their defaults, n parameters, g = dy (`n` counts parameters); with
        // bf16, bf16 parameters (in y, stochastic rounding) and gradients.
        for &name in opts {
            for &isa in isas {
                let Some(mut opt) = make_optimizer(name, n) else { continue };
                // The plain step, or (`Some(inv_scale)`) `step_scaled` on the same buffers.
                let mut time_step =
                    |opt: &mut Box<dyn nnsimd::optim::Optimizer>, inv: Option<f32>| match &mut buf.typed {
                        #[cfg(feature = "half")]
                        Typed::Bf16([_, g, p]) => {
                            let (p, g) = (&mut p[..n], &g[..n]);
                            best_time(budget, || {
                                let params = nnsimd::optim::Params::Stochastic { params: &mut *p, seed: 1 };
                                let grads = nnsimd::optim::Grads::Bf16(black_box(g));
                                let r = match inv {
                                    None => opt.step_typed(isa, params, grads),
                                    Some(inv) => opt.step_scaled_typed(isa, params, grads, inv).map(|_| ()),
                                };
                                r.expect("step");
                                black_box(&mut *p);
                            })
                        }
                        _ => {
                            let p = &mut buf.p[..n];
                            best_time(budget, || {
                                let r = match inv {
                                    None => opt.step_with(isa, p, black_box(dy)),
                                    Some(inv) => opt.step_scaled_with(isa, p, black_box(dy), inv).map(|_| ()),
                                };
                                r.expect("step");
                                black_box(&mut *p);
                            })
                        }
                    };
                out.push(row(name, "step", isa.name(), time_step(&mut opt, None)));
                if name == "adam" {
                    // From gradients scaled by 2^10: the finite check's extra read of g, and the
                    // multiply in the update pass. Never skipped (dy is finite).
                    out.push(row(name, "step_scaled", isa.name(), time_step(&mut opt, Some(1.0 / 1024.0))));
                }
            }
        }

        // Element-wise losses at the sizes.
        if plan.sizes.contains(&n) {
            for &name in &plan.losses {
                let (p, t) = loss_inputs(name, x, dy);
                let s = best_time(budget, || {
                    black_box(naive_loss(threads, name, black_box(&p), black_box(&t), y));
                    black_box(&mut *y);
                });
                out.push(row(name, "forward_backward", "naive", s));
                for &isa in isas {
                    let s = best_time(budget, || {
                        black_box(run_loss(name, isa, black_box(&p), black_box(&t), y).expect("loss"));
                        black_box(&mut *y);
                    });
                    out.push(row(name, "forward_backward", isa.name(), s));
                }
            }
        }

        // Cross-entropy at the shapes of n elements.
        for &(rows, len) in plan.shapes.iter().filter(|s| plan.ce && s.0 * s.1 == n) {
            let t = class_targets(rows, len);
            let mut push = |isa: &str, s| {
                out.push(Meas { len: Some(len), ..row("cross_entropy", "forward_backward", isa, s) })
            };
            let s = best_time(budget, || {
                black_box(naive_cross_entropy(threads, len, black_box(x), black_box(&t), y));
                black_box(&mut *y);
            });
            push("naive", s);
            for &isa in isas {
                let s = best_time(budget, || {
                    black_box(run_cross_entropy(isa, len, black_box(x), black_box(&t), y).expect("loss"));
                    black_box(&mut *y);
                });
                push(isa.name(), s);
            }
        }

        // Row kernels at the shapes of n elements; backward from the saved output of x.
        for &(_, len) in plan.shapes.iter().filter(|s| s.0 * s.1 == n) {
            for &(kernel, passes) in &plan.rows {
                for &pass in passes {
                    let w = if kernel == "logsumexp" { n / len } else { n };
                    let mut push =
                        |isa: &str, s| out.push(Meas { len: Some(len), ..row(kernel, pass.name(), isa, s) });
                    if dtype == "f32" {
                        let a = row_input(kernel, pass, len, x);
                        let s = best_time(budget, || {
                            naive_rows(threads, kernel, pass, len, black_box(&a), black_box(dy), &mut y[..w]);
                            black_box(&mut *y);
                        });
                        push("naive", s);
                    }
                    let secs = match &mut buf.typed {
                        Typed::F32 => time_rows(budget, kernel, pass, isas, len, x, dy, &mut y[..w]),
                        #[cfg(feature = "half")]
                        Typed::Bf16([x, dy, y]) => {
                            time_rows(budget, kernel, pass, isas, len, &x[..n], &dy[..n], &mut y[..w])
                        }
                        #[cfg(feature = "half")]
                        Typed::F16([x, dy, y]) => {
                            time_rows(budget, kernel, pass, isas, len, &x[..n], &dy[..n], &mut y[..w])
                        }
                    };
                    for (isa, s) in isas.iter().zip(secs) {
                        push(isa.name(), s);
                    }
                }
            }
        }
    }
}

/// What a row kernel's pass reads: x for forward, the saved output op(x) for backward.
fn row_input<'a, T: Element>(kernel: &str, pass: Pass, len: usize, x: &'a [T]) -> std::borrow::Cow<'a, [T]> {
    if pass == Pass::Forward {
        return x.into();
    }
    let mut y = x.to_vec();
    run_row(kernel, Pass::Forward, Isa::detect(), len, x, x, &mut y).expect("row kernel");
    y.into()
}

/// Best seconds per call of a row kernel's pass on each of `isas`, on slices of `T`.
#[allow(clippy::too_many_arguments)]
fn time_rows<T: Element>(
    budget: f64,
    kernel: &str,
    pass: Pass,
    isas: &[Isa],
    len: usize,
    x: &[T],
    dy: &[T],
    out: &mut [T],
) -> Vec<f64> {
    let a = row_input(kernel, pass, len, x);
    let mut time = |isa| {
        best_time(budget, || {
            run_row(kernel, pass, isa, len, black_box(&a), black_box(dy), out).expect("row kernel");
            black_box(&mut *out);
        })
    };
    isas.iter().map(|&isa| time(isa)).collect()
}
