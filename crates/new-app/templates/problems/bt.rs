//! The problem: learn a reward from preferences. A sample is a pair of 8-D responses (a, b)
//! and whether a was preferred, drawn from a Bradley–Terry model of a hidden reward
//! r(x) = Σ sin(xᵢ)·wᵢ. The network scores each response; the loss is the Bradley–Terry
//! negative log-likelihood −log σ(r_chosen − r_rejected) (TRL's `RewardTrainer`); the metric
//! is the share of held-out pairs whose preferred response scores higher.

use crate::model::Mlp;
use kit::data::rng_for;
use loss_zoo::preference::{bradley_terry_loss, preference_accuracy};
use rand::Rng;
use tch::{nn, Kind, Tensor};

pub const LOSS: &str = "bt";
pub const METRIC: &str = "pair_accuracy";
pub const HIGHER_IS_BETTER: bool = true;
pub const FLOOR: kit::app::Floor = kit::app::Floor::AtLeast(0.70);
pub const CHANCE: &str = "0.50 (coin flip)";
const DIM: i64 = 8;
/// a then b.
pub const INPUT: i64 = 2 * DIM;
/// 1 when a was preferred.
pub const TARGET: i64 = 1;
/// One response at a time.
pub const NET_INPUT: i64 = DIM;
pub const OUTPUT: i64 = 1;
/// Samples along dimension 0 of the outputs.
pub const BATCH_DIM: i64 = 0;

fn reward(x: &[f32]) -> f32 {
    x.iter()
        .enumerate()
        .map(|(i, v)| v.sin() * (1.0 + i as f32) / DIM as f32)
        .sum()
}

/// Sample `index` of stream `seed`: (a ++ b, [a preferred]).
pub fn sample(seed: u64, index: u64) -> (Vec<f32>, Vec<f32>) {
    let r = &mut rng_for(seed, 0xB7B, index);
    let x: Vec<f32> = (0..INPUT).map(|_| r.random_range(-2.0..2.0f32)).collect();
    let gap = 4.0 * (reward(&x[..DIM as usize]) - reward(&x[DIM as usize..]));
    let a_wins = r.random::<f32>() < 1.0 / (1.0 + (-gap).exp());
    (x, vec![f32::from(u8::from(a_wins))])
}

/// Rewards of a and b: (N, 2).
pub fn forward(net: &Mlp, x: &Tensor) -> Tensor {
    let n = x.size()[0];
    net.forward(&x.view([n * 2, DIM])).view([n, 2])
}

pub struct Head;

fn chosen_rejected(out: &Tensor, y: &Tensor) -> (Tensor, Tensor) {
    let a_wins = y.squeeze_dim(1).gt(0.5);
    let (ra, rb) = (out.select(1, 0), out.select(1, 1));
    (ra.where_self(&a_wins, &rb), rb.where_self(&a_wins, &ra))
}

impl Head {
    pub fn new(_p: &nn::Path) -> Self {
        Head
    }

    pub fn loss(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<Tensor> {
        let (c, r) = chosen_rejected(out, &y.to_device(out.device()));
        Ok(bradley_terry_loss(&c, &r, None, None)?)
    }

    pub fn metric(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<f64> {
        let (c, r) = chosen_rejected(&out.to_kind(Kind::Float), y);
        Ok(preference_accuracy(&c, &r)?)
    }
}

pub fn answer(out: &[f32]) -> String {
    format!(
        "reward(a) = {:.3}, reward(b) = {:.3}: {} preferred",
        out[0],
        out[1],
        if out[0] >= out[1] { "a" } else { "b" }
    )
}
