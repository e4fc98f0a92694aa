//! Kullback–Leibler divergence: the general form (as PyTorch's `kl_div`) and the closed forms
//! between diagonal Gaussians that the VAE's ELBO uses.

use crate::{check_same_shape, Reduction, Result};
use tch::Tensor;

/// KL(P ‖ Q) pointwise from log Q and P, as `torch.nn.functional.kl_div(input, target,
/// reduction, log_target)`:
///
/// ℓ = p·(log p − log q) (p given directly, `log_target = false`), or
/// ℓ = e^{log p}·(log p − log q) (`log_target = true`).
///
/// Entries with p = 0 contribute 0 (p·log p is taken as `xlogy`, 0·log 0 = 0), never NaN.
/// `Mean` averages over *all elements* (what PyTorch's 'mean' does, and not the KL per
/// sample); `BatchMean` divides the sum by the batch size, which is the actual mean KL per
/// sample; `Sum` and `None` as usual.
pub fn kl_div(
    input_log_q: &Tensor,
    target: &Tensor,
    reduction: Reduction,
    log_target: bool,
) -> Result<Tensor> {
    check_same_shape(input_log_q, target, "target", "input_log_q")?;
    let loss = if log_target {
        target.exp() * (target - input_log_q)
    } else {
        target.xlogy(target) - target * input_log_q
    };
    Ok(reduction.apply(loss))
}

/// KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ_d (μ² + σ² − 1 − log σ²), summed over the last (latent)
/// dimension, with `logvar` = log σ² (Kingma & Welling, 2014, appendix B). Gives one value
/// per sample; `Mean`/`BatchMean` average them over the batch, `Sum` sums, `None` keeps them.
pub fn gaussian_kl(mu: &Tensor, logvar: &Tensor, reduction: Reduction) -> Result<Tensor> {
    check_same_shape(mu, logvar, "logvar", "mu")?;
    let per = (mu.pow_tensor_scalar(2) + logvar.exp() - 1.0 - logvar).sum_dim_intlist(
        [-1i64].as_slice(),
        false,
        mu.kind(),
    ) * 0.5;
    Ok(per_sample(per, reduction))
}

/// KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) = ½ Σ_d (log σ₂² − log σ₁² + (σ₁² + (μ₁ − μ₂)²) / σ₂² − 1),
/// summed over the last dimension; matches `torch.distributions.kl_divergence(Normal,
/// Normal).sum(-1)`. Reductions as [`gaussian_kl`].
pub fn gaussian_kl_between(
    mu1: &Tensor,
    logvar1: &Tensor,
    mu2: &Tensor,
    logvar2: &Tensor,
    reduction: Reduction,
) -> Result<Tensor> {
    check_same_shape(mu1, logvar1, "logvar1", "mu1")?;
    check_same_shape(mu1, mu2, "mu2", "mu1")?;
    check_same_shape(mu1, logvar2, "logvar2", "mu1")?;
    let per = (logvar2 - logvar1
        + (logvar1.exp() + (mu1 - mu2).pow_tensor_scalar(2)) / logvar2.exp()
        - 1.0)
        .sum_dim_intlist([-1i64].as_slice(), false, mu1.kind())
        * 0.5;
    Ok(per_sample(per, reduction))
}

fn per_sample(per: Tensor, reduction: Reduction) -> Tensor {
    match reduction {
        Reduction::Mean | Reduction::BatchMean => per.mean(per.kind()),
        r => r.apply(per),
    }
}
