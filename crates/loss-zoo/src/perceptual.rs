//! Losses measured in a network's feature space: the feature reconstruction ("content",
//! "perceptual") loss of Johnson, Alahi & Fei-Fei (2016), the Gram-matrix style loss of Gatys,
//! Ecker & Bethge (2016), and the total-variation smoothness prior both papers add. Any network
//! serves as the feature space through [`FeatureExtractor`].

use crate::{check_dims, check_same_shape, LossError, Result};
use tch::{Device, Kind, Tensor};

/// A network whose intermediate activations define a feature space.
pub trait FeatureExtractor {
    /// The activations of `x` (N, 3, H, W) at `layers` (indices into [`Self::layer_names`]),
    /// in the order asked, each (N, C, H', W'). One forward pass, stopping at the deepest.
    fn features(&self, x: &Tensor, layers: &[usize]) -> Vec<Tensor>;
    /// Every addressable layer's name, e.g. `conv1_1`, `relu1_1`, `pool1`.
    fn layer_names(&self) -> Vec<String>;
    /// The index of the layer called `name`, or an error listing the names there are.
    fn layer(&self, name: &str) -> Result<usize> {
        let names = self.layer_names();
        names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| LossError::Value {
                arg: "layer",
                message: format!("no layer `{name}`; the layers are {}", names.join(", ")),
            })
    }
}

/// Feature reconstruction loss between feature maps `a` and `b` (N, C, H, W) of one layer:
/// ℓ = ‖φ(a) − φ(b)‖²₂ / (C·H·W) per image, averaged over the batch (Johnson et al. 2016,
/// eq. 2) — `F.mse_loss(a, b)` with a batch of one.
pub fn feature_loss(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    check_dims(a, "a", 4, "(N, C, H, W)")?;
    check_same_shape(a, b, "b", "a")?;
    Ok((a - b).square().mean(a.kind()))
}

/// The Gram matrix of feature maps `f` (N, C, H, W): G = F Fᵀ / (C·H·W) with F = f reshaped
/// to (N, C, H·W), so (N, C, C); Johnson et al. (2016, eq. 3)'s normalisation, which makes
/// the style loss of a layer independent of its size.
pub fn gram(f: &Tensor) -> Result<Tensor> {
    check_dims(f, "f", 4, "(N, C, H, W)")?;
    let s = f.size();
    let (n, c, hw) = (s[0], s[1], s[2] * s[3]);
    let flat = f.reshape([n, c, hw]);
    Ok(flat.bmm(&flat.transpose(1, 2)) / (c * hw) as f64)
}

/// Style loss of one layer: ‖G(a) − G_style‖²_F per image, averaged over the batch (Johnson
/// et al. 2016, eq. 4; Gatys et al. 2016 up to their constant). `style_gram` is (N, C, C) or
/// (1, C, C) for one style image shared by the batch.
pub fn style_loss(features: &Tensor, style_gram: &Tensor) -> Result<Tensor> {
    let g = gram(features)?;
    check_dims(style_gram, "style_gram", 3, "(N or 1, C, C)")?;
    let (gs, ss) = (g.size(), style_gram.size());
    if ss[1..] != gs[1..] || (ss[0] != 1 && ss[0] != gs[0]) {
        return Err(LossError::Shape {
            arg: "style_gram",
            expected: format!("(1 or {}, {}, {})", gs[0], gs[1], gs[2]),
            got: ss,
        });
    }
    let per =
        (g - style_gram)
            .square()
            .sum_dim_intlist([1i64, 2].as_slice(), false, features.kind());
    Ok(per.mean(features.kind()))
}

/// Weighted sum over layers: Σ_l w_l · style_loss(features_l, style_grams_l).
pub fn weighted_style_loss(
    features: &[Tensor],
    style_grams: &[Tensor],
    weights: &[f64],
) -> Result<Tensor> {
    if features.len() != style_grams.len() || features.len() != weights.len() || features.is_empty()
    {
        return Err(LossError::Value {
            arg: "weights",
            message: format!(
                "{} feature maps, {} style Gram matrices and {} weights: give one of each per layer",
                features.len(),
                style_grams.len(),
                weights.len()
            ),
        });
    }
    let mut total = style_loss(&features[0], &style_grams[0])? * weights[0];
    for ((f, g), w) in features.iter().zip(style_grams).zip(weights).skip(1) {
        total = total + style_loss(f, g)? * *w;
    }
    Ok(total)
}

/// Anisotropic total variation of images `x` (N, C, H, W): the mean absolute difference of
/// vertical neighbours plus that of horizontal neighbours,
/// TV = mean|x[:, :, 1:, :] − x[:, :, :-1, :]| + mean|x[:, :, :, 1:] − x[:, :, :, :-1]|,
/// so its scale does not depend on the image size.
pub fn total_variation(x: &Tensor) -> Result<Tensor> {
    check_dims(x, "x", 4, "(N, C, H, W)")?;
    let s = x.size();
    if s[2] < 2 || s[3] < 2 {
        return Err(LossError::Shape {
            arg: "x",
            expected: "an image at least 2 × 2".into(),
            got: s,
        });
    }
    let dy = x.narrow(2, 1, s[2] - 1) - x.narrow(2, 0, s[2] - 1);
    let dx = x.narrow(3, 1, s[3] - 1) - x.narrow(3, 0, s[3] - 1);
    Ok(dy.abs().mean(x.kind()) + dx.abs().mean(x.kind()))
}

/// Random multi-scale features (Ustyuzhaninov, Brendel, Gatys & Bethge 2017: random shallow
/// networks with filters at several scales already synthesise natural textures): for each
/// kernel size k, one layer `ms<k>` of `filters` Gaussian filters over `channels` input
/// channels, scaled by 1/√(channels·k²), with reflection padding and a ReLU. Needs no training
/// and no download. The weights come from torch's global generator: seed it first.
pub struct RandomMultiScale {
    filters: Vec<Tensor>,
    names: Vec<String>,
}

impl RandomMultiScale {
    /// `filters` random filters per kernel size over `channels` input channels, fixed at
    /// creation (seeded by the caller's torch seed).
    pub fn new(channels: i64, filters: i64, kernel_sizes: &[i64], device: Device) -> Self {
        let filters_per = kernel_sizes
            .iter()
            .map(|&k| {
                let w = Tensor::randn([filters, channels, k, k], (Kind::Float, Device::Cpu));
                (w / ((channels * k * k) as f64).sqrt()).to_device(device)
            })
            .collect();
        Self {
            filters: filters_per,
            names: kernel_sizes.iter().map(|k| format!("ms{k}")).collect(),
        }
    }
}

impl FeatureExtractor for RandomMultiScale {
    fn features(&self, x: &Tensor, layers: &[usize]) -> Vec<Tensor> {
        layers
            .iter()
            .map(|&i| {
                let w = &self.filters[i].to_kind(x.kind());
                let pad = w.size()[2] / 2;
                x.reflection_pad2d([pad, pad, pad, pad])
                    .conv2d(w, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1)
                    .relu()
            })
            .collect()
    }
    fn layer_names(&self) -> Vec<String> {
        self.names.clone()
    }
}
