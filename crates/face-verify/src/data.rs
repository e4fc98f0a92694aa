//! Faces by identity: the synthetic renderer, or the real format `train/<identity>/*.{jpg,png}`
//! plus `pairs.txt` (`path_a path_b 0|1`, relative to its folder): the test pairs `eval`
//! reports, and `val_pairs.txt` (same format) for the validation training selects on — without
//! it, a seeded 10% of the training identities (at least two) are held out as validation
//! people. Closed-set accuracy holds out each identity's last image for test (three images or
//! more) and its second-last for validation (four or more). Or LFW as downloaded ([`lfw`]).

use crate::config::DataConfig;
use crate::synth::{render, Identity};
use image::RgbImage;
use kit::data::{rng_for, DataError, Dataset, Part};
use rand::Rng;
use std::path::{Path, PathBuf};
use tch::Tensor;

mod folder;
pub mod lfw;
pub use folder::{eval_split, folder_split, read_pairs, read_pairs_file};

/// Where one face image comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum FaceRef {
    Synthetic { id: u64, image: u64 },
    File(PathBuf),
}

/// Image stream index of image `j` of identity `id` (disjoint for every pair).
fn image_index(id: u64, j: u64) -> u64 {
    id * 1_000_003 + j
}

/// Loads (or renders) a face as an RGB image of the configured size.
pub fn load_face(r: &FaceRef, d: &DataConfig, seed: u64) -> Result<RgbImage, DataError> {
    match r {
        FaceRef::Synthetic { id, image } => Ok(render(
            &Identity::with_spread(seed, *id, d.spread),
            seed,
            image_index(*id, *image),
            d.size,
            d.nuisance,
        )),
        FaceRef::File(p) => {
            Ok(kit::images::resize(&kit::images::load(p)?, d.size, d.size).to_rgb8())
        }
    }
}

/// Face image -> normalised tensor (3, S, S) in −1..1.
pub fn to_tensor(img: &RgbImage) -> Tensor {
    kit::images::rgb_to_tensor(img, [0.5; 3], [0.5; 3])
}

/// Labelled faces for training (or closed-set evaluation).
pub struct Faces {
    pub items: Vec<(FaceRef, i64)>,
    pub data: DataConfig,
    pub seed: u64,
    pub flip: bool,
}

impl Dataset for Faces {
    /// Planar normalised pixels (3, S, S) and the identity: no libtorch call on loader threads.
    type Item = (Vec<f32>, i64);
    fn len(&self) -> usize {
        self.items.len()
    }
    fn get(&self, index: usize, epoch: u64) -> Result<(Vec<f32>, i64), DataError> {
        let (r, label) = &self.items[index];
        let mut img = load_face(r, &self.data, self.seed)?;
        if self.flip {
            img = kit::images::random_hflip(&img, &mut rng_for(self.seed, epoch, index as u64));
        }
        Ok((
            kit::images::normalise_planar(img.as_raw(), 3, &[0.5; 3], &[0.5; 3]),
            *label,
        ))
    }
}

/// One (N, 3, S, S) tensor from the items' planar pixels, built in one copy.
pub fn collate(items: Vec<(Vec<f32>, i64)>) -> Result<(Tensor, Tensor), DataError> {
    let n = items.len() as i64;
    let per = items.first().map_or(0, |(x, _)| x.len());
    if items.iter().any(|(x, _)| x.len() != per) {
        return Err(DataError::Other(
            "faces of different sizes in one batch".into(),
        ));
    }
    let side = ((per / 3) as f64).sqrt().round() as i64;
    let ys: Vec<i64> = items.iter().map(|(_, y)| *y).collect();
    let xs: Vec<f32> = items.into_iter().flat_map(|(x, _)| x).collect();
    Ok((
        Tensor::from_slice(&xs).view([n, 3, side, side]),
        Tensor::from_slice(&ys),
    ))
}

/// Everything a run needs: training faces, held-out faces of training identities, pairs of
/// unseen identities, the number of training identities, and which held-out part (validation
/// or test) the held-out faces and pairs are.
pub struct Split {
    pub part: Part,
    pub train: Vec<(FaceRef, i64)>,
    pub held_out: Vec<(FaceRef, i64)>,
    pub pairs: Vec<(FaceRef, FaceRef, bool)>,
    pub classes: i64,
    /// Folds of the k-fold accuracy, contiguous blocks of `pairs` (LFW's N, else 10).
    pub folds: usize,
}

/// Synthetic split: identities 0..train_identities for training (2 extra images each held
/// out), the next `test_identities` for the validation pairs training selects on (never seen
/// in training).
pub fn synthetic_split(d: &DataConfig, seed: u64) -> Split {
    synthetic_pairs_from(d, seed, d.train_identities as u64, 0x9A1E, Part::Val)
}

