//! The point-set task in kit's loop: Chamfer (or Sinkhorn-EMD) between predicted and sampled
//! ground-truth points, validation metrics, and pictures + 3-D point clouds in TensorBoard.

use crate::config::{Config, LossKind};
use crate::data::{collate, Batch, Sample, Split};
use crate::eval::{self, Bank};
use crate::mesh::V3;
use crate::model::PointNet;
use crate::predict::{gray_picture, height_colour, hstack, three_views, vstack};
use kit::data::Loader;
use kit::device::upload;
use kit::logging::Logger;
use kit::train::{Losses, Metrics, StepContext, Task};
use loss_zoo::chamfer::{chamfer_distance, ChamferOptions};
use loss_zoo::sinkhorn::{sinkhorn_emd_report, SinkhornOptions};
use loss_zoo::Reduction;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};

pub struct CloudTask {
    pub vs: nn::VarStore,
    pub net: PointNet,
    pub cfg: Config,
    train: Loader<Split, Batch>,
    /// Validation samples in memory.
    pub val: Vec<Sample>,
    pub device: Device,
    /// A Sinkhorn cap hit was reported (once per run).
    warned: AtomicBool,
    /// `eval --data DIR`: DIR's name, put into the example picture's file name.
    pub eval_tag: Option<String>,
}

impl CloudTask {
    pub fn new(cfg: &Config, device: Device, train: Vec<Sample>, val: Vec<Sample>) -> Self {
        let vs = nn::VarStore::new(device);
        let net = PointNet::new(&vs.root(), &cfg.model, cfg.data.image_size as i64);
        let train = Loader::training(
            Arc::new(Split { samples: train }),
            &cfg.train,
            Arc::new(collate),
        );
        Self {
            vs,
            net,
            cfg: cfg.clone(),
            train,
            val,
            device,
            warned: AtomicBool::new(false),
            eval_tag: None,
        }
    }

    /// The training samples (for the baselines' bank).
    pub fn train_samples(&self) -> &[Sample] {
        &self.train.dataset().samples
    }

    /// Training-sample bank for the baselines.
    pub fn bank(&self) -> Bank {
        Bank::from_samples(
            self.train_samples(),
            self.cfg.eval.bank_size,
            self.net.points as usize,
        )
    }

    /// Loss terms of predicted (B, N, 3) against truth (B, M, 3).
    pub fn losses(
        &self,
        pred: &Tensor,
        truth: &Tensor,
    ) -> anyhow::Result<(Tensor, Vec<(String, Tensor)>)> {
        let chamfer =
            |p: &Tensor| chamfer_distance(p, truth, None, None, &ChamferOptions::default());
        Ok(match self.cfg.loss.kind {
            LossKind::Chamfer => {
                let c = chamfer(pred)?;
                let d = c.detach();
                (c, vec![("chamfer".into(), d)])
            }
            LossKind::Sinkhorn | LossKind::ChamferSinkhorn => {
                let l = &self.cfg.loss;
                let m = truth.size()[1];
                let k = (l.sinkhorn_points as i64).min(m);
                let pick = Tensor::randperm(m, (Kind::Int64, truth.device())).narrow(0, 0, k);
                let sub = truth.index_select(1, &pick);
                let opts = SinkhornOptions {
                    epsilon: l.epsilon,
                    max_iters: l.max_iters,
                    tolerance: l.tolerance,
                    scaling: l.scaling,
                    relaxation: l.relaxation,
                    reduction: Reduction::Mean,
                };
                let r = sinkhorn_emd_report(pred, &sub, &opts)?;
                if !r.converged && !self.warned.swap(true, Ordering::Relaxed) {
                    eprintln!(
                        "warning: Sinkhorn stopped at loss.max_iters = {} with a marginal error \
                         of {:.2e} > loss.tolerance = {:.1e}: the EMD term is a rounded, not \
                         converged, plan (raise loss.max_iters or loss.epsilon; \
                         train/sinkhorn_marginal_error tracks it; warned once)",
                        l.max_iters, r.marginal_error, l.tolerance
                    );
                }
                let diag = [
                    ("sinkhorn_marginal_error", r.marginal_error),
                    ("sinkhorn_iters", r.iters as f64),
                    ("sinkhorn_converged", r.converged_share),
                ]
                .map(|(k, v)| (k.to_string(), Tensor::from(v)));
                let emd = r.value;
                let d = emd.detach();
                if l.kind == LossKind::Sinkhorn {
                    let c = tch::no_grad(|| chamfer(pred))?;
                    let mut terms = vec![("sinkhorn_emd".into(), d), ("chamfer".into(), c)];
                    terms.extend(diag);
                    (emd, terms)
                } else {
                    let c = chamfer(pred)?;
                    let mut terms =
                        vec![("sinkhorn_emd".into(), d), ("chamfer".into(), c.detach())];
                    terms.extend(diag);
                    (c + emd * l.emd_weight, terms)
                }
            }
        })
    }
}

