//! style-transfer: perceptual and Gram-matrix style losses (loss-zoo's `perceptual`) used two ways
//! — optimising one picture's pixels (Gatys et al. 2016, [`optimize`]) and training a feed-forward
//! stylizer (Johnson et al. 2016, [`train`] / [`predict`]). [`config`] (typed YAML), [`data`]
//! (content pictures, the style picture), [`synth`] (built-in scenes and painting), [`features`]
//! (VGG-19 as torchvision lays it out, random multi-scale filters, the objective), [`model`] (the
//! transformer), [`train`] (the task in kit's loop), [`optimize`], [`eval`] (scores in an
//! independent feature network), [`predict`], [`app`] (the shared command line's hooks).

// `a = a + b` on tensors on purpose: `+=` is an in-place op that can invalidate values autograd
// saved for backward.
#![allow(clippy::assign_op_pattern)]

pub mod app;
pub mod config;
pub mod data;
pub mod eval;
pub mod features;
pub mod model;
pub mod optimize;
pub mod predict;
pub mod synth;
pub mod train;
