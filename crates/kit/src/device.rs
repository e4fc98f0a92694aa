//! Device selection (`auto | cpu | cuda | cuda:N`), seeding and thread count.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A device as written in a config or on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    /// CUDA device 0 when CUDA is available, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda(usize),
}

/// What can go wrong choosing a device.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("unknown device `{0}`: use auto, cpu, cuda or cuda:N")]
    Parse(String),
    #[error("device {0} requested but CUDA is not available ({1} CUDA devices): use `device: cpu` or `auto`")]
    Unavailable(String, usize),
}

impl FromStr for DeviceSpec {
    type Err = DeviceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| DeviceError::Parse(other.to_string())),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => write!(f, "auto"),
            Self::Cpu => write!(f, "cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl Serialize for DeviceSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for DeviceSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl DeviceSpec {
    /// Resolves to a concrete `tch::Device`, failing clearly when CUDA is asked for but absent.
    pub fn resolve(self) -> Result<tch::Device, DeviceError> {
        let count = tch::Cuda::device_count() as usize;
        match self {
            Self::Auto => Ok(tch::Device::cuda_if_available()),
            Self::Cpu => Ok(tch::Device::Cpu),
            Self::Cuda(n) if n < count => Ok(tch::Device::Cuda(n)),
            Self::Cuda(_) => Err(DeviceError::Unavailable(self.to_string(), count)),
        }
    }
}

extern "C" {
    fn kit_cudnn(benchmark: i32, deterministic: i32) -> i32;
}

/// Applies `train.cudnn_benchmark` and `train.cudnn_deterministic` (libtorch's global cuDNN
/// flags; they matter only on CUDA).
pub fn set_cudnn(benchmark: bool, deterministic: bool) {
    // SAFETY: sets two flags of libtorch's global context; catches every C++ exception.
    let _ = unsafe { kit_cudnn(i32::from(benchmark), i32::from(deterministic)) };
}

/// A batch's tensor onto `device` as `DataLoader(pin_memory=True)` and
/// `.to(device, non_blocking=True)` do: on CUDA the host tensor is copied into page-locked
/// memory and the copy to the GPU is queued without waiting (the step's kernels follow it on
/// the same stream); on the CPU it is the tensor itself, not a copy.
pub fn upload(t: &tch::Tensor, device: tch::Device) -> tch::Tensor {
    if !device.is_cuda() || t.device() == device {
        return t.to_device(device);
    }
    let pinned = if t.is_pinned(device) {
        t.shallow_clone()
    } else {
        t.pin_memory(device)
    };
    pinned.to_device_(device, t.kind(), true, false)
}

/// Seeds libtorch's generators (CPU and CUDA) for a given step of a run.
pub fn seed_torch(seed: u64) {
    tch::manual_seed(seed as i64);
}

/// Sets libtorch's intra-op thread count; 0 keeps libtorch's default.
pub fn set_threads(threads: usize) {
    if threads > 0 {
        tch::set_num_threads(threads as i32);
    }
}

/// One line per fact about the libtorch in use (what `just doctor` prints).
pub fn doctor_report() -> Vec<String> {
    let cuda = tch::Cuda::is_available();
    vec![
        format!("libtorch threads  : {}", tch::get_num_threads()),
        format!("CUDA available    : {cuda}"),
        format!("cuDNN available   : {}", tch::Cuda::cudnn_is_available()),
        format!("CUDA devices      : {}", tch::Cuda::device_count()),
        format!("auto device       : {:?}", tch::Device::cuda_if_available()),
    ]
}

/// Matrix-multiply throughput (GFLOP/s) of `n`×`n` by `n`×`n` products in `kind` on `device`:
/// the median of `reps` timed products after two warm-up ones (2n³ FLOPs each). What the
/// machine can reach at best with the current thread count: `just doctor` compares float32
/// with bfloat16 on it, `just bench-peak` prints it as the physical limit.
pub fn matmul_gflops(kind: tch::Kind, device: tch::Device, n: i64, reps: usize) -> f64 {
    let a = tch::Tensor::randn([n, n], (kind, device));
    let b = tch::Tensor::randn([n, n], (kind, device));
    let sync = || {
        if let tch::Device::Cuda(i) = device {
            tch::Cuda::synchronize(i as i64);
        }
    };
    let mut times = Vec::with_capacity(reps);
    for i in 0..reps + 2 {
        sync();
        let t0 = std::time::Instant::now();
        let c = a.matmul(&b);
        sync();
        let dt = t0.elapsed().as_secs_f64();
        drop(c);
        if i >= 2 {
            times.push(dt);
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    2.0 * (n as f64).powi(3) / median / 1e9
}

/// The bf16-or-not advice of `just doctor`: float32 and bfloat16 matmul throughput here, and
/// whether `train.precision: bf16` can pay (its matmuls and convolutions must be faster than
/// float32's by more than autocast's casts cost; below 1.2× it will not).
pub fn precision_report(device: tch::Device) -> Vec<String> {
    let n = 1024;
    let f32 = matmul_gflops(tch::Kind::Float, device, n, 9);
    let bf16 = matmul_gflops(tch::Kind::BFloat16, device, n, 9);
    let ratio = bf16 / f32;
    let advice = if ratio >= 1.2 {
        "train.precision: bf16 may help here (measure it with just bench-apps --set train.precision=bf16)"
    } else {
        "train.precision: bf16 will not help here: keep fp32"
    };
    vec![
        format!(
            "matmul {n}² fp32  : {f32:.0} GFLOP/s ({device:?}, {} threads)",
            tch::get_num_threads()
        ),
        format!("matmul {n}² bf16  : {bf16:.0} GFLOP/s ({ratio:.2}× fp32)"),
        format!("precision advice  : {advice}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!("auto".parse::<DeviceSpec>().unwrap(), DeviceSpec::Auto);
        assert_eq!("cpu".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cpu);
        assert_eq!("cuda".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(0));
        assert_eq!("cuda:3".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(3));
        assert!("tpu".parse::<DeviceSpec>().is_err());
        assert_eq!(DeviceSpec::Cpu.resolve().unwrap(), tch::Device::Cpu);
    }

    #[test]
    fn upload_to_the_cpu_is_the_tensor_itself() {
        let t = tch::Tensor::arange(6, (tch::Kind::Float, tch::Device::Cpu));
        let u = upload(&t, tch::Device::Cpu);
        assert_eq!(u.data_ptr(), t.data_ptr(), "a CPU upload copied");
        assert!(u.equal(&t));
    }
}
