//! The YOLO layout as ultralytics documents it: `data.yaml` (`path`, `train`, `val`, optional
//! `test` image folders relative to it, `names` as a list or an index → name map), images in
//! those folders and one `labels/…/<stem>.txt` per image (the last `images` in its path made
//! `labels`): `class x_center y_center width height`, normalised to [0, 1]; an image without a
//! label file has no objects. Each split is converted to COCO records and checked as COCO is.

use crate::coco::{CocoAnnotation, CocoCategory, CocoFile, CocoFolder, CocoImage};
use kit::data::DataError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which split of `data.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YoloSplit {
    Train,
    Val,
    Test,
}

#[derive(serde::Deserialize)]
struct DataYaml {
    path: Option<PathBuf>,
    train: Option<String>,
    val: Option<String>,
    test: Option<String>,
    names: Names,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Names {
    List(Vec<String>),
    Map(BTreeMap<u64, String>),
}

/// The dataset's `data.yaml` (or `dataset.yaml`), when the folder has one.
pub fn yaml(root: &Path) -> Option<PathBuf> {
    ["data.yaml", "dataset.yaml"]
        .iter()
        .map(|n| root.join(n))
        .find(|p| p.is_file())
}

/// Whether `root` is a YOLO dataset (a `data.yaml` naming its splits and classes).
pub fn is_yolo(root: &Path) -> bool {
    yaml(root).is_some()
}

fn invalid(path: &Path, message: String) -> DataError {
    DataError::Invalid {
        path: path.to_path_buf(),
        message,
    }
}

/// The labels file of an image: its path with the last `images` component made `labels` and
/// the extension `.txt`.
fn label_path(image: &Path) -> PathBuf {
    let parts: Vec<_> = image.components().collect();
    let at = parts.iter().rposition(|c| c.as_os_str() == "images");
    let mut p: PathBuf = parts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if Some(i) == at {
                std::ffi::OsStr::new("labels")
            } else {
                c.as_os_str()
            }
        })
        .collect();
    p.set_extension("txt");
    p
}

/// Whether `data.yaml` has a `test` split.
pub fn has_test(root: &Path) -> Result<bool, DataError> {
    Ok(read_yaml(root)?.1.test.is_some())
}

fn read_yaml(root: &Path) -> Result<(PathBuf, DataYaml), DataError> {
    let path = yaml(root).ok_or_else(|| invalid(root, "no data.yaml".into()))?;
    let text = std::fs::read_to_string(&path).map_err(|source| DataError::Io {
        path: path.clone(),
        source,
    })?;
    let y: DataYaml = serde_norway::from_str(&text).map_err(|e| invalid(&path, e.to_string()))?;
    Ok((path, y))
}

/// One split of a YOLO dataset as a checked [`CocoFolder`].
pub fn open(
    root: &Path,
    split: YoloSplit,
    size: u32,
    hflip: bool,
    seed: u64,
) -> Result<CocoFolder, DataError> {
    let (path, y) = read_yaml(root)?;
    let base = y.path.as_ref().map_or(root.to_path_buf(), |p| root.join(p));
    let (key, rel) = match split {
        YoloSplit::Train => ("train", &y.train),
        YoloSplit::Val => ("val", &y.val),
        YoloSplit::Test => ("test", &y.test),
    };
    let rel = rel
        .as_ref()
        .ok_or_else(|| invalid(&path, format!("no `{key}:` image folder")))?;
    let dir = base.join(rel);
    let names: Vec<String> = match y.names {
        Names::List(v) => v,
        Names::Map(m) => {
            if m.keys().copied().ne(0..m.len() as u64) {
                return Err(invalid(
                    &path,
                    "`names` must number the classes 0, 1, 2, …".into(),
                ));
            }
            m.into_values().collect()
        }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|source| DataError::Io {
            path: dir.clone(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                matches!(
                    e.to_ascii_lowercase().as_str(),
                    "jpg" | "jpeg" | "png" | "bmp"
                )
            })
        })
        .collect();
    files.sort();
    let mut coco = CocoFile {
        images: Vec::new(),
        annotations: Vec::new(),
        categories: names
            .iter()
            .enumerate()
            .map(|(k, n)| CocoCategory {
                id: k as u64,
                name: n.clone(),
            })
            .collect(),
    };
    for (i, f) in files.iter().enumerate() {
        let (w, h) = image::image_dimensions(f).map_err(|e| DataError::Image {
            path: f.clone(),
            message: e.to_string(),
        })?;
        let id = i as u64 + 1;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        coco.images.push(CocoImage {
            id,
            file_name: name,
            width: w,
            height: h,
        });
        let labels = label_path(f);
        let Ok(text) = std::fs::read_to_string(&labels) else {
            continue; // no label file: a background image
        };
        for (k, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let at = |m: String| invalid(&labels, format!("line {}: {m}", k + 1));
            let v: Vec<f64> = line
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(
                    |_| at("expected `class x_center y_center width height` numbers".into()),
                )?;
            let [c, cx, cy, bw, bh] = v[..] else {
                return Err(at(format!(
                    "{} fields: expected 5 (segments are not read)",
                    v.len()
                )));
            };
            if c.fract() != 0.0 || c < 0.0 || c as usize >= names.len() {
                return Err(at(format!(
                    "class {c}: data.yaml names {} classes",
                    names.len()
                )));
            }
            if [cx, cy, bw, bh].iter().any(|x| !(0.0..=1.0).contains(x)) {
                return Err(at("coordinates must be normalised to [0, 1]".into()));
            }
            let (fw, fh) = (f64::from(w), f64::from(h));
            coco.annotations.push(CocoAnnotation {
                id: coco.annotations.len() as u64 + 1,
                image_id: id,
                category_id: c as u64,
                bbox: [(cx - bw / 2.0) * fw, (cy - bh / 2.0) * fh, bw * fw, bh * fh],
                area: bw * fw * bh * fh,
                iscrowd: 0,
            });
        }
    }
    CocoFolder::from_coco(coco, &path, &dir, size, hflip, seed)
}

/// The part `eval` reports: `test:` when `data.yaml` has one, else `val:` (then training held
/// its validation out of `train:`).
pub fn open_test(root: &Path, size: u32, seed: u64) -> Result<CocoFolder, DataError> {
    let split = if has_test(root)? {
        YoloSplit::Test
    } else {
        YoloSplit::Val
    };
    open(root, split, size, false, seed)
}

/// Training and validation: `train:` and `val:` when `data.yaml` has a `test:`, else `train:`
/// with a seeded 10% held out (its `val:` is then the test).
pub fn open_train_val(
    root: &Path,
    size: u32,
    hflip: bool,
    seed: u64,
) -> Result<(CocoFolder, CocoFolder), DataError> {
    let train = open(root, YoloSplit::Train, size, hflip, seed)?;
    let val = if has_test(root)? {
        Some(open(root, YoloSplit::Val, size, false, seed)?)
    } else {
        None
    };
    crate::coco_tree::train_and_val(root, train, val, seed, "data.yaml has no test split")
}
