//! From network outputs to detections (decode, threshold, class-wise NMS), the COCO-style
//! report, and pictures with predicted and true boxes.

use crate::boxes::{CocoSet, Xyxy};
use image::{Rgb, RgbImage};
use metrics::pr_curve;
use plot::{line_chart, Chart, PlotError, Series};
pub use scenes::boxes::{postprocess, Det};
use serde::Serialize;

/// Accumulates detections and true boxes over a dataset.
#[derive(Debug, Default)]
pub struct Collector {
    set: CocoSet,
}

impl Collector {
    pub fn add(&mut self, dets: &[Det], truth: &[Xyxy], classes: &[usize]) {
        self.set.add(dets, truth, classes);
    }

    /// Precision against recall per class at IoU 0.5 (the COCO-style PR figure).
    pub fn pr_picture(&self, class_names: &[String]) -> Result<RgbImage, PlotError> {
        let mut chart = Chart::new("precision–recall per class, IoU 0.5", "recall", "precision")
            .x_range(0.0, 1.0)
            .y_range(0.0, 1.02);
        for (c, name) in class_names.iter().enumerate() {
            if let Some((r, p)) = pr_curve(&self.set.dets, &self.set.gts, c, 0.5, 100) {
                let pts = std::iter::once((0.0, p.first().copied().unwrap_or(0.0)))
                    .chain(r.into_iter().zip(p))
                    .collect();
                chart = chart.series(Series::new(name.as_str(), pts));
            }
        }
        line_chart(&chart)
    }

    pub fn report(&self, class_names: &[String]) -> Report {
        let s = self.set.evaluate(class_names.len());
        Report {
            ap: s.ap,
            ap50: s.ap50,
            ap75: s.ap75,
            per_class: class_names.iter().cloned().zip(s.per_class).collect(),
            images: self.set.images,
            objects: self.set.gts.len(),
            detections: self.set.dets.len(),
            negative_loss_share: f64::NAN,
            negative_loss_share_ce: f64::NAN,
        }
    }
}

/// COCO-style summary of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// AP averaged over IoU 0.50:0.05:0.95 and classes.
    pub ap: f64,
    pub ap50: f64,
    pub ap75: f64,
    /// AP@[.5:.95] per class (None: no true box of that class).
    pub per_class: Vec<(String, Option<f64>)>,
    pub images: usize,
    pub objects: usize,
    pub detections: usize,
    /// Share of the run's classification loss (its γ, α) that comes from negative anchors.
    pub negative_loss_share: f64,
    /// The same share under plain cross-entropy, for the same outputs.
    pub negative_loss_share_ce: f64,
}

impl Report {
    /// Values logged as `eval/*`.
    pub fn metrics(&self) -> Vec<(String, f64)> {
        let mut m = vec![
            ("ap".into(), self.ap),
            ("ap50".into(), self.ap50),
            ("ap75".into(), self.ap75),
            ("negative_loss_share".into(), self.negative_loss_share),
            ("negative_loss_share_ce".into(), self.negative_loss_share_ce),
        ];
        for (name, v) in &self.per_class {
            if let Some(v) = v {
                m.push((format!("ap_{name}"), *v));
            }
        }
        m
    }

    /// A markdown table: the summary row, then AP per class.
    pub fn markdown(&self, label: &str) -> String {
        let mut s = String::from("| run | AP | AP50 | AP75 |\n|---|---|---|---|\n");
        s += &format!(
            "| {label} | {:.3} | {:.3} | {:.3} |\n\n",
            self.ap, self.ap50, self.ap75
        );
        s += "| class | AP |\n|---|---|\n";
        for (name, v) in &self.per_class {
            let v = v.map_or("-".to_string(), |v| format!("{v:.3}"));
            s += &format!("| {name} | {v} |\n");
        }
        s += &format!(
            "\n({} images, {} objects, {} detections kept)\n",
            self.images, self.objects, self.detections
        );
        if self.negative_loss_share.is_finite() {
            s += &format!(
                "share of the classification loss from negative anchors: {:.1}% with this run's loss, {:.1}% under cross-entropy\n",
                100.0 * self.negative_loss_share,
                100.0 * self.negative_loss_share_ce
            );
        }
        s
    }
}

/// Names of the [`class_colour`] palette, for legends.
pub const COLOUR_NAMES: [&str; 8] = [
    "red", "orange", "blue", "magenta", "cyan", "yellow", "violet", "white",
];

/// A colour per class for drawn boxes (truth is always green).
pub fn class_colour(class: usize) -> Rgb<u8> {
    const P: [[u8; 3]; 8] = [
        [255, 40, 40],
        [255, 160, 0],
        [60, 120, 255],
        [255, 0, 255],
        [0, 230, 230],
        [255, 255, 0],
        [160, 80, 255],
        [255, 255, 255],
    ];
    Rgb(P[class % P.len()])
}

/// A scene enlarged `zoom`×: true boxes as green outlines, detections as boxes in their class
/// colour labelled with class name and score (`imageproc`, via `plot::draw`).
pub fn picture(
    img: &RgbImage,
    truth: &[Xyxy],
    dets: &[Det],
    class_names: &[String],
    zoom: u32,
) -> RgbImage {
    let mut out = image::imageops::resize(
        img,
        img.width() * zoom,
        img.height() * zoom,
        image::imageops::FilterType::Nearest,
    );
    let z = zoom as f32;
    let scale = |b: &Xyxy| [b[0] * z, b[1] * z, b[2] * z, b[3] * z];
    for b in truth {
        plot::draw::labelled_box(&mut out, scale(b), Rgb([0, 255, 0]), "");
    }
    for d in dets {
        let name = class_names.get(d.class).map_or("?", String::as_str);
        let label = format!("{name} {:.2}", d.score);
        plot::draw::labelled_box(&mut out, scale(&d.bbox), class_colour(d.class), &label);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_perfect_and_missing() {
        let names = vec!["a".to_string(), "b".to_string()];
        let mut c = Collector::default();
        let t = [[0., 0., 10., 10.], [20., 20., 30., 40.]];
        c.add(
            &[Det {
                bbox: t[0],
                class: 0,
                score: 0.9,
            }],
            &t,
            &[0, 1],
        );
        let r = c.report(&names);
        // Class a found perfectly (AP 1), class b missed (AP 0): mean 0.5.
        assert!((r.ap - 0.5).abs() < 1e-12 && (r.ap50 - 0.5).abs() < 1e-12);
        assert_eq!(r.per_class[0], ("a".to_string(), Some(1.0)));
        assert_eq!(r.per_class[1], ("b".to_string(), Some(0.0)));
        assert!(r.markdown("x").contains("| x | 0.500 | 0.500 | 0.500 |"));
    }
}
