//! Combining the losses of several tasks trained on one network: fixed weights, and the
//! homoscedastic-uncertainty weighting of Kendall, Gal & Cipolla (CVPR 2018).

use crate::{LossError, Result};
use tch::Tensor;

/// L = Σᵢ wᵢ·Lᵢ for scalar task losses `losses` and fixed weights `weights` (at least one
/// task: an empty sum would have no device to live on).
pub fn weighted_sum(losses: &[Tensor], weights: &[f64]) -> Result<Tensor> {
    check(losses, weights.len(), "weights")?;
    losses
        .iter()
        .zip(weights)
        .map(|(l, &w)| l * w)
        .reduce(|a, b| a + b)
        .ok_or(LossError::Value {
            arg: "losses",
            message: "no task losses to weigh: give at least one task".into(),
        })
}

/// Uncertainty weighting: L = Σᵢ exp(−sᵢ)·Lᵢ + sᵢ with sᵢ = log σᵢ² learned per task
/// (`log_vars`, shape (T,)). A task whose loss stays large is down-weighted by a larger σᵢ²,
/// and the + sᵢ term keeps σᵢ² from growing without bound; ∂L/∂sᵢ = 1 − exp(−sᵢ)·Lᵢ, so at the
/// optimum exp(sᵢ) = Lᵢ. With sᵢ = log σᵢ², Kendall et al. have ½ e^{−sᵢ}Lᵢ + ½ sᵢ for a
/// regression task and e^{−sᵢ}Lᵢ + ½ sᵢ for a classification one; this is the common
/// simplification used by most implementations, exactly twice their regression form (same
/// optimum; the factor only rescales the learning rate).
pub fn uncertainty_weighted(losses: &[Tensor], log_vars: &Tensor) -> Result<Tensor> {
    let t = log_vars.size();
    if t.len() != 1 {
        return Err(LossError::Shape {
            arg: "log_vars",
            expected: "(T,): one log-variance per task".into(),
            got: t,
        });
    }
    check(losses, t[0] as usize, "log_vars")?;
    Ok(losses
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let s = log_vars.get(i as i64);
            (-&s).exp() * l + s
        })
        .reduce(|a, b| a + b)
        .unwrap_or_else(|| log_vars.sum(log_vars.kind())))
}

fn check(losses: &[Tensor], n: usize, arg: &'static str) -> Result<()> {
    if losses.is_empty() {
        return Err(LossError::Value {
            arg: "losses",
            message: "no task losses to weigh: give at least one task".into(),
        });
    }
    if losses.len() != n {
        return Err(LossError::Value {
            arg,
            message: format!("{n} weights for {} task losses", losses.len()),
        });
    }
    if let Some(l) = losses.iter().find(|l| l.dim() != 0) {
        return Err(LossError::Shape {
            arg: "losses",
            expected: "scalar task losses".into(),
            got: l.size(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(v: f64) -> Tensor {
        Tensor::from(v).set_requires_grad(true)
    }

    #[test]
    fn weighted_sum_by_hand_and_its_gradient() {
        let (a, b) = (scalar(2.0), scalar(0.5));
        let l = weighted_sum(&[a.shallow_clone(), b.shallow_clone()], &[1.0, 0.1]).unwrap();
        assert!((l.double_value(&[]) - 2.05).abs() < 1e-12);
        l.backward();
        assert!((a.grad().double_value(&[]) - 1.0).abs() < 1e-12);
        assert!((b.grad().double_value(&[]) - 0.1).abs() < 1e-12);
        assert!(weighted_sum(&[a], &[1.0, 2.0]).is_err());
    }

    #[test]
    fn uncertainty_weighting_by_hand_and_its_gradients() {
        // L = e^{-0}·2 + 0 + e^{-ln 4}·8 + ln 4 = 2 + 2 + 1.386294…
        let (l1, l2) = (scalar(2.0), scalar(8.0));
        let s = Tensor::from_slice(&[0.0f64, 4f64.ln()]).set_requires_grad(true);
        let l = uncertainty_weighted(&[l1.shallow_clone(), l2.shallow_clone()], &s).unwrap();
        assert!((l.double_value(&[]) - (4.0 + 4f64.ln())).abs() < 1e-12);
        l.backward();
        // ∂L/∂sᵢ = 1 − e^{−sᵢ}·Lᵢ: 1 − 2 = −1, and 1 − 8/4 = −1; ∂L/∂Lᵢ = e^{−sᵢ}: 1, ¼.
        let g: Vec<f64> = Vec::try_from(s.grad()).unwrap();
        assert!(
            (g[0] + 1.0).abs() < 1e-12 && (g[1] + 1.0).abs() < 1e-12,
            "{g:?}"
        );
        assert!((l1.grad().double_value(&[]) - 1.0).abs() < 1e-12);
        assert!((l2.grad().double_value(&[]) - 0.25).abs() < 1e-12);
        // At sᵢ = log Lᵢ the gradient vanishes: the learned σᵢ² tracks each task's loss.
        let s = Tensor::from_slice(&[2f64.ln(), 8f64.ln()]).set_requires_grad(true);
        uncertainty_weighted(&[scalar(2.0), scalar(8.0)], &s)
            .unwrap()
            .backward();
        let g: Vec<f64> = Vec::try_from(s.grad()).unwrap();
        assert!(g.iter().all(|v| v.abs() < 1e-12), "{g:?}");
        assert!(uncertainty_weighted(&[scalar(1.0)], &s).is_err());
    }

    #[test]
    fn no_task_is_an_error_not_a_cpu_zero() {
        let e = weighted_sum(&[], &[]).unwrap_err();
        assert!(e.to_string().contains("at least one task"), "{e}");
        let s = Tensor::zeros([0], (tch::Kind::Float, tch::Device::Cpu));
        assert!(uncertainty_weighted(&[], &s).is_err());
    }
}
