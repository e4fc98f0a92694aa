//! Box geometry of a RetinaNet-style detector: anchors over the feature pyramid, the
//! (dx, dy, dw, dh) box coding of torchvision's `BoxCoder`, IoU-based anchor matching
//! (`Matcher` with low-quality matches) and its per-anchor targets, class-wise non-maximum
//! suppression; the post-processing from head outputs to detections is in `postprocess`.

pub use crate::postprocess::{postprocess, Det, DetectConfig};
pub use crate::targets::{BatchTargets, CocoSet, Targets};

/// A box as `[x1, y1, x2, y2]` in pixels.
pub type Xyxy = [f32; 4];

/// `[x, y, w, h]` (COCO) -> `[x1, y1, x2, y2]`.
pub fn xywh_to_xyxy(b: [f64; 4]) -> Xyxy {
    [
        b[0] as f32,
        b[1] as f32,
        (b[0] + b[2]) as f32,
        (b[1] + b[3]) as f32,
    ]
}

/// `[x1, y1, x2, y2]` -> `[x, y, w, h]` (COCO).
pub fn xyxy_to_xywh(b: Xyxy) -> [f64; 4] {
    [
        b[0] as f64,
        b[1] as f64,
        (b[2] - b[0]) as f64,
        (b[3] - b[1]) as f64,
    ]
}

/// Why a ground-truth box `[x, y, w, h]` cannot be trained on in a `width`×`height` picture (a
/// non-finite value, no positive width and height, or nothing left once clipped to the
/// picture), or `None`: the check every reader of boxes shares.
pub fn box_problem(xywh: [f64; 4], width: f64, height: f64) -> Option<String> {
    let [x, y, w, h] = xywh;
    if xywh.iter().any(|v| !v.is_finite()) || !(w > 0.0 && h > 0.0) {
        return Some("needs a positive width and height".into());
    }
    let inside_w = (x + w).min(width) - x.max(0.0);
    let inside_h = (y + h).min(height) - y.max(0.0);
    (inside_w <= 0.0 || inside_h <= 0.0).then(|| {
        format!("lies outside its {width}×{height} picture: clipped to it, it would be empty")
    })
}

pub fn area(b: &Xyxy) -> f32 {
    (b[2] - b[0]).max(0.0) * (b[3] - b[1]).max(0.0)
}

/// IoU of two boxes (kit's COCO IoU, so matching, NMS and AP agree on overlap).
pub fn iou(a: &Xyxy, b: &Xyxy) -> f32 {
    metrics::iou_xywh(&xyxy_to_xywh(*a), &xyxy_to_xywh(*b)) as f32
}

/// Anchors of a pyramid, in the order the heads emit them: level, then row, then column,
/// then (ratio, scale) — ratio-major like torchvision's `AnchorGenerator`.
#[derive(Debug, Clone, PartialEq)]
pub struct Anchors {
    pub boxes: Vec<Xyxy>,
    /// Anchors per location (= ratios × scales).
    pub per_location: usize,
    /// (stride, grid side) per level.
    pub levels: Vec<(u32, u32)>,
}

impl Anchors {
    /// Anchors for a `size`×`size` input over levels with `strides` (e.g. 8, 16, 32); the
    /// base side at level l is `base · 2^l`, times each scale, at each ratio h/w (area kept).
    pub fn new(size: u32, strides: &[u32], base: f64, ratios: &[f64], scales: &[f64]) -> Self {
        let mut shapes_per_level = Vec::new();
        for l in 0..strides.len() {
            let side = base * (1u64 << l) as f64;
            let mut shapes = Vec::new();
            for &r in ratios {
                for &s in scales {
                    let a = side * s;
                    let w = a / r.sqrt();
                    let h = a * r.sqrt();
                    shapes.push((w as f32, h as f32));
                }
            }
            shapes_per_level.push(shapes);
        }
        let mut boxes = Vec::new();
        let mut levels = Vec::new();
        for (&stride, shapes) in strides.iter().zip(&shapes_per_level) {
            let n = size.div_ceil(stride);
            levels.push((stride, n));
            for y in 0..n {
                for x in 0..n {
                    let (cx, cy) = (
                        (x as f32 + 0.5) * stride as f32,
                        (y as f32 + 0.5) * stride as f32,
                    );
                    for &(w, h) in shapes {
                        boxes.push([cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0]);
                    }
                }
            }
        }
        Self {
            boxes,
            per_location: ratios.len() * scales.len(),
            levels,
        }
    }

    pub fn len(&self) -> usize {
        self.boxes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }
}

/// Largest |dw|, |dh| accepted when decoding (torchvision: log(1000 / 16)).
pub const MAX_LOG_SCALE: f32 = 4.135_166_6;

