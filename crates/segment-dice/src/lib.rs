//! segment-dice: tumour segmentation with Dice (+CE) under extreme class imbalance.
//! `config` (typed YAML), `synth` (the seeded synthetic slices), `data` (datasets: synthetic and
//! the images/masks folder format),
//! `model` (U-Net), `train` (the task in kit's loop), `eval` (Dice / IoU / FP rate / HD95),
//! `predict` (mask + overlay for one slice), `app` (the shared command line's hooks).

pub mod app;
pub mod config;
pub mod data;
pub mod eval;
pub mod model;
pub mod predict;
pub mod synth;
pub mod train;
