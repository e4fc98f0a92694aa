//! What a run records: TensorBoard events, `metrics.jsonl`, and console progress (an indicatif
//! bar on a terminal, a plain line every N steps otherwise, e.g. in CI).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tboard::{EventWriter, HParam};

/// TensorBoard writer + metrics.jsonl of one run.
pub struct Logger {
    pub tb: EventWriter,
    jsonl: std::fs::File,
    jsonl_path: PathBuf,
    /// The run's hyper-parameters, written to the HParams dashboard at the first evaluation,
    /// when the selection metric's name (`eval/cer`, `eval/auc`, …) is known.
    pub pending_hparams: Option<Vec<(String, tboard::HParam)>>,
}

impl Logger {
    /// An evaluation's pictures as one grid image and score histograms, at `step` (what
    /// detection and segmentation log at every evaluation).
    pub fn pictures_and_histograms(
        &mut self,
        step: u64,
        tag: &str,
        pictures: &[image::RgbImage],
        cols: usize,
        histograms: &[(&str, &[f64])],
    ) -> std::io::Result<()> {
        let s = step as i64;
        self.tb
            .image(tag, s, &crate::images::grid(pictures, cols))?;
        for (name, values) in histograms {
            self.tb.histogram(name, s, values, 30)?;
        }
        Ok(())
    }

    /// Opens the event file and `metrics.jsonl` (appended to, so a resumed run continues it).
    pub fn new(run_root: &Path) -> std::io::Result<Self> {
        let tb = EventWriter::new(run_root)?;
        let jsonl_path = run_root.join("metrics.jsonl");
        let jsonl = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&jsonl_path)?;
        Ok(Self {
            tb,
            jsonl,
            jsonl_path,
            pending_hparams: None,
        })
    }

    /// Continues a run resumed from its checkpoint at `step`: lines of `metrics.jsonl` logged
    /// after that step (by the killed process, after its last checkpoint) are cut (the file is
    /// rewritten atomically), and TensorBoard is told to drop its events from `step + 1` on
    /// ([`EventWriter::session_start`]), so every step is recorded once.
    pub fn resume_at(&mut self, step: u64) -> std::io::Result<()> {
        let text = std::fs::read_to_string(&self.jsonl_path)?;
        let kept: String = text
            .lines()
            .filter(|l| {
                let s = serde_json::from_str::<serde_json::Value>(l)
                    .ok()
                    .and_then(|v| v.get("step").and_then(serde_json::Value::as_u64));
                // A line cut off by the kill (not JSON) goes too.
                s.is_some_and(|s| s <= step)
            })
            .flat_map(|l| [l, "\n"])
            .collect();
        if kept.len() != text.len() {
            crate::rundir::write_atomic(&self.jsonl_path, kept.as_bytes())?;
            self.jsonl = std::fs::OpenOptions::new()
                .append(true)
                .open(&self.jsonl_path)?;
        }
        self.tb.session_start(step as i64 + 1)
    }

    /// Logs scalars to TensorBoard and as one JSON line `{"step": s, "tag": value, ...}`.
    pub fn scalars(&mut self, step: u64, values: &[(String, f64)]) -> std::io::Result<()> {
        let mut obj = serde_json::Map::new();
        obj.insert("step".into(), step.into());
        for (tag, v) in values {
            self.tb.scalar(tag, step as i64, *v)?;
            obj.insert(
                tag.clone(),
                serde_json::Number::from_f64(*v).map_or(serde_json::Value::Null, Into::into),
            );
        }
        writeln!(self.jsonl, "{}", serde_json::Value::Object(obj))
    }

    /// The run folder the logs are in.
    pub fn run_root(&self) -> &Path {
        self.jsonl_path.parent().unwrap_or(Path::new("."))
    }

    pub fn jsonl_path(&self) -> &Path {
        &self.jsonl_path
    }
}

/// Console progress for a run of `total` steps.
pub struct Progress {
    bar: Option<ProgressBar>,
    every: u64,
    total: u64,
    start: Instant,
    start_step: u64,
}

