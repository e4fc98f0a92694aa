//! Segmentation metrics on 3-D masks with anisotropic voxels, and on 2-D masks as grids one
//! voxel thick: the 95th-percentile Hausdorff distance in millimetres (pixels in 2-D), as MONAI's `compute_hausdorff_distance(percentile=95, spacing=…)`
//! computes it (surface voxels = mask XOR its 6-neighbour erosion; distances by an exact
//! Euclidean distance transform with the voxel spacing, like `scipy.ndimage.distance_transform_edt`).

/// A 3-D binary mask of `dims` voxels in C order (`x * dims[1] * dims[2] + y * dims[2] + z`).
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    pub dims: [usize; 3],
    /// Voxel size along each axis (millimetres in NIfTI).
    pub spacing: [f64; 3],
}

impl Grid {
    fn len(&self) -> usize {
        self.dims.iter().product()
    }

    fn strides(&self) -> [usize; 3] {
        [self.dims[1] * self.dims[2], self.dims[2], 1]
    }
}

/// Surface voxels: in the mask with at least one of their 6 neighbours outside it (voxels
/// beyond the grid count as outside, as in `scipy.ndimage.binary_erosion`). An axis one voxel
/// long is no direction to look along: a 2-D mask's surface is its in-plane boundary.
pub fn surface(mask: &[bool], grid: Grid) -> Vec<bool> {
    assert_eq!(mask.len(), grid.len(), "mask and grid sizes differ");
    let st = grid.strides();
    let mut out = vec![false; mask.len()];
    for x in 0..grid.dims[0] {
        for y in 0..grid.dims[1] {
            for z in 0..grid.dims[2] {
                let i = x * st[0] + y * st[1] + z;
                if !mask[i] {
                    continue;
                }
                let c = [x, y, z];
                out[i] = (0..3).filter(|&a| grid.dims[a] > 1).any(|a| {
                    c[a] == 0 || c[a] + 1 == grid.dims[a] || !mask[i - st[a]] || !mask[i + st[a]]
                });
            }
        }
    }
    out
}

/// Squared Euclidean distance (in spacing units) from every voxel to the nearest `feature`
/// voxel; `f64::INFINITY` everywhere when there is none. Felzenszwalb & Huttenlocher's exact
/// separable transform, one lower envelope of parabolas per line and axis.
pub fn squared_distance_transform(feature: &[bool], grid: Grid) -> Vec<f64> {
    let mut d: Vec<f64> = feature
        .iter()
        .map(|&f| if f { 0.0 } else { f64::INFINITY })
        .collect();
    let st = grid.strides();
    for axis in 0..3 {
        let n = grid.dims[axis];
        let s = grid.spacing[axis];
        let (o1, o2) = match axis {
            0 => (1, 2),
            1 => (0, 2),
            _ => (0, 1),
        };
        let mut line = vec![0.0; n];
        for a in 0..grid.dims[o1] {
            for b in 0..grid.dims[o2] {
                let base = a * st[o1] + b * st[o2];
                for (k, v) in line.iter_mut().enumerate() {
                    *v = d[base + k * st[axis]];
                }
                let out = envelope(&line, s);
                for (k, v) in out.into_iter().enumerate() {
                    d[base + k * st[axis]] = v;
                }
            }
        }
    }
    d
}

/// 1-D pass: out[p] = min_q f[q] + (s (p − q))², over the finite f[q].
fn envelope(f: &[f64], s: f64) -> Vec<f64> {
    let n = f.len();
    let pos = |q: usize| s * q as f64;
    let mut v: Vec<usize> = Vec::with_capacity(n); // parabolas of the envelope
    let mut z: Vec<f64> = Vec::with_capacity(n + 1); // their boundaries
    for q in (0..n).filter(|&q| f[q].is_finite()) {
        let cross = |p: usize| {
            ((f[q] + pos(q).powi(2)) - (f[p] + pos(p).powi(2))) / (2.0 * (pos(q) - pos(p)))
        };
        while let Some(&last) = v.last() {
            if cross(last) <= z[z.len() - 1] {
                v.pop();
                z.pop();
            } else {
                break;
            }
        }
        z.push(v.last().map_or(f64::NEG_INFINITY, |&last| cross(last)));
        v.push(q);
    }
    if v.is_empty() {
        return vec![f64::INFINITY; n];
    }
    z.push(f64::INFINITY);
    let mut k = 0;
    (0..n)
        .map(|p| {
            while z[k + 1] < pos(p) {
                k += 1;
            }
            f[v[k]] + (pos(p) - pos(v[k])).powi(2)
        })
        .collect()
}

