//! The `train:` section every app config has, and its validation.

use crate::config::{ensure, InvalidValue};
use crate::device::DeviceSpec;
use crate::optim::{OptimSettings, OptimizerKind};
use serde::{Deserialize, Serialize};

/// The `train:` section every app config has.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: u64,
    /// Stop after this many steps even mid-epoch (0 = no limit).
    pub max_steps: u64,
    pub batch_size: usize,
    pub optimizer: OptimizerKind,
    /// Peak learning rate (after warmup).
    pub lr: f64,
    /// Learning rate at the end of the cosine decay.
    pub min_lr: f64,
    pub warmup_steps: u64,
    /// Decoupled (AdamW) or L2 (SGD) weight decay on matrices and kernels.
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// AdamW as one fused kernel per parameter (libtorch's `_fused_adamw_`, PyTorch's
    /// `AdamW(fused=True)`) instead of a dozen tensor ops; `false`: the op-by-op update.
    pub fused_adamw: bool,
    /// Clip the global gradient norm to this value (0 = off).
    pub grad_clip: f64,
    /// Evaluate every N steps (0 = at the end of each epoch).
    pub eval_every: u64,
    /// Save `last.safetensors` every N steps (0 = at the end of each epoch).
    pub checkpoint_every: u64,
    /// Log training scalars every N steps.
    pub log_every: u64,
    /// Seeds weights, data order and augmentations.
    pub seed: u64,
    pub device: DeviceSpec,
    /// libtorch intra-op threads (0 = libtorch's default).
    pub threads: usize,
    /// Data-loading worker threads.
    pub workers: usize,
    /// Convolution kernels in channels-last memory (NHWC; PyTorch's
    /// `memory_format=torch.channels_last`): faster convolutions on CPU for most conv nets.
    pub channels_last: bool,
    /// `fp32`, `bf16` or `fp16`: apps that support it run the forward pass under autocast
    /// (fp16 with dynamic loss scaling).
    pub precision: crate::precision::Precision,
    /// cuDNN picks the fastest convolution algorithm per shape (`torch.backends.cudnn.benchmark`):
    /// faster on a GPU when shapes repeat, not bit-reproducible. CUDA only.
    pub cudnn_benchmark: bool,
    /// Deterministic cuDNN algorithms (`torch.backends.cudnn.deterministic`): a CUDA run
    /// repeats bit for bit, usually slower. CUDA only.
    pub cudnn_deterministic: bool,
    /// Which checkpoint becomes `best` when an evaluation ties the best so far: `latest`
    /// (it has trained longer; an accuracy on a few hundred examples ties often) or
    /// `earliest`.
    pub selection_ties: SelectionTies,
    /// Warm start a new run from another run's weights (not used on --resume).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_from: Option<InitFrom>,
    /// `auto`: data parallel when the environment names a world size > 1 (torchrun's or
    /// Slurm srun's variables, as `just train-dist` sets them); `off`: one process always.
    /// `batch_size` is then per rank: the global batch is batch_size × world size.
    pub distributed: DistMode,
    /// Seconds a collective waits for the other ranks before failing (a rank that dies
    /// usually fails the others sooner: its connections close).
    pub dist_timeout_s: u64,
    /// In a data-parallel step, batch norm uses the whole global batch's statistics
    /// (PyTorch's `SyncBatchNorm`), so N ranks of batch B train like one process of batch
    /// N·B; `false`: each rank its own batch's statistics (plain DDP).
    pub sync_batch_norm: bool,
}

/// `train.distributed`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DistMode {
    #[default]
    Auto,
    Off,
}

/// `train.selection_ties`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SelectionTies {
    Earliest,
    #[default]
    Latest,
}

/// `train.init_from`: which run's weights start this one, and how names map.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InitFrom {
    /// A run folder, e.g. runs/rlhf-reward/sft-…
    pub run: std::path::PathBuf,
    /// `best` (default) or `last`.
    #[serde(default = "best")]
    pub checkpoint: String,
    /// Prefix renames `[from, to]` applied to the checkpoint's names, e.g. `[["", "body."]]`;
    /// a checkpoint name no pair matches is unused (empty list: names as saved).
    #[serde(default)]
    pub rename: Vec<(String, String)>,
    /// Model variables (by prefix) that may be missing from the checkpoint: fresh init.
    #[serde(default)]
    pub allow_new: Vec<String>,
}

fn best() -> String {
    "best".into()
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            max_steps: 0,
            batch_size: 64,
            optimizer: OptimizerKind::AdamW,
            lr: 1e-3,
            min_lr: 1e-5,
            warmup_steps: 50,
            weight_decay: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            momentum: 0.9,
            fused_adamw: true,
            grad_clip: 5.0,
            eval_every: 0,
            checkpoint_every: 0,
            log_every: 20,
            seed: 42,
            device: DeviceSpec::Auto,
            threads: 0,
            workers: 2,
            channels_last: false,
            precision: Default::default(),
            cudnn_benchmark: false,
            cudnn_deterministic: false,
            selection_ties: SelectionTies::Latest,
            init_from: None,
            distributed: DistMode::Auto,
            dist_timeout_s: 1800,
            sync_batch_norm: true,
        }
    }
}

impl TrainConfig {
    /// Checks every key of the `train:` section before anything is written.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let finite_ge0 = |v: f64| v.is_finite() && v >= 0.0;
        ensure(self.dist_timeout_s >= 1, "train.dist_timeout_s", || {
            "must be ≥ 1 (seconds a collective waits for the other ranks)".into()
        })?;
        ensure(self.epochs >= 1, "train.epochs", || {
            format!("must be ≥ 1, got {}", self.epochs)
        })?;
        ensure(self.batch_size >= 1, "train.batch_size", || {
            format!("must be ≥ 1, got {}", self.batch_size)
        })?;
        ensure(self.lr.is_finite() && self.lr > 0.0, "train.lr", || {
            format!("must be a finite number > 0, got {}", self.lr)
        })?;
        ensure(
            finite_ge0(self.min_lr) && self.min_lr <= self.lr,
            "train.min_lr",
            || {
                format!(
                    "must lie in [0, train.lr = {}], got {}",
                    self.lr, self.min_lr
                )
            },
        )?;
        ensure(finite_ge0(self.weight_decay), "train.weight_decay", || {
            format!("must be ≥ 0, got {}", self.weight_decay)
        })?;
        for (key, v) in [
            ("train.beta1", self.beta1),
            ("train.beta2", self.beta2),
            ("train.momentum", self.momentum),
        ] {
            ensure(finite_ge0(v) && v < 1.0, key, || {
                format!("must lie in [0, 1), got {v}")
            })?;
        }
        ensure(self.eps.is_finite() && self.eps > 0.0, "train.eps", || {
            format!("must be > 0, got {}", self.eps)
        })?;
        ensure(finite_ge0(self.grad_clip), "train.grad_clip", || {
            format!("must be ≥ 0 (0 = off), got {}", self.grad_clip)
        })?;
        if let Some(i) = &self.init_from {
            ensure(
                i.checkpoint == "best" || i.checkpoint == "last",
                "train.init_from.checkpoint",
                || format!("must be best or last, got {}", i.checkpoint),
            )?;
            ensure(
                i.run.join("config.yaml").is_file(),
                "train.init_from.run",
                || format!("{} is not a run folder (no config.yaml)", i.run.display()),
            )?;
        }
        Ok(())
    }

    pub(crate) fn optim_settings(&self) -> OptimSettings {
        OptimSettings {
            kind: self.optimizer,
            weight_decay: self.weight_decay,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            momentum: self.momentum,
            fused: self.fused_adamw,
        }
    }
}
