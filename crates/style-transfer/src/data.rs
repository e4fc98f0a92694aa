//! Content photos (built-in scenes, or a folder of PNG / JPEG files) as square crops in
//! [0, 1], and the style picture (the built-in painting, or a file). Pictures that are not
//! 8-bit RGB (greyscale, RGBA, 16-bit) are converted, and the console says so once.

use crate::config::Config;
use crate::synth;
use image::{DynamicImage, RgbImage};
use kit::data::{rng_for, val_seed, DataError, Dataset, Either};
use rand::Rng;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use tch::Tensor;

/// One content crop: (3, size, size) floats in [0, 1], channel-planar.
pub type Item = Vec<f32>;

/// Built-in scenes of one split.
pub struct Scenes {
    pub seed: u64,
    pub len: usize,
    pub size: u32,
}

impl Dataset for Scenes {
    type Item = Item;
    fn len(&self) -> usize {
        self.len
    }
    fn get(&self, index: usize, _epoch: u64) -> Result<Item, DataError> {
        Ok(planar(&synth::scene(self.size, self.seed, index as u64)))
    }
}

/// The photos of one folder, each resized (shorter side) and cropped to a square: a random
/// crop for training (seeded by index and epoch, so resume repeats it), the centre otherwise.
pub struct Photos {
    pub files: Vec<PathBuf>,
    pub size: u32,
    pub random_crop: bool,
    pub seed: u64,
}

impl Dataset for Photos {
    type Item = Item;
    fn len(&self) -> usize {
        self.files.len()
    }
    fn get(&self, index: usize, epoch: u64) -> Result<Item, DataError> {
        let img = read_rgb(&self.files[index])?;
        let mut r = rng_for(self.seed, epoch, index as u64);
        Ok(planar(&square(
            &img,
            self.size,
            self.random_crop.then_some(&mut r),
        )))
    }
}

pub type Source = Either<Scenes, Photos>;

static SAID_CONVERTED: AtomicBool = AtomicBool::new(false);

/// Reads a picture as 8-bit RGB; greyscale, alpha and 16-bit pictures are converted (the
/// console says so, once per process).
pub fn read_rgb(path: &Path) -> Result<RgbImage, DataError> {
    let img = kit::images::load(path)?;
    if !matches!(img, DynamicImage::ImageRgb8(_)) && !SAID_CONVERTED.swap(true, Ordering::Relaxed) {
        println!(
            "note: {} is {:?}, converted to 8-bit RGB (alpha dropped, greyscale repeated, \
             16-bit rounded); other such pictures are converted silently",
            path.display(),
            img.color()
        );
    }
    Ok(img.to_rgb8())
}

/// Resizes the shorter side to `size` and crops a `size` × `size` square (random or centre).
pub fn square(img: &RgbImage, size: u32, rng: Option<&mut rand_chacha::ChaCha8Rng>) -> RgbImage {
    let (w, h) = img.dimensions();
    let scale = size as f32 / w.min(h).max(1) as f32;
    let (nw, nh) = (
        ((w as f32 * scale).round() as u32).max(size),
        ((h as f32 * scale).round() as u32).max(size),
    );
    let resized = kit::images::resize(&DynamicImage::ImageRgb8(img.clone()), nw, nh).to_rgb8();
    let (x, y) = match rng {
        Some(r) => (r.random_range(0..=nw - size), r.random_range(0..=nh - size)),
        None => ((nw - size) / 2, (nh - size) / 2),
    };
    image::imageops::crop_imm(&resized, x, y, size, size).to_image()
}

/// (3, H, W) floats in [0, 1].
pub fn planar(img: &RgbImage) -> Item {
    kit::images::normalise_planar(img.as_raw(), 3, &[0.0; 3], &[1.0; 3])
}

/// A batch (N, 3, size, size) from items of one size.
pub fn collate(items: Vec<Item>) -> Result<Tensor, DataError> {
    let n = items.len() as i64;
    let side = ((items.first().map_or(0, Vec::len) / 3) as f64).sqrt() as i64;
    let flat: Vec<f32> = items.into_iter().flatten().collect();
    Ok(Tensor::from_slice(&flat).view([n, 3, side, side]))
}

