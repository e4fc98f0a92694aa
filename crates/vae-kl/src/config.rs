//! The typed config of vae-kl (see configs/vae-kl/default.yaml for every key).

use kit::app::AppConfig;
use kit::config::{ensure, InvalidValue};
use kit::train::TrainConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data: DataConfig,
    pub model: ModelConfig,
    pub loss: LossConfig,
    pub eval: EvalConfig,
    pub train: TrainConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `sprites` (procedural, with known factors), `mnist` (after `just data mnist`), or a
    /// folder of PNGs (train/ and test/, optional factors.csv in each).
    pub source: String,
    /// Sprites generated for training and for testing.
    pub train_size: usize,
    pub test_size: usize,
    /// Where `just data mnist` put the converted digits.
    pub mnist_dir: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Latent dimensions (2 gives the manifold picture).
    pub latent: i64,
    /// Channels of the first conv layer (doubled once).
    pub width: i64,
    /// Hidden units of the fully connected layer.
    pub hidden: i64,
}

/// How pixels are modelled given z.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    /// Bernoulli on [0, 1] intensities (BCE; the pytorch/examples choice).
    Bernoulli,
    /// Gaussian with a fixed σ (`loss.sigma`).
    Gaussian,
}

/// How β grows over training (Fu et al. 2019).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Anneal {
    None,
    Linear,
    Cyclical,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LossConfig {
    pub likelihood: Likelihood,
    /// σ of the Gaussian likelihood.
    pub sigma: f64,
    /// Weight of the KL term (β-VAE).
    pub beta: f64,
    pub anneal: Anneal,
    /// Steps of the linear ramp 0 → β (linear), or of one cycle (cyclical: ramp over the first
    /// half, hold β for the second).
    pub anneal_steps: u64,
    /// Free bits: nats per latent dimension below which the KL is not penalised (0 = off).
    pub free_bits: f64,
    /// Weight of a feature-space reconstruction term added to the pixel likelihood (DFC-VAE,
    /// Hou et al. 2017): Σ_layers ‖φ(x̂) − φ(x)‖² / CHW × pixels, in random multi-scale features
    /// of the decoded mean x̂ (0 = off; absent in older configs = 0).
    #[serde(default)]
    pub perceptual_weight: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvalConfig {
    /// Importance samples per image for the IW bound (Burda et al. 2015).
    pub iw_samples: i64,
    /// Test images the IW bound is computed on (a fixed subset; `eval` only).
    pub iw_images: usize,
    /// z draws per image for the ELBO's reconstruction term (the KL is exact).
    pub elbo_samples: i64,
}

impl AppConfig for Config {
    kit::train_section!();
    fn data_folder(&self) -> Option<std::path::PathBuf> {
        kit::app::folder_source(&self.data.source)
    }
    fn validate(&self) -> Result<(), InvalidValue> {
        let (m, l, e, d) = (&self.model, &self.loss, &self.eval, &self.data);
        ensure(m.latent >= 1, "model.latent", || {
            format!("must be ≥ 1, got {}", m.latent)
        })?;
        ensure(m.width >= 1 && m.hidden >= 1, "model.width", || {
            "model.width and model.hidden must be ≥ 1".into()
        })?;
        ensure(l.beta.is_finite() && l.beta >= 0.0, "loss.beta", || {
            format!("must be ≥ 0, got {}", l.beta)
        })?;
        ensure(l.sigma.is_finite() && l.sigma > 0.0, "loss.sigma", || {
            format!("must be > 0, got {}", l.sigma)
        })?;
        ensure(
            l.free_bits.is_finite() && l.free_bits >= 0.0,
            "loss.free_bits",
            || format!("must be ≥ 0, got {}", l.free_bits),
        )?;
        ensure(
            l.perceptual_weight.is_finite() && l.perceptual_weight >= 0.0,
            "loss.perceptual_weight",
            || format!("must be ≥ 0, got {}", l.perceptual_weight),
        )?;
        ensure(
            l.anneal == Anneal::None || l.anneal_steps >= 1,
            "loss.anneal_steps",
            || "must be ≥ 1 when loss.anneal is linear or cyclical".into(),
        )?;
        ensure(e.elbo_samples >= 1, "eval.elbo_samples", || {
            format!("must be ≥ 1, got {}", e.elbo_samples)
        })?;
        ensure(e.iw_samples >= 1, "eval.iw_samples", || {
            format!("must be ≥ 1, got {}", e.iw_samples)
        })?;
        if d.source == "sprites" {
            ensure(d.test_size >= 2, "data.test_size", || {
                format!("must be ≥ 2, got {}", d.test_size)
            })?;
        }
        Ok(())
    }
}

impl LossConfig {
    /// β at `step`: the schedule of `anneal`.
    pub fn beta_at(&self, step: u64) -> f64 {
        let n = self.anneal_steps.max(1) as f64;
        match self.anneal {
            Anneal::None => self.beta,
            Anneal::Linear => self.beta * (step as f64 / n).min(1.0),
            Anneal::Cyclical => {
                let phase = (step % self.anneal_steps.max(1)) as f64 / n;
                self.beta * (2.0 * phase).min(1.0)
            }
        }
    }
}
