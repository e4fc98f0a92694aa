//! What the field reports for a VAE: test ELBO and its two terms (nats per image, summed over
//! pixels), the importance-weighted bound (Burda et al. 2015), active latent units
//! (Cov_x E_q[z_d] > 0.01), KL per dimension, and MIG on data with known factors (Chen et al.
//! 2018).

use crate::config::LossConfig;
use crate::data::{collate, Sample};
use crate::model::{kl_per_dim, reconstruction_nll, reparameterize, Vae};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

/// Test-set numbers (nats per image).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evaluation {
    /// −ELBO = recon + KL (lower is better); reported as the negative ELBO, as papers do.
    pub neg_elbo: f64,
    pub recon: f64,
    pub kl: f64,
    /// −log p(x) upper bound from k importance samples on `iw_images` test images spread over
    /// the test set (≤ −ELBO on the same images).
    pub neg_iw_bound: f64,
    /// −ELBO on the same images as the IW bound (for the check IW ≥ ELBO).
    pub neg_elbo_iw_images: f64,
    pub active_units: usize,
    pub kl_per_dim: Vec<f64>,
    /// Mutual information gap, when the data have known factors.
    pub mig: Option<f64>,
    pub images: usize,
}

/// Encoder means (N, latent) of every sample, and per-sample ELBO parts.
pub struct Encoded {
    pub mu: Tensor,
    pub recon: Tensor,
    pub kl: Tensor,
    pub kl_dims: Tensor,
}

/// Encodes `samples` in batches (one z sample per image for the reconstruction term).
pub fn encode_all(
    vae: &Vae,
    samples: &[Sample],
    loss: &LossConfig,
    device: Device,
) -> anyhow::Result<Encoded> {
    let (mut mus, mut recons, mut kls, mut dims) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for chunk in samples.chunks(256) {
        let (x, _) = collate(chunk.to_vec())?;
        let x = x.to_device(device);
        let (mu, logvar) = vae.encode(&x);
        let z = reparameterize(&mu, &logvar);
        let logits = vae.decode(&z);
        recons.push(reconstruction_nll(&logits, &x, loss).to_device(Device::Cpu));
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

/// The full evaluation of `samples` (a test set).
pub fn evaluate(
    vae: &Vae,
    samples: &[Sample],
    loss: &LossConfig,
    iw_samples: i64,
    iw_images: usize,
    device: Device,
) -> anyhow::Result<(Evaluation, Encoded)> {
    anyhow::ensure!(!samples.is_empty(), "the test set is empty");
    let e = encode_all(vae, samples, loss, device)?;
    let mean = |t: &Tensor| t.mean(Kind::Float).double_value(&[]);
    let (recon, kl) = (mean(&e.recon), mean(&e.kl));
    // A fixed subset spread over the whole test set (it may be sorted by class).
    let m = iw_images.clamp(1, samples.len());
    let idx: Vec<usize> = (0..m).map(|i| i * samples.len() / m).collect();
    let (x, _) = collate(idx.iter().map(|&i| samples[i].clone()).collect())?;
    let iw = iw_log_likelihood(vae, &x.to_device(device), iw_samples, loss);
    let pick = Tensor::from_slice(&idx.iter().map(|&i| i as i64).collect::<Vec<_>>());
    let neg_elbo_iw = mean(&(e.recon.index_select(0, &pick) + e.kl.index_select(0, &pick)));
    let kl_dims: Vec<f64> = Vec::try_from(
        e.kl_dims
            .mean_dim([0i64].as_slice(), false, Kind::Float)
            .to_kind(Kind::Double),
    )?;
    let mu_rows: Vec<Vec<f64>> = Vec::try_from(e.mu.to_kind(Kind::Double))?;
    let factors: Vec<Vec<f64>> = samples.iter().map(|s| s.factors.clone()).collect();
    Ok((
        Evaluation {
            neg_elbo: recon + kl,
            recon,
            kl,
            neg_iw_bound: -mean(&iw),
            neg_elbo_iw_images: neg_elbo_iw,
            active_units: active_units(&e.mu),
            kl_per_dim: kl_dims,
            mig: mig(&mu_rows, &factors),
            images: samples.len(),
        },
        e,
    ))
}
