//! The typed config of pointcloud-chamfer (see configs/pointcloud-chamfer/default.yaml for
//! every key).

pub use crate::mesh::UpAxis;
use kit::app::AppConfig;
use kit::config::{ensure, InvalidValue};
use kit::train::TrainConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data: DataConfig,
    pub model: ModelConfig,
    pub loss: LossConfig,
    pub eval: EvalConfig,
    pub train: TrainConfig,
}

/// Which coordinate frame the ground-truth points are given in.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// The shape's canonical pose, whatever the view (ShapeNet-style).
    Object,
    /// Rotated with the camera: the network must also recover the pose.
    Viewer,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `shapes` (built in), a folder written by `synth` (train/, val/ with meta.csv), or a
    /// folder of meshes (train/, val/; .off / .obj / .ply, optional class sub-folders).
    pub source: String,
    /// Built-in shapes generated for training / validation.
    pub train_size: usize,
    pub val_size: usize,
    /// Built-in classes to use (empty = all).
    pub classes: Vec<String>,
    /// Side of the rendered input image.
    pub image_size: usize,
    /// Ground-truth points sampled on each surface.
    pub points: usize,
    pub frame: Frame,
    /// Camera elevation range in degrees (azimuth is uniform over the circle).
    pub elevation: [f32; 2],
    /// Mesh folders: views rendered per mesh.
    pub views_per_mesh: usize,
    /// Mesh folders: the axis that points up in the files. This app's shapes (and OBJ's usual
    /// convention) are y-up; trimesh's primitives and many scans are z-up, and scoring a z-up
    /// mesh as if it were y-up took Chamfer ×10³ from 2.14 to 12.94 on the same shapes (a review).
    /// `z` turns the meshes to y-up before rendering and sampling.
    #[serde(default)]
    pub up_axis: UpAxis,
}

/// The point decoder.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// PSGN's fully connected branch: latent → MLP → N × 3.
    Fc,
    /// FoldingNet: a 2-D grid folded twice into 3-D, conditioned on the latent.
    Folding,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub kind: ModelKind,
    /// Predicted points (folding: rounded down to a square grid).
    pub points: i64,
    /// Channels of the first conv layer (doubled three times).
    pub width: i64,
    /// Image code size.
    pub latent: i64,
    /// Hidden units of the decoder.
    pub hidden: i64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Chamfer distance (squared L2, pytorch3d conventions).
    Chamfer,
    /// Approximate EMD by log-domain Sinkhorn.
    Sinkhorn,
    /// Chamfer + `emd_weight` · Sinkhorn-EMD: Chamfer's fit with EMD's spreading.
    ChamferSinkhorn,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LossConfig {
    pub kind: LossKind,
    /// Sinkhorn: entropic regularisation ε (squared distance units; shapes have unit diagonal).
    pub epsilon: f64,
    /// Sinkhorn: cap on the iterations at the target ε (a warning when it is hit).
    pub max_iters: usize,
    /// Sinkhorn: stop when the plan's row marginal is this close (L1 mass) to uniform.
    pub tolerance: f64,
    /// Sinkhorn: ε-scaling factor (ε from the largest squared distance down to `epsilon`).
    pub scaling: f64,
    /// Sinkhorn: over-relaxation ω in [1, 2) (1 = plain Sinkhorn).
    pub relaxation: f64,
    /// chamfer_sinkhorn: λ in Chamfer + λ · EMD.
    pub emd_weight: f64,
    /// Sinkhorn: ground-truth points used per shape (a random subset; the cost matrix is
    /// predicted × this).
    pub sinkhorn_points: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvalConfig {
    /// F-score thresholds as fractions of the ground truth's bounding-box diagonal.
    pub fscore_tau: Vec<f64>,
    /// Training samples kept in the run folder for the baselines (class medoid, retrieval).
    pub bank_size: usize,
}

impl AppConfig for Config {
    kit::train_section!();
    fn data_folder(&self) -> Option<std::path::PathBuf> {
        kit::app::folder_source(&self.data.source)
    }
    fn validate(&self) -> Result<(), InvalidValue> {
        let (d, m, l, e) = (&self.data, &self.model, &self.loss, &self.eval);
        ensure(
            d.image_size >= 16 && d.image_size % 16 == 0,
            "data.image_size",
            || format!("must be a multiple of 16, ≥ 16, got {}", d.image_size),
        )?;
        ensure(d.points >= 1, "data.points", || "must be ≥ 1".into())?;
        ensure(
            d.elevation[0] <= d.elevation[1] && d.elevation.iter().all(|e| e.abs() <= 90.0),
            "data.elevation",
            || format!("must be [low, high] within ±90°, got {:?}", d.elevation),
        )?;
        ensure(d.views_per_mesh >= 1, "data.views_per_mesh", || {
            "must be ≥ 1".into()
        })?;
        for c in &d.classes {
            ensure(
                crate::synth::CLASSES.contains(&c.as_str()),
                "data.classes",
                || {
                    format!(
                        "unknown class `{c}`; known: {}",
                        crate::synth::CLASSES.join(", ")
                    )
                },
            )?;
        }
        if d.source == "shapes" {
            ensure(d.val_size >= 1, "data.val_size", || "must be ≥ 1".into())?;
        }
        ensure(m.points >= 4, "model.points", || {
            format!("must be ≥ 4, got {}", m.points)
        })?;
        ensure(
            m.width >= 1 && m.latent >= 1 && m.hidden >= 1,
            "model.width",
            || "model.width, model.latent and model.hidden must be ≥ 1".into(),
        )?;
        ensure(
            l.epsilon.is_finite() && l.epsilon > 0.0,
            "loss.epsilon",
            || format!("must be > 0, got {}", l.epsilon),
        )?;
        ensure(l.max_iters >= 1, "loss.max_iters", || "must be ≥ 1".into())?;
        ensure(
            l.tolerance.is_finite() && l.tolerance > 0.0,
            "loss.tolerance",
            || format!("must be > 0, got {}", l.tolerance),
        )?;
        ensure((0.0..1.0).contains(&l.scaling), "loss.scaling", || {
            format!("must be in [0, 1), got {}", l.scaling)
        })?;
        ensure(
            (1.0..2.0).contains(&l.relaxation),
            "loss.relaxation",
            || format!("must be in [1, 2), got {}", l.relaxation),
        )?;
        ensure(
            l.emd_weight.is_finite() && l.emd_weight >= 0.0,
            "loss.emd_weight",
            || format!("must be ≥ 0, got {}", l.emd_weight),
        )?;
        ensure(l.sinkhorn_points >= 1, "loss.sinkhorn_points", || {
            "must be ≥ 1".into()
        })?;
        ensure(
            !e.fscore_tau.is_empty() && e.fscore_tau.iter().all(|t| *t > 0.0 && *t < 1.0),
            "eval.fscore_tau",
            || format!("must be fractions in (0, 1), got {:?}", e.fscore_tau),
        )?;
        Ok(())
    }
}