/// Offsets of `gt` from `anchor`: ((gx − ax)/aw, (gy − ay)/ah, log(gw/aw), log(gh/ah)).
pub fn encode(anchor: &Xyxy, gt: &Xyxy) -> [f32; 4] {
    let (aw, ah) = (anchor[2] - anchor[0], anchor[3] - anchor[1]);
    let (ax, ay) = (anchor[0] + aw / 2.0, anchor[1] + ah / 2.0);
    let (gw, gh) = ((gt[2] - gt[0]).max(1e-3), (gt[3] - gt[1]).max(1e-3));
    let (gx, gy) = (gt[0] + gw / 2.0, gt[1] + gh / 2.0);
    [
        (gx - ax) / aw,
        (gy - ay) / ah,
        (gw / aw).ln(),
        (gh / ah).ln(),
    ]
}

/// Inverse of [`encode`] (scale offsets clamped as in torchvision).
pub fn decode(anchor: &Xyxy, d: &[f32; 4]) -> Xyxy {
    let (aw, ah) = (anchor[2] - anchor[0], anchor[3] - anchor[1]);
    let (ax, ay) = (anchor[0] + aw / 2.0, anchor[1] + ah / 2.0);
    let (cx, cy) = (ax + d[0] * aw, ay + d[1] * ah);
    let w = aw * d[2].min(MAX_LOG_SCALE).exp();
    let h = ah * d[3].min(MAX_LOG_SCALE).exp();
    [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0]
}

/// What one anchor is trained towards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Assignment {
    /// Background: all class targets 0.
    Negative,
    /// Between the IoU thresholds: no classification loss.
    Ignore,
    /// Foreground: index of the matched true box.
    Positive(usize),
}

/// RetinaNet matching: IoU ≥ `pos_iou` with its best box -> positive, < `neg_iou` ->
/// negative, else ignored; then each true box also claims the anchors of its highest IoU
/// (torchvision `Matcher(allow_low_quality_matches=True)`), so no object goes unmatched.
pub fn assign(anchors: &[Xyxy], gts: &[Xyxy], pos_iou: f32, neg_iou: f32) -> Vec<Assignment> {
    let mut best: Vec<(f32, usize)> = vec![(0.0, 0); anchors.len()];
    let mut gt_best = vec![0.0f32; gts.len()];
    for (a, anchor) in anchors.iter().enumerate() {
        for (g, gt) in gts.iter().enumerate() {
            let v = iou(anchor, gt);
            if v > best[a].0 {
                best[a] = (v, g);
            }
            gt_best[g] = gt_best[g].max(v);
        }
    }
    let mut out: Vec<Assignment> = best
        .iter()
        .map(|&(v, g)| {
            if gts.is_empty() || v < neg_iou {
                Assignment::Negative
            } else if v >= pos_iou {
                Assignment::Positive(g)
            } else {
                Assignment::Ignore
            }
        })
        .collect();
    for (g, gt) in gts.iter().enumerate() {
        if gt_best[g] <= 0.0 {
            continue;
        }
        for (a, anchor) in anchors.iter().enumerate() {
            if iou(anchor, gt) == gt_best[g] {
                out[a] = Assignment::Positive(best[a].1);
            }
        }
    }
    out
}

/// Greedy NMS: indices of kept boxes, by descending score; a box is dropped when its IoU with
/// a kept box exceeds `threshold` (torchvision `nms`).
pub fn nms(boxes: &[Xyxy], scores: &[f32], threshold: f32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut keep: Vec<usize> = Vec::new();
    for i in order {
        if keep.iter().all(|&k| iou(&boxes[k], &boxes[i]) <= threshold) {
            keep.push(i);
        }
    }
    keep
}

/// NMS within each class only (torchvision `batched_nms`); kept indices by descending score.
pub fn batched_nms(
    boxes: &[Xyxy],
    scores: &[f32],
    classes: &[usize],
    threshold: f32,
) -> Vec<usize> {
    let mut keep = Vec::new();
    let n_classes = classes.iter().max().map_or(0, |m| m + 1);
    for c in 0..n_classes {
        let idx: Vec<usize> = (0..boxes.len()).filter(|&i| classes[i] == c).collect();
        let b: Vec<Xyxy> = idx.iter().map(|&i| boxes[i]).collect();
        let s: Vec<f32> = idx.iter().map(|&i| scores[i]).collect();
        keep.extend(nms(&b, &s, threshold).into_iter().map(|k| idx[k]));
    }
    keep.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    keep
}

/// Clips a box to a `w`×`h` image.
pub fn clip(b: Xyxy, w: f32, h: f32) -> Xyxy {
    [
        b[0].clamp(0.0, w),
        b[1].clamp(0.0, h),
        b[2].clamp(0.0, w),
        b[3].clamp(0.0, h),
    ]
}

/// What the heads of one scene are trained towards, anchor by anchor (row-major (A, K) for
/// classes, (A, 4) for boxes).
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorTargets {
    /// 1 for the matched class of positive anchors, else 0.
    pub cls: Vec<f32>,
    /// Anchors that take part in the classification loss (not ignored).
    pub valid: Vec<bool>,
    pub positive: Vec<bool>,
    /// Encoded offsets of the matched box (0 where not positive).
    pub deltas: Vec<f32>,
}

