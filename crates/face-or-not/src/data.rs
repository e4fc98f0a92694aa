//! The pictures of each split: a folder's pool split by a seeded, stratified k-fold (each
//! fold's validation carved from its training part), a folder's own `train/ val/ test/`, or
//! the synthetic generator split by content. Identical pictures always share a split.

use crate::config::{Config, Source};
use crate::pictures::{augment, face, non_face, standardise};
use crate::SIDE;
use image::{imageops, GrayImage};
use kit::data::{content_part, rng_for, DataError, Dataset, Part};
use rand::Rng;
use std::path::{Path, PathBuf};
use tch::Tensor;

/// The class folders, in label order: `face/` is label 1.
pub const CLASSES: [(&str, bool); 2] = [("face", true), ("not_face", false)];

/// One 25×25 grey picture, its label and where it came from.
#[derive(Debug, Clone)]
pub struct Picture {
    pub pixels: GrayImage,
    pub face: bool,
    pub name: String,
}

/// Training, validation and test pictures, and a line on how they were split.
pub struct Splits {
    pub train: Vec<Picture>,
    pub val: Vec<Picture>,
    pub test: Vec<Picture>,
    pub about: String,
}

impl Splits {
    /// The pictures of `part`.
    pub fn part(&self, part: Part) -> &[Picture] {
        match part {
            Part::Train => &self.train,
            Part::Val => &self.val,
            Part::Test => &self.test,
        }
    }
}

/// Every picture under `dir/face` and `dir/not_face`, resized to 25×25 grey.
pub fn read_classes(dir: &Path) -> Result<Vec<Picture>, DataError> {
    let mut out = Vec::new();
    for (sub, label) in CLASSES {
        let d = dir.join(sub);
        let io = |source| DataError::Io {
            path: d.clone(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(DataError::Invalid {
                path: d,
                message: "holds no pictures".into(),
            });
        }
        for f in files {
            let img = kit::images::load(&f)?;
            let pixels =
                imageops::resize(&img.to_luma8(), SIDE, SIDE, imageops::FilterType::Triangle);
            out.push(Picture {
                pixels,
                face: label,
                name: f.display().to_string(),
            });
        }
    }
    Ok(out)
}

/// The splits `cfg` asks for (all three: the pictures are small, and eval fits its baselines
/// on the training part).
pub fn splits(cfg: &Config) -> anyhow::Result<Splits> {
    match &cfg.data.source {
        Source::Synthetic => Ok(synthetic_splits(cfg)),
        Source::Folder(root) if root.join("train").is_dir() => crate::folds::fixed_splits(root),
        Source::Folder(root) => {
            let pool = read_classes(root).map_err(|e| {
                anyhow::anyhow!(
                    "{e} (a face-or-not folder holds face/ and not_face/, or train/ val/ test/ \
                     each with both; `just data faces` writes scikit-image's lfw_subset to \
                     data/faces)"
                )
            })?;
            let d = &cfg.data;
            let fold = d.test_fold(cfg.train.seed);
            crate::folds::kfold(pool, d.folds, fold, d.split_seed, d.val_share)
                .map_err(anyhow::Error::from)
        }
    }
}

/// `dir/val/` or `dir/test/` alone (as `part`), for scoring a trained CNN on a folder that
/// has no training part.
pub fn held_out_only(dir: &Path, part: Part) -> anyhow::Result<Splits> {
    let name = if part == Part::Val { "val" } else { "test" };
    let held = read_classes(&dir.join(name)).map_err(|e| {
        anyhow::anyhow!("{e} (eval --data DIR reads DIR/{name}/face and DIR/{name}/not_face)")
    })?;
    let mut s = Splits {
        train: Vec::new(),
        val: Vec::new(),
        test: Vec::new(),
        about: format!(
            "{} (no training part: baselines not fitted)",
            dir.join(name).display()
        ),
    };
    match part {
        Part::Val => s.val = held,
        _ => s.test = held,
    }
    Ok(s)
}

/// `n` synthetic pictures of `part` (half faces), from stream `seed`: candidates are drawn in
/// turn and kept when their pixels hash to `part`, so no picture is in two parts.
pub fn synthetic(seed: u64, part: Part, n: usize) -> Vec<Picture> {
    let mut out = Vec::with_capacity(n);
    // Pictures kept per class (non-faces, faces): each class stops at half.
    let mut kept = [0usize; 2];
    let mut next = 0u64;
    while out.len() < n {
        let batch = (n - out.len()) * 2 + 16;
        let drawn = kit::data::render_ahead(batch, |k| {
            let i = next + k as u64;
            let (pixels, is_face) = if i.is_multiple_of(2) {
                (face(seed, i / 2), true)
            } else {
                (non_face(seed, i / 2), false)
            };
            (i, pixels, is_face)
        });
        next += batch as u64;
        for (i, pixels, is_face) in drawn {
            let wanted = kept[usize::from(is_face)] < n.div_ceil(2);
            if out.len() < n && wanted && content_part(pixels.as_raw()) == part {
                kept[usize::from(is_face)] += 1;
                out.push(Picture {
                    pixels,
                    face: is_face,
                    name: format!("synthetic {i}"),
                });
            }
        }
    }
    out
}

fn synthetic_splits(cfg: &Config) -> Splits {
    let (d, seed) = (&cfg.data, cfg.data.split_seed);
    Splits {
        train: synthetic(seed, Part::Train, d.synthetic_train),
        val: synthetic(seed, Part::Val, d.synthetic_val),
        test: synthetic(seed, Part::Test, d.synthetic_test),
        about: format!("synthetic pictures split by content (stream {seed})"),
    }
}

/// The training pictures with `cfg`'s synthetic share (folder sources only) and its crops of
/// face-free photos added.
pub fn training_set(cfg: &Config, mut train: Vec<Picture>) -> anyhow::Result<Vec<Picture>> {
    let d = &cfg.data;
    let real = train.len();
    if d.synthetic_mix > 0.0 && d.source != Source::Synthetic {
        let n = (real as f64 * d.synthetic_mix / (1.0 - d.synthetic_mix)).round() as usize;
        train.extend(synthetic(d.split_seed, Part::Train, n.max(2)));
    }
    if let Some(dir) = &d.negatives {
        train.extend(negative_crops(dir, d.negative_crops, d.split_seed)?);
    }
    Ok(train)
}

/// `n` random square crops (side from 24 pixels to the photo's shorter side) of the photos in
/// `dir`, taken in turn, as 25×25 non-faces.
pub fn negative_crops(dir: &Path, n: usize, seed: u64) -> anyhow::Result<Vec<Picture>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("data.negatives: cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    anyhow::ensure!(
        !files.is_empty(),
        "data.negatives: {} holds no photos",
        dir.display()
    );
    let mut photos = Vec::new();
    for f in &files {
        let g = kit::images::load(f)?.to_luma8();
        anyhow::ensure!(
            g.width().min(g.height()) >= 24,
            "data.negatives: {} is smaller than 24×24",
            f.display()
        );
        photos.push(g);
    }
    Ok((0..n)
        .map(|i| {
            let (g, r) = (
                &photos[i % photos.len()],
                &mut rng_for(seed, 0x4E6, i as u64),
            );
            let side = r.random_range(24..=g.width().min(g.height()));
            let (x, y) = (
                r.random_range(0..=g.width() - side),
                r.random_range(0..=g.height() - side),
            );
            let crop = imageops::crop_imm(g, x, y, side, side).to_image();
            Picture {
                pixels: imageops::resize(&crop, SIDE, SIDE, imageops::FilterType::Triangle),
                face: false,
                name: format!("{} crop {i}", files[i % files.len()].display()),
            }
        })
        .collect())
}

