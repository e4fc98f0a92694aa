//! Optimisers (AdamW, SGD with momentum) and the warmup + cosine learning-rate schedule.
//!
//! Written over plain tensors rather than libtorch's C++ optimisers so that their state
//! (moments, momentum buffers, step count) can be saved in a checkpoint and restored exactly:
//! a resumed run then reaches the same weights as an uninterrupted one.

mod fused;

use serde::{Deserialize, Serialize};
use tch::{nn::VarStore, Kind, Tensor};

/// Which update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam with decoupled weight decay (Loshchilov & Hutter), as `torch.optim.AdamW`.
    #[default]
    AdamW,
    /// SGD with (heavy-ball) momentum and L2 weight decay, as `torch.optim.SGD`.
    Sgd,
}

/// Hyper-parameters of the optimiser, read from the `train:` section of a config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimSettings {
    pub kind: OptimizerKind,
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub momentum: f64,
    /// AdamW by libtorch's fused kernel (`_fused_adamw_`) rather than op by op.
    pub fused: bool,
}

/// libtorch refused the fused AdamW update (the message is its own).
#[derive(Debug, thiserror::Error)]
#[error("the fused AdamW update failed: {0} (train.fused_adamw: false uses the op-by-op update)")]
pub struct StepError(pub String);

/// One trainable parameter with its optimiser state.
struct Slot {
    name: String,
    param: Tensor,
    /// Adam first moment, or the SGD momentum buffer.
    m: Tensor,
    /// Adam second moment (unused by SGD).
    v: Tensor,
    /// Weight decay applies to matrices and kernels, not to biases and norm scales.
    decay: bool,
}

/// An optimiser over the trainable variables of a `VarStore`.
pub struct Optimizer {
    settings: OptimSettings,
    slots: Vec<Slot>,
    /// Number of updates taken so far (Adam's bias correction uses it).
    pub steps: i64,
}

