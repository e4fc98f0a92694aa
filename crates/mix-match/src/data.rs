//! The datasets (seeded synthetic scenes: train, val and test streams; or a folder of
//! images/, masks/ and boxes.jsonl) and the batches every head trains on: normalised images,
//! anchor targets, object masks and the [0, 1] pictures.

use crate::config::Config;
use crate::synth::{flip_for, hflip, render, Scene, SceneSpec, CLASSES};
use kit::data::{DataError, Dataset, Either};
use std::path::{Path, PathBuf};
use tch::Tensor;

/// Per-channel normalisation of network inputs (images in 0..1), as detect-focal.
pub const MEAN: [f32; 3] = [0.5, 0.5, 0.5];
pub const STD: [f32; 3] = [0.25, 0.25, 0.25];

/// Scenes `render(seed, i)`, `i < len`, rendered once ahead; mirrored per epoch if `hflip`.
pub struct Synthetic {
    pub seed: u64,
    pub hflip: bool,
    pub scenes: Vec<Scene>,
}

impl Synthetic {
    pub fn new(seed: u64, len: usize, spec: SceneSpec, hflip: bool) -> Self {
        Self {
            seed,
            hflip,
            scenes: kit::data::render_ahead(len, |i| render(seed, i as u64, &spec)),
        }
    }
}

impl Dataset for Synthetic {
    type Item = Scene;
    fn len(&self) -> usize {
        self.scenes.len()
    }
    fn get(&self, index: usize, epoch: u64) -> Result<Scene, DataError> {
        let s =
            self.scenes.get(index).cloned().ok_or_else(|| {
                DataError::Other(format!("scene {index} of {}", self.scenes.len()))
            })?;
        Ok(if self.hflip && flip_for(self.seed, epoch, index) {
            hflip(s)
        } else {
            s
        })
    }
}

/// One scene of a folder: its image, mask and boxes.
#[derive(Debug, Clone)]
struct Entry {
    image: PathBuf,
    mask: PathBuf,
    boxes: Vec<scenes::boxes::Xyxy>,
    classes: Vec<usize>,
}

/// A split folder: `images/<name>.png`, `masks/<name>.png` (0 background, > 0 object) and
/// `boxes.jsonl` (one line per image: `{"image", "boxes_xyxy", "classes"}`, class names
/// among the generator's). Read when an item is asked for; every image must be `size`×`size`.
pub struct Folder {
    pub dir: PathBuf,
    entries: Vec<Entry>,
    size: u32,
    hflip: bool,
    seed: u64,
}

impl Folder {
    pub fn open(dir: &Path, size: u32, hflip: bool, seed: u64) -> Result<Self, DataError> {
        let list = dir.join("boxes.jsonl");
        let text = std::fs::read_to_string(&list).map_err(|source| DataError::Io {
            path: list.clone(),
            source,
        })?;
        let bad = |line: usize, message: String| DataError::Invalid {
            path: list.clone(),
            message: format!("line {line}: {message}"),
        };
        let mut entries = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| bad(i + 1, e.to_string()))?;
            let name = v["image"]
                .as_str()
                .ok_or_else(|| bad(i + 1, "no \"image\" name".into()))?;
            let boxes: Vec<scenes::boxes::Xyxy> = serde_json::from_value(v["boxes_xyxy"].clone())
                .map_err(|e| {
                bad(
                    i + 1,
                    format!("\"boxes_xyxy\" is not a list of [x1, y1, x2, y2]: {e}"),
                )
            })?;
            let names: Vec<String> = serde_json::from_value(v["classes"].clone())
                .map_err(|e| bad(i + 1, format!("\"classes\" is not a list of names: {e}")))?;
            if names.len() != boxes.len() {
                return Err(bad(
                    i + 1,
                    format!("{} boxes but {} classes", boxes.len(), names.len()),
                ));
            }
            let classes = names
                .iter()
                .map(|n| {
                    CLASSES
                        .iter()
                        .position(|c| c == n)
                        .ok_or_else(|| bad(i + 1, format!("class {n:?} is not one of {CLASSES:?}")))
                })
                .collect::<Result<_, _>>()?;
            for b in &boxes {
                let xywh = scenes::boxes::xyxy_to_xywh(*b);
                if let Some(problem) = scenes::boxes::box_problem(xywh, size as f64, size as f64) {
                    return Err(bad(i + 1, format!("box {b:?} (x1, y1, x2, y2) {problem}")));
                }
            }
            let (image, mask) = (dir.join("images").join(name), dir.join("masks").join(name));
            if !mask.is_file() {
                return Err(DataError::Invalid {
                    path: mask,
                    message: format!("missing: the mask of {}", image.display()),
                });
            }
            entries.push(Entry {
                image,
                mask,
                boxes,
                classes,
            });
        }
        if entries.is_empty() {
            return Err(DataError::Invalid {
                path: list,
                message: "lists no scene".into(),
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            entries,
            size,
            hflip,
            seed,
        })
    }
}

