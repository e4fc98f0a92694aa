//! The typed config of segment-dice (see configs/segment-dice/default.yaml for every key).

use kit::app::AppConfig;
use kit::config::{ensure, InvalidValue};
use kit::train::TrainConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    /// Mean share of tumour pixels over all synthetic slices (0.001 = 0.1%); `null`: 0.05–2%
    /// per tumour slice (≈ 0.37% of all pixels).
    #[serde(default)]
    pub tumour_fraction: Option<f64>,
    /// Share of synthetic slices without tumour; `null`: a third.
    #[serde(default)]
    pub empty_share: Option<f64>,
    /// How NIfTI volumes (a `source` folder of `.nii` / `.nii.gz`) become slices.
    #[serde(default)]
    pub volumes: VolumeOptions,
}

/// Intensity normalisation per volume and channel (MONAI's transforms).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Normalise {
    /// `NormalizeIntensity(nonzero=True, channel_wise=True)`: z-score over the non-zero voxels
    /// (the brain), zeros stay 0.
    ZscoreNonzero,
    /// `ScaleIntensityRangePercentiles(0.5, 99.5, 0, 1, clip=True)`.
    Percentile,
    /// Raw intensities.
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VolumeOptions {
    /// Slices are taken across this axis: 0 (x, sagittal), 1 (y, coronal), 2 (z, axial).
    pub axis: usize,
    /// Modalities (indices into a 4-D image's 4th axis) used as input channels; `null`: all.
    pub channels: Option<Vec<usize>>,
    /// Label value → class (BraTS whole tumour: `{1: 1, 2: 1, 4: 1}`); `null`: the values are
    /// the classes. A value the map does not name is an error, 0 is background unless mapped.
    pub labels: Option<BTreeMap<u32, u8>>,
    /// Train on slices with foreground only (evaluation always sees every slice).
    pub skip_empty: bool,
    pub normalise: Normalise,
    /// When the folder is one collection (no train/ val/ test/), the shares of volumes held
    /// out for validation and for test (a fixed split by name, the same for every seed).
    pub val_fraction: f64,
    pub test_fraction: f64,
}

impl Default for VolumeOptions {
    fn default() -> Self {
        Self {
            axis: 2,
            channels: None,
            labels: None,
            skip_empty: true,
            normalise: Normalise::ZscoreNonzero,
            val_fraction: 0.2,
            test_fraction: 0.2,
        }
    }
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
    /// Input channels: 1 for slices and synthetic data, the number of modalities for volumes.
    #[serde(default = "one")]
    pub in_channels: i64,
}

fn one() -> i64 {
    1
}

/// Which loss trains the network (loss-zoo's segmentation menu).
pub use loss_zoo::menu::SegKind as LossKind;

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

impl LossConfig {
    /// The loss as loss-zoo's segmentation menu computes it.
    pub fn menu(&self) -> loss_zoo::menu::SegmentationLoss<'_> {
        loss_zoo::menu::SegmentationLoss {
            kind: self.kind,
            lambda_dice: self.lambda_dice,
            lambda_ce: self.lambda_ce,
            gamma: self.gamma,
            alpha: &self.alpha,
        }
    }
}

impl AppConfig for Config {
    const AUTOCAST: bool = true;
    kit::train_section!();
    fn data_folder(&self) -> Option<std::path::PathBuf> {
        kit::app::folder_source(&self.data.source)
    }
    fn validate(&self) -> Result<(), InvalidValue> {
        let (m, d, l) = (&self.model, &self.data, &self.loss);
        ensure(m.classes >= 2, "model.classes", || {
            format!(
                "must be ≥ 2 (background + tumour classes), got {}",
                m.classes
            )
        })?;
        ensure(m.width >= 1, "model.width", || {
            format!("must be ≥ 1, got {}", m.width)
        })?;
        ensure((1..=8).contains(&m.depth), "model.depth", || {
            format!("must lie in 1..=8, got {}", m.depth)
        })?;
        let k = 1u32 << m.depth;
        ensure(d.size > 0 && d.size % k == 0, "data.size", || {
            format!(
                "must be a multiple of 2^model.depth = {k} (the U-Net halves it {} times), got {}",
                m.depth, d.size
            )
        })?;
        if d.folder().is_none() {
            ensure(d.val_size >= 1, "data.val_size", || "must be ≥ 1".into())?;
        }
        let v = &d.volumes;
        ensure(v.axis <= 2, "data.volumes.axis", || {
            format!("must be 0, 1 or 2 (x, y, z), got {}", v.axis)
        })?;
        ensure(m.in_channels >= 1, "model.in_channels", || {
            format!("must be ≥ 1, got {}", m.in_channels)
        })?;
        if let Some(c) = &v.channels {
            ensure(
                c.len() as i64 == m.in_channels,
                "data.volumes.channels",
                || {
                    format!(
                        "names {} modalities but model.in_channels = {}: set them equal",
                        c.len(),
                        m.in_channels
                    )
                },
            )?;
        }
        if let Some(map) = &v.labels {
            let bad = map.iter().find(|(_, &c)| c as i64 >= m.classes);
            ensure(bad.is_none(), "data.volumes.labels", || {
                let (value, class) = bad.unwrap_or((&0, &0));
                format!(
                    "maps label {value} to class {class}, but model.classes = {} allows 0..={}",
                    m.classes,
                    m.classes - 1
                )
            })?;
        }
        for (key, f) in [
            ("data.volumes.val_fraction", v.val_fraction),
            ("data.volumes.test_fraction", v.test_fraction),
        ] {
            ensure((0.0..0.5).contains(&f), key, || {
                format!("must lie in [0, 0.5), got {f}")
            })?;
        }
        if let Some(f) = d.tumour_fraction {
            ensure(f > 0.0 && f <= 0.05, "data.tumour_fraction", || {
                format!("must lie in (0, 0.05] (a share of the pixels: 0.001 = 0.1%), got {f}")
            })?;
        }
        if let Some(e) = d.empty_share {
            ensure((0.0..0.95).contains(&e), "data.empty_share", || {
                format!("must lie in [0, 0.95), got {e}")
            })?;
        }
        match l.menu().check(m.classes as usize) {
            Ok(()) => Ok(()),
            Err((key, message)) => ensure(false, &format!("loss.{key}"), || message),
        }
    }
}

impl DataConfig {
    /// The synthetic generator's tumour settings.
    pub fn tumours(&self) -> crate::synth::Tumours {
        crate::synth::Tumours {
            fraction: self.tumour_fraction,
            empty_share: self.empty_share,
        }
    }

    /// The folder of a real dataset, if `source` is not `synthetic`.
    pub fn folder(&self) -> Option<PathBuf> {
        (self.source != "synthetic").then(|| PathBuf::from(&self.source))
    }
}
