//! The typed config of style-transfer (see configs/style-transfer/default.yaml for every key).

use kit::app::AppConfig;
use kit::config::{ensure, InvalidValue};
use kit::train::TrainConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data: DataConfig,
    pub features: FeatureConfig,
    pub loss: LossConfig,
    pub model: ModelConfig,
    pub optimize: OptimizeConfig,
    pub eval: EvalConfig,
    pub train: TrainConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Content pictures: `builtin` (generated scenes) or a folder of PNG / JPEG photos (with `train/`, `val/`,
    /// `test/` inside, or flat: then a seeded 10% is validation and `eval` needs `--data`).
    pub source: String,
    /// `painting` (the built-in swirling-stroke picture) or a PNG / JPEG file.
    pub style: String,
    /// Side of the square training crops, in pixels.
    pub size: i64,
    /// Built-in scenes per split.
    pub train_size: usize,
    pub val_size: usize,
    pub test_size: usize,
}

/// Which network defines the feature space.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// Random zero-mean filters of several sizes, one ReLU layer per size (Ustyuzhaninov et
    /// al. 2017): needs no download.
    RandomMultiscale,
    /// VGG-19's `features` with random weights (seeded).
    RandomVgg19,
    /// VGG-19's `features` with the weights in `weights` (a safetensors file; see
    /// `just vgg19-weights`).
    Vgg19,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FeatureConfig {
    pub kind: FeatureKind,
    /// The safetensors file of `kind: vgg19`.
    pub weights: String,
    /// Seed of the random weights (`random_*` kinds).
    pub seed: u64,
    /// Filters per kernel size (`random_multiscale`).
    pub filters: i64,
    /// Kernel sizes (`random_multiscale`): each is one layer, `ms<k>`.
    pub kernel_sizes: Vec<i64>,
    /// Layers whose activations the content loss compares.
    pub content_layers: Vec<String>,
    /// Layers whose Gram matrices the style loss compares.
    pub style_layers: Vec<String>,
    /// One weight per style layer.
    pub style_layer_weights: Vec<f64>,
}

/// torchvision's VGG-19 `cfgs["E"]`: output channels per 3×3 conv, 0 for a 2×2 max-pool.
pub const VGG19: [i64; 21] = [
    64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0,
];

