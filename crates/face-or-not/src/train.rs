//! The task in kit's loop: binary cross-entropy on face logits per batch; on validation the
//! mean loss (which picks the best checkpoint), accuracy at P(face) ≥ 0.5 and ROC AUC.

use crate::config::Config;
use crate::data::{collate, Picture, Pictures};
use crate::model::Cnn;
use kit::data::Loader;
use kit::device::upload;
use kit::logging::Logger;
use kit::train::{Losses, Metrics, StepContext, Task};
use std::sync::Arc;
use tch::{nn, Device, Kind, Reduction, Tensor};

type Batch = (Tensor, Tensor);

pub struct FaceTask {
    pub vs: nn::VarStore,
    pub net: Cnn,
    train: Loader<Pictures, Batch>,
    held_out: Loader<Pictures, Batch>,
    device: Device,
    /// What `eval` needs beyond the held-out pictures (the baselines' training data).
    pub context: Option<crate::eval::Context>,
}

/// Scores of a set: P(face) per picture, the labels, and the mean loss.
pub struct Scored {
    pub p: Vec<f64>,
    pub labels: Vec<bool>,
    pub loss: f64,
}

impl Scored {
    /// Accuracy at P(face) ≥ 0.5.
    pub fn accuracy(&self) -> f64 {
        metrics::accuracy_at(&self.p, &self.labels, 0.5)
    }
    pub fn auc(&self) -> f64 {
        metrics::roc_auc(&self.p, &self.labels)
    }
}

impl FaceTask {
    /// The model, training on `train` (jittered when `data.augment`) and evaluating `held_out`.
    pub fn new(cfg: &Config, device: Device, train: Vec<Picture>, held_out: Vec<Picture>) -> Self {
        let vs = nn::VarStore::new(device);
        let net = Cnn::new(&(vs.root() / "net"), &cfg.model);
        let jitter_seed = cfg.data.augment.then_some(cfg.train.seed);
        let train = Pictures {
            items: train,
            jitter_seed,
        };
        let held_out = Pictures {
            items: held_out,
            jitter_seed: None,
        };
        Self {
            train: Loader::training(Arc::new(train), &cfg.train, Arc::new(collate)),
            held_out: Loader::evaluation(Arc::new(held_out), &cfg.train, Arc::new(collate)),
            vs,
            net,
            device,
            context: None,
        }
    }

    /// P(face) of standardised pictures (N, 1, 25, 25).
    pub fn probabilities(&self, x: &Tensor) -> anyhow::Result<Vec<f64>> {
        let p = tch::no_grad(|| self.net.logits(&x.to_device(self.device), false).sigmoid());
        Ok(Vec::try_from(
            p.to_kind(Kind::Double).to_device(Device::Cpu),
        )?)
    }

    fn loss(&self, x: &Tensor, y: &Tensor, train: bool) -> Tensor {
        let logits = self.net.logits(&upload(x, self.device), train);
        logits.binary_cross_entropy_with_logits::<Tensor>(
            &upload(y, self.device),
            None,
            None,
            Reduction::Mean,
        )
    }

    /// Scores every held-out picture.
    pub fn score(&self) -> anyhow::Result<Scored> {
        let (mut p, mut labels, mut loss, mut n) = (Vec::new(), Vec::new(), 0.0, 0usize);
        for batch in self.held_out.epoch(0, 0) {
            let (x, y) = batch?;
            let k = y.size()[0] as usize;
            loss += tch::no_grad(|| self.loss(&x, &y, false)).double_value(&[]) * k as f64;
            p.extend(self.probabilities(&x)?);
            labels.extend(Vec::<f32>::try_from(&y)?.into_iter().map(|v| v > 0.5));
            n += k;
        }
        anyhow::ensure!(n > 0, "the held-out set is empty");
        Ok(Scored {
            p,
            labels,
            loss: loss / n as f64,
        })
    }
}

impl Task for FaceTask {
    type Batch = Batch;
    type Data = Pictures;
    kit::task_parts!(vs, train);
    fn train_step(&mut self, (x, y): Batch, _ctx: &mut StepContext) -> anyhow::Result<Losses> {
        let total = self.loss(&x, &y, true);
        Ok(Losses {
            terms: vec![("bce".into(), total.detach())],
            total,
            samples: y.size()[0] as usize,
        })
    }
    fn evaluate(&mut self, _logger: &mut Logger, _step: u64) -> anyhow::Result<Metrics> {
        let s = self.score()?;
        Ok(Metrics {
            values: vec![
                ("loss".into(), s.loss),
                ("accuracy".into(), s.accuracy()),
                ("auc".into(), s.auc()),
            ],
            selection: "loss".into(),
            higher_is_better: false,
        })
    }
}
