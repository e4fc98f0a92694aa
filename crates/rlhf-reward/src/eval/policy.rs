//! Policy metrics: gold and proxy reward, KL to the SFT policy, win rate, best-of-n, and the
//! over-optimisation curve.

use crate::config::Config;
use crate::data::{tokens, Pair};
use crate::model::{to_device, Lm, RewardModel};
use crate::synth;
use plot::{line_chart, Chart, Series};
use serde::Serialize;
use std::path::Path;
use tch::{Device, Kind};

/// Seed of the evaluation samples (the same responses at every evaluation of a checkpoint).
const EVAL_SEED: i64 = 1234;

#[derive(Debug, Clone, Serialize)]
pub struct PolicyEval {
    pub prompts: usize,
    pub gold_reward: Option<f64>,
    pub proxy_reward: Option<f64>,
    /// Mean of log π(y) − log π_ref(y) over y ~ π: an unbiased estimate of KL(π ‖ π_ref).
    pub kl: Option<f64>,
    /// Share of prompts where this policy's sample beats the SFT policy's under the gold
    /// reward (ties count one half).
    pub win_rate_vs_sft: Option<f64>,
    /// Toy: share of exactly right answers.
    pub exact: Option<f64>,
    /// Best-of-n only: the analytic upper bound log n − (n − 1)/n on its KL, exact only when
    /// the n samples are always distinct (Beirami et al. 2024); `kl` is the estimate.
    pub kl_bound: Option<f64>,
    /// (prompt, response, gold, proxy)
    pub samples: Vec<(String, String, Option<f64>, Option<f64>)>,
}

/// Share of prompts where `mine` (gold rewards) beats the gold reward of `base`'s response
/// for the same prompt; ties count one half.
fn win_rate(prompts: &[String], base: &[String], mine: &[f64]) -> f64 {
    let wins: Vec<f64> = prompts
        .iter()
        .zip(base)
        .zip(mine)
        .map(|((q, b), m)| {
            let theirs = synth::gold_reward(q, b).unwrap_or(-1.0);
            if *m > theirs {
                1.0
            } else if *m == theirs {
                0.5
            } else {
                0.0
            }
        })
        .collect();
    mean(&wins)
}

