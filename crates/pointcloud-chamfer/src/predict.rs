//! Pictures of point clouds (three orthographic views) and `predict` on one image: a `.ply`
//! and a picture of the input beside the predicted views.

use crate::data::EXTENT;
use crate::mesh::{write_ply_points, V3};
use image::{Rgb, RgbImage};
use std::path::{Path, PathBuf};

/// Colour of a point by its height (y): blue (low) to orange (high).
pub fn height_colour(y: f32) -> [u8; 3] {
    let t = ((y / EXTENT) * 0.5 + 0.5).clamp(0.0, 1.0);
    [
        (40.0 + 215.0 * t) as u8,
        (90.0 + 70.0 * t) as u8,
        (230.0 - 200.0 * t) as u8,
    ]
}

/// Front (x→, y↑), side (z→, y↑) and top (x→, z↓) views of `points` side by side, each
/// `panel`² pixels, points coloured by height.
pub fn three_views(points: &[V3], panel: u32) -> RgbImage {
    let mut img = RgbImage::from_pixel(panel * 3 + 4, panel, Rgb([255, 255, 255]));
    for x in [panel, panel * 2 + 2] {
        for y in 0..panel {
            img.put_pixel(x, y, Rgb([180, 180, 180]));
            img.put_pixel(x + 1, y, Rgb([180, 180, 180]));
        }
    }
    let to = |v: f32| ((v / (2.0 * EXTENT) + 0.5) * panel as f32) as i64;
    for p in points {
        let c = Rgb(height_colour(p[1]));
        let views = [
            (to(p[0]), to(-p[1])),
            (to(p[2]), to(-p[1])),
            (to(p[0]), to(p[2])),
        ];
        for (k, (u, v)) in views.into_iter().enumerate() {
            let off = k as i64 * (panel as i64 + 2);
            for (du, dv) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (x, y) = (u + du, v + dv);
                if (0..panel as i64).contains(&x) && (0..panel as i64).contains(&y) {
                    img.put_pixel((off + x) as u32, y as u32, c);
                }
            }
        }
    }
    img
}

/// A grayscale image (row-major floats in [0, 1]) as an RGB picture scaled to `size`.
pub fn gray_picture(px: &[f32], size: u32) -> RgbImage {
    let side = (px.len() as f64).sqrt() as u32;
    let img = RgbImage::from_fn(side, side, |x, y| {
        let v = (px[(y * side + x) as usize].clamp(0.0, 1.0) * 255.0) as u8;
        Rgb([v, v, v])
    });
    image::imageops::resize(&img, size, size, image::imageops::FilterType::Nearest)
}

/// Pictures placed left to right (same height), 4-pixel white gaps.
pub fn hstack(parts: &[RgbImage]) -> RgbImage {
    let h = parts.iter().map(|p| p.height()).max().unwrap_or(1);
    let w = parts.iter().map(|p| p.width() + 4).sum::<u32>().max(1);
    let mut out = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    let mut x = 0;
    for p in parts {
        image::imageops::overlay(&mut out, p, x as i64, 0);
        x += p.width() + 4;
    }
    out
}

/// Pictures placed top to bottom, 4-pixel white gaps.
pub fn vstack(parts: &[RgbImage]) -> RgbImage {
    let w = parts.iter().map(|p| p.width()).max().unwrap_or(1);
    let h = parts.iter().map(|p| p.height() + 4).sum::<u32>().max(1);
    let mut out = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    let mut y = 0;
    for p in parts {
        image::imageops::overlay(&mut out, p, 0, y as i64);
        y += p.height() + 4;
    }
    out
}

/// What `predict` wrote for one input.
pub struct Written {
    pub ply: PathBuf,
    pub picture: PathBuf,
}

/// Writes `<stem>.ply` and `<stem>-views.png` (input | front, side, top) under `out`.
pub fn write(out: &Path, stem: &str, input: &[f32], points: &[V3]) -> anyhow::Result<Written> {
    std::fs::create_dir_all(out)?;
    let ply = out.join(format!("{stem}.ply"));
    write_ply_points(&ply, points)?;
    let picture = out.join(format!("{stem}-views.png"));
    hstack(&[gray_picture(input, 160), three_views(points, 160)]).save(&picture)?;
    Ok(Written { ply, picture })
}
