//! COCO detection files: the on-disk format detect-focal reads (`annotations.json` +
//! `images/`, per split) and `synth` writes.

use crate::boxes::{xywh_to_xyxy, xyxy_to_xywh};
use crate::synth::{flip_for, hflip, render, Scene, SceneSpec, CLASSES};
use kit::data::{val_seed, DataError, Dataset};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The COCO detection file (only the fields a detector needs; others are ignored).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CocoFile {
    pub images: Vec<CocoImage>,
    pub annotations: Vec<CocoAnnotation>,
    pub categories: Vec<CocoCategory>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CocoImage {
    pub id: u64,
    pub file_name: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CocoAnnotation {
    pub id: u64,
    pub image_id: u64,
    pub category_id: u64,
    /// `[x, y, w, h]` in pixels of the original image.
    pub bbox: [f64; 4],
    #[serde(default)]
    pub area: f64,
    #[serde(default)]
    pub iscrowd: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CocoCategory {
    pub id: u64,
    pub name: String,
}

/// One COCO split: `dir/annotations.json` + `dir/images/<file_name>` (the app's own tree), or
/// COCO's own tree ([`crate::coco_tree`]), resized to `size`.
pub struct CocoFolder {
    /// The annotation file the split was read from.
    pub annotations: PathBuf,
    pub class_names: Vec<String>,
    /// (image path, boxes in original pixels, class indices)
    pub items: Vec<(PathBuf, Vec<[f64; 4]>, Vec<usize>)>,
    pub size: u32,
    pub hflip: bool,
    pub seed: u64,
    /// Per item: its COCO image id and original width × height (for results in COCO format).
    pub images: Vec<(u64, u32, u32)>,
    /// COCO category id of each class index.
    pub category_ids: Vec<u64>,
}

pub(crate) fn invalid(path: &Path, message: String) -> DataError {
    DataError::Invalid {
        path: path.to_path_buf(),
        message,
    }
}

impl CocoFolder {
    /// Reads and checks `dir/annotations.json`: unknown image or category ids, empty boxes and
    /// missing image files are errors naming the file (and the annotation id). Crowd
    /// annotations (`iscrowd: 1`) are skipped, as COCO's evaluation ignores them.
    pub fn open(dir: &Path, size: u32, hflip: bool, seed: u64) -> Result<Self, DataError> {
        if crate::coco_tree::is_tree(dir) {
            // `eval --data` on COCO's own tree: its val split, the test part.
            return Self::open_tree(dir, crate::coco_tree::TreeSplit::Test, size, hflip, seed);
        }
        if crate::yolo::is_yolo(dir) {
            return crate::yolo::open_test(dir, size, seed);
        }
        if crate::voc::is_voc(dir) {
            return crate::voc::open_test(dir, size, seed);
        }
        Self::open_files(
            &dir.join("annotations.json"),
            &dir.join("images"),
            size,
            hflip,
            seed,
        )
    }

    /// Reads and checks one annotation file and its image folder.
    pub fn open_files(
        path: &Path,
        image_dir: &Path,
        size: u32,
        hflip: bool,
        seed: u64,
    ) -> Result<Self, DataError> {
        let path = path.to_path_buf();
        let text = std::fs::read_to_string(&path).map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        let coco: CocoFile =
            serde_json::from_str(&text).map_err(|e| invalid(&path, e.to_string()))?;
        Self::from_coco(coco, &path, image_dir, size, hflip, seed)
    }

    /// A split from COCO records (read from `path`, or converted from another layout whose
    /// labels `path` names), every record checked as [`CocoFolder::open`] says.
    pub fn from_coco(
        coco: CocoFile,
        path: &Path,
        image_dir: &Path,
        size: u32,
        hflip: bool,
        seed: u64,
    ) -> Result<Self, DataError> {
        let path = path.to_path_buf();
        let mut cats: Vec<&CocoCategory> = coco.categories.iter().collect();
        cats.sort_by_key(|c| c.id);
        if cats.is_empty() {
            return Err(invalid(&path, "no categories".into()));
        }
        let class_of: HashMap<u64, usize> =
            cats.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        let index_of: HashMap<u64, usize> = coco
            .images
            .iter()
            .enumerate()
            .map(|(i, im)| (im.id, i))
            .collect();
        let mut items: Vec<(PathBuf, Vec<[f64; 4]>, Vec<usize>)> = coco
            .images
            .iter()
            .map(|im| (image_dir.join(&im.file_name), Vec::new(), Vec::new()))
            .collect();
        for a in &coco.annotations {
            let i = *index_of.get(&a.image_id).ok_or_else(|| {
                invalid(
                    &path,
                    format!(
                        "annotation {} refers to image_id {} which is not in `images`",
                        a.id, a.image_id
                    ),
                )
            })?;
            let c = *class_of.get(&a.category_id).ok_or_else(|| {
                invalid(
                    &path,
                    format!(
                        "annotation {} has category_id {} which is not in `categories`",
                        a.id, a.category_id
                    ),
                )
            })?;
            let im = &coco.images[i];
            let (w, h) = (im.width as f64, im.height as f64);
            if let Some(problem) = scenes::boxes::box_problem(a.bbox, w, h) {
                return Err(invalid(
                    &path,
                    format!(
                        "annotation {}: bbox {:?} {problem} (image {})",
                        a.id, a.bbox, im.file_name
                    ),
                ));
            }
            if a.iscrowd == 0 {
                items[i].1.push(a.bbox);
                items[i].2.push(c);
            }
        }
        for (p, _, _) in &items {
            if !p.is_file() {
                return Err(invalid(
                    p,
                    format!("image listed in {} is missing", path.display()),
                ));
            }
        }
        if items.is_empty() {
            return Err(invalid(&path, "no images".into()));
        }
        Ok(Self {
            images: coco
                .images
                .iter()
                .map(|im| (im.id, im.width, im.height))
                .collect(),
            category_ids: cats.iter().map(|c| c.id).collect(),
            annotations: path.clone(),
            class_names: cats.iter().map(|c| c.name.clone()).collect(),
            items,
            size,
            hflip,
            seed,
        })
    }
}

/// Loads an image and its boxes resized to `size`×`size` (boxes scaled with the image).
pub fn load_scene(
    path: &Path,
    boxes: &[[f64; 4]],
    classes: &[usize],
    size: u32,
) -> Result<Scene, DataError> {
    let img = kit::images::load(path)?;
    let (w, h) = (img.width() as f64, img.height() as f64);
    let (sx, sy) = (size as f64 / w, size as f64 / h);
    let image = kit::images::resize(&img, size, size).to_rgb8();
    let boxes = boxes
        .iter()
        .map(|b| {
            let b = xywh_to_xyxy([b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy]);
            crate::boxes::clip(b, size as f32, size as f32)
        })
        .collect();
    Ok(Scene {
        image,
        boxes,
        classes: classes.to_vec(),
        mask: Vec::new(),
    })
}

impl Dataset for CocoFolder {
    type Item = Scene;
    fn len(&self) -> usize {
        self.items.len()
    }
    fn get(&self, index: usize, epoch: u64) -> Result<Scene, DataError> {
        let (p, b, c) = &self.items[index];
        let s = load_scene(p, b, c, self.size)?;
        Ok(if self.hflip && flip_for(self.seed, epoch, index) {
            hflip(s)
        } else {
            s
        })
    }
}

/// Writes synthetic scenes as a COCO dataset: `out/{train,val}/annotations.json` + `images/`.
pub fn write_synthetic(
    out: &Path,
    seed: u64,
    n_train: usize,
    n_val: usize,
    spec: &SceneSpec,
) -> Result<(), DataError> {
    for (split, n, stream) in [
        ("train", n_train, seed),
        ("val", n_val, val_seed(seed)),
        ("test", n_val, kit::data::test_seed(seed)),
    ] {
        let dir = out.join(split);
        let img_dir = dir.join("images");
        std::fs::create_dir_all(&img_dir).map_err(|source| DataError::Io {
            path: img_dir.clone(),
            source,
        })?;
        let mut coco = CocoFile {
            images: Vec::new(),
            annotations: Vec::new(),
            categories: CLASSES
                .iter()
                .enumerate()
                .map(|(i, name)| CocoCategory {
                    id: i as u64 + 1,
                    name: name.to_string(),
                })
                .collect(),
        };
        for i in 0..n {
            let s = render(stream, i as u64, spec);
            let file_name = format!("{i:05}.png");
            kit::images::save(
                &image::DynamicImage::ImageRgb8(s.image.clone()),
                &img_dir.join(&file_name),
            )?;
            coco.images.push(CocoImage {
                id: i as u64 + 1,
                file_name,
                width: spec.size,
                height: spec.size,
            });
            for (b, &c) in s.boxes.iter().zip(&s.classes) {
                let bbox = xyxy_to_xywh(*b);
                coco.annotations.push(CocoAnnotation {
                    id: coco.annotations.len() as u64 + 1,
                    image_id: i as u64 + 1,
                    category_id: c as u64 + 1,
                    bbox,
                    area: bbox[2] * bbox[3],
                    iscrowd: 0,
                });
            }
        }
        let text = serde_json::to_string(&coco).map_err(|e| DataError::Other(e.to_string()))?;
        let path = dir.join("annotations.json");
        kit::rundir::write_atomic(&path, text.as_bytes())
            .map_err(|source| DataError::Io { path, source })?;
    }
    Ok(())
}
