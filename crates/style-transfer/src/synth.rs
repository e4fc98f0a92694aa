//! The built-in pictures, so that `just demo` needs no download: content "photos" (a landscape
//! of sky, sun, hills, houses and trees, each drawn from a seed) and a "painting" in the manner
//! of The Starry Night (short strokes that follow a flow field of swirls, in blues and
//! yellows over a dark sky).

use image::{Rgb, RgbImage};
use kit::data::rng_for;
use rand::Rng;

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t)
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: [f32; 3]) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(
            x as u32,
            y as u32,
            Rgb(c.map(|v| (v.clamp(0.0, 1.0) * 255.0) as u8)),
        );
    }
}

/// Content scene number `index` of the stream `seed`, `size` × `size` pixels.
pub fn scene(size: u32, seed: u64, index: u64) -> RgbImage {
    let mut r = rng_for(seed, 31, index);
    let s = size as f32;
    let sky_top = [
        r.random_range(0.1..0.5),
        r.random_range(0.3..0.6),
        r.random_range(0.6..1.0),
    ];
    let sky_low = mix(sky_top, [1.0, 0.9, 0.8], r.random_range(0.3..0.8));
    let ground = [
        r.random_range(0.1..0.4),
        r.random_range(0.35..0.7),
        r.random_range(0.05..0.3),
    ];
    let horizon = r.random_range(0.45..0.7) * s;
    let (amp, freq, phase) = (
        r.random_range(0.03..0.12) * s,
        r.random_range(1.0..4.0),
        r.random_range(0.0..6.3),
    );
    let (sun_x, sun_y, sun_r) = (
        r.random_range(0.1..0.9) * s,
        r.random_range(0.08..0.35) * s,
        r.random_range(0.05..0.1) * s,
    );
    let mut img = RgbImage::new(size, size);
    for y in 0..size {
        for x in 0..size {
            let (xf, yf) = (x as f32, y as f32);
            let hill = horizon + amp * (freq * xf / s * std::f32::consts::TAU + phase).sin();
            let c = if yf > hill {
                let shade = 0.75 + 0.25 * ((xf * 0.37).sin() * (yf * 0.23).cos());
                ground.map(|v| v * shade * (0.8 + 0.4 * (yf - hill) / s))
            } else if (xf - sun_x).hypot(yf - sun_y) < sun_r {
                [1.0, 0.95, 0.6]
            } else {
                mix(sky_top, sky_low, yf / hill.max(1.0))
            };
            put(&mut img, x as i64, y as i64, c);
        }
    }
    // Houses (a wall and a roof) and trees (a trunk and a round crown) standing on the hills.
    for _ in 0..r.random_range(1..5) {
        let x0 = r.random_range(0.0..0.85) * s;
        let w = r.random_range(0.08..0.18) * s;
        let base = horizon
            + amp * (freq * (x0 + w / 2.0) / s * std::f32::consts::TAU + phase).sin()
            + 0.05 * s;
        if r.random_bool(0.5) {
            let h = w * r.random_range(0.6..1.1);
            let wall = [
                r.random_range(0.5..0.95),
                r.random_range(0.4..0.9),
                r.random_range(0.3..0.8),
            ];
            let roof = [
                r.random_range(0.4..0.8),
                r.random_range(0.1..0.3),
                r.random_range(0.1..0.2),
            ];
            for yy in (base - h) as i64..base as i64 {
                for xx in x0 as i64..(x0 + w) as i64 {
                    let window = (xx - x0 as i64) % 6 < 2 && (yy - (base - h) as i64) % 7 < 3;
                    put(
                        &mut img,
                        xx,
                        yy,
                        if window { [0.2, 0.2, 0.3] } else { wall },
                    );
                }
            }
            for k in 0..(w / 2.0) as i64 {
                for xx in (x0 as i64 + k)..((x0 + w) as i64 - k) {
                    put(&mut img, xx, (base - h) as i64 - k, roof);
                }
            }
        } else {
            let (cx, cr) = (x0 + w / 2.0, w * 0.6);
            for yy in (base - 1.2 * w) as i64..base as i64 {
                for xx in (cx - w * 0.1) as i64..(cx + w * 0.1) as i64 {
                    put(&mut img, xx, yy, [0.35, 0.22, 0.1]);
                }
            }
            let cy = base - 1.2 * w - cr * 0.5;
            for yy in (cy - cr) as i64..(cy + cr) as i64 {
                for xx in (cx - cr) as i64..(cx + cr) as i64 {
                    if (xx as f32 - cx).hypot(yy as f32 - cy) < cr {
                        put(
                            &mut img,
                            xx,
                            yy,
                            [0.1, 0.35 + 0.1 * ((xx + yy) % 3) as f32, 0.1],
                        );
                    }
                }
            }
        }
    }
    img
}

/// The built-in style: `size` × `size` strokes following swirls (seeded).
pub fn painting(size: u32, seed: u64) -> RgbImage {
    let mut r = rng_for(seed, 37, 0);
    let s = size as f32;
    let swirls: Vec<(f32, f32, f32)> = (0..6)
        .map(|_| {
            (
                r.random_range(0.0..s),
                r.random_range(0.0..0.7 * s),
                r.random_range(0.08..0.2) * s,
            )
        })
        .collect();
    // The flow direction at (x, y): a wind blowing right, bent round each swirl's centre.
    let flow = |x: f32, y: f32| -> (f32, f32) {
        let (mut dx, mut dy) = (1.0f32, 0.15 * (y / s * 9.0).sin());
        for &(cx, cy, rad) in &swirls {
            let (ex, ey) = (x - cx, y - cy);
            let d2 = ex * ex + ey * ey;
            let w = 3.0 * (-d2 / (2.0 * rad * rad)).exp();
            dx += -ey / rad * w;
            dy += ex / rad * w;
        }
        let n = dx.hypot(dy).max(1e-6);
        (dx / n, dy / n)
    };
    let mut img = RgbImage::from_pixel(size, size, Rgb([20, 30, 70]));
    let palette = [
        [0.08, 0.15, 0.45],
        [0.15, 0.3, 0.65],
        [0.3, 0.5, 0.85],
        [0.55, 0.7, 0.95],
        [0.95, 0.85, 0.35],
        [0.98, 0.95, 0.7],
        [0.05, 0.08, 0.2],
    ];
    let strokes = (size * size / 6) as usize;
    for _ in 0..strokes {
        let (mut x, mut y) = (r.random_range(0.0..s), r.random_range(0.0..s));
        let near_swirl = swirls
            .iter()
            .any(|&(cx, cy, rad)| (x - cx).hypot(y - cy) < rad * 0.6);
        let c = if near_swirl && r.random_bool(0.6) {
            palette[4 + r.random_range(0..2)]
        } else if y > 0.8 * s {
            palette[6]
        } else {
            palette[r.random_range(0..4)]
        };
        let c = c.map(|v| v * r.random_range(0.85..1.1));
        let width = r.random_range(1..3) as i64;
        for _ in 0..r.random_range(6..18) {
            for oy in 0..width {
                for ox in 0..width {
                    put(&mut img, x as i64 + ox, y as i64 + oy, c);
                }
            }
            let (dx, dy) = flow(x, y);
            x += dx;
            y += dy;
        }
    }
    img
}
