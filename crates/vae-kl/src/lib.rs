//! vae-kl: a variational autoencoder trained on the ELBO (reconstruction + β·KL), with the KL term
//! made visible. [`config`] (typed YAML), [`data`] (procedural sprites with known factors, real
//! MNIST digits, a folder of PNGs), [`layouts`] (MNIST IDX files, a flat picture folder), [`model`] (conv encoder / decoder), [`train`] (the task in
//! kit's loop: β schedule, free bits), [`eval`] (ELBO, importance-weighted bound, active units, KL
//! per dimension, MIG), [`predict`] (reconstructions, prior samples, interpolations), [`app`] (the
//! shared command line's hooks).

pub mod app;
pub mod config;
pub mod data;
pub mod eval;
pub mod layouts;
pub mod model;
pub mod predict;
pub mod train;
