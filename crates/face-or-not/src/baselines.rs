//! The baselines a reader tries first, fitted on the same training pictures as the CNN:
//! logistic regression on raw pixels (each picture standardised as the CNN sees it) and on
//! HOG descriptors (Dalal & Triggs, through `imageproc`). The L2 weight is chosen on
//! validation; each fit is Newton's method, which reports whether it converged.

use crate::data::Picture;
use crate::pictures::standardise;
use imageproc::hog::{hog, HogOptions};
use tch::{Device, Kind, Tensor};

/// What a baseline sees of a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Features {
    /// The 625 standardised grey values.
    Pixels,
    /// HOG: 9 unsigned orientations, 5×5-pixel cells, 2×2-cell blocks at a 1-cell stride,
    /// each block L2-normalised: 4 × 4 blocks × 36 = 576 numbers.
    Hog,
}

impl Features {
    pub fn name(self) -> &'static str {
        match self {
            Features::Pixels => "logistic regression on pixels",
            Features::Hog => "HOG + logistic regression",
        }
    }

    /// One row per picture (N, D), float64.
    pub fn of(self, pics: &[Picture]) -> anyhow::Result<Tensor> {
        let opts = HogOptions::new(9, false, 5, 2, 1);
        let mut rows = Vec::with_capacity(pics.len());
        for p in pics {
            let v = match self {
                Features::Pixels => standardise(&p.pixels),
                Features::Hog => hog(&p.pixels, opts).map_err(|e| anyhow::anyhow!("HOG: {e}"))?,
            };
            rows.push(Tensor::from_slice(&v));
        }
        anyhow::ensure!(!rows.is_empty(), "no pictures to describe");
        Ok(Tensor::stack(&rows, 0).to_kind(Kind::Double))
    }
}

/// The L2 weights tried (per-sample mean loss + λ/2 ‖w‖²; scikit-learn's default C = 1 is
/// λ = 1 / N, about 0.007 here).
pub const LAMBDAS: [f64; 6] = [1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1];

/// A fitted logistic regression: weights over standardised features, and how the fit went.
pub struct Logistic {
    mean: Tensor,
    scale: Tensor,
    /// (D + 1): the weights, then the bias.
    theta: Tensor,
    pub lambda: f64,
    pub iterations: usize,
    /// Whether the gradient's largest entry fell below 1e-8.
    pub converged: bool,
}

fn with_bias(x: &Tensor) -> Tensor {
    Tensor::cat(
        &[
            x.shallow_clone(),
            Tensor::ones([x.size()[0], 1], (Kind::Double, Device::Cpu)),
        ],
        1,
    )
}

impl Logistic {
    /// Fits by Newton's method with step halving: features standardised on `x`, then
    /// mean log loss + λ/2 ‖w‖² (the bias unpenalised) minimised to a gradient below 1e-8.
    pub fn fit(x: &Tensor, y: &[bool], lambda: f64) -> Self {
        let mean = x.mean_dim(0, false, Kind::Double);
        let scale = x.std_dim(0, false, false).clamp_min(1e-6);
        let z = with_bias(&((x - &mean) / &scale));
        let (n, d) = (z.size()[0], z.size()[1]);
        let t = Tensor::from_slice(&y.iter().map(|&b| b as u8 as f64).collect::<Vec<_>>());
        let pen = Tensor::full([d], lambda, (Kind::Double, Device::Cpu));
        let _ = pen.get(d - 1).fill_(1e-10);
        let objective = |th: &Tensor| -> f64 {
            let s = z.mv(th);
            let ll = (s.clamp_min(0.0) - &s * &t + (-s.abs()).exp().log1p()).mean(Kind::Double);
            (ll + (&pen * th * th).sum(Kind::Double) * 0.5).double_value(&[])
        };
        let mut theta = Tensor::zeros([d], (Kind::Double, Device::Cpu));
        let (mut iterations, mut converged) = (0, false);
        while iterations < 100 {
            let p = z.mv(&theta).sigmoid();
            let g = z.tr().mv(&(&p - &t)) / n as f64 + &pen * &theta;
            if g.abs().max().double_value(&[]) < 1e-8 {
                converged = true;
                break;
            }
            let w: Tensor = &p * (1.0 - &p) / n as f64;
            let h = z.tr().matmul(&(&z * w.unsqueeze(1))) + pen.diag(0);
            let step = Tensor::linalg_solve(&h, &g, true);
            let (f0, mut a) = (objective(&theta), 1.0);
            while a > 1e-6 && objective(&(&theta - &step * a)) > f0 {
                a /= 2.0;
            }
            theta = &theta - &step * a;
            iterations += 1;
        }
        Self {
            mean,
            scale,
            theta,
            lambda,
            iterations,
            converged,
        }
    }

