//! Checkpoints: one safetensors file with the model's variables under their own names, the
//! optimiser state under `optim/…` (`last` only) and the train state under `train_state/…`,
//! written atomically; loading is strict for resume and partial for a warm start.

use crate::optim::Optimizer;
use crate::rundir::{tmp_path, RunError, TrainState};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tch::{nn::VarStore, Device, Kind, Tensor};

fn state_tensors(s: &TrainState) -> Vec<(String, Tensor)> {
    let i = |v: u64| Tensor::from_slice(&[v as i64]);
    let scaler = s.scaler.map(|c| {
        [
            (
                "train_state/loss_scale".into(),
                Tensor::from_slice(&[c.scale]),
            ),
            ("train_state/scale_growth".into(), i(c.growth_tracker)),
            ("train_state/amp_skipped".into(), i(c.skipped)),
        ]
    });
    let mut v = vec![
        ("train_state/step".into(), i(s.step)),
        ("train_state/epoch".into(), i(s.epoch)),
        ("train_state/batch_in_epoch".into(), i(s.batch_in_epoch)),
        ("train_state/best_step".into(), i(s.best_step)),
        (
            "train_state/best_metric".into(),
            Tensor::from_slice(&[s.best_metric.unwrap_or(f64::NAN)]),
        ),
    ];
    v.extend(scaler.into_iter().flatten());
    v
}

/// Saves model + optimiser + state to `path` atomically.
pub fn save_checkpoint(
    path: &Path,
    vs: &VarStore,
    optim: Option<&Optimizer>,
    state: &TrainState,
) -> Result<(), RunError> {
    let err = |message: String| RunError::Checkpoint {
        path: path.to_path_buf(),
        message,
    };
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    if let Some(o) = optim {
        named.extend(o.state_tensors());
    }
    named.extend(state_tensors(state));
    // Row-major on the CPU whatever the layout in training (e.g. channels-last kernels).
    let mut named: Vec<(String, Tensor)> = named
        .into_iter()
        .map(|(k, t)| (k, t.detach().to_device(Device::Cpu).contiguous()))
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let tmp = tmp_path(path);
    Tensor::write_safetensors(&named, &tmp).map_err(|e| err(e.to_string()))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| err(e.to_string()))
}

/// What a warm start did, variable by variable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WarmStart {
    /// Copied from the checkpoint.
    pub loaded: Vec<String>,
    /// In the checkpoint, not used by the model.
    pub skipped: Vec<String>,
    /// Kept at their fresh initialisation (allowed by `allow_new`).
    pub new: Vec<String>,
}

/// A checkpoint read into memory.
pub struct Checkpoint {
    pub path: PathBuf,
    tensors: HashMap<String, Tensor>,
}

