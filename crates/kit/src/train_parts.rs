//! The named parts of [`crate::train::fit`], each small enough to test alone: where a run
//! starts ([`start`]: resume or warm start), when it logs, evaluates and saves ([`Due`]), what it
//! logs about speed ([`Throughput`]), which evaluation is the best so far ([`improves`]), and
//! one data-parallel update ([`update`]).

use crate::checkpoint::Checkpoint;
use crate::distributed::Group;
use crate::optim::Optimizer;
use crate::precision::GradScaler;
use crate::rundir::{RunDir, TrainState};
use crate::step_values::Losses;
use crate::train_config::{SelectionTies, TrainConfig};
use crate::train_error::TrainError;
use std::time::Instant;
use tch::nn::VarStore;

/// Where a run starts: a resumed run's checkpoint (model, optimiser, position), or fresh
/// weights with `train.init_from`'s warm start loaded into them.
pub(crate) fn start(
    vs: &mut VarStore,
    optim: &mut Optimizer,
    cfg: &TrainConfig,
    run: &RunDir,
    resume: bool,
) -> Result<TrainState, TrainError> {
    if resume {
        let ck = Checkpoint::read(&run.last())?;
        ck.load_model(vs)?;
        ck.load_optimizer(optim)?;
        return Ok(ck.train_state()?);
    }
    if let Some(init) = &cfg.init_from {
        let from = RunDir::open(&init.run)?;
        let path = match init.checkpoint.as_str() {
            "last" => from.last(),
            _ => from.best(),
        };
        let ws = Checkpoint::read(&path)?.load_partial(vs, &init.rename, &init.allow_new)?;
        let new = if ws.new.is_empty() {
            String::new()
        } else {
            format!(" (new: {})", ws.new.join(", "))
        };
        println!(
            "warm start from {}: {} variables loaded, {} new, {} in the checkpoint unused{new}",
            path.display(),
            ws.loaded.len(),
            ws.new.len(),
            ws.skipped.len(),
        );
    }
    Ok(TrainState::default())
}

/// What is due after a step: a `*_every` of 0 means once per epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Due {
    pub log: bool,
    pub eval: bool,
    pub checkpoint: bool,
}

impl Due {
    /// After the update that made `step` steps in all (`epoch_end`: it finished an epoch).
    pub(crate) fn after(cfg: &TrainConfig, step: u64, epoch_end: bool) -> Self {
        let due = |every: u64| {
            if every == 0 {
                epoch_end
            } else {
                step.is_multiple_of(every)
            }
        };
        Self {
            log: step.is_multiple_of(cfg.log_every.max(1)),
            eval: due(cfg.eval_every),
            checkpoint: due(cfg.checkpoint_every),
        }
    }
}

/// Samples per second and the share of time spent waiting on the loader, over the steps
/// since the last log.
pub(crate) struct Throughput {
    since: Instant,
    samples: usize,
    wait: f64,
}

impl Throughput {
    pub(crate) fn new() -> Self {
        Self {
            since: Instant::now(),
            samples: 0,
            wait: 0.0,
        }
    }

    /// A step of `samples` that waited `wait` seconds for its batch.
    pub(crate) fn add(&mut self, samples: usize, wait: f64) {
        self.samples += samples;
        self.wait += wait;
    }

    /// `train/samples_per_sec` and `train/data_wait_share` of the window; starts a new one.
    pub(crate) fn take(&mut self) -> [(String, f64); 2] {
        let secs = self.since.elapsed().as_secs_f64().max(1e-9);
        let out = [
            ("train/samples_per_sec".into(), self.samples as f64 / secs),
            ("train/data_wait_share".into(), self.wait / secs),
        ];
        *self = Self::new();
        out
    }
}

/// Whether a finite selection value `v` is a new best against `best` (ties: the later one
/// wins under [`SelectionTies::Latest`]).
pub(crate) fn improves(
    best: Option<f64>,
    v: f64,
    higher_is_better: bool,
    ties: SelectionTies,
) -> bool {
    let latest = ties == SelectionTies::Latest;
    v.is_finite()
        && best.is_none_or(|b| (if higher_is_better { v > b } else { v < b }) || (latest && v == b))
}

