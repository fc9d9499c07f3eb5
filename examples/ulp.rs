//! Accuracy sweep (DESIGN.md §5, **contract**): every kernel on every ISA against the f64
//! reference, over a strided sample of the f32 line or over all 2^32 bit patterns.
//!
//! ```text
//! cargo run --release --example ulp -- [--json] [--markdown] [--stride N | --exhaustive]
//!     [--resume FILE] [--isa I,J] [--kernels a,b] [--math]
//! ```
//!
//! - `--stride N` (default 4099) visits the bit patterns 0, N, 2N, ... < 2^32 and a few special
//!   values (±0, ±inf, NaNs, subnormal and normal ends, ±1); `--exhaustive` all 2^32 patterns. The work is split into blocks run on all cores (rayon); memory stays bounded.
//! - `--resume FILE` appends each finished block's results to FILE and skips the blocks FILE
//!   already holds, so a killed sweep continues where it stopped. Progress goes to stderr.
//! - `--isa I,J`: only those ISAs (default every available one); the f64 reference is computed
//!   once per input for all of them, so one run over several ISAs is cheaper than one run each.
//! - `--kernels a,b`: activations, row kernels (`softmax`, `log_softmax`: see below) and/or
//!   math-core functions (`exp`, `expm1`, ... ; write `math:tanh`, `math:sigmoid` where an
//!   activation has the same name). Default: every implemented activation, then `prelu` (one
//!   slope, 0.25: exact, bound 0 in both passes), `rrelu` (training at PyTorch's defaults, a
//!   fixed seed, element index = the input's position in the sweep; against
//!   x·(lower + (upper − lower)·u) in f64 with u from `reference::rrelu_unit`: forward bound 4,
//!   backward 8) and the row kernels. `--math` adds every math-core
//!   function. Math functions are reported as `"kernel":"math:NAME"`.
//! - `--strict-nan`: the in-place check compares NaN results bitwise too (by default any NaN
//!   equals any NaN there: sign and payload follow LLVM's operand order, not the source).
//!
//! One row per kernel, pass and ISA; with `--json` one line each:
//! `{"kernel":"gelu_tanh","pass":"forward","isa":"avx512","inputs":1048576,"max_ulp":1,"worst_x":-9.12,"ok":true}`.
//! - `forward` (out-of-place): `max_ulp` is the worst `reference::ulp_distance`; `ok` when every
//!   input is within `reference::forward_bound` (4 ULP for the math functions) and
//!   `forward_inplace` gives bitwise the same result as `forward` (NaN: see `--strict-nan`).
//! - `backward` (dy = 1): `ok` when every input meets `reference::backward_ok`; `max_ulp` is the
//!   worst ULP distance over the inputs outside the near-root region (`reference::near_root`),
//!   where the bound is absolute (and over any input that fails).
//!
//! `worst_x` is the first input (in bit-pattern order) reaching `max_ulp`.
//!
//! The row kernels `softmax` (passes `forward`, `backward`) and `log_softmax` (`forward`,
//! `backward`, `logsumexp`), in the default kernels too, run over random rows instead (fixed
//! seeds): lengths 1 to 65,536 (1, small odd ones, 128, 1000, 4099, 32000, 65536) and strided axes
//! (`along(len, inner)`, inner 2 to 7); rows x = scale·N(0, 1) with scales 0.1 to 100, the same
//! with masked entries (−inf), and with one logit 30·scale above the rest; dy = N(0, 1). Each
//! (geometry, family) case holds 65,536·4099/stride elements (at least 7 rows): `--stride` sets
//! the density, `--resume` does not apply. Against an f64 oracle written from the formulas, with
//! the bounds of `src/rows/mod.rs`: forward 4 ULP (log-softmax: or 2^-22·(|x − m| + ln Σ)
//! absolute), backward from the oracle's output rounded to f32 8 ULP (or 2^-22·Σ|dy·s|),
//! logsumexp 2 ULP (or 2^-23·(|m| + ln Σ)); in place bitwise as out of place. `max_ulp` is over
//! the results outside the absolute-bound region (where the absolute bound is the wider one)
//! and any result that fails; the JSON field `worst` (in place of `worst_x`) describes the first
//! result reaching it.
//!
//! Exit code 1 if any row is not ok, 2 on a usage error.

use nnsimd::internals::probe;
use nnsimd::internals::reference;
use nnsimd::{Activation, Isa, Prelu, Rrelu, RreluMode};
use rayon::prelude::*;
use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::process::exit;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Inputs per kernel call: below the library's parallel threshold (2 chunks), so each call stays
/// on the worker that runs the block, and small enough that a worker's buffers stay in cache.
const SUB: usize = nnsimd::CHUNK;
/// Inputs that a strided sweep adds to its bit patterns, since it would miss most of them:
/// zeros, infinities, NaNs (quiet and signalling, both signs), the ends of the subnormal and
/// normal ranges, ±1.
const SPECIALS: [f32; 18] = [
    0.0,
    -0.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::from_bits(0x7fc0_0000),
    f32::from_bits(0xffc0_0000),
    f32::from_bits(0x7f80_0001),
    f32::from_bits(0xff80_0001),
    f32::from_bits(1),
    f32::from_bits(0x8000_0001),
    f32::from_bits(0x007f_ffff),
    f32::from_bits(0x807f_ffff),
    f32::MIN_POSITIVE,
    -f32::MIN_POSITIVE,
    f32::MAX,
    f32::MIN,
    1.0,
    -1.0,
];
/// Bound for the math-core functions (DESIGN.md §5's forward bound).
const MATH_BOUND: u64 = 4;

#[path = "common/isas.rs"]
mod isas;
#[path = "common/pass.rs"]
mod pass;
use pass::Pass;
#[path = "common/rng.rs"]
mod rng;

