//! Charts over categories: bars (one per label) and heat maps (rows × columns).

use super::{bounds, draw_err, render, PlotError, PALETTE};
use image::RgbImage;
use plotters::prelude::*;

/// A bar chart: one bar per label.
pub fn bar_chart(
    title: &str,
    y_label: &str,
    labels: &[String],
    values: &[f64],
) -> Result<RgbImage, PlotError> {
    let (lo, hi) = bounds(values.iter().copied().chain([0.0]));
    let n = labels.len().max(1);
    render(640, 420, title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(58)
            // A discrete range includes its end: 0..n-1 gives the n segments.
            .build_cartesian_2d((0..n as i32 - 1).into_segmented(), lo..hi)
            .map_err(|e| draw_err(title, e))?;
        let names = labels.to_vec();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n + 1)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_desc(y_label)
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(|e| draw_err(title, e))?;
        chart
            .draw_series(values.iter().enumerate().map(|(i, &v)| {
                let colour = PALETTE[i % PALETTE.len()];
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i as i32), 0.0),
                        (SegmentValue::Exact(i as i32 + 1), v),
                    ],
                    colour.filled(),
                );
                bar.set_margin(0, 0, 12, 12);
                bar
            }))
            .map_err(|e| draw_err(title, e))?;
        Ok(())
    })
}

/// A heat map: `values[row][col]` in [0, max] as white → blue cells, with row and column
/// labels (e.g. CTC's alignment mass per symbol and frame).
pub fn heatmap(
    title: &str,
    x_label: &str,
    rows: &[String],
    cols: &[String],
    values: &[Vec<f64>],
) -> Result<RgbImage, PlotError> {
    let (nr, nc) = (rows.len().max(1) as i32, cols.len().max(1) as i32);
    let max = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-12);
    render(640, 120 + 36 * nr as u32, title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((0..nc - 1).into_segmented(), (0..nr - 1).into_segmented())
            .map_err(|e| draw_err(title, e))?;
        let (rn, cn) = (rows.to_vec(), cols.to_vec());
        let every = (nc + 19) / 20;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(nc as usize + 1)
            .y_labels(nr as usize + 1)
            // At most ~20 column labels: every k-th.
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if *i % every == 0 => {
                    cn.get(*i as usize).cloned().unwrap_or_default()
                }
                _ => String::new(),
            })
            .y_label_formatter(&|v| match v {
                // Row 0 on top.
                SegmentValue::CenterOf(i) => {
                    rn.get((nr - 1 - *i) as usize).cloned().unwrap_or_default()
                }
                _ => String::new(),
            })
            .x_desc(x_label)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| draw_err(title, e))?;
        let cells = values.iter().enumerate().flat_map(|(r, row)| {
            row.iter().enumerate().map(move |(c, &v)| {
                let a = (v / max).clamp(0.0, 1.0);
                let colour = RGBColor(
                    (255.0 * (1.0 - a)) as u8,
                    (255.0 * (1.0 - 0.6 * a)) as u8,
                    255,
                );
                let y = nr - 1 - r as i32;
                Rectangle::new(
                    [
                        (SegmentValue::Exact(c as i32), SegmentValue::Exact(y)),
                        (
                            SegmentValue::Exact(c as i32 + 1),
                            SegmentValue::Exact(y + 1),
                        ),
                    ],
                    colour.filled(),
                )
            })
        });
        chart.draw_series(cells).map_err(|e| draw_err(title, e))?;
        Ok(())
    })
}
