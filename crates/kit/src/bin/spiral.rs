//! The kit's example app: spiral classification through the full train / eval cycle.
//! `cargo run -p kit --bin spiral -- train --config configs/spiral/smoke.yaml`

use anyhow::Context;
use clap::{Parser, Subcommand};
use kit::app::{self, RunArgs, TrainArgs};
use kit::rundir::Checkpoint;
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
}

fn main() -> std::process::ExitCode {
    app::main(run)
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Train(args) => {
            app::train(
                "spiral",
                &args,
                |c: &SpiralConfig, device| Ok(SpiralTask::new(c, device)),
                |_| serde_json::Value::Null,
            )?;
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
