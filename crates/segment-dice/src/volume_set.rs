//! Volumes as a dataset of slices: per-volume intensity normalisation, slices across one axis
//! centre-padded or cropped to `data.size` (MONAI's `SpatialPad` / `CenterSpatialCrop`), and
//! the way back from slices to the volume's grid for 3-D scores and label volumes.

use crate::config::{Normalise, VolumeOptions};
use crate::data::Example;
use crate::volumes::{read_labels, Case, Image};
use kit::data::DataError;

/// Normalises each channel of `img` in place (MONAI's transforms; see [`Normalise`]).
pub fn normalise(img: &mut Image, how: Normalise) {
    let n: usize = img.dims.iter().product();
    for ch in img.data.chunks_mut(n) {
        match how {
            Normalise::None => {}
            Normalise::ZscoreNonzero => {
                let nz: Vec<f64> = ch
                    .iter()
                    .filter(|&&v| v != 0.0)
                    .map(|&v| v as f64)
                    .collect();
                if nz.is_empty() {
                    continue;
                }
                let mean = nz.iter().sum::<f64>() / nz.len() as f64;
                let var = nz.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / nz.len() as f64;
                let std = if var > 0.0 { var.sqrt() } else { 1.0 };
                ch.iter_mut()
                    .filter(|v| **v != 0.0)
                    .for_each(|v| *v = ((*v as f64 - mean) / std) as f32);
            }
            Normalise::Percentile => {
                let mut s: Vec<f32> = ch.to_vec();
                s.sort_by(f32::total_cmp);
                let at = |q: f64| {
                    let pos = q / 100.0 * (s.len() - 1) as f64;
                    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                    s[lo] as f64 + (s[hi] - s[lo]) as f64 * (pos - lo as f64)
                };
                let (lo, hi) = (at(0.5), at(99.5));
                let range = if hi > lo { hi - lo } else { 1.0 };
                ch.iter_mut()
                    .for_each(|v| *v = ((*v as f64 - lo) / range).clamp(0.0, 1.0) as f32);
            }
        }
    }
}

/// Source index of destination index `i` when a length-`n` axis is centre-padded or cropped
/// to `size` (MONAI: padding before = (size − n) / 2, crop start = (n − size) / 2).
fn source_index(i: usize, n: usize, size: usize) -> Option<usize> {
    let s = if n >= size {
        i + (n - size) / 2
    } else {
        i.checked_sub((size - n) / 2)?
    };
    (s < n).then_some(s)
}

/// The two in-plane axes of a slice across `axis` (rows, then columns).
fn plane_axes(axis: usize) -> (usize, usize) {
    match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    }
}

fn voxel(dims: [usize; 3], c: [usize; 3]) -> usize {
    c[0] * dims[1] * dims[2] + c[1] * dims[2] + c[2]
}

/// Slice `k` across `axis`: channels × size × size intensities and its classes (0 outside
/// the volume).
pub fn slice(img: &Image, labels: Option<&[u8]>, axis: usize, k: usize, size: usize) -> Example {
    let (ra, ca) = plane_axes(axis);
    let n: usize = img.dims.iter().product();
    let mut image = vec![0f32; img.channels * size * size];
    let mut mask = vec![0u8; size * size];
    for i in 0..size {
        let Some(si) = source_index(i, img.dims[ra], size) else {
            continue;
        };
        for j in 0..size {
            let Some(sj) = source_index(j, img.dims[ca], size) else {
                continue;
            };
            let mut c = [0; 3];
            (c[axis], c[ra], c[ca]) = (k, si, sj);
            let v = voxel(img.dims, c);
            for ch in 0..img.channels {
                image[ch * size * size + i * size + j] = img.data[ch * n + v];
            }
            if let Some(l) = labels {
                mask[i * size + j] = l[v];
            }
        }
    }
    Example {
        size: size as u32,
        channels: img.channels,
        image,
        mask,
    }
}

/// Puts per-slice `size × size` values back into a volume of `dims` (the inverse of
/// [`slice`](fn@slice); voxels cropped away get `T::default()`).
pub fn assemble<T: Copy + Default>(
    slices: &[&[T]],
    dims: [usize; 3],
    axis: usize,
    size: usize,
) -> Vec<T> {
    let (ra, ca) = plane_axes(axis);
    let mut out = vec![T::default(); dims.iter().product()];
    for (k, s) in slices.iter().enumerate() {
        for i in 0..size {
            let Some(si) = source_index(i, dims[ra], size) else {
                continue;
            };
            for j in 0..size {
                let Some(sj) = source_index(j, dims[ca], size) else {
                    continue;
                };
                let mut c = [0; 3];
                (c[axis], c[ra], c[ca]) = (k, si, sj);
                out[voxel(dims, c)] = s[i * size + j];
            }
        }
    }
    out
}

/// One volume of a [`Volumes`] set: where its slices are and what 3-D scores need.
#[derive(Debug, Clone)]
pub struct VolumeInfo {
    pub name: String,
    pub dims: [usize; 3],
    pub spacing: [f64; 3],
    /// Index of its first slice in the set, and how many it has (all of them in evaluation).
    pub first: usize,
    pub slices: usize,
    /// Foreground (class > 0) in the volume's own grid, for 3-D Dice and HD95.
    pub truth: Vec<bool>,
}

