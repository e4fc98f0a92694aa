//! The problem: mark the bumps of a 1-D signal. Each sample is 32 noisy values with one or two
//! raised stretches (the "tumours": about 15% of the positions); the target marks them. The
//! loss is the soft Dice loss over the foreground (MONAI's `DiceLoss`: softmax, one-hot
//! targets, background excluded); the metric is the mean Dice of the thresholded mask.

use crate::model::Mlp;
use kit::data::rng_for;
use loss_zoo::dice::{dice_loss, DiceOptions};
use rand::Rng;
use tch::{nn, Kind, Tensor};

pub const LOSS: &str = "dice";
pub const METRIC: &str = "dice";
pub const HIGHER_IS_BETTER: bool = true;
pub const FLOOR: kit::app::Floor = kit::app::Floor::AtLeast(0.60);
pub const CHANCE: &str = "0.00 (all background)";
const LEN: i64 = 32;
pub const INPUT: i64 = LEN;
pub const TARGET: i64 = LEN;
pub const NET_INPUT: i64 = INPUT;
/// Two logits (background, foreground) per position.
pub const OUTPUT: i64 = 2 * LEN;
/// Samples along dimension 0 of the outputs.
pub const BATCH_DIM: i64 = 0;

/// Sample `index` of stream `seed`: (signal, mask).
pub fn sample(seed: u64, index: u64) -> (Vec<f32>, Vec<f32>) {
    let r = &mut rng_for(seed, 0xD1C, index);
    let mut mask = vec![0.0f32; LEN as usize];
    for _ in 0..r.random_range(1..=2) {
        let w = r.random_range(2..6usize);
        let at = r.random_range(0..LEN as usize - w);
        mask[at..at + w].iter_mut().for_each(|m| *m = 1.0);
    }
    let x = mask
        .iter()
        .map(|&m| m * 0.8 + r.random_range(-0.5..0.5f32))
        .collect();
    (x, mask)
}

pub fn forward(net: &Mlp, x: &Tensor) -> Tensor {
    net.forward(x).view([-1, 2, LEN])
}

pub struct Head;

impl Head {
    pub fn new(_p: &nn::Path) -> Self {
        Head
    }

    pub fn loss(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<Tensor> {
        let opts = DiceOptions {
            softmax: true,
            to_onehot_y: true,
            include_background: false,
            ..Default::default()
        };
        Ok(dice_loss(out, &y.to_kind(Kind::Int64).unsqueeze(1), &opts)?)
    }

    /// Mean over samples of 2|P∩T| / (|P| + |T|), P = positions whose foreground wins.
    pub fn metric(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<f64> {
        let pred = out.argmax(1, false).to_kind(Kind::Float);
        let inter = (&pred * y).sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
        let total = pred.sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
            + y.sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
        let dice = (inter * 2.0 / total.clamp_min(1e-9)).mean(Kind::Float);
        Ok(dice.double_value(&[]))
    }
}

pub fn answer(out: &[f32]) -> String {
    let marks: String = (0..LEN as usize)
        .map(|i| {
            if out[LEN as usize + i] > out[i] {
                '#'
            } else {
                '.'
            }
        })
        .collect();
    format!("mask {marks}")
}
