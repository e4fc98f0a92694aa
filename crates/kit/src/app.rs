//! What an app is to the kit: the [`App`] trait it implements (its task, evaluation,
//! prediction, synthetic data and [`Info`]), its config's [`AppConfig`], and what `train`,
//! `eval` and `predict` do with them: config → validation → task → run folder → fit → report
//! ([`train`]), and a run opened from its folder alone ([`open`]).

use crate::args::{RunArgs, Split, TrainArgs};
use crate::checkpoint::Checkpoint;
use crate::config::{self, InvalidValue};
use crate::data::Dataset;
use crate::device::{seed_torch, DeviceSpec};
use crate::logging::Logger;
use crate::rundir::RunDir;
use crate::train::{fit, FitOptions, Outcome, Task, TrainConfig, TrainError};
use anyhow::Context;
use clap::Subcommand;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

mod floor;
mod run;
pub use floor::Floor;
pub use run::{folder_source, report};
use run::{is_finished_run, reopen, run_and_config, run_yaml};

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
    /// `train.precision: bf16 | fp16` means something (other apps refuse it).
    const AUTOCAST: bool = false;
    /// The dataset folder the config trains on, when it names one (not built-in synthetic
    /// data): `train` checks it for validation or test items that duplicate training items.
    fn data_folder(&self) -> Option<PathBuf> {
        None
    }
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
    let autocast = config.train().precision != crate::precision::Precision::Fp32;
    let checked = config
        .train()
        .validate()
        .and_then(|()| {
            config::ensure(!autocast || C::AUTOCAST, "train.precision", || {
                "bf16 and fp16 are not supported by this app yet (face-verify and segment-dice \
                 have them): use fp32"
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
    let (existing, config_path) = run_and_config(app, args)?;
    let config: C = resolve(&config_path, &args.set, args.device)?;
    if let Some(dir) = config.data_folder() {
        crate::data::check::warn_leaks(&dir, app);
    }
    let t = config.train();
    let dist = crate::distributed::join_group(t)?;
    let device = crate::distributed::device_and_threads(dist, t)?;
    seed_torch(t.seed);
    let mut task = build(&config, device)?;
    if task.batches_per_epoch() == 0 {
        return Err(TrainError::NoBatch {
            samples: task.train_loader().dataset().len(),
            batch_size: t.batch_size,
        }
        .into());
    }
    let yaml = run_yaml(&config, dist)?;
    if let Some(g) = dist {
        let p = &g.placement;
        println!(
            "{}",
            crate::distributed::describe(p, t.batch_size, task.train_loader().dataset().len())
        );
        if p.rank > 0 {
            crate::distributed::train_other_rank(
                app,
                args,
                &config,
                &yaml,
                existing.as_ref(),
                &mut task,
            );
        }
    }
    let run = match existing {
        Some(run) => reopen(run, &mut task, &yaml)?,
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
    let finished = is_finished_run(&run, &task, config.train(), args.resume.is_some())?;
    run.write_meta(
        app,
        inference_meta(&task),
        crate::data::held_out_validation_note(),
    )?;
    let mut logger = Logger::new(&run.root)
        .with_context(|| format!("cannot open logs in {}", run.root.display()))?;
    if !finished {
        // (Nothing is logged for a run with nothing left to train: no new event file.)
        crate::logging::log_config(&mut logger, &yaml)
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

/// What the task is built for.
#[derive(Debug, Clone, Copy)]
pub enum Purpose<'a> {
    /// `eval`: the run's `split` (test unless `--split val`), or that split of the folder
    /// `--data` names.
    Eval {
        data: Option<&'a Path>,
        split: Split,
    },
    /// `predict`: no dataset at all (a run folder must be enough).
    Predict,
}

impl Purpose<'_> {
    /// The held-out data this purpose reads, so that no app matches on it: `folder(dir, split)`
    /// for `eval --data DIR`, else the run's own `test()` or `val()`; `None` for `predict`,
    /// which reads no dataset.
    pub fn held_out<S>(
        self,
        folder: impl FnOnce(&Path, Split) -> anyhow::Result<S>,
        test: impl FnOnce() -> anyhow::Result<S>,
        val: impl FnOnce() -> anyhow::Result<S>,
    ) -> anyhow::Result<Option<S>> {
        match self {
            Purpose::Eval {
                data: Some(dir),
                split,
            } => folder(dir, split).map(Some),
            Purpose::Eval {
                data: None,
                split: Split::Test,
            } => test().map(Some),
            Purpose::Eval {
                data: None,
                split: Split::Val,
            } => val().map(Some),
            Purpose::Predict => Ok(None),
        }
    }
}

/// A run opened for eval / predict: its config, folder, task with the checkpoint loaded.
pub struct Opened<A: App> {
    pub config: A::Config,
    pub run: RunDir,
    pub task: A::Task,
    /// `best` or `last`.
    pub checkpoint: String,
    pub device: tch::Device,
}

/// What an app declares about itself, printed by `<app> info --json`: `just demo` and
/// `just bench-apps` read it, so adding an app touches no list outside its crate.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Info {
    /// The loss, as the demo table names it (`ArcFace`, `Dice + CE`).
    pub loss: &'static str,
    /// The demo's metric: `eval/<metric>` logged by its `quick.yaml` run.
    pub demo_metric: &'static str,
    /// What the demo's metric must reach.
    pub demo_floor: Floor,
    /// What chance (or the trivial baseline) scores, with a word on what it is.
    pub demo_chance: &'static str,
    /// Stages the demo trains before `quick.yaml`, in order, for an app whose job is a chain of
    /// runs (rlhf-reward: SFT, then a reward model, then the policy): `(config, key)` trains
    /// `configs/<app>/<config>.yaml` and passes `--set <key>=<its run folder>` to every later
    /// stage. A stage that logs the demo's metric is shown beside the result.
    pub demo_before: &'static [(&'static str, &'static str)],
    /// `--set` overrides that keep a benchmark run's final evaluation small (`just bench-apps`
    /// times training steps only).
    pub bench_set: &'static [&'static str],
    /// Apps whose steps take ~10–25 ms time this many times the benchmark's steps.
    pub bench_steps_scale: u32,
}

/// No extra subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum NoExtra {}

/// What an app plugs into the shared command line.
pub trait App: Sized {
    /// The binary's name, also the folder under `runs/`.
    const NAME: &'static str;
    /// One line for `--help`.
    const ABOUT: &'static str;
    /// The demo's metric, floor and chance level, and the benchmark's settings.
    const INFO: Info;
    type Config: AppConfig;
    type Task: Task;
    /// The app's own subcommands ([`NoExtra`] for none).
    type Extra: Subcommand;

    /// Model + training and validation data.
    fn train_task(cfg: &Self::Config, device: tch::Device) -> anyhow::Result<Self::Task>;
    /// What inference needs beyond the config (class names, head size…): written into the
    /// run's `meta.json` at train time and handed back to [`App::inference_task`].
    fn inference_meta(_task: &Self::Task) -> serde_json::Value {
        serde_json::Value::Null
    }
    /// Model (+ evaluation data for `eval`) from the run folder alone.
    fn inference_task(
        cfg: &Self::Config,
        meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<Self::Task>;
    /// Prints the field's metric table; returns the report appended to `eval.json`.
    fn eval(o: &mut Opened<Self>) -> anyhow::Result<serde_json::Value>;
    /// One line of answer per input (+ pictures under `out`).
    fn predict(o: &Opened<Self>, inputs: &[PathBuf], out: &Path) -> anyhow::Result<()>;
    /// Writes the synthetic set in the real format; returns a one-line summary.
    fn synth(cfg: &Self::Config, out: &Path, n: Option<usize>, seed: u64)
        -> anyhow::Result<String>;
    /// After `train` (e.g. choose a verification threshold on the best checkpoint).
    fn after_train(
        _s: &Session<Self::Config>,
        _task: &mut Self::Task,
        _outcome: &Outcome,
    ) -> anyhow::Result<()> {
        Ok(())
    }
    /// Runs one of [`App::Extra`].
    fn extra(_cmd: Self::Extra) -> anyhow::Result<()> {
        Ok(())
    }
}

/// `<app> train` through [`train`], then the app's [`App::after_train`].
pub fn train_app<A: App>(
    args: &TrainArgs,
) -> anyhow::Result<(Outcome, Session<A::Config>, A::Task)> {
    let result = train(A::NAME, args, A::train_task, A::inference_meta).and_then(
        |(outcome, session, mut task)| {
            A::after_train(&session, &mut task, &outcome)?;
            Ok((outcome, session, task))
        },
    );
    crate::distributed::report_failure(&result);
    result
}

/// Opens a run for eval / predict: config (+ `--set`), the app's inference task built from
/// the run alone, the checkpoint loaded into it.
pub fn open<A: App>(args: &RunArgs, purpose: Purpose) -> anyhow::Result<Opened<A>> {
    let (config, run, ck, device) = open_run::<A::Config>(A::NAME, args)?;
    let meta = run.inference_meta()?;
    let mut task = A::inference_task(&config, &meta, device, purpose)?;
    Checkpoint::read(&ck)?.load_model(task.var_store_mut())?;
    Ok(Opened {
        config,
        run,
        task,
        checkpoint: args.checkpoint.clone(),
        device,
    })
}
