//! The synthetic handwriting renderer: glyph strokes with per-sample slant, stroke width,
//! letter spacing, baseline wobble, ink intensity and noise, rasterised anti-aliased at
//! height 32 (ink bright on a dark background, like MNIST). Width grows with the text.

use crate::glyphs;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Line height in pixels.
pub const HEIGHT: u32 = 32;

/// A grayscale line image, row-major, `HEIGHT` rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub width: u32,
    pub pixels: Vec<u8>,
}

/// Renders `text` (every char must have strokes in [`glyphs`]).
pub fn render(text: &str, rng: &mut ChaCha8Rng) -> Line {
    let unit = rng.random_range(17.0f32..21.0); // glyph height in pixels
    let top = rng.random_range(2.0f32..4.5);
    let slant = rng.random_range(-0.35f32..0.35);
    let stroke = rng.random_range(1.3f32..2.6);
    let spacing = rng.random_range(0.08f32..0.3);
    let aspect = rng.random_range(0.5f32..0.68);
    let (wob_a, wob_p, wob_f) = (
        rng.random_range(0.0f32..1.8),
        rng.random_range(0.0f32..6.3),
        rng.random_range(0.02f32..0.08),
    );
    let ink = rng.random_range(0.6f32..1.0);
    let noise = rng.random_range(0.0f32..0.08);
    // Lay out the polylines in pixel coordinates.
    let mut segments: Vec<((f32, f32), (f32, f32))> = Vec::new();
    let mut x0 = rng.random_range(2.0f32..6.0);
    for c in text.chars() {
        let w = glyphs::width(c) * aspect * unit;
        let scale = rng.random_range(0.9f32..1.08);
        let dy = rng.random_range(-1.0f32..1.0);
        for s in glyphs::strokes(c).unwrap_or_default() {
            let pts: Vec<(f32, f32)> = s
                .iter()
                .map(|&(gx, gy)| {
                    let (jx, jy) = (
                        rng.random_range(-0.03f32..0.03),
                        rng.random_range(-0.03f32..0.03),
                    );
                    let y = top + dy + (gy + jy) * unit * scale;
                    let x = x0 + (gx + jx) * w * scale + slant * (top + unit - y);
                    (x, y + wob_a * (wob_f * x + wob_p).sin())
                })
                .collect();
            segments.extend(pts.windows(2).map(|p| (p[0], p[1])));
        }
        x0 += w + spacing * unit;
    }
    let width = (x0 + rng.random_range(3.0f32..8.0) + slant.abs() * unit)
        .ceil()
        .max(8.0) as u32;
    let mut canvas = vec![0f32; (width * HEIGHT) as usize];
    let r = stroke / 2.0;
    for &((ax, ay), (bx, by)) in &segments {
        let (x_lo, x_hi) = (
            (ax.min(bx) - r - 1.0).floor().max(0.0) as u32,
            (ax.max(bx) + r + 1.0).ceil().min(width as f32 - 1.0) as u32,
        );
        let (y_lo, y_hi) = (
            (ay.min(by) - r - 1.0).floor().max(0.0) as u32,
            (ay.max(by) + r + 1.0).ceil().min(HEIGHT as f32 - 1.0) as u32,
        );
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = (dx * dx + dy * dy).max(1e-6);
        for py in y_lo..=y_hi {
            for px in x_lo..=x_hi {
                let (cx, cy) = (px as f32 + 0.5, py as f32 + 0.5);
                let t = (((cx - ax) * dx + (cy - ay) * dy) / len2).clamp(0.0, 1.0);
                let d = ((cx - ax - t * dx).powi(2) + (cy - ay - t * dy).powi(2)).sqrt();
                let v = (r + 0.5 - d).clamp(0.0, 1.0);
                let cell = &mut canvas[(py * width + px) as usize];
                *cell = cell.max(v);
            }
        }
    }
    let pixels = canvas
        .iter()
        .map(|&v| {
            let n = noise * (rng.random::<f32>() - 0.5) * 2.0;
            ((v * ink + n.abs()).clamp(0.0, 1.0) * 255.0).round() as u8
        })
        .collect();
    Line { width, pixels }
}

/// A random string of `min..=max` characters from `alphabet`.
pub fn random_text(alphabet: &[char], min: usize, max: usize, rng: &mut ChaCha8Rng) -> String {
    let n = rng.random_range(min..=max.max(min));
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())])
        .collect()
}
