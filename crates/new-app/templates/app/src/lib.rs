//! __NAME__, made by `just new-app __NAME__ --loss __LOSS__`: `problem` (the synthetic problem,
//! its loss and metric: start here), `config` (typed YAML), `synth` + `data` (samples, the
//! CSV folder format), `model` (an MLP), `train` (the task in kit's loop), `eval`, `predict`,
//! `app` (the shared command line's hooks).

pub mod app;
pub mod config;
pub mod data;
pub mod eval;
pub mod model;
pub mod predict;
pub mod problem;
pub mod synth;
pub mod train;
