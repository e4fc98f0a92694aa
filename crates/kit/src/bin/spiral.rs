//! The kit's example app: spiral classification through the full train / eval cycle.
//! `cargo run -p kit --bin spiral -- train --config configs/spiral/smoke.yaml`

use anyhow::Context;
use clap::{Parser, Subcommand};
use kit::app;
use kit::checkpoint::Checkpoint;
use kit::cli::{RunArgs, TrainArgs};
use kit::spiral::{SpiralConfig, SpiralTask};
use kit::train::Task;

#[derive(Parser)]
#[command(about = "Spiral classification: the kit's end-to-end example task")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train (or resume) a run.
    Train(TrainArgs),
    /// Evaluate a run's checkpoint on the held-out spiral points.
    Eval(RunArgs),
    /// A grid of configs × seeds into one table (what every app's `sweep` is).
    Sweep(kit::sweep::SweepCli),
}

fn train(args: &TrainArgs) -> anyhow::Result<kit::train::Outcome> {
    let (outcome, _, _) = app::train(
        "spiral",
        args,
        |c: &SpiralConfig, device| Ok(SpiralTask::new(c, device)),
        |_| serde_json::Value::Null,
    )?;
    Ok(outcome)
}

fn main() -> std::process::ExitCode {
    kit::cli::main(run)
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Train(args) => {
            train(&args)?;
        }
        Cmd::Sweep(cli) => {
            let check = |p: &std::path::Path, set: &[String]| -> anyhow::Result<(u64, bool)> {
                let c: SpiralConfig = app::resolve(p, set, None)?;
                Ok((
                    c.train.seed,
                    matches!(c.train.device, kit::device::DeviceSpec::Cuda(_)),
                ))
            };
            let hooks = kit::sweep::Hooks {
                train: &train,
                check: &check,
            };
            kit::sweep::command("spiral", cli, &hooks)?;
        }
        Cmd::Eval(args) => {
            let (cfg, run, ck, device) = app::open_run::<SpiralConfig>("spiral", &args)?;
            let mut task = SpiralTask::new(&cfg, device);
            Checkpoint::read(&ck)?.load_model(task.var_store_mut())?;
            let mut logger = kit::logging::Logger::new(&run.root).context("open logs")?;
            let m = task.evaluate(&mut logger, 0)?;
            for (k, v) in &m.values {
                println!("{k:>10}: {v:.4}");
            }
        }
    }
    Ok(())
}