/// numpy.percentile(values, q) with linear interpolation (`values` non-empty).
fn percentile(mut values: Vec<f64>, q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let pos = q / 100.0 * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

/// Directed distances from each surface voxel of `from` to the surface of `to` (in mm).
fn directed(from: &[bool], to: &[bool], grid: Grid) -> Vec<f64> {
    let dt = squared_distance_transform(to, grid);
    from.iter()
        .zip(&dt)
        .filter(|(f, _)| **f)
        .map(|(_, d)| d.sqrt())
        .collect()
}

/// 95th-percentile Hausdorff distance between two 3-D masks, in the units of `grid.spacing`:
/// the larger of the two directed 95th percentiles of surface-to-surface distances. NaN when
/// either mask is empty (MONAI returns NaN or ∞ there; the mean over cases skips it).
pub fn hd95_3d(pred: &[bool], truth: &[bool], grid: Grid) -> f64 {
    let (a, b) = (surface(pred, grid), surface(truth, grid));
    if !a.iter().any(|&v| v) || !b.iter().any(|&v| v) {
        return f64::NAN;
    }
    percentile(directed(&a, &b, grid), 95.0).max(percentile(directed(&b, &a, grid), 95.0))
}

/// [`hd95_3d`] of two `size`×`size` masks (row-major), in pixels: MONAI's
/// `compute_hausdorff_distance(percentile=95)` on a 2-D input.
pub fn hd95_2d(pred: &[bool], truth: &[bool], size: usize) -> f64 {
    let grid = Grid {
        dims: [1, size, size],
        spacing: [1.0; 3],
    };
    hd95_3d(pred, truth, grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(feature: &[bool], grid: Grid) -> Vec<f64> {
        let st = grid.strides();
        let pts: Vec<[usize; 3]> = (0..grid.len())
            .filter(|&i| feature[i])
            .map(|i| [i / st[0], (i / st[1]) % grid.dims[1], i % grid.dims[2]])
            .collect();
        (0..grid.len())
            .map(|i| {
                let c = [i / st[0], (i / st[1]) % grid.dims[1], i % grid.dims[2]];
                pts.iter()
                    .map(|p| {
                        (0..3)
                            .map(|a| ((c[a] as f64 - p[a] as f64) * grid.spacing[a]).powi(2))
                            .sum::<f64>()
                    })
                    .fold(f64::INFINITY, f64::min)
            })
            .collect()
    }

    #[test]
    fn distance_transform_equals_brute_force_with_anisotropic_voxels() {
        let grid = Grid {
            dims: [7, 5, 9],
            spacing: [1.0, 2.5, 0.7],
        };
        // A pseudo-random sparse feature set (LCG), fixed.
        let mut state = 12345u64;
        let feature: Vec<bool> = (0..grid.len())
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                (state >> 33).is_multiple_of(23)
            })
            .collect();
        assert!(feature.iter().filter(|&&f| f).count() > 3);
        let fast = squared_distance_transform(&feature, grid);
        for (a, b) in fast.iter().zip(brute(&feature, grid)) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
    }

    #[test]
    fn hd95_of_a_shifted_box_by_hand() {
        // Truth: a 3×3×3 box; prediction: the same box moved one voxel along x, whose voxels
        // are 2 mm long. Every surface voxel is at most one voxel step from the other surface.
        let grid = Grid {
            dims: [8, 6, 6],
            spacing: [2.0, 1.0, 1.0],
        };
        let boxed = |x0: usize| {
            let mut m = vec![false; grid.len()];
            for x in x0..x0 + 3 {
                for y in 1..4 {
                    for z in 1..4 {
                        m[x * 36 + y * 6 + z] = true;
                    }
                }
            }
            m
        };
        let (t, p) = (boxed(1), boxed(2));
        // Surface of the 3×3×3 box: 26 voxels (all but the centre). Of the prediction's 26,
        // the 9 on its far face x = 4 are 2 mm from the truth's face x = 3, its face x = 2's
        // centre lies inside the truth, 1 mm (along y) from its surface, and the other 16 are
        // on it: sorted 16 × 0, 1, 9 × 2; position 0.95 · 25 = 23.75 lies among the twos → 2.
        // Same the other way round.
        assert_eq!(surface(&t, grid).iter().filter(|&&v| v).count(), 26);
        assert!((hd95_3d(&p, &t, grid) - 2.0).abs() < 1e-12);
        assert!(hd95_3d(&t, &t, grid).abs() < 1e-12);
        assert!(hd95_3d(&vec![false; grid.len()], &t, grid).is_nan());
    }

    /// 2-D: the in-plane boundary (4-neighbours, the image edge outside) and brute-force
    /// distances, as segment-dice computed HD95 per slice before it used `hd95_2d`.
    #[test]
    fn hd95_2d_is_the_in_plane_boundary_by_brute_force() {
        let size = 12;
        let mut state = 99u64;
        let mut mask = || -> Vec<bool> {
            (0..size * size)
                .map(|i| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                    let (x, y) = ((i % size) as i64 - 6, (i / size) as i64 - 5);
                    x * x + y * y < 20 || (state >> 33).is_multiple_of(9)
                })
                .collect()
        };
        let (a, b) = (mask(), mask());
        let boundary = |m: &[bool]| -> Vec<(f64, f64)> {
            let at = |x: i64, y: i64| {
                x >= 0
                    && y >= 0
                    && x < size as i64
                    && y < size as i64
                    && m[y as usize * size + x as usize]
            };
            (0..size as i64)
                .flat_map(|y| (0..size as i64).map(move |x| (x, y)))
                .filter(|&(x, y)| {
                    at(x, y) && !(at(x - 1, y) && at(x + 1, y) && at(x, y - 1) && at(x, y + 1))
                })
                .map(|(x, y)| (x as f64, y as f64))
                .collect()
        };
        let directed = |p: &[(f64, f64)], q: &[(f64, f64)]| {
            let d = p
                .iter()
                .map(|a| {
                    q.iter()
                        .map(|b| (a.0 - b.0).hypot(a.1 - b.1))
                        .fold(f64::INFINITY, f64::min)
                })
                .collect();
            percentile(d, 95.0)
        };
        let (ba, bb) = (boundary(&a), boundary(&b));
        let want = directed(&ba, &bb).max(directed(&bb, &ba));
        let got = hd95_2d(&a, &b, size);
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        assert!(hd95_2d(&a, &vec![false; size * size], size).is_nan());
    }
}
