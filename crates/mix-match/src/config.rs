//! The typed config of mix-match (see configs/mix-match/default.yaml for every key): which
//! tasks train the shared backbone, with which loss each, and how their losses are weighted.

use kit::app::AppConfig;
use kit::config::{ensure, InvalidValue};
use kit::train::TrainConfig;
pub use scenes::boxes::DetectConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data: DataConfig,
    pub model: ModelConfig,
    pub tasks: Tasks,
    /// How the task losses are combined.
    pub weighting: Weighting,
    /// The validation metric that picks the best checkpoint (`ap50`, `dice` or `neg_elbo`);
    /// its task must be on.
    pub selection: String,
    pub detect: DetectConfig,
    pub train: TrainConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `synthetic`, or a folder with train/, val/ and test/ in the format `synth` writes
    /// (images/, masks/, boxes.jsonl in each).
    pub source: String,
    /// Synthetic scenes per epoch, in the validation set and in the test set (disjoint seeds).
    pub train_size: usize,
    pub val_size: usize,
    pub test_size: usize,
    /// Side of the square scenes; a multiple of 8 (the backbone's stride).
    pub size: u32,
    pub min_objects: usize,
    pub max_objects: usize,
    /// Lines, dots, arcs and rings per scene: clutter, not a class.
    pub distractors: usize,
    /// Smallest / largest object side, fractions of `size`.
    pub object_size: [f64; 2],
    /// Random horizontal flips of training scenes (image, boxes and mask together).
    pub hflip: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Channels of the first backbone stage (stages: 1, 2, 4, 8 × width at strides 1, 2, 4, 8).
    pub width: i64,
    /// Dimensions of the generative head's latent code z.
    pub latent: i64,
    /// Anchor side at stride 8, times each scale, at each aspect ratio (h/w).
    pub anchor_size: f64,
    pub aspect_ratios: Vec<f64>,
    pub scales: Vec<f64>,
    /// Initial foreground probability of every anchor (RetinaNet's π).
    pub prior: f64,
}

