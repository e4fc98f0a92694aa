//! "Classify whether an image has a human face or not" (the lecture's HW2P2), trained on
//! synthetic images only and measured on real ones: positives are this app's rendered faces,
//! negatives are crops of the `scenes` crate's shape scenes, textures, face pictures with
//! their parts shuffled, and the background around a face. Inputs are 25×25 grey, each
//! standardised to zero mean and unit variance (scikit-image's `lfw_subset` is 25×25 grey).

use anyhow::Context;
use image::{imageops, GrayImage, RgbImage};
use metrics::roc_auc;
use std::path::{Path, PathBuf};
use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// The side of every input (scikit-image's `lfw_subset`).
pub const SIDE: u32 = 25;

mod pictures;
pub use pictures::{face, non_face, to_tensor};

/// What `face-verify face-or-not` trains and reports.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Training steps (batches of 64, half faces).
    #[arg(long, default_value_t = 600)]
    pub steps: usize,
    /// Independent models (seeds 0..K): the table gives mean ± std.
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// A real test folder with `face/` and `non-face/` pictures (`just data faces` writes
    /// scikit-image's lfw_subset there: data/faces).
    #[arg(long)]
    pub real: Option<PathBuf>,
    /// Also write a picture of training examples here (a row of faces, rows of non-faces).
    #[arg(long)]
    pub pictures: Option<PathBuf>,
}

/// A small CNN: three conv-BN-ReLU stages, global average pooling, one logit ("face").
pub fn model(p: &nn::Path) -> nn::SequentialT {
    let mut s = nn::seq_t();
    let mut cin = 1;
    for (i, c) in [16, 32, 64].into_iter().enumerate() {
        s = s
            .add(kit::layers::conv_bn_relu(
                &(p / format!("c{i}")),
                cin,
                c,
                3,
                1,
            ))
            .add_fn(|x| x.max_pool2d_default(2));
        cin = c;
    }
    s.add_fn(|x| x.mean_dim([2i64, 3].as_slice(), false, Kind::Float))
        .add(nn::linear(p / "out", 64, 1, Default::default()))
}

/// A batch of `n` (half faces, half not) from stream `seed`, starting at picture `at`.
fn batch(seed: u64, at: u64, n: u64) -> (Tensor, Tensor) {
    let mut pics = Vec::with_capacity(n as usize);
    let mut labels = Vec::with_capacity(n as usize);
    for k in 0..n {
        let i = at + k / 2;
        if k % 2 == 0 {
            pics.push(face(seed, i));
            labels.push(1.0f32);
        } else {
            pics.push(non_face(seed, i));
            labels.push(0.0);
        }
    }
    (to_tensor(&pics), Tensor::from_slice(&labels))
}

/// Face probabilities of `x` (N, 1, 25, 25).
pub fn scores(net: &nn::SequentialT, x: &Tensor) -> anyhow::Result<Vec<f64>> {
    let p = tch::no_grad(|| net.forward_t(x, false).squeeze_dim(1).sigmoid());
    Ok(Vec::try_from(p.to_kind(Kind::Double))?)
}

/// Accuracy at probability 0.5 and ROC AUC.
pub fn accuracy_auc(scores: &[f64], labels: &[bool]) -> (f64, f64) {
    let right = scores
        .iter()
        .zip(labels)
        .filter(|(s, l)| (**s >= 0.5) == **l)
        .count();
    (
        right as f64 / scores.len().max(1) as f64,
        roc_auc(scores, labels),
    )
}

/// Trains one model for `steps` batches of 64 (training stream `seed`).
pub fn train(seed: u64, steps: usize) -> anyhow::Result<(nn::VarStore, nn::SequentialT)> {
    tch::manual_seed(seed as i64);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = model(&vs.root());
    let mut opt = nn::Adam::default().build(&vs, 2e-3)?;
    for step in 0..steps as u64 {
        let (x, y) = batch(seed, step * 32, 64);
        let logit = net.forward_t(&x, true).squeeze_dim(1);
        let loss =
            logit.binary_cross_entropy_with_logits::<Tensor>(&y, None, None, tch::Reduction::Mean);
        opt.backward_step(&loss);
    }
    Ok((vs, net))
}

