//! Image → point set: a CNN encoder, then PSGN's fully connected decoder (Fan et al. 2017) or
//! a FoldingNet decoder (Yang et al. 2018) that folds a 2-D grid into the surface.

use crate::config::{ModelConfig, ModelKind};
use kit::layers::conv_bn_relu;
use tch::nn::{self, Module, ModuleT};
use tch::{Device, Kind, Tensor};

#[derive(Debug)]
enum Decoder {
    Fc(nn::Sequential),
    Folding {
        grid: Tensor,
        fold1: nn::Sequential,
        fold2: nn::Sequential,
    },
}

#[derive(Debug)]
pub struct PointNet {
    enc: nn::SequentialT,
    code: nn::Linear,
    dec: Decoder,
    /// Points each prediction has.
    pub points: i64,
}

fn mlp(p: &nn::Path, cin: i64, hidden: i64, cout: i64) -> nn::Sequential {
    nn::seq()
        .add(nn::linear(p / "l1", cin, hidden, Default::default()))
        .add_fn(|x| x.relu())
        .add(nn::linear(p / "l2", hidden, hidden, Default::default()))
        .add_fn(|x| x.relu())
        .add(nn::linear(p / "l3", hidden, cout, Default::default()))
}

impl PointNet {
    /// For `image_size`² grayscale inputs.
    pub fn new(p: &nn::Path, cfg: &ModelConfig, image_size: i64) -> Self {
        let w = cfg.width;
        let enc = nn::seq_t()
            .add(conv_bn_relu(&(p / "enc1"), 1, w, 3, 2))
            .add(conv_bn_relu(&(p / "enc2"), w, 2 * w, 3, 2))
            .add(conv_bn_relu(&(p / "enc3"), 2 * w, 4 * w, 3, 2))
            .add(conv_bn_relu(&(p / "enc4"), 4 * w, 8 * w, 3, 2))
            .add_fn(|x| x.flatten(1, -1));
        let side = image_size / 16;
        let code = nn::linear(
            p / "code",
            8 * w * side * side,
            cfg.latent,
            Default::default(),
        );
        let (dec, points) = match cfg.kind {
            ModelKind::Fc => (
                Decoder::Fc(mlp(&(p / "fc"), cfg.latent, cfg.hidden, cfg.points * 3)),
                cfg.points,
            ),
            ModelKind::Folding => {
                let g = (cfg.points as f64).sqrt().floor() as i64;
                let lin = Tensor::linspace(-0.5, 0.5, g, (Kind::Float, Device::Cpu));
                let grid = Tensor::stack(
                    &[lin.repeat([g]), lin.repeat_interleave_self_int(g, 0, None)],
                    1,
                )
                .to_device(p.device()); // (g², 2)
                (
                    Decoder::Folding {
                        grid,
                        fold1: mlp(&(p / "fold1"), cfg.latent + 2, cfg.hidden, 3),
                        fold2: mlp(&(p / "fold2"), cfg.latent + 3, cfg.hidden, 3),
                    },
                    g * g,
                )
            }
        };
        Self {
            enc,
            code,
            dec,
            points,
        }
    }

    /// Image code (B, latent) of images (B, 1, S, S).
    pub fn encode(&self, x: &Tensor, train: bool) -> Tensor {
        self.code.forward(&self.enc.forward_t(x, train)).relu()
    }

    /// Predicted points (B, N, 3).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let z = self.encode(x, train);
        let b = z.size()[0];
        match &self.dec {
            Decoder::Fc(m) => m.forward(&z).view([b, self.points, 3]),
            Decoder::Folding { grid, fold1, fold2 } => {
                let n = grid.size()[0];
                let zz = z.unsqueeze(1).expand([b, n, z.size()[1]], false);
                let g = grid.unsqueeze(0).expand([b, n, 2], false);
                let f1 = fold1.forward(&Tensor::cat(&[&zz, &g], 2));
                fold2.forward(&Tensor::cat(&[&zz, &f1], 2))
            }
        }
    }
}
