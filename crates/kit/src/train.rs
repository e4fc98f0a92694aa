//! The training loop, generic over a [`Task`]: optimiser + schedule + clipping, eval and
//! checkpoint cadence, best-checkpoint tracking, resume, Ctrl-C and NaN handling.

use crate::checkpoint::save_checkpoint;
use crate::data::Dataset;
use crate::device::seed_torch;
use crate::logging::{Logger, Progress};
use crate::optim::{lr_at, Optimizer};
use crate::rundir::{RunDir, TrainState};
use crate::step_values::StepValues;
pub use crate::step_values::{host_reads, Losses};
pub use crate::train_config::{DistMode, InitFrom, SelectionTies, TrainConfig};
pub use crate::train_error::TrainError;
use crate::train_parts;
use std::time::Instant;
use tch::nn::VarStore;

/// Result of an evaluation: named metrics, one of which selects the best checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    pub values: Vec<(String, f64)>,
    pub selection: String,
    pub higher_is_better: bool,
}

impl Metrics {
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }
}

/// What a training step may use besides its batch: where training is, and the logs (a
/// picture, or a scalar such as an annealed β, logged at this step).
pub struct StepContext<'a> {
    /// Updates taken before this one (0-based).
    pub step: u64,
    /// Updates the run will take in all.
    pub total_steps: u64,
    pub epoch: u64,
    pub logger: &'a mut Logger,
    progress: &'a Progress,
}

impl StepContext<'_> {
    /// Prints a line above the progress bar (never `eprintln!` under a live bar).
    pub fn println(&self, line: &str) {
        self.progress.println(line);
    }
}

/// Writes [`Task`]'s three accessors for a task with a `VarStore` field and a training
/// `Loader` field: `kit::task_parts!(vs, train);` inside `impl Task for …`.
#[macro_export]
macro_rules! task_parts {
    ($vs:ident, $loader:ident) => {
        fn var_store(&self) -> &::tch::nn::VarStore {
            &self.$vs
        }
        fn var_store_mut(&mut self) -> &mut ::tch::nn::VarStore {
            &mut self.$vs
        }
        fn train_loader(&self) -> &$crate::data::Loader<Self::Data, Self::Batch> {
            &self.$loader
        }
    };
}

/// What an app plugs into the loop.
pub trait Task {
    type Batch: Send + 'static;
    /// What the training loader reads.
    type Data: crate::data::Dataset;
    /// The model's variables (what is optimised and checkpointed).
    fn var_store(&self) -> &VarStore;
    fn var_store_mut(&mut self) -> &mut VarStore;
    /// The training data (its order per epoch is what resume restores).
    fn train_loader(&self) -> &crate::data::Loader<Self::Data, Self::Batch>;
    fn batches_per_epoch(&self) -> usize {
        self.train_loader().batches_per_epoch()
    }
    /// The batches of `epoch` from batch `skip` on.
    fn train_batches(&self, epoch: u64, skip: usize) -> crate::data::BatchIter<Self::Batch> {
        self.train_loader().epoch(epoch, skip)
    }
    /// Forward pass and losses of one batch (the loop does backward and the update).
    fn train_step(&mut self, batch: Self::Batch, ctx: &mut StepContext) -> anyhow::Result<Losses>;
    /// Evaluates on held-out data; may log pictures through `logger`.
    fn evaluate(&mut self, logger: &mut Logger, step: u64) -> anyhow::Result<Metrics>;
}

/// How a `fit` ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Finished {
        state: TrainState,
        last: Option<Metrics>,
    },
    /// Ctrl-C (or `FitOptions::stop_after`): checkpoint saved, can be resumed.
    Interrupted { state: TrainState },
}

/// Options beyond the config.
#[derive(Debug, Clone, Copy, Default)]
pub struct FitOptions {
    /// Continue from the run's `last.safetensors`.
    pub resume: bool,
    /// Behave as if Ctrl-C was pressed after this many steps (tests of resume).
    pub stop_after: Option<u64>,
}

/// Steps a run of `cfg` takes with `per_epoch` batches per epoch (`max_steps` caps epochs).
pub fn total_steps(cfg: &TrainConfig, per_epoch: u64) -> u64 {
    let total = cfg.epochs * per_epoch;
    if cfg.max_steps > 0 {
        total.min(cfg.max_steps)
    } else {
        total
    }
}

/// Whether a run at `state` has nothing left to train under `cfg`.
pub fn is_finished(cfg: &TrainConfig, per_epoch: u64, state: &TrainState) -> bool {
    state.step >= total_steps(cfg, per_epoch) || state.epoch >= cfg.epochs
}

