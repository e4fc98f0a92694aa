//! The segmentation task plugged into kit's loop: data, loss selection, evaluation with
//! pictures for TensorBoard.

use crate::config::Config;
use crate::data::{self, Source};
use crate::eval::{overlay, score_volumes, Report, Scores};
use crate::model::UNet;
use kit::data::Loader;
use kit::device::upload;
use kit::logging::Logger;
use kit::train::{Losses, Metrics, StepContext, Task};
use loss_zoo::dice::DiceOptions;
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};

type Batch = (Tensor, Tensor);

pub struct SegTask {
    pub vs: nn::VarStore,
    pub net: UNet,
    cfg: Config,
    train: Loader<Source, Batch>,
    val: Loader<Source, Batch>,
    device: Device,
}

impl SegTask {
    pub fn new(cfg: &Config, device: Device, train: Source, val: Source) -> Self {
        let vs = nn::VarStore::new(device);
        let net = UNet::new(&vs.root(), &cfg.model);
        let train = Loader::training(Arc::new(train), &cfg.train, Arc::new(data::collate));
        let val = Loader::evaluation(Arc::new(val), &cfg.train, Arc::new(data::collate));
        Self {
            vs,
            net,
            cfg: cfg.clone(),
            train,
            val,
            device,
        }
    }

    fn dice_options(&self) -> DiceOptions {
        DiceOptions {
            softmax: true,
            to_onehot_y: true,
            include_background: false,
            batch: self.cfg.loss.batch_dice,
            batch_sums: Some(kit::distributed::sum_over_ranks),
            ..Default::default()
        }
    }

    /// The configured loss and its logged terms.
    pub fn loss(
        &self,
        logits: &Tensor,
        masks: &Tensor,
    ) -> anyhow::Result<(Tensor, Vec<(String, Tensor)>)> {
        let (total, terms) = self
            .cfg
            .loss
            .menu()
            .compute(logits, masks, &self.dice_options())?;
        Ok((
            total,
            terms.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ))
    }

    /// The U-Net halves the size `depth` times: the side must divide by 2^depth.
    pub fn check_size(&self, images: &Tensor) -> anyhow::Result<()> {
        let side = images.size().last().copied().unwrap_or(0);
        let k = 1i64 << self.cfg.model.depth;
        anyhow::ensure!(side % k == 0, "slices are {side}×{side} pixels, but model.depth = {} needs a multiple of {k}: resize the dataset or change model.depth", self.cfg.model.depth);
        Ok(())
    }

    /// Tumour probability maps (N, H, W) for images (N, C, H, W).
    pub fn tumour_probability(&self, images: &Tensor) -> Tensor {
        let logits = self.net.forward_t(&images.to_device(self.device), false);
        logits
            .softmax(1, Kind::Float)
            .narrow(1, 1, logits.size()[1] - 1)
            .sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
    }

    /// The most likely class of every pixel (N, H, W), for label volumes.
    pub fn classes(&self, images: &Tensor) -> Tensor {
        self.net
            .forward_t(&images.to_device(self.device), false)
            .argmax(1, false)
    }

    /// Scores the validation set; with a logger, also logs overlays and histograms.
    pub fn validate(&self, logger: Option<&mut Logger>, step: u64) -> anyhow::Result<Report> {
        let mut scores = Scores::default();
        let (mut pos, mut neg) = (Vec::new(), Vec::new());
        let mut pictures = Vec::new();
        let volumes = match self.val.dataset().as_ref() {
            Source::Volumes(v) => Some(v),
            _ => None,
        };
        let mut slice_preds: Vec<Vec<bool>> = Vec::new();
        for batch in self.val.epoch(0, 0) {
            let (x, y) = batch?;
            self.check_size(&x)?;
            let prob = self.tumour_probability(&x).to_device(Device::Cpu);
            let size = prob.size()[1] as usize;
            let p: Vec<f32> = Vec::try_from(prob.flatten(0, -1))?;
            let t: Vec<i64> = Vec::try_from(y.flatten(0, -1))?;
            let img: Vec<f32> = Vec::try_from(x.flatten(0, -1))?;
            let channels = x.size()[1] as usize;
            for ((ps, ts), is) in p
                .chunks(size * size)
                .zip(t.chunks(size * size))
                .zip(img.chunks(channels * size * size))
            {
                let pred: Vec<bool> = ps.iter().map(|&v| v > 0.5).collect();
                let truth: Vec<bool> = ts.iter().map(|&v| v > 0).collect();
                scores.add(&pred, &truth, size);
                if logger.is_some() {
                    for (k, (&v, &tr)) in ps.iter().zip(&truth).enumerate() {
                        if tr {
                            pos.push(v as f64);
                        } else if k % 37 == 0 {
                            neg.push(v as f64); // a sample of background pixels
                        }
                    }
                    if pictures.len() < 8 {
                        let gray = data::gray(&is[..size * size]);
                        pictures.push(overlay(&gray, Some(&truth), &pred, size as u32));
                    }
                }
                if volumes.is_some() {
                    slice_preds.push(pred);
                }
            }
        }
        let mut report = scores.report();
        if let Some(v) = volumes {
            report.volumes = Some(score_volumes(v, &slice_preds));
        }
        if let Some(log) = logger {
            log.pictures_and_histograms(
                step,
                "val/overlays (green: truth, red: prediction)",
                &pictures,
                4,
                &[
                    ("val/p_tumour on tumour pixels", &pos),
                    ("val/p_tumour on background pixels", &neg),
                ],
            )?;
        }
        Ok(report)
    }
}

impl Task for SegTask {
    type Batch = Batch;
    type Data = Source;
    kit::task_parts!(vs, train);
    fn train_step(&mut self, (x, y): Batch, _ctx: &mut StepContext) -> anyhow::Result<Losses> {
        let (x, y) = (upload(&x, self.device), upload(&y, self.device));
        let precision = self.cfg.train.precision;
        let logits =
            kit::precision::forward(precision, self.device, || self.net.forward_t(&x, true));
        let (total, terms) = self.loss(&logits, &y)?;
        Ok(Losses {
            total,
            terms,
            samples: x.size()[0] as usize,
        })
    }
    fn evaluate(&mut self, logger: &mut Logger, step: u64) -> anyhow::Result<Metrics> {
        let report = self.validate(Some(logger), step)?;
        Ok(Metrics {
            values: report.metrics(),
            // Per volume for NIfTI data (what MONAI selects on), per slice otherwise.
            selection: if report.volumes.is_some() {
                "dice_3d"
            } else {
                "dice"
            }
            .into(),
            higher_is_better: true,
        })
    }
}