/// The synthetic test pairs `eval` reports: `test_identities` further identities, seen neither
/// in training nor in the validation pairs, with their own pair stream.
pub fn synthetic_test_split(d: &DataConfig, seed: u64) -> Split {
    let first = d.train_identities as u64 + d.test_identities.max(2) as u64;
    synthetic_pairs_from(d, seed, first, 0x7E57, Part::Test)
}

/// Training identities and pairs among `test_identities` identities from `first` on.
fn synthetic_pairs_from(d: &DataConfig, seed: u64, first: u64, stream: u64, part: Part) -> Split {
    let (nt, ni) = (d.train_identities as u64, d.images_per_identity as u64);
    let train = (0..nt)
        .flat_map(|id| (0..ni).map(move |j| (FaceRef::Synthetic { id, image: j }, id as i64)))
        .collect();
    // Closed-set faces of the training identities: images ni, ni+1 for validation, ni+2, ni+3
    // for test, so the test's closed-set accuracy is on faces validation never scored.
    let first_held = if part == Part::Test { ni + 2 } else { ni };
    let held_out = (0..nt)
        .flat_map(|id| {
            (first_held..first_held + 2)
                .map(move |j| (FaceRef::Synthetic { id, image: j }, id as i64))
        })
        .collect();
    let mut rng = rng_for(seed, stream, 0);
    let test = d.test_identities.max(2) as u64;
    let pairs = (0..d.pairs)
        .map(|p| {
            let a = first + rng.random_range(0..test);
            let (ia, ib) = (rng.random_range(0..1000), rng.random_range(1000..2000));
            if p % 2 == 0 {
                (
                    FaceRef::Synthetic { id: a, image: ia },
                    FaceRef::Synthetic { id: a, image: ib },
                    true,
                )
            } else {
                let mut b = first + rng.random_range(0..test);
                while b == a {
                    b = first + rng.random_range(0..test);
                }
                (
                    FaceRef::Synthetic { id: a, image: ia },
                    FaceRef::Synthetic { id: b, image: ib },
                    false,
                )
            }
        })
        .collect();
    Split {
        part,
        train,
        held_out,
        pairs,
        classes: nt as i64,
        folds: 10,
    }
}

/// What training reads: the training faces and the validation part.
pub fn split(d: &DataConfig, seed: u64) -> Result<Split, DataError> {
    match d.source.as_str() {
        "synthetic" => Ok(synthetic_split(d, seed)),
        folder => folder_split(Path::new(folder), seed, Part::Val),
    }
}

/// What `eval` reports without `--data`: the test part (pairs of people neither training nor
/// validation saw, and each training identity's test image).
pub fn test_split(d: &DataConfig, seed: u64) -> Result<Split, DataError> {
    match d.source.as_str() {
        "synthetic" => Ok(synthetic_test_split(d, seed)),
        folder => folder_split(Path::new(folder), seed, Part::Test),
    }
}

/// Writes the synthetic dataset in the real format: `train/<id>/<j>.png`; the validation
/// pairs' faces under `val/` with `val_pairs.txt`, the test pairs' under `test/` with
/// `pairs.txt` (people of the three parts disjoint).
pub fn write_synthetic(out: &Path, d: &DataConfig, seed: u64) -> Result<usize, DataError> {
    let s = synthetic_split(d, seed);
    let save = |r: &FaceRef, rel: &str| -> Result<(), DataError> {
        let path = out.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| DataError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        kit::images::save(
            &image::DynamicImage::ImageRgb8(load_face(r, d, seed)?),
            &path,
        )
    };
    for (r, _) in &s.train {
        save(r, &face_name(r, "train"))?;
    }
    let mut images = s.train.len();
    for (split, file) in [
        (s, "val_pairs.txt"),
        (synthetic_test_split(d, seed), "pairs.txt"),
    ] {
        let folder = if file == "pairs.txt" { "test" } else { "val" };
        let mut lines = String::new();
        for (a, b, same) in &split.pairs {
            let (na, nb) = (face_name(a, folder), face_name(b, folder));
            save(a, &na)?;
            save(b, &nb)?;
            lines.push_str(&format!("{na} {nb} {}\n", u8::from(*same)));
        }
        images += 2 * split.pairs.len();
        kit::rundir::write_atomic(&out.join(file), lines.as_bytes()).map_err(|source| {
            DataError::Io {
                path: out.join(file),
                source,
            }
        })?;
    }
    Ok(images)
}

/// A face's file name in the folder format, under `split/`.
fn face_name(r: &FaceRef, split: &str) -> String {
    match r {
        FaceRef::Synthetic { id, image } => format!("{split}/{id:05}/{image:04}.png"),
        FaceRef::File(p) => p.display().to_string(),
    }
}
