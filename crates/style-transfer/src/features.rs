//! The feature networks the perceptual losses are measured in: VGG-19's `features` laid out
//! exactly as torchvision's (so its weights load by name), and random multi-scale filters that
//! need no download. Both see ImageNet-normalised RGB in [0, 1], as torchvision's models do.

use crate::config::{FeatureConfig, FeatureKind, VGG19};
use anyhow::Context;
use loss_zoo::perceptual::{FeatureExtractor, RandomMultiScale};
use std::collections::BTreeMap;
use std::path::Path;
use tch::{nn, Device, Kind, Tensor};

/// ImageNet mean and std (torchvision's normalisation).
fn normalise(x: &Tensor) -> Tensor {
    let mean = Tensor::from_slice(&[0.485f32, 0.456, 0.406])
        .to_device(x.device())
        .view([1, 3, 1, 1]);
    let std = Tensor::from_slice(&[0.229f32, 0.224, 0.225])
        .to_device(x.device())
        .view([1, 3, 1, 1]);
    (x - mean) / std
}

enum Op {
    Conv(nn::Conv2D),
    Relu,
    Pool,
}

/// VGG-19's 37 `features` layers; layer i is torchvision's `features[i]`.
pub struct Vgg19 {
    _vs: nn::VarStore,
    ops: Vec<Op>,
    names: Vec<String>,
}

impl Vgg19 {
    /// Random weights (tch's default initialisation under the current torch seed).
    pub fn random(device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let root = vs.root() / "features";
        let (mut ops, mut names, mut c_in) = (Vec::new(), Vec::new(), 3);
        let (mut block, mut conv) = (1, 1);
        for v in VGG19 {
            if v == 0 {
                ops.push(Op::Pool);
                names.push(format!("pool{block}"));
                block += 1;
                conv = 1;
                continue;
            }
            let i = ops.len();
            let cfg = nn::ConvConfig {
                padding: 1,
                ..Default::default()
            };
            ops.push(Op::Conv(nn::conv2d(&root / i, c_in, v, 3, cfg)));
            names.push(format!("conv{block}_{conv}"));
            ops.push(Op::Relu);
            names.push(format!("relu{block}_{conv}"));
            conv += 1;
            c_in = v;
        }
        let mut vs = vs;
        vs.freeze();
        Self {
            _vs: vs,
            ops,
            names,
        }
    }

    /// The weights of a safetensors file named as torchvision names them (`features.0.weight`
    /// …); `classifier.*` entries of a whole torchvision state dict are ignored. A missing,
    /// unexpected or misshapen tensor is an error naming it.
    pub fn load(path: &Path, device: Device) -> anyhow::Result<Self> {
        let net = Self::random(device);
        let file: BTreeMap<String, Tensor> = Tensor::read_safetensors(path)
            .with_context(|| format!("cannot read {} as a safetensors file", path.display()))?
            .into_iter()
            .collect();
        let wanted = net._vs.variables();
        for name in file.keys() {
            if !wanted.contains_key(name) && !name.starts_with("classifier.") {
                anyhow::bail!(
                    "{}: unexpected tensor `{name}`: VGG-19's features are features.<i>.weight \
                     and .bias for the convolutions i = 0, 2, 5, 7, 10, … 34 (torchvision's names)",
                    path.display()
                );
            }
        }
        tch::no_grad(|| -> anyhow::Result<()> {
            for (name, mut var) in wanted {
                let t = file.get(&name).ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: missing tensor `{name}` (shape {:?}): is it VGG-19 (not VGG-16) \
                         written by tools/vgg19_to_safetensors.py?",
                        path.display(),
                        var.size()
                    )
                })?;
                anyhow::ensure!(
                    t.size() == var.size(),
                    "{}: `{name}` has shape {:?}, VGG-19 needs {:?}",
                    path.display(),
                    t.size(),
                    var.size()
                );
                var.copy_(&t.to_kind(Kind::Float));
            }
            Ok(())
        })?;
        Ok(net)
    }
}

impl FeatureExtractor for Vgg19 {
    fn features(&self, x: &Tensor, layers: &[usize]) -> Vec<Tensor> {
        let last = layers.iter().copied().max().unwrap_or(0);
        let mut out: BTreeMap<usize, Tensor> = BTreeMap::new();
        let mut h = normalise(x);
        for (i, op) in self.ops.iter().enumerate().take(last + 1) {
            h = match op {
                Op::Conv(c) => h.apply(c),
                Op::Relu => h.relu(),
                Op::Pool => h.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false),
            };
            if layers.contains(&i) {
                out.insert(i, h.shallow_clone());
            }
        }
        layers.iter().map(|i| out[i].shallow_clone()).collect()
    }
    fn layer_names(&self) -> Vec<String> {
        self.names.clone()
    }
}

/// A network that sees ImageNet-normalised RGB: what the random multi-scale filters are given
/// here, so that every feature network of this app sees the same input.
struct Normalised<N>(N);

impl<N: FeatureExtractor> FeatureExtractor for Normalised<N> {
    fn features(&self, x: &Tensor, layers: &[usize]) -> Vec<Tensor> {
        self.0.features(&normalise(x), layers)
    }
    fn layer_names(&self) -> Vec<String> {
        self.0.layer_names()
    }
}

/// A feature network with its content and style layers resolved to indices.
pub struct Features {
    pub net: Box<dyn FeatureExtractor>,
    pub content: Vec<usize>,
    pub style: Vec<usize>,
    pub style_weights: Vec<f64>,
    /// The deepest style layer's receptive field, in pixels: a smaller style image is refused.
    pub receptive_field: i64,
}

