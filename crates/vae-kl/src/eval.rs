//! What the field reports for a VAE: test ELBO and its two terms (nats per image, summed over
//! pixels), the importance-weighted bound (Burda et al. 2015), active latent units
//! (`Cov_x E_q[z_d] > 0.01`), KL per dimension, and MIG on data with known factors (Chen et al.
//! 2018).

use crate::config::LossConfig;
use crate::data::{collate, Sample};
use crate::model::{kl_per_dim, laplacian_energy, reconstruction_nll, reparameterize, Vae};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

/// Test-set numbers (nats per image).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evaluation {
    /// −ELBO = recon + KL (lower is better); reported as the negative ELBO, as papers do. The
    /// reconstruction term is averaged over `elbo_samples` z draws per image; the KL is exact.
    pub neg_elbo: f64,
    /// Standard error of `neg_elbo` over images (std / √N): what another draw of the test set
    /// and of the z samples would move it by.
    pub neg_elbo_se: f64,
    pub elbo_samples: i64,
    pub recon: f64,
    pub kl: f64,
    /// The importance-weighted bound, when it was computed (`eval`, not training).
    pub iw: Option<IwCheck>,
    pub active_units: usize,
    pub kl_per_dim: Vec<f64>,
    /// Mutual information gap, when the data have known factors.
    pub mig: Option<f64>,
    pub images: usize,
    /// Laplacian energy of the reconstructions (decoded from the encoder means) over that of
    /// the inputs, on up to 500 images: 1 is as sharp as the data, blur is below 1.
    pub sharpness: f64,
}

/// The IW bound on a subset of images, with the ELBO on the same images and the check that
/// the bound is not below the ELBO beyond sampling noise.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IwCheck {
    /// Importance samples per image.
    pub k: i64,
    /// Images it was computed on (a fixed subset spread over the test set).
    pub images: usize,
    /// −log p(x) upper bound (Burda et al. 2015), mean over the images.
    pub neg_iw_bound: f64,
    /// −ELBO on the same images.
    pub neg_elbo: f64,
    /// Mean of IW − ELBO per image (≥ 0 in expectation) and its standard error.
    pub gap: f64,
    pub gap_se: f64,
}

impl IwCheck {
    /// From per-image log p(x) bounds and ELBOs (nats, log-likelihood sign).
    pub fn new(k: i64, iw: &[f64], elbo: &[f64]) -> Self {
        let d: Vec<f64> = iw.iter().zip(elbo).map(|(a, b)| a - b).collect();
        let (gap, gap_se) = mean_se(&d);
        Self {
            k,
            images: d.len(),
            neg_iw_bound: -mean_se(iw).0,
            neg_elbo: -mean_se(elbo).0,
            gap,
            gap_se,
        }
    }

    /// IW ≥ ELBO holds in expectation for every k ≥ 1; a mean gap below −3 standard errors
    /// means the computation is wrong (not noise: about 1 in 740 for a correct one).
    pub fn consistent(&self) -> bool {
        self.gap >= -3.0 * self.gap_se
    }
}

/// Mean and its standard error (sample std / √n; 0 for fewer than two values).
pub fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n.max(1.0);
    if v.len() < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Encoder means (N, latent) of every sample, and per-sample ELBO parts.
pub struct Encoded {
    pub mu: Tensor,
    pub recon: Tensor,
    pub kl: Tensor,
    pub kl_dims: Tensor,
}

/// Encodes `samples` in batches; the reconstruction term per image is averaged over `draws`
/// z samples (the KL is analytic).
pub fn encode_all(
    vae: &Vae,
    samples: &[Sample],
    loss: &LossConfig,
    draws: i64,
    device: Device,
) -> anyhow::Result<Encoded> {
    let (mut mus, mut recons, mut kls, mut dims) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for chunk in samples.chunks(256) {
        let (x, _) = collate(chunk.to_vec())?;
        let x = x.to_device(device);
        let (mu, logvar) = vae.encode(&x);
        let mut recon = Tensor::zeros([x.size()[0]], (Kind::Float, device));
        for _ in 0..draws.max(1) {
            let logits = vae.decode(&reparameterize(&mu, &logvar));
            recon += reconstruction_nll(&logits, &x, loss);
        }
        recons.push((recon / draws.max(1) as f64).to_device(Device::Cpu));
        let per_dim = kl_per_dim(&mu, &logvar).to_device(Device::Cpu);
        kls.push(per_dim.sum_dim_intlist([1i64].as_slice(), false, Kind::Float));
        dims.push(per_dim);
        mus.push(mu.to_device(Device::Cpu));
    }
    Ok(Encoded {
        mu: Tensor::cat(&mus, 0),
        recon: Tensor::cat(&recons, 0),
        kl: Tensor::cat(&kls, 0),
        kl_dims: Tensor::cat(&dims, 0),
    })
}

