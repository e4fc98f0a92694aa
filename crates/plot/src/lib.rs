//! Charts as pictures (line, scatter, bar) drawn with `plotters` into an RGB buffer: real axes,
//! ticks, labels, legend and an optional log-x axis. The result is an [`RgbImage`], so an app
//! logs it to TensorBoard (`tb.image`) or saves it (`images::save`). The font (DejaVu Sans) is
//! embedded, so no machine needs fonts installed. Bar charts and heat maps: [`bar_chart`], [`heatmap`]; annotations on
//! pictures (boxes, legends, outlines): [`draw`].

mod categorical;
pub mod draw;
pub use categorical::{bar_chart, heatmap};

use image::RgbImage;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::Once;

/// What can go wrong drawing a chart.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("chart `{title}`: {message}")]
    Draw { title: String, message: String },
}

/// One line (or set of points) of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
        }
    }
}

/// A straight segment of a chart: from, to, palette index of its colour.
pub type Segment = ((f64, f64), (f64, f64), usize);

/// A chart: title, axis labels, series, and marked points (e.g. TAR at FAR = 1e-3).
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Labelled points drawn as circles with their label.
    pub marks: Vec<(String, (f64, f64))>,
    /// Logarithmic x axis (values ≤ 0 are left out).
    pub log_x: bool,
    /// Logarithmic y axis (values ≤ 0 are left out).
    pub log_y: bool,
    /// Straight segments, e.g. nearest-neighbour links.
    pub segments: Vec<Segment>,
    pub x_range: Option<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
    pub width: u32,
    pub height: u32,
    /// Corner of the legend box.
    pub legend: Corner,
}

/// A corner of the plotting area (where the legend goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corner {
    UpperLeft,
    UpperRight,
    LowerLeft,
    LowerRight,
}

impl Chart {
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
            marks: Vec::new(),
            log_x: false,
            log_y: false,
            segments: Vec::new(),
            x_range: None,
            y_range: None,
            width: 640,
            height: 420,
            legend: Corner::LowerRight,
        }
    }
    pub fn legend(mut self, at: Corner) -> Self {
        self.legend = at;
        self
    }
    pub fn series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }
    pub fn mark(mut self, label: &str, at: (f64, f64)) -> Self {
        self.marks.push((label.into(), at));
        self
    }
    pub fn log_x(mut self) -> Self {
        self.log_x = true;
        self
    }
    pub fn log_y(mut self) -> Self {
        self.log_y = true;
        self
    }
    pub fn segment(mut self, from: (f64, f64), to: (f64, f64), colour: usize) -> Self {
        self.segments.push((from, to, colour));
        self
    }
    pub fn x_range(mut self, lo: f64, hi: f64) -> Self {
        self.x_range = Some((lo, hi));
        self
    }
    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }
}

static FONT: Once = Once::new();

/// The embedded font's bytes (also used by [`draw`] for labels on pictures).
pub const FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn register_font() {
    FONT.call_once(|| {
        // Cannot fail for a valid embedded TTF; a failure would show as missing text only.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT_BYTES);
    });
}

/// Colours of series 0, 1, 2, … (colour-blind-safe Okabe–Ito palette).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(0, 0, 0),
];

pub(crate) fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * 0.04;
    (lo - pad, hi + pad)
}

pub(crate) fn draw_err(title: &str, e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw {
        title: title.into(),
        message: e.to_string(),
    }
}

/// Renders into a fresh white buffer and returns it as an image.
pub(crate) fn render(
    width: u32,
    height: u32,
    title: &str,
    draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Result<(), PlotError>,
) -> Result<RgbImage, PlotError> {
    register_font();
    let mut buf = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_err(title, e))?;
        draw(&root)?;
        root.present().map_err(|e| draw_err(title, e))?;
    }
    RgbImage::from_raw(width, height, buf).ok_or_else(|| draw_err(title, "buffer size"))
}

/// A line chart of every series (points joined in the order given).
pub fn line_chart(c: &Chart) -> Result<RgbImage, PlotError> {
    xy_chart(c, true)
}

/// A scatter plot of every series.
pub fn scatter(c: &Chart) -> Result<RgbImage, PlotError> {
    xy_chart(c, false)
}

