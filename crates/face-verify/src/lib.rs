pub mod app;
pub mod config;
pub mod data;
pub mod eval;
pub mod face;
pub mod model;
pub mod predict;
pub mod train;
