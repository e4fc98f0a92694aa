//! Verification metrics on pairs of unseen identities (ROC-AUC, EER, TAR@FAR, LFW-style
//! 10-fold accuracy) and the ROC picture.

use image::RgbImage;
use metrics::{accuracy_at, best_threshold_accuracy, eer, roc_auc, roc_curve, tar_at_far};
use plot::{line_chart, scatter, Chart, PlotError, Series};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    pub auc: f64,
    pub eer: f64,
    pub tar_at_far_1e2: f64,
    pub tar_at_far_1e3: f64,
    /// LFW protocol: threshold chosen on k − 1 folds, accuracy measured on the k-th; mean and
    /// std over the k folds (LFW's own 10 folds for LFW's pairs.txt, else 10 equal blocks).
    pub fold_accuracy: f64,
    pub fold_accuracy_std: f64,
    /// Best-accuracy threshold on all pairs (what `predict` uses).
    pub threshold: f64,
}

/// LFW-style k-fold accuracy: mean and standard deviation over folds.
pub fn kfold_accuracy(scores: &[f64], labels: &[bool], k: usize) -> (f64, f64) {
    let n = scores.len();
    let k = k.clamp(2, n.max(2));
    let accs: Vec<f64> = (0..k)
        .filter_map(|f| {
            let test = |i: usize| i * k / n.max(1) == f;
            let (mut ts, mut tl, mut vs, mut vl) = (vec![], vec![], vec![], vec![]);
            for i in 0..n {
                if test(i) {
                    vs.push(scores[i]);
                    vl.push(labels[i]);
                } else {
                    ts.push(scores[i]);
                    tl.push(labels[i]);
                }
            }
            if vs.is_empty() {
                return None;
            }
            let (_, thr) = best_threshold_accuracy(&ts, &tl);
            Some(accuracy_at(&vs, &vl, thr))
        })
        .collect();
    let mean = accs.iter().sum::<f64>() / accs.len().max(1) as f64;
    let var = accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / accs.len().max(1) as f64;
    (mean, var.sqrt())
}

/// The verification metrics of scored pairs; the k-fold accuracy over `folds` contiguous blocks
/// of the pairs (LFW's folds when they are LFW's pairs in file order).
pub fn verify(scores: &[f64], labels: &[bool], folds: usize) -> Verification {
    let (fold_accuracy, fold_accuracy_std) = kfold_accuracy(scores, labels, folds);
    Verification {
        auc: roc_auc(scores, labels),
        eer: eer(scores, labels).0,
        tar_at_far_1e2: tar_at_far(scores, labels, 1e-2).0,
        tar_at_far_1e3: tar_at_far(scores, labels, 1e-3).0,
        fold_accuracy,
        fold_accuracy_std,
        threshold: best_threshold_accuracy(scores, labels).1,
    }
}

/// The ROC curve as verification benchmarks draw it: TAR against FAR on a log axis, with the
/// operating points TAR@FAR = 1e-2 and 1e-3 marked, and the number of impostor pairs in the
/// title (a FAR below 1 / impostors cannot be measured).
pub fn roc_picture(scores: &[f64], labels: &[bool]) -> Result<RgbImage, PlotError> {
    let impostors = labels.iter().filter(|l| !**l).count();
    let floor = 1.0 / impostors.max(1) as f64;
    let curve: Vec<(f64, f64)> = roc_curve(scores, labels)
        .into_iter()
        .map(|p| (p.fpr.max(floor / 2.0), p.tpr))
        .collect();
    let mut chart = Chart::new(
        &format!(
            "ROC, unseen identities ({} genuine / {impostors} impostor pairs)",
            labels.len() - impostors
        ),
        "false accept rate (log)",
        "true accept rate",
    )
    .series(Series::new("ROC", curve))
    .log_x()
    .x_range(floor / 2.0, 1.0)
    .y_range(0.0, 1.02);
    for far in [1e-2, 1e-3] {
        let (tar, _) = tar_at_far(scores, labels, far);
        if far >= floor && tar.is_finite() {
            chart = chart.mark(&format!("TAR@FAR={far:.0e}: {tar:.3}"), (far, tar));
        }
    }
    line_chart(&chart)
}

/// ‖f‖ of every face's unnormalised feature against its person (the first 30 people): how
/// much the magnitude varies within and between people, which a Euclidean distance sees and a
/// cosine does not.
pub fn norms_picture(norms: &[(u64, f64)], head: &str) -> Result<RgbImage, PlotError> {
    let points: Vec<(f64, f64)> = norms
        .iter()
        .filter(|(p, _)| *p < 30)
        .map(|&(p, n)| (p as f64, n))
        .collect();
    let chart = Chart::new(
        &format!("feature norm ‖f‖ per person ({head} head, unseen people)"),
        "person",
        "‖f‖",
    )
    .series(Series::new("one face", points));
    scatter(&chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kfold_by_hand() {
        // Perfectly separable at 0.5: every fold's threshold separates its test fold too.
        let scores: Vec<f64> = (0..20)
            .map(|i| {
                if i % 2 == 0 {
                    0.9 - i as f64 * 0.01
                } else {
                    0.1 + i as f64 * 0.01
                }
            })
            .collect();
        let labels: Vec<bool> = (0..20).map(|i| i % 2 == 0).collect();
        assert_eq!(kfold_accuracy(&scores, &labels, 10), (1.0, 0.0));
        let v = verify(&scores, &labels, 10);
        assert_eq!((v.auc, v.eer, v.tar_at_far_1e3), (1.0, 0.0, 1.0));
        // One negative scored above every positive: fold with it loses one of its 2 pairs.
        let mut s2 = scores.clone();
        s2[1] = 0.99;
        let (acc, _) = kfold_accuracy(&s2, &labels, 10);
        assert!((acc - 0.95).abs() < 1e-12, "{acc}");
    }
}
