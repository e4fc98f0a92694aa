//! `predict`: a line image in; the transcript (greedy and beam), the per-frame best path
//! (blank shown as `-`) and the alignment picture out.

use crate::batch::collate;
use crate::config::Ink;
use crate::data::{line_from_image, Sample};
use crate::model::frames;
use crate::train::CtcTask;
use crate::viz::alignment_picture;
use loss_zoo::ctc::{beam_search_decode, greedy_decode};
use std::path::{Path, PathBuf};

pub struct Prediction {
    pub greedy: String,
    pub beam: String,
    /// Whether the image was inverted (dark ink on light paper).
    pub inverted: bool,
    /// One character per frame: the most likely class, `-` for blank.
    pub best_path: String,
    pub picture: PathBuf,
}

pub fn predict(
    task: &CtcTask,
    input: &Path,
    beam_width: usize,
    ink: Ink,
    out_dir: &Path,
) -> anyhow::Result<Prediction> {
    let (line, inverted) = line_from_image(kit::images::load(input)?.to_luma8(), ink);
    let w = line.width;
    let sample = Sample {
        line,
        label: vec![],
        name: input.display().to_string(),
    };
    let b = collate(vec![sample])?;
    let (lp, il) = tch::no_grad(|| task.forward(&b, false));
    let lp = lp.to_device(tch::Device::Cpu);
    let decode = |v: &[i64]| crate::data::decode(v, &task.alphabet);
    let greedy = decode(&greedy_decode(&lp, Some(&il), 0)?.concat());
    let beam = decode(&beam_search_decode(&lp, Some(&il), beam_width, 0)?.concat());
    let t = frames(w as i64).min(lp.size()[0]);
    let probs = lp.squeeze_dim(1).narrow(0, 0, t).exp();
    let best: Vec<i64> = Vec::try_from(probs.argmax(1, false))?;
    let best_path: String = best
        .iter()
        .map(|&k| {
            if k == 0 {
                '-'
            } else {
                task.alphabet.get((k - 1) as usize).copied().unwrap_or('?')
            }
        })
        .collect();
    std::fs::create_dir_all(out_dir)?;
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "line".into());
    let picture = out_dir.join(format!("{stem}-alignment.png"));
    let pic = alignment_picture(&b.images.get(0), &probs, &task.class_labels())?;
    kit::images::save(&image::DynamicImage::ImageRgb8(pic), &picture)?;
    Ok(Prediction {
        greedy,
        beam,
        best_path,
        picture,
        inverted,
    })
}
