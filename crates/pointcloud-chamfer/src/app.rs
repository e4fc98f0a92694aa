//! pointcloud-chamfer on the kit's shared command line: how `train`, `eval`, `predict`,
//! `synth` and `render` build and use this app's task.

use crate::config::Config;
use crate::data::{self, Sample};
use crate::eval::{self, Bank, Row};
use crate::render::{render, View};
use crate::train::{points_of, CloudTask};
use anyhow::Context;
use kit::app::Session;
use kit::app::{App, Info, Opened, Purpose};
use kit::train::Outcome;
use std::path::{Path, PathBuf};

pub struct PointcloudChamfer;

/// pointcloud-chamfer's own subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Extra {
    /// Render a mesh (.off / .obj / .ply) to the network's input picture.
    Render {
        mesh: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 30.0)]
        azimuth: f32,
        #[arg(long, default_value_t = 20.0)]
        elevation: f32,
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// The mesh's up axis: y (this app's shapes) or z (trimesh, many scans).
        #[arg(long, default_value = "y", value_parser = ["y", "z"])]
        up: String,
    },
}

fn table_row(r: &Row) -> String {
    let f: Vec<String> = r.fscore.iter().map(|v| format!("{v:.3}")).collect();
    format!(
        "| {} | {} | {:.2} | {} | {:.3} |",
        r.name,
        r.samples,
        r.chamfer_x1e3,
        f.join(" | "),
        r.nn_cv
    )
}

impl App for PointcloudChamfer {
    const NAME: &'static str = "pointcloud-chamfer";
    const ABOUT: &'static str =
        "One image -> a 3-D point cloud, trained with the Chamfer distance (PSGN / FoldingNet)";
    const INFO: Info = Info {
        loss: "Chamfer",
        demo_metric: "chamfer_x1e3",
        demo_floor: kit::app::Floor::AtMost(2.8),
        demo_chance: "2.83 (class medoid, true class given)",
        demo_before: &[],
        bench_set: &["data.val_size=18"],
        bench_steps_scale: 1,
    };
    type Config = Config;
    type Task = CloudTask;
    type Extra = Extra;

    fn train_task(cfg: &Config, device: tch::Device) -> anyhow::Result<CloudTask> {
        let (train, val) =
            data::sources(&cfg.data, cfg.train.seed).context("loading the dataset")?;
        Ok(CloudTask::new(cfg, device, train, val))
    }

    fn inference_task(
        cfg: &Config,
        _meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<CloudTask> {
        let folder = |dir: &std::path::Path, split| {
            let split = kit::cli::held_out_split(dir, split);
            Ok(data::read_split(
                &cfg.data,
                &split,
                kit::data::test_seed(cfg.train.seed),
            )?)
        };
        let val: Vec<Sample> = purpose
            .held_out(
                folder,
                || Ok(data::test_set(&cfg.data, cfg.train.seed)?),
                || Ok(data::sources(&cfg.data, cfg.train.seed)?.1),
            )?
            .unwrap_or_default();
        let mut task = CloudTask::new(cfg, device, Vec::new(), val);
        if let Purpose::Eval {
            data: Some(dir), ..
        } = purpose
        {
            // `eval --data` pictures get the data folder's name, so they never overwrite the
            // run's own `eval-<ckpt>-examples.png`.
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| "data".into());
            task.eval_tag = Some(name);
        }
        Ok(task)
    }

    fn after_train(
        s: &Session<Config>,
        task: &mut CloudTask,
        _outcome: &Outcome,
    ) -> anyhow::Result<()> {
        if s.config.eval.bank_size == 0 {
            // `eval.bank_size: 0` means no baselines: no bank, and eval says so.
            return Ok(());
        }
        task.bank()
            .save(&s.run.root)
            .context("saving the baselines' training bank")
    }

