//! segment-dice: tumour segmentation with Dice (+CE) under extreme class imbalance. [`config`]
//! (typed YAML), [`synth`] (the seeded synthetic slices), [`data`] (the datasets: synthetic, PNG
//! slices, NIfTI volumes), [`png`] (the images/masks folder format), [`volumes`] (NIfTI files:
//! layouts, reading, writing), [`brats`] (BraTS 2021 case folders), [`volume_set`] (volumes as slices), [`model`] (U-Net), [`train`]
//! (the task in kit's loop), [`eval`] (Dice / IoU / FP rate / HD95 per slice, 3-D Dice / HD95 in mm
//! per volume), [`predict`] (mask + overlay for one slice, a label volume for a NIfTI image),
//! [`app`] (the shared command line's hooks).

pub mod app;
pub mod brats;
pub mod config;
pub mod data;
pub mod eval;
pub mod model;
pub mod png;
pub mod predict;
pub mod synth;
pub mod train;
pub mod volume_set;
pub mod volumes;
