//! Triangle meshes: OFF (ModelNet), OBJ and PLY (ASCII or binary little-endian) readers that
//! name the file and line of what is wrong, a point-cloud PLY writer, normalisation to a unit
//! bounding-box diagonal, and area-uniform surface sampling.

mod ply;

pub use ply::{read_ply, write_ply_points};

use kit::data::DataError;
use rand::Rng;
use std::path::Path;

/// Which axis is up in a mesh file (`data.up_axis`); the app's own shapes are y-up.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UpAxis {
    #[default]
    Y,
    Z,
}

pub type V3 = [f32; 3];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesh {
    pub vertices: Vec<V3>,
    pub faces: Vec<[u32; 3]>,
}

pub(crate) fn bad(path: &Path, line: usize, message: impl std::fmt::Display) -> DataError {
    DataError::Invalid {
        path: path.to_path_buf(),
        message: format!("line {line}: {message}"),
    }
}

pub(crate) fn io(path: &Path, source: std::io::Error) -> DataError {
    DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The mesh file formats [`read_mesh`] knows, by extension.
pub const MESH_EXTENSIONS: [&str; 3] = ["off", "obj", "ply"];

/// Reads a mesh by its extension (`.off`, `.obj`, `.ply`); checks it has faces, indices in
/// range and finite vertices.
pub fn read_mesh(path: &Path) -> Result<Mesh, DataError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    let mesh = match ext.as_str() {
        "off" => read_off(path)?,
        "obj" => read_obj(path)?,
        "ply" => read_ply(path)?,
        _ => {
            return Err(DataError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "unknown mesh format `.{ext}`: use one of {}",
                    MESH_EXTENSIONS.map(|e| format!(".{e}")).join(", ")
                ),
            })
        }
    };
    if mesh.faces.is_empty() {
        return Err(DataError::Invalid {
            path: path.to_path_buf(),
            message: "the mesh has no faces (a point cloud cannot be rendered)".into(),
        });
    }
    // All vertices at one point, or on one line: nothing to sample a surface from (training
    // would see points at the origin).
    if mesh.areas().iter().sum::<f64>() <= 0.0 {
        return Err(DataError::Invalid {
            path: path.to_path_buf(),
            message: "the mesh is degenerate: its faces have zero total area (all vertices \
                      at one point or on one line)"
                .into(),
        });
    }
    Ok(mesh)
}

/// Splits a polygon into a triangle fan, checking indices against `nv`.
pub(crate) fn push_polygon(
    faces: &mut Vec<[u32; 3]>,
    idx: &[i64],
    nv: usize,
    path: &Path,
    line: usize,
) -> Result<(), DataError> {
    if idx.len() < 3 {
        return Err(bad(
            path,
            line,
            format!("a face needs ≥ 3 vertices, got {}", idx.len()),
        ));
    }
    for &i in idx {
        if i < 0 || i as usize >= nv {
            return Err(bad(
                path,
                line,
                format!("vertex index {i} out of range (the mesh has {nv} vertices)"),
            ));
        }
    }
    for k in 1..idx.len() - 1 {
        faces.push([idx[0] as u32, idx[k] as u32, idx[k + 1] as u32]);
    }
    Ok(())
}

fn vertex(tokens: &[&str], path: &Path, line: usize) -> Result<V3, DataError> {
    if tokens.len() < 3 {
        return Err(bad(path, line, "a vertex needs x y z"));
    }
    let mut v = [0f32; 3];
    for k in 0..3 {
        v[k] = tokens[k]
            .parse::<f32>()
            .map_err(|_| bad(path, line, format!("`{}` is not a number", tokens[k])))?;
        if !v[k].is_finite() {
            return Err(bad(
                path,
                line,
                format!("vertex coordinate `{}` is not finite", tokens[k]),
            ));
        }
    }
    Ok(v)
}

/// OFF: `OFF`, then `nv nf ne`, nv vertex lines, nf faces `k i1 … ik` (comments after `#`).
/// Accepts ModelNet's glued first line `OFF490 518 0`.
pub fn read_off(path: &Path) -> Result<Mesh, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split('#').next().unwrap_or("").trim()))
        .filter(|(_, l)| !l.is_empty());
    let (n0, first) = lines.next().ok_or_else(|| bad(path, 1, "empty file"))?;
    let rest = first
        .strip_prefix("OFF")
        .ok_or_else(|| bad(path, n0, format!("expected `OFF`, found `{first}`")))?
        .trim();
    let (nc, counts) = if rest.is_empty() {
        lines
            .next()
            .ok_or_else(|| bad(path, n0 + 1, "missing `nv nf ne` counts"))?
    } else {
        (n0, rest)
    };
    let c: Vec<usize> = counts
        .split_whitespace()
        .map(|t| t.parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad(path, nc, format!("expected `nv nf ne`, found `{counts}`")))?;
    if c.len() < 2 {
        return Err(bad(
            path,
            nc,
            format!("expected `nv nf ne`, found `{counts}`"),
        ));
    }
    let mut mesh = Mesh::default();
    for _ in 0..c[0] {
        let (n, l) = lines
            .next()
            .ok_or_else(|| bad(path, nc, format!("file ends before its {} vertices", c[0])))?;
        let t: Vec<&str> = l.split_whitespace().collect();
        mesh.vertices.push(vertex(&t, path, n)?);
    }
    for _ in 0..c[1] {
        let (n, l) = lines
            .next()
            .ok_or_else(|| bad(path, nc, format!("file ends before its {} faces", c[1])))?;
        let t: Vec<i64> = l
            .split_whitespace()
            .map(|t| t.parse::<i64>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad(path, n, format!("a face must be integers, found `{l}`")))?;
        let k = *t.first().ok_or_else(|| bad(path, n, "empty face"))? as usize;
        if t.len() < k + 1 {
            return Err(bad(
                path,
                n,
                format!("face says {k} vertices but lists {}", t.len() - 1),
            ));
        }
        push_polygon(&mut mesh.faces, &t[1..=k], c[0], path, n)?;
    }
    Ok(mesh)
}

