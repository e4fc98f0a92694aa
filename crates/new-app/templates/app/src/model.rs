//! A multilayer perceptron from `problem::NET_INPUT` numbers to `problem::OUTPUT`.

use crate::config::ModelConfig;
use crate::problem::{NET_INPUT, OUTPUT};
use tch::nn::{self, Module};
use tch::Tensor;

#[derive(Debug)]
pub struct Mlp {
    net: nn::Sequential,
}

impl Mlp {
    pub fn new(p: &nn::Path, cfg: &ModelConfig) -> Self {
        let mut net = nn::seq();
        let mut cin = NET_INPUT;
        for i in 0..cfg.depth {
            net = net
                .add(nn::linear(
                    p / format!("fc{i}"),
                    cin,
                    cfg.width,
                    Default::default(),
                ))
                .add_fn(|x| x.relu());
            cin = cfg.width;
        }
        Self {
            net: net.add(nn::linear(p / "out", cin, OUTPUT, Default::default())),
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.net.forward(x)
    }
}
