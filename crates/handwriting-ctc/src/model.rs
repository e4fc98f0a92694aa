//! CRNN (Shi et al., 2015): a CNN that keeps the width axis as time (÷4), a bidirectional
//! GRU over the frames, and a linear layer to log-probabilities over blank + alphabet.
//!
//! Padding never changes an output: images of a batch are zero-padded to the widest, so the
//! CNN's feature maps are zeroed beyond each image's own width after every block and pool
//! (exactly what the convolutions' zero padding gives an image alone), and the GRU runs on packed sequences
//! (`_pack_padded_sequence` + `gru.data`), so its backward direction starts at each line's own
//! last frame instead of reading the padding first. A line is transcribed the same alone and in
//! a batch (tested). (A GRU: the LSTM went through libtorch's oneDNN kernel and crashed with
//! `munmap_chunk(): invalid pointer`.)

use crate::config::ModelConfig;
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

/// Frames the model emits for an image `width` pixels wide.
pub fn frames(width: i64) -> i64 {
    width / 4
}

#[derive(Debug)]
pub struct Crnn {
    /// Conv-BN-ReLU blocks, each followed by a max-pool that halves the height and, for the
    /// first two, the width.
    blocks: Vec<nn::SequentialT>,
    /// GRU parameters in libtorch's flat order (w_ih, w_hh, b_ih, b_hh per layer and direction),
    /// named as `tch::nn::gru` names them, so older checkpoints load.
    gru: Vec<Tensor>,
    layers: i64,
    hidden: i64,
    out: nn::Linear,
}

/// Pool of block `i`: (height, width) kernel = stride.
const POOLS: [[i64; 2]; 4] = [[2, 2], [2, 2], [2, 1], [2, 1]];

/// The GRU's variables, as `tch::nn::gru` creates them (same names, shapes, inits, order).
fn gru_weights(p: &nn::Path, input: i64, hidden: i64, layers: i64) -> Vec<Tensor> {
    let init = nn::init::DEFAULT_KAIMING_UNIFORM;
    let mut w = Vec::new();
    for layer in 0..layers {
        for suffix in ["", "_reverse"] {
            let inp = if layer == 0 { input } else { 2 * hidden };
            w.push(p.var(
                &format!("weight_ih_l{layer}{suffix}"),
                &[3 * hidden, inp],
                init,
            ));
            w.push(p.var(
                &format!("weight_hh_l{layer}{suffix}"),
                &[3 * hidden, hidden],
                init,
            ));
            let zero = nn::Init::Const(0.0);
            w.push(p.var(&format!("bias_ih_l{layer}{suffix}"), &[3 * hidden], zero));
            w.push(p.var(&format!("bias_hh_l{layer}{suffix}"), &[3 * hidden], zero));
        }
    }
    w
}

/// Zeroes the columns of `x` (N, C, H, W) at or beyond each sample's valid width.
fn mask_width(x: &Tensor, widths: &[i64]) -> Tensor {
    let w = x.size()[3];
    let cols = Tensor::arange(w, (Kind::Int64, x.device())).view([1, w]);
    let valid = Tensor::from_slice(widths)
        .to_device(x.device())
        .view([-1, 1]);
    let keep = cols.lt_tensor(&valid).to_kind(x.kind()); // (N, W)
    x * keep.view([-1, 1, 1, w])
}

impl Crnn {
    pub fn new(p: &nn::Path, cfg: &ModelConfig, classes: i64) -> Self {
        let c = cfg.channels;
        // Height 32 -> 16 -> 8 -> 4 -> 2, width ÷2 ÷2 only.
        let blocks = [(1, c[0]), (c[0], c[1]), (c[1], c[2]), (c[2], c[3])]
            .iter()
            .enumerate()
            .map(|(i, &(cin, cout))| {
                let b = p / format!("c{i}");
                kit::layers::conv_bn_relu(&b, cin, cout, 3, 1)
            })
            .collect();
        let gru = gru_weights(&(p / "gru"), c[3] * 2, cfg.hidden, cfg.layers);
        let out = nn::linear(p / "out", cfg.hidden * 2, classes, Default::default());
        Self {
            blocks,
            gru,
            layers: cfg.layers,
            hidden: cfg.hidden,
            out,
        }
    }

    /// Log-probabilities (T, N, classes) for images (N, 1, 32, W) zero-padded on the right,
    /// `widths` (N) their own widths; T = W / 4. Frames beyond a line's `frames(width)` carry
    /// no information (CTC and the decoders read `frames(width)` of them).
    pub fn forward_t(&self, x: &Tensor, widths: &[i64], train: bool) -> Tensor {
        let mut f = x.shallow_clone();
        let mut w: Vec<i64> = widths.to_vec();
        for (block, pool) in self.blocks.iter().zip(POOLS) {
            f = mask_width(&block.forward_t(&f, train), &w);
            f = f.max_pool2d(pool, pool, [0, 0], [1, 1], false);
            w.iter_mut().for_each(|v| *v /= pool[1]);
            // An odd width leaves one pooled column past the new width (alone, the pool drops
            // it): zero it, or the next convolution would read it as its right neighbour.
            f = mask_width(&f, &w);
        }
        let (n, c, h, t) = f.size4().unwrap_or((0, 0, 0, 0));
        let seq = f.permute([0, 3, 1, 2]).reshape([n, t, c * h]); // (N, T, F)
                                                                  // Longest first, as packing wants; every line keeps at least one frame.
        let lengths: Vec<i64> = w.iter().map(|&v| v.clamp(1, t.max(1))).collect();
        let mut order: Vec<usize> = (0..lengths.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
        let idx: Vec<i64> = order.iter().map(|&i| i as i64).collect();
        let idx = Tensor::from_slice(&idx).to_device(f.device());
        let sorted_len: Vec<i64> = order.iter().map(|&i| lengths[i]).collect();
        let (data, batch_sizes) = seq
            .index_select(0, &idx)
            .internal_pack_padded_sequence(&Tensor::from_slice(&sorted_len), true);
        let h0 = Tensor::zeros([self.layers * 2, n, self.hidden], (f.kind(), f.device()));
        let (out, _) = Tensor::gru_data(
            &data,
            &batch_sizes,
            &h0,
            &self.gru,
            true,
            self.layers,
            0.0,
            train,
            true,
        );
        let (padded, _) = Tensor::internal_pad_packed_sequence(&out, &batch_sizes, true, 0.0, t);
        // Back to the batch's own order.
        let mut inverse = vec![0i64; order.len()];
        for (pos, &i) in order.iter().enumerate() {
            inverse[i] = pos as i64;
        }
        let inverse = Tensor::from_slice(&inverse).to_device(Device::Cpu);
        padded
            .index_select(0, &inverse.to_device(padded.device()))
            .apply(&self.out)
            .transpose(0, 1)
            .log_softmax(2, Kind::Float)
    }
}
