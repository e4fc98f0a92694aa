//! The lecture's figures, each computed by calling the loss functions of `loss-zoo` (values from
//! the losses, gradients by autograd), so every picture is also a check that the code behaves as
//! the lecture says. `figures` (the binary) writes them to `docs/figures/`; the tests check a
//! few plotted numbers against the losses.

pub mod classification;
pub mod distributions;
pub mod sequences;

use image::RgbImage;

/// One figure: its file name, the picture, a caption, and the numbers it rests on.
pub struct Figure {
    /// File stem under docs/figures/.
    pub name: &'static str,
    pub image: RgbImage,
    pub caption: String,
    /// Named values the figure plots (checked by the tests, printed by the binary).
    pub numbers: Vec<(String, f64)>,
}

impl Figure {
    /// A named number of the figure.
    pub fn number(&self, name: &str) -> Option<f64> {
        self.numbers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
    }
}

/// Every figure, in the lecture's order.
pub fn all() -> anyhow::Result<Vec<Figure>> {
    Ok(vec![
        classification::focal()?,
        classification::focal_share()?,
        classification::margins()?,
        sequences::ctc_lattice()?,
        sequences::chamfer_links()?,
        classification::dice_vs_ce()?,
        distributions::kl_directions()?,
        distributions::bradley_terry()?,
    ])
}

/// `n` evenly spaced values from `a` to `b` inclusive.
pub fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n.max(2) - 1) as f64)
        .collect()
}

/// A float64 CPU tensor from a slice.
pub fn t64(v: &[f64]) -> tch::Tensor {
    tch::Tensor::from_slice(v)
}
