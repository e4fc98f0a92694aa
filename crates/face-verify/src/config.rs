//! The typed config of face-verify (see configs/face-verify/default.yaml).

use kit::app::AppConfig;
use kit::config::{ensure, InvalidValue};
use kit::train::TrainConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data: DataConfig,
    pub model: ModelConfig,
    pub head: HeadConfig,
    pub train: TrainConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `synthetic`, or a folder with `train/<identity>/*.png` and `pairs.txt`.
    pub source: String,
    /// Synthetic identities seen in training, and images of each.
    pub train_identities: usize,
    pub images_per_identity: usize,
    /// Synthetic identities never seen in training, used for verification pairs.
    pub test_identities: usize,
    /// Verification pairs (half same person, half different).
    pub pairs: usize,
    /// Image side in pixels.
    pub size: u32,
    /// Strength of pose / lighting / expression / blur / noise / occlusion (0 = none).
    pub nuisance: f32,
    /// Share of each trait's range identities are drawn from (1 = all; 0.5 = the middle half:
    /// look-alike people, a harder verification task).
    #[serde(default = "one")]
    pub spread: f32,
}

fn one() -> f32 {
    1.0
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Channels of the first stage (doubled at each of the 4 stages).
    pub width: i64,
    /// Residual blocks per stage.
    pub blocks: usize,
    /// Embedding dimension.
    pub embedding: i64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    /// Additive angular margin s·cos(θ + m).
    Arcface,
    /// Additive cosine margin s·(cos θ − m).
    Cosface,
    /// Plain linear layer + cross-entropy: the baseline.
    Softmax,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HeadConfig {
    pub kind: HeadKind,
    /// Logit scale s.
    pub s: f64,
    /// Margin m (angular for arcface, cosine for cosface).
    pub m: f64,
}

impl AppConfig for Config {
    const AUTOCAST: bool = true;
    kit::train_section!();
    fn data_folder(&self) -> Option<std::path::PathBuf> {
        kit::app::folder_source(&self.data.source)
    }
    fn validate(&self) -> Result<(), InvalidValue> {
        let (d, h) = (&self.data, &self.head);
        ensure(h.s.is_finite() && h.s > 0.0, "head.s", || {
            format!("must be > 0, got {}", h.s)
        })?;
        ensure(h.m.is_finite() && h.m >= 0.0, "head.m", || {
            format!("must be ≥ 0, got {}", h.m)
        })?;
        ensure(d.spread > 0.0 && d.spread <= 1.0, "data.spread", || {
            format!("must lie in (0, 1], got {}", d.spread)
        })?;
        if d.source == "synthetic" {
            ensure(d.train_identities >= 2, "data.train_identities", || {
                format!(
                    "must be ≥ 2 (a classifier needs two classes), got {}",
                    d.train_identities
                )
            })?;
            ensure(d.test_identities >= 2, "data.test_identities", || {
                format!(
                    "must be ≥ 2 (impostor pairs need two people), got {}",
                    d.test_identities
                )
            })?;
            ensure(
                d.images_per_identity >= 2,
                "data.images_per_identity",
                || {
                    format!(
                        "must be ≥ 2 (genuine pairs need two images), got {}",
                        d.images_per_identity
                    )
                },
            )?;
        }
        ensure(d.pairs >= 2, "data.pairs", || {
            format!("must be ≥ 2, got {}", d.pairs)
        })
    }
}
