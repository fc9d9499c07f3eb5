//! Draws the `speed` example's JSON lines as a chart: Melem/s of every kernel and pass, one
//! marker per ISA and one for the naive loop, on a log axis, with the memory limits as lines
//! (`limit_copy` beside the activations, `limit_update3` beside the optimizer steps).
//!
//! ```text
//! cargo run --release --example speed -- --json --sizes 65536 > speed.jsonl
//! cargo run --release --example plot_speed -- [speed.jsonl | -] [--size N] [--threads T] [--out docs/img/speed.svg]
//! ```
//!
//! Input: a file, or stdin when it is `-` or missing; lines that are not JSON are skipped. Of
//! its rows, those of one size (`--size`, default 65536 when present, else the first row's) and
//! thread count (`--threads`, default 1) are drawn. `scripts/speed_readme.sh` regenerates the
//! README's table and chart together.

#[path = "common/chart.rs"]
mod chart;

use chart::{ChartError, color, tick};
use plotters::prelude::*;
use std::io::Read;

/// One measurement of the `speed` example.
struct Row {
    kernel: String,
    pass: String,
    isa: String,
    n: u64,
    threads: u64,
    melem: f64,
}

fn parse(text: &str) -> Vec<Row> {
    let rows = text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok());
    rows.filter_map(|v| {
        Some(Row {
            kernel: v.get("kernel")?.as_str()?.to_string(),
            pass: v.get("pass")?.as_str()?.to_string(),
            isa: v.get("isa")?.as_str()?.to_string(),
            n: v.get("n")?.as_u64()?,
            threads: v.get("threads").and_then(|t| t.as_u64()).unwrap_or(1),
            melem: v.get("melem_per_s")?.as_f64()?,
        })
    })
    .collect()
}

fn usage(msg: &str) -> ! {
    eprintln!("plot_speed: {msg}");
    eprintln!("usage: plot_speed [FILE | -] [--size N] [--threads T] [--out PATH]");
    std::process::exit(2)
}

/// The CPU this runs on (the chart is drawn where it was measured), from /proc/cpuinfo.
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let field = |k: &str| {
        info.lines()
            .find(|l| l.split(':').next().is_some_and(|f| f.trim() == k))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let name = field("model name")?;
    Some(match (field("cpu family"), field("model")) {
        (Some(f), Some(m)) => format!("{name}, family {f} model {m}"),
        _ => name,
    })
}

fn main() -> Result<(), ChartError> {
    let (mut input, mut size, mut threads, mut out) = (None, None, 1u64, "docs/img/speed.svg".to_string());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |what: &str| args.next().unwrap_or_else(|| usage(&format!("{a} needs {what}")));
        let number =
            |v: String| v.parse::<u64>().unwrap_or_else(|_| usage(&format!("{v:?} is not a number")));
        match a.as_str() {
            "--size" => size = Some(number(value("a size"))),
            "--threads" => threads = number(value("a thread count")),
            "--out" => out = value("a path"),
            "-h" | "--help" => usage("a chart of the speed example's JSON lines"),
            _ if input.is_none() && !a.starts_with("--") => input = Some(a),
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    let mut text = String::new();
    match input.as_deref() {
        None | Some("-") => {
            std::io::stdin().read_to_string(&mut text)?;
        }
        Some(path) => text = std::fs::read_to_string(path)?,
    }
    let all = parse(&text);
    let size = size
        .or_else(|| all.iter().any(|r| r.n == 65536).then_some(65536))
        .or_else(|| all.first().map(|r| r.n))
        .unwrap_or_else(|| usage("no measurements in the input"));
    let rows: Vec<&Row> = all.iter().filter(|r| r.n == size && r.threads == threads).collect();
    if rows.is_empty() {
        usage(&format!("no measurements of n = {size} on {threads} thread(s)"));
    }
    draw(&rows, size, threads, &out)?;
    eprintln!("plot_speed: wrote {out}");
    Ok(())
}

/// Pixels per kernel row of the chart.
const ROW: u32 = 15;

fn draw(rows: &[&Row], size: u64, threads: u64, out: &str) -> Result<(), ChartError> {
    // Kernel rows (kernel, pass) in the order of the input, the limits left for lines; the
    // markers: ISAs in the order of the input, the naive loop last.
    let mut kernels: Vec<(&str, &str)> = Vec::new();
    let mut isas: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| !r.kernel.starts_with("limit_")) {
        if !kernels.contains(&(&r.kernel, &r.pass)) {
            kernels.push((&r.kernel, &r.pass));
        }
        if r.isa != "naive" && !isas.contains(&r.isa.as_str()) {
            isas.push(&r.isa);
        }
    }
    isas.push("naive");
    let limit = |k: &str| rows.iter().find(|r| r.kernel == k).map(|r| r.melem);
    let (lo, hi) =
        rows.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), r| (lo.min(r.melem), hi.max(r.melem)));
    let x = (lo / 1.5).max(1e-3)..hi * 1.5;

    let height = 140 + ROW * kernels.len() as u32;
    let area = SVGBackend::new(out, (900, height)).into_drawing_area();
    area.fill(&WHITE)?;
    let plural = if threads == 1 { "" } else { "s" };
    let title = format!("Throughput, n = {size}, {threads} thread{plural}");
    let cpu = cpu_model().map_or(String::new(), |c| format!(" on {c}"));
    let k = kernels.len() as i32;
    let mut chart = ChartBuilder::on(&area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(150)
        .build_cartesian_2d(x.log_scale(), (0..k).into_segmented())?;
    // Row i of `kernels` is drawn from the top.
    let at = |i: usize| SegmentValue::CenterOf(k - 1 - i as i32);
    let name = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(j) => {
            kernels.get((k - 1 - j) as usize).map_or(String::new(), |(n, p)| format!("{n} {p}"))
        }
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .x_desc(format!("Melem/s (log scale){cpu}"))
        .y_labels(kernels.len())
        .y_label_formatter(&name)
        .x_label_formatter(&|v| tick(*v))
        .max_light_lines(0)
        .disable_y_mesh()
        .draw()?;

    // The limits, as lines over the rows they bound: update3 the optimizer steps, copy the rest.
    let limits = [("limit_copy", false, BLACK), ("limit_update3", true, RGBColor(120, 120, 120))];
    for (kernel, steps, col) in limits {
        let Some(v) = limit(kernel) else { continue };
        let span: Vec<usize> = (0..kernels.len()).filter(|&i| (kernels[i].1 == "step") == steps).collect();
        let (Some(&first), Some(&last)) = (span.first(), span.last()) else { continue };
        let style = col.stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new([(v, at(first)), (v, at(last))], 6, 4, style))?
            .label(format!("{kernel} ({v:.0})"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], style));
    }
    for (c, isa) in isas.iter().enumerate() {
        let col = if *isa == "naive" { RGBColor(90, 90, 90).to_rgba() } else { color(c) };
        let points = kernels.iter().enumerate().filter_map(|(i, (kn, p))| {
            rows.iter().find(|r| r.kernel == *kn && r.pass == *p && r.isa == *isa).map(|r| (r.melem, at(i)))
        });
        if *isa == "naive" {
            chart
                .draw_series(points.map(|p| Cross::new(p, 4, col.stroke_width(2))))?
                .label("naive loop")
                .legend(move |(x, y)| Cross::new((x + 9, y), 4, col.stroke_width(2)));
        } else {
            chart
                .draw_series(points.map(|p| Circle::new(p, 4, col.filled())))?
                .label(*isa)
                .legend(move |(x, y)| Circle::new((x + 9, y), 4, col.filled()));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    area.present()?;
    Ok(())
}
