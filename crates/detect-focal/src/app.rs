//! detect-focal on the kit's shared command line: how `train`, `eval`, `predict`, `synth`
//! and `coco-results` build and use this app's task (`sweep` is the kit's, with the grid
//! configs/detect-focal/sweeps/gamma.yaml).

use crate::config::Config;
use crate::data::{self, CocoFolder, Source, Synthetic};
use crate::eval::COLOUR_NAMES;
use crate::predict;
use crate::train::DetTask;
use anyhow::Context;
use kit::app::{App, Info, Opened, Purpose};
use kit::data::Either;
use std::path::{Path, PathBuf};

pub struct DetectFocal;

/// detect-focal's own subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Extra {
    /// Write the run's detections on its validation set (or --data) in the COCO results
    /// format (all detections above detect.score_threshold, original pixels), e.g. for
    /// pycocotools' COCOeval.
    CocoResults {
        #[command(flatten)]
        eval: kit::cli::EvalArgs,
        /// Output JSON file.
        #[arg(long)]
        out: PathBuf,
    },
}

/// COCO results entries (`image_id`, `category_id`, `bbox` [x, y, w, h] in original pixels,
/// `score`) for the task's validation detections.
pub fn coco_results(task: &DetTask, cfg: &Config) -> anyhow::Result<Vec<serde_json::Value>> {
    let dets = task.val_detections()?;
    let size = cfg.data.size as f64;
    // Synthetic scenes are written by `synth` with ids 1.. and categories 1.. at data.size.
    let (images, cats): (Vec<(u64, u32, u32)>, Vec<u64>) = match task.val_source() {
        Either::Folder(f) => (f.images.clone(), f.category_ids.clone()),
        Either::Builtin(s) => (
            (0..s.len as u64)
                .map(|i| (i + 1, cfg.data.size, cfg.data.size))
                .collect(),
            (1..=task.class_names.len() as u64).collect(),
        ),
    };
    let mut out = Vec::new();
    for (d, &(id, w, h)) in dets.iter().zip(&images) {
        let (sx, sy) = (w as f64 / size, h as f64 / size);
        for det in d {
            let [x0, y0, x1, y1] = det.bbox.map(f64::from);
            out.push(serde_json::json!({
                "image_id": id,
                "category_id": cats[det.class],
                "bbox": [x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy],
                "score": det.score,
            }));
        }
    }
    Ok(out)
}

fn empty(cfg: &Config) -> Source {
    Either::Builtin(Synthetic::new(0, 0, data::scene_spec(cfg), false))
}

/// Class names saved with the run (runs made before meta.json: the synthetic classes).
fn class_names(meta: &serde_json::Value, cfg: &Config) -> anyhow::Result<Vec<String>> {
    match meta.get("class_names") {
        Some(v) => serde_json::from_value(v.clone()).context("meta.json: class_names"),
        None => Ok(data::class_names(&empty(cfg))),
    }
}

impl App for DetectFocal {
    const NAME: &'static str = "detect-focal";
    const ABOUT: &'static str =
        "Single-stage object detection with sigmoid focal loss (RetinaNet-style)";
    const INFO: Info = Info {
        loss: "sigmoid focal",
        demo_metric: "ap50",
        demo_floor: kit::app::Floor::AtLeast(0.30),
        demo_chance: "0.00 (no boxes)",
        demo_before: &[],
        bench_set: &["data.val_size=8"],
        bench_steps_scale: 1,
    };
    type Config = Config;
    type Task = DetTask;
    type Extra = Extra;

    fn train_task(cfg: &Config, device: tch::Device) -> anyhow::Result<DetTask> {
        let (mut tr, mut val) = data::sources(cfg).context("loading the dataset")?;
        if cfg.data.render_ahead && matches!(tr, Either::Builtin(_)) {
            let start = std::time::Instant::now();
            (tr, val) = (data::rendered_ahead(tr), data::rendered_ahead(val));
            println!(
                "rendered {} training and {} validation scenes ahead in {:.1} s ({} MB; \
                 data.render_ahead: false renders them on the fly)",
                cfg.data.train_size,
                cfg.data.val_size,
                start.elapsed().as_secs_f64(),
                cfg.data.render_ahead_bytes() / 1_000_000
            );
        }
        if let (Either::Folder(t), Either::Folder(v)) = (&tr, &val) {
            println!(
                "data.source is a COCO folder ({} training, {} validation images): data.train_size, \
                 val_size and the generator keys apply only to synthetic scenes",
                t.items.len(),
                v.items.len()
            );
        }
        Ok(DetTask::new(cfg, device, tr, val))
    }

