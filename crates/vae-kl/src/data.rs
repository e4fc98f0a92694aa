//! Data: procedural sprites with known generative factors (in the spirit of dSprites, Matthey et
//! al. 2017), real MNIST digits (`just data mnist`; first 80% of each class for training, last
//! 20% for testing), or a folder of PNGs (`train/` and `test/`, any size → 28×28 grayscale,
//! optional `factors.csv`: file name + numeric columns). `synth` writes the sprites in that
//! folder format.

use crate::config::{Config, DataConfig};
use kit::data::{content_part, rng_for, DataError, Dataset, Part};
use rand::Rng;
use std::path::{Path, PathBuf};
use tch::Tensor;

/// Image side: every source is 28×28 grayscale.
pub const SIDE: usize = 28;

/// One image in [0, 255], its class label (−1 when none) and its generative factors (empty
/// when unknown).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub pixels: Vec<u8>,
    pub label: i64,
    pub factors: Vec<f64>,
}

/// Names of the sprites' factors, in `Sample::factors` order.
pub const SPRITE_FACTORS: [&str; 5] = ["shape", "scale", "rotation", "x", "y"];
/// Discrete values per sprite factor.
const LEVELS: [usize; 5] = [3, 6, 10, 8, 8];

/// Sprite `index` of the stream `seed`, from the `part` of the sprite universe: factor levels
/// are drawn until the rendered image belongs to `part` by its pixels
/// ([`kit::data::content_part`]). Five factors render only 7,676 distinct images (a square
/// turned by a quarter is the same picture), so seeded streams alone put ~42% of the test
/// sprites pixel-for-pixel into training; split by content, no test image is ever a training one.
pub fn sprite(seed: u64, index: u64, part: Part) -> Sample {
    let mut rng = rng_for(seed, 0x5971, index);
    loop {
        let f: Vec<usize> = LEVELS.iter().map(|&n| rng.random_range(0..n)).collect();
        let s = render(&f);
        if content_part(&s.pixels) == part {
            return s;
        }
    }
}

/// Renders one sprite of factor levels `f`: shape (square / ellipse / heart) × scale ×
/// rotation × x × y, every factor a discrete level recorded in `factors`.
fn render(f: &[usize]) -> Sample {
    let scale = 4.0 + 1.2 * f[1] as f64; // half-size 4..10 px
    let angle = f[2] as f64 * std::f64::consts::PI / 5.0; // 0..2π in 10 steps (heart)
    let cx = 9.0 + f[3] as f64 * 10.0 / 7.0;
    let cy = 9.0 + f[4] as f64 * 10.0 / 7.0;
    let (s, c) = angle.sin_cos();
    let mut pixels = vec![0u8; SIDE * SIDE];
    for py in 0..SIDE {
        for px in 0..SIDE {
            // Pixel centre in the sprite's own frame, in units of its half-size.
            let (dx, dy) = (px as f64 + 0.5 - cx, py as f64 + 0.5 - cy);
            let (u, v) = ((c * dx + s * dy) / scale, (-s * dx + c * dy) / scale);
            let inside = match f[0] {
                0 => u.abs() <= 0.8 && v.abs() <= 0.8,
                1 => (u / 1.0).powi(2) + (v / 0.6).powi(2) <= 1.0,
                _ => {
                    // Heart: (x² + y² − 1)³ − x² y³ ≤ 0, y up.
                    let (x, y) = (u * 1.2, -v * 1.2 + 0.2);
                    (x * x + y * y - 1.0).powi(3) - x * x * y.powi(3) <= 0.0
                }
            };
            if inside {
                pixels[py * SIDE + px] = 255;
            }
        }
    }
    Sample {
        pixels,
        label: f[0] as i64,
        factors: f.iter().map(|&v| v as f64).collect(),
    }
}

/// A dataset: sprites generated on the fly, or images held in memory.
pub enum Source {
    Sprites { seed: u64, len: usize, part: Part },
    Images(Vec<Sample>),
}

impl Dataset for Source {
    type Item = Sample;
    fn len(&self) -> usize {
        match self {
            Source::Sprites { len, .. } => *len,
            Source::Images(v) => v.len(),
        }
    }
    fn get(&self, index: usize, _epoch: u64) -> Result<Sample, DataError> {
        match self {
            Source::Sprites { seed, part, .. } => Ok(sprite(*seed, index as u64, *part)),
            Source::Images(v) => v
                .get(index)
                .cloned()
                .ok_or_else(|| DataError::Other(format!("sample {index} out of range"))),
        }
    }
}

