//! Faces by identity: the synthetic renderer, or the real format `train/<identity>/*.{jpg,png}`
//! plus `pairs.txt` (`path_a path_b 0|1`, relative to its folder): the test pairs `eval`
//! reports, and `val_pairs.txt` (same format) for the validation training selects on — without
//! it, a seeded 10% of the training identities (at least two) are held out as validation
//! people. Closed-set accuracy holds out each identity's last image for test (three images or
//! more) and its second-last for validation (four or more).

use crate::config::DataConfig;
use crate::synth::{render, Identity};
use image::RgbImage;
use kit::data::{rng_for, DataError, Dataset, Part};
use rand::Rng;
use std::path::{Path, PathBuf};
use tch::Tensor;

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
    }
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// Images of one identity folder, sorted by name.
type PersonFolder = (PathBuf, Vec<PathBuf>);

/// The identity folders of `root/train/`, sorted, each with its sorted images.
fn identity_folders(root: &Path) -> Result<Vec<PersonFolder>, DataError> {
    let train_dir = root.join("train");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    let mut ids: Vec<PathBuf> = std::fs::read_dir(&train_dir)
        .map_err(io(&train_dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    ids.sort();
    ids.into_iter()
        .map(|dir| {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(io(&dir))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_image(p))
                .collect();
            files.sort();
            Ok((dir, files))
        })
        .collect()
}

/// Moves a seeded 10% (at least two) of the identities with two or more images out of `ids`:
/// the validation people of a folder without `val_pairs.txt`.
fn hold_out_people(ids: &mut Vec<PersonFolder>, seed: u64) -> Vec<PersonFolder> {
    use rand::seq::SliceRandom;
    let mut eligible: Vec<usize> = (0..ids.len()).filter(|&i| ids[i].1.len() >= 2).collect();
    eligible.shuffle(&mut rng_for(seed, 0xFACE, 0));
    let mut take: Vec<usize> = eligible.into_iter().take((ids.len() / 10).max(2)).collect();
    take.sort_unstable();
    take.into_iter().rev().map(|i| ids.remove(i)).collect()
}

/// Verification pairs among held-out people: each one's consecutive images as same-person
/// pairs, and as many different-person pairs across them.
fn people_pairs(people: &[PersonFolder]) -> Vec<(FaceRef, FaceRef, bool)> {
    let file = |p: &PathBuf| FaceRef::File(p.clone());
    let mut pairs: Vec<_> = people
        .iter()
        .flat_map(|(_, f)| f.windows(2).map(|w| (file(&w[0]), file(&w[1]), true)))
        .collect();
    let (m, genuine) = (people.len(), pairs.len());
    for k in 0..genuine {
        let (a, b) = (k % m, (k + 1 + (k / m) % (m - 1).max(1)) % m);
        let (fa, fb) = (&people[a].1, &people[b].1);
        pairs.push((
            file(&fa[k % fa.len()]),
            file(&fb[(k + 1) % fb.len()]),
            false,
        ));
    }
    pairs
}

/// Reads `root/train/<identity>/*` and the verification pairs of `part`: `pairs.txt` for test,
/// `val_pairs.txt` for validation (or, without it, pairs among a seeded 10% of the identities,
/// taken out of training; `seed` picks them, so every run of a config picks the same).
/// Closed-set accuracy holds out each identity's last image for test (three or more images)
/// and its second-last for validation (four or more); neither is trained on.
pub fn folder_split(root: &Path, seed: u64, part: Part) -> Result<Split, DataError> {
    let train_dir = root.join("train");
    let mut ids = identity_folders(root)?;
    let val_file = root.join("val_pairs.txt");
    let val_people = if val_file.is_file() {
        Vec::new()
    } else {
        hold_out_people(&mut ids, seed)
    };
    if ids.len() < 2 {
        return Err(DataError::Invalid {
            path: train_dir,
            message: format!(
                "{} identity folders with images left for training: a classifier needs at least \
                 two (without val_pairs.txt, a seeded 10% of the identities, at least two, are \
                 held out for validation)",
                ids.len()
            ),
        });
    }
    let (mut train, mut held_out) = (Vec::new(), Vec::new());
    for (label, (_, mut files)) in ids.into_iter().enumerate() {
        let n = files.len();
        let test = (n >= 3).then(|| files.pop()).flatten();
        let val = (n >= 4).then(|| files.pop()).flatten();
        let held = if part == Part::Test { test } else { val };
        held_out.extend(held.map(|f| (FaceRef::File(f), label as i64)));
        train.extend(files.into_iter().map(|f| (FaceRef::File(f), label as i64)));
    }
    if train.is_empty() {
        return Err(DataError::Invalid {
            path: train_dir,
            message: "no identity folders with images".into(),
        });
    }
    let classes = train.iter().map(|t| t.1).max().unwrap_or(0) + 1;
    let pairs = match part {
        Part::Test | Part::Train => read_pairs_file(&root.join("pairs.txt"), root)?,
        Part::Val if val_people.is_empty() => read_pairs_file(&val_file, root)?,
        Part::Val => people_pairs(&val_people),
    };
    Ok(Split {
        part,
        train,
        held_out,
        pairs,
        classes,
    })
}

/// Reads and checks `root/pairs.txt`, the test pairs ([`read_pairs_file`]).
pub fn read_pairs(root: &Path) -> Result<Vec<(FaceRef, FaceRef, bool)>, DataError> {
    read_pairs_file(&root.join("pairs.txt"), root)
}

/// Reads and checks a pairs file (`path_a path_b 0|1`, paths relative to `root`): every image
/// exists, and there are both same-person and different-person pairs.
pub fn read_pairs_file(
    pairs_path: &Path,
    root: &Path,
) -> Result<Vec<(FaceRef, FaceRef, bool)>, DataError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    let pairs_path = pairs_path.to_path_buf();
    let text = std::fs::read_to_string(&pairs_path).map_err(io(&pairs_path))?;
    let mut pairs = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        let bad = |m: String| DataError::Other(format!("{}:{}: {m}", pairs_path.display(), i + 1));
        if f.len() != 3 || !(f[2] == "0" || f[2] == "1") {
            return Err(bad("expected `path_a path_b 0|1`".into()));
        }
        let (a, b) = (root.join(f[0]), root.join(f[1]));
        for p in [&a, &b] {
            if !p.is_file() {
                return Err(bad(format!("image {} not found", p.display())));
            }
        }
        pairs.push((FaceRef::File(a), FaceRef::File(b), f[2] == "1"));
    }
    let genuine = pairs.iter().filter(|p| p.2).count();
    if genuine == 0 || genuine == pairs.len() {
        return Err(DataError::Invalid {
            path: pairs_path,
            message: format!(
                "{} pairs, {genuine} of them same-person: verification needs both same-person \
                 (1) and different-person (0) pairs",
                pairs.len()
            ),
        });
    }
    Ok(pairs)
}

/// The evaluation split of `eval --data DIR`: the verification pairs of `DIR/pairs.txt` only
/// (no training folder; closed-set accuracy needs the training identities and is skipped).
pub fn eval_split(root: &Path, classes: i64) -> Result<Split, DataError> {
    Ok(Split {
        part: Part::Test,
        train: Vec::new(),
        held_out: Vec::new(),
        pairs: read_pairs(root)?,
        classes,
    })
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
