//! Pascal VOC as downloaded: `VOCdevkit/VOC2012/` (or the year folder itself) with
//! `Annotations/<id>.xml`, `JPEGImages/` and `ImageSets/Main/{train,val[,test]}.txt`. Boxes are
//! VOC's 1-based inclusive pixels (`xmin = 1` is the first column), read as COCO's
//! `[xmin − 1, ymin − 1, xmax − xmin + 1, ymax − ymin + 1]`; `difficult` objects are kept out of
//! training as COCO's crowd boxes are (VOC's evaluation ignores them too). Classes: VOC's 20 in
//! their usual order when every name is one of them, else the names found, sorted.

use crate::coco::{CocoAnnotation, CocoCategory, CocoFile, CocoFolder, CocoImage};
use kit::data::DataError;
use std::path::{Path, PathBuf};

/// VOC's 20 classes in the order the devkit lists them.
pub const CLASSES: [&str; 20] = [
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
];

fn is_year_folder(d: &Path) -> bool {
    d.join("Annotations").is_dir() && d.join("ImageSets/Main").is_dir()
}

/// The VOC year folder of `root`: `root` itself, or `root/[VOCdevkit/]VOC<year>`.
pub fn year_folder(root: &Path) -> Option<PathBuf> {
    if is_year_folder(root) {
        return Some(root.to_path_buf());
    }
    [root.join("VOCdevkit"), root.to_path_buf()]
        .iter()
        .find_map(|d| {
            let mut v: Vec<PathBuf> = std::fs::read_dir(d)
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_year_folder(p))
                .collect();
            v.sort();
            v.pop()
        })
}

/// Whether `root` holds a Pascal VOC year folder.
pub fn is_voc(root: &Path) -> bool {
    year_folder(root).is_some()
}

/// One object of an annotation file.
struct Object {
    name: String,
    difficult: bool,
    bbox: [f64; 4],
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, tag: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(tag))
}

fn text_of<'a>(n: roxmltree::Node<'a, '_>, tag: &str) -> Option<&'a str> {
    child(n, tag).and_then(|c| c.text()).map(str::trim)
}

/// An annotation file: file name, width, height, objects.
type Annotation = (String, u32, u32, Vec<Object>);

/// Reads one annotation file.
fn parse(path: &Path) -> Result<Annotation, DataError> {
    let bad = |m: String| DataError::Invalid {
        path: path.to_path_buf(),
        message: m,
    };
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| bad(format!("not XML: {e}")))?;
    let root = doc.root_element();
    let num = |n: roxmltree::Node, tag: &str| -> Result<f64, DataError> {
        text_of(n, tag)
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| bad(format!("no number <{tag}>")))
    };
    let size = child(root, "size").ok_or_else(|| bad("no <size>".into()))?;
    let (w, h) = (num(size, "width")? as u32, num(size, "height")? as u32);
    let file = text_of(root, "filename").unwrap_or_default().to_string();
    let mut objects = Vec::new();
    for o in root.children().filter(|c| c.has_tag_name("object")) {
        let b = child(o, "bndbox").ok_or_else(|| bad("an <object> without <bndbox>".into()))?;
        let (x0, y0, x1, y1) = (
            num(b, "xmin")?,
            num(b, "ymin")?,
            num(b, "xmax")?,
            num(b, "ymax")?,
        );
        objects.push(Object {
            name: text_of(o, "name").unwrap_or_default().to_string(),
            difficult: text_of(o, "difficult") == Some("1"),
            bbox: [x0 - 1.0, y0 - 1.0, x1 - x0 + 1.0, y1 - y0 + 1.0],
        });
    }
    Ok((file, w, h, objects))
}

fn ids(year: &Path, split: &str) -> Result<Vec<String>, DataError> {
    let path = year.join("ImageSets/Main").join(format!("{split}.txt"));
    let text = std::fs::read_to_string(&path).map_err(|source| DataError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(text.split_whitespace().map(str::to_string).collect())
}

/// Whether the VOC folder has a `test` image set (VOC2007 does; VOC2012's test is unlabelled).
pub fn has_test(root: &Path) -> bool {
    year_folder(root).is_some_and(|y| y.join("ImageSets/Main/test.txt").is_file())
}

/// One image set (`train`, `val`, `test`) as a checked [`CocoFolder`].
pub fn open(
    root: &Path,
    split: &str,
    size: u32,
    hflip: bool,
    seed: u64,
) -> Result<CocoFolder, DataError> {
    let year = year_folder(root).ok_or_else(|| DataError::Invalid {
        path: root.to_path_buf(),
        message: "no VOC folder (Annotations/, ImageSets/Main/, JPEGImages/)".into(),
    })?;
    let parsed: Vec<(String, Annotation)> = ids(&year, split)?
        .into_iter()
        .map(|id| {
            let p = parse(&year.join("Annotations").join(format!("{id}.xml")))?;
            Ok((id, p))
        })
        .collect::<Result<_, DataError>>()?;
    let names = class_names(&year)?;
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
    for (i, (id, (file, w, h, objects))) in parsed.into_iter().enumerate() {
        let image_id = i as u64 + 1;
        let file_name = if file.is_empty() {
            format!("{id}.jpg")
        } else {
            file
        };
        coco.images.push(CocoImage {
            id: image_id,
            file_name,
            width: w,
            height: h,
        });
        for o in objects {
            let k = names
                .iter()
                .position(|n| *n == o.name)
                .unwrap_or(usize::MAX);
            coco.annotations.push(CocoAnnotation {
                id: coco.annotations.len() as u64 + 1,
                image_id,
                category_id: k as u64,
                bbox: o.bbox,
                area: o.bbox[2] * o.bbox[3],
                iscrowd: u8::from(o.difficult),
            });
        }
    }
    CocoFolder::from_coco(
        coco,
        &year.join("Annotations"),
        &year.join("JPEGImages"),
        size,
        hflip,
        seed,
    )
}

/// VOC's 20 classes when every object of the image sets is one of them, else the names found.
fn class_names(year: &Path) -> Result<Vec<String>, DataError> {
    let mut found = std::collections::BTreeSet::new();
    for split in ["train", "val", "test"] {
        if !year
            .join("ImageSets/Main")
            .join(format!("{split}.txt"))
            .is_file()
        {
            continue;
        }
        for id in ids(year, split)? {
            for o in parse(&year.join("Annotations").join(format!("{id}.xml")))?.3 {
                found.insert(o.name);
            }
        }
    }
    Ok(if found.iter().all(|n| CLASSES.contains(&n.as_str())) {
        CLASSES.iter().map(|s| s.to_string()).collect()
    } else {
        found.into_iter().collect()
    })
}

/// The part `eval` reports: `test` when the folder has it, else `val`.
pub fn open_test(root: &Path, size: u32, seed: u64) -> Result<CocoFolder, DataError> {
    open(
        root,
        if has_test(root) { "test" } else { "val" },
        size,
        false,
        seed,
    )
}

/// Training and validation: `train` and `val` when there is a `test`, else `train` with a
/// seeded 10% held out (`val` is then the test).
pub fn open_train_val(
    root: &Path,
    size: u32,
    hflip: bool,
    seed: u64,
) -> Result<(CocoFolder, CocoFolder), DataError> {
    let train = open(root, "train", size, hflip, seed)?;
    let val = if has_test(root) {
        Some(open(root, "val", size, false, seed)?)
    } else {
        None
    };
    crate::coco_tree::train_and_val(root, train, val, seed, "no test image set")
}
