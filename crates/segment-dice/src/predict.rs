//! `predict`: one slice in; the predicted mask PNG, an overlay picture and the tumour area out.

use crate::data::read_pair;
use crate::eval::overlay;
use crate::train::SegTask;
use anyhow::Context;
use image::{DynamicImage, GrayImage};
use std::path::{Path, PathBuf};

/// What `predict` wrote for one slice.
#[derive(Debug)]
pub struct Prediction {
    pub area_pixels: usize,
    pub mask_png: PathBuf,
    pub overlay_png: PathBuf,
    /// Dice against the true mask, when one was found next to the image.
    pub dice: Option<f64>,
}

/// Segments `input` (a grayscale PNG the model's size). A true mask is looked up at
/// `../masks/<name>` as in the dataset format and drawn in the overlay when present.
pub fn predict(task: &SegTask, input: &Path, out_dir: &Path) -> anyhow::Result<Prediction> {
    let mask_path = input
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("masks").join(input.file_name().unwrap_or_default()));
    let (slice, truth) = match mask_path.filter(|m| m.is_file()) {
        Some(m) => {
            let s = read_pair(input, &m)?;
            let t: Vec<bool> = s.mask.iter().map(|&v| v > 0).collect();
            (s, Some(t))
        }
        None => {
            let img = kit::images::load(input)?.to_luma8();
            let size = img.width();
            anyhow::ensure!(
                img.height() == size,
                "{}: the slice must be square, got {:?}",
                input.display(),
                img.dimensions()
            );
            (
                crate::data::Slice {
                    size,
                    mask: vec![0; (size * size) as usize],
                    image: img.into_raw(),
                },
                None,
            )
        }
    };
    let (x, _) = crate::data::collate(vec![slice.clone()])?;
    task.check_size(&x)
        .with_context(|| input.display().to_string())?;
    let prob = tch::no_grad(|| task.tumour_probability(&x));
    let p: Vec<f32> = Vec::try_from(prob.flatten(0, -1).to_device(tch::Device::Cpu))?;
    let pred: Vec<bool> = p.iter().map(|&v| v > 0.5).collect();
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "slice".into());
    std::fs::create_dir_all(out_dir).with_context(|| format!("create {}", out_dir.display()))?;
    let mask_png = out_dir.join(format!("{stem}-mask.png"));
    let overlay_png = out_dir.join(format!("{stem}-overlay.png"));
    let mask_img = GrayImage::from_raw(
        slice.size,
        slice.size,
        pred.iter().map(|&b| if b { 255 } else { 0 }).collect(),
    )
    .context("mask size")?;
    kit::images::save(&DynamicImage::ImageLuma8(mask_img), &mask_png)?;
    let pic = overlay(&slice.image, truth.as_deref(), &pred, slice.size);
    kit::images::save(&DynamicImage::ImageRgb8(pic), &overlay_png)?;
    Ok(Prediction {
        area_pixels: pred.iter().filter(|&&b| b).count(),
        dice: truth.as_ref().map(|t| metrics::dice(&pred, t)),
        mask_png,
        overlay_png,
    })
}
