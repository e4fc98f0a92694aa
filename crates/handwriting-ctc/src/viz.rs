//! The alignment picture: the line image on top, and under it the frame-by-class
//! probabilities (one column per frame, one row per class, blank first).

use image::{Rgb, RgbImage};
use tch::{Device, Kind, Tensor};

/// Line image (1, 32, W) in 0..1 over the probabilities (T, C), both drawn 2× wide.
pub fn alignment_picture(image: &Tensor, probs: &Tensor) -> RgbImage {
    let img = image.to_device(Device::Cpu).to_kind(Kind::Float);
    let p = probs.to_device(Device::Cpu).to_kind(Kind::Float);
    let (_, h, w) = img.size3().unwrap_or((1, 1, 1));
    let (t, c) = p.size2().unwrap_or((1, 1));
    let px: Vec<f32> = Vec::try_from(img.flatten(0, -1)).unwrap_or_default();
    let pr: Vec<f32> = Vec::try_from(p.flatten(0, -1)).unwrap_or_default();
    let (scale, row_h, gap) = (2u32, 5u32, 4u32);
    let width = (w as u32 * scale).max(1);
    let height = h as u32 * scale + gap + c as u32 * row_h;
    let mut out = RgbImage::from_pixel(width, height, Rgb([30, 30, 30]));
    for y in 0..h as u32 * scale {
        for x in 0..width {
            let v = px
                .get(((y / scale) * w as u32 + x / scale) as usize)
                .copied()
                .unwrap_or(0.0);
            let g = (v.clamp(0.0, 1.0) * 255.0) as u8;
            out.put_pixel(x, y, Rgb([g, g, g]));
        }
    }
    let frame_w = (width / t.max(1) as u32).max(1);
    for f in 0..t as u32 {
        for k in 0..c as u32 {
            let v = pr
                .get((f * c as u32 + k) as usize)
                .copied()
                .unwrap_or(0.0)
                .clamp(0.0, 1.0);
            let colour = Rgb([
                (255.0 * v.sqrt()) as u8,
                (220.0 * v) as u8,
                (90.0 * (1.0 - v)) as u8,
            ]);
            for dx in 0..frame_w {
                for dy in 0..row_h - 1 {
                    let (x, y) = (f * frame_w + dx, h as u32 * scale + gap + k * row_h + dy);
                    if x < width && y < height {
                        out.put_pixel(x, y, colour);
                    }
                }
            }
        }
    }
    out
}