impl FeatureConfig {
    /// Every layer name the network of this kind has (`conv1_1`, `relu1_1`, `pool1`, … for
    /// VGG-19; `ms<k>` per kernel size for the multi-scale filters): what a config may name,
    /// checked before anything is written.
    pub fn layer_names(&self) -> Vec<String> {
        match self.kind {
            FeatureKind::RandomMultiscale => {
                self.kernel_sizes.iter().map(|k| format!("ms{k}")).collect()
            }
            FeatureKind::Vgg19 | FeatureKind::RandomVgg19 => {
                let (mut names, mut block, mut conv) = (Vec::new(), 1, 1);
                for v in VGG19 {
                    if v == 0 {
                        names.push(format!("pool{block}"));
                        (block, conv) = (block + 1, 1);
                    } else {
                        names.push(format!("conv{block}_{conv}"));
                        names.push(format!("relu{block}_{conv}"));
                        conv += 1;
                    }
                }
                names
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LossConfig {
    pub content_weight: f64,
    pub style_weight: f64,
    pub tv_weight: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Channels of the first layer of the feed-forward transformer (Johnson et al.: 32).
    pub channels: i64,
    /// Residual blocks at 1/4 resolution (Johnson et al.: 5).
    pub residual_blocks: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OptimizeConfig {
    /// Adam steps on the pixels (Gatys et al.'s method, `style-transfer optimize`).
    pub steps: u64,
    /// Adam learning rate on pixels in [0, 1].
    pub lr: f64,
    /// Side of the image optimised (the content image is resized to it).
    pub size: i64,
    /// Steps between printed / logged losses.
    pub log_every: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvalConfig {
    /// The networks `eval` (and `optimize`) also measure in: not the one the result was
    /// optimised against, so the metric is not the objective. One row each.
    pub networks: Vec<FeatureConfig>,
}

impl AppConfig for Config {
    kit::train_section!();
    fn data_folder(&self) -> Option<std::path::PathBuf> {
        kit::app::folder_source(&self.data.source)
    }
    fn validate(&self) -> Result<(), InvalidValue> {
        let (d, l, m, o) = (&self.data, &self.loss, &self.model, &self.optimize);
        ensure(d.size >= 32, "data.size", || {
            format!("must be ≥ 32 pixels, got {}", d.size)
        })?;
        for (key, n) in [
            ("data.train_size", d.train_size),
            ("data.val_size", d.val_size),
            ("data.test_size", d.test_size),
        ] {
            ensure(n >= 1, key, || {
                "must be ≥ 1 (built-in scenes of that split)".into()
            })?;
        }
        ensure(d.size % 4 == 0, "data.size", || {
            format!(
                "must be a multiple of 4 (two stride-2 layers), got {}",
                d.size
            )
        })?;
        for (key, w) in [
            ("loss.content_weight", l.content_weight),
            ("loss.style_weight", l.style_weight),
            ("loss.tv_weight", l.tv_weight),
        ] {
            ensure(w.is_finite() && w >= 0.0, key, || {
                format!("must be a finite number ≥ 0, got {w}")
            })?;
        }
        ensure(
            l.content_weight > 0.0 || l.style_weight > 0.0,
            "loss.style_weight",
            || "loss.content_weight and loss.style_weight are both 0: nothing to match".into(),
        )?;
        ensure(m.channels >= 1, "model.channels", || {
            format!("must be ≥ 1, got {}", m.channels)
        })?;
        ensure(o.steps >= 1 && o.lr > 0.0, "optimize.lr", || {
            "optimize.steps must be ≥ 1 and optimize.lr > 0".into()
        })?;
        ensure(o.size >= 32, "optimize.size", || {
            format!("must be ≥ 32 pixels, got {}", o.size)
        })?;
        validate_features(&self.features, "features")?;
        for (i, f) in self.eval.networks.iter().enumerate() {
            validate_features(f, &format!("eval.networks[{i}]"))?;
        }
        Ok(())
    }
}

fn validate_features(f: &FeatureConfig, key: &str) -> Result<(), InvalidValue> {
    ensure(
        f.style_layers.len() == f.style_layer_weights.len(),
        &format!("{key}.style_layer_weights"),
        || {
            format!(
                "{} weights for {} style layers: give one per layer",
                f.style_layer_weights.len(),
                f.style_layers.len()
            )
        },
    )?;
    ensure(
        !f.style_layers.is_empty() && !f.content_layers.is_empty(),
        &format!("{key}.style_layers"),
        || "name at least one content layer and one style layer".into(),
    )?;
    ensure(
        f.style_layer_weights
            .iter()
            .all(|w| w.is_finite() && *w >= 0.0)
            && f.style_layer_weights.iter().any(|w| *w > 0.0),
        &format!("{key}.style_layer_weights"),
        || {
            format!(
                "must be finite numbers ≥ 0, at least one > 0 (a negative weight rewards moving \
                 away from the style), got {:?}",
                f.style_layer_weights
            )
        },
    )?;
    ensure(
        f.kind != FeatureKind::Vgg19 || !f.weights.is_empty(),
        &format!("{key}.weights"),
        || {
            "kind vgg19 needs its safetensors file (just vgg19-weights writes data/vgg19.safetensors)".into()
        },
    )?;
    ensure(
        f.kind != FeatureKind::RandomMultiscale
            || (f.filters >= 1
                && !f.kernel_sizes.is_empty()
                && f.kernel_sizes.iter().all(|k| *k >= 1 && k % 2 == 1)),
        &format!("{key}.kernel_sizes"),
        || "random_multiscale needs filters ≥ 1 and odd kernel sizes".into(),
    )?;
    let names = f.layer_names();
    for (what, layers) in [
        ("content_layers", &f.content_layers),
        ("style_layers", &f.style_layers),
    ] {
        if let Some(bad) = layers.iter().find(|l| !names.contains(l)) {
            return Err(InvalidValue {
                key: format!("{key}.{what}"),
                message: format!(
                    "no layer `{bad}` in {:?}; its layers are {}",
                    f.kind,
                    names.join(", ")
                ),
            });
        }
    }
    Ok(())
}
