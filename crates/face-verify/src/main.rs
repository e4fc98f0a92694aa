//! face-verify: train face embeddings with ArcFace on known identities, then verify pairs of
//! people never seen in training by cosine similarity.

use anyhow::Context;
use clap::{Parser, Subcommand};
use face_verify::config::Config;
use face_verify::{data, predict, train};
use kit::app::{self, RunArgs, TrainArgs};
use kit::rundir::Checkpoint;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "ArcFace face verification of people never seen in training")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train (or resume) a run.
    Train(TrainArgs),
    /// AUC / EER / TAR@FAR / 10-fold accuracy on pairs of unseen identities; saves the threshold.
    Eval {
        #[command(flatten)]
        run: RunArgs,
        /// A dataset folder (train/<identity>/, pairs.txt) instead of the run's data.
        #[arg(long)]
        data: Option<String>,
    },
    /// Cosine similarity of two faces and same / different person at the saved threshold.
    Predict {
        #[command(flatten)]
        run: RunArgs,
        a: PathBuf,
        b: PathBuf,
    },
    /// One embedding per image of DIR, written as CSV.
    Embed {
        #[command(flatten)]
        run: RunArgs,
        dir: PathBuf,
        /// Output CSV (default: RUN/embeddings.csv).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write the synthetic dataset in the real format (train/<id>/*.png, test/, pairs.txt).
    Synth {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "configs/face-verify/default.yaml")]
        config: PathBuf,
    },
}

fn load(
    args: &RunArgs,
    data_source: Option<String>,
) -> anyhow::Result<(Config, kit::rundir::RunDir, train::FaceTask)> {
    let (mut cfg, run, ck, device) = app::open_run::<Config>("face-verify", args)?;
    if let Some(d) = data_source {
        cfg.data.source = d;
    }
    let split = data::split(&cfg.data, cfg.train.seed)?;
    let mut task = train::FaceTask::new(&cfg, device, split);
    Checkpoint::read(&ck)?.load_model(&mut task.vs)?;
    Ok((cfg, run, task))
}

fn main() -> std::process::ExitCode {
    app::main(run)
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Train(args) => {
            let (outcome, s, mut task) = app::train("face-verify", &args, |c: &Config, device| {
                let split = data::split(&c.data, c.train.seed).context("loading the dataset")?;
                Ok(train::FaceTask::new(c, device, split))
            })?;
            if let kit::train::Outcome::Finished { .. } = outcome {
                Checkpoint::read(&s.run.best())?.load_model(&mut task.vs)?;
                let (ev, _) = tch::no_grad(|| task.evaluate_all())?;
                predict::save_threshold(
                    &s.run,
                    "best",
                    ev.verification.threshold,
                    ev.verification.auc,
                )?;
                println!(
                    "threshold {:.4} (best checkpoint) saved to {}",
                    ev.verification.threshold,
                    s.run.file(&predict::threshold_file("best")).display()
                );
            }
        }
        Cmd::Eval { run, data } => {
            let (cfg, rd, task) = load(&run, data)?;
            let (ev, _) = tch::no_grad(|| task.evaluate_all())?;
            let v = &ev.verification;
            println!(
                "| head | AUC | EER | TAR@FAR=1e-2 | TAR@FAR=1e-3 | 10-fold acc | closed-set acc |"
            );
            println!("|---|---|---|---|---|---|---|");
            println!(
                "| {:?} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} ± {:.4} | {:.4} |",
                cfg.head.kind,
                v.auc,
                v.eer,
                v.tar_at_far_1e2,
                v.tar_at_far_1e3,
                v.fold_accuracy,
                v.fold_accuracy_std,
                ev.closed_set_accuracy
            );
            println!(
                "({} pairs of unseen identities, checkpoint {})",
                ev.labels.len(),
                run.checkpoint
            );
            predict::save_threshold(&rd, &run.checkpoint, v.threshold, v.auc)?;
            rd.append_eval(serde_json::json!({ "checkpoint": run.checkpoint, "data": cfg.data.source, "verification": v, "closed_set_accuracy": ev.closed_set_accuracy }))?;
        }
        Cmd::Predict { run, a, b } => {
            let (cfg, rd, task) = load(&run, None)?;
            let thr = predict::load_threshold(&rd, &run.checkpoint)?;
            let sim = predict::similarity(&task, &cfg, &a, &b)?;
            let verdict = if sim >= thr {
                "same person"
            } else {
                "different people"
            };
            println!("cosine similarity {sim:.4} (threshold {thr:.4}): {verdict}");
        }
        Cmd::Embed { run, dir, out } => {
            let (cfg, rd, task) = load(&run, None)?;
            let out = out.unwrap_or_else(|| rd.file("embeddings.csv"));
            let n = predict::embed_dir(&task, &cfg, &dir, &out)?;
            println!("wrote {n} embeddings to {}", out.display());
        }
        Cmd::Synth { out, config } => {
            let cfg: Config = kit::config::load(&config, &[])?;
            let n = data::write_synthetic(&out, &cfg.data, cfg.train.seed)?;
            println!("wrote {n} images and pairs.txt to {}", out.display());
        }
    }
    Ok(())
}
