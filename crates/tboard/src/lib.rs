//! A small TensorBoard event writer: scalars, PNG images, histograms, text, hparams and point
//! clouds (the mesh plugin's 3-D view).
//!
//! The file format is TFRecord framing (little-endian u64 length, masked CRC32C of the
//! length, the data, masked CRC32C of the data) around `Event` protobuf messages. The messages
//! are hand-written `prost` structs carrying only the fields TensorBoard reads, so no
//! `protoc` is needed. Tested against TensorBoard's own `EventAccumulator`.

use prost::Message;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

mod proto;

/// An hyperparameter value for [`EventWriter::hparams`].
#[derive(Debug, Clone, PartialEq)]
pub enum HParam {
    Number(f64),
    Text(String),
    Bool(bool),
}

/// Appends events to one `events.out.tfevents.*` file in a log directory. The file is created
/// with the first event, so a writer that logs nothing (a resumed run that had already
/// finished) leaves no empty event file behind.
pub struct EventWriter {
    out: Option<BufWriter<File>>,
    path: PathBuf,
}

static FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

fn plugin(name: &str, content: Vec<u8>) -> Option<proto::SummaryMetadata> {
    Some(proto::SummaryMetadata {
        plugin_data: Some(proto::PluginData {
            plugin_name: name.to_string(),
            content,
        }),
    })
}

/// One TFRecord: length, masked CRC of the length, data, masked CRC of the data.
fn write_record(out: &mut impl Write, data: &[u8]) -> std::io::Result<()> {
    let len = (data.len() as u64).to_le_bytes();
    out.write_all(&len)?;
    out.write_all(&masked_crc(&len).to_le_bytes())?;
    out.write_all(data)?;
    out.write_all(&masked_crc(data).to_le_bytes())
}

impl EventWriter {
    /// Creates a new event file in `dir`. The name carries seconds, host, pid and a counter,
    /// so two writers started in the same second never share a file.
    pub fn new(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let name = format!(
            "events.out.tfevents.{:010}.{host}.{}.{}",
            now() as u64,
            std::process::id(),
            FILE_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Ok(Self {
            out: None,
            path: dir.join(name),
        })
    }

    /// The event file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_event(&mut self, event: proto::Event) -> std::io::Result<()> {
        let out = match &mut self.out {
            Some(out) => out,
            None => {
                let mut out = BufWriter::new(File::create(&self.path)?);
                let header = proto::Event {
                    wall_time: now(),
                    step: 0,
                    what: Some(proto::What::FileVersion("brain.Event:2".into())),
                };
                write_record(&mut out, &header.encode_to_vec())?;
                self.out.insert(out)
            }
        };
        write_record(out, &event.encode_to_vec())?;
        out.flush()
    }

    fn write_values(&mut self, step: i64, value: Vec<proto::Value>) -> std::io::Result<()> {
        self.write_event(proto::Event {
            wall_time: now(),
            step,
            what: Some(proto::What::Summary(proto::Summary { value })),
        })
    }

    /// A restart marker (`SessionLog.START`, as TensorFlow writes when a session restarts from
    /// a checkpoint): TensorBoard forgets every event of earlier files at `step` or later, so
    /// steps logged after the last checkpoint of a killed run are not shown twice on resume.
    pub fn session_start(&mut self, step: i64) -> std::io::Result<()> {
        self.write_event(proto::Event {
            wall_time: now(),
            step,
            what: Some(proto::What::SessionLog(proto::SessionLog { status: 1 })),
        })
    }

    /// A scalar point on the `tag` curve.
    pub fn scalar(&mut self, tag: &str, step: i64, value: f64) -> std::io::Result<()> {
        self.write_values(
            step,
            vec![proto::Value {
                tag: tag.into(),
                metadata: None,
                value: Some(proto::ValueKind::SimpleValue(value as f32)),
            }],
        )
    }

    /// An RGB image, encoded as PNG.
    pub fn image(&mut self, tag: &str, step: i64, img: &image::RgbImage) -> std::io::Result<()> {
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(std::io::Error::other)?;
        self.write_values(
            step,
            vec![proto::Value {
                tag: tag.into(),
                metadata: None,
                value: Some(proto::ValueKind::Image(proto::Image {
                    height: img.height() as i32,
                    width: img.width() as i32,
                    colorspace: 3,
                    encoded_image_string: png,
                })),
            }],
        )
    }

