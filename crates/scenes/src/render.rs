//! Synthetic detection scenes: 1–6 filled shapes of five classes (varied size, colour, aspect
//! and rotation) on a textured background with clutter (lines, dots, arcs, rings) that is not
//! a class. Objects hide at most 15% of each other's box. At 128×128 with the default anchors,
//! well under 1% of anchors are positive. Every scene also carries its per-pixel object mask
//! (which class covers each pixel), drawn from the same polygons as the boxes.

use crate::boxes::Xyxy;
use image::{Rgb, RgbImage};
use kit::data::rng_for;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::f32::consts::{PI, TAU};

/// Class names, in class-index order (COCO category ids are index + 1).
pub const CLASSES: [&str; 5] = ["circle", "triangle", "square", "star", "cross"];

/// What the generator varies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneSpec {
    pub size: u32,
    pub min_objects: usize,
    pub max_objects: usize,
    pub distractors: usize,
    /// Object size range (box side before aspect jitter) as fractions of the image side.
    pub object_size: (f32, f32),
}

/// An image with its true boxes (`[x1, y1, x2, y2]` pixels), class indices and object mask.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub image: RgbImage,
    pub boxes: Vec<Xyxy>,
    pub classes: Vec<usize>,
    /// Row-major, one byte per pixel: 0 background, `c + 1` where an object of class `c` is
    /// visible (a later object covers an earlier one). Empty when unknown (COCO boxes only).
    pub mask: Vec<u8>,
}

/// The outline of class `class` centred at the origin with radius 1 (before scale/rotation).
fn outline(class: usize, rng: &mut ChaCha8Rng) -> Vec<(f32, f32)> {
    let ring = |n: usize, r: &dyn Fn(usize) -> f32, phase: f32| -> Vec<(f32, f32)> {
        (0..n)
            .map(|k| {
                let a = phase + TAU * k as f32 / n as f32;
                (r(k) * a.cos(), r(k) * a.sin())
            })
            .collect()
    };
    match class {
        0 => ring(40, &|_| 1.0, 0.0),
        1 => ring(3, &|_| 1.0, -PI / 2.0),
        2 => ring(4, &|_| 1.0, PI / 4.0),
        3 => {
            let inner = rng.random_range(0.38..0.5);
            ring(
                10,
                &move |k| if k % 2 == 0 { 1.0 } else { inner },
                -PI / 2.0,
            )
        }
        _ => {
            let t = rng.random_range(0.28..0.4);
            [
                (-t, -1.0),
                (t, -1.0),
                (t, -t),
                (1.0, -t),
                (1.0, t),
                (t, t),
                (t, 1.0),
                (-t, 1.0),
                (-t, t),
                (-1.0, t),
                (-1.0, -t),
                (-t, -t),
            ]
            .to_vec()
        }
    }
}

fn inside(poly: &[(f32, f32)], x: f32, y: f32) -> bool {
    let mut c = false;
    let n = poly.len();
    for i in 0..n {
        let (xi, yi) = poly[i];
        let (xj, yj) = poly[(i + n - 1) % n];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            c = !c;
        }
    }
    c
}

/// Intersection over the smaller box's area: how much of one box the other can hide.
fn covered(a: &Xyxy, b: &Xyxy) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let small = crate::boxes::area(a).min(crate::boxes::area(b)).max(1e-6);
    iw * ih / small
}

fn colour(rng: &mut ChaCha8Rng) -> [f32; 3] {
    [0, 1, 2].map(|_| rng.random_range(0.0..1.0f32))
}

/// Paints pixels where `hit(x, y)` (pixel centres) inside the given pixel bounds; with a
/// mask, also writes `label` there.
fn paint(
    buf: &mut [[f32; 3]],
    mut mask: Option<(&mut [u8], u8)>,
    size: u32,
    bounds: Xyxy,
    col: [f32; 3],
    hit: impl Fn(f32, f32) -> bool,
) {
    let s = size as f32;
    let (x0, y0) = (bounds[0].max(0.0) as u32, bounds[1].max(0.0) as u32);
    let (x1, y1) = (
        bounds[2].min(s - 1.0).max(0.0) as u32,
        bounds[3].min(s - 1.0).max(0.0) as u32,
    );
    for py in y0..=y1 {
        for px in x0..=x1 {
            if hit(px as f32 + 0.5, py as f32 + 0.5) {
                let i = (py * size + px) as usize;
                buf[i] = col;
                if let Some((m, label)) = mask.as_mut() {
                    m[i] = *label;
                }
            }
        }
    }
}

