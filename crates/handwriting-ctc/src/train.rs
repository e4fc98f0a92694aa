//! The CTC task in kit's loop, and evaluation: CER, WER and string accuracy with greedy and
//! prefix-beam decoding, with sample pictures for TensorBoard.

use crate::batch::{collate, Batch};
use crate::config::{Config, LossKind};
use crate::data::{self, Source};
use crate::eval::{scores, Decoded};
use crate::model::{frames, Crnn};
use crate::viz;
use kit::data::Loader;
use kit::device::upload;
use kit::logging::Logger;
use kit::train::{Losses, Metrics, StepContext, Task};
use loss_zoo::ctc::{beam_search_decode, ctc_loss, greedy_decode};
use loss_zoo::Reduction;
use std::collections::HashSet;
use std::sync::Arc;
use tch::{nn, Device, Tensor};

pub struct CtcTask {
    pub vs: nn::VarStore,
    pub net: Crnn,
    pub alphabet: Vec<char>,
    cfg: Config,
    train: Loader<Source, Batch>,
    val: Loader<Source, Batch>,
    device: Device,
    /// Samples skipped because their output is too short for their label.
    pub skipped: usize,
    reported: HashSet<String>,
}

/// Frames CTC needs for a label: its length plus one blank between each repeated pair.
pub fn min_frames(label: &[i64]) -> i64 {
    label.len() as i64 + label.windows(2).filter(|w| w[0] == w[1]).count() as i64
}

/// The per-frame targets of the `framewise_ce` baseline: the `frames` frames split into
/// `label.len()` equal segments, frame t labelled with character ⌊t·L/T⌋; the first frame of a
/// segment that repeats the previous character is blank (0), so that CTC's collapsing decoder
/// reads both models' outputs the same way. Needs `frames ≥ label.len()`.
pub fn uniform_alignment(label: &[i64], frames: i64) -> Vec<i64> {
    let l = label.len() as i64;
    let mut prev_seg = -1;
    (0..frames)
        .map(|t| {
            let k = t * l / frames;
            let first = k != prev_seg;
            prev_seg = k;
            let c = label[k as usize];
            if first && k > 0 && label[k as usize - 1] == c {
                0
            } else {
                c
            }
        })
        .collect()
}

/// Mean per-frame cross-entropy of log-probabilities `lp` (T, N, C) against the uniform
/// alignment of each label (`labels[i]` over `frames[i]` frames; later frames are ignored).
fn framewise_ce(lp: &Tensor, labels: &[Vec<i64>], frames: &[i64]) -> Tensor {
    let (t, n, c) = lp.size3().unwrap_or((0, 0, 0));
    let mut target = vec![-100i64; (t * n) as usize];
    for (i, (label, &f)) in labels.iter().zip(frames).enumerate() {
        for (s, y) in uniform_alignment(label, f.min(t)).into_iter().enumerate() {
            target[s * n as usize + i] = y;
        }
    }
    let target = Tensor::from_slice(&target).to_device(lp.device());
    // Mean over the labelled frames (-100 = ignored).
    lp.reshape([t * n, c]).nll_loss(&target)
}

impl CtcTask {
    pub fn new(cfg: &Config, device: Device, train: Source, val: Source) -> Self {
        let alphabet = cfg.data.alphabet();
        let vs = nn::VarStore::new(device);
        let net = Crnn::new(&vs.root(), &cfg.model, alphabet.len() as i64 + 1);
        let train = Loader::training(Arc::new(train), &cfg.train, Arc::new(collate));
        let val = Loader::evaluation(Arc::new(val), &cfg.train, Arc::new(collate));
        Self {
            vs,
            net,
            alphabet,
            cfg: cfg.clone(),
            train,
            val,
            device,
            skipped: 0,
            reported: HashSet::new(),
        }
    }

    /// Names of the output classes for pictures: `blank`, then the alphabet.
    pub fn class_labels(&self) -> Vec<String> {
        std::iter::once("blank".to_string())
            .chain(self.alphabet.iter().map(|c| c.to_string()))
            .collect()
    }

    /// Log-probabilities (T, N, C) and the per-sample frame counts.
    pub fn forward(&self, b: &Batch, train: bool) -> (Tensor, Tensor) {
        let lp = self
            .net
            .forward_t(&upload(&b.images, self.device), &b.widths, train);
        let il: Vec<i64> = b
            .widths
            .iter()
            .map(|&w| frames(w).min(lp.size()[0]))
            .collect();
        (lp, Tensor::from_slice(&il))
    }

    /// Decodes the validation set (or any loader's first epoch).
    pub fn decode_val(&self) -> anyhow::Result<(Decoded, Vec<(Batch, Tensor)>)> {
        let mut d = Decoded {
            truth: vec![],
            greedy: vec![],
            beam: vec![],
        };
        let mut keep = Vec::new();
        for b in self.val.epoch(0, 0) {
            let b = b?;
            let (lp, il) = self.forward(&b, false);
            let lp = lp.to_device(Device::Cpu);
            let mut offset = 0;
            for &len in &b.target_lengths {
                let t: Vec<i64> = Vec::try_from(b.targets.narrow(0, offset, len))?;
                d.truth.push(data::decode(&t, &self.alphabet));
                offset += len;
            }
            for g in greedy_decode(&lp, Some(&il), 0)? {
                d.greedy.push(data::decode(&g, &self.alphabet));
            }
            for g in beam_search_decode(&lp, Some(&il), self.cfg.decode.beam_width, 0)? {
                d.beam.push(data::decode(&g, &self.alphabet));
            }
            if keep.is_empty() {
                keep.push((b, lp));
            }
        }
        Ok((d, keep))
    }
}

