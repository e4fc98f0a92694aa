//! What a batch of scenes is trained towards and scored against, shared by every app with a
//! RetinaNet-style head (detect-focal, mix-match): the stacked anchor targets of a batch
//! ([`Targets::stack`]) and the COCO collection of detections ([`CocoSet`]).

use crate::boxes::{anchor_targets, xyxy_to_xywh, Anchors, Det, Xyxy};

/// Detections and true boxes gathered image by image, as the COCO evaluator
/// ([`metrics::coco_evaluate`]) takes them: what detect-focal and mix-match both collect.
#[derive(Debug, Default)]
pub struct CocoSet {
    pub dets: Vec<metrics::Detection>,
    pub gts: Vec<metrics::GroundTruth>,
    pub images: usize,
}

impl CocoSet {
    /// One image's detections against its true boxes and classes.
    pub fn add(&mut self, dets: &[Det], truth: &[Xyxy], classes: &[usize]) {
        let image = self.images;
        self.images += 1;
        self.dets.extend(dets.iter().map(|d| metrics::Detection {
            image,
            class: d.class,
            score: d.score as f64,
            bbox: xyxy_to_xywh(d.bbox),
        }));
        self.gts.extend(
            truth
                .iter()
                .zip(classes)
                .map(|(b, &c)| metrics::GroundTruth {
                    image,
                    class: c,
                    bbox: xyxy_to_xywh(*b),
                }),
        );
    }

    /// COCO AP, AP50, AP75 and per-class AP over `classes` classes.
    pub fn evaluate(&self, classes: usize) -> metrics::CocoSummary {
        metrics::coco_evaluate(&self.dets, &self.gts, classes)
    }
}

/// How anchors are matched to true boxes, for every app that trains a RetinaNet-style head:
/// IoU ≥ `pos_iou` with a true box is positive, below `neg_iou` negative, between ignored.
pub struct Targets {
    pub anchors: std::sync::Arc<Anchors>,
    pub classes: usize,
    pub pos_iou: f32,
    pub neg_iou: f32,
}

/// A batch's anchor targets ([`AnchorTargets`](crate::boxes::AnchorTargets) of each scene, stacked).
pub struct BatchTargets {
    /// (N, A, K): 1 for the matched class of positive anchors, else 0.
    pub cls: tch::Tensor,
    /// (N, A) bool: anchors that take part in the classification loss (not ignored).
    pub valid: tch::Tensor,
    /// (N, A) bool: positive anchors.
    pub positive: tch::Tensor,
    /// (N, A, 4): encoded offsets of the matched box (0 where not positive).
    pub deltas: tch::Tensor,
}

impl Targets {
    /// Every anchor of every scene matched and encoded; a class outside `0..classes` is an
    /// error that says so.
    pub fn stack(
        &self,
        scenes: &[crate::render::Scene],
    ) -> Result<BatchTargets, kit::data::DataError> {
        let (n, a_n, k) = (scenes.len(), self.anchors.len(), self.classes);
        let mut cls = Vec::with_capacity(n * a_n * k);
        let (mut valid, mut pos) = (Vec::with_capacity(n * a_n), Vec::with_capacity(n * a_n));
        let mut deltas = Vec::with_capacity(n * a_n * 4);
        for s in scenes {
            if let Some(&c) = s.classes.iter().find(|&&c| c >= k) {
                return Err(kit::data::DataError::Other(format!(
                    "class index {c} but the model has {k} classes"
                )));
            }
            let at = anchor_targets(
                &self.anchors,
                &s.boxes,
                &s.classes,
                k,
                self.pos_iou,
                self.neg_iou,
            );
            cls.extend(at.cls);
            valid.extend(at.valid);
            pos.extend(at.positive);
            deltas.extend(at.deltas);
        }
        let (n, a_n, k) = (n as i64, a_n as i64, k as i64);
        Ok(BatchTargets {
            cls: tch::Tensor::from_slice(&cls).view([n, a_n, k]),
            valid: tch::Tensor::from_slice(&valid).view([n, a_n]),
            positive: tch::Tensor::from_slice(&pos).view([n, a_n]),
            deltas: tch::Tensor::from_slice(&deltas).view([n, a_n, 4]),
        })
    }
}
