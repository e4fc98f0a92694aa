//! Collectives inside a data-parallel training step, so that N ranks of batch B compute what
//! one process of batch N·B computes: sums over the ranks that gradients flow through
//! (SyncBatchNorm's statistics, a batch Dice's sums), counts that normalise a loss, and noise
//! drawn for the whole global batch. Outside a step (evaluation, prediction, one process) each
//! helper is the single-process computation, so a model calls them unconditionally.
//!
//! A forward pass cannot return an error, so a failed collective here is kept and the loop
//! reports it after the step ([`take_error`]); later collectives of the step are skipped.

use super::{group, DistError, Group};
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use tch::{Device, Kind, Tensor};

extern "C" {
    fn kit_dist_allreduce_sum_autograd(
        h: *mut c_void,
        x: *const c_void,
        out: *mut *mut c_void,
        err: *mut c_char,
        errlen: c_int,
    ) -> c_int;
}

static IN_STEP: AtomicBool = AtomicBool::new(false);
static SYNC_BN: AtomicBool = AtomicBool::new(true);
static ERROR: Mutex<Option<DistError>> = Mutex::new(None);

/// Marks the forward and backward pass of a training step (every rank runs it, so the
/// collectives below are matched); evaluation on rank 0 alone runs outside it.
pub(crate) fn set_in_step(on: bool) {
    IN_STEP.store(on, Ordering::SeqCst);
}

/// `train.sync_batch_norm`.
pub(crate) fn set_sync_batch_norm(on: bool) {
    SYNC_BN.store(on, Ordering::SeqCst);
}

/// The group, when this is a data-parallel training step with no failed collective yet.
fn step_group() -> Option<&'static Group> {
    if !IN_STEP.load(Ordering::SeqCst) {
        return None;
    }
    let failed = ERROR.lock().map_or(true, |e| e.is_some());
    group().filter(|_| !failed)
}

/// The group batch norm synchronises over, in a data-parallel training step.
pub fn batch_norm_group() -> Option<&'static Group> {
    step_group().filter(|_| SYNC_BN.load(Ordering::SeqCst))
}

/// Ranks in this step's global batch (1 outside a data-parallel step).
pub fn step_world() -> usize {
    step_group().map_or(1, |g| g.placement.world)
}

fn keep(e: DistError) {
    if let Ok(mut slot) = ERROR.lock() {
        slot.get_or_insert(e);
    }
}

/// The first collective that failed inside the step, if one did (and clears it).
pub(crate) fn take_error() -> Option<DistError> {
    ERROR.lock().ok().and_then(|mut e| e.take())
}

/// Σ over the ranks of `x`, differentiable: the gradient of each rank's `x` is the sum of the
/// ranks' gradients of the result (`x` itself outside a data-parallel step).
pub fn sum_over_ranks(x: &Tensor) -> Tensor {
    let Some(g) = step_group() else {
        return x.shallow_clone();
    };
    let mut err = vec![0 as c_char; 1024];
    let mut out: *mut c_void = std::ptr::null_mut();
    // SAFETY: a live handle and tensor; on success `out` is a new tensor this side owns.
    let rc = unsafe {
        kit_dist_allreduce_sum_autograd(
            g.handle(),
            x.as_ptr().cast(),
            &mut out,
            err.as_mut_ptr(),
            err.len() as c_int,
        )
    };
    if rc == 0 && !out.is_null() {
        // SAFETY: `out` was allocated by the shim as a heap tensor; the Tensor frees it.
        unsafe { Tensor::from_ptr(out.cast()) }
    } else {
        keep(g.failure("all-reduce in the forward pass", &super::group::text(&err)));
        x.shallow_clone()
    }
}

/// A count over the global batch as this rank's share, Σ_ranks x / N, not differentiated
/// (`x` outside a data-parallel step). A per-rank loss divided by it averages over the ranks
/// to the global batch's loss divided by the global count (mmdetection's `reduce_mean`).
pub fn mean_over_ranks(x: &Tensor) -> Tensor {
    let Some(g) = step_group() else {
        return x.detach();
    };
    let mut t = tch::no_grad(|| x.detach().to_kind(Kind::Float).contiguous().copy());
    match g.all_reduce_sum(&mut t) {
        Ok(()) => (t / g.placement.world as f64).to_kind(x.kind()),
        Err(e) => {
            keep(e);
            x.detach()
        }
    }
}

/// The divisor of a loss summed over this rank's batch and normalised by a count over the
/// batch, at least 1: `max(count, 1)` in one process, this rank's share of `max(global count,
/// 1)` in a data-parallel step — the ranks' averaged loss is then the global batch's.
pub fn count_normaliser(count: &Tensor) -> Tensor {
    mean_over_ranks(count).clamp_min(1.0 / step_world() as f64)
}

/// The largest `v` over the ranks (`v` outside a data-parallel step): e.g. the width a batch
/// of lines is padded to, so that every rank pads as the global batch would be padded.
pub fn max_over_ranks(v: i64) -> i64 {
    let Some(g) = step_group() else {
        return v;
    };
    let (rank, world) = (g.placement.rank as i64, g.placement.world as i64);
    let mut t = Tensor::zeros([world], (Kind::Int64, Device::Cpu));
    let _ = t.get(rank).fill_(v);
    match g.all_reduce_sum(&mut t) {
        Ok(()) => t.max().int64_value(&[]),
        Err(e) => {
            keep(e);
            v
        }
    }
}

/// `f` applied to the global batch's `x` (every rank's rows in rank order; each rank holds the
/// same number), then this rank's rows of the result: a sampler in `f` draws what one process
/// draws for the whole batch. Not differentiated (`f(x)` outside a data-parallel step).
pub fn on_global_batch(x: &Tensor, f: impl FnOnce(&Tensor) -> Tensor) -> Tensor {
    let Some(g) = step_group() else {
        return f(x);
    };
    let (rank, world) = (g.placement.rank as i64, g.placement.world as i64);
    let rows = x.size().first().copied().unwrap_or(0);
    let mut shape = x.size();
    shape[0] = rows * world;
    let mut all = Tensor::zeros(shape.as_slice(), (x.kind(), x.device()));
    tch::no_grad(|| all.narrow(0, rank * rows, rows).copy_(x));
    match g.all_reduce_sum(&mut all) {
        Ok(()) => f(&all).narrow(0, rank * rows, rows),
        Err(e) => {
            keep(e);
            f(x)
        }
    }
}

/// Whether `flag` holds on every rank (`flag` outside a data-parallel step): a loop over
/// the global batch, such as sampling until every sequence ended, runs as long on each rank.
pub fn on_all_ranks(flag: bool) -> bool {
    match step_group().map(|g| g.any(!flag)) {
        Some(Ok(some_not)) => !some_not,
        Some(Err(e)) => {
            keep(e);
            flag
        }
        None => flag,
    }
}

/// Standard normal noise of `shape` (batch first) for this rank's examples: in a data-parallel
/// step, this rank's slice of the noise one process draws for the global batch (every rank
/// seeds the step alike), so sampling layers see what the single process would.
pub fn randn_batch(shape: &[i64], options: (Kind, Device)) -> Tensor {
    match (step_group(), shape.first()) {
        (Some(g), Some(&b)) => {
            let (rank, world) = (g.placement.rank as i64, g.placement.world as i64);
            let mut global = shape.to_vec();
            global[0] = b * world;
            Tensor::randn(global.as_slice(), options).narrow(0, rank * b, b)
        }
        _ => Tensor::randn(shape, options),
    }
}
