//! Every activation and its derivative over [−5, 5], computed with the crate's kernels and
//! drawn with `plotters`: one SVG per family in DIR.
//!
//! `cargo run --release --example plot_activations -- DIR` writes `DIR/activations_<family>.svg`
//! (the README shows the ones in `docs/img/`). The left panel is f(x) from
//! [`Activation::forward`], the right one f'(x) from [`Activation::backward`] with dy = 1.
//! Parameters are the defaults, except where a default would draw the same curve as another
//! activation of the family (leaky ReLU's slope 0.01 next to ReLU, Swish β = 1 = SiLU, CELU and
//! PELU at 1 = ELU): those are drawn at the values the legend names.

#[path = "common/chart.rs"]
mod chart;

use chart::{ChartError, Series};
use nnsimd::Activation;
use nnsimd::internals::activations;
use plotters::prelude::*;

/// Points per curve: steps of 0.025, so the kinks at 0, ±1, ±3, 6 are grid points.
const POINTS: usize = 401;
const X_MIN: f64 = -5.0;
const X_MAX: f64 = 5.0;

/// The families, one SVG each, in drawing order: (file stem, title).
const FAMILIES: [(&str, &str); 6] = [
    ("logistic", "Logistic family"),
    ("tanh", "Tanh family"),
    ("relu", "Linear / ReLU family"),
    ("exp_linear", "Exponential-linear family"),
    ("gated", "GELU / Mish family (x times a gate)"),
    ("other", "Other activations"),
];

/// The family (file stem) of an activation, from the registry; a family without a chart of its
/// own is drawn under "other".
fn family(a: &Activation) -> &'static str {
    let f = activations::plot_family(a);
    FAMILIES.iter().find(|(stem, _)| *stem == f).map_or("other", |(stem, _)| stem)
}

/// The legend text: the name, with the parameters of a parameterised activation.
fn label(a: &Activation) -> String {
    let params = activations::params(a);
    if params.is_empty() {
        return a.name().to_string();
    }
    let symbol = |name: &str| match name {
        "alpha" => "α".to_string(),
        "beta" => "β".to_string(),
        other => other.to_string(),
    };
    let list: Vec<String> = params.iter().map(|p| format!("{} {}", symbol(p.name), p.value)).collect();
    format!("{} ({})", a.name(), list.join(", "))
}

/// f and f' of `a` on the grid `x`, from the crate's forward and backward kernels.
fn curves(a: &Activation, x: &[f32]) -> Result<(Series, Series), nnsimd::Error> {
    let mut y = vec![0.0f32; x.len()];
    let mut dx = vec![0.0f32; x.len()];
    a.forward(x, &mut y)?;
    a.backward(x, &vec![1.0f32; x.len()], &mut dx)?;
    let points = |v: &[f32]| x.iter().zip(v).map(|(&x, &v)| (x as f64, v as f64)).collect();
    // Grid steps change a smooth f' by < 0.05: a larger step is a jump at a kink.
    Ok((Series::new(label(a), points(&y)), Series::broken(label(a), points(&dx), 0.2)))
}

fn plot(dir: &std::path::Path) -> Result<(), ChartError> {
    std::fs::create_dir_all(dir)?;
    let step = (X_MAX - X_MIN) / (POINTS - 1) as f64;
    let x: Vec<f32> = (0..POINTS).map(|i| (X_MIN + i as f64 * step) as f32).collect();
    let acts: Vec<Activation> =
        Activation::all().filter(|a| a.is_implemented()).map(|a| activations::plot_shown(&a)).collect();
    for (stem, title) in FAMILIES {
        let mut f = Vec::new();
        let mut df = Vec::new();
        for a in acts.iter().filter(|a| family(a) == stem) {
            let (y, dy) = curves(a, &x)?;
            f.push(y);
            df.push(dy);
        }
        if f.is_empty() {
            continue;
        }
        let path = dir.join(format!("activations_{stem}.svg"));
        let root = SVGBackend::new(&path, (1200, 460)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(600);
        let (fy, dfy) = (chart::y_range(&f), chart::y_range(&df));
        chart::draw(&left, &format!("{title}: f(x)"), ("x", "f(x)"), X_MIN..X_MAX, fy, &f)?;
        chart::draw(&right, &format!("{title}: f'(x)"), ("x", "f'(x)"), X_MIN..X_MAX, dfy, &df)?;
        root.present()?;
        println!("{} ({} activations)", path.display(), f.len());
    }
    Ok(())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: plot_activations DIR   (writes DIR/activations_<family>.svg)");
        std::process::exit(2);
    };
    if let Err(e) = plot(std::path::Path::new(&dir)) {
        eprintln!("plot_activations: {e}");
        std::process::exit(1);
    }
}
