//! What each stage trains and is tested on: the toy prompts, demonstrations and labelled pairs
//! (or a JSONL folder), and the frozen models other runs provide (the SFT reference, the
//! reward-model judge).

use crate::config::{Config, Method, Stage};
use crate::data::{Example, Pair};
use crate::model::{Lm, RewardModel};
use crate::synth;
use anyhow::Context;
use kit::checkpoint::Checkpoint;
use kit::data::{content_part, rng_for, Part};
use kit::rundir::RunDir;
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
    r.check_app(crate::NAME)
        .with_context(|| format!("data.sft_run must name an rlhf-reward SFT run, got {run}"))?;
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
    r.check_app(crate::NAME).with_context(|| {
        format!("policy.reward_run must name an rlhf-reward reward-model run, got {run}")
    })?;
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

/// `n` toy prompts of one part of the chain's prompt universe, drawn from the stream of `seed`.
/// The universe is split once, by each prompt's content ([`kit::data::content_part`]): every
/// stage, seed and config keeps only the prompts of the part it asks for, so no validation or
/// test prompt of any stage is a training prompt of any other (SFT, reward model, DPO / RL),
/// which seeded streams of different lengths could not promise. Prompts may repeat within a
/// part. Fails when the prompt space is too small to find `n` of them.
pub fn toy_prompts(cfg: &Config, n: usize, seed: u64, part: Part) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0u64;
    while out.len() < n {
        anyhow::ensure!(
            i < 100 * n as u64 + 1000,
            "only {} of {n} toy prompts of the {part:?} part were found: the toy prompt space is \
             too small (raise data.max_digits)",
            out.len()
        );
        let p = synth::prompt(
            &mut rng_for(seed, 21, i),
            cfg.data.min_digits,
            cfg.data.max_digits,
        );
        if content_part(p.as_bytes()) == part {
            out.push(p);
        }
        i += 1;
    }
    Ok(out)
}

/// Toy preference pairs: two responses per prompt sampled from `sft` (temperature 1), gold
/// rewards, and a label drawn from Bradley–Terry on the gold rewards at the label temperature.
/// A prompt whose two responses come out equal is re-sampled (up to 8 rounds) and dropped if
/// they stay equal: a pair of identical texts has a coin-flip label and teaches nothing.
pub fn toy_pairs(
    sft: &Lm,
    prompts: &[String],
    cfg: &Config,
    seed: u64,
    device: Device,
) -> Vec<Pair> {
    tch::manual_seed(seed as i64);
    let d = &cfg.data;
    let sample = |ps: &[String]| {
        tch::no_grad(|| sft.sample(ps, 2, d.max_len, cfg.policy.max_new, 1.0, device))
    };
    let mut resp = sample(prompts);
    for _ in 0..8 {
        let same: Vec<usize> = (0..prompts.len())
            .filter(|&i| resp[2 * i] == resp[2 * i + 1])
            .collect();
        if same.is_empty() {
            break;
        }
        let again = sample(&same.iter().map(|&i| prompts[i].clone()).collect::<Vec<_>>());
        for (k, &i) in same.iter().enumerate() {
            resp[2 * i + 1] = again[2 * k + 1].clone();
        }
    }
    distinct_pairs(prompts, &resp, cfg, seed)
}

/// Toy pairs whose two responses come from the demonstrator itself (what `synth` writes when
/// no SFT run is named); the second response is re-drawn (up to 64 times) until it differs.
pub fn demo_pairs(prompts: &[String], cfg: &Config, seed: u64) -> Vec<Pair> {
    let demo = |i: usize, stream: u64| {
        synth::demonstrate(
            &prompts[i],
            cfg.data.demo_noise,
            &mut rng_for(seed, stream, i as u64),
        )
    };
    let mut resp = Vec::with_capacity(prompts.len() * 2);
    for i in 0..prompts.len() {
        let a = demo(i, 24);
        let b = (0..64)
            .map(|k| demo(i, 1000 + k))
            .find(|b| *b != a)
            .unwrap_or_else(|| a.clone());
        resp.extend([a, b]);
    }
    distinct_pairs(prompts, &resp, cfg, seed)
}

