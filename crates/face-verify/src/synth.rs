//! A seeded procedural face renderer. An identity is a fixed draw of face shape, skin tone,
//! eye spacing / size / colour, brows, nose, mouth, hair style and colour, glasses and beard;
//! each image of it varies pose (rotation, shift, scale), lighting gradient, expression,
//! blur, noise and small occlusions, scaled by `nuisance` (0 = identical images).

use image::{Rgb, RgbImage};
use kit::data::rng_for;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The fixed traits of one person.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    face_w: f32,
    face_h: f32,
    jaw: f32,
    skin: [f32; 3],
    eye_dx: f32,
    eye_y: f32,
    eye_r: f32,
    iris: [f32; 3],
    brow_t: f32,
    brow_tilt: f32,
    brow_gap: f32,
    nose_len: f32,
    nose_w: f32,
    mouth_w: f32,
    mouth_y: f32,
    mouth_curve: f32,
    lip: [f32; 3],
    hair_style: u8,
    hair: [f32; 3],
    hair_line: f32,
    glasses: bool,
    beard: bool,
}

/// The middle `spread` of the range a..b (1 = all of it, bit for bit).
fn mid(a: f32, b: f32, spread: f32) -> std::ops::Range<f32> {
    let cut = (b - a) * (1.0 - spread) / 2.0;
    a + cut..b - cut
}

fn colour(rng: &mut ChaCha8Rng, lo: [f32; 3], hi: [f32; 3], spread: f32) -> [f32; 3] {
    let range: [std::ops::Range<f32>; 3] = std::array::from_fn(|k| mid(lo[k], hi[k], spread));
    let (lo, hi) = (range.clone().map(|r| r.start), range.map(|r| r.end));
    let t: f32 = rng.random();
    let j = |k: usize, r: &mut ChaCha8Rng| {
        (lo[k] + (hi[k] - lo[k]) * t + r.random_range(-0.04..0.04)).clamp(0.0, 1.0)
    };
    [j(0, rng), j(1, rng), j(2, rng)]
}

impl Identity {
    /// The person with number `id` in the stream `seed`.
    pub fn new(seed: u64, id: u64) -> Self {
        Self::with_spread(seed, id, 1.0)
    }

    /// The person with number `id`, every continuous trait drawn from the middle `spread` of
    /// its range (`data.spread`: 1 = the full range; smaller = look-alike people).
    pub fn with_spread(seed: u64, id: u64, spread: f32) -> Self {
        let r = &mut rng_for(seed, 0xFACE, id);
        Self {
            face_w: r.random_range(mid(0.30, 0.40, spread)),
            face_h: r.random_range(mid(0.40, 0.50, spread)),
            jaw: r.random_range(mid(0.0, 0.35, spread)),
            skin: colour(r, [0.35, 0.22, 0.15], [0.98, 0.85, 0.74], spread),
            eye_dx: r.random_range(mid(0.11, 0.18, spread)),
            eye_y: r.random_range(mid(-0.08, 0.02, spread)),
            eye_r: r.random_range(mid(0.035, 0.06, spread)),
            iris: colour(r, [0.15, 0.1, 0.05], [0.3, 0.6, 0.9], spread),
            brow_t: r.random_range(mid(0.012, 0.035, spread)),
            brow_tilt: r.random_range(mid(-0.35, 0.35, spread)),
            brow_gap: r.random_range(mid(0.05, 0.1, spread)),
            nose_len: r.random_range(mid(0.08, 0.17, spread)),
            nose_w: r.random_range(mid(0.03, 0.07, spread)),
            mouth_w: r.random_range(mid(0.08, 0.16, spread)),
            mouth_y: r.random_range(mid(0.22, 0.3, spread)),
            mouth_curve: r.random_range(mid(-0.04, 0.05, spread)),
            lip: colour(r, [0.45, 0.15, 0.15], [0.85, 0.45, 0.45], spread),
            hair_style: r.random_range(0..4),
            hair: colour(r, [0.05, 0.04, 0.03], [0.85, 0.7, 0.45], spread),
            hair_line: r.random_range(mid(-0.38, -0.25, spread)),
            glasses: r.random_bool(0.3),
            beard: r.random_bool(0.25),
        }
    }
}

