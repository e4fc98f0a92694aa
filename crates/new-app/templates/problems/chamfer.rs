//! The problem: draw a circle as 16 points from its centre and radius. A sample's input is
//! (cx, cy, r) and its target 16 points on that circle at random angles, in no order; the
//! network outputs 16 points. The loss is the Chamfer distance (pytorch3d's
//! `chamfer_distance`: mean squared nearest-neighbour distance both ways), which does not care
//! about the order; the metric is the same distance on held-out circles (×100).

use crate::model::Mlp;
use kit::data::rng_for;
use loss_zoo::chamfer::{chamfer_distance, ChamferOptions};
use rand::Rng;
use tch::{nn, Tensor};

pub const LOSS: &str = "chamfer";
pub const METRIC: &str = "chamfer_x100";
pub const HIGHER_IS_BETTER: bool = false;
pub const FLOOR: kit::app::Floor = kit::app::Floor::AtMost(1.0);
pub const CHANCE: &str = "the mean circle's points";
const POINTS: i64 = 16;
pub const INPUT: i64 = 3;
pub const TARGET: i64 = 2 * POINTS;
pub const NET_INPUT: i64 = INPUT;
pub const OUTPUT: i64 = 2 * POINTS;
/// Samples along dimension 0 of the outputs.
pub const BATCH_DIM: i64 = 0;

/// Sample `index` of stream `seed`: ([cx, cy, r], 16 points as x0, y0, x1, y1, …).
pub fn sample(seed: u64, index: u64) -> (Vec<f32>, Vec<f32>) {
    let r = &mut rng_for(seed, 0xC4A, index);
    let (cx, cy, rad) = (
        r.random_range(-0.5..0.5f32),
        r.random_range(-0.5..0.5f32),
        r.random_range(0.1..0.5f32),
    );
    let y = (0..POINTS)
        .flat_map(|_| {
            let a = r.random_range(0.0..std::f32::consts::TAU);
            [cx + rad * a.cos(), cy + rad * a.sin()]
        })
        .collect();
    (vec![cx, cy, rad], y)
}

pub fn forward(net: &Mlp, x: &Tensor) -> Tensor {
    net.forward(x).view([-1, POINTS, 2])
}

pub struct Head;

impl Head {
    pub fn new(_p: &nn::Path) -> Self {
        Head
    }

    pub fn loss(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<Tensor> {
        let truth = y.view([-1, POINTS, 2]);
        Ok(chamfer_distance(
            out,
            &truth,
            None,
            None,
            &ChamferOptions::default(),
        )?)
    }

    pub fn metric(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<f64> {
        Ok(100.0 * self.loss(out, y)?.double_value(&[]))
    }
}

pub fn answer(out: &[f32]) -> String {
    let pts: Vec<String> = out
        .chunks(2)
        .take(4)
        .map(|p| format!("({:.2}, {:.2})", p[0], p[1]))
        .collect();
    format!("points {} …", pts.join(" "))
}
