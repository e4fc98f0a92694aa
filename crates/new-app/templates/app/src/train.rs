//! The task in kit's loop: the problem's forward pass and loss on each batch; the problem's
//! metric on the validation set.

use crate::config::Config;
use crate::data::{self, Source};
use crate::model::Mlp;
use crate::problem::{self, Head};
use kit::data::Loader;
use kit::logging::Logger;
use kit::train::{Losses, Metrics, StepContext, Task};
use std::sync::Arc;
use tch::{nn, Device, Tensor};

type Batch = (Tensor, Tensor);

pub struct AppTask {
    pub vs: nn::VarStore,
    pub net: Mlp,
    pub head: Head,
    train: Loader<Source, Batch>,
    val: Loader<Source, Batch>,
    device: Device,
}

impl AppTask {
    pub fn new(cfg: &Config, device: Device, train: Source, val: Source) -> Self {
        let vs = nn::VarStore::new(device);
        let net = Mlp::new(&(vs.root() / "net"), &cfg.model);
        let head = Head::new(&(vs.root() / "head"));
        Self {
            train: Loader::training(Arc::new(train), &cfg.train, Arc::new(data::collate)),
            val: Loader::evaluation(Arc::new(val), &cfg.train, Arc::new(data::collate)),
            vs,
            net,
            head,
            device,
        }
    }

    /// The model's outputs for inputs (N, INPUT).
    pub fn outputs(&self, x: &Tensor) -> Tensor {
        problem::forward(&self.net, &x.to_device(self.device))
    }

    /// The loss of one batch.
    pub fn loss(&self, x: &Tensor, y: &Tensor) -> anyhow::Result<Tensor> {
        self.head.loss(&self.outputs(x), &y.to_device(self.device))
    }

    /// The problem's metric over the evaluation set, and its size.
    pub fn validate(&self) -> anyhow::Result<(f64, usize)> {
        let (mut outs, mut ys) = (Vec::new(), Vec::new());
        for batch in self.val.epoch(0, 0) {
            let (x, y) = batch?;
            outs.push(tch::no_grad(|| self.outputs(&x)).to_device(Device::Cpu));
            ys.push(y);
        }
        anyhow::ensure!(!outs.is_empty(), "the evaluation set is empty");
        let (out, y) = (
            Tensor::f_cat(&outs, problem::BATCH_DIM)?,
            Tensor::f_cat(&ys, 0)?,
        );
        Ok((self.head.metric(&out, &y)?, y.size()[0] as usize))
    }
}

impl Task for AppTask {
    type Batch = Batch;
    type Data = Source;
    kit::task_parts!(vs, train);
    fn train_step(&mut self, (x, y): Batch, _ctx: &mut StepContext) -> anyhow::Result<Losses> {
        let total = self.loss(&x, &y)?;
        Ok(Losses {
            terms: vec![(format!("{}_loss", problem::LOSS), total.detach())],
            total,
            samples: x.size()[0] as usize,
        })
    }
    fn evaluate(&mut self, _logger: &mut Logger, _step: u64) -> anyhow::Result<Metrics> {
        let (value, _) = self.validate()?;
        Ok(Metrics {
            values: vec![(problem::METRIC.to_string(), value)],
            selection: problem::METRIC.to_string(),
            higher_is_better: problem::HIGHER_IS_BETTER,
        })
    }
}
