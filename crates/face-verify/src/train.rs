//! Face-recognition training in kit's loop: classify training identities through the head,
//! evaluate by verifying pairs of unseen identities with cosine similarity of embeddings.

use crate::config::{Config, DataConfig};
use crate::data::{self, FaceRef, Faces, Split};
use crate::eval::{roc_picture, verify, Verification};
use crate::model::{Backbone, Head};
use kit::data::{DataError, Loader};
use kit::device::upload;
use kit::logging::Logger;
use kit::train::{Losses, Metrics, StepContext, Task};
use loss_zoo::arcface::l2_normalize;
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};

type Batch = (Tensor, Tensor);

pub struct FaceTask {
    pub vs: nn::VarStore,
    pub backbone: Backbone,
    pub head: Head,
    /// Training identities (rows of the head), recorded in the run's meta.json.
    pub classes: i64,
    pub pairs: Vec<(FaceRef, FaceRef, bool)>,
    /// The folds of the k-fold verification accuracy (contiguous blocks of `pairs`).
    pub folds: usize,
    /// Which held-out part `pairs` and the held-out faces are (validation or test).
    pub part: kit::data::Part,
    cfg: Config,
    train: Loader<Faces, Batch>,
    held_out: Loader<Faces, Batch>,
    device: Device,
    logged_faces: bool,
}

/// Everything an evaluation measured.
pub struct Evaluation {
    pub verification: Verification,
    pub closed_set_accuracy: f64,
    pub scores: Vec<f64>,
    pub labels: Vec<bool>,
    /// TAR at FAR = 1e-2, 1e-3, 1e-4 over all pairs among the distinct faces of the pairs.
    pub all_pairs: metrics::AllPairs,
    /// The same pairs scored by −‖a − b‖ between the *unnormalised* features (what a
    /// softmax-trained network's magnitudes do to a distance), beside the cosine above.
    pub euclidean: Verification,
    /// ‖f‖ of each distinct face's unnormalised feature, and its person (as `distinct_faces`).
    pub norms: Vec<(u64, f64)>,
}

impl FaceTask {
    pub fn new(cfg: &Config, device: Device, split: Split) -> Self {
        let vs = nn::VarStore::new(device);
        let backbone = Backbone::new(&(vs.root() / "backbone"), &cfg.model);
        let head = Head::new(
            &(vs.root() / "head"),
            &cfg.head,
            cfg.model.embedding,
            split.classes,
        );
        let faces = |items, flip| Faces {
            items,
            data: cfg.data.clone(),
            seed: cfg.train.seed,
            flip,
        };
        let train = Loader::training(
            Arc::new(faces(split.train, true)),
            &cfg.train,
            Arc::new(data::collate),
        );
        let held_out = Loader::evaluation(
            Arc::new(faces(split.held_out, false)),
            &cfg.train,
            Arc::new(data::collate),
        );
        Self {
            vs,
            backbone,
            head,
            classes: split.classes,
            pairs: split.pairs,
            folds: split.folds,
            part: split.part,
            cfg: cfg.clone(),
            train,
            held_out,
            device,
            logged_faces: false,
        }
    }

    /// L2-normalised embeddings of images (N, 3, S, S).
    pub fn embed(&self, x: &Tensor) -> Tensor {
        l2_normalize(&self.backbone.forward_t(&x.to_device(self.device), false))
    }

    /// L2-normalised embeddings of many faces, in batches.
    pub fn embed_refs(&self, refs: &[&FaceRef], d: &DataConfig) -> Result<Tensor, DataError> {
        Ok(l2_normalize(&self.features_refs(refs, d)?))
    }

    /// The backbone's unnormalised features of many faces, in batches.
    pub fn features_refs(&self, refs: &[&FaceRef], d: &DataConfig) -> Result<Tensor, DataError> {
        let mut out = Vec::new();
        for chunk in refs.chunks(self.cfg.train.batch_size.max(1)) {
            let xs: Result<Vec<Tensor>, DataError> = chunk
                .iter()
                .map(|r| data::load_face(r, d, self.cfg.train.seed).map(|i| data::to_tensor(&i)))
                .collect();
            let x = Tensor::stack(&xs?, 0).to_device(self.device);
            out.push(self.backbone.forward_t(&x, false).to_device(Device::Cpu));
        }
        Ok(Tensor::cat(&out, 0))
    }

