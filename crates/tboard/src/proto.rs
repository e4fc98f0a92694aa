//! The subset of TensorFlow's `event.proto` / `summary.proto` and TensorBoard's hparams
//! `plugin_data.proto` that the writer needs, with their real field numbers.
use prost::{Message, Oneof};

#[derive(Clone, PartialEq, Message)]
pub struct Event {
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    #[prost(int64, tag = "2")]
    pub step: i64,
    #[prost(oneof = "What", tags = "3, 5, 7")]
    pub what: Option<What>,
}
#[derive(Clone, PartialEq, Oneof)]
pub enum What {
    #[prost(string, tag = "3")]
    FileVersion(String),
    #[prost(message, tag = "5")]
    Summary(Summary),
    /// `Event.session_log` is field 7 (6 is the deprecated `log_message`).
    #[prost(message, tag = "7")]
    SessionLog(SessionLog),
}
/// `SessionLog { status = 1 }`; status 1 is `START`: TensorBoard's loader drops every event
/// already read whose step is ≥ this event's (the orphans of a run that restarted).
#[derive(Clone, PartialEq, Message)]
pub struct SessionLog {
    #[prost(int32, tag = "1")]
    pub status: i32,
}
#[derive(Clone, PartialEq, Message)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<Value>,
}
#[derive(Clone, PartialEq, Message)]
pub struct Value {
    #[prost(string, tag = "1")]
    pub tag: String,
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<SummaryMetadata>,
    #[prost(oneof = "ValueKind", tags = "2, 4, 5, 8")]
    pub value: Option<ValueKind>,
}
#[derive(Clone, PartialEq, Oneof)]
pub enum ValueKind {
    #[prost(float, tag = "2")]
    SimpleValue(f32),
    #[prost(message, tag = "4")]
    Image(Image),
    #[prost(message, tag = "5")]
    Histo(HistogramProto),
    #[prost(message, tag = "8")]
    Tensor(TensorProto),
}
#[derive(Clone, PartialEq, Message)]
pub struct Image {
    #[prost(int32, tag = "1")]
    pub height: i32,
    #[prost(int32, tag = "2")]
    pub width: i32,
    #[prost(int32, tag = "3")]
    pub colorspace: i32,
    #[prost(bytes = "vec", tag = "4")]
    pub encoded_image_string: Vec<u8>,
}
#[derive(Clone, PartialEq, Message)]
pub struct HistogramProto {
    #[prost(double, tag = "1")]
    pub min: f64,
    #[prost(double, tag = "2")]
    pub max: f64,
    #[prost(double, tag = "3")]
    pub num: f64,
    #[prost(double, tag = "4")]
    pub sum: f64,
    #[prost(double, tag = "5")]
    pub sum_squares: f64,
    #[prost(double, repeated, tag = "6")]
    pub bucket_limit: Vec<f64>,
    #[prost(double, repeated, tag = "7")]
    pub bucket: Vec<f64>,
}
#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShapeProto>,
    /// Raw little-endian values (numeric tensors).
    #[prost(bytes = "vec", tag = "4")]
    pub tensor_content: Vec<u8>,
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub string_val: Vec<Vec<u8>>,
}
#[derive(Clone, PartialEq, Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<Dim>,
}
#[derive(Clone, PartialEq, Message)]
pub struct Dim {
    #[prost(int64, tag = "1")]
    pub size: i64,
}
#[derive(Clone, PartialEq, Message)]
pub struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
}
#[derive(Clone, PartialEq, Message)]
pub struct PluginData {
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub content: Vec<u8>,
}

// --- mesh plugin (tensorboard/plugins/mesh/plugin_data.proto) ---
#[derive(Clone, PartialEq, Message)]
pub struct MeshPluginData {
    #[prost(int32, tag = "1")]
    pub version: i32,
    #[prost(string, tag = "2")]
    pub name: String,
    /// VERTEX = 1, FACE = 2, COLOR = 3.
    #[prost(int32, tag = "3")]
    pub content_type: i32,
    #[prost(string, tag = "5")]
    pub json_config: String,
    #[prost(int32, repeated, tag = "6")]
    pub shape: Vec<i32>,
    /// Bitmask of the content types present: 1 << type.
    #[prost(uint32, tag = "7")]
    pub components: u32,
}

// --- hparams plugin (tensorboard/plugins/hparams/{plugin_data,api}.proto) ---
#[derive(Clone, PartialEq, Message)]
pub struct HParamsPluginData {
    #[prost(int32, tag = "1")]
    pub version: i32,
    #[prost(oneof = "HpData", tags = "2, 3, 4")]
    pub data: Option<HpData>,
}
#[derive(Clone, PartialEq, Oneof)]
pub enum HpData {
    #[prost(message, tag = "2")]
    Experiment(Experiment),
    #[prost(message, tag = "3")]
    SessionStartInfo(SessionStartInfo),
    #[prost(message, tag = "4")]
    SessionEndInfo(SessionEndInfo),
}
#[derive(Clone, PartialEq, Message)]
pub struct Experiment {
    #[prost(message, repeated, tag = "4")]
    pub hparam_infos: Vec<HParamInfo>,
    #[prost(message, repeated, tag = "5")]
    pub metric_infos: Vec<MetricInfo>,
}
#[derive(Clone, PartialEq, Message)]
pub struct HParamInfo {
    #[prost(string, tag = "1")]
    pub name: String,
    /// DataType: 1 string, 2 bool, 3 float64.
    #[prost(int32, tag = "4")]
    pub r#type: i32,
}
#[derive(Clone, PartialEq, Message)]
pub struct MetricInfo {
    #[prost(message, optional, tag = "1")]
    pub name: Option<MetricName>,
}
#[derive(Clone, PartialEq, Message)]
pub struct MetricName {
    #[prost(string, tag = "1")]
    pub group: String,
    #[prost(string, tag = "2")]
    pub tag: String,
}
#[derive(Clone, PartialEq, Message)]
pub struct SessionStartInfo {
    #[prost(map = "string, message", tag = "1")]
    pub hparams: std::collections::HashMap<String, PbValue>,
    #[prost(double, tag = "5")]
    pub start_time_secs: f64,
}
#[derive(Clone, PartialEq, Message)]
pub struct SessionEndInfo {
    /// Status: 1 = success.
    #[prost(int32, tag = "1")]
    pub status: i32,
    #[prost(double, tag = "2")]
    pub end_time_secs: f64,
}
/// google.protobuf.Value (number, string, bool only).
#[derive(Clone, PartialEq, Message)]
pub struct PbValue {
    #[prost(oneof = "PbKind", tags = "2, 3, 4")]
    pub kind: Option<PbKind>,
}
#[derive(Clone, PartialEq, Oneof)]
pub enum PbKind {
    #[prost(double, tag = "2")]
    Number(f64),
    #[prost(string, tag = "3")]
    Str(String),
    #[prost(bool, tag = "4")]
    Bool(bool),
}
