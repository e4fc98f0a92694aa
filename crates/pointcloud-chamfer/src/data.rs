//! Samples (rendered image + surface points), the built-in shapes generated ahead of
//! training, the on-disk format `synth` writes (meta.csv, images/*.png, points/*.ply), folders
//! of real meshes rendered the same way, and a collate that builds each batch in plain memory
//! (one tensor per field, no libtorch op per sample on loader threads).

use crate::config::{DataConfig, Frame};
use crate::mesh::{self, Mesh, V3};
pub use crate::meshes::mesh_files;
use crate::render::{render, View};
use crate::synth::{self, CLASSES};
use kit::data::{rng_for, DataError, Dataset};
use rand::seq::IndexedRandom;
use rand::Rng;
use std::path::Path;
use std::sync::Arc;
use tch::Tensor;

/// Half-width of the rendered square in scene units (shapes have a unit diagonal, so they
/// fit in a sphere of radius 0.5).
pub const EXTENT: f32 = 0.55;

#[derive(Debug, Clone)]
pub struct Sample {
    /// Grayscale image, row-major, `image_size`², in [0, 1].
    pub image: Vec<f32>,
    /// Ground-truth points in the configured frame.
    pub points: Vec<V3>,
    pub class: Arc<str>,
    pub view: View,
    pub name: String,
}

/// A split in memory.
pub struct Split {
    pub samples: Vec<Sample>,
}

impl Dataset for Split {
    type Item = Sample;
    fn len(&self) -> usize {
        self.samples.len()
    }
    fn get(&self, index: usize, _epoch: u64) -> Result<Sample, DataError> {
        Ok(self.samples[index].clone())
    }
}

/// Images (B, 1, S, S) and ground-truth points (B, M, 3).
pub type Batch = (Tensor, Tensor);

/// Stacks samples into one image tensor and one point tensor, built in plain memory.
pub fn collate(items: Vec<Sample>) -> Result<Batch, DataError> {
    let first = items
        .first()
        .ok_or_else(|| DataError::Other("empty batch".into()))?;
    let (px, m) = (first.image.len(), first.points.len());
    let side = (px as f64).sqrt() as i64;
    let mut img = Vec::with_capacity(items.len() * px);
    let mut pts: Vec<f32> = Vec::with_capacity(items.len() * m * 3);
    for s in &items {
        if s.image.len() != px || s.points.len() != m {
            return Err(DataError::Other(format!(
                "{}: {} pixels and {} points, the batch has {px} and {m}",
                s.name,
                s.image.len(),
                s.points.len()
            )));
        }
        img.extend_from_slice(&s.image);
        pts.extend(s.points.iter().flatten());
    }
    let b = items.len() as i64;
    Ok((
        Tensor::from_slice(&img).view([b, 1, side, side]),
        Tensor::from_slice(&pts).view([b, m as i64, 3]),
    ))
}

/// `points` (object frame) in the configured frame for `view`.
pub fn in_frame(points: Vec<V3>, view: View, frame: Frame) -> Vec<V3> {
    match frame {
        Frame::Object => points,
        Frame::Viewer => points.into_iter().map(|p| view.apply(p)).collect(),
    }
}

fn random_view(cfg: &DataConfig, rng: &mut impl Rng) -> View {
    let [lo, hi] = cfg.elevation;
    View {
        azimuth: rng.random_range(0.0..360.0),
        elevation: if hi > lo {
            rng.random_range(lo..hi)
        } else {
            lo
        },
    }
}

/// One sample of `mesh` (normalised) from a random view.
pub(crate) fn sample_of(
    mesh: &Mesh,
    cfg: &DataConfig,
    class: Arc<str>,
    name: String,
    rng: &mut impl Rng,
) -> Sample {
    let view = random_view(cfg, rng);
    let image = render(mesh, view, cfg.image_size, EXTENT);
    let points = in_frame(mesh.sample_surface(cfg.points, rng), view, cfg.frame);
    Sample {
        image,
        points,
        class,
        view,
        name,
    }
}