    /// The distinct faces of the verification pairs as rows of `[a embeddings; b embeddings]`
    /// (pair i's a = row i, its b = row n + i), and each face's person: the synthetic
    /// identity, or a file's folder name (LFW's `<person>/<image>` layout).
    fn distinct_faces(&self) -> (Vec<i64>, Vec<u64>) {
        let n = self.pairs.len() as i64;
        let mut seen = std::collections::HashSet::new();
        let mut people: std::collections::HashMap<String, u64> = Default::default();
        let (mut rows, mut ids) = (Vec::new(), Vec::new());
        for (i, (a, b, _)) in self.pairs.iter().enumerate() {
            for (r, row) in [(a, i as i64), (b, n + i as i64)] {
                if !seen.insert(format!("{r:?}")) {
                    continue;
                }
                let person = match r {
                    FaceRef::Synthetic { id, .. } => format!("synthetic {id}"),
                    FaceRef::File(p) => p
                        .parent()
                        .map(|d| d.to_string_lossy().to_string())
                        .unwrap_or_default(),
                };
                let next = people.len() as u64;
                ids.push(*people.entry(person).or_insert(next));
                rows.push(row);
            }
        }
        (rows, ids)
    }

    pub fn evaluate_all(&self) -> anyhow::Result<(Evaluation, Tensor)> {
        let a: Vec<&FaceRef> = self.pairs.iter().map(|p| &p.0).collect();
        let b: Vec<&FaceRef> = self.pairs.iter().map(|p| &p.1).collect();
        let (fa, fb) = (
            self.features_refs(&a, &self.cfg.data)?,
            self.features_refs(&b, &self.cfg.data)?,
        );
        let (ea, eb) = (l2_normalize(&fa), l2_normalize(&fb));
        let distance: Vec<f64> = Vec::try_from(
            (&fa - &fb)
                .norm_scalaropt_dim(2.0, [1i64].as_slice(), false)
                .neg()
                .to_kind(Kind::Double),
        )?;
        let sims: Vec<f64> = Vec::try_from(
            (&ea * &eb)
                .sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
                .to_kind(Kind::Double),
        )?;
        let labels: Vec<bool> = self.pairs.iter().map(|p| p.2).collect();
        // All pairs among the distinct faces, from one embedding matrix.
        let (rows, ids) = self.distinct_faces();
        let rows_t = Tensor::from_slice(&rows).to_device(ea.device());
        let e = Tensor::cat(&[&ea, &eb], 0).index_select(0, &rows_t);
        let norms: Vec<f64> = Vec::try_from(
            Tensor::cat(&[&fa, &fb], 0)
                .index_select(0, &rows_t)
                .norm_scalaropt_dim(2.0, [1i64].as_slice(), false)
                .to_kind(Kind::Double),
        )?;
        let sim: Vec<f64> = Vec::try_from(e.matmul(&e.tr()).to_kind(Kind::Double).flatten(0, -1))?;
        let all_pairs = metrics::all_pairs_tar(&sim, &ids, &[1e-2, 1e-3, 1e-4]);
        let (mut right, mut total) = (0i64, 0i64);
        for batch in self.held_out.epoch(0, 0) {
            let (x, y) = batch?;
            let pred = self
                .head
                .scores(&self.backbone.forward_t(&x.to_device(self.device), false))
                .argmax(1, false);
            right += pred
                .to_device(Device::Cpu)
                .eq_tensor(&y)
                .sum(Kind::Int64)
                .int64_value(&[]);
            total += y.size()[0];
        }
        let ev = Evaluation {
            verification: verify(&sims, &labels, self.folds),
            // NaN when there is no held-out image of a training identity (eval --data).
            closed_set_accuracy: if total == 0 {
                f64::NAN
            } else {
                right as f64 / total as f64
            },
            euclidean: verify(&distance, &labels, self.folds),
            norms: ids.iter().copied().zip(norms).collect(),
            scores: sims,
            labels,
            all_pairs,
        };
        Ok((ev, ea))
    }
}