/// Matches every anchor to the true `boxes` of one scene ([`assign`]) and encodes the
/// targets; `classes` must lie in `0..k`.
pub fn anchor_targets(
    anchors: &Anchors,
    boxes: &[Xyxy],
    classes: &[usize],
    k: usize,
    pos_iou: f32,
    neg_iou: f32,
) -> AnchorTargets {
    let n = anchors.len();
    let mut t = AnchorTargets {
        cls: vec![0.0; n * k],
        valid: vec![true; n],
        positive: vec![false; n],
        deltas: vec![0.0; n * 4],
    };
    for (a, m) in assign(&anchors.boxes, boxes, pos_iou, neg_iou)
        .into_iter()
        .enumerate()
    {
        match m {
            Assignment::Negative => {}
            Assignment::Ignore => t.valid[a] = false,
            Assignment::Positive(g) => {
                t.positive[a] = true;
                t.cls[a * k + classes[g]] = 1.0;
                t.deltas[a * 4..a * 4 + 4].copy_from_slice(&encode(&anchors.boxes[a], &boxes[g]));
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_by_hand() {
        // 10×10 boxes overlapping in a 5×10 strip: 50 / (100 + 100 − 50).
        assert!((iou(&[0., 0., 10., 10.], &[5., 0., 15., 10.]) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(iou(&[0., 0., 1., 1.], &[2., 2., 3., 3.]), 0.0);
    }

    #[test]
    fn encode_decode_round_trip() {
        let a = [10., 20., 42., 36.];
        let g = [5., 25., 30., 70.];
        let d = encode(&a, &g);
        // centre (26, 28) size 32×16 vs centre (17.5, 47.5) size 25×45.
        assert!((d[0] - (17.5 - 26.0) / 32.0).abs() < 1e-6);
        assert!((d[3] - (45.0f32 / 16.0).ln()).abs() < 1e-6);
        let back = decode(&a, &d);
        for k in 0..4 {
            assert!((back[k] - g[k]).abs() < 1e-4, "{back:?}");
        }
    }

    #[test]
    fn anchors_layout() {
        let a = Anchors::new(64, &[8, 16], 16.0, &[0.5, 1.0, 2.0], &[1.0]);
        assert_eq!(a.per_location, 3);
        assert_eq!(a.levels, vec![(8, 8), (16, 4)]);
        assert_eq!(a.len(), (64 + 16) * 3);
        // First location, ratio 1: a 16×16 box centred at (4, 4).
        assert_eq!(a.boxes[1], [-4., -4., 12., 12.]);
        // Ratio 2 (h/w) keeps the area: w = 16/√2, h = 16·√2.
        let b = a.boxes[2];
        assert!(((b[2] - b[0]) * (b[3] - b[1]) - 256.0).abs() < 1e-3);
        assert!((b[3] - b[1]) > (b[2] - b[0]));
        // Second level starts after the first level's 8·8·3 anchors, centred at (8, 8), 32 wide.
        assert_eq!(a.boxes[8 * 8 * 3 + 1], [-8., -8., 24., 24.]);
    }

    #[test]
    fn assignment_thresholds_and_low_quality_match() {
        let anchors = [
            [0., 0., 10., 10.],   // IoU 1 with gt 0
            [5., 0., 15., 10.],   // IoU 1/3 with gt 0: negative (< 0.4)
            [2., 0., 12., 10.],   // IoU 8/12 = 0.667 with gt 0: positive
            [3., 0., 13., 10.],   // IoU 7/13 = 0.538 with gt 0: positive
            [4., 0., 14., 10.],   // IoU 6/14 = 0.43: ignored
            [50., 50., 60., 60.], // IoU 4/24 with gt 1: its best anchor -> positive anyway
        ];
        let gts = [[0., 0., 10., 10.], [52., 52., 56., 56.]];
        let a = assign(&anchors, &gts, 0.5, 0.4);
        use Assignment::*;
        assert_eq!(
            a,
            vec![
                Positive(0),
                Negative,
                Positive(0),
                Positive(0),
                Ignore,
                Positive(1)
            ]
        );
        assert!(assign(&anchors, &[], 0.5, 0.4)
            .iter()
            .all(|&x| x == Negative));
    }

    #[test]
    fn nms_by_hand() {
        let boxes = [
            [0., 0., 10., 10.],
            [1., 0., 11., 10.], // IoU 0.818 with box 0
            [20., 20., 30., 30.],
            [5., 0., 15., 10.], // IoU 1/3 with box 0
        ];
        let scores = [0.9, 0.95, 0.5, 0.8];
        // Box 1 (best) suppresses box 0; box 3 has IoU 6/14 = 0.43 with box 1: kept at 0.5.
        assert_eq!(nms(&boxes, &scores, 0.5), vec![1, 3, 2]);
        assert_eq!(nms(&boxes, &scores, 0.4), vec![1, 2]);
        // Class-wise: box 0 is another class, so box 1 cannot suppress it.
        assert_eq!(
            batched_nms(&boxes, &scores, &[1, 0, 0, 0], 0.5),
            vec![1, 0, 3, 2]
        );
    }
}
