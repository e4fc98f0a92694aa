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

/// The axes and values `spec` names (`key=value[,key=value]`, a key as in the grid or its last
/// part): (axis index, value).
fn baseline_values(spec: &str, axes: &[String]) -> anyhow::Result<Vec<(usize, String)>> {
    spec.split(',')
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| {
                    anyhow::anyhow!("--baseline {spec}: expected AXIS=VALUE[,AXIS=VALUE]")
                })?;
            let i = axes
                .iter()
                .position(|a| a == k || a.rsplit('.').next() == Some(k))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--baseline {spec}: `{k}` is not an axis (axes: {})",
                        axes.join(", ")
                    )
                })?;
            Ok((i, v.to_string()))
        })
        .collect()
}

/// For each point, its baseline: the point with the spec's values on the named axes and the
/// point's own values on the others (None for the baselines themselves, or when there is none).
fn baselines(
    spec: &str,
    named: &[(usize, String)],
    values: &[Vec<String>],
) -> anyhow::Result<Vec<Option<usize>>> {
    let is_base = |v: &Vec<String>| named.iter().all(|(i, x)| v[*i] == *x);
    if !values.iter().any(is_base) {
        anyhow::bail!("--baseline {spec}: no grid point has these values");
    }
    // With a single baseline point every other point is compared with it (also when axes are
    // paired, e.g. head.kind with head.m, and the baseline's partner value differs).
    let all: Vec<usize> = (0..values.len()).filter(|&b| is_base(&values[b])).collect();
    let single = (all.len() == 1).then(|| all[0]);
    Ok(values
        .iter()
        .map(|v| {
            if is_base(v) {
                return None;
            }
            values
                .iter()
                .position(|b| {
                    is_base(b)
                        && b.iter()
                            .zip(v)
                            .enumerate()
                            .all(|(i, (x, y))| named.iter().any(|(n, _)| *n == i) || x == y)
                })
                .or(single)
        })
        .collect())
}

/// The markdown section: one row per other grid point, each metric as the mean ± std of the
/// per-seed difference to its baseline (the point that differs from it only on the axes the
/// spec names, e.g. `loss.kind=ce` compares every loss with CE at each tumour fraction), the
/// seeds both finished, and the paired p-value.
pub fn paired(dir: &Path, spec: &str) -> anyhow::Result<String> {
    let plan = read_plan(dir)?;
    let points = finished_seeds(dir, &plan)?;
    let values: Vec<Vec<String>> = points.iter().map(|(v, _)| v.clone()).collect();
    let named = baseline_values(spec, &plan.axes)?;
    let base = baselines(spec, &named, &values)?;
    let mut md = format!(
        "\nPaired by seed against {spec} (difference = row − baseline on the same seed, i.e. the same data and initialisation, the baseline having the row's values on the other axes; mean ± std over the seeds both finished; p: two-sided paired t-test):\n\n| {} | seeds |",
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
    for (p, (vals, runs)) in points.iter().enumerate() {
        let Some(b) = base[p] else { continue };
        let base_runs = &points[b].1;
        let seeds: Vec<u64> = runs
            .keys()
            .filter(|s| base_runs.contains_key(s))
            .copied()
            .collect();
        md += &format!("| {} | {} |", vals.join(" | "), seeds.len());
        for m in &plan.metrics {
            let d: Vec<f64> = seeds
                .iter()
                .filter_map(|s| Some(runs[s].reported().get(m)? - base_runs[s].reported().get(m)?))
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

    #[test]
    fn each_point_gets_the_baseline_with_its_other_values() {
        let v = |rows: &[[&str; 2]]| -> Vec<Vec<String>> {
            rows.iter()
                .map(|r| r.iter().map(|s| s.to_string()).collect())
                .collect()
        };
        let axes = ["data.fraction".to_string(), "loss.kind".to_string()];
        let grid = v(&[
            ["0.02", "ce"],
            ["0.02", "dice"],
            ["0.001", "ce"],
            ["0.001", "dice"],
        ]);
        let named = baseline_values("kind=ce", &axes).unwrap();
        assert_eq!(
            baselines("kind=ce", &named, &grid).unwrap(),
            vec![None, Some(0), None, Some(2)]
        );
        // Paired axes: the one softmax point is every other point's baseline.
        let axes = ["head.kind".to_string(), "head.m".to_string()];
        let grid = v(&[["softmax", "0"], ["arcface", "0.5"], ["cosface", "0.35"]]);
        let named = baseline_values("head.kind=softmax", &axes).unwrap();
        assert_eq!(
            baselines("", &named, &grid).unwrap(),
            vec![None, Some(0), Some(0)]
        );
        assert!(baseline_values("lr=1", &axes)
            .unwrap_err()
            .to_string()
            .contains("axes: head.kind, head.m"));
        let named = baseline_values("kind=sgd", &axes).unwrap();
        assert!(baselines("kind=sgd", &named, &grid).is_err());
    }
}