/// KL(π ‖ π_ref) estimated from samples y ~ π: the mean of log π(y) − log π_ref(y).
pub fn kl_estimate(logp: &[f64], logp_ref: &[f64]) -> f64 {
    mean(
        &logp
            .iter()
            .zip(logp_ref)
            .map(|(a, b)| a - b)
            .collect::<Vec<_>>(),
    )
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

impl PolicyEval {
    pub fn metrics(&self) -> Vec<(String, f64)> {
        [
            ("gold_reward", self.gold_reward),
            ("proxy_reward", self.proxy_reward),
            ("kl", self.kl),
            ("kl_bound", self.kl_bound),
            ("win_rate_vs_sft", self.win_rate_vs_sft),
            ("exact", self.exact),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect()
    }

    /// The first `n` samples as a markdown table (TensorBoard's Text tab).
    pub fn samples_markdown(&self, n: usize) -> String {
        let f = |v: &Option<f64>| v.map_or("–".into(), |x| format!("{x:.2}"));
        let mut s = String::from("| prompt | response | gold | proxy |\n|---|---|---|---|\n");
        for (p, r, g, q) in self.samples.iter().take(n) {
            s += &format!("| `{p}` | `{r}` | {} | {} |\n", f(g), f(q));
        }
        s
    }
}

/// Policy metrics on `prompts`: one sample each at the policy temperature (seeded).
pub fn evaluate_policy(
    policy: &Lm,
    reference: Option<&Lm>,
    judge: Option<&RewardModel>,
    prompts: &[String],
    cfg: &Config,
    device: Device,
) -> anyhow::Result<PolicyEval> {
    let (ml, p) = (cfg.data.max_len, &cfg.policy);
    tch::manual_seed(EVAL_SEED);
    let resp = policy.sample(prompts, 1, ml, p.max_new, p.temperature, device);
    let texts: Vec<(&str, &str)> = prompts
        .iter()
        .map(String::as_str)
        .zip(resp.iter().map(String::as_str))
        .collect();
    let gold: Option<Vec<f64>> = texts
        .iter()
        .map(|(p, r)| synth::gold_reward(p, r))
        .collect();
    let proxy = judge.map(|j| j.score_texts(&texts, ml, device));
    let (kl, win) = match reference {
        Some(r) => {
            let lp = policy.sampled_logprobs(&texts, ml, p.max_new, device);
            let lr = r.sampled_logprobs(&texts, ml, p.max_new, device);
            // log π is taken at temperature 1: samples at another one are not from π.
            let kl = kl_estimate(&lp, &lr);
            let kl = Some(kl).filter(|_| p.temperature == 1.0);
            tch::manual_seed(EVAL_SEED);
            let base = r.sample(prompts, 1, ml, p.max_new, p.temperature, device);
            let win = gold.as_ref().map(|g| win_rate(prompts, &base, g));
            (kl, win)
        }
        None => (None, None),
    };
    let exact = gold.as_ref().map(|_| {
        mean(
            &texts
                .iter()
                .map(|(p, r)| (synth::target(p).as_deref() == Some(*r)) as u8 as f64)
                .collect::<Vec<_>>(),
        )
    });
    let samples = texts
        .iter()
        .enumerate()
        .map(|(i, (p, r))| {
            (
                p.to_string(),
                r.to_string(),
                gold.as_ref().map(|g| g[i]),
                proxy.as_ref().map(|q| q[i]),
            )
        })
        .collect();
    Ok(PolicyEval {
        prompts: prompts.len(),
        gold_reward: gold.as_deref().map(mean),
        proxy_reward: proxy.as_deref().map(mean),
        kl,
        win_rate_vs_sft: win,
        exact,
        kl_bound: None,
        samples,
    })
}

/// Fresh samples per prompt that estimate the reward distribution for best-of-n's KL.
pub const BON_KL_SAMPLES: usize = 64;

/// One sample's term of KL(π_bon ‖ π), `log π_bon(y) − log π(y)`, for y picked as best of `n`.
/// With `below` = π(r(Y) < r(y)) and `p` = π(y), the best of n draws is y with probability
/// (below + p)ⁿ − belowⁿ (all n at or under r(y), not all strictly under; y is the only text
/// with its reward). Duplicates among the n draws are thus counted, which the bound ignores.
pub fn best_of_n_kl_term(logp: f64, below: f64, n: usize) -> f64 {
    let p = logp.exp();
    // At most 1 − π(y) of the mass can score below y; a sampled share above that (every fresh
    // sample below y, y itself not drawn) would give π_bon(y) = 0.
    let below = below.clamp(0.0, (1.0 - p).max(0.0));
    let at_most = (below + p).min(1.0);
    let bon = at_most.powi(n as i32) - below.powi(n as i32);
    bon.max(f64::MIN_POSITIVE).ln() - logp
}

/// Best-of-n on `policy`: n samples per prompt, the one the judge scores highest kept. Its KL
/// to the policy is estimated from the picked samples with [`best_of_n_kl_term`]: π(y) exact,
/// π(r(Y) < r(y)) from [`BON_KL_SAMPLES`] fresh samples per prompt (a plug-in estimate; needs
/// temperature 1, else `None`). The bound log n − (n − 1)/n is reported beside it.
pub fn best_of_n(
    policy: &Lm,
    judge: &RewardModel,
    prompts: &[String],
    n: usize,
    cfg: &Config,
    device: Device,
) -> anyhow::Result<PolicyEval> {
    let (ml, p) = (cfg.data.max_len, &cfg.policy);
    tch::manual_seed(EVAL_SEED);
    let resp = policy.sample(prompts, n, ml, p.max_new, p.temperature, device);
    let texts: Vec<(&str, &str)> = resp
        .iter()
        .enumerate()
        .map(|(i, r)| (prompts[i / n].as_str(), r.as_str()))
        .collect();
    let proxy = judge.score_texts(&texts, ml, device);
    let mut picked = Vec::new();
    for (g, chunk) in proxy.chunks(n).enumerate() {
        let best = (0..chunk.len())
            .max_by(|&a, &b| chunk[a].total_cmp(&chunk[b]))
            .unwrap_or(0);
        picked.push(g * n + best);
    }
    let gold: Option<Vec<f64>> = picked
        .iter()
        .map(|&i| synth::gold_reward(texts[i].0, texts[i].1))
        .collect();
    tch::manual_seed(EVAL_SEED);
    let base = policy.sample(prompts, 1, ml, p.max_new, p.temperature, device);
    let win = gold.as_ref().map(|g| win_rate(prompts, &base, g));
    let exact = gold.as_ref().map(|_| {
        mean(
            &picked
                .iter()
                .map(|&i| (synth::target(texts[i].0).as_deref() == Some(texts[i].1)) as u8 as f64)
                .collect::<Vec<_>>(),
        )
    });
    let kl = if p.temperature == 1.0 {
        let chosen: Vec<(&str, &str)> = picked.iter().map(|&i| texts[i]).collect();
        let lp = policy.sampled_logprobs(&chosen, ml, p.max_new, device);
        let m = BON_KL_SAMPLES;
        let fresh = policy.sample(prompts, m, ml, p.max_new, p.temperature, device);
        let fresh: Vec<(&str, &str)> = fresh
            .iter()
            .enumerate()
            .map(|(i, r)| (prompts[i / m].as_str(), r.as_str()))
            .collect();
        let scores = judge.score_texts(&fresh, ml, device);
        let terms: Vec<f64> = picked
            .iter()
            .zip(&lp)
            .zip(scores.chunks(m))
            .map(|((&i, &l), sc)| {
                let below = sc.iter().filter(|&&s| s < proxy[i]).count() as f64 / m as f64;

                best_of_n_kl_term(l, below, n)
            })
            .collect();
        Some(mean(&terms))
    } else {
        None
    };
    Ok(PolicyEval {
        prompts: prompts.len(),
        gold_reward: gold.as_deref().map(mean),
        proxy_reward: Some(mean(&picked.iter().map(|&i| proxy[i]).collect::<Vec<_>>())),
        kl,
        kl_bound: Some((n as f64).ln() - (n as f64 - 1.0) / n as f64),
        win_rate_vs_sft: win,
        exact,
        samples: picked
            .iter()
            .map(|&i| {
                (
                    texts[i].0.to_string(),
                    texts[i].1.to_string(),
                    synth::gold_reward(texts[i].0, texts[i].1),
                    Some(proxy[i]),
                )
            })
            .collect(),
    })
}

/// Appends one point (step, KL, gold, proxy) to RUN/overoptimisation.csv.
pub fn append_curve(run: &Path, step: u64, e: &PolicyEval) -> std::io::Result<()> {
    use std::io::Write;
    let path = run.join("overoptimisation.csv");
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    if new {
        writeln!(f, "step,kl,gold_reward,proxy_reward")?;
    }
    let g = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x}"));
    writeln!(
        f,
        "{step},{},{},{}",
        g(e.kl),
        g(e.gold_reward),
        g(e.proxy_reward)
    )
}

/// Gold and proxy reward against KL from RUN/overoptimisation.csv (None before two points).
pub fn curve_picture(run: &Path) -> anyhow::Result<Option<image::RgbImage>> {
    let text = std::fs::read_to_string(run.join("overoptimisation.csv")).unwrap_or_default();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|x| x.parse::<f64>().unwrap_or(f64::NAN))
                .collect()
        })
        .filter(|r: &Vec<f64>| r.len() == 4)
        .collect();
    if rows.len() < 2 {
        return Ok(None);
    }
    let pts = |k: usize| rows.iter().map(|r| (r[1], r[k])).collect::<Vec<_>>();
    let chart = Chart::new(
        "Reward over-optimisation",
        "KL(π ‖ π_SFT), nats",
        "mean reward",
    )
    .series(Series::new("gold reward", pts(2)))
    .series(Series::new("proxy (reward model)", pts(3)));
    Ok(Some(line_chart(&chart)?))
}

/// Mean per-sequence log-probability of `pairs`' chosen responses under `lm` (how well a
/// policy fits held-out preferred answers).
pub fn chosen_logprob(lm: &Lm, pairs: &[Pair], cfg: &Config, device: Device) -> f64 {
    let texts: Vec<(&str, &str)> = pairs
        .iter()
        .map(|p| (p.prompt.as_str(), p.chosen.as_str()))
        .collect();
    let t = to_device(&tokens(&texts, cfg.data.max_len), device);
    lm.seq_logprobs(&t).mean(Kind::Float).double_value(&[])
}
