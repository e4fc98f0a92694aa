//! The problem: learn a 2-D latent space of 8-D data. Samples are x = A·z + noise for a fixed
//! A and z ~ N(0, I₂). The encoder (the network) gives q(z|x) = N(μ, σ²); a linear decoder
//! gives p(x|z) = N(Wz + b, 0.1² I). The loss is the negative ELBO: reconstruction −log p(x|z)
//! with one reparameterised z, plus KL(q(z|x) ‖ N(0, I)) in closed form (loss-zoo's
//! `gaussian_kl`); the metric is the −ELBO in nats per sample on held-out data, z = μ.

use crate::model::Mlp;
use kit::data::rng_for;
use loss_zoo::kl::gaussian_kl;
use loss_zoo::Reduction;
use rand::Rng;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

pub const LOSS: &str = "kl";
pub const METRIC: &str = "neg_elbo";
pub const HIGHER_IS_BETTER: bool = false;
pub const FLOOR: kit::app::Floor = kit::app::Floor::AtMost(20.0);
pub const CHANCE: &str = "the untrained model's −ELBO";
const LATENT: i64 = 2;
const SIGMA: f64 = 0.1;
pub const INPUT: i64 = 8;
/// The target is the input itself.
pub const TARGET: i64 = INPUT;
pub const NET_INPUT: i64 = INPUT;
/// μ and log σ² of q(z|x).
pub const OUTPUT: i64 = 2 * LATENT;
/// Samples along dimension 0 of the outputs.
pub const BATCH_DIM: i64 = 0;

fn normal(r: &mut impl Rng) -> f32 {
    let (u1, u2): (f32, f32) = (r.random_range(1e-7..1.0), r.random());
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Sample `index` of stream `seed`: (x, x).
pub fn sample(seed: u64, index: u64) -> (Vec<f32>, Vec<f32>) {
    let r = &mut rng_for(seed, 0x4B1, index);
    let z = [normal(r), normal(r)];
    // A fixed mixing matrix (the same for every seed).
    let a = &mut rng_for(0, 0xA11, 0);
    let x: Vec<f32> = (0..INPUT)
        .map(|_| normal(a) * z[0] + normal(a) * z[1] + SIGMA as f32 * normal(r))
        .collect();
    (x.clone(), x)
}

pub fn forward(net: &Mlp, x: &Tensor) -> Tensor {
    net.forward(x)
}

/// The decoder p(x|z).
pub struct Head {
    decoder: nn::Linear,
}

impl Head {
    pub fn new(p: &nn::Path) -> Self {
        Self {
            decoder: nn::linear(p / "decoder", LATENT, INPUT, Default::default()),
        }
    }

    /// Per sample: −log N(x; Wz + b, σ²I) and KL, z = μ + σ_q·ε (or μ when `sample` is off).
    fn terms(&self, out: &Tensor, x: &Tensor, sample: bool) -> anyhow::Result<(Tensor, Tensor)> {
        let (mu, logvar) = (out.narrow(1, 0, LATENT), out.narrow(1, LATENT, LATENT));
        let z = if sample {
            &mu + (&logvar * 0.5).exp() * mu.randn_like()
        } else {
            mu.shallow_clone()
        };
        let err = (self.decoder.forward(&z) - x).pow_tensor_scalar(2);
        let nll = err.sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
            / (2.0 * SIGMA * SIGMA)
            + INPUT as f64 * (SIGMA * (2.0 * std::f64::consts::PI).sqrt()).ln();
        Ok((nll, gaussian_kl(&mu, &logvar, Reduction::None)?))
    }

    pub fn loss(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<Tensor> {
        let (nll, kl) = self.terms(out, y, true)?;
        Ok((nll + kl).mean(Kind::Float))
    }

    pub fn metric(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<f64> {
        let dev = self.decoder.ws.device();
        let (nll, kl) = self.terms(&out.to_device(dev), &y.to_device(dev), false)?;
        Ok((nll + kl).mean(Kind::Float).double_value(&[]))
    }
}

pub fn answer(out: &[f32]) -> String {
    format!(
        "q(z|x): μ = ({:.3}, {:.3}), σ = ({:.3}, {:.3})",
        out[0],
        out[1],
        (out[2] / 2.0).exp(),
        (out[3] / 2.0).exp()
    )
}
