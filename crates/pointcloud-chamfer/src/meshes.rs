//! Folders of real meshes (OFF, OBJ, PLY; class sub-folders) and lists of mesh files (ShapeNet),
//! each mesh rendered into `views_per_mesh` samples as the built-in shapes are.

use crate::config::DataConfig;
use crate::data::{sample_of, Sample};
use crate::mesh;
use kit::data::{rng_for, DataError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Mesh files under `dir` (class = sub-folder name, or `object` at the top), sorted. A file
/// of another kind is an error naming it (hidden files, `.`-prefixed, are ignored), so a mesh
/// in a format we do not read (`.stl`, `.glb`) is never dropped without a word.
pub fn mesh_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, DataError> {
    let list = |d: &Path| -> Result<Vec<PathBuf>, DataError> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d)
            .map_err(|source| DataError::Io {
                path: d.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        Ok(v)
    };
    let hidden = |p: &Path| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    };
    // Some(true): a mesh; Some(false): hidden, skipped; an error for anything else.
    let is_mesh = |p: &Path| -> Result<bool, DataError> {
        if hidden(p) {
            return Ok(false);
        }
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .unwrap_or_default();
        if mesh::MESH_EXTENSIONS.contains(&ext.as_str()) {
            return Ok(true);
        }
        Err(DataError::Invalid {
            path: p.to_path_buf(),
            message: format!(
                "not a mesh this app reads (known: {}): convert it (e.g. with trimesh or \
                 meshlab) or move it out of the data folder",
                mesh::MESH_EXTENSIONS.map(|e| format!(".{e}")).join(", ")
            ),
        })
    };
    let mut out = Vec::new();
    for p in list(dir)? {
        if p.is_dir() {
            if hidden(&p) {
                continue;
            }
            let class = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            for f in list(&p)? {
                if f.is_dir() && !hidden(&f) {
                    return Err(DataError::Invalid {
                        path: f,
                        message: "a folder inside a class folder is not read: put the meshes \
                                  directly in <split>/<class>/"
                            .into(),
                    });
                }
                if f.is_file() && is_mesh(&f)? {
                    out.push((class.clone(), f));
                }
            }
        } else if is_mesh(&p)? {
            out.push(("object".to_string(), p));
        }
    }
    Ok(out)
}

pub(crate) fn read_meshes(
    cfg: &DataConfig,
    dir: &Path,
    seed: u64,
) -> Result<Vec<Sample>, DataError> {
    meshes_of(cfg, mesh_files(dir)?, seed)
}

/// Samples of meshes given as (class, path): `views_per_mesh` rendered views each.
pub(crate) fn meshes_of(
    cfg: &DataConfig,
    files: Vec<(String, PathBuf)>,
    seed: u64,
) -> Result<Vec<Sample>, DataError> {
    if files.is_empty() {
        return Err(DataError::Other(
            "no meshes in this part of the dataset".into(),
        ));
    }
    let mut out = Vec::new();
    for (k, (class, path)) in files.into_iter().enumerate() {
        let mesh = mesh::read_mesh(&path)?.up(cfg.up_axis).normalised();
        let class: Arc<str> = Arc::from(class.as_str());
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        // ShapeNet names every mesh model_normalized: the model's folder names it.
        let stem = match path.parent().and_then(Path::parent) {
            Some(model) if stem == "model_normalized" => model
                .file_name()
                .map_or(stem, |n| n.to_string_lossy().to_string()),
            _ => stem,
        };
        for v in 0..cfg.views_per_mesh {
            let mut rng = rng_for(seed, 11, (k * 1000 + v) as u64);
            out.push(sample_of(
                &mesh,
                cfg,
                class.clone(),
                format!("{stem}-v{v}"),
                &mut rng,
            ));
        }
    }
    Ok(out)
}
