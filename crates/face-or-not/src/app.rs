//! face-or-not on the kit's shared command line: how `train`, `eval`, `predict` and `synth`
//! build and use the task.

use crate::config::{Config, Source};
use crate::data::{self, Picture, CLASSES};
use crate::eval::{self, Report};
use crate::train::FaceTask;
use anyhow::Context;
use kit::app::{App, Info, NoExtra, Opened, Purpose};
use kit::args::Split;
use kit::data::Part;
use std::path::{Path, PathBuf};

pub struct FaceOrNot;

/// A run that `train.init_from` names must have trained on the same fold of the same pool
/// (or on synthetic pictures): otherwise this run's test pictures were its training ones.
fn check_chain(cfg: &Config) -> anyhow::Result<()> {
    let (Some(init), Source::Folder(_)) = (&cfg.train.init_from, &cfg.data.source) else {
        return Ok(());
    };
    let path = init.run.join("config.yaml");
    let from: Config = kit::config::load(&path, &[])
        .with_context(|| format!("train.init_from: cannot read {}", path.display()))?;
    let (a, b) = (&from.data, &cfg.data);
    let same = a.source == b.source
        && a.folds == b.folds
        && a.split_seed == b.split_seed
        && a.test_fold(from.train.seed) == b.test_fold(cfg.train.seed);
    anyhow::ensure!(
        a.source == Source::Synthetic || same,
        "train.init_from {} trained on {:?} fold {} (split seed {}); this run tests on fold {} \
         of {:?} (split seed {}): its test pictures could be that run's training pictures. \
         Start from a synthetic run, or from a run of the same fold",
        init.run.display(),
        String::from(a.source.clone()),
        a.test_fold(from.train.seed),
        a.split_seed,
        b.test_fold(cfg.train.seed),
        String::from(b.source.clone()),
        b.split_seed
    );
    Ok(())
}

impl App for FaceOrNot {
    const NAME: &'static str = "face-or-not";
    const ABOUT: &'static str =
        "Face or no face (HW2P2): a small CNN beside pixel and HOG linear baselines";
    const INFO: Info = Info {
        loss: "binary cross-entropy",
        demo_metric: "accuracy",
        demo_floor: kit::app::Floor::AtLeast(0.85),
        demo_chance: "0.5 (balanced classes)",
        demo_before: &[],
        bench_set: &[],
        bench_steps_scale: 1,
    };
    type Config = Config;
    type Task = FaceTask;
    type Extra = NoExtra;

    fn train_task(cfg: &Config, device: tch::Device) -> anyhow::Result<FaceTask> {
        check_chain(cfg)?;
        let s = data::splits(cfg)?;
        println!("data: {}", s.about);
        let train = data::training_set(cfg, s.train)?;
        Ok(FaceTask::new(cfg, device, train, s.val))
    }

    fn inference_task(
        cfg: &Config,
        _meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<FaceTask> {
        let Purpose::Eval { data, split } = purpose else {
            return Ok(FaceTask::new(cfg, device, Vec::new(), Vec::new()));
        };
        let part = match split {
            Split::Val => Part::Val,
            Split::Test => Part::Test,
        };
        let mut cfg = cfg.clone();
        let s = match data {
            // A folder with only the evaluated split: the CNN alone is scored.
            Some(dir) if !dir.join("train").is_dir() && !dir.join("face").is_dir() => {
                data::held_out_only(dir, part)?
            }
            Some(dir) => {
                cfg.data.source = Source::Folder(dir.to_path_buf());
                data::splits(&cfg)?
            }
            None => data::splits(&cfg)?,
        };
        let mut task = FaceTask::new(&cfg, device, Vec::new(), s.part(part).to_vec());
        task.context = Some(eval::Context { splits: s, part });
        Ok(task)
    }

    fn eval(o: &mut Opened<Self>) -> anyhow::Result<serde_json::Value> {
        let r: Report = eval::evaluate(&o.task)?;
        println!("{}", r.markdown());
        Ok(serde_json::to_value(r)?)
    }

    fn predict(o: &Opened<Self>, inputs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
        for input in inputs {
            println!(
                "{}",
                crate::predict::predict(&o.task, &o.config.scan, input, out)?
            );
        }
        Ok(())
    }

    /// Writes synthetic pictures as `train/ val/ test/`, each with `face/` and `not_face/`
    /// (a folder this app reads as its own splits): `n` training pictures, n / 8 per held-out
    /// split.
    fn synth(cfg: &Config, out: &Path, n: Option<usize>, seed: u64) -> anyhow::Result<String> {
        let n = n.unwrap_or(cfg.data.synthetic_train).max(4);
        let held = (n / 8).max(2);
        for (name, part, k) in [
            ("train", Part::Train, n),
            ("val", Part::Val, held),
            ("test", Part::Test, held),
        ] {
            write_pictures(&out.join(name), &data::synthetic(seed, part, k))?;
        }
        Ok(format!(
            "wrote {n} training and {held} validation and test pictures each (synthetic stream \
             {seed}, split by content) to {}",
            out.display()
        ))
    }
}

/// `dir/face/NNNNN.png` and `dir/not_face/NNNNN.png`.
fn write_pictures(dir: &Path, pics: &[Picture]) -> anyhow::Result<()> {
    for (sub, label) in CLASSES {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
        for (i, p) in pics.iter().filter(|p| p.face == label).enumerate() {
            let img = image::DynamicImage::ImageLuma8(p.pixels.clone());
            kit::images::save(&img, &d.join(format!("{i:05}.png")))?;
        }
    }
    Ok(())
}
