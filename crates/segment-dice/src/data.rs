//! Slices and their masks as datasets: the synthetic generator (`synth`), the on-disk slice
//! format `images/<id>.png` (grayscale) + `masks/<id>.png` (0 = background, k = class k), and
//! NIfTI volumes (`volumes`: the Decathlon / BraTS layouts).

use image::GrayImage;
use kit::data::{rng_for, DataError, Dataset};
use rand::Rng;
use std::path::Path;
use tch::Tensor;

use crate::config::Config;
pub use crate::png::{read_pair, Folder};
pub use crate::synth::Slice;
use crate::synth::{render_with, Tumours};
use crate::volumes::{self, Volumes};

/// One example as the network sees it: `channels` planes of `size × size` intensities
/// (0..1 for PNG and synthetic slices, normalised units for volumes) and its classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub size: u32,
    pub channels: usize,
    pub image: Vec<f32>,
    pub mask: Vec<u8>,
}

impl From<Slice> for Example {
    fn from(s: Slice) -> Self {
        Self {
            size: s.size,
            channels: 1,
            image: s.image.iter().map(|&v| v as f32 / 255.0).collect(),
            mask: s.mask,
        }
    }
}

impl Example {
    /// The first channel as 8-bit gray for pictures (min–max scaled).
    pub fn gray(&self) -> Vec<u8> {
        gray(&self.image[..(self.size * self.size) as usize])
    }
}

/// Min–max scales intensities to 0..=255 for display.
pub fn gray(values: &[f32]) -> Vec<u8> {
    let (lo, hi) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let range = if hi > lo { hi - lo } else { 1.0 };
    values
        .iter()
        .map(|&v| ((v - lo) / range * 255.0).round() as u8)
        .collect()
}

/// Slices rendered on the fly.
pub struct Synthetic {
    pub seed: u64,
    pub len: usize,
    pub size: u32,
    pub hflip: bool,
    pub tumours: Tumours,
}

/// Flips an example left–right when the seeded coin for (`index`, `epoch`) says so.
fn maybe_flip(mut s: Example, hflip: bool, seed: u64, index: usize, epoch: u64) -> Example {
    if hflip && rng_for(seed, 0xF11, epoch * 1_000_003 + index as u64).random_bool(0.5) {
        let n = s.size as usize;
        s.image.chunks_mut(n).for_each(<[f32]>::reverse);
        s.mask.chunks_mut(n).for_each(<[u8]>::reverse);
    }
    s
}

impl Dataset for Synthetic {
    type Item = Example;
    fn len(&self) -> usize {
        self.len
    }
    fn get(&self, index: usize, epoch: u64) -> Result<Example, DataError> {
        let s = render_with(self.seed, index as u64, self.size, self.tumours);
        Ok(maybe_flip(s.into(), self.hflip, self.seed, index, epoch))
    }
}

impl Dataset for Folder {
    type Item = Example;
    fn len(&self) -> usize {
        self.pairs.len()
    }
    fn get(&self, index: usize, epoch: u64) -> Result<Example, DataError> {
        let s = self.read_checked(index)?;
        Ok(maybe_flip(s.into(), self.hflip, self.seed, index, epoch))
    }
}

impl Dataset for Volumes {
    type Item = Example;
    fn len(&self) -> usize {
        self.examples.len()
    }
    fn get(&self, index: usize, epoch: u64) -> Result<Example, DataError> {
        let e = self.examples[index].clone();
        Ok(maybe_flip(e, self.hflip, self.seed, index, epoch))
    }
}

/// Training, validation or test examples: synthetic, PNG slices, or NIfTI volumes.
pub enum Source {
    Synthetic(Synthetic),
    Slices(Folder),
    Volumes(Volumes),
}

impl Dataset for Source {
    type Item = Example;
    fn len(&self) -> usize {
        match self {
            Self::Synthetic(d) => d.len(),
            Self::Slices(d) => d.len(),
            Self::Volumes(d) => d.len(),
        }
    }
    fn get(&self, index: usize, epoch: u64) -> Result<Example, DataError> {
        match self {
            Self::Synthetic(d) => d.get(index, epoch),
            Self::Slices(d) => d.get(index, epoch),
            Self::Volumes(d) => d.get(index, epoch),
        }
    }
}

impl Source {
    /// What the set holds, for the log: "300 slices" or "4 volumes (620 slices)".
    pub fn describe(&self) -> String {
        match self {
            Self::Volumes(v) => format!("{} volumes ({} slices)", v.volumes.len(), self.len()),
            _ => format!("{} slices", self.len()),
        }
    }
}

