//! face-verify on the kit's shared command line: how `train`, `eval`, `predict`, `synth` and
//! `embed` build and use this app's task.

use crate::config::Config;
use crate::data::{self, Split};
use crate::predict;
use crate::train::FaceTask;
use anyhow::Context;
use kit::app::Session;
use kit::app::{App, Info, Opened, Purpose};
use kit::checkpoint::Checkpoint;
use kit::cli::RunArgs;
use kit::data::Part;
use kit::train::Outcome;
use std::path::{Path, PathBuf};

pub struct FaceVerify;

/// face-verify's own subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Extra {
    /// One embedding per image of DIR, written as CSV.
    Embed {
        #[command(flatten)]
        run: RunArgs,
        dir: PathBuf,
        /// Output CSV (default: RUN/embeddings.csv).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Training identities = rows of the classification head (saved in meta.json).
fn classes(meta: &serde_json::Value, cfg: &Config) -> anyhow::Result<i64> {
    match meta.get("classes").and_then(|c| c.as_i64()) {
        Some(c) => Ok(c),
        // Runs made before meta.json: only a synthetic run can be sized from its config.
        None if cfg.data.source == "synthetic" => Ok(cfg.data.train_identities as i64),
        None => anyhow::bail!(
            "the run's meta.json does not record the number of training identities (a run \
             made before it existed): evaluate it with the training data in place"
        ),
    }
}

/// n such that n (n − 1) / 2 = pairs.
fn faces(pairs: usize) -> usize {
    ((1.0 + (1.0 + 8.0 * pairs as f64).sqrt()) / 2.0).round() as usize
}

impl App for FaceVerify {
    const NAME: &'static str = "face-verify";
    const ABOUT: &'static str = "ArcFace face verification of people never seen in training";
    const INFO: Info = Info {
        loss: "ArcFace",
        demo_metric: "auc",
        demo_floor: kit::app::Floor::AtLeast(0.90),
        demo_chance: "0.50 (coin flip)",
        demo_before: &[],
        bench_set: &["data.pairs=40"],
        bench_steps_scale: 1,
    };
    type Config = Config;
    type Task = FaceTask;
    type Extra = Extra;

    fn train_task(cfg: &Config, device: tch::Device) -> anyhow::Result<FaceTask> {
        let split = data::split(&cfg.data, cfg.train.seed).context("loading the dataset")?;
        Ok(FaceTask::new(cfg, device, split))
    }

    fn inference_meta(task: &FaceTask) -> serde_json::Value {
        serde_json::json!({ "classes": task.classes })
    }

    fn inference_task(
        cfg: &Config,
        meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<FaceTask> {
        let classes = classes(meta, cfg)?;
        // `--data DIR`: that folder's test pairs (`pairs.txt`) only.
        let split = purpose
            .held_out(
                |dir, _| Ok(data::eval_split(dir, classes)?),
                || Ok(data::test_split(&cfg.data, cfg.train.seed)?),
                || Ok(data::split(&cfg.data, cfg.train.seed)?),
            )?
            .unwrap_or_else(|| Split {
                part: Part::Test,
                train: Vec::new(),
                held_out: Vec::new(),
                pairs: Vec::new(),
                classes,
                folds: 10,
            });
        Ok(FaceTask::new(cfg, device, split))
    }

    fn eval(o: &mut Opened<Self>) -> anyhow::Result<serde_json::Value> {
        let (ev, _) = o.task.evaluate_all()?;
        let mut accuracy_at_val_threshold = None;
        let v = &ev.verification;
        println!(
            "| head | AUC | EER | TAR@FAR=1e-2 | TAR@FAR=1e-3 | {}-fold acc | closed-set acc |",
            o.task.folds
        );
        println!("|---|---|---|---|---|---|---|");
        println!(
            "| {:?} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} ± {:.4} | {:.4} |",
            o.config.head.kind,
            v.auc,
            v.eer,
            v.tar_at_far_1e2,
            v.tar_at_far_1e3,
            v.fold_accuracy,
            v.fold_accuracy_std,
            ev.closed_set_accuracy
        );
        println!(
            "({} pairs of unseen identities, checkpoint {}; k-fold accuracy: threshold chosen \
             on k − 1 folds, accuracy on the k-th, mean ± std over the {} folds: LFW's own \
             with LFW's pairs.txt)",
            ev.labels.len(),
            o.checkpoint,
            o.task.folds,
        );
        if ev.closed_set_accuracy.is_nan() {
            println!("(closed-set accuracy needs held-out images of the training identities)");
        }
        let all = &ev.all_pairs;
        println!(
            "\nall pairs among the {} distinct faces of those pairs ({} genuine, {} impostor pairs):",
            faces(all.genuine + all.impostor),
            all.genuine,
            all.impostor
        );
        println!("| FAR | TAR | threshold | impostor pairs accepted at this FAR |");
        println!("|---|---|---|---|");
        for p in &all.points {
            let note = if p.false_accepts == 0 {
                " (below what this set can measure)"
            } else {
                ""
            };
            println!(
                "| {:.0e} | {:.4} | {:.4} | {}{note} |",
                p.far, p.tar, p.threshold, p.false_accepts
            );
        }
        let e = &ev.euclidean;
        println!(
            "\nthe same pairs scored two ways (the lecture: \"cosine similarity won't work well due \
             to magnitude\" — here is what magnitude does):"
        );
        println!("| score | AUC | EER | TAR@FAR=1e-2 | TAR@FAR=1e-3 |");
        println!("|---|---|---|---|---|");
        for (name, s) in [
            ("cosine of the features", v),
            ("−Euclidean distance, unnormalised features", e),
        ] {
            println!(
                "| {name} | {:.4} | {:.4} | {:.4} | {:.4} |",
                s.auc, s.eer, s.tar_at_far_1e2, s.tar_at_far_1e3
            );
        }
        let norms = o.run.file(&format!("norms-{}.png", o.checkpoint));
        let img = crate::eval::norms_picture(&ev.norms, &format!("{:?}", o.config.head.kind))?;
        kit::images::save(&image::DynamicImage::ImageRgb8(img), &norms)?;
        println!("feature norms per person: {}", norms.display());
        // predict's threshold is chosen on validation only: `eval` on test reports the
        // accuracy at it and never rewrites it.
        if o.task.part == Part::Val {
            predict::save_threshold(&o.run, &o.checkpoint, v.threshold, v.auc)?;
        } else if let Ok(thr) = predict::load_threshold(&o.run, &o.checkpoint) {
            let acc = metrics::accuracy_at(&ev.scores, &ev.labels, thr);
            println!("accuracy at predict's threshold {thr:.4} (chosen on validation): {acc:.4}");
            accuracy_at_val_threshold = Some(acc);
        }
        let roc = o.run.file(&format!("roc-{}.png", o.checkpoint));
        let img = crate::eval::roc_picture(&ev.scores, &ev.labels)?;
        kit::images::save(&image::DynamicImage::ImageRgb8(img), &roc)?;
        println!("ROC curve: {}", roc.display());
        // The cosine verification's fields at the top (auc, eer, …: the names training logs,
        // so a sweep's test table finds them), the rest under their own keys.
        let mut report = serde_json::to_value(v)?;
        if let Some(o) = report.as_object_mut() {
            o.insert(
                "closed_set_accuracy".into(),
                serde_json::json!(ev.closed_set_accuracy),
            );
            // …and under the names training logs them with, so a test table reads like the
            // validation one.
            for (k, x) in [
                ("tar_at_far_1e-2", v.tar_at_far_1e2),
                ("tar_at_far_1e-3", v.tar_at_far_1e3),
                ("accuracy_10fold", v.fold_accuracy),
            ] {
                o.insert(k.into(), serde_json::json!(x));
            }
            for p in &all.points {
                o.insert(
                    format!("all_pairs_tar_at_far_{:.0e}", p.far),
                    serde_json::json!(p.tar),
                );
            }
            o.insert("all_pairs".into(), serde_json::to_value(all)?);
            if let Some(a) = accuracy_at_val_threshold {
                o.insert("accuracy_at_val_threshold".into(), serde_json::json!(a));
            }
            o.insert("euclidean_unnormalised".into(), serde_json::to_value(e)?);
        }
        Ok(report)
    }

    fn predict(o: &Opened<Self>, inputs: &[PathBuf], _out: &Path) -> anyhow::Result<()> {
        let [a, b] = inputs else {
            anyhow::bail!(
                "predict compares two faces: pass exactly two images, got {}",
                inputs.len()
            );
        };
        let thr = predict::load_threshold(&o.run, &o.checkpoint)?;
        let sim = predict::similarity(&o.task, &o.config, a, b)?;
        let verdict = if sim >= thr {
            "same person"
        } else {
            "different people"
        };
        println!("cosine similarity {sim:.4} (threshold {thr:.4}): {verdict}");
        Ok(())
    }

    fn synth(cfg: &Config, out: &Path, n: Option<usize>, seed: u64) -> anyhow::Result<String> {
        let mut d = cfg.data.clone();
        if let Some(n) = n {
            d.train_identities = n;
        }
        let images = data::write_synthetic(out, &d, seed)?;
        Ok(format!(
            "wrote {images} images of {} training identities, val_pairs.txt and pairs.txt (test) to {}",
            d.train_identities,
            out.display()
        ))
    }

    fn after_train(
        s: &Session<Config>,
        task: &mut FaceTask,
        outcome: &Outcome,
    ) -> anyhow::Result<()> {
        if let Outcome::Finished { .. } = outcome {
            Checkpoint::read(&s.run.best())?.load_model(&mut task.vs)?;
            let (ev, _) = tch::no_grad(|| task.evaluate_all())?;
            let v = &ev.verification;
            predict::save_threshold(&s.run, "best", v.threshold, v.auc)?;
            println!(
                "threshold {:.4} (best checkpoint) saved to {}",
                v.threshold,
                s.run.file(&predict::threshold_file("best")).display()
            );
        }
        Ok(())
    }

    fn extra(cmd: Extra) -> anyhow::Result<()> {
        match cmd {
            Extra::Embed { run, dir, out } => {
                let o = kit::app::open::<FaceVerify>(&run, Purpose::Predict)?;
                let out = out.unwrap_or_else(|| o.run.file("embeddings.csv"));
                let n = tch::no_grad(|| predict::embed_dir(&o.task, &o.config, &dir, &out))?;
                println!("wrote {n} embeddings to {}", out.display());
                Ok(())
            }
        }
    }
}
