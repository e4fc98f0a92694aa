//! The classifier: conv-BN-ReLU stages, each followed by 2×2 max pooling, global average
//! pooling, dropout and one logit ("face").

use crate::config::ModelConfig;
use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

#[derive(Debug)]
pub struct Cnn {
    body: nn::SequentialT,
    out: nn::Linear,
    dropout: f64,
}

impl Cnn {
    pub fn new(p: &nn::Path, cfg: &ModelConfig) -> Self {
        let mut body = nn::seq_t();
        let mut cin = 1;
        for (i, &c) in cfg.widths.iter().enumerate() {
            body = body
                .add(kit::layers::conv_bn_relu(
                    &(p / format!("c{i}")),
                    cin,
                    c,
                    3,
                    1,
                ))
                .add_fn(|x| x.max_pool2d_default(2));
            cin = c;
        }
        Self {
            body,
            out: nn::linear(p / "out", cin, 1, Default::default()),
            dropout: cfg.dropout,
        }
    }

    /// Face logits (N) of standardised pictures (N, 1, 25, 25).
    pub fn logits(&self, x: &Tensor, train: bool) -> Tensor {
        let h = self
            .body
            .forward_t(x, train)
            .mean_dim([2i64, 3].as_slice(), false, Kind::Float)
            .dropout(self.dropout, train);
        h.apply(&self.out).squeeze_dim(1)
    }
}
