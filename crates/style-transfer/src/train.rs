//! The feed-forward stylizer in kit's loop (Johnson et al. 2016): the transformer's output is
//! scored by the perceptual objective (content + Gram style + TV) in the training feature
//! network; validation scores the validation content the same way and shows
//! content | style | result.

use crate::config::Config;
use crate::data::{collate, Item, Source};
use crate::features::{objective, Objective};
use crate::model::Transformer;
use image::RgbImage;
use kit::data::Loader;
use kit::device::upload;
use kit::logging::Logger;
use kit::train::{Losses, Metrics, StepContext, Task};
use std::sync::Arc;
use tch::{nn, Device, Tensor};

pub struct StyleTask {
    pub vs: nn::VarStore,
    pub net: Transformer,
    /// The perceptual objective and the style picture (1, 3, S, S) in [0, 1]; `None` for
    /// `predict`, which needs the transformer alone (a run folder is enough).
    pub objective: Option<(Objective, Tensor)>,
    train: Loader<Source, Tensor>,
    /// Validation content in memory (or the test content, for `eval`).
    pub held_out: Vec<Item>,
    pub device: Device,
}

impl StyleTask {
    pub fn new(
        cfg: &Config,
        device: Device,
        train: Source,
        held_out: Vec<Item>,
        with_objective: bool,
    ) -> anyhow::Result<Self> {
        let objective = if with_objective {
            Some(objective(
                cfg,
                &cfg.features,
                "features",
                device,
                cfg.data.size,
            )?)
        } else {
            None
        };
        let vs = nn::VarStore::new(device);
        let net = Transformer::new(&vs.root(), &cfg.model);
        let train = Loader::training(Arc::new(train), &cfg.train, Arc::new(collate));
        Ok(Self {
            vs,
            net,
            objective,
            train,
            held_out,
            device,
        })
    }

    /// Stylised held-out content in batches of 8: (contents, results), each (N, 3, S, S).
    pub fn stylise_held_out(&self) -> anyhow::Result<(Tensor, Tensor)> {
        let x = collate(self.held_out.clone())?.to_device(self.device);
        let y: Vec<Tensor> = x.split(8, 0).iter().map(|b| self.net.forward(b)).collect();
        Ok((x, Tensor::cat(&y, 0)))
    }

    /// The objective, or an error for a task built without one.
    pub fn objective(&self) -> anyhow::Result<&(Objective, Tensor)> {
        self.objective.as_ref().ok_or_else(|| {
            anyhow::anyhow!("this task was built for predict, without its objective")
        })
    }

    /// Rows of content | style | result for the first `n` held-out pictures.
    pub fn grid(&self, style: &Tensor, x: &Tensor, y: &Tensor, n: i64) -> RgbImage {
        let style = kit::images::tensor_to_rgb(&style.get(0));
        let mut pics = Vec::new();
        for i in 0..n.min(x.size()[0]) {
            pics.push(kit::images::tensor_to_rgb(&x.get(i)));
            pics.push(style.clone());
            pics.push(kit::images::tensor_to_rgb(&y.get(i)));
        }
        kit::images::grid(&pics, 3)
    }
}

impl Task for StyleTask {
    type Batch = Tensor;
    type Data = Source;
    kit::task_parts!(vs, train);
    fn train_step(&mut self, x: Tensor, _ctx: &mut StepContext) -> anyhow::Result<Losses> {
        let x = upload(&x, self.device);
        let y = self.net.forward(&x);
        let t = self.objective()?.0.terms(&y, &x)?;
        Ok(Losses {
            total: t.total,
            terms: vec![
                ("content".into(), t.content.detach()),
                ("style".into(), t.style.detach()),
                ("tv".into(), t.tv.detach()),
            ],
            samples: x.size()[0] as usize,
        })
    }
    fn evaluate(&mut self, logger: &mut Logger, step: u64) -> anyhow::Result<Metrics> {
        let (x, y) = tch::no_grad(|| self.stylise_held_out())?;
        let (objective, style) = self.objective()?;
        let t = tch::no_grad(|| objective.terms(&y, &x))?;
        let unchanged = tch::no_grad(|| objective.terms(&x, &x))?;
        let ratio = t.style.double_value(&[]) / unchanged.style.double_value(&[]).max(1e-12);
        logger.tb.image(
            "val/content | style | result",
            step as i64,
            &self.grid(style, &x, &y, 4),
        )?;
        Ok(Metrics {
            values: vec![
                ("loss".into(), t.total.double_value(&[])),
                ("content".into(), t.content.double_value(&[])),
                ("style".into(), t.style.double_value(&[])),
                ("tv".into(), t.tv.double_value(&[])),
                // The style loss of the results over that of the unchanged content: < 1 is a
                // measured improvement over doing nothing.
                ("style_ratio".into(), ratio),
            ],
            selection: "loss".into(),
            higher_is_better: false,
        })
    }
}
