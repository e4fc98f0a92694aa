//! What every app's command line shares: `train` arguments, config + run-directory set-up,
//! and the closing summary. `--config`, `--set`, `--resume`, `--device` behave the same in
//! every app because they come from here.

use crate::checkpoint::Checkpoint;
use crate::config::{self, InvalidValue};
use crate::data::Dataset;
use crate::device::{seed_torch, set_threads, DeviceSpec};
use crate::logging::Logger;
use crate::rundir::RunDir;
use crate::train::{fit, FitOptions, Outcome, Task, TrainConfig, TrainError};
use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};
use tboard::HParam;

/// Arguments of `<app> train`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// YAML config, e.g. configs/<app>/default.yaml (not needed with --resume).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Override any config key, e.g. --set train.lr=0.01 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Continue a stopped run from its last checkpoint.
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// auto | cpu | cuda | cuda:N (overrides train.device).
    #[arg(long)]
    pub device: Option<DeviceSpec>,
    /// Run folder name (default: <config name>-<UTC time>).
    #[arg(long)]
    pub name: Option<String>,
    /// Where run folders go.
    #[arg(long, default_value = "runs")]
    pub runs: PathBuf,
    /// Stop as Ctrl-C would after this many steps (tests of resume).
    #[arg(long, hide = true)]
    pub stop_after: Option<u64>,
}

/// Arguments of `<app> eval` and `<app> predict`: which run and which checkpoint.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// A run folder, e.g. runs/<app>/<run-name>.
    #[arg(long, value_name = "RUN_DIR")]
    pub run: PathBuf,
    /// best | last
    #[arg(long, default_value = "best")]
    pub checkpoint: String,
    /// auto | cpu | cuda | cuda:N
    #[arg(long)]
    pub device: Option<DeviceSpec>,
    /// Override a key of the run's config for this command, e.g. --set
    /// detect.show_threshold=0.5 (repeatable; the run's config.yaml is not changed).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// Writes [`AppConfig`]'s `train` / `train_mut` for a config whose `train:` section is a field
/// named `train`: `kit::train_section!();` inside `impl AppConfig for …`.
#[macro_export]
macro_rules! train_section {
    () => {
        fn train(&self) -> &$crate::train::TrainConfig {
            &self.train
        }
        fn train_mut(&mut self) -> &mut $crate::train::TrainConfig {
            &mut self.train
        }
    };
}

/// An app's config: any struct with a `train:` section.
pub trait AppConfig: Serialize + DeserializeOwned {
    fn train(&self) -> &TrainConfig;
    fn train_mut(&mut self) -> &mut TrainConfig;
    /// Whether the app runs its forward pass through [`crate::precision::forward`], so that
    /// `train.precision: bf16` means something (other apps refuse it).
    const BF16: bool = false;
    /// Checks the app's own keys (the `train:` section is checked by the kit) before anything
    /// is written: `loss.gamma must be ≥ 0, got -1`.
    fn validate(&self) -> Result<(), InvalidValue> {
        Ok(())
    }
}

/// Everything a finished `train` leaves for its caller (a sweep evaluates the task after it).
pub struct Session<C> {
    pub config: C,
    pub run: RunDir,
    pub device: tch::Device,
    pub logger: Logger,
    pub resume: bool,
}

/// Loads, overrides and validates a config without writing anything.
pub fn resolve<C: AppConfig>(
    path: &Path,
    set: &[String],
    device: Option<DeviceSpec>,
) -> anyhow::Result<C> {
    let mut config: C = config::load(path, set)?;
    if let Some(d) = device {
        config.train_mut().device = d;
    }
    let bf16 = config.train().precision == crate::precision::Precision::Bf16;
    let checked = config
        .train()
        .validate()
        .and_then(|()| {
            config::ensure(!bf16 || C::BF16, "train.precision", || {
                "bf16 is not supported by this app yet (face-verify and segment-dice have it): \
                 use fp32"
                    .into()
            })
        })
        .and_then(|()| config.validate());
    if let Err(e) = checked {
        let from = if set.is_empty() {
            String::new()
        } else {
            format!(" (with --set {})", set.join(" --set "))
        };
        anyhow::bail!("{}{from}: {e}", path.display());
    }
    Ok(config)
}

