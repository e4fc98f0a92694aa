//! detect-focal: train a RetinaNet-style detector with sigmoid focal loss, evaluate it with
//! COCO AP, draw its boxes, and sweep γ as in the focal-loss paper's Table 1.

use anyhow::Context;
use clap::{Parser, Subcommand};
use detect_focal::config::Config;
use detect_focal::eval::COLOUR_NAMES;
use detect_focal::sweep::{self, SweepArgs};
use detect_focal::{data, predict, train};
use kit::app::{self, RunArgs, TrainArgs};
use kit::rundir::Checkpoint;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Single-stage object detection with sigmoid focal loss (RetinaNet-style)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train (or resume) a run.
    Train(TrainArgs),
    /// COCO AP@[.5:.95], AP50, AP75 and AP per class of a run on its validation set.
    Eval {
        #[command(flatten)]
        run: RunArgs,
        /// Evaluate on this COCO folder (with val/annotations.json and val/images) instead.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Detect objects: prints class, score, x, y, w, h and writes <name>-boxes.png.
    Predict {
        #[command(flatten)]
        run: RunArgs,
        /// Images (PNG or JPEG, any size).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Where the pictures go (default: RUN/predictions).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Report and draw boxes scoring at least this (default: the run's detect.show_threshold).
        #[arg(long)]
        threshold: Option<f64>,
    },
    /// Write the synthetic dataset in COCO format (train/ and val/).
    Synth {
        #[arg(long)]
        out: PathBuf,
        /// Training images (validation gets a quarter of that).
        #[arg(long, default_value_t = 400)]
        n: usize,
        /// Generator settings from this config's `data:` section.
        #[arg(long, default_value = "configs/detect-focal/default.yaml")]
        config: PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Train one run per γ at the same budget and write a table like Lin et al.'s Table 1.
    Sweep(SweepArgs),
}

fn load_task(
    args: &RunArgs,
    data: Option<PathBuf>,
    show_threshold: Option<f64>,
) -> anyhow::Result<(Config, kit::rundir::RunDir, train::DetTask)> {
    let (mut cfg, run, ck, device) = app::open_run::<Config>("detect-focal", args)?;
    if let Some(t) = show_threshold {
        cfg.detect.show_threshold = t;
    }
    if let Some(d) = data {
        cfg.data.source = d.to_string_lossy().to_string();
    }
    let (tr, val) = train::sources(&cfg).context("loading the dataset")?;
    let mut task = train::DetTask::new(&cfg, device, tr, val);
    Checkpoint::read(&ck)?.load_model(&mut task.vs)?;
    Ok((cfg, run, task))
}

fn main() -> std::process::ExitCode {
    app::main(run)
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Train(args) => {
            app::train("detect-focal", &args, |c: &Config, device| {
                let (tr, val) = train::sources(c).context("loading the dataset")?;
                Ok(train::DetTask::new(c, device, tr, val))
            })?;
        }
        Cmd::Eval { run, data } => {
            let (cfg, rd, task) = load_task(&run, data, None)?;
            let r = task.validate(None, 0)?;
            let label = format!(
                "γ={} α={}",
                cfg.loss.gamma,
                cfg.loss.alpha.map_or("none".into(), |a| a.to_string())
            );
            print!("{}", r.markdown(&label));
            println!("(checkpoint {}, data {})", run.checkpoint, cfg.data.source);
            rd.append_eval(serde_json::json!({
                "checkpoint": run.checkpoint, "data": cfg.data.source, "report": r
            }))?;
            println!("appended to {}", rd.file("eval.json").display());
        }
        Cmd::Predict {
            run,
            inputs,
            out,
            threshold,
        } => {
            if let Some(t) = threshold.filter(|t| !(0.0..=1.0).contains(t)) {
                anyhow::bail!("--threshold {t}: a score threshold lies in [0, 1]");
            }
            let (_, rd, task) = load_task(&run, None, threshold)?;
            let out = out.unwrap_or_else(|| rd.file("predictions"));
            for input in &inputs {
                let p = predict::predict(&task, input, &out)?;
                println!("{}: {} objects", input.display(), p.boxes.len());
                println!("  class      score      x      y      w      h");
                for (name, score, b) in &p.boxes {
                    println!(
                        "  {name:<9} {score:6.3} {:6.1} {:6.1} {:6.1} {:6.1}",
                        b[0], b[1], b[2], b[3]
                    );
                }
                println!("  picture {}", p.picture.display());
            }
            let legend: Vec<String> = task
                .class_names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{n} {}", COLOUR_NAMES[i % COLOUR_NAMES.len()]))
                .collect();
            println!("box colours: {}", legend.join(", "));
        }
        Cmd::Synth {
            out,
            n,
            config,
            seed,
        } => {
            let cfg: Config = kit::config::load(&config, &[])?;
            let spec = train::scene_spec(&cfg);
            data::write_synthetic(&out, seed, n, (n / 4).max(1), &spec)?;
            println!(
                "wrote {n} training and {} validation images (COCO JSON) to {}",
                (n / 4).max(1),
                out.display()
            );
        }
        Cmd::Sweep(args) => sweep::run(&args)?,
    }
    Ok(())
}
