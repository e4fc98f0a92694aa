//! The metrics each field reports, on plain slices (no tensors), each tested on a
//! hand-computed case.

mod detection;
pub mod pointcloud;
mod text;
mod verification;
pub mod volume;

pub use detection::{coco_evaluate, iou_xywh, pr_curve, CocoSummary, Detection, GroundTruth};
pub use text::{cer, levenshtein, wer};
pub use verification::{
    accuracy_at, all_pairs_tar, best_threshold_accuracy, eer, roc_auc, roc_curve, tar_at_far,
    AllPairs, FarPoint, RocPoint,
};

/// Dice coefficient 2|A∩B| / (|A| + |B|) of two binary masks; 1 when both are empty.
pub fn dice(pred: &[bool], truth: &[bool]) -> f64 {
    let (inter, p, t) = overlap(pred, truth);
    if p + t == 0 {
        1.0
    } else {
        2.0 * inter as f64 / (p + t) as f64
    }
}

/// Intersection over union |A∩B| / |A∪B| of two binary masks; 1 when both are empty.
pub fn iou(pred: &[bool], truth: &[bool]) -> f64 {
    let (inter, p, t) = overlap(pred, truth);
    let union = p + t - inter;
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

fn overlap(pred: &[bool], truth: &[bool]) -> (usize, usize, usize) {
    assert_eq!(pred.len(), truth.len(), "masks must have the same size");
    let inter = pred.iter().zip(truth).filter(|(a, b)| **a && **b).count();
    let p = pred.iter().filter(|a| **a).count();
    let t = truth.iter().filter(|a| **a).count();
    (inter, p, t)
}

/// Precision tp / (tp + fp) and recall tp / (tp + fn); each is 0 when its denominator is 0.
pub fn precision_recall(tp: usize, fp: usize, fn_: usize) -> (f64, f64) {
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    (ratio(tp, tp + fp), ratio(tp, tp + fn_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_and_iou_by_hand() {
        let p = [true, true, false, false];
        let t = [true, false, true, false];
        assert!((dice(&p, &t) - 0.5).abs() < 1e-12);
        assert!((iou(&p, &t) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(dice(&[false; 3], &[false; 3]), 1.0);
        assert_eq!(dice(&[true, false], &[false, false]), 0.0);
    }

    #[test]
    fn precision_recall_by_hand() {
        assert_eq!(precision_recall(3, 1, 2), (0.75, 0.6));
        assert_eq!(precision_recall(0, 0, 0), (0.0, 0.0));
    }
}
