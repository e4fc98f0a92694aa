//! The multi-task task in kit's loop: one forward pass through the backbone, each active head's
//! loss (detect: focal | bce + smooth-L1 boxes; segment: ce | dice | dice_ce | focal; generate:
//! the −ELBO per pixel-channel), combined with fixed or uncertainty weights; evaluation of each
//! task's metric with pictures for TensorBoard.

use crate::config::{Config, DetectLoss, Weighting, Which};
use crate::data::{self, Batch, Source, Targets};
use crate::eval::{panel, Collector, Panel, Report};
use crate::model::{Features, MixNet};
use crate::synth::CLASSES;
use kit::data::{Dataset, Loader};
use kit::device::upload;
use kit::logging::Logger;
use kit::train::{Losses, Metrics, StepContext, Task};
use loss_zoo::dice::DiceOptions;
use loss_zoo::focal::sigmoid_focal_loss;
use loss_zoo::kl::gaussian_kl;
use loss_zoo::multitask::{uncertainty_weighted, weighted_sum};
use loss_zoo::Reduction;
use rand::Rng;
use scenes::boxes::{postprocess, Anchors, Det};
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};

pub struct MixTask {
    pub vs: nn::VarStore,
    pub net: MixNet,
    pub cfg: Config,
    pub anchors: Arc<Anchors>,
    /// sᵢ = log σᵢ² per active task (uncertainty weighting only).
    pub log_vars: Option<Tensor>,
    train: Loader<Source, Batch>,
    val: Loader<Source, Batch>,
    device: Device,
}

/// The anchors of the stride-8 detection head.
pub fn anchors(cfg: &Config) -> Anchors {
    let m = &cfg.model;
    Anchors::new(
        cfg.data.size,
        &[8],
        m.anchor_size,
        &m.aspect_ratios,
        &m.scales,
    )
}

/// What the network says about a batch of images, for the heads that are on.
pub struct Outputs {
    pub detect: Option<(Tensor, Tensor)>,
    pub segment: Option<Tensor>,
    /// (μ, log σ², z, Bernoulli logits of the picture).
    pub generate: Option<(Tensor, Tensor, Tensor, Tensor)>,
}

impl MixTask {
    pub fn new(cfg: &Config, device: Device, train: Source, val: Source) -> Self {
        let vs = nn::VarStore::new(device);
        let net = MixNet::new(&vs.root(), cfg, CLASSES.len() as i64);
        let active = cfg.tasks.active().len() as i64;
        let log_vars = (cfg.weighting == Weighting::Uncertainty)
            .then(|| vs.root().sub("weighting").zeros("log_vars", &[active]));
        let anchors = Arc::new(anchors(cfg));
        let t = &cfg.tasks.detect;
        let targets = Arc::new(Targets {
            anchors: anchors.clone(),
            classes: CLASSES.len(),
            pos_iou: t.pos_iou as f32,
            neg_iou: t.neg_iou as f32,
        });
        let (t1, t2) = (targets.clone(), targets);
        let train = Loader::training(
            Arc::new(train),
            &cfg.train,
            Arc::new(move |s| data::collate(&t1, s)),
        );
        let val = Loader::evaluation(
            Arc::new(val),
            &cfg.train,
            Arc::new(move |s| data::collate(&t2, s)),
        );
        Self {
            vs,
            net,
            cfg: cfg.clone(),
            anchors,
            log_vars,
            train,
            val,
            device,
        }
    }

    /// Runs the backbone once and every active head; `eps` is the reparameterisation noise
    /// (N, latent), drawn by the caller so that evaluation is repeatable.
    pub fn forward(&self, images: &Tensor, eps: Option<&Tensor>, train: bool) -> Outputs {
        let f: Features = self
            .net
            .backbone
            .forward_t(&upload(images, self.device), train);
        Outputs {
            detect: self.net.detect.as_ref().map(|h| h.forward_t(&f, train)),
            segment: self.net.segment.as_ref().map(|h| h.forward_t(&f, train)),
            generate: self.net.generate.as_ref().map(|h| {
                let (mu, logvar) = h.encode(&f);
                let noise = match eps {
                    Some(e) => e.to_device(self.device),
                    None => kit::distributed::randn_batch(&mu.size(), (mu.kind(), mu.device())),
                };
                let z = &mu + (&logvar * 0.5).exp() * noise;
                let logits = h.decode(&z, train);
                (mu, logvar, z, logits)
            }),
        }
    }

