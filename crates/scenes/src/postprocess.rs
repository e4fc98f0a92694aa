//! From a RetinaNet's head outputs to detections: decode, score threshold, top-k, class-wise
//! NMS, at most `max_detections` ([`postprocess`]), with its settings ([`DetectConfig`]).

use crate::boxes::{batched_nms, clip, decode, Anchors, Xyxy};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DetectConfig {
    /// Candidates below this score are dropped before NMS (COCO eval: 0.05).
    pub score_threshold: f64,
    /// Candidates kept per image before NMS.
    pub pre_nms_top_k: usize,
    /// Class-wise NMS IoU threshold.
    pub nms_iou: f64,
    /// Detections kept per image after NMS (COCO: 100).
    pub max_detections: usize,
    /// Boxes drawn in pictures and printed by `predict` need at least this score.
    pub show_threshold: f64,
}

/// One detected object in model-input pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Det {
    pub bbox: Xyxy,
    pub class: usize,
    pub score: f32,
}

/// RetinaNet post-processing for one image: `scores` (A·K, sigmoid) and `deltas` (A·4) in
/// anchor order -> candidates above `score_threshold`, the `pre_nms_top_k` best decoded and
/// clipped, class-wise NMS, at most `max_detections` by score.
pub fn postprocess(
    scores: &[f32],
    deltas: &[f32],
    anchors: &Anchors,
    classes: usize,
    cfg: &DetectConfig,
    size: f32,
) -> Vec<Det> {
    let mut cand: Vec<(usize, usize, f32)> = scores
        .iter()
        .enumerate()
        .filter(|(_, &s)| s as f64 > cfg.score_threshold)
        .map(|(j, &s)| (j / classes, j % classes, s))
        .collect();
    cand.sort_by(|a, b| b.2.total_cmp(&a.2));
    cand.truncate(cfg.pre_nms_top_k);
    let boxes: Vec<Xyxy> = cand
        .iter()
        .map(|&(a, _, _)| {
            let d = [
                deltas[a * 4],
                deltas[a * 4 + 1],
                deltas[a * 4 + 2],
                deltas[a * 4 + 3],
            ];
            clip(decode(&anchors.boxes[a], &d), size, size)
        })
        .collect();
    let sc: Vec<f32> = cand.iter().map(|c| c.2).collect();
    let cl: Vec<usize> = cand.iter().map(|c| c.1).collect();
    let mut keep = batched_nms(&boxes, &sc, &cl, cfg.nms_iou as f32);
    keep.truncate(cfg.max_detections);
    keep.into_iter()
        .map(|i| Det {
            bbox: boxes[i],
            class: cl[i],
            score: sc[i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> DetectConfig {
        DetectConfig {
            score_threshold: 0.05,
            pre_nms_top_k: 1000,
            nms_iou: 0.5,
            max_detections: 100,
            show_threshold: 0.3,
        }
    }

    #[test]
    fn postprocess_by_hand() {
        // Two overlapping anchors and one far away; 2 classes.
        let anchors = Anchors {
            boxes: vec![[0., 0., 10., 10.], [1., 0., 11., 10.], [30., 30., 40., 40.]],
            per_location: 1,
            levels: vec![(8, 1)],
        };
        let scores = [0.9, 0.01, 0.8, 0.7, 0.02, 0.04];
        let deltas = [0.0; 12];
        let d = postprocess(&scores, &deltas, &anchors, 2, &cfg(), 64.0);
        // Class 0: anchors 0 (0.9) and 1 (0.8) overlap (IoU 0.82) -> one kept. Class 1:
        // anchor 1 (0.7) is alone in its class. Anchor 2 is below 0.05 everywhere.
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].class, d[0].score, d[0].bbox),
            (0, 0.9, [0., 0., 10., 10.])
        );
        assert_eq!((d[1].class, d[1].score), (1, 0.7));
    }
}