/// The built-in classes the config uses, in label order.
pub fn classes(cfg: &DataConfig) -> Vec<&'static str> {
    CLASSES
        .iter()
        .copied()
        .filter(|c| cfg.classes.is_empty() || cfg.classes.iter().any(|x| x == c))
        .collect()
}

/// `n` built-in samples of `seed` (classes in turn), rendered ahead on all cores.
pub fn generate(cfg: &DataConfig, n: usize, seed: u64) -> Vec<Sample> {
    let names = classes(cfg);
    let one = |i: usize| {
        let mut rng = rng_for(seed, 7, i as u64);
        let c = names[i % names.len()];
        let class_id = CLASSES.iter().position(|x| *x == c).unwrap_or(0);
        let mesh = synth::shape(class_id, &mut rng);
        sample_of(&mesh, cfg, Arc::from(c), format!("{c}-{i:05}"), &mut rng)
    };
    kit::data::render_ahead(n, one)
}

/// The test set of the config, read by `eval` only (training selects on validation): built-in
/// shapes from their own seed (`val_size` of them), or a folder's `test/` — a folder without
/// one reports `val/` and says so.
pub fn test_set(cfg: &DataConfig, seed: u64) -> Result<Vec<Sample>, DataError> {
    if cfg.source == "shapes" {
        return Ok(generate(cfg, cfg.val_size, kit::data::test_seed(seed)));
    }
    let root = Path::new(&cfg.source);
    if crate::shapenet::is_shapenet(root) {
        let files = crate::shapenet::files(root, kit::data::Part::Test)?;
        return crate::meshes::meshes_of(cfg, files, kit::data::test_seed(seed));
    }
    let dir = kit::cli::held_out_split(root, kit::cli::Split::Test);
    read_split(cfg, &dir, kit::data::test_seed(seed))
}

/// The training and validation sets of the config.
pub fn sources(cfg: &DataConfig, seed: u64) -> Result<(Vec<Sample>, Vec<Sample>), DataError> {
    if cfg.source == "shapes" {
        return Ok((
            generate(cfg, cfg.train_size, seed),
            generate(cfg, cfg.val_size, kit::data::val_seed(seed)),
        ));
    }
    let root = Path::new(&cfg.source);
    if !root.is_dir() {
        return Err(DataError::Invalid {
            path: root.to_path_buf(),
            message: "data.source is neither `shapes` nor a folder: run `pointcloud-chamfer synth --out DIR` or point it at a folder of meshes (see data/README.md)".into(),
        });
    }
    if crate::shapenet::is_shapenet(root) {
        let part = |p| crate::shapenet::files(root, p);
        return Ok((
            crate::meshes::meshes_of(cfg, part(kit::data::Part::Train)?, seed)?,
            crate::meshes::meshes_of(cfg, part(kit::data::Part::Val)?, kit::data::val_seed(seed))?,
        ));
    }
    Ok((
        read_split(cfg, &root.join("train"), seed)?,
        read_split(cfg, &root.join("val"), kit::data::val_seed(seed))?,
    ))
}

/// A split folder: `synth`'s format when it has `meta.csv`, else a folder of meshes (ShapeNet's
/// layout: its test part, for `eval --data`).
pub fn read_split(cfg: &DataConfig, dir: &Path, seed: u64) -> Result<Vec<Sample>, DataError> {
    let samples = if crate::shapenet::is_shapenet(dir) {
        crate::meshes::meshes_of(
            cfg,
            crate::shapenet::files(dir, kit::data::Part::Test)?,
            seed,
        )?
    } else if dir.join("meta.csv").is_file() {
        read_rendered(cfg, dir, seed)?
    } else {
        crate::meshes::read_meshes(cfg, dir, seed)?
    };
    if samples.is_empty() {
        return Err(DataError::Invalid {
            path: dir.to_path_buf(),
            message: "no samples: expected meta.csv (from `synth`) or .off/.obj/.ply meshes".into(),
        });
    }
    Ok(samples)
}