    fn eval(o: &mut Opened<Self>) -> anyhow::Result<serde_json::Value> {
        let t = &o.task;
        let taus = &o.config.eval.fscore_tau;
        let images = eval::image_tensor(&t.val);
        let truth = eval::truth_tensor(&t.val);
        let (pred, codes) = eval::predict_all(&t.net, &images, o.device);
        let classes: Vec<&str> = t.val.iter().map(|s| &*s.class).collect();
        let rows = eval::rows(&eval::score(&pred, &truth, taus)?, &classes);
        let fs: Vec<String> = taus.iter().map(|t| format!("F@{}%", t * 100.0)).collect();
        println!(
            "| class | samples | Chamfer-L2 ×10³ | {} | NN-spacing CV |",
            fs.join(" | ")
        );
        println!("|---|---|---|{}---|", "---|".repeat(taus.len()));
        for r in &rows {
            println!("{}", table_row(r));
        }
        let (pic, _) = crate::train::comparison(&t.val, &pred, 9)?;
        let path = o.run.file(&match &t.eval_tag {
            Some(tag) => format!("eval-{}-{tag}-examples.png", o.checkpoint),
            None => format!("eval-{}-examples.png", o.checkpoint),
        });
        pic.save(&path)?;
        println!(
            "input | predicted (front, side, top) | truth, one per class: {}",
            path.display()
        );
        let mut report = serde_json::json!({ "per_class": rows });
        match Bank::load(&o.run.root)? {
            Some(bank) => {
                let (bank_codes, _) = {
                    let (p, c) = eval::predict_all(&t.net, &bank.images, o.device);
                    (c, p)
                };
                let (medoid, retrieved) = eval::baselines(&bank, &bank_codes, &codes, &classes)?;
                println!("\nbaselines (class-averaged; `mean` row above is the model):");
                let mut base = serde_json::Map::new();
                if let Some(m) = medoid {
                    let r = eval::rows(&eval::score(&m, &truth, taus)?, &classes);
                    if let Some(mut last) = r.last().cloned() {
                        last.name = "class medoid (true class given)".into();
                        println!("{}", table_row(&last));
                        base.insert("class_medoid".into(), serde_json::to_value(&last)?);
                    }
                } else {
                    println!(
                        "(class medoid: skipped, a class of this set is not in the training bank)"
                    );
                }
                let r = eval::rows(&eval::score(&retrieved, &truth, taus)?, &classes);
                if let Some(mut last) = r.last().cloned() {
                    last.name = "retrieval (nearest training image code)".into();
                    println!("{}", table_row(&last));
                    base.insert("retrieval".into(), serde_json::to_value(&last)?);
                }
                report["baselines"] = serde_json::Value::Object(base);
            }
            None => println!(
                "(no bank.safetensors in the run: baselines skipped; eval.bank_size is 0 or \
                 the run predates banks)"
            ),
        }
        println!(
            "({} samples; Chamfer-L2 = mean squared nearest-neighbour distance both ways ×10³, shapes scaled to a unit bounding-box diagonal; F@τ with τ a fraction of the truth's diagonal; CV = std/mean of each predicted point's distance to its nearest other point: high = clumped)",
            t.val.len()
        );
        Ok(report)
    }

    fn predict(o: &Opened<Self>, inputs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
        let size = o.config.data.image_size;
        for input in inputs {
            let px = data::read_image(input, size)?;
            let x = tch::Tensor::from_slice(&px)
                .view([1, 1, size as i64, size as i64])
                .to_device(o.device);
            let p = points_of(&o.task.net.forward_t(&x, false).get(0))?;
            let stem = input
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "input".into());
            let w = crate::predict::write(out, &stem, &px, &p)?;
            let (lo, hi) = crate::mesh::bounds(&p);
            println!(
                "{}: {} points, extent x {:.2}..{:.2} y {:.2}..{:.2} z {:.2}..{:.2}",
                input.display(),
                p.len(),
                lo[0],
                hi[0],
                lo[1],
                hi[1],
                lo[2],
                hi[2]
            );
            println!(
                "  points: {}  views: {}",
                w.ply.display(),
                w.picture.display()
            );
        }
        Ok(())
    }

    fn synth(cfg: &Config, out: &Path, n: Option<usize>, seed: u64) -> anyhow::Result<String> {
        let n = n.unwrap_or(cfg.data.train_size);
        let n_val = (n / 4).max(2);
        let (size, frame) = (cfg.data.image_size, cfg.data.frame);
        data::write_split(
            &out.join("train"),
            &data::generate(&cfg.data, n, seed),
            size,
            frame,
        )?;
        let val = data::generate(&cfg.data, n_val, kit::data::val_seed(seed));
        data::write_split(&out.join("val"), &val, size, frame)?;
        let test = data::generate(&cfg.data, n_val, kit::data::test_seed(seed));
        data::write_split(&out.join("test"), &test, size, frame)?;
        Ok(format!(
            "wrote {n} training, {n_val} validation and {n_val} test shapes (images/, points/, meta.csv) to {}",
            out.display()
        ))
    }

    fn extra(cmd: Extra) -> anyhow::Result<()> {
        match cmd {
            Extra::Render {
                mesh,
                out,
                azimuth,
                elevation,
                size,
                up,
            } => {
                let axis = if up == "z" {
                    crate::config::UpAxis::Z
                } else {
                    crate::config::UpAxis::Y
                };
                let m = crate::mesh::read_mesh(&mesh)?.up(axis).normalised();
                let px = render(&m, View { azimuth, elevation }, size, data::EXTENT);
                let bytes: Vec<u8> = px.iter().map(|v| (v * 255.0).round() as u8).collect();
                image::GrayImage::from_raw(size as u32, size as u32, bytes)
                    .ok_or_else(|| anyhow::anyhow!("render size"))?
                    .save(&out)
                    .with_context(|| format!("writing {}", out.display()))?;
                println!(
                    "{}: {} vertices, {} faces -> {} ({size}×{size}, azimuth {azimuth}°, elevation {elevation}°; read as {up}-up: this app's frame is y-up, pass --up z for a z-up mesh and set data.up_axis to match when training)",
                    mesh.display(),
                    m.vertices.len(),
                    m.faces.len(),
                    out.display()
                );
            }
        }
        Ok(())
    }
}
