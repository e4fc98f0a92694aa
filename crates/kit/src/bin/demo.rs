//! `just demo`: trains each app's `quick.yaml` one after another, then prints one table (app,
//! metric, value, floor, chance level, wall time, run folder) and writes it to
//! `runs/demo-<time>/summary.md`. The apps are the workspace members (root `Cargo.toml`) whose
//! binary answers `<app> info --json` (`kit::app::Info`: each app declares its metric, floor
//! and chance level in code), in the members' order; `demo APP` runs one. An app whose job is
//! a chain of runs (`Info::demo_before`) trains its earlier stages first, each passed on to
//! the later ones with `--set`.

use anyhow::{bail, Context};
use kit::app::Floor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One app of the demo and how its result is judged.
struct Entry {
    app: String,
    loss: String,
    metric: String,
    floor: Floor,
    chance: String,
    /// `(config, key)` stages trained before `quick.yaml` (`Info::demo_before`).
    before: Vec<(String, String)>,
}

/// The workspace members named in the root `Cargo.toml`'s `members = [...]`, as folder names.
fn members(manifest: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(manifest).with_context(|| {
        format!(
            "cannot read {} (run from the repository root)",
            manifest.display()
        )
    })?;
    let start = text
        .find("members")
        .and_then(|i| text[i..].find('[').map(|j| i + j + 1))
        .with_context(|| format!("{}: no `members = [...]`", manifest.display()))?;
    let end = text[start..]
        .find(']')
        .map(|j| start + j)
        .with_context(|| format!("{}: `members` is not closed", manifest.display()))?;
    Ok(text[start..end]
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .filter_map(|m| {
            Path::new(m)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .collect())
}

/// The app's own declaration (`<app> info --json`), or `None` for a binary that is not an app.
fn info(bin: &Path) -> anyhow::Result<Option<Entry>> {
    let Ok(out) = Command::new(bin).args(["info", "--json"]).output() else {
        return Ok(None);
    };
    if !out.status.success() {
        return Ok(None);
    }
    match serde_json::from_slice::<serde_json::Value>(&out.stdout) {
        Ok(v) => entry(&v).with_context(|| format!("{} info --json", bin.display())),
        Err(_) => Ok(None),
    }
}

/// An app's entry from its `info --json` (None when it is not an app's answer); a floor that
/// does not parse is an error, so the demo stops before training anything.
fn entry(v: &serde_json::Value) -> anyhow::Result<Option<Entry>> {
    let text = |k: &str| v["info"][k].as_str().map(str::to_string);
    let (Some(app), Some(loss), Some(metric), Some(floor), Some(chance)) = (
        v["name"].as_str().map(str::to_string),
        text("loss"),
        text("demo_metric"),
        text("demo_floor"),
        text("demo_chance"),
    ) else {
        return Ok(None);
    };
    let floor: Floor = floor
        .parse()
        .map_err(|e: String| anyhow::anyhow!("{app}: {e}"))?;
    Ok(Some(Entry {
        app,
        loss,
        metric,
        floor,
        chance,
        before: v["info"]["demo_before"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
    }))
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

/// Trains `configs/<app>/<config>.yaml` as run `name` with the given `--set`s; false when the
/// app failed (its own message is on the terminal).
fn train(bin: &Path, app: &str, config: &str, name: &str, sets: &[String]) -> anyhow::Result<bool> {
    let mut cmd = Command::new(bin);
    cmd.args(["train", "--config", &format!("configs/{app}/{config}.yaml")])
        .args(["--name", name]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {app}"))?;
    Ok(status.success())
}

fn main() -> std::process::ExitCode {
    kit::cli::main(run)
}

fn run() -> anyhow::Result<()> {
    let only: Vec<String> = std::env::args().skip(1).collect();
    let bin_dir = std::env::current_exe()?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let apps: Vec<Entry> = members(Path::new("Cargo.toml"))?
        .iter()
        .map(|m| bin_dir.join(m))
        .filter(|b| b.is_file())
        .map(|b| info(&b))
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let known = apps
        .iter()
        .map(|e| e.app.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    for o in &only {
        if !apps.iter().any(|e| &e.app == o) {
            bail!("no app named {o} (known: {known}); build them first: cargo build --workspace --bins");
        }
    }
    let entries: Vec<Entry> = apps
        .into_iter()
        .filter(|e| only.is_empty() || only.contains(&e.app))
        .collect();
    if entries.is_empty() {
        bail!(
            "no app binaries next to {} (cargo build --workspace --bins)",
            bin_dir.display()
        );
    }
    let stamp = kit::rundir::utc_stamp();
    let name = format!("demo-{stamp}");
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
        let mut sets: Vec<String> = Vec::new();
        let mut stages = Vec::new();
        let mut failed = false;
        for (config, key) in &e.before {
            let stage_name = format!("{name}-{config}");
            println!("  stage configs/{}/{config}.yaml", e.app);
            let ok = train(&bin_dir.join(&e.app), &e.app, config, &stage_name, &sets)?;
            let run = PathBuf::from("runs").join(&e.app).join(&stage_name);
            if !ok {
                failed = true;
                break;
            }
            if let Ok(v) = last_eval(&run, &e.metric) {
                stages.push(format!("{config} stage: {v:.3}"));
            }
            sets.push(format!("{key}={}", run.display()));
        }
        let ok = !failed && train(&bin_dir.join(&e.app), &e.app, "quick", &name, &sets)?;
        let secs = t0.elapsed().as_secs_f64();
        let run = PathBuf::from("runs").join(&e.app).join(&name);
        let value = if ok {
            last_eval(&run, &e.metric)?
        } else {
            f64::NAN
        };
        let chance = if stages.is_empty() {
            e.chance.clone()
        } else {
            format!("{}; {}", e.chance, stages.join(", "))
        };
        rows.push((e, chance, value, secs, run));
    }
    let mut table = String::from(
        "| app | loss | metric | value | floor | chance / baseline | met | wall time | run folder |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for (e, chance, value, secs, run) in &rows {
        table += &format!(
            "| {} | {} | {} | {:.4} | {} | {} | {} | {:.0} s | {} |\n",
            e.app,
            e.loss,
            e.metric,
            value,
            e.floor,
            chance,
            if e.floor.met(*value) { "yes" } else { "**no**" },
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(floor: &str) -> serde_json::Value {
        serde_json::json!({"name": "x", "info": {"loss": "l", "demo_metric": "m",
            "demo_floor": floor, "demo_chance": "c"}})
    }

    #[test]
    fn a_floor_round_trips_and_a_malformed_one_stops_the_demo() {
        for f in [Floor::AtLeast(0.9), Floor::AtMost(150.0)] {
            let json = serde_json::to_value(f).unwrap();
            let e = entry(&answer(json.as_str().unwrap())).unwrap().unwrap();
            assert_eq!(e.floor, f);
        }
        assert!(Floor::AtLeast(0.5).met(0.5) && !Floor::AtLeast(0.5).met(f64::NAN));
        assert!(Floor::AtMost(2.8).met(2.2) && !Floor::AtMost(2.8).met(2.9));
        for bad in ["=>0.5", ">= x", "0.5", ">=", ">=inf"] {
            let err = entry(&answer(bad)).err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|m| m.contains("expected")),
                "{bad}: {err:?}"
            );
        }
        assert!(entry(&serde_json::json!({"name": "doctor"}))
            .unwrap()
            .is_none());
    }
}
