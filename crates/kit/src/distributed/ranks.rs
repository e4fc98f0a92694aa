//! How a process joins a distributed run from `kit::app::train`, and how a rank other than 0
//! trains without touching the run folder.

use super::Placement;
use crate::app::AppConfig;
use crate::args::TrainArgs;
use crate::logging::Logger;
use crate::rundir::RunDir;
use crate::train::{fit, FitOptions, Task, TrainConfig};
use anyhow::Context;

/// Joins the data-parallel group when `train.distributed: auto` and the environment names a
/// world of more than one process.
pub(crate) fn join_group(t: &TrainConfig) -> anyhow::Result<Option<&'static super::Group>> {
    if t.distributed != crate::train::DistMode::Auto {
        return Ok(None);
    }
    let Some(p) = super::Placement::from_env(|k| std::env::var(k).ok())? else {
        return Ok(None);
    };
    let timeout = std::time::Duration::from_secs(t.dist_timeout_s);
    super::set_sync_batch_norm(t.sync_batch_norm);
    Ok(Some(super::init(p, timeout)?))
}

/// A rank other than 0: trains in step with rank 0 in a scratch folder (resumed from a copy
/// of the run's last checkpoint), writes nothing into the run folder, and ends the process
/// when training ends (its stdout is flushed; c10d's threads are not torn down).
pub(crate) fn train_other_rank<C: AppConfig, T: Task>(
    app: &str,
    args: &TrainArgs,
    config: &C,
    yaml: &str,
    existing: Option<&RunDir>,
    task: &mut T,
) -> ! {
    let result = (|| -> anyhow::Result<()> {
        // A fresh folder per process: a pid-named one could be left behind by a killed rank
        // and met again by a later process with the same pid.
        let tmp = tempfile::Builder::new()
            .prefix("kit-rank-")
            .tempdir()
            .context("creating a scratch folder for this rank")?;
        let dir = tmp.path().to_path_buf();
        let scratch = RunDir::create(&dir, app, Some("scratch"), "")?;
        scratch.write("config.yaml", yaml.as_bytes())?;
        if let Some(run) = existing {
            let last = scratch.last();
            if let Some(parent) = last.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(run.last(), &last)
                .with_context(|| format!("reading {}", run.last().display()))?;
        }
        let mut logger = Logger::new(&scratch.root)?;
        let opts = FitOptions {
            resume: existing.is_some(),
            stop_after: args.stop_after,
        };
        let fitted = fit(task, config.train(), &scratch, &mut logger, opts);
        drop(logger);
        drop(tmp);
        fitted?;
        Ok(())
    })();
    let code = match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(g) = super::group() {
                g.report_error(&format!("{e:#}"));
            }
            1
        }
    };
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: ends the process at once, without running exit-time destructors.
    unsafe { libc::_exit(code) }
}

/// The start-up line of a rank: where it sits, the per-rank and global batch, and how many of
/// the `n` training samples an epoch uses (an incomplete global batch is left out).
pub(crate) fn describe(p: &Placement, batch: usize, n: usize) -> String {
    let global = batch * p.world;
    format!(
        "data parallel: rank {} of {} (local {} of {}), batch {batch} per rank = global batch \
         {global}; {} of {n} training samples per epoch (an incomplete global batch, {} samples \
         of each epoch's shuffled order, is left out)",
        p.rank,
        p.world,
        p.local_rank,
        p.local_world,
        n / global * global,
        n % global
    )
}

/// The device and intra-op threads of this process: on CUDA, a rank takes its `LOCAL_RANK`'s
/// GPU; with `train.threads: 0` the ranks of a node share its cores.
pub(crate) fn device_and_threads(
    dist: Option<&super::Group>,
    t: &TrainConfig,
) -> anyhow::Result<tch::Device> {
    let device = match (dist, t.device.resolve()?) {
        (Some(g), tch::Device::Cuda(_)) => tch::Device::Cuda(g.placement.local_rank),
        (_, d) => d,
    };
    match dist {
        Some(g) if t.threads == 0 => crate::device::set_threads(
            (std::thread::available_parallelism().map_or(1, |n| n.get()) / g.placement.local_world)
                .max(1),
        ),
        _ => crate::device::set_threads(t.threads),
    }
    crate::device::set_cudnn(t.cudnn_benchmark, t.cudnn_deterministic);
    Ok(device)
}

/// Leaves a failed training's error in the store, so the ranks that lose this one at their
/// next collective can say why.
pub(crate) fn report_failure<T>(result: &anyhow::Result<T>) {
    if let (Err(e), Some(g)) = (result, super::group()) {
        g.report_error(&format!("{e:#}"));
    }
}
