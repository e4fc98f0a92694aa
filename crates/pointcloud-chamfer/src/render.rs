//! A small rasteriser: orthographic camera at an azimuth / elevation, depth test, two-sided
//! Lambert shading, grayscale image. Enough to turn a mesh into the network's input picture.

use crate::mesh::{cross, norm, sub, Mesh, V3};

/// Where the camera looks from, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct View {
    /// Rotation about the vertical (y) axis.
    pub azimuth: f32,
    /// Tilt above the horizon (positive shows the top).
    pub elevation: f32,
}

impl View {
    /// Rotation taking object coordinates to view coordinates (camera looks along −z, y up):
    /// R = Rx(elevation) · Ry(azimuth).
    pub fn rotation(&self) -> [[f32; 3]; 3] {
        let (a, e) = (self.azimuth.to_radians(), self.elevation.to_radians());
        let (ca, sa, ce, se) = (a.cos(), a.sin(), e.cos(), e.sin());
        [
            [ca, 0.0, sa],
            [se * sa, ce, -se * ca],
            [-ce * sa, se, ce * ca],
        ]
    }

    /// `p` in view coordinates.
    pub fn apply(&self, p: V3) -> V3 {
        rotate(&self.rotation(), p)
    }
}

pub fn rotate(r: &[[f32; 3]; 3], p: V3) -> V3 {
    [0, 1, 2].map(|i| r[i][0] * p[0] + r[i][1] * p[1] + r[i][2] * p[2])
}

/// Renders `mesh` as seen from `view` into a `size`×`size` grayscale image (row-major, 0 =
/// background, lit surfaces 0.25–1). The image spans [−extent, extent] of view x and y.
pub fn render(mesh: &Mesh, view: View, size: usize, extent: f32) -> Vec<f32> {
    let r = view.rotation();
    let vs: Vec<V3> = mesh.vertices.iter().map(|&p| rotate(&r, p)).collect();
    let s = size as f32;
    let to_px = |p: V3| {
        [
            (p[0] / (2.0 * extent) + 0.5) * s,
            (0.5 - p[1] / (2.0 * extent)) * s,
            p[2],
        ]
    };
    let light = {
        let l = [-0.4f32, 0.6, 0.7];
        let n = norm(l);
        l.map(|v| v / n)
    };
    let mut depth = vec![f32::NEG_INFINITY; size * size];
    let mut img = vec![0f32; size * size];
    for f in &mesh.faces {
        let [a, b, c] = f.map(|i| vs[i as usize]);
        let n = cross(sub(b, a), sub(c, a));
        let len = norm(n);
        if len == 0.0 {
            continue;
        }
        let shade =
            0.25 + 0.75 * ((n[0] * light[0] + n[1] * light[1] + n[2] * light[2]) / len).abs();
        let [pa, pb, pc] = [to_px(a), to_px(b), to_px(c)];
        let area = edge(pa, pb, pc);
        if area.abs() < 1e-12 {
            continue;
        }
        let lo_x = pa[0].min(pb[0]).min(pc[0]).floor().max(0.0) as usize;
        let hi_x = (pa[0].max(pb[0]).max(pc[0]).ceil().min(s)) as usize;
        let lo_y = pa[1].min(pb[1]).min(pc[1]).floor().max(0.0) as usize;
        let hi_y = (pa[1].max(pb[1]).max(pc[1]).ceil().min(s)) as usize;
        for y in lo_y..hi_y {
            for x in lo_x..hi_x {
                let p = [x as f32 + 0.5, y as f32 + 0.5, 0.0];
                let (w0, w1, w2) = (
                    edge(pb, pc, p) / area,
                    edge(pc, pa, p) / area,
                    edge(pa, pb, p) / area,
                );
                if w0 < 0.0 || w1 < 0.0 || w2 < 0.0 {
                    continue;
                }
                let z = w0 * pa[2] + w1 * pb[2] + w2 * pc[2];
                let i = y * size + x;
                if z > depth[i] {
                    depth[i] = z;
                    img[i] = shade;
                }
            }
        }
    }
    img
}

/// Twice the signed area of (a, b, p) in the image plane.
fn edge(a: [f32; 3], b: [f32; 3], p: [f32; 3]) -> f32 {
    (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(z: f32, half: f32) -> Mesh {
        Mesh {
            vertices: vec![
                [-half, -half, z],
                [half, -half, z],
                [half, half, z],
                [-half, half, z],
            ],
            faces: vec![[0, 1, 2], [0, 2, 3]],
        }
    }

    #[test]
    fn a_square_facing_the_camera_covers_the_expected_pixels() {
        // Half-width 0.25 of an image spanning [−0.5, 0.5]: pixels 16..48 in x and y.
        let img = render(
            &square(0.0, 0.25),
            View {
                azimuth: 0.0,
                elevation: 0.0,
            },
            64,
            0.5,
        );
        for y in 0..64 {
            for x in 0..64 {
                let inside = (16..48).contains(&x) && (16..48).contains(&y);
                assert_eq!(img[y * 64 + x] > 0.0, inside, "pixel ({x}, {y})");
            }
        }
        // Facing the camera, the shade is the light's z-component: 0.25 + 0.75 · 0.7 / |l|.
        let l = (0.4f32 * 0.4 + 0.6 * 0.6 + 0.7 * 0.7).sqrt();
        assert!((img[32 * 64 + 32] - (0.25 + 0.75 * 0.7 / l)).abs() < 1e-5);
        // Seen edge-on (azimuth 90°) it vanishes.
        let side = render(
            &square(0.0, 0.25),
            View {
                azimuth: 90.0,
                elevation: 0.0,
            },
            64,
            0.5,
        );
        assert!(side.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn the_nearer_surface_wins_the_depth_test() {
        // A small square in front (z = 0.2) of a big one (z = −0.2), each a different shade
        // once the big one is tilted; the centre shows the front one.
        let mut m = square(-0.2, 0.4);
        let front = square(0.2, 0.1);
        let off = m.vertices.len() as u32;
        m.vertices.extend(front.vertices);
        m.faces
            .extend(front.faces.iter().map(|f| f.map(|i| i + off)));
        let img = render(
            &m,
            View {
                azimuth: 0.0,
                elevation: 0.0,
            },
            32,
            0.5,
        );
        let centre = img[16 * 32 + 16];
        // Tilt the back square only: the centre must not change.
        m.vertices[0][2] = -0.3;
        let img2 = render(
            &m,
            View {
                azimuth: 0.0,
                elevation: 0.0,
            },
            32,
            0.5,
        );
        assert_eq!(centre, img2[16 * 32 + 16]);
        assert!(centre > 0.0);
    }

    #[test]
    fn rotation_is_orthonormal() {
        let r = View {
            azimuth: 37.0,
            elevation: 21.0,
        }
        .rotation();
        for i in 0..3 {
            for j in 0..3 {
                let d: f32 = (0..3).map(|k| r[i][k] * r[j][k]).sum();
                assert!((d - if i == j { 1.0 } else { 0.0 }).abs() < 1e-6);
            }
        }
    }
}