impl Dataset for Folder {
    type Item = Scene;
    fn len(&self) -> usize {
        self.entries.len()
    }
    fn get(&self, index: usize, epoch: u64) -> Result<Scene, DataError> {
        let e = self
            .entries
            .get(index)
            .ok_or_else(|| DataError::Other(format!("scene {index} of {}", self.entries.len())))?;
        let image = kit::images::load(&e.image)?.to_rgb8();
        let mask = kit::images::load(&e.mask)?.to_luma8();
        for (path, dims) in [(&e.image, image.dimensions()), (&e.mask, mask.dimensions())] {
            if dims != (self.size, self.size) {
                return Err(DataError::Invalid {
                    path: path.clone(),
                    message: format!("is {}×{}, but data.size is {}", dims.0, dims.1, self.size),
                });
            }
        }
        let s = Scene {
            image,
            boxes: e.boxes.clone(),
            classes: e.classes.clone(),
            mask: mask.as_raw().iter().map(|&m| u8::from(m > 0)).collect(),
        };
        Ok(if self.hflip && flip_for(self.seed, epoch, index) {
            hflip(s)
        } else {
            s
        })
    }
}

/// Scenes from the generator or from a folder.
pub type Source = Either<Synthetic, Folder>;

/// The training and validation scenes (what `train` fits and selects on).
pub fn sources(cfg: &Config) -> Result<(Source, Source), DataError> {
    let (d, seed) = (&cfg.data, cfg.train.seed);
    Ok(match d.folder() {
        None => (
            Either::Builtin(Synthetic::new(
                seed,
                d.train_size,
                cfg.scene_spec(),
                d.hflip,
            )),
            Either::Builtin(Synthetic::new(
                kit::data::val_seed(seed),
                d.val_size,
                cfg.scene_spec(),
                false,
            )),
        ),
        Some(root) => (
            Either::Folder(Folder::open(&root.join("train"), d.size, d.hflip, seed)?),
            Either::Folder(Folder::open(&root.join("val"), d.size, false, seed)?),
        ),
    })
}

/// The test scenes, read by `eval` only: a stream of their own seed, or the folder's `test/`.
pub fn test_source(cfg: &Config) -> Result<Source, DataError> {
    let d = &cfg.data;
    Ok(match d.folder() {
        None => Either::Builtin(Synthetic::new(
            kit::data::test_seed(cfg.train.seed),
            d.test_size,
            cfg.scene_spec(),
            false,
        )),
        Some(root) => Either::Folder(Folder::open(
            &kit::cli::held_out_split(&root, kit::cli::Split::Test),
            d.size,
            false,
            cfg.train.seed,
        )?),
    })
}

/// The scenes of `eval --data DIR` (its `test/`, or `val/` with `--split val`, else DIR).
pub fn eval_folder(cfg: &Config, dir: &Path, split: kit::cli::Split) -> Result<Source, DataError> {
    let dir = kit::cli::held_out_split(dir, split);
    Ok(Either::Folder(Folder::open(
        &dir,
        cfg.data.size,
        false,
        cfg.train.seed,
    )?))
}