impl Task for CtcTask {
    type Batch = Batch;
    type Data = Source;
    kit::task_parts!(vs, train);
    fn train_step(&mut self, mut b: Batch, ctx: &mut StepContext) -> anyhow::Result<Losses> {
        // In a data-parallel step, padded to the global batch's width: padded columns enter the
        // batch-norm statistics, which are then the one-process batch's.
        let width = b.images.size()[3];
        let global = kit::distributed::max_over_ranks(width);
        if global > width {
            b.images = b.images.constant_pad_nd([0, global - width]);
        }
        let (lp, il) = self.forward(&b, true);
        let il_v: Vec<i64> = Vec::try_from(&il)?;
        // Skip samples whose output is too short for their label (CTC would be +inf).
        let mut keep = Vec::new();
        let mut offset = 0;
        let mut targets = Vec::new();
        let mut tl = Vec::new();
        let mut labels = Vec::new();
        let mut short = Vec::new();
        for (i, &len) in b.target_lengths.iter().enumerate() {
            let label: Vec<i64> = Vec::try_from(b.targets.narrow(0, offset, len))?;
            offset += len;
            if il_v[i] < min_frames(&label) {
                self.skipped += 1;
                short.push(format!(
                    "{} ({} frames, needs {})",
                    b.names[i],
                    il_v[i],
                    min_frames(&label)
                ));
                if self.reported.insert(b.names[i].clone()) {
                    ctx.println(&format!(
                        "skipped {}: {} frames for a label that needs {}",
                        b.names[i],
                        il_v[i],
                        min_frames(&label)
                    ));
                }
                continue;
            }
            keep.push(i as i64);
            targets.extend_from_slice(&label);
            labels.push(label);
            tl.push(len);
        }
        anyhow::ensure!(
            !keep.is_empty(),
            "every sample of a batch is too narrow for its label (one frame per 4 px of width; \
             a label needs a frame per character plus one between repeated characters): {}{}",
            short[..short.len().min(3)].join(", "),
            if short.len() > 3 {
                format!(" and {} more", short.len() - 3)
            } else {
                String::new()
            }
        );
        let idx = Tensor::from_slice(&keep).to_device(self.device);
        let lp_k = lp.index_select(1, &idx);
        let il_k = il.index_select(0, &Tensor::from_slice(&keep));
        let loss = match self.cfg.loss.kind {
            LossKind::Ctc => ctc_loss(
                &lp_k,
                &Tensor::from_slice(&targets),
                &il_k,
                &Tensor::from_slice(&tl),
                &loss_zoo::ctc::CtcOptions {
                    blank: 0,
                    reduction: Reduction::Mean,
                    zero_infinity: false,
                },
            )?,
            LossKind::FramewiseCe => {
                let frames: Vec<i64> = keep.iter().map(|&i| il_v[i as usize]).collect();
                framewise_ce(&lp_k, &labels, &frames)
            }
        };
        Ok(Losses {
            total: loss,
            terms: vec![],
            samples: keep.len(),
        })
    }
    fn evaluate(&mut self, logger: &mut Logger, step: u64) -> anyhow::Result<Metrics> {
        let (d, keep) = self.decode_val()?;
        let (g_cer, g_wer, g_acc) = scores(&d.greedy, &d.truth);
        let (b_cer, b_wer, b_acc) = scores(&d.beam, &d.truth);
        if let Some((b, lp)) = keep.first() {
            let s = step as i64;
            let n = b.names.len().min(6);
            let mut pics = Vec::new();
            let mut table = String::from("| true | greedy | beam |\n|---|---|---|\n");
            for i in 0..n {
                let w = b.widths[i];
                let img = b.images.get(i as i64).narrow(2, 0, w);
                let probs = lp
                    .narrow(1, i as i64, 1)
                    .squeeze_dim(1)
                    .narrow(0, 0, frames(w))
                    .exp();
                pics.push(viz::alignment_picture(&img, &probs, &self.class_labels())?);
                table.push_str(&format!(
                    "| {} | {} | {} |\n",
                    d.truth[i], d.greedy[i], d.beam[i]
                ));
            }
            for (i, p) in pics.iter().enumerate() {
                logger.tb.image(&format!("val/alignment_{i}"), s, p)?;
            }
            logger.tb.text("val/predictions", s, &table)?;
        }
        Ok(Metrics {
            values: vec![
                ("cer".into(), g_cer),
                ("wer".into(), g_wer),
                ("accuracy".into(), g_acc),
                ("cer_beam".into(), b_cer),
                ("wer_beam".into(), b_wer),
                ("accuracy_beam".into(), b_acc),
                ("skipped_samples".into(), self.skipped as f64),
            ],
            selection: "cer".into(),
            higher_is_better: false,
        })
    }
}