impl Progress {
    pub fn new(total: u64, start_step: u64, every: u64) -> Self {
        let bar = std::io::stdout().is_terminal().then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} steps (ETA {eta}) {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.set_position(start_step);
            b
        });
        Self {
            bar,
            every: every.max(1),
            total,
            start: Instant::now(),
            start_step,
        }
    }

    /// Reports step `step` (1-based count of steps done) with a short message.
    pub fn update(&self, step: u64, epoch: u64, msg: &str) {
        match &self.bar {
            Some(b) => {
                b.set_position(step);
                b.set_message(format!("epoch {epoch} {msg}"));
            }
            None if step.is_multiple_of(self.every) || step == self.total => {
                let done = step.saturating_sub(self.start_step) as f64;
                let el = self.start.elapsed().as_secs_f64();
                let eta = if done > 0.0 {
                    el / done * (self.total - step) as f64
                } else {
                    0.0
                };
                println!(
                    "step {step}/{} epoch {epoch} {msg} [{el:.0}s elapsed, ETA {eta:.0}s]",
                    self.total
                );
            }
            None => {}
        }
    }

    /// Prints a line without breaking the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => println!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Writes embeddings for TensorBoard's Projector into a run folder: `projector/<name>.tsv`
/// (one vector per line), `projector/<name>_metadata.tsv` (one label per line) and
/// `projector_config.pbtxt` pointing at them.
pub fn write_projector(
    run: &Path,
    name: &str,
    vectors: &[Vec<f32>],
    labels: &[String],
) -> std::io::Result<()> {
    let dir = run.join("projector");
    std::fs::create_dir_all(&dir)?;
    let tensors: String = vectors
        .iter()
        .map(|v| {
            v.iter()
                .map(|x| format!("{x:.6}"))
                .collect::<Vec<_>>()
                .join("\t")
                + "\n"
        })
        .collect();
    let meta: String = labels
        .iter()
        .map(|l| format!("{}\n", l.replace(['\t', '\n'], " ")))
        .collect();
    crate::rundir::write_atomic(&dir.join(format!("{name}.tsv")), tensors.as_bytes())?;
    crate::rundir::write_atomic(&dir.join(format!("{name}_metadata.tsv")), meta.as_bytes())?;
    let config = format!(
        "embeddings {{\n  tensor_name: \"{name}\"\n  tensor_path: \"projector/{name}.tsv\"\n  metadata_path: \"projector/{name}_metadata.tsv\"\n}}\n"
    );
    crate::rundir::write_atomic(&run.join("projector_config.pbtxt"), config.as_bytes())
}

/// Writes the resolved config to TensorBoard as text, and hands its flattened form (`train.lr`,
/// `model.width`, …) to the loop, which writes it to the HParams tab at the first evaluation
/// with the selection metric under its own name.
pub(crate) fn log_config(logger: &mut Logger, yaml: &str) -> std::io::Result<()> {
    logger
        .tb
        .text("config", 0, &format!("```yaml\n{yaml}\n```"))?;
    let tree: serde_norway::Value = serde_norway::from_str(yaml).map_err(std::io::Error::other)?;
    let mut flat = Vec::new();
    flatten("", &tree, &mut flat);
    logger.pending_hparams = Some(flat);
    Ok(())
}

fn flatten(prefix: &str, v: &serde_norway::Value, out: &mut Vec<(String, HParam)>) {
    use serde_norway::Value as V;
    match v {
        V::Mapping(m) => {
            for (k, v) in m {
                let key = k.as_str().unwrap_or_default();
                let name = if prefix.is_empty() {
                    key.to_string()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&name, v, out);
            }
        }
        V::Number(n) => out.push((
            prefix.into(),
            HParam::Number(n.as_f64().unwrap_or(f64::NAN)),
        )),
        V::Bool(b) => out.push((prefix.into(), HParam::Bool(*b))),
        V::String(s) => out.push((prefix.into(), HParam::Text(s.clone()))),
        V::Sequence(_) => out.push((
            prefix.into(),
            HParam::Text(
                serde_norway::to_string(v)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            ),
        )),
        _ => {}
    }
}