/// The heads. A task with `weight: 0` is off: its head is not built and nothing of it is
/// trained or reported.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tasks {
    pub detect: DetectTask,
    pub segment: SegmentTask,
    pub generate: GenerateTask,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DetectLoss {
    /// Sigmoid focal loss (RetinaNet).
    Focal,
    /// Plain binary cross-entropy per anchor and class (γ = 0, no α).
    Bce,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DetectTask {
    pub weight: f64,
    pub loss: DetectLoss,
    /// Focal γ and α (focal only).
    pub gamma: f64,
    pub alpha: f64,
    /// Anchor IoU ≥ pos_iou with a true box: positive; < neg_iou: negative; else ignored.
    pub pos_iou: f64,
    pub neg_iou: f64,
}

/// The segmentation loss: loss-zoo's segmentation menu, the same as segment-dice's.
pub use loss_zoo::menu::SegKind as SegmentLoss;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SegmentTask {
    pub weight: f64,
    pub loss: SegmentLoss,
    /// Dice + CE weights (dice_ce only).
    pub lambda_dice: f64,
    pub lambda_ce: f64,
    /// Softmax focal γ and per-class α, background first (focal only; `[]`: none).
    pub gamma: f64,
    pub alpha: Vec<f64>,
}

impl SegmentTask {
    /// The loss as loss-zoo's segmentation menu computes it.
    pub fn menu(&self) -> loss_zoo::menu::SegmentationLoss<'_> {
        loss_zoo::menu::SegmentationLoss {
            kind: self.loss,
            lambda_dice: self.lambda_dice,
            lambda_ce: self.lambda_ce,
            gamma: self.gamma,
            alpha: &self.alpha,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GenerateLoss {
    /// −ELBO = reconstruction + β·KL(q(z|x) ‖ N(0, I)).
    Elbo,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GenerateTask {
    pub weight: f64,
    pub loss: GenerateLoss,
    /// β of the KL term while training (evaluation reports the −ELBO at β = 1).
    pub beta: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// Σ wᵢ·Lᵢ with the tasks' `weight`s.
    Fixed,
    /// Σ exp(−sᵢ)·Lᵢ + sᵢ with a learned sᵢ = log σᵢ² per task (Kendall et al., 2018); the
    /// `weight`s only say which tasks are on.
    Uncertainty,
}

/// The three tasks, in the order their losses are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Detect,
    Segment,
    Generate,
}

impl Which {
    pub fn name(self) -> &'static str {
        match self {
            Which::Detect => "detect",
            Which::Segment => "segment",
            Which::Generate => "generate",
        }
    }
}

impl Tasks {
    /// The tasks that are on (weight > 0), in a fixed order.
    pub fn active(&self) -> Vec<Which> {
        [
            (Which::Detect, self.detect.weight),
            (Which::Segment, self.segment.weight),
            (Which::Generate, self.generate.weight),
        ]
        .into_iter()
        .filter(|&(_, w)| w > 0.0)
        .map(|(t, _)| t)
        .collect()
    }

    pub fn weight(&self, t: Which) -> f64 {
        match t {
            Which::Detect => self.detect.weight,
            Which::Segment => self.segment.weight,
            Which::Generate => self.generate.weight,
        }
    }

    pub fn on(&self, t: Which) -> bool {
        self.weight(t) > 0.0
    }
}

/// The selection metrics and the task each belongs to (`true`: higher is better).
pub const SELECTIONS: [(&str, Which, bool); 4] = [
    ("ap50", Which::Detect, true),
    ("ap", Which::Detect, true),
    ("dice", Which::Segment, true),
    ("neg_elbo", Which::Generate, false),
];

impl AppConfig for Config {
    kit::train_section!();
    fn data_folder(&self) -> Option<std::path::PathBuf> {
        kit::app::folder_source(&self.data.source)
    }
    fn validate(&self) -> Result<(), InvalidValue> {
        let (d, m, t) = (&self.data, &self.model, &self.tasks);
        ensure(d.size >= 16 && d.size % 8 == 0, "data.size", || {
            format!("must be a multiple of 8 and ≥ 16, got {}", d.size)
        })?;
        for (key, v) in [
            ("data.train_size", d.train_size),
            ("data.val_size", d.val_size),
            ("data.test_size", d.test_size),
            ("data.max_objects", d.max_objects),
        ] {
            ensure(v >= 1, key, || "must be ≥ 1".into())?;
        }
        ensure(d.min_objects <= d.max_objects, "data.min_objects", || {
            format!("must be ≤ data.max_objects ({})", d.max_objects)
        })?;
        let [lo, hi] = d.object_size;
        ensure(
            0.02 <= lo && lo <= hi && hi <= 0.9,
            "data.object_size",
            || format!("must be [lo, hi] with 0.02 ≤ lo ≤ hi ≤ 0.9, got [{lo}, {hi}]"),
        )?;
        ensure(m.width >= 1 && m.latent >= 1, "model.width", || {
            "model.width and model.latent must be ≥ 1".into()
        })?;
        ensure(
            !m.aspect_ratios.is_empty() && !m.scales.is_empty(),
            "model.scales",
            || "needs at least one aspect ratio and one scale".into(),
        )?;
        ensure(m.prior > 0.0 && m.prior < 1.0, "model.prior", || {
            format!("must lie in (0, 1), got {}", m.prior)
        })?;
        for (key, w) in [
            ("tasks.detect.weight", t.detect.weight),
            ("tasks.segment.weight", t.segment.weight),
            ("tasks.generate.weight", t.generate.weight),
        ] {
            ensure(w.is_finite() && w >= 0.0, key, || {
                format!("must be ≥ 0 (0 turns the task off), got {w}")
            })?;
        }
        ensure(!t.active().is_empty(), "tasks", || {
            "every task has weight 0: turn at least one on".into()
        })?;
        ensure(t.detect.gamma >= 0.0, "tasks.detect.gamma", || {
            format!("must be ≥ 0, got {}", t.detect.gamma)
        })?;
        ensure(
            (0.0..=1.0).contains(&t.detect.alpha),
            "tasks.detect.alpha",
            || format!("must lie in [0, 1], got {}", t.detect.alpha),
        )?;
        ensure(
            0.0 < t.detect.neg_iou
                && t.detect.neg_iou <= t.detect.pos_iou
                && t.detect.pos_iou <= 1.0,
            "tasks.detect.pos_iou",
            || "needs 0 < neg_iou ≤ pos_iou ≤ 1".into(),
        )?;
        if let Err((key, message)) = t.segment.menu().check(2) {
            ensure(false, &format!("tasks.segment.{key}"), || message)?;
        }
        ensure(t.generate.beta >= 0.0, "tasks.generate.beta", || {
            format!("must be ≥ 0, got {}", t.generate.beta)
        })?;
        let names: Vec<&str> = SELECTIONS.iter().map(|s| s.0).collect();
        match SELECTIONS.iter().find(|s| s.0 == self.selection) {
            None => ensure(false, "selection", || {
                format!("must be one of {names:?}, got {:?}", self.selection)
            }),
            Some(&(_, task, _)) => ensure(t.on(task), "selection", || {
                format!(
                    "{} belongs to the {} task, which is off (weight 0): select on a task \
                     that trains",
                    self.selection,
                    task.name()
                )
            }),
        }
    }
}

impl DataConfig {
    /// The folder of a real dataset, if `source` is not `synthetic`.
    pub fn folder(&self) -> Option<std::path::PathBuf> {
        (self.source != "synthetic").then(|| std::path::PathBuf::from(&self.source))
    }
}

impl Config {
    /// The scene generator's settings.
    pub fn scene_spec(&self) -> scenes::render::SceneSpec {
        let d = &self.data;
        scenes::render::SceneSpec {
            size: d.size,
            min_objects: d.min_objects,
            max_objects: d.max_objects,
            distractors: d.distractors,
            object_size: (d.object_size[0] as f32, d.object_size[1] as f32),
        }
    }
}
