//! `sweep collect`: one table per sweep, mean ± std over seeds, failed runs listed.

use super::local::RunResult;
use super::{last_line, read_plan, status, RunSpec, Status};
use kit::rundir::write_atomic;
use std::path::Path;

/// A sweep's table in both formats.
pub struct Table {
    pub markdown: String,
    pub csv: String,
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, var.sqrt())
}

/// The result.json of a finished run.
fn read_result(dir: &Path, r: &RunSpec) -> anyhow::Result<RunResult> {
    let f = dir.join(&r.name).join("result.json");
    let text = std::fs::read_to_string(&f)?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))
}

/// Each grid point's axis values and the results of its finished runs, in grid order.
pub(super) fn finished_results(
    dir: &Path,
    plan: &super::grid::Plan,
) -> anyhow::Result<Vec<(Vec<String>, Vec<RunResult>)>> {
    Ok(finished_seeds(dir, plan)?
        .into_iter()
        .map(|(v, r)| (v, r.into_values().collect()))
        .collect())
}

/// A grid point's axis values and its finished runs by seed.
pub(super) type PointRuns = (Vec<String>, std::collections::BTreeMap<u64, RunResult>);

/// Each grid point's axis values and its finished runs by seed, in grid order.
pub(super) fn finished_seeds(
    dir: &Path,
    plan: &super::grid::Plan,
) -> anyhow::Result<Vec<PointRuns>> {
    let points = plan.runs.iter().map(|r| r.point).max().map_or(0, |p| p + 1);
    (0..points)
        .map(|p| {
            let runs: Vec<&RunSpec> = plan.runs.iter().filter(|r| r.point == p).collect();
            let values = runs[0].values.iter().map(|(_, v)| v.clone()).collect();
            let results = runs
                .iter()
                .filter(|r| matches!(status(dir, r), Status::Finished))
                .map(|r| Ok((r.seed, read_result(dir, r)?)))
                .collect::<anyhow::Result<_>>()?;
            Ok((values, results))
        })
        .collect()
}

/// `<app> sweep collect DIR`: one row per grid point, each metric as mean ± std over the
/// seeds that finished, and the count; failed and unfinished runs listed under the table
/// with the last line of their log. Writes table.md and table.csv into DIR.
pub fn collect(dir: &Path) -> anyhow::Result<Table> {
    let plan = read_plan(dir)?;
    let points = plan.runs.iter().map(|r| r.point).max().map_or(0, |p| p + 1);
    let mut md = format!("| {} | seeds |", plan.axes.join(" | "));
    for m in &plan.metrics {
        md += &format!(" {m} |");
    }
    md += &format!(
        "\n|{}---|{}\n",
        "---|".repeat(plan.axes.len()),
        "---|".repeat(plan.metrics.len())
    );
    let mut csv = plan.axes.join(",");
    csv += ",seeds_finished,seeds_total";
    for m in &plan.metrics {
        csv += &format!(",{m}_mean,{m}_std");
    }
    csv += "\n";
    let mut problems = Vec::new();
    let all: Vec<RunResult> = plan
        .runs
        .iter()
        .filter(|r| matches!(status(dir, r), Status::Finished))
        .map(|r| read_result(dir, r))
        .collect::<anyhow::Result<_>>()?;
    let any_run_logs = |m: &str| all.is_empty() || all.iter().any(|r| r.reported().contains_key(m));
    for p in 0..points {
        let runs: Vec<&RunSpec> = plan.runs.iter().filter(|r| r.point == p).collect();
        let mut results = Vec::new();
        for r in &runs {
            let log = dir.join("logs").join(format!("{}.log", r.index));
            match status(dir, r) {
                Status::Finished => results.push(read_result(dir, r)?),
                Status::Failed => {
                    let why = std::fs::read_to_string(
                        dir.join("failed").join(format!("{}.txt", r.index)),
                    )
                    .unwrap_or_default();
                    let line = last_line(&log);
                    let line = if line.is_empty() {
                        why.lines().last().unwrap_or("").to_string()
                    } else {
                        line
                    };
                    problems.push(format!("- `{}` failed: {line}", r.name));
                }
                Status::Stopped => problems.push(format!(
                    "- `{}` stopped (resumable): {}",
                    r.name,
                    last_line(&log)
                )),
                Status::Pending => {
                    let line = last_line(&log);
                    problems.push(format!(
                        "- `{}` not finished{}",
                        r.name,
                        if line.is_empty() {
                            String::new()
                        } else {
                            format!(": {line}")
                        }
                    ));
                }
            }
        }
        let values: Vec<&String> = runs[0].values.iter().map(|(_, v)| v).collect();
        md += &format!(
            "| {} | {}/{} |",
            values
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            results.len(),
            runs.len()
        );
        csv += &format!(
            "{},{},{}",
            values
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(","),
            results.len(),
            runs.len()
        );
        for m in &plan.metrics {
            let v: Vec<f64> = results
                .iter()
                .filter_map(|r| r.reported().get(m).copied())
                .collect();
            // A metric no run of this point logs is a task the point turns off ("–"); one
            // that some of its runs log and others do not, or that no run at all logs, is a
            // mistake in `metrics:`.
            let nowhere = !any_run_logs(m);
            if let (Some(r), true) = (
                results.first(),
                (!v.is_empty() && v.len() < results.len()) || nowhere,
            ) {
                anyhow::bail!(
                    "metric `{m}` is not among the run's evaluation metrics ({}): fix `metrics:` in {}",
                    r.reported().keys().cloned().collect::<Vec<_>>().join(", "),
                    dir.join("grid.yaml").display()
                );
            }
            let (mean, std) = mean_std(&v);
            md += &match v.len() {
                0 => " – |".to_string(),
                1 => format!(" {mean:.4} |"),
                _ => format!(" {mean:.4} ± {std:.4} |"),
            };
            csv += &format!(",{mean},{std}");
        }
        md += "\n";
        csv += "\n";
    }
    md += &format!(
        "\nmean ± sample std over the seeds that finished ({}); config {}{}.\n",
        if plan.test {
            "the test split, at each run's best checkpoint as validation chose it"
        } else {
            "validation: the best checkpoint's evaluation of each run"
        },
        // Relative to where collect runs (the repository root, usually), so tables read the
        // same on every machine.
        std::env::current_dir()
            .ok()
            .and_then(|cwd| plan.config.strip_prefix(cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| plan.config.clone())
            .display(),
        if plan.set.is_empty() {
            String::new()
        } else {
            format!(" with {}", plan.set.join(" "))
        }
    );
    if !problems.is_empty() {
        md += "\nNot in the table:\n";
        md += &problems.join("\n");
        md += "\n";
    }
    write_atomic(&dir.join("table.md"), md.as_bytes())?;
    write_atomic(&dir.join("table.csv"), csv.as_bytes())?;
    Ok(Table { markdown: md, csv })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0]);
        assert!((m - 2.0).abs() < 1e-12 && (s - 1.0).abs() < 1e-12);
        assert_eq!(mean_std(&[5.0]), (5.0, 0.0));
    }
}