/// Renders image `index` of `person` at `size` × `size`.
pub fn render(person: &Identity, seed: u64, index: u64, size: u32, nuisance: f32) -> RgbImage {
    let r = &mut rng_for(seed, 0x1A6E, index);
    let n = nuisance;
    let mut u = |a: f32| if a > 0.0 { r.random_range(-a..a) } else { 0.0 };
    let (rot, sx, sy, scale) = (u(0.25 * n), u(0.07 * n), u(0.07 * n), 1.0 + u(0.1 * n));
    let (light_a, light_g) = (u(std::f32::consts::PI), u(0.35 * n).abs());
    let (smile, blink) = (u(0.03 * n), u(0.3 * n).abs());
    let bg = [0.5 + u(0.3), 0.5 + u(0.3), 0.5 + u(0.3)];
    let noise = u(0.06 * n).abs();
    let occl = if u(1.0) + 1.0 < 0.6 * n {
        Some((
            u(0.5),
            u(0.5),
            0.05 + u(0.1).abs(),
            0.05 + u(0.1).abs(),
            [0.5 + u(0.5), 0.5 + u(0.5), 0.5 + u(0.5)],
        ))
    } else {
        None
    };
    let p = person;
    let (cr, sr) = (rot.cos(), rot.sin());
    let mut img = RgbImage::new(size, size);
    for py in 0..size {
        for px in 0..size {
            // Pixel -> face coordinates (face centred at 0, roughly -0.5..0.5).
            let (x0, y0) = (
                (px as f32 + 0.5) / size as f32 - 0.5 - sx,
                (py as f32 + 0.5) / size as f32 - 0.5 - sy,
            );
            let (x, y) = ((x0 * cr + y0 * sr) / scale, (-x0 * sr + y0 * cr) / scale);
            let fw = p.face_w * (1.0 - p.jaw * (y / p.face_h).max(0.0).powi(2));
            let in_face = (x / fw).powi(2) + (y / p.face_h).powi(2) < 1.0;
            let hair_cap =
                (x / (p.face_w * 1.08)).powi(2) + ((y + 0.05) / (p.face_h * 1.05)).powi(2) < 1.0
                    && y < p.hair_line + 0.1 * (x / p.face_w).powi(2);
            let long_hair = p.hair_style >= 2
                && (x.abs() < p.face_w * 1.25)
                && y < 0.1 + 0.15 * (p.hair_style as f32 - 2.0)
                && y > -p.face_h;
            let mut c = bg;
            if long_hair && !in_face {
                c = p.hair;
            }
            if in_face {
                c = p.skin;
                // Eyes, with irises and blinking.
                for side in [-1.0f32, 1.0] {
                    let (ex, ey) = (x - side * p.eye_dx, y - p.eye_y);
                    let open = p.eye_r * 0.6 * (1.0 - blink);
                    if (ex / p.eye_r).powi(2) + (ey / open.max(1e-3)).powi(2) < 1.0 {
                        c = [0.95, 0.95, 0.95];
                        if ex * ex + ey * ey < (p.eye_r * 0.5).powi(2) {
                            c = p.iris;
                        }
                        if ex * ex + ey * ey < (p.eye_r * 0.2).powi(2) {
                            c = [0.05, 0.05, 0.05];
                        }
                    }
                    let (bx, by) = (x - side * p.eye_dx, y - (p.eye_y - p.brow_gap));
                    if bx.abs() < p.eye_r * 1.3 && (by - side * p.brow_tilt * bx).abs() < p.brow_t {
                        c = p.hair.map(|v| v * 0.8);
                    }
                    if p.glasses {
                        let d = ((x - side * p.eye_dx).powi(2) + (y - p.eye_y).powi(2)).sqrt();
                        if (d - p.eye_r * 1.6).abs() < 0.008
                            || (x.abs() < p.eye_dx - p.eye_r * 1.6 && (y - p.eye_y).abs() < 0.006)
                        {
                            c = [0.1, 0.1, 0.12];
                        }
                    }
                }
                // Nose: a darker wedge below the eyes.
                let ny = y - p.eye_y;
                if ny > 0.02 && ny < p.nose_len && x.abs() < p.nose_w * ny / p.nose_len {
                    c = p.skin.map(|v| v * 0.82);
                }
                // Mouth: a curved band; smiles bend it.
                let curve = (p.mouth_curve + smile) * (1.0 - (x / p.mouth_w).powi(2));
                if x.abs() < p.mouth_w && (y - p.mouth_y + curve).abs() < 0.018 {
                    c = p.lip;
                }
                if p.beard
                    && y > p.mouth_y - 0.06
                    && !(x.abs() < p.mouth_w && (y - p.mouth_y + curve).abs() < 0.018)
                {
                    c = p.hair.map(|v| v * 0.9);
                }
            }
            if hair_cap && !(in_face && y > p.hair_line) {
                c = p.hair;
            }
            if let Some((ox, oy, ow, oh, oc)) = occl {
                if (x - ox).abs() < ow && (y - oy).abs() < oh {
                    c = oc;
                }
            }
            let light = 1.0 + light_g * (x * light_a.cos() + y * light_a.sin()) * 2.0;
            let px_rgb =
                c.map(|v| (v * light + noise * (r.random::<f32>() - 0.5) * 2.0).clamp(0.0, 1.0));
            img.put_pixel(px, py, Rgb(px_rgb.map(|v| (v * 255.0) as u8)));
        }
    }
    if n > 0.0 && r.random_bool((0.5 * n as f64).min(1.0)) {
        img = image::imageops::blur(&img, r.random_range(0.3..0.9) * n);
    }
    img
}
