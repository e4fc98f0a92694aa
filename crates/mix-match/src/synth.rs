//! The synthetic scenes: detect-focal's seeded shape scenes from the `scenes` crate, each with
//! its boxes (detection), its per-pixel object mask (segmentation) and its picture
//! (generation); `write` stores a set as PNG images, PNG masks and a boxes file.

use anyhow::Context;
pub use scenes::render::{flip_for, hflip, render, Scene, SceneSpec, CLASSES};
use std::path::Path;

/// Writes scenes `0..n` of stream `seed` to `out/images/NNNNN.png`, `out/masks/NNNNN.png`
/// (0 background, 255 object) and `out/boxes.jsonl` (one line per scene: boxes and classes).
pub fn write(out: &Path, seed: u64, n: usize, spec: &SceneSpec) -> anyhow::Result<()> {
    for sub in ["images", "masks"] {
        std::fs::create_dir_all(out.join(sub))
            .with_context(|| format!("cannot create {}", out.join(sub).display()))?;
    }
    let mut lines = String::new();
    for i in 0..n {
        let s = render(seed, i as u64, spec);
        let name = format!("{i:05}.png");
        let img = out.join("images").join(&name);
        s.image
            .save(&img)
            .with_context(|| format!("cannot write {}", img.display()))?;
        let m: Vec<u8> = s
            .mask
            .iter()
            .map(|&v| if v > 0 { 255 } else { 0 })
            .collect();
        let mask = image::GrayImage::from_raw(spec.size, spec.size, m)
            .context("mask of the wrong size")?;
        let mp = out.join("masks").join(&name);
        mask.save(&mp)
            .with_context(|| format!("cannot write {}", mp.display()))?;
        let classes: Vec<&str> = s.classes.iter().map(|&c| CLASSES[c]).collect();
        lines.push_str(&serde_json::to_string(&serde_json::json!({
            "image": name, "boxes_xyxy": s.boxes, "classes": classes,
        }))?);
        lines.push('\n');
    }
    let p = out.join("boxes.jsonl");
    std::fs::write(&p, lines).with_context(|| format!("cannot write {}", p.display()))
}
