//! Line charts drawn with `plotters` into SVG, shared by the `plot_activations` and `train_mlp`
//! examples.

// Each example uses only part of this module.
#![allow(dead_code)]

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use std::ops::Range;

/// The error type of the examples' plotting code.
pub type ChartError = Box<dyn std::error::Error>;

/// One named curve, drawn as one or more unconnected pieces.
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Pieces of (x, y) points in order of x.
    pub pieces: Vec<Vec<(f64, f64)>>,
}

impl Series {
    /// A curve through all of `points`.
    pub fn new(label: String, points: Vec<(f64, f64)>) -> Series {
        Series { label, pieces: vec![points] }
    }

    /// A curve broken where y jumps by more than `jump` between neighbours, so that a
    /// discontinuity (a derivative at a kink) is not drawn as a vertical line.
    pub fn broken(label: String, points: Vec<(f64, f64)>, jump: f64) -> Series {
        let mut pieces: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for p in points {
            let piece = pieces.last_mut().expect("never empty");
            if piece.last().is_some_and(|q| (p.1 - q.1).abs() > jump) {
                pieces.push(vec![p]);
            } else {
                piece.push(p);
            }
        }
        Series { label, pieces }
    }

    fn points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.pieces.iter().flatten().copied()
    }
}

/// Line colours (Tableau's 10, then darker and lighter tones), distinct from their neighbours.
const COLORS: [(u8, u8, u8); 14] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (0, 0, 0),
    (174, 199, 232),
    (152, 223, 138),
    (255, 187, 120),
];

/// The colour of the `i`-th series.
pub fn color(i: usize) -> RGBAColor {
    let (r, g, b) = COLORS[i % COLORS.len()];
    RGBColor(r, g, b).to_rgba()
}

/// A tick label: 3 significant digits without trailing zeros, in powers of ten when small
/// (a log axis's 1e-5 rather than 9.999999e-5). Below 1e-12 it is a linear axis's rounding
/// noise around 0.
pub fn tick(v: f64) -> String {
    let v: f64 = format!("{v:.2e}").parse().unwrap_or(v);
    if v.abs() >= 1e-12 && !(1e-2..1e5).contains(&v.abs()) {
        return format!("{v:e}");
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// The smallest and largest y of `series`, widened by 5% (and to a non-empty range).
pub fn y_range(series: &[Series]) -> Range<f64> {
    let ys = series.iter().flat_map(|s| s.points().map(|p| p.1)).filter(|y| y.is_finite());
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let pad = ((hi - lo) * 0.05).max(1e-3);
    lo - pad..hi + pad
}

/// The legend position whose box (`w` × `h`, as fractions of the plot) holds the fewest points
/// of `series`, with x and y mapped to [0, 1] by `to_unit`. Earlier positions win ties.
fn emptiest_place(
    series: &[Series],
    (w, h): (f64, f64),
    to_unit: impl Fn((f64, f64)) -> (f64, f64),
) -> SeriesLabelPosition {
    use SeriesLabelPosition::*;
    let (left, middle, right) = (0.0, 0.5 - w / 2.0, 1.0 - w);
    let (top, centre, bottom) = (1.0 - h, 0.5 - h / 2.0, 0.0);
    let places = [
        (UpperLeft, left, top),
        (UpperRight, right, top),
        (LowerRight, right, bottom),
        (LowerLeft, left, bottom),
        (MiddleRight, right, centre),
        (MiddleLeft, left, centre),
        (UpperMiddle, middle, top),
        (LowerMiddle, middle, bottom),
    ];
    let inside = |x0: f64, y0: f64| {
        let all = series.iter().flat_map(|s| s.points()).map(&to_unit);
        all.filter(|&(x, y)| x >= x0 && x <= x0 + w && y >= y0 && y <= y0 + h).count()
    };
    let best = places.into_iter().min_by_key(|&(_, x0, y0)| inside(x0, y0));
    best.map_or(UpperLeft, |(pos, _, _)| pos)
}

/// Draws `series` into `area` with a title, axis descriptions and the y axis `y` (a
/// `Range<f64>`, or `range.log_scale()`); the legend goes to the corner the curves leave
/// emptiest.
pub fn draw<Y>(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    x: Range<f64>,
    y: Y,
    series: &[Series],
) -> Result<(), ChartError>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .max_light_lines(0)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let color = color(i);
        let style = color.stroke_width(2);
        let mut pieces = s.pieces.iter().filter(|p| !p.is_empty());
        if let Some(first) = pieces.next() {
            chart
                .draw_series(LineSeries::new(first.iter().copied(), style))?
                .label(s.label.as_str())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], style));
        }
        for piece in pieces {
            chart.draw_series(LineSeries::new(piece.iter().copied(), style))?;
        }
    }
    // Place the legend by pixel position, so that a log axis is judged as it is drawn. Its size
    // in pixels: about 16 per entry plus a margin, 7 per character plus the sample line.
    let (range, (pw, ph)) = (chart.plotting_area().get_pixel_range(), chart.plotting_area().dim_in_pixel());
    let (pw, ph) = (pw as f64, ph as f64);
    let chars = series.iter().map(|s| s.label.chars().count()).max().unwrap_or(0);
    let size = (((7 * chars + 60) as f64 / pw).min(1.0), (((16 * series.len() + 24) as f64) / ph).min(1.0));
    let to_unit = |p: (f64, f64)| {
        let (u, v) = chart.backend_coord(&p);
        ((u - range.0.start) as f64 / pw, 1.0 - (v - range.1.start) as f64 / ph)
    };
    let legend = emptiest_place(series, size, to_unit);
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}