/// [`label_pairs`] of the prompts whose two responses differ.
fn distinct_pairs(prompts: &[String], resp: &[String], cfg: &Config, seed: u64) -> Vec<Pair> {
    label_pairs(prompts, resp, cfg, seed)
        .into_iter()
        .filter(|p| p.chosen != p.rejected)
        .collect()
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
                synth::gold_reward(p, a).unwrap_or(-1.0),
                synth::gold_reward(p, b).unwrap_or(-1.0),
            );
            let a_wins = rng_for(seed, 22, i as u64).random_bool(synth::p_prefer(
                ga,
                gb,
                d.label_temperature,
            ));
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

/// The pairs of one JSONL file, with what was skipped or truncated printed.
pub fn read_pairs(path: &Path, max_len: usize) -> anyhow::Result<Vec<Pair>> {
    let f = crate::pairs::read_jsonl(path, max_len)?;
    crate::pairs::report(path, &f, max_len);
    Ok(f.pairs)
}

/// The held-out set of a JSONL file: its pairs, and their prompts.
pub fn pair_set(file: &Path, max_len: usize) -> anyhow::Result<TestSet> {
    let pairs = read_pairs(file, max_len)?;
    let prompts = pairs.iter().map(|p| p.prompt.clone()).collect();
    Ok(TestSet { prompts, pairs })
}

/// What `eval --data PATH [--split val]` scores: a `.jsonl` file itself, or the folder's
/// `test.jsonl` (`val.jsonl` with `--split val`); prompts alone for the RL stage.
pub fn folder_eval(path: &Path, split: kit::cli::Split, cfg: &Config) -> anyhow::Result<TestSet> {
    let file = match split {
        kit::cli::Split::Val if !path.is_file() => path.join("val.jsonl"),
        _ if path.is_file() => path.to_path_buf(),
        _ => path.join("test.jsonl"),
    };
    if rl(cfg) {
        crate::prompts::prompt_set(&file, cfg.data.max_len)
    } else {
        pair_set(&file, cfg.data.max_len)
    }
}

/// Whether the config's stage is RL on prompts (it reads prompts, not pairs).
fn rl(cfg: &Config) -> bool {
    cfg.stage == Stage::Policy && cfg.policy.method == Method::Rl
}

/// Whether the config's stage learns from preference pairs.
fn needs_pairs(cfg: &Config) -> bool {
    cfg.stage == Stage::Reward || (cfg.stage == Stage::Policy && cfg.policy.method == Method::Dpo)
}

/// The toy task's three prompt sets: training, validation (checkpoint selection) and test
/// (`eval` only), each from its own part of the prompt universe ([`toy_prompts`]).
pub fn toy_splits(cfg: &Config) -> anyhow::Result<[Vec<String>; 3]> {
    let (d, seed) = (&cfg.data, cfg.train.seed);
    Ok([
        toy_prompts(cfg, d.prompts, seed, Part::Train)?,
        toy_prompts(cfg, d.test_prompts, kit::data::val_seed(seed), Part::Val)?,
        toy_prompts(cfg, d.test_prompts, kit::data::test_seed(seed), Part::Test)?,
    ])
}

/// What `eval` scores without `--data`: the config's test split, which training never read
/// (checkpoints were selected on validation), and nothing only training uses (a folder
/// run's `train.jsonl` may be gone).
pub fn test_set(cfg: &Config, device: Device) -> anyhow::Result<TestSet> {
    let d = &cfg.data;
    if d.source != "toy" {
        return folder_eval(Path::new(&d.source), kit::cli::Split::Test, cfg);
    }
    let [_, _, prompts] = toy_splits(cfg)?;
    let pairs = if needs_pairs(cfg) {
        let sft = load_policy(&d.sft_run, cfg, device)?;
        toy_pairs(
            &sft.model,
            &prompts,
            cfg,
            kit::data::test_seed(cfg.train.seed),
            device,
        )
    } else {
        Vec::new()
    };
    Ok(TestSet { prompts, pairs })
}