    /// RetinaNet's loss: Σ_valid FL / N_pos + Σ_positive smooth-L1(β = 1/9) / N_pos.
    fn detect_loss(&self, cls: &Tensor, reg: &Tensor, b: &Batch) -> anyhow::Result<Tensor> {
        let t = &self.cfg.tasks.detect;
        let dev = cls.device();
        let (valid, pos) = (
            b.targets.valid.to_device(dev),
            b.targets.positive.to_device(dev),
        );
        // The global batch's positives in a data-parallel step (this rank's share of them).
        let norm = kit::distributed::count_normaliser(&pos.sum(Kind::Float));
        let (alpha, gamma) = match t.loss {
            DetectLoss::Focal => (Some(t.alpha), t.gamma),
            DetectLoss::Bce => (None, 0.0),
        };
        let fl = sigmoid_focal_loss(
            cls,
            &b.targets.cls.to_device(dev),
            alpha,
            gamma,
            Reduction::None,
        )?;
        let cls_loss = (fl * valid.unsqueeze(-1).to_kind(Kind::Float)).sum(Kind::Float) / &norm;
        let per = reg.smooth_l1_loss(
            &b.targets.deltas.to_device(dev),
            tch::Reduction::None,
            1.0 / 9.0,
        );
        let box_loss = (per * pos.unsqueeze(-1).to_kind(Kind::Float)).sum(Kind::Float) / &norm;
        Ok(cls_loss + box_loss)
    }

    /// The configured segmentation loss on (N, 2, S, S) logits and (N, 1, S, S) masks.
    pub fn segment_loss(&self, logits: &Tensor, masks: &Tensor) -> anyhow::Result<Tensor> {
        let t = &self.cfg.tasks.segment;
        let masks = masks.to_device(logits.device());
        let opts = DiceOptions {
            softmax: true,
            to_onehot_y: true,
            include_background: false,
            batch: true,
            batch_sums: Some(kit::distributed::sum_over_ranks),
            ..Default::default()
        };
        Ok(t.menu().compute(logits, &masks, &opts)?.0)
    }

    /// Per image: −log p(x|z) (Bernoulli on [0, 1] intensities, summed over pixels and
    /// channels) and KL(q(z|x) ‖ N(0, I)), each (N,) in nats.
    pub fn elbo_terms(
        mu: &Tensor,
        logvar: &Tensor,
        logits: &Tensor,
        pictures: &Tensor,
    ) -> (Tensor, Tensor) {
        let x = pictures.to_device(logits.device());
        let rec = logits
            .binary_cross_entropy_with_logits::<Tensor>(&x, None, None, tch::Reduction::None)
            .flatten(1, -1)
            .sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
        let kl = gaussian_kl(mu, logvar, Reduction::None).unwrap_or_else(|_| mu.zeros_like());
        (rec, kl)
    }

    /// Each active task's loss on one batch, in [`crate::config::Tasks::active`] order.
    pub fn task_losses(&self, out: &Outputs, b: &Batch) -> anyhow::Result<Vec<(Which, Tensor)>> {
        let mut losses = Vec::new();
        if let Some((cls, reg)) = &out.detect {
            losses.push((Which::Detect, self.detect_loss(cls, reg, b)?));
        }
        if let Some(logits) = &out.segment {
            losses.push((Which::Segment, self.segment_loss(logits, &b.masks)?));
        }
        if let Some((mu, logvar, _, logits)) = &out.generate {
            // The −ELBO per pixel-channel, so that it sits on the scale of the per-anchor and
            // per-pixel losses of the other heads (evaluation reports it per image).
            let (rec, kl) = Self::elbo_terms(mu, logvar, logits, &b.pictures);
            let dims = logits.size()[1..].iter().product::<i64>() as f64;
            let beta = self.cfg.tasks.generate.beta;
            losses.push((Which::Generate, (rec + kl * beta).mean(Kind::Float) / dims));
        }
        Ok(losses)
    }