/// OBJ: `v x y z` and `f a b c …` (`a/t/n` forms and negative indices accepted); other
/// statements are ignored.
pub fn read_obj(path: &Path) -> Result<Mesh, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let mut mesh = Mesh::default();
    let mut polys: Vec<(usize, Vec<i64>)> = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let n = i + 1;
        let t: Vec<&str> = l
            .split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        match t.first() {
            Some(&"v") => mesh.vertices.push(vertex(&t[1..], path, n)?),
            Some(&"f") => {
                let nv = mesh.vertices.len() as i64;
                let idx = t[1..]
                    .iter()
                    .map(|s| {
                        let first = s.split('/').next().unwrap_or("");
                        let v: i64 = first
                            .parse()
                            .map_err(|_| bad(path, n, format!("bad face index `{s}`")))?;
                        // 1-based; negative counts back from the latest vertex.
                        Ok(if v < 0 { nv + v } else { v - 1 })
                    })
                    .collect::<Result<Vec<i64>, DataError>>()?;
                polys.push((n, idx));
            }
            _ => {}
        }
    }
    let nv = mesh.vertices.len();
    for (n, idx) in polys {
        push_polygon(&mut mesh.faces, &idx, nv, path, n)?;
    }
    Ok(mesh)
}

impl Mesh {
    /// Turns a mesh whose files use `up` as the up axis into this app's y-up frame: for z-up,
    /// a −90° rotation about x, (x, y, z) → (x, z, −y) (right-handed, nothing mirrored).
    pub fn up(mut self, up: UpAxis) -> Self {
        if up == UpAxis::Z {
            for v in &mut self.vertices {
                *v = [v[0], v[2], -v[1]];
            }
        }
        self
    }

    /// Centres the bounding box at the origin and scales its diagonal to 1 (so F-score
    /// thresholds in % of the diagonal are absolute distances).
    pub fn normalised(mut self) -> Self {
        let (lo, hi) = bounds(&self.vertices);
        let c = [0, 1, 2].map(|k| 0.5 * (lo[k] + hi[k]));
        let diag = (0..3).map(|k| (hi[k] - lo[k]).powi(2)).sum::<f32>().sqrt();
        let s = if diag > 0.0 { 1.0 / diag } else { 1.0 };
        for v in &mut self.vertices {
            *v = [0, 1, 2].map(|k| (v[k] - c[k]) * s);
        }
        self
    }

    fn triangle(&self, f: &[u32; 3]) -> [V3; 3] {
        f.map(|i| self.vertices[i as usize])
    }

    /// Area of each face.
    pub fn areas(&self) -> Vec<f64> {
        self.faces
            .iter()
            .map(|f| {
                let [a, b, c] = self.triangle(f);
                let u = sub(b, a);
                let v = sub(c, a);
                0.5 * norm(cross(u, v)) as f64
            })
            .collect()
    }

    /// `n` points uniform on the surface: a face chosen with probability ∝ area, then a
    /// uniform point in it (barycentric with the square-root trick).
    pub fn sample_surface(&self, n: usize, rng: &mut impl Rng) -> Vec<V3> {
        let mut cum = self.areas();
        let mut acc = 0.0;
        for a in &mut cum {
            acc += *a;
            *a = acc;
        }
        if acc <= 0.0 {
            return vec![[0.0; 3]; n];
        }
        (0..n)
            .map(|_| {
                let r = rng.random::<f64>() * acc;
                let i = cum.partition_point(|&c| c < r).min(cum.len() - 1);
                let [a, b, c] = self.triangle(&self.faces[i]);
                let (r1, r2): (f32, f32) = (rng.random::<f32>().sqrt(), rng.random());
                let (wa, wb, wc) = (1.0 - r1, r1 * (1.0 - r2), r1 * r2);
                [0, 1, 2].map(|k| wa * a[k] + wb * b[k] + wc * c[k])
            })
            .collect()
    }
}

/// Axis-aligned bounds (min, max) of points.
pub fn bounds(p: &[V3]) -> (V3, V3) {
    p.iter().fold(
        ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]),
        |(lo, hi), v| {
            (
                [0, 1, 2].map(|k| lo[k].min(v[k])),
                [0, 1, 2].map(|k| hi[k].max(v[k])),
            )
        },
    )
}

/// Length of the bounding-box diagonal of points.
pub fn diagonal(p: &[V3]) -> f32 {
    let (lo, hi) = bounds(p);
    if p.is_empty() {
        return 0.0;
    }
    norm(sub(hi, lo))
}

pub fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub fn norm(a: V3) -> f32 {
    (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt()
}
