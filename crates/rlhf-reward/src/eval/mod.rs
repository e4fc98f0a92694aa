//! What the field reports. Reward model: pair accuracy next to the Bayes ceiling and the gold
//! reward's own accuracy on the (noisy) labels, calibration (ECE of σ(r_c − r_r)), rank
//! correlation with the gold reward. Policy: gold and proxy reward, KL(π ‖ π_ref) estimated
//! from samples, win rate against the SFT policy under the gold reward, sample texts; the
//! over-optimisation curve (gold and proxy against KL); best-of-n baselines.

mod policy;

pub use policy::{
    append_curve, best_of_n, best_of_n_kl_term, chosen_logprob, curve_picture, evaluate_policy,
    kl_estimate, PolicyEval, BON_KL_SAMPLES,
};

use crate::config::Config;
use crate::data::Pair;
use crate::model::RewardModel;
use crate::synth;
use serde::Serialize;
use tch::Device;

#[derive(Debug, Clone, Serialize)]
pub struct RewardEval {
    pub pairs: usize,
    pub accuracy: f64,
    /// Expected calibration error of P(chosen ≻ rejected) = σ(r_c − r_r), 10 bins.
    pub ece: f64,
    /// Toy data: the best accuracy any model can have on these labels, and how often the
    /// gold reward itself agrees with them.
    pub bayes_ceiling: Option<f64>,
    pub gold_label_accuracy: Option<f64>,
    /// Spearman correlation of the model's reward with the gold reward over all test responses.
    pub spearman_gold: Option<f64>,
    #[serde(skip)]
    pub margins: Vec<f64>,
    #[serde(skip)]
    pub chosen: Vec<f64>,
    #[serde(skip)]
    pub rejected: Vec<f64>,
}

impl RewardEval {
    pub fn metrics(&self) -> Vec<(String, f64)> {
        let mut m = vec![
            ("accuracy".to_string(), self.accuracy),
            ("ece".into(), self.ece),
        ];
        for (k, v) in [
            ("bayes_ceiling", self.bayes_ceiling),
            ("gold_label_accuracy", self.gold_label_accuracy),
            ("spearman_gold", self.spearman_gold),
        ] {
            if let Some(v) = v {
                m.push((k.into(), v));
            }
        }
        m
    }
}

/// Expected calibration error of predicted probabilities that the first item wins, all of
/// whose labels are "first wins": 10 equal-width bins of confidence max(p, 1 − p).
pub fn ece(p_first: &[f64]) -> f64 {
    let mut bins = [(0.0f64, 0.0f64, 0usize); 10];
    for &p in p_first {
        let conf = p.max(1.0 - p);
        let b = (((conf - 0.5) * 2.0 * 10.0) as usize).min(9);
        bins[b].0 += conf;
        bins[b].1 += (p > 0.5) as u8 as f64;
        bins[b].2 += 1;
    }
    let n = p_first.len().max(1) as f64;
    bins.iter()
        .filter(|b| b.2 > 0)
        .map(|&(conf, right, k)| (right / k as f64 - conf / k as f64).abs() * k as f64 / n)
        .sum()
}

/// Ranks (1-based, ties averaged).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            r[idx[k]] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation (Pearson correlation of tie-averaged ranks).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// The reward model on held-out pairs.
pub fn evaluate_reward(
    rm: &RewardModel,
    pairs: &[Pair],
    cfg: &Config,
    device: Device,
) -> anyhow::Result<RewardEval> {
    anyhow::ensure!(!pairs.is_empty(), "no test pairs");
    let ml = cfg.data.max_len;
    let refs: Vec<&Pair> = pairs.iter().collect();
    let (c, r) = crate::data::pair_texts(&refs);
    let (rc, rr) = (
        rm.score_texts(&c, ml, device),
        rm.score_texts(&r, ml, device),
    );
    let margins: Vec<f64> = rc.iter().zip(&rr).map(|(a, b)| a - b).collect();
    let accuracy = margins
        .iter()
        .map(|m| {
            if *m > 0.0 {
                1.0
            } else if *m == 0.0 {
                0.5
            } else {
                0.0
            }
        })
        .sum::<f64>()
        / margins.len() as f64;
    let p: Vec<f64> = margins.iter().map(|m| 1.0 / (1.0 + (-m).exp())).collect();
    let gold: Option<Vec<(f64, f64)>> = pairs
        .iter()
        .map(|p| p.gold_chosen.zip(p.gold_rejected))
        .collect();
    let (bayes_ceiling, gold_label_accuracy, spearman_gold) = match &gold {
        Some(g) => {
            let t = cfg.data.label_temperature;
            let agree = g
                .iter()
                .map(|(a, b)| {
                    if a > b {
                        1.0
                    } else if a == b {
                        0.5
                    } else {
                        0.0
                    }
                })
                .sum::<f64>()
                / g.len() as f64;
            let mine: Vec<f64> = rc.iter().chain(&rr).copied().collect();
            let theirs: Vec<f64> = g.iter().map(|x| x.0).chain(g.iter().map(|x| x.1)).collect();
            (
                Some(synth::bayes_ceiling(g, t)),
                Some(agree),
                Some(spearman(&mine, &theirs)),
            )
        }
        None => (None, None, None),
    };
    Ok(RewardEval {
        pairs: pairs.len(),
        accuracy,
        ece: ece(&p),
        bayes_ceiling,
        gold_label_accuracy,
        spearman_gold,
        margins,
        chosen: rc,
        rejected: rr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ece_and_spearman_by_hand() {
        // Two pairs at p = 0.9 (both right: acc 1, conf 0.9), two at p = 0.3 (conf 0.7, both
        // wrong: acc 0): ECE = ½·0.1 + ½·0.7 = 0.4.
        assert!((ece(&[0.9, 0.9, 0.3, 0.3]) - 0.4).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // Ties get averaged ranks: [1, 2.5, 2.5] vs [1, 2, 3] → r = 0.866.
        assert!((spearman(&[0.0, 5.0, 5.0], &[1.0, 2.0, 3.0]) - 0.75f64.sqrt()).abs() < 1e-12);
    }
}
