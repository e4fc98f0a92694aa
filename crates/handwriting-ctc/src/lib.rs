//! handwriting-ctc: read handwritten strings with CTC. `glyphs` + `render` (synthetic
//! handwriting), `data` (synthetic, MNIST digit strings, labels.tsv folders), `model` (CRNN),
//! `train` (the task in kit's loop + CER/WER), `predict`, `viz` (alignment picture).

pub mod config;
pub mod data;
pub mod glyphs;
pub mod model;
pub mod predict;
pub mod render;
pub mod train;
pub mod viz;
