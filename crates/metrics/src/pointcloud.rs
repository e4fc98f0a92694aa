//! Point-cloud reconstruction metrics (Tatarchenko et al. 2019, "What do single-view 3D
//! reconstruction networks learn?"): F-score at a distance threshold and the spread of a
//! cloud's nearest-neighbour spacing.

/// Precision, recall and F-score of a predicted cloud at threshold τ.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FScore {
    /// Share of predicted points within τ of the ground truth.
    pub precision: f64,
    /// Share of ground-truth points within τ of the prediction.
    pub recall: f64,
    /// 2PR / (P + R); 0 when both are 0.
    pub f: f64,
}

/// F-score at `tau` from the squared nearest-neighbour distances predicted → truth and
/// truth → predicted (what `loss_zoo::chamfer::nearest_sq_distances` returns).
pub fn fscore(pred_to_truth_sq: &[f32], truth_to_pred_sq: &[f32], tau: f64) -> FScore {
    let within = |d: &[f32]| {
        if d.is_empty() {
            0.0
        } else {
            d.iter().filter(|&&x| (x as f64) < tau * tau).count() as f64 / d.len() as f64
        }
    };
    let (precision, recall) = (within(pred_to_truth_sq), within(truth_to_pred_sq));
    let f = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    FScore {
        precision,
        recall,
        f,
    }
}

/// Coefficient of variation std / mean of `values` (population std): of a cloud's
/// nearest-neighbour distances, 0 for perfectly even spacing, large when points clump.
pub fn coefficient_of_variation(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if mean == 0.0 {
        return 0.0;
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    var.sqrt() / mean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fscore_by_hand() {
        // τ = 0.1 (τ² = 0.01): 3 of 4 predicted points are close, 1 of 2 truth points is.
        let s = fscore(&[0.0, 0.005, 0.009, 0.02], &[0.001, 0.5], 0.1);
        assert_eq!((s.precision, s.recall), (0.75, 0.5));
        assert!((s.f - 0.6).abs() < 1e-12);
        let z = fscore(&[1.0], &[1.0], 0.1);
        assert_eq!((z.precision, z.recall, z.f), (0.0, 0.0, 0.0));
    }

    #[test]
    fn coefficient_of_variation_by_hand() {
        assert_eq!(coefficient_of_variation(&[2.0, 2.0, 2.0]), 0.0);
        // mean 2, population std 1.
        assert!((coefficient_of_variation(&[1.0, 3.0]) - 0.5).abs() < 1e-12);
    }
}