/// log p(x) ≥ log (1/k) Σ_i p(x | z_i) p(z_i) / q(z_i | x), z_i ~ q(z | x), per image (N).
/// With k = 1 its expectation is the ELBO (with a sampled KL); it rises toward log p(x) as k
/// grows.
pub fn iw_log_likelihood(vae: &Vae, x: &Tensor, k: i64, loss: &LossConfig) -> Tensor {
    let n = x.size()[0];
    let (mu, logvar) = vae.encode(x);
    let log2pi = (2.0 * std::f64::consts::PI).ln();
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let (m, lv) = (mu.get(i), logvar.get(i));
        let xi = x.get(i).unsqueeze(0);
        let mut logw = Vec::new();
        let mut left = k;
        while left > 0 {
            let b = left.min(250);
            left -= b;
            let eps = Tensor::randn([b, vae.latent], (Kind::Float, x.device()));
            let z = &m + (&lv * 0.5).exp() * &eps;
            let log_pz = (z.pow_tensor_scalar(2) + log2pi).sum_dim_intlist(
                [1i64].as_slice(),
                false,
                Kind::Float,
            ) * -0.5;
            let log_qz = (eps.pow_tensor_scalar(2) + &lv + log2pi).sum_dim_intlist(
                [1i64].as_slice(),
                false,
                Kind::Float,
            ) * -0.5;
            let logits = vae.decode(&z);
            let nll = reconstruction_nll(&logits, &xi.expand([b, -1, -1, -1], false), loss);
            logw.push(log_pz - log_qz - nll);
        }
        let logw = Tensor::cat(&logw, 0);
        out.push(logw.logsumexp([0i64].as_slice(), false) - (k as f64).ln());
    }
    Tensor::stack(&out, 0)
}

/// Latent dimensions whose encoder mean varies across the data: Var_x(μ_d) > 0.01.
pub fn active_units(mu: &Tensor) -> usize {
    let v = mu.var_dim([0i64].as_slice(), false, false);
    v.gt(0.01).sum(Kind::Int64).int64_value(&[]) as usize
}

fn entropy(counts: &[f64]) -> f64 {
    let n: f64 = counts.iter().sum();
    counts
        .iter()
        .filter(|&&c| c > 0.0)
        .map(|&c| -(c / n) * (c / n).ln())
        .sum()
}

/// Mutual information gap (Chen et al. 2018): for each factor, the gap between the two latent
/// dimensions most informative about it, over the factor's entropy, averaged over factors.
/// Latent means are discretised into 20 equal-width bins; factors must be discrete values.
/// `mu` is (N, D) row-major, `factors` N rows of K values. `None` without factors.
pub fn mig(mu: &[Vec<f64>], factors: &[Vec<f64>]) -> Option<f64> {
    let n = mu.len();
    let k = factors.first().map_or(0, Vec::len);
    if n < 2 || k == 0 || factors.iter().any(|f| f.len() != k) {
        return None;
    }
    let d = mu[0].len();
    let bins = 20usize;
    let codes: Vec<Vec<usize>> = (0..d)
        .map(|j| {
            let (lo, hi) = mu
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), r| {
                    (a.min(r[j]), b.max(r[j]))
                });
            let w = ((hi - lo) / bins as f64).max(1e-12);
            mu.iter()
                .map(|r| (((r[j] - lo) / w) as usize).min(bins - 1))
                .collect()
        })
        .collect();
    let mut gaps = Vec::new();
    for f in 0..k {
        let mut values: Vec<f64> = factors.iter().map(|r| r[f]).collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        let vi: Vec<usize> = factors
            .iter()
            .map(|r| values.partition_point(|&v| v < r[f]))
            .collect();
        let mut counts_v = vec![0.0; values.len()];
        vi.iter().for_each(|&v| counts_v[v] += 1.0);
        let h_v = entropy(&counts_v);
        if h_v <= 0.0 {
            continue;
        }
        let mut mis: Vec<f64> = codes
            .iter()
            .map(|z| {
                let mut joint = vec![0.0; bins * values.len()];
                let mut counts_z = vec![0.0; bins];
                for (i, &zb) in z.iter().enumerate() {
                    joint[zb * values.len() + vi[i]] += 1.0;
                    counts_z[zb] += 1.0;
                }
                entropy(&counts_z) + h_v - entropy(&joint)
            })
            .collect();
        mis.sort_by(|a, b| b.total_cmp(a));
        let second = mis.get(1).copied().unwrap_or(0.0);
        gaps.push((mis[0] - second) / h_v);
    }
    (!gaps.is_empty()).then(|| gaps.iter().sum::<f64>() / gaps.len() as f64)
}

