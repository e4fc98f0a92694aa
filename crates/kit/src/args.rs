//! The arguments of the shared subcommands (`train`, `eval`, `predict`, `synth`), apart from
//! the parsing in [`crate::cli`], so that the training pipeline ([`crate::app`]) and sweeps
//! build them without depending on the command line.

use crate::device::DeviceSpec;
use std::path::PathBuf;

/// Arguments of `<app> train`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// YAML config, e.g. `configs/<app>/default.yaml` (not needed with --resume).
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
    /// Run folder name (default: `<config name>-<UTC time>`).
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
    /// A run folder, e.g. `runs/<app>/<run-name>`.
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

/// Arguments of `<app> eval`.
#[derive(clap::Args, Debug, Clone)]
pub struct EvalArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Evaluate on this dataset instead of the run's own data: a folder in the app's format
    /// (its `test/` part — or `val/` with `--split val` — or the split itself).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Which split to report: `test` (what no training choice touched; the default) or `val`
    /// (the split that chose the checkpoint: for comparing with training's evaluations).
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
}

/// The split `eval` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    Test,
    Val,
}

/// Arguments of `<app> predict`.
#[derive(clap::Args, Debug, Clone)]
pub struct PredictArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Input files.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Where pictures go (default: RUN/predictions).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Arguments of `<app> synth`: the synthetic set written in the app's real on-disk format.
#[derive(clap::Args, Debug, Clone)]
pub struct SynthArgs {
    /// Output folder (gets train/ and val/).
    #[arg(long)]
    pub out: PathBuf,
    /// Training samples (default: the config's; validation gets a quarter as many).
    #[arg(long)]
    pub n: Option<usize>,
    /// Generator seed (default: the config's train.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Config whose `data:` section drives the generator (default: `configs/<app>/default.yaml`).
    #[arg(long)]
    pub config: Option<PathBuf>,
}
