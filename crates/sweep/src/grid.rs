//! Grid files and their expansion into runs: axes, paired axes, seeds, run names.

use serde::{Deserialize, Serialize};
use serde_norway::Value;
use std::path::PathBuf;

/// A sweep's grid file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// The config every run starts from (relative to the grid file).
    pub config: PathBuf,
    /// `key=value` overrides for every run.
    #[serde(default)]
    pub set: Vec<String>,
    /// Axes: each item maps config keys to value lists; one key is a plain axis, several keys
    /// in one item move together (paired, same length). The grid is the product of the items.
    pub axes: Vec<serde_norway::Mapping>,
    /// Metrics of the table, as the app logs them (`eval/<name>` in metrics.jsonl), read at
    /// the best checkpoint's evaluation. A grid point whose runs do not log one (a task it
    /// turns off) shows "–".
    pub metrics: Vec<String>,
    /// Seeds per grid point (`--seeds` overrides): train.seed = the config's seed + 0..K.
    #[serde(default = "one")]
    pub seeds: usize,
    /// Also evaluate each finished run's best checkpoint (chosen on validation) on the app's
    /// test split, and report test in the table: for a comparison a README reports. Leave it
    /// off for a sweep that chooses a hyper-parameter (that choice is made on validation).
    #[serde(default)]
    pub test: bool,
    #[serde(default)]
    pub slurm: SlurmConfig,
}

fn one() -> usize {
    1
}

/// Slurm resources of each array task (flags of `sweep --slurm` override them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SlurmConfig {
    pub partition: Option<String>,
    pub account: Option<String>,
    /// Wall-time limit per run, `HH:MM:SS` or `D-HH:MM:SS`.
    pub time: String,
    /// Memory per run, e.g. `8G`.
    pub mem: String,
    pub cpus_per_task: usize,
    /// Array tasks running at once (0 = no limit).
    pub max_parallel: usize,
}

impl Default for SlurmConfig {
    fn default() -> Self {
        Self {
            partition: None,
            account: None,
            time: "02:00:00".into(),
            mem: "8G".into(),
            cpus_per_task: 2,
            max_parallel: 0,
        }
    }
}

/// One run of a sweep.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSpec {
    pub index: usize,
    /// Grid point (runs of the same point differ only by seed).
    pub point: usize,
    /// `key=value` of the point's axes, in axis order.
    pub values: Vec<(String, String)>,
    pub seed: u64,
    /// Folder name under the sweep folder.
    pub name: String,
}

impl RunSpec {
    /// The `--set` overrides of this run (after the grid's own `set`).
    pub fn sets(&self) -> Vec<String> {
        let mut s: Vec<String> = self
            .values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        s.push(format!("train.seed={}", self.seed));
        s
    }
}

/// The expanded sweep: what `plan.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub app: String,
    pub config: PathBuf,
    pub set: Vec<String>,
    pub metrics: Vec<String>,
    pub axes: Vec<String>,
    pub seeds: usize,
    /// The grid's `test` (plans written before it existed read as `false`).
    #[serde(default)]
    pub test: bool,
    pub runs: Vec<RunSpec>,
}