/// The pictures of `dir/face` (label true) and `dir/non-face` (false), as 25×25 grey.
pub fn read_folder(dir: &Path) -> anyhow::Result<(Vec<GrayImage>, Vec<bool>)> {
    let (mut pics, mut labels) = (Vec::new(), Vec::new());
    for (sub, label) in [("face", true), ("non-face", false)] {
        let d = dir.join(sub);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .with_context(|| {
                format!(
                    "cannot read {} (a test folder has face/ and non-face/; `just data faces` \
                     writes scikit-image's lfw_subset to data/faces)",
                    d.display()
                )
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        anyhow::ensure!(!files.is_empty(), "{} holds no pictures", d.display());
        for f in files {
            let img = kit::images::load(&f)?.to_luma8();
            pics.push(imageops::resize(
                &img,
                SIDE,
                SIDE,
                imageops::FilterType::Triangle,
            ));
            labels.push(label);
        }
    }
    Ok((pics, labels))
}

/// `face-verify face-or-not`: trains `seeds` models and prints accuracy and ROC AUC on
/// held-out synthetic pictures (a stream no model trained on) and on the real folder.
pub fn run(a: &Args) -> anyhow::Result<()> {
    let real = match &a.real {
        Some(d) => Some(read_folder(d)?),
        None => None,
    };
    if let Some(path) = &a.pictures {
        let rgb = |g: GrayImage| image::DynamicImage::ImageLuma8(g).to_rgb8();
        let up = |g: GrayImage| imageops::resize(&rgb(g), 75, 75, imageops::FilterType::Nearest);
        let mut tiles: Vec<RgbImage> = (0..10).map(|i| up(face(0, i))).collect();
        tiles.extend((0..20).map(|i| up(non_face(0, i))));
        kit::images::save(
            &image::DynamicImage::ImageRgb8(kit::images::grid(&tiles, 10)),
            path,
        )?;
        println!("training examples: {}", path.display());
    }
    let (sx, sy) = batch(u64::MAX / 3, 0, 1000);
    let syn_labels: Vec<bool> = Vec::<f32>::try_from(sy)?.iter().map(|&v| v > 0.5).collect();
    let mut rows: Vec<[f64; 4]> = Vec::new();
    for seed in 0..a.seeds {
        let t0 = std::time::Instant::now();
        let (_vs, net) = train(seed, a.steps)?;
        let (sa, sauc) = accuracy_auc(&scores(&net, &sx)?, &syn_labels);
        let (ra, rauc) = match &real {
            Some((pics, labels)) => accuracy_auc(&scores(&net, &to_tensor(pics))?, labels),
            None => (f64::NAN, f64::NAN),
        };
        println!(
            "seed {seed}: synthetic accuracy {sa:.3} AUC {sauc:.3}; real accuracy {ra:.3} AUC \
             {rauc:.3} ({:.0} s)",
            t0.elapsed().as_secs_f64()
        );
        rows.push([sa, sauc, ra, rauc]);
    }
    let ms = |k: usize| {
        let v: Vec<f64> = rows.iter().map(|r| r[k]).collect();
        let (m, s) = sweep::mean_std(&v);
        format!("{m:.3} ± {s:.3}")
    };
    println!(
        "\n| test set | pictures | accuracy (p ≥ 0.5) | ROC AUC |\n|---|---|---|---|\n| synthetic \
         (held-out stream) | 1000 | {} | {} |",
        ms(0),
        ms(1)
    );
    if let (Some(d), Some((pics, _))) = (&a.real, &real) {
        println!(
            "| {} (real) | {} | {} | {} |",
            d.display(),
            pics.len(),
            ms(2),
            ms(3)
        );
    }
    println!(
        "(mean ± sample std over {} models of seeds 0..{}, {} steps of 64 each; trained on \
         synthetic pictures only)",
        a.seeds, a.seeds, a.steps
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_25_by_25_and_seeded() {
        for i in 0..8 {
            assert_eq!(face(1, i).dimensions(), (SIDE, SIDE));
            assert_eq!(non_face(1, i).dimensions(), (SIDE, SIDE));
            assert_eq!(face(1, i), face(1, i));
        }
        assert_ne!(face(1, 0), face(2, 0));
        let x = to_tensor(&[face(1, 0)]);
        assert_eq!(x.size(), [1, 1, 25, 25]);
        assert!(x.mean(Kind::Float).double_value(&[]).abs() < 1e-4);
    }

    #[test]
    fn a_short_training_separates_held_out_synthetic_pictures() {
        let (_vs, net) = train(0, 80).unwrap();
        let (x, y) = batch(7_777, 0, 200);
        let labels: Vec<bool> = Vec::<f32>::try_from(y)
            .unwrap()
            .iter()
            .map(|&v| v > 0.5)
            .collect();
        let (acc, auc) = accuracy_auc(&scores(&net, &x).unwrap(), &labels);
        assert!(acc > 0.75 && auc > 0.85, "accuracy {acc}, AUC {auc}");
    }

    #[test]
    fn a_test_folder_without_its_parts_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("face")).unwrap();
        face(1, 0).save(tmp.path().join("face/0.png")).unwrap();
        let msg = read_folder(tmp.path()).unwrap_err().to_string();
        assert!(
            msg.contains("non-face") && msg.contains("just data faces"),
            "{msg}"
        );
        std::fs::create_dir_all(tmp.path().join("non-face")).unwrap();
        non_face(1, 0)
            .save(tmp.path().join("non-face/0.png"))
            .unwrap();
        let (pics, labels) = read_folder(tmp.path()).unwrap();
        assert_eq!((pics.len(), labels), (2, vec![true, false]));
    }

    #[test]
    fn accuracy_and_auc_by_hand() {
        let (acc, auc) = accuracy_auc(&[0.9, 0.4, 0.6, 0.1], &[true, true, false, false]);
        // Right: 0.9 (face), 0.1 (not); wrong: 0.4, 0.6. AUC: 3 of 4 (pos, neg) pairs ordered.
        assert_eq!((acc, auc), (0.5, 0.75));
    }
}
