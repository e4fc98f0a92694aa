//! __NAME__ on the kit's shared command line: how `train`, `eval`, `predict` and `synth` build
//! and use this app's task.

use crate::config::Config;
use crate::data::{self, Csv, Source, Synthetic};
use crate::eval::Report;
use crate::problem;
use crate::train::AppTask;
use kit::app::{App, Info, NoExtra, Opened, Purpose};
use kit::data::Either;
use std::path::{Path, PathBuf};

pub struct __TYPE__;

fn empty() -> Source {
    Either::Builtin(Synthetic { seed: 0, len: 0 })
}

impl App for __TYPE__ {
    const NAME: &'static str = "__NAME__";
    const ABOUT: &'static str = "A small model trained with __LOSS__ (made by `just new-app`)";
    const INFO: Info = Info {
        loss: problem::LOSS,
        demo_metric: problem::METRIC,
        demo_floor: problem::FLOOR,
        demo_chance: problem::CHANCE,
        demo_before: &[],
        bench_set: &[],
        bench_steps_scale: 1,
    };
    type Config = Config;
    type Task = AppTask;
    type Extra = NoExtra;

    fn train_task(cfg: &Config, device: tch::Device) -> anyhow::Result<AppTask> {
        let (tr, val) = data::sources(cfg)?;
        Ok(AppTask::new(cfg, device, tr, val))
    }

    fn inference_task(
        cfg: &Config,
        _meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<AppTask> {
        let folder = |dir: &Path, split| {
            let name = match split {
                kit::cli::Split::Test => "test.csv",
                kit::cli::Split::Val => "val.csv",
            };
            Ok(Either::Folder(Csv::open(&dir.join(name))?))
        };
        let eval = purpose
            .held_out(
                folder,
                || Ok(data::test_source(cfg)?),
                || Ok(data::sources(cfg)?.1),
            )?
            .unwrap_or_else(empty);
        Ok(AppTask::new(cfg, device, empty(), eval))
    }

    fn eval(o: &mut Opened<Self>) -> anyhow::Result<serde_json::Value> {
        let (value, samples) = o.task.validate()?;
        let r = Report {
            metric: problem::METRIC,
            value,
            samples,
        };
        println!("{}", r.markdown());
        Ok(serde_json::to_value(r)?)
    }

    fn predict(o: &Opened<Self>, inputs: &[PathBuf], _out: &Path) -> anyhow::Result<()> {
        for input in inputs {
            for (i, a) in crate::predict::predict(&o.task, input)?.iter().enumerate() {
                println!("{} row {}: {a}", input.display(), i + 1);
            }
        }
        Ok(())
    }

    fn synth(_cfg: &Config, out: &Path, n: Option<usize>, seed: u64) -> anyhow::Result<String> {
        let n = n.unwrap_or(1000);
        let held = (n / 4).max(1);
        std::fs::create_dir_all(out)?;
        crate::synth::write_csv(&out.join("train.csv"), seed, n)?;
        crate::synth::write_csv(&out.join("val.csv"), kit::data::val_seed(seed), held)?;
        crate::synth::write_csv(&out.join("test.csv"), kit::data::test_seed(seed), held)?;
        Ok(format!(
            "wrote {n} training, {held} validation and {held} test samples to {}",
            out.display()
        ))
    }
}
