//! Triangle meshes: OFF (ModelNet), OBJ and PLY (ASCII or binary little-endian) readers that
//! name the file and line of what is wrong, a point-cloud PLY writer, normalisation to a unit
//! bounding-box diagonal, and area-uniform surface sampling.

use kit::data::DataError;
use rand::Rng;
use std::path::Path;

pub type V3 = [f32; 3];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesh {
    pub vertices: Vec<V3>,
    pub faces: Vec<[u32; 3]>,
}

fn bad(path: &Path, line: usize, message: impl std::fmt::Display) -> DataError {
    DataError::Invalid {
        path: path.to_path_buf(),
        message: format!("line {line}: {message}"),
    }
}

fn io(path: &Path, source: std::io::Error) -> DataError {
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
    Ok(mesh)
}

/// Splits a polygon into a triangle fan, checking indices against `nv`.
fn push_polygon(
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

#[derive(Debug, Clone, Copy)]
enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Scalar {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "char" | "int8" => Self::I8,
            "uchar" | "uint8" => Self::U8,
            "short" | "int16" => Self::I16,
            "ushort" | "uint16" => Self::U16,
            "int" | "int32" => Self::I32,
            "uint" | "uint32" => Self::U32,
            "float" | "float32" => Self::F32,
            "double" | "float64" => Self::F64,
            _ => return None,
        })
    }
    fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }
    fn read_le(self, b: &[u8]) -> f64 {
        match self {
            Self::I8 => b[0] as i8 as f64,
            Self::U8 => b[0] as f64,
            Self::I16 => i16::from_le_bytes([b[0], b[1]]) as f64,
            Self::U16 => u16::from_le_bytes([b[0], b[1]]) as f64,
            Self::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            Self::U32 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            Self::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            Self::F64 => f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        }
    }
}

enum Prop {
    One(Scalar, String),
    List(Scalar, Scalar, String),
}

struct Element {
    name: String,
    count: usize,
    props: Vec<Prop>,
}

/// PLY, ASCII or binary little-endian: `vertex` (x, y, z) and optional `face`
/// (`vertex_indices` or `vertex_index` list); other elements and properties are skipped.
/// A PLY without faces reads as a point cloud (no faces).
pub fn read_ply(path: &Path) -> Result<Mesh, DataError> {
    let data = std::fs::read(path).map_err(|e| io(path, e))?;
    // Header: ASCII lines up to `end_header`.
    let mut pos = 0;
    let mut line_no = 0;
    let mut header = Vec::new();
    loop {
        let end = data[pos..]
            .iter()
            .position(|&c| c == b'\n')
            .ok_or_else(|| bad(path, line_no + 1, "header has no `end_header`"))?;
        line_no += 1;
        let l = String::from_utf8_lossy(&data[pos..pos + end])
            .trim()
            .to_string();
        pos += end + 1;
        if l == "end_header" {
            break;
        }
        header.push((line_no, l));
    }
    if header.first().map(|(_, l)| l.as_str()) != Some("ply") {
        return Err(bad(path, 1, "not a PLY file (first line must be `ply`)"));
    }
    let mut binary = false;
    let mut elements: Vec<Element> = Vec::new();
    for (n, l) in &header[1..] {
        let t: Vec<&str> = l.split_whitespace().collect();
        match t.as_slice() {
            ["format", "ascii", _] => binary = false,
            ["format", "binary_little_endian", _] => binary = true,
            ["format", f, _] => {
                return Err(bad(
                    path,
                    *n,
                    format!(
                        "PLY format `{f}` is not supported: save as ascii or binary_little_endian"
                    ),
                ))
            }
            ["element", name, count] => elements.push(Element {
                name: name.to_string(),
                count: count
                    .parse()
                    .map_err(|_| bad(path, *n, format!("bad element count `{count}`")))?,
                props: Vec::new(),
            }),
            ["property", "list", c, i, name] => {
                let (c, i) = Scalar::parse(c)
                    .zip(Scalar::parse(i))
                    .ok_or_else(|| bad(path, *n, format!("unknown list types in `{l}`")))?;
                elements
                    .last_mut()
                    .ok_or_else(|| bad(path, *n, "property before any element"))?
                    .props
                    .push(Prop::List(c, i, name.to_string()));
            }
            ["property", ty, name] => {
                let ty = Scalar::parse(ty)
                    .ok_or_else(|| bad(path, *n, format!("unknown property type `{ty}`")))?;
                elements
                    .last_mut()
                    .ok_or_else(|| bad(path, *n, "property before any element"))?
                    .props
                    .push(Prop::One(ty, name.to_string()));
            }
            _ => {} // comment, obj_info
        }
    }
    let mut mesh = Mesh::default();
    let mut reader = PlyBody {
        data: &data,
        pos,
        line: line_no,
        binary,
        path,
        tokens: Vec::new(),
    };
    for el in &elements {
        for _ in 0..el.count {
            reader.start_record()?;
            let mut xyz = [f64::NAN; 3];
            let mut face: Option<Vec<i64>> = None;
            for p in &el.props {
                match p {
                    Prop::One(ty, name) => {
                        let v = reader.value(*ty)?;
                        if let Some(k) = ["x", "y", "z"].iter().position(|a| a == name) {
                            xyz[k] = v;
                        }
                    }
                    Prop::List(c, i, name) => {
                        let k = reader.value(*c)? as usize;
                        let vals = (0..k)
                            .map(|_| reader.value(*i).map(|v| v as i64))
                            .collect::<Result<Vec<_>, _>>()?;
                        if name == "vertex_indices" || name == "vertex_index" {
                            face = Some(vals);
                        }
                    }
                }
            }
            let line = reader.line;
            if el.name == "vertex" {
                if xyz.iter().any(|v| !v.is_finite()) {
                    return Err(bad(path, line, "vertex without finite x, y, z"));
                }
                mesh.vertices.push(xyz.map(|v| v as f32));
            } else if el.name == "face" {
                let idx =
                    face.ok_or_else(|| bad(path, line, "face element without vertex_indices"))?;
                push_polygon(&mut mesh.faces, &idx, mesh.vertices.len(), path, line)?;
            }
        }
    }
    Ok(mesh)
}

