//! `predict`: two faces in, cosine similarity and same / different person out (at the
//! threshold chosen on the evaluation pairs); `embed`: one embedding per image of a folder.

use crate::data::FaceRef;
use crate::train::FaceTask;
use anyhow::Context;
use kit::rundir::RunDir;
use std::path::{Path, PathBuf};

/// The threshold file of one checkpoint: a threshold belongs to the weights it was chosen for.
pub fn threshold_file(checkpoint: &str) -> String {
    format!("threshold-{checkpoint}.json")
}

/// Saves the verification threshold chosen on the eval pairs for `checkpoint` (best | last).
pub fn save_threshold(
    run: &RunDir,
    checkpoint: &str,
    threshold: f64,
    auc: f64,
) -> anyhow::Result<()> {
    let v = serde_json::json!({ "checkpoint": checkpoint, "threshold": threshold, "auc": auc, "rule": "same person when cosine similarity >= threshold" });
    run.write(
        &threshold_file(checkpoint),
        serde_json::to_string_pretty(&v)?.as_bytes(),
    )?;
    Ok(())
}

/// The threshold chosen for `checkpoint`'s weights.
pub fn load_threshold(run: &RunDir, checkpoint: &str) -> anyhow::Result<f64> {
    let path = run.file(&threshold_file(checkpoint));
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} missing: run `face-verify eval --run {} --checkpoint {checkpoint}` first",
            path.display(),
            run.root.display()
        )
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    v["threshold"]
        .as_f64()
        .with_context(|| format!("{}: no `threshold` number", path.display()))
}

/// Cosine similarity of two face images.
pub fn similarity(
    task: &FaceTask,
    cfg: &crate::config::Config,
    a: &Path,
    b: &Path,
) -> anyhow::Result<f64> {
    let refs = [
        FaceRef::File(a.to_path_buf()),
        FaceRef::File(b.to_path_buf()),
    ];
    let e = tch::no_grad(|| task.embed_refs(&[&refs[0], &refs[1]], &cfg.data))?;
    Ok((e.get(0) * e.get(1))
        .sum(tch::Kind::Double)
        .double_value(&[]))
}

/// Writes `embeddings.csv` (file, then the embedding) for every image in `dir`.
pub fn embed_dir(
    task: &FaceTask,
    cfg: &crate::config::Config,
    dir: &Path,
    out: &Path,
) -> anyhow::Result<usize> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    anyhow::ensure!(
        !files.is_empty(),
        "no .png/.jpg images in {}",
        dir.display()
    );
    let refs: Vec<FaceRef> = files.iter().cloned().map(FaceRef::File).collect();
    let e = tch::no_grad(|| task.embed_refs(&refs.iter().collect::<Vec<_>>(), &cfg.data))?;
    let mut csv = String::new();
    for (i, f) in files.iter().enumerate() {
        let v: Vec<f32> = Vec::try_from(e.get(i as i64))?;
        let nums: Vec<String> = v.iter().map(|x| format!("{x:.6}")).collect();
        csv.push_str(&format!("{},{}\n", f.display(), nums.join(",")));
    }
    kit::rundir::write_atomic(out, csv.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(files.len())
}
