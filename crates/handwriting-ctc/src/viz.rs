//! The alignment picture: the line image on top, and under it a heat map (`plot`) of the
//! frame-by-class probabilities (one column per frame, one row per class, blank first).

use image::{imageops, Rgb, RgbImage};
use tch::{Device, Kind, Tensor};

/// Line image (1, 32, W) in 0..1 over the probabilities (T, C) of the classes named `classes`
/// (blank first).
pub fn alignment_picture(
    image: &Tensor,
    probs: &Tensor,
    classes: &[String],
) -> Result<RgbImage, plot::PlotError> {
    let img = image.to_device(Device::Cpu).to_kind(Kind::Float);
    let p = probs.to_device(Device::Cpu).to_kind(Kind::Float);
    let (_, h, w) = img.size3().unwrap_or((1, 1, 1));
    let (t, c) = p.size2().unwrap_or((1, 1));
    let px: Vec<f32> = Vec::try_from(img.flatten(0, -1)).unwrap_or_default();
    let pr: Vec<f32> = Vec::try_from(p.flatten(0, -1)).unwrap_or_default();
    let line = RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let v = px.get((y * w as u32 + x) as usize).copied().unwrap_or(0.0);
        let g = (v.clamp(0.0, 1.0) * 255.0) as u8;
        Rgb([g, g, g])
    });
    let values: Vec<Vec<f64>> = (0..c as usize)
        .map(|k| {
            (0..t as usize)
                .map(|f| f64::from(pr.get(f * c as usize + k).copied().unwrap_or(0.0)))
                .collect()
        })
        .collect();
    let rows: Vec<String> = (0..c as usize)
        .map(|k| classes.get(k).cloned().unwrap_or_else(|| k.to_string()))
        .collect();
    let cols: Vec<String> = (0..t).map(|f| f.to_string()).collect();
    let map = plot::heatmap("P(class | frame)", "frame", &rows, &cols, &values)?;
    // The line above the map, scaled to the map's plotting width (its left margin ≈ 72 px).
    let (mw, margin) = (map.width(), 72u32);
    let lw = mw.saturating_sub(margin + 12).max(1);
    let lh = ((h as u32 * lw) / w.max(1) as u32).clamp(16, 160);
    let line = imageops::resize(&line, lw, lh, imageops::FilterType::Triangle);
    let mut out = RgbImage::from_pixel(mw, lh + 8 + map.height(), Rgb([255, 255, 255]));
    imageops::replace(&mut out, &line, i64::from(margin), 4);
    imageops::replace(&mut out, &map, 0, i64::from(lh + 8));
    Ok(out)
}