/// The body of a PLY file, read value by value (ASCII: one record per line).
struct PlyBody<'a> {
    data: &'a [u8],
    pos: usize,
    /// Current line (ASCII) or record count past the header (binary), for messages.
    line: usize,
    binary: bool,
    path: &'a Path,
    tokens: Vec<String>,
}

impl PlyBody<'_> {
    fn start_record(&mut self) -> Result<(), DataError> {
        self.line += 1;
        if self.binary {
            return Ok(());
        }
        let rest = &self.data[self.pos..];
        if rest.is_empty() {
            return Err(bad(
                self.path,
                self.line,
                "file ends before all elements are read",
            ));
        }
        let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
        let l = String::from_utf8_lossy(&rest[..end]);
        self.tokens = l.split_whitespace().rev().map(str::to_string).collect();
        self.pos += (end + 1).min(rest.len());
        Ok(())
    }

    fn value(&mut self, ty: Scalar) -> Result<f64, DataError> {
        if self.binary {
            let s = ty.size();
            let b = self.data.get(self.pos..self.pos + s).ok_or_else(|| {
                bad(
                    self.path,
                    self.line,
                    "file ends before all elements are read",
                )
            })?;
            self.pos += s;
            Ok(ty.read_le(b))
        } else {
            let t = self
                .tokens
                .pop()
                .ok_or_else(|| bad(self.path, self.line, "too few values on the line"))?;
            t.parse::<f64>()
                .map_err(|_| bad(self.path, self.line, format!("`{t}` is not a number")))
        }
    }
}

/// Writes points as an ASCII PLY (opens in CloudCompare, MeshLab, Blender).
pub fn write_ply_points(path: &Path, points: &[V3]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        f,
        "ply\nformat ascii 1.0\ncomment loss-zoo pointcloud-chamfer\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nend_header",
        points.len()
    )?;
    for p in points {
        writeln!(f, "{} {} {}", p[0], p[1], p[2])?;
    }
    f.flush()
}

impl Mesh {
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