fn distractor(buf: &mut [[f32; 3]], size: u32, rng: &mut ChaCha8Rng) {
    let s = size as f32;
    let col = colour(rng);
    let (cx, cy) = (rng.random_range(0.0..s), rng.random_range(0.0..s));
    match rng.random_range(0..4) {
        0 => {
            // A line segment 1–3 px wide.
            let a: f32 = rng.random_range(0.0..TAU);
            let len = rng.random_range(10.0..s * 0.6);
            let (dx, dy) = (a.cos() * len, a.sin() * len);
            let w = rng.random_range(0.6..1.6);
            let b = [
                cx.min(cx + dx) - 2.0,
                cy.min(cy + dy) - 2.0,
                cx.max(cx + dx) + 2.0,
                cy.max(cy + dy) + 2.0,
            ];
            paint(buf, None, size, b, col, |x, y| {
                let t = (((x - cx) * dx + (y - cy) * dy) / (len * len)).clamp(0.0, 1.0);
                let (ex, ey) = (x - cx - t * dx, y - cy - t * dy);
                ex * ex + ey * ey < w * w
            });
        }
        1 => {
            // A dot too small to be an object.
            let r = rng.random_range(1.0..3.5);
            paint(
                buf,
                None,
                size,
                [cx - r, cy - r, cx + r, cy + r],
                col,
                |x, y| (x - cx).powi(2) + (y - cy).powi(2) < r * r,
            );
        }
        _ => {
            // A ring or an open arc (outline only: not a filled circle).
            let r = rng.random_range(5.0..20.0);
            let w = rng.random_range(0.7..1.8);
            let start: f32 = rng.random_range(0.0..TAU);
            let span: f32 = rng.random_range(1.5..TAU);
            paint(
                buf,
                None,
                size,
                [cx - r - w, cy - r - w, cx + r + w, cy + r + w],
                col,
                |x, y| {
                    let d = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
                    let a = ((y - cy).atan2(x - cx) - start).rem_euclid(TAU);
                    (d - r).abs() < w && a < span
                },
            );
        }
    }
}

/// Renders scene `index` of stream `seed` (deterministic).
pub fn render(seed: u64, index: u64, spec: &SceneSpec) -> Scene {
    let mut rng = rng_for(seed, 0xDE7, index);
    let size = spec.size;
    let s = size as f32;
    // Background: two colours blended by a low-frequency wave pattern, plus a gradient.
    let (c0, c1) = (colour(&mut rng), colour(&mut rng));
    let waves: Vec<(f32, f32, f32)> = (0..3)
        .map(|_| {
            let f = rng.random_range(1.0..6.0) * TAU / s;
            let a: f32 = rng.random_range(0.0..TAU);
            (f * a.cos(), f * a.sin(), rng.random_range(0.0..TAU))
        })
        .collect();
    let mut buf: Vec<[f32; 3]> = (0..size * size)
        .map(|i| {
            let (x, y) = ((i % size) as f32, (i / size) as f32);
            let t = waves
                .iter()
                .map(|(fx, fy, p)| (fx * x + fy * y + p).sin())
                .sum::<f32>()
                / 6.0
                + 0.5;
            [0, 1, 2].map(|c| c0[c] * (1.0 - t) + c1[c] * t)
        })
        .collect();
    for _ in 0..spec.distractors {
        distractor(&mut buf, size, &mut rng);
    }
    let mut mask = vec![0u8; (size * size) as usize];
    let n = rng.random_range(spec.min_objects..=spec.max_objects.max(spec.min_objects));
    let (mut boxes, mut classes) = (Vec::new(), Vec::new());
    let (lo, hi) = (
        (s * spec.object_size.0).ln(),
        (s * spec.object_size.1.max(spec.object_size.0 * 1.001)).ln(),
    );
    for _ in 0..n {
        for _attempt in 0..30 {
            let class = rng.random_range(0..CLASSES.len());
            let r = rng.random_range(lo..hi).exp() / 2.0;
            let aspect: f32 = rng.random_range(0.8..1.25);
            let rot: f32 = rng.random_range(0.0..TAU);
            let (cx, cy) = (rng.random_range(r..s - r), rng.random_range(r..s - r));
            let (cr, sr) = (rot.cos(), rot.sin());
            let poly: Vec<(f32, f32)> = outline(class, &mut rng)
                .into_iter()
                .map(|(x, y)| {
                    let (x, y) = (x * r * aspect, y * r / aspect);
                    (cx + x * cr - y * sr, cy + x * sr + y * cr)
                })
                .collect();
            let b = poly.iter().fold([s, s, 0.0f32, 0.0f32], |b, &(x, y)| {
                [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)]
            });
            let b = crate::boxes::clip(b, s, s);
            if b[2] - b[0] < 4.0 || b[3] - b[1] < 4.0 || boxes.iter().any(|o| covered(o, &b) > 0.15)
            {
                continue;
            }
            // A fill that stands out from the background under it (no invisible objects).
            let under = buf[(cy as u32 * size + cx as u32) as usize];
            let mut col = colour(&mut rng);
            for _ in 0..20 {
                let diff = (0..3)
                    .map(|c| (col[c] - under[c]).abs())
                    .fold(0.0, f32::max);
                if diff >= 0.3 {
                    break;
                }
                col = colour(&mut rng);
            }
            let label = Some((mask.as_mut_slice(), class as u8 + 1));
            paint(&mut buf, label, size, b, col, |x, y| inside(&poly, x, y));
            boxes.push(b);
            classes.push(class);
            break;
        }
    }
    let noise = rng.random_range(0.02..0.06);
    let image = RgbImage::from_fn(size, size, |x, y| {
        let p = buf[(y * size + x) as usize];
        Rgb(p.map(|v| {
            let u1: f32 = rng.random_range(1e-6..1.0);
            let u2: f32 = rng.random();
            let g = (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos();
            ((v + g * noise).clamp(0.0, 1.0) * 255.0).round() as u8
        }))
    });
    Scene {
        image,
        boxes,
        classes,
        mask,
    }
}

