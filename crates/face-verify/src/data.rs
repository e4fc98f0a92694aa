//! Faces by identity: the synthetic renderer, or the real format `train/<identity>/*.{jpg,png}`
//! plus `pairs.txt` (`path_a path_b 0|1`, relative to its folder) for verification.

use crate::config::DataConfig;
use crate::synth::{render, Identity};
use image::RgbImage;
use kit::data::{rng_for, DataError, Dataset};
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
/// unseen identities, and the number of training identities.
pub struct Split {
    pub train: Vec<(FaceRef, i64)>,
    pub held_out: Vec<(FaceRef, i64)>,
    pub pairs: Vec<(FaceRef, FaceRef, bool)>,
    pub classes: i64,
}

/// Synthetic split: identities 0..train_identities for training (2 extra images each held
/// out), the next `test_identities` for the validation pairs training selects on (never seen
/// in training).
pub fn synthetic_split(d: &DataConfig, seed: u64) -> Split {
    synthetic_pairs_from(d, seed, d.train_identities as u64, 0x9A1E)
}

/// The synthetic test pairs `eval` reports: `test_identities` further identities, seen neither
/// in training nor in the validation pairs, with their own pair stream.
pub fn synthetic_test_split(d: &DataConfig, seed: u64) -> Split {
    let first = d.train_identities as u64 + d.test_identities.max(2) as u64;
    synthetic_pairs_from(d, seed, first, 0x7E57)
}

/// Training identities and pairs among `test_identities` identities from `first` on.
fn synthetic_pairs_from(d: &DataConfig, seed: u64, first: u64, stream: u64) -> Split {
    let (nt, ni) = (d.train_identities as u64, d.images_per_identity as u64);
    let train = (0..nt)
        .flat_map(|id| (0..ni).map(move |j| (FaceRef::Synthetic { id, image: j }, id as i64)))
        .collect();
    let held_out = (0..nt)
        .flat_map(|id| (ni..ni + 2).map(move |j| (FaceRef::Synthetic { id, image: j }, id as i64)))
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

/// Reads `root/train/<identity>/*` and `root/pairs.txt`. The last image of each identity with
/// at least three is held out for closed-set accuracy.
pub fn folder_split(root: &Path) -> Result<Split, DataError> {
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
    let (mut train, mut held_out) = (Vec::new(), Vec::new());
    for (label, dir) in ids.iter().enumerate() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_image(p))
            .collect();
        files.sort();
        if files.len() >= 3 {
            held_out.push((FaceRef::File(files.pop().unwrap_or_default()), label as i64));
        }
        train.extend(files.into_iter().map(|f| (FaceRef::File(f), label as i64)));
    }
    if train.is_empty() {
        return Err(DataError::Invalid {
            path: train_dir,
            message: "no identity folders with images".into(),
        });
    }
    let pairs = read_pairs(root)?;
    if ids.len() < 2 {
        return Err(DataError::Invalid {
            path: train_dir,
            message: "one identity folder: training a classifier needs at least two".into(),
        });
    }
    Ok(Split {
        train,
        held_out,
        pairs,
        classes: ids.len() as i64,
    })
}

/// Reads and checks `root/pairs.txt` (`path_a path_b 0|1`, paths relative to `root`): every
/// image exists, and there are both same-person and different-person pairs.
pub fn read_pairs(root: &Path) -> Result<Vec<(FaceRef, FaceRef, bool)>, DataError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    let pairs_path = root.join("pairs.txt");
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
        train: Vec::new(),
        held_out: Vec::new(),
        pairs: read_pairs(root)?,
        classes,
    })
}

pub fn split(d: &DataConfig, seed: u64) -> Result<Split, DataError> {
    match d.source.as_str() {
        "synthetic" => Ok(synthetic_split(d, seed)),
        folder => folder_split(Path::new(folder)),
    }
}

/// Writes the synthetic dataset in the real format: train/<id>/<j>.png, test/<id>/<j>.png,
/// pairs.txt.
pub fn write_synthetic(out: &Path, d: &DataConfig, seed: u64) -> Result<usize, DataError> {
    let s = synthetic_split(d, seed);
    let name = |r: &FaceRef, split: &str| match r {
        FaceRef::Synthetic { id, image } => format!("{split}/{id:05}/{image:04}.png"),
        FaceRef::File(p) => p.display().to_string(),
    };
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
        save(r, &name(r, "train"))?;
    }
    let mut lines = String::new();
    for (a, b, same) in &s.pairs {
        let (na, nb) = (name(a, "test"), name(b, "test"));
        save(a, &na)?;
        save(b, &nb)?;
        lines.push_str(&format!("{na} {nb} {}\n", u8::from(*same)));
    }
    kit::rundir::write_atomic(&out.join("pairs.txt"), lines.as_bytes()).map_err(|source| {
        DataError::Io {
            path: out.join("pairs.txt"),
            source,
        }
    })?;
    Ok(s.train.len() + 2 * s.pairs.len())
}
