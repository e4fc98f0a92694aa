//! The kit's example app: spiral classification (an MLP on 2-D points) plugged into the shared
//! command line exactly as every app is, through `impl App` and `sweep::main`; the kit's
//! integration tests run it as a process (`kit::testing::example_bin`).
//! `cargo run -p kit --example spiral -- train --config configs/spiral/smoke.yaml`

use anyhow::Context;
use kit::app::{App, Info, NoExtra, Opened, Purpose};
use kit::cli::Split;
use kit::spiral::{SpiralConfig, SpiralTask, Spirals};
use kit::train::Task;
use std::path::{Path, PathBuf};

struct Spiral;

impl App for Spiral {
    const NAME: &'static str = "spiral";
    const ABOUT: &'static str = "Spiral classification: the kit's end-to-end example app";
    const INFO: Info = Info {
        loss: "cross-entropy",
        demo_metric: "accuracy",
        demo_floor: kit::app::Floor::AtLeast(0.9),
        demo_chance: "1 / classes",
        demo_before: &[],
        bench_set: &[],
        bench_steps_scale: 1,
    };
    type Config = SpiralConfig;
    type Task = SpiralTask;
    type Extra = NoExtra;

    fn train_task(cfg: &SpiralConfig, device: tch::Device) -> anyhow::Result<SpiralTask> {
        Ok(SpiralTask::new(cfg, device))
    }

    fn inference_task(
        cfg: &SpiralConfig,
        _meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<SpiralTask> {
        let offset = match purpose {
            Purpose::Eval { data: Some(_), .. } => {
                anyhow::bail!("the spiral points are generated: eval takes no --data")
            }
            Purpose::Eval {
                split: Split::Val, ..
            } => 1,
            _ => 2,
        };
        Ok(SpiralTask::with_held_out(cfg, device, offset))
    }

    fn eval(o: &mut Opened<Self>) -> anyhow::Result<serde_json::Value> {
        let mut logger = kit::logging::Logger::new(&o.run.root).context("open logs")?;
        let m = o.task.evaluate(&mut logger, 0)?;
        for (k, v) in &m.values {
            println!("{k:>10}: {v:.4}");
        }
        Ok(serde_json::json!(m
            .values
            .iter()
            .cloned()
            .collect::<std::collections::BTreeMap<_, _>>(
        )))
    }

    /// Each input is a text file of `x,y` lines; prints the predicted arm of each point.
    fn predict(o: &Opened<Self>, inputs: &[PathBuf], _out: &Path) -> anyhow::Result<()> {
        for file in inputs {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let mut xy = Vec::new();
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let parse = |s: Option<&str>| s.and_then(|v| v.trim().parse::<f32>().ok());
                let mut parts = line.split(',');
                match (parse(parts.next()), parse(parts.next())) {
                    (Some(x), Some(y)) => xy.extend([x, y]),
                    _ => {
                        anyhow::bail!("{}:{}: expected `x,y`, got {line:?}", file.display(), i + 1)
                    }
                }
            }
            let classes = o.task.predict(&tch::Tensor::from_slice(&xy).view([-1, 2]));
            let classes: Vec<i64> = Vec::try_from(classes.to_device(tch::Device::Cpu))?;
            for (p, c) in xy.chunks(2).zip(classes) {
                println!("{}: ({}, {}) -> arm {c}", file.display(), p[0], p[1]);
            }
        }
        Ok(())
    }

    /// Writes the training points as `x,y,arm` lines.
    fn synth(
        cfg: &SpiralConfig,
        out: &Path,
        n: Option<usize>,
        seed: u64,
    ) -> anyhow::Result<String> {
        let points = Spirals::new(&cfg.data, seed);
        let n = n.unwrap_or(kit::data::Dataset::len(&points));
        let mut csv = String::from("x,y,arm\n");
        for i in 0..n {
            let ([x, y], c) = kit::data::Dataset::get(&points, i, 0)?;
            csv.push_str(&format!("{x},{y},{c}\n"));
        }
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let file = out.join("spirals.csv");
        kit::rundir::write_atomic(&file, csv.as_bytes())?;
        Ok(format!("wrote {n} points to {}", file.display()))
    }
}

fn main() -> std::process::ExitCode {
    sweep::main::<Spiral>()
}
