//! The example task: 2-D spiral classification with an MLP. It exercises the whole kit
//! (config, loader, loop, logging, checkpoints, resume) and is what the kit's own tests and
//! `just demo` run before any app exists.

use crate::app::AppConfig;
use crate::data::{rng_for, DataError, Dataset, Loader};
use crate::device::upload;
use crate::logging::Logger;
use crate::train::{Losses, Metrics, StepContext, Task, TrainConfig};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

/// Config of the spiral example.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SpiralConfig {
    pub data: SpiralData,
    pub model: SpiralModel,
    pub train: TrainConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SpiralData {
    /// Number of spiral arms (classes).
    pub classes: usize,
    /// Training points per arm (the eval set has a quarter of that).
    pub points_per_class: usize,
    /// Gaussian noise added to each point.
    pub noise: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SpiralModel {
    pub hidden: i64,
    pub layers: usize,
    /// Batch norm after each hidden linear layer (synchronised across data-parallel ranks).
    #[serde(default)]
    pub batch_norm: bool,
    /// Std of Gaussian noise added to each hidden activation while training (a sampling
    /// layer, drawn per global batch in a data-parallel step); 0 = none.
    #[serde(default)]
    pub noise: f64,
}

impl AppConfig for SpiralConfig {
    crate::train_section!();
}

/// Points on `classes` interleaved spiral arms; seeded, generated on the fly.
pub struct Spirals {
    classes: usize,
    per_class: usize,
    noise: f64,
    seed: u64,
}

impl Spirals {
    /// The training points of `data`, drawn with `seed`.
    pub fn new(data: &SpiralData, seed: u64) -> Self {
        Self {
            classes: data.classes,
            per_class: data.points_per_class,
            noise: data.noise,
            seed,
        }
    }
}

impl Dataset for Spirals {
    type Item = ([f32; 2], i64);
    fn len(&self) -> usize {
        self.classes * self.per_class
    }
    fn get(&self, index: usize, _epoch: u64) -> Result<Self::Item, DataError> {
        let class = index % self.classes;
        let mut rng = rng_for(self.seed, 7, index as u64);
        let t: f64 = rng.random_range(0.05..1.0);
        let angle = t * 3.5 * std::f64::consts::PI
            + class as f64 * std::f64::consts::TAU / self.classes as f64;
        let n = |r: &mut rand_chacha::ChaCha8Rng| (r.random::<f64>() - 0.5) * 2.0 * self.noise;
        let x = t * angle.cos() + n(&mut rng);
        let y = t * angle.sin() + n(&mut rng);
        Ok(([x as f32, y as f32], class as i64))
    }
}

type Batch = (Tensor, Tensor);

fn collate(items: Vec<([f32; 2], i64)>) -> Result<Batch, DataError> {
    let xs: Vec<f32> = items.iter().flat_map(|(p, _)| *p).collect();
    let ys: Vec<i64> = items.iter().map(|(_, c)| *c).collect();
    Ok((
        Tensor::from_slice(&xs).view([-1, 2]),
        Tensor::from_slice(&ys),
    ))
}

/// MLP + cross-entropy on spirals.
pub struct SpiralTask {
    vs: nn::VarStore,
    net: nn::SequentialT,
    loader: Loader<Spirals, Batch>,
    eval: Batch,
    device: Device,
}

impl SpiralTask {
    /// The task with validation points (seed + 1) as its evaluation set.
    pub fn new(cfg: &SpiralConfig, device: Device) -> Self {
        Self::with_held_out(cfg, device, 1)
    }

    /// The task evaluated on the held-out points drawn with seed + `offset` (1: validation,
    /// which picks the best checkpoint; 2: test, which only `eval` reads).
    pub fn with_held_out(cfg: &SpiralConfig, device: Device, offset: u64) -> Self {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let mut net = nn::seq_t();
        let mut width = 2;
        for i in 0..cfg.model.layers {
            // No bias before batch norm (it would cancel it; its gradient is rounding noise,
            // which Adam's normalisation blows up to full-size steps).
            let linear = nn::LinearConfig {
                bias: !cfg.model.batch_norm,
                ..Default::default()
            };
            net = net.add(nn::linear(
                &root / format!("fc{i}"),
                width,
                cfg.model.hidden,
                linear,
            ));
            if cfg.model.batch_norm {
                net = net.add(crate::layers::batch_norm1d(
                    &(&root / format!("bn{i}")),
                    cfg.model.hidden,
                ));
            }
            net = net.add_fn(|x| x.relu());
            let noise = cfg.model.noise;
            if noise > 0.0 {
                net = net.add_fn_t(move |x, train| match train {
                    true => {
                        x + crate::distributed::randn_batch(&x.size(), (x.kind(), x.device()))
                            * noise
                    }
                    false => x.shallow_clone(),
                });
            }
            width = cfg.model.hidden;
        }
        net = net.add(nn::linear(
            &root / "out",
            width,
            cfg.data.classes as i64,
            Default::default(),
        ));
        let train = Spirals::new(&cfg.data, cfg.train.seed);
        let held_out = Spirals {
            per_class: (cfg.data.points_per_class / 4).max(1),
            seed: cfg.train.seed.wrapping_add(offset),
            ..train
        };
        let eval_items: Vec<_> = (0..held_out.len())
            .filter_map(|i| held_out.get(i, 0).ok())
            .collect();
        let eval = collate(eval_items).unwrap_or_else(|_| {
            (
                Tensor::zeros([0, 2], (Kind::Float, Device::Cpu)),
                Tensor::zeros([0], (Kind::Int64, Device::Cpu)),
            )
        });
        let mut loader = Loader::training(Arc::new(train), &cfg.train, Arc::new(collate));
        loader.drop_last = false; // keep every point: 19 batches per epoch
        Self {
            vs,
            net,
            loader,
            eval,
            device,
        }
    }

    /// Predicted class of each row of `points` [N, 2].
    pub fn predict(&self, points: &Tensor) -> Tensor {
        self.net
            .forward_t(&points.to_device(self.device), false)
            .argmax(-1, false)
    }
}

impl Task for SpiralTask {
    type Batch = Batch;
    type Data = Spirals;
    crate::task_parts!(vs, loader);
    fn train_step(&mut self, (x, y): Batch, _ctx: &mut StepContext) -> anyhow::Result<Losses> {
        let logits = self.net.forward_t(&upload(&x, self.device), true);
        let y = upload(&y, self.device);
        let loss = logits.cross_entropy_for_logits(&y);
        let acc = logits
            .argmax(-1, false)
            .eq_tensor(&y)
            .to_kind(Kind::Float)
            .mean(Kind::Float);
        Ok(Losses {
            total: loss,
            terms: vec![("accuracy".into(), acc)],
            samples: y.size()[0] as usize,
        })
    }
    fn evaluate(&mut self, _logger: &mut Logger, _step: u64) -> anyhow::Result<Metrics> {
        let (x, y) = &self.eval;
        let logits = self.net.forward_t(&x.to_device(self.device), false);
        let y = y.to_device(self.device);
        let loss = logits.cross_entropy_for_logits(&y).double_value(&[]);
        let acc = logits
            .argmax(-1, false)
            .eq_tensor(&y)
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[]);
        Ok(Metrics {
            values: vec![("accuracy".into(), acc), ("loss".into(), loss)],
            selection: "accuracy".into(),
            higher_is_better: true,
        })
    }
}
