//! The problem: tell 20 classes apart by the angle of their embeddings. Inputs are 16 numbers:
//! a class's fixed centre plus Gaussian noise. The network embeds them in 8 dimensions and the
//! ArcFace head (Deng et al. 2019, insightface's `CombinedMarginLoss`: s = 16, m = 0.3) adds an
//! angular margin to the target class before cross-entropy. The metric is the accuracy of the
//! nearest class centre by cosine on held-out samples.

use crate::model::Mlp;
use kit::data::rng_for;
use loss_zoo::arcface::{ArcFaceHead, MarginConfig};
use rand::Rng;
use tch::{nn, Kind, Tensor};

pub const LOSS: &str = "arcface";
pub const METRIC: &str = "accuracy";
pub const HIGHER_IS_BETTER: bool = true;
pub const FLOOR: kit::app::Floor = kit::app::Floor::AtLeast(0.80);
pub const CHANCE: &str = "0.05 (1 / 20 classes)";
const CLASSES: i64 = 20;
const EMBEDDING: i64 = 8;
pub const INPUT: i64 = 16;
pub const TARGET: i64 = 1;
pub const NET_INPUT: i64 = INPUT;
pub const OUTPUT: i64 = EMBEDDING;
/// Samples along dimension 0 of the outputs.
pub const BATCH_DIM: i64 = 0;

fn normal(r: &mut impl Rng) -> f32 {
    let (u1, u2): (f32, f32) = (r.random_range(1e-7..1.0), r.random());
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Sample `index` of stream `seed`: (centre of its class + noise, [class]).
pub fn sample(seed: u64, index: u64) -> (Vec<f32>, Vec<f32>) {
    let r = &mut rng_for(seed, 0xA4C, index);
    let class = r.random_range(0..CLASSES as u64);
    // Class centres are fixed (the same for every seed): stream 0 of the generator.
    let c = &mut rng_for(0, 0xCE7, class);
    let x = (0..INPUT).map(|_| normal(c) + 0.8 * normal(r)).collect();
    (x, vec![class as f32])
}

pub fn forward(net: &Mlp, x: &Tensor) -> Tensor {
    net.forward(x)
}

/// The class centres of the ArcFace head.
pub struct Head {
    arc: ArcFaceHead,
}

impl Head {
    pub fn new(p: &nn::Path) -> Self {
        let margin = MarginConfig {
            s: 16.0,
            m2: 0.3,
            ..MarginConfig::arcface()
        };
        Self {
            arc: ArcFaceHead::new(&(p / "arcface"), EMBEDDING, CLASSES, margin),
        }
    }

    pub fn loss(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<Tensor> {
        let labels = y.squeeze_dim(1).to_kind(Kind::Int64);
        let logits = self.arc.forward(out, &labels)?;
        Ok(logits.cross_entropy_for_logits(&labels))
    }

    /// Share of samples whose nearest centre (by cosine) is their class.
    pub fn metric(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<f64> {
        let pred = self
            .arc
            .cosine(&out.to_device(self.arc.weight.device()))
            .argmax(1, false);
        let labels = y
            .squeeze_dim(1)
            .to_kind(Kind::Int64)
            .to_device(pred.device());
        Ok(pred
            .eq_tensor(&labels)
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[]))
    }
}

pub fn answer(out: &[f32]) -> String {
    let norm = out.iter().map(|v| v * v).sum::<f32>().sqrt();
    format!("embedding of norm {norm:.3} (compare embeddings by cosine)")
}
