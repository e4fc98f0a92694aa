//! `predict`: an image in, its reconstruction beside it and its ELBO out; `sample`: images from
//! the prior; `interpolate`: a strip decoded along the line between two images' latent means.

use crate::data::{collate, Sample, SIDE};
use crate::model::{kl_per_dim, reconstruction_nll, reparameterize};
use crate::train::VaeTask;
use image::{imageops, DynamicImage, RgbImage};
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

/// Any image file as the model's 28×28 grayscale input.
pub fn load(path: &Path) -> anyhow::Result<Sample> {
    let img = kit::images::load(path)?.to_luma8();
    let img = imageops::resize(
        &img,
        SIDE as u32,
        SIDE as u32,
        imageops::FilterType::Triangle,
    );
    Ok(Sample {
        pixels: img.into_raw(),
        label: -1,
        factors: Vec::new(),
    })
}

fn save_big(img: &RgbImage, path: &Path) -> anyhow::Result<()> {
    let big = imageops::resize(
        img,
        img.width() * 4,
        img.height() * 4,
        imageops::FilterType::Nearest,
    );
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    kit::images::save(&DynamicImage::ImageRgb8(big), path)?;
    Ok(())
}

/// What `predict` found for one image.
pub struct Reconstruction {
    /// −ELBO in nats (mean of 16 single-sample estimates) and its two terms.
    pub neg_elbo: f64,
    pub recon: f64,
    pub kl: f64,
    pub picture: PathBuf,
}

/// Reconstructs `input` (decoded from the encoder mean) and estimates its ELBO.
pub fn reconstruct(task: &VaeTask, input: &Path, out: &Path) -> anyhow::Result<Reconstruction> {
    let (x, _) = collate(vec![load(input)?])?;
    let x = x.to_device(task.device);
    let (mu, logvar) = task.vae.encode(&x);
    let xs = x.expand([16, -1, -1, -1], false);
    let (mus, lvs) = (mu.expand([16, -1], false), logvar.expand([16, -1], false));
    let logits = task.vae.decode(&reparameterize(&mus, &lvs));
    let recon = reconstruction_nll(&logits, &xs, &task.cfg.loss)
        .mean(Kind::Float)
        .double_value(&[]);
    let kl = kl_per_dim(&mu, &logvar).sum(Kind::Float).double_value(&[]);
    let y = task.decode_images(&mu);
    let pair = kit::images::grid(
        &[
            kit::images::tensor_to_rgb(&x.get(0)),
            kit::images::tensor_to_rgb(&y.get(0)),
        ],
        2,
    );
    let stem = input
        .file_stem()
        .map_or("image".into(), |s| s.to_string_lossy().to_string());
    let picture = out.join(format!("{stem}-reconstruction.png"));
    save_big(&pair, &picture)?;
    Ok(Reconstruction {
        neg_elbo: recon + kl,
        recon,
        kl,
        picture,
    })
}

/// `n` samples from the prior, as one grid picture.
pub fn samples(task: &VaeTask, n: usize, path: &Path) -> anyhow::Result<()> {
    save_big(&task.prior_samples(n), path)
}

/// `steps` images decoded along the straight line between the latent means of `a` and `b`.
pub fn interpolate(
    task: &VaeTask,
    a: &Path,
    b: &Path,
    steps: i64,
    path: &Path,
) -> anyhow::Result<()> {
    let (x, _) = collate(vec![load(a)?, load(b)?])?;
    let (mu, _) = task.vae.encode(&x.to_device(task.device));
    let t = Tensor::linspace(0.0, 1.0, steps.max(2), (Kind::Float, task.device)).unsqueeze(1);
    let z = mu.get(0).unsqueeze(0) * (1.0 - &t) + mu.get(1).unsqueeze(0) * &t;
    let y = task.decode_images(&z);
    let pics: Vec<RgbImage> = (0..steps.max(2))
        .map(|i| kit::images::tensor_to_rgb(&y.get(i)))
        .collect();
    save_big(&kit::images::grid(&pics, pics.len()), path)
}
