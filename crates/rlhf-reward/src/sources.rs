//! What each stage trains and is tested on: the toy prompts, demonstrations and labelled pairs
//! (or a JSONL folder), and the frozen models other runs provide (the SFT reference, the
//! reward-model judge).

use crate::config::{Config, Method, Stage};
use crate::data::{Example, Pair};
use crate::model::{Lm, RewardModel};
use crate::toy;
use anyhow::Context;
use kit::data::rng_for;
use kit::rundir::{Checkpoint, RunDir};
use rand::Rng;
use std::path::Path;
use tch::{nn, Device};

/// A frozen model loaded from another run.
pub struct Frozen<M> {
    pub vs: nn::VarStore,
    pub model: M,
}

/// The policy of a run (best checkpoint), frozen.
pub fn load_policy(run: &str, cfg: &Config, device: Device) -> anyhow::Result<Frozen<Lm>> {
    let mut vs = nn::VarStore::new(device);
    let model = Lm::new(&vs.root(), &cfg.model);
    let r = RunDir::open(Path::new(run)).with_context(|| format!("opening the SFT run {run}"))?;
    Checkpoint::read(&r.best())?
        .load_model(&mut vs)
        .with_context(|| format!("{run}: not a policy of this model size"))?;
    vs.freeze();
    Ok(Frozen { vs, model })
}

/// The reward model of a run (best checkpoint), frozen.
pub fn load_judge(run: &str, cfg: &Config, device: Device) -> anyhow::Result<Frozen<RewardModel>> {
    let mut vs = nn::VarStore::new(device);
    let model = RewardModel::new(&vs.root(), &cfg.model);
    let r = RunDir::open(Path::new(run))
        .with_context(|| format!("opening the reward-model run {run}"))?;
    Checkpoint::read(&r.best())?
        .load_model(&mut vs)
        .with_context(|| format!("{run}: not a reward model of this size"))?;
    vs.freeze();
    Ok(Frozen { vs, model })
}

/// Held-out data: prompts (policy evaluation) and pairs (reward-model evaluation, DPO).
#[derive(Default)]
pub struct TestSet {
    pub prompts: Vec<String>,
    pub pairs: Vec<Pair>,
}

/// Toy prompts of `seed`.
pub fn toy_prompts(cfg: &Config, n: usize, seed: u64) -> Vec<String> {
    (0..n)
        .map(|i| {
            toy::prompt(
                &mut rng_for(seed, 21, i as u64),
                cfg.data.min_digits,
                cfg.data.max_digits,
            )
        })
        .collect()
}

/// Toy preference pairs: two responses per prompt sampled from `sft` (temperature 1), gold
/// rewards, and a label drawn from Bradley–Terry on the gold rewards at the label temperature.
pub fn toy_pairs(
    sft: &Lm,
    prompts: &[String],
    cfg: &Config,
    seed: u64,
    device: Device,
) -> Vec<Pair> {
    tch::manual_seed(seed as i64);
    let d = &cfg.data;
    let resp = tch::no_grad(|| sft.sample(prompts, 2, d.max_len, cfg.policy.max_new, 1.0, device));
    label_pairs(prompts, &resp, cfg, seed)
}

/// Toy pairs whose two responses come from the demonstrator itself (what `synth` writes when
/// no SFT run is named).
pub fn demo_pairs(prompts: &[String], cfg: &Config, seed: u64) -> Vec<Pair> {
    let resp: Vec<String> = (0..prompts.len() * 2)
        .map(|i| {
            toy::demonstrate(
                &prompts[i / 2],
                cfg.data.demo_noise,
                &mut rng_for(seed, 24, i as u64),
            )
        })
        .collect();
    label_pairs(prompts, &resp, cfg, seed)
}

