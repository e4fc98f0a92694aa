//! The field's metrics on a set of predictions: Chamfer-L2 (×10³, as papers report it),
//! F-score at τ = fractions of the ground truth's bounding-box diagonal (Tatarchenko et al.
//! 2019), and the spread of the predicted points (coefficient of variation of their
//! nearest-neighbour distances); per class and class-averaged. Two baselines that a reviewer
//! asks for: the class medoid of the training shapes and nearest-neighbour retrieval.

use crate::data::Sample;
use crate::mesh::{diagonal, V3};
use crate::model::PointNet;
use loss_zoo::chamfer::nearest_sq_distances;
use metrics::pointcloud::{coefficient_of_variation, fscore};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Per-sample scores.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    /// Chamfer-L2 × 10³ (squared distances, mean both ways, pytorch3d's convention).
    pub chamfer: Vec<f64>,
    /// F-score per τ, per sample.
    pub fscore: Vec<Vec<f64>>,
    /// Coefficient of variation of the predicted points' nearest-neighbour distances.
    pub cv: Vec<f64>,
}

/// One table row: mean scores over the samples of a class (or over classes).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    pub samples: usize,
    pub chamfer_x1e3: f64,
    /// F-score per τ, same order as `eval.fscore_tau`.
    pub fscore: Vec<f64>,
    pub nn_cv: f64,
}

/// Ground-truth points of samples as (K, M, 3).
pub fn truth_tensor(samples: &[Sample]) -> Tensor {
    let m = samples.first().map_or(0, |s| s.points.len()) as i64;
    let flat: Vec<f32> = samples
        .iter()
        .flat_map(|s| s.points.iter().flatten().copied())
        .collect();
    Tensor::from_slice(&flat).view([samples.len() as i64, m, 3])
}

/// Images of samples as (K, 1, S, S).
pub fn image_tensor(samples: &[Sample]) -> Tensor {
    let px = samples.first().map_or(0, |s| s.image.len());
    let side = (px as f64).sqrt() as i64;
    let flat: Vec<f32> = samples
        .iter()
        .flat_map(|s| s.image.iter().copied())
        .collect();
    Tensor::from_slice(&flat).view([samples.len() as i64, 1, side, side])
}

/// Predicted points (K, N, 3) and image codes (K, latent), on the CPU, in eval mode.
pub fn predict_all(net: &PointNet, images: &Tensor, device: Device) -> (Tensor, Tensor) {
    let mut pts = Vec::new();
    let mut codes = Vec::new();
    let k = images.size()[0];
    let mut i = 0;
    while i < k {
        let len = 64.min(k - i);
        let x = images.narrow(0, i, len).to_device(device);
        codes.push(net.encode(&x, false).to_device(Device::Cpu));
        pts.push(net.forward_t(&x, false).to_device(Device::Cpu));
        i += len;
    }
    (Tensor::cat(&pts, 0), Tensor::cat(&codes, 0))
}

/// Scores of predictions `pred` (K, N, 3) against truth `truth` (K, M, 3).
pub fn score(pred: &Tensor, truth: &Tensor, taus: &[f64]) -> anyhow::Result<Scores> {
    let k = pred.size()[0];
    let mut s = Scores {
        fscore: vec![Vec::new(); taus.len()],
        ..Default::default()
    };
    let mut i = 0;
    while i < k {
        let len = 16.min(k - i);
        let (p, t) = (pred.narrow(0, i, len), truth.narrow(0, i, len));
        let d_pt: Vec<Vec<f32>> = Vec::try_from(nearest_sq_distances(&p, &t)?)?;
        let d_tp: Vec<Vec<f32>> = Vec::try_from(nearest_sq_distances(&t, &p)?)?;
        // Nearest other predicted point: the distance matrix with its diagonal masked.
        let n = p.size()[1];
        let self_d = (p.unsqueeze(2) - p.unsqueeze(1))
            .pow_tensor_scalar(2)
            .sum_dim_intlist([-1i64].as_slice(), false, Kind::Float)
            + Tensor::eye(n, (Kind::Float, Device::Cpu)) * 1e9;
        let (nn, _) = self_d.min_dim(2, false);
        let nn: Vec<Vec<f32>> = Vec::try_from(nn.sqrt())?;
        let truth_pts: Vec<Vec<f32>> = Vec::try_from(t.flatten(1, -1))?;
        for j in 0..len as usize {
            let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64;
            s.chamfer.push(1e3 * (mean(&d_pt[j]) + mean(&d_tp[j])));
            let tp: Vec<V3> = truth_pts[j].chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
            let diag = diagonal(&tp) as f64;
            for (ti, tau) in taus.iter().enumerate() {
                s.fscore[ti].push(fscore(&d_pt[j], &d_tp[j], tau * diag).f);
            }
            let nnd: Vec<f64> = nn[j].iter().map(|&x| x as f64).collect();
            s.cv.push(coefficient_of_variation(&nnd));
        }
        i += len;
    }
    Ok(s)
}

