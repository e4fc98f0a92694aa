//! The synthetic pictures: face-verify's rendered faces, and non-faces of five kinds
//! (shape-scene crops, textures, shuffled faces, smooth shading with edges, face surroundings),
//! all 25×25 grey with the same photometric randomisation; and the standardised input form
//! that the CNN and the pixel baseline share.

use crate::SIDE;
use face_verify::synth::{render, Identity};
use image::{imageops, GrayImage, RgbImage};
use kit::data::rng_for;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tch::Tensor;

pub(crate) fn grey(img: &RgbImage) -> GrayImage {
    imageops::grayscale(img)
}

/// A random square window of `img` with side in `[lo, hi]` × its side, resized to 25×25.
pub(crate) fn crop(
    img: &GrayImage,
    lo: f32,
    hi: f32,
    centred: bool,
    r: &mut ChaCha8Rng,
) -> GrayImage {
    let s = img.width().min(img.height());
    let side = ((s as f32 * r.random_range(lo..hi)) as u32).clamp(4, s);
    let room = s - side;
    let (x, y) = if centred {
        let j = (room / 4).max(1);
        (
            room / 2 + r.random_range(0..j) - j / 2,
            room / 2 + r.random_range(0..j) - j / 2,
        )
    } else {
        (r.random_range(0..=room), r.random_range(0..=room))
    };
    let w = imageops::crop_imm(img, x, y, side, side).to_image();
    imageops::resize(&w, SIDE, SIDE, imageops::FilterType::Triangle)
}

/// Photometric randomisation shared by both classes, so that neither blur, contrast,
/// brightness, shading nor noise tells a face from a non-face: random gamma, a linear
/// illumination gradient, Gaussian blur and pixel noise.
pub(crate) fn augment(img: GrayImage, r: &mut ChaCha8Rng) -> GrayImage {
    let sigma = r.random_range(0.0..1.3f32);
    let img = if sigma > 0.3 {
        imageops::blur(&img, sigma)
    } else {
        img
    };
    let gamma = r.random_range(0.6..1.6f32);
    let (gx, gy) = (r.random_range(-0.5..0.5f32), r.random_range(-0.5..0.5f32));
    let noise = r.random_range(0.0..0.05f32);
    let contrast = r.random_range(0.5..1.2f32);
    GrayImage::from_fn(SIDE, SIDE, |x, y| {
        let v = img.get_pixel(x, y)[0] as f32 / 255.0;
        let shade = 1.0 + gx * (x as f32 / SIDE as f32 - 0.5) + gy * (y as f32 / SIDE as f32 - 0.5);
        let v =
            0.5 + (v.powf(gamma) * shade - 0.5) * contrast + noise * r.random_range(-1.0..1.0f32);
        image::Luma([(v.clamp(0.0, 1.0) * 255.0).round() as u8])
    })
}

/// Face `index` of stream `seed`: a rendered person, cropped around the face.
pub fn face(seed: u64, index: u64) -> GrayImage {
    let r = &mut rng_for(seed, 0xFAC, index);
    let person = Identity::new(seed, r.random_range(0..100_000));
    let img = grey(&render(&person, seed, index, 64, 1.0));
    let c = crop(&img, 0.5, 0.8, true, r);
    augment(c, r)
}

/// Non-face `index` of stream `seed`, one of five kinds in turn.
pub fn non_face(seed: u64, index: u64) -> GrayImage {
    let r = &mut rng_for(seed, 0x40F, index);
    let img = non_face_kind(seed, index, r);
    augment(img, r)
}

