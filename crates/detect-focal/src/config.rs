//! The typed config of detect-focal (see configs/detect-focal/default.yaml for every key).

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
    pub loss: LossConfig,
    pub detect: DetectConfig,
    pub train: TrainConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `synthetic`, or a folder with train/ and val/ (each annotations.json + images/).
    pub source: String,
    /// Synthetic scenes per epoch and in the validation set.
    pub train_size: usize,
    pub val_size: usize,
    /// Side of the square network input; images are resized to it (boxes scaled alike).
    pub size: u32,
    /// Objects per synthetic scene (inclusive range).
    pub min_objects: usize,
    pub max_objects: usize,
    /// Distractors (lines, dots, arcs, blobs) per synthetic scene: clutter, not classes.
    pub distractors: usize,
    /// Smallest and largest object side in synthetic scenes, as fractions of `size`.
    pub object_size: [f64; 2],
    /// Random horizontal flips of training images.
    pub hflip: bool,
    /// Render the fixed seeded synthetic scenes once before training (train_size × size² × 3
    /// bytes) instead of on the loader threads of every epoch; same scenes either way.
    #[serde(default = "yes")]
    pub render_ahead: bool,
}

fn yes() -> bool {
    true
}

/// Most memory `data.render_ahead` may take: beyond it the scenes are rendered on the fly.
pub const RENDER_AHEAD_LIMIT: u64 = 4 << 30;

impl DataConfig {
    /// Bytes the rendered-ahead scenes take (training and validation pictures).
    pub fn render_ahead_bytes(&self) -> u64 {
        (self.train_size + self.val_size) as u64 * u64::from(self.size).pow(2) * 3
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Channels of the first backbone stage (doubled-ish per stage).
    pub width: i64,
    /// Channels of the feature pyramid and the heads.
    pub fpn_channels: i64,
    /// 3×3 conv + GroupNorm + ReLU layers in each head before its output conv.
    pub head_convs: usize,
    /// Anchor side at the finest level (stride 8); ×2 per level, ×2^(k/3) scales per level.
    pub anchor_size: f64,
    /// Anchor aspect ratios h/w.
    pub aspect_ratios: Vec<f64>,
    /// Anchor scales per level (RetinaNet: 2^0, 2^(1/3), 2^(2/3)).
    pub scales: Vec<f64>,
    /// Prior foreground probability π of the classification bias at init (RetinaNet: 0.01).
    pub prior: f64,
}

/// The box-regression loss.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BoxLoss {
    /// Smooth-L1 on (dx, dy, dw, dh) anchor offsets (Detectron's RetinaNet).
    SmoothL1,
    /// 1 − GIoU of the decoded boxes (Rezatofighi et al., 2019).
    Giou,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LossConfig {
    /// Focusing parameter γ (0 = cross-entropy).
    pub gamma: f64,
    /// Weight α of positives (negatives get 1 − α); null = no α weighting.
    pub alpha: Option<f64>,
    pub box_loss: BoxLoss,
    /// Smooth-L1 β (transition point), in encoded units.
    pub smooth_l1_beta: f64,
    /// Weight of the box loss against the classification loss.
    pub box_weight: f64,
    /// IoU ≥ this: positive anchor; < `neg_iou`: negative; in between: ignored.
    pub pos_iou: f64,
    pub neg_iou: f64,
}

/// The post-processing settings (shared with mix-match through the `scenes` crate).
pub use scenes::boxes::DetectConfig;

impl AppConfig for Config {
    kit::train_section!();
    fn data_folder(&self) -> Option<std::path::PathBuf> {
        kit::app::folder_source(&self.data.source)
    }
    fn validate(&self) -> Result<(), InvalidValue> {
        let (d, m, l, k) = (&self.data, &self.model, &self.loss, &self.detect);
        ensure(l.gamma.is_finite() && l.gamma >= 0.0, "loss.gamma", || {
            format!("must be ≥ 0, got {}", l.gamma)
        })?;
        if let Some(a) = l.alpha {
            ensure((0.0..=1.0).contains(&a), "loss.alpha", || {
                format!("must lie in [0, 1] (or be null), got {a}")
            })?;
        }
        ensure(
            0.0 <= l.neg_iou && l.neg_iou <= l.pos_iou && l.pos_iou <= 1.0,
            "loss.pos_iou",
            || {
                format!(
                    "needs 0 ≤ loss.neg_iou ({}) ≤ loss.pos_iou ({}) ≤ 1",
                    l.neg_iou, l.pos_iou
                )
            },
        )?;
        ensure(m.prior > 0.0 && m.prior < 1.0, "model.prior", || {
            format!("must lie in (0, 1), got {}", m.prior)
        })?;
        ensure(d.size > 0 && d.size % 32 == 0, "data.size", || {
            format!(
                "must be a multiple of 32 (the coarsest stride), got {}",
                d.size
            )
        })?;
        ensure(d.min_objects <= d.max_objects, "data.min_objects", || {
            format!(
                "must be ≤ data.max_objects ({}), got {}",
                d.max_objects, d.min_objects
            )
        })?;
        if d.source == "synthetic" {
            ensure(d.val_size >= 1, "data.val_size", || "must be ≥ 1".into())?;
            let bytes = d.render_ahead_bytes();
            ensure(
                !d.render_ahead || bytes <= RENDER_AHEAD_LIMIT,
                "data.render_ahead",
                || {
                    format!(
                        "the rendered scenes would take {:.1} GiB (limit {} GiB): set \
                         data.render_ahead: false to render them on the fly, or lower \
                         data.train_size",
                        bytes as f64 / f64::from(1u32 << 30),
                        RENDER_AHEAD_LIMIT >> 30
                    )
                },
            )?;
        }
        ensure((0.0..=1.0).contains(&k.nms_iou), "detect.nms_iou", || {
            format!("must lie in [0, 1], got {}", k.nms_iou)
        })?;
        ensure(
            (0.0..=1.0).contains(&k.show_threshold),
            "detect.show_threshold",
            || format!("must lie in [0, 1], got {}", k.show_threshold),
        )
    }
}

impl DataConfig {
    /// The folder of a real dataset, if `source` is not `synthetic`.
    pub fn folder(&self) -> Option<PathBuf> {
        (self.source != "synthetic").then(|| PathBuf::from(&self.source))
    }
}
