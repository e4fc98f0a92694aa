//! Verification metrics on scores (higher = more likely positive) and binary labels.

/// One operating point: accept when `score >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RocPoint {
    pub threshold: f64,
    pub fpr: f64,
    pub tpr: f64,
}

/// ROC curve from the strictest threshold (+inf: nothing accepted) down to the loosest; tied
/// scores form one point. Returns an empty curve when either class is missing.
pub fn roc_curve(scores: &[f64], labels: &[bool]) -> Vec<RocPoint> {
    assert_eq!(
        scores.len(),
        labels.len(),
        "scores and labels differ in length"
    );
    let pos = labels.iter().filter(|l| **l).count() as f64;
    let neg = labels.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = vec![RocPoint {
        threshold: f64::INFINITY,
        fpr: 0.0,
        tpr: 0.0,
    }];
    let (mut tp, mut fp) = (0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_tie {
            points.push(RocPoint {
                threshold: scores[i],
                fpr: fp / neg,
                tpr: tp / pos,
            });
        }
    }
    points
}

/// Area under the ROC curve (trapezoids, so ties count one half); NaN if a class is missing.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let c = roc_curve(scores, labels);
    if c.is_empty() {
        return f64::NAN;
    }
    c.windows(2)
        .map(|w| (w[1].fpr - w[0].fpr) * (w[1].tpr + w[0].tpr) / 2.0)
        .sum()
}

/// Equal error rate: where the false-accept rate equals the false-reject rate (1 − TPR),
/// linearly interpolated between ROC points. Returns (eer, threshold of the nearer ROC point).
pub fn eer(scores: &[f64], labels: &[bool]) -> (f64, f64) {
    let c = roc_curve(scores, labels);
    for w in c.windows(2) {
        let (a, b) = (w[0], w[1]);
        let da = a.fpr - (1.0 - a.tpr);
        let db = b.fpr - (1.0 - b.tpr);
        if da <= 0.0 && db >= 0.0 {
            let t = if db - da > 0.0 { -da / (db - da) } else { 0.0 };
            let rate = a.fpr + t * (b.fpr - a.fpr);
            let threshold = if t < 0.5 { a.threshold } else { b.threshold };
            return (rate, threshold);
        }
    }
    (f64::NAN, f64::NAN)
}

/// True-accept rate at a false-accept rate: the highest TPR over thresholds with FPR ≤ `far`.
/// Returns (tar, threshold).
pub fn tar_at_far(scores: &[f64], labels: &[bool], far: f64) -> (f64, f64) {
    roc_curve(scores, labels)
        .into_iter()
        .filter(|p| p.fpr <= far)
        .map(|p| (p.tpr, p.threshold))
        .fold((f64::NAN, f64::NAN), |best, p| {
            if best.0.is_nan() || p.0 > best.0 {
                p
            } else {
                best
            }
        })
}

/// Accuracy at a fixed threshold (accept when `score >= threshold`): the share of pairs whose
/// decision matches the label; 0 for no pairs.
pub fn accuracy_at(scores: &[f64], labels: &[bool], threshold: f64) -> f64 {
    let right = scores
        .iter()
        .zip(labels)
        .filter(|(s, l)| (**s >= threshold) == **l)
        .count();
    right as f64 / scores.len().max(1) as f64
}

/// Best accuracy over thresholds (accept when `score >= threshold`), with that threshold
/// (placed midway between the lowest accepted score and the next one below);
/// the building block of LFW-style k-fold verification accuracy.
pub fn best_threshold_accuracy(scores: &[f64], labels: &[bool]) -> (f64, f64) {
    let n = scores.len() as f64;
    let pos = labels.iter().filter(|l| **l).count() as f64;
    let neg = n - pos;
    let curve = roc_curve(scores, labels);
    curve
        .iter()
        .enumerate()
        .map(|(i, p)| {
            // Midway to the next lower score, so that unseen scores just below the lowest
            // accepted one are treated like the scores they sit between.
            let threshold = match curve.get(i + 1) {
                Some(next) if p.threshold.is_finite() => (p.threshold + next.threshold) / 2.0,
                _ => p.threshold,
            };
            ((p.tpr * pos + (1.0 - p.fpr) * neg) / n, threshold)
        })
        .fold((f64::NAN, f64::NAN), |best, p| {
            if best.0.is_nan() || p.0 > best.0 {
                p
            } else {
                best
            }
        })
}

