//! The command line every app shares: `train`, `eval`, `predict`, `synth` (+ the app's own
//! subcommands), parsed and wired here so the flags are the same in every app. An app
//! implements [`App`]; its `main.rs` is `fn main() -> ExitCode { kit::cli::run::<MyApp>() }`.

use crate::app::{self, AppConfig, RunArgs, Session, TrainArgs};
use crate::checkpoint::Checkpoint;
use crate::config;
use crate::rundir::RunDir;
use crate::train::{Outcome, Task};
use clap::{CommandFactory, FromArgMatches, Subcommand};
use std::path::{Path, PathBuf};

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
    /// Config whose `data:` section drives the generator (default: configs/<app>/default.yaml).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// The folder `eval` reports on in a data folder `DIR`. For [`Split::Test`]: `DIR/test` when it
/// exists, else `DIR/val` (said on the console: it chose the checkpoint, so it is not a
/// held-out test), else `DIR` itself (the split alone). For [`Split::Val`]: `DIR/val`, else
/// `DIR` itself.
pub fn held_out_split(dir: &Path, split: Split) -> PathBuf {
    let (path, split) = {
        let test = dir.join("test");
        let val = dir.join("val");
        if split == Split::Val {
            if val.is_dir() {
                (val, VALIDATION)
            } else {
                (dir.to_path_buf(), "the folder itself")
            }
        } else if test.is_dir() {
            (test, "test")
        } else if val.is_dir() {
            println!(
                "{}: no test/ split, so eval reports val/ (validation, not a held-out test)",
                dir.display()
            );
            (val, "validation (no test/ in the folder)")
        } else {
            (dir.to_path_buf(), "the folder itself")
        }
    };
    if let Ok(mut s) = REPORTED_SPLIT.lock() {
        *s = Some(split);
    }
    path
}

/// How `eval.json` names the validation split.
const VALIDATION: &str = "validation (the split that chose the checkpoint)";

/// Which split the last [`held_out_split`] chose, for `eval.json`.
static REPORTED_SPLIT: std::sync::Mutex<Option<&'static str>> = std::sync::Mutex::new(None);

/// The split `eval` reported on: what [`held_out_split`] chose for a data folder, else the
/// split asked for.
fn reported_split(asked: Split) -> &'static str {
    REPORTED_SPLIT
        .lock()
        .ok()
        .and_then(|s| *s)
        .unwrap_or(match asked {
            Split::Test => "test",
            Split::Val => VALIDATION,
        })
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
    /// What the demo's metric must reach: `>=x` (higher is better) or `<=x`.
    pub demo_floor: &'static str,
    /// What chance (or the trivial baseline) scores, with a word on what it is.
    pub demo_chance: &'static str,
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

#[derive(clap::Parser)]
struct Cli<E: Subcommand> {
    #[command(subcommand)]
    cmd: Command<E>,
}

#[derive(Subcommand)]
enum Command<E: Subcommand> {
    /// Train (or resume) a run.
    Train(TrainArgs),
    /// The field's metrics of a run's checkpoint, appended to RUN/eval.json.
    Eval(EvalArgs),
    /// Run a trained model on input files: an answer per input, pictures under RUN/predictions.
    Predict(PredictArgs),
    /// Write the synthetic dataset in the real on-disk format.
    Synth(SynthArgs),
    /// What this app declares for `just demo` and `just bench-apps` (its metric, floor,
    /// chance level, benchmark settings).
    Info {
        /// Print it as JSON (what the tools read).
        #[arg(long)]
        json: bool,
    },
    /// Train a grid of configs × seeds (here, in parallel, or as a Slurm job array) into one
    /// table; `sweep collect DIR` rewrites the table.
    Sweep(crate::sweep::SweepCli),
    #[command(flatten)]
    Extra(E),
}

/// The whole `main` of an app.
pub fn run<A: App>() -> std::process::ExitCode {
    app::main(|| {
        let matches = Cli::<A::Extra>::command()
            .name(A::NAME)
            .about(A::ABOUT)
            .get_matches();
        let cli = Cli::<A::Extra>::from_arg_matches(&matches)?;
        dispatch::<A>(cli.cmd)
    })
}

fn dispatch<A: App>(cmd: Command<A::Extra>) -> anyhow::Result<()> {
    match cmd {
        Command::Train(args) => train::<A>(&args).map(|_| ()),
        Command::Eval(args) => {
            let (data, split) = (args.data.as_deref(), args.split);
            if split == Split::Val {
                println!("reporting validation (--split val): it chose the checkpoint, so these are not held-out numbers");
            }
            let mut o = open::<A>(&args.run, Purpose::Eval { data, split })?;
            let report = tch::no_grad(|| A::eval(&mut o))?;
            let data = data.map_or("the run's config".into(), |d| d.display().to_string());
            o.run.append_eval(serde_json::json!({
                "checkpoint": o.checkpoint, "data": data, "split": reported_split(split),
                "report": report
            }))?;
            println!("appended to {}", o.run.file("eval.json").display());
            Ok(())
        }
        Command::Predict(args) => {
            let o = open::<A>(&args.run, Purpose::Predict)?;
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| o.run.file("predictions"));
            tch::no_grad(|| A::predict(&o, &args.inputs, &out))
        }
        Command::Synth(args) => {
            let path = args
                .config
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("configs/{}/default.yaml", A::NAME)));
            let cfg: A::Config = config::load(&path, &[])?;
            let seed = args.seed.unwrap_or(cfg.train().seed);
            println!("{}", A::synth(&cfg, &args.out, args.n, seed)?);
            Ok(())
        }
        Command::Sweep(cli) => {
            let train = |a: &TrainArgs| train::<A>(a).map(|(o, _, _)| o);
            let check = |path: &Path, set: &[String]| -> anyhow::Result<(u64, bool)> {
                let c: A::Config = app::resolve(path, set, None)?;
                Ok((
                    c.train().seed,
                    matches!(c.train().device, crate::device::DeviceSpec::Cuda(_)),
                ))
            };
            crate::sweep::command(
                A::NAME,
                cli,
                &crate::sweep::Hooks {
                    train: &train,
                    check: &check,
                },
            )
        }
        Command::Info { json } => {
            let i = A::INFO;
            if json {
                let v = serde_json::json!({"name": A::NAME, "about": A::ABOUT, "info": i});
                println!("{v}");
            } else {
                println!("{}: {}", A::NAME, A::ABOUT);
                println!("loss: {}", i.loss);
                println!(
                    "demo: eval/{} {} (chance: {})",
                    i.demo_metric, i.demo_floor, i.demo_chance
                );
                println!(
                    "bench: --set {} (steps ×{})",
                    i.bench_set.join(" --set "),
                    i.bench_steps_scale
                );
            }
            Ok(())
        }
        Command::Extra(e) => A::extra(e),
    }
}

/// `<app> train` through [`app::train`], then the app's [`App::after_train`].
pub fn train<A: App>(args: &TrainArgs) -> anyhow::Result<(Outcome, Session<A::Config>, A::Task)> {
    let (outcome, session, mut task) = app::train(A::NAME, args, A::train_task, A::inference_meta)?;
    A::after_train(&session, &mut task, &outcome)?;
    Ok((outcome, session, task))
}

/// Opens a run for eval / predict: config (+ `--set`), the app's inference task built from
/// the run alone, the checkpoint loaded into it.
pub fn open<A: App>(args: &RunArgs, purpose: Purpose) -> anyhow::Result<Opened<A>> {
    let (config, run, ck, device) = app::open_run::<A::Config>(A::NAME, args)?;
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
