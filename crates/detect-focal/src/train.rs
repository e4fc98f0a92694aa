//! The detection task in kit's loop: focal classification loss with RetinaNet's
//! normalisation, smooth-L1 or GIoU box loss, and evaluation with pictures and histograms.

use crate::boxes::{Anchors, MAX_LOG_SCALE};
use crate::config::{BoxLoss, Config};
use crate::data::{self, Batch, Source, Targets};
use crate::eval::{picture, postprocess, Collector, Det, Report};
use crate::model::{RetinaNet, STRIDES};
use kit::data::Loader;
use kit::device::upload;
use kit::logging::Logger;
use kit::train::{Losses, Metrics, StepContext, Task};
use loss_zoo::focal::sigmoid_focal_loss;
use loss_zoo::Reduction;
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};

/// The anchors of a config.
pub fn anchors(cfg: &Config) -> Anchors {
    let m = &cfg.model;
    Anchors::new(
        cfg.data.size,
        &STRIDES,
        m.anchor_size,
        &m.aspect_ratios,
        &m.scales,
    )
}

/// Decodes offsets (M, 4) against anchors (M, 4) into boxes (M, 4), as [`crate::boxes::decode`].
fn decode_tensor(anchors: &Tensor, d: &Tensor) -> Tensor {
    let aw = anchors.select(1, 2) - anchors.select(1, 0);
    let ah = anchors.select(1, 3) - anchors.select(1, 1);
    let ax = anchors.select(1, 0) + &aw * 0.5;
    let ay = anchors.select(1, 1) + &ah * 0.5;
    let cx = ax + d.select(1, 0) * &aw;
    let cy = ay + d.select(1, 1) * &ah;
    let w = aw * d.select(1, 2).clamp_max(MAX_LOG_SCALE as f64).exp();
    let h = ah * d.select(1, 3).clamp_max(MAX_LOG_SCALE as f64).exp();
    Tensor::stack(
        &[
            &cx - &w * 0.5,
            &cy - &h * 0.5,
            &cx + &w * 0.5,
            &cy + &h * 0.5,
        ],
        1,
    )
}

/// Sum of 1 − GIoU over paired boxes (M, 4) `[x1, y1, x2, y2]` (Rezatofighi et al., 2019):
/// GIoU = IoU − |C \ (A ∪ B)| / |C| with C the smallest box enclosing A and B.
pub fn giou_loss_sum(a: &Tensor, b: &Tensor) -> Tensor {
    let c = |t: &Tensor, i: i64| t.select(1, i);
    let area = |t: &Tensor| (c(t, 2) - c(t, 0)).clamp_min(0.0) * (c(t, 3) - c(t, 1)).clamp_min(0.0);
    let iw = (c(a, 2).minimum(&c(b, 2)) - c(a, 0).maximum(&c(b, 0))).clamp_min(0.0);
    let ih = (c(a, 3).minimum(&c(b, 3)) - c(a, 1).maximum(&c(b, 1))).clamp_min(0.0);
    let inter = iw * ih;
    let union = area(a) + area(b) - &inter + 1e-7;
    let iou = &inter / &union;
    let cw = c(a, 2).maximum(&c(b, 2)) - c(a, 0).minimum(&c(b, 0));
    let ch = c(a, 3).maximum(&c(b, 3)) - c(a, 1).minimum(&c(b, 1));
    let hull = cw * ch + 1e-7;
    let giou = iou - (&hull - &union) / &hull;
    (giou.neg() + 1.0).sum(Kind::Float)
}

pub struct DetTask {
    pub vs: nn::VarStore,
    pub net: RetinaNet,
    pub anchors: Arc<Anchors>,
    anchors_t: Tensor,
    pub cfg: Config,
    pub class_names: Vec<String>,
    train: Loader<Source, Batch>,
    val: Loader<Source, Batch>,
    device: Device,
}

impl DetTask {
    pub fn new(cfg: &Config, device: Device, train: Source, val: Source) -> Self {
        let class_names = data::class_names(&train);
        Self::with_classes(cfg, device, class_names, train, val)
    }

    /// As [`DetTask::new`] with the class names given (from the run's meta.json at inference).
    pub fn with_classes(
        cfg: &Config,
        device: Device,
        class_names: Vec<String>,
        train: Source,
        val: Source,
    ) -> Self {
        let anchors = Arc::new(anchors(cfg));
        let targets = Arc::new(Targets {
            anchors: anchors.clone(),
            classes: class_names.len(),
            pos_iou: cfg.loss.pos_iou as f32,
            neg_iou: cfg.loss.neg_iou as f32,
        });
        let t2 = targets.clone();
        let train = Loader::training(
            Arc::new(train),
            &cfg.train,
            Arc::new(move |s| data::collate(&targets, s)),
        );
        let val = Loader::evaluation(
            Arc::new(val),
            &cfg.train,
            Arc::new(move |s| data::collate(&t2, s)),
        );
        let vs = nn::VarStore::new(device);
        let net = RetinaNet::new(&vs.root(), &cfg.model, class_names.len() as i64);
        let flat: Vec<f32> = anchors.boxes.iter().flatten().copied().collect();
        let anchors_t = Tensor::from_slice(&flat).view([-1, 4]).to_device(device);
        Self {
            vs,
            net,
            anchors,
            anchors_t,
            cfg: cfg.clone(),
            class_names,
            train,
            val,
            device,
        }
    }

