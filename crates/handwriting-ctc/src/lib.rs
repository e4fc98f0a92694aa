//! handwriting-ctc: read handwritten strings with CTC. [`config`] (typed YAML), [`glyphs`] +
//! [`synth`] (synthetic handwriting), [`data`] (synthetic, MNIST digit strings, labels.tsv
//! folders), [`layouts`] (IAM and CSV as downloaded), [`batch`] (padded batches), [`model`] (CRNN), [`train`] (the task in kit's loop),
//! [`eval`] (CER / WER / string accuracy), [`predict`], [`viz`] (alignment picture), [`app`] (the
//! shared command line's hooks).

pub mod app;
pub mod batch;
pub mod config;
pub mod data;
pub mod eval;
pub mod glyphs;
pub mod layouts;
pub mod model;
pub mod predict;
pub mod synth;
pub mod train;
pub mod viz;
