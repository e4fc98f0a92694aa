//! The typed config of handwriting-ctc (see configs/handwriting-ctc/default.yaml).

use kit::app::AppConfig;
use kit::config::{ensure, InvalidValue};
use kit::train::TrainConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data: DataConfig,
    pub model: ModelConfig,
    /// `ctc` unless set (run folders from before the key existed).
    #[serde(default)]
    pub loss: LossConfig,
    pub decode: DecodeConfig,
    pub train: TrainConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `synthetic`, `mnist` (digit strings from real MNIST digits in data/mnist, after
    /// `just data mnist`), or a folder with train/labels.tsv and val/labels.tsv.
    pub source: String,
    /// Characters the model reads (blank is added as class 0).
    pub alphabet: String,
    /// Label length range of generated strings.
    pub min_len: usize,
    pub max_len: usize,
    /// Generated training strings per epoch and validation strings.
    pub train_size: usize,
    pub val_size: usize,
    /// Where `just data mnist` put the converted digits.
    pub mnist_dir: String,
    /// Ink of folder images: `light` (on a dark background, as the synthetic and MNIST lines),
    /// `dark` (on light paper, as scans: inverted), or `auto` (per image: inverted when its
    /// mean brightness is above half, i.e. mostly light paper).
    #[serde(default)]
    pub ink: Ink,
}

/// Polarity of the ink in real images; the model reads light ink on a dark background.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Ink {
    #[default]
    Auto,
    Light,
    Dark,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Channels of the four conv blocks.
    pub channels: [i64; 4],
    /// Hidden size of each GRU direction.
    pub hidden: i64,
    /// Stacked bidirectional GRU layers.
    pub layers: i64,
}

/// What trains the network.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// CTC: sums over every alignment of the label to the frames.
    #[default]
    Ctc,
    /// The baseline that needs an alignment: per-frame cross-entropy against a naive uniform
    /// segmentation of the label over the frames ([`crate::train::uniform_alignment`]).
    FramewiseCe,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LossConfig {
    pub kind: LossKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DecodeConfig {
    /// Prefix beam search width.
    pub beam_width: usize,
}

impl AppConfig for Config {
    kit::train_section!();
    fn data_folder(&self) -> Option<std::path::PathBuf> {
        kit::app::folder_source(&self.data.source)
    }
    fn validate(&self) -> Result<(), InvalidValue> {
        let d = &self.data;
        ensure(!d.alphabet.is_empty(), "data.alphabet", || {
            "must hold at least one character".into()
        })?;
        ensure(
            d.alphabet
                .chars()
                .collect::<std::collections::HashSet<_>>()
                .len()
                == d.alphabet.chars().count(),
            "data.alphabet",
            || format!("has a repeated character: {:?}", d.alphabet),
        )?;
        ensure(
            d.min_len >= 1 && d.min_len <= d.max_len,
            "data.min_len",
            || {
                format!(
                    "needs 1 ≤ data.min_len ≤ data.max_len ({}), got {}",
                    d.max_len, d.min_len
                )
            },
        )?;
        ensure(self.decode.beam_width >= 1, "decode.beam_width", || {
            format!("must be ≥ 1, got {}", self.decode.beam_width)
        })?;
        if d.source == "synthetic" || d.source == "mnist" {
            ensure(d.val_size >= 1, "data.val_size", || {
                "must be ≥ 1 (an empty validation set scores CER 0)".into()
            })?;
        }
        Ok(())
    }
}

impl DataConfig {
    pub fn alphabet(&self) -> Vec<char> {
        self.alphabet.chars().collect()
    }
}
