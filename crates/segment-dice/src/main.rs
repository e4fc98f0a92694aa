//! segment-dice: train a U-Net to segment small tumours with Dice (+CE), and see why pixel
//! accuracy misleads under extreme class imbalance.

use anyhow::Context;
use clap::{Parser, Subcommand};
use kit::app::{self, RunArgs, TrainArgs};
use kit::rundir::Checkpoint;
use segment_dice::config::Config;
use segment_dice::{data, predict, train};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Tumour segmentation with Dice (+CE) under extreme class imbalance")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train (or resume) a run.
    Train(TrainArgs),
    /// Dice / IoU / FP rate / pixel accuracy / HD95 of a run on its validation set.
    Eval {
        #[command(flatten)]
        run: RunArgs,
        /// Evaluate on this dataset folder (with val/images and val/masks) instead.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Segment slices: writes <name>-mask.png and <name>-overlay.png, prints tumour area.
    Predict {
        #[command(flatten)]
        run: RunArgs,
        /// Grayscale slices (PNG).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Where the pictures go (default: RUN/predictions).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write the synthetic dataset in the real on-disk format.
    Synth {
        #[arg(long)]
        out: PathBuf,
        /// Training slices (validation gets a quarter of that).
        #[arg(long, default_value_t = 400)]
        n: usize,
        #[arg(long, default_value_t = 128)]
        size: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

fn load_task(
    args: &RunArgs,
    data: Option<PathBuf>,
) -> anyhow::Result<(Config, kit::rundir::RunDir, train::SegTask)> {
    let (mut cfg, run, ck, device) = app::open_run::<Config>("segment-dice", args)?;
    if let Some(d) = data {
        cfg.data.source = d.to_string_lossy().to_string();
    }
    let (tr, val) = train::sources(&cfg)?;
    let mut task = train::SegTask::new(&cfg, device, tr, val);
    Checkpoint::read(&ck)?.load_model(&mut task.vs)?;
    Ok((cfg, run, task))
}

fn main() -> std::process::ExitCode {
    app::main(run)
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Train(args) => {
            app::train("segment-dice", &args, |c: &Config, device| {
                let (tr, val) = train::sources(c).context("loading the dataset")?;
                Ok(train::SegTask::new(c, device, tr, val))
            })?;
        }
        Cmd::Eval { run, data } => {
            let (cfg, rd, task) = load_task(&run, data)?;
            let r = tch::no_grad(|| task.validate(None, 0))?;
            println!("| loss | pixel accuracy | Dice (tumour slices) | IoU | FP rate (empty slices) | HD95 px |");
            println!("|---|---|---|---|---|---|");
            println!(
                "| {:?} | {:.4} | {:.4} | {:.4} | {:.4} | {:.2} |",
                cfg.loss.kind, r.pixel_accuracy, r.dice, r.iou, r.fp_rate, r.hd95
            );
            println!(
                "| all background (no model) | {:.4} | 0 | 0 | 0 | - |",
                r.all_background_pixel_accuracy
            );
            println!(
                "({} tumour slices, {} empty slices, checkpoint {})",
                r.tumour_slices, r.empty_slices, run.checkpoint
            );
            rd.append_eval(serde_json::json!({ "checkpoint": run.checkpoint, "data": cfg.data.source, "report": r }))?;
            println!("appended to {}", rd.file("eval.json").display());
        }
        Cmd::Predict { run, inputs, out } => {
            let (_, rd, task) = load_task(&run, None)?;
            let out = out.unwrap_or_else(|| rd.file("predictions"));
            for input in &inputs {
                let p = predict::predict(&task, input, &out)?;
                let dice = p
                    .dice
                    .map(|d| format!(", Dice vs true mask {d:.3}"))
                    .unwrap_or_default();
                println!(
                    "{}: tumour area {} px{dice}",
                    input.display(),
                    p.area_pixels
                );
                println!(
                    "  mask    {}\n  overlay {}",
                    p.mask_png.display(),
                    p.overlay_png.display()
                );
            }
        }
        Cmd::Synth { out, n, size, seed } => {
            data::write_synthetic(&out, seed, n, (n / 4).max(1), size)?;
            println!(
                "wrote {n} training and {} validation slices to {}",
                (n / 4).max(1),
                out.display()
            );
        }
    }
    Ok(())
}