impl Source {
    /// Every sample (the test set is small enough to evaluate in one piece).
    pub fn all(&self) -> Result<Vec<Sample>, DataError> {
        (0..self.len()).map(|i| self.get(i, 0)).collect()
    }
    /// Names of the known factors (empty when there are none).
    pub fn factor_names(&self, folder_names: &[String]) -> Vec<String> {
        match self {
            Source::Sprites { .. } => SPRITE_FACTORS.iter().map(|s| s.to_string()).collect(),
            Source::Images(_) => folder_names.to_vec(),
        }
    }
}

/// A batch: images (N, 1, 28, 28) in [0, 1] and labels (N).
pub type Batch = (Tensor, Tensor);

/// Stacks samples into a batch.
pub fn collate(items: Vec<Sample>) -> Result<Batch, DataError> {
    let n = items.len() as i64;
    let px: Vec<u8> = items
        .iter()
        .flat_map(|s| s.pixels.iter().copied())
        .collect();
    let labels: Vec<i64> = items.iter().map(|s| s.label).collect();
    let x = Tensor::from_slice(&px)
        .view([n, 1, SIDE as i64, SIDE as i64])
        .to_kind(tch::Kind::Float)
        / 255.0;
    Ok((x, Tensor::from_slice(&labels)))
}

/// The training, validation and test sets named by the config, and the factor names of a
/// folder source. Training's evaluations (and so the best checkpoint) use validation; only
/// `eval` reads test. Sprites: three seeded streams (`test_size` each for validation and
/// test), each from its own part of the sprite universe by content ([`sprite`]). MNIST: the last 10% of each digit of the training split is validation. MNIST's IDX
/// files as downloaded: their test part, and a seeded 10% of their training part for
/// validation. A folder:
/// `train/`, `val/` (or, without one, a seeded 10% of `train/`, said on the console) and
/// `test/`.
pub fn splits(
    d: &DataConfig,
    seed: u64,
) -> Result<(Source, Source, Source, Vec<String>), DataError> {
    Ok(match d.source.as_str() {
        "sprites" => (
            Source::Sprites {
                seed,
                len: d.train_size,
                part: Part::Train,
            },
            Source::Sprites {
                seed: kit::data::val_seed(seed),
                len: d.test_size,
                part: Part::Val,
            },
            Source::Sprites {
                seed: kit::data::test_seed(seed),
                len: d.test_size,
                part: Part::Test,
            },
            Vec::new(),
        ),
        "mnist" => {
            let (tr, te) = kit::mnist::read_split(Path::new(&d.mnist_dir))?;
            let samples = |digit: usize, imgs: Vec<Vec<u8>>| {
                imgs.into_iter().map(move |pixels| Sample {
                    pixels,
                    label: digit as i64,
                    factors: Vec::new(),
                })
            };
            let (mut train, mut val) = (Vec::new(), Vec::new());
            for (digit, mut imgs) in tr.into_iter().enumerate() {
                let keep = imgs.len() - imgs.len() / 10;
                val.extend(samples(digit, imgs.split_off(keep)));
                train.extend(samples(digit, imgs));
            }
            let test = te
                .into_iter()
                .enumerate()
                .flat_map(|(digit, imgs)| samples(digit, imgs))
                .collect();
            (
                Source::Images(train),
                Source::Images(val),
                Source::Images(test),
                Vec::new(),
            )
        }
        folder if kit::mnist::find_idx(Path::new(folder)).is_some() => {
            let (train, val, test) = crate::layouts::idx_splits(Path::new(folder), seed)?;
            (train, val, test, Vec::new())
        }
        folder if !Path::new(folder).join("train").is_dir() => {
            let (tr, va, te) = crate::layouts::flat_splits(Path::new(folder))?;
            (tr, va, te, Vec::new())
        }
        folder => {
            let root = Path::new(folder);
            let (mut tr, names) = read_folder(&root.join("train"))?;
            let val = if root.join("val").is_dir() {
                read_folder(&root.join("val"))?.0
            } else {
                let val = kit::data::hold_out_validation(&mut tr, seed).ok_or_else(|| {
                    DataError::Invalid {
                        path: root.join("train"),
                        message: "no val/ folder, and too few training images to hold some out"
                            .into(),
                    }
                })?;
                println!(
                    "{}: no val/ folder; {} training images (a seeded 10%) hold out for \
                     validation",
                    root.display(),
                    val.len()
                );
                val
            };
            let (te, _) = read_folder(&root.join("test"))?;
            (
                Source::Images(tr),
                Source::Images(val),
                Source::Images(te),
                names,
            )
        }
    })
}

