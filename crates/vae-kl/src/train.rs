//! The VAE task in kit's loop: loss = reconstruction + β·KL (β from the annealing schedule,
//! free bits per dimension), each term logged; evaluation on the test set with the pictures a
//! person looks at (reconstructions, prior samples, traversals, the 2-D manifold, KL per
//! dimension).

use crate::config::Config;
use crate::data::{collate, Batch, Sample, Source};
use crate::eval::{evaluate, EvalOptions, Evaluation};
use crate::model::{elbo_parts, perceptual_features, perceptual_term, Vae};
use image::RgbImage;
use kit::data::Loader;
use kit::device::upload;
use kit::logging::Logger;
use kit::train::{Losses, Metrics, StepContext, Task};
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};

pub struct VaeTask {
    pub vs: nn::VarStore,
    pub vae: Vae,
    /// The features of `loss.perceptual_weight` (drawn whether or not it is on).
    perceptual: loss_zoo::perceptual::RandomMultiScale,
    pub cfg: Config,
    train: Loader<Source, Batch>,
    /// The test set, in memory (evaluation and pictures).
    pub test: Vec<Sample>,
    pub factor_names: Vec<String>,
    pub device: Device,
}

impl VaeTask {
    pub fn new(
        cfg: &Config,
        device: Device,
        train: Source,
        test: Vec<Sample>,
        factor_names: Vec<String>,
    ) -> Self {
        let vs = nn::VarStore::new(device);
        let vae = Vae::new(&vs.root(), &cfg.model);
        let perceptual = perceptual_features(device);
        let train = Loader::training(Arc::new(train), &cfg.train, Arc::new(collate));
        Self {
            vs,
            vae,
            perceptual,
            cfg: cfg.clone(),
            train,
            test,
            factor_names,
            device,
        }
    }

    /// The test-set evaluation (ELBO, IW bound, active units, KL per dimension, MIG).
    pub fn evaluation(&self) -> anyhow::Result<Evaluation> {
        let e = &self.cfg.eval;
        let opts = EvalOptions {
            elbo_samples: e.elbo_samples,
            iw: Some((e.iw_samples, e.iw_images)),
        };
        let (ev, _) = evaluate(&self.vae, &self.test, &self.cfg.loss, opts, self.device)?;
        Ok(ev)
    }

    /// Images (N, 1, 28, 28) in [0, 1] from latents (N, latent).
    pub fn decode_images(&self, z: &Tensor) -> Tensor {
        self.vae.decode(&z.to_device(self.device)).sigmoid()
    }

    /// Input row above its reconstruction (decoded from the encoder mean).
    pub fn reconstructions(&self, n: usize) -> anyhow::Result<RgbImage> {
        let n = n.min(self.test.len());
        let (x, _) = collate(self.test[..n].to_vec())?;
        let (mu, _) = self.vae.encode(&x.to_device(self.device));
        let y = self.decode_images(&mu);
        let mut pics: Vec<RgbImage> = (0..n as i64).map(|i| rgb(&x.get(i))).collect();
        pics.extend((0..n as i64).map(|i| rgb(&y.get(i))));
        Ok(kit::images::grid(&pics, n))
    }

    /// `n` images decoded from z ~ N(0, I).
    pub fn prior_samples(&self, n: usize) -> RgbImage {
        let z = Tensor::randn([n as i64, self.vae.latent], (Kind::Float, self.device));
        let y = self.decode_images(&z);
        let pics: Vec<RgbImage> = (0..n as i64).map(|i| rgb(&y.get(i))).collect();
        kit::images::grid(&pics, 8)
    }

    /// One row per latent dimension (up to 10): z_d from −3 to 3, the others 0.
    pub fn traversals(&self) -> RgbImage {
        let (d, steps) = (self.vae.latent.min(10), 9i64);
        let mut pics = Vec::new();
        for j in 0..d {
            let z = Tensor::zeros([steps, self.vae.latent], (Kind::Float, Device::Cpu));
            for s in 0..steps {
                let _ = z
                    .get(s)
                    .get(j)
                    .fill_(-3.0 + 6.0 * s as f64 / (steps - 1) as f64);
            }
            let y = self.decode_images(&z);
            pics.extend((0..steps).map(|i| rgb(&y.get(i))));
        }
        kit::images::grid(&pics, steps as usize)
    }