fn xy_chart(c: &Chart, lines: bool) -> Result<RgbImage, PlotError> {
    let keep = |&(x, y): &(f64, f64)| {
        x.is_finite() && y.is_finite() && (!c.log_x || x > 0.0) && (!c.log_y || y > 0.0)
    };
    let all = || {
        c.series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .chain(c.marks.iter().map(|m| m.1))
            .filter(keep)
    };
    let (x0, x1) = c.x_range.unwrap_or_else(|| {
        if c.log_x {
            // Pad in decades, not linearly (a linear pad would cross zero).
            let (a, b) = bounds(all().map(|p| p.0.log10()));
            (10f64.powf(a), 10f64.powf(b))
        } else {
            bounds(all().map(|p| p.0))
        }
    });
    let (y0, y1) = c.y_range.unwrap_or_else(|| {
        if c.log_y {
            let (a, b) = bounds(all().map(|p| p.1.log10()));
            (10f64.powf(a), 10f64.powf(b))
        } else {
            bounds(all().map(|p| p.1))
        }
    });
    let t = c.title.as_str();
    render(c.width, c.height, t, |root| {
        let mut b = ChartBuilder::on(root);
        b.caption(t, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(58);
        macro_rules! body {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(c.x_label.as_str())
                    .y_desc(c.y_label.as_str())
                    .label_style(("sans-serif", 13))
                    .axis_desc_style(("sans-serif", 15))
                    .draw()
                    .map_err(|e| draw_err(t, e))?;
                for (i, s) in c.series.iter().enumerate() {
                    let colour = PALETTE[i % PALETTE.len()];
                    let pts: Vec<(f64, f64)> = s.points.iter().copied().filter(keep).collect();
                    let anno = if lines {
                        chart.draw_series(LineSeries::new(pts, colour.stroke_width(2)))
                    } else {
                        chart.draw_series(
                            pts.into_iter().map(|p| Circle::new(p, 3, colour.filled())),
                        )
                    }
                    .map_err(|e| draw_err(t, e))?;
                    if !s.name.is_empty() {
                        anno.label(s.name.as_str()).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(3))
                        });
                    }
                }
                for &(a, b, k) in c.segments.iter().filter(|s| keep(&s.0) && keep(&s.1)) {
                    let colour = PALETTE[k % PALETTE.len()];
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![a, b],
                            colour.stroke_width(1),
                        )))
                        .map_err(|e| draw_err(t, e))?;
                }
                for (label, p) in c.marks.iter().filter(|m| keep(&m.1)) {
                    let mark = EmptyElement::at(*p)
                        + Circle::new((0, 0), 5, BLACK.stroke_width(2))
                        + Text::new(label.clone(), (8, -16), ("sans-serif", 13).into_font());
                    chart
                        .draw_series(std::iter::once(mark))
                        .map_err(|e| draw_err(t, e))?;
                }
                if c.series.iter().any(|s| !s.name.is_empty()) {
                    chart
                        .configure_series_labels()
                        .background_style(WHITE.mix(0.85))
                        .border_style(BLACK)
                        .label_font(("sans-serif", 13))
                        .position(match c.legend {
                            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
                            Corner::UpperRight => SeriesLabelPosition::UpperRight,
                            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
                            Corner::LowerRight => SeriesLabelPosition::LowerRight,
                        })
                        .draw()
                        .map_err(|e| draw_err(t, e))?;
                }
            }};
        }
        let (lx, ly) = (
            (x0.max(1e-300)..x1).log_scale(),
            (y0.max(1e-300)..y1).log_scale(),
        );
        match (c.log_x, c.log_y) {
            (true, true) => body!(b.build_cartesian_2d(lx, ly).map_err(|e| draw_err(t, e))?),
            (true, false) => body!(b
                .build_cartesian_2d(lx, y0..y1)
                .map_err(|e| draw_err(t, e))?),
            (false, true) => body!(b
                .build_cartesian_2d(x0..x1, ly)
                .map_err(|e| draw_err(t, e))?),
            (false, false) => {
                body!(b
                    .build_cartesian_2d(x0..x1, y0..y1)
                    .map_err(|e| draw_err(t, e))?)
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pixels that are neither white nor grey: something was drawn in colour.
    fn coloured(img: &RgbImage) -> usize {
        img.pixels()
            .filter(|p| {
                let [r, g, b] = p.0;
                r.abs_diff(g) > 40 || g.abs_diff(b) > 40 || r.abs_diff(b) > 40
            })
            .count()
    }

    #[test]
    fn line_scatter_and_bar_charts_draw_their_data() {
        let c = Chart::new("t", "x", "y")
            .series(Series::new("a", vec![(1e-4, 0.2), (1e-2, 0.8), (1.0, 1.0)]))
            .series(Series::new("b", vec![(1e-4, 0.1), (1.0, 0.9)]))
            .mark("TAR@1e-2", (1e-2, 0.8))
            .log_x();
        let img = line_chart(&c).unwrap();
        assert_eq!(img.dimensions(), (640, 420));
        assert!(coloured(&img) > 500, "no coloured line drawn");
        // Text rendered with the embedded font: dark pixels in the caption band.
        let dark_top = (0..640)
            .flat_map(|x| (0..30).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 100)
            .count();
        assert!(dark_top > 10, "no caption text");
        assert!(coloured(&scatter(&c).unwrap()) > 50);
        let bars = bar_chart("b", "v", &["x".into(), "y".into()], &[1.0, 2.0]).unwrap();
        assert!(coloured(&bars) > 5000);
    }
}