/// Input | predicted views | true views, one row for the first sample of each class (up to
/// `classes` rows); also returns which samples were shown.
pub fn comparison(
    samples: &[Sample],
    pred: &Tensor,
    classes: usize,
) -> anyhow::Result<(image::RgbImage, Vec<usize>)> {
    let mut shown = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, smp) in samples.iter().enumerate() {
        if shown.len() < classes && seen.insert(smp.class.clone()) {
            shown.push(i);
        }
    }
    let mut strips = Vec::new();
    for &i in &shown {
        let p = points_of(&pred.get(i as i64))?;
        strips.push(hstack(&[
            gray_picture(&samples[i].image, 96),
            three_views(&p, 96),
            three_views(&samples[i].points, 96),
        ]));
    }
    Ok((vstack(&strips), shown))
}

/// Points (N, 3) of a tensor as a Vec.
pub fn points_of(t: &Tensor) -> anyhow::Result<Vec<V3>> {
    let v: Vec<f32> = Vec::try_from(t.to_kind(Kind::Float).flatten(0, -1))?;
    Ok(v.chunks(3).map(|c| [c[0], c[1], c[2]]).collect())
}

impl Task for CloudTask {
    type Batch = Batch;
    type Data = Split;
    kit::task_parts!(vs, train);
    fn train_step(&mut self, (x, y): Batch, _ctx: &mut StepContext) -> anyhow::Result<Losses> {
        let (x, y) = (upload(&x, self.device), upload(&y, self.device));
        let pred = self.net.forward_t(&x, true);
        let (total, terms) = self.losses(&pred, &y)?;
        Ok(Losses {
            total,
            terms,
            samples: x.size()[0] as usize,
        })
    }

    fn evaluate(&mut self, logger: &mut Logger, step: u64) -> anyhow::Result<Metrics> {
        let images = eval::image_tensor(&self.val);
        let truth = eval::truth_tensor(&self.val);
        let (pred, _) = eval::predict_all(&self.net, &images, self.device);
        let scores = eval::score(&pred, &truth, &self.cfg.eval.fscore_tau)?;
        let classes: Vec<&str> = self.val.iter().map(|s| &*s.class).collect();
        let rows = eval::rows(&scores, &classes);
        let mean = rows
            .last()
            .ok_or_else(|| anyhow::anyhow!("no validation rows"))?;
        let s = step as i64;
        let (strips, shown) = comparison(&self.val, &pred, 4)?;
        logger.tb.image(
            "val/input | predicted (front, side, top) | truth (front, side, top)",
            s,
            &strips,
        )?;
        if let Some(&i) = shown.first() {
            let p = points_of(&pred.get(i as i64))?;
            let colour = |v: &[V3]| v.iter().map(|q| height_colour(q[1])).collect::<Vec<_>>();
            logger
                .tb
                .point_cloud("val/predicted", s, &p, &colour(&p), 0.01)?;
            let t = &self.val[i].points;
            logger.tb.point_cloud("val/truth", s, t, &colour(t), 0.01)?;
        }
        logger
            .tb
            .histogram("val/chamfer_x1e3", s, &scores.chamfer, 30)?;
        let mut values = vec![("chamfer_x1e3".to_string(), mean.chamfer_x1e3)];
        for (tau, f) in self.cfg.eval.fscore_tau.iter().zip(&mean.fscore) {
            values.push((format!("fscore@{}%", tau * 100.0), *f));
        }
        values.push(("nn_cv".into(), mean.nn_cv));
        Ok(Metrics {
            values,
            selection: "chamfer_x1e3".into(),
            higher_is_better: false,
        })
    }
}
