//! COCO's own tree as downloaded (`annotations/instances_<split><year>.json` beside
//! `<split><year>/`), and the validation part a layout without labelled test images holds out
//! of its training part (COCO's tree, YOLO without `test:`, VOC without `test.txt`).

use crate::coco::{invalid, CocoFolder};
use kit::data::DataError;
use std::path::{Path, PathBuf};

impl CocoFolder {
    /// COCO's own tree as downloaded: `annotations/instances_train2017.json` with `train2017/`
    /// for training (and, by [`CocoFolder::take_validation`], validation) and
    /// `instances_val2017.json` with `val2017/` as the test part (COCO's test-dev has no public
    /// annotations). Any year: the first `instances_train*.json` / `instances_val*.json` whose
    /// image folder is there.
    pub fn open_tree(
        root: &Path,
        split: TreeSplit,
        size: u32,
        hflip: bool,
        seed: u64,
    ) -> Result<Self, DataError> {
        let (json, images) = tree_split(root, split).ok_or_else(|| {
            invalid(
                root,
                format!(
                    "no annotations/instances_{}*.json with its image folder (COCO's tree: \
                     annotations/instances_train2017.json + train2017/, instances_val2017.json + \
                     val2017/)",
                    split.prefix()
                ),
            )
        })?;
        Self::open_files(&json, &images, size, hflip, seed)
    }

    /// Moves a seeded 10% of the images (at least one) out into a validation split of the same
    /// classes: what training selects on when the tree's val part is the test.
    pub fn take_validation(&mut self, seed: u64) -> Result<Self, DataError> {
        let mut idx: Vec<usize> = (0..self.items.len()).collect();
        kit::data::hold_out_validation(&mut idx, seed).map_or_else(
            || {
                Err(invalid(
                    &self.annotations,
                    "too few images to hold some out for validation".into(),
                ))
            },
            |mut held| {
                held.sort_unstable();
                let mut items = Vec::new();
                let mut images = Vec::new();
                for &i in held.iter().rev() {
                    items.push(self.items.remove(i));
                    images.push(self.images.remove(i));
                }
                items.reverse();
                images.reverse();
                Ok(Self {
                    annotations: self.annotations.clone(),
                    class_names: self.class_names.clone(),
                    items,
                    size: self.size,
                    hflip: false,
                    seed: self.seed,
                    images,
                    category_ids: self.category_ids.clone(),
                })
            },
        )
    }
}

/// Training and validation of a layout whose labelled parts are train, val and maybe test:
/// `val` as given when the layout has a test part (`Some`), else a seeded 10% of `train` held
/// out for validation (the layout's own val part is then the test), said on the console with
/// `layout` naming why.
pub fn train_and_val(
    root: &Path,
    mut train: CocoFolder,
    val: Option<CocoFolder>,
    seed: u64,
    layout: &str,
) -> Result<(CocoFolder, CocoFolder), DataError> {
    if let Some(val) = val {
        return Ok((train, val));
    }
    let val = train.take_validation(seed)?;
    println!(
        "{}: {layout}: {} training images, {} (a seeded 10%) held out for validation; its val \
         part is the test",
        root.display(),
        train.items.len(),
        val.items.len()
    );
    Ok((train, val))
}

/// Which part of COCO's own tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeSplit {
    /// `instances_train*.json`: training (and the validation held out of it).
    Train,
    /// `instances_val*.json`: the test part.
    Test,
}

impl TreeSplit {
    fn prefix(self) -> &'static str {
        match self {
            TreeSplit::Train => "train",
            TreeSplit::Test => "val",
        }
    }
}

/// The annotation file and image folder of `split` in COCO's tree under `root`.
fn tree_split(root: &Path, split: TreeSplit) -> Option<(PathBuf, PathBuf)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("annotations"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let prefix = format!("instances_{}", split.prefix());
    files.into_iter().find_map(|f| {
        let stem = f.file_stem()?.to_str()?.to_string();
        let year = stem.strip_prefix(&prefix)?;
        let images = root.join(format!("{}{year}", split.prefix()));
        (f.extension()? == "json" && images.is_dir()).then_some((f, images))
    })
}

/// Whether `root` is COCO's own tree (`annotations/instances_train*.json` + its images).
pub fn is_tree(root: &Path) -> bool {
    tree_split(root, TreeSplit::Train).is_some() || tree_split(root, TreeSplit::Test).is_some()
}