/// A random flip, a shift of up to 2 pixels (edges repeated) and, half the time, the
/// synthetic pictures' photometric randomisation.
pub fn jitter(img: &GrayImage, r: &mut rand_chacha::ChaCha8Rng) -> GrayImage {
    let flip = r.random_bool(0.5);
    let (dx, dy) = (r.random_range(-2i32..=2), r.random_range(-2i32..=2));
    let last = SIDE as i32 - 1;
    let moved = GrayImage::from_fn(SIDE, SIDE, |x, y| {
        let sx = if flip { last - x as i32 } else { x as i32 };
        let (sx, sy) = ((sx - dx).clamp(0, last), (y as i32 - dy).clamp(0, last));
        *img.get_pixel(sx as u32, sy as u32)
    });
    if r.random_bool(0.5) {
        augment(moved, r)
    } else {
        moved
    }
}

/// Pictures as a dataset of (standardised pixels, label); training sets jitter each picture
/// afresh every epoch (stream `seed`).
pub struct Pictures {
    pub items: Vec<Picture>,
    pub jitter_seed: Option<u64>,
}

impl Dataset for Pictures {
    type Item = (Vec<f32>, f32);
    fn len(&self) -> usize {
        self.items.len()
    }
    fn get(&self, index: usize, epoch: u64) -> Result<Self::Item, DataError> {
        let p = self
            .items
            .get(index)
            .ok_or_else(|| DataError::Other(format!("picture {index} of {}", self.items.len())))?;
        let x = match self.jitter_seed {
            Some(seed) => standardise(&jitter(&p.pixels, &mut rng_for(seed, epoch, index as u64))),
            None => standardise(&p.pixels),
        };
        Ok((x, if p.face { 1.0 } else { 0.0 }))
    }
}

/// Stacks items into (N, 1, 25, 25) inputs and (N) labels.
pub fn collate(items: Vec<(Vec<f32>, f32)>) -> Result<(Tensor, Tensor), DataError> {
    let n = items.len() as i64;
    let (mut x, mut y) = (Vec::with_capacity(items.len() * 625), Vec::new());
    for (a, b) in items {
        x.extend(a);
        y.push(b);
    }
    Ok((
        Tensor::from_slice(&x).view([n, 1, SIDE as i64, SIDE as i64]),
        Tensor::from_slice(&y),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_keeps_the_size_and_is_seeded() {
        let p = GrayImage::from_fn(SIDE, SIDE, |x, y| {
            image::Luma([((x * 7 + y * 13) % 251) as u8])
        });
        let a = jitter(&p, &mut rng_for(1, 0, 0));
        assert_eq!(a.dimensions(), (SIDE, SIDE));
        assert_eq!(a, jitter(&p, &mut rng_for(1, 0, 0)));
    }
}