/// The trainable variables of `vs`, sorted by name: the one order the optimiser's state and
/// the data-parallel gradient buckets both rely on.
pub(crate) fn trainable_by_name(vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

impl Optimizer {
    /// Collects the trainable variables of `vs` (sorted by name, so state order is stable).
    pub fn new(vs: &VarStore, settings: OptimSettings) -> Self {
        let slots = trainable_by_name(vs)
            .into_iter()
            .map(|(name, param)| Slot {
                m: param.zeros_like(),
                v: param.zeros_like(),
                decay: param.dim() >= 2,
                name,
                param,
            })
            .collect();
        Self {
            settings,
            slots,
            steps: 0,
        }
    }

    /// The parameters' gradients that exist (shallow handles: writing to them writes the
    /// gradients).
    fn grads(&self) -> Vec<Tensor> {
        self.slots
            .iter()
            .map(|s| s.param.grad())
            .filter(|g| g.defined())
            .collect()
    }

    /// Clears every parameter's gradient.
    pub fn zero_grad(&mut self) {
        for s in &mut self.slots {
            s.param.zero_grad();
        }
    }

    /// Divides every gradient by the loss scale (`inv_scale` = 1 / scale) and says whether any
    /// is not finite, as `GradScaler.unscale_`: one host read, as in PyTorch, which must know
    /// before the update whether to skip it.
    pub fn unscale(&mut self, inv_scale: f64) -> Result<bool, tch::TchError> {
        let grads = self.grads();
        if grads.is_empty() {
            return Ok(false);
        }
        let finite = tch::no_grad(|| -> Result<Vec<Tensor>, tch::TchError> {
            grads
                .into_iter()
                .map(|mut g| Ok(g.f_mul_scalar_(inv_scale)?.isfinite().all()))
                .collect()
        })?;
        Ok(Tensor::stack(&finite, 0).all().f_int64_value(&[])? == 0)
    }

    /// Rescales gradients so their global L2 norm is at most `max_norm` (0 = no clipping);
    /// returns the norm before clipping.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> Tensor {
        let grads = self.grads();
        let Some(first) = grads.first() else {
            return Tensor::zeros([], (Kind::Double, tch::Device::Cpu));
        };
        let sq: Vec<Tensor> = grads
            .iter()
            .map(|g| g.pow_tensor_scalar(2).sum(Kind::Double))
            .collect();
        let norm = Tensor::stack(&sq, 0).sum(Kind::Double).sqrt();
        if max_norm > 0.0 {
            // As torch.nn.utils.clip_grad_norm_: the factor stays on the device (no host read).
            let scale = (max_norm / (&norm + 1e-6))
                .clamp_max(1.0)
                .to_kind(first.kind());
            tch::no_grad(|| {
                for mut g in grads {
                    let _ = g.f_mul_(&scale);
                }
            });
        }
        norm
    }

    /// Takes one update with learning rate `lr`.
    pub fn step(&mut self, lr: f64) -> Result<(), StepError> {
        self.steps += 1;
        let st = self.settings;
        if st.kind == OptimizerKind::AdamW && st.fused {
            return fused::adamw(&self.slots, self.steps, lr, &self.settings);
        }
        let t = self.steps as f64;
        tch::no_grad(|| {
            for s in &mut self.slots {
                let g = s.param.grad();
                if !g.defined() {
                    continue;
                }
                let wd = if s.decay { st.weight_decay } else { 0.0 };
                match st.kind {
                    OptimizerKind::AdamW => {
                        let _ = s.m.f_mul_scalar_(st.beta1);
                        let _ = s.m.f_add_(&(&g * (1.0 - st.beta1)));
                        let _ = s.v.f_mul_scalar_(st.beta2);
                        let _ = s.v.f_add_(&(&g * &g * (1.0 - st.beta2)));
                        let bc1 = 1.0 - st.beta1.powf(t);
                        let bc2 = 1.0 - st.beta2.powf(t);
                        if wd > 0.0 {
                            let _ = s.param.f_mul_scalar_(1.0 - lr * wd);
                        }
                        let denom = (&s.v / bc2).sqrt() + st.eps;
                        let _ = s.param.f_sub_(&(&s.m / denom * (lr / bc1)));
                    }
                    OptimizerKind::Sgd => {
                        let g = if wd > 0.0 { &g + &s.param * wd } else { g };
                        if st.momentum > 0.0 {
                            if self.steps == 1 {
                                let _ = s.m.f_copy_(&g);
                            } else {
                                let _ = s.m.f_mul_scalar_(st.momentum);
                                let _ = s.m.f_add_(&g);
                            }
                            let _ = s.param.f_sub_(&(&s.m * lr));
                        } else {
                            let _ = s.param.f_sub_(&(&g * lr));
                        }
                    }
                }
            }
        });
        Ok(())
    }

    /// The optimiser state as named CPU tensors (for a checkpoint).
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("optim/steps".to_string(), Tensor::from_slice(&[self.steps]))];
        for s in &self.slots {
            out.push((
                format!("optim/m/{}", s.name),
                s.m.to_device(tch::Device::Cpu),
            ));
            out.push((
                format!("optim/v/{}", s.name),
                s.v.to_device(tch::Device::Cpu),
            ));
        }
        out
    }

    /// Restores state written by [`Optimizer::state_tensors`]; returns the first missing key.
    pub fn load_state(&mut self, get: &dyn Fn(&str) -> Option<Tensor>) -> Result<(), String> {
        let steps = get("optim/steps").ok_or("optim/steps")?;
        self.steps = steps.int64_value(&[0]);
        tch::no_grad(|| {
            for s in &mut self.slots {
                for (key, dst) in [("m", &mut s.m), ("v", &mut s.v)] {
                    let name = format!("optim/{key}/{}", s.name);
                    let src = get(&name).ok_or(name.clone())?;
                    dst.f_copy_(&src).map_err(|e| format!("{name}: {e}"))?;
                }
            }
            Ok(())
        })
    }
}

