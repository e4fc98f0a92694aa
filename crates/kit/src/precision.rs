//! `train.precision`: the model's forward pass under autocast, PyTorch's
//! `torch.autocast(device, dtype)` around the forward only — convolutions and matmuls in the
//! low precision, what autocast keeps in fp32 stays there, outputs back in fp32 so that the
//! losses, their gradients and the optimiser state stay fp32.
//! - `bf16`: bfloat16 (fp32's range: no loss scaling needed).
//! - `fp16`: float16 with dynamic loss scaling ([`GradScaler`], as `torch.amp.GradScaler`):
//!   the loss is multiplied by the scale before backward, the gradients divided by it before
//!   clipping and the update, and a step whose gradients overflowed is skipped and halves the
//!   scale.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Numeric precision of the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    Fp32,
    Bf16,
    Fp16,
}

extern "C" {
    fn kit_autocast(device: i32, enabled: i32, half: i32) -> i32;
}

fn set(device: Device, on: bool, half: bool) {
    let d = i32::from(device.is_cuda());
    // SAFETY: a C function that only sets libtorch's thread-local autocast state; it catches
    // every C++ exception itself.
    let _ = unsafe { kit_autocast(d, i32::from(on), i32::from(half)) };
}

/// Runs `forward` under autocast on `device` in `p`'s precision (plain fp32 for `Fp32`) and
/// returns its output as fp32.
pub fn forward(p: Precision, device: Device, forward: impl FnOnce() -> Tensor) -> Tensor {
    let half = match p {
        Precision::Fp32 => return forward(),
        Precision::Bf16 => false,
        Precision::Fp16 => true,
    };
    set(device, true, half);
    let out = forward();
    set(device, false, half);
    out.to_kind(Kind::Float)
}

/// Dynamic loss scaling for `fp16`, with `torch.amp.GradScaler`'s defaults: start at 2^16,
/// halve on a step whose gradients are not finite (the step is skipped), double after 2,000
/// finite steps in a row. Saved with the train state, so a resumed run goes on with its scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradScaler {
    /// The factor the loss is multiplied by before backward.
    pub scale: f64,
    /// Finite steps in a row since the scale last changed.
    pub growth_tracker: u64,
    /// Steps skipped because their gradients overflowed, over the whole run.
    pub skipped: u64,
}

impl Default for GradScaler {
    fn default() -> Self {
        Self {
            scale: 65536.0,
            growth_tracker: 0,
            skipped: 0,
        }
    }
}

impl GradScaler {
    /// Finite steps in a row after which the scale doubles.
    pub const GROWTH_INTERVAL: u64 = 2000;

    /// After a step's gradients were unscaled and checked: an overflow halves the scale (the
    /// step was skipped); a finite step counts toward doubling it.
    pub fn update(&mut self, found_inf: bool) {
        if found_inf {
            self.scale *= 0.5;
            self.growth_tracker = 0;
            self.skipped += 1;
        } else {
            self.growth_tracker += 1;
            if self.growth_tracker == Self::GROWTH_INTERVAL {
                self.scale *= 2.0;
                self.growth_tracker = 0;
            }
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
        let mut inner = Kind::Float;
        let h = forward(Precision::Fp16, Device::Cpu, || {
            let y = conv.forward(&x);
            inner = y.kind();
            y
        });
        assert_eq!(
            inner,
            Kind::Half,
            "fp16 autocast did not reach the convolution"
        );
        assert_eq!(h.kind(), Kind::Float);
        let err = (&h - &exact).abs().max().double_value(&[]);
        assert!(
            err > 0.0 && err < 0.005 * scale,
            "fp16 error {err} of {scale}"
        );
    }

    #[test]
    fn the_scaler_halves_on_overflow_and_doubles_after_the_interval() {
        let mut s = GradScaler::default();
        s.update(true);
        assert_eq!((s.scale, s.growth_tracker, s.skipped), (32768.0, 0, 1));
        for _ in 0..GradScaler::GROWTH_INTERVAL - 1 {
            s.update(false);
        }
        assert_eq!(s.scale, 32768.0);
        s.update(false);
        assert_eq!((s.scale, s.growth_tracker, s.skipped), (65536.0, 0, 1));
    }
}
