//! Focal loss (Lin et al., 2017): cross-entropy down-weighted on easy examples, so that the
//! many easy negatives of dense detection do not swamp the few positives.

use crate::{check_dims, check_int, check_same_shape, LossError, Reduction, Result};
use tch::{Kind, Tensor};

/// (1 − p_t)^γ with the base kept at or above the dtype's smallest normal number: where
/// p_t rounds to exactly 1 (confident correct outputs), d/dx x^γ = γ·x^(γ−1) is infinite
/// for γ < 1 and the gradient would turn to NaN (0·∞). The value changes by at most
/// (1.2e−38)^γ in float32, and the clamp passes no gradient there (the true one is ~0).
fn modulating_factor(p_t: &Tensor, gamma: f64) -> Tensor {
    let tiny = if p_t.kind() == Kind::Double {
        f64::MIN_POSITIVE
    } else {
        f32::MIN_POSITIVE as f64
    };
    p_t.neg()
        .g_add_scalar(1.0)
        .clamp_min(tiny)
        .pow_tensor_scalar(gamma)
}

/// Sigmoid focal loss, element-wise over any shape:
///
/// p = σ(x), p_t = p·y + (1 − p)·(1 − y), CE = −[y·log p + (1 − y)·log(1 − p)],
/// FL = α_t · (1 − p_t)^γ · CE with α_t = α·y + (1 − α)·(1 − y).
///
/// Matches `torchvision.ops.sigmoid_focal_loss(inputs, targets, alpha, gamma, reduction)`;
/// `alpha = None` is torchvision's `alpha < 0` (no α weighting). With γ = 0 and no α it is
/// exactly `binary_cross_entropy_with_logits`. `targets` are floats in [0, 1].
pub fn sigmoid_focal_loss(
    logits: &Tensor,
    targets: &Tensor,
    alpha: Option<f64>,
    gamma: f64,
    reduction: Reduction,
) -> Result<Tensor> {
    check_same_shape(logits, targets, "targets", "logits")?;
    if gamma < 0.0 {
        return Err(LossError::Value {
            arg: "gamma",
            message: format!("must be ≥ 0, got {gamma}"),
        });
    }
    if reduction == Reduction::BatchMean {
        return Err(LossError::Reduction(reduction));
    }
    let targets = targets.to_kind(logits.kind());
    let p = logits.sigmoid();
    let ce = logits.binary_cross_entropy_with_logits::<Tensor>(
        &targets,
        None,
        None,
        tch::Reduction::None,
    );
    let p_t: Tensor = &p * &targets + (1.0 - &p) * (1.0 - &targets);
    let mut loss = if gamma == 0.0 {
        ce
    } else {
        ce * modulating_factor(&p_t, gamma)
    };
    if let Some(a) = alpha {
        loss = loss * (&targets * a + (1.0 - &targets) * (1.0 - a));
    }
    Ok(reduction.apply(loss))
}

/// Softmax (multi-class) focal loss: FL = −α_y · (1 − p_y)^γ · log p_y with p = softmax(x)
/// over dimension 1, for `logits` (N, C, …) and integer `labels` (N, …).
///
/// `alpha`, when given, is a per-class weight of shape (C). With γ = 0 and no α it equals
/// `torch.nn.functional.cross_entropy` (reference: the formula, checked against PyTorch in
/// float64).
pub fn softmax_focal_loss(
    logits: &Tensor,
    labels: &Tensor,
    alpha: Option<&Tensor>,
    gamma: f64,
    reduction: Reduction,
) -> Result<Tensor> {
    if logits.dim() < 2 {
        return Err(LossError::Shape {
            arg: "logits",
            expected: "(N, C, ...)".into(),
            got: logits.size(),
        });
    }
    check_int(labels, "labels")?;
    let mut expect = logits.size();
    let classes = expect.remove(1);
    if labels.size() != expect {
        return Err(LossError::Shape {
            arg: "labels",
            expected: format!("{expect:?} (logits without the class dimension)"),
            got: labels.size(),
        });
    }
    if let Some(a) = alpha {
        check_dims(a, "alpha", 1, &format!("({classes})"))?;
        if a.size()[0] != classes {
            return Err(LossError::Shape {
                arg: "alpha",
                expected: format!("({classes})"),
                got: a.size(),
            });
        }
    }
    if reduction == Reduction::BatchMean {
        return Err(LossError::Reduction(reduction));
    }
    let labels = labels.to_kind(Kind::Int64);
    let logp = logits.log_softmax(1, logits.kind());
    let logp_t = logp.gather(1, &labels.unsqueeze(1), false).squeeze_dim(1);
    let mut loss = -&logp_t;
    if gamma != 0.0 {
        loss = loss * modulating_factor(&logp_t.exp(), gamma);
    }
    if let Some(a) = alpha {
        let w = a
            .to_kind(logits.kind())
            .to_device(logits.device())
            .index_select(0, &labels.flatten(0, -1));
        loss = loss * w.view_as(&labels);
    }
    Ok(reduction.apply(loss))
}
