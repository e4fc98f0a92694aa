//! `just demo`: trains each app's `quick.yaml` one after another, then prints one table (app,
//! metric, value, floor, chance level, wall time, run folder) and writes it to
//! `runs/demo-<time>/summary.md`. The apps are named on the command line, each as
//! `APP:LOSS:METRIC:FLOOR:CHANCE` (e.g. `face-verify:ArcFace:auc:>=0.90:0.50`), so the kit
//! knows no app.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One app of the demo and how its result is judged.
struct Entry {
    app: String,
    loss: String,
    metric: String,
    /// `>=x` (higher is better) or `<=x`.
    floor: String,
    chance: String,
}

fn parse(spec: &str) -> anyhow::Result<Entry> {
    let parts: Vec<&str> = spec.splitn(5, ':').collect();
    let [app, loss, metric, floor, chance] = parts.as_slice() else {
        bail!(
            "{spec}: expected APP:LOSS:METRIC:FLOOR:CHANCE, e.g. face-verify:ArcFace:auc:>=0.90:0.50"
        );
    };
    if !(floor.starts_with(">=") || floor.starts_with("<=")) {
        bail!("{spec}: the floor starts with >= or <=");
    }
    Ok(Entry {
        app: app.to_string(),
        loss: loss.to_string(),
        metric: metric.to_string(),
        floor: floor.to_string(),
        chance: chance.to_string(),
    })
}

/// The last logged value of `eval/<metric>` in a run's metrics.jsonl.
fn last_eval(run: &Path, metric: &str) -> anyhow::Result<f64> {
    let path = run.join("metrics.jsonl");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let key = format!("eval/{metric}");
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v.get(&key).and_then(|x| x.as_f64()))
        .with_context(|| format!("{}: no `{key}` logged", path.display()))
}

fn meets(value: f64, floor: &str) -> bool {
    let bound: f64 = floor[2..].parse().unwrap_or(f64::NAN);
    if floor.starts_with(">=") {
        value >= bound
    } else {
        value <= bound
    }
}

fn main() -> std::process::ExitCode {
    kit::app::main(run)
}

fn run() -> anyhow::Result<()> {
    let entries: Vec<Entry> = std::env::args()
        .skip(1)
        .map(|s| parse(&s))
        .collect::<anyhow::Result<_>>()?;
    if entries.is_empty() {
        bail!("usage: demo APP:LOSS:METRIC:FLOOR:CHANCE ...");
    }
    let stamp = kit::rundir::utc_stamp();
    let name = format!("demo-{stamp}");
    let bin_dir = std::env::current_exe()?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut rows = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        println!(
            "\n[{}/{}] {} (configs/{}/quick.yaml)",
            i + 1,
            entries.len(),
            e.app,
            e.app
        );
        let t0 = Instant::now();
        let status = Command::new(bin_dir.join(&e.app))
            .args([
                "train",
                "--config",
                &format!("configs/{}/quick.yaml", e.app),
            ])
            .args(["--name", &name])
            .status()
            .with_context(|| format!("cannot start {}", e.app))?;
        let secs = t0.elapsed().as_secs_f64();
        let run = PathBuf::from("runs").join(&e.app).join(&name);
        let value = if status.success() {
            last_eval(&run, &e.metric)?
        } else {
            f64::NAN
        };
        rows.push((e, value, secs, run));
    }
    let mut table = String::from(
        "| app | loss | metric | value | floor | chance / baseline | met | wall time | run folder |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for (e, value, secs, run) in &rows {
        table += &format!(
            "| {} | {} | {} | {:.4} | {} | {} | {} | {:.0} s | {} |\n",
            e.app,
            e.loss,
            e.metric,
            value,
            e.floor,
            e.chance,
            if meets(*value, &e.floor) {
                "yes"
            } else {
                "**no**"
            },
            secs,
            run.display()
        );
    }
    let dir = PathBuf::from("runs").join(&name);
    std::fs::create_dir_all(&dir)?;
    kit::rundir::write_atomic(&dir.join("summary.md"), table.as_bytes())?;
    println!("\n{table}");
    println!("summary: {}", dir.join("summary.md").display());
    println!("look at the runs: just tensorboard   (http://127.0.0.1:6006/)");
    Ok(())
}