#[derive(Clone, Copy)]
enum Kernel {
    Act(Activation),
    /// PReLU with PyTorch's initial slope 0.25 (one slope).
    Prelu,
    /// RReLU in training at PyTorch's defaults, seed [`RRELU_SEED`], element index = the
    /// input's position in the sweep (the specials count from 0 again).
    Rrelu,
    Math(&'static str),
}

/// PReLU's slope in the sweep: PyTorch's initial value.
const PRELU_SLOPE: f32 = 0.25;
/// RReLU's seed in the sweep.
const RRELU_SEED: u64 = 0x5eed;

impl Kernel {
    /// y = f(x) and, in `y2`, the in-place form, for the activations; `i0` is the index of the
    /// first input (RReLU's draws).
    fn forward(&self, isa: Isa, i0: u64, xs: &[f32], y: &mut [f32], y2: &mut [f32]) {
        y2.copy_from_slice(xs);
        match self {
            Kernel::Act(a) => {
                a.forward_with(isa, xs, y).expect("forward");
                a.forward_inplace_with(isa, y2).expect("forward_inplace");
            }
            Kernel::Prelu => {
                let p = Prelu::new(&[PRELU_SLOPE], 1).expect("prelu");
                p.forward_with(isa, xs, y).expect("forward");
                p.forward_inplace_with(isa, y2).expect("forward_inplace");
            }
            Kernel::Rrelu => {
                let mode = RreluMode::Train { seed: RRELU_SEED, offset: i0 };
                Rrelu::default().forward_with(isa, mode, xs, y).expect("forward");
                Rrelu::default().forward_inplace_with(isa, mode, y2).expect("forward_inplace");
            }
            Kernel::Math(_) => unreachable!("math functions have their own pass"),
        }
    }

    /// dx for dy = 1 (PReLU and RReLU).
    fn backward(&self, isa: Isa, i0: u64, xs: &[f32], ones: &[f32], dx: &mut [f32]) {
        match self {
            Kernel::Prelu => {
                let p = Prelu::new(&[PRELU_SLOPE], 1).expect("prelu");
                p.backward_with(isa, xs, ones, dx, &mut [0.0]).expect("backward")
            }
            Kernel::Rrelu => {
                let mode = RreluMode::Train { seed: RRELU_SEED, offset: i0 };
                Rrelu::default().backward_with(isa, mode, xs, ones, dx).expect("backward")
            }
            _ => unreachable!("the activations' backward is checked with backward_ok"),
        }
    }

    /// The f64 reference of a pass at input `x`, element `index`.
    fn reference(&self, pass: Pass, index: u64, x: f64) -> Option<f64> {
        let r = Rrelu::default();
        let slope = |a: f64| {
            if x.is_nan() {
                f64::NAN
            } else if x > 0.0 {
                1.0
            } else {
                a
            }
        };
        match (self, pass) {
            (Kernel::Act(a), Pass::Forward) => Some(reference::forward(a, x)),
            (Kernel::Act(a), Pass::Backward) => Some(reference::derivative(a, x)),
            (Kernel::Prelu, Pass::Forward) => Some(if x > 0.0 { x } else { PRELU_SLOPE as f64 * x }),
            (Kernel::Prelu, Pass::Backward) => Some(slope(PRELU_SLOPE as f64)),
            (Kernel::Rrelu, Pass::Forward) => {
                Some(reference::rrelu_forward(r.lower(), r.upper(), RRELU_SEED, index, x))
            }
            (Kernel::Rrelu, Pass::Backward) => {
                Some(slope(reference::rrelu_slope(r.lower(), r.upper(), RRELU_SEED, index)))
            }
            (Kernel::Math(m), _) => reference::math(m, x),
        }
    }
    fn label(&self) -> String {
        match self {
            Kernel::Act(a) => a.name().to_string(),
            Kernel::Prelu => "prelu".into(),
            Kernel::Rrelu => "rrelu".into(),
            Kernel::Math(m) => format!("math:{m}"),
        }
    }

    fn passes(&self) -> &'static [Pass] {
        match self {
            Kernel::Act(_) | Kernel::Prelu | Kernel::Rrelu => &[Pass::Forward, Pass::Backward],
            Kernel::Math(_) => &[Pass::Forward],
        }
    }

    fn bound(&self, pass: Pass) -> u64 {
        match (self, pass) {
            (Kernel::Act(a), Pass::Forward) => reference::forward_bound(a),
            (Kernel::Act(_), Pass::Backward) => reference::BACKWARD_BOUND,
            // Exact: one product with the slope.
            (Kernel::Prelu, _) => 0,
            // The slope's three roundings, then the product (4 is the forward bound).
            (Kernel::Rrelu, Pass::Forward) => 4,
            (Kernel::Rrelu, Pass::Backward) => reference::BACKWARD_BOUND,
            (Kernel::Math(_), _) => MATH_BOUND,
        }
    }

    /// Whether the f64 reference covers the kernel.
    fn has_reference(&self) -> bool {
        match self {
            Kernel::Math(_) | Kernel::Act(_) => {
                self.reference(Pass::Forward, 0, 0.5).is_some()
                    && self.reference(Pass::Backward, 0, 0.5).is_some()
            }
            Kernel::Prelu | Kernel::Rrelu => true,
        }
    }
}

/// One output row.
#[derive(Clone, Copy)]
struct Row {
    kernel: usize,
    pass: Pass,
    isa: Isa,
}

/// What one row has seen over some inputs.
#[derive(Clone, Copy, Default, Debug)]
struct Stats {
    inputs: u64,
    max_ulp: u64,
    /// Bits of the first input at `max_ulp`.
    worst_bits: u32,
    /// Inputs outside the bound.
    bad: u64,
    /// Inputs where `forward_inplace` differs (bitwise) from `forward`.
    mismatch: u64,
}

impl Stats {
    /// Adds the results of later inputs (merging in input order keeps `worst_x` the first).
    fn merge(&mut self, o: &Stats) {
        if o.inputs == 0 {
            return;
        }
        if self.inputs == 0 || o.max_ulp > self.max_ulp {
            self.max_ulp = o.max_ulp;
            self.worst_bits = o.worst_bits;
        }
        self.inputs += o.inputs;
        self.bad += o.bad;
        self.mismatch += o.mismatch;
    }