/// Rows per class (sorted by name) and the class-averaged `mean` row last.
pub fn rows(scores: &Scores, classes: &[&str]) -> Vec<Row> {
    let mut by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in classes.iter().enumerate() {
        by.entry(c).or_default().push(i);
    }
    let avg =
        |v: &[f64], idx: &[usize]| idx.iter().map(|&i| v[i]).sum::<f64>() / idx.len().max(1) as f64;
    let mut out: Vec<Row> = by
        .iter()
        .map(|(c, idx)| Row {
            name: c.to_string(),
            samples: idx.len(),
            chamfer_x1e3: avg(&scores.chamfer, idx),
            fscore: scores.fscore.iter().map(|f| avg(f, idx)).collect(),
            nn_cv: avg(&scores.cv, idx),
        })
        .collect();
    let k = out.len().max(1) as f64;
    let mean = Row {
        name: "mean".into(),
        samples: classes.len(),
        chamfer_x1e3: out.iter().map(|r| r.chamfer_x1e3).sum::<f64>() / k,
        fscore: (0..scores.fscore.len())
            .map(|t| out.iter().map(|r| r.fscore[t]).sum::<f64>() / k)
            .collect(),
        nn_cv: out.iter().map(|r| r.nn_cv).sum::<f64>() / k,
    };
    out.push(mean);
    out
}

/// Training samples kept in the run folder (`bank.safetensors` + `bank.json`) so the
/// baselines need no training data: images, points (subsampled to the model's N), classes.
pub struct Bank {
    pub images: Tensor,
    pub points: Tensor,
    pub classes: Vec<String>,
}

impl Bank {
    /// A seeded random `size` of the training samples, points cut to the first `n` (they are
    /// i.i.d. surface samples, so any n of them are a uniform sample).
    pub fn from_samples(samples: &[Sample], size: usize, n: usize) -> Self {
        use rand::seq::IndexedRandom;
        let idx: Vec<usize> = (0..samples.len()).collect();
        let mut idx: Vec<usize> = idx
            .choose_multiple(&mut kit::data::rng_for(0, 17, 0), size.min(samples.len()))
            .copied()
            .collect();
        idx.sort_unstable();
        let kept: Vec<Sample> = idx
            .iter()
            .map(|&i| &samples[i])
            .map(|s| Sample {
                points: s.points.iter().copied().cycle().take(n).collect(),
                ..s.clone()
            })
            .collect();
        Self {
            images: image_tensor(&kept),
            points: truth_tensor(&kept),
            classes: kept.iter().map(|s| s.class.to_string()).collect(),
        }
    }

    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let img = (&self.images * 255.0).round().to_kind(Kind::Uint8);
        Tensor::write_safetensors(
            &[("images", &img), ("points", &self.points)],
            dir.join("bank.safetensors"),
        )?;
        std::fs::write(dir.join("bank.json"), serde_json::to_vec(&self.classes)?)?;
        Ok(())
    }

    /// The bank of a run, or `None` when the run has none (trained before banks existed).
    pub fn load(dir: &Path) -> anyhow::Result<Option<Self>> {
        let (st, js) = (dir.join("bank.safetensors"), dir.join("bank.json"));
        if !st.exists() || !js.exists() {
            return Ok(None);
        }
        let mut t: BTreeMap<String, Tensor> = Tensor::read_safetensors(&st)?.into_iter().collect();
        let get = |t: &mut BTreeMap<String, Tensor>, k: &str| {
            t.remove(k)
                .ok_or_else(|| anyhow::anyhow!("{}: no `{k}` tensor", st.display()))
        };
        let images = get(&mut t, "images")?.to_kind(Kind::Float) / 255.0;
        let points = get(&mut t, "points")?;
        let classes: Vec<String> = serde_json::from_slice(&std::fs::read(&js)?)?;
        if classes.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            images,
            points,
            classes,
        }))
    }

    /// Per class, the bank shape with the lowest mean Chamfer to the class's other shapes
    /// (up to 40 of them): the "mean shape" baseline that needs no averaging of unordered sets.
    pub fn medoids(&self) -> anyhow::Result<BTreeMap<String, Tensor>> {
        let mut by: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for (i, c) in self.classes.iter().enumerate() {
            by.entry(c).or_default().push(i as i64);
        }
        let mut out = BTreeMap::new();
        for (c, idx) in by {
            let idx: Vec<i64> = idx.into_iter().take(40).collect();
            let pts = self.points.index_select(0, &Tensor::from_slice(&idx));
            let k = idx.len() as i64;
            let mut best = (f64::INFINITY, 0);
            for a in 0..k {
                let x = pts.get(a).unsqueeze(0).expand([k, -1, -1], false);
                let d1 = nearest_sq_distances(&x, &pts)?
                    .mean(Kind::Double)
                    .double_value(&[]);
                let d2 = nearest_sq_distances(&pts, &x)?
                    .mean(Kind::Double)
                    .double_value(&[]);
                if d1 + d2 < best.0 {
                    best = (d1 + d2, a);
                }
            }
            out.insert(c.to_string(), pts.get(best.1));
        }
        Ok(out)
    }
}

/// Baseline predictions for samples of `classes` with image codes `codes`: the class medoid
/// (the true class given, an oracle) and the bank shape whose image code is nearest (cosine).
/// Samples of a class the bank lacks get the overall nearest medoid-free retrieval only.
pub fn baselines(
    bank: &Bank,
    bank_codes: &Tensor,
    codes: &Tensor,
    classes: &[&str],
) -> anyhow::Result<(Option<Tensor>, Tensor)> {
    let medoids = bank.medoids()?;
    let medoid = classes
        .iter()
        .map(|c| medoids.get(*c).map(|t| t.shallow_clone()))
        .collect::<Option<Vec<Tensor>>>()
        .map(|v| Tensor::stack(&v, 0));
    let norm = |t: &Tensor| t / (t.norm_scalaropt_dim(2, [1i64].as_slice(), true) + 1e-8);
    let sim = norm(codes).matmul(&norm(bank_codes).tr());
    let nearest = sim.argmax(1, false);
    Ok((medoid, bank.points.index_select(0, &nearest)))
}