    /// Total loss and its logged terms for network outputs on a batch:
    /// cls = Σ_valid anchors FL / N_pos, box = Σ_positive anchors box loss / N_pos (RetinaNet).
    pub fn loss(
        &self,
        cls: &Tensor,
        reg: &Tensor,
        b: &Batch,
    ) -> anyhow::Result<(Tensor, Vec<(String, Tensor)>)> {
        let l = &self.cfg.loss;
        let dev = cls.device();
        let valid = b.targets.valid.to_device(dev);
        let pos = b.targets.positive.to_device(dev);
        let n_pos = pos.sum(Kind::Float);
        // The global batch's positives in a data-parallel step, as this rank's share: the
        // ranks' averaged gradient is then the global batch's (mmdetection's reduce_mean).
        let norm = kit::distributed::count_normaliser(&n_pos);
        let fl = sigmoid_focal_loss(
            cls,
            &b.targets.cls.to_device(dev),
            l.alpha,
            l.gamma,
            Reduction::None,
        )?;
        let cls_loss = (fl * valid.unsqueeze(-1).to_kind(Kind::Float)).sum(Kind::Float) / &norm;
        let box_targets = b.targets.deltas.to_device(dev);
        let box_loss = match l.box_loss {
            BoxLoss::SmoothL1 => {
                let per = reg.smooth_l1_loss(&box_targets, tch::Reduction::None, l.smooth_l1_beta);
                (per * pos.unsqueeze(-1).to_kind(Kind::Float)).sum(Kind::Float) / &norm
            }
            BoxLoss::Giou => {
                let a_n = self.anchors.len() as i64;
                let idx = pos.flatten(0, 1).nonzero().squeeze_dim(1);
                let anchors = self.anchors_t.index_select(0, &idx.remainder(a_n));
                let pred = decode_tensor(&anchors, &reg.reshape([-1, 4]).index_select(0, &idx));
                let truth = decode_tensor(
                    &anchors,
                    &box_targets.reshape([-1, 4]).index_select(0, &idx),
                );
                giou_loss_sum(&pred, &truth) / &norm
            }
        };
        let total = &cls_loss + &box_loss * l.box_weight;
        let n = cls.size()[0] as f64;
        let terms = vec![
            ("cls_loss".into(), cls_loss.detach()),
            ("box_loss".into(), box_loss.detach()),
            ("positives_per_batch".into(), n_pos.shallow_clone()),
            (
                "positive_anchor_fraction".into(),
                &n_pos / (n * self.anchors.len() as f64),
            ),
        ];
        Ok((total, terms))
    }

    /// Class logits (N, A, K) and box offsets (N, A, 4) on the CPU.
    pub fn outputs(&self, images: &Tensor) -> (Tensor, Tensor) {
        let (cls, reg) = tch::no_grad(|| self.net.forward_t(&images.to_device(self.device), false));
        (cls.to_device(Device::Cpu), reg.to_device(Device::Cpu))
    }

    /// Sigmoid scores (N, A, K) and box offsets (N, A, 4) on the CPU.
    pub fn scores(&self, images: &Tensor) -> (Tensor, Tensor) {
        let (cls, reg) = self.outputs(images);
        (cls.sigmoid(), reg)
    }

    /// Summed classification loss on negative anchors and on all valid anchors, under the
    /// run's (γ, α) and under plain cross-entropy (γ = 0, no α): how much of each loss the
    /// background contributes (Lin et al. 2017, Fig. 4).
    fn loss_split(&self, logits: &Tensor, b: &Batch) -> anyhow::Result<[f64; 4]> {
        let valid = b.targets.valid.unsqueeze(-1).to_kind(Kind::Float);
        let negative = (1.0 - &b.targets.cls) * &valid;
        let l = &self.cfg.loss;
        let mut out = [0.0; 4];
        for (i, (alpha, gamma)) in [(l.alpha, l.gamma), (None, 0.0)].into_iter().enumerate() {
            let per = sigmoid_focal_loss(logits, &b.targets.cls, alpha, gamma, Reduction::None)?;
            out[2 * i] = (&per * &negative).sum(Kind::Double).double_value(&[]);
            out[2 * i + 1] = (&per * &valid).sum(Kind::Double).double_value(&[]);
        }
        Ok(out)
    }

