//! One backbone, three heads. The backbone (4 conv stages at strides 1, 2, 4, 8) feeds a
//! RetinaNet-style head at stride 8 (detection), a U-Net-style decoder back to full resolution
//! (segmentation), and a variational bottleneck with a small decoder (generation). A head whose
//! task is off is not built.

use crate::config::{Config, Tasks, Which};
use kit::layers::conv_bn_relu;
use tch::nn::{self, ModuleT};
use tch::Tensor;

/// What the backbone leaves for the heads: features at strides 1, 2, 4 and 8.
pub struct Features {
    pub levels: Vec<Tensor>,
}

/// Two 3×3 conv-BN-ReLU, the first with `stride`.
fn block(p: &nn::Path, cin: i64, cout: i64, stride: i64) -> nn::SequentialT {
    nn::seq_t()
        .add(conv_bn_relu(&(p / "a"), cin, cout, 3, stride))
        .add(conv_bn_relu(&(p / "b"), cout, cout, 3, 1))
}

pub struct Backbone {
    stages: Vec<nn::SequentialT>,
    pub widths: [i64; 4],
}

impl Backbone {
    pub fn new(p: &nn::Path, width: i64) -> Self {
        let widths = [width, 2 * width, 4 * width, 8 * width];
        let mut cin = 3;
        let stages = widths
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let s = block(
                    &(p / format!("stage{i}")),
                    cin,
                    c,
                    if i == 0 { 1 } else { 2 },
                );
                cin = c;
                s
            })
            .collect();
        Self { stages, widths }
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Features {
        let mut levels = Vec::with_capacity(4);
        let mut x = x.shallow_clone();
        for s in &self.stages {
            x = s.forward_t(&x, train);
            levels.push(x.shallow_clone());
        }
        Features { levels }
    }
}

/// Class logits (N, A, K) and box offsets (N, A, 4) at stride 8, anchors ordered row, column,
/// anchor (as [`scenes::boxes::Anchors`] with one level).
pub struct DetectHead {
    tower: nn::SequentialT,
    cls: nn::Conv2D,
    reg: nn::Conv2D,
    pub classes: i64,
    pub per_location: i64,
}

impl DetectHead {
    fn new(p: &nn::Path, cin: i64, classes: i64, per_location: i64, prior: f64) -> Self {
        let ch = 64;
        let out = |name: &str, outputs: i64, bias: f64| {
            let c = nn::ConvConfig {
                padding: 1,
                ws_init: nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.01,
                },
                bs_init: nn::Init::Const(bias),
                ..Default::default()
            };
            nn::conv2d(p / name, ch, outputs, 3, c)
        };
        Self {
            tower: block(&(p / "tower"), cin, ch, 1),
            cls: out("cls", per_location * classes, -((1.0 - prior) / prior).ln()),
            reg: out("box", per_location * 4, 0.0),
            classes,
            per_location,
        }
    }

    pub fn forward_t(&self, f: &Features, train: bool) -> (Tensor, Tensor) {
        let x = self.tower.forward_t(&f.levels[3], train);
        let n = x.size()[0];
        let a = self.per_location;
        let flat = |t: Tensor, k: i64| {
            let s = t.size();
            t.view([n, a, k, s[2], s[3]])
                .permute([0, 3, 4, 1, 2])
                .reshape([n, -1, k])
        };
        (
            flat(x.apply(&self.cls), self.classes),
            flat(x.apply(&self.reg), 4),
        )
    }
}

/// Up-samples stride 8 back to full resolution, merging the backbone's finer levels (U-Net
/// skips); 2 logits per pixel (background, object).
pub struct SegmentHead {
    ups: Vec<nn::SequentialT>,
    out: nn::Conv2D,
}

impl SegmentHead {
    fn new(p: &nn::Path, widths: [i64; 4]) -> Self {
        let ups = (0..3)
            .rev()
            .map(|l| {
                block(
                    &(p / format!("up{l}")),
                    widths[l + 1] + widths[l],
                    widths[l],
                    1,
                )
            })
            .collect();
        Self {
            ups,
            out: nn::conv2d(p / "out", widths[0], 2, 1, Default::default()),
        }
    }

