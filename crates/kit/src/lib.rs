//! Loss Zoo's shared training kit: what every app uses and no app re-implements.
//!
//! One line per public module:
//! - [`app`]: what an app plugs in ([`app::App`]), and `train` from config to checkpoint
//! - [`args`]: the arguments of `train`, `eval`, `predict`, `synth` (re-exported by [`cli`])
//! - [`checkpoint`]: safetensors checkpoints with optimiser and train state, warm starts
//! - [`cli`]: the command line every app shares (`train`, `eval`, …; `main`'s error printing)
//! - [`config`]: YAML -> typed structs with file/line/key errors, `base:` overlays, `--set`
//! - [`data`]: datasets, seeded shuffling, threaded batch loading, the held-out splits
//! - [`device`]: `auto | cpu | cuda | cuda:N`, seeding, threads
//! - [`images`]: image decode / resize / normalise / augment / save
//! - [`layers`]: small building blocks the apps' models share
//! - [`logging`]: metrics.jsonl, TensorBoard events (`tboard`), progress, Projector files
//! - [`mnist`]: the MNIST digits `just data mnist` installs
//! - [`optim`]: AdamW / SGD + momentum, warmup + cosine, gradient clipping
//! - [`precision`]: an app's forward pass under bf16 autocast
//! - [`rundir`]: `runs/<app>/<run>/`, atomic writes
//! - [`stop`]: Ctrl-C / SIGTERM: the first asks a loop to save and stop, a second exits
//! - [`spiral`]: the example task the kit's own tests train
//! - `testing` (feature `testing`): scaffolding for the apps' integration tests
//! - [`train`]: the loop over a [`train::Task`]

pub mod app;
pub mod args;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod data;
pub mod device;
pub mod distributed;
pub mod images;
pub mod layers;
pub mod logging;
pub mod mnist;
pub mod optim;
pub mod precision;
pub mod rundir;
pub mod spiral;
mod step_values;
pub mod stop;
#[cfg(feature = "testing")]
pub mod testing;
pub mod train;
mod train_config;
mod train_error;
mod train_parts;
