//! The training loop's per-step values (loss, logged terms, gradient norm) kept on the device
//! and read to the host once per log window, not once per value per step: a read waits for the
//! device to finish, which on a GPU would stall the queue every step.

use crate::train_error::TrainError;
use std::cell::Cell;
use tch::{Kind, Tensor};

/// Losses of one training step: `total` is back-propagated, `terms` are logged
/// (the total is logged as `loss`).
pub struct Losses {
    pub total: Tensor,
    pub terms: Vec<(String, Tensor)>,
    /// Samples in the batch, for throughput.
    pub samples: usize,
}

thread_local! {
    static HOST_READS: Cell<u64> = const { Cell::new(0) };
}

/// Host reads (device → CPU waits) the training loop has made on this thread so far: one per
/// log window, evaluation or checkpoint, whatever the number of steps between them.
pub fn host_reads() -> u64 {
    HOST_READS.with(Cell::get)
}

/// Values of the steps since the last read, in order.
#[derive(Default)]
pub(crate) struct StepValues {
    /// (step, names, values on the device: the terms, then `loss`, then the gradient norm).
    rows: Vec<(u64, Vec<String>, Tensor)>,
}

impl StepValues {
    /// Records step `step`'s losses and gradient norm (no host read).
    pub fn push(&mut self, step: u64, losses: &Losses, grad_norm: &Tensor) {
        let dev = losses.total.device();
        let mut names: Vec<String> = losses.terms.iter().map(|(k, _)| k.clone()).collect();
        names.push("loss".into());
        let mut vals: Vec<Tensor> = losses
            .terms
            .iter()
            .map(|(_, t)| t.detach().to_device(dev).to_kind(Kind::Double).reshape([1]))
            .collect();
        vals.push(losses.total.detach().to_kind(Kind::Double).reshape([1]));
        vals.push(grad_norm.to_device(dev).to_kind(Kind::Double).reshape([1]));
        self.rows.push((step, names, Tensor::cat(&vals, 0)));
    }

    /// Reads every pending step in one host read; the first non-finite value is an error
    /// (a term before the total, the loss before the gradient). Returns the last step's named
    /// values (the loss terms, `loss`, `grad_norm`), or `None` when nothing was pending.
    pub fn read(&mut self) -> Result<Option<Vec<(String, f64)>>, TrainError> {
        if self.rows.is_empty() {
            return Ok(None);
        }
        let rows = std::mem::take(&mut self.rows);
        let all: Vec<&Tensor> = rows.iter().map(|(_, _, t)| t).collect();
        let host: Vec<f64> = Vec::try_from(Tensor::cat(&all, 0).to_device(tch::Device::Cpu))
            .map_err(|e: tch::TchError| TrainError::Read(e.to_string()))?;
        HOST_READS.with(|c| c.set(c.get() + 1));
        let mut at = 0;
        let mut last = Vec::new();
        for (step, names, _) in &rows {
            let n = names.len();
            let (vals, norm) = (&host[at..at + n], host[at + n]);
            at += n + 1;
            if let Some((term, &value)) = names.iter().zip(vals).find(|(_, v)| !v.is_finite()) {
                return Err(TrainError::NonFinite {
                    step: *step,
                    term: term.clone(),
                    value,
                });
            }
            if !norm.is_finite() {
                return Err(TrainError::NonFiniteGradient {
                    step: *step,
                    value: norm,
                });
            }
            last = names.iter().cloned().zip(vals.iter().copied()).collect();
            last.push(("grad_norm".into(), norm));
        }
        Ok(Some(last))
    }
}