/// Volumes held in memory as slices (like MONAI's `CacheDataset`).
#[derive(Debug, Clone)]
pub struct Volumes {
    pub volumes: Vec<VolumeInfo>,
    pub examples: Vec<Example>,
    pub axis: usize,
    pub hflip: bool,
    pub seed: u64,
}

/// What opening a set needs from the config.
#[derive(Debug, Clone)]
pub struct Open<'a> {
    pub opts: &'a VolumeOptions,
    pub size: u32,
    pub in_channels: i64,
    pub classes: i64,
    /// Training: skip empty slices when `opts.skip_empty`, flips allowed.
    pub training: bool,
    pub hflip: bool,
    pub seed: u64,
}

impl Volumes {
    /// Reads every case: image, labels, normalisation, slices.
    pub fn open(cases: &[Case], o: &Open) -> Result<Self, DataError> {
        let (axis, size) = (o.opts.axis, o.size as usize);
        let mut volumes = Vec::new();
        let mut examples = Vec::new();
        for case in cases {
            let mut img = crate::volumes::read_case_image(case, o.opts.channels.as_deref())?;
            if img.channels as i64 != o.in_channels {
                return Err(DataError::Invalid {
                    path: case.image.clone(),
                    message: format!(
                        "gives {} input channels but model.in_channels = {}: set \
                         model.in_channels, or pick modalities with data.volumes.channels",
                        img.channels, o.in_channels
                    ),
                });
            }
            normalise(&mut img, o.opts.normalise);
            let labels = match &case.label {
                Some(p) => read_labels(p, img.dims, o.opts.labels.as_ref(), o.classes)?,
                None => vec![0; img.dims.iter().product()],
            };
            let first = examples.len();
            for k in 0..img.dims[axis] {
                let e = slice(&img, Some(&labels), axis, k, size);
                if o.training && o.opts.skip_empty && e.mask.iter().all(|&m| m == 0) {
                    continue;
                }
                examples.push(e);
            }
            volumes.push(VolumeInfo {
                name: case.name.clone(),
                dims: img.dims,
                spacing: img.spacing,
                first,
                slices: examples.len() - first,
                truth: if o.training {
                    Vec::new()
                } else {
                    labels.iter().map(|&l| l > 0).collect()
                },
            });
        }
        if examples.is_empty() {
            return Err(DataError::Other(format!(
                "the {} volume(s) give no training slices: none holds foreground along axis \
                 {axis} (set data.volumes.skip_empty: false to train on empty slices)",
                cases.len()
            )));
        }
        Ok(Self {
            volumes,
            examples,
            axis,
            hflip: o.training && o.hflip,
            seed: o.seed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nifti::NiftiHeader;

    #[test]
    fn centre_pad_and_crop_follow_monai() {
        // Pad 3 → 6: 1 before (⌊3/2⌋), 2 after; crop 7 → 4: start ⌊3/2⌋ = 1.
        let pad: Vec<_> = (0..6).map(|i| source_index(i, 3, 6)).collect();
        assert_eq!(pad, [None, Some(0), Some(1), Some(2), None, None]);
        let crop: Vec<_> = (0..4).map(|i| source_index(i, 7, 4)).collect();
        assert_eq!(crop, [Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(source_index(2, 4, 4), Some(2));
    }

    #[test]
    fn slices_assemble_back_into_the_volume() {
        let dims = [5, 3, 4];
        let n = 60;
        let img = Image {
            data: (0..n).map(|v| v as f32).collect(),
            channels: 1,
            dims,
            spacing: [1.0; 3],
            header: NiftiHeader::default(),
        };
        let labels: Vec<u8> = (0..n).map(|v| (v % 3 == 0) as u8).collect();
        for axis in 0..3 {
            // size 6 pads every in-plane axis (≤ 5), so nothing is cropped away.
            let ex: Vec<Example> = (0..dims[axis])
                .map(|k| slice(&img, Some(&labels), axis, k, 6))
                .collect();
            let masks: Vec<&[u8]> = ex.iter().map(|e| e.mask.as_slice()).collect();
            assert_eq!(assemble(&masks, dims, axis, 6), labels, "axis {axis}");
            let vals: Vec<&[f32]> = ex.iter().map(|e| e.image.as_slice()).collect();
            assert_eq!(assemble(&vals, dims, axis, 6), img.data, "axis {axis}");
        }
    }

    #[test]
    fn zscore_on_nonzero_voxels_leaves_zeros() {
        let mut img = Image {
            data: vec![0.0, 2.0, 4.0, 0.0],
            channels: 1,
            dims: [1, 2, 2],
            spacing: [1.0; 3],
            header: NiftiHeader::default(),
        };
        normalise(&mut img, Normalise::ZscoreNonzero);
        // mean 3, population std 1 over {2, 4}.
        assert_eq!(img.data, vec![0.0, -1.0, 1.0, 0.0]);
    }
}