/// A scalar (or list) as `--set` writes it: YAML flow text.
fn value_text(v: &Value) -> String {
    match v {
        Value::Sequence(s) => format!(
            "[{}]",
            s.iter().map(value_text).collect::<Vec<_>>().join(", ")
        ),
        Value::String(s) => s.clone(),
        other => serde_norway::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// A key or value as part of a folder name: letters, digits, `.`, `_`, `+`, `-` kept; a list's brackets
/// and spaces dropped and its commas `+`; anything else `-`.
fn name_part(s: &str) -> String {
    s.chars()
        .filter(|c| !"[] ".contains(*c))
        .map(|c| match c {
            ',' => '+',
            c if c.is_ascii_alphanumeric() || "._+-".contains(c) => c,
            _ => '-',
        })
        .collect()
}

/// One axis item: its keys and, per key, its values as `--set` text.
type AxisItem = (Vec<String>, Vec<Vec<String>>);

fn axis_items(grid: &Grid) -> anyhow::Result<Vec<AxisItem>> {
    let mut out = Vec::new();
    for (i, item) in grid.axes.iter().enumerate() {
        let mut keys = Vec::new();
        let mut cols = Vec::new();
        for (k, v) in item {
            let key = k.as_str().ok_or_else(|| {
                anyhow::anyhow!("axes[{i}]: keys must be config keys like loss.gamma")
            })?;
            let Value::Sequence(vals) = v else {
                anyhow::bail!("axes[{i}].{key}: give a list of values, e.g. {key}: [0, 1, 2]");
            };
            anyhow::ensure!(!vals.is_empty(), "axes[{i}].{key}: the list is empty");
            keys.push(key.to_string());
            cols.push(vals.iter().map(value_text).collect::<Vec<_>>());
        }
        anyhow::ensure!(!keys.is_empty(), "axes[{i}] has no key");
        let n = cols[0].len();
        if let Some(j) = cols.iter().position(|c| c.len() != n) {
            anyhow::bail!(
                "axes[{i}]: paired keys need lists of one length: {} has {n} values, {} has {}",
                keys[0],
                keys[j],
                cols[j].len()
            );
        }
        out.push((keys, cols));
    }
    Ok(out)
}

/// Expands a grid into runs: the product of the axis items (the last varies fastest), each
/// point `seeds` times with train.seed = `base_seed` + 0..seeds.
pub fn expand(app: &str, grid: &Grid, seeds: usize, base_seed: u64) -> anyhow::Result<Plan> {
    anyhow::ensure!(seeds >= 1, "--seeds must be ≥ 1");
    anyhow::ensure!(
        !grid.metrics.is_empty(),
        "metrics: name at least one metric for the table"
    );
    let items = axis_items(grid)?;
    let all_keys: Vec<String> = items.iter().flat_map(|(k, _)| k.clone()).collect();
    // A short name per key: its last segment, unless two keys share it.
    let short: Vec<String> = all_keys
        .iter()
        .map(|k| {
            let last = k.rsplit('.').next().unwrap_or(k);
            let clash = all_keys
                .iter()
                .filter(|o| o.rsplit('.').next() == Some(last))
                .count()
                > 1;
            if clash {
                k.clone()
            } else {
                last.to_string()
            }
        })
        .collect();
    let mut points: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (keys, cols) in &items {
        let mut next = Vec::new();
        for p in &points {
            for row in 0..cols[0].len() {
                let mut q = p.clone();
                q.extend(
                    keys.iter()
                        .zip(cols)
                        .map(|(k, c)| (k.clone(), c[row].clone())),
                );
                next.push(q);
            }
        }
        points = next;
    }
    let mut runs = Vec::new();
    for (pi, values) in points.iter().enumerate() {
        let label: Vec<String> = values
            .iter()
            .map(|(k, v)| {
                let s = &short[all_keys.iter().position(|x| x == k).unwrap_or(0)];
                format!("{}={}", name_part(s), name_part(v))
            })
            .collect();
        for s in 0..seeds {
            let seed = base_seed + s as u64;
            let mut name = label.join("_");
            if !name.is_empty() {
                name.push('_');
            }
            name.push_str(&format!("seed={seed}"));
            runs.push(RunSpec {
                index: runs.len(),
                point: pi,
                values: values.clone(),
                seed,
                name,
            });
        }
    }
    Ok(Plan {
        app: app.to_string(),
        config: grid.config.clone(),
        set: grid.set.clone(),
        metrics: grid.metrics.clone(),
        axes: all_keys,
        seeds,
        test: grid.test,
        runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(yaml: &str) -> Grid {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn axes_multiply_paired_keys_move_together_and_seeds_repeat() {
        let g = grid(
            "config: c.yaml\naxes:\n  - {loss.gamma: [0, 2], loss.alpha: [0.75, 0.25]}\n  - {model.width: [8, 16, 32]}\nmetrics: [ap]\n",
        );
        let p = expand("app", &g, 2, 42).unwrap();
        assert_eq!(p.runs.len(), 2 * 3 * 2);
        assert_eq!(p.axes, ["loss.gamma", "loss.alpha", "model.width"]);
        let r = &p.runs[3];
        assert_eq!((r.point, r.seed), (1, 43));
        assert_eq!(r.name, "gamma=0_alpha=0.75_width=16_seed=43");
        assert_eq!(
            r.sets(),
            [
                "loss.gamma=0",
                "loss.alpha=0.75",
                "model.width=16",
                "train.seed=43"
            ]
        );
        let last = p.runs.last().unwrap();
        assert_eq!(last.name, "gamma=2_alpha=0.25_width=32_seed=43");
        // Unequal paired lists, an empty list and no metric are errors that say what to fix.
        let bad = grid("config: c.yaml\naxes:\n  - {a.x: [1, 2], b.y: [1]}\nmetrics: [m]\n");
        let e = expand("app", &bad, 1, 0).unwrap_err().to_string();
        assert!(e.contains("a.x has 2 values, b.y has 1"), "{e}");
        let bad = grid("config: c.yaml\naxes:\n  - {a.x: []}\nmetrics: [m]\n");
        assert!(expand("app", &bad, 1, 0)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        let bad = grid("config: c.yaml\naxes: []\nmetrics: []\n");
        assert!(expand("app", &bad, 1, 0).is_err());
    }
    #[test]
    fn run_names_use_short_keys_unless_they_clash_and_are_safe_folder_names() {
        let g = grid(
            "config: c.yaml\naxes:\n  - {model.width: [8]}\n  - {head.width: [4]}\n  - {data.source: [data/x y]}\n  - {data.elevation: [[-10, 40]]}\nmetrics: [m]\n",
        );
        let p = expand("app", &g, 1, 0).unwrap();
        assert_eq!(
            p.runs[0].name,
            "model.width=8_head.width=4_source=data-xy_elevation=-10+40_seed=0"
        );
        assert_eq!(p.runs[0].sets()[3], "data.elevation=[-10, 40]");
    }
}