/// Reads `dir/*.{png,jpg}` (any size → 28×28 grayscale) and, when present, `dir/factors.csv`
/// (`file,<factor>,…` header, one numeric row per image). Errors name the file (and line).
pub fn read_folder(dir: &Path) -> Result<(Vec<Sample>, Vec<String>), DataError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(DataError::Invalid {
            path: dir.to_path_buf(),
            message: "no .png / .jpg images".into(),
        });
    }
    let csv = dir.join("factors.csv");
    let (names, factors) = if csv.is_file() {
        read_factors(&csv, dir)?
    } else {
        (Vec::new(), std::collections::HashMap::new())
    };
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let img = kit::images::load(&f)?.to_luma8();
        let img = image::imageops::resize(
            &img,
            SIDE as u32,
            SIDE as u32,
            image::imageops::FilterType::Triangle,
        );
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        out.push(Sample {
            pixels: img.into_raw(),
            label: -1,
            factors: factors.get(&name).cloned().unwrap_or_default(),
        });
    }
    Ok((out, names))
}

type Factors = (Vec<String>, std::collections::HashMap<String, Vec<f64>>);

fn read_factors(csv: &Path, dir: &Path) -> Result<Factors, DataError> {
    let text = std::fs::read_to_string(csv).map_err(|source| DataError::Io {
        path: csv.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, m: String| DataError::Other(format!("{}:{line}: {m}", csv.display()));
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let names: Vec<String> = match lines.next() {
        Some((_, h)) => h.split(',').skip(1).map(|s| s.trim().to_string()).collect(),
        None => {
            return Err(bad(
                1,
                "empty file: expected a `file,<factor>,…` header".into(),
            ))
        }
    };
    let mut map = std::collections::HashMap::new();
    for (i, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != names.len() + 1 {
            return Err(bad(
                i + 1,
                format!(
                    "{} columns, the header has {}",
                    cells.len(),
                    names.len() + 1
                ),
            ));
        }
        if !dir.join(cells[0]).is_file() {
            return Err(bad(
                i + 1,
                format!("image {} not found", dir.join(cells[0]).display()),
            ));
        }
        let values = cells[1..]
            .iter()
            .map(|c| {
                c.parse::<f64>()
                    .map_err(|_| bad(i + 1, format!("`{c}` is not a number")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        map.insert(cells[0].to_string(), values);
    }
    Ok((names, map))
}

/// Writes sprites in the folder format: `out/{train,test}/<i>.png` + `factors.csv`.
pub fn write_sprites(
    out: &Path,
    seed: u64,
    n_train: usize,
    n_test: usize,
) -> Result<(), DataError> {
    for (split, n, stream, part) in [
        ("train", n_train, seed, Part::Train),
        ("val", n_test, kit::data::val_seed(seed), Part::Val),
        ("test", n_test, kit::data::test_seed(seed), Part::Test),
    ] {
        let dir = out.join(split);
        std::fs::create_dir_all(&dir).map_err(|source| DataError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut csv = format!("file,{}\n", SPRITE_FACTORS.join(","));
        for i in 0..n {
            let s = sprite(stream, i as u64, part);
            let name = format!("{i:05}.png");
            let img = image::GrayImage::from_raw(SIDE as u32, SIDE as u32, s.pixels)
                .ok_or_else(|| DataError::Other("sprite size".into()))?;
            kit::images::save(&image::DynamicImage::ImageLuma8(img), &dir.join(&name))?;
            let f: Vec<String> = s.factors.iter().map(|v| v.to_string()).collect();
            csv += &format!("{name},{}\n", f.join(","));
        }
        kit::rundir::write_atomic(&dir.join("factors.csv"), csv.as_bytes()).map_err(|source| {
            DataError::Io {
                path: dir.join("factors.csv"),
                source,
            }
        })?;
    }
    Ok(())
}

/// The training and validation sets of the config (what `train` fits and selects on).
pub fn sources(cfg: &Config) -> anyhow::Result<(Source, Vec<Sample>, Vec<String>)> {
    let (tr, va, _, names) = splits(&cfg.data, cfg.train.seed)?;
    let val = va.all()?;
    anyhow::ensure!(!val.is_empty(), "the validation set is empty");
    let names = va.factor_names(&names);
    Ok((tr, val, names))
}

/// The test set of the config (what `eval` reports; no choice during training touched it).
pub fn test_set(cfg: &Config) -> anyhow::Result<(Vec<Sample>, Vec<String>)> {
    let (_, _, te, names) = splits(&cfg.data, cfg.train.seed)?;
    let test = te.all()?;
    anyhow::ensure!(!test.is_empty(), "the test set is empty");
    let names = te.factor_names(&names);
    Ok((test, names))
}