fn non_face_kind(seed: u64, index: u64, r: &mut ChaCha8Rng) -> GrayImage {
    match index % 5 {
        0 => {
            let spec = scenes::render::SceneSpec {
                size: 64,
                min_objects: 1,
                max_objects: 4,
                distractors: 6,
                object_size: (0.15, 0.5),
            };
            let s = scenes::render::render(seed ^ 0x5CE, index, &spec);
            crop(&grey(&s.image), 0.3, 1.0, false, r)
        }
        1 => {
            // A texture: a few random waves and noise.
            let waves: Vec<(f32, f32, f32)> = (0..r.random_range(1..5))
                .map(|_| {
                    let f = r.random_range(0.1..1.5f32);
                    let a = r.random_range(0.0..std::f32::consts::TAU);
                    (f * a.cos(), f * a.sin(), r.random_range(0.0..6.3))
                })
                .collect();
            let noise = r.random_range(0.0..0.3f32);
            GrayImage::from_fn(SIDE, SIDE, |x, y| {
                let v: f32 = waves
                    .iter()
                    .map(|(fx, fy, p)| (fx * x as f32 + fy * y as f32 + p).sin())
                    .sum::<f32>()
                    / waves.len() as f32;
                let v = 0.5 + 0.4 * v + noise * r.random_range(-0.5..0.5f32);
                image::Luma([(v.clamp(0.0, 1.0) * 255.0) as u8])
            })
        }
        2 => {
            // A face with its 5×5 tiles shuffled: face-like parts, no face.
            let f = face(seed ^ 0x5A, index);
            let t = SIDE / 5;
            let mut order: Vec<u32> = (0..25).collect();
            for i in (1..25).rev() {
                order.swap(i, r.random_range(0..=i));
            }
            GrayImage::from_fn(SIDE, SIDE, |x, y| {
                let (tx, ty) = ((x / t).min(4), (y / t).min(4));
                let k = order[(ty * 5 + tx) as usize];
                let (sx, sy) = ((k % 5) * t + x % t, (k / 5) * t + y % t);
                *f.get_pixel(sx.min(SIDE - 1), sy.min(SIDE - 1))
            })
        }
        3 => {
            // Smooth shading with 0–2 straight edges: walls, sky, clothing.
            let edges: Vec<(f32, f32, f32, f32)> = (0..r.random_range(0..3))
                .map(|_| {
                    let a = r.random_range(0.0..std::f32::consts::TAU);
                    (
                        a.cos(),
                        a.sin(),
                        r.random_range(-8.0..8.0),
                        r.random_range(-0.5..0.5),
                    )
                })
                .collect();
            let (base, gx, gy) = (
                r.random_range(0.1..0.9f32),
                r.random_range(-0.02..0.02f32),
                r.random_range(-0.02..0.02f32),
            );
            GrayImage::from_fn(SIDE, SIDE, |x, y| {
                let (u, v) = (x as f32 - 12.0, y as f32 - 12.0);
                let mut val = base + gx * u + gy * v;
                for (c, s, off, step) in &edges {
                    if c * u + s * v > *off {
                        val += step;
                    }
                }
                image::Luma([(val.clamp(0.0, 1.0) * 255.0) as u8])
            })
        }
        _ => {
            // The background and hair around a face: a corner of a picture of a person.
            let person = Identity::new(seed ^ 0xC0, index);
            let img = grey(&render(&person, seed ^ 0xC0, index, 96, 1.0));
            let side = r.random_range(24..40u32);
            let (x, y) = match r.random_range(0..4) {
                0 => (0, 0),
                1 => (96 - side, 0),
                2 => (0, 96 - side),
                _ => (96 - side, 96 - side),
            };
            let w = imageops::crop_imm(&img, x, y, side, side).to_image();
            imageops::resize(&w, SIDE, SIDE, imageops::FilterType::Triangle)
        }
    }
}

/// A picture as the model sees it: grey values in 0..1 standardised to zero mean and unit
/// variance (the standard deviation floored at 0.02, so a flat picture stays finite).
pub fn standardise(p: &GrayImage) -> Vec<f32> {
    let x: Vec<f32> = p.as_raw().iter().map(|&b| b as f32 / 255.0).collect();
    let m = x.iter().sum::<f32>() / x.len() as f32;
    let sd = (x.iter().map(|a| (a - m).powi(2)).sum::<f32>() / x.len() as f32).sqrt();
    x.iter().map(|a| (a - m) / sd.max(0.02)).collect()
}

/// (N, 1, 25, 25) inputs, each picture standardised on its own.
pub fn to_tensor(pictures: &[GrayImage]) -> Tensor {
    let v: Vec<f32> = pictures.iter().flat_map(standardise).collect();
    Tensor::from_slice(&v).view([pictures.len() as i64, 1, SIDE as i64, SIDE as i64])
}
