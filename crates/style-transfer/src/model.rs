//! Johnson, Alahi & Fei-Fei (2016)'s feed-forward image transformer, as pytorch/examples'
//! `fast_neural_style` builds it: a 9×9 conv, two stride-2 convs, residual blocks at a quarter
//! of the resolution, two nearest-upsample convs and a 9×9 conv back to RGB; reflection
//! padding and instance normalisation throughout. The output goes through a sigmoid so the
//! picture stays in [0, 1].

use crate::config::ModelConfig;
use tch::nn::{self, Module};
use tch::Tensor;

/// A convolution with reflection padding, optionally after a 2× nearest upsampling.
#[derive(Debug)]
struct ConvLayer {
    conv: nn::Conv2D,
    pad: i64,
    upsample: bool,
}

impl ConvLayer {
    fn new(p: nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64, upsample: bool) -> Self {
        let cfg = nn::ConvConfig {
            stride,
            ..Default::default()
        };
        Self {
            conv: nn::conv2d(p, c_in, c_out, k, cfg),
            pad: k / 2,
            upsample,
        }
    }
}

impl Module for ConvLayer {
    fn forward(&self, x: &Tensor) -> Tensor {
        let x = if self.upsample {
            let s = x.size();
            x.upsample_nearest2d([s[2] * 2, s[3] * 2], None, None)
        } else {
            x.shallow_clone()
        };
        let p = self.pad;
        x.reflection_pad2d([p, p, p, p]).apply(&self.conv)
    }
}

/// Instance normalisation with a learnt scale and shift per channel.
#[derive(Debug)]
struct InstanceNorm {
    weight: Tensor,
    bias: Tensor,
}

impl InstanceNorm {
    fn new(p: nn::Path, c: i64) -> Self {
        Self {
            weight: p.ones("weight", &[c]),
            bias: p.zeros("bias", &[c]),
        }
    }
}

impl Module for InstanceNorm {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.instance_norm(
            Some(&self.weight),
            Some(&self.bias),
            None::<&Tensor>,
            None::<&Tensor>,
            true,
            0.1,
            1e-5,
            false,
        )
    }
}

fn conv_in_relu(
    p: &nn::Path,
    name: &str,
    c_in: i64,
    c_out: i64,
    k: i64,
    stride: i64,
    up: bool,
) -> nn::Sequential {
    nn::seq()
        .add(ConvLayer::new(p / name, c_in, c_out, k, stride, up))
        .add(InstanceNorm::new(p / format!("{name}_in"), c_out))
        .add_fn(|x| x.relu())
}

/// The image transformer network.
#[derive(Debug)]
pub struct Transformer {
    net: nn::Sequential,
}

impl Transformer {
    pub fn new(p: &nn::Path, cfg: &ModelConfig) -> Self {
        let c = cfg.channels;
        let mut net = nn::seq()
            .add(conv_in_relu(p, "conv1", 3, c, 9, 1, false))
            .add(conv_in_relu(p, "conv2", c, 2 * c, 3, 2, false))
            .add(conv_in_relu(p, "conv3", 2 * c, 4 * c, 3, 2, false));
        for i in 0..cfg.residual_blocks {
            let r = p / format!("res{i}");
            let block = nn::seq()
                .add(ConvLayer::new(&r / "conv1", 4 * c, 4 * c, 3, 1, false))
                .add(InstanceNorm::new(&r / "in1", 4 * c))
                .add_fn(|x| x.relu())
                .add(ConvLayer::new(&r / "conv2", 4 * c, 4 * c, 3, 1, false))
                .add(InstanceNorm::new(&r / "in2", 4 * c));
            net = net.add_fn(move |x| x + block.forward(x));
        }
        let net = net
            .add(conv_in_relu(p, "up1", 4 * c, 2 * c, 3, 1, true))
            .add(conv_in_relu(p, "up2", 2 * c, c, 3, 1, true))
            .add(ConvLayer::new(p / "out", c, 3, 9, 1, false))
            .add_fn(|x| x.sigmoid());
        Self { net }
    }

    /// Stylised images (N, 3, H, W) in [0, 1] from images in [0, 1]; H and W multiples of 4.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.net.forward(x)
    }
}
