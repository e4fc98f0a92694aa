//! One picture in, every head's answer out: the boxes (printed and drawn), the object mask and
//! the reconstruction, side by side in one PNG.

use crate::eval::{panel, Panel};
use crate::synth::CLASSES;
use crate::train::MixTask;
use anyhow::Context;
use scenes::boxes::Det;
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

/// What `predict` found in one picture.
pub struct Prediction {
    pub detections: Vec<Det>,
    /// Share of the pixels the segmentation head calls "object".
    pub object_share: Option<f64>,
    pub picture: PathBuf,
}

/// Runs every active head on the image at `input` (resized to the model's size).
pub fn predict(task: &MixTask, input: &Path, out: &Path) -> anyhow::Result<Prediction> {
    let size = task.cfg.data.size;
    let img = kit::images::load(input)?;
    let img = kit::images::resize(&img, size, size).to_rgb8();
    let x = kit::images::rgb_to_tensor(&img, crate::data::MEAN, crate::data::STD).unsqueeze(0);
    let zeros = Tensor::zeros([1, task.cfg.model.latent], (Kind::Float, tch::Device::Cpu));
    let o = tch::no_grad(|| task.forward(&x, Some(&zeros), false));
    let show = task.cfg.detect.show_threshold as f32;
    let detections: Vec<Det> = match &o.detect {
        Some((cls, reg)) => task.detections(cls, reg)?.remove(0),
        None => Vec::new(),
    }
    .into_iter()
    .filter(|d| d.score >= show)
    .collect();
    let mask = match &o.segment {
        Some(l) => Some(MixTask::masks(l)?.remove(0)),
        None => None,
    };
    let recon = o
        .generate
        .as_ref()
        .map(|(mu, ..)| tch::no_grad(|| task.reconstructions(mu)).remove(0));
    let pic = panel(
        &Panel {
            image: &img,
            dets: o
                .detect
                .is_some()
                .then_some((detections.as_slice(), CLASSES.as_slice())),
            mask: mask.as_deref().map(|m| (m, None)),
            reconstruction: recon.as_ref(),
        },
        4,
    );
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "input".into());
    let picture = out.join(format!("{stem}.mix-match.png"));
    kit::images::save(&image::DynamicImage::ImageRgb8(pic), &picture)?;
    Ok(Prediction {
        detections,
        object_share: mask.map(|m| m.iter().filter(|&&v| v).count() as f64 / m.len().max(1) as f64),
        picture,
    })
}