/// A batch of scenes and what each head is trained towards.
pub struct Batch {
    /// (N, 3, S, S) normalised network input.
    pub images: Tensor,
    /// (N, 3, S, S) the pictures in [0, 1]: what the generative head reconstructs.
    pub pictures: Tensor,
    /// (N, 1, S, S) int64: 1 on object pixels, 0 elsewhere.
    pub masks: Tensor,
    /// What each anchor is trained towards.
    pub targets: BatchTargets,
    pub scenes: Vec<Scene>,
}

pub use scenes::boxes::{BatchTargets, Targets};

/// Stacks scenes (all of one size, each with its mask) into a [`Batch`].
pub fn collate(t: &Targets, scenes: Vec<Scene>) -> Result<Batch, DataError> {
    let first = scenes
        .first()
        .ok_or_else(|| DataError::Other("empty batch".into()))?;
    let (w, h) = first.image.dimensions();
    let n = scenes.len();
    let mut pixels: Vec<u8> = Vec::with_capacity(n * (w * h * 3) as usize);
    let mut masks: Vec<i64> = Vec::with_capacity(n * (w * h) as usize);
    for s in &scenes {
        if s.image.dimensions() != (w, h) || s.mask.len() != (w * h) as usize {
            return Err(DataError::Other(format!(
                "a scene of size {:?} (mask of {} pixels) in a batch of {:?}",
                s.image.dimensions(),
                s.mask.len(),
                (w, h)
            )));
        }
        pixels.extend_from_slice(s.image.as_raw());
        masks.extend(s.mask.iter().map(|&m| i64::from(m > 0)));
    }
    let (n, w, h) = (n as i64, w as i64, h as i64);
    let to_nchw = |v: &[f32]| {
        Tensor::from_slice(v)
            .view([n, h, w, 3])
            .permute([0, 3, 1, 2])
            .contiguous()
    };
    let raw: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
    Ok(Batch {
        images: to_nchw(&kit::images::normalise_interleaved(&pixels, &MEAN, &STD)),
        pictures: to_nchw(&raw),
        masks: Tensor::from_slice(&masks).view([n, 1, h, w]),
        targets: t.stack(&scenes)?,
        scenes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenes::boxes::Anchors;
    use std::sync::Arc;

    #[test]
    fn collate_stacks_images_masks_and_anchor_targets() {
        let spec = SceneSpec {
            size: 32,
            min_objects: 1,
            max_objects: 2,
            distractors: 1,
            object_size: (0.3, 0.5),
        };
        let scenes: Vec<Scene> = (0..3).map(|i| render(1, i, &spec)).collect();
        let anchors = Arc::new(Anchors::new(32, &[8], 12.0, &[1.0], &[1.0, 1.5]));
        let t = Targets {
            anchors,
            classes: 5,
            pos_iou: 0.5,
            neg_iou: 0.4,
        };
        let b = collate(&t, scenes.clone()).unwrap();
        assert_eq!(b.images.size(), [3, 3, 32, 32]);
        assert_eq!(b.masks.size(), [3, 1, 32, 32]);
        assert_eq!(b.targets.cls.size(), [3, 32, 5]);
        let objects: i64 = scenes
            .iter()
            .map(|s| s.mask.iter().filter(|&&m| m > 0).count() as i64)
            .sum();
        assert_eq!(b.masks.sum(tch::Kind::Int64).int64_value(&[]), objects);
        // Every object claims at least one anchor (low-quality matches).
        let n_obj: usize = scenes.iter().map(|s| s.boxes.len()).sum();
        assert!(b.targets.positive.sum(tch::Kind::Int64).int64_value(&[]) >= n_obj as i64);
        let px = b.pictures.double_value(&[0, 0, 0, 0]);
        assert!((px - scenes[0].image.get_pixel(0, 0)[0] as f64 / 255.0).abs() < 1e-6);
    }
}