    /// The combined loss (fixed or uncertainty weights).
    pub fn combine(&self, losses: &[(Which, Tensor)]) -> anyhow::Result<Tensor> {
        let ls: Vec<Tensor> = losses.iter().map(|(_, l)| l.shallow_clone()).collect();
        Ok(match &self.log_vars {
            Some(s) => uncertainty_weighted(&ls, s)?,
            None => {
                let w: Vec<f64> = losses
                    .iter()
                    .map(|(t, _)| self.cfg.tasks.weight(*t))
                    .collect();
                weighted_sum(&ls, &w)?
            }
        })
    }

    /// Repeatable reparameterisation noise for evaluation batch `k` of `n` images.
    fn eval_noise(&self, k: usize, n: i64) -> Tensor {
        let mut rng = kit::data::rng_for(self.cfg.train.seed, 0xE7A, k as u64);
        let latent = self.cfg.model.latent;
        let v: Vec<f32> = (0..n * latent)
            .map(|_| {
                let (u1, u2): (f32, f32) = (rng.random_range(1e-7..1.0), rng.random());
                (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
            })
            .collect();
        Tensor::from_slice(&v).view([n, latent])
    }

    /// Detections of each image of a batch, from head outputs.
    pub fn detections(&self, cls: &Tensor, reg: &Tensor) -> anyhow::Result<Vec<Vec<Det>>> {
        let scores = cls.sigmoid().to_device(Device::Cpu).to_kind(Kind::Float);
        let reg = reg.to_device(Device::Cpu).to_kind(Kind::Float);
        let size = self.cfg.data.size as f32;
        (0..scores.size()[0])
            .map(|i| {
                let s: Vec<f32> = Vec::try_from(scores.get(i).flatten(0, -1))?;
                let d: Vec<f32> = Vec::try_from(reg.get(i).flatten(0, -1))?;
                Ok(postprocess(
                    &s,
                    &d,
                    &self.anchors,
                    CLASSES.len(),
                    &self.cfg.detect,
                    size,
                ))
            })
            .collect()
    }

    /// Object masks (probability > 0.5), one per image, row-major.
    pub fn masks(logits: &Tensor) -> anyhow::Result<Vec<Vec<bool>>> {
        let p = logits
            .softmax(1, Kind::Float)
            .select(1, 1)
            .to_device(Device::Cpu);
        let n = p.size()[0];
        (0..n)
            .map(|i| {
                let v: Vec<f32> = Vec::try_from(p.get(i).flatten(0, -1))?;
                Ok(v.into_iter().map(|x| x > 0.5).collect())
            })
            .collect()
    }

    /// The reconstruction at z = μ as pictures.
    pub fn reconstructions(&self, mu: &Tensor) -> Vec<image::RgbImage> {
        let Some(h) = &self.net.generate else {
            return Vec::new();
        };
        let x = h.decode(mu, false).sigmoid().to_device(Device::Cpu);
        (0..x.size()[0])
            .map(|i| kit::images::tensor_to_rgb(&x.get(i)))
            .collect()
    }

    /// Scores the validation (or evaluation) set; with a logger, also logs 4 scenes' pictures.
    pub fn validate(&self, logger: Option<&mut Logger>, step: u64) -> anyhow::Result<Report> {
        let mut c = Collector::default();
        let mut pictures = Vec::new();
        let show = self.cfg.detect.show_threshold as f32;
        for (k, batch) in self.val.epoch(0, 0).enumerate() {
            let b = batch?;
            let n = b.images.size()[0];
            let out = tch::no_grad(|| self.forward(&b.images, Some(&self.eval_noise(k, n)), false));
            let dets = match &out.detect {
                Some((cls, reg)) => Some(self.detections(cls, reg)?),
                None => None,
            };
            let masks = match &out.segment {
                Some(l) => Some(Self::masks(l)?),
                None => None,
            };
            let recon = match &out.generate {
                Some((mu, logvar, _, logits)) => {
                    let (rec, kl) = Self::elbo_terms(mu, logvar, logits, &b.pictures);
                    let (rec, kl): (Vec<f32>, Vec<f32>) = (
                        Vec::try_from(rec.to_device(Device::Cpu))?,
                        Vec::try_from(kl.to_device(Device::Cpu))?,
                    );
                    for (r, k) in rec.iter().zip(&kl) {
                        c.add_elbo(*r as f64, *k as f64);
                    }
                    (logger.is_some() && pictures.len() < 4)
                        .then(|| tch::no_grad(|| self.reconstructions(mu)))
                }
                None => None,
            };
            for (i, s) in b.scenes.iter().enumerate() {
                if let Some(d) = &dets {
                    c.add_detections(&d[i], &s.boxes, &s.classes);
                }
                let truth: Vec<bool> = s.mask.iter().map(|&m| m > 0).collect();
                if let Some(m) = &masks {
                    c.add_mask(&m[i], &truth);
                }
                if logger.is_some() && pictures.len() < 4 {
                    let shown: Option<Vec<Det>> = dets
                        .as_ref()
                        .map(|d| d[i].iter().filter(|d| d.score >= show).copied().collect());
                    pictures.push(panel(
                        &Panel {
                            image: &s.image,
                            dets: shown.as_deref().map(|d| (d, CLASSES.as_slice())),
                            mask: masks
                                .as_ref()
                                .map(|m| (m[i].as_slice(), Some(truth.as_slice()))),
                            reconstruction: recon.as_ref().and_then(|r| r.get(i)),
                        },
                        2,
                    ));
                }
            }
        }
        if let Some(log) = logger {
            log.pictures_and_histograms(
                step,
                "val/scenes (boxes | mask, truth in green | reconstruction)",
                &pictures,
                1,
                &[],
            )?;
        }
        Ok(c.report(CLASSES.len()))
    }

    /// The dataset `validate` reads (val while training; test or val for `eval`).
    pub fn eval_len(&self) -> usize {
        self.val.dataset().len()
    }
}

impl Task for MixTask {
    type Batch = Batch;
    type Data = Source;
    kit::task_parts!(vs, train);
    fn train_step(&mut self, b: Batch, _ctx: &mut StepContext) -> anyhow::Result<Losses> {
        let out = self.forward(&b.images, None, true);
        let losses = self.task_losses(&out, &b)?;
        let total = self.combine(&losses)?;
        let mut terms: Vec<(String, Tensor)> = losses
            .iter()
            .map(|(t, l)| (format!("{}_loss", t.name()), l.detach()))
            .collect();
        if let Some(s) = &self.log_vars {
            for (i, (t, _)) in losses.iter().enumerate() {
                terms.push((
                    format!("sigma2_{}", t.name()),
                    s.get(i as i64).detach().exp(),
                ));
            }
        }
        Ok(Losses {
            total,
            terms,
            samples: b.scenes.len(),
        })
    }
    fn evaluate(&mut self, logger: &mut Logger, step: u64) -> anyhow::Result<Metrics> {
        let report = self.validate(Some(logger), step)?;
        let (_, _, higher) = crate::config::SELECTIONS
            .iter()
            .find(|s| s.0 == self.cfg.selection)
            .copied()
            .unwrap_or(("dice", Which::Segment, true));
        Ok(Metrics {
            values: report.metrics(),
            selection: self.cfg.selection.clone(),
            higher_is_better: higher,
        })
    }
}
