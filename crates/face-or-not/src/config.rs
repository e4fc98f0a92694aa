//! The typed config of face-or-not (configs/face-or-not/default.yaml documents every key).

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
    pub scan: ScanConfig,
    pub train: TrainConfig,
}

/// Where the pictures come from: the built-in generator, or a folder (ImageFolder classes
/// `face/` and `not_face/`, either as one pool or under `train/ val/ test/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Source {
    Synthetic,
    Folder(PathBuf),
}

impl TryFrom<String> for Source {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.trim() {
            "" => Err("data.source is empty: `synthetic` or a folder".into()),
            "synthetic" => Ok(Source::Synthetic),
            _ => Ok(Source::Folder(PathBuf::from(s))),
        }
    }
}

impl From<Source> for String {
    fn from(s: Source) -> String {
        match s {
            Source::Synthetic => "synthetic".into(),
            Source::Folder(p) => p.to_string_lossy().into_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub source: Source,
    /// k of the stratified k-fold over a pool folder (one fold is test, k ≥ 2).
    pub folds: usize,
    /// The test fold; `null`: train.seed mod folds (so a sweep's seeds 0..k run every fold).
    pub fold: Option<usize>,
    /// Seed of the fold assignment: fixed across runs, so that the folds partition the pool.
    pub split_seed: u64,
    /// Share of each fold's training part held out as validation (stratified).
    pub val_share: f64,
    /// Synthetic pictures added to a folder's training part, as a share of the result
    /// (0 = real only, 0.5 = as many synthetic as real).
    pub synthetic_mix: f64,
    /// Synthetic training / validation / test pictures (source `synthetic`; training ones
    /// also feed `synthetic_mix`).
    pub synthetic_train: usize,
    pub synthetic_val: usize,
    pub synthetic_test: usize,
    /// Random flips, shifts of up to 2 pixels and photometric changes of training pictures.
    pub augment: bool,
    /// A folder of photos with no human face: `negative_crops` random square crops of them
    /// join the training part as non-faces (hard negatives for scanning whole photos).
    #[serde(default)]
    pub negatives: Option<PathBuf>,
    #[serde(default)]
    pub negative_crops: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Channels of the conv-BN-ReLU stages (each followed by 2×2 max pooling).
    pub widths: Vec<i64>,
    /// Dropout before the output layer.
    pub dropout: f64,
}

/// `predict` on a whole photo: a multi-scale sliding window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// Smallest window side in pixels; each next scale is `scale_step` times larger, up to
    /// the photo's shorter side.
    pub min_side: u32,
    pub scale_step: f64,
    /// Window step as a share of its side.
    pub stride: f64,
    /// P(face) at which a window fires.
    pub threshold: f64,
    /// Non-maximum suppression: IoU above which the weaker of two firing windows is dropped.
    pub nms_iou: f64,
}

impl AppConfig for Config {
    kit::train_section!();
    fn data_folder(&self) -> Option<PathBuf> {
        match &self.data.source {
            Source::Folder(p) => Some(p.clone()),
            Source::Synthetic => None,
        }
    }
    fn validate(&self) -> Result<(), InvalidValue> {
        self.data.validate()?;
        let m = &self.model;
        ensure(!m.widths.is_empty(), "model.widths", || {
            "needs at least one stage, e.g. [16, 32, 64]".into()
        })?;
        for w in &m.widths {
            ensure(*w >= 1, "model.widths", || format!("must be ≥ 1, got {w}"))?;
        }
        ensure(m.widths.len() <= 4, "model.widths", || {
            format!(
                "{} stages pool a 25×25 picture below 1×1: at most 4",
                m.widths.len()
            )
        })?;
        ensure((0.0..1.0).contains(&m.dropout), "model.dropout", || {
            format!("must be in [0, 1), got {}", m.dropout)
        })?;
        self.scan.validate()
    }
}

impl DataConfig {
    fn validate(&self) -> Result<(), InvalidValue> {
        ensure(self.folds >= 2, "data.folds", || {
            format!("must be ≥ 2, got {}", self.folds)
        })?;
        if let Some(f) = self.fold {
            ensure(f < self.folds, "data.fold", || {
                format!("must be < data.folds = {}, got {f}", self.folds)
            })?;
        }
        ensure(
            self.val_share > 0.0 && self.val_share < 0.5,
            "data.val_share",
            || format!("must be in (0, 0.5), got {}", self.val_share),
        )?;
        ensure(
            (0.0..0.95).contains(&self.synthetic_mix),
            "data.synthetic_mix",
            || format!("must be in [0, 0.95), got {}", self.synthetic_mix),
        )?;
        for (key, v) in [
            ("data.synthetic_train", self.synthetic_train),
            ("data.synthetic_val", self.synthetic_val),
            ("data.synthetic_test", self.synthetic_test),
        ] {
            ensure(v >= 2, key, || format!("must be ≥ 2, got {v}"))?;
        }
        ensure(
            self.negatives.is_some() || self.negative_crops == 0,
            "data.negative_crops",
            || "needs data.negatives: a folder of photos with no human face".into(),
        )
    }

    /// The test fold of a run seeded `seed`.
    pub fn test_fold(&self, seed: u64) -> usize {
        self.fold.unwrap_or((seed % self.folds as u64) as usize)
    }
}

impl ScanConfig {
    fn validate(&self) -> Result<(), InvalidValue> {
        ensure(self.min_side >= 8, "scan.min_side", || {
            format!("must be ≥ 8 pixels, got {}", self.min_side)
        })?;
        ensure(self.scale_step > 1.0, "scan.scale_step", || {
            format!("must be > 1, got {}", self.scale_step)
        })?;
        ensure(
            self.stride > 0.0 && self.stride <= 1.0,
            "scan.stride",
            || format!("must be in (0, 1], got {}", self.stride),
        )?;
        ensure(
            (0.0..=1.0).contains(&self.threshold),
            "scan.threshold",
            || format!("must be in [0, 1], got {}", self.threshold),
        )?;
        ensure((0.0..=1.0).contains(&self.nms_iou), "scan.nms_iou", || {
            format!("must be in [0, 1], got {}", self.nms_iou)
        })
    }
}
