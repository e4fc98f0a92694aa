//! Running sweep runs: here (one at a time or `--parallel N` processes), and the per-run task
//! that every executor (local or Slurm) calls.

use super::{last_line, read_plan, status, RunSpec, Status};
use kit::args::TrainArgs;
use kit::rundir::write_atomic;
use kit::train::Outcome;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Runs the pending / stopped runs here, `parallel` processes at once (each `<exe> sweep task`,
/// output to logs/<index>.log). Ctrl-C stops every run at its next step with a checkpoint.
pub(super) fn run_local(dir: &Path, todo: &[&RunSpec], parallel: usize) -> anyhow::Result<()> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        // The children get the same Ctrl-C (one process group) and save their checkpoints.
        let _ = ctrlc::set_handler(move || stop.store(true, std::sync::atomic::Ordering::SeqCst));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = (cores / parallel).max(1);
    let exe = std::env::current_exe()?;
    let mut queue: std::collections::VecDeque<&RunSpec> = todo.iter().copied().collect();
    let mut live: Vec<(std::process::Child, &RunSpec, Instant)> = Vec::new();
    let total = todo.len();
    let mut done = 0;
    loop {
        let stopping = stop.load(std::sync::atomic::Ordering::SeqCst);
        while !stopping && live.len() < parallel {
            let Some(r) = queue.pop_front() else { break };
            let log = std::fs::File::create(dir.join("logs").join(format!("{}.log", r.index)))?;
            let child = Command::new(&exe)
                .args(["sweep", "task"])
                .arg(dir)
                .arg(r.index.to_string())
                .args(["--threads", &threads.to_string()])
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()?;
            let verb = if status(dir, r) == Status::Stopped {
                "resuming"
            } else {
                "starting"
            };
            println!("[{}/{total}] {verb} {}", done + live.len() + 1, r.name);
            live.push((child, r, Instant::now()));
        }
        if live.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        let mut k = 0;
        while k < live.len() {
            if let Some(code) = live[k].0.try_wait()? {
                let (_, r, t0) = live.remove(k);
                done += 1;
                let st = status(dir, r);
                let what = match st {
                    Status::Finished => "finished".to_string(),
                    Status::Failed => format!(
                        "FAILED: {}",
                        last_line(&dir.join("logs").join(format!("{}.log", r.index)))
                    ),
                    _ if code.success() => {
                        "stopped (checkpoint saved; run the sweep again to continue)".into()
                    }
                    _ => format!("ended with {code} and no result"),
                };
                println!(
                    "  {} {what} ({:.1} min)",
                    r.name,
                    t0.elapsed().as_secs_f64() / 60.0
                );
            } else {
                k += 1;
            }
        }
    }
    if stop.load(std::sync::atomic::Ordering::SeqCst) {
        println!("sweep stopped; run the same command again to continue it");
    }
    Ok(())
}

/// What a finished run leaves in `result.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunResult {
    pub step: u64,
    pub best_step: u64,
    /// `eval/*` values (prefix dropped) at the best checkpoint's evaluation.
    pub best: std::collections::BTreeMap<String, f64>,
    pub minutes: f64,
    /// The best checkpoint's metrics on the test split (grids with `test: true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<std::collections::BTreeMap<String, f64>>,
}

impl RunResult {
    /// What the sweep's table reports: test when it was evaluated, else validation.
    pub fn reported(&self) -> &std::collections::BTreeMap<String, f64> {
        self.test.as_ref().unwrap_or(&self.best)
    }
}

/// The `eval/*` values logged at `step` in a run's metrics.jsonl.
fn eval_at(run: &Path, step: u64) -> anyhow::Result<std::collections::BTreeMap<String, f64>> {
    let p = run.join("metrics.jsonl");
    let text = std::fs::read_to_string(&p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    let mut out = std::collections::BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v.get("step").and_then(|s| s.as_u64()) != Some(step) {
            continue;
        }
        if let Some(o) = v.as_object() {
            for (k, x) in o {
                if let (Some(name), Some(x)) = (k.strip_prefix("eval/"), x.as_f64()) {
                    out.insert(name.to_string(), x);
                }
            }
        }
    }
    Ok(out)
}

/// `<app> sweep task DIR INDEX`: finished → nothing; stopped → resume; else a new run (a
/// folder left without any checkpoint is replaced). Writes result.json when the run
/// finishes, `failed/<index>.txt` when it fails.
pub fn run_task(
    dir: &Path,
    index: usize,
    threads: Option<usize>,
    stop_after: Option<u64>,
    train: &dyn Fn(&TrainArgs) -> anyhow::Result<Outcome>,
    test: &crate::TestFn,
) -> anyhow::Result<Option<RunResult>> {
    let plan = read_plan(dir)?;
    let r = plan.runs.get(index).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no run {index} (the plan has {})",
            dir.display(),
            plan.runs.len()
        )
    })?;
    let run = dir.join(&r.name);
    let failed = dir.join("failed").join(format!("{index}.txt"));
    let _ = std::fs::remove_file(&failed);
    match status(dir, r) {
        Status::Finished => {
            println!("{}: finished before, kept", r.name);
            return Ok(None);
        }
        Status::Pending if run.exists() => {
            println!(
                "{}: left without a checkpoint by an earlier attempt; starting it again",
                r.name
            );
            std::fs::remove_dir_all(&run)?;
        }
        _ => {}
    }
    let resume = status(dir, r) == Status::Stopped;
    let mut set = if resume { Vec::new() } else { plan.set.clone() };
    if !resume {
        set.extend(r.sets());
    }
    if let Some(t) = threads {
        set.push(format!("train.threads={t}"));
    }
    let sweep_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let runs_root = dir
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("runs"));
    let args = TrainArgs {
        config: Some(plan.config.clone()),
        set,
        resume: resume.then(|| run.clone()),
        device: None,
        name: Some(format!("{sweep_name}/{}", r.name)),
        runs: runs_root.to_path_buf(),
        stop_after,
    };
    println!(
        "{} {} ({})",
        if resume { "resuming" } else { "starting" },
        r.name,
        r.sets().join(" ")
    );
    let t0 = Instant::now();
    let outcome = match train(&args) {
        Ok(o) => o,
        Err(e) => {
            std::fs::create_dir_all(dir.join("failed"))?;
            let msg = format!("{e:#}");
            write_atomic(&failed, msg.as_bytes())?;
            return Err(e);
        }
    };
    match outcome {
        Outcome::Finished { state, .. } => {
            let minutes = t0.elapsed().as_secs_f64() / 60.0;
            let test = if plan.test {
                println!(
                    "{}: evaluating the best checkpoint on the test split",
                    r.name
                );
                Some(test(&run)?)
            } else {
                None
            };
            let result = RunResult {
                step: state.step,
                best_step: state.best_step,
                best: eval_at(&run, state.best_step)?,
                minutes,
                test,
            };
            write_atomic(
                &run.join("result.json"),
                serde_json::to_string_pretty(&result)?.as_bytes(),
            )?;
            Ok(Some(result))
        }
        Outcome::Interrupted { .. } => Ok(None),
    }
}