/// One picture as a (1, 3, H, W) tensor in [0, 1].
pub fn to_tensor(img: &RgbImage) -> Tensor {
    let (w, h) = img.dimensions();
    Tensor::from_slice(&planar(img)).view([1, 3, h as i64, w as i64])
}

/// The style picture at `size` (shorter side): the built-in painting, or a file; a picture
/// smaller than the feature network's deepest receptive field is refused.
pub fn style_image(cfg: &Config, size: u32, receptive_field: i64) -> anyhow::Result<RgbImage> {
    if cfg.data.style == "painting" {
        return Ok(synth::painting(size, synth::PAINTING_SEED));
    }
    let path = Path::new(&cfg.data.style);
    let img = read_rgb(path)?;
    let short = img.width().min(img.height()) as i64;
    anyhow::ensure!(
        short >= receptive_field.min(size as i64),
        "data.style: {} is {}×{} pixels, smaller than the {receptive_field}-pixel receptive \
         field of the deepest style layer: use a larger picture or shallower style layers",
        path.display(),
        img.width(),
        img.height()
    );
    Ok(square(&img, size, None))
}

fn photos_in(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let rd = std::fs::read_dir(dir).map_err(|source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let ext = p.extension().map(|e| e.to_string_lossy().to_lowercase());
            matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(DataError::Invalid {
            path: dir.to_path_buf(),
            message: "no .png / .jpg / .jpeg pictures in this folder".into(),
        });
    }
    Ok(files)
}

fn folder(cfg: &Config) -> Option<PathBuf> {
    (cfg.data.source != "builtin").then(|| PathBuf::from(&cfg.data.source))
}

/// The training and validation content (what `train` fits and selects on).
pub fn sources(cfg: &Config) -> Result<(Source, Source), DataError> {
    let (d, seed) = (&cfg.data, cfg.train.seed);
    let size = d.size as u32;
    Ok(match folder(cfg) {
        None => (
            Either::Builtin(Scenes {
                seed,
                len: d.train_size,
                size,
            }),
            Either::Builtin(Scenes {
                seed: val_seed(seed),
                len: d.val_size,
                size,
            }),
        ),
        Some(root) => {
            let photos = |files, random_crop| Photos {
                files,
                size,
                random_crop,
                seed,
            };
            if root.join("train").is_dir() {
                let val = photos_in(&root.join("val"))?;
                (
                    Either::Folder(photos(photos_in(&root.join("train"))?, true)),
                    Either::Folder(photos(val, false)),
                )
            } else {
                let mut train = photos_in(&root)?;
                let val = kit::data::hold_out_validation(&mut train, seed).ok_or_else(|| {
                    DataError::Invalid {
                        path: root.clone(),
                        message:
                            "one picture: nothing left to train on after holding out validation"
                                .into(),
                    }
                })?;
                println!(
                    "{}: no train/ and val/ inside: a seeded 10% ({} pictures) is validation",
                    root.display(),
                    val.len()
                );
                (
                    Either::Folder(photos(train, true)),
                    Either::Folder(photos(val, false)),
                )
            }
        }
    })
}

/// The test content, read by `eval` only: built-in scenes of their own seed, or a folder's
/// `test/` (without one, `val/`, said so).
pub fn test_source(
    cfg: &Config,
    data: Option<&Path>,
    split: kit::cli::Split,
) -> Result<Source, DataError> {
    let d = &cfg.data;
    let size = d.size as u32;
    let root = data.map(Path::to_path_buf).or_else(|| folder(cfg));
    Ok(match root {
        None => {
            let seed = match split {
                kit::cli::Split::Test => kit::data::test_seed(cfg.train.seed),
                kit::cli::Split::Val => val_seed(cfg.train.seed),
            };
            let len = if split == kit::cli::Split::Test {
                d.test_size
            } else {
                d.val_size
            };
            Either::Builtin(Scenes { seed, len, size })
        }
        Some(root) => Either::Folder(Photos {
            files: photos_in(&kit::cli::held_out_split(&root, split))?,
            size,
            random_crop: false,
            seed: cfg.train.seed,
        }),
    })
}

/// Every item of a dataset, in order.
pub fn all(ds: &Source) -> Result<Vec<Item>, DataError> {
    (0..ds.len()).map(|i| ds.get(i, 0)).collect()
}
