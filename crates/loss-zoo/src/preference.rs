//! Preference losses for RLHF: the Bradley–Terry reward-model loss, DPO and RLOO.

use crate::{check_dims, check_same_shape, Result};
use tch::{Kind, Tensor};

/// Bradley–Terry reward-model loss, as TRL's `RewardTrainer.compute_loss`:
///
/// L = −mean log σ(r_c − r_r − margin) + coef · mean((r_c + r_r)²)
///
/// The first term is the negative log-likelihood that the chosen response beats the
/// rejected one under P(c ≻ r) = σ(r_c − r_r); `margin` (per pair) demands a gap, and the
/// optional centring term (`center_rewards_coefficient`) keeps rewards near zero.
pub fn bradley_terry_loss(
    r_chosen: &Tensor,
    r_rejected: &Tensor,
    margin: Option<&Tensor>,
    center_coef: Option<f64>,
) -> Result<Tensor> {
    check_dims(r_chosen, "r_chosen", 1, "(N)")?;
    check_same_shape(r_chosen, r_rejected, "r_rejected", "r_chosen")?;
    let mut diff = r_chosen - r_rejected;
    if let Some(m) = margin {
        check_same_shape(r_chosen, m, "margin", "r_chosen")?;
        diff = diff - m;
    }
    let k = r_chosen.kind();
    let mut loss = -diff.log_sigmoid().mean(k);
    if let Some(c) = center_coef {
        loss = loss + (r_chosen + r_rejected).pow_tensor_scalar(2).mean(k) * c;
    }
    Ok(loss)
}

/// Fraction of pairs where the chosen reward is higher (ties count one half).
pub fn preference_accuracy(r_chosen: &Tensor, r_rejected: &Tensor) -> Result<f64> {
    check_same_shape(r_chosen, r_rejected, "r_rejected", "r_chosen")?;
    let wins = r_chosen.gt_tensor(r_rejected).to_kind(Kind::Double);
    let ties = r_chosen.eq_tensor(r_rejected).to_kind(Kind::Double);
    Ok((wins + ties * 0.5).mean(Kind::Double).double_value(&[]))
}

/// DPO losses and implicit rewards.
#[derive(Debug)]
pub struct DpoOutput {
    /// Mean of `losses`.
    pub loss: Tensor,
    /// Per pair: −log σ(β·((π_c − π_r) − (ref_c − ref_r))).
    pub losses: Tensor,
    /// β·(π_c − ref_c) and β·(π_r − ref_r), detached (what TRL logs as rewards/chosen, rejected).
    pub chosen_rewards: Tensor,
    /// β·(π_r − ref_r), detached.
    pub rejected_rewards: Tensor,
}

/// Direct Preference Optimisation (Rafailov et al., 2023), TRL's `sigmoid` loss without label
/// smoothing: inputs are summed log-probabilities of each response under the policy and the
/// frozen reference, shape (N).
pub fn dpo_loss(
    policy_chosen_logps: &Tensor,
    policy_rejected_logps: &Tensor,
    ref_chosen_logps: &Tensor,
    ref_rejected_logps: &Tensor,
    beta: f64,
) -> Result<DpoOutput> {
    check_dims(policy_chosen_logps, "policy_chosen_logps", 1, "(N)")?;
    check_same_shape(
        policy_chosen_logps,
        policy_rejected_logps,
        "policy_rejected_logps",
        "policy_chosen_logps",
    )?;
    check_same_shape(
        policy_chosen_logps,
        ref_chosen_logps,
        "ref_chosen_logps",
        "policy_chosen_logps",
    )?;
    check_same_shape(
        policy_chosen_logps,
        ref_rejected_logps,
        "ref_rejected_logps",
        "policy_chosen_logps",
    )?;
    let logits =
        (policy_chosen_logps - policy_rejected_logps) - (ref_chosen_logps - ref_rejected_logps);
    let losses = -(logits * beta).log_sigmoid();
    Ok(DpoOutput {
        loss: losses.mean(losses.kind()),
        chosen_rewards: ((policy_chosen_logps - ref_chosen_logps) * beta).detach(),
        rejected_rewards: ((policy_rejected_logps - ref_rejected_logps) * beta).detach(),
        losses,
    })
}

/// RLOO advantages (Ahmadian et al., 2024; TRL's `RLOOTrainer`): rewards of shape (P·k),
/// k samples per prompt in prompt-major order. Each sample's baseline is the mean reward of
/// the other k − 1 samples of its prompt:
///
/// A_i = r_i − (Σ_{j≠i} r_j) / (k − 1)
///
/// so the advantages of a group sum to zero. Returned detached.
pub fn rloo_advantages(rewards: &Tensor, k: usize) -> Result<Tensor> {
    check_dims(rewards, "rewards", 1, "(P·k)")?;
    let n = rewards.size()[0];
    if k < 2 || n % k as i64 != 0 {
        return Err(crate::LossError::Value {
            arg: "k",
            message: format!(
                "the leave-one-out baseline needs k ≥ 2 samples per prompt dividing {n}, got {k}"
            ),
        });
    }
    let r = rewards.detach().view([-1, k as i64]);
    let sum = r.sum_dim_intlist([1i64].as_slice(), true, r.kind());
    let baseline = (&sum - &r) / (k as f64 - 1.0);
    Ok((r - baseline).view([-1]))
}

/// RLOO's policy-gradient loss: L = −mean_i A_i · log π(y_i), with A from
/// [`rloo_advantages`] (no gradient through the rewards) and `logps` the summed
/// log-probabilities of each sampled response under the policy, shape (P·k).
pub fn rloo_loss(logps: &Tensor, rewards: &Tensor, k: usize) -> Result<Tensor> {
    check_same_shape(logps, rewards, "rewards", "logps")?;
    let adv = rloo_advantages(rewards, k)?;
    Ok(-(adv.to_kind(logps.kind()) * logps).mean(logps.kind()))
}
