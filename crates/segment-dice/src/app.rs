//! segment-dice on the kit's shared command line: how `train`, `eval`, `predict` and `synth`
//! build and use this app's task.

use crate::config::Config;
use crate::data::{self, Source, Synthetic};
use crate::predict;
use crate::train::SegTask;
use anyhow::Context;
use kit::app::{App, Info, NoExtra, Opened, Purpose};
use std::path::{Path, PathBuf};

pub struct SegmentDice;

/// An empty dataset: `predict` needs the model, not data.
fn empty(cfg: &Config) -> Source {
    Source::Synthetic(Synthetic {
        seed: 0,
        len: 0,
        size: cfg.data.size,
        hflip: false,
        tumours: cfg.data.tumours(),
    })
}

impl App for SegmentDice {
    const NAME: &'static str = "segment-dice";
    const ABOUT: &'static str = "Tumour segmentation with Dice (+CE) under extreme class imbalance";
    const INFO: Info = Info {
        loss: "Dice + CE",
        demo_metric: "dice",
        demo_floor: kit::app::Floor::AtLeast(0.50),
        demo_chance: "0.00 (all background)",
        demo_before: &[],
        bench_set: &["data.val_size=16"],
        bench_steps_scale: 1,
    };
    type Config = Config;
    type Task = SegTask;
    type Extra = NoExtra;

    fn train_task(cfg: &Config, device: tch::Device) -> anyhow::Result<SegTask> {
        let (tr, val) = data::sources(cfg).context("loading the dataset")?;
        if !matches!(tr, Source::Synthetic(_)) {
            println!(
                "data.source is a folder ({} for training, {} for validation): data.train_size \
                 and val_size apply only to synthetic slices",
                tr.describe(),
                val.describe()
            );
        }
        Ok(SegTask::new(cfg, device, tr, val))
    }

    fn inference_task(
        cfg: &Config,
        _meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<SegTask> {
        let val = purpose
            .held_out(
                |dir, split| Ok(data::eval_folder(cfg, dir, split)?),
                || Ok(data::test_source(cfg)?),
                || Ok(data::sources(cfg)?.1),
            )?
            .unwrap_or_else(|| empty(cfg));
        Ok(SegTask::new(cfg, device, empty(cfg), val))
    }

    fn eval(o: &mut Opened<Self>) -> anyhow::Result<serde_json::Value> {
        let r = o.task.validate(None, 0)?;
        println!("| loss | pixel accuracy | Dice (tumour slices) | IoU | FP rate (empty slices) | HD95 px |");
        println!("|---|---|---|---|---|---|");
        println!(
            "| {:?} | {:.4} | {:.4} | {:.4} | {:.4} | {:.2} |",
            o.config.loss.kind, r.pixel_accuracy, r.dice, r.iou, r.fp_rate, r.hd95
        );
        println!(
            "| all background (no model) | {:.4} | 0 | 0 | 0 | - |",
            r.all_background_pixel_accuracy
        );
        println!(
            "({} tumour slices, {} empty slices, checkpoint {})",
            r.tumour_slices, r.empty_slices, o.checkpoint
        );
        if let Some(v) = &r.volumes {
            println!("\n| volume | 3-D Dice | HD95 mm | truth mL | predicted mL |\n|---|---|---|---|---|");
            for s in &v.per_volume {
                println!(
                    "| {} | {:.4} | {:.2} | {:.2} | {:.2} |",
                    s.name, s.dice, s.hd95_mm, s.truth_ml, s.predicted_ml
                );
            }
            println!(
                "| mean of {} volumes | {:.4} | {:.2} | | |",
                v.volumes, v.dice_3d, v.hd95_mm
            );
        }
        Ok(serde_json::to_value(r)?)
    }

    fn predict(o: &Opened<Self>, inputs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
        for input in inputs {
            if crate::volumes::is_nifti(input) {
                let p = predict::predict_volume(&o.task, &o.config, input, out)?;
                let score = p
                    .score
                    .map(|s| {
                        format!(
                            ", 3-D Dice vs labels {:.3}, HD95 {:.1} mm",
                            s.dice, s.hd95_mm
                        )
                    })
                    .unwrap_or_default();
                println!(
                    "{}: foreground {:.2} mL{score}\n  labels  {}\n  overlay {}",
                    input.display(),
                    p.foreground_ml,
                    p.labels.display(),
                    p.overlay_png.display()
                );
                continue;
            }
            let p = predict::predict(&o.task, input, out)?;
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
        Ok(())
    }

    fn synth(cfg: &Config, out: &Path, n: Option<usize>, seed: u64) -> anyhow::Result<String> {
        let n = n.unwrap_or(cfg.data.train_size);
        let n_val = (n / 4).max(1);
        data::write_synthetic(out, seed, n, n_val, cfg.data.size, cfg.data.tumours())?;
        Ok(format!(
            "wrote {n} training, {n_val} validation and {n_val} test slices ({0}×{0}) to {1}",
            cfg.data.size,
            out.display()
        ))
    }
}
