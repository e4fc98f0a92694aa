//! `predict`: a small picture is classified whole; a photo is scanned by a multi-scale
//! sliding window (P(face) per window), the firing windows are thinned by non-maximum
//! suppression and drawn on the photo.

use crate::config::ScanConfig;
use crate::pictures::standardise;
use crate::train::FaceTask;
use crate::SIDE;
use image::{imageops, DynamicImage, GrayImage, Rgb};
use scenes::boxes::{nms, Xyxy};
use std::path::Path;
use tch::Tensor;

/// One scan of a photo: every window's box and P(face), and the scales it took.
pub struct Scan {
    pub boxes: Vec<Xyxy>,
    pub p: Vec<f64>,
    pub sides: Vec<u32>,
}

/// The windows of a `w`×`h` photo: square sides from `min_side` up by `scale_step` to the
/// shorter side, each moved `stride` × its side at a time.
pub fn windows(w: u32, h: u32, cfg: &ScanConfig) -> (Vec<[u32; 3]>, Vec<u32>) {
    let (mut out, mut sides) = (Vec::new(), Vec::new());
    let mut side = cfg.min_side as f64;
    while side.round() as u32 <= w.min(h) {
        let s = side.round() as u32;
        let step = ((s as f64 * cfg.stride).round() as u32).max(1);
        for y in (0..=h - s).step_by(step as usize) {
            for x in (0..=w - s).step_by(step as usize) {
                out.push([x, y, s]);
            }
        }
        sides.push(s);
        side *= cfg.scale_step;
    }
    (out, sides)
}

/// P(face) of every window of `photo`.
pub fn scan(task: &FaceTask, photo: &GrayImage, cfg: &ScanConfig) -> anyhow::Result<Scan> {
    let (wins, sides) = windows(photo.width(), photo.height(), cfg);
    let (mut boxes, mut p) = (
        Vec::with_capacity(wins.len()),
        Vec::with_capacity(wins.len()),
    );
    for chunk in wins.chunks(1024) {
        let mut x = Vec::with_capacity(chunk.len() * (SIDE * SIDE) as usize);
        for &[wx, wy, s] in chunk {
            let crop = imageops::crop_imm(photo, wx, wy, s, s).to_image();
            x.extend(standardise(&imageops::resize(
                &crop,
                SIDE,
                SIDE,
                imageops::FilterType::Triangle,
            )));
            boxes.push([wx as f32, wy as f32, (wx + s) as f32, (wy + s) as f32]);
        }
        let t = Tensor::from_slice(&x).view([chunk.len() as i64, 1, SIDE as i64, SIDE as i64]);
        p.extend(task.probabilities(&t)?);
    }
    Ok(Scan { boxes, p, sides })
}

/// Classifies `input` (whole when it is at most twice the model's 25×25, else scanned) and
/// returns the line to print; a scan also writes `out/<name>.faces.png`.
pub fn predict(
    task: &FaceTask,
    cfg: &ScanConfig,
    input: &Path,
    out: &Path,
) -> anyhow::Result<String> {
    let img = kit::images::load(input)?;
    let grey = img.to_luma8();
    if grey.width().max(grey.height()) <= 2 * SIDE {
        let small = imageops::resize(&grey, SIDE, SIDE, imageops::FilterType::Triangle);
        let x = Tensor::from_slice(&standardise(&small)).view([1, 1, SIDE as i64, SIDE as i64]);
        let p = task.probabilities(&x)?[0];
        let says = if p >= 0.5 { "face" } else { "not a face" };
        return Ok(format!("{}: {says} (P(face) = {p:.3})", input.display()));
    }
    let s = scan(task, &grey, cfg)?;
    let fired: Vec<usize> = (0..s.p.len())
        .filter(|&i| s.p[i] >= cfg.threshold)
        .collect();
    let boxes: Vec<Xyxy> = fired.iter().map(|&i| s.boxes[i]).collect();
    let scores: Vec<f32> = fired.iter().map(|&i| s.p[i] as f32).collect();
    let kept = nms(&boxes, &scores, cfg.nms_iou as f32);
    let mut picture = img.to_rgb8();
    let mut lines = Vec::new();
    for &k in kept.iter().rev() {
        let b = boxes[k];
        plot::draw::labelled_box(
            &mut picture,
            b,
            Rgb([255, 40, 40]),
            &format!("{:.2}", scores[k]),
        );
        lines.push(format!(
            "  box x {:.0}..{:.0} y {:.0}..{:.0} P(face) {:.3}",
            b[0], b[2], b[1], b[3], scores[k]
        ));
    }
    lines.reverse();
    let stem = input.file_stem().map(|s| s.to_string_lossy().into_owned());
    let file = out.join(format!(
        "{}.faces.png",
        stem.unwrap_or_else(|| "photo".into())
    ));
    std::fs::create_dir_all(out)?;
    kit::images::save(&DynamicImage::ImageRgb8(picture), &file)?;
    Ok(format!(
        "{}: {} windows at {} scales (sides {}..{} px); {} fire at P(face) ≥ {}; {} boxes after \
         NMS (IoU > {}), drawn in {}\n{}",
        input.display(),
        s.p.len(),
        s.sides.len(),
        s.sides.first().copied().unwrap_or(0),
        s.sides.last().copied().unwrap_or(0),
        fired.len(),
        cfg.threshold,
        kept.len(),
        cfg.nms_iou,
        file.display(),
        lines.join("\n")
    ))
}
