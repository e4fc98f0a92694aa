//! The typed config of handwriting-ctc (see configs/handwriting-ctc/default.yaml).

use kit::app::AppConfig;
use kit::train::TrainConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data: DataConfig,
    pub model: ModelConfig,
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DecodeConfig {
    /// Prefix beam search width.
    pub beam_width: usize,
}

impl AppConfig for Config {
    fn train(&self) -> &TrainConfig {
        &self.train
    }
    fn train_mut(&mut self) -> &mut TrainConfig {
        &mut self.train
    }
}

impl DataConfig {
    pub fn alphabet(&self) -> Vec<char> {
        self.alphabet.chars().collect()
    }
}
