//! `optimize`: Gatys, Ecker & Bethge (2016)'s method — the pixels of one picture, started from
//! the content picture, are optimised for content + style + TV in the training feature network.
//! Adam on pixels in [0, 1] (clamped after each step), not L-BFGS: tch has no L-BFGS, and Adam
//! at lr 0.02 lowers the objective steadily here (the losses are printed and logged, so it is
//! measured, not assumed). Each call writes a fresh folder with the result, a content | style |
//! result picture, the losses in TensorBoard and `metrics.jsonl`; Ctrl-C (or SIGTERM) stops
//! after the current step and still writes them.

use crate::config::Config;
use crate::data;
use crate::eval::{independent_scores, print_table, scores};
use crate::features::objective;
use anyhow::Context;
use kit::logging::Logger;
use kit::rundir::RunDir;
use std::path::{Path, PathBuf};

use std::time::Instant;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind};

/// Where `optimize` ended.
pub struct Optimized {
    pub folder: PathBuf,
    /// (step, total, content, style, tv) at the first and the last step.
    pub first: [f64; 5],
    pub last: [f64; 5],
    pub steps_per_second: f64,
}

/// Optimises the pixels of `content` (named `stem`) for `cfg`'s style; writes a new folder
/// under `runs/style-transfer/`.
pub fn optimize(
    cfg: &Config,
    content: &image::RgbImage,
    stem: &str,
    runs: &Path,
    name: Option<&str>,
    device: Device,
) -> anyhow::Result<Optimized> {
    let (objective, style) = objective(cfg, &cfg.features, "features", device, cfg.optimize.size)?;
    let o = &cfg.optimize;
    let x = data::to_tensor(&data::square(content, o.size as u32, None)).to_device(device);
    let run = RunDir::create(runs, crate::app::NAME, name, &format!("optimize-{stem}"))?;
    run.write("config.yaml", kit::config::to_yaml(cfg)?.as_bytes())?;
    let mut logger = Logger::new(&run.root)
        .with_context(|| format!("cannot open logs in {}", run.root.display()))?;
    let vs = nn::VarStore::new(device);
    let mut pixels = vs.root().var_copy("pixels", &x);
    let mut opt = nn::Adam::default().build(&vs, o.lr)?;
    let (mut first, mut last) = ([0.0; 5], [0.0; 5]);
    let t0 = Instant::now();
    kit::stop::install_ctrlc();
    let mut done = 0;
    for step in 1..=o.steps {
        if kit::stop::take() {
            println!("stopped at step {done} (Ctrl-C or SIGTERM): saving the picture so far");
            break;
        }
        done = step;
        let t = objective.terms(&pixels, &x)?;
        let row = [
            step as f64,
            t.total.double_value(&[]),
            t.content.double_value(&[]),
            t.style.double_value(&[]),
            t.tv.double_value(&[]),
        ];
        anyhow::ensure!(
            row[1].is_finite(),
            "the objective is {} at step {step}: lower optimize.lr",
            row[1]
        );
        if step == 1 {
            first = row;
        }
        last = row;
        opt.zero_grad();
        t.total.backward();
        opt.step();
        tch::no_grad(|| {
            let _ = pixels.clamp_(0.0, 1.0);
        });
        if step % o.log_every.max(1) == 0 || step == 1 || step == o.steps {
            let names = ["total", "content", "style", "tv"];
            let values: Vec<(String, f64)> = names
                .iter()
                .zip(&row[1..])
                .map(|(n, v)| (format!("optimize/{n}"), *v))
                .collect();
            logger.scalars(step, &values)?;
            println!(
                "step {step:>5}  total {:.4e}  content {:.4e}  style {:.4e}  tv {:.4}",
                row[1], row[2], row[3], row[4]
            );
        }
    }
    let steps_per_second = done as f64 / t0.elapsed().as_secs_f64();
    let result = kit::images::tensor_to_rgb(&pixels.detach().to_kind(Kind::Float).get(0));
    let grid = kit::images::grid(
        &[
            kit::images::tensor_to_rgb(&x.get(0)),
            kit::images::tensor_to_rgb(&style.get(0)),
            result.clone(),
        ],
        3,
    );
    logger
        .tb
        .image("optimize/content | style | result", done as i64, &grid)?;
    kit::images::save(
        &image::DynamicImage::ImageRgb8(result),
        &run.file("result.png"),
    )?;
    kit::images::save(
        &image::DynamicImage::ImageRgb8(grid),
        &run.file("content-style-result.png"),
    )?;
    let y = pixels.detach();
    let mut rows = independent_scores(cfg, device, o.size, &x, &y)?;
    rows.push(("trained against".into(), scores(&objective, &x, &y)?));
    print_table(&rows, 1, o.size, f64::NAN);
    let json = serde_json::json!({
        "steps": done, "steps_per_second": steps_per_second,
        "first": first, "last": last,
        "scores": rows.iter().map(|(n, s)| serde_json::json!({"network": n, "scores": s})).collect::<Vec<_>>(),
    });
    run.write(
        "scores.json",
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    println!(
        "{:.2} steps/s; result: {}",
        steps_per_second,
        run.file("result.png").display()
    );
    Ok(Optimized {
        folder: run.root,
        first,
        last,
        steps_per_second,
    })
}