    #[inline]
    fn see(&mut self, x: f32, ulp: u64, counts: bool) {
        if counts && (ulp > self.max_ulp || self.inputs == 0) {
            self.max_ulp = ulp;
            self.worst_bits = x.to_bits();
        }
        self.inputs += 1;
    }
}

struct Sweep {
    kernels: Vec<Kernel>,
    isas: Vec<Isa>,
    rows: Vec<Row>,
    stride: u64,
    count: u64,
    block_len: u64,
    strict_nan: bool,
}

/// Whether an in-place result differs from the out-of-place one: bitwise, except that two NaNs
/// are the same unless `strict_nan` (a NaN's sign and payload depend on the operand order that
/// LLVM picks for commutative operations, which can differ between the two compiled loops).
#[inline]
fn differ(a: f32, b: f32, strict_nan: bool) -> bool {
    a.to_bits() != b.to_bits() && (strict_nan || !(a.is_nan() && b.is_nan()))
}

impl Sweep {
    /// Blocks of strided bit patterns, plus (when the stride skips some) one of [`SPECIALS`].
    fn nblocks(&self) -> u64 {
        self.count.div_ceil(self.block_len) + (self.stride > 1) as u64
    }

    /// Inputs per row.
    fn inputs(&self) -> u64 {
        self.count + if self.stride > 1 { SPECIALS.len() as u64 } else { 0 }
    }

    /// Runs every row over the inputs of block `b`; the results are in the order of `rows`.
    fn block(&self, b: u64) -> Vec<Stats> {
        let mut stats = vec![Stats::default(); self.rows.len()];
        if self.rows.is_empty() {
            return stats;
        }
        let specials = b == self.count.div_ceil(self.block_len);
        let start = if specials { 0 } else { b * self.block_len };
        let end = if specials { SPECIALS.len() as u64 } else { (start + self.block_len).min(self.count) };
        let mut xs = vec![0.0f32; SUB];
        let mut want = vec![0.0f64; SUB];
        let mut y = vec![0.0f32; SUB];
        let mut y2 = vec![0.0f32; SUB];
        let ones = vec![1.0f32; SUB];
        let mut i0 = start;
        while i0 < end {
            let n = (end - i0).min(SUB as u64) as usize;
            for (j, x) in xs[..n].iter_mut().enumerate() {
                let i = i0 + j as u64;
                *x = if specials { SPECIALS[i as usize] } else { f32::from_bits((i * self.stride) as u32) };
            }
            let xs = &xs[..n];
            let (want, y, y2, ones) = (&mut want[..n], &mut y[..n], &mut y2[..n], &ones[..n]);
            let mut r = 0;
            for k in &self.kernels {
                for &pass in k.passes() {
                    // The reference once per input and kernel, shared by every ISA.
                    for (j, (w, &x)) in want.iter_mut().zip(xs).enumerate() {
                        *w = k
                            .reference(pass, i0 + j as u64, x as f64)
                            .expect("reference checked before the sweep");
                    }
                    let bound = k.bound(pass);
                    for &isa in &self.isas {
                        let row = self.rows[r];
                        debug_assert!(row.pass == pass && row.isa == isa);
                        let st = &mut stats[r];
                        r += 1;
                        match (k, pass) {
                            (Kernel::Act(_) | Kernel::Prelu | Kernel::Rrelu, Pass::Forward) => {
                                k.forward(isa, i0, xs, y, y2);
                                for j in 0..n {
                                    let d = reference::ulp_distance(y[j], want[j]);
                                    st.see(xs[j], d, true);
                                    st.bad += (d > bound) as u64;
                                    st.mismatch += differ(y[j], y2[j], self.strict_nan) as u64;
                                }
                            }
                            (Kernel::Act(a), Pass::Backward) => {
                                a.backward_with(isa, xs, ones, y).expect("backward");
                                for j in 0..n {
                                    let d = reference::ulp_distance(y[j], want[j]);
                                    let ok = reference::backward_ok(a, xs[j], y[j], want[j]);
                                    // Near a cancelling root the bound is absolute: those
                                    // inputs count towards max_ulp only if they fail it.
                                    let near = reference::near_root(a, xs[j], want[j]);
                                    st.see(xs[j], d, !near || !ok);
                                    st.bad += !ok as u64;
                                }
                            }
                            (Kernel::Prelu | Kernel::Rrelu, Pass::Backward) => {
                                k.backward(isa, i0, xs, ones, y);
                                for j in 0..n {
                                    let d = reference::ulp_distance(y[j], want[j]);
                                    st.see(xs[j], d, true);
                                    st.bad += (d > bound) as u64;
                                }
                            }
                            (Kernel::Math(m), _) => {
                                probe::eval(m, isa, xs, y).expect("math probe");
                                for j in 0..n {
                                    let d = reference::ulp_distance(y[j], want[j]);
                                    st.see(xs[j], d, true);
                                    st.bad += (d > bound) as u64;
                                }
                            }
                        }
                    }
                }
            }
            i0 += n as u64;
        }
        stats
    }

    /// The resume-file line of a finished block.
    fn record(&self, b: u64, stats: &[Stats]) -> String {
        let mut s = format!("block {} {} {} {}", self.stride, self.block_len, self.strict_nan as u8, b);
        for (row, st) in self.rows.iter().zip(stats) {
            s += &format!(
                " {}|{}|{}|{}|{}|{}|{}|{}",
                self.kernels[row.kernel].label(),
                row.pass.name(),
                row.isa,
                st.inputs,
                st.max_ulp,
                st.worst_bits,
                st.bad,
                st.mismatch
            );
        }
        s + " end\n"
    }