/// Stacks examples into `(images (N, C, H, W), masks (N, 1, H, W) int64)`.
pub fn collate(items: Vec<Example>) -> Result<(Tensor, Tensor), DataError> {
    let first = items
        .first()
        .ok_or_else(|| DataError::Other("empty batch".into()))?
        .size as i64;
    if items.iter().any(|s| s.size as i64 != first) {
        return Err(DataError::Other(
            "slices of different sizes in one batch: resize the dataset to one size".into(),
        ));
    }
    let channels = items[0].channels as i64;
    if items.iter().any(|s| s.channels as i64 != channels) {
        return Err(DataError::Other(
            "examples with different channel counts in one batch".into(),
        ));
    }
    let n = items.len() as i64;
    let img: Vec<f32> = items.iter().flat_map(|s| s.image.iter().copied()).collect();
    let msk: Vec<u8> = items.iter().flat_map(|s| s.mask.iter().copied()).collect();
    // Converted here, so the loader thread makes one libtorch call per tensor (a copy).
    let x = Tensor::from_slice(&img).view([n, channels, first, first]);
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

/// Opens the volumes of one split of a NIfTI folder: `root/<split>/` when the folder has
/// split subfolders, else the fixed share of `root`'s one collection (`data.volumes`).
fn volume_split(
    cfg: &Config,
    root: &Path,
    which: usize,
    training: bool,
) -> Result<Source, DataError> {
    const SPLITS: [&str; 3] = ["train", "val", "test"];
    let v = &cfg.data.volumes;
    let cases = if root.join("train").is_dir() {
        let dir = match which {
            2 => kit::cli::held_out_split(root, kit::cli::Split::Test),
            _ => root.join(SPLITS[which]),
        };
        volumes::list_cases(&dir)?
    } else {
        let splits = volumes::split(volumes::list_cases(root)?, v.val_fraction, v.test_fraction);
        let cases = splits.into_iter().nth(which).unwrap_or_default();
        if cases.is_empty() {
            return Err(DataError::Invalid {
                path: root.to_path_buf(),
                message: format!(
                    "the {} split has no volumes: raise data.volumes.{}_fraction or add volumes",
                    SPLITS[which], SPLITS[which]
                ),
            });
        }
        cases
    };
    volumes_of(cfg, &cases, training).map(Source::Volumes)
}

/// Opens `cases` with the config's volume options (evaluation keeps every slice).
pub fn volumes_of(
    cfg: &Config,
    cases: &[volumes::Case],
    training: bool,
) -> Result<Volumes, DataError> {
    Volumes::open(
        cases,
        &volumes::Open {
            opts: &cfg.data.volumes,
            size: cfg.data.size,
            in_channels: cfg.model.in_channels,
            classes: cfg.model.classes,
            training,
            hflip: cfg.data.hflip,
            seed: cfg.train.seed,
        },
    )
}

/// A PNG slice folder checked against the config.
fn slice_folder(cfg: &Config, dir: &Path, hflip: bool) -> Result<Source, DataError> {
    let mut f = Folder::open(dir, hflip, cfg.train.seed)?;
    f.size = Some(cfg.data.size);
    f.classes = Some(cfg.model.classes);
    Ok(Source::Slices(f))
}

/// The evaluation set of `eval --data DIR`: `DIR/test` (or `DIR/val`) when it exists, else
/// `DIR` itself; PNG slices or every volume found there.
pub fn eval_folder(cfg: &Config, dir: &Path, split: kit::cli::Split) -> Result<Source, DataError> {
    let dir = kit::cli::held_out_split(dir, split);
    if volumes::is_volume_folder(&dir) {
        volumes_of(cfg, &volumes::list_cases(&dir)?, false).map(Source::Volumes)
    } else {
        slice_folder(cfg, &dir, false)
    }
}

/// The test set, read by `eval` only (training selects on validation): synthetic slices of
/// their own seed (`val_size` of them), a folder's `test/` — without one, `val/`, said so —
/// or a volume collection's test share.
pub fn test_source(cfg: &Config) -> Result<Source, DataError> {
    let d = &cfg.data;
    Ok(match d.folder() {
        None => Source::Synthetic(Synthetic {
            seed: kit::data::test_seed(cfg.train.seed),
            len: d.val_size,
            size: d.size,
            hflip: false,
            tumours: d.tumours(),
        }),
        Some(root) if volumes::is_volume_folder(&root) => volume_split(cfg, &root, 2, false)?,
        Some(root) => slice_folder(
            cfg,
            &kit::cli::held_out_split(&root, kit::cli::Split::Test),
            false,
        )?,
    })
}

/// The training and validation sets (what `train` fits and selects on).
pub fn sources(cfg: &Config) -> Result<(Source, Source), DataError> {
    let d = &cfg.data;
    let seed = cfg.train.seed;
    Ok(match d.folder() {
        None => (
            Source::Synthetic(Synthetic {
                seed,
                len: d.train_size,
                size: d.size,
                hflip: d.hflip,
                tumours: d.tumours(),
            }),
            Source::Synthetic(Synthetic {
                seed: val_seed(seed),
                len: d.val_size,
                size: d.size,
                hflip: false,
                tumours: d.tumours(),
            }),
        ),
        Some(root) if volumes::is_volume_folder(&root) => (
            volume_split(cfg, &root, 0, true)?,
            volume_split(cfg, &root, 1, false)?,
        ),
        Some(root) => (
            slice_folder(cfg, &root.join("train"), d.hflip)?,
            slice_folder(cfg, &root.join("val"), false)?,
        ),
    })
}