    /// A histogram of `values` in `buckets` equal-width buckets (non-finite values skipped).
    pub fn histogram(
        &mut self,
        tag: &str,
        step: i64,
        values: &[f64],
        buckets: usize,
    ) -> std::io::Result<()> {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Ok(());
        }
        let (min, max) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        let n = buckets.max(1);
        let width = if max > min {
            (max - min) / n as f64
        } else {
            1.0
        };
        let mut counts = vec![0.0; n];
        for &x in &v {
            let i = (((x - min) / width) as usize).min(n - 1);
            counts[i] += 1.0;
        }
        let limits = (1..=n).map(|i| min + width * i as f64).collect();
        self.write_values(
            step,
            vec![proto::Value {
                tag: tag.into(),
                metadata: None,
                value: Some(proto::ValueKind::Histo(proto::HistogramProto {
                    min,
                    max,
                    num: v.len() as f64,
                    sum: v.iter().sum(),
                    sum_squares: v.iter().map(|x| x * x).sum(),
                    bucket_limit: limits,
                    bucket: counts,
                })),
            }],
        )
    }

    /// A coloured point cloud in TensorBoard's Mesh tab (the mesh plugin's format, as
    /// `torch.utils.tensorboard`'s `add_mesh` writes it): tags `<tag>_VERTEX` (float32
    /// [1, N, 3]) and `<tag>_COLOR` (uint8 [1, N, 3]); `point_size` in scene units.
    pub fn point_cloud(
        &mut self,
        tag: &str,
        step: i64,
        points: &[[f32; 3]],
        colors: &[[u8; 3]],
        point_size: f32,
    ) -> std::io::Result<()> {
        if colors.len() != points.len() {
            return Err(std::io::Error::other(format!(
                "point cloud {tag}: {} colours for {} points",
                colors.len(),
                points.len()
            )));
        }
        let n = points.len() as i64;
        let config =
            format!(r#"{{"material": {{"cls": "PointsMaterial", "size": {point_size}}}}}"#);
        let components = (1 << 1) | (1 << 3);
        let part = |kind: i32, suffix: &str, dtype: i32, bytes: Vec<u8>| proto::Value {
            tag: format!("{tag}_{suffix}"),
            metadata: plugin(
                "mesh",
                proto::MeshPluginData {
                    version: 0,
                    name: tag.to_string(),
                    content_type: kind,
                    json_config: config.clone(),
                    shape: vec![1, n as i32, 3],
                    components,
                }
                .encode_to_vec(),
            ),
            value: Some(proto::ValueKind::Tensor(proto::TensorProto {
                dtype,
                tensor_shape: Some(proto::TensorShapeProto {
                    dim: [1, n, 3].iter().map(|&size| proto::Dim { size }).collect(),
                }),
                tensor_content: bytes,
                ..Default::default()
            })),
        };
        let xyz = points
            .iter()
            .flatten()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let rgb = colors.iter().flatten().copied().collect();
        // DT_FLOAT = 1, DT_UINT8 = 4.
        self.write_values(
            step,
            vec![part(1, "VERTEX", 1, xyz), part(3, "COLOR", 4, rgb)],
        )
    }

    /// Markdown text, shown in TensorBoard's Text tab.
    pub fn text(&mut self, tag: &str, step: i64, text: &str) -> std::io::Result<()> {
        self.write_values(
            step,
            vec![proto::Value {
                tag: tag.into(),
                metadata: plugin("text", Vec::new()),
                value: Some(proto::ValueKind::Tensor(proto::TensorProto {
                    dtype: 7, // DT_STRING
                    tensor_shape: Some(proto::TensorShapeProto {
                        dim: vec![proto::Dim { size: 1 }],
                    }),
                    string_val: vec![text.as_bytes().to_vec()],
                    ..Default::default()
                })),
            }],
        )
    }

    /// Hyperparameters of this run and the metric tags to show next to them in the HParams tab.
    pub fn hparams(
        &mut self,
        hparams: &[(String, HParam)],
        metrics: &[&str],
    ) -> std::io::Result<()> {
        use proto::{HParamsPluginData, HpData, PbKind, PbValue};
        let experiment = proto::Experiment {
            hparam_infos: hparams
                .iter()
                .map(|(name, v)| proto::HParamInfo {
                    name: name.clone(),
                    r#type: match v {
                        HParam::Text(_) => 1,
                        HParam::Bool(_) => 2,
                        HParam::Number(_) => 3,
                    },
                })
                .collect(),
            metric_infos: metrics
                .iter()
                .map(|m| proto::MetricInfo {
                    name: Some(proto::MetricName {
                        group: String::new(),
                        tag: (*m).to_string(),
                    }),
                })
                .collect(),
        };
        let start = proto::SessionStartInfo {
            hparams: hparams
                .iter()
                .map(|(k, v)| {
                    let kind = match v {
                        HParam::Number(x) => PbKind::Number(*x),
                        HParam::Text(s) => PbKind::Str(s.clone()),
                        HParam::Bool(b) => PbKind::Bool(*b),
                    };
                    (k.clone(), PbValue { kind: Some(kind) })
                })
                .collect(),
            start_time_secs: now(),
        };
        let end = proto::SessionEndInfo {
            status: 1,
            end_time_secs: now(),
        };
        let parts = [
            ("_hparams_/experiment", HpData::Experiment(experiment)),
            (
                "_hparams_/session_start_info",
                HpData::SessionStartInfo(start),
            ),
            ("_hparams_/session_end_info", HpData::SessionEndInfo(end)),
        ];
        for (tag, data) in parts {
            let content = HParamsPluginData {
                version: 0,
                data: Some(data),
            }
            .encode_to_vec();
            self.write_values(
                0,
                vec![proto::Value {
                    tag: tag.into(),
                    metadata: plugin("hparams", content),
                    value: None,
                }],
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_matches_tensorflow() {
        // crc32c("123456789") = 0xE3069283 is the standard check value.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        // Masked by hand (Python): ((c >> 15 | c << 17) & 0xffffffff) + 0xa282ead8.
        assert_eq!(masked_crc(b"123456789"), 0xc78ab0e5);
    }
}
