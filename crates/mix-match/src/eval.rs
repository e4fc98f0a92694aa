//! Each task's metric, accumulated over a dataset: COCO AP (detection), Dice and IoU per scene
//! (segmentation), and the −ELBO per image (generation); and the picture of one scene with
//! its boxes, mask and reconstruction side by side.

use image::{Rgb, RgbImage};
use scenes::boxes::{CocoSet, Det, Xyxy};
use serde::Serialize;

/// Accumulates what each task needs over a dataset (a task that is off adds nothing).
#[derive(Debug, Default)]
pub struct Collector {
    boxes: CocoSet,
    dice: Vec<f64>,
    iou: Vec<f64>,
    neg_elbo: Vec<f64>,
    rec: Vec<f64>,
    kl: Vec<f64>,
}

/// Dice 2|P∩T| / (|P| + |T|) and IoU |P∩T| / |P∪T| of one mask; both 1 when both are empty.
pub fn dice_iou(pred: &[bool], truth: &[bool]) -> (f64, f64) {
    let (mut inter, mut p, mut t) = (0usize, 0usize, 0usize);
    for (&a, &b) in pred.iter().zip(truth) {
        inter += usize::from(a && b);
        p += usize::from(a);
        t += usize::from(b);
    }
    if p + t == 0 {
        return (1.0, 1.0);
    }
    let i = inter as f64;
    (2.0 * i / (p + t) as f64, i / (p + t - inter) as f64)
}

impl Collector {
    /// One scene's detections against its true boxes and classes.
    pub fn add_detections(&mut self, dets: &[Det], truth: &[Xyxy], classes: &[usize]) {
        self.boxes.add(dets, truth, classes);
    }

    pub fn add_mask(&mut self, pred: &[bool], truth: &[bool]) {
        let (d, i) = dice_iou(pred, truth);
        self.dice.push(d);
        self.iou.push(i);
    }

    /// One image's reconstruction term −log p(x|z) and KL(q(z|x) ‖ p(z)), in nats.
    pub fn add_elbo(&mut self, rec: f64, kl: f64) {
        self.rec.push(rec);
        self.kl.push(kl);
        self.neg_elbo.push(rec + kl);
    }

    pub fn report(&self, classes: usize) -> Report {
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let coco = (self.boxes.images > 0).then(|| self.boxes.evaluate(classes));
        Report {
            ap: coco.as_ref().map(|c| c.ap),
            ap50: coco.as_ref().map(|c| c.ap50),
            ap75: coco.as_ref().map(|c| c.ap75),
            dice: mean(&self.dice),
            iou: mean(&self.iou),
            neg_elbo: mean(&self.neg_elbo),
            rec: mean(&self.rec),
            kl: mean(&self.kl),
            scenes: self.boxes.images.max(self.dice.len()).max(self.rec.len()),
        }
    }
}

/// The metrics of the tasks that are on (`None`: the task is off).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// COCO AP over IoU 0.5:0.95, and at IoU 0.5 and 0.75.
    pub ap: Option<f64>,
    pub ap50: Option<f64>,
    pub ap75: Option<f64>,
    /// Mean over scenes of the object mask's Dice and IoU (probability > 0.5).
    pub dice: Option<f64>,
    pub iou: Option<f64>,
    /// Mean over images of the one-sample −ELBO estimate (nats per image, β = 1): the
    /// Bernoulli reconstruction term on [0, 1] intensities plus the KL term.
    pub neg_elbo: Option<f64>,
    pub rec: Option<f64>,
    pub kl: Option<f64>,
    pub scenes: usize,
}