    pub fn forward_t(&self, f: &Features, train: bool) -> Tensor {
        let mut x = f.levels[3].shallow_clone();
        for (up, l) in self.ups.iter().zip((0..3).rev()) {
            let skip = &f.levels[l];
            let s = skip.size();
            let x_up = x.upsample_nearest2d([s[2], s[3]], None, None);
            x = up.forward_t(&Tensor::cat(&[x_up, skip.shallow_clone()], 1), train);
        }
        x.apply(&self.out)
    }
}

/// q(z|x) = N(μ, σ²) from the stride-8 features, and p(x|z): a decoder from z to per-pixel,
/// per-channel Bernoulli logits at full resolution.
pub struct GenerateHead {
    squeeze: nn::Conv2D,
    to_stats: nn::Linear,
    from_z: nn::Linear,
    ups: Vec<nn::SequentialT>,
    out: nn::Conv2D,
    latent: i64,
    ch: i64,
    side: i64,
}

impl GenerateHead {
    fn new(p: &nn::Path, cin: i64, size: i64, latent: i64) -> Self {
        let side = size / 8;
        let ch = 32;
        let ups = (0..3)
            .map(|i| block(&(p / format!("up{i}")), ch, ch, 1))
            .collect();
        Self {
            squeeze: nn::conv2d(p / "squeeze", cin, 16, 1, Default::default()),
            to_stats: nn::linear(
                p / "stats",
                16 * side * side,
                2 * latent,
                Default::default(),
            ),
            from_z: nn::linear(p / "from_z", latent, ch * side * side, Default::default()),
            ups,
            out: nn::conv2d(
                p / "out",
                ch,
                3,
                3,
                nn::ConvConfig {
                    padding: 1,
                    ..Default::default()
                },
            ),
            latent,
            ch,
            side,
        }
    }

    /// (μ, log σ²), each (N, latent).
    pub fn encode(&self, f: &Features) -> (Tensor, Tensor) {
        let h = f.levels[3].apply(&self.squeeze).relu().flatten(1, -1);
        let stats = h.apply(&self.to_stats);
        let parts = stats.split(self.latent, 1);
        (parts[0].shallow_clone(), parts[1].clamp(-12.0, 8.0))
    }

    /// Bernoulli logits (N, 3, S, S) of the picture given z (N, latent).
    pub fn decode(&self, z: &Tensor, train: bool) -> Tensor {
        let n = z.size()[0];
        let mut x = z
            .apply(&self.from_z)
            .relu()
            .view([n, self.ch, self.side, self.side]);
        for up in &self.ups {
            let s = x.size();
            x = up.forward_t(
                &x.upsample_nearest2d([s[2] * 2, s[3] * 2], None, None),
                train,
            );
        }
        x.apply(&self.out)
    }
}

/// The whole network: what is built depends on which tasks are on.
pub struct MixNet {
    pub backbone: Backbone,
    pub detect: Option<DetectHead>,
    pub segment: Option<SegmentHead>,
    pub generate: Option<GenerateHead>,
}

impl MixNet {
    pub fn new(p: &nn::Path, cfg: &Config, classes: i64) -> Self {
        let m = &cfg.model;
        let backbone = Backbone::new(&(p / "backbone"), m.width);
        let w = backbone.widths;
        let t: &Tasks = &cfg.tasks;
        let per_location = (m.aspect_ratios.len() * m.scales.len()) as i64;
        Self {
            detect: t
                .on(Which::Detect)
                .then(|| DetectHead::new(&(p / "detect"), w[3], classes, per_location, m.prior)),
            segment: t
                .on(Which::Segment)
                .then(|| SegmentHead::new(&(p / "segment"), w)),
            generate: t.on(Which::Generate).then(|| {
                GenerateHead::new(&(p / "generate"), w[3], cfg.data.size as i64, m.latent)
            }),
            backbone,
        }
    }
}