/// Trains `task` in `run` according to `cfg`: where the run starts (resume or warm start),
/// then per step the task's forward pass, the update (backward, the data-parallel gradient
/// average, clipping, the optimiser step), the cadence of log, evaluation + best checkpoint
/// and save, and a stop on request (the parts: the private module `train_parts`).
pub fn fit<T: Task>(
    task: &mut T,
    cfg: &TrainConfig,
    run: &RunDir,
    logger: &mut Logger,
    opts: FitOptions,
) -> Result<Outcome, TrainError> {
    crate::stop::install_ctrlc();
    if cfg.channels_last {
        crate::layers::to_channels_last(task.var_store());
    }
    let mut optim = Optimizer::new(task.var_store(), cfg.optim_settings());
    let mut state = train_parts::start(task.var_store_mut(), &mut optim, cfg, run, opts.resume)?;
    state.scaler = (cfg.precision == crate::precision::Precision::Fp16)
        .then(|| state.scaler.unwrap_or_default());
    // Data parallel: every rank starts from rank 0's weights (a resumed run's included).
    let dist = crate::distributed::group();
    let main = crate::distributed::is_main();
    if let Some(g) = dist {
        g.broadcast_variables(task.var_store())
            .map_err(|e| TrainError::Task(e.into()))?;
    }
    let per_epoch = task.batches_per_epoch() as u64;
    if per_epoch == 0 {
        return Err(TrainError::NoBatch {
            samples: task.train_loader().dataset().len(),
            batch_size: cfg.batch_size,
        });
    }
    let total = total_steps(cfg, per_epoch);
    if opts.resume && main && state.step < total {
        // What the stopped process logged after this checkpoint is dropped (a finished run
        // resumes to nothing and writes nothing).
        logger.resume_at(state.step)?;
    }
    let progress = Progress::new(total, state.step, cfg.log_every);
    let mut last_metrics = None;
    let mut window = train_parts::Throughput::new();
    // Loss, terms and gradient norm of the steps not yet read to the host; the loss shown.
    let mut pending = StepValues::default();
    let mut shown = String::from("–");
    let save_last = |task: &T, optim: &Optimizer, state: &TrainState| {
        ensure_finite(task.var_store(), Some(optim), state.step)?;
        save_checkpoint(&run.last(), task.var_store(), Some(optim), state).map_err(TrainError::from)
    };

    while state.step < total && state.epoch < cfg.epochs {
        let mut batches = task.train_batches(state.epoch, state.batch_in_epoch as usize);
        loop {
            let asked = Instant::now();
            let Some(batch) = batches.next() else { break };
            let waited = asked.elapsed().as_secs_f64();
            let batch = batch?;
            seed_torch(cfg.seed.wrapping_add(state.step));
            let lr = lr_at(state.step, cfg.lr, cfg.min_lr, cfg.warmup_steps, total);
            let mut ctx = StepContext {
                step: state.step,
                total_steps: total,
                epoch: state.epoch,
                logger,
                progress: &progress,
            };
            crate::distributed::set_in_step(dist.is_some());
            let stepped = task.train_step(batch, &mut ctx).map(|losses| {
                let b = train_parts::backward(&mut optim, &losses, state.scaler.as_ref());
                (b, losses)
            });
            crate::distributed::set_in_step(false);
            let (backward, losses) = stepped?;
            let scaler = state.scaler.as_mut();
            let grad_norm = train_parts::update(
                task.var_store(),
                &mut optim,
                backward,
                dist,
                cfg,
                lr,
                scaler,
            )?;
            pending.push(state.step, &losses, &grad_norm);
            state.step += 1;
            state.batch_in_epoch += 1;
            if state.batch_in_epoch == per_epoch {
                state.epoch += 1;
                state.batch_in_epoch = 0;
            }
            window.add(losses.samples, waited);
            let done = state.step >= total;
            let due = train_parts::Due::after(cfg, state.step, state.batch_in_epoch == 0);
            let mut stop_requested =
                crate::stop::take() || opts.stop_after.is_some_and(|k| state.step >= k);
            if let Some(g) = dist {
                // A stop on any rank stops them all at the same step.
                stop_requested = g
                    .any(stop_requested)
                    .map_err(|e| TrainError::Task(e.into()))?;
            }
            // One host read for every step since the last one, and always before anything is
            // saved: a non-finite loss or gradient stops training with the checkpoints untouched.
            if due.log || due.eval || due.checkpoint || done || stop_requested {
                let last = pending.read().inspect_err(|_| progress.finish())?;
                if let (Some(values), true) = (last, due.log) {
                    let mut scalars: Vec<(String, f64)> = values
                        .iter()
                        .map(|(k, v)| (format!("train/{k}"), *v))
                        .collect();
                    scalars.push(("train/lr".into(), lr));
                    if let Some(s) = state.scaler {
                        scalars.push(("train/loss_scale".into(), s.scale));
                        scalars.push(("train/amp_skipped_steps".into(), s.skipped as f64));
                    }
                    scalars.extend(window.take());
                    logger.scalars(state.step, &scalars)?;
                    if let Some((_, v)) = values.iter().find(|(k, _)| k == "loss") {
                        shown = format!("{v:.4}");
                    }
                }
            }
            progress.update(
                state.step,
                state.epoch,
                &format!("loss {shown} lr {lr:.2e}"),
            );
            // Rank 0 alone evaluates and writes the run folder; the others wait in the next
            // collective.
            if (due.eval || done) && main {
                let m = evaluate(task, logger, &mut state, &progress, cfg.selection_ties)?;
                if state.best_step == state.step {
                    ensure_finite(task.var_store(), None, state.step)?;
                    save_checkpoint(&run.best(), task.var_store(), None, &state)?;
                }
                last_metrics = Some(m);
            }
            if (due.checkpoint || done) && main {
                save_last(task, &optim, &state)?;
            }
            if stop_requested && !done {
                if main {
                    save_last(task, &optim, &state)?;
                }
                progress.finish();
                progress.println(&format!(
                    "stopped at step {}: checkpoint saved to {}; resume with --resume {}",
                    state.step,
                    run.last().display(),
                    run.root.display()
                ));
                return Ok(Outcome::Interrupted { state });
            }
            if done {
                break;
            }
        }
    }
    progress.finish();
    if state.best_metric.is_none() && main {
        progress.println(
            "warning: the selection metric was never finite, so no best.safetensors was written \
             (use --checkpoint last with eval and predict)",
        );
    }
    Ok(Outcome::Finished {
        state,
        last: last_metrics,
    })
}

