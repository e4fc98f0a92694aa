//! Datasets of scenes (synthetic, or COCO via `crate::coco`) and the batch
//! targets of every anchor, computed on the loader's worker threads.

pub use crate::coco::{load_scene, write_synthetic, CocoFolder};
use crate::coco_tree::train_and_val;
pub use crate::coco_tree::TreeSplit;
use crate::config::Config;
pub use crate::synth::hflip;
use crate::synth::{flip_for, render, Scene, SceneSpec, CLASSES};
use image::RgbImage;
use kit::data::{DataError, Dataset, Either};
use tch::Tensor;

/// Per-channel normalisation of network inputs (images in 0..1).
pub const MEAN: [f32; 3] = [0.5, 0.5, 0.5];
pub const STD: [f32; 3] = [0.25, 0.25, 0.25];

/// Synthetic scenes: `render(seed, index)`, on the fly or rendered once ahead.
pub struct Synthetic {
    pub seed: u64,
    pub len: usize,
    pub spec: SceneSpec,
    pub hflip: bool,
    /// The `len` scenes rendered ahead (`None`: render on every `get`).
    pub ahead: Option<Vec<Scene>>,
}

impl Synthetic {
    /// Scenes rendered on the fly.
    pub fn new(seed: u64, len: usize, spec: SceneSpec, hflip: bool) -> Self {
        Self {
            seed,
            len,
            spec,
            hflip,
            ahead: None,
        }
    }

    /// The same scenes, all rendered now on every core (the set is fixed by seed and index).
    pub fn rendered_ahead(mut self) -> Self {
        let (seed, spec) = (self.seed, self.spec);
        self.ahead = Some(kit::data::render_ahead(self.len, |i| {
            render(seed, i as u64, &spec)
        }));
        self
    }
}

impl Dataset for Synthetic {
    type Item = Scene;
    fn len(&self) -> usize {
        self.len
    }
    fn get(&self, index: usize, epoch: u64) -> Result<Scene, DataError> {
        let s = match &self.ahead {
            Some(scenes) => scenes
                .get(index)
                .cloned()
                .ok_or_else(|| DataError::Other(format!("scene {index} of {}", scenes.len())))?,
            None => render(self.seed, index as u64, &self.spec),
        };
        Ok(if self.hflip && flip_for(self.seed, epoch, index) {
            hflip(s)
        } else {
            s
        })
    }
}

/// Training or validation scenes, synthetic or COCO.
pub type Source = Either<Synthetic, CocoFolder>;

/// The class names of a source: the generator's, or the COCO file's categories.
pub fn class_names(s: &Source) -> Vec<String> {
    match s {
        Either::Builtin(_) => CLASSES.iter().map(|s| s.to_string()).collect(),
        Either::Folder(c) => c.class_names.clone(),
    }
}

/// Synthetic scenes rendered ahead (see [`Synthetic::rendered_ahead`]); COCO as it is.
pub fn rendered_ahead(s: Source) -> Source {
    match s {
        Either::Builtin(s) => Either::Builtin(s.rendered_ahead()),
        coco => coco,
    }
}

pub use kit::data::val_seed;

/// A batch: normalised images and, per anchor, what the heads are trained towards.
pub struct Batch {
    /// (N, 3, S, S)
    pub images: Tensor,
    /// What each anchor is trained towards.
    pub targets: BatchTargets,
    /// The scenes themselves (pictures and evaluation).
    pub scenes: Vec<Scene>,
}

pub use scenes::boxes::{BatchTargets, Targets};

/// Stacks scenes and assigns every anchor (classes outside 0..K are an error).
pub fn collate(t: &Targets, scenes: Vec<Scene>) -> Result<Batch, DataError> {
    let first = scenes
        .first()
        .ok_or_else(|| DataError::Other("empty batch".into()))?;
    let (w, h) = first.image.dimensions();
    let n = scenes.len();
    let mut pixels: Vec<u8> = Vec::with_capacity(n * (w * h * 3) as usize);
    for s in &scenes {
        if s.image.dimensions() != (w, h) {
            return Err(DataError::Other(format!(
                "images of sizes {:?} and {:?} in one batch: set data.size",
                (w, h),
                s.image.dimensions()
            )));
        }
        pixels.extend_from_slice(s.image.as_raw());
    }
    let n = n as i64;
    // Normalised here, so the loader thread makes one libtorch call (a copy); the permuted view
    // is channels-last in memory, which the convolutions run faster on (see the README).
    let images = Tensor::from_slice(&kit::images::normalise_interleaved(&pixels, &MEAN, &STD))
        .view([n, h as i64, w as i64, 3])
        .permute([0, 3, 1, 2]);
    Ok(Batch {
        images,
        targets: t.stack(&scenes)?,
        scenes,
    })
}

/// Normalised network input (1, 3, S, S) for one picture already at the model's size.
pub fn image_tensor(img: &RgbImage) -> Tensor {
    kit::images::rgb_to_tensor(img, MEAN, STD).unsqueeze(0)
}

