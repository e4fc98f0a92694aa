//! Slices and their masks as datasets: the synthetic generator (`synth`), and the real on-disk
//! format `images/<id>.png` (grayscale) + `masks/<id>.png` (0 = background, k = class k).

use image::GrayImage;
use kit::data::{rng_for, DataError, Dataset, Either};
use rand::Rng;
use std::path::{Path, PathBuf};
use tch::Tensor;

use crate::config::Config;
pub use crate::synth::Slice;
use crate::synth::{render_with, Tumours};

/// Slices rendered on the fly.
pub struct Synthetic {
    pub seed: u64,
    pub len: usize,
    pub size: u32,
    pub hflip: bool,
    pub tumours: Tumours,
}

/// Slices read from `images/` + `masks/` of a folder.
pub struct Folder {
    pub pairs: Vec<(PathBuf, PathBuf)>,
    pub hflip: bool,
    pub seed: u64,
    /// Side every slice must have (`data.size`), checked per file.
    pub size: Option<u32>,
    /// Mask values must lie in 0..classes (`model.classes`), checked per file.
    pub classes: Option<i64>,
}

impl Folder {
    /// Lists `dir/images/*.png` and pairs each with `dir/masks/<same name>`.
    pub fn open(dir: &Path, hflip: bool, seed: u64) -> Result<Self, DataError> {
        let images = dir.join("images");
        let entries = std::fs::read_dir(&images).map_err(|source| DataError::Io {
            path: images.clone(),
            source,
        })?;
        let mut pairs = Vec::new();
        for e in entries {
            let path = e
                .map_err(|source| DataError::Io {
                    path: images.clone(),
                    source,
                })?
                .path();
            if path
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| x.eq_ignore_ascii_case("png"))
            {
                let mask = dir.join("masks").join(path.file_name().unwrap_or_default());
                if !mask.is_file() {
                    return Err(DataError::Invalid {
                        path: mask,
                        message: format!("missing mask for image {}", path.display()),
                    });
                }
                pairs.push((path, mask));
            }
        }
        pairs.sort();
        if pairs.is_empty() {
            return Err(DataError::Invalid {
                path: images,
                message: "no .png images found".into(),
            });
        }
        Ok(Self {
            pairs,
            hflip,
            seed,
            size: None,
            classes: None,
        })
    }
}

/// Reads one image/mask pair; a size mismatch names both files.
pub fn read_pair(image: &Path, mask: &Path) -> Result<Slice, DataError> {
    let img = kit::images::load(image)?.to_luma8();
    let m = kit::images::load(mask)?.to_luma8();
    if img.width() != img.height() {
        let (w, h) = img.dimensions();
        return Err(DataError::Invalid {
            path: image.to_path_buf(),
            message: format!(
                "the slice is {w}×{h} (width × height), not square: crop or pad it to a square \
                 (this app trains on square slices)"
            ),
        });
    }
    if img.dimensions() != m.dimensions() {
        return Err(DataError::Invalid {
            path: mask.to_path_buf(),
            message: format!(
                "mask is {:?} but image {} is {:?} (both must be the same size)",
                m.dimensions(),
                image.display(),
                img.dimensions()
            ),
        });
    }
    let mut mask = m.into_raw();
    // Binary masks saved as 0/255 (what most mask tools, and our own predict, write) mean
    // background / tumour.
    if mask.contains(&255) && mask.iter().all(|&v| v == 0 || v == 255) {
        mask.iter_mut().for_each(|v| *v = u8::from(*v == 255));
    }
    Ok(Slice {
        size: img.width(),
        image: img.into_raw(),
        mask,
    })
}

impl Folder {
    /// Reads pair `index` and checks it against `data.size` and `model.classes`, naming the file.
    fn read_checked(&self, index: usize) -> Result<Slice, DataError> {
        let (image, mask) = &self.pairs[index];
        let s = read_pair(image, mask)?;
        if let Some(size) = self.size.filter(|&n| n != s.size) {
            return Err(DataError::Invalid {
                path: image.clone(),
                message: format!(
                    "slice is {0}×{0} but data.size = {size}: every slice of a dataset must have \
                     the size the config names (resize the dataset, or set data.size)",
                    s.size
                ),
            });
        }
        let top = s.mask.iter().copied().max().unwrap_or(0) as i64;
        if let Some(classes) = self.classes.filter(|&c| top >= c) {
            return Err(DataError::Invalid {
                path: mask.clone(),
                message: format!(
                    "mask value {top} but model.classes = {classes} allows 0..={}: masks hold \
                     class indices (or 0/255 for a binary mask)",
                    classes - 1
                ),
            });
        }
        Ok(s)
    }
}

fn maybe_flip(mut s: Slice, flip: bool) -> Slice {
    if flip {
        let n = s.size as usize;
        for row in 0..n {
            s.image[row * n..(row + 1) * n].reverse();
            s.mask[row * n..(row + 1) * n].reverse();
        }
    }
    s
}

