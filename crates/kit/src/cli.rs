//! The command line every app shares: `train`, `eval`, `predict`, `synth` (+ the app's own
//! subcommands), parsed and wired here so the flags are the same in every app. An app
//! implements [`crate::app::App`]; its `main.rs` is `fn main() -> ExitCode { sweep::main::<MyApp>() }`
//! (the `sweep` crate, above kit, adds `sweep` through [`run_with`]; [`run`] is the line without it).

use crate::app::{self, App, AppConfig, NoExtra, Purpose};
pub use crate::args::{EvalArgs, PredictArgs, RunArgs, Split, SynthArgs, TrainArgs};
use crate::config;
use clap::{CommandFactory, FromArgMatches, Subcommand};
use std::path::{Path, PathBuf};

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

#[derive(clap::Parser)]
struct Cli<E: Subcommand, T: Subcommand> {
    #[command(subcommand)]
    cmd: Command<E, T>,
}

#[derive(Subcommand)]
enum Command<E: Subcommand, T: Subcommand> {
    /// Train (or resume) a run.
    Train(TrainArgs),
    /// The field's metrics of a run's checkpoint, appended to RUN/eval.json.
    Eval(EvalArgs),
    /// Run a trained model on input files: an answer per input, pictures under RUN/predictions.
    Predict(PredictArgs),
    /// Write the synthetic dataset in the real on-disk format.
    Synth(SynthArgs),
    /// Look at a dataset before training on it.
    #[command(subcommand)]
    Data(DataCmd),
    /// What this app declares for `just demo` and `just bench-apps` (its metric, floor,
    /// chance level, benchmark settings).
    Info {
        /// Print it as JSON (what the tools read).
        #[arg(long)]
        json: bool,
    },
    #[command(flatten)]
    Tool(T),
    #[command(flatten)]
    Extra(E),
}

/// `data …` subcommands.
#[derive(Subcommand)]
enum DataCmd {
    /// Counts per split and class, unreadable or corrupt files, picture sizes and modes, and
    /// exact duplicates across splits by content; exits 1 when it finds a problem.
    Check {
        /// A dataset folder (`train/`, `val/`, `test/` or `train.jsonl`…; else one split).
        dir: Option<PathBuf>,
        /// Check the synthetic data of this config instead (written by `synth` to a
        /// temporary folder).
        #[arg(long, conflicts_with = "dir")]
        config: Option<PathBuf>,
    },
}

/// `data check`: a folder, or a config's synthetic data written to a temporary folder.
fn data_check<A: App>(dir: Option<PathBuf>, config_path: Option<PathBuf>) -> anyhow::Result<()> {
    let tmp;
    let dir = match (dir, config_path) {
        (Some(d), _) => d,
        (None, Some(path)) => {
            let cfg: A::Config = config::load(&path, &[])?;
            tmp = tempfile::tempdir()?;
            println!("{}", A::synth(&cfg, tmp.path(), None, cfg.train().seed)?);
            tmp.path().to_path_buf()
        }
        (None, None) => anyhow::bail!("data check needs a folder or --config FILE"),
    };
    let r = crate::data::check::check(&dir)?;
    print!("{}", crate::data::check::render(&dir, &r));
    anyhow::ensure!(
        r.problems() == 0,
        "{}: {} problem(s): {} unreadable file(s), {} content(s) in more than one split",
        dir.display(),
        r.problems(),
        r.unreadable.len(),
        r.duplicates.len()
    );
    Ok(())
}

/// The whole `main` of an app with the shared subcommands and the app's own.
pub fn run<A: App>() -> std::process::ExitCode {
    run_with::<A, NoExtra>(|never| match never {})
}

/// [`run`] with the subcommands `T` of a crate above kit added (the `sweep` crate's `sweep`),
/// handled by `tool`.
pub fn run_with<A: App, T: Subcommand>(
    tool: impl FnOnce(T) -> anyhow::Result<()>,
) -> std::process::ExitCode {
    run_with_args::<A, T>(std::env::args_os(), tool)
}

/// [`run_with`] on the given command line (its first item is the program name), for a binary
/// that holds several apps and picks one by its first argument (the device build's `zoo`).
pub fn run_with_args<A: App, T: Subcommand>(
    args: impl IntoIterator<Item = std::ffi::OsString>,
    tool: impl FnOnce(T) -> anyhow::Result<()>,
) -> std::process::ExitCode {
    main(|| {
        let matches = Cli::<A::Extra, T>::command()
            .name(A::NAME)
            .about(A::ABOUT)
            .try_get_matches_from(args)
            .unwrap_or_else(|e| e.exit());
        let cli = Cli::<A::Extra, T>::from_arg_matches(&matches)?;
        match cli.cmd {
            Command::Tool(t) => tool(t),
            cmd => dispatch::<A, T>(cmd),
        }
    })
}

fn dispatch<A: App, T: Subcommand>(cmd: Command<A::Extra, T>) -> anyhow::Result<()> {
    match cmd {
        Command::Train(args) => app::train_app::<A>(&args).map(|_| ()),
        Command::Eval(args) => {
            let (data, split) = (args.data.as_deref(), args.split);
            if split == Split::Val {
                println!("reporting validation (--split val): it chose the checkpoint, so these are not held-out numbers");
            }
            let mut o = app::open::<A>(&args.run, Purpose::Eval { data, split })?;
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
            let o = app::open::<A>(&args.run, Purpose::Predict)?;
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
        Command::Data(DataCmd::Check { dir, config }) => data_check::<A>(dir, config),
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
        Command::Tool(_) => unreachable!("handled by run_with"),
        Command::Extra(e) => A::extra(e),
    }
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
    // From the first line: a Ctrl-C before training ends with 130 and a message, not by the
    // signal; the training loop arms it to checkpoint instead.
    crate::stop::install_early();
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
