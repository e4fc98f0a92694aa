//! PLY, ASCII or binary little-endian: the reader (meshes and point clouds) and a point-cloud
//! writer.

use super::{bad, io, push_polygon, Mesh, V3};
use kit::data::DataError;
use std::path::Path;

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
