//! AdamW through libtorch's fused kernel (`_fused_adamw_`, what `torch.optim.AdamW(fused=True)`
//! calls), reached through `csrc/optim.cpp` since tch does not expose it.

use super::{OptimSettings, Slot, StepError};
use tch::Tensor;

extern "C" {
    fn kit_fused_adamw(
        params: *const *mut std::ffi::c_void,
        grads: *const *mut std::ffi::c_void,
        exp_avgs: *const *mut std::ffi::c_void,
        exp_avg_sqs: *const *mut std::ffi::c_void,
        step: *const std::ffi::c_void,
        n: std::ffi::c_int,
        lr: f64,
        beta1: f64,
        beta2: f64,
        weight_decay: f64,
        eps: f64,
        err: *mut std::ffi::c_char,
        errlen: std::ffi::c_int,
    ) -> std::ffi::c_int;
}

/// The AdamW update by libtorch's fused kernel: one call for the parameters with weight
/// decay, one for those without. Same rule as the op-by-op path (it computes
/// √v / √(1 − β₂ᵗ) + ε where that path computes √(v / (1 − β₂ᵗ)) + ε, so the two round
/// differently in the last bits).
pub(super) fn adamw(
    slots: &[Slot],
    steps: i64,
    lr: f64,
    st: &OptimSettings,
) -> Result<(), StepError> {
    let Some(first) = slots.first() else {
        return Ok(());
    };
    let step = Tensor::from(steps as f32).to_device(first.param.device());
    for decay in [true, false] {
        let wd = if decay { st.weight_decay } else { 0.0 };
        let mut grads = Vec::new();
        let (mut p, mut g, mut m, mut v) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for s in slots.iter().filter(|s| s.decay == decay) {
            let grad = s.param.grad();
            if !grad.defined() {
                continue;
            }
            p.push(s.param.as_ptr() as *mut std::ffi::c_void);
            m.push(s.m.as_ptr() as *mut std::ffi::c_void);
            v.push(s.v.as_ptr() as *mut std::ffi::c_void);
            g.push(grad.as_ptr() as *mut std::ffi::c_void);
            grads.push(grad); // keeps each gradient handle alive through the call
        }
        if p.is_empty() {
            continue;
        }
        let mut err = vec![0 as std::ffi::c_char; 512];
        // SAFETY: the pointers are live tensors owned by `slots`, `grads` and `step`
        // for the duration of the call; the lists have `p.len()` entries each.
        let rc = unsafe {
            kit_fused_adamw(
                p.as_ptr(),
                g.as_ptr(),
                m.as_ptr(),
                v.as_ptr(),
                step.as_ptr() as *const std::ffi::c_void,
                p.len() as std::ffi::c_int,
                lr,
                st.beta1,
                st.beta2,
                wd,
                st.eps,
                err.as_mut_ptr(),
                err.len() as std::ffi::c_int,
            )
        };
        if rc != 0 {
            // SAFETY: the shim wrote a NUL-terminated message into `err`.
            let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) };
            return Err(StepError(msg.to_string_lossy().into_owned()));
        }
    }
    Ok(())
}
