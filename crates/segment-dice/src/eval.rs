//! The field's metrics: per-case Dice and IoU on slices with tumour (mean over them),
//! false-positive rate on slices without, pixel accuracy (to show why it misleads), and the
//! 95th-percentile Hausdorff distance (MONAI's definition) where both masks are non-empty.

use crate::volumes::{assemble, Volumes};
use image::{Rgb, RgbImage};
use metrics::volume::{hd95_3d, Grid};
use metrics::{dice, iou};
use serde::Serialize;

/// Accumulates per-slice results.
#[derive(Debug, Default, Clone)]
pub struct Scores {
    dice: Vec<f64>,
    iou: Vec<f64>,
    hd95: Vec<f64>,
    empty_slices: usize,
    false_positive_slices: usize,
    correct_pixels: usize,
    background_pixels: usize,
    pixels: usize,
}

/// The summary printed by `eval` and logged to TensorBoard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub dice: f64,
    pub iou: f64,
    pub fp_rate: f64,
    pub pixel_accuracy: f64,
    /// Pixel accuracy of predicting background everywhere (Dice 0): the trap.
    pub all_background_pixel_accuracy: f64,
    pub hd95: f64,
    /// Share of tumour slices where nothing is predicted: 1 = collapsed to all background.
    pub missed_rate: f64,
    pub tumour_slices: usize,
    pub empty_slices: usize,
    /// Per-volume scores, for NIfTI volumes (what MONAI reports for BraTS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volumes: Option<VolumeReport>,
}

/// One volume's foreground (class > 0) scored in 3-D.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeScore {
    pub name: String,
    /// NaN when the volume has no foreground (MONAI `DiceMetric(ignore_empty=True)`).
    pub dice: f64,
    /// NaN when the prediction or the truth is empty.
    pub hd95_mm: f64,
    pub truth_ml: f64,
    pub predicted_ml: f64,
}

/// The means over volumes (NaN entries left out) and every volume's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeReport {
    pub dice_3d: f64,
    pub hd95_mm: f64,
    pub volumes: usize,
    pub per_volume: Vec<VolumeScore>,
}

/// Scores one volume: 3-D Dice and HD95 (mm, with the header's voxel size), and the two
/// foreground volumes in millilitres.
pub fn score_volume(name: &str, pred: &[bool], truth: &[bool], grid: Grid) -> VolumeScore {
    let ml = |m: &[bool]| {
        m.iter().filter(|&&v| v).count() as f64 * grid.spacing.iter().product::<f64>() / 1000.0
    };
    VolumeScore {
        name: name.to_string(),
        dice: if truth.iter().any(|&t| t) {
            dice(pred, truth)
        } else {
            f64::NAN
        },
        hd95_mm: hd95_3d(pred, truth, grid),
        truth_ml: ml(truth),
        predicted_ml: ml(pred),
    }
}

/// Scores every volume of a set from its slices' predictions (in the set's order).
pub fn score_volumes(set: &Volumes, slice_preds: &[Vec<bool>]) -> VolumeReport {
    let rows = set
        .volumes
        .iter()
        .map(|v| {
            let size = set.examples.get(v.first).map_or(0, |e| e.size as usize);
            let slices: Vec<&[bool]> = slice_preds[v.first..v.first + v.slices]
                .iter()
                .map(Vec::as_slice)
                .collect();
            let pred = assemble(&slices, v.dims, set.axis, size);
            let grid = Grid {
                dims: v.dims,
                spacing: v.spacing,
            };
            score_volume(&v.name, &pred, &v.truth, grid)
        })
        .collect();
    VolumeReport::new(rows)
}

impl VolumeReport {
    pub fn new(per_volume: Vec<VolumeScore>) -> Self {
        let mean = |f: fn(&VolumeScore) -> f64| {
            let v: Vec<f64> = per_volume.iter().map(f).filter(|v| !v.is_nan()).collect();
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        Self {
            dice_3d: mean(|s| s.dice),
            hd95_mm: mean(|s| s.hd95_mm),
            volumes: per_volume.len(),
            per_volume,
        }
    }
}

impl Scores {
    /// Adds one slice (`size × size` row-major binary masks).
    pub fn add(&mut self, pred: &[bool], truth: &[bool], size: usize) {
        self.pixels += truth.len();
        self.background_pixels += truth.iter().filter(|&&t| !t).count();
        self.correct_pixels += pred.iter().zip(truth).filter(|(p, t)| p == t).count();
        if truth.iter().any(|&t| t) {
            self.dice.push(dice(pred, truth));
            self.iou.push(iou(pred, truth));
            if pred.iter().any(|&p| p) {
                self.hd95.push(hd95(pred, truth, size));
            }
        } else {
            self.empty_slices += 1;
            if pred.iter().any(|&p| p) {
                self.false_positive_slices += 1;
            }
        }
    }

