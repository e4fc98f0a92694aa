//! The run directory `runs/<app>/<run-name>/` and atomic checkpoints in it.
//!
//! A checkpoint is one safetensors file holding the model's variables under their own names,
//! the optimiser state under `optim/…` and the train state under `train_state/…`, written to
//! a temp file and renamed: killing the process at any moment leaves the previous one intact.

use std::io::Write;
use std::path::{Path, PathBuf};

/// What can go wrong with a run directory or a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    #[error("{0} is not a run directory (no config.yaml): pass a folder under runs/<app>/")]
    NotARun(PathBuf),
    #[error(
        "{0} already exists: a new run never writes into an old one (continue it with \
         --resume {0}, or pick another --name)"
    )]
    Exists(PathBuf),
    #[error(
        "{path} was made by `{made_by}`, not `{app}`: use `{made_by} eval|predict --run {path}`"
    )]
    OtherApp {
        path: PathBuf,
        made_by: String,
        app: String,
    },
    #[error("{path} is not a valid JSON array ({message}): move it away to start a new one")]
    CorruptJson { path: PathBuf, message: String },
}

/// Writes `bytes` to `path` via a temp file in the same folder + fsync + rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = tmp_path(path);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    // Keep the extension last: safetensors writers look at it.
    path.with_file_name(format!(".tmp-{}-{name}", std::process::id()))
}

/// Progress counters saved with every checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TrainState {
    /// Optimiser updates taken.
    pub step: u64,
    /// Current epoch (0-based) and the next batch within it: the data-order position.
    pub epoch: u64,
    pub batch_in_epoch: u64,
    /// Best selection metric so far and the step it was reached at.
    pub best_metric: Option<f64>,
    pub best_step: u64,
    /// The loss scale of `train.precision: fp16` (none in other precisions).
    pub scaler: Option<crate::precision::GradScaler>,
}

/// A run's folder and the paths inside it.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    /// Creates `runs_root/<app>/<name>` (name defaults to `<tag>-<UTC date-time>`) and records
    /// the app in `meta.json`. An existing folder is never reused: with an explicit name that
    /// is an error; a default name gets a `-2`, `-3`, … suffix.
    pub fn create(
        runs_root: &Path,
        app: &str,
        name: Option<&str>,
        tag: &str,
    ) -> Result<Self, RunError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RunError::Io { path, source }
        };
        let base = match name {
            Some(n) => runs_root.join(app).join(n),
            None => runs_root.join(app).join(format!("{tag}-{}", utc_stamp())),
        };
        let parent = base.parent().unwrap_or(runs_root);
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let mut root = base.clone();
        for k in 2.. {
            // create_dir (not _all) claims the folder atomically: two runs never share one.
            match std::fs::create_dir(&root) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if name.is_some() {
                        return Err(RunError::Exists(root));
                    }
                    root = PathBuf::from(format!("{}-{k}", base.display()));
                }
                Err(e) => return Err(io(&root)(e)),
            }
        }
        std::fs::create_dir(root.join("checkpoints")).map_err(io(&root))?;
        let run = Self { root };
        run.write_meta(app, serde_json::Value::Null, None)?;
        Ok(run)
    }

    /// Writes `meta.json`: the app that made the run, what its inference needs beyond the
    /// config (class names, sizes…), so eval and predict never read the training data, and,
    /// when the data shipped no validation split, how it was held out of training.
    pub fn write_meta(
        &self,
        app: &str,
        inference: serde_json::Value,
        validation: Option<String>,
    ) -> Result<(), RunError> {
        let mut meta = serde_json::json!({ "app": app, "inference": inference });
        if let Some(v) = validation {
            meta["validation"] = v.into();
        }
        let text = serde_json::to_string_pretty(&meta).unwrap_or_default();
        self.write("meta.json", text.as_bytes())
    }

    /// The `inference` part of `meta.json` (null for runs made before it existed).
    pub fn inference_meta(&self) -> Result<serde_json::Value, RunError> {
        let path = self.file("meta.json");
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str::<serde_json::Value>(&text)
                .map(|v| v["inference"].clone())
                .map_err(|e| RunError::CorruptJson {
                    path,
                    message: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(serde_json::Value::Null),
            Err(source) => Err(RunError::Io { path, source }),
        }
    }

    /// Checks that the run was made by `app` (runs without `meta.json` pass).
    pub fn check_app(&self, app: &str) -> Result<(), RunError> {
        let made_by = std::fs::read_to_string(self.file("meta.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("app").and_then(|a| a.as_str().map(str::to_string)));
        match made_by {
            Some(m) if m != app => Err(RunError::OtherApp {
                path: self.root.clone(),
                made_by: m,
                app: app.to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// Removes temp files that a killed process (or a full disk) left behind mid-write.
    pub fn clean_temp(&self) -> Result<usize, RunError> {
        let mut removed = 0;
        for dir in [self.root.clone(), self.root.join("checkpoints")] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(".tmp-") {
                    let path = e.path();
                    std::fs::remove_file(&path).map_err(|source| RunError::Io { path, source })?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Opens an existing run (for resume, eval, predict).
    pub fn open(root: &Path) -> Result<Self, RunError> {
        if !root.join("config.yaml").is_file() {
            return Err(RunError::NotARun(root.to_path_buf()));
        }
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    pub fn config(&self) -> PathBuf {
        self.root.join("config.yaml")
    }
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }
    pub fn last(&self) -> PathBuf {
        self.root.join("checkpoints/last.safetensors")
    }
    pub fn best(&self) -> PathBuf {
        self.root.join("checkpoints/best.safetensors")
    }
    /// Any file in the run folder (eval.json, threshold.json, pictures…).
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Appends one entry to the run's `eval.json` (a JSON array), atomically.
    pub fn append_eval(&self, entry: serde_json::Value) -> Result<(), RunError> {
        let path = self.file("eval.json");
        let mut all: Vec<serde_json::Value> = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| RunError::CorruptJson {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(RunError::Io { path, source }),
        };
        all.push(entry);
        let text = serde_json::to_string_pretty(&all).unwrap_or_default();
        self.write("eval.json", text.as_bytes())
    }

    /// Writes a file of the run atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), RunError> {
        let path = self.file(name);
        write_atomic(&path, bytes).map_err(|source| RunError::Io { path, source })
    }
}

/// `YYYYmmdd-HHMMSS` in UTC, for default run names.
pub fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
