//! Angular-margin softmax heads for face recognition (ArcFace, CosFace, SphereFace), in
//! insightface's combined form: on the target class only,
//!
//! logit_y = s · (cos(m1·θ_y + m2) − m3), θ_y = arccos(ŵ_y · x̂); other classes: s · cos θ_j.
//!
//! Cross-entropy on these logits pulls each identity's embeddings into a tight cone, so
//! verification of *unseen* people by cosine similarity works.

use crate::{check_dims, check_int, LossError, Result};
use tch::nn::{self, Init};
use tch::{Kind, Tensor};

/// Margin parameters `s·(cos(m1·θ + m2) − m3)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarginConfig {
    /// Scale of the logits (insightface: 64).
    pub s: f64,
    /// Multiplicative angular margin (SphereFace).
    pub m1: f64,
    /// Additive angular margin (ArcFace).
    pub m2: f64,
    /// Additive cosine margin (CosFace).
    pub m3: f64,
}

impl MarginConfig {
    /// ArcFace: s = 64, (m1, m2, m3) = (1, 0.5, 0).
    pub fn arcface() -> Self {
        Self {
            s: 64.0,
            m1: 1.0,
            m2: 0.5,
            m3: 0.0,
        }
    }
    /// CosFace: s = 64, (m1, m2, m3) = (1, 0, 0.35).
    pub fn cosface() -> Self {
        Self {
            s: 64.0,
            m1: 1.0,
            m2: 0.0,
            m3: 0.35,
        }
    }
    /// SphereFace-style multiplicative margin: s = 64, (m1, m2, m3) = (1.35, 0, 0); cos(m1·θ)
    /// stays monotone for θ ≤ π / m1.
    pub fn sphereface() -> Self {
        Self {
            s: 64.0,
            m1: 1.35,
            m2: 0.0,
            m3: 0.0,
        }
    }
    /// No margin: plain normalised softmax (NormFace) with scale `s`.
    pub fn none(s: f64) -> Self {
        Self {
            s,
            m1: 1.0,
            m2: 0.0,
            m3: 0.0,
        }
    }
}

/// Applies the margin to a cosine matrix.
///
/// `cosine` (N, C) holds cos θ between each normalised embedding and each class centre;
/// `labels` (N) the target classes (−1 = no margin for that row, as arcface_torch's partial
/// FC). Returns s·cos θ for non-targets and s·(cos(m1·θ + m2) − m3) for targets.
///
/// Values match insightface arcface_torch `CombinedMarginLoss` wherever it accepts the
/// margins (m1 = 1 and at most one of m2, m3 non-zero). It ignores m2 when m3 > 0 and rejects
/// m1 ≠ 1; here the full combined formula of Deng et al. (2019, Eq. 4) applies in those cases.
///
/// Gradient: as in insightface's training, the margin is applied without a gradient through
/// it (straight-through): ∂logit/∂cos θ = s for every entry. The true derivative of
/// cos(θ + m2) changes sign where θ + m2 > π (target cosine below cos(π − m2) ≈ −0.88 at
/// m2 = 0.5): there it pushes an embedding *away* from its class centre, and embeddings that
/// start almost opposite their centre stay stuck at θ = π. The straight-through gradient always
/// pulls toward the centre, and where the margin is small it equals the true one up to the
/// factor ∂cos(θ+m)/∂cos θ = sin(θ+m)/sin θ. cos θ is clamped to [−1 + ε, 1 − ε] (ε = 1e-7 in
/// float32, 1e-12 in float64) before `acos` so cos = ±1 gives finite values.
pub fn margin_logits(cosine: &Tensor, labels: &Tensor, cfg: &MarginConfig) -> Result<Tensor> {
    check_dims(cosine, "cosine", 2, "(N, C)")?;
    check_int(labels, "labels")?;
    let n = cosine.size()[0];
    if labels.size() != [n] {
        return Err(LossError::Shape {
            arg: "labels",
            expected: format!("({n})"),
            got: labels.size(),
        });
    }
    let labels = labels.to_kind(Kind::Int64).to_device(cosine.device());
    let eps = if cosine.kind() == Kind::Double {
        1e-12
    } else {
        1e-7
    };
    let valid = labels.ge(0);
    let idx = labels.clamp_min(0).unsqueeze(1);
    let target = cosine.gather(1, &idx, false);
    let theta = target.clamp(-1.0 + eps, 1.0 - eps).acos();
    let margined = (theta * cfg.m1 + cfg.m2).cos() - cfg.m3;
    // Value of the margined logit, gradient of the plain cosine (see above).
    let margined = &target + (margined - &target).detach();
    let new_target = margined.where_self(&valid.unsqueeze(1), &target);
    Ok(cosine.scatter(1, &idx, &new_target) * cfg.s)
}

/// The classification head of ArcFace-style training: class centres W (C, D); logits are
/// s·cos between L2-normalised embeddings and L2-normalised centres, with the margin on the
/// target class when labels are given.
#[derive(Debug)]
pub struct ArcFaceHead {
    /// Class centres W (C, D), normalised at each use.
    pub weight: Tensor,
    /// The margin on the target class (ArcFace, CosFace, SphereFace or none).
    pub margin: MarginConfig,
}

impl ArcFaceHead {
    /// Creates the head with `classes` centres of dimension `dim` (normal init, std 0.01 as
    /// arcface_torch).
    pub fn new(path: &nn::Path, dim: i64, classes: i64, margin: MarginConfig) -> Self {
        let weight = path.var(
            "weight",
            &[classes, dim],
            Init::Randn {
                mean: 0.0,
                stdev: 0.01,
            },
        );
        Self { weight, margin }
    }

    /// cos θ (N, C) between embeddings (N, D) and the class centres.
    pub fn cosine(&self, embeddings: &Tensor) -> Tensor {
        let x = l2_normalize(embeddings);
        let w = l2_normalize(&self.weight);
        x.matmul(&w.transpose(0, 1))
    }

    /// Training logits with the margin on `labels` (N); feed them to cross-entropy.
    pub fn forward(&self, embeddings: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let d = self.weight.size()[1];
        if embeddings.dim() != 2 || embeddings.size()[1] != d {
            return Err(LossError::Shape {
                arg: "embeddings",
                expected: format!("(N, {d})"),
                got: embeddings.size(),
            });
        }
        margin_logits(&self.cosine(embeddings), labels, &self.margin)
    }
}

/// Rows scaled to unit L2 norm (norms clamped at 1e-12, as `F.normalize`).
pub fn l2_normalize(x: &Tensor) -> Tensor {
    let norm = x
        .norm_scalaropt_dim(2.0, [-1i64].as_slice(), true)
        .clamp_min(1e-12);
    x / norm
}
