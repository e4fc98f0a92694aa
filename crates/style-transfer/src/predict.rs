//! `predict`: each picture through the trained transformer in one forward pass, written as
//! `<name>-styled.png`, with the milliseconds it took and the milliseconds per 256×256 picture.

use crate::data;
use crate::eval::ms_per_image;
use crate::model::Transformer;
use image::{DynamicImage, RgbImage};
use std::path::{Path, PathBuf};
use tch::Device;

/// Stylises `input` (its sides rounded down to multiples of 4, as the two stride-2 layers
/// need); returns the picture written and the milliseconds of the forward pass.
pub fn stylise_file(
    net: &Transformer,
    device: Device,
    input: &Path,
    out: &Path,
) -> anyhow::Result<(PathBuf, f64)> {
    let img = data::read_rgb(input)?;
    let (w, h) = (img.width() / 4 * 4, img.height() / 4 * 4);
    anyhow::ensure!(
        w >= 8 && h >= 8,
        "{}: {}×{} pixels is too small to stylise",
        input.display(),
        img.width(),
        img.height()
    );
    let img: RgbImage = image::imageops::crop_imm(&img, 0, 0, w, h).to_image();
    let x = data::to_tensor(&img).to_device(device);
    let t0 = std::time::Instant::now();
    let y = tch::no_grad(|| net.forward(&x));
    let styled = kit::images::tensor_to_rgb(&y.get(0));
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    let stem = input
        .file_stem()
        .map_or("picture".into(), |s| s.to_string_lossy().to_string());
    std::fs::create_dir_all(out)?;
    let path = out.join(format!("{stem}-styled.png"));
    kit::images::save(&DynamicImage::ImageRgb8(styled), &path)?;
    Ok((path, ms))
}

/// Milliseconds per 256×256 picture (batch 1, mean of 5 after a warm-up).
pub fn ms_per_256(net: &Transformer, device: Device) -> f64 {
    let x = tch::Tensor::rand([5, 3, 256, 256], (tch::Kind::Float, device));
    ms_per_image(&x, |b| net.forward(b))
}
