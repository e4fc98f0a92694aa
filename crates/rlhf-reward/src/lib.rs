//! rlhf-reward: the RLHF loop at CPU scale. `toy` (a task with a known gold reward),
//! `data` (pairs, JSONL, byte tokens), `model` (GRU policy and reward model), `train` (the
//! sft / reward / policy stages in kit's loop: Bradley–Terry, DPO, RLOO), `eval` (reward-model
//! accuracy vs the Bayes ceiling, calibration; policy gold / proxy reward, KL, win rate,
//! best-of-n, the over-optimisation curve), `app` (the shared command line's hooks).

pub mod app;
pub mod config;
pub mod data;
pub mod eval;
pub mod model;
pub mod pairs;
pub mod sources;
pub mod synth;
pub mod text;
pub mod train;

/// The binary's name, also the folder under `runs/`.
pub const NAME: &str = "rlhf-reward";
