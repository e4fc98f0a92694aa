//! mix-match: the lecture's final project — one shared backbone, a head and a loss per task.
//! [`config`] (typed YAML: which tasks, which loss each, how they are weighted), [`synth`] (the
//! shared scenes with boxes and masks), [`data`] (datasets and batch targets), [`model`] (backbone
//! and detection, segmentation and variational heads), [`train`] (the task in kit's loop), [`eval`]
//! (AP, Dice, −ELBO), [`predict`] (boxes + mask + reconstruction on one picture), [`app`].

pub mod app;
pub mod config;
pub mod data;
pub mod eval;
pub mod model;
pub mod predict;
pub mod synth;
pub mod train;