/// Mirrors a scene left-right (image, boxes and mask).
pub fn hflip(mut s: Scene) -> Scene {
    let w = s.image.width() as f32;
    s.image = image::imageops::flip_horizontal(&s.image);
    for b in &mut s.boxes {
        *b = [w - b[2], b[1], w - b[0], b[3]];
    }
    let side = s.image.width() as usize;
    if side > 0 && s.mask.len() == side * s.image.height() as usize {
        for row in s.mask.chunks_mut(side) {
            row.reverse();
        }
    }
    s
}

/// Whether training scene `index` is mirrored in `epoch` (seeded, so resume repeats it).
pub fn flip_for(seed: u64, epoch: u64, index: usize) -> bool {
    rng_for(seed, 0xF11, epoch * 1_000_003 + index as u64).random_bool(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_covers_every_object_inside_its_box_and_flips_with_it() {
        let spec = SceneSpec {
            size: 64,
            min_objects: 2,
            max_objects: 4,
            distractors: 3,
            object_size: (0.2, 0.4),
        };
        for i in 0..20 {
            let s = render(3, i, &spec);
            assert_eq!(s.mask.len(), 64 * 64);
            for (b, &c) in s.boxes.iter().zip(&s.classes) {
                // Objects overlap ≤ 15% of a box, so most of each shape stays visible.
                let visible = (b[1] as usize..b[3].ceil() as usize)
                    .flat_map(|y| (b[0] as usize..b[2].ceil() as usize).map(move |x| (x, y)))
                    .filter(|&(x, y)| x < 64 && y < 64 && s.mask[y * 64 + x] == c as u8 + 1)
                    .count();
                assert!(visible as f32 > 0.2 * crate::boxes::area(b), "scene {i}");
            }
            let labelled = s.mask.iter().filter(|&&m| m > 0).count();
            let in_boxes: f32 = s.boxes.iter().map(crate::boxes::area).sum();
            assert!(
                labelled > 0 && labelled as f32 <= in_boxes + 64.0,
                "scene {i}"
            );
            let f = hflip(s.clone());
            for y in 0..64 {
                for x in 0..64 {
                    assert_eq!(f.mask[y * 64 + x], s.mask[y * 64 + 63 - x]);
                }
            }
        }
    }

    #[test]
    fn polygon_inside() {
        let sq = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)];
        assert!(inside(&sq, 1.0, 1.0));
        assert!(!inside(&sq, 3.0, 1.0));
    }
}