/// One operating point of [`all_pairs_tar`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FarPoint {
    pub far: f64,
    pub tar: f64,
    pub threshold: f64,
    /// Impostor pairs this FAR lets through, ⌊far × impostors⌋: 0 means the FAR is below what
    /// the set can measure (TAR then is at "no false accept at all").
    pub false_accepts: usize,
}

/// Verification over every pair i < j of a gallery, as large benchmarks (IJB, MegaFace)
/// report it: genuine = same identity.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AllPairs {
    pub genuine: usize,
    pub impostor: usize,
    pub points: Vec<FarPoint>,
}

/// TAR at each of `fars` over all pairs of `ids.len()` items, from their similarity matrix
/// `sim` (row-major, n × n; only i < j is read).
pub fn all_pairs_tar(sim: &[f64], ids: &[u64], fars: &[f64]) -> AllPairs {
    let n = ids.len();
    assert_eq!(sim.len(), n * n, "the similarity matrix must be n × n");
    let mut scores = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    let mut labels = Vec::with_capacity(scores.capacity());
    for i in 0..n {
        for j in i + 1..n {
            scores.push(sim[i * n + j]);
            labels.push(ids[i] == ids[j]);
        }
    }
    let genuine = labels.iter().filter(|l| **l).count();
    let impostor = labels.len() - genuine;
    let points = fars
        .iter()
        .map(|&far| {
            let (tar, threshold) = tar_at_far(&scores, &labels, far);
            FarPoint {
                far,
                tar,
                threshold,
                false_accepts: (far * impostor as f64 + 1e-9).floor() as usize,
            }
        })
        .collect();
    AllPairs {
        genuine,
        impostor,
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_at_a_fixed_threshold_by_hand() {
        // 0.9 same ✓, 0.1 different ✓, 0.6 different ✗ (accepted), 0.5 same ✓ (>= is accept).
        let (s, l) = ([0.9, 0.1, 0.6, 0.5], [true, false, false, true]);
        assert_eq!(accuracy_at(&s, &l, 0.5), 0.75);
        assert_eq!(accuracy_at(&[], &[], 0.5), 0.0);
    }

    #[test]
    fn all_pairs_by_hand() {
        // Items 0, 1 are one person, 2, 3 another. Genuine pairs: (0,1) 0.9, (2,3) 0.5;
        // impostors: (0,2) 0.6, (0,3) 0.1, (1,2) 0.2, (1,3) 0.3.
        #[rustfmt::skip]
        let sim = [
            1.0, 0.9, 0.6, 0.1,
            0.9, 1.0, 0.2, 0.3,
            0.6, 0.2, 1.0, 0.5,
            0.1, 0.3, 0.5, 1.0,
        ];
        let r = all_pairs_tar(&sim, &[7, 7, 3, 3], &[0.1, 0.25, 0.5]);
        assert_eq!((r.genuine, r.impostor), (2, 4));
        // FAR 0.1 allows no impostor: only 0.9 passes (threshold 0.9). FAR 0.25 allows one,
        // (0,2) = 0.6, so the threshold can drop to 0.5 and both genuine pairs pass; FAR 0.5
        // gains nothing more.
        let tars: Vec<(f64, usize)> = r.points.iter().map(|p| (p.tar, p.false_accepts)).collect();
        assert_eq!(tars, [(0.5, 0), (1.0, 1), (1.0, 2)]);
        assert_eq!((r.points[0].threshold, r.points[1].threshold), (0.9, 0.5));
    }

    #[test]
    fn auc_by_hand() {
        // 3 of the 4 positive/negative pairs are ordered correctly.
        let s = [0.1, 0.4, 0.35, 0.8];
        let l = [false, false, true, true];
        assert!((roc_auc(&s, &l) - 0.75).abs() < 1e-12);
        // A tie between a positive and a negative counts one half.
        assert!((roc_auc(&[0.5, 0.5], &[true, false]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn eer_and_tar_by_hand() {
        let s = [0.9, 0.8, 0.3, 0.7, 0.2, 0.1];
        let l = [true, true, true, false, false, false];
        let (e, thr) = eer(&s, &l);
        assert!((e - 1.0 / 3.0).abs() < 1e-12, "{e}");
        assert_eq!(thr, 0.7);
        assert_eq!(tar_at_far(&s, &l, 0.0), (2.0 / 3.0, 0.8));
        assert_eq!(tar_at_far(&s, &l, 0.34), (1.0, 0.3));
        let (acc, t) = best_threshold_accuracy(&s, &l);
        assert!((acc - 5.0 / 6.0).abs() < 1e-12);
        assert!((t - 0.75).abs() < 1e-12, "{t}");
    }
}
