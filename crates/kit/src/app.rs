//! What every app's command line shares: `train` arguments, config + run-directory set-up,
//! and the closing summary. `--config`, `--set`, `--resume`, `--device` behave the same in
//! every app because they come from here.

use crate::config;
use crate::device::{seed_torch, set_threads, DeviceSpec};
use crate::logging::Logger;
use crate::rundir::RunDir;
use crate::tensorboard::HParam;
use crate::train::{Outcome, TrainConfig};
use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

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
}

/// An app's config: any struct with a `train:` section.
pub trait AppConfig: Serialize + DeserializeOwned {
    fn train(&self) -> &TrainConfig;
    fn train_mut(&mut self) -> &mut TrainConfig;
}

/// Everything `train` needs before the task is built.
pub struct Session<C> {
    pub config: C,
    pub run: RunDir,
    pub device: tch::Device,
    pub logger: Logger,
    pub resume: bool,
}

/// Loads the config (from `--config`, or the run folder with `--resume`), applies `--set` and
/// `--device`, creates the run folder, writes the resolved config there, seeds libtorch.
pub fn start<C: AppConfig>(app: &str, args: &TrainArgs) -> anyhow::Result<Session<C>> {
    let (mut config, run): (C, RunDir) = match &args.resume {
        Some(dir) => {
            let run = RunDir::open(dir)?;
            (config::load(&run.config(), &args.set)?, run)
        }
        None => {
            let path = args.config.as_deref().context(
                "pass --config configs/<app>/<name>.yaml (or --resume runs/<app>/<run>)",
            )?;
            let config: C = config::load(path, &args.set)?;
            let tag = path.file_stem().map(|s| s.to_string_lossy().to_string());
            let run = RunDir::create(
                &args.runs,
                app,
                args.name.as_deref(),
                &tag.unwrap_or_default(),
            )?;
            (config, run)
        }
    };
    if let Some(d) = args.device {
        config.train_mut().device = d;
    }
    run.write("config.yaml", config::to_yaml(&config)?.as_bytes())?;
    let t = config.train();
    let device = t.device.resolve()?;
    set_threads(t.threads);
    seed_torch(t.seed);
    let mut logger = Logger::new(&run.root)
        .with_context(|| format!("cannot open logs in {}", run.root.display()))?;
    let yaml = config::to_yaml(&config)?;
    log_config(&mut logger, &yaml)
        .with_context(|| format!("cannot write logs in {}", run.root.display()))?;
    println!("run folder : {}", run.root.display());
    println!("device     : {device:?}");
    Ok(Session {
        config,
        run,
        device,
        logger,
        resume: args.resume.is_some(),
    })
}

/// Writes the resolved config to TensorBoard: as text, and flattened into hparams
/// (`train.lr`, `model.width`, …) so runs can be compared in the HParams tab.
fn log_config(logger: &mut Logger, yaml: &str) -> std::io::Result<()> {
    logger
        .tb
        .text("config", 0, &format!("```yaml\n{yaml}\n```"))?;
    let tree: serde_norway::Value = serde_norway::from_str(yaml).map_err(std::io::Error::other)?;
    let mut flat = Vec::new();
    flatten("", &tree, &mut flat);
    logger.tb.hparams(&flat, &["eval/selection"])
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
pub fn open_run<C: AppConfig>(args: &RunArgs) -> anyhow::Result<(C, RunDir, PathBuf, tch::Device)> {
    let run = RunDir::open(&args.run)?;
    let mut config: C = config::load(&run.config(), &[])?;
    if let Some(d) = args.device {
        config.train_mut().device = d;
    }
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
