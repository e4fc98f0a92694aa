//! Picture sets as they are downloaded, beside the app's own `train/ val/ test/` folders:
//! MNIST's IDX files and a flat folder of pictures.

use crate::data::{read_folder, Sample, Source, SIDE};
use kit::data::{content_part, DataError, Part};
use std::path::Path;

/// A folder of pictures without splits: each picture's part by its pixels
/// ([`kit::data::content_part`]: 80 / 10 / 10%), so a picture saved twice lands in one part.
pub fn flat_splits(root: &Path) -> Result<(Source, Source, Source), DataError> {
    let (all, _) = read_folder(root)?;
    let (mut tr, mut va, mut te) = (Vec::new(), Vec::new(), Vec::new());
    for s in all {
        match content_part(&s.pixels) {
            Part::Train => tr.push(s),
            Part::Val => va.push(s),
            Part::Test => te.push(s),
        }
    }
    if va.is_empty() || te.is_empty() {
        return Err(DataError::Invalid {
            path: root.to_path_buf(),
            message: format!(
                "{} pictures and no train/ folder: too few to split 80 / 10 / 10% by content \
                 (validation {}, test {})",
                tr.len() + va.len() + te.len(),
                va.len(),
                te.len()
            ),
        });
    }
    println!(
        "{}: no train/ folder; {} / {} / {} pictures for training / validation / test, split by \
         content",
        root.display(),
        tr.len(),
        va.len(),
        te.len()
    );
    Ok((Source::Images(tr), Source::Images(va), Source::Images(te)))
}

/// MNIST's IDX files as downloaded (LeCun's `.gz` files or torchvision's `MNIST/raw/`; also
/// Fashion-MNIST): the official test part for test, a seeded 10% of the training part for
/// validation.
pub fn idx_splits(root: &Path, seed: u64) -> Result<(Source, Source, Source), DataError> {
    let m = kit::mnist::read_idx(root)?;
    if (m.rows, m.cols) != (SIDE, SIDE) {
        return Err(DataError::Invalid {
            path: root.to_path_buf(),
            message: format!("{}×{} images: vae-kl reads 28×28", m.rows, m.cols),
        });
    }
    let samples = |part: Vec<(Vec<u8>, u8)>| -> Vec<Sample> {
        part.into_iter()
            .map(|(pixels, label)| Sample {
                pixels,
                label: i64::from(label),
                factors: Vec::new(),
            })
            .collect()
    };
    let mut train = samples(m.train);
    let val =
        kit::data::hold_out_validation(&mut train, seed).ok_or_else(|| DataError::Invalid {
            path: root.to_path_buf(),
            message: "too few training images to hold some out for validation".into(),
        })?;
    Ok((
        Source::Images(train),
        Source::Images(val),
        Source::Images(samples(m.test)),
    ))
}