impl Dataset for Synthetic {
    type Item = Slice;
    fn len(&self) -> usize {
        self.len
    }
    fn get(&self, index: usize, epoch: u64) -> Result<Slice, DataError> {
        let flip = self.hflip
            && rng_for(self.seed, 0xF11, epoch * 1_000_003 + index as u64).random_bool(0.5);
        Ok(maybe_flip(
            render_with(self.seed, index as u64, self.size, self.tumours),
            flip,
        ))
    }
}

impl Dataset for Folder {
    type Item = Slice;
    fn len(&self) -> usize {
        self.pairs.len()
    }
    fn get(&self, index: usize, epoch: u64) -> Result<Slice, DataError> {
        let flip = self.hflip
            && rng_for(self.seed, 0xF11, epoch * 1_000_003 + index as u64).random_bool(0.5);
        Ok(maybe_flip(self.read_checked(index)?, flip))
    }
}

/// Stacks slices into `(images (N, 1, H, W) in 0..1, masks (N, 1, H, W) int64)`.
pub fn collate(items: Vec<Slice>) -> Result<(Tensor, Tensor), DataError> {
    let first = items
        .first()
        .ok_or_else(|| DataError::Other("empty batch".into()))?
        .size as i64;
    if items.iter().any(|s| s.size as i64 != first) {
        return Err(DataError::Other(
            "slices of different sizes in one batch: resize the dataset to one size".into(),
        ));
    }
    let n = items.len() as i64;
    let img: Vec<u8> = items.iter().flat_map(|s| s.image.iter().copied()).collect();
    let msk: Vec<u8> = items.iter().flat_map(|s| s.mask.iter().copied()).collect();
    // Converted here, so the loader thread makes one libtorch call per tensor (a copy).
    let x = Tensor::from_slice(&kit::images::normalise_planar(&img, 1, &[0.0], &[1.0]))
        .view([n, 1, first, first]);
    let msk: Vec<i64> = msk.into_iter().map(i64::from).collect();
    let y = Tensor::from_slice(&msk).view([n, 1, first, first]);
    Ok((x, y))
}

/// Writes `n` synthetic slices in the real format under `out/{train,val}/{images,masks}/`.
pub fn write_synthetic(
    out: &Path,
    seed: u64,
    n_train: usize,
    n_val: usize,
    size: u32,
    tumours: Tumours,
) -> Result<(), DataError> {
    for (split, n, stream) in [
        ("train", n_train, seed),
        ("val", n_val, val_seed(seed)),
        ("test", n_val, kit::data::test_seed(seed)),
    ] {
        for sub in ["images", "masks"] {
            let d = out.join(split).join(sub);
            std::fs::create_dir_all(&d).map_err(|source| DataError::Io { path: d, source })?;
        }
        for i in 0..n {
            let s = render_with(stream, i as u64, size, tumours);
            let name = format!("{i:05}.png");
            let save = |sub: &str, px: Vec<u8>| -> Result<(), DataError> {
                let img = GrayImage::from_raw(size, size, px)
                    .ok_or_else(|| DataError::Other("bad slice size".into()))?;
                kit::images::save(
                    &image::DynamicImage::ImageLuma8(img),
                    &out.join(split).join(sub).join(&name),
                )
            };
            save("images", s.image)?;
            save("masks", s.mask)?;
        }
    }
    Ok(())
}

pub use kit::data::val_seed;

/// Training or validation slices, synthetic or from a folder.
pub type Source = Either<Synthetic, Folder>;

/// The test set, read by `eval` only (training selects on validation): synthetic slices of
/// their own seed (`val_size` of them), or a folder's `test/` — without one, `val/`, said so.
pub fn test_source(cfg: &Config) -> Result<Source, DataError> {
    let d = &cfg.data;
    Ok(match d.folder() {
        None => Either::Builtin(Synthetic {
            seed: kit::data::test_seed(cfg.train.seed),
            len: d.val_size,
            size: d.size,
            hflip: false,
            tumours: d.tumours(),
        }),
        Some(root) => {
            let mut f = Folder::open(
                &kit::cli::held_out_split(&root, kit::cli::Split::Test),
                false,
                cfg.train.seed,
            )?;
            f.size = Some(d.size);
            f.classes = Some(cfg.model.classes);
            Either::Folder(f)
        }
    })
}

/// The training and validation sets (what `train` fits and selects on).
pub fn sources(cfg: &Config) -> Result<(Source, Source), DataError> {
    let d = &cfg.data;
    let seed = cfg.train.seed;
    Ok(match d.folder() {
        None => (
            Either::Builtin(Synthetic {
                seed,
                len: d.train_size,
                size: d.size,
                hflip: d.hflip,
                tumours: d.tumours(),
            }),
            Either::Builtin(Synthetic {
                seed: val_seed(seed),
                len: d.val_size,
                size: d.size,
                hflip: false,
                tumours: d.tumours(),
            }),
        ),
        Some(root) => {
            let open = |split: &str, hflip: bool| -> Result<Source, DataError> {
                let mut f = Folder::open(&root.join(split), hflip, seed)?;
                f.size = Some(d.size);
                f.classes = Some(cfg.model.classes);
                Ok(Either::Folder(f))
            };
            (open("train", d.hflip)?, open("val", false)?)
        }
    })
}
