//! The problem: find the rare positives. Inputs are 8 Gaussian numbers; a sample is positive
//! (about 5%) when a fixed hidden direction scores it above a threshold, with label noise.
//! The loss is the sigmoid focal loss (Lin et al. 2017, torchvision's `sigmoid_focal_loss`,
//! γ = 2, α = 0.25); the metric is the ROC AUC of the scores on held-out samples.

use crate::model::Mlp;
use kit::data::rng_for;
use loss_zoo::focal::sigmoid_focal_loss;
use loss_zoo::Reduction;
use rand::Rng;
use tch::{nn, Tensor};

pub const LOSS: &str = "focal";
pub const METRIC: &str = "auc";
pub const HIGHER_IS_BETTER: bool = true;
pub const FLOOR: kit::app::Floor = kit::app::Floor::AtLeast(0.80);
pub const CHANCE: &str = "0.50 (random scores)";
/// Numbers per sample: inputs, targets; and the network's input and output widths.
pub const INPUT: i64 = 8;
pub const TARGET: i64 = 1;
pub const NET_INPUT: i64 = INPUT;
pub const OUTPUT: i64 = 1;
/// Samples along dimension 0 of the outputs.
pub const BATCH_DIM: i64 = 0;

fn normal(r: &mut impl Rng) -> f32 {
    let (u1, u2): (f32, f32) = (r.random_range(1e-7..1.0), r.random());
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Sample `index` of stream `seed`: (inputs, [label]).
pub fn sample(seed: u64, index: u64) -> (Vec<f32>, Vec<f32>) {
    let r = &mut rng_for(seed, 0xF0C, index);
    let x: Vec<f32> = (0..INPUT).map(|_| normal(r)).collect();
    // A fixed direction (the same for every seed): 1, −1, 1, … / √8, and a threshold of 1.645
    // standard deviations (5% positives) after 0.3 of noise.
    let score: f32 = x
        .iter()
        .enumerate()
        .map(|(i, v)| if i % 2 == 0 { *v } else { -*v })
        .sum::<f32>()
        / (INPUT as f32).sqrt();
    let label = (score + 0.3 * normal(r)) / 1.044 > 1.645;
    (x, vec![f32::from(u8::from(label))])
}

pub fn forward(net: &Mlp, x: &Tensor) -> Tensor {
    net.forward(x)
}

/// The loss side of the model (nothing to learn here).
pub struct Head;

impl Head {
    pub fn new(_p: &nn::Path) -> Self {
        Head
    }

    /// Sigmoid focal loss, γ = 2, α = 0.25, mean over samples.
    pub fn loss(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<Tensor> {
        Ok(sigmoid_focal_loss(
            out,
            y,
            Some(0.25),
            2.0,
            Reduction::Mean,
        )?)
    }

    /// ROC AUC of the scores against the labels.
    pub fn metric(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<f64> {
        let s: Vec<f64> = Vec::try_from(out.flatten(0, -1).to_kind(tch::Kind::Double))?;
        let l: Vec<f32> = Vec::try_from(y.flatten(0, -1))?;
        let l: Vec<bool> = l.iter().map(|&v| v > 0.5).collect();
        anyhow::ensure!(
            l.iter().any(|&v| v) && l.iter().any(|&v| !v),
            "the evaluation set needs positives and negatives for an AUC"
        );
        Ok(metrics::roc_auc(&s, &l))
    }
}

/// What `predict` prints for one output.
pub fn answer(out: &[f32]) -> String {
    let p = 1.0 / (1.0 + (-out[0]).exp());
    format!("p(positive) = {p:.3}")
}
