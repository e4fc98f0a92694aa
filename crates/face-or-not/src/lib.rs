//! face-or-not: "classify whether an image has a human face or not" (the lecture's HW2P2).
//! A small CNN trained by the kit's loop on real photos (a folder, split by a stratified
//! k-fold) or on synthetic pictures, reported beside the baselines a reader tries first.
//!
//! Modules: [`config`] (typed YAML), [`data`] (pictures, the synthetic split, training additions, the dataset), [`folds`]
//! (k-fold and fixed splits of a folder),
//! [`pictures`] (the synthetic faces and non-faces), [`model`] (the CNN), [`train`] (the task in
//! kit's loop), [`baselines`] (pixel and HOG logistic regressions), [`eval`] (the report),
//! [`predict`] (a picture, or a photo by sliding window), [`app`] (the command line's hooks).

pub mod app;
pub mod baselines;
pub mod config;
pub mod data;
pub mod eval;
pub mod folds;
pub mod model;
pub mod pictures;
pub mod predict;
pub mod train;

/// The side of every input (scikit-image's `lfw_subset` is 25×25 grey).
pub const SIDE: u32 = 25;