    /// Blocks of this sweep found in the resume file's text, with every row this run needs.
    fn parse_resume(&self, text: &str) -> HashMap<u64, Vec<Stats>> {
        let mut done = HashMap::new();
        for line in text.lines() {
            let t: Vec<&str> = line.split(' ').collect();
            if t.len() < 6 || t[0] != "block" || t[t.len() - 1] != "end" {
                continue;
            }
            let (Ok(stride), Ok(len), Ok(b)) =
                (t[1].parse::<u64>(), t[2].parse::<u64>(), t[4].parse::<u64>())
            else {
                continue;
            };
            let strict = t[3] == "1";
            if stride != self.stride
                || len != self.block_len
                || strict != self.strict_nan
                || b >= self.nblocks()
            {
                continue;
            }
            let mut have: HashMap<(&str, &str, &str), Stats> = HashMap::new();
            let mut good = true;
            for tok in &t[5..t.len() - 1] {
                let f: Vec<&str> = tok.split('|').collect();
                let nums: Option<Vec<u64>> =
                    f.get(3..8).and_then(|v| v.iter().map(|s| s.parse().ok()).collect());
                match nums {
                    Some(v) if f.len() == 8 && v[2] <= u32::MAX as u64 => {
                        let st = Stats {
                            inputs: v[0],
                            max_ulp: v[1],
                            worst_bits: v[2] as u32,
                            bad: v[3],
                            mismatch: v[4],
                        };
                        have.insert((f[0], f[1], f[2]), st);
                    }
                    _ => good = false,
                }
            }
            if !good {
                continue;
            }
            let labels: Vec<String> = self.kernels.iter().map(Kernel::label).collect();
            let isas: Vec<String> = self.rows.iter().map(|r| r.isa.to_string()).collect();
            let stats: Option<Vec<Stats>> = self
                .rows
                .iter()
                .zip(&isas)
                .map(|(r, isa)| have.get(&(labels[r.kernel].as_str(), r.pass.name(), isa.as_str())).copied())
                .collect();
            if let Some(stats) = stats {
                done.insert(b, stats);
            }
        }
        done
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("ulp: {msg}");
    eprintln!(
        "usage: ulp [--json] [--markdown] [--stride N | --exhaustive] [--resume FILE] [--isa I,J] \
         [--kernels a,b] [--math] [--strict-nan]"
    );
    exit(2)
}

fn fmt_x(bits: u32) -> String {
    let x = f32::from_bits(bits);
    if x.is_nan() {
        "\"nan\"".into()
    } else if x.is_infinite() {
        if x > 0.0 { "\"inf\"".into() } else { "\"-inf\"".into() }
    } else {
        format!("{x:?}")
    }
}

fn fmt_ulp(u: u64) -> String {
    if u == u64::MAX { "NaN≠".into() } else { u.to_string() }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut json, mut markdown, mut exhaustive, mut math) = (false, false, false, false);
    let mut strict_nan = false;
    let mut stride = 4099u64;
    let mut resume: Option<String> = None;
    let mut only_isa: Option<Vec<Isa>> = None;
    let mut names: Option<Vec<String>> = None;
    while let Some(a) = args.next() {
        let mut value = |what: &str| args.next().unwrap_or_else(|| usage(&format!("{a} needs {what}")));
        match a.as_str() {
            "--json" => json = true,
            "--markdown" => markdown = true,
            "--exhaustive" => exhaustive = true,
            "--math" => math = true,
            "--strict-nan" => strict_nan = true,
            "--stride" => {
                stride = value("a number")
                    .parse()
                    .ok()
                    .filter(|&s| s > 0 && s <= 1 << 32)
                    .unwrap_or_else(|| usage("--stride needs a number in 1..=2^32"))
            }
            "--resume" => resume = Some(value("a file name")),
            "--isa" => {
                let v = value("a list of ISA names");
                only_isa = Some(isas::parse(&v, &[]).unwrap_or_else(|e| usage(&e)));
            }
            "--kernels" => {
                let v = value("a list of names");
                names =
                    Some(v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect());
            }
            "-h" | "--help" => usage("accuracy sweep against the f64 reference"),
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    if exhaustive {
        stride = 1;
    }

    // Kernels, in the order asked (default: every implemented activation, then --math).
    let mut kernels: Vec<Kernel> = Vec::new();
    let mut row_kernels: Vec<rows::Kernel> = Vec::new();
    let mut failed = false;
    let add = |k: Kernel, kernels: &mut Vec<Kernel>| {
        if !kernels.iter().any(|h| h.label() == k.label()) {
            kernels.push(k);
        }
    };
    match &names {
        None => {
            Activation::all()
                .filter(Activation::is_implemented)
                .map(Kernel::Act)
                .chain([Kernel::Prelu, Kernel::Rrelu])
                .for_each(|k| add(k, &mut kernels));
            row_kernels = rows::Kernel::ALL.to_vec();
        }
        Some(list) => {
            for n in list {
                let math_name = n.strip_prefix("math:").unwrap_or(n);
                if let Some(k) = rows::Kernel::ALL.into_iter().find(|k| k.name() == n) {
                    if !row_kernels.contains(&k) {
                        row_kernels.push(k);
                    }
                } else if let Some(k) = [Kernel::Prelu, Kernel::Rrelu].into_iter().find(|k| k.label() == *n) {
                    add(k, &mut kernels);
                } else if let (false, Ok(a)) = (n.starts_with("math:"), Activation::from_name(n)) {
                    if a.is_implemented() {
                        add(Kernel::Act(a), &mut kernels);
                    } else {
                        eprintln!("ulp: skipping {n}: not implemented yet");
                    }
                } else if let Some(m) = probe::NAMES.iter().find(|m| **m == math_name) {
                    add(Kernel::Math(m), &mut kernels);
                } else {
                    usage(&format!(
                        "unknown kernel {n} (activations: {:?}, prelu, rrelu, softmax, log_softmax; math: {:?})",
                        Activation::all().map(|a| a.name()).collect::<Vec<_>>(),
                        probe::NAMES
                    ));
                }
            }
        }
    }
    if math {
        probe::NAMES.iter().for_each(|m| add(Kernel::Math(m), &mut kernels));
    }
    kernels.retain(|k| {
        let has = k.has_reference();
        if !has {
            eprintln!("ulp: {} has no f64 reference: not swept (counts as a failure)", k.label());
            failed = true;
        }
        has
    });

    let isas = match only_isa {
        Some(list) => list,
        None => Isa::available(),
    };
    let mut rows = Vec::new();
    for (ki, k) in kernels.iter().enumerate() {
        for &pass in k.passes() {
            for &isa in &isas {
                rows.push(Row { kernel: ki, pass, isa });
            }
        }
    }
    let count = (1u64 << 32).div_ceil(stride);
    let block_len = if count > 1 << 26 { 1 << 24 } else { 1 << 16 };
    let sweep = Sweep { kernels, isas, rows, stride, count, block_len, strict_nan };
    let nblocks = sweep.nblocks();

    // Resume file: blocks already done, and the file to append to.
    let mut done = HashMap::new();
    let file = resume.as_ref().map(|path| {
        let mut f = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .unwrap_or_else(|e| usage(&format!("cannot open {path}: {e}")));
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap_or_else(|e| usage(&format!("cannot read {path}: {e}")));
        done = sweep.parse_resume(&text);
        // A line cut short by a kill: end it, so the next record starts on its own line.
        if !text.is_empty() && !text.ends_with('\n') {
            let _ = f.seek(SeekFrom::End(0));
            f.write_all(b"\n").unwrap_or_else(|e| usage(&format!("cannot write {path}: {e}")));
        }
        if !done.is_empty() {
            eprintln!("ulp: {path}: {} of {nblocks} blocks already done", done.len());
        }
        Mutex::new(f)
    });

    let progress = count >= 1 << 24 || file.is_some();
    let t0 = Instant::now();
    let finished = AtomicU64::new(done.len() as u64);
    let to_do = nblocks - done.len() as u64;
    let last_print = Mutex::new(Instant::now());
    let computed: Vec<(u64, Vec<Stats>)> = (0..nblocks)
        .into_par_iter()
        .filter(|b| !done.contains_key(b))
        .map(|b| {
            let stats = sweep.block(b);
            if let Some(f) = &file {
                let line = sweep.record(b, &stats);
                let mut f = f.lock().unwrap();
                if let Err(e) = f.write_all(line.as_bytes()).and_then(|_| f.flush()) {
                    eprintln!("ulp: cannot append to the resume file: {e}");
                }
            }
            let fin = finished.fetch_add(1, Ordering::Relaxed) + 1;
            if progress {
                let mut last = last_print.lock().unwrap();
                if last.elapsed().as_secs_f64() >= 2.0 || fin == nblocks {
                    *last = Instant::now();
                    let el = t0.elapsed().as_secs_f64();
                    let new = fin - (nblocks - to_do);
                    let left = el / new as f64 * (nblocks - fin) as f64;
                    eprintln!(
                        "ulp: {fin}/{nblocks} blocks ({:.1}%), {:.0} s elapsed, ~{:.0} s left",
                        100.0 * fin as f64 / nblocks as f64,
                        el,
                        left
                    );
                }
            }
            (b, stats)
        })
        .collect();
    for (b, s) in computed {
        done.insert(b, s);
    }

    let mut total = vec![Stats::default(); sweep.rows.len()];
    for b in 0..nblocks {
        for (t, s) in total.iter_mut().zip(&done[&b]) {
            t.merge(s);
        }
    }

    let t1 = Instant::now();
    let mut reports: Vec<Report> = sweep
        .rows
        .iter()
        .zip(&total)
        .map(|(row, st)| {
            let k = &sweep.kernels[row.kernel];
            Report {
                kernel: k.label(),
                pass: row.pass.name(),
                isa: row.isa,
                inputs: st.inputs,
                max_ulp: st.max_ulp,
                bound: k.bound(row.pass),
                worst: Worst::X(st.worst_bits),
                bad: st.bad,
                mismatch: st.mismatch,
            }
        })
        .collect();
    reports.extend(rows::sweep(&row_kernels, &sweep.isas, stride, strict_nan));

    // Output.
    let mut notes = Vec::new();
    if !sweep.rows.is_empty() {
        notes.push(format!(
            "{} inputs per row ({}), {:.1} s; backward: dy = 1, max over inputs outside the near-root \
             region (|f'| < 2^-6, |x| ≤ 4), where the bound is an absolute 2^-23.",
            sweep.inputs(),
            if stride == 1 {
                "all 2^32 f32 bit patterns".to_string()
            } else {
                format!("every {stride}th bit pattern and {} special values", SPECIALS.len())
            },
            (t1 - t0).as_secs_f64()
        ));
    }
    if !row_kernels.is_empty() {
        notes.push(format!(
            "{}, {:.1} s; max over the results outside the absolute-bound regions.",
            rows::workload(stride),
            t1.elapsed().as_secs_f64()
        ));
    }
    if json {
        for r in &reports {
            let worst = match &r.worst {
                Worst::X(bits) => format!("\"worst_x\":{}", fmt_x(*bits)),
                Worst::Case(case) => format!("\"worst\":\"{case}\""),
            };
            println!(
                "{{\"kernel\":\"{}\",\"pass\":\"{}\",\"isa\":\"{}\",\"inputs\":{},\"max_ulp\":{},{worst},\"ok\":{}}}",
                r.kernel,
                r.pass,
                r.isa,
                r.inputs,
                r.max_ulp,
                r.ok()
            );
        }
    }
    if markdown {
        print_markdown(&sweep.isas, &reports);
        println!();
        notes.iter().for_each(|n| println!("{n}"));
    }
    if !json && !markdown {
        println!(
            "{:<14} {:<9} {:<8} {:>10} {:>7} {:>5} {:>9} {:>9}  ok   worst",
            "kernel", "pass", "isa", "inputs", "max_ulp", "bound", "fails", "inplace≠"
        );
        for r in &reports {
            println!(
                "{:<14} {:<9} {:<8} {:>10} {:>7} {:>5} {:>9} {:>9}  {:<4} {}",
                r.kernel,
                r.pass,
                r.isa.to_string(),
                r.inputs,
                fmt_ulp(r.max_ulp),
                r.bound,
                r.bad,
                r.mismatch,
                if r.ok() { "yes" } else { "NO" },
                match &r.worst {
                    Worst::X(bits) => format!("x = {:e}", f32::from_bits(*bits)),
                    Worst::Case(case) => case.clone(),
                }
            );
        }
        notes.iter().for_each(|n| println!("{n}"));
    }
    if failed || reports.iter().any(|r| !r.ok()) {
        exit(1);
    }
}

/// One row of the output, from either sweep.
struct Report {
    kernel: String,
    pass: &'static str,
    isa: Isa,
    inputs: u64,
    max_ulp: u64,
    bound: u64,
    worst: Worst,
    /// Results outside the bound.
    bad: u64,
    /// Results where the in-place form differs from the out-of-place one.
    mismatch: u64,
}

/// Where a row reaches its `max_ulp` first: an input of the bit-pattern sweep, or a row kernel's
/// case.
enum Worst {
    X(u32),
    Case(String),
}

impl Report {
    fn ok(&self) -> bool {
        self.bad == 0 && self.mismatch == 0
    }
}

/// kernel × pass rows, one column per ISA: the max ULP (✗ where the row is not ok).
fn print_markdown(isas: &[Isa], reports: &[Report]) {
    let mut head = String::from("| kernel | pass |");
    let mut rule = String::from("|---|---|");
    for isa in isas {
        head += &format!(" {isa} |");
        rule += "---:|";
    }
    println!("{head} bound |\n{rule}---:|");
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for r in reports {
        if seen.contains(&(r.kernel.as_str(), r.pass)) {
            continue;
        }
        seen.push((r.kernel.as_str(), r.pass));
        let mut line = format!("| {} | {} |", r.kernel, r.pass);
        for &isa in isas {
            let st = reports
                .iter()
                .find(|s| s.kernel == r.kernel && s.pass == r.pass && s.isa == isa)
                .expect("row");
            line += &format!(" {}{} |", fmt_ulp(st.max_ulp), if st.ok() { "" } else { " ✗" });
        }
        println!("{line} {} |", r.bound);
    }
}

/// The row kernels' sweep: `softmax` (passes `forward`, `backward`) and `log_softmax`
/// (`forward`, `backward`, `logsumexp`) over random rows, against an f64 oracle written here from
/// the formulas.
mod rows {
    use super::{Report, Worst, differ};
    use crate::rng::Rng;
    use nnsimd::internals::reference::ulp_distance;
    use nnsimd::{Isa, LogSoftmax, Softmax};
    use rayon::prelude::*;

    /// A row kernel.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Kernel {
        Softmax,
        LogSoftmax,
    }

    impl Kernel {
        pub const ALL: [Kernel; 2] = [Kernel::Softmax, Kernel::LogSoftmax];

        pub fn name(self) -> &'static str {
            match self {
                Kernel::Softmax => "softmax",
                Kernel::LogSoftmax => "log_softmax",
            }
        }

        fn passes(self) -> &'static [Pass] {
            match self {
                Kernel::Softmax => &[Pass::Forward, Pass::Backward],
                Kernel::LogSoftmax => &[Pass::Forward, Pass::Backward, Pass::Logsumexp],
            }
        }
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Pass {
        Forward,
        Backward,
        Logsumexp,
    }

