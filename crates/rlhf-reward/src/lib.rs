//! rlhf-reward: the RLHF loop at CPU scale. [`config`] (typed YAML), [`synth`] (a task with a known
//! gold reward), [`sources`] (what each stage trains and is tested on), [`data`] (batches, byte
//! tokens), [`pairs`] (preference JSONL in the field's layouts), [`prompts`] (the RL stage's prompt files), [`text`] (what a policy may write
//! next), [`model`] (GRU policy and reward model), [`train`] (the sft / reward / policy stages in
//! kit's loop: Bradley–Terry, DPO, RLOO), [`eval`] (reward-model accuracy vs the Bayes ceiling,
//! calibration; policy gold / proxy reward, KL, win rate, best-of-n, the over-optimisation curve),
//! [`app`] (the shared command line's hooks).

pub mod app;
pub mod config;
pub mod data;
pub mod eval;
pub mod model;
pub mod pairs;
pub mod prompts;
pub mod sources;
pub mod synth;
pub mod text;
pub mod train;

/// The binary's name, also the folder under `runs/`.
pub const NAME: &str = "rlhf-reward";