impl Report {
    /// The named values that are present, as kit logs them (`eval/<name>`).
    pub fn metrics(&self) -> Vec<(String, f64)> {
        [
            ("ap", self.ap),
            ("ap50", self.ap50),
            ("ap75", self.ap75),
            ("dice", self.dice),
            ("iou", self.iou),
            ("neg_elbo", self.neg_elbo),
            ("rec", self.rec),
            ("kl", self.kl),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect()
    }

    /// A markdown row: `| label | AP50 | AP | Dice | IoU | −ELBO |` (– where a task is off).
    pub fn markdown_row(&self, label: &str) -> String {
        let f = |v: Option<f64>, d: usize| v.map_or("–".into(), |v| format!("{v:.d$}"));
        format!(
            "| {label} | {} | {} | {} | {} | {} |",
            f(self.ap50, 3),
            f(self.ap, 3),
            f(self.dice, 3),
            f(self.iou, 3),
            f(self.neg_elbo, 1)
        )
    }
}

/// A colour per class for drawn boxes.
fn class_colour(class: usize) -> Rgb<u8> {
    const P: [[u8; 3]; 5] = [
        [255, 40, 40],
        [255, 160, 0],
        [60, 120, 255],
        [255, 0, 255],
        [0, 230, 230],
    ];
    Rgb(P[class % P.len()])
}

/// What one scene's picture shows: the input, and what each head made of it.
pub struct Panel<'a> {
    pub image: &'a RgbImage,
    /// Detections to draw (already above the show threshold), with class names.
    pub dets: Option<(&'a [Det], &'a [&'a str])>,
    /// Predicted object mask, and the true one when known.
    pub mask: Option<(&'a [bool], Option<&'a [bool]>)>,
    pub reconstruction: Option<&'a RgbImage>,
}

/// The input with boxes | the input tinted where the mask says "object" (true mask outlined in
/// green) | the reconstruction; scaled up `zoom` times, each part only when its task is on.
pub fn panel(p: &Panel, zoom: u32) -> RgbImage {
    let (w, h) = p.image.dimensions();
    let up = |img: &RgbImage| {
        image::imageops::resize(
            img,
            w * zoom,
            h * zoom,
            image::imageops::FilterType::Nearest,
        )
    };
    let mut parts: Vec<RgbImage> = Vec::new();
    let mut boxed = up(p.image);
    if let Some((dets, names)) = p.dets {
        let z = zoom as f32;
        for d in dets {
            let b = [d.bbox[0] * z, d.bbox[1] * z, d.bbox[2] * z, d.bbox[3] * z];
            let name = names.get(d.class).copied().unwrap_or("?");
            plot::draw::labelled_box(
                &mut boxed,
                b,
                class_colour(d.class),
                &format!("{name} {:.2}", d.score),
            );
        }
    }
    parts.push(boxed);
    if let Some((pred, truth)) = p.mask {
        let mut tinted = p.image.clone();
        for (px, &on) in tinted.pixels_mut().zip(pred) {
            if on {
                px.0 = [
                    (px.0[0] as u16 / 2 + 127) as u8,
                    px.0[1] / 2,
                    (px.0[2] as u16 / 2 + 127) as u8,
                ];
            }
        }
        let mut tinted = up(&tinted);
        if let Some(t) = truth {
            let big: Vec<bool> = (0..h * zoom)
                .flat_map(|y| (0..w * zoom).map(move |x| ((y / zoom) * w + x / zoom) as usize))
                .map(|i| t[i])
                .collect();
            plot::draw::outline(&mut tinted, &big, Rgb([0, 255, 0]));
        }
        parts.push(tinted);
    }
    if let Some(r) = p.reconstruction {
        parts.push(up(r));
    }
    kit::images::grid(&parts, parts.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_and_iou_by_hand() {
        // P = {0, 1, 2}, T = {1, 2, 3}: |P∩T| = 2, Dice = 4/6, IoU = 2/4.
        let p = [true, true, true, false, false];
        let t = [false, true, true, true, false];
        let (d, i) = dice_iou(&p, &t);
        assert!((d - 2.0 / 3.0).abs() < 1e-12 && (i - 0.5).abs() < 1e-12);
        assert_eq!(dice_iou(&[false; 3], &[false; 3]), (1.0, 1.0));
        assert_eq!(dice_iou(&[true, false], &[false, true]), (0.0, 0.0));
    }

    #[test]
    fn report_keeps_only_the_tasks_that_ran() {
        let mut c = Collector::default();
        c.add_mask(&[true, false], &[true, true]);
        c.add_elbo(10.0, 2.0);
        c.add_elbo(20.0, 4.0);
        let r = c.report(5);
        assert_eq!(r.ap50, None);
        assert!((r.dice.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(
            (r.neg_elbo, r.rec, r.kl),
            (Some(18.0), Some(15.0), Some(3.0))
        );
        let names: Vec<String> = r.metrics().into_iter().map(|m| m.0).collect();
        assert_eq!(names, ["dice", "iou", "neg_elbo", "rec", "kl"]);
        assert_eq!(r.markdown_row("x"), "| x | – | – | 0.667 | 0.500 | 18.0 |");
    }
}
