//! The seeded synthetic MRI-like slices: skull, brain texture, ventricles, bias field, noise
//! and small irregular tumours, with the tumour share as a knob (`data.tumour_fraction`).

use kit::data::rng_for;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::f32::consts::{PI, TAU};

/// One grayscale slice and its mask, both `size × size`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    pub size: u32,
    pub image: Vec<u8>,
    pub mask: Vec<u8>,
}

impl Slice {
    pub fn tumour_pixels(&self) -> usize {
        self.mask.iter().filter(|&&m| m > 0).count()
    }
}

fn gauss(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f32 = rng.random_range(1e-7..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
}

/// How much tumour the synthetic slices hold (`data.tumour_fraction`, `data.empty_share`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tumours {
    /// Mean share of tumour pixels over all slices (empty ones included); `None`: each tumour
    /// slice draws 0.05–2% log-uniformly (the default set, mean ≈ 0.37% of all pixels).
    pub fraction: Option<f64>,
    /// Share of slices without tumour; `None`: a third.
    pub empty_share: Option<f64>,
}

/// Renders synthetic slice `index` of stream `seed` with the default tumours.
pub fn render(seed: u64, index: u64, size: u32) -> Slice {
    render_with(seed, index, size, Tumours::default())
}

/// Renders synthetic slice `index` of stream `seed`: skull ring, brain with grey/white-matter
/// texture and ventricles, smooth bias field and noise; 0–3 irregular tumours (a third of the
/// slices have none) only 0.10–0.20 brighter than the tissue they sit in (2–8 noise standard
/// deviations, about the grey/white-matter contrast), covering 0.05–2% of the pixels, or as
/// much as `tumours` asks: then a tumour slice's area is the requested mean / (1 − empty share)
/// times a log-uniform factor in [½, 2] of mean 1, split over 1–3 tumours (one below 40 px),
/// each radius corrected for its wobbly rim, so the expected tumour share is the one asked for.
pub fn render_with(seed: u64, index: u64, size: u32, tumours: Tumours) -> Slice {
    let mut rng = rng_for(seed, 0x5E6, index);
    let s = size as f32;
    let (cx, cy) = (
        s / 2.0 + rng.random_range(-0.04..0.04) * s,
        s / 2.0 + rng.random_range(-0.04..0.04) * s,
    );
    let (ra, rb) = (
        s * rng.random_range(0.36..0.41),
        s * rng.random_range(0.41..0.46),
    );
    let rot: f32 = rng.random_range(-0.3..0.3);
    let waves: Vec<(f32, f32, f32, f32)> = (0..6)
        .map(|_| {
            let f = rng.random_range(2.0..9.0) / s;
            let a: f32 = rng.random_range(0.0..TAU);
            (
                f * a.cos(),
                f * a.sin(),
                rng.random_range(0.0..TAU),
                rng.random_range(0.5..1.0),
            )
        })
        .collect();
    let ventricles: Vec<(f32, f32, f32, f32)> = [-1.0f32, 1.0]
        .iter()
        .map(|side| {
            (
                side * s * 0.06 + rng.random_range(-2.0..2.0),
                rng.random_range(-0.05..0.02) * s,
                s * rng.random_range(0.03..0.05),
                s * rng.random_range(0.08..0.12),
            )
        })
        .collect();
    let empty = rng.random_bool(tumours.empty_share.unwrap_or(1.0 / 3.0));
    // Pixels of tumour on this slice when a mean share is asked for.
    let area = tumours.fraction.map(|f| {
        // E[exp(U)] for U uniform on [−ln 2, ln 2] is 3 / (4 ln 2).
        let jitter = rng
            .random_range(-std::f64::consts::LN_2..std::f64::consts::LN_2)
            .exp()
            / (0.75 / std::f64::consts::LN_2);
        f / (1.0 - tumours.empty_share.unwrap_or(1.0 / 3.0)) * jitter * (s * s) as f64
    });
    let n_tumours = match (empty, area) {
        (true, _) => 0,
        (false, Some(a)) if a < 40.0 => 1,
        _ => rng.random_range(1..=3),
    };
    struct Tumour {
        x: f32,
        y: f32,
        r: f32,
        w: [(f32, f32, f32); 3],
        delta: f32,
    }
    let tumours: Vec<Tumour> = (0..n_tumours)
        .map(|_| {
            if let Some(a) = area {
                let w = [0, 1, 2].map(|k| {
                    (
                        2.0 + k as f32 * 1.5,
                        rng.random_range(0.0..TAU),
                        rng.random_range(0.05..0.25),
                    )
                });
                // Mean of (1 + Σ a_k sin(k φ + p_k))² over φ is 1 + Σ a_k² / 2.
                let wobble = 1.0 + w.iter().map(|(_, _, a)| a * a / 2.0).sum::<f32>();
                let r = (a as f32 / n_tumours as f32 / (PI * wobble)).sqrt();
                // Keep the whole tumour inside the brain.
                let reach = (0.9 - 1.8 * r / ra).clamp(0.0, 0.7);
                let (ang, rad): (f32, f32) =
                    (rng.random_range(0.0..TAU), rng.random_range(0.0..=reach));
                return Tumour {
                    x: cx + ang.cos() * rad * ra,
                    y: cy + ang.sin() * rad * rb,
                    r,
                    w,
                    delta: rng.random_range(0.10..0.20),
                };
            }
            // Area between 0.05% and 2% of the slice (log-uniform), split over the tumours.
            let frac = (rng.random_range(0.0005f32.ln()..0.02f32.ln())).exp() / n_tumours as f32;
            let r = (frac * s * s / PI).sqrt().max(1.3);
            let (ang, rad): (f32, f32) = (rng.random_range(0.0..TAU), rng.random_range(0.0..0.7));
            Tumour {
                x: cx + ang.cos() * rad * ra,
                y: cy + ang.sin() * rad * rb,
                r,
                w: [0, 1, 2].map(|k| {
                    (
                        2.0 + k as f32 * 1.5,
                        rng.random_range(0.0..TAU),
                        rng.random_range(0.05..0.25),
                    )
                }),
                delta: rng.random_range(0.10..0.20),
            }
        })
        .collect();
    let bias = (
        rng.random_range(-0.15..0.15),
        rng.random_range(-0.15..0.15),
        rng.random_range(-0.1..0.1),
    );
    let noise = rng.random_range(0.025..0.05);
    let mut image = Vec::with_capacity((size * size) as usize);
    let mut mask = Vec::with_capacity((size * size) as usize);
    let (cr, sr) = (rot.cos(), rot.sin());
    for py in 0..size {
        for px in 0..size {
            let (x, y) = (px as f32 + 0.5, py as f32 + 0.5);
            let (dx, dy) = (x - cx, y - cy);
            let (u, v) = (dx * cr + dy * sr, -dx * sr + dy * cr);
            let rho = ((u / ra).powi(2) + (v / rb).powi(2)).sqrt();
            let mut val = 0.02;
            let mut m = 0u8;
            if (1.0..1.09).contains(&rho) {
                val = 0.85;
            } else if rho < 0.97 {
                let t: f32 = waves
                    .iter()
                    .map(|(fx, fy, p, a)| a * (TAU * (fx * x + fy * y) + p).cos())
                    .sum::<f32>()
                    / 3.0;
                val = 0.36 + 0.2 / (1.0 + (-4.0 * t).exp());
                for (vx, vy, va, vb) in &ventricles {
                    if ((u - vx) / va).powi(2) + ((v - vy) / vb).powi(2) < 1.0 {
                        val = 0.12;
                    }
                }
                for tm in &tumours {
                    let (tx, ty) = (x - tm.x, y - tm.y);
                    let phi = ty.atan2(tx);
                    let edge = tm.r
                        * (1.0
                            + tm.w
                                .iter()
                                .map(|(k, p, a)| a * (k * phi + p).sin())
                                .sum::<f32>());
                    let d = (tx * tx + ty * ty).sqrt();
                    if d < edge {
                        // Slightly brighter than the tissue around it, fading at the rim.
                        val += tm.delta * (1.0 - 0.5 * (d / edge).powi(4));
                        m = 1;
                    }
                }
            } else if rho < 1.0 {
                val = 0.25; // cerebrospinal fluid between brain and skull
            }
            let (nx, ny) = (x / s - 0.5, y / s - 0.5);
            val *= 1.0 + bias.0 * nx + bias.1 * ny + bias.2 * nx * ny;
            val += noise * gauss(&mut rng);
            image.push((val.clamp(0.0, 1.0) * 255.0).round() as u8);
            mask.push(m);
        }
    }
    Slice { size, image, mask }
}