impl Features {
    /// Builds the network `spec` asks for; random weights are drawn from `spec.seed` (the
    /// torch seed is left as it was found, so the caller's initialisation does not move).
    pub fn build(spec: &FeatureConfig, key: &str, device: Device) -> anyhow::Result<Self> {
        let net: Box<dyn FeatureExtractor> = match spec.kind {
            FeatureKind::Vgg19 => Box::new(
                Vgg19::load(Path::new(&spec.weights), device)
                    .with_context(|| format!("{key}.weights"))?,
            ),
            FeatureKind::RandomVgg19 => seeded(spec.seed, || Box::new(Vgg19::random(device))),
            FeatureKind::RandomMultiscale => seeded(spec.seed, || {
                Box::new(Normalised(RandomMultiScale::new(
                    3,
                    spec.filters,
                    &spec.kernel_sizes,
                    device,
                )))
            }),
        };
        let find = |names: &[String]| -> anyhow::Result<Vec<usize>> {
            names
                .iter()
                .map(|n| net.layer(n).with_context(|| format!("{key}: layer `{n}`")))
                .collect()
        };
        let content = find(&spec.content_layers)?;
        let style = find(&spec.style_layers)?;
        let receptive_field = match spec.kind {
            FeatureKind::RandomMultiscale => spec.kernel_sizes.iter().copied().max().unwrap_or(1),
            _ => {
                let deepest = style.iter().chain(&content).copied().max().unwrap_or(0);
                vgg_receptive_field(deepest)
            }
        };
        Ok(Self {
            net,
            content,
            style,
            style_weights: spec.style_layer_weights.clone(),
            receptive_field,
        })
    }

    /// Content and style activations of `x`, from one forward pass.
    pub fn content_and_style(&self, x: &Tensor) -> (Vec<Tensor>, Vec<Tensor>) {
        let all: Vec<usize> = self.content.iter().chain(&self.style).copied().collect();
        let mut f = self.net.features(x, &all);
        let style = f.split_off(self.content.len());
        (f, style)
    }

    /// Gram matrices of the style layers of `x` (no gradient).
    pub fn grams(&self, x: &Tensor) -> anyhow::Result<Vec<Tensor>> {
        tch::no_grad(|| {
            self.net
                .features(x, &self.style)
                .iter()
                .map(|f| Ok(loss_zoo::perceptual::gram(f)?))
                .collect()
        })
    }
}

fn seeded<T>(seed: u64, f: impl FnOnce() -> T) -> T {
    let keep = Tensor::randint(i64::MAX, [1], (Kind::Int64, Device::Cpu)).int64_value(&[0]);
    tch::manual_seed(seed as i64);
    let out = f();
    tch::manual_seed(keep);
    out
}

/// Receptive field (pixels) of VGG-19's layer `index`: 3×3 convs add 2·jump, 2×2 pools double it.
fn vgg_receptive_field(index: usize) -> i64 {
    let (mut rf, mut jump, mut i) = (1, 1, 0);
    for v in VGG19 {
        if i > index {
            break;
        }
        if v == 0 {
            rf += jump;
            jump *= 2;
            i += 1;
        } else {
            rf += 2 * jump;
            i += 2;
        }
    }
    rf
}

/// The perceptual objective of one style in one feature network:
/// total = w_c · Σ_content-layers feature_loss + w_s · Σ_l w_l · style_loss_l + w_tv · TV.
pub struct Objective {
    pub features: Features,
    /// (1, C, C) per style layer, of the style picture.
    pub style_grams: Vec<Tensor>,
    pub weights: crate::config::LossConfig,
}

/// The terms of the objective, each a scalar tensor (unweighted), and their weighted total.
pub struct Terms {
    pub content: Tensor,
    pub style: Tensor,
    pub tv: Tensor,
    pub total: Tensor,
}

impl Objective {
    /// `style` is the style picture as a (1, 3, H, W) tensor in [0, 1] on the network's device.
    pub fn new(
        features: Features,
        style: &Tensor,
        weights: crate::config::LossConfig,
    ) -> anyhow::Result<Self> {
        let style_grams = features.grams(style)?;
        Ok(Self {
            features,
            style_grams,
            weights,
        })
    }

    /// The terms for results `y` of contents `x` (both (N, 3, H, W) in [0, 1]).
    pub fn terms(&self, y: &Tensor, x: &Tensor) -> anyhow::Result<Terms> {
        use loss_zoo::perceptual::{feature_loss, total_variation, weighted_style_loss};
        let target = tch::no_grad(|| self.features.net.features(x, &self.features.content));
        let (content_y, style_y) = self.features.content_and_style(y);
        let mut content = feature_loss(&content_y[0], &target[0])?;
        for (a, b) in content_y.iter().zip(&target).skip(1) {
            content = content + feature_loss(a, b)?;
        }
        let style = weighted_style_loss(&style_y, &self.style_grams, &self.features.style_weights)?;
        let tv = total_variation(y)?;
        let w = &self.weights;
        let total = &content * w.content_weight + &style * w.style_weight + &tv * w.tv_weight;
        Ok(Terms {
            content,
            style,
            tv,
            total,
        })
    }
}

/// The objective of `spec`'s feature network for the config's style picture at `size` pixels,
/// and that picture (1, 3, size, size) on `device`.
pub fn objective(
    cfg: &crate::config::Config,
    spec: &crate::config::FeatureConfig,
    key: &str,
    device: Device,
    size: i64,
) -> anyhow::Result<(Objective, Tensor)> {
    let features = Features::build(spec, key, device)?;
    let style_img = crate::data::style_image(cfg, size as u32, features.receptive_field)?;
    let style = crate::data::to_tensor(&style_img).to_device(device);
    Ok((Objective::new(features, &style, cfg.loss.clone())?, style))
}
