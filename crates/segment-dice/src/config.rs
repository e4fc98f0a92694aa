//! The typed config of segment-dice (see configs/segment-dice/default.yaml for every key).

use kit::app::AppConfig;
use kit::train::TrainConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data: DataConfig,
    pub model: ModelConfig,
    pub loss: LossConfig,
    pub train: TrainConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `synthetic`, or a folder with images/ and masks/ (plus val/ inside for evaluation).
    pub source: String,
    /// Synthetic slices per epoch and in the validation set.
    pub train_size: usize,
    pub val_size: usize,
    /// Side of the (square) slices; a multiple of 2^depth.
    pub size: u32,
    /// Random horizontal flips of training slices.
    pub hflip: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Channels of the first level; doubled at each level down.
    pub width: i64,
    /// Number of down-sampling steps.
    pub depth: usize,
    /// Output classes, background included (2: background / tumour).
    pub classes: i64,
}

/// Which loss trains the network.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    Dice,
    Ce,
    DiceCe,
    Focal,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LossConfig {
    pub kind: LossKind,
    pub lambda_dice: f64,
    pub lambda_ce: f64,
    /// Focal loss γ and per-class α (background, tumour).
    pub gamma: f64,
    pub alpha: Vec<f64>,
    /// Dice over the whole batch at once (MONAI `batch=True`): stable when slices are empty.
    pub batch_dice: bool,
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
    /// The folder of a real dataset, if `source` is not `synthetic`.
    pub fn folder(&self) -> Option<PathBuf> {
        (self.source != "synthetic").then(|| PathBuf::from(&self.source))
    }
}