impl Checkpoint {
    pub fn read(path: &Path) -> Result<Self, RunError> {
        if !path.is_file() {
            return Err(RunError::Checkpoint {
                path: path.to_path_buf(),
                message: "file not found (has the run saved a checkpoint yet?)".into(),
            });
        }
        let tensors = Tensor::read_safetensors(path)
            .map_err(|e| RunError::Checkpoint {
                path: path.to_path_buf(),
                message: format!("unreadable ({e})"),
            })?
            .into_iter()
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            tensors,
        })
    }

    fn err(&self, message: String) -> RunError {
        RunError::Checkpoint {
            path: self.path.clone(),
            message,
        }
    }

    /// Copies every variable of `vs` from the checkpoint (all must be present, same shapes).
    pub fn load_model(&self, vs: &mut VarStore) -> Result<(), RunError> {
        tch::no_grad(|| {
            for (name, mut var) in vs.variables() {
                let src = self.tensors.get(&name).ok_or_else(|| {
                    self.err(format!(
                        "missing variable `{name}`: was it saved by another model config?"
                    ))
                })?;
                if src.size() != var.size() {
                    return Err(self.err(format!(
                        "variable `{name}` has shape {:?}, the model expects {:?}",
                        src.size(),
                        var.size()
                    )));
                }
                var.f_copy_(src).map_err(|e| self.err(e.to_string()))?;
            }
            Ok(())
        })
    }

    /// Warm start: copies into `vs` the variables this checkpoint has, after renaming its
    /// names by `rename` (`(from_prefix, to_prefix)` pairs, e.g. `("body.", "body.")` or
    /// `("", "policy.")`). A model variable the checkpoint lacks (or holds with another shape)
    /// is an error unless it starts with one of `allow_new`, in which case it keeps its fresh
    /// initialisation. Checkpoint variables the model does not use are skipped.
    pub fn load_partial(
        &self,
        vs: &mut VarStore,
        rename: &[(String, String)],
        allow_new: &[String],
    ) -> Result<WarmStart, RunError> {
        let mut source: HashMap<String, &Tensor> = HashMap::new();
        for (name, t) in &self.tensors {
            if name.starts_with("optim/") || name.starts_with("train_state/") {
                continue;
            }
            let renamed = rename.iter().find_map(|(from, to)| {
                name.strip_prefix(from.as_str()).map(|r| format!("{to}{r}"))
            });
            match (renamed, rename.is_empty()) {
                (Some(n), _) => {
                    source.insert(n, t);
                }
                (None, true) => {
                    source.insert(name.clone(), t);
                }
                (None, false) => {}
            }
        }
        let mut report = WarmStart::default();
        let is_new = |name: &str| allow_new.iter().any(|p| name.starts_with(p.as_str()));
        tch::no_grad(|| {
            for (name, mut var) in vs.variables() {
                match source.remove(&name) {
                    Some(src) if src.size() == var.size() => {
                        var.f_copy_(src).map_err(|e| self.err(e.to_string()))?;
                        report.loaded.push(name);
                    }
                    _ if is_new(&name) => report.new.push(name),
                    Some(src) => {
                        return Err(self.err(format!(
                            "variable `{name}` has shape {:?}, the model expects {:?} (list it \
                             in init_from.allow_new to initialise it afresh)",
                            src.size(),
                            var.size()
                        )))
                    }
                    None => {
                        return Err(self.err(format!(
                            "has no variable for `{name}` (after renaming): map it with \
                             init_from.rename, or list it in init_from.allow_new"
                        )))
                    }
                }
            }
            Ok(())
        })?;
        report.skipped = source.into_keys().collect();
        report.loaded.sort();
        report.new.sort();
        report.skipped.sort();
        Ok(report)
    }

    /// Restores the optimiser state.
    pub fn load_optimizer(&self, optim: &mut Optimizer) -> Result<(), RunError> {
        optim
            .load_state(&|k| self.tensors.get(k).map(|t| t.shallow_clone()))
            .map_err(|k| self.err(format!("missing optimiser state `{k}`")))
    }

    /// The train state saved with the checkpoint.
    pub fn train_state(&self) -> Result<TrainState, RunError> {
        let int = |k: &str| {
            self.tensors
                .get(&format!("train_state/{k}"))
                .map(|t| t.int64_value(&[0]) as u64)
                .ok_or_else(|| self.err(format!("missing train_state/{k}")))
        };
        let best = self
            .tensors
            .get("train_state/best_metric")
            .map(|t| t.to_kind(Kind::Double).double_value(&[0]))
            .filter(|v| !v.is_nan());
        // Written only by fp16 runs; the counters with it.
        let scaler = match self.tensors.get("train_state/loss_scale") {
            Some(t) => Some(crate::precision::GradScaler {
                scale: t.to_kind(Kind::Double).double_value(&[0]),
                growth_tracker: int("scale_growth")?,
                skipped: int("amp_skipped")?,
            }),
            None => None,
        };
        Ok(TrainState {
            step: int("step")?,
            epoch: int("epoch")?,
            batch_in_epoch: int("batch_in_epoch")?,
            best_metric: best,
            best_step: int("best_step")?,
            scaler,
        })
    }
}
