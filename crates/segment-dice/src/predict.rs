//! `predict`: one slice in, the predicted mask PNG, an overlay picture and the tumour area out;
//! or one NIfTI image in, a label volume with its affine (and an overlay of its largest slice) out.

use crate::config::Config;
use crate::data::read_pair;
use crate::eval::overlay;
use crate::train::SegTask;
use crate::volumes;
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
    let (x, _) = crate::data::collate(vec![slice.clone().into()])?;
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

/// What `predict` wrote for one volume.
#[derive(Debug)]
pub struct VolumePrediction {
    pub labels: PathBuf,
    pub overlay_png: PathBuf,
    pub foreground_ml: f64,
    /// 3-D scores against the label volume found beside the image (`<case>_seg` next to
    /// `<case>_img`, or `labelsTr/` beside `imagesTr/`).
    pub score: Option<crate::eval::VolumeScore>,
}

/// The label volume that belongs to a NIfTI image in the dataset layouts, if present.
fn label_beside(input: &Path) -> Option<PathBuf> {
    let name = input.file_name()?.to_string_lossy().to_string();
    let dir = input.parent()?;
    let candidates = [
        dir.join(name.replacen("_img.nii", "_seg.nii", 1)),
        dir.parent()?.join("labelsTr").join(&name),
    ];
    candidates
        .into_iter()
        .find(|p| p.is_file() && p.as_path() != input)
}

/// Segments every slice of a NIfTI image and writes `<stem>-labels.nii.gz` (class indices,
/// uint8, the input's affine and voxel size).
pub fn predict_volume(
    task: &SegTask,
    cfg: &Config,
    input: &Path,
    out_dir: &Path,
) -> anyhow::Result<VolumePrediction> {
    let v = &cfg.data.volumes;
    let mut img = volumes::read_image(input, v.channels.as_deref())?;
    anyhow::ensure!(
        img.channels as i64 == cfg.model.in_channels,
        "{}: gives {} input channels, but the model was trained on {}",
        input.display(),
        img.channels,
        cfg.model.in_channels
    );
    volumes::normalise(&mut img, v.normalise);
    let size = cfg.data.size as usize;
    let examples: Vec<_> = (0..img.dims[v.axis])
        .map(|k| volumes::slice(&img, None, v.axis, k, size))
        .collect();
    let mut classes: Vec<Vec<u8>> = Vec::new();
    for chunk in examples.chunks(cfg.train.batch_size.max(1)) {
        let (x, _) = crate::data::collate(chunk.to_vec())?;
        task.check_size(&x)
            .with_context(|| input.display().to_string())?;
        let c = tch::no_grad(|| task.classes(&x)).to_device(tch::Device::Cpu);
        let flat: Vec<i64> = Vec::try_from(c.flatten(0, -1))?;
        classes.extend(
            flat.chunks(size * size)
                .map(|s| s.iter().map(|&v| v as u8).collect()),
        );
    }
    let refs: Vec<&[u8]> = classes.iter().map(Vec::as_slice).collect();
    let labels = volumes::assemble(&refs, img.dims, v.axis, size);
    std::fs::create_dir_all(out_dir).with_context(|| format!("create {}", out_dir.display()))?;
    let stem = volumes::stem(input);
    let out = out_dir.join(format!("{stem}-labels.nii.gz"));
    volumes::write_labels(&out, &labels, img.dims, &img.header)?;
    // The slice with the most foreground, drawn like the slice overlays.
    let k = (0..classes.len())
        .max_by_key(|&k| classes[k].iter().filter(|&&c| c > 0).count())
        .unwrap_or(0);
    let pred: Vec<bool> = classes
        .get(k)
        .map_or_else(Vec::new, |c| c.iter().map(|&c| c > 0).collect());
    let overlay_png = out_dir.join(format!("{stem}-slice{k}-overlay.png"));
    if let Some(e) = examples.get(k) {
        let pic = overlay(&e.gray(), None, &pred, e.size);
        kit::images::save(&DynamicImage::ImageRgb8(pic), &overlay_png)?;
    }
    let fg: Vec<bool> = labels.iter().map(|&l| l > 0).collect();
    let grid = metrics::volume::Grid {
        dims: img.dims,
        spacing: img.spacing,
    };
    let score = match label_beside(input) {
        Some(path) => {
            let truth =
                volumes::read_labels(&path, img.dims, v.labels.as_ref(), cfg.model.classes)?;
            let truth: Vec<bool> = truth.iter().map(|&l| l > 0).collect();
            Some(crate::eval::score_volume(&stem, &fg, &truth, grid))
        }
        None => None,
    };
    Ok(VolumePrediction {
        labels: out,
        overlay_png,
        foreground_ml: fg.iter().filter(|&&b| b).count() as f64
            * img.spacing.iter().product::<f64>()
            / 1000.0,
        score,
    })
}