    pub fn report(&self) -> Report {
        let mean = |v: &[f64]| {
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        Report {
            dice: mean(&self.dice),
            iou: mean(&self.iou),
            fp_rate: if self.empty_slices == 0 {
                f64::NAN
            } else {
                self.false_positive_slices as f64 / self.empty_slices as f64
            },
            pixel_accuracy: self.correct_pixels as f64 / self.pixels.max(1) as f64,
            all_background_pixel_accuracy: self.background_pixels as f64
                / self.pixels.max(1) as f64,
            hd95: mean(&self.hd95),
            // hd95 holds one value per tumour slice with a non-empty prediction.
            missed_rate: if self.dice.is_empty() {
                f64::NAN
            } else {
                1.0 - self.hd95.len() as f64 / self.dice.len() as f64
            },
            tumour_slices: self.dice.len(),
            empty_slices: self.empty_slices,
            volumes: None,
        }
    }
}

impl Report {
    pub fn metrics(&self) -> Vec<(String, f64)> {
        let volumes = self.volumes.iter().flat_map(|v| {
            [
                ("dice_3d".to_string(), v.dice_3d),
                ("hd95_mm".to_string(), v.hd95_mm),
            ]
        });
        volumes
            .chain([
                ("dice".into(), self.dice),
                ("iou".into(), self.iou),
                ("fp_rate".into(), self.fp_rate),
                ("pixel_accuracy".into(), self.pixel_accuracy),
                ("hd95".into(), self.hd95),
                ("missed_rate".into(), self.missed_rate),
                (
                    "all_background_pixel_accuracy".into(),
                    self.all_background_pixel_accuracy,
                ),
            ])
            .collect()
    }
}

/// 95th-percentile Hausdorff distance in pixels between the boundaries of two non-empty masks
/// (MONAI `compute_hausdorff_distance(percentile=95)`): the same computation as the 3-D HD95
/// of NIfTI volumes, on a grid one voxel thick.
pub use metrics::volume::hd95_2d as hd95;

/// The slice in gray, the true tumour outlined in green, the prediction tinted red.
pub fn overlay(image: &[u8], truth: Option<&[bool]>, pred: &[bool], size: u32) -> RgbImage {
    let mut img = RgbImage::from_fn(size, size, |x, y| {
        let i = (y * size + x) as usize;
        let g = image[i];
        if pred[i] {
            Rgb([g / 2 + 127, g / 2, g / 2])
        } else {
            Rgb([g, g, g])
        }
    });
    plot::draw::outline(&mut img, pred, Rgb([255, 40, 40]));
    if let Some(t) = truth {
        plot::draw::outline(&mut img, t, Rgb([0, 255, 0]));
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_by_hand() {
        let mut s = Scores::default();
        // 4×4 slice with a 2-pixel tumour, prediction hits one pixel and adds one.
        let mut truth = vec![false; 16];
        truth[5] = true;
        truth[6] = true;
        let mut pred = vec![false; 16];
        pred[5] = true;
        pred[9] = true;
        s.add(&pred, &truth, 4);
        // An empty slice with one false-positive pixel, and a clean empty slice.
        let mut fp = vec![false; 16];
        fp[0] = true;
        s.add(&fp, &[false; 16], 4);
        s.add(&[false; 16], &[false; 16], 4);
        let r = s.report();
        assert!((r.dice - 0.5).abs() < 1e-12); // 2·1 / (2 + 2)
        assert!((r.iou - 1.0 / 3.0).abs() < 1e-12);
        assert!((r.fp_rate - 0.5).abs() < 1e-12);
        // 48 pixels, wrong: 2 in slice 1, 1 in slice 2.
        assert!((r.pixel_accuracy - 45.0 / 48.0).abs() < 1e-12);
        assert!((r.all_background_pixel_accuracy - 46.0 / 48.0).abs() < 1e-12);
        assert_eq!((r.tumour_slices, r.empty_slices), (1, 2));
        assert_eq!(r.missed_rate, 0.0); // the one tumour slice has a prediction
                                        // Boundaries {(1,1),(1,2)} vs {(1,1),(2,1)}: directed distances {0, 1} both ways;
                                        // numpy.percentile([0, 1], 95) = 0.95.
        assert!((r.hd95 - 0.95).abs() < 1e-12, "{}", r.hd95);
    }

    #[test]
    fn all_background_has_high_pixel_accuracy_and_zero_dice() {
        let mut s = Scores::default();
        let mut truth = vec![false; 10_000];
        truth[..10].iter_mut().for_each(|t| *t = true);
        s.add(&vec![false; 10_000], &truth, 100);
        let r = s.report();
        assert_eq!(r.dice, 0.0);
        assert_eq!(r.missed_rate, 1.0);
        assert!((r.pixel_accuracy - 0.999).abs() < 1e-12);
    }
}
