//! vae-kl on the kit's shared command line: how `train`, `eval`, `predict`, `synth`, `sample`
//! and `interpolate` build and use this app's task.

use crate::config::Config;
use crate::data::{self, Source};
use crate::predict;
use crate::train::VaeTask;
use anyhow::Context;
use kit::app::{App, Info, Opened, Purpose};
use kit::cli::RunArgs;
use std::path::{Path, PathBuf};

pub struct VaeKl;

/// vae-kl's own subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Extra {
    /// Decode N samples from the prior into one picture.
    Sample {
        #[command(flatten)]
        run: RunArgs,
        #[arg(long, default_value_t = 64)]
        n: usize,
        /// Output PNG (default: RUN/predictions/samples.png).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Decode a strip along the line between the latent means of two images.
    Interpolate {
        #[command(flatten)]
        run: RunArgs,
        a: PathBuf,
        b: PathBuf,
        #[arg(long, default_value_t = 10)]
        steps: i64,
        /// Output PNG (default: RUN/predictions/interpolation.png).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

impl App for VaeKl {
    const NAME: &'static str = "vae-kl";
    const ABOUT: &'static str =
        "A variational autoencoder on the ELBO, with the KL term made visible";
    const INFO: Info = Info {
        loss: "ELBO (recon + KL)",
        demo_metric: "neg_elbo",
        demo_floor: kit::app::Floor::AtMost(150.0),
        demo_chance: "543 nats (untrained, 784 ln 2)",
        demo_before: &[],
        bench_set: &[
            "eval.iw_images=4",
            "eval.iw_samples=20",
            "data.test_size=64",
        ],
        bench_steps_scale: 5,
    };
    type Config = Config;
    type Task = VaeTask;
    type Extra = Extra;

    fn train_task(cfg: &Config, device: tch::Device) -> anyhow::Result<VaeTask> {
        let (tr, test, names) = data::sources(cfg).context("loading the dataset")?;
        Ok(VaeTask::new(cfg, device, tr, test, names))
    }

    fn inference_task(
        cfg: &Config,
        _meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<VaeTask> {
        let folder = |dir: &std::path::Path, split| {
            Ok(data::read_folder(&kit::cli::held_out_split(dir, split))?)
        };
        let (test, names) = purpose
            .held_out(
                folder,
                || data::test_set(cfg),
                || {
                    let (_, val, names) = data::sources(cfg)?;
                    Ok((val, names))
                },
            )?
            .unwrap_or_default();
        Ok(VaeTask::new(
            cfg,
            device,
            Source::Images(Vec::new()),
            test,
            names,
        ))
    }

    fn eval(o: &mut Opened<Self>) -> anyhow::Result<serde_json::Value> {
        let ev = o.task.evaluation()?;
        let iw = ev
            .iw
            .clone()
            .ok_or_else(|| anyhow::anyhow!("the IW bound was not computed"))?;
        println!(
            "| −ELBO (± SE) | recon | KL | −log p(x) IW bound (k = {}) | active units | MIG | sharpness |",
            iw.k
        );
        println!("|---|---|---|---|---|---|---|");
        println!(
            "| {:.2} ± {:.2} | {:.2} | {:.2} | {:.2} | {} / {} | {} | {:.3} |",
            ev.neg_elbo,
            ev.neg_elbo_se,
            ev.recon,
            ev.kl,
            iw.neg_iw_bound,
            ev.active_units,
            ev.kl_per_dim.len(),
            ev.mig.map_or("-".into(), |m| format!("{m:.3}")),
            ev.sharpness
        );
        println!(
            "({} test images, nats per image; the reconstruction term averaged over {} z draws \
             per image, SE over images; IW bound on {} of them: {:.2} vs −ELBO {:.2} on the same, \
             IW − ELBO = {:.2} ± {:.2} (SE): bound ≥ ELBO within noise)",
            ev.images, ev.elbo_samples, iw.images, iw.neg_iw_bound, iw.neg_elbo, iw.gap, iw.gap_se
        );
        let mut report = serde_json::to_value(&ev)?;
        if let Some(m) = ev.mig {
            let t = &o.task;
            let mu = tch::no_grad(|| {
                crate::eval::encode_all(&t.vae, &t.test, &o.config.loss, 1, o.device)
            })?
            .mu;
            let mu: Vec<Vec<f64>> = Vec::try_from(mu.to_kind(tch::Kind::Double))?;
            let factors: Vec<Vec<f64>> = t.test.iter().map(|s| s.factors.clone()).collect();
            let shuffled = crate::eval::mig_shuffled(&mu, &factors, 0);
            let untrained =
                crate::eval::mig_untrained(&o.config.model, &t.test, &o.config.loss, o.device)?;
            let f = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.3}"));
            println!(
                "MIG {m:.3}; the same estimator (20 equal-width bins, {} images) gives {} with the \
                 factors shuffled against the latents and {} for an untrained encoder: only the \
                 part above those is disentanglement",
                ev.images,
                f(shuffled),
                f(untrained)
            );
            report["mig_shuffled_factors"] = serde_json::json!(shuffled);
            report["mig_untrained_encoder"] = serde_json::json!(untrained);
        }
        anyhow::ensure!(
            iw.consistent(),
            "the IW bound is below the ELBO by {:.2} nats, more than 3 standard errors ({:.2}): \
             IW ≥ ELBO holds for every k, so the bound or the ELBO is computed wrongly",
            -iw.gap,
            3.0 * iw.gap_se
        );
        let labels: Vec<String> = (0..ev.kl_per_dim.len()).map(|d| format!("z{d}")).collect();
        let bars = plot::bar_chart("KL per latent dimension", "nats", &labels, &ev.kl_per_dim)?;
        let path = o.run.file(&format!("kl-per-dim-{}.png", o.checkpoint));
        kit::images::save(&image::DynamicImage::ImageRgb8(bars), &path)?;
        println!("KL per dimension: {}", path.display());
        Ok(report)
    }

    fn predict(o: &Opened<Self>, inputs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
        for input in inputs {
            let r = predict::reconstruct(&o.task, input, out)?;
            println!(
                "{}: −ELBO {:.1} nats (reconstruction {:.1}, KL {:.1})",
                input.display(),
                r.neg_elbo,
                r.recon,
                r.kl
            );
            println!("  input | reconstruction: {}", r.picture.display());
        }
        Ok(())
    }

    fn synth(cfg: &Config, out: &Path, n: Option<usize>, seed: u64) -> anyhow::Result<String> {
        let n = n.unwrap_or(cfg.data.train_size);
        let n_test = (n / 4).max(2);
        data::write_sprites(out, seed, n, n_test)?;
        Ok(format!(
            "wrote {n} training, {n_test} validation and {n_test} test sprites with factors.csv to {}",
            out.display()
        ))
    }

    fn extra(cmd: Extra) -> anyhow::Result<()> {
        match cmd {
            Extra::Sample { run, n, out } => {
                let o = kit::app::open::<VaeKl>(&run, Purpose::Predict)?;
                let path = out.unwrap_or_else(|| o.run.file("predictions/samples.png"));
                tch::no_grad(|| predict::samples(&o.task, n, &path))?;
                println!("{n} samples from the prior: {}", path.display());
            }
            Extra::Interpolate {
                run,
                a,
                b,
                steps,
                out,
            } => {
                let o = kit::app::open::<VaeKl>(&run, Purpose::Predict)?;
                let path = out.unwrap_or_else(|| o.run.file("predictions/interpolation.png"));
                tch::no_grad(|| predict::interpolate(&o.task, &a, &b, steps, &path))?;
                println!("interpolation: {}", path.display());
            }
        }
        Ok(())
    }
}
