//! COCO-style average precision (the `pycocotools` bbox protocol without crowd or area ranges):
//! per class, greedy matching by descending score at an IoU threshold, precision made
//! monotone, sampled at 101 recall points; AP@[.5:.95] is the mean over IoU 0.50..0.95.

/// A predicted box `[x, y, w, h]` in image `image` with a class and a score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub image: usize,
    pub class: usize,
    pub score: f64,
    pub bbox: [f64; 4],
}

/// A true box `[x, y, w, h]` in image `image`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroundTruth {
    pub image: usize,
    pub class: usize,
    pub bbox: [f64; 4],
}

/// AP@[.5:.95], AP50, AP75 and AP@[.5:.95] per class (`None` for a class with no true box).
#[derive(Debug, Clone, PartialEq)]
pub struct CocoSummary {
    pub ap: f64,
    pub ap50: f64,
    pub ap75: f64,
    pub per_class: Vec<Option<f64>>,
}

/// IoU of two `[x, y, w, h]` boxes.
pub fn iou_xywh(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    let iw = ((a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0])).max(0.0);
    let ih = ((a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let union = a[2] * a[3] + b[2] * b[3] - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// AP of one class at one IoU threshold (COCO's 101-point interpolation of [`pr_curve`]);
/// `None` when the class has no true box.
fn class_ap(
    dets: &[Detection],
    gts: &[GroundTruth],
    class: usize,
    iou_thr: f64,
    max_dets: usize,
) -> Option<f64> {
    let (recall, precision) = pr_curve(dets, gts, class, iou_thr, max_dets)?;
    let sum: f64 = (0..=100)
        .map(|r| {
            let r = r as f64 / 100.0;
            let idx = recall.partition_point(|&x| x < r);
            precision.get(idx).copied().unwrap_or(0.0)
        })
        .sum();
    Some(sum / 101.0)
}

/// Precision–recall curve of one class at one IoU threshold, detections by descending score:
/// (recall, precision made monotone from the right, as COCO does). At most `max_dets`
/// highest-scoring detections per image are kept. `None` when the class has no true box.
pub fn pr_curve(
    dets: &[Detection],
    gts: &[GroundTruth],
    class: usize,
    iou_thr: f64,
    max_dets: usize,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let gts: Vec<&GroundTruth> = gts.iter().filter(|g| g.class == class).collect();
    if gts.is_empty() {
        return None;
    }
    let mut dets: Vec<&Detection> = dets.iter().filter(|d| d.class == class).collect();
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut per_image_count = std::collections::HashMap::new();
    dets.retain(|d| {
        let c = per_image_count.entry(d.image).or_insert(0usize);
        *c += 1;
        *c <= max_dets
    });
    let mut matched = vec![false; gts.len()];
    let mut tp = Vec::with_capacity(dets.len());
    for d in &dets {
        let mut best: Option<(usize, f64)> = None;
        for (gi, g) in gts.iter().enumerate() {
            if g.image != d.image || matched[gi] {
                continue;
            }
            let iou = iou_xywh(&d.bbox, &g.bbox);
            if iou >= iou_thr && best.is_none_or(|(_, b)| iou > b) {
                best = Some((gi, iou));
            }
        }
        if let Some((gi, _)) = best {
            matched[gi] = true;
        }
        tp.push(best.is_some());
    }
    let npos = gts.len() as f64;
    let (mut ctp, mut cfp) = (0.0, 0.0);
    let mut recall = Vec::with_capacity(tp.len());
    let mut precision = Vec::with_capacity(tp.len());
    for &t in &tp {
        if t {
            ctp += 1.0;
        } else {
            cfp += 1.0;
        }
        recall.push(ctp / npos);
        precision.push(ctp / (ctp + cfp));
    }
    for i in (1..precision.len()).rev() {
        precision[i - 1] = precision[i - 1].max(precision[i]);
    }
    Some((recall, precision))
}

/// COCO-style evaluation over `num_classes` classes (max 100 detections per image).
pub fn coco_evaluate(dets: &[Detection], gts: &[GroundTruth], num_classes: usize) -> CocoSummary {
    let thresholds: Vec<f64> = (0..10).map(|i| 0.5 + 0.05 * i as f64).collect();
    let table: Vec<Vec<Option<f64>>> = (0..num_classes)
        .map(|c| {
            thresholds
                .iter()
                .map(|&t| class_ap(dets, gts, c, t, 100))
                .collect()
        })
        .collect();
    let mean = |v: Vec<f64>| {
        if v.is_empty() {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let at = |ti: usize| mean(table.iter().filter_map(|row| row[ti]).collect());
    let per_class: Vec<Option<f64>> = table
        .iter()
        .map(|row| {
            let v: Vec<f64> = row.iter().flatten().copied().collect();
            (!v.is_empty()).then(|| mean(v))
        })
        .collect();
    CocoSummary {
        ap: mean(per_class.iter().flatten().copied().collect()),
        ap50: at(0),
        ap75: at(5),
        per_class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_by_hand() {
        assert!((iou_xywh(&[0., 0., 2., 2.], &[1., 1., 2., 2.]) - 1.0 / 7.0).abs() < 1e-12);
        assert_eq!(iou_xywh(&[0., 0., 1., 1.], &[5., 5., 1., 1.]), 0.0);
    }

    #[test]
    fn ap_by_hand() {
        // Two true boxes; detections hit, miss, hit in score order.
        // recall [.5,.5,1], precision [1,.5,.667] -> monotone [1,.667,.667];
        // recall points 0..=.50 (51 of them) read 1, .51..=1 (50) read 2/3.
        let gts = [
            GroundTruth {
                image: 0,
                class: 0,
                bbox: [0., 0., 10., 10.],
            },
            GroundTruth {
                image: 0,
                class: 0,
                bbox: [20., 20., 10., 10.],
            },
        ];
        let dets = [
            Detection {
                image: 0,
                class: 0,
                score: 0.9,
                bbox: [0., 0., 10., 10.],
            },
            Detection {
                image: 0,
                class: 0,
                score: 0.8,
                bbox: [50., 50., 10., 10.],
            },
            Detection {
                image: 0,
                class: 0,
                score: 0.7,
                bbox: [20., 20., 10., 10.],
            },
        ];
        let expected = (51.0 + 50.0 * 2.0 / 3.0) / 101.0;
        let s = coco_evaluate(&dets, &gts, 2);
        assert!((s.ap50 - expected).abs() < 1e-12, "{}", s.ap50);
        assert!(
            (s.ap - expected).abs() < 1e-12,
            "exact boxes match at every IoU"
        );
        assert_eq!(s.per_class[1], None);
        // A box shifted so that IoU = 2/3 counts at .50, .55, .60 and .65 only.
        let shifted = [Detection {
            image: 0,
            class: 0,
            score: 0.9,
            bbox: [2., 0., 10., 10.],
        }];
        let one = [gts[0]];
        let iou = iou_xywh(&shifted[0].bbox, &one[0].bbox);
        assert!((iou - 2.0 / 3.0).abs() < 1e-12);
        let s = coco_evaluate(&shifted, &one, 1);
        assert!((s.ap50 - 1.0).abs() < 1e-12);
        assert_eq!(s.ap75, 0.0);
        assert!((s.ap - 0.4).abs() < 1e-12, "{}", s.ap);
    }
}
