//! Verification metrics on pairs of unseen identities (ROC-AUC, EER, TAR@FAR, LFW-style
//! 10-fold accuracy) and the ROC picture.

use image::{Rgb, RgbImage};
use kit::metrics::{best_threshold_accuracy, eer, roc_auc, roc_curve, tar_at_far};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    pub auc: f64,
    pub eer: f64,
    pub tar_at_far_1e2: f64,
    pub tar_at_far_1e3: f64,
    /// LFW protocol: threshold chosen on 9 folds, accuracy measured on the 10th; mean and std.
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
            Some(
                vs.iter()
                    .zip(&vl)
                    .filter(|(s, l)| (**s >= thr) == **l)
                    .count() as f64
                    / vs.len() as f64,
            )
        })
        .collect();
    let mean = accs.iter().sum::<f64>() / accs.len().max(1) as f64;
    let var = accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / accs.len().max(1) as f64;
    (mean, var.sqrt())
}

pub fn verify(scores: &[f64], labels: &[bool]) -> Verification {
    let (fold_accuracy, fold_accuracy_std) = kfold_accuracy(scores, labels, 10);
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

/// The ROC curve (TPR against FPR) as a 256×256 picture, with the chance diagonal.
pub fn roc_picture(scores: &[f64], labels: &[bool]) -> RgbImage {
    let n = 256u32;
    let mut img = RgbImage::from_pixel(n, n, Rgb([255, 255, 255]));
    let to_px = |v: f64| ((v.clamp(0.0, 1.0) * (n - 1) as f64).round()) as u32;
    for i in 0..n {
        img.put_pixel(i, n - 1 - i, Rgb([200, 200, 200]));
    }
    let curve = roc_curve(scores, labels);
    for w in curve.windows(2) {
        let steps = 64;
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let (x, y) = (
                w[0].fpr + t * (w[1].fpr - w[0].fpr),
                w[0].tpr + t * (w[1].tpr - w[0].tpr),
            );
            img.put_pixel(to_px(x), n - 1 - to_px(y), Rgb([200, 30, 30]));
        }
    }
    img
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
        let v = verify(&scores, &labels);
        assert_eq!((v.auc, v.eer, v.tar_at_far_1e3), (1.0, 0.0, 1.0));
        // One negative scored above every positive: fold with it loses one of its 2 pairs.
        let mut s2 = scores.clone();
        s2[1] = 0.99;
        let (acc, _) = kfold_accuracy(&s2, &labels, 10);
        assert!((acc - 0.95).abs() < 1e-12, "{acc}");
    }
}