impl Task for FaceTask {
    type Batch = Batch;
    type Data = Faces;
    kit::task_parts!(vs, train);
    fn train_step(&mut self, (x, y): Batch, ctx: &mut StepContext) -> anyhow::Result<Losses> {
        let (x, y) = (upload(&x, self.device), upload(&y, self.device));
        if !self.logged_faces {
            self.logged_faces = true;
            let pics: Vec<_> = (0..x.size()[0].min(16))
                .map(|i| kit::images::tensor_to_rgb(&(x.get(i) * 0.5 + 0.5)))
                .collect();
            ctx.logger
                .tb
                .image("train/faces", ctx.step as i64, &kit::images::grid(&pics, 8))?;
        }
        let precision = self.cfg.train.precision;
        let emb =
            kit::precision::forward(precision, self.device, || self.backbone.forward_t(&x, true));
        let logits = self.head.logits(&emb, &y)?;
        let loss = logits.cross_entropy_for_logits(&y);
        let acc = tch::no_grad(|| {
            self.head
                .scores(&emb)
                .argmax(1, false)
                .eq_tensor(&y)
                .to_kind(Kind::Float)
                .mean(Kind::Float)
        });
        Ok(Losses {
            total: loss,
            terms: vec![("accuracy".into(), acc)],
            samples: y.size()[0] as usize,
        })
    }
    fn evaluate(&mut self, logger: &mut Logger, step: u64) -> anyhow::Result<Metrics> {
        let (ev, emb_a) = self.evaluate_all()?;
        let s = step as i64;
        logger
            .tb
            .image("eval/roc", s, &roc_picture(&ev.scores, &ev.labels)?)?;
        let pos: Vec<f64> = ev
            .scores
            .iter()
            .zip(&ev.labels)
            .filter(|(_, l)| **l)
            .map(|(s, _)| *s)
            .collect();
        let neg: Vec<f64> = ev
            .scores
            .iter()
            .zip(&ev.labels)
            .filter(|(_, l)| !**l)
            .map(|(s, _)| *s)
            .collect();
        logger
            .tb
            .histogram("eval/similarity_same_person", s, &pos, 40)?;
        logger
            .tb
            .histogram("eval/similarity_different_people", s, &neg, 40)?;
        // Projector: embeddings of the first image of each pair, labelled by identity.
        let k = emb_a.size()[0].min(500);
        let vectors: Vec<Vec<f32>> = (0..k)
            .filter_map(|i| Vec::try_from(emb_a.get(i)).ok())
            .collect();
        let names: Vec<String> = self
            .pairs
            .iter()
            .take(k as usize)
            .map(|p| match &p.0 {
                FaceRef::Synthetic { id, .. } => format!("id{id}"),
                FaceRef::File(f) => f
                    .parent()
                    .and_then(|d| d.file_name())
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
            })
            .collect();
        kit::logging::write_projector(logger.run_root(), "test_embeddings", &vectors, &names)?;
        let v = &ev.verification;
        Ok(Metrics {
            values: vec![
                ("auc".into(), v.auc),
                ("eer".into(), v.eer),
                ("tar_at_far_1e-2".into(), v.tar_at_far_1e2),
                ("tar_at_far_1e-3".into(), v.tar_at_far_1e3),
                ("accuracy_10fold".into(), v.fold_accuracy),
                ("closed_set_accuracy".into(), ev.closed_set_accuracy),
            ]
            .into_iter()
            .chain(
                ev.all_pairs
                    .points
                    .iter()
                    .map(|p| (format!("all_pairs_tar_at_far_{:.0e}", p.far), p.tar)),
            )
            .collect(),
            selection: "auc".into(),
            higher_is_better: true,
        })
    }
}
