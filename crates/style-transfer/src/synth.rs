//! The built-in pictures, so that `just demo` needs no download: content "photos" (a landscape
//! of sky, sun, hills, houses and trees, each drawn from a seed) and a "painting" in the manner
//! of The Starry Night (short strokes that follow a flow field of swirls, in blues and
//! yellows over a dark sky). Shapes and strokes are drawn with `imageproc`.

use image::{Rgb, RgbImage};
use imageproc::drawing::{
    draw_filled_circle_mut, draw_filled_rect_mut, draw_line_segment_mut, draw_polygon_mut,
};
use imageproc::point::Point;
use imageproc::rect::Rect;
use kit::data::rng_for;
use rand::Rng;

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t)
}

fn rgb(c: [f32; 3]) -> Rgb<u8> {
    Rgb(c.map(|v| (v.clamp(0.0, 1.0) * 255.0) as u8))
}

fn rect(x: f32, y: f32, w: f32, h: f32) -> Rect {
    Rect::at(x as i32, y as i32).of_size((w as u32).max(1), (h as u32).max(1))
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
    let hill = |x: f32| horizon + amp * (freq * x / s * std::f32::consts::TAU + phase).sin();
    // Sky and ground are fields (a gradient, shaded grass), computed per pixel.
    let mut img = RgbImage::from_fn(size, size, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        let h = hill(xf);
        rgb(if yf > h {
            let shade = 0.75 + 0.25 * ((xf * 0.37).sin() * (yf * 0.23).cos());
            ground.map(|v| v * shade * (0.8 + 0.4 * (yf - h) / s))
        } else {
            mix(sky_top, sky_low, yf / h.max(1.0))
        })
    });
    let sun = (sun_x as i32, sun_y as i32);
    draw_filled_circle_mut(&mut img, sun, sun_r as i32, rgb([1.0, 0.95, 0.6]));
    // Houses (a wall with two windows and a roof) and trees (a trunk and a round crown).
    for _ in 0..r.random_range(1..5) {
        let x0 = r.random_range(0.0..0.85) * s;
        let w = r.random_range(0.08..0.18) * s;
        let base = hill(x0 + w / 2.0) + 0.05 * s;
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
            draw_filled_rect_mut(&mut img, rect(x0, base - h, w, h), rgb(wall));
            let win = (w / 5.0).max(1.0);
            for k in 0..2 {
                let wx = x0 + w * (0.2 + 0.45 * k as f32);
                let window = rect(wx, base - 0.7 * h, win, win);
                draw_filled_rect_mut(&mut img, window, rgb([0.2, 0.2, 0.3]));
            }
            let eaves = [
                Point::new(x0 as i32, (base - h) as i32),
                Point::new((x0 + w / 2.0) as i32, (base - h - w / 2.0) as i32),
                Point::new((x0 + w) as i32, (base - h) as i32),
            ];
            draw_polygon_mut(&mut img, &eaves, rgb(roof));
        } else {
            let (cx, cr) = (x0 + w / 2.0, w * 0.6);
            let trunk = rect(cx - w * 0.1, base - 1.2 * w, w * 0.2, 1.2 * w);
            draw_filled_rect_mut(&mut img, trunk, rgb([0.35, 0.22, 0.1]));
            let crown = (cx as i32, (base - 1.2 * w - cr * 0.5) as i32);
            let green = rgb([0.1, r.random_range(0.3..0.5), 0.1]);
            draw_filled_circle_mut(&mut img, crown, cr as i32, green);
        }
    }
    img
}

/// The seed of the built-in painting: one style picture, whatever `train.seed` is (seeds vary
/// the content and the initialisation, not the style being learnt).
pub const PAINTING_SEED: u64 = 42;

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
        let thick = r.random_bool(0.5);
        for _ in 0..r.random_range(6..18) {
            let (dx, dy) = flow(x, y);
            let (nx, ny) = (x + dx, y + dy);
            draw_line_segment_mut(&mut img, (x, y), (nx, ny), rgb(c));
            if thick {
                draw_line_segment_mut(&mut img, (x + 1.0, y), (nx + 1.0, ny), rgb(c));
            }
            (x, y) = (nx, ny);
        }
    }
    img
}