    fn inference_meta(task: &DetTask) -> serde_json::Value {
        serde_json::json!({ "class_names": task.class_names })
    }

    fn inference_task(
        cfg: &Config,
        meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<DetTask> {
        let names = class_names(meta, cfg)?;
        let folder = |dir: &std::path::Path, split| {
            let split = if crate::coco_tree::is_tree(dir)
                || crate::yolo::is_yolo(dir)
                || crate::voc::is_voc(dir)
            {
                dir.to_path_buf()
            } else {
                kit::cli::held_out_split(dir, split)
            };
            let f = CocoFolder::open(&split, cfg.data.size, false, cfg.train.seed)?;
            anyhow::ensure!(
                f.class_names == names,
                "{}: categories {:?} differ from the run's {:?}",
                f.annotations.display(),
                f.class_names,
                names
            );
            Ok(Either::Folder(f))
        };
        let val = purpose
            .held_out(
                folder,
                || Ok(data::test_source(cfg)?),
                || Ok(data::sources(cfg)?.1),
            )?
            .unwrap_or_else(|| empty(cfg));
        Ok(DetTask::with_classes(cfg, device, names, empty(cfg), val))
    }

    fn eval(o: &mut Opened<Self>) -> anyhow::Result<serde_json::Value> {
        let (r, col) = o.task.validate_collect(None, 0)?;
        let pr = o
            .run
            .file(&format!("precision-recall-{}.png", o.checkpoint));
        let img = col.pr_picture(&o.task.class_names)?;
        kit::images::save(&image::DynamicImage::ImageRgb8(img), &pr)?;
        let c = &o.config;
        let label = format!(
            "γ={} α={}",
            c.loss.gamma,
            c.loss.alpha.map_or("none".into(), |a| a.to_string())
        );
        print!("{}", r.markdown(&label));
        println!(
            "(checkpoint {}; precision–recall curves: {})",
            o.checkpoint,
            pr.display()
        );
        Ok(serde_json::to_value(r)?)
    }

    fn predict(o: &Opened<Self>, inputs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
        for input in inputs {
            let p = predict::predict(&o.task, input, out)?;
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
        let legend: Vec<String> = o
            .task
            .class_names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{n} {}", COLOUR_NAMES[i % COLOUR_NAMES.len()]))
            .collect();
        println!(
            "box colours: {} (boxes scoring ≥ detect.show_threshold = {}; change with --set)",
            legend.join(", "),
            o.config.detect.show_threshold
        );
        Ok(())
    }

    fn synth(cfg: &Config, out: &Path, n: Option<usize>, seed: u64) -> anyhow::Result<String> {
        let n = n.unwrap_or(cfg.data.train_size);
        let n_val = (n / 4).max(1);
        data::write_synthetic(out, seed, n, n_val, &data::scene_spec(cfg))?;
        Ok(format!(
            "wrote {n} training, {n_val} validation and {n_val} test images (COCO JSON) to {}",
            out.display()
        ))
    }

    fn extra(cmd: Extra) -> anyhow::Result<()> {
        match cmd {
            Extra::CocoResults { eval, out } => {
                let (data, split) = (eval.data.as_deref(), eval.split);
                let o = kit::app::open::<DetectFocal>(&eval.run, Purpose::Eval { data, split })?;
                let results = tch::no_grad(|| coco_results(&o.task, &o.config))?;
                let text = serde_json::to_string(&results)?;
                kit::rundir::write_atomic(&out, text.as_bytes())
                    .with_context(|| format!("cannot write {}", out.display()))?;
                println!(
                    "wrote {} detections (score ≥ detect.score_threshold = {}) to {}",
                    results.len(),
                    o.config.detect.score_threshold,
                    out.display()
                );
                Ok(())
            }
        }
    }
}