/// The generator settings of the config.
pub fn scene_spec(cfg: &Config) -> SceneSpec {
    SceneSpec {
        size: cfg.data.size,
        min_objects: cfg.data.min_objects,
        max_objects: cfg.data.max_objects,
        distractors: cfg.data.distractors,
        object_size: (
            cfg.data.object_size[0] as f32,
            cfg.data.object_size[1] as f32,
        ),
    }
}

/// The test set, read by `eval` only (training selects on validation): synthetic scenes of
/// their own seed (`val_size` of them), or a COCO folder's `test/` (without one, `val/`, said
/// so).
pub fn test_source(cfg: &Config) -> Result<Source, DataError> {
    let d = &cfg.data;
    Ok(match d.folder() {
        None => Either::Builtin(Synthetic::new(
            kit::data::test_seed(cfg.train.seed),
            d.val_size,
            scene_spec(cfg),
            false,
        )),
        Some(root) if crate::yolo::is_yolo(&root) => {
            Either::Folder(crate::yolo::open_test(&root, d.size, cfg.train.seed)?)
        }
        Some(root) if crate::voc::is_voc(&root) => {
            Either::Folder(crate::voc::open_test(&root, d.size, cfg.train.seed)?)
        }
        Some(root) if crate::coco_tree::is_tree(&root) => Either::Folder(CocoFolder::open_tree(
            &root,
            TreeSplit::Test,
            d.size,
            false,
            cfg.train.seed,
        )?),
        Some(root) => Either::Folder(CocoFolder::open(
            &kit::cli::held_out_split(&root, kit::cli::Split::Test),
            d.size,
            false,
            cfg.train.seed,
        )?),
    })
}

/// The training and validation sets (what `train` fits and selects on).
pub fn sources(cfg: &Config) -> Result<(Source, Source), DataError> {
    let d = &cfg.data;
    let seed = cfg.train.seed;
    Ok(match d.folder() {
        None => (
            Either::Builtin(Synthetic::new(seed, d.train_size, scene_spec(cfg), d.hflip)),
            Either::Builtin(Synthetic::new(
                val_seed(seed),
                d.val_size,
                scene_spec(cfg),
                false,
            )),
        ),
        Some(root) if crate::yolo::is_yolo(&root) => {
            let (tr, val) = crate::yolo::open_train_val(&root, d.size, d.hflip, seed)?;
            (Either::Folder(tr), Either::Folder(val))
        }
        Some(root) if crate::voc::is_voc(&root) => {
            let (tr, val) = crate::voc::open_train_val(&root, d.size, d.hflip, seed)?;
            (Either::Folder(tr), Either::Folder(val))
        }
        Some(root) if crate::coco_tree::is_tree(&root) => {
            let tr = CocoFolder::open_tree(&root, TreeSplit::Train, d.size, d.hflip, seed)?;
            let (tr, val) =
                train_and_val(&root, tr, None, seed, "COCO's tree (val2017 is the test)")?;
            (Either::Folder(tr), Either::Folder(val))
        }
        Some(root) if !root.join("train").is_dir() => {
            return Err(DataError::Invalid {
                path: root,
                message: "no layout detect-focal reads: its own (train/ and val/, each with \
                          annotations.json + images/), COCO's tree (annotations/instances_*.json \
                          + train2017/, val2017/), YOLO (data.yaml) or Pascal VOC (Annotations/, \
                          ImageSets/Main/, JPEGImages/, also under VOCdevkit/VOC20xx/)"
                    .into(),
            })
        }
        Some(root) => {
            let tr = CocoFolder::open(&root.join("train"), d.size, d.hflip, seed)?;
            let val = CocoFolder::open(&root.join("val"), d.size, false, seed)?;
            if tr.class_names != val.class_names {
                return Err(DataError::Invalid {
                    path: val.annotations.clone(),
                    message: format!(
                        "categories {:?} differ from the training split's {:?}",
                        val.class_names, tr.class_names
                    ),
                });
            }
            (Either::Folder(tr), Either::Folder(val))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SceneSpec {
        SceneSpec {
            size: 64,
            min_objects: 1,
            max_objects: 3,
            distractors: 2,
            object_size: (0.15, 0.4),
        }
    }

    #[test]
    fn rendered_ahead_gives_the_same_scenes_and_flips() {
        let fly = Synthetic::new(9, 12, spec(), true);
        let ahead = Synthetic::new(9, 12, spec(), true).rendered_ahead();
        let mut flips = 0;
        for epoch in 0..3 {
            for i in 0..12 {
                let (a, b) = (fly.get(i, epoch).unwrap(), ahead.get(i, epoch).unwrap());
                assert_eq!(a, b, "scene {i} of epoch {epoch}");
                flips += usize::from(flip_for(9, epoch, i));
            }
        }
        assert!(flips > 0 && flips < 36, "{flips} of 36 flipped");
        assert!(ahead.get(12, 0).is_err());
    }
}
