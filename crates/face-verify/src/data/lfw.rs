//! LFW as it is downloaded: person folders `<Name>/<Name>_0001.jpg` (in the folder itself or in
//! `lfw/`, `lfw_funneled/`, `lfw-deepfunneled/` beside `pairs.txt`) and LFW's own `pairs.txt`:
//! a header `N M` (N folds of M same-person and M different-person pairs; View 2 is `10 300`),
//! then per fold M lines `name n1 n2` and M lines `name1 n1 name2 n2` (image numbers from 1).
//! Its protocol: the threshold chosen on N − 1 folds, accuracy on the held-out one, mean ± std
//! over the N folds — which [`crate::eval::kfold_accuracy`] computes on the pairs in file order.
//! Training reads the people who occur in no pair (LFW has 5,749 people, 4,281 of them
//! outside View 2's pairs), so no test face is trained on.

use super::FaceRef;
use kit::data::DataError;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The folders a download puts the person folders in, tried in order.
const IMAGE_DIRS: [&str; 5] = [
    "",
    "lfw",
    "lfw_funneled",
    "lfw-deepfunneled",
    "lfw_deepfunneled",
];

/// LFW's pairs, in file order, with what the protocol needs.
#[derive(Debug, Clone)]
pub struct LfwPairs {
    /// (face a, face b, same person), fold by fold.
    pub pairs: Vec<(FaceRef, FaceRef, bool)>,
    /// N: the folds, each a contiguous block of 2M pairs.
    pub folds: usize,
    /// Everyone who occurs in a pair (kept out of training).
    pub people: BTreeSet<String>,
    /// The folder holding the person folders.
    pub images: PathBuf,
}

/// Whether `root/pairs.txt` is in LFW's format (its first line is `N M`).
pub fn is_lfw(root: &Path) -> bool {
    std::fs::read_to_string(root.join("pairs.txt"))
        .ok()
        .and_then(|t| t.lines().find(|l| !l.trim().is_empty()).map(header))
        .is_some_and(|h| h.is_some())
}

fn header(line: &str) -> Option<(usize, usize)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    match f.as_slice() {
        [n, m] => Some((n.parse().ok()?, m.parse().ok()?)),
        _ => None,
    }
}

/// The folder of `root` that holds LFW's person folders (the first of [`IMAGE_DIRS`] that has
/// `first`'s folder).
fn image_dir(root: &Path, first: &str) -> Result<PathBuf, DataError> {
    IMAGE_DIRS
        .iter()
        .map(|d| root.join(d))
        .find(|d| d.join(first).is_dir())
        .ok_or_else(|| DataError::Invalid {
            path: root.to_path_buf(),
            message: format!(
                "LFW's pairs.txt names {first}, but no person folder {first}/ is in {} or its \
                 {} subfolders: unpack lfw.tgz (or lfw-deepfunneled.tgz) beside pairs.txt",
                root.display(),
                IMAGE_DIRS[1..].join(", ")
            ),
        })
}

/// `<images>/<name>/<name>_<nnnn>.jpg`, checked to exist.
fn face(
    images: &Path,
    name: &str,
    n: &str,
    at: &dyn Fn(String) -> DataError,
) -> Result<FaceRef, DataError> {
    let k: usize = n
        .parse()
        .map_err(|_| at(format!("image number `{n}` is not a positive integer")))?;
    let p = images.join(name).join(format!("{name}_{k:04}.jpg"));
    if !p.is_file() {
        return Err(at(format!("image {} not found", p.display())));
    }
    Ok(FaceRef::File(p))
}

/// Reads LFW's `root/pairs.txt`: every line checked (a wrong field count, a fold that is not M
/// same-person then M different-person lines, a missing image: an error naming file and line).
pub fn read_lfw_pairs(root: &Path) -> Result<LfwPairs, DataError> {
    let path = root.join("pairs.txt");
    let text = std::fs::read_to_string(&path).map_err(|source| DataError::Io {
        path: path.clone(),
        source,
    })?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let bad = |i: usize, m: String| DataError::Other(format!("{}:{}: {m}", path.display(), i + 1));
    let (hi, h) = lines.next().ok_or_else(|| bad(0, "empty file".into()))?;
    let (folds, m) =
        header(h).ok_or_else(|| bad(hi, "expected LFW's header `folds pairs`".into()))?;
    let rows: Vec<(usize, Vec<&str>)> = lines
        .map(|(i, l)| (i, l.split_whitespace().collect()))
        .collect();
    if folds == 0 || m == 0 || rows.len() != 2 * folds * m {
        return Err(bad(
            hi,
            format!(
                "the header says {folds} folds of {m} + {m} pairs ({} lines), the file has {}",
                2 * folds * m,
                rows.len()
            ),
        ));
    }
    let images = image_dir(root, rows[0].1[0])?;
    let (mut pairs, mut people) = (Vec::with_capacity(rows.len()), BTreeSet::new());
    for (k, (i, f)) in rows.iter().enumerate() {
        let same = k % (2 * m) < m;
        let at = |msg: String| bad(*i, msg);
        let (a, b) = match (same, f.as_slice()) {
            (true, [name, n1, n2]) => {
                people.insert(name.to_string());
                (face(&images, name, n1, &at)?, face(&images, name, n2, &at)?)
            }
            (false, [name1, n1, name2, n2]) => {
                people.insert(name1.to_string());
                people.insert(name2.to_string());
                (
                    face(&images, name1, n1, &at)?,
                    face(&images, name2, n2, &at)?,
                )
            }
            (true, _) => {
                return Err(at(format!(
                    "expected a same-person line `name n1 n2` (line {} of a fold: its first {m} \
                     are same-person)",
                    k % (2 * m) + 1
                )))
            }
            (false, _) => {
                return Err(at(format!(
                    "expected a different-person line `name1 n1 name2 n2` (line {} of a fold: \
                     its last {m} are different-person)",
                    k % (2 * m) + 1
                )))
            }
        };
        pairs.push((a, b, same));
    }
    Ok(LfwPairs {
        pairs,
        folds,
        people,
        images,
    })
}