    /// Detections per image for normalised images (N, 3, S, S).
    pub fn detect(&self, scores: &Tensor, deltas: &Tensor) -> anyhow::Result<Vec<Vec<Det>>> {
        let n = scores.size()[0] as usize;
        let s: Vec<f32> = Vec::try_from(scores.flatten(0, -1))?;
        let d: Vec<f32> = Vec::try_from(deltas.flatten(0, -1))?;
        let (a, k) = (self.anchors.len(), self.class_names.len());
        Ok((0..n)
            .map(|i| {
                postprocess(
                    &s[i * a * k..(i + 1) * a * k],
                    &d[i * a * 4..(i + 1) * a * 4],
                    &self.anchors,
                    k,
                    &self.cfg.detect,
                    self.cfg.data.size as f32,
                )
            })
            .collect())
    }

    /// Detections (above `detect.score_threshold`) of every validation image, in order.
    pub fn val_detections(&self) -> anyhow::Result<Vec<Vec<Det>>> {
        let mut all = Vec::new();
        for batch in self.val.epoch(0, 0) {
            let b = batch?;
            let (logits, deltas) = self.outputs(&b.images);
            all.extend(self.detect(&logits.sigmoid(), &deltas)?);
        }
        Ok(all)
    }

    /// The validation set being evaluated.
    pub fn val_source(&self) -> &Source {
        self.val.dataset()
    }

    /// COCO AP on the validation set; with a logger, also pictures and score histograms.
    pub fn validate(&self, logger: Option<&mut Logger>, step: u64) -> anyhow::Result<Report> {
        Ok(self.validate_collect(logger, step)?.0)
    }

    /// [`DetTask::validate`] and the matched detections behind it (for the PR figure).
    pub fn validate_collect(
        &self,
        logger: Option<&mut Logger>,
        step: u64,
    ) -> anyhow::Result<(Report, Collector)> {
        let mut col = Collector::default();
        let (mut pos_scores, mut neg_scores) = (Vec::<f64>::new(), Vec::<f64>::new());
        let mut pictures = Vec::new();
        let mut split = [0.0f64; 4];
        let show = self.cfg.detect.show_threshold as f32;
        for batch in self.val.epoch(0, 0) {
            let b = batch?;
            let (logits, deltas) = self.outputs(&b.images);
            for (acc, v) in split.iter_mut().zip(self.loss_split(&logits, &b)?) {
                *acc += v;
            }
            let scores = logits.sigmoid();
            let dets = self.detect(&scores, &deltas)?;
            for (s, d) in b.scenes.iter().zip(&dets) {
                col.add(d, &s.boxes, &s.classes);
                if logger.is_some() && pictures.len() < 8 {
                    let shown: Vec<Det> = d.iter().filter(|d| d.score >= show).copied().collect();
                    pictures.push(picture(&s.image, &s.boxes, &shown, &self.class_names, 2));
                }
            }
            if logger.is_some() {
                // Score of the true class at positive anchors; best class score at negatives.
                let p = (&scores * &b.targets.cls)
                    .sum_dim_intlist([-1i64].as_slice(), false, Kind::Float)
                    .masked_select(&b.targets.positive);
                let negative = b
                    .targets
                    .valid
                    .logical_and(&b.targets.positive.logical_not());
                let q = scores
                    .amax([-1i64].as_slice(), false)
                    .masked_select(&negative);
                pos_scores.extend(Vec::<f32>::try_from(p)?.into_iter().map(f64::from));
                let q: Vec<f32> = Vec::try_from(q)?;
                neg_scores.extend(q.into_iter().step_by(7).map(f64::from));
            }
        }
        let mut report = col.report(&self.class_names);
        report.negative_loss_share = split[0] / split[1];
        report.negative_loss_share_ce = split[2] / split[3];
        if let Some(log) = logger {
            let s = step as i64;
            log.pictures_and_histograms(
                step,
                "val/boxes (green: truth, colours: detections)",
                &pictures,
                4,
                &[
                    ("val/anchor score, positive anchors", &pos_scores),
                    ("val/anchor score, negative anchors", &neg_scores),
                ],
            )?;
            log.tb.image(
                "val/precision-recall",
                s,
                &col.pr_picture(&self.class_names)?,
            )?;
        }
        Ok((report, col))
    }
}

impl Task for DetTask {
    type Batch = Batch;
    type Data = Source;
    kit::task_parts!(vs, train);
    fn train_step(&mut self, b: Batch, _ctx: &mut StepContext) -> anyhow::Result<Losses> {
        let (cls, reg) = self.net.forward_t(&upload(&b.images, self.device), true);
        let (total, terms) = self.loss(&cls, &reg, &b)?;
        Ok(Losses {
            total,
            terms,
            samples: b.scenes.len(),
        })
    }
    fn evaluate(&mut self, logger: &mut Logger, step: u64) -> anyhow::Result<Metrics> {
        let report = self.validate(Some(logger), step)?;
        Ok(Metrics {
            values: report.metrics(),
            selection: "ap".into(),
            higher_is_better: true,
        })
    }
}
