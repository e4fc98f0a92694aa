//! Samples into one padded batch (what the loader threads hand to the training step).

use crate::data::Sample;
use crate::synth::HEIGHT;
use kit::data::DataError;
use tch::Tensor;

/// A padded batch: images (N, 1, 32, W_max) in 0..1, concatenated labels, image widths, label
/// lengths, and sample names.
pub struct Batch {
    pub images: Tensor,
    pub targets: Tensor,
    pub widths: Vec<i64>,
    pub target_lengths: Vec<i64>,
    pub names: Vec<String>,
}

pub fn collate(items: Vec<Sample>) -> Result<Batch, DataError> {
    let w = items
        .iter()
        .map(|s| s.line.width)
        .max()
        .ok_or_else(|| DataError::Other("empty batch".into()))? as usize;
    let h = HEIGHT as usize;
    let mut px = vec![0u8; items.len() * h * w];
    for (i, s) in items.iter().enumerate() {
        let sw = s.line.width as usize;
        for y in 0..h {
            px[i * h * w + y * w..i * h * w + y * w + sw]
                .copy_from_slice(&s.line.pixels[y * sw..(y + 1) * sw]);
        }
    }
    // Converted here, so the loader thread makes one libtorch call (a copy).
    let images = Tensor::from_slice(&kit::images::normalise_planar(&px, 1, &[0.0], &[1.0])).view([
        items.len() as i64,
        1,
        h as i64,
        w as i64,
    ]);
    let flat: Vec<i64> = items.iter().flat_map(|s| s.label.iter().copied()).collect();
    Ok(Batch {
        images,
        targets: Tensor::from_slice(&flat),
        widths: items.iter().map(|s| s.line.width as i64).collect(),
        target_lengths: items.iter().map(|s| s.label.len() as i64).collect(),
        names: items.into_iter().map(|s| s.name).collect(),
    })
}
