//! vae-kl on the kit's shared command line: how `train`, `eval`, `predict`, `synth`, `sample`
//! and `interpolate` build and use this app's task.

use crate::config::Config;
use crate::data::{self, Source};
use crate::predict;
use crate::train::{self, VaeTask};
use anyhow::Context;
use kit::app::RunArgs;
use kit::cli::{App, Opened, Purpose};
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
    type Config = Config;
    type Task = VaeTask;
    type Extra = Extra;

    fn train_task(cfg: &Config, device: tch::Device) -> anyhow::Result<VaeTask> {
        let (tr, test, names) = train::sources(cfg).context("loading the dataset")?;
        Ok(VaeTask::new(cfg, device, tr, test, names))
    }

    fn inference_task(
        cfg: &Config,
        _meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<VaeTask> {
        let (test, names) = match purpose {
            Purpose::Eval { data: Some(dir) } => {
                let split = kit::cli::evaluation_split(dir, "test");
                data::read_folder(&split)?
            }
            Purpose::Eval { data: None } => {
                let (_, test, names) = train::sources(cfg)?;
                (test, names)
            }
            Purpose::Predict => (Vec::new(), Vec::new()),
        };
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
        let k = o.config.eval.iw_samples;
        println!("| −ELBO | recon | KL | −log p(x) IW bound (k = {k}) | active units | MIG |");
        println!("|---|---|---|---|---|---|");
        println!(
            "| {:.2} | {:.2} | {:.2} | {:.2} | {} / {} | {} |",
            ev.neg_elbo,
            ev.recon,
            ev.kl,
            ev.neg_iw_bound,
            ev.active_units,
            ev.kl_per_dim.len(),
            ev.mig.map_or("-".into(), |m| format!("{m:.3}"))
        );
        let ok = ev.neg_iw_bound <= ev.neg_elbo_iw_images + 1e-3;
        println!(
            "({} test images, nats per image; IW bound on {} of them: {:.2} vs −ELBO {:.2} on the same: {})",
            ev.images,
            o.config.eval.iw_images.min(ev.images),
            ev.neg_iw_bound,
            ev.neg_elbo_iw_images,
            if ok { "bound ≥ ELBO, as it must be" } else { "BOUND BELOW ELBO: check k" }
        );
        let labels: Vec<String> = (0..ev.kl_per_dim.len()).map(|d| format!("z{d}")).collect();
        let bars =
            kit::plot::bar_chart("KL per latent dimension", "nats", &labels, &ev.kl_per_dim)?;
        let path = o.run.file(&format!("kl-per-dim-{}.png", o.checkpoint));
        kit::images::save(&image::DynamicImage::ImageRgb8(bars), &path)?;
        println!("KL per dimension: {}", path.display());
        Ok(serde_json::to_value(ev)?)
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
            "wrote {n} training and {n_test} test sprites with factors.csv to {}",
            out.display()
        ))
    }

    fn extra(cmd: Extra) -> anyhow::Result<()> {
        match cmd {
            Extra::Sample { run, n, out } => {
                let o = kit::cli::open::<VaeKl>(&run, Purpose::Predict)?;
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
                let o = kit::cli::open::<VaeKl>(&run, Purpose::Predict)?;
                let path = out.unwrap_or_else(|| o.run.file("predictions/interpolation.png"));
                tch::no_grad(|| predict::interpolate(&o.task, &a, &b, steps, &path))?;
                println!("interpolation: {}", path.display());
            }
        }
        Ok(())
    }
}
