//! ShapeNetCore (v2) as downloaded: `<synset>/<model>/models/model_normalized.obj` (its `.mtl`,
//! `.json` and textures beside it are not read), with ShapeNet's split file `all.csv`
//! (`id,synsetId,subSynsetId,modelId,split`) when the folder has one; without it, a model's
//! part is [`kit::data::content_part`] of its id (80 / 10 / 10%, the same in every run). A class
//! is the synset's name for the 13 classes of 3D-R2N2 / PSGN, else its id.

use kit::data::{content_part, DataError, Part};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The 13 ShapeNet classes single-view reconstruction papers use, by synset id.
const NAMES: [(&str, &str); 13] = [
    ("02691156", "airplane"),
    ("02828884", "bench"),
    ("02933112", "cabinet"),
    ("02958343", "car"),
    ("03001627", "chair"),
    ("03211117", "display"),
    ("03636649", "lamp"),
    ("03691459", "loudspeaker"),
    ("04090263", "rifle"),
    ("04256520", "sofa"),
    ("04379243", "table"),
    ("04401088", "telephone"),
    ("04530566", "watercraft"),
];

fn is_synset(name: &str) -> bool {
    name.len() == 8 && name.bytes().all(|b| b.is_ascii_digit())
}

fn dirs(d: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether `root` is laid out as ShapeNetCore: a synset folder (8 digits) holding a model
/// folder with `models/model_normalized.obj`.
pub fn is_shapenet(root: &Path) -> bool {
    dirs(root).iter().filter(|d| is_synset(&name(d))).any(|s| {
        dirs(s)
            .iter()
            .any(|m| m.join("models/model_normalized.obj").is_file())
    })
}

/// `all.csv`'s split of every model id, when the folder has the file.
fn split_file(root: &Path) -> Result<Option<HashMap<String, Part>>, DataError> {
    let path = root.join("all.csv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let bad = |line: usize, m: String| DataError::Other(format!("{}:{line}: {m}", path.display()));
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = lines
        .next()
        .map(|(_, l)| l.split(',').collect())
        .unwrap_or_default();
    let col = |k: &str| {
        header.iter().position(|h| h.trim() == k).ok_or_else(|| {
            bad(
                1,
                format!(
                    "no `{k}` column (ShapeNet's header: id,synsetId,subSynsetId,modelId,split)"
                ),
            )
        })
    };
    let (model, split) = (col("modelId")?, col("split")?);
    let mut parts = HashMap::new();
    for (i, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let part = match f.get(split).copied() {
            Some("train") => Part::Train,
            Some("val") => Part::Val,
            Some("test") => Part::Test,
            other => {
                return Err(bad(
                    i + 1,
                    format!("split {other:?}: expected train, val or test"),
                ))
            }
        };
        let id = f
            .get(model)
            .ok_or_else(|| bad(i + 1, "too few fields".into()))?;
        parts.insert(id.to_string(), part);
    }
    Ok(Some(parts))
}

/// The meshes of `part`: (class, path of `model_normalized.obj`), sorted. A model folder
/// without the mesh, or missing from `all.csv`, is an error naming it.
pub fn files(root: &Path, part: Part) -> Result<Vec<(String, PathBuf)>, DataError> {
    let splits = split_file(root)?;
    let mut out = Vec::new();
    for synset in dirs(root).into_iter().filter(|d| is_synset(&name(d))) {
        let id = name(&synset);
        let class = NAMES
            .iter()
            .find(|(s, _)| *s == id)
            .map_or(id.clone(), |(_, n)| n.to_string());
        for model in dirs(&synset) {
            let mesh = model.join("models/model_normalized.obj");
            if !mesh.is_file() {
                return Err(DataError::Invalid {
                    path: model,
                    message: "no models/model_normalized.obj (ShapeNetCore v2's layout)".into(),
                });
            }
            let model_id = name(&model);
            let its = match &splits {
                Some(s) => *s.get(&model_id).ok_or_else(|| DataError::Invalid {
                    path: root.join("all.csv"),
                    message: format!(
                        "model {model_id} ({id}) has no row: every model needs its split"
                    ),
                })?,
                None => content_part(model_id.as_bytes()),
            };
            if its == part {
                out.push((class.clone(), mesh));
            }
        }
    }
    Ok(out)
}
