//! `sweep collect DIR --baseline AXIS=VALUE`: every grid point against one baseline point,
//! paired by seed. A seed fixes a run's data and initialisation, so the per-seed difference
//! removes what the seed changes for every row alike (an easier or harder synthetic set) and
//! leaves what the axis changes; a two-sided paired t-test gives each difference a p-value.

use super::collect::{finished_seeds, mean_std};
use super::read_plan;
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::path::Path;

/// Mean, sample std and two-sided p-value (paired t-test, n − 1 degrees of freedom) of
/// per-seed differences; p is NaN for fewer than two seeds.
pub fn paired_t(diffs: &[f64]) -> (f64, f64, f64) {
    let (m, s) = mean_std(diffs);
    let n = diffs.len() as f64;
    if diffs.len() < 2 {
        return (m, s, f64::NAN);
    }
    if s == 0.0 {
        return (m, s, if m == 0.0 { 1.0 } else { 0.0 });
    }
    let t = m / (s / n.sqrt());
    let p = StudentsT::new(0.0, 1.0, n - 1.0)
        .map(|d| 2.0 * (1.0 - d.cdf(t.abs())))
        .unwrap_or(f64::NAN);
    (m, s, p)
}

/// The baseline point named by `spec` (`key=value[,key=value]`, a key as in the grid or its
/// last part): its index among the points.
fn baseline_point(spec: &str, axes: &[String], values: &[Vec<String>]) -> anyhow::Result<usize> {
    let want: Vec<(&str, &str)> = spec
        .split(',')
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| {
                    anyhow::anyhow!("--baseline {spec}: expected AXIS=VALUE[,AXIS=VALUE]")
                })
        })
        .collect::<anyhow::Result<_>>()?;
    let mut cols = Vec::new();
    for (k, v) in &want {
        let i = axes
            .iter()
            .position(|a| a == k || a.rsplit('.').next() == Some(k))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--baseline {spec}: `{k}` is not an axis (axes: {})",
                    axes.join(", ")
                )
            })?;
        cols.push((i, *v));
    }
    let hits: Vec<usize> = values
        .iter()
        .enumerate()
        .filter(|(_, vals)| cols.iter().all(|(i, v)| vals[*i] == *v))
        .map(|(p, _)| p)
        .collect();
    match hits.as_slice() {
        [p] => Ok(*p),
        [] => anyhow::bail!("--baseline {spec}: no grid point has these values"),
        _ => anyhow::bail!(
            "--baseline {spec}: {} grid points match; name every axis that differs",
            hits.len()
        ),
    }
}

/// The markdown section: one row per other grid point, each metric as the mean ± std of the
/// per-seed difference to the baseline, the seeds both finished, and the paired p-value.
pub fn paired(dir: &Path, spec: &str) -> anyhow::Result<String> {
    let plan = read_plan(dir)?;
    let points = finished_seeds(dir, &plan)?;
    let values: Vec<Vec<String>> = points.iter().map(|(v, _)| v.clone()).collect();
    let base = baseline_point(spec, &plan.axes, &values)?;
    let mut md = format!(
        "\nPaired by seed against {spec} (difference = row − baseline on the same seed, i.e. the same data and initialisation; mean ± std over the seeds both finished; p: two-sided paired t-test):\n\n| {} | seeds |",
        plan.axes.join(" | ")
    );
    for m in &plan.metrics {
        md += &format!(" Δ {m} |");
    }
    md += &format!(
        "\n|{}---|{}\n",
        "---|".repeat(plan.axes.len()),
        "---|".repeat(plan.metrics.len())
    );
    let (_, base_runs) = &points[base];
    for (p, (vals, runs)) in points.iter().enumerate() {
        if p == base {
            continue;
        }
        let seeds: Vec<u64> = runs
            .keys()
            .filter(|s| base_runs.contains_key(s))
            .copied()
            .collect();
        md += &format!("| {} | {} |", vals.join(" | "), seeds.len());
        for m in &plan.metrics {
            let d: Vec<f64> = seeds
                .iter()
                .filter_map(|s| Some(runs[s].best.get(m)? - base_runs[s].best.get(m)?))
                .collect();
            let (mean, std, pv) = paired_t(&d);
            md += &match d.len() {
                0 => " – |".to_string(),
                1 => format!(" {mean:+.4} |"),
                _ => format!(" {mean:+.4} ± {std:.4} (p {pv:.3}) |"),
            };
        }
        md += "\n";
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_t_by_hand() {
        // d = 1, 2, 3: mean 2, s = 1, t = 2·√3 = 3.4641 on 2 degrees of freedom; the t(2) CDF
        // has the closed form ½ + t / (2√(t² + 2)), so p = 1 − t/√(t² + 2) = 1 − √(12/14).
        let (m, s, p) = paired_t(&[1.0, 2.0, 3.0]);
        assert!((m - 2.0).abs() < 1e-12 && (s - 1.0).abs() < 1e-12);
        assert!((p - (1.0 - (12.0f64 / 14.0).sqrt())).abs() < 1e-9, "{p}");
        // Two seeds: t(1) is Cauchy, p = 1 − (2/π)·atan(|t|); d = 1, 3: t = 2 / (√2/√2) = 2.
        let (_, _, p) = paired_t(&[1.0, 3.0]);
        assert!((p - (1.0 - 2.0 / std::f64::consts::PI * 2f64.atan())).abs() < 1e-9);
        assert!(paired_t(&[0.5]).2.is_nan());
    }
}
