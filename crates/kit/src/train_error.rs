//! Why the training loop stopped: every error says what happened, at which step, and that the
//! last good checkpoint was kept.

use crate::rundir::RunError;

/// Why training stopped.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(
        "loss term `{term}` is {value} at step {step}: training stopped, the last good \
         checkpoint was left as it was (lower train.lr, or set train.grad_clip)"
    )]
    NonFinite { step: u64, term: String, value: f64 },
    #[error(
        "the gradient norm is {value} at step {step} (the loss was finite): training stopped, \
         the last good checkpoint was left as it was (a loss whose gradient is infinite \
         somewhere, e.g. x^γ with γ < 1 at x = 0; or lower train.lr)"
    )]
    NonFiniteGradient { step: u64, value: f64 },
    #[error("reading the step's losses from the device: {0}")]
    Read(String),
    #[error(
        "`{name}` holds non-finite values after step {step}: training stopped without saving, \
         the last good checkpoint was left as it was (lower train.lr, or set train.grad_clip)"
    )]
    NonFiniteWeights { step: u64, name: String },
    #[error(
        "the training set gives no full batch of train.batch_size = {batch_size} \
         ({samples} samples; the incomplete last batch is dropped): lower train.batch_size or \
         add data"
    )]
    NoBatch { samples: usize, batch_size: usize },
    #[error(
        "the selection metric `{selection}` is not among the evaluation's metrics ({known}): \
         best.safetensors could never be chosen"
    )]
    UnknownSelection { selection: String, known: String },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error("cannot write logs: {0}")]
    Log(#[from] std::io::Error),
    #[error(transparent)]
    Task(#[from] anyhow::Error),
}
