//! RetinaNet in miniature (Lin et al., 2017): a small residual backbone, a feature pyramid
//! over strides 8 / 16 / 32, and classification + box heads shared across levels. The last
//! classification bias starts at −log((1 − π)/π) so every anchor begins at probability π.

use crate::config::ModelConfig;
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

/// Pyramid strides (P3, P4, P5).
pub const STRIDES: [u32; 3] = [8, 16, 32];

/// 3×3 conv + BN (kit's shared block).
fn conv_bn(p: &nn::Path, cin: i64, cout: i64, stride: i64) -> nn::SequentialT {
    kit::layers::conv_bn(p, cin, cout, 3, stride)
}

/// A down-sampling conv followed by one residual block.
#[derive(Debug)]
struct Stage {
    down: nn::SequentialT,
    a: nn::SequentialT,
    b: nn::SequentialT,
}

impl Stage {
    fn new(p: &nn::Path, cin: i64, cout: i64) -> Self {
        Self {
            down: conv_bn(&(p / "down"), cin, cout, 2),
            a: conv_bn(&(p / "a"), cout, cout, 1),
            b: conv_bn(&(p / "b"), cout, cout, 1),
        }
    }
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let x = self.down.forward_t(x, train).relu();
        let y = self.a.forward_t(&x, train).relu();
        (self.b.forward_t(&y, train) + x).relu()
    }
}

/// A head: `n` conv–GroupNorm–ReLU layers and an output conv, shared by all levels.
#[derive(Debug)]
struct Head {
    tower: nn::Sequential,
    out: nn::Conv2D,
}

impl Head {
    fn new(p: &nn::Path, ch: i64, n: usize, outputs: i64, bias: f64) -> Self {
        let cfg = nn::ConvConfig {
            padding: 1,
            ..Default::default()
        };
        let mut tower = nn::seq();
        for i in 0..n {
            tower = tower
                .add(nn::conv2d(p / format!("conv{i}"), ch, ch, 3, cfg))
                .add(nn::group_norm(
                    p / format!("gn{i}"),
                    8,
                    ch,
                    Default::default(),
                ))
                .add_fn(|x| x.relu());
        }
        let out_cfg = nn::ConvConfig {
            padding: 1,
            ws_init: nn::Init::Randn {
                mean: 0.0,
                stdev: 0.01,
            },
            bs_init: nn::Init::Const(bias),
            ..Default::default()
        };
        Self {
            tower,
            out: nn::conv2d(p / "out", ch, outputs, 3, out_cfg),
        }
    }
}

#[derive(Debug)]
pub struct RetinaNet {
    stages: Vec<Stage>,
    lateral: Vec<nn::Conv2D>,
    smooth: Vec<nn::Conv2D>,
    cls: Head,
    reg: Head,
    pub classes: i64,
    pub anchors_per_location: i64,
}

impl RetinaNet {
    pub fn new(p: &nn::Path, cfg: &ModelConfig, classes: i64) -> Self {
        let w = cfg.width;
        let widths = [w, 2 * w, 4 * w, 6 * w, 8 * w];
        let mut stages = Vec::new();
        let mut cin = 3;
        for (i, &c) in widths.iter().enumerate() {
            stages.push(Stage::new(&(p / format!("stage{i}")), cin, c));
            cin = c;
        }
        let f = cfg.fpn_channels;
        let lateral = (0..3)
            .map(|l| {
                nn::conv2d(
                    p / format!("lateral{l}"),
                    widths[l + 2],
                    f,
                    1,
                    Default::default(),
                )
            })
            .collect();
        let pad = nn::ConvConfig {
            padding: 1,
            ..Default::default()
        };
        let smooth = (0..3)
            .map(|l| nn::conv2d(p / format!("smooth{l}"), f, f, 3, pad))
            .collect();
        let a = (cfg.aspect_ratios.len() * cfg.scales.len()) as i64;
        let prior_bias = -((1.0 - cfg.prior) / cfg.prior).ln();
        Self {
            stages,
            lateral,
            smooth,
            cls: Head::new(&(p / "cls"), f, cfg.head_convs, a * classes, prior_bias),
            reg: Head::new(&(p / "box"), f, cfg.head_convs, a * 4, 0.0),
            classes,
            anchors_per_location: a,
        }
    }

    /// Pyramid features P3, P4, P5 for images (N, 3, H, W).
    fn pyramid(&self, x: &Tensor, train: bool) -> Vec<Tensor> {
        let mut c = Vec::new();
        let mut x = x.shallow_clone();
        for s in &self.stages {
            x = s.forward_t(&x, train);
            c.push(x.shallow_clone());
        }
        let c = &c[2..];
        let mut p: Vec<Tensor> = Vec::with_capacity(3);
        let mut top: Option<Tensor> = None;
        for l in (0..3).rev() {
            let lat = c[l].apply(&self.lateral[l]);
            let merged = match top {
                Some(t) => {
                    let s = lat.size();
                    lat + t.upsample_nearest2d([s[2], s[3]], None, None)
                }
                None => lat,
            };
            p.push(merged.apply(&self.smooth[l]));
            top = Some(merged);
        }
        p.reverse();
        p
    }

    /// Class logits (N, A_total, K) and box offsets (N, A_total, 4), anchors ordered by level,
    /// row, column, anchor (as [`crate::boxes::Anchors`]).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> (Tensor, Tensor) {
        let n = x.size()[0];
        let a = self.anchors_per_location;
        let flat = |t: Tensor, k: i64| {
            let s = t.size();
            t.view([n, a, k, s[2], s[3]])
                .permute([0, 3, 4, 1, 2])
                .reshape([n, -1, k])
        };
        let (mut cls, mut reg) = (Vec::new(), Vec::new());
        for p in self.pyramid(x, train) {
            cls.push(flat(
                self.cls.out.forward(&self.cls.tower.forward(&p)),
                self.classes,
            ));
            reg.push(flat(self.reg.out.forward(&self.reg.tower.forward(&p)), 4));
        }
        (Tensor::cat(&cls, 1), Tensor::cat(&reg, 1))
    }
}
