//! mix-match on the kit's shared command line: how `train`, `eval`, `predict` and `synth`
//! build and use this app's task.

use crate::config::Config;
use crate::data::{self, Source, Synthetic};
use crate::predict;
use crate::synth::CLASSES;
use crate::train::MixTask;
use kit::app::{App, Info, NoExtra, Opened, Purpose};
use kit::data::Either;
use std::path::{Path, PathBuf};

pub struct MixMatch;

/// An empty dataset: `predict` needs the model, not data.
fn empty(cfg: &Config) -> Source {
    Either::Builtin(Synthetic::new(0, 0, cfg.scene_spec(), false))
}

impl App for MixMatch {
    const NAME: &'static str = "mix-match";
    const ABOUT: &'static str =
        "The final project: one backbone trained on detection, segmentation and generation";
    const INFO: Info = Info {
        loss: "focal + Dice + ELBO",
        demo_metric: "dice",
        demo_floor: kit::app::Floor::AtLeast(0.55),
        demo_chance: "0.00 (all background)",
        demo_before: &[],
        bench_set: &["data.val_size=16"],
        bench_steps_scale: 1,
    };
    type Config = Config;
    type Task = MixTask;
    type Extra = NoExtra;

    fn train_task(cfg: &Config, device: tch::Device) -> anyhow::Result<MixTask> {
        let (tr, val) = data::sources(cfg)?;
        Ok(MixTask::new(cfg, device, tr, val))
    }

    fn inference_task(
        cfg: &Config,
        _meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<MixTask> {
        let eval = purpose
            .held_out(
                |dir, split| Ok(data::eval_folder(cfg, dir, split)?),
                || Ok(data::test_source(cfg)?),
                || Ok(data::sources(cfg)?.1),
            )?
            .unwrap_or_else(|| empty(cfg));
        Ok(MixTask::new(cfg, device, empty(cfg), eval))
    }

    fn eval(o: &mut Opened<Self>) -> anyhow::Result<serde_json::Value> {
        let r = o.task.validate(None, 0)?;
        let tasks: Vec<&str> = o.config.tasks.active().iter().map(|t| t.name()).collect();
        println!("| tasks | AP50 | AP | Dice | IoU | −ELBO (nats/image) |");
        println!("|---|---|---|---|---|---|");
        println!(
            "{}",
            r.markdown_row(&format!("{} ({:?})", tasks.join(" + "), o.config.weighting))
        );
        println!(
            "({} scenes, checkpoint {}; −ELBO: one-sample estimate, Bernoulli likelihood on \
             [0, 1] intensities, β = 1)",
            o.task.eval_len(),
            o.checkpoint
        );
        Ok(serde_json::to_value(r)?)
    }

    fn predict(o: &Opened<Self>, inputs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
        for input in inputs {
            let p = predict::predict(&o.task, input, out)?;
            let found: Vec<String> = p
                .detections
                .iter()
                .map(|d| {
                    format!(
                        "{} {:.2} at [{:.0}, {:.0}, {:.0}, {:.0}]",
                        CLASSES[d.class], d.score, d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3]
                    )
                })
                .collect();
            println!(
                "{}: {} object(s) {}",
                input.display(),
                found.len(),
                found.join("; ")
            );
            if let Some(s) = p.object_share {
                println!("  object pixels {:.1}%", 100.0 * s);
            }
            println!("  picture {}", p.picture.display());
        }
        Ok(())
    }

    fn synth(cfg: &Config, out: &Path, n: Option<usize>, seed: u64) -> anyhow::Result<String> {
        let n = n.unwrap_or(cfg.data.train_size);
        let held = (n / 4).max(1);
        let spec = cfg.scene_spec();
        for (split, stream, len) in [
            ("train", seed, n),
            ("val", kit::data::val_seed(seed), held),
            ("test", kit::data::test_seed(seed), held),
        ] {
            crate::synth::write(&out.join(split), stream, len, &spec)?;
        }
        Ok(format!(
            "wrote {n} training, {held} validation and {held} test scenes ({0}×{0}: images/, \
             masks/, boxes.jsonl in each) to {1}",
            cfg.data.size,
            out.display()
        ))
    }
}