    impl Pass {
        fn name(self) -> &'static str {
            match self {
                Pass::Forward => "forward",
                Pass::Backward => "backward",
                Pass::Logsumexp => "logsumexp",
            }
        }

        /// The ULP bound (`src/rows/mod.rs`); each pass also has its absolute bound, see
        /// [`Oracle`].
        fn bound(self) -> u64 {
            match self {
                Pass::Forward => 4,
                Pass::Backward => 8,
                Pass::Logsumexp => 2,
            }
        }
    }

    /// The row families: x = scale·N(0, 1); the same with each entry −inf with probability 1/4
    /// (one random entry kept finite); the same with one random entry set to 30·scale above
    /// max(0, the others' maximum).
    #[derive(Clone, Copy, Debug)]
    enum Family {
        Plain,
        Masked,
        Dominant,
    }

    /// (len, inner): contiguous rows from 1 to 65,536 long, then strided axes (inner 2 to 7).
    const GEOMETRIES: [(usize, usize); 22] = [
        (1, 1),
        (2, 1),
        (3, 1),
        (5, 1),
        (7, 1),
        (17, 1),
        (31, 1),
        (127, 1),
        (128, 1),
        (129, 1),
        (1000, 1),
        (4099, 1),
        (32000, 1),
        (65536, 1),
        (1, 2),
        (3, 3),
        (7, 4),
        (17, 5),
        (128, 6),
        (1000, 7),
        (4099, 2),
        (32000, 3),
    ];
    /// Row r of a (geometry, family) case has the scale `SCALES[r % 7]`.
    const SCALES: [f32; 7] = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0];
    /// Elements per (geometry, family) case at the default stride 4099, scaled by 4099/stride
    /// (at least 7 rows, one per scale).
    const CASE_ELEMENTS: u64 = 1 << 16;
    /// Elements per unit of work (at least one `[len, inner]` slab).
    const BATCH_ELEMENTS: usize = 1 << 20;

    /// Some whole slabs of a case: `outer` of them from slab `outer0` on.
    struct Batch {
        len: usize,
        inner: usize,
        family: Family,
        outer0: usize,
        outer: usize,
        seed: u64,
    }

    impl Batch {
        fn rows(&self) -> usize {
            self.outer * self.inner
        }

        /// The element indices of row `r` (rows in `[outer, inner]` order).
        fn row(&self, r: usize) -> impl Iterator<Item = usize> + Clone {
            let (o, i, inner) = (r / self.inner, r % self.inner, self.inner);
            (0..self.len).map(move |j| (o * self.len + j) * inner + i)
        }

        fn scale(&self, r: usize) -> f32 {
            SCALES[(self.outer0 * self.inner + r) % SCALES.len()]
        }

        /// x and dy (N(0, 1)).
        fn inputs(&self) -> (Vec<f32>, Vec<f32>) {
            let mut rng = Rng(self.seed);
            let n = self.rows() * self.len;
            let mut x = vec![0.0f32; n];
            for r in 0..self.rows() {
                let scale = self.scale(r);
                let keep = self.row(r).nth(rng.next_u64() as usize % self.len).unwrap();
                for k in self.row(r) {
                    let masked = matches!(self.family, Family::Masked)
                        && k != keep
                        && rng.next_u64().is_multiple_of(4);
                    x[k] = if masked { f32::NEG_INFINITY } else { rng.normal(scale as f64) };
                }
                if let Family::Dominant = self.family {
                    let rest = self.row(r).filter(|&k| k != keep).map(|k| x[k]).fold(0.0f32, f32::max);
                    x[keep] = rest + 30.0 * scale;
                }
            }
            let dy = (0..n).map(|_| rng.normal(1.0)).collect();
            (x, dy)
        }

        fn describe(&self, r: usize) -> String {
            format!("{:?} row len {} inner {} scale {}", self.family, self.len, self.inner, self.scale(r))
        }
    }

    /// The row sweep's inputs, for the output's notes.
    pub fn workload(stride: u64) -> String {
        let n: usize = batches(stride).iter().map(|b| b.rows() * b.len).sum();
        format!(
            "row kernels: {n} elements in random rows ({} geometries × {{plain, masked, dominant}}, \
             scales 0.1 to 100)",
            GEOMETRIES.len()
        )
    }

    /// The units of work: each (geometry, family) case of `CASE_ELEMENTS · 4099 / stride`
    /// elements, cut into batches of at most `BATCH_ELEMENTS`.
    fn batches(stride: u64) -> Vec<Batch> {
        let target = (CASE_ELEMENTS * 4099).div_ceil(stride) as usize;
        let mut out = Vec::new();
        for (gi, &(len, inner)) in GEOMETRIES.iter().enumerate() {
            for (fi, family) in [Family::Plain, Family::Masked, Family::Dominant].into_iter().enumerate() {
                let slab = len * inner;
                let total = target.div_ceil(slab).max(SCALES.len().div_ceil(inner));
                let per = (BATCH_ELEMENTS / slab).max(1);
                for outer0 in (0..total).step_by(per) {
                    let seed = 0x5eed_0000_0000 ^ ((gi as u64) << 40) ^ ((fi as u64) << 36) ^ outer0 as u64;
                    out.push(Batch { len, inner, family, outer0, outer: per.min(total - outer0), seed });
                }
            }
        }
        out
    }

    /// The f64 oracle of one kernel on a batch, with each result's absolute bound.
    ///
    /// Per row, m = max x and Σ = Σ e^(x − m) = (count of maxima) + (the others' sum), ln Σ as
    /// log1p(Σ − 1) (a dominant logit keeps its digits): softmax y = e^(x − m)/Σ, log-softmax
    /// y = (x − m) − ln Σ (absolute bound 2^-22·(|x − m| + ln Σ)), logsumexp m + ln Σ (bound
    /// 2^-23·(|m| + ln Σ)). Backward from y_saved = y rounded to f32, as a framework holds it:
    /// softmax dx = y·(dy − Σ dy·y), log-softmax dx = dy − e^y·Σ dy (bound 2^-22·Σ|dy·s|, s the
    /// softmax). Softmax's forward has no absolute bound.
    struct Oracle {
        y: Vec<f64>,
        y_abs: Vec<f64>,
        y_saved: Vec<f32>,
        dx: Vec<f64>,
        dx_abs: Vec<f64>,
        lse: Vec<(f64, f64)>,
    }

    impl Oracle {
        fn new(k: Kernel, b: &Batch, x: &[f32], dy: &[f32]) -> Oracle {
            let n = x.len();
            let mut o = Oracle {
                y: vec![0.0; n],
                y_abs: vec![0.0; n],
                y_saved: vec![0.0; n],
                dx: vec![0.0; n],
                dx_abs: vec![0.0; n],
                lse: Vec::with_capacity(b.rows()),
            };
            let log = k == Kernel::LogSoftmax;
            for r in 0..b.rows() {
                let m = b.row(r).map(|k| x[k] as f64).fold(f64::NEG_INFINITY, f64::max);
                let maxima = b.row(r).filter(|&k| x[k] as f64 == m).count() as f64;
                let others: f64 =
                    b.row(r).map(|k| x[k] as f64).filter(|&v| v < m).map(|v| (v - m).exp()).sum();
                let ln_sum = (maxima - 1.0 + others).ln_1p();
                o.lse.push((m + ln_sum, 2f64.powi(-23) * (m.abs() + ln_sum)));
                for k in b.row(r) {
                    let d = x[k] as f64 - m;
                    (o.y[k], o.y_abs[k]) = if log {
                        (d - ln_sum, 2f64.powi(-22) * (d.abs() + ln_sum))
                    } else {
                        (d.exp() / (maxima + others), 0.0)
                    };
                    o.y_saved[k] = o.y[k] as f32;
                }
                // s = e^y (log-softmax) or y; the sum is Σ dy (log-softmax) or Σ dy·y.
                let (y, dy) = (|k: usize| o.y_saved[k] as f64, |k: usize| dy[k] as f64);
                let s = |k: usize| if log { y(k).exp() } else { y(k) };
                let sum: f64 = b.row(r).map(|k| if log { dy(k) } else { dy(k) * y(k) }).sum();
                let dx_abs = 2f64.powi(-22) * b.row(r).map(|k| (dy(k) * s(k)).abs()).sum::<f64>();
                for k in b.row(r) {
                    o.dx[k] = if log { dy(k) - s(k) * sum } else { y(k) * (dy(k) - sum) };
                    o.dx_abs[k] = dx_abs;
                }
            }
            o
        }
    }

    /// What one row of the report has seen.
    #[derive(Clone, Default)]
    struct Stats {
        inputs: u64,
        max_ulp: u64,
        worst: String,
        bad: u64,
        mismatch: u64,
    }

    impl Stats {
        /// Checks one result: within `bound` ULP of `want`, or `abs` of it (NaN meets NaN, an
        /// infinity is met exactly). Where `abs` is the wider bound (cancellation), the result
        /// counts towards `max_ulp` only if it fails.
        fn see(&mut self, got: f32, want: f64, bound: u64, abs: f64, describe: impl Fn() -> String) {
            let ulp = ulp_distance(got, want);
            let ok = if want.is_finite() && got.is_finite() {
                ulp <= bound || (got as f64 - want).abs() <= abs
            } else {
                (got.is_nan() && want.is_nan()) || got as f64 == want
            };
            let w = (want as f32).abs();
            let wide = want.is_finite() && abs > bound as f64 * (f32::from_bits(w.to_bits() + 1) - w) as f64;
            let ulp = if ok { ulp } else { ulp.max(bound + 1) };
            if (!wide || !ok) && (ulp > self.max_ulp || self.worst.is_empty()) {
                self.max_ulp = ulp;
                self.worst = format!("{}, got {got:e}, want {want:e}", describe());
            }
            self.inputs += 1;
            self.bad += !ok as u64;
        }

        /// Adds a later batch's results (the first worst case stays).
        fn merge(&mut self, o: Stats) {
            if o.max_ulp > self.max_ulp || self.worst.is_empty() {
                (self.max_ulp, self.worst) = (o.max_ulp, o.worst);
            }
            self.inputs += o.inputs;
            self.bad += o.bad;
            self.mismatch += o.mismatch;
        }
    }

    /// Runs `$body` with `$op` the kernel `$k` along the batch's axis.
    macro_rules! dispatch {
        ($k:expr, $b:expr, |$op:ident| $body:expr) => {
            match $k {
                Kernel::Softmax => {
                    let $op = Softmax::along($b.len, $b.inner).expect("geometry");
                    $body
                }
                Kernel::LogSoftmax => {
                    let $op = LogSoftmax::along($b.len, $b.inner).expect("geometry");
                    $body
                }
            }
        };
    }

    /// Every (kernel, pass, ISA) row of one batch, in report order.
    fn batch(b: &Batch, kernels: &[Kernel], isas: &[Isa], strict_nan: bool) -> Vec<Stats> {
        let (x, dy) = b.inputs();
        let n = x.len();
        let (mut y, mut y2) = (vec![0.0f32; n], vec![0.0f32; n]);
        let mut out = Vec::new();
        for &k in kernels {
            let o = Oracle::new(k, b, &x, &dy);
            for &pass in k.passes() {
                for &isa in isas {
                    let mut st = Stats::default();
                    let bound = pass.bound();
                    let at = |r: usize, k: usize, what: &str, v: f32| {
                        format!("{}, element {}: {what} {v:e}", b.describe(r), k / b.inner % b.len)
                    };
                    match pass {
                        Pass::Forward | Pass::Backward => {
                            let fwd = pass == Pass::Forward;
                            let src = if fwd { &x } else { &dy };
                            y2.copy_from_slice(src);
                            dispatch!(k, b, |op| if fwd {
                                op.forward_with(isa, &x, &mut y).expect("forward");
                                op.forward_inplace_with(isa, &mut y2).expect("forward_inplace");
                            } else {
                                op.backward_with(isa, &o.y_saved, &dy, &mut y).expect("backward");
                                op.backward_inplace_with(isa, &o.y_saved, &mut y2).expect("backward_inplace");
                            });
                            st.mismatch =
                                y.iter().zip(&y2).filter(|(a, b)| differ(**a, **b, strict_nan)).count()
                                    as u64;
                            let (want, abs) = if fwd { (&o.y, &o.y_abs) } else { (&o.dx, &o.dx_abs) };
                            for r in 0..b.rows() {
                                for k in b.row(r) {
                                    let what = if fwd { "x" } else { "dy" };
                                    st.see(y[k], want[k], bound, abs[k], || at(r, k, what, src[k]));
                                }
                            }
                        }
                        Pass::Logsumexp => {
                            let lse = &mut y[..b.rows()];
                            LogSoftmax::along(b.len, b.inner)
                                .expect("geometry")
                                .logsumexp_with(isa, &x, lse)
                                .expect("logsumexp");
                            for (r, (&got, &(want, abs))) in lse.iter().zip(&o.lse).enumerate() {
                                st.see(got, want, bound, abs, || b.describe(r));
                            }
                        }
                    }
                    out.push(st);
                }
            }
        }
        out
    }

    /// The sweep's rows: kernel, pass, ISA. Rows per case scale with 4099/stride.
    pub fn sweep(kernels: &[Kernel], isas: &[Isa], stride: u64, strict_nan: bool) -> Vec<Report> {
        // Batches merged in order, so that a row's worst case is the first one found.
        let total = batches(stride).par_iter().map(|b| batch(b, kernels, isas, strict_nan)).reduce(
            Vec::new,
            |mut t, s| {
                if t.is_empty() {
                    return s;
                }
                t.iter_mut().zip(s).for_each(|(t, s)| t.merge(s));
                t
            },
        );
        let mut reports = Vec::new();
        let mut it = total.into_iter();
        for &k in kernels {
            for &pass in k.passes() {
                for &isa in isas {
                    let st = it.next().expect("one row per kernel, pass and ISA");
                    reports.push(Report {
                        kernel: k.name().into(),
                        pass: pass.name(),
                        isa,
                        inputs: st.inputs,
                        max_ulp: st.max_ulp,
                        bound: pass.bound(),
                        worst: Worst::Case(st.worst),
                        bad: st.bad,
                        mismatch: st.mismatch,
                    });
                }
            }
        }
        reports
    }
}
