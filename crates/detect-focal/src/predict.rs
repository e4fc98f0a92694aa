//! `predict`: one image in; boxes (class, score, x, y, w, h in the image's own pixels) printed
//! and a picture with the boxes drawn.

use crate::eval::{picture, Det};
use crate::train::DetTask;
use anyhow::Context;
use image::DynamicImage;
use std::path::{Path, PathBuf};

/// What `predict` found in one image.
#[derive(Debug)]
pub struct Prediction {
    /// (class name, score, [x, y, w, h] in original pixels), best first.
    pub boxes: Vec<(String, f32, [f64; 4])>,
    pub picture: PathBuf,
}

/// Detects objects in `input` (any size; resized to the model's input like training data).
/// Boxes with a score of at least `detect.show_threshold` are reported and drawn.
pub fn predict(task: &DetTask, input: &Path, out_dir: &Path) -> anyhow::Result<Prediction> {
    let img = kit::images::load(input)?;
    let (w, h) = (img.width(), img.height());
    let size = task.cfg.data.size;
    let small = kit::images::resize(&img, size, size).to_rgb8();
    let (scores, deltas) = task.scores(&crate::data::image_tensor(&small));
    let show = task.cfg.detect.show_threshold as f32;
    let dets: Vec<Det> = task
        .detect(&scores, &deltas)?
        .into_iter()
        .next()
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d.score >= show)
        .collect();
    let (sx, sy) = (w as f32 / size as f32, h as f32 / size as f32);
    let full: Vec<Det> = dets
        .iter()
        .map(|d| Det {
            bbox: [
                d.bbox[0] * sx,
                d.bbox[1] * sy,
                d.bbox[2] * sx,
                d.bbox[3] * sy,
            ],
            ..*d
        })
        .collect();
    let zoom = (512 / w.max(h)).max(1);
    let mut pic = picture(&img.to_rgb8(), &[], &full, &task.class_names, zoom);
    let legend: Vec<_> = task
        .class_names
        .iter()
        .enumerate()
        .map(|(i, n)| (crate::eval::class_colour(i), n.clone()))
        .collect();
    plot::draw::legend(&mut pic, &legend);
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "image".into());
    std::fs::create_dir_all(out_dir).with_context(|| format!("create {}", out_dir.display()))?;
    let out = out_dir.join(format!("{stem}-boxes.png"));
    kit::images::save(&DynamicImage::ImageRgb8(pic), &out)?;
    Ok(Prediction {
        boxes: full
            .iter()
            .map(|d| {
                (
                    task.class_names[d.class].clone(),
                    d.score,
                    crate::boxes::xyxy_to_xywh(d.bbox),
                )
            })
            .collect(),
        picture: out,
    })
}
