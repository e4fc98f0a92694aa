//! Model building blocks several apps share (variables named `conv` / `bn` under the given
//! path, so checkpoints written before the blocks moved here still load).

use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

/// Batch norm whose training statistics, in a data-parallel step, are the whole global
/// batch's (PyTorch's `SyncBatchNorm`: sums of x and x² all-reduced, with their gradients);
/// elsewhere tch's batch norm. Variables `weight`, `bias`, `running_mean`, `running_var` as
/// `nn::batch_norm*`, so checkpoints are the same.
#[derive(Debug)]
pub struct BatchNorm {
    inner: nn::BatchNorm,
}

const BN_EPS: f64 = 1e-5;
const BN_MOMENTUM: f64 = 0.1;

/// [`BatchNorm`] over (N, C) or (N, C, L).
pub fn batch_norm1d(p: &nn::Path, channels: i64) -> BatchNorm {
    BatchNorm {
        inner: nn::batch_norm1d(p, channels, Default::default()),
    }
}

/// [`BatchNorm`] over (N, C, H, W).
pub fn batch_norm2d(p: &nn::Path, channels: i64) -> BatchNorm {
    BatchNorm {
        inner: nn::batch_norm2d(p, channels, Default::default()),
    }
}

impl ModuleT for BatchNorm {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        match crate::distributed::batch_norm_group() {
            Some(_) if train => self.normalise_with(x, crate::distributed::sum_over_ranks),
            _ => self.inner.forward_t(x, train),
        }
    }
}

impl BatchNorm {
    /// y = (x − μ) / √(σ² + ε) · w + b with μ, σ² (biased) from the per-channel [Σx, Σx², n]
    /// after `reduce` (the sum over the ranks); the running variance gets the unbiased
    /// σ²·n/(n − 1), as in `torch.nn.BatchNorm`.
    fn normalise_with(&self, x: &Tensor, reduce: impl Fn(&Tensor) -> Tensor) -> Tensor {
        let c = x.size()[1];
        let dims: Vec<i64> = (0..x.dim() as i64).filter(|&d| d != 1).collect();
        let xf = x.to_kind(Kind::Float);
        let sum = |t: &Tensor| t.sum_dim_intlist(dims.as_slice(), false, Kind::Float);
        let count = Tensor::full(
            [1],
            (x.numel() as i64 / c) as f64,
            (Kind::Float, x.device()),
        );
        let local = Tensor::cat(&[sum(&xf), sum(&(&xf * &xf)), count], 0);
        let global = reduce(&local);
        let n = global.double_value(&[2 * c]);
        let mean = global.narrow(0, 0, c) / n;
        let var = (global.narrow(0, c, c) / n - &mean * &mean).clamp_min(0.0);
        tch::no_grad(|| {
            let unbiased = &var * (n / (n - 1.0).max(1.0));
            let (mut rm, mut rv) = (
                self.inner.running_mean.shallow_clone(),
                self.inner.running_var.shallow_clone(),
            );
            let new_mean = &rm * (1.0 - BN_MOMENTUM) + mean.detach() * BN_MOMENTUM;
            let new_var = &rv * (1.0 - BN_MOMENTUM) + unbiased.detach() * BN_MOMENTUM;
            rm.copy_(&new_mean);
            rv.copy_(&new_var);
        });
        let mut shape = vec![1i64; x.dim()];
        shape[1] = c;
        // Out of place: rsqrt's backward reads its output.
        let inv_std = (var + BN_EPS).rsqrt();
        let scale = match &self.inner.ws {
            Some(w) => inv_std * w,
            None => inv_std,
        };
        let centred = (xf - mean.view(shape.as_slice())) * scale.view(shape.as_slice());
        let y = match &self.inner.bs {
            Some(b) => centred + b.view(shape.as_slice()),
            None => centred,
        };
        y.to_kind(x.kind())
    }
}

/// k×k convolution without bias (padding k/2) + batch norm.
pub fn conv_bn(p: &nn::Path, cin: i64, cout: i64, k: i64, stride: i64) -> nn::SequentialT {
    let cfg = nn::ConvConfig {
        stride,
        padding: k / 2,
        bias: false,
        ..Default::default()
    };
    nn::seq_t()
        .add(nn::conv2d(p / "conv", cin, cout, k, cfg))
        .add(batch_norm2d(&(p / "bn"), cout))
}

/// [`conv_bn`] followed by ReLU.
pub fn conv_bn_relu(p: &nn::Path, cin: i64, cout: i64, k: i64, stride: i64) -> nn::SequentialT {
    conv_bn(p, cin, cout, k, stride).add_fn(|x| x.relu())
}

