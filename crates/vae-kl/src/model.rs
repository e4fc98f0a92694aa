//! Convolutional VAE for 28×28 images: encoder → (μ, log σ²), reparameterisation
//! z = μ + σ·ε, transposed-conv decoder → pixel logits.

use crate::config::{Likelihood, LossConfig, ModelConfig};
use loss_zoo::kl::gaussian_kl;
use loss_zoo::Reduction;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

#[derive(Debug)]
pub struct Vae {
    enc: nn::Sequential,
    mu: nn::Linear,
    logvar: nn::Linear,
    dec: nn::Sequential,
    pub latent: i64,
}

impl Vae {
    pub fn new(p: &nn::Path, cfg: &ModelConfig) -> Self {
        let (w, h) = (cfg.width, cfg.hidden);
        let down = nn::ConvConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        let enc = nn::seq()
            .add(nn::conv2d(p / "enc1", 1, w, 4, down)) // 28 -> 14
            .add_fn(|x| x.relu())
            .add(nn::conv2d(p / "enc2", w, 2 * w, 4, down)) // 14 -> 7
            .add_fn(|x| x.relu())
            .add_fn(|x| x.flatten(1, -1))
            .add(nn::linear(p / "enc_fc", 2 * w * 49, h, Default::default()))
            .add_fn(|x| x.relu());
        let tconv = nn::ConvTransposeConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        let dec = nn::seq()
            .add(nn::linear(p / "dec_fc1", cfg.latent, h, Default::default()))
            .add_fn(|x| x.relu())
            .add(nn::linear(p / "dec_fc2", h, 2 * w * 49, Default::default()))
            .add_fn(|x| x.relu())
            .add_fn(move |x| x.view([-1, 2 * w, 7, 7]))
            .add(nn::conv_transpose2d(p / "dec1", 2 * w, w, 4, tconv))
            .add_fn(|x| x.relu())
            .add(nn::conv_transpose2d(p / "dec2", w, 1, 4, tconv));
        Self {
            mu: nn::linear(p / "mu", h, cfg.latent, Default::default()),
            logvar: nn::linear(p / "logvar", h, cfg.latent, Default::default()),
            enc,
            dec,
            latent: cfg.latent,
        }
    }

    /// q(z | x): (μ, log σ²), each (N, latent), for images (N, 1, 28, 28) in [0, 1].
    pub fn encode(&self, x: &Tensor) -> (Tensor, Tensor) {
        let h = self.enc.forward(x);
        (h.apply(&self.mu), h.apply(&self.logvar).clamp(-12.0, 8.0))
    }

    /// Pixel logits (N, 1, 28, 28) for latents (N, latent).
    pub fn decode(&self, z: &Tensor) -> Tensor {
        self.dec.forward(z)
    }
}

/// z = μ + σ·ε, ε ~ N(0, I): the sample the gradient flows through.
pub fn reparameterize(mu: &Tensor, logvar: &Tensor) -> Tensor {
    mu + (logvar * 0.5).exp() * Tensor::randn_like(mu)
}

/// −log p(x | z) per image (nats, summed over pixels): Bernoulli (BCE on [0, 1] intensities)
/// or Gaussian with fixed σ around sigmoid(logits).
pub fn reconstruction_nll(logits: &Tensor, x: &Tensor, loss: &LossConfig) -> Tensor {
    let n = x.size()[0];
    match loss.likelihood {
        Likelihood::Bernoulli => logits
            .binary_cross_entropy_with_logits::<Tensor>(x, None, None, tch::Reduction::None)
            .view([n, -1])
            .sum_dim_intlist([1i64].as_slice(), false, Kind::Float),
        Likelihood::Gaussian => {
            let s = loss.sigma;
            let d = (logits.sigmoid() - x).view([n, -1]);
            let pixels = d.size()[1] as f64;
            d.pow_tensor_scalar(2)
                .sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
                / (2.0 * s * s)
                + pixels * (s.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln())
        }
    }
}

/// KL(q(z|x) ‖ N(0, I)) per image and per dimension (N, latent), from `loss_zoo::kl`.
pub fn kl_per_dim(mu: &Tensor, logvar: &Tensor) -> Tensor {
    // gaussian_kl sums over the last axis: with a trailing axis of 1, it stays per dimension.
    gaussian_kl(&mu.unsqueeze(-1), &logvar.unsqueeze(-1), Reduction::None)
        .unwrap_or_else(|_| Tensor::zeros_like(mu))
}

/// The ELBO's parts for a batch: mean reconstruction NLL, mean KL, and the KL term to
/// train with (free bits: each dimension's batch-mean KL below `free_bits` counts as
/// `free_bits`, Kingma et al. 2016).
pub struct ElboParts {
    pub recon: Tensor,
    pub kl: Tensor,
    pub kl_train: Tensor,
    pub mu: Tensor,
    pub logvar: Tensor,
    pub logits: Tensor,
}

/// One stochastic ELBO evaluation.
pub fn elbo_parts(vae: &Vae, x: &Tensor, loss: &LossConfig) -> ElboParts {
    let (mu, logvar) = vae.encode(x);
    let z = reparameterize(&mu, &logvar);
    let logits = vae.decode(&z);
    let recon = reconstruction_nll(&logits, x, loss).mean(Kind::Float);
    let per_dim = kl_per_dim(&mu, &logvar).mean_dim([0i64].as_slice(), false, Kind::Float);
    let kl = per_dim.sum(Kind::Float);
    let kl_train = if loss.free_bits > 0.0 {
        per_dim.clamp_min(loss.free_bits).sum(Kind::Float)
    } else {
        kl.shallow_clone()
    };
    ElboParts {
        recon,
        kl,
        kl_train,
        mu,
        logvar,
        logits,
    }
}
