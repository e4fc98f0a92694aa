//! The pictures of each split: a folder's pool split by a seeded, stratified k-fold (each
//! fold's validation carved from its training part), a folder's own `train/ val/ test/`, or
//! the synthetic generator split by content. Identical pictures always share a split.

use crate::config::{Config, Source};
use crate::pictures::{augment, face, non_face, standardise};
use crate::SIDE;
use image::{imageops, GrayImage};
use kit::data::{content_part, rng_for, DataError, Dataset, Part};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
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
        Source::Folder(root) if root.join("train").is_dir() => fixed_splits(root),
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
            kfold(pool, d.folds, fold, d.split_seed, d.val_share).map_err(anyhow::Error::from)
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

/// Groups of identical pictures (by pixels) in first-seen order; a group whose pictures carry
/// both labels is an error.
fn groups(pool: &[Picture]) -> Result<Vec<Vec<usize>>, DataError> {
    let mut at: HashMap<&[u8], usize> = HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, p) in pool.iter().enumerate() {
        let g = *at.entry(p.pixels.as_raw()).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        if let Some(&first) = out[g].first() {
            if pool[first].face != p.face {
                return Err(DataError::Invalid {
                    path: PathBuf::from(&p.name),
                    message: format!(
                        "the same pixels as {} under the other class",
                        pool[first].name
                    ),
                });
            }
        }
        out[g].push(i);
    }
    Ok(out)
}

/// Stratified k-fold: each class's groups of identical pictures shuffled by `seed` and dealt
/// to folds in turn; fold `fold` is test, and the first `val_share` of each class's remaining
/// groups (in the same shuffled order) is validation.
pub fn kfold(
    pool: Vec<Picture>,
    folds: usize,
    fold: usize,
    seed: u64,
    val_share: f64,
) -> Result<Splits, DataError> {
    let gs = groups(&pool)?;
    let mut part = vec![Part::Train; pool.len()];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for (_, label) in CLASSES {
        let mut class: Vec<&Vec<usize>> = gs.iter().filter(|g| pool[g[0]].face == label).collect();
        if class.len() < folds {
            return Err(DataError::Other(format!(
                "{} distinct {} pictures cannot fill {folds} folds",
                class.len(),
                if label { "face" } else { "not_face" }
            )));
        }
        class.shuffle(&mut rng);
        let rest: Vec<&Vec<usize>> = class
            .iter()
            .enumerate()
            .filter(|(k, _)| k % folds != fold)
            .map(|(_, g)| *g)
            .collect();
        let n_val = ((rest.len() as f64 * val_share).round() as usize).max(1);
        for (k, g) in class.iter().enumerate() {
            let p = if k % folds == fold {
                Part::Test
            } else if rest[..n_val].contains(g) {
                Part::Val
            } else {
                Part::Train
            };
            g.iter().for_each(|&i| part[i] = p);
        }
    }
    let mut s = Splits {
        train: Vec::new(),
        val: Vec::new(),
        test: Vec::new(),
        about: format!(
            "fold {fold} of a stratified {folds}-fold split of {} pictures (split seed {seed}; \
             validation: {val_share} of the other folds)",
            pool.len()
        ),
    };
    for (p, pic) in part.into_iter().zip(pool) {
        match p {
            Part::Train => s.train.push(pic),
            Part::Val => s.val.push(pic),
            Part::Test => s.test.push(pic),
        }
    }
    Ok(s)
}

/// A folder's own `train/ val/ test/`; a training (or validation) picture identical to a
/// held-out one is dropped, and counted in `about`.
fn fixed_splits(root: &Path) -> anyhow::Result<Splits> {
    let read = |s: &str| read_classes(&root.join(s)).map_err(anyhow::Error::from);
    let (mut train, mut val, test) = (read("train")?, read("val")?, read("test")?);
    let held: std::collections::HashSet<Vec<u8>> =
        test.iter().map(|p| p.pixels.as_raw().clone()).collect();
    let before = (train.len(), val.len());
    val.retain(|p| !held.contains(p.pixels.as_raw()));
    let held: std::collections::HashSet<Vec<u8>> = held
        .into_iter()
        .chain(val.iter().map(|p| p.pixels.as_raw().clone()))
        .collect();
    train.retain(|p| !held.contains(p.pixels.as_raw()));
    let about = format!(
        "{}'s train/ val/ test/ ({} training and {} validation pictures dropped: identical to \
         a held-out one)",
        root.display(),
        before.0 - train.len(),
        before.1 - val.len()
    );
    Ok(Splits {
        train,
        val,
        test,
        about,
    })
}

/// `n` synthetic pictures of `part` (half faces), from stream `seed`: candidates are drawn in
/// turn and kept when their pixels hash to `part`, so no picture is in two parts.
pub fn synthetic(seed: u64, part: Part, n: usize) -> Vec<Picture> {
    let mut out = Vec::with_capacity(n);
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
            let wanted =
                out.iter().filter(|p: &&Picture| p.face == is_face).count() < n.div_ceil(2);
            if out.len() < n && wanted && content_part(pixels.as_raw()) == part {
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

    fn pic(seed: u64, face: bool) -> Picture {
        let pixels = GrayImage::from_fn(SIDE, SIDE, |x, y| {
            image::Luma([((seed * 31 + x as u64 * 7 + y as u64 * 13) % 251) as u8])
        });
        Picture {
            pixels,
            face,
            name: format!("{seed}"),
        }
    }

    /// 30 faces and 20 non-faces, three of them twice.
    fn pool() -> Vec<Picture> {
        let mut p: Vec<Picture> = (0..50).map(|i| pic(i, i < 30)).collect();
        p.extend([pic(3, true), pic(40, false), pic(41, false)]);
        p
    }

    #[test]
    fn folds_partition_the_pool_stratified_with_copies_together() {
        let raw = |v: &[Picture]| -> Vec<Vec<u8>> {
            v.iter().map(|p| p.pixels.as_raw().clone()).collect()
        };
        let mut tested = Vec::new();
        for fold in 0..5 {
            let s = kfold(pool(), 5, fold, 9, 0.125).unwrap();
            assert_eq!(s.train.len() + s.val.len() + s.test.len(), 53);
            kit::testing::assert_disjoint_by_content(
                "face-or-not",
                &raw(&s.train),
                &raw(&s.val),
                &raw(&s.test),
            );
            let faces = s.test.iter().filter(|p| p.face).count();
            assert!(
                (6..=7).contains(&faces),
                "fold {fold}: {faces} faces in test"
            );
            assert!(
                !s.val.is_empty() && s.val.iter().any(|p| p.face) && s.val.iter().any(|p| !p.face)
            );
            tested.extend(raw(&s.test));
        }
        tested.sort();
        tested.dedup();
        assert_eq!(
            tested.len(),
            50,
            "every distinct picture is tested by exactly one fold"
        );
    }

    #[test]
    fn the_same_pixels_under_both_classes_is_refused() {
        let mut p = pool();
        p.push(pic(5, false));
        let e = kfold(p, 5, 0, 0, 0.125).err().unwrap().to_string();
        assert!(e.contains("other class"), "{e}");
    }

    #[test]
    fn jitter_keeps_the_size_and_is_seeded() {
        let p = pic(1, true).pixels;
        let a = jitter(&p, &mut rng_for(1, 0, 0));
        assert_eq!(a.dimensions(), (SIDE, SIDE));
        assert_eq!(a, jitter(&p, &mut rng_for(1, 0, 0)));
    }
}