/// Linear warmup from ~0 to `base` over `warmup` steps, then cosine decay to `min` at `total`.
pub fn lr_at(step: u64, base: f64, min: f64, warmup: u64, total: u64) -> f64 {
    if step < warmup {
        return base * (step + 1) as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / span).min(1.0);
    min + (base - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn;

    #[test]
    fn schedule_by_hand() {
        assert!((lr_at(0, 1.0, 0.0, 4, 104) - 0.25).abs() < 1e-12);
        assert!((lr_at(3, 1.0, 0.0, 4, 104) - 1.0).abs() < 1e-12);
        assert!((lr_at(4, 1.0, 0.0, 4, 104) - 1.0).abs() < 1e-12);
        assert!((lr_at(54, 1.0, 0.0, 4, 104) - 0.5).abs() < 1e-12);
        assert!((lr_at(104, 1.0, 0.1, 4, 104) - 0.1).abs() < 1e-12);
    }

    fn adamw(fused: bool) -> OptimSettings {
        OptimSettings {
            kind: OptimizerKind::AdamW,
            weight_decay: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            momentum: 0.0,
            fused,
        }
    }

    /// One AdamW step on f(w) = Σ w² from w = [1, -2] matches torch.optim.AdamW by hand:
    /// the first step moves each weight by lr·sign(g) (after decay w·(1 − lr·wd)), op by op
    /// and fused.
    #[test]
    fn adamw_first_step_by_hand() {
        for fused in [false, true] {
            let vs = nn::VarStore::new(tch::Device::Cpu);
            let w = vs
                .root()
                .var_copy("w", &Tensor::from_slice(&[1.0f32, -2.0]).view([1, 2]));
            let mut opt = Optimizer::new(&vs, adamw(fused));
            opt.zero_grad();
            w.pow_tensor_scalar(2).sum(Kind::Float).backward();
            opt.step(0.01).unwrap();
            let got: Vec<f32> = w.view([-1]).try_into().unwrap();
            let want = [1.0 * (1.0 - 0.001) - 0.01, -2.0 * (1.0 - 0.001) + 0.01];
            for (g, e) in got.iter().zip(want) {
                assert!(
                    (*g as f64 - e).abs() < 1e-6,
                    "fused {fused}: {got:?} vs {want:?}"
                );
            }
        }
    }

    /// The fused kernel and the op-by-op update agree over 20 steps of random gradients, with
    /// a channels-last kernel (its gradient laid out like it) and a bias without decay; the
    /// moments too, so a checkpoint of one resumes the other.
    #[test]
    fn fused_adamw_equals_the_op_by_op_update() {
        // Deterministic values without the global torch RNG, which tests running in parallel
        // threads draw from too (both runs must see the same kernel and input).
        let det = |shape: &[i64], f: f64| {
            let n: i64 = shape.iter().product();
            (Tensor::arange(n, (Kind::Float, tch::Device::Cpu)) * f)
                .sin()
                .view(shape)
        };
        let run = |fused: bool| {
            let vs = nn::VarStore::new(tch::Device::Cpu);
            let mut k = vs.root().var("k", &[4, 3, 3, 3], nn::Init::Const(0.0));
            tch::no_grad(|| k.copy_(&det(&[4, 3, 3, 3], 1.7)));
            let b = vs.root().var("b", &[4], nn::Init::Const(0.5));
            crate::layers::to_channels_last(&vs);
            assert!(!k.is_contiguous(), "the kernel is channels-last");
            let mut opt = Optimizer::new(&vs, adamw(fused));
            let x = det(&[2, 3, 5, 5], 0.37);
            for i in 0..20 {
                opt.zero_grad();
                let y = x.conv2d(&k, Some(&b), [1, 1], [0, 0], [1, 1], 1);
                (y.sin() * (i as f64 + 1.0)).sum(Kind::Float).backward();
                opt.step(1e-2).unwrap();
            }
            opt.state_tensors()
                .into_iter()
                .chain(vs.variables())
                .map(|(n, t)| (n, t.contiguous()))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let (fused, plain) = (run(true), run(false));
        assert_eq!(fused.len(), plain.len());
        for (name, a) in &fused {
            let b = &plain[name];
            let diff = (a - b).abs().max().double_value(&[]);
            let scale = b.abs().max().double_value(&[]).max(1e-12);
            assert!(diff <= 1e-5 * scale, "{name}: {diff} of {scale}");
        }
        // It did move: not a comparison of two untouched copies.
        let moved = (&fused["k"] - &fused["optim/m/k"]).abs().sum(Kind::Float);
        assert!(moved.double_value(&[]) > 0.0);
    }

    #[test]
    fn sgd_momentum_by_hand() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32]));
        let mut opt = Optimizer::new(
            &vs,
            OptimSettings {
                kind: OptimizerKind::Sgd,
                weight_decay: 0.0,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                momentum: 0.5,
                fused: false,
            },
        );
        // f = 3w: gradient 3 each step; buffer 3 then 4.5.
        for _ in 0..2 {
            opt.zero_grad();
            (&w * 3.0).sum(Kind::Float).backward();
            opt.step(0.1).unwrap();
        }
        let got = w.double_value(&[0]);
        assert!((got - (1.0 - 0.3 - 0.45)).abs() < 1e-6, "{got}");
    }
}
