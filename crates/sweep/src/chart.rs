//! `sweep collect DIR --plot AXIS`: one metric against a numeric axis of the grid, one line per
//! combination of the other axes, each point the mean over seeds with a ± sample-std bar.

use super::collect::{finished_results, mean_std};
use super::read_plan;
use plot::{line_chart, Chart, Corner, Series};
use std::path::{Path, PathBuf};

/// Draws `metric` against `axis` (its values must be numbers) and writes
/// `DIR/<metric>-vs-<axis>.png`; a log x axis when the values are positive and span ≥ 10×.
pub fn plot(dir: &Path, axis: &str, metric: &str) -> anyhow::Result<PathBuf> {
    let plan = read_plan(dir)?;
    let ax = plan.axes.iter().position(|a| a == axis).ok_or_else(|| {
        anyhow::anyhow!(
            "--plot {axis}: not an axis of {} (axes: {})",
            dir.display(),
            plan.axes.join(", ")
        )
    })?;
    if !plan.metrics.iter().any(|m| m == metric) {
        anyhow::bail!(
            "--metric {metric}: not a metric of {} (metrics: {})",
            dir.display(),
            plan.metrics.join(", ")
        );
    }
    // (line name, points (x, mean, std)).
    type Line = (String, Vec<(f64, f64, f64)>);
    let mut series: Vec<Line> = Vec::new();
    for (values, results) in finished_results(dir, &plan)? {
        let Some(x) = values.get(ax).and_then(|v| v.parse::<f64>().ok()) else {
            anyhow::bail!(
                "--plot {axis}: value `{}` is not a number",
                values.get(ax).map_or("", String::as_str)
            );
        };
        let ys: Vec<f64> = results
            .iter()
            .filter_map(|r| r.reported().get(metric).copied())
            .collect();
        if ys.is_empty() {
            continue;
        }
        let (m, s) = mean_std(&ys);
        let name = plan
            .axes
            .iter()
            .zip(&values)
            .enumerate()
            .filter(|(i, _)| *i != ax)
            .map(|(_, (k, v))| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
            .collect::<Vec<_>>()
            .join(", ");
        match series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, pts)) => pts.push((x, m, s)),
            None => series.push((name, vec![(x, m, s)])),
        }
    }
    anyhow::ensure!(
        !series.is_empty(),
        "no finished run in {} logs `{metric}`: nothing to plot",
        dir.display()
    );
    let mut chart = Chart::new(
        &format!("{metric} vs {axis} (mean ± std over seeds)"),
        axis,
        metric,
    )
    .legend(Corner::LowerRight);
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.0))
        .collect();
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
    if lo > 0.0 && hi / lo >= 10.0 {
        chart = chart.log_x();
    }
    for (i, (name, mut pts)) in series.into_iter().enumerate() {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        for &(x, m, s) in &pts {
            if s > 0.0 {
                chart = chart.segment((x, m - s), (x, m + s), i);
            }
        }
        let name = if name.is_empty() {
            metric.to_string()
        } else {
            name
        };
        chart = chart.series(Series::new(
            name,
            pts.iter().map(|&(x, m, _)| (x, m)).collect(),
        ));
    }
    let img = line_chart(&chart)?;
    let file = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    };
    let out = dir.join(format!("{}-vs-{}.png", file(metric), file(axis)));
    kit::images::save(&image::DynamicImage::ImageRgb8(img), &out)?;
    Ok(out)
}

/// A key as a legend shows it: without its first segment (`tasks.detect.weight` ->
/// `detect.weight`, `loss.gamma` -> `gamma`).
fn legend_key(k: &str) -> &str {
    k.split_once('.').map_or(k, |(_, rest)| rest)
}

/// `sweep collect DIR --curves TAG`: the logged scalar `TAG` (e.g. `train/detect_loss`)
/// against the step, one line per grid point that logs it, the mean over its finished seeds
/// at the steps they all logged; writes `DIR/<tag>-curves.png` (`/` becomes `_`).
pub fn curves(dir: &Path, tag: &str) -> anyhow::Result<PathBuf> {
    let plan = read_plan(dir)?;
    let points = plan.runs.iter().map(|r| r.point).max().map_or(0, |p| p + 1);
    let mut chart =
        Chart::new(&format!("{tag} (mean over seeds)"), "step", tag).legend(Corner::UpperRight);
    let mut lines = 0;
    for p in 0..points {
        let runs: Vec<&super::RunSpec> = plan
            .runs
            .iter()
            .filter(|r| r.point == p && super::status(dir, r) == super::Status::Finished)
            .collect();
        let mut per_step: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
        for r in &runs {
            let path = dir.join(&r.name).join("metrics.jsonl");
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            for line in text.lines() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                if let (Some(s), Some(x)) = (v["step"].as_u64(), v[tag].as_f64()) {
                    per_step.entry(s).or_default().push(x);
                }
            }
        }
        let pts: Vec<(f64, f64)> = per_step
            .into_iter()
            .filter(|(_, v)| v.len() == runs.len())
            .map(|(s, v)| (s as f64, mean_std(&v).0))
            .collect();
        if pts.is_empty() {
            continue;
        }
        let name = runs[0]
            .values
            .iter()
            .map(|(k, v)| format!("{}={v}", legend_key(k)))
            .collect::<Vec<_>>()
            .join(", ");
        chart = chart.series(Series::new(name, pts));
        lines += 1;
    }
    anyhow::ensure!(
        lines > 0,
        "--curves {tag}: no finished run of {} logged it (see a run's metrics.jsonl for the tags)",
        dir.display()
    );
    let out = dir.join(format!("{}-curves.png", tag.replace('/', "_")));
    let img = line_chart(&chart)?;
    kit::images::save(&image::DynamicImage::ImageRgb8(img), &out)?;
    Ok(out)
}
