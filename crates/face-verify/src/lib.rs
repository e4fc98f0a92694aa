pub mod app;
pub mod config;
pub mod data;
pub mod eval;
pub mod model;
pub mod predict;
pub mod synth;
pub mod train;
