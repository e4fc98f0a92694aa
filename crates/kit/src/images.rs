//! Image decode, resize, normalise, simple augmentations, and tensor -> picture for logging.

use crate::data::DataError;
use image::{imageops, DynamicImage, Rgb, RgbImage};
use rand::Rng;
use std::path::Path;
use tch::{Kind, Tensor};

/// Decodes an image file; the error names the file.
pub fn load(path: &Path) -> Result<DynamicImage, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    image::load_from_memory(&bytes).map_err(|e| DataError::Image {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Writes an image atomically (temp file + rename); the format follows the extension.
pub fn save(img: &DynamicImage, path: &Path) -> Result<(), DataError> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let format = image::ImageFormat::from_path(path).map_err(|e| DataError::Image {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), format)
        .map_err(|e| DataError::Image {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    crate::rundir::write_atomic(path, &bytes).map_err(io)
}

/// Resizes to exactly `width` × `height` (bilinear).
pub fn resize(img: &DynamicImage, width: u32, height: u32) -> DynamicImage {
    img.resize_exact(width, height, imageops::FilterType::Triangle)
}

/// Interleaved 8-bit pixels (H, W, C) -> planar floats (C, H, W): ((x / 255) − mean) / std per
/// channel, in f32 as libtorch computes it. Plain memory, so data-loader threads can build
/// batches without calling libtorch (whose thread pool would then fight the training threads).
pub fn normalise_planar(pixels: &[u8], channels: usize, mean: &[f32], std: &[f32]) -> Vec<f32> {
    let n = pixels.len() / channels.max(1);
    let mut out = vec![0f32; pixels.len()];
    for c in 0..channels {
        let plane = &mut out[c * n..(c + 1) * n];
        for (o, p) in plane
            .iter_mut()
            .zip(pixels.iter().skip(c).step_by(channels))
        {
            *o = (*p as f32 / 255.0 - mean[c]) / std[c];
        }
    }
    out
}

/// [`normalise_planar`] keeping the interleaved (H, W, C) order: viewed as (N, H, W, C) and
/// permuted to (N, C, H, W), the batch is channels-last in memory at no copy.
pub fn normalise_interleaved(pixels: &[u8], mean: &[f32], std: &[f32]) -> Vec<f32> {
    let c = mean.len().max(1);
    pixels
        .iter()
        .enumerate()
        .map(|(i, &p)| (p as f32 / 255.0 - mean[i % c]) / std[i % c])
        .collect()
}

/// RGB image -> float tensor [3, H, W], scaled to 0..1 then normalised per channel.
pub fn rgb_to_tensor(img: &RgbImage, mean: [f32; 3], std: [f32; 3]) -> Tensor {
    let (w, h) = img.dimensions();
    Tensor::from_slice(&normalise_planar(img.as_raw(), 3, &mean, &std))
        .view([3, h as i64, w as i64])
}

/// A [C, H, W] tensor with values in 0..1 (C = 1 or 3) -> RGB picture for TensorBoard.
pub fn tensor_to_rgb(t: &Tensor) -> RgbImage {
    let t = t.detach().to_device(tch::Device::Cpu).to_kind(Kind::Float);
    let (c, h, w) = t.size3().unwrap_or((1, 1, 1));
    let t = if c == 1 {
        t.expand([3, h, w], false)
    } else {
        t
    };
    let bytes: Vec<u8> = Vec::try_from(
        (t.clamp(0.0, 1.0) * 255.0)
            .round()
            .to_kind(Kind::Uint8)
            .permute([1, 2, 0])
            .contiguous()
            .view([-1]),
    )
    .unwrap_or_default();
    RgbImage::from_raw(w as u32, h as u32, bytes).unwrap_or_else(|| RgbImage::new(1, 1))
}

/// Tiles equally sized images into a grid `cols` wide, with a 2-pixel border.
pub fn grid(images: &[RgbImage], cols: usize) -> RgbImage {
    let Some(first) = images.first() else {
        return RgbImage::new(1, 1);
    };
    let (w, h) = first.dimensions();
    let cols = cols.clamp(1, images.len());
    let rows = images.len().div_ceil(cols);
    let pad = 2;
    let mut out = RgbImage::from_pixel(
        cols as u32 * (w + pad) + pad,
        rows as u32 * (h + pad) + pad,
        Rgb([40, 40, 40]),
    );
    for (i, img) in images.iter().enumerate() {
        let x = pad + (i % cols) as u32 * (w + pad);
        let y = pad + (i / cols) as u32 * (h + pad);
        imageops::overlay(&mut out, img, x as i64, y as i64);
    }
    out
}

/// Random horizontal flip with probability 1/2.
pub fn random_hflip(img: &RgbImage, rng: &mut impl Rng) -> RgbImage {
    if rng.random_bool(0.5) {
        imageops::flip_horizontal(img)
    } else {
        img.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_round_trip_keeps_layout() {
        // A non-square image must not come out transposed.
        let img = RgbImage::from_fn(5, 3, |x, y| Rgb([(x * 50) as u8, (y * 100) as u8, 7]));
        let t = rgb_to_tensor(&img, [0.0; 3], [1.0; 3]);
        assert_eq!(t.size(), vec![3, 3, 5]);
        assert_eq!(tensor_to_rgb(&t), img);
    }

    #[test]
    fn corrupt_file_is_named() {
        let dir = std::env::temp_dir().join(format!("kit-img-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("broken.png");
        std::fs::write(&p, b"not a png").unwrap();
        let msg = load(&p).unwrap_err().to_string();
        assert!(msg.contains("broken.png"), "{msg}");
        let msg = load(&dir.join("missing.png")).unwrap_err().to_string();
        assert!(msg.contains("missing.png"), "{msg}");
    }

    /// The plain-memory conversion gives libtorch's own result bit for bit: (x / 255 − mean) / std
    /// of the (H, W, C) → (C, H, W) permuted tensor.
    #[test]
    fn normalise_planar_matches_libtorch_exactly() {
        let (h, w) = (5usize, 7usize);
        let px: Vec<u8> = (0..h * w * 3).map(|i| (i * 37 % 256) as u8).collect();
        let (mean, std) = ([0.485f32, 0.456, 0.406], [0.229f32, 0.224, 0.225]);
        let torch = (Tensor::from_slice(&px)
            .view([h as i64, w as i64, 3])
            .permute([2, 0, 1])
            .to_kind(Kind::Float)
            / 255.0
            - Tensor::from_slice(&mean).view([3, 1, 1]))
            / Tensor::from_slice(&std).view([3, 1, 1]);
        let ours = Tensor::from_slice(&normalise_planar(&px, 3, &mean, &std))
            .view([3, h as i64, w as i64]);
        assert!(ours.equal(&torch));
        // Interleaved and permuted: the same values, channels-last strides.
        let cl = Tensor::from_slice(&normalise_interleaved(&px, &mean, &std))
            .view([h as i64, w as i64, 3])
            .permute([2, 0, 1]);
        assert!(cl.equal(&torch));
        assert_eq!(cl.stride(), vec![1, 3 * w as i64, 3]);
        let img = RgbImage::from_raw(w as u32, h as u32, px).unwrap();
        assert!(rgb_to_tensor(&img, mean, std).equal(&torch));
    }
}