/// The forward pass's losses back-propagated (inside the step's collective window, as a
/// collective in a loss's backward needs).
/// Under fp16 the loss is multiplied by the scaler's scale first.
pub(crate) fn backward(
    optim: &mut Optimizer,
    losses: &Losses,
    scaler: Option<&GradScaler>,
) -> Result<(), tch::TchError> {
    optim.zero_grad();
    match scaler {
        Some(s) => (&losses.total * s.scale).f_backward(),
        None => losses.total.f_backward(),
    }
}

/// After [`backward`]: a failed collective of the step reported first, then the data-parallel
/// gradient average (so that clipping sees the averaged gradient, as with DDP), clipping and
/// the optimiser step; returns the gradient norm before clipping. Under fp16 the gradients are
/// unscaled after the average and a step whose gradients overflowed is skipped (its gradient
/// norm reads 0) as `GradScaler.step` does.
pub(crate) fn update(
    vs: &VarStore,
    optim: &mut Optimizer,
    backward: Result<(), tch::TchError>,
    group: Option<&Group>,
    cfg: &TrainConfig,
    lr: f64,
    scaler: Option<&mut GradScaler>,
) -> Result<tch::Tensor, TrainError> {
    if let Some(g) = group {
        if let Some(e) = crate::distributed::take_error() {
            return Err(TrainError::Task(e.into()));
        }
        if let Err(e) = &backward {
            return Err(TrainError::Task(
                g.failure("backward", &e.to_string()).into(),
            ));
        }
    }
    backward.map_err(|e| TrainError::Task(e.into()))?;
    if let Some(g) = group {
        g.average_gradients(vs)
            .map_err(|e| TrainError::Task(e.into()))?;
    }
    if let Some(s) = scaler {
        let found_inf = optim
            .unscale(1.0 / s.scale)
            .map_err(|e| TrainError::Task(e.into()))?;
        s.update(found_inf);
        if found_inf {
            optim.zero_grad();
            return Ok(tch::Tensor::zeros(
                [],
                (tch::Kind::Double, tch::Device::Cpu),
            ));
        }
    }
    let grad_norm = optim.clip_grad_norm(cfg.grad_clip);
    optim.step(lr).map_err(|e| TrainError::Task(e.into()))?;
    Ok(grad_norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadence_per_steps_or_per_epoch() {
        let mut cfg = TrainConfig::default();
        (cfg.log_every, cfg.eval_every, cfg.checkpoint_every) = (5, 0, 4);
        let d = Due::after(&cfg, 8, false);
        assert_eq!((d.log, d.eval, d.checkpoint), (false, false, true));
        let d = Due::after(&cfg, 10, true);
        assert_eq!((d.log, d.eval, d.checkpoint), (true, true, false));
        cfg.log_every = 0; // treated as every step
        assert!(Due::after(&cfg, 7, false).log);
    }

    #[test]
    fn best_checkpoint_policy() {
        let (hi, lo) = (true, false);
        assert!(improves(None, 0.5, hi, SelectionTies::Earliest));
        assert!(!improves(None, f64::NAN, hi, SelectionTies::Earliest));
        assert!(improves(Some(0.5), 0.6, hi, SelectionTies::Earliest));
        assert!(!improves(Some(0.5), 0.6, lo, SelectionTies::Earliest));
        assert!(!improves(Some(0.5), 0.5, hi, SelectionTies::Earliest));
        assert!(improves(Some(0.5), 0.5, hi, SelectionTies::Latest));
        assert!(!improves(
            Some(0.5),
            f64::INFINITY,
            hi,
            SelectionTies::Latest
        ));
    }

    #[test]
    fn throughput_counts_the_window_and_starts_a_new_one() {
        let mut t = Throughput::new();
        t.add(32, 0.0);
        t.add(32, 0.0);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let [(k, rate), (w, share)] = t.take();
        assert_eq!(
            (k.as_str(), w.as_str()),
            ("train/samples_per_sec", "train/data_wait_share")
        );
        assert!(rate > 0.0 && rate < 64.0 / 0.019, "{rate}");
        assert_eq!(share, 0.0);
        assert_eq!(t.samples, 0);
    }
}
