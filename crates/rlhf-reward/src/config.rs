//! The typed config of rlhf-reward (see configs/rlhf-reward/default.yaml for every key). One
//! config type for the three stages, chosen by `stage`.

use kit::app::AppConfig;
use kit::config::{ensure, InvalidValue};
use kit::train::TrainConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub stage: Stage,
    pub data: DataConfig,
    pub model: ModelConfig,
    pub reward: RewardConfig,
    pub policy: PolicyConfig,
    pub eval: EvalConfig,
    pub train: TrainConfig,
}

/// What a run trains.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The base policy, by imitation of demonstrations.
    Sft,
    /// The reward model, Bradley–Terry on preference pairs.
    Reward,
    /// The aligned policy (DPO or RL), started from the SFT policy.
    Policy,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `toy` (built in, with a gold reward), or a folder with train.jsonl and test.jsonl.
    pub source: String,
    /// Toy prompts for training (demonstrations, pairs or RL prompts) and for testing.
    pub prompts: usize,
    pub test_prompts: usize,
    pub min_digits: usize,
    pub max_digits: usize,
    /// Demonstrator noise (per-digit error probability).
    pub demo_noise: f64,
    /// Bradley–Terry temperature of the synthetic labels: P(a ≻ b) = σ((gold_a − gold_b)/t).
    pub label_temperature: f64,
    /// Texts are cut to this many bytes.
    pub max_len: usize,
    /// The SFT run whose samples make the toy pairs (and that DPO / RL start from).
    pub sft_run: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub embed: i64,
    pub hidden: i64,
    /// Which bytes a policy's responses may hold: `ascii` (the built-in task) or `utf8` (any
    /// text, kept valid byte by byte; for preference files with non-ASCII responses).
    #[serde(default)]
    pub bytes: crate::text::TextBytes,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RewardConfig {
    /// TRL's `center_rewards_coefficient` (0 = off).
    pub center_coef: f64,
}

/// How the policy is aligned.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// DPO on the preference pairs against the frozen SFT policy.
    Dpo,
    /// On-policy REINFORCE with a leave-one-out baseline (RLOO) on the reward model's score
    /// minus kl_coef × the sequence KL to the SFT policy.
    Rl,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    pub method: Method,
    /// The reward-model run (RL's reward; the proxy reward every policy eval reports).
    pub reward_run: String,
    /// DPO's β.
    pub beta: f64,
    /// RL: weight of the KL penalty.
    pub kl_coef: f64,
    /// RL: responses sampled per prompt (the leave-one-out group).
    pub samples: usize,
    /// Sampling temperature (RL and evaluation).
    pub temperature: f64,
    /// Longest response sampled, in bytes.
    pub max_new: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvalConfig {
    /// Best-of-n baselines evaluated on the SFT policy (needs policy.reward_run).
    pub best_of: Vec<usize>,
}

impl AppConfig for Config {
    kit::train_section!();
    fn data_folder(&self) -> Option<std::path::PathBuf> {
        kit::app::folder_source(&self.data.source)
    }
    fn validate(&self) -> Result<(), InvalidValue> {
        let (d, m, p) = (&self.data, &self.model, &self.policy);
        ensure(
            d.min_digits >= 1 && d.min_digits <= d.max_digits && d.max_digits <= 10,
            "data.min_digits",
            || {
                format!(
                    "need 1 ≤ min_digits ≤ max_digits ≤ 10, got {} and {}",
                    d.min_digits, d.max_digits
                )
            },
        )?;
        ensure(
            (0.0..1.0).contains(&d.demo_noise),
            "data.demo_noise",
            || format!("must be in [0, 1), got {}", d.demo_noise),
        )?;
        ensure(d.label_temperature > 0.0, "data.label_temperature", || {
            format!("must be > 0, got {}", d.label_temperature)
        })?;
        ensure(d.max_len >= 4, "data.max_len", || "must be ≥ 4".into())?;
        ensure(d.test_prompts >= 1, "data.test_prompts", || {
            "must be ≥ 1".into()
        })?;
        ensure(d.source != "toy" || d.prompts >= 1, "data.prompts", || {
            "must be ≥ 1: the built-in data draws this many training prompts".into()
        })?;
        ensure(m.embed >= 1 && m.hidden >= 1, "model.hidden", || {
            "model.embed and model.hidden must be ≥ 1".into()
        })?;
        ensure(p.beta > 0.0, "policy.beta", || {
            format!("must be > 0, got {}", p.beta)
        })?;
        ensure(p.kl_coef >= 0.0, "policy.kl_coef", || {
            format!("must be ≥ 0, got {}", p.kl_coef)
        })?;
        ensure(p.samples >= 2, "policy.samples", || {
            format!(
                "the leave-one-out baseline needs ≥ 2 samples per prompt, got {}",
                p.samples
            )
        })?;
        ensure(p.temperature >= 0.0, "policy.temperature", || {
            "must be ≥ 0".into()
        })?;
        // RLOO's gradient and its KL use log π at temperature 1: samples drawn at another
        // temperature would make the update silently off-policy, and at 0 the k samples are
        // identical, every leave-one-out advantage is 0 and nothing is learnt.
        ensure(
            !(self.stage == Stage::Policy && p.method == Method::Rl && p.temperature != 1.0),
            "policy.temperature",
            || {
                format!(
                    "RL samples from the policy it updates, so it needs 1.0 (got {}): log π and \
                     the KL are taken at temperature 1",
                    p.temperature
                )
            },
        )?;
        ensure(
            p.temperature != 0.0 || self.eval.best_of.is_empty(),
            "policy.temperature",
            || {
                "0 (greedy) makes best-of-n's n samples identical: use a temperature > 0 or \
                 set eval.best_of: []"
                    .into()
            },
        )?;
        let needs_sft =
            self.stage == Stage::Policy || (self.stage == Stage::Reward && d.source == "toy");
        ensure(!needs_sft || !d.sft_run.is_empty(), "data.sft_run", || {
            "name the SFT run (train configs/rlhf-reward/sft.yaml first, e.g. --name sft)".into()
        })?;
        ensure(
            !(self.stage == Stage::Policy && p.method == Method::Rl && p.reward_run.is_empty()),
            "policy.reward_run",
            || {
                "RL needs the reward-model run (train configs/rlhf-reward/default.yaml first)"
                    .into()
            },
        )?;
        Ok(())
    }
}