    /// The decoded 2-D latent plane on a 15×15 grid over [−3, 3]² (latent size 2 only).
    pub fn manifold(&self) -> Option<RgbImage> {
        (self.vae.latent == 2).then(|| {
            let k = 15i64;
            let pts: Vec<f32> = (0..k * k)
                .flat_map(|i| {
                    let (r, c) = (i / k, i % k);
                    let f = |v: i64| -3.0 + 6.0 * v as f32 / (k - 1) as f32;
                    [f(c), -f(r)]
                })
                .collect();
            let y = self.decode_images(&Tensor::from_slice(&pts).view([k * k, 2]));
            let pics: Vec<RgbImage> = (0..k * k).map(|i| rgb(&y.get(i))).collect();
            kit::images::grid(&pics, k as usize)
        })
    }
}

fn rgb(t: &Tensor) -> RgbImage {
    kit::images::tensor_to_rgb(t)
}

impl Task for VaeTask {
    type Batch = Batch;
    type Data = Source;
    kit::task_parts!(vs, train);
    fn train_step(&mut self, (x, _): Batch, ctx: &mut StepContext) -> anyhow::Result<Losses> {
        let x = upload(&x, self.device);
        let p = elbo_parts(&self.vae, &x, &self.cfg.loss);
        let beta = self.cfg.loss.beta_at(ctx.step);
        let w = self.cfg.loss.perceptual_weight;
        let feat = if w > 0.0 {
            Some(perceptual_term(&self.perceptual, &p.logits, &x)?)
        } else {
            None
        };
        let total = match &feat {
            Some(f) => &p.recon + &p.kl_train * beta + f * w,
            None => &p.recon + &p.kl_train * beta,
        };
        let mut terms: Vec<(String, Tensor)> = Vec::new();
        if let Some(f) = feat {
            terms.push(("perceptual".into(), f.detach()));
        }
        let elbo = (&p.recon + &p.kl).detach();
        terms.extend([
            ("recon".into(), p.recon.detach()),
            ("kl".into(), p.kl.detach()),
            ("neg_elbo".into(), elbo),
            ("beta".into(), Tensor::from(beta)),
        ]);
        Ok(Losses {
            total,
            terms,
            samples: x.size()[0] as usize,
        })
    }
    fn evaluate(&mut self, logger: &mut Logger, step: u64) -> anyhow::Result<Metrics> {
        let c = &self.cfg.eval;
        let opts = EvalOptions {
            elbo_samples: c.elbo_samples,
            iw: None,
        };
        let (ev, enc) = evaluate(&self.vae, &self.test, &self.cfg.loss, opts, self.device)?;
        let s = step as i64;
        logger.tb.image(
            "test/reconstructions (input above output)",
            s,
            &self.reconstructions(8)?,
        )?;
        logger
            .tb
            .image("test/prior samples", s, &self.prior_samples(32))?;
        logger.tb.image(
            "test/latent traversals (row = dimension)",
            s,
            &self.traversals(),
        )?;
        if let Some(m) = self.manifold() {
            logger.tb.image("test/2-D manifold", s, &m)?;
        }
        let labels: Vec<String> = (0..ev.kl_per_dim.len()).map(|d| format!("z{d}")).collect();
        let bars = plot::bar_chart("KL per latent dimension", "nats", &labels, &ev.kl_per_dim)?;
        logger.tb.image("test/KL per dimension", s, &bars)?;
        let mu: Vec<f64> = Vec::try_from(enc.mu.flatten(0, -1).to_kind(Kind::Double))?;
        logger.tb.histogram("test/mu", s, &mu, 40)?;
        let vectors: Vec<Vec<f32>> =
            Vec::try_from(enc.mu.narrow(0, 0, enc.mu.size()[0].min(2000)))?;
        let names: Vec<String> = self.test[..vectors.len()]
            .iter()
            .map(|t| projector_label(t, &self.factor_names))
            .collect();
        kit::logging::write_projector(logger.run_root(), "test_means", &vectors, &names)?;
        let mut values = vec![
            ("neg_elbo".into(), ev.neg_elbo),
            ("recon".into(), ev.recon),
            ("kl".into(), ev.kl),
            ("neg_elbo_se".into(), ev.neg_elbo_se),
            ("active_units".into(), ev.active_units as f64),
            ("sharpness".into(), ev.sharpness),
        ];
        if let Some(m) = ev.mig {
            values.push(("mig".into(), m));
        }
        Ok(Metrics {
            values,
            selection: "neg_elbo".into(),
            higher_is_better: false,
        })
    }
}

/// A test image's label in TensorBoard's Projector: its class, or for data with factors but
/// no class (a folder with `factors.csv`) its factors as `name=value` pairs.
pub fn projector_label(s: &crate::data::Sample, factor_names: &[String]) -> String {
    if s.label >= 0 || s.factors.is_empty() {
        return s.label.to_string();
    }
    s.factors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let name = factor_names.get(i).map_or(format!("f{i}"), String::clone);
            format!("{name}={v}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}