/// MIG's floor for `factors`: the same estimator (20 bins, these N samples) on latents that
/// carry no information about the factors — the factor rows shuffled against the latents
/// (seeded). A trained MIG is only meaningful well above it: the plug-in histogram estimator
/// is biased upward by about (bins − 1)(values − 1) / (2N) nats.
pub fn mig_shuffled(mu: &[Vec<f64>], factors: &[Vec<f64>], seed: u64) -> Option<f64> {
    use rand::seq::SliceRandom;
    let mut shuffled = factors.to_vec();
    shuffled.shuffle(&mut kit::data::rng_for(seed, 31, 0));
    mig(mu, &shuffled)
}

/// MIG of `samples` under an untrained encoder of the same architecture (seeded): the
/// reference a trained row must beat.
pub fn mig_untrained(
    cfg: &crate::config::ModelConfig,
    samples: &[Sample],
    loss: &LossConfig,
    device: Device,
) -> anyhow::Result<Option<f64>> {
    tch::manual_seed(0);
    let vs = tch::nn::VarStore::new(device);
    let vae = Vae::new(&vs.root(), cfg);
    let e = tch::no_grad(|| encode_all(&vae, samples, loss, 1, device))?;
    let mu: Vec<Vec<f64>> = Vec::try_from(e.mu.to_kind(Kind::Double))?;
    let factors: Vec<Vec<f64>> = samples.iter().map(|s| s.factors.clone()).collect();
    Ok(mig(&mu, &factors))
}

/// How much of [`evaluate`] to compute.
#[derive(Debug, Clone, Copy)]
pub struct EvalOptions {
    /// z draws per image for the reconstruction term.
    pub elbo_samples: i64,
    /// The IW bound: (importance samples, images), or `None` (training's evaluations: the
    /// bound was most of their wall time and selection does not use it).
    pub iw: Option<(i64, usize)>,
}

/// The full evaluation of `samples` (a test set).
pub fn evaluate(
    vae: &Vae,
    samples: &[Sample],
    loss: &LossConfig,
    opts: EvalOptions,
    device: Device,
) -> anyhow::Result<(Evaluation, Encoded)> {
    anyhow::ensure!(!samples.is_empty(), "the test set is empty");
    let e = encode_all(vae, samples, loss, opts.elbo_samples, device)?;
    let mean = |t: &Tensor| t.mean(Kind::Float).double_value(&[]);
    let (recon, kl) = (mean(&e.recon), mean(&e.kl));
    let per_image: Vec<f64> = Vec::try_from((&e.recon + &e.kl).to_kind(Kind::Double))?;
    let (_, neg_elbo_se) = mean_se(&per_image);
    let iw = match opts.iw {
        Some((k, images)) => {
            // A fixed subset spread over the whole test set (it may be sorted by class).
            let m = images.clamp(1, samples.len());
            let idx: Vec<usize> = (0..m).map(|i| i * samples.len() / m).collect();
            let (x, _) = collate(idx.iter().map(|&i| samples[i].clone()).collect())?;
            let iw = iw_log_likelihood(vae, &x.to_device(device), k, loss);
            let iw: Vec<f64> = Vec::try_from(iw.to_kind(Kind::Double))?;
            let elbo: Vec<f64> = idx.iter().map(|&i| -per_image[i]).collect();
            Some(IwCheck::new(k, &iw, &elbo))
        }
        None => None,
    };
    let kl_dims: Vec<f64> = Vec::try_from(
        e.kl_dims
            .mean_dim([0i64].as_slice(), false, Kind::Float)
            .to_kind(Kind::Double),
    )?;
    let mu_rows: Vec<Vec<f64>> = Vec::try_from(e.mu.to_kind(Kind::Double))?;
    let factors: Vec<Vec<f64>> = samples.iter().map(|s| s.factors.clone()).collect();
    let n = samples.len().min(500);
    let (x, _) = collate(samples[..n].to_vec())?;
    let mu =
        e.mu.narrow(0, 0, n as i64)
            .to_device(device)
            .to_kind(Kind::Float);
    let recon_pictures = tch::no_grad(|| vae.decode(&mu).sigmoid());
    let sharpness =
        laplacian_energy(&recon_pictures) / laplacian_energy(&x.to_device(device)).max(1e-12);
    Ok((
        Evaluation {
            neg_elbo: recon + kl,
            neg_elbo_se,
            elbo_samples: opts.elbo_samples.max(1),
            recon,
            kl,
            iw,
            active_units: active_units(&e.mu),
            kl_per_dim: kl_dims,
            mig: mig(&mu_rows, &factors),
            images: samples.len(),
            sharpness,
        },
        e,
    ))
}
