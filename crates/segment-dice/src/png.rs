//! The PNG slice folder format: `images/<id>.png` (grayscale, square) with `masks/<id>.png`
//! (0 = background, k = class k, or 0/255), each file checked against the config.

use crate::synth::Slice;
use kit::data::DataError;
use std::path::{Path, PathBuf};

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
    pub(crate) fn read_checked(&self, index: usize) -> Result<Slice, DataError> {
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
