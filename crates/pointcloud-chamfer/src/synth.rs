//! Seeded procedural shapes: five primitives and four objects composed of them, each with
//! random proportions, as closed triangle meshes (y is up).

use crate::mesh::{Mesh, V3};
use rand::Rng;
use std::f32::consts::TAU;

/// The classes of the built-in set, in label order.
pub const CLASSES: [&str; 9] = [
    "box", "sphere", "cylinder", "cone", "torus", "table", "chair", "lamp", "mug",
];

/// Mesh builder: primitives appended into one mesh.
#[derive(Default)]
struct Builder {
    mesh: Mesh,
}

impl Builder {
    fn vertex(&mut self, v: V3) -> u32 {
        self.mesh.vertices.push(v);
        (self.mesh.vertices.len() - 1) as u32
    }

    fn quad(&mut self, a: u32, b: u32, c: u32, d: u32) {
        self.mesh.faces.push([a, b, c]);
        self.mesh.faces.push([a, c, d]);
    }

    /// Axis-aligned box centred at `c` with full sizes `s`.
    fn cuboid(&mut self, c: V3, s: V3) {
        let v: Vec<u32> = (0..8)
            .map(|i| {
                let sign = |bit: i32, k: usize| if i & bit != 0 { 0.5 } else { -0.5 } * s[k];
                self.vertex([c[0] + sign(1, 0), c[1] + sign(2, 1), c[2] + sign(4, 2)])
            })
            .collect();
        for [a, b, cc, d] in [
            [0, 2, 3, 1],
            [4, 5, 7, 6],
            [0, 1, 5, 4],
            [2, 6, 7, 3],
            [0, 4, 6, 2],
            [1, 3, 7, 5],
        ] {
            self.quad(v[a], v[b], v[cc], v[d]);
        }
    }

    /// Surface of revolution about the vertical axis through `c`: `profile` is (radius,
    /// height) from bottom to top; zero radii at the ends close it.
    fn lathe(&mut self, c: V3, profile: &[(f32, f32)], segments: usize) {
        let rings: Vec<Vec<u32>> = profile
            .iter()
            .map(|&(r, h)| {
                (0..segments)
                    .map(|s| {
                        let a = TAU * s as f32 / segments as f32;
                        self.vertex([c[0] + r * a.cos(), c[1] + h, c[2] + r * a.sin()])
                    })
                    .collect()
            })
            .collect();
        for w in rings.windows(2) {
            for s in 0..segments {
                let t = (s + 1) % segments;
                self.quad(w[0][s], w[1][s], w[1][t], w[0][t]);
            }
        }
    }

    fn cylinder(&mut self, c: V3, r: f32, h: f32) {
        self.lathe(c, &[(0.0, 0.0), (r, 0.0), (r, h), (0.0, h)], 24);
    }

    fn cone(&mut self, c: V3, r_bottom: f32, r_top: f32, h: f32) {
        self.lathe(c, &[(0.0, 0.0), (r_bottom, 0.0), (r_top, h), (0.0, h)], 24);
    }

    fn sphere(&mut self, c: V3, r: f32, squash: f32) {
        let profile: Vec<(f32, f32)> = (0..=12)
            .map(|i| {
                let t = std::f32::consts::PI * i as f32 / 12.0;
                (r * t.sin(), -r * squash * t.cos())
            })
            .collect();
        self.lathe(c, &profile, 24);
    }

    /// Torus around an axis: vertical (`flat`) or along z (a mug handle).
    fn torus(&mut self, c: V3, big: f32, small: f32, flat: bool) {
        let (nu, nv) = (24, 12);
        let idx: Vec<Vec<u32>> = (0..nu)
            .map(|i| {
                let u = TAU * i as f32 / nu as f32;
                (0..nv)
                    .map(|j| {
                        let v = TAU * j as f32 / nv as f32;
                        let rr = big + small * v.cos();
                        let (a, b, h) = (rr * u.cos(), rr * u.sin(), small * v.sin());
                        let p = if flat { [a, h, b] } else { [a, b, h] };
                        self.vertex([c[0] + p[0], c[1] + p[1], c[2] + p[2]])
                    })
                    .collect()
            })
            .collect();
        for i in 0..nu {
            for j in 0..nv {
                let (i2, j2) = ((i + 1) % nu, (j + 1) % nv);
                self.quad(idx[i][j], idx[i2][j], idx[i2][j2], idx[i][j2]);
            }
        }
    }
}

/// A random shape of class `class` (index into [`CLASSES`]), normalised to a unit diagonal.
pub fn shape(class: usize, rng: &mut impl Rng) -> Mesh {
    let mut b = Builder::default();
    let mut u = |lo: f32, hi: f32| rng.random_range(lo..hi);
    match class {
        0 => b.cuboid([0.0; 3], [u(0.4, 1.0), u(0.4, 1.0), u(0.4, 1.0)]),
        1 => b.sphere([0.0; 3], 0.5, u(0.6, 1.3)),
        2 => b.cylinder([0.0; 3], u(0.15, 0.5), u(0.5, 1.2)),
        3 => b.cone([0.0; 3], u(0.25, 0.5), 0.0, u(0.5, 1.2)),
        4 => b.torus([0.0; 3], 0.4, u(0.06, 0.2), true),
        5 => {
            // Table: a top on four legs.
            let (w, d, h, t, l) = (
                u(0.8, 1.2),
                u(0.5, 0.9),
                u(0.4, 0.7),
                u(0.04, 0.08),
                u(0.04, 0.08),
            );
            b.cuboid([0.0, h, 0.0], [w, t, d]);
            for (sx, sz) in [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)] {
                let (x, z) = (sx * (w / 2.0 - l), sz * (d / 2.0 - l));
                b.cuboid([x, h / 2.0, z], [l, h, l]);
            }
        }
        6 => {
            // Chair: seat, back, four legs.
            let (w, h, back, t) = (u(0.4, 0.6), u(0.35, 0.5), u(0.35, 0.6), 0.05);
            b.cuboid([0.0, h, 0.0], [w, t, w]);
            b.cuboid([0.0, h + back / 2.0, -w / 2.0 + t / 2.0], [w, back, t]);
            for (sx, sz) in [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)] {
                b.cuboid([sx * (w / 2.0 - t), h / 2.0, sz * (w / 2.0 - t)], [t, h, t]);
            }
        }
        7 => {
            // Lamp: base disc, pole, conical shade.
            let (pole, shade) = (u(0.5, 0.9), u(0.2, 0.35));
            b.cylinder([0.0, 0.0, 0.0], u(0.15, 0.25), 0.05);
            b.cylinder([0.0, 0.05, 0.0], 0.025, pole);
            b.cone(
                [0.0, 0.05 + pole - shade * 0.3, 0.0],
                u(0.2, 0.35),
                u(0.05, 0.12),
                shade,
            );
        }
        _ => {
            // Mug: body and a handle.
            let (r, h) = (u(0.2, 0.3), u(0.4, 0.7));
            b.cylinder([0.0; 3], r, h);
            b.torus([r, h / 2.0, 0.0], u(0.1, 0.16), 0.03, false);
        }
    }
    b.mesh.normalised()
}
