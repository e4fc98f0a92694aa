//! Loss Zoo's shared training kit: what every app uses and no app re-implements.
//!
//! - [`config`]: YAML -> typed structs with file/line/key errors and `--set` overrides
//! - [`device`]: `auto | cpu | cuda | cuda:N`, seeding, threads
//! - [`rundir`]: `runs/<app>/<run>/`, atomic checkpoints with optimiser and train state
//! - [`train`]: the loop over a [`train::Task`]; [`optim`]: AdamW / SGD + warmup-cosine;
//!   [`precision`]: the forward pass under bf16 autocast
//! - [`data`]: datasets, seeded shuffling, threaded batch loading; [`images`]: image I/O
//! - [`logging`]: TensorBoard events (through the `tboard` crate), metrics.jsonl, progress,
//!   the Projector's files
//! - [`app`], [`cli`]: the command line every app shares ([`cli::App`]); [`spiral`]: the example task

pub mod app;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod data;
pub mod device;
pub mod images;
pub mod layers;
pub mod logging;
pub mod mnist;
pub mod optim;
pub mod precision;
pub mod rundir;
pub mod spiral;
mod step_values;
mod stop;
pub mod sweep;
#[cfg(feature = "testing")]
pub mod testing;
pub mod train;
mod train_config;
mod train_error;