/// `<app> train`: loads and validates the config (from `--config`, or the run folder with
/// `--resume`), builds the task with `build` (model + data), and only then touches the run
/// folder: a new run gets a fresh folder, a resumed one is checked against its checkpoint
/// before its `config.yaml` changes. Then trains and prints how it ended.
pub fn train<C, T>(
    app: &str,
    args: &TrainArgs,
    build: impl FnOnce(&C, tch::Device) -> anyhow::Result<T>,
    inference_meta: impl FnOnce(&T) -> serde_json::Value,
) -> anyhow::Result<(Outcome, Session<C>, T)>
where
    C: AppConfig,
    T: Task,
{
    let existing = match &args.resume {
        Some(dir) => {
            let run = RunDir::open(dir)?;
            run.check_app(app)?;
            Some(run)
        }
        None => None,
    };
    let config_path = match (&existing, &args.config) {
        (Some(run), _) => run.config(),
        (None, Some(p)) => p.clone(),
        (None, None) => {
            anyhow::bail!("pass --config configs/{app}/<name>.yaml (or --resume runs/{app}/<run>)")
        }
    };
    let config: C = resolve(&config_path, &args.set, args.device)?;
    let t = config.train();
    let device = t.device.resolve()?;
    set_threads(t.threads);
    seed_torch(t.seed);
    let mut task = build(&config, device)?;
    if task.batches_per_epoch() == 0 {
        return Err(TrainError::NoBatch {
            samples: task.train_loader().dataset().len(),
            batch_size: config.train().batch_size,
        }
        .into());
    }
    let yaml = config::to_yaml(&config)?;
    let mut finished = false;
    let run = match existing {
        Some(run) => {
            let removed = run.clean_temp()?;
            if removed > 0 {
                println!("removed {removed} partial file(s) left by an earlier stop");
            }
            // A resume that cannot work must fail before the run's files change.
            let ck = Checkpoint::read(&run.last())?;
            ck.load_model(task.var_store_mut()).context(
                "the run's checkpoint does not fit this config (a --set changed the model?)",
            )?;
            let state = ck.train_state()?;
            finished =
                crate::train::is_finished(config.train(), task.batches_per_epoch() as u64, &state);
            if finished {
                println!(
                    "the run already finished at step {}: nothing to train (raise \
                     train.epochs or train.max_steps with --set to continue it)",
                    state.step
                );
            }
            if std::fs::read_to_string(run.config()).ok().as_deref() != Some(yaml.as_str()) {
                run.write("config.yaml", yaml.as_bytes())?;
            }
            run
        }
        None => {
            let tag = config_path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string());
            let run = RunDir::create(
                &args.runs,
                app,
                args.name.as_deref(),
                &tag.unwrap_or_default(),
            )?;
            run.write("config.yaml", yaml.as_bytes())?;
            run
        }
    };
    run.write_meta(
        app,
        inference_meta(&task),
        crate::data::held_out_validation_note(),
    )?;
    let mut logger = Logger::new(&run.root)
        .with_context(|| format!("cannot open logs in {}", run.root.display()))?;
    if !finished {
        // (Nothing is logged for a run with nothing left to train: no new event file.)
        log_config(&mut logger, &yaml)
            .with_context(|| format!("cannot write logs in {}", run.root.display()))?;
    }
    println!("run folder : {}", run.root.display());
    println!("device     : {device:?}");
    let resume = args.resume.is_some();
    let opts = FitOptions {
        resume,
        stop_after: args.stop_after,
    };
    let outcome = fit(&mut task, config.train(), &run, &mut logger, opts)?;
    report(&outcome, &run.root);
    let session = Session {
        config,
        run,
        device,
        logger,
        resume,
    };
    Ok((outcome, session, task))
}

/// Runs an app's `main`: a user error prints its message and causes (never a backtrace, even
/// with `RUST_BACKTRACE` set) and exits 1; output into a closed pipe (`eval | head`) ends the
/// program quietly instead of panicking.
pub fn main(run: impl FnOnce() -> anyhow::Result<()>) -> std::process::ExitCode {
    // Rust ignores SIGPIPE, which turns `println!` into a closed pipe into a panic; the
    // default action ends the process the way every other command-line tool does.
    // SAFETY: called at start-up before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    keep_freed_memory();
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// glibc serves every allocation above 128 KiB–32 MiB with a fresh `mmap` and returns it on
/// free, so each training step's large activations (a 32 × 1024 × 2048 Chamfer distance block
/// is 268 MB) are page-faulted and zeroed by the kernel again: pointcloud-chamfer spent 60% of
/// its step in the kernel. Keeping freed memory in the heap for reuse (what jemalloc /
/// tcmalloc users of PyTorch get) made its 30-step run 3× faster; RSS then stays at its peak.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's allocation thresholds; called before any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

/// Writes the resolved config to TensorBoard as text, and hands its flattened form (`train.lr`,
/// `model.width`, …) to the loop, which writes it to the HParams tab at the first evaluation
/// with the selection metric under its own name.
fn log_config(logger: &mut Logger, yaml: &str) -> std::io::Result<()> {
    logger
        .tb
        .text("config", 0, &format!("```yaml\n{yaml}\n```"))?;
    let tree: serde_norway::Value = serde_norway::from_str(yaml).map_err(std::io::Error::other)?;
    let mut flat = Vec::new();
    flatten("", &tree, &mut flat);
    logger.pending_hparams = Some(flat);
    Ok(())
}

fn flatten(prefix: &str, v: &serde_norway::Value, out: &mut Vec<(String, HParam)>) {
    use serde_norway::Value as V;
    match v {
        V::Mapping(m) => {
            for (k, v) in m {
                let key = k.as_str().unwrap_or_default();
                let name = if prefix.is_empty() {
                    key.to_string()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&name, v, out);
            }
        }
        V::Number(n) => out.push((
            prefix.into(),
            HParam::Number(n.as_f64().unwrap_or(f64::NAN)),
        )),
        V::Bool(b) => out.push((prefix.into(), HParam::Bool(*b))),
        V::String(s) => out.push((prefix.into(), HParam::Text(s.clone()))),
        V::Sequence(_) => out.push((
            prefix.into(),
            HParam::Text(
                serde_norway::to_string(v)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            ),
        )),
        _ => {}
    }
}

/// Opens a finished (or stopped) run for eval / predict: its config and the checkpoint path.
pub fn open_run<C: AppConfig>(
    app: &str,
    args: &RunArgs,
) -> anyhow::Result<(C, RunDir, PathBuf, tch::Device)> {
    let run = RunDir::open(&args.run)?;
    run.check_app(app)?;
    let config: C = resolve(&run.config(), &args.set, args.device)?;
    let ck = match args.checkpoint.as_str() {
        "best" => run.best(),
        "last" => run.last(),
        other => anyhow::bail!("--checkpoint {other}: use best or last"),
    };
    let device = config.train().device.resolve()?;
    Ok((config, run, ck, device))
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
