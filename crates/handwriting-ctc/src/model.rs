//! CRNN (Shi et al., 2015): a CNN that keeps the width axis as time (÷4), a bidirectional
//! GRU over the frames, and a linear layer to log-probabilities over blank + alphabet.
//! (A GRU: the LSTM went through libtorch's oneDNN kernel and crashed with
//! `munmap_chunk(): invalid pointer` while time-first input was fed to tch's `seq`, which
//! sizes its zero state as if batch-first; both are avoided here.)

use crate::config::ModelConfig;
use tch::nn::{self, ModuleT, RNN};
use tch::{Kind, Tensor};

/// Frames the model emits for an image `width` pixels wide.
pub fn frames(width: i64) -> i64 {
    width / 4
}

#[derive(Debug)]
pub struct Crnn {
    cnn: nn::SequentialT,
    rnn: nn::GRU,
    out: nn::Linear,
}

/// 3×3 conv + BN + ReLU (kit's shared block).
fn conv(p: &nn::Path, cin: i64, cout: i64) -> nn::SequentialT {
    kit::layers::conv_bn_relu(p, cin, cout, 3, 1)
}

impl Crnn {
    pub fn new(p: &nn::Path, cfg: &ModelConfig, classes: i64) -> Self {
        let c = cfg.channels;
        // Height 32 -> 16 -> 8 -> 4 -> 2, width ÷2 ÷2 only.
        let cnn = nn::seq_t()
            .add(conv(&(p / "c0"), 1, c[0]))
            .add_fn(|x| x.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false))
            .add(conv(&(p / "c1"), c[0], c[1]))
            .add_fn(|x| x.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false))
            .add(conv(&(p / "c2"), c[1], c[2]))
            .add_fn(|x| x.max_pool2d([2, 1], [2, 1], [0, 0], [1, 1], false))
            .add(conv(&(p / "c3"), c[2], c[3]))
            .add_fn(|x| x.max_pool2d([2, 1], [2, 1], [0, 0], [1, 1], false));
        let rnn_cfg = nn::RNNConfig {
            bidirectional: true,
            num_layers: cfg.layers,
            batch_first: true,
            ..Default::default()
        };
        let rnn = nn::gru(p / "gru", c[3] * 2, cfg.hidden, rnn_cfg);
        let out = nn::linear(p / "out", cfg.hidden * 2, classes, Default::default());
        Self { cnn, rnn, out }
    }

    /// Log-probabilities (T, N, classes) for images (N, 1, 32, W), T = W / 4.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let f = self.cnn.forward_t(x, train); // (N, C, 2, W/4)
        let (n, c, h, t) = f.size4().unwrap_or((0, 0, 0, 0));
        // Batch-first for the RNN: tch's `seq` sizes its zero state from dimension 0.
        let seq = f.permute([0, 3, 1, 2]).reshape([n, t, c * h]);
        let (out, _) = self.rnn.seq(&seq);
        out.apply(&self.out)
            .transpose(0, 1)
            .log_softmax(2, Kind::Float)
    }
}