/// Labels two responses per prompt (`resp[2i]`, `resp[2i + 1]`) by Bradley–Terry on their
/// gold rewards at the label temperature.
pub fn label_pairs(prompts: &[String], resp: &[String], cfg: &Config, seed: u64) -> Vec<Pair> {
    let d = &cfg.data;
    prompts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (a, b) = (&resp[2 * i], &resp[2 * i + 1]);
            let (ga, gb) = (
                toy::gold_reward(p, a).unwrap_or(-1.0),
                toy::gold_reward(p, b).unwrap_or(-1.0),
            );
            let a_wins =
                rng_for(seed, 22, i as u64).random_bool(toy::p_prefer(ga, gb, d.label_temperature));
            let (c, r, gc, gr) = if a_wins {
                (a, b, ga, gb)
            } else {
                (b, a, gb, ga)
            };
            Pair {
                prompt: p.clone(),
                chosen: c.clone(),
                rejected: r.clone(),
                gold_chosen: Some(gc),
                gold_rejected: Some(gr),
            }
        })
        .collect()
}

/// Training examples and the test set of the config's stage.
pub fn sources(cfg: &Config, device: Device) -> anyhow::Result<(Vec<Example>, TestSet)> {
    let d = &cfg.data;
    let seed = cfg.train.seed;
    let val = kit::data::val_seed(seed);
    let needs_pairs = cfg.stage == Stage::Reward
        || (cfg.stage == Stage::Policy && cfg.policy.method == Method::Dpo);
    let (train_pairs, test): (Vec<Pair>, TestSet) = if d.source == "toy" {
        let test_prompts = toy_prompts(cfg, d.test_prompts, val);
        if needs_pairs {
            let sft = load_policy(&d.sft_run, cfg, device)?;
            let train = toy_pairs(
                &sft.model,
                &toy_prompts(cfg, d.prompts, seed),
                cfg,
                seed,
                device,
            );
            let test_pairs = toy_pairs(&sft.model, &test_prompts, cfg, val, device);
            (
                train,
                TestSet {
                    prompts: test_prompts,
                    pairs: test_pairs,
                },
            )
        } else {
            (
                Vec::new(),
                TestSet {
                    prompts: test_prompts,
                    pairs: Vec::new(),
                },
            )
        }
    } else {
        let root = Path::new(&d.source);
        let (train, long_a) = crate::data::read_jsonl(&root.join("train.jsonl"), d.max_len)?;
        let (test, long_b) = crate::data::read_jsonl(&root.join("test.jsonl"), d.max_len)?;
        if long_a + long_b > 0 {
            println!(
                "{} texts longer than data.max_len = {} bytes are truncated",
                long_a + long_b,
                d.max_len
            );
        }
        let prompts = test.iter().map(|p| p.prompt.clone()).collect();
        (
            train,
            TestSet {
                prompts,
                pairs: test,
            },
        )
    };
    let examples = match cfg.stage {
        Stage::Sft if d.source == "toy" => toy_prompts(cfg, d.prompts, seed)
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let response = toy::demonstrate(&p, d.demo_noise, &mut rng_for(seed, 23, i as u64));
                Example::Demo {
                    prompt: p,
                    response,
                }
            })
            .collect(),
        // A folder's chosen responses are the demonstrations.
        Stage::Sft => train_pairs
            .into_iter()
            .map(|p| Example::Demo {
                prompt: p.prompt,
                response: p.chosen,
            })
            .collect(),
        Stage::Reward => train_pairs.into_iter().map(Example::Pair).collect(),
        Stage::Policy => match cfg.policy.method {
            Method::Dpo => train_pairs.into_iter().map(Example::Pair).collect(),
            Method::Rl if d.source == "toy" => toy_prompts(cfg, d.prompts, seed)
                .into_iter()
                .map(Example::Prompt)
                .collect(),
            Method::Rl => train_pairs
                .into_iter()
                .map(|p| Example::Prompt(p.prompt))
                .collect(),
        },
    };
    Ok((examples, test))
}