fn evaluate<T: Task>(
    task: &mut T,
    logger: &mut Logger,
    state: &mut TrainState,
    progress: &Progress,
    ties: crate::train_config::SelectionTies,
) -> Result<Metrics, TrainError> {
    let m = tch::no_grad(|| task.evaluate(logger, state.step))?;
    let scalars: Vec<(String, f64)> = m
        .values
        .iter()
        .map(|(k, v)| (format!("eval/{k}"), *v))
        .collect();
    logger.scalars(state.step, &scalars)?;
    if m.get(&m.selection).is_none() {
        let known: Vec<&str> = m.values.iter().map(|(k, _)| k.as_str()).collect();
        return Err(TrainError::UnknownSelection {
            selection: m.selection.clone(),
            known: known.join(", "),
        });
    }
    if let Some(hp) = logger.pending_hparams.take() {
        logger
            .tb
            .hparams(&hp, &[&format!("eval/{}", m.selection)])?;
    }
    let summary: Vec<String> = m
        .values
        .iter()
        .map(|(k, v)| format!("{k} {v:.4}"))
        .collect();
    progress.println(&format!(
        "eval @ step {}: {}",
        state.step,
        summary.join(", ")
    ));
    let selected = m.get(&m.selection).unwrap_or(f64::NAN);
    if !selected.is_finite() {
        progress.println(&format!(
            "warning: selection metric `{}` is {selected} at step {}: best.safetensors not \
             updated",
            m.selection, state.step
        ));
    }
    if train_parts::improves(state.best_metric, selected, m.higher_is_better, ties) {
        state.best_metric = Some(selected);
        state.best_step = state.step;
    }
    Ok(m)
}

/// Refuses to checkpoint weights (or optimiser moments) that are NaN or infinite: an update
/// can break the weights with a finite loss and gradient, and the next step's check would come
/// after the save.
fn ensure_finite(vs: &VarStore, optim: Option<&Optimizer>, step: u64) -> Result<(), TrainError> {
    let mut named = vs.variables().into_iter().collect::<Vec<_>>();
    if let Some(o) = optim {
        named.extend(o.state_tensors());
    }
    for (name, t) in named {
        if t.is_floating_point() && t.isfinite().all().int64_value(&[]) == 0 {
            return Err(TrainError::NonFiniteWeights { step, name });
        }
    }
    Ok(())
}
