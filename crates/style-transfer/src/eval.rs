//! The field's measurements of a stylizer on held-out content: content loss, style loss (the
//! Gram distance) and their ratio to the unchanged content image, in an *independent* feature
//! network (not the one the results were optimised against, so the metric is not the
//! objective) beside the training network's, and milliseconds per image.

use crate::config::{Config, FeatureConfig};
use crate::features::{objective, Objective};
use serde::Serialize;
use std::time::Instant;
use tch::Tensor;

/// The measurements in one feature network.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    /// Content loss of the results against their content pictures.
    pub content: f64,
    /// Style loss (Σ_l w_l ‖G_l(result) − G_l(style)‖²_F) of the results.
    pub style: f64,
    /// The same style loss of the unchanged content pictures: what doing nothing scores.
    pub style_unchanged: f64,
    /// style / style_unchanged: < 1 is an improvement over the content picture.
    pub style_ratio: f64,
}

/// Scores of results `y` for contents `x` in `objective`'s network (no gradient).
pub fn scores(objective: &Objective, x: &Tensor, y: &Tensor) -> anyhow::Result<Scores> {
    tch::no_grad(|| {
        let t = objective.terms(y, x)?;
        let base = objective.terms(x, x)?;
        let (style, unchanged) = (t.style.double_value(&[]), base.style.double_value(&[]));
        Ok(Scores {
            content: t.content.double_value(&[]),
            style,
            style_unchanged: unchanged,
            style_ratio: style / unchanged.max(1e-12),
        })
    })
}

/// A feature network's name in tables: `random_vgg19 (seed 7)`, or the weights file.
pub fn network_name(f: &FeatureConfig) -> String {
    let kind = serde_json::to_value(f.kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    match f.kind {
        crate::config::FeatureKind::Vgg19 => format!("{kind} ({})", f.weights),
        _ => format!("{kind} (seed {})", f.seed),
    }
}

/// Scores of results `y` for contents `x` in each of the config's independent networks
/// (`eval.networks`), with the style picture at `size` pixels.
pub fn independent_scores(
    cfg: &Config,
    device: tch::Device,
    size: i64,
    x: &Tensor,
    y: &Tensor,
) -> anyhow::Result<Vec<(String, Scores)>> {
    cfg.eval
        .networks
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (o, _) = objective(cfg, f, &format!("eval.networks[{i}]"), device, size)?;
            Ok((network_name(f), scores(&o, x, y)?))
        })
        .collect()
}

/// Milliseconds per image of `forward` on single images of `x` (one warm-up call first).
pub fn ms_per_image(x: &Tensor, forward: impl Fn(&Tensor) -> Tensor) -> f64 {
    let n = x.size()[0];
    let _ = tch::no_grad(|| forward(&x.narrow(0, 0, 1)));
    let t0 = Instant::now();
    for i in 0..n {
        let y = tch::no_grad(|| forward(&x.narrow(0, i, 1)));
        let _ = y.double_value(&[0, 0, 0, 0]);
    }
    t0.elapsed().as_secs_f64() * 1e3 / n.max(1) as f64
}

/// The table `eval` prints: one row per feature network.
pub fn print_table(rows: &[(String, Scores)], images: i64, size: i64, ms: f64) {
    if ms.is_finite() {
        println!(
            "{images} held-out content pictures, {size}×{size}; {ms:.1} ms per picture (batch 1)"
        );
    }
    println!("| feature network | content loss | style loss | style loss of the unchanged content | ratio |");
    println!("|---|---|---|---|---|");
    for (name, s) in rows {
        println!(
            "| {name} | {:.4} | {:.4e} | {:.4e} | {:.3} |",
            s.content, s.style, s.style_unchanged, s.style_ratio
        );
    }
}
