//! Model building blocks several apps share (variables named `conv` / `bn` under the given
//! path, so checkpoints written before the blocks moved here still load).

use tch::nn;

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
        .add(nn::batch_norm2d(p / "bn", cout, Default::default()))
}

/// [`conv_bn`] followed by ReLU.
pub fn conv_bn_relu(p: &nn::Path, cin: i64, cout: i64, k: i64, stride: i64) -> nn::SequentialT {
    conv_bn(p, cin, cout, k, stride).add_fn(|x| x.relu())
}