/// A grayscale image file as `size`² floats in [0, 1] (resized if needed).
pub fn read_image(path: &Path, size: usize) -> Result<Vec<f32>, DataError> {
    let img = kit::images::load(path)?;
    let img = if img.width() as usize != size || img.height() as usize != size {
        kit::images::resize(&img, size as u32, size as u32)
    } else {
        img
    };
    Ok(img
        .to_luma8()
        .pixels()
        .map(|p| p.0[0] as f32 / 255.0)
        .collect())
}

/// Exactly `m` of `points`: a seeded subset, or with repeats when there are fewer.
fn resample(points: Vec<V3>, m: usize, rng: &mut impl Rng) -> Vec<V3> {
    if points.len() == m || points.is_empty() {
        return points;
    }
    if points.len() > m {
        points.choose_multiple(rng, m).copied().collect()
    } else {
        (0..m)
            .map(|i| {
                points[if i < points.len() {
                    i
                } else {
                    rng.random_range(0..points.len())
                }]
            })
            .collect()
    }
}

fn read_rendered(cfg: &DataConfig, dir: &Path, seed: u64) -> Result<Vec<Sample>, DataError> {
    let meta = dir.join("meta.csv");
    let text = std::fs::read_to_string(&meta).map_err(|source| DataError::Io {
        path: meta.clone(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad = |m: String| DataError::Invalid {
            path: meta.clone(),
            message: format!("line {}: {m}", i + 1),
        };
        if f.len() != 4 {
            return Err(bad(format!(
                "expected `file,class,azimuth,elevation`, got `{line}`"
            )));
        }
        let num = |s: &str| match s.parse::<f32>() {
            Ok(v) if v.is_finite() => Ok(v),
            Ok(_) => Err(bad(format!("`{s}` is not a finite angle"))),
            Err(_) => Err(bad(format!("`{s}` is not a number"))),
        };
        let view = View {
            azimuth: num(f[2])?,
            elevation: num(f[3])?,
        };
        let image = read_image(
            &dir.join("images").join(format!("{}.png", f[0])),
            cfg.image_size,
        )?;
        let ply = dir.join("points").join(format!("{}.ply", f[0]));
        let points = mesh::read_ply(&ply)?.vertices;
        if points.is_empty() {
            return Err(DataError::Invalid {
                path: ply,
                message: "no points".into(),
            });
        }
        let mut rng = rng_for(seed, 13, i as u64);
        let points = in_frame(resample(points, cfg.points, &mut rng), view, cfg.frame);
        out.push(Sample {
            image,
            points,
            class: Arc::from(f[1]),
            view,
            name: f[0].to_string(),
        });
    }
    Ok(out)
}

/// Writes `samples` in the on-disk format: `dir/meta.csv`, `dir/images/*.png`,
/// `dir/points/*.ply` (points in the object frame, so either frame can be trained from it).
pub fn write_split(
    dir: &Path,
    samples: &[Sample],
    size: usize,
    frame: Frame,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("images"))?;
    std::fs::create_dir_all(dir.join("points"))?;
    let mut meta = String::from("file,class,azimuth,elevation\n");
    for s in samples {
        meta.push_str(&format!(
            "{},{},{},{}\n",
            s.name, s.class, s.view.azimuth, s.view.elevation
        ));
        let px: Vec<u8> = s
            .image
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        let img = image::GrayImage::from_raw(size as u32, size as u32, px)
            .ok_or_else(|| anyhow::anyhow!("{}: image has the wrong size", s.name))?;
        img.save(dir.join("images").join(format!("{}.png", s.name)))?;
        let object: Vec<V3> = match frame {
            Frame::Object => s.points.clone(),
            Frame::Viewer => {
                // Undo the view rotation (Rᵀ).
                let r = s.view.rotation();
                s.points
                    .iter()
                    .map(|p| [0, 1, 2].map(|j| r[0][j] * p[0] + r[1][j] * p[1] + r[2][j] * p[2]))
                    .collect()
            }
        };
        mesh::write_ply_points(&dir.join("points").join(format!("{}.ply", s.name)), &object)?;
    }
    std::fs::write(dir.join("meta.csv"), meta)?;
    Ok(())
}
