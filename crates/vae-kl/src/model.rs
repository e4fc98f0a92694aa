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

/// z = μ + σ·ε, ε ~ N(0, I): the sample the gradient flows through (in a data-parallel step,
/// ε is this rank's slice of the global batch's draw).
pub fn reparameterize(mu: &Tensor, logvar: &Tensor) -> Tensor {
    mu + (logvar * 0.5).exp() * kit::distributed::randn_batch(&mu.size(), (mu.kind(), mu.device()))
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

/// The random multi-scale features the perceptual term is measured in (3, 5 and 7-pixel
/// filters, 32 each, over the one grey channel): drawn from torch's generator whether or not
/// the term is on, so runs with and without it see the same random numbers afterwards.
pub fn perceptual_features(device: tch::Device) -> loss_zoo::perceptual::RandomMultiScale {
    loss_zoo::perceptual::RandomMultiScale::new(1, 32, &[3, 5, 7], device)
}

/// The perceptual reconstruction term: Σ_layers feature_loss(φ(σ(logits)), φ(x)) × pixels, so
/// that a weight of 1 is on the scale of the summed pixel NLL (nats per image).
pub fn perceptual_term(
    features: &loss_zoo::perceptual::RandomMultiScale,
    logits: &Tensor,
    x: &Tensor,
) -> anyhow::Result<Tensor> {
    use loss_zoo::perceptual::{feature_loss, FeatureExtractor};
    let layers: Vec<usize> = (0..features.layer_names().len()).collect();
    let target = tch::no_grad(|| features.features(x, &layers));
    let got = features.features(&logits.sigmoid(), &layers);
    let pixels = (x.size()[1..].iter().product::<i64>()) as f64;
    let mut terms = Vec::new();
    for (a, b) in got.iter().zip(&target) {
        terms.push(feature_loss(a, b)?);
    }
    Ok(Tensor::stack(&terms, 0).sum(Kind::Float) * pixels)
}

/// Sharpness of pictures (N, C, H, W): the mean squared response to the 3×3 Laplacian, i.e. the
/// energy at the highest spatial frequencies (blurry reconstructions have little).
pub fn laplacian_energy(x: &Tensor) -> f64 {
    let k = Tensor::from_slice(&[0.0f32, 1.0, 0.0, 1.0, -4.0, 1.0, 0.0, 1.0, 0.0])
        .view([1, 1, 3, 3])
        .to_device(x.device());
    let c = x.size()[1];
    let k = k.repeat([c, 1, 1, 1]);
    x.conv2d(&k, None::<Tensor>, [1, 1], [0, 0], [1, 1], c)
        .square()
        .mean(Kind::Float)
        .double_value(&[])
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