    /// P(class 1) per row of `x`.
    pub fn probabilities(&self, x: &Tensor) -> anyhow::Result<Vec<f64>> {
        let z = with_bias(&((x - &self.mean) / &self.scale));
        Ok(Vec::try_from(z.mv(&self.theta).sigmoid())?)
    }
}

/// A baseline fitted on `train` with its λ chosen on `val` (best accuracy, then lowest log
/// loss), and its scores on `test`.
pub struct Baseline {
    pub features: Features,
    pub model: Logistic,
    pub val_accuracy: f64,
    pub test_p: Vec<f64>,
}

fn labels(pics: &[Picture]) -> Vec<bool> {
    pics.iter().map(|p| p.face).collect()
}

fn log_loss(p: &[f64], y: &[bool]) -> f64 {
    let s: f64 = p
        .iter()
        .zip(y)
        .map(|(&p, &y)| -(if y { p } else { 1.0 - p }).clamp(1e-12, 1.0).ln())
        .sum();
    s / p.len().max(1) as f64
}

/// Fits `features` + logistic regression for every λ of [`LAMBDAS`] on `train`, keeps the one
/// validation prefers, and scores `test`.
pub fn fit(
    features: Features,
    train: &[Picture],
    val: &[Picture],
    test: &[Picture],
) -> anyhow::Result<Baseline> {
    let (xt, xv, xs) = (features.of(train)?, features.of(val)?, features.of(test)?);
    let (yt, yv) = (labels(train), labels(val));
    let mut best: Option<(f64, f64, Logistic)> = None;
    for lambda in LAMBDAS {
        let m = Logistic::fit(&xt, &yt, lambda);
        let p = m.probabilities(&xv)?;
        let (acc, ll) = (metrics::accuracy_at(&p, &yv, 0.5), log_loss(&p, &yv));
        let better = match &best {
            None => true,
            Some((a, l, _)) => acc > *a || (acc == *a && ll < *l),
        };
        if better {
            best = Some((acc, ll, m));
        }
    }
    let (val_accuracy, _, model) = best.ok_or_else(|| anyhow::anyhow!("no λ to try"))?;
    let test_p = model.probabilities(&xs)?;
    Ok(Baseline {
        features,
        model,
        val_accuracy,
        test_p,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Case {
        lambda: f64,
        p: Vec<f64>,
    }
    #[derive(serde::Deserialize)]
    struct Fixture {
        x: Vec<Vec<f64>>,
        y: Vec<u8>,
        cases: Vec<Case>,
    }

    /// scikit-learn's LogisticRegression (C = 1 / (λ N)) on the same standardised features,
    /// written by tools/logistic_fixture.py.
    #[test]
    fn newton_fit_matches_scikit_learn() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/logistic_sklearn.json"
        );
        let f: Fixture = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let rows: Vec<Tensor> = f.x.iter().map(|r| Tensor::from_slice(r)).collect();
        let x = Tensor::stack(&rows, 0);
        let y: Vec<bool> = f.y.iter().map(|&v| v == 1).collect();
        for c in &f.cases {
            let m = Logistic::fit(&x, &y, c.lambda);
            assert!(m.converged, "λ {}: {} iterations", c.lambda, m.iterations);
            let p = m.probabilities(&x).unwrap();
            let worst = p
                .iter()
                .zip(&c.p)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                worst < 1e-6,
                "λ {}: largest |p − sklearn| {worst}",
                c.lambda
            );
        }
    }

    #[test]
    fn feature_lengths() {
        let pics = crate::data::synthetic(1, kit::data::Part::Train, 4);
        assert_eq!(Features::Pixels.of(&pics).unwrap().size(), [4, 625]);
        assert_eq!(Features::Hog.of(&pics).unwrap().size(), [4, 576]);
    }
}
