//! The datasets (seeded synthetic scenes: train, val and test streams) and the batches every
//! head trains on: normalised images, anchor targets, object masks and the [0, 1] pictures.

use crate::config::Config;
use crate::synth::{flip_for, hflip, render, Scene, SceneSpec};
use kit::data::{DataError, Dataset};
use scenes::boxes::{anchor_targets, Anchors};
use std::sync::Arc;
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

/// The training and validation scenes (what `train` fits and selects on).
pub fn sources(cfg: &Config) -> (Synthetic, Synthetic) {
    let (d, seed) = (&cfg.data, cfg.train.seed);
    (
        Synthetic::new(seed, d.train_size, cfg.scene_spec(), d.hflip),
        Synthetic::new(
            kit::data::val_seed(seed),
            d.val_size,
            cfg.scene_spec(),
            false,
        ),
    )
}

/// The test scenes, read by `eval` only: a stream of their own seed.
pub fn test_source(cfg: &Config) -> Synthetic {
    let seed = kit::data::test_seed(cfg.train.seed);
    Synthetic::new(seed, cfg.data.test_size, cfg.scene_spec(), false)
}

/// A batch of scenes and what each head is trained towards.
pub struct Batch {
    /// (N, 3, S, S) normalised network input.
    pub images: Tensor,
    /// (N, 3, S, S) the pictures in [0, 1]: what the generative head reconstructs.
    pub pictures: Tensor,
    /// (N, 1, S, S) int64: 1 on object pixels, 0 elsewhere.
    pub masks: Tensor,
    /// (N, A, K), (N, A) bool, (N, A) bool, (N, A, 4): see [`scenes::boxes::AnchorTargets`].
    pub cls_targets: Tensor,
    pub valid: Tensor,
    pub positive: Tensor,
    pub box_targets: Tensor,
    pub scenes: Vec<Scene>,
}

/// How anchors are matched to true boxes.
pub struct Targets {
    pub anchors: Arc<Anchors>,
    pub classes: usize,
    pub pos_iou: f32,
    pub neg_iou: f32,
}

/// Stacks scenes (all of one size, each with its mask) into a [`Batch`].
pub fn collate(t: &Targets, scenes: Vec<Scene>) -> Result<Batch, DataError> {
    let first = scenes
        .first()
        .ok_or_else(|| DataError::Other("empty batch".into()))?;
    let (w, h) = first.image.dimensions();
    let (n, a_n, k) = (scenes.len(), t.anchors.len(), t.classes);
    let mut pixels: Vec<u8> = Vec::with_capacity(n * (w * h * 3) as usize);
    let mut masks: Vec<i64> = Vec::with_capacity(n * (w * h) as usize);
    let (mut cls, mut valid, mut pos, mut deltas) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
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
        let at = anchor_targets(&t.anchors, &s.boxes, &s.classes, k, t.pos_iou, t.neg_iou);
        cls.extend(at.cls);
        valid.extend(at.valid);
        pos.extend(at.positive);
        deltas.extend(at.deltas);
    }
    let (n, a_n, k, w, h) = (n as i64, a_n as i64, k as i64, w as i64, h as i64);
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
        cls_targets: Tensor::from_slice(&cls).view([n, a_n, k]),
        valid: Tensor::from_slice(&valid).view([n, a_n]),
        positive: Tensor::from_slice(&pos).view([n, a_n]),
        box_targets: Tensor::from_slice(&deltas).view([n, a_n, 4]),
        scenes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(b.cls_targets.size(), [3, 32, 5]);
        let objects: i64 = scenes
            .iter()
            .map(|s| s.mask.iter().filter(|&&m| m > 0).count() as i64)
            .sum();
        assert_eq!(b.masks.sum(tch::Kind::Int64).int64_value(&[]), objects);
        // Every object claims at least one anchor (low-quality matches).
        let n_obj: usize = scenes.iter().map(|s| s.boxes.len()).sum();
        assert!(b.positive.sum(tch::Kind::Int64).int64_value(&[]) >= n_obj as i64);
        let px = b.pictures.double_value(&[0, 0, 0, 0]);
        assert!((px - scenes[0].image.get_pixel(0, 0)[0] as f64 / 255.0).abs() < 1e-6);
    }
}
