//! The typed config of __NAME__ (configs/__NAME__/default.yaml documents every key).

use kit::app::AppConfig;
use kit::config::{ensure, InvalidValue};
use kit::train::TrainConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data: DataConfig,
    pub model: ModelConfig,
    pub train: TrainConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `synthetic`, or a folder with train.csv, val.csv and test.csv (what `synth` writes).
    pub source: String,
    /// Synthetic samples for training, validation and test (disjoint seeded streams).
    pub train_size: usize,
    pub val_size: usize,
    pub test_size: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Hidden units per layer of the MLP, and its hidden layers.
    pub width: i64,
    pub depth: usize,
}

impl AppConfig for Config {
    kit::train_section!();
    fn validate(&self) -> Result<(), InvalidValue> {
        let (d, m) = (&self.data, &self.model);
        for (key, v) in [
            ("data.train_size", d.train_size),
            ("data.val_size", d.val_size),
            ("data.test_size", d.test_size),
            ("model.depth", m.depth),
        ] {
            ensure(v >= 1, key, || format!("must be ≥ 1, got {v}"))?;
        }
        ensure(m.width >= 1, "model.width", || {
            format!("must be ≥ 1, got {}", m.width)
        })
    }
}

impl DataConfig {
    /// The folder of a real dataset, if `source` is not `synthetic`.
    pub fn folder(&self) -> Option<PathBuf> {
        (self.source != "synthetic").then(|| PathBuf::from(&self.source))
    }
}
