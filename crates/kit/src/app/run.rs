//! The parts of [`super::train`] that find, open and check a run folder.

use super::AppConfig;
use crate::args::TrainArgs;
use crate::checkpoint::Checkpoint;
use crate::config;
use crate::rundir::RunDir;
use crate::train::{Outcome, Task, TrainConfig};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// The run `--resume` names (checked to be this app's) and the config to train: its own
/// `config.yaml` when resuming, else `--config`.
pub(super) fn run_and_config(
    app: &str,
    args: &TrainArgs,
) -> anyhow::Result<(Option<RunDir>, PathBuf)> {
    let existing = match &args.resume {
        Some(dir) => {
            let run = RunDir::open(dir)?;
            run.check_app(app)?;
            Some(run)
        }
        None => None,
    };
    let path = match (&existing, &args.config) {
        (Some(run), _) => run.config(),
        (None, Some(p)) => p.clone(),
        (None, None) => {
            anyhow::bail!("pass --config configs/{app}/<name>.yaml (or --resume runs/{app}/<run>)")
        }
    };
    Ok((existing, path))
}

/// The config as the run folder keeps it; under data parallel, with a line saying how it was
/// trained (`train.batch_size` is per rank).
pub(super) fn run_yaml<C: AppConfig>(
    config: &C,
    dist: Option<&crate::distributed::Group>,
) -> anyhow::Result<String> {
    let mut yaml = config::to_yaml(config)?;
    if let Some(g) = dist {
        let b = config.train().batch_size;
        yaml += &format!(
            "# data parallel: {} ranks × train.batch_size {b} = global batch {}\n",
            g.placement.world,
            b * g.placement.world
        );
    }
    Ok(yaml)
}

/// A resumed run checked before its files change: partial files of an earlier stop removed,
/// its checkpoint loaded into `task` (a config that no longer fits fails here), and its
/// `config.yaml` rewritten only if the config changed.
pub(super) fn reopen<T: Task>(run: RunDir, task: &mut T, yaml: &str) -> anyhow::Result<RunDir> {
    let removed = run.clean_temp()?;
    if removed > 0 {
        println!("removed {removed} partial file(s) left by an earlier stop");
    }
    Checkpoint::read(&run.last())?
        .load_model(task.var_store_mut())
        .context("the run's checkpoint does not fit this config (a --set changed the model?)")?;
    if std::fs::read_to_string(run.config()).ok().as_deref() != Some(yaml) {
        run.write("config.yaml", yaml.as_bytes())?;
    }
    Ok(run)
}

/// Whether a resumed run has nothing left to train (said so when it has not).
pub(super) fn is_finished_run<T: Task>(
    run: &RunDir,
    task: &T,
    cfg: &TrainConfig,
    resume: bool,
) -> anyhow::Result<bool> {
    if !resume {
        return Ok(false);
    }
    let state = Checkpoint::read(&run.last())?.train_state()?;
    let finished = crate::train::is_finished(cfg, task.batches_per_epoch() as u64, &state);
    if finished {
        println!(
            "the run already finished at step {}: nothing to train (raise train.epochs or \
             train.max_steps with --set to continue it)",
            state.step
        );
    }
    Ok(finished)
}

/// `data.source` as a dataset folder, when it is one (a built-in generator's name is not).
pub fn folder_source(source: &str) -> Option<PathBuf> {
    Some(PathBuf::from(source)).filter(|p| p.is_dir())
}

/// Prints how training ended and where to look.
pub fn report(outcome: &Outcome, run: &Path) {
    match outcome {
        Outcome::Finished { state, last } => {
            println!("finished at step {} (epoch {})", state.step, state.epoch);
            if let Some(m) = last {
                let s: Vec<String> = m
                    .values
                    .iter()
                    .map(|(k, v)| format!("{k}={v:.4}"))
                    .collect();
                println!("final eval : {}", s.join("  "));
            }
            if let Some(b) = state.best_metric {
                println!("best       : {b:.4} at step {}", state.best_step);
            }
        }
        Outcome::Interrupted { state } => {
            println!(
                "interrupted at step {}; resume with --resume {}",
                state.step,
                run.display()
            );
        }
    }
    println!("checkpoints: {}/checkpoints/", run.display());
    println!(
        "TensorBoard: just tensorboard   (logs in {})",
        run.display()
    );
}
