//! A small ResNet-style backbone -> BN -> embedding, and the classification heads.

use crate::config::{HeadConfig, HeadKind, ModelConfig};
use loss_zoo::arcface::{ArcFaceHead, MarginConfig};
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

use kit::layers::conv_bn;

#[derive(Debug)]
struct Block {
    a: nn::SequentialT,
    b: nn::SequentialT,
    skip: Option<nn::SequentialT>,
}

impl Block {
    fn new(p: &nn::Path, cin: i64, cout: i64, stride: i64) -> Self {
        let skip =
            (stride != 1 || cin != cout).then(|| conv_bn(&(p / "skip"), cin, cout, 1, stride));
        Self {
            a: conv_bn(&(p / "a"), cin, cout, 3, stride),
            b: conv_bn(&(p / "b"), cout, cout, 3, 1),
            skip,
        }
    }
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = self.b.forward_t(&self.a.forward_t(x, train).relu(), train);
        let s = match &self.skip {
            Some(k) => k.forward_t(x, train),
            None => x.shallow_clone(),
        };
        (y + s).relu()
    }
}

/// Image (N, 3, S, S) -> embedding (N, D).
#[derive(Debug)]
pub struct Backbone {
    stem: nn::SequentialT,
    blocks: Vec<Block>,
    fc: nn::Linear,
    bn: kit::layers::BatchNorm,
}

impl Backbone {
    pub fn new(p: &nn::Path, cfg: &ModelConfig) -> Self {
        let stem = conv_bn(&(p / "stem"), 3, cfg.width, 3, 1);
        let mut blocks = Vec::new();
        let mut cin = cfg.width;
        for stage in 0..4 {
            let cout = cfg.width << stage;
            for b in 0..cfg.blocks.max(1) {
                let stride = if b == 0 && stage > 0 { 2 } else { 1 };
                blocks.push(Block::new(
                    &(p / format!("s{stage}b{b}")),
                    cin,
                    cout,
                    stride,
                ));
                cin = cout;
            }
        }
        let fc = nn::linear(p / "fc", cin, cfg.embedding, Default::default());
        let bn = kit::layers::batch_norm1d(&(p / "emb_bn"), cfg.embedding);
        Self {
            stem,
            blocks,
            fc,
            bn,
        }
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h = self.stem.forward_t(x, train).relu();
        for b in &self.blocks {
            h = b.forward_t(&h, train);
        }
        let pooled = h.adaptive_avg_pool2d([1, 1]).flatten(1, -1);
        self.bn.forward_t(&pooled.apply(&self.fc), train)
    }
}

/// The training head: margin-based (ArcFace / CosFace) or a plain linear softmax.
#[derive(Debug)]
pub enum Head {
    Margin(ArcFaceHead),
    Softmax(nn::Linear),
}

impl Head {
    pub fn new(p: &nn::Path, cfg: &HeadConfig, dim: i64, classes: i64) -> Self {
        match cfg.kind {
            HeadKind::Arcface => Head::Margin(ArcFaceHead::new(
                p,
                dim,
                classes,
                MarginConfig {
                    s: cfg.s,
                    m1: 1.0,
                    m2: cfg.m,
                    m3: 0.0,
                },
            )),
            HeadKind::Cosface => Head::Margin(ArcFaceHead::new(
                p,
                dim,
                classes,
                MarginConfig {
                    s: cfg.s,
                    m1: 1.0,
                    m2: 0.0,
                    m3: cfg.m,
                },
            )),
            HeadKind::Softmax => {
                Head::Softmax(nn::linear(p / "fc", dim, classes, Default::default()))
            }
        }
    }

    /// Training logits (with the margin on the true class for margin heads).
    pub fn logits(&self, emb: &Tensor, labels: &Tensor) -> anyhow::Result<Tensor> {
        Ok(match self {
            Head::Margin(h) => h.forward(emb, labels)?,
            Head::Softmax(l) => l.forward(emb),
        })
    }

    /// Class scores without any margin (for closed-set accuracy).
    pub fn scores(&self, emb: &Tensor) -> Tensor {
        match self {
            Head::Margin(h) => h.cosine(emb),
            Head::Softmax(l) => l.forward(emb),
        }
    }
}