/// A folder's validation pairs: `val.jsonl`, or when there is none a seeded 10% of the
/// training pairs (at least one), taken out of training; says which.
fn folder_val(
    root: &Path,
    train: &mut Vec<Pair>,
    seed: u64,
    max_len: usize,
) -> anyhow::Result<TestSet> {
    let file = root.join("val.jsonl");
    if file.is_file() {
        return pair_set(&file, max_len);
    }
    let pairs = kit::data::hold_out_validation(train, seed).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no val.jsonl, and too few training pairs to hold some out for validation",
            root.display()
        )
    })?;
    println!(
        "{}: no val.jsonl; {} of the training pairs (a seeded 10%) hold out for validation",
        root.display(),
        pairs.len()
    );
    let prompts = pairs.iter().map(|p| p.prompt.clone()).collect();
    Ok(TestSet { prompts, pairs })
}

/// Training examples of the config's stage and the validation set (what training evaluates
/// and selects its best checkpoint on; the test set is [`test_set`], read by `eval` only).
pub fn sources(cfg: &Config, device: Device) -> anyhow::Result<(Vec<Example>, TestSet)> {
    let d = &cfg.data;
    let seed = cfg.train.seed;
    let val = kit::data::val_seed(seed);
    let (train_pairs, held): (Vec<Pair>, TestSet) = if d.source == "toy" {
        let [train_prompts, val_prompts, _] = toy_splits(cfg)?;
        if needs_pairs(cfg) {
            let sft = load_policy(&d.sft_run, cfg, device)?;
            let train = toy_pairs(&sft.model, &train_prompts, cfg, seed, device);
            let val_pairs = toy_pairs(&sft.model, &val_prompts, cfg, val, device);
            (
                train,
                TestSet {
                    prompts: val_prompts,
                    pairs: val_pairs,
                },
            )
        } else {
            (
                Vec::new(),
                TestSet {
                    prompts: val_prompts,
                    pairs: Vec::new(),
                },
            )
        }
    } else if rl(cfg) {
        return crate::prompts::rl_folder(cfg);
    } else {
        let root = Path::new(&d.source);
        let file = root.join("train.jsonl");
        let mut train = read_pairs(&file, d.max_len)?;
        let policy_learns_text = cfg.stage == Stage::Sft
            || (cfg.stage == Stage::Policy && cfg.policy.method == Method::Dpo);
        if policy_learns_text && cfg.model.bytes == crate::text::TextBytes::Ascii {
            if let Some(k) = train
                .iter()
                .position(|p| !p.chosen.is_ascii() || !p.rejected.is_ascii())
            {
                anyhow::bail!(
                    "{}: pair {} has a non-ASCII response, and a policy with model.bytes: ascii \
                     cannot write one: set model.bytes: utf8 (any text, kept valid UTF-8 byte by \
                     byte), or train a reward model (stage: reward reads any UTF-8)",
                    file.display(),
                    k + 1
                );
            }
        }
        let held = folder_val(root, &mut train, seed, d.max_len)?;
        (train, held)
    };
    let examples = match cfg.stage {
        Stage::Sft if d.source == "toy" => toy_prompts(cfg, d.prompts, seed, Part::Train)?
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let response =
                    synth::demonstrate(&p, d.demo_noise, &mut rng_for(seed, 23, i as u64));
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
            Method::Rl if d.source == "toy" => toy_prompts(cfg, d.prompts, seed, Part::Train)?
                .into_iter()
                .map(Example::Prompt)
                .collect(),
            Method::Rl => train_pairs
                .into_iter()
                .map(|p| Example::Prompt(p.prompt))
                .collect(),
        },
    };
    Ok((examples, held))
}
