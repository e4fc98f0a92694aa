//! A small 2-D U-Net (Ronneberger et al., 2015): conv-BN-ReLU pairs, max-pool down,
//! transposed-conv up, skip connections by concatenation, 1×1 conv to class logits.

use crate::config::ModelConfig;
use tch::nn::{self, ModuleT};
use tch::Tensor;

fn block(p: &nn::Path, cin: i64, cout: i64) -> nn::SequentialT {
    let cfg = nn::ConvConfig {
        padding: 1,
        bias: false,
        ..Default::default()
    };
    nn::seq_t()
        .add(nn::conv2d(p / "conv1", cin, cout, 3, cfg))
        .add(kit::layers::batch_norm2d(&(p / "bn1"), cout))
        .add_fn(|x| x.relu())
        .add(nn::conv2d(p / "conv2", cout, cout, 3, cfg))
        .add(kit::layers::batch_norm2d(&(p / "bn2"), cout))
        .add_fn(|x| x.relu())
}

#[derive(Debug)]
pub struct UNet {
    down: Vec<nn::SequentialT>,
    bottom: nn::SequentialT,
    up: Vec<(nn::ConvTranspose2D, nn::SequentialT)>,
    head: nn::Conv2D,
}

impl UNet {
    pub fn new(p: &nn::Path, cfg: &ModelConfig) -> Self {
        let w = |level: usize| cfg.width << level;
        let mut down = Vec::new();
        let mut cin = cfg.in_channels;
        for l in 0..cfg.depth {
            down.push(block(&(p / format!("down{l}")), cin, w(l)));
            cin = w(l);
        }
        let bottom = block(&(p / "bottom"), cin, w(cfg.depth));
        let up_cfg = nn::ConvTransposeConfig {
            stride: 2,
            ..Default::default()
        };
        let up = (0..cfg.depth)
            .rev()
            .map(|l| {
                let upconv =
                    nn::conv_transpose2d(p / format!("upconv{l}"), w(l + 1), w(l), 2, up_cfg);
                (upconv, block(&(p / format!("up{l}")), 2 * w(l), w(l)))
            })
            .collect();
        let head = nn::conv2d(p / "head", w(0), cfg.classes, 1, Default::default());
        Self {
            down,
            bottom,
            up,
            head,
        }
    }

    /// Logits (N, classes, H, W) for images (N, 1, H, W); H and W divisible by 2^depth.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut skips = Vec::with_capacity(self.down.len());
        let mut x = x.shallow_clone();
        for d in &self.down {
            x = d.forward_t(&x, train);
            skips.push(x.shallow_clone());
            x = x.max_pool2d_default(2);
        }
        x = self.bottom.forward_t(&x, train);
        for ((upconv, block), skip) in self.up.iter().zip(skips.iter().rev()) {
            x = Tensor::cat(&[skip, &x.apply(upconv)], 1);
            x = block.forward_t(&x, train);
        }
        x.apply(&self.head)
    }
}
