//! `train.precision: bf16`: the model's forward pass under bfloat16 autocast (convolutions and
//! matmuls in bf16, what autocast keeps in fp32 stays there), outputs back in fp32 so that
//! losses, gradients of the loss and the optimiser state stay fp32 — PyTorch's
//! `torch.autocast(device, dtype=torch.bfloat16)` around the forward only.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Numeric precision of the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    Fp32,
    Bf16,
}

extern "C" {
    fn kit_autocast_bf16(device: i32, enabled: i32) -> i32;
}

fn set(device: Device, on: bool) {
    let d = i32::from(device.is_cuda());
    // SAFETY: a C function that only sets libtorch's thread-local autocast state; it catches
    // every C++ exception itself.
    let _ = unsafe { kit_autocast_bf16(d, i32::from(on)) };
}

/// Runs `forward` under bf16 autocast on `device` when `p` is `Bf16` (plain fp32 otherwise) and
/// returns its output as fp32.
pub fn forward(p: Precision, device: Device, forward: impl FnOnce() -> Tensor) -> Tensor {
    match p {
        Precision::Fp32 => forward(),
        Precision::Bf16 => {
            set(device, true);
            let out = forward();
            set(device, false);
            out.to_kind(Kind::Float)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, Module};

    #[test]
    fn bf16_runs_the_convolution_in_bf16_and_returns_fp32() {
        let vs = nn::VarStore::new(Device::Cpu);
        let conv = nn::conv2d(vs.root() / "c", 3, 4, 3, Default::default());
        let x = Tensor::randn([2, 3, 8, 8], (Kind::Float, Device::Cpu));
        let mut inner = Kind::Float;
        let y = forward(Precision::Bf16, Device::Cpu, || {
            let y = conv.forward(&x);
            inner = y.kind();
            y
        });
        assert_eq!(
            inner,
            Kind::BFloat16,
            "autocast did not reach the convolution"
        );
        assert_eq!(y.kind(), Kind::Float);
        let exact = conv.forward(&x);
        assert_eq!(exact.kind(), Kind::Float, "autocast left on");
        let err = (&y - &exact).abs().max().double_value(&[]);
        let scale = exact.abs().max().double_value(&[]);
        assert!(
            err > 0.0 && err < 0.02 * scale,
            "bf16 error {err} of {scale}"
        );
        let same = forward(Precision::Fp32, Device::Cpu, || conv.forward(&x));
        assert!(same.equal(&exact));
    }
}