/// Gives every 4-D variable (convolution kernels) channels-last strides in place, values
/// unchanged: convolutions then run in the NHWC layout oneDNN is fastest in, and their outputs
/// stay channels-last (PyTorch's `model.to(memory_format=torch.channels_last)`).
pub fn to_channels_last(vs: &nn::VarStore) {
    tch::no_grad(|| {
        for (_, mut v) in vs.variables() {
            if v.dim() == 4 {
                let nhwc = v.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2]);
                v.set_data(&nhwc);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    /// The synchronised formula on one process (the sum over one rank is the identity) gives
    /// tch's batch norm: output, input gradient and running statistics.
    #[test]
    fn synchronised_formula_matches_batch_norm_on_one_rank() {
        let vs = nn::VarStore::new(Device::Cpu);
        let a = batch_norm2d(&(vs.root() / "a"), 3);
        let b = batch_norm2d(&(vs.root() / "b"), 3);
        tch::no_grad(|| {
            for bn in [&a, &b] {
                let _ = bn.inner.ws.as_ref().map(|w| {
                    w.shallow_clone()
                        .copy_(&Tensor::from_slice(&[0.5f32, 1.5, 2.0]))
                });
            }
        });
        let x = (Tensor::randn([4, 3, 5, 5], (Kind::Float, Device::Cpu)) * 2.0 + 1.0)
            .set_requires_grad(true);
        let ya = a.forward_t(&x, true);
        let ga =
            Tensor::run_backward(&[(&ya * &ya).sum(Kind::Float)], &[&x], false, false)[0].copy();
        let yb = b.normalise_with(&x, |t| t.shallow_clone());
        let gb =
            Tensor::run_backward(&[(&yb * &yb).sum(Kind::Float)], &[&x], false, false)[0].copy();
        let close = |p: &Tensor, q: &Tensor| (p - q).abs().max().double_value(&[]);
        assert!(close(&ya, &yb) < 1e-5, "outputs {}", close(&ya, &yb));
        assert!(close(&ga, &gb) < 1e-4, "gradients {}", close(&ga, &gb));
        assert!(close(&a.inner.running_mean, &b.inner.running_mean) < 1e-6);
        assert!(close(&a.inner.running_var, &b.inner.running_var) < 1e-5);
        // The running variance moved (unbiased, momentum 0.1), so the check can fail.
        assert!(
            close(
                &b.inner.running_var,
                &Tensor::ones([3], (Kind::Float, Device::Cpu))
            ) > 0.1
        );
    }

    #[test]
    fn channels_last_keeps_values_and_changes_strides() {
        let vs = nn::VarStore::new(Device::Cpu);
        let block = conv_bn(&vs.root(), 3, 8, 3, 1);
        let before: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .map(|(k, v)| (k, v.copy()))
            .collect();
        let x = Tensor::randn([2, 3, 9, 9], (Kind::Float, Device::Cpu));
        let y0 = nn::ModuleT::forward_t(&block, &x, false);
        to_channels_last(&vs);
        let vars = vs.variables();
        let w = &vars["conv.weight"];
        assert_eq!(w.size(), [8, 3, 3, 3]);
        assert_eq!(w.stride(), [27, 1, 9, 3], "NHWC strides");
        for (k, v) in before {
            assert!(vars[&k].equal(&v), "{k} changed value");
        }
        let y1 = nn::ModuleT::forward_t(&block, &x, false);
        assert_eq!(y1.stride()[1], 1, "the output is channels-last too");
        let diff = (y1 - y0).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "outputs differ by {diff}");
    }

    #[test]
    fn channels_last_training_state_saves_and_loads_row_major() {
        use crate::checkpoint::{save_checkpoint, Checkpoint};
        use crate::optim::Optimizer;
        let tmp = tempfile::tempdir().unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let block = conv_bn(&vs.root(), 3, 4, 3, 1);
        to_channels_last(&vs);
        let settings = crate::train::TrainConfig::default().optim_settings();
        let mut opt = Optimizer::new(&vs, settings);
        let x = Tensor::randn([2, 3, 6, 6], (Kind::Float, Device::Cpu));
        nn::ModuleT::forward_t(&block, &x, true)
            .sum(Kind::Float)
            .backward();
        opt.step(1e-2).unwrap();
        let path = tmp.path().join("last.safetensors");
        save_checkpoint(&path, &vs, Some(&opt), &Default::default()).unwrap();
        let ck = Checkpoint::read(&path).unwrap();
        let mut fresh = nn::VarStore::new(Device::Cpu);
        let _ = conv_bn(&fresh.root(), 3, 4, 3, 1);
        ck.load_model(&mut fresh).unwrap();
        let w = &fresh.variables()["conv.weight"];
        assert!(w.equal(&vs.variables()["conv.weight"]));
        let mut opt2 = Optimizer::new(&fresh, settings);
        ck.load_optimizer(&mut opt2).unwrap();
        for ((k, a), (_, b)) in opt.state_tensors().iter().zip(opt2.state_tensors()) {
            assert!(a.equal(&b), "{k}");
        }
    }
}
